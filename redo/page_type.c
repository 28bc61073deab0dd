/* FIL_PAGE_TYPE names for messages, and recognising page_compressed images.
 * Formats: fil0fil.h (FIL_PAGE_*), fil_page_type_validate() (fil0fil.cc),
 * fil0pagecompress.cc, buf_page_full_crc32_size() (buf0buf.h). */
#include "redo/fsp.h"
#include "redo/page.h"

const char *redo_page_type_name(uint16_t type)
{
    if (type & 1u << FIL_PAGE_COMPRESS_FCRC32_MARKER && type != FIL_PAGE_PAGE_COMPRESSED &&
        type != FIL_PAGE_PAGE_COMPRESSED_ENCRYPTED)
        return "PAGE_COMPRESSED_FCRC32";
    switch (type) {
    case FIL_PAGE_TYPE_ALLOCATED:
        return "ALLOCATED";
    case FIL_PAGE_UNDO_LOG:
        return "UNDO_LOG";
    case FIL_PAGE_INODE:
        return "INODE";
    case FIL_PAGE_IBUF_FREE_LIST:
        return "IBUF_FREE_LIST";
    case FIL_PAGE_IBUF_BITMAP:
        return "IBUF_BITMAP";
    case FIL_PAGE_TYPE_SYS:
        return "SYS";
    case FIL_PAGE_TYPE_TRX_SYS:
        return "TRX_SYS";
    case FIL_PAGE_TYPE_FSP_HDR:
        return "FSP_HDR";
    case FIL_PAGE_TYPE_XDES:
        return "XDES";
    case FIL_PAGE_TYPE_BLOB:
        return "BLOB";
    case FIL_PAGE_TYPE_ZBLOB:
        return "ZBLOB";
    case FIL_PAGE_TYPE_ZBLOB2:
        return "ZBLOB2";
    case FIL_PAGE_TYPE_UNKNOWN:
        return "UNKNOWN";
    case FIL_PAGE_TYPE_INSTANT:
        return "INSTANT";
    case FIL_PAGE_RTREE:
        return "RTREE";
    case FIL_PAGE_INDEX:
        return "INDEX";
    case FIL_PAGE_PAGE_COMPRESSED:
        return "PAGE_COMPRESSED";
    case FIL_PAGE_PAGE_COMPRESSED_ENCRYPTED:
        return "PAGE_COMPRESSED_ENCRYPTED";
    }
    return NULL;
}

bool redo_page_type_is_valid(uint16_t type)
{
    return redo_page_type_name(type) != NULL;
}

size_t redo_page_fcrc32_size(const uint8_t *page, size_t physical_size, bool *compressed)
{
    unsigned type = redo_page_get_type(page);
    if (compressed)
        *compressed = false;
    if (!(type & 1u << FIL_PAGE_COMPRESS_FCRC32_MARKER))
        return physical_size;
    size_t size = (size_t)(type & 0xff) << 8;
    if (size >= physical_size)
        return 0;
    if (compressed)
        *compressed = true;
    return size;
}

/* full_crc32: the stream starts after the first 26 bytes of the original
 * header; lz4, lzo and snappy need the exact stream length, which the server
 * encodes in the byte before the CRC (fil_page_compress_for_full_crc32(),
 * fil_page_decompress_for_full_crc32()). */
static int fcrc32_compressed_info(const uint8_t *page, size_t physical_size, uint32_t fsp_flags,
                                  struct redo_page_compressed *out)
{
    bool compressed;
    size_t size = redo_page_fcrc32_size(page, physical_size, &compressed);
    if (!size)
        return -1;
    if (!compressed)
        return 0;
    if (size <= FIL_PAGE_FILE_FLUSH_LSN_OR_KEY_VERSION + FIL_PAGE_FCRC32_CHECKSUM + 1)
        return -1;
    out->compressed = true;
    out->algorithm = redo_fsp_flags_compression_algo(fsp_flags);
    out->payload_offset = FIL_PAGE_FILE_FLUSH_LSN_OR_KEY_VERSION;
    switch (out->algorithm) {
    case PAGE_LZ4_ALGORITHM:
    case PAGE_LZO_ALGORITHM:
    case PAGE_SNAPPY_ALGORITHM: {
        size_t actual = size - 5;
        uint8_t b = page[size - 5];
        if (b)
            actual = size + b - 256 - 5;
        if (actual <= out->payload_offset)
            return -1;
        out->payload_length = actual - out->payload_offset;
        break;
    }
    default:
        /* zlib, lzma, bzip2 streams carry their own end: the server hands the
         * decompressor everything after the header up to the stored size. */
        out->payload_length = size - out->payload_offset;
        break;
    }
    return 0;
}

/* Legacy (fil_page_decompress_for_non_full_crc32()): 0xDEADBEEF at 0, the
 * algorithm as an 8-byte number at 26 (the high 6 bytes zero), the stream length
 * at 38, the stream at 40. When also encrypted, 26..33 carry the key version and
 * checksum, the algorithm moves to 40..41 and the stream to 42. */
static int legacy_compressed_info(const uint8_t *page, size_t physical_size,
                                  struct redo_page_compressed *out)
{
    uint16_t type = redo_page_get_type(page);
    if (type != FIL_PAGE_PAGE_COMPRESSED && type != FIL_PAGE_PAGE_COMPRESSED_ENCRYPTED)
        return 0;
    out->compressed = true;
    if (type == FIL_PAGE_PAGE_COMPRESSED_ENCRYPTED) {
        out->encrypted = true;
        out->payload_offset = FIL_PAGE_DATA + FIL_PAGE_ENCRYPT_COMP_METADATA_LEN;
        out->algorithm = redo_be16(page + FIL_PAGE_DATA + FIL_PAGE_ENCRYPT_COMP_ALGO);
    } else {
        if (redo_be32(page + FIL_PAGE_COMP_ALGO) || redo_be16(page + FIL_PAGE_COMP_ALGO + 4))
            return -1;
        out->payload_offset = FIL_PAGE_DATA + FIL_PAGE_COMP_METADATA_LEN;
        out->algorithm = redo_be16(page + FIL_PAGE_COMP_ALGO + 6);
    }
    out->payload_length = redo_be16(page + FIL_PAGE_DATA + FIL_PAGE_COMP_SIZE);
    /* Checked after decryption by the server; in clear it is our only check. */
    if (!out->encrypted && redo_be32(page + FIL_PAGE_SPACE_OR_CHKSUM) != BUF_NO_CHECKSUM_MAGIC)
        return -1;
    if (out->payload_length == 0 || out->payload_length > physical_size - out->payload_offset)
        return -1;
    if (out->algorithm == 0 || out->algorithm > PAGE_ALGORITHM_LAST)
        return -1;
    return 0;
}

int redo_page_compressed_info(const uint8_t *page, size_t physical_size, uint32_t fsp_flags,
                              struct redo_page_compressed *out)
{
    *out = (struct redo_page_compressed){0};
    if (!redo_fsp_flags_page_compressed(fsp_flags))
        return 0;
    if (redo_fsp_flags_full_crc32(fsp_flags))
        return fcrc32_compressed_info(page, physical_size, fsp_flags, out);
    return legacy_compressed_info(page, physical_size, out);
}
