/* Page LSN: FIL_PAGE_LSN in the header and the copy each format keeps in the
 * trailer, which is how the server notices a torn write. Formats: fil0fil.h,
 * buf_flush_init_for_writing() (buf0flu.cc), recv_recover_page (log0recv.cc). */
#include "redo/fsp.h"
#include "redo/page.h"

uint64_t redo_page_get_lsn(const uint8_t *page)
{
    return redo_be64(page + FIL_PAGE_LSN);
}

void redo_page_set_lsn(uint8_t *page, size_t physical_size, uint32_t fsp_flags, uint64_t lsn)
{
    redo_put_be64(page + FIL_PAGE_LSN, lsn);

    /* ROW_FORMAT=COMPRESSED frames end with the compressed page's directory:
     * no trailer (page0zip.cc). */
    if (redo_fsp_flags_zip_size(fsp_flags))
        return;

    if (redo_fsp_flags_full_crc32(fsp_flags)) {
        /* A page_compressed image ends at its stored size with its CRC; the LSN
         * copy belongs to the uncompressed page only (buf_page_full_crc32_size()). */
        if (redo_page_get_type(page) & 1u << FIL_PAGE_COMPRESS_FCRC32_MARKER)
            return;
        redo_put_be32(page + physical_size - FIL_PAGE_FCRC32_END_LSN, (uint32_t)lsn);
        return;
    }

    /* Legacy: the last 4 bytes are the low half of the LSN; the 4 before them
     * hold the checksum, written by redo_page_update_checksum(). */
    redo_put_be32(page + physical_size - FIL_PAGE_END_LSN_OLD_CHKSUM + 4, (uint32_t)lsn);
}
