/* Options of the ibstream command: one table of every option, and the values
 * each takes from four sources in increasing precedence:
 *   built-in default < config file < environment (IBSTREAM_<NAME>) < command line.
 * The config file is INI: keys are the long option names; keys in [ibstream]
 * apply to every command, keys in a section named after a command ([backup])
 * only to it and win over [ibstream]. It is /etc/ibstream/ibstream.conf unless
 * --config FILE (or IBSTREAM_CONFIG) names another; a missing default file is
 * not an error, a missing named one is. */
#ifndef IBS_TOOLS_OPTIONS_H
#define IBS_TOOLS_OPTIONS_H

#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"

#define IBS_DEFAULT_CONFIG_FILE "/etc/ibstream/ibstream.conf"

enum opt_id {
    OPT_HELP,
    OPT_CONFIG,
    OPT_LOG_LEVEL,
    OPT_LOG_FORMAT,
    OPT_QUIET,
    /* MariaDB connection, as MariaDB's own clients take it */
    OPT_HOST,
    OPT_PORT,
    OPT_SOCKET,
    OPT_USER,
    OPT_PASSWORD,
    OPT_DEFAULTS_FILE,
    OPT_DEFAULTS_EXTRA_FILE,
    /* repository */
    OPT_REPO,
    OPT_S3_ENDPOINT,
    OPT_S3_REGION,
    OPT_S3_PROFILE,
    OPT_S3_ACCESS_KEY,
    OPT_S3_SECRET_KEY,
    OPT_S3_CA_FILE,
    OPT_S3_NO_VERIFY_TLS,
    OPT_S3_SSE,
    OPT_S3_SSE_KMS_KEY_ID,
    OPT_S3_SSE_C_KEY_FILE,
    OPT_S3_STORAGE_CLASS,
    OPT_S3_PART_SIZE,
    OPT_S3_PARTS_IN_FLIGHT,
    OPT_S3_RETRIES,
    OPT_DEBUG_S3,
    OPT_ENCRYPTION_KEY_FILE,
    /* backup */
    OPT_PARALLEL,
    OPT_QUEUE_DEPTH,
    OPT_CHUNK_SIZE,
    OPT_PACK_SIZE,
    OPT_COMPRESS_LEVEL,
    OPT_THROTTLE,
    OPT_PACE,
    OPT_REDO_TIMEOUT,
    /* restore and prepare */
    OPT_BACKUP,
    OPT_TARGET,
    OPT_FORCE,
    OPT_NO_PREPARE,
    OPT_USE_MEMORY,
    /* incremental backups */
    OPT_INCREMENTAL,
    OPT_BASE,
    /* operations: list, info, verify, expire, cleanup */
    OPT_JSON,
    OPT_ALL,
    OPT_RETAIN_FULL,
    OPT_RETAIN_DAYS,
    OPT_DRY_RUN,
    OPT_OLDER_THAN,
    /* every command (global: accepted whatever the command's own list says) */
    OPT_LOCK_STALE_AFTER,
    OPT_METRICS_FILE,
    OPT_SYSLOG,
    OPT__COUNT
};

/* Where an option's value came from. */
enum opt_source { SRC_DEFAULT = 0, SRC_CONFIG, SRC_ENV, SRC_CLI };

struct opt_def {
    const char *name;     /* long option, also the config key */
    int has_arg;          /* getopt_long: no_argument, required_argument, optional_argument */
    const char *metavar;  /* for help: FILE, N, URL... */
    const char *def;      /* built-in default or NULL */
    bool secret;          /* never printed; registered for redaction */
    const char *help;
    bool global;          /* taken by every command (not in their own lists) */
};

extern const struct opt_def opt_defs[OPT__COUNT];

struct opts {
    const char *value[OPT__COUNT]; /* owned copies; NULL = unset */
    enum opt_source source[OPT__COUNT];
    bool password_prompt;          /* --password given without a value */
};

/* Parses argv (after the subcommand name) for the options listed in allowed
 * (terminated by -1) and the global ones, layering config file and environment underneath.
 * Non-option arguments are left in argv[*first_arg..argc). command names the
 * config section. IBS_E_USAGE with a one-line message on bad input. */
int opts_load(struct opts *o, const char *command, const int *allowed, int argc, char **argv,
              int *first_arg, struct ibs_err *err);
void opts_free(struct opts *o);

const char *opts_str(const struct opts *o, enum opt_id id);
bool opts_bool(const struct opts *o, enum opt_id id);
/* Parses a size with an optional K/M/G/T suffix (powers of 1024). */
int opts_size(const struct opts *o, enum opt_id id, uint64_t *out, struct ibs_err *err);
int opts_uint(const struct opts *o, enum opt_id id, unsigned *out, struct ibs_err *err);

/* Parses "123", "16M", "1G"...; 0 on success. Exposed for tests. */
int opts_parse_size(const char *text, uint64_t *out);

/* The environment variable of an option: IBSTREAM_ + upper-cased name, '-' -> '_'. */
void opts_env_name(const char *name, char *buf, unsigned size);

#endif
