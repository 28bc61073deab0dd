/* Restore: turns a backup in the repository into a data directory. Frames are
 * fetched with parallel ranged reads (adjacent frames in one read), each
 * verified (frame header CRC and the XXH3 of its content) before use, then
 * decompressed and written while later reads are under way; regions that were
 * not stored (free pages) stay holes, and files are synced before it returns.
 * The raw layout it writes is the one `mariabackup --prepare` accepts: data
 * files, ib_logfile0 holding the copied log, xtrabackup_checkpoints,
 * xtrabackup_binlog_info and backup-my.cnf; prepare then applies the log
 * (unless --no-prepare). */
#ifndef IBS_ENGINE_RESTORE_H
#define IBS_ENGINE_RESTORE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"
#include "s3/store.h"

struct eng_restore_opts {
    struct store *store;
    const char *backup;  /* id, "latest" or NULL */
    const char *target;  /* data directory to create or fill */
    bool force;          /* allow a non-empty target: its contents are replaced */
    /* An incremental is written as the full's raw layout plus one delta
     * directory per later member, for mariabackup (restore_delta.h); no log
     * is applied. A full backup is written as without it. */
    bool delta_layout;
    uint64_t batch_bytes; /* frames fetched and not yet written (memory bound); 0 = 64 MiB */
    unsigned fetchers;    /* ranged reads in flight (at most 64); 0 = 4 */
    atomic_bool *cancel;
};

struct eng_restore_result {
    char id[64];
    uint64_t bytes_written; /* raw bytes of data files and log */
    uint64_t frames;
    uint64_t frames_skipped; /* superseded by a newer member of the chain: not fetched */
    unsigned chain_length;
    unsigned files;
    uint64_t duration_ms;
    uint64_t checkpoint_lsn, end_lsn;
    bool binlog_enabled;
    char binlog_file[512];
    uint64_t binlog_pos;
    char gtid[4096];
};

/* Writes the raw layout into opts->target. */
int eng_restore_raw(const struct eng_restore_opts *opts, struct eng_restore_result *res,
                    struct ibs_err *err);

#endif
