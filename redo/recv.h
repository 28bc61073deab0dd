/* Collecting parsed redo records for apply: page records grouped by page in
 * LSN order (hash map page id -> list), tablespace events from FILE_* and
 * TRIM_PAGES records, and page-0 FSP_SIZE/FSP_SPACE_FLAGS writes. Follows
 * recv_sys_t::parse_tail(), recv_sys_t::add(), page_recv_t::will_not_read(),
 * recv_sys_t::parse_page0() and recv_sys_t::trim() (log/log0recv.cc).
 *
 * Memory is accounted (redo_recv_mem_used()): a caller over its budget applies
 * the pages collected so far, writes them, calls redo_recv_clear_pages() and
 * continues adding mini-transactions (multi-batch recovery); or takes them out
 * with redo_recv_detach() and applies them while it collects the next batch. */
#ifndef IBS_REDO_RECV_H
#define IBS_REDO_RECV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "redo/log.h"
#include "redo/mtr.h"

/* The records one mini-transaction wrote to one page, kept as the log has
 * them (page id and same-page encoding included): a page's records follow
 * each other in an mtr, so a page gets one run per mtr in most cases. Apply
 * decodes them again (redo_rec_iter_resume()); storing them decoded took
 * about six times the bytes of the log, and as many more batches. */
struct redo_recv_run {
    struct redo_recv_run *next;
    const uint8_t *recs;  /* after this header, or in the caller's log (redo_recv_refer()) */
    uint64_t start_lsn;   /* of its mini-transaction */
    uint32_t mtr_len;     /* its end LSN, what FIL_PAGE_LSN becomes: start_lsn + mtr_len */
    uint32_t len;         /* bytes in recs */
    uint32_t last_offset; /* the "current offset" before the first record (§2.4) */
    uint32_t n_recs;      /* records in recs */
};

/* A slot of the collector's page table: one cache line. */
struct redo_recv_page {
    _Alignas(64) uint32_t space_id;
    uint32_t page_no;
    /* INIT_PAGE or FREE_PAGE seen in this batch: the page need not be read;
     * init_lsn is the start LSN of that mini-transaction. */
    bool init;
    uint64_t init_lsn;
    uint64_t end_lsn; /* of the last mini-transaction in the runs */
    /* In LSN order; runs of one mtr are next to each other. */
    struct redo_recv_run *head, *tail;
    size_t n_recs;
};

enum redo_file_op {
    REDO_FILE_OP_CREATE,     /* FILE_CREATE name */
    REDO_FILE_OP_DELETE,     /* FILE_DELETE name */
    REDO_FILE_OP_RENAME,     /* FILE_RENAME name -> new_name */
    REDO_FILE_OP_MODIFY,     /* FILE_MODIFY name */
    REDO_FILE_OP_TRUNCATE,   /* TRIM_PAGES: truncate the file to `size` pages */
    REDO_FILE_OP_CHECKPOINT, /* FILE_CHECKPOINT(checkpoint_lsn) */
};

struct redo_file_event {
    enum redo_file_op op;
    uint32_t space_id;
    uint64_t lsn;     /* of the record */
    uint64_t end_lsn; /* of its mini-transaction */
    char *name;       /* NUL-terminated, owned by the collector; NULL if none */
    char *new_name;
    uint32_t size;           /* TRUNCATE: pages */
    uint64_t checkpoint_lsn; /* CHECKPOINT */
};

/* Per tablespace: the last FSP_SIZE / FSP_SPACE_FLAGS logged on page 0 by a
 * WRITE covering all 4 bytes (§3.4): files must be extended to `size` pages
 * before pages are written. */
struct redo_space_info {
    uint32_t space_id;
    bool has_size, has_flags;
    uint32_t size, flags;
};

struct redo_recv;

/* A collector for an instance with innodb_page_size page_size; NULL with err
 * set when memory runs out or the page size is invalid. */
struct redo_recv *redo_recv_new(uint32_t page_size, struct ibs_err *err);

/* Releases everything; NULL is a no-op. */
void redo_recv_free(struct redo_recv *recv);

/* From now on the records are not copied: runs point into the bytes given to
 * redo_recv_add_mtr(), which the caller keeps readable and unchanged until the
 * batch holding them is cleared or freed (prepare maps the whole log). Only
 * the runs' headers then count in redo_recv_mem_used(). */
void redo_recv_refer(struct redo_recv *recv);

/* Decodes the mtr at buf (validated by redo_mtr_scan()) and stores its records.
 * IBS_E_REDO for a corrupt record or an encrypted log; IBS_E_INTERNAL when
 * memory runs out. On error nothing of this mtr is kept beyond what was added
 * before the bad record (the caller should stop). */
int redo_recv_add_mtr(struct redo_recv *recv, const uint8_t *buf, const struct redo_mtr *mtr,
                      enum redo_log_format format, struct ibs_err *err);

/* Called by redo_recv_scan_mtr() for every INIT_PAGE and FREE_PAGE, with the
 * start LSN of its mini-transaction; a non-zero return stops the scan. */
typedef int (*redo_recv_init_fn)(void *ctx, uint32_t space_id, uint32_t page_no, uint64_t mtr_lsn,
                                 struct ibs_err *err);

/* A pre-scan of the mtr at buf: stores no page record, only file events
 * (TRIM_PAGES included) and page-0 information; INIT_PAGE and FREE_PAGE go to
 * on_init (may be NULL). Costs no memory per page: the whole log can be
 * scanned before any batch. Only the records it needs are decoded and checked
 * in full (file records, INIT_PAGE, FREE_PAGE, TRIM_PAGES, page 0); of the
 * others only the framing: redo_recv_add_mtr() checks them. */
int redo_recv_scan_mtr(struct redo_recv *recv, const uint8_t *buf, const struct redo_mtr *mtr,
                       enum redo_log_format format, redo_recv_init_fn on_init, void *ctx,
                       struct ibs_err *err);

/* Bytes held for page records (the batch budget is checked against this). */
size_t redo_recv_mem_used(const struct redo_recv *recv);

/* Number of pages with stored records. */
size_t redo_recv_page_count(const struct redo_recv *recv);

/* The pages with stored records in ascending (space_id, page_no) order. The
 * array and the pages belong to recv and stay valid until the next add or
 * clear. */
int redo_recv_pages(struct redo_recv *recv, struct redo_recv_page *const **pages, size_t *n,
                    struct ibs_err *err);

/* Looks up one page; NULL if it has no records. Valid until the next add or clear. */
const struct redo_recv_page *redo_recv_page_find(const struct redo_recv *recv, uint32_t space_id,
                                                 uint32_t page_no);

/* Forgets all page records (after a batch was applied); file events and space
 * sizes stay. The record memory is kept for the next batch (never more than
 * the largest batch held), and released by redo_recv_free(). */
void redo_recv_clear_pages(struct redo_recv *recv);

/* The page records of one batch, taken out of the collector. */
struct redo_recv_batch;

/* Takes the pages with records out of recv, sorted as redo_recv_pages() gives
 * them: they stay valid, and recv goes on collecting the next batch in memory
 * of its own, while other threads apply this one (recv's file events and
 * page-0 information stay in recv and change as it collects). The batch's
 * memory no longer counts in redo_recv_mem_used(). */
int redo_recv_detach(struct redo_recv *recv, struct redo_recv_batch **batch,
                     struct redo_recv_page *const **pages, size_t *n, struct ibs_err *err);

/* Gives the batch's record memory back to recv for the next batches; not while
 * another thread adds to recv. NULL is a no-op. */
void redo_recv_batch_free(struct redo_recv *recv, struct redo_recv_batch *batch);

/* File events in log order, and per-space page-0 information. */
const struct redo_file_event *redo_recv_file_events(const struct redo_recv *recv, size_t *n);
const struct redo_space_info *redo_recv_spaces(const struct redo_recv *recv, size_t *n);

#endif
