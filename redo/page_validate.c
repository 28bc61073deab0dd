/* Page validation as buf_page_is_corrupted() (buf/buf0buf.cc) does it with
 * innodb_checksum_algorithm=crc32, plus fil_space_verify_crypt_checksum()
 * (fil/fil0crypt.cc) for legacy encrypted pages and the page number check of
 * page_is_corrupted() (extra/mariabackup/fil_cur.cc). The verdict keeps the
 * stored and computed values so a message can show both. */
#include <stdio.h>
#include <string.h>

#include "common/err.h"
#include "redo/fsp.h"
#include "redo/page.h"

bool redo_page_is_zero(const uint8_t *page, size_t len)
{
    static const uint8_t zero[256];
    for (size_t off = 0; off < len; off += sizeof zero) {
        size_t n = len - off < sizeof zero ? len - off : sizeof zero;
        if (memcmp(page + off, zero, n))
            return false;
    }
    return true;
}

static int corrupt(struct redo_page_verdict *v, enum redo_page_reason reason,
                   enum redo_page_algo algo, uint32_t stored, uint32_t computed)
{
    v->ok = false;
    v->reason = reason;
    v->algo = algo;
    v->stored = stored;
    v->computed = computed;
    return IBS_E_INTEGRITY;
}

static int valid(struct redo_page_verdict *v, enum redo_page_algo algo, uint32_t stored,
                 uint32_t computed)
{
    v->ok = true;
    v->reason = REDO_PAGE_OK;
    v->algo = algo;
    v->stored = stored;
    v->computed = computed;
    return 0;
}

static int validate_full_crc32(const uint8_t *page, size_t ps, struct redo_page_verdict *v)
{
    bool compressed;
    size_t size = redo_page_fcrc32_size(page, ps, &compressed);
    v->compressed = compressed;
    v->encrypted = redo_be32(page + FIL_PAGE_FCRC32_KEY_VERSION) != 0;
    if (!size)
        return corrupt(v, REDO_PAGE_BAD_COMPRESSED, REDO_PAGE_ALGO_FULL_CRC32,
                       redo_page_get_type(page), (uint32_t)ps);

    uint32_t stored = redo_be32(page + size - FIL_PAGE_FCRC32_CHECKSUM);
    uint32_t computed = redo_page_checksum_full_crc32(page, size);
    if (stored != computed)
        return corrupt(v, REDO_PAGE_CHECKSUM_MISMATCH, REDO_PAGE_ALGO_FULL_CRC32, stored, computed);

    /* The LSN copy in the trailer is ciphertext on encrypted pages and absent
     * from compressed images; the CRC covers both anyway. */
    if (!compressed && !v->encrypted) {
        uint32_t trailer = redo_be32(page + ps - FIL_PAGE_FCRC32_END_LSN);
        uint32_t header = redo_be32(page + FIL_PAGE_LSN + 4);
        if (trailer != header)
            return corrupt(v, REDO_PAGE_LSN_MISMATCH, REDO_PAGE_ALGO_FULL_CRC32, trailer, header);
    }
    return valid(v, REDO_PAGE_ALGO_FULL_CRC32, stored, computed);
}

static int validate_zip(const uint8_t *page, size_t zip_size, struct redo_page_verdict *v)
{
    uint32_t stored = redo_be32(page + FIL_PAGE_SPACE_OR_CHKSUM);
    uint32_t crc32 = redo_page_checksum_zip_crc32(page, zip_size);
    if (stored == crc32)
        return valid(v, REDO_PAGE_ALGO_ZIP_CRC32, stored, crc32);
    if (stored == BUF_NO_CHECKSUM_MAGIC)
        return valid(v, REDO_PAGE_ALGO_NOCHECKSUM, stored, stored);
    uint32_t adler = redo_page_checksum_zip_adler32(page, zip_size);
    if (stored == adler)
        return valid(v, REDO_PAGE_ALGO_ZIP_ADLER32, stored, adler);
    return corrupt(v, REDO_PAGE_CHECKSUM_MISMATCH, REDO_PAGE_ALGO_ZIP_CRC32, stored, crc32);
}

/* The non-strict crc32 rules of buf_page_is_corrupted(): each of the two
 * checksum fields may hold crc32 (both equal), the "innodb" fold checksum, or
 * 0xDEADBEEF; the trailer may also hold the high LSN half (very old files) and
 * the header 0. Returns the algorithm that matched, REDO_PAGE_ALGO_NONE if none. */
static enum redo_page_algo legacy_match(const uint8_t *page, size_t ps, uint32_t f1, uint32_t f2,
                                        uint32_t crc32)
{
    if (f1 == BUF_NO_CHECKSUM_MAGIC && f2 == BUF_NO_CHECKSUM_MAGIC)
        return REDO_PAGE_ALGO_NOCHECKSUM;
    bool crc_ok = f1 == crc32 && f2 == crc32;
    if (crc_ok)
        return REDO_PAGE_ALGO_CRC32;
    if (f2 != redo_be32(page + FIL_PAGE_LSN) && f2 != BUF_NO_CHECKSUM_MAGIC &&
        f2 != redo_page_checksum_innodb_old(page))
        return REDO_PAGE_ALGO_NONE;
    if (f1 != 0 && f1 != BUF_NO_CHECKSUM_MAGIC && f1 != redo_page_checksum_innodb_new(page, ps))
        return REDO_PAGE_ALGO_NONE;
    return REDO_PAGE_ALGO_INNODB;
}

/* Legacy encrypted page: key version at 26, checksum of the encrypted image at
 * 30 (fil_space_verify_crypt_checksum()); the checksum at 0 is that of the
 * plaintext and cannot be checked without the key. Page 0 is never encrypted
 * but ibdata1's may carry an old flush LSN at 26, nor is the TRX_SYS page. The
 * server clears 26..33 on every page it writes in clear (buf_page_encrypt()),
 * so a non-zero key version means encrypted. Returns -1 when the page does not
 * look encrypted, else 0 or IBS_E_INTEGRITY with the verdict filled in. */
static int legacy_crypt_check(const uint8_t *page, size_t ps, size_t zip_size,
                              struct redo_page_verdict *v)
{
    uint32_t page_no = redo_page_get_page_no(page);
    if (page_no == 0 || !redo_be32(page + FIL_PAGE_FILE_FLUSH_LSN_OR_KEY_VERSION) ||
        (page_no == FSP_TRX_SYS_PAGE_NO && redo_page_get_space_id(page) == TRX_SYS_SPACE))
        return -1;
    v->encrypted = true;
    uint32_t stored = redo_be32(page + FIL_PAGE_FILE_FLUSH_LSN_OR_KEY_VERSION + 4);
    uint32_t computed = zip_size ? redo_page_checksum_zip_crc32(page, zip_size)
                                 : redo_page_checksum_crc32(page, ps);
    if (stored == computed || stored == BUF_NO_CHECKSUM_MAGIC ||
        stored == (zip_size ? redo_page_checksum_zip_adler32(page, zip_size)
                            : redo_page_checksum_innodb_new(page, ps)))
        return valid(v, REDO_PAGE_ALGO_CRYPT_CRC32, stored, computed);
    return corrupt(v, REDO_PAGE_CHECKSUM_MISMATCH, REDO_PAGE_ALGO_CRYPT_CRC32, stored, computed);
}

static int validate_legacy(const uint8_t *page, size_t ps, uint32_t fsp_flags,
                           struct redo_page_verdict *v)
{
    size_t zip_size = redo_fsp_flags_zip_size(fsp_flags);

    if (redo_fsp_flags_page_compressed(fsp_flags) &&
        (v->type == FIL_PAGE_PAGE_COMPRESSED || v->type == FIL_PAGE_PAGE_COMPRESSED_ENCRYPTED)) {
        /* No checksum before decompression (fil0pagecompress.cc): check what
         * the header lets us check. */
        struct redo_page_compressed c;
        v->compressed = true;
        v->encrypted = v->type == FIL_PAGE_PAGE_COMPRESSED_ENCRYPTED;
        if (redo_page_compressed_info(page, ps, fsp_flags, &c))
            return corrupt(v, REDO_PAGE_BAD_COMPRESSED, REDO_PAGE_ALGO_UNCHECKED,
                           redo_be16(page + FIL_PAGE_DATA + FIL_PAGE_COMP_SIZE), (uint32_t)ps);
        return valid(v, REDO_PAGE_ALGO_UNCHECKED, 0, 0);
    }

    if (zip_size) {
        if (redo_page_is_zero(page, zip_size)) {
            v->empty = true;
            return valid(v, REDO_PAGE_ALGO_NONE, 0, 0);
        }
        int rc = validate_zip(page, zip_size, v);
        if (rc) {
            int crypt = legacy_crypt_check(page, ps, zip_size, v);
            if (crypt >= 0)
                return crypt;
        }
        return rc;
    }

    /* The torn-page test: low LSN half in the header and in the trailer. */
    uint32_t header_lsn = redo_be32(page + FIL_PAGE_LSN + 4);
    uint32_t trailer_lsn = redo_be32(page + ps - FIL_PAGE_END_LSN_OLD_CHKSUM + 4);
    if (header_lsn != trailer_lsn)
        return corrupt(v, REDO_PAGE_LSN_MISMATCH, REDO_PAGE_ALGO_CRC32, trailer_lsn, header_lsn);

    uint32_t f1 = redo_be32(page + FIL_PAGE_SPACE_OR_CHKSUM);
    uint32_t f2 = redo_be32(page + ps - FIL_PAGE_END_LSN_OLD_CHKSUM);
    /* Empty page; old servers wrote a flush LSN at 26..33 of the first page of
     * each system tablespace file, so those bytes are ignored. */
    if (!f1 && !f2 && redo_page_is_zero(page, FIL_PAGE_FILE_FLUSH_LSN_OR_KEY_VERSION) &&
        redo_page_is_zero(page + FIL_PAGE_ARCH_LOG_NO_OR_SPACE_ID,
                          ps - FIL_PAGE_ARCH_LOG_NO_OR_SPACE_ID)) {
        v->empty = true;
        return valid(v, REDO_PAGE_ALGO_NONE, 0, 0);
    }

    uint32_t crc32 = redo_page_checksum_crc32(page, ps);
    enum redo_page_algo algo = legacy_match(page, ps, f1, f2, crc32);
    if (algo != REDO_PAGE_ALGO_NONE)
        return valid(v, algo, f1, algo == REDO_PAGE_ALGO_CRC32 ? crc32 : f1);
    int crypt = legacy_crypt_check(page, ps, 0, v);
    if (crypt >= 0)
        return crypt;
    /* Report the field that disagrees with crc32, the format 10.11 writes. */
    return corrupt(v, REDO_PAGE_CHECKSUM_MISMATCH, REDO_PAGE_ALGO_CRC32, f1 != crc32 ? f1 : f2,
                   crc32);
}

int redo_page_validate(const uint8_t *page, size_t physical_size, uint32_t fsp_flags,
                       uint32_t expected_page_no, struct redo_page_verdict *out)
{
    struct redo_page_verdict *v = out;
    *v = (struct redo_page_verdict){0};
    v->page_no = redo_page_get_page_no(page);
    v->type = redo_page_get_type(page);
    v->lsn = redo_page_get_lsn(page);

    if (physical_size != redo_fsp_flags_physical_size(fsp_flags)) {
        corrupt(v, REDO_PAGE_BAD_SIZE, REDO_PAGE_ALGO_NONE, (uint32_t)physical_size,
                redo_fsp_flags_physical_size(fsp_flags));
        return IBS_E_INTERNAL;
    }

    int rc = redo_fsp_flags_full_crc32(fsp_flags)
                 ? validate_full_crc32(page, physical_size, v)
                 : validate_legacy(page, physical_size, fsp_flags, v);
    if (rc && redo_page_is_zero(page, physical_size)) {
        /* Never written (file extended, or a punched hole). */
        *v = (struct redo_page_verdict){.ok = true, .empty = true};
        return 0;
    }
    if (rc)
        return rc;
    if (!v->empty && redo_page_is_zero(page, physical_size))
        v->empty = true;
    /* A page elsewhere than its number says is corrupt, however good its
     * checksum, unless it is all zero (fil_cur.cc page_is_corrupted()). */
    if (expected_page_no != REDO_PAGE_NO_ANY && !v->empty && v->page_no != expected_page_no)
        return corrupt(v, REDO_PAGE_NO_MISMATCH, v->algo, v->page_no, expected_page_no);
    return 0;
}

const char *redo_page_algo_name(enum redo_page_algo algo)
{
    switch (algo) {
    case REDO_PAGE_ALGO_NONE:
        return "none";
    case REDO_PAGE_ALGO_FULL_CRC32:
        return "full_crc32";
    case REDO_PAGE_ALGO_CRC32:
        return "crc32";
    case REDO_PAGE_ALGO_INNODB:
        return "innodb";
    case REDO_PAGE_ALGO_NOCHECKSUM:
        return "nochecksum";
    case REDO_PAGE_ALGO_ZIP_CRC32:
        return "page_zip crc32";
    case REDO_PAGE_ALGO_ZIP_ADLER32:
        return "page_zip adler32";
    case REDO_PAGE_ALGO_CRYPT_CRC32:
        return "post-encryption crc32";
    case REDO_PAGE_ALGO_UNCHECKED:
        return "unchecked page_compressed";
    }
    return "?";
}

const char *redo_page_verdict_str(const struct redo_page_verdict *v, char *buf, size_t len)
{
    switch (v->reason) {
    case REDO_PAGE_OK:
        snprintf(buf, len, "valid (%s%s)", v->empty ? "empty" : redo_page_algo_name(v->algo),
                 v->compressed ? ", page_compressed" : "");
        break;
    case REDO_PAGE_CHECKSUM_MISMATCH:
        snprintf(buf, len, "checksum mismatch (%s: stored 0x%08x, computed 0x%08x)",
                 redo_page_algo_name(v->algo), v->stored, v->computed);
        break;
    case REDO_PAGE_LSN_MISMATCH:
        snprintf(buf, len, "torn page: LSN low bits 0x%08x in the trailer, 0x%08x in the header",
                 v->stored, v->computed);
        break;
    case REDO_PAGE_NO_MISMATCH:
        snprintf(buf, len, "page number %u stored where %u was expected", v->stored, v->computed);
        break;
    case REDO_PAGE_BAD_COMPRESSED:
        snprintf(buf, len, "impossible page_compressed header (type 0x%04x, size field %u)",
                 v->type, v->stored);
        break;
    case REDO_PAGE_BAD_SIZE:
        snprintf(buf, len, "page size %u does not match the tablespace flags (%u)", v->stored,
                 v->computed);
        break;
    }
    return buf;
}
