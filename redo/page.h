/* InnoDB tablespace pages: the FIL header and trailer every page carries, page
 * LSNs, the checksums the server writes and accepts, and page validation as
 * buf_page_is_corrupted() does it. Pure functions over page buffers.
 *
 * Format facts: storage/innobase/include/fil0fil.h (FIL_PAGE_*),
 * storage/innobase/buf/buf0buf.cc (buf_page_is_corrupted),
 * storage/innobase/buf/buf0checksum.cc, storage/innobase/page/page0zip.cc
 * (page_zip_calc_checksum), storage/innobase/fil/fil0pagecompress.cc and
 * fil0crypt.cc, MariaDB 10.11. All integers on a page are big-endian. */
#ifndef IBS_REDO_PAGE_H
#define IBS_REDO_PAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* FIL header (fil0fil.h). */
#define FIL_PAGE_SPACE_OR_CHKSUM 0 /* legacy: checksum; full_crc32: key version */
#define FIL_PAGE_OFFSET 4          /* page number */
#define FIL_PAGE_PREV 8            /* previous page in the B-tree level, or FIL_NULL */
#define FIL_PAGE_NEXT 12           /* next page in the B-tree level, or FIL_NULL */
#define FIL_PAGE_LSN 16            /* end LSN of the last mini-transaction that wrote the page */
#define FIL_PAGE_TYPE 24           /* FIL_PAGE_TYPE_* below, 2 bytes */
#define FIL_PAGE_FILE_FLUSH_LSN_OR_KEY_VERSION 26 /* 8 bytes, meaning depends on format */
#define FIL_RTREE_SPLIT_SEQ_NUM FIL_PAGE_FILE_FLUSH_LSN_OR_KEY_VERSION
#define FIL_PAGE_COMP_ALGO FIL_PAGE_FILE_FLUSH_LSN_OR_KEY_VERSION /* legacy page_compressed */
#define FIL_PAGE_ARCH_LOG_NO_OR_SPACE_ID 34                       /* tablespace id */
#define FIL_PAGE_SPACE_ID FIL_PAGE_ARCH_LOG_NO_OR_SPACE_ID
#define FIL_PAGE_DATA 38 /* start of the page body */

/* Legacy page_compressed header (fil0fil.h, fil0pagecompress.cc); the
 * FIL_PAGE_COMP_SIZE and FIL_PAGE_ENCRYPT_COMP_ALGO offsets count from
 * FIL_PAGE_DATA. */
#define FIL_PAGE_COMP_SIZE 0                 /* 2 bytes: compressed stream length */
#define FIL_PAGE_COMP_METADATA_LEN 2         /* stream at FIL_PAGE_DATA + this */
#define FIL_PAGE_ENCRYPT_COMP_ALGO 2         /* 2 bytes: algorithm when also encrypted */
#define FIL_PAGE_ENCRYPT_COMP_METADATA_LEN 4 /* stream at FIL_PAGE_DATA + this */

/* Trailer (fil0fil.h), counted back from the end of the page. */
#define FIL_PAGE_END_LSN_OLD_CHKSUM 8 /* legacy: checksum, then low 32 bits of the LSN */
#define FIL_PAGE_DATA_END 8
/* full_crc32 (fil0fil.h): */
#define FIL_PAGE_FCRC32_KEY_VERSION 0 /* key version, 0 = not encrypted */
#define FIL_PAGE_FCRC32_END_LSN 8     /* low 32 bits of FIL_PAGE_LSN, from the end */
#define FIL_PAGE_FCRC32_CHECKSUM 4    /* CRC-32C of everything before it, from the end */
/* Bit 15 of FIL_PAGE_TYPE marks a full_crc32 page_compressed page; the low byte
 * is then the stored size / 256 (fil0fil.h, buf_page_full_crc32_size()). */
#define FIL_PAGE_COMPRESS_FCRC32_MARKER 15

#define FIL_NULL 0xFFFFFFFFu

/* "none": what innodb_checksum_algorithm=none wrote, and what legacy
 * page_compressed pages carry at offset 0 (buf0checksum.h). */
#define BUF_NO_CHECKSUM_MAGIC 0xDEADBEEFu

/* FIL_PAGE_TYPE values (fil0fil.h). */
#define FIL_PAGE_TYPE_ALLOCATED 0
#define FIL_PAGE_UNDO_LOG 2
#define FIL_PAGE_INODE 3
#define FIL_PAGE_IBUF_FREE_LIST 4
#define FIL_PAGE_IBUF_BITMAP 5
#define FIL_PAGE_TYPE_SYS 6
#define FIL_PAGE_TYPE_TRX_SYS 7
#define FIL_PAGE_TYPE_FSP_HDR 8
#define FIL_PAGE_TYPE_XDES 9
#define FIL_PAGE_TYPE_BLOB 10
#define FIL_PAGE_TYPE_ZBLOB 11
#define FIL_PAGE_TYPE_ZBLOB2 12
#define FIL_PAGE_TYPE_UNKNOWN 13
#define FIL_PAGE_TYPE_INSTANT 18
#define FIL_PAGE_RTREE 17854
#define FIL_PAGE_INDEX 17855
#define FIL_PAGE_PAGE_COMPRESSED 34354
#define FIL_PAGE_PAGE_COMPRESSED_ENCRYPTED 37401

/* Page sizes (univ.i, fsp0types.h). */
#define REDO_PAGE_MIN_SIZE 4096u     /* smallest innodb_page_size */
#define REDO_PAGE_MAX_SIZE 65536u    /* largest innodb_page_size */
#define REDO_PAGE_ZIP_MIN_SIZE 1024u /* smallest KEY_BLOCK_SIZE */
#define REDO_PAGE_ZIP_MAX_SIZE 16384u

/* Pass as expected_page_no to skip the page number check. */
#define REDO_PAGE_NO_ANY 0xFFFFFFFFu

/* --- reading fields ---------------------------------------------------- */

static inline uint16_t redo_be16(const uint8_t *p)
{
    return (uint16_t)((unsigned)p[0] << 8 | p[1]);
}

static inline uint32_t redo_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline uint64_t redo_be64(const uint8_t *p)
{
    return (uint64_t)redo_be32(p) << 32 | redo_be32(p + 4);
}

static inline void redo_put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static inline void redo_put_be64(uint8_t *p, uint64_t v)
{
    redo_put_be32(p, (uint32_t)(v >> 32));
    redo_put_be32(p + 4, (uint32_t)v);
}

static inline uint32_t redo_page_get_page_no(const uint8_t *page)
{
    return redo_be32(page + FIL_PAGE_OFFSET);
}

static inline uint32_t redo_page_get_space_id(const uint8_t *page)
{
    return redo_be32(page + FIL_PAGE_SPACE_ID);
}

static inline uint16_t redo_page_get_type(const uint8_t *page)
{
    return redo_be16(page + FIL_PAGE_TYPE);
}

/* --- LSN (page_lsn.c) -------------------------------------------------- */

/* FIL_PAGE_LSN: the end LSN of the last mini-transaction applied to the page. */
uint64_t redo_page_get_lsn(const uint8_t *page);

/* Sets FIL_PAGE_LSN to lsn, and the trailer copy the format keeps: legacy
 * uncompressed pages the low 32 bits at physical_size - 4, full_crc32 pages the
 * low 32 bits at physical_size - 8. ROW_FORMAT=COMPRESSED pages (the flags
 * carry a zip size) and full_crc32 page_compressed images have no trailer LSN.
 * Does not touch the checksum: call redo_page_update_checksum() after. */
void redo_page_set_lsn(uint8_t *page, size_t physical_size, uint32_t fsp_flags, uint64_t lsn);

/* --- checksums (page_checksum.c) --------------------------------------- */

/* full_crc32: CRC-32C of bytes [0, size - 4) where size is physical_size, or
 * the stored size of a full_crc32 page_compressed page (see
 * redo_page_fcrc32_size()). */
uint32_t redo_page_checksum_full_crc32(const uint8_t *page, size_t size);

/* Legacy "crc32" (buf_calc_page_crc32()): CRC-32C(4..25) XOR CRC-32C(38..ps-9). */
uint32_t redo_page_checksum_crc32(const uint8_t *page, size_t physical_size);

/* Legacy "innodb" checksums (buf_calc_page_new_checksum() and
 * buf_calc_page_old_checksum(), ut_fold_binary()): the new one is stored at
 * offset 0, the old one in the trailer. */
uint32_t redo_page_checksum_innodb_new(const uint8_t *page, size_t physical_size);
uint32_t redo_page_checksum_innodb_old(const uint8_t *page);

/* ROW_FORMAT=COMPRESSED (page_zip_calc_checksum()): CRC-32C or Adler-32 over
 * bytes 4..15, 24..25 and 34..zip_size-1, stored at offset 0 only. */
uint32_t redo_page_checksum_zip_crc32(const uint8_t *page, size_t zip_size);
uint32_t redo_page_checksum_zip_adler32(const uint8_t *page, size_t zip_size);

/* Writes the checksum fields as the server does when it flushes a page it has
 * modified (buf_flush_init_for_writing()):
 * - full_crc32: the low 32 bits of FIL_PAGE_LSN at ps - 8 and the CRC-32C at
 *   ps - 4; for a page_compressed image only the CRC-32C at its stored size - 4;
 * - legacy: the low 32 bits of FIL_PAGE_LSN at ps - 4, then the crc32 checksum
 *   at offset 0 and at ps - 8;
 * - ROW_FORMAT=COMPRESSED: the crc32 page_zip checksum at offset 0;
 * - a legacy page_compressed image (FIL_PAGE_PAGE_COMPRESSED*): nothing, it has
 *   no checksum.
 * Like buf_page_encrypt() for a page written in clear, it zeroes the full_crc32
 * key version, and the legacy bytes 26..33 except on page 0 and on the system
 * tablespace's TRX_SYS page (0:5). It does not reset invalid page types as the
 * server does for 16K pages: the caller decides what the page holds. */
void redo_page_update_checksum(uint8_t *page, size_t physical_size, uint32_t fsp_flags);

/* --- page types and page_compressed images (page_type.c) --------------- */

/* "INDEX", "UNDO_LOG", "FSP_HDR", ...; "PAGE_COMPRESSED_FCRC32" for a
 * full_crc32 compressed image (type bit 15 set). Unknown values give NULL so
 * the caller can print the number. */
const char *redo_page_type_name(uint16_t type);

/* Whether FIL_PAGE_TYPE is one the server writes (fil_page_type_validate()
 * accepts; 14..17 are MySQL-only and invalid). */
bool redo_page_type_is_valid(uint16_t type);

/* Stored size of a full_crc32 page: physical_size, or for a page_compressed
 * image (type bit 15) (type & 0xff) << 8. Returns 0 when that size is not
 * smaller than physical_size (buf_page_full_crc32_size() "corrupted"). */
size_t redo_page_fcrc32_size(const uint8_t *page, size_t physical_size, bool *compressed);

/* page_compressed image description, for a decompressor. */
struct redo_page_compressed {
    bool compressed;       /* the page is a compressed image */
    bool encrypted;        /* legacy FIL_PAGE_PAGE_COMPRESSED_ENCRYPTED */
    unsigned algorithm;    /* PAGE_*_ALGORITHM (fsp.h), 0 if not known from the page */
    size_t payload_offset; /* where the compressed stream starts */
    size_t payload_length; /* bytes to give the decompressor, as the server
                            * does: for full_crc32 zlib/lzma/bzip2 this
                            * runs to the stored size (padding and CRC
                            * included), the stream ends itself */
};

/* Recognises a page_compressed image in a tablespace with these flags. Returns
 * 0 and fills out (out->compressed false for an ordinary page), or -1 when the
 * header fields are impossible (length beyond the page, unknown algorithm).
 * Inflating a full_crc32 image gives the page as it was before the server
 * wrote its checksum (buf_page_encrypt() compresses before
 * buf_flush_init_for_writing()): the trailer LSN is current but the CRC at
 * ps - 4 is stale; call redo_page_update_checksum() before using it as a
 * valid uncompressed page. */
int redo_page_compressed_info(const uint8_t *page, size_t physical_size, uint32_t fsp_flags,
                              struct redo_page_compressed *out);

/* --- validation (page_validate.c) -------------------------------------- */

enum redo_page_algo {
    REDO_PAGE_ALGO_NONE = 0,    /* no checksum involved (empty page) */
    REDO_PAGE_ALGO_FULL_CRC32,  /* full_crc32 */
    REDO_PAGE_ALGO_CRC32,       /* legacy crc32 */
    REDO_PAGE_ALGO_INNODB,      /* legacy "innodb" fold checksums */
    REDO_PAGE_ALGO_NOCHECKSUM,  /* legacy 0xDEADBEEF "none" */
    REDO_PAGE_ALGO_ZIP_CRC32,   /* ROW_FORMAT=COMPRESSED crc32 */
    REDO_PAGE_ALGO_ZIP_ADLER32, /* ROW_FORMAT=COMPRESSED "innodb" (Adler-32) */
    REDO_PAGE_ALGO_CRYPT_CRC32, /* legacy encrypted: post-encryption checksum at 30 */
    REDO_PAGE_ALGO_UNCHECKED,   /* legacy page_compressed: only after decompression */
};

enum redo_page_reason {
    REDO_PAGE_OK = 0,
    REDO_PAGE_CHECKSUM_MISMATCH, /* stored vs computed checksum differ */
    REDO_PAGE_LSN_MISMATCH,      /* header LSN low 32 bits vs trailer copy differ */
    REDO_PAGE_NO_MISMATCH,       /* FIL_PAGE_OFFSET is not the expected page number */
    REDO_PAGE_BAD_COMPRESSED,    /* page_compressed header impossible */
    REDO_PAGE_BAD_SIZE,          /* physical_size does not fit the flags */
};

struct redo_page_verdict {
    bool ok;
    bool empty; /* all zero (never written): valid */
    enum redo_page_reason reason;
    enum redo_page_algo algo; /* the checksum that matched, or the one expected */
    uint32_t stored;          /* stored checksum (or trailer LSN for LSN mismatch) */
    uint32_t computed;        /* computed checksum (or header LSN low 32 bits) */
    uint32_t page_no;         /* FIL_PAGE_OFFSET as stored */
    uint16_t type;            /* FIL_PAGE_TYPE as stored */
    uint64_t lsn;             /* FIL_PAGE_LSN as stored */
    bool compressed;          /* page_compressed image */
    bool encrypted;           /* the page says it is encrypted (key version != 0) */
};

/* Validates one page as read from a file of a tablespace with fsp_flags, like
 * buf_page_is_corrupted() with innodb_checksum_algorithm=crc32 (non-strict:
 * pages written with the old innodb/none algorithms are accepted), plus the
 * page number check mariadb-backup makes (expected_page_no, or REDO_PAGE_NO_ANY).
 * physical_size must be the tablespace's physical page size.
 *
 * Not covered (the caller decides): the system tablespace's doublewrite area
 * holds copies of other pages (see redo_fsp_is_doublewrite()); a legacy
 * page_compressed image has no checksum and is only checked for a sane header
 * (algo REDO_PAGE_ALGO_UNCHECKED: decompress and validate the result to be sure);
 * a legacy encrypted page is accepted when its post-encryption checksum matches.
 * "LSN in the future" needs the log end and is not checked here.
 *
 * Returns 0 if the page is valid, IBS_E_INTEGRITY if not (out says why), and
 * IBS_E_INTERNAL when physical_size does not fit the flags. */
int redo_page_validate(const uint8_t *page, size_t physical_size, uint32_t fsp_flags,
                       uint32_t expected_page_no, struct redo_page_verdict *out);

/* One line for a message, e.g. "checksum mismatch (crc32: stored 0x1234abcd,
 * computed 0x0badf00d)" or "page number 7 stored where 8 was expected". The
 * caller prefixes the file and page number. Returns buf. */
const char *redo_page_verdict_str(const struct redo_page_verdict *v, char *buf, size_t len);

const char *redo_page_algo_name(enum redo_page_algo algo);

/* Whether the whole buffer is zero. */
bool redo_page_is_zero(const uint8_t *page, size_t len);

#endif
