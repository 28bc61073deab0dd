/* What every command does around its run, for scheduled jobs: --syslog
 * (log lines also to syslog, facility daemon), the repository lock settings,
 * and --metrics-file (a Prometheus textfile-collector file, written
 * atomically at the end of the command). */
#ifndef IBS_TOOLS_METRICS_H
#define IBS_TOOLS_METRICS_H

#include <stdint.h>
#include <time.h>

#include "common/err.h"
#include "tools/options.h"

/* Before the command runs; after cli_setup_logging. IBS_E_USAGE on a bad value. */
int cli_ops_begin(const struct opts *o, const char *command, struct ibs_err *err);

/* After it ran with exit status rc (err holds the message when rc != 0):
 * writes the metrics file if asked, logs the outcome to syslog if asked. */
void cli_ops_end(const struct opts *o, const char *command, int rc, const struct ibs_err *err,
                 const struct timespec *started);

/* The metrics text for one run, into a malloc'd string. previous is the old
 * file's content (or NULL): its last success time is kept when rc != 0.
 * Exposed for tests. */
char *cli_metrics_text(const char *command, int rc, double duration_s, time_t now,
                       uint64_t bytes_read, uint64_t bytes_stored, int have_bytes,
                       const char *previous);

/* Writes text to path through a temporary file in the same directory and a
 * rename, so a collector never reads half a file. */
int cli_metrics_write_file(const char *path, const char *text, struct ibs_err *err);

#endif
