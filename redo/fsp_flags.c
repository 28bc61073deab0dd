/* Tablespace flags (FSP_SPACE_FLAGS): page sizes, ROW_FORMAT=COMPRESSED,
 * page_compressed, and their validation. Facts: fsp0types.h (flag layout,
 * FSP_EXTENT_SIZE), fil0fil.h (fil_space_t::logical_size(), physical_size(),
 * zip_size(), is_compressed(), is_valid_flags(), is_fcrc32_valid_flags()). */
#include <stdio.h>

#include "redo/fsp.h"

static unsigned legacy_page_ssize(uint32_t flags)
{
    return (flags & FSP_FLAGS_MASK_PAGE_SSIZE) >> FSP_FLAGS_POS_PAGE_SSIZE;
}

static unsigned fcrc32_page_ssize(uint32_t flags)
{
    return (flags & FSP_FLAGS_FCRC32_MASK_PAGE_SSIZE) >> FSP_FLAGS_FCRC32_POS_PAGE_SSIZE;
}

unsigned redo_fsp_flags_logical_size(uint32_t flags)
{
    bool fcrc32 = redo_fsp_flags_full_crc32(flags);
    /* The two layouts disagree on 16K: legacy writes 0 (files predating the
     * field), full_crc32 writes 5. */
    switch (fcrc32 ? fcrc32_page_ssize(flags) : legacy_page_ssize(flags)) {
    case 0:
        return fcrc32 ? 0 : 16384;
    case 3:
        return 4096;
    case 4:
        return 8192;
    case 5:
        return fcrc32 ? 16384 : 0;
    case 6:
        return 32768;
    case 7:
        return 65536;
    default:
        return 0;
    }
}

unsigned redo_fsp_flags_physical_size(uint32_t flags)
{
    unsigned zip_size = redo_fsp_flags_zip_size(flags);
    return zip_size ? zip_size : redo_fsp_flags_logical_size(flags);
}

unsigned redo_fsp_flags_compression_algo(uint32_t flags)
{
    if (!redo_fsp_flags_full_crc32(flags))
        return 0;
    return (flags & FSP_FLAGS_FCRC32_MASK_COMPRESSED_ALGO) >> FSP_FLAGS_FCRC32_POS_COMPRESSED_ALGO;
}

bool redo_fsp_flags_page_compressed(uint32_t flags)
{
    if (redo_fsp_flags_full_crc32(flags))
        return redo_fsp_flags_compression_algo(flags) != 0;
    return flags & FSP_FLAGS_MASK_PAGE_COMPRESSION;
}

unsigned redo_fsp_extent_size(unsigned logical_size)
{
    return logical_size < 16384 ? 1048576u / logical_size : 64u;
}

static int invalid(struct ibs_err *err, uint32_t flags, const char *why)
{
    return ibs_err_set(err, IBS_E_INTEGRITY, "fsp: invalid tablespace flags 0x%x: %s", flags, why);
}

int redo_fsp_flags_validate(uint32_t flags, struct ibs_err *err)
{
    if (redo_fsp_flags_full_crc32(flags)) {
        if (!redo_fsp_flags_logical_size(flags))
            return invalid(err, flags, "full_crc32 page size field is not 4K..64K");
        if (flags >> FSP_FLAGS_FCRC32_POS_COMPRESSED_ALGO > PAGE_ALGORITHM_LAST)
            return invalid(err, flags, "unknown page_compressed algorithm or stray bits");
        return 0;
    }
    if (flags == 0)
        return 0; /* 16K REDUNDANT or COMPACT, as old ibdata1 files are */
    if (flags & ~FSP_FLAGS_MASK)
        return invalid(err, flags, "bits above 16 set (MySQL 8.0 or a corrupt page 0?)");
    if ((flags & (FSP_FLAGS_MASK_POST_ANTELOPE | FSP_FLAGS_MASK_ATOMIC_BLOBS)) ==
        FSP_FLAGS_MASK_ATOMIC_BLOBS)
        return invalid(err, flags, "ATOMIC_BLOBS without POST_ANTELOPE");
    /* Bit 10 may be MySQL 5.6's DATA_DIR; other reserved bits are the
     * misplaced flags of MariaDB 10.1.0..10.1.20 (fsp_flags_convert_from_101()),
     * which this tool does not convert. */
    if ((flags & FSP_FLAGS_MASK_RESERVED) >> FSP_FLAGS_POS_RESERVED & ~1u)
        return invalid(err, flags, "reserved bits 11..15 set (MariaDB 10.1.0-10.1.20 format?)");
    unsigned ssize = legacy_page_ssize(flags);
    if (!redo_fsp_flags_logical_size(flags))
        return invalid(err, flags, "page size field is not 4K..64K");
    unsigned zssize = (flags & FSP_FLAGS_MASK_ZIP_SSIZE) >> FSP_FLAGS_POS_ZIP_SSIZE;
    if (zssize) {
        if (zssize > (ssize ? ssize : 5u))
            return invalid(err, flags, "KEY_BLOCK_SIZE larger than the page size");
        if (~flags & (FSP_FLAGS_MASK_POST_ANTELOPE | FSP_FLAGS_MASK_ATOMIC_BLOBS))
            return invalid(err, flags, "ROW_FORMAT=COMPRESSED without ATOMIC_BLOBS");
    }
    return 0;
}

const char *redo_fsp_algo_name(unsigned algo)
{
    switch (algo) {
    case PAGE_ZLIB_ALGORITHM:
        return "zlib";
    case PAGE_LZ4_ALGORITHM:
        return "lz4";
    case PAGE_LZO_ALGORITHM:
        return "lzo";
    case PAGE_LZMA_ALGORITHM:
        return "lzma";
    case PAGE_BZIP2_ALGORITHM:
        return "bzip2";
    case PAGE_SNAPPY_ALGORITHM:
        return "snappy";
    }
    return NULL;
}

const char *redo_fsp_flags_str(uint32_t flags, char *buf, size_t len)
{
    unsigned lps = redo_fsp_flags_logical_size(flags), zip = redo_fsp_flags_zip_size(flags);
    int n = snprintf(buf, len, "%s %uK", redo_fsp_flags_full_crc32(flags) ? "full_crc32" : "legacy",
                     lps / 1024);
    if (n >= 0 && (size_t)n < len && zip)
        n += snprintf(buf + n, len - (size_t)n, " zip %uK", zip / 1024);
    if (n >= 0 && (size_t)n < len && redo_fsp_flags_page_compressed(flags)) {
        const char *algo = redo_fsp_algo_name(redo_fsp_flags_compression_algo(flags));
        if (algo)
            snprintf(buf + n, len - (size_t)n, " page_compressed(%s)", algo);
        else
            snprintf(buf + n, len - (size_t)n, " page_compressed");
    }
    return buf;
}
