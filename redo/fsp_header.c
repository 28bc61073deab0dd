/* What page 0 of a tablespace file says: space id, flags and page sizes, FSP
 * size and free limit, crypt data. Facts: fsp0fsp.h (FSP header, crypt data
 * offset fsp_header_get_encryption_offset()), Datafile::read_first_page() and
 * validate_first_page() (fsp/fsp0file.cc), fil_space_read_crypt_data()
 * (fil/fil0crypt.cc).
 *
 * Every file that starts a tablespace (ibdata1, undoNNN, *.ibd) records its
 * page size in these flags, the system tablespace included: a server with
 * innodb_page_size=4k writes PAGE_SSIZE 3 in ibdata1's flags (0x13 with
 * full_crc32, 0xc0 without); flags 0 are the legacy 16K default (SysTablespace
 * flags are FSP_FLAGS_PAGE_SSIZE() or the full_crc32 marker with
 * FSP_FLAGS_FCRC32_PAGE_SSIZE(), ha_innodb.cc innodb_init_params()). */
#include <string.h>

#include "redo/fsp.h"
#include "redo/page.h"

static const uint8_t crypt_magic[CRYPT_MAGIC_SIZE] = {'s', 0xE, 0xC, 'R', 'E', 't'};

/* Absolute offset of the crypt data on page 0: FSP_HEADER_OFFSET plus
 * fsp_header_get_encryption_offset(), which itself starts from XDES_ARR_OFFSET
 * (so the 38-byte FIL header counts twice, as the server does). */
static size_t crypt_offset(unsigned logical_size, unsigned physical_size)
{
    return FSP_HEADER_OFFSET + XDES_ARR_OFFSET +
           (size_t)redo_fsp_xdes_size(logical_size) * physical_size /
               redo_fsp_extent_size(logical_size);
}

static void read_crypt_data(const uint8_t *page, struct redo_fsp_info *out)
{
    size_t off = crypt_offset(out->logical_size, out->physical_size);
    const uint8_t *p = page + off;
    if (off + CRYPT_MAGIC_SIZE + 2 + 16 + 9 > out->physical_size ||
        memcmp(p, crypt_magic, CRYPT_MAGIC_SIZE))
        return;
    p += CRYPT_MAGIC_SIZE;
    unsigned type = p[0], iv_len = p[1];
    /* fil_space_read_crypt_data() ignores nonsense crypt data the same way. */
    if ((type != CRYPT_SCHEME_UNENCRYPTED && type != CRYPT_SCHEME_1) || iv_len != 16)
        return;
    out->crypt_data = true;
    out->crypt_type = type;
    out->crypt_min_key_version = redo_be32(p + 2 + iv_len);
    out->crypt_key_id = redo_be32(p + 2 + iv_len + 4);
    out->crypt_mode = p[2 + iv_len + 8];
}

int redo_fsp_read_page0(const uint8_t *buf, size_t len, uint64_t file_size,
                        struct redo_fsp_info *out, struct ibs_err *err)
{
    *out = (struct redo_fsp_info){0};
    if (len < REDO_PAGE_ZIP_MIN_SIZE)
        return ibs_err_set(err, IBS_E_INTEGRITY,
                           "fsp: file of %llu bytes is too short for a tablespace header",
                           (unsigned long long)file_size);
    if (redo_page_get_page_no(buf) != 0)
        return ibs_err_set(err, IBS_E_INTEGRITY,
                           "fsp: first page has page number %u, not 0 (a later file of the "
                           "system tablespace, or not a tablespace)",
                           redo_page_get_page_no(buf));

    const uint8_t *fsp = buf + FSP_HEADER_OFFSET;
    out->space_id = redo_be32(fsp + FSP_SPACE_ID);
    out->flags = redo_be32(fsp + FSP_SPACE_FLAGS);
    out->size = redo_be32(fsp + FSP_SIZE);
    out->free_limit = redo_be32(fsp + FSP_FREE_LIMIT);

    if (!out->space_id && !out->flags && redo_page_is_zero(buf, len))
        return ibs_err_set(err, IBS_E_INTEGRITY, "fsp: header page is all zero");
    if (redo_page_get_space_id(buf) != out->space_id)
        return ibs_err_set(err, IBS_E_INTEGRITY,
                           "fsp: space id %u in the page header but %u in the FSP header",
                           redo_page_get_space_id(buf), out->space_id);
    if (out->space_id >= SRV_SPACE_ID_UPPER_BOUND && out->space_id != SRV_TMP_SPACE_ID)
        return ibs_err_set(err, IBS_E_INTEGRITY, "fsp: impossible space id 0x%x", out->space_id);
    if (redo_fsp_flags_validate(out->flags, err))
        return err->code;

    out->full_crc32 = redo_fsp_flags_full_crc32(out->flags);
    out->logical_size = redo_fsp_flags_logical_size(out->flags);
    out->zip_size = redo_fsp_flags_zip_size(out->flags);
    out->physical_size = redo_fsp_flags_physical_size(out->flags);
    out->page_compressed = redo_fsp_flags_page_compressed(out->flags);
    out->compression_algo = redo_fsp_flags_compression_algo(out->flags);
    out->file_pages = file_size / out->physical_size;

    if (file_size < out->physical_size || len < out->physical_size)
        return ibs_err_set(err, IBS_E_INTEGRITY,
                           "fsp: %s of %llu bytes is shorter than one %u-byte page",
                           file_size < out->physical_size ? "file" : "buffer",
                           (unsigned long long)(file_size < out->physical_size ? file_size : len),
                           out->physical_size);

    struct redo_page_verdict v;
    if (redo_page_validate(buf, out->physical_size, out->flags, 0, &v)) {
        char why[160];
        return ibs_err_set(err, IBS_E_INTEGRITY, "fsp: page 0: %s",
                           redo_page_verdict_str(&v, why, sizeof why));
    }
    read_crypt_data(buf, out);
    return 0;
}
