/* Prepare: applies the redo log held in a raw backup layout (ib_logfile0 from
 * the checkpoint LSN to the end LSN) to its data files, so the directory is
 * consistent at the end LSN and the server starts without crash recovery.
 * Records are collected per page and applied in LSN order in batches bounded
 * by use_memory; pages are read, applied and written back; FILE_* records
 * rename, delete or truncate tablespaces. Ends by writing a fresh
 * ib_logfile0 with a checkpoint at the end LSN and marking the directory
 * prepared ("log-applied" in xtrabackup_checkpoints): preparing twice changes
 * nothing. */
#ifndef IBS_ENGINE_PREPARE_H
#define IBS_ENGINE_PREPARE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"

struct eng_prepare_opts {
    const char *target;
    uint64_t use_memory; /* bytes of parsed records held before a batch is applied */
    atomic_bool *cancel;
    /* Restoring an incremental chain applies each member's log in turn: an
     * intermediate pass only applies ib_logfile0 (page size given here) and
     * leaves the log and xtrabackup_checkpoints alone. */
    bool intermediate;
    uint32_t page_size;
    /* Pages a later member of the chain rewrites need no log: skip returns true
     * for them. NULL applies every page. */
    bool (*skip)(void *ctx, uint32_t space_id, uint32_t page_no);
    void *skip_ctx;
};

struct eng_prepare_result {
    bool already_prepared;
    uint64_t start_lsn, end_lsn;
    uint64_t log_bytes;
    uint64_t mtrs;
    uint64_t pages_applied;  /* pages written back */
    uint64_t pages_skipped;  /* pages whose records were all older than the page */
    uint64_t pages_unknown;  /* pages of tablespaces not in the backup (dropped) */
    uint64_t pages_superseded; /* skipped: a later member of the chain rewrites them */
    unsigned batches;
    uint64_t duration_ms;
};

int eng_prepare_run(const struct eng_prepare_opts *opts, struct eng_prepare_result *res,
                    struct ibs_err *err);

#endif
