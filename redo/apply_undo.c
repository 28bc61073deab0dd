/* UNDO_INIT and UNDO_APPEND: trx_undo_page_init() (trx/trx0undo.cc) and
 * log_phys_t::undo_append() (log/log0recv.cc). */
#include "redo/apply.h"

#include <string.h>

#include "redo/page.h"

/* Undo page header (trx0undo.h): TRX_UNDO_PAGE_HDR 38. */
#define TRX_UNDO_PAGE_TYPE 38
#define TRX_UNDO_PAGE_START 40
#define TRX_UNDO_PAGE_FREE 42
#define TRX_UNDO_PAGE_NODE 44
#define TRX_UNDO_SEG_HDR 56
#define TRX_UNDO_SEG_HDR_END 86 /* TRX_UNDO_SEG_HDR + TRX_UNDO_SEG_HDR_SIZE */

const char *redo_apply_undo_init(uint8_t *page, size_t ps)
{
    redo_mach_write_2(page + FIL_PAGE_TYPE, FIL_PAGE_UNDO_LOG);
    redo_mach_write_2(page + TRX_UNDO_PAGE_TYPE, 0);
    redo_mach_write_2(page + TRX_UNDO_PAGE_START, TRX_UNDO_SEG_HDR);
    redo_mach_write_2(page + TRX_UNDO_PAGE_FREE, TRX_UNDO_SEG_HDR);
    /* FLST node: prev and next addresses FIL_NULL with byte offset 0. */
    memset(page + TRX_UNDO_PAGE_NODE, 0xff, 4);
    memset(page + TRX_UNDO_PAGE_NODE + 4, 0, 2);
    memset(page + TRX_UNDO_PAGE_NODE + 6, 0xff, 4);
    memset(page + TRX_UNDO_PAGE_NODE + 10, 0, 2);
    /* The segment header (56..85) is kept; the rest of the body is cleared. */
    memset(page + TRX_UNDO_SEG_HDR_END, 0, ps - FIL_PAGE_DATA_END - TRX_UNDO_SEG_HDR_END);
    return NULL;
}

const char *redo_apply_undo_append(uint8_t *page, size_t ps, const uint8_t *data, size_t len)
{
    uint32_t free_ofs = redo_mach_read_2(page + TRX_UNDO_PAGE_FREE);
    if (free_ofs < TRX_UNDO_SEG_HDR || free_ofs + len + 6 >= ps - FIL_PAGE_DATA_END)
        return "TRX_UNDO_PAGE_FREE out of range";
    uint32_t new_free = free_ofs + (uint32_t)len + 4;
    redo_mach_write_2(page + TRX_UNDO_PAGE_FREE, new_free);
    /* Each undo record is framed by its next offset before and start offset after. */
    redo_mach_write_2(page + free_ofs, new_free);
    memcpy(page + free_ofs + 2, data, len);
    redo_mach_write_2(page + free_ofs + 2 + len, free_ofs);
    return NULL;
}
