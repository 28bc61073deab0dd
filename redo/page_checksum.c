/* The page checksums InnoDB writes and accepts, and writing them after a page
 * was modified. Algorithms: buf_calc_page_crc32(), buf_calc_page_new_checksum(),
 * buf_calc_page_old_checksum() (buf/buf0checksum.cc), ut_fold_binary()
 * (include/ut0rnd.inl), page_zip_calc_checksum() (page/page0zip.cc),
 * buf_flush_init_for_writing() and buf_page_encrypt() (buf/buf0flu.cc). */
#include "io/hash.h"
#include "redo/fsp.h"
#include "redo/page.h"

/* ut0rnd.h */
#define UT_HASH_RANDOM_MASK 1463735687u
#define UT_HASH_RANDOM_MASK2 1653893711u

uint32_t redo_page_checksum_full_crc32(const uint8_t *page, size_t size)
{
    return io_crc32c(0, page, size - FIL_PAGE_FCRC32_CHECKSUM);
}

uint32_t redo_page_checksum_crc32(const uint8_t *page, size_t physical_size)
{
    /* Two CRCs XORed rather than one over both ranges: kept for compatibility
     * with old files, says buf0checksum.cc. Bytes 0..3 (the checksum), 26..37
     * (flush LSN / key version, space id) and the trailer are not covered. */
    return io_crc32c(0, page + FIL_PAGE_OFFSET,
                     FIL_PAGE_FILE_FLUSH_LSN_OR_KEY_VERSION - FIL_PAGE_OFFSET) ^
           io_crc32c(0, page + FIL_PAGE_DATA,
                     physical_size - FIL_PAGE_DATA - FIL_PAGE_END_LSN_OLD_CHKSUM);
}

/* The server folds in 64-bit ulint, but with only XOR, addition and left
 * shifts the low 32 bits depend on the low 32 bits alone. */
static uint32_t fold_pair(uint32_t n1, uint32_t n2)
{
    return ((((n1 ^ n2 ^ UT_HASH_RANDOM_MASK2) << 8) + n1) ^ UT_HASH_RANDOM_MASK) + n2;
}

static uint32_t fold_binary(const uint8_t *p, size_t len)
{
    uint32_t fold = 0;
    for (size_t i = 0; i < len; i++)
        fold = fold_pair(fold, p[i]);
    return fold;
}

uint32_t redo_page_checksum_innodb_new(const uint8_t *page, size_t physical_size)
{
    return fold_binary(page + FIL_PAGE_OFFSET,
                       FIL_PAGE_FILE_FLUSH_LSN_OR_KEY_VERSION - FIL_PAGE_OFFSET) +
           fold_binary(page + FIL_PAGE_DATA,
                       physical_size - FIL_PAGE_DATA - FIL_PAGE_END_LSN_OLD_CHKSUM);
}

uint32_t redo_page_checksum_innodb_old(const uint8_t *page)
{
    return fold_binary(page, FIL_PAGE_FILE_FLUSH_LSN_OR_KEY_VERSION);
}

uint32_t redo_page_checksum_zip_crc32(const uint8_t *page, size_t zip_size)
{
    /* Skips the checksum, FIL_PAGE_LSN and FIL_PAGE_FILE_FLUSH_LSN. */
    return io_crc32c(0, page + FIL_PAGE_OFFSET, FIL_PAGE_LSN - FIL_PAGE_OFFSET) ^
           io_crc32c(0, page + FIL_PAGE_TYPE, 2) ^
           io_crc32c(0, page + FIL_PAGE_ARCH_LOG_NO_OR_SPACE_ID,
                     zip_size - FIL_PAGE_ARCH_LOG_NO_OR_SPACE_ID);
}

/* zlib's adler32(), chained, as page_zip_calc_checksum(use_adler=true) uses it. */
static uint32_t adler32(uint32_t adler, const uint8_t *p, size_t len)
{
    uint32_t a = adler & 0xffff, b = adler >> 16;
    for (size_t i = 0; i < len; i++) {
        a = (a + p[i]) % 65521u;
        b = (b + a) % 65521u;
    }
    return b << 16 | a;
}

uint32_t redo_page_checksum_zip_adler32(const uint8_t *page, size_t zip_size)
{
    /* Seeded with 0, not zlib's customary 1: page_zip_calc_checksum() calls
     * adler32(0L, ...). */
    uint32_t adler = adler32(0, page + FIL_PAGE_OFFSET, FIL_PAGE_LSN - FIL_PAGE_OFFSET);
    adler = adler32(adler, page + FIL_PAGE_TYPE, 2);
    return adler32(adler, page + FIL_PAGE_ARCH_LOG_NO_OR_SPACE_ID,
                   zip_size - FIL_PAGE_ARCH_LOG_NO_OR_SPACE_ID);
}

void redo_page_update_checksum(uint8_t *page, size_t physical_size, uint32_t fsp_flags)
{
    /* Legacy page_compressed images carry no checksum (fil0pagecompress.cc). */
    if (!redo_fsp_flags_full_crc32(fsp_flags) && redo_fsp_flags_page_compressed(fsp_flags) &&
        (redo_page_get_type(page) == FIL_PAGE_PAGE_COMPRESSED ||
         redo_page_get_type(page) == FIL_PAGE_PAGE_COMPRESSED_ENCRYPTED))
        return;
    if (redo_fsp_flags_zip_size(fsp_flags)) {
        redo_put_be32(page + FIL_PAGE_SPACE_OR_CHKSUM,
                      redo_page_checksum_zip_crc32(page, physical_size));
        return;
    }

    if (redo_fsp_flags_full_crc32(fsp_flags)) {
        bool compressed = false;
        size_t size = redo_page_fcrc32_size(page, physical_size, &compressed);
        if (!size)
            size = physical_size; /* impossible type: checksum the whole page */
        if (!compressed) {
            /* buf_page_encrypt() clears the key version of a page written in
             * clear, buf_flush_init_for_writing() copies the LSN to the trailer. */
            redo_put_be32(page + FIL_PAGE_FCRC32_KEY_VERSION, 0);
            redo_put_be32(page + physical_size - FIL_PAGE_FCRC32_END_LSN,
                          redo_be32(page + FIL_PAGE_LSN + 4));
        }
        redo_put_be32(page + size - FIL_PAGE_FCRC32_CHECKSUM,
                      redo_page_checksum_full_crc32(page, size));
        return;
    }

    /* Legacy. buf_page_encrypt() zeroes the key version and post-encryption
     * checksum of pages written in clear, except page 0 (bytes 26..33 of
     * ibdata1's page 0 may hold a historic flush LSN) and the TRX_SYS page. */
    uint32_t page_no = redo_page_get_page_no(page);
    if (page_no != 0 &&
        !(page_no == FSP_TRX_SYS_PAGE_NO && redo_page_get_space_id(page) == TRX_SYS_SPACE))
        for (int i = 0; i < 8; i++)
            page[FIL_PAGE_FILE_FLUSH_LSN_OR_KEY_VERSION + i] = 0;
    /* The whole LSN goes to the trailer, then its high half is overwritten by
     * the checksum. */
    redo_put_be64(page + physical_size - FIL_PAGE_END_LSN_OLD_CHKSUM, redo_page_get_lsn(page));
    uint32_t checksum = redo_page_checksum_crc32(page, physical_size);
    redo_put_be32(page + FIL_PAGE_SPACE_OR_CHKSUM, checksum);
    redo_put_be32(page + physical_size - FIL_PAGE_END_LSN_OLD_CHKSUM, checksum);
}
