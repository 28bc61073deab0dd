/* Applying collected redo records to one page buffer, as recovery does
 * (recv_recover_page() and log_phys_t::apply() in log/log0recv.cc, the
 * EXTENDED algorithms of page/page0cur.cc, page/page0page.cc and
 * trx/trx0undo.cc). Pure: the caller reads and writes the page. */
#ifndef IBS_REDO_APPLY_H
#define IBS_REDO_APPLY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "redo/recv.h"

enum redo_apply_outcome {
    REDO_APPLY_NOTHING, /* every record was older than the page: do not write */
    REDO_APPLY_WRITE,   /* the page changed: write it back */
    REDO_APPLY_FREED,   /* only FREE_PAGE: the page is free, leave the file as is */
};

struct redo_apply_result {
    enum redo_apply_outcome outcome;
    uint64_t page_lsn; /* FIL_PAGE_LSN written (REDO_APPLY_WRITE) */
    unsigned applied;  /* mini-transactions applied */
    unsigned skipped;  /* mini-transactions already in the page */
};

/* Applies pg's records to page (physical_size bytes, of a tablespace with
 * FSP_SPACE_FLAGS fsp_flags). When pg->init is false the buffer must hold the
 * page as read from the data file (zeros if beyond its end); when true its
 * contents are ignored. Records of mtrs that started before the page's
 * FIL_PAGE_LSN are skipped (§3.2). On REDO_APPLY_WRITE, FIL_PAGE_LSN, the
 * trailer and the checksum are set (redo/page.h) and the page is ready to write.
 *
 * Errors: IBS_E_INTEGRITY for a page the log cannot apply to (all zero without
 * INIT_PAGE, or inconsistent with a record: "Not applying ... due to
 * corruption"); IBS_E_REDO for a record that is invalid for this page
 * (EXTENDED on ROW_FORMAT=COMPRESSED or pages 0..2, offsets beyond the page). */
int redo_apply_page(const struct redo_recv_page *pg, uint8_t *page, size_t physical_size,
                    uint32_t fsp_flags, struct redo_apply_result *res, struct ibs_err *err);

/* Internal to redo/apply*.c: the EXTENDED algorithms on a page of size ps.
 * Each returns 0, or a short reason when the page is inconsistent with the
 * record (the caller names page and LSN). */
const char *redo_apply_page_create(uint8_t *page, size_t ps, bool compact);
const char *redo_apply_undo_init(uint8_t *page, size_t ps);
const char *redo_apply_undo_append(uint8_t *page, size_t ps, const uint8_t *data, size_t len);
const char *redo_apply_insert(uint8_t *page, size_t ps, const struct redo_rec *rec);
const char *redo_apply_delete(uint8_t *page, size_t ps, const struct redo_rec *rec);

#endif
