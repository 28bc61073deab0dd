/* Unit tests of redo/page.h and redo/fsp.h on real pages written by MariaDB
 * 10.11 (full_crc32 and legacy crc32 tablespaces, ROW_FORMAT=COMPRESSED,
 * PAGE_COMPRESSED, 4K/16K/64K pages; see tests/fixtures/pages/README.md).
 * zlib is used only here, to check page_compressed payloads by inflating them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <zlib.h>

#include "common/err.h"
#include "redo/fsp.h"
#include "redo/page.h"

struct fixture {
    const char *name;
    uint32_t space_id, flags, size, free_limit;
    unsigned logical, physical, zip;
    bool full_crc32, page_compressed;
    unsigned algo;
};

/* Expected values read from information_schema.innodb_sys_tablespaces (flags,
 * page sizes) and the files' sizes when the fixtures were made. */
static const struct fixture fixtures[] = {
    {"fc16_ibdata1", 0, 0x15, 768, 576, 16384, 16384, 0, true, false, 0},
    {"fc16_plain", 5, 0x15, 39, 64, 16384, 16384, 0, true, false, 0},
    {"fc16_zip", 6, 0x29, 21, 64, 16384, 8192, 8192, false, false, 0},
    {"fc16_pc", 7, 0x35, 22, 64, 16384, 16384, 0, true, true, PAGE_ZLIB_ALGORITHM},
    {"fc16_freed", 8, 0x15, 832, 576, 16384, 16384, 0, true, false, 0},
    {"crc16_ibdata1", 0, 0x0, 768, 576, 16384, 16384, 0, false, false, 0},
    {"crc16_plain", 5, 0x21, 39, 64, 16384, 16384, 0, false, false, 0},
    {"crc16_zip", 6, 0x29, 21, 64, 16384, 8192, 8192, false, false, 0},
    {"crc16_pc", 7, 0x10021, 22, 64, 16384, 16384, 0, false, true, 0},
    {"fc4k_ibdata1", 0, 0x13, 3072, 1280, 4096, 4096, 0, true, false, 0},
    {"fc4k_plain", 5, 0x13, 162, 256, 4096, 4096, 0, true, false, 0},
    {"fc4k_zip", 6, 0xe5, 70, 256, 4096, 2048, 2048, false, false, 0},
    {"fc4k_pc", 7, 0x33, 74, 256, 4096, 4096, 0, true, true, PAGE_ZLIB_ALGORITHM},
    {"fc4k_freed", 8, 0x13, 3328, 2304, 4096, 4096, 0, true, false, 0},
    /* legacy 4K: ibdata1 carries PAGE_SSIZE 3 and nothing else */
    {"crc4k_ibdata1", 0, 0xc0, 3072, 1280, 4096, 4096, 0, false, false, 0},
    {"crc4k_plain", 5, 0xe1, 162, 256, 4096, 4096, 0, false, false, 0},
    {"fc64k_ibdata1", 0, 0x17, 1216, 576, 65536, 65536, 0, true, false, 0},
    {"fc64k_plain", 5, 0x17, 15, 64, 65536, 65536, 0, true, false, 0},
    /* ENCRYPTED=YES with file_key_management, key id 1 */
    {"enc16_plain", 5, 0x15, 39, 64, 16384, 16384, 0, true, false, 0},
    {"enc16_zip", 6, 0x29, 21, 64, 16384, 8192, 8192, false, false, 0},
    {"enccrc16_plain", 5, 0x21, 39, 64, 16384, 16384, 0, false, false, 0},
    {"enccrc16_zip", 6, 0x29, 21, 64, 16384, 8192, 8192, false, false, 0},
};
#define N_FIXTURES (sizeof fixtures / sizeof fixtures[0])

static uint8_t *load(const char *name, const char *ext, size_t *len)
{
    const char *dir = getenv("IBS_TEST_FIXTURES");
    char path[4096];
    assert_non_null(dir);
    snprintf(path, sizeof path, "%s/pages/%s.%s", dir, name, ext);
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open fixture %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    buf[n] = 0;
    *len = (size_t)n;
    return buf;
}

static bool encrypted_set(const struct fixture *fx)
{
    return strncmp(fx->name, "enc", 3) == 0;
}

/* What the page says about itself: full_crc32 key version at 0, legacy key
 * version at 26 (never on page 0). */
static bool page_encrypted(const struct fixture *fx, const uint8_t *page)
{
    if (fx->full_crc32)
        return redo_be32(page) != 0;
    return redo_page_get_page_no(page) != 0 && redo_be32(page + 26) != 0;
}

static void test_flags_and_fsp_header(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_FIXTURES; i++) {
        const struct fixture *fx = &fixtures[i];
        size_t len;
        uint8_t *buf = load(fx->name, "bin", &len);
        struct redo_fsp_info info;
        struct ibs_err err;
        ibs_err_clear(&err);
        int rc = redo_fsp_read_page0(buf, len, len, &info, &err);
        if (rc)
            fail_msg("%s: %s", fx->name, err.msg);
        assert_int_equal(info.space_id, fx->space_id);
        assert_int_equal(info.flags, fx->flags);
        assert_int_equal(info.size, fx->size);
        assert_int_equal(info.free_limit, fx->free_limit);
        assert_int_equal(info.logical_size, fx->logical);
        assert_int_equal(info.physical_size, fx->physical);
        assert_int_equal(info.zip_size, fx->zip);
        assert_int_equal(info.full_crc32, fx->full_crc32);
        assert_int_equal(info.page_compressed, fx->page_compressed);
        assert_int_equal(info.compression_algo, fx->algo);
        assert_int_equal(info.file_pages, len / fx->physical);
        if (encrypted_set(fx)) {
            assert_true(info.crypt_data);
            assert_int_equal(info.crypt_type, CRYPT_SCHEME_1);
            assert_int_equal(info.crypt_key_id, 1);
        } else {
            assert_false(info.crypt_data);
        }
        assert_int_equal(redo_fsp_flags_validate(fx->flags, &err), 0);
        free(buf);
    }
}

static void test_flags_str(void **state)
{
    (void)state;
    char buf[80];
    assert_string_equal(redo_fsp_flags_str(0x35, buf, sizeof buf),
                        "full_crc32 16K page_compressed(zlib)");
    assert_string_equal(redo_fsp_flags_str(0, buf, sizeof buf), "legacy 16K");
    assert_string_equal(redo_fsp_flags_str(0xe5, buf, sizeof buf), "legacy 4K zip 2K");
    assert_string_equal(redo_fsp_flags_str(0x10021, buf, sizeof buf), "legacy 16K page_compressed");
    /* ibdata1 of a legacy 4K server: PAGE_SSIZE 3, nothing else. */
    assert_int_equal(redo_fsp_flags_logical_size(3u << FSP_FLAGS_POS_PAGE_SSIZE), 4096);
}

static void test_invalid_flags(void **state)
{
    (void)state;
    static const uint32_t bad[] = {
        0x10,             /* full_crc32 without page size */
        0x12,             /* full_crc32 ssize 2 (2K) */
        0x18,             /* full_crc32 ssize 8 */
        0xF5,             /* full_crc32 algorithm 7 */
        0x115,            /* full_crc32 stray bit 8 */
        0x20,             /* ATOMIC_BLOBS without POST_ANTELOPE */
        5u << 6,          /* legacy ssize 5: 16K must be 0 */
        1u << 6,          /* legacy ssize 1 */
        0x800,            /* reserved bit 11 (MariaDB 10.1 layout) */
        1u << 17,         /* above bit 16 */
        0x2 | 0x1,        /* zip without ATOMIC_BLOBS */
        0x21 | (6u << 1), /* zip 32K in a 16K space */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct ibs_err err;
        ibs_err_clear(&err);
        if (redo_fsp_flags_validate(bad[i], &err) != IBS_E_INTEGRITY)
            fail_msg("flags 0x%x accepted", bad[i]);
        assert_non_null(strstr(err.msg, "invalid tablespace flags"));
    }
    struct ibs_err err;
    assert_int_equal(redo_fsp_flags_validate(0x400 | 0x21, &err), 0); /* MySQL 5.6 DATA_DIR */
}

/* Every page of every fixture validates, with the algorithm its format uses. */
static void test_real_pages_validate(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_FIXTURES; i++) {
        const struct fixture *fx = &fixtures[i];
        size_t len;
        uint8_t *buf = load(fx->name, "bin", &len);
        for (uint32_t p = 0; p < len / fx->physical; p++) {
            const uint8_t *page = buf + (size_t)p * fx->physical;
            struct redo_page_verdict v;
            char why[200];
            int rc = redo_page_validate(page, fx->physical, fx->flags, p, &v);
            if (rc)
                fail_msg("%s page %u: %s", fx->name, p, redo_page_verdict_str(&v, why, sizeof why));
            assert_true(v.ok);
            assert_false(v.empty);
            assert_int_equal(v.page_no, p);
            /* Every page but page 0 of an encrypted table is encrypted here. */
            assert_int_equal(v.encrypted, encrypted_set(fx) && p != 0);
            if (v.encrypted && !fx->full_crc32) {
                assert_int_equal(v.algo, REDO_PAGE_ALGO_CRYPT_CRC32);
            } else if (fx->zip) {
                assert_int_equal(v.algo, REDO_PAGE_ALGO_ZIP_CRC32);
            } else if (fx->full_crc32) {
                assert_int_equal(v.algo, REDO_PAGE_ALGO_FULL_CRC32);
            } else if (v.type == FIL_PAGE_PAGE_COMPRESSED) {
                assert_int_equal(v.algo, REDO_PAGE_ALGO_UNCHECKED);
            } else {
                assert_int_equal(v.algo, REDO_PAGE_ALGO_CRC32);
            }
            if (v.algo != REDO_PAGE_ALGO_UNCHECKED)
                assert_int_equal(v.stored, v.computed);
            assert_non_null(redo_page_type_name(v.type));
        }
        free(buf);
    }
}

/* Bytes a format's checksum does not cover (the server does not notice them
 * either): legacy crc32 skips 0..3 only as the stored value, and 26..37; page_zip
 * skips 16..23 and 26..33; full_crc32 page_compressed images end at their size. */
static bool uncovered(const struct fixture *fx, const uint8_t *page, size_t off)
{
    size_t ps = fx->physical;
    /* Legacy encrypted: only the post-encryption checksum at 30 is checked; the
     * plaintext checksum fields and the key version are not covered by it. */
    if (!fx->full_crc32 && page_encrypted(fx, page)) {
        if (off < 4 || (off >= 26 && off < 30))
            return true;
        if (fx->zip)
            return off >= 16 && off < 24;
        return (off >= 34 && off < 38) || (off >= ps - 8 && off < ps - 4);
    }
    if (fx->zip)
        return (off >= 16 && off < 24) || (off >= 26 && off < 34);
    if (fx->full_crc32) {
        bool compressed;
        size_t size = redo_page_fcrc32_size(page, fx->physical, &compressed);
        return off >= size;
    }
    return off >= 26 && off < 38;
}

/* Flips bytes of one page of each format and checks the verdict names the
 * stored checksum field and the checksum of the flipped page. */
static void flip_page(const struct fixture *fx, const uint8_t *orig, uint32_t page_no,
                      size_t stride)
{
    size_t ps = fx->physical;
    uint8_t *page = malloc(ps);
    assert_non_null(page);
    for (size_t off = 0; off < ps; off += (off < 64 || off >= ps - 64) ? 1 : stride) {
        memcpy(page, orig, ps);
        page[off] ^= 0x5a;
        struct redo_page_verdict v;
        char why[200];
        int rc = redo_page_validate(page, ps, fx->flags, page_no, &v);
        if (uncovered(fx, orig, off)) {
            if (rc)
                fail_msg("%s page %u byte %zu: %s", fx->name, page_no, off,
                         redo_page_verdict_str(&v, why, sizeof why));
            continue;
        }
        if (rc != IBS_E_INTEGRITY)
            fail_msg("%s page %u: flipped byte %zu not detected", fx->name, page_no, off);
        assert_false(v.ok);
        if (v.reason == REDO_PAGE_LSN_MISMATCH) {
            /* Legacy trailer or header LSN bytes; full_crc32 checks the CRC first. */
            assert_false(fx->full_crc32);
            assert_true((off >= 20 && off < 24) || off >= ps - 4);
            assert_int_equal(v.stored, redo_be32(page + ps - 4));
            assert_int_equal(v.computed, redo_be32(page + 20));
            continue;
        }
        if (v.reason == REDO_PAGE_BAD_COMPRESSED) {
            /* FIL_PAGE_TYPE now claims a full_crc32 compressed size that
             * does not fit the page. */
            if (!fx->full_crc32 || (off != 24 && off != 25))
                fail_msg("%s page %u byte %zu: %s", fx->name, page_no, off,
                         redo_page_verdict_str(&v, why, sizeof why));
            continue;
        }
        assert_int_equal(v.reason, REDO_PAGE_CHECKSUM_MISMATCH);
        if (!fx->full_crc32 && page_encrypted(fx, orig)) {
            assert_int_equal(v.algo, REDO_PAGE_ALGO_CRYPT_CRC32);
            assert_int_equal(v.stored, redo_be32(page + 30));
            assert_int_equal(v.computed, fx->zip ? redo_page_checksum_zip_crc32(page, ps)
                                                 : redo_page_checksum_crc32(page, ps));
        } else if (fx->zip) {
            assert_int_equal(v.stored, redo_be32(page));
            assert_int_equal(v.computed, redo_page_checksum_zip_crc32(page, ps));
        } else if (fx->full_crc32) {
            size_t size = redo_page_fcrc32_size(page, ps, NULL);
            assert_int_equal(v.stored, redo_be32(page + size - 4));
            assert_int_equal(v.computed, redo_page_checksum_full_crc32(page, size));
        } else {
            uint32_t crc = redo_page_checksum_crc32(page, ps);
            assert_int_equal(v.computed, crc);
            assert_int_equal(v.stored,
                             redo_be32(page) != crc ? redo_be32(page) : redo_be32(page + ps - 8));
        }
        assert_int_not_equal(v.stored, v.computed);
        char *msg = (char *)redo_page_verdict_str(&v, why, sizeof why);
        assert_non_null(strstr(msg, "checksum mismatch ("));
    }
    free(page);
}

static void test_flipped_bytes_detected(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_FIXTURES; i++) {
        const struct fixture *fx = &fixtures[i];
        size_t len;
        uint8_t *buf = load(fx->name, "bin", &len);
        /* page 0 and the last page of the fixture (an index page or a
         * compressed image), every byte of 4K pages, sampled above. */
        uint32_t last = (uint32_t)(len / fx->physical - 1);
        size_t stride = fx->physical <= 4096 ? 1 : 13;
        flip_page(fx, buf, 0, stride);
        /* A legacy page_compressed image has no checksum: only inflating it
         * tells (test_page_compressed). */
        while (last &&
               redo_page_get_type(buf + (size_t)last * fx->physical) == FIL_PAGE_PAGE_COMPRESSED)
            last--;
        if (last)
            flip_page(fx, buf + (size_t)last * fx->physical, last, stride);
        free(buf);
    }
}

static void test_lsn_mismatch(void **state)
{
    (void)state;
    size_t len;
    uint8_t *buf = load("crc16_plain", "bin", &len);
    uint8_t *page = buf + 3 * 16384;
    struct redo_page_verdict v;
    page[16384 - 1] ^= 1; /* low byte of the trailer LSN */
    assert_int_equal(redo_page_validate(page, 16384, 0x21, 3, &v), IBS_E_INTEGRITY);
    assert_int_equal(v.reason, REDO_PAGE_LSN_MISMATCH);
    assert_int_equal(v.computed, (uint32_t)redo_page_get_lsn(page));
    assert_int_equal(v.stored, (uint32_t)redo_page_get_lsn(page) ^ 1);
    free(buf);

    /* full_crc32: a trailer LSN that disagrees under a good CRC. */
    buf = load("fc16_plain", "bin", &len);
    page = buf + 3 * 16384;
    page[16384 - 5] ^= 1;
    redo_put_be32(page + 16384 - 4, redo_page_checksum_full_crc32(page, 16384));
    assert_int_equal(redo_page_validate(page, 16384, 0x15, 3, &v), IBS_E_INTEGRITY);
    assert_int_equal(v.reason, REDO_PAGE_LSN_MISMATCH);
    assert_int_equal(v.computed, (uint32_t)redo_page_get_lsn(page));
    char why[200];
    assert_non_null(strstr(redo_page_verdict_str(&v, why, sizeof why), "torn page"));
    free(buf);
}

/* Wipe the checksum fields and the trailer LSN, set a new LSN, recompute,
 * then go back to the original LSN: the page comes back byte for byte. */
static void test_set_lsn_update_checksum_round_trip(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_FIXTURES; i++) {
        const struct fixture *fx = &fixtures[i];
        size_t len, ps = fx->physical;
        uint8_t *buf = load(fx->name, "bin", &len);
        uint8_t *page = malloc(ps);
        assert_non_null(page);
        for (uint32_t p = 0; p < len / ps; p++) {
            const uint8_t *orig = buf + (size_t)p * ps;
            uint16_t type = redo_page_get_type(orig);
            if (type == FIL_PAGE_PAGE_COMPRESSED)
                continue; /* legacy images have no checksum to rewrite */
            if (page_encrypted(fx, orig))
                continue; /* the checksum of a ciphertext is the encryptor's job */
            memcpy(page, orig, ps);
            uint64_t lsn = redo_page_get_lsn(page);
            bool compressed = fx->full_crc32 && (type & 0x8000);
            size_t size = fx->full_crc32 ? redo_page_fcrc32_size(page, ps, NULL) : ps;
            memset(page, 0, 4);
            if (!fx->zip)
                memset(page + size - 8, 0, 8);

            redo_page_set_lsn(page, ps, fx->flags, lsn + 0x100000001ull);
            redo_page_update_checksum(page, ps, fx->flags);
            struct redo_page_verdict v;
            assert_int_equal(redo_page_validate(page, ps, fx->flags, p, &v), 0);
            assert_true(redo_page_get_lsn(page) == lsn + 0x100000001ull);
            if (!fx->zip && !compressed)
                assert_int_equal(redo_be32(page + ps - (fx->full_crc32 ? 8 : 4)),
                                 (uint32_t)(lsn + 1));

            redo_page_set_lsn(page, ps, fx->flags, lsn);
            redo_page_update_checksum(page, ps, fx->flags);
            if (memcmp(page, orig, ps)) {
                size_t off = 0;
                while (page[off] == orig[off])
                    off++;
                fail_msg("%s page %u: differs from the original at byte %zu", fx->name, p, off);
            }
        }
        free(page);
        free(buf);
    }
}

static void test_legacy_innodb_and_none(void **state)
{
    (void)state;
    size_t len;
    uint8_t *buf = load("crc16_plain", "bin", &len);
    uint8_t *page = buf + 3 * 16384;
    struct redo_page_verdict v;

    /* Values computed independently with 64-bit ulint arithmetic as the server
     * does. The old checksum covers bytes 0..25, so the server computes it after
     * storing the new one at 0 (buf0checksum.cc). */
    assert_int_equal(redo_page_checksum_innodb_new(page, 16384), 0xb2a4b1b9u);
    assert_int_equal(redo_page_checksum_innodb_old(page), 0xbfb77f70u);
    assert_int_equal(redo_page_checksum_crc32(page, 16384), 0xa00cef1fu);

    redo_put_be32(page, 0xb2a4b1b9u);
    assert_int_equal(redo_page_checksum_innodb_old(page), 0x56b545ceu);
    redo_put_be32(page + 16384 - 8, 0x56b545ceu);
    assert_int_equal(redo_page_validate(page, 16384, 0x21, 3, &v), 0);
    assert_int_equal(v.algo, REDO_PAGE_ALGO_INNODB);

    redo_put_be32(page, 0xb2a4b1b8u);
    assert_int_equal(redo_page_validate(page, 16384, 0x21, 3, &v), IBS_E_INTEGRITY);
    assert_int_equal(v.reason, REDO_PAGE_CHECKSUM_MISMATCH);
    assert_int_equal(v.stored, 0xb2a4b1b8u);
    assert_int_equal(v.computed, 0xa00cef1fu);

    redo_put_be32(page, BUF_NO_CHECKSUM_MAGIC);
    redo_put_be32(page + 16384 - 8, BUF_NO_CHECKSUM_MAGIC);
    assert_int_equal(redo_page_validate(page, 16384, 0x21, 3, &v), 0);
    assert_int_equal(v.algo, REDO_PAGE_ALGO_NOCHECKSUM);
    free(buf);

    /* ROW_FORMAT=COMPRESSED with the Adler-32 variant (zlib's adler32 over the
     * same ranges, computed independently). */
    buf = load("crc16_zip", "bin", &len);
    page = buf + 3 * 8192;
    assert_int_equal(redo_page_checksum_zip_adler32(page, 8192), 0x2de82bd5u);
    redo_put_be32(page, 0x2de82bd5u);
    assert_int_equal(redo_page_validate(page, 8192, 0x29, 3, &v), 0);
    assert_int_equal(v.algo, REDO_PAGE_ALGO_ZIP_ADLER32);
    redo_put_be32(page, BUF_NO_CHECKSUM_MAGIC);
    assert_int_equal(redo_page_validate(page, 8192, 0x29, 3, &v), 0);
    assert_int_equal(v.algo, REDO_PAGE_ALGO_NOCHECKSUM);
    free(buf);
}

static void test_zero_pages_and_page_numbers(void **state)
{
    (void)state;
    static const uint32_t flags[] = {0x15, 0x13, 0x17, 0x35, 0x0, 0x21, 0x29, 0xe5, 0x10021};
    uint8_t *zero = calloc(1, 65536);
    assert_non_null(zero);
    for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++) {
        struct redo_page_verdict v;
        unsigned ps = redo_fsp_flags_physical_size(flags[i]);
        assert_int_equal(redo_page_validate(zero, ps, flags[i], 77, &v), 0);
        assert_true(v.ok && v.empty);
        /* Wrong page size for the flags: a caller bug, not corruption. */
        assert_int_equal(redo_page_validate(zero, ps * 2, flags[i], 77, &v), IBS_E_INTERNAL);
        assert_int_equal(v.reason, REDO_PAGE_BAD_SIZE);
    }
    /* A legacy page with only a historic flush LSN at 26..33 counts as empty. */
    memset(zero + 26, 0x11, 8);
    struct redo_page_verdict v;
    assert_int_equal(redo_page_validate(zero, 16384, 0, 0, &v), 0);
    assert_true(v.empty);
    free(zero);

    size_t len;
    uint8_t *buf = load("fc16_plain", "bin", &len);
    assert_int_equal(redo_page_validate(buf + 2 * 16384, 16384, 0x15, 7, &v), IBS_E_INTEGRITY);
    assert_int_equal(v.reason, REDO_PAGE_NO_MISMATCH);
    char why[200];
    assert_string_equal(redo_page_verdict_str(&v, why, sizeof why),
                        "page number 2 stored where 7 was expected");
    assert_int_equal(redo_page_validate(buf + 2 * 16384, 16384, 0x15, REDO_PAGE_NO_ANY, &v), 0);
    free(buf);
}

static uint32_t *load_list(const char *name, size_t *n)
{
    size_t len;
    char *text = (char *)load(name, "zero", &len);
    uint32_t *list = calloc(len + 1, sizeof *list);
    assert_non_null(list);
    *n = 0;
    for (char *p = text, *end; *p; p = end) {
        unsigned long v = strtoul(p, &end, 10);
        if (end == p)
            break;
        list[(*n)++] = (uint32_t)v;
        while (*end == '\n')
            end++;
    }
    free(text);
    return list;
}

/* The XDES free bits of a tablespace that had an index dropped and rows
 * deleted agree with what the pages hold: every page below FSP_FREE_LIMIT is
 * free exactly when the server left it as type ALLOCATED. */
static void check_xdes(const char *name, uint32_t flags, uint32_t free_limit, uint32_t size)
{
    size_t len, n_zero;
    uint8_t *page0 = load(name, "bin", &len);
    uint32_t *zero = load_list(name, &n_zero);
    unsigned ps = redo_fsp_flags_physical_size(flags);
    uint8_t *bits = malloc(ps / 8);
    assert_non_null(bits);
    uint32_t n_free = redo_fsp_xdes_free_bitmap(page0, 0, flags, free_limit, bits);
    size_t z = 0;
    uint32_t n_free_below_limit = 0;
    for (uint32_t p = 0; p < size; p++) {
        bool is_zero = z < n_zero && zero[z] == p;
        if (is_zero)
            z++;
        bool is_free = bits[p / 8] >> (p % 8) & 1;
        assert_int_equal(is_free, redo_fsp_xdes_page_free(page0, p, flags, free_limit));
        if (p >= free_limit) {
            assert_true(is_free);
            continue;
        }
        if (is_free != is_zero)
            fail_msg("%s page %u: xdes says %s, page type says %s", name, p,
                     is_free ? "free" : "used", is_zero ? "allocated" : "in use");
        n_free_below_limit += is_free;
    }
    assert_true(n_free_below_limit > 0);
    assert_int_equal(n_free, n_free_below_limit + (ps - free_limit));
    assert_false(redo_fsp_xdes_page_free(page0, 0, flags, free_limit));
    free(bits);
    free(zero);
    free(page0);
}

static void test_xdes_free_pages(void **state)
{
    (void)state;
    check_xdes("fc16_freed", 0x15, 576, 832);
    check_xdes("fc4k_freed", 0x13, 2304, 3328);
    assert_int_equal(redo_fsp_xdes_size(16384), 40);
    assert_int_equal(redo_fsp_xdes_size(4096), 88);
    assert_int_equal(redo_fsp_xdes_size(8192), 56);
    assert_int_equal(redo_fsp_xdes_page_no(20000, 16384), 16384);
    assert_true(redo_fsp_is_doublewrite(0, 64, 0x15));
    assert_true(redo_fsp_is_doublewrite(0, 191, 0x15));
    assert_false(redo_fsp_is_doublewrite(0, 192, 0x15));
    assert_false(redo_fsp_is_doublewrite(5, 100, 0x15));
    assert_true(redo_fsp_is_doublewrite(0, 256, 0x13));
}

/* Inflate a page_compressed payload and validate what comes out. */
static void check_inflates(const char *name, uint32_t page_no, uint32_t flags, size_t ps)
{
    size_t len;
    uint8_t *buf = load(name, "bin", &len);
    const uint8_t *image = buf + (size_t)page_no * ps;
    struct redo_page_compressed c;
    assert_int_equal(redo_page_compressed_info(image, ps, flags, &c), 0);
    assert_true(c.compressed);
    assert_int_equal(c.algorithm, PAGE_ZLIB_ALGORITHM);
    uint8_t *out = malloc(ps);
    assert_non_null(out);
    uLongf out_len = ps;
    int zrc = uncompress(out, &out_len, image + c.payload_offset, c.payload_length);
    if (zrc != Z_OK)
        fail_msg("%s page %u: zlib %d", name, page_no, zrc);
    assert_int_equal(out_len, ps);
    struct redo_page_verdict v;
    char why[200];
    if (redo_fsp_flags_full_crc32(flags)) {
        /* The server compresses the frame before it writes the checksum
         * (buf_page_encrypt() runs before buf_flush_init_for_writing(), which
         * then returns early), so the inflated page carries a stale CRC but a
         * current trailer LSN; whoever writes it uncompressed recomputes. */
        assert_int_equal(redo_be32(out + ps - 8), (uint32_t)redo_page_get_lsn(out));
        redo_page_update_checksum(out, ps, flags);
    }
    if (redo_page_validate(out, ps, flags, page_no, &v))
        fail_msg("%s page %u inflated: %s", name, page_no,
                 redo_page_verdict_str(&v, why, sizeof why));
    assert_false(v.compressed);
    assert_int_not_equal(v.type & 0x8000, 0x8000);
    free(out);
    free(buf);
}

static void test_page_compressed(void **state)
{
    (void)state;
    check_inflates("fc16_pc", 3, 0x35, 16384);
    check_inflates("fc4k_pc", 3, 0x33, 4096);
    check_inflates("crc16_pc", 3, 0x10021, 16384);

    size_t len;
    uint8_t *buf = load("fc16_plain", "bin", &len);
    struct redo_page_compressed c;
    assert_int_equal(redo_page_compressed_info(buf + 3 * 16384, 16384, 0x15, &c), 0);
    assert_false(c.compressed);
    free(buf);

    /* An impossible legacy length field is reported, not trusted. */
    buf = load("crc16_pc", "bin", &len);
    uint8_t *image = buf + 3 * 16384;
    image[38] = 0xff;
    image[39] = 0xff;
    assert_int_equal(redo_page_compressed_info(image, 16384, 0x10021, &c), -1);
    struct redo_page_verdict v;
    assert_int_equal(redo_page_validate(image, 16384, 0x10021, 3, &v), IBS_E_INTEGRITY);
    assert_int_equal(v.reason, REDO_PAGE_BAD_COMPRESSED);
    image[38] = 0;
    image[39] = 100;
    assert_int_equal(redo_page_validate(image, 16384, 0x10021, 3, &v), 0);
    assert_int_equal(v.algo, REDO_PAGE_ALGO_UNCHECKED);
    image[0] ^= 1; /* 0xDEADBEEF is all the checking there is */
    assert_int_equal(redo_page_validate(image, 16384, 0x10021, 3, &v), IBS_E_INTEGRITY);
    assert_int_equal(v.reason, REDO_PAGE_BAD_COMPRESSED);
    free(buf);

    /* full_crc32: a size byte that points past the page. */
    buf = load("fc16_pc", "bin", &len);
    image = buf + 3 * 16384;
    image[25] = 0x40; /* 0x40 << 8 = 16384, not smaller than the page */
    assert_int_equal(redo_page_validate(image, 16384, 0x35, 3, &v), IBS_E_INTEGRITY);
    assert_int_equal(v.reason, REDO_PAGE_BAD_COMPRESSED);
    free(buf);
}

static void test_read_page0_errors(void **state)
{
    (void)state;
    size_t len;
    uint8_t *buf = load("fc16_plain", "bin", &len);
    struct redo_fsp_info info;
    struct ibs_err err;

    /* page 1 is not a header page */
    ibs_err_clear(&err);
    assert_int_equal(redo_fsp_read_page0(buf + 16384, 16384, 16384, &info, &err), IBS_E_INTEGRITY);
    assert_non_null(strstr(err.msg, "page number 1"));
    /* a file shorter than its page size */
    ibs_err_clear(&err);
    assert_int_equal(redo_fsp_read_page0(buf, 16384, 8192, &info, &err), IBS_E_INTEGRITY);
    assert_non_null(strstr(err.msg, "shorter than one 16384-byte page"));
    /* a flipped byte in page 0 */
    buf[200] ^= 1;
    ibs_err_clear(&err);
    assert_int_equal(redo_fsp_read_page0(buf, len, len, &info, &err), IBS_E_INTEGRITY);
    assert_non_null(strstr(err.msg, "page 0: checksum mismatch (full_crc32: stored 0x"));
    buf[200] ^= 1;
    /* space ids that disagree */
    buf[37] ^= 1;
    ibs_err_clear(&err);
    assert_int_equal(redo_fsp_read_page0(buf, len, len, &info, &err), IBS_E_INTEGRITY);
    assert_non_null(strstr(err.msg, "space id 4 in the page header but 5"));
    buf[37] ^= 1;
    /* invalid flags */
    buf[57] = 0x10;
    ibs_err_clear(&err);
    assert_int_equal(redo_fsp_read_page0(buf, len, len, &info, &err), IBS_E_INTEGRITY);
    assert_non_null(strstr(err.msg, "invalid tablespace flags 0x10"));
    buf[57] = 0x15;
    /* crypt data at 38 + 150 + 40 * 16384 / 64 = 10428 on a 16K page 0 */
    static const uint8_t magic[] = {'s', 0xE, 0xC, 'R', 'E', 't', CRYPT_SCHEME_1, 16};
    memcpy(buf + 10428, magic, sizeof magic);
    redo_put_be32(buf + 10428 + 8 + 16, 3);
    redo_put_be32(buf + 10428 + 8 + 20, 42);
    buf[10428 + 8 + 24] = FIL_ENCRYPTION_ON;
    redo_page_update_checksum(buf, 16384, 0x15);
    ibs_err_clear(&err);
    assert_int_equal(redo_fsp_read_page0(buf, len, len, &info, &err), 0);
    assert_true(info.crypt_data);
    assert_int_equal(info.crypt_type, CRYPT_SCHEME_1);
    assert_int_equal(info.crypt_min_key_version, 3);
    assert_int_equal(info.crypt_key_id, 42);
    assert_int_equal(info.crypt_mode, FIL_ENCRYPTION_ON);
    /* all zero */
    memset(buf, 0, 16384);
    ibs_err_clear(&err);
    assert_int_equal(redo_fsp_read_page0(buf, 16384, len, &info, &err), IBS_E_INTEGRITY);
    assert_non_null(strstr(err.msg, "all zero"));
    free(buf);
}

static void test_type_names(void **state)
{
    (void)state;
    assert_string_equal(redo_page_type_name(FIL_PAGE_INDEX), "INDEX");
    assert_string_equal(redo_page_type_name(FIL_PAGE_TYPE_FSP_HDR), "FSP_HDR");
    assert_string_equal(redo_page_type_name(FIL_PAGE_PAGE_COMPRESSED), "PAGE_COMPRESSED");
    assert_string_equal(redo_page_type_name(0x8021), "PAGE_COMPRESSED_FCRC32");
    assert_null(redo_page_type_name(14));
    assert_false(redo_page_type_is_valid(17));
    assert_true(redo_page_type_is_valid(FIL_PAGE_TYPE_INSTANT));
    assert_string_equal(redo_page_algo_name(REDO_PAGE_ALGO_FULL_CRC32), "full_crc32");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_flags_and_fsp_header),
        cmocka_unit_test(test_flags_str),
        cmocka_unit_test(test_invalid_flags),
        cmocka_unit_test(test_real_pages_validate),
        cmocka_unit_test(test_flipped_bytes_detected),
        cmocka_unit_test(test_lsn_mismatch),
        cmocka_unit_test(test_set_lsn_update_checksum_round_trip),
        cmocka_unit_test(test_legacy_innodb_and_none),
        cmocka_unit_test(test_zero_pages_and_page_numbers),
        cmocka_unit_test(test_xdes_free_pages),
        cmocka_unit_test(test_page_compressed),
        cmocka_unit_test(test_read_page0_errors),
        cmocka_unit_test(test_type_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
