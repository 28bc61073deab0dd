/* page_compressed images for prepare (see prepare_inflate.h). The server
 * writes pages of a PAGE_COMPRESSED=1 tablespace compressed when that saves
 * space (fil_page_compress()); prepare writes the pages it changes back
 * uncompressed, which InnoDB reads like any page that did not compress well. */
#include "engine/prepare_inflate.h"

#include <string.h>
#include <zlib.h>

#include "redo/fsp.h"
#include "redo/page.h"

int prep_inflate_page(uint8_t *page, size_t physical_size, uint32_t fsp_flags, const char *file,
                      uint32_t page_no, struct ibs_err *err)
{
    struct redo_page_compressed info;
    uint8_t out[REDO_PAGE_MAX_SIZE];

    if (!redo_fsp_flags_page_compressed(fsp_flags))
        return 0;
    if (redo_page_compressed_info(page, physical_size, fsp_flags, &info) != 0)
        return ibs_err_set(err, IBS_E_REDO,
                           "%s page %u: impossible page_compressed header (corrupted page)", file,
                           page_no);
    if (!info.compressed)
        return 0;
    if (info.encrypted)
        return ibs_err_set(err, IBS_E_REDO,
                           "%s page %u: encrypted page_compressed pages are not supported by "
                           "prepare; use mariabackup --prepare on restore --no-prepare",
                           file, page_no);
    if (info.algorithm != PAGE_ZLIB_ALGORITHM)
        return ibs_err_set(err, IBS_E_REDO,
                           "%s page %u: page_compressed algorithm %u is not supported by prepare "
                           "(only zlib); use mariabackup --prepare on restore --no-prepare",
                           file, page_no, info.algorithm);

    /* The stream ends itself; the server hands zlib the bytes up to the
     * stored size, padding included (fil_page_decompress_low()). */
    z_stream zs;
    memset(&zs, 0, sizeof(zs));
    if (inflateInit(&zs) != Z_OK)
        return ibs_err_set(err, IBS_E_INTERNAL, "zlib: inflateInit failed");
    zs.next_in = page + info.payload_offset;
    zs.avail_in = (uInt)info.payload_length;
    zs.next_out = out;
    zs.avail_out = (uInt)physical_size;
    int zrc = inflate(&zs, Z_FINISH);
    size_t got = physical_size - zs.avail_out;
    inflateEnd(&zs);
    if (zrc != Z_STREAM_END || got != physical_size)
        return ibs_err_set(err, IBS_E_REDO,
                           "%s page %u: page_compressed image does not inflate to one page "
                           "(zlib %d, %zu of %zu bytes): corrupted page",
                           file, page_no, zrc, got, physical_size);
    memcpy(page, out, physical_size);
    /* A full_crc32 image was compressed before its checksum was computed. */
    redo_page_update_checksum(page, physical_size, fsp_flags);
    return 0;
}
