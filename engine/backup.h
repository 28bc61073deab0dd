/* A full hot backup of a running MariaDB server into a repository:
 * BACKUP STAGE START, redo tailer from the latest checkpoint, io_uring copy of
 * every InnoDB tablespace, FLUSH + BLOCK_DDL (non-InnoDB files, tablespaces
 * created, dropped or renamed meanwhile), BLOCK_COMMIT (binlog position, end
 * LSN, wait for the tailer), END, then the manifest as the commit point. A
 * failed or interrupted backup leaves nothing in the repository. */
#ifndef IBS_ENGINE_BACKUP_H
#define IBS_ENGINE_BACKUP_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"
#include "engine/server.h"
#include "s3/store.h"

struct eng_backup_opts {
    struct eng_conn_opts conn;
    struct store *store;
    unsigned parallel;        /* copier workers */
    unsigned queue_depth;     /* reads in flight per worker */
    uint32_t chunk_size;      /* bytes per read and per frame */
    uint64_t pack_size;       /* largest object (0: ENG_PACK_SIZE_DEFAULT) */
    int compress_level;
    uint64_t throttle_bps;    /* read bandwidth limit, 0 = none */
    bool pace;                /* slow the copy while the server is busy (pacer.h) */
    unsigned redo_timeout_s;  /* how long to wait for the tailer at the end */
    bool progress_tty;        /* draw a progress line on stderr */
    bool incremental;         /* store only what changed since a base backup */
    const char *base;         /* id of the base, or NULL/"latest": the newest of this server */
    atomic_bool *cancel;      /* set by a signal handler to interrupt */
};

struct eng_backup_result {
    char id[64];
    uint64_t bytes_read;
    uint64_t bytes_stored;
    uint64_t redo_bytes;   /* log copied, from the checkpoint to the end LSN */
    uint64_t data_stored;  /* bytes stored for data files (the rest is the log) */
    uint64_t duration_ms;
    uint64_t checkpoint_lsn, end_lsn;
    char binlog_file[512];
    uint64_t binlog_pos;
    char gtid[4096];
    unsigned files;
    bool incremental;
    char parent[64];
    unsigned chain_length;    /* members from the full to this one */
    uint64_t pages_scanned;
    uint64_t pages_stored;
};

int eng_backup_run(const struct eng_backup_opts *opts, struct eng_backup_result *result,
                   struct ibs_err *err);

/* Backup ids sort by time: "20261125-114012F" (F full, I incremental). */
void eng_backup_make_id(char *buf, size_t size, time_t when, bool incremental);

#endif
