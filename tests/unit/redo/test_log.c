/* ib_logfile0 header and checkpoint blocks: a real 10.11 header, every refusal,
 * LSN/offset mapping and the writers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "redo_test.h"

static void fix_header_crc(uint8_t *h)
{
    redo_mach_write_4(h + LOG_HEADER_CRC, redo_crc32c(0, h, LOG_HEADER_CRC));
}

static void test_crc32c_vector(void **state)
{
    (void)state;
    assert_int_equal(redo_crc32c(0, "123456789", 9), 0xE3069283u);
    /* Chaining equals one pass. */
    assert_int_equal(redo_crc32c(redo_crc32c(0, "1234", 4), "56789", 5), 0xE3069283u);
    uint8_t big[1000];
    for (size_t i = 0; i < sizeof(big); i++)
        big[i] = (uint8_t)(i * 7);
    assert_int_equal(redo_crc32c(redo_crc32c(0, big, 333), big + 333, 667),
                     redo_crc32c(0, big, sizeof(big)));
}

static void test_live_header(void **state)
{
    (void)state;
    size_t len;
    uint8_t *f = fixture_read("live_head.bin", &len);
    struct redo_log_header h;
    struct redo_checkpoint c;
    struct ibs_err err;

    assert_int_equal(redo_log_header_parse(f, len, &h, &err), 0);
    assert_int_equal(h.format, REDO_FORMAT_10_8);
    assert_int_equal(h.first_lsn, fixture_live("first_lsn"));
    assert_string_equal(h.creator, "MariaDB 10.11.19");
    assert_int_equal(h.key_id, 0);

    assert_int_equal(redo_log_find_checkpoint(f, len, h.first_lsn, &c, &err), 0);
    assert_int_equal(c.checkpoint_lsn, fixture_live("checkpoint_lsn"));
    assert_int_equal(c.end_lsn, fixture_live("end_lsn"));

    /* Break the newer block: the older one is taken. */
    int newer = c.block;
    uint64_t newer_lsn = c.checkpoint_lsn;
    f[(newer == 1 ? REDO_LOG_CHECKPOINT_1 : REDO_LOG_CHECKPOINT_2) + 3] ^= 1;
    assert_int_equal(redo_log_find_checkpoint(f, len, h.first_lsn, &c, &err), 0);
    assert_int_not_equal(c.block, newer);
    assert_true(c.checkpoint_lsn < newer_lsn);
    free(f);
}

static void test_header_refusals(void **state)
{
    (void)state;
    uint8_t h[REDO_LOG_HEADER_SIZE];
    struct redo_log_header hdr;
    struct ibs_err err;
    static const struct {
        uint32_t id;
        const char *name;
    } old[] = {{0, "3.23"}, {1, "10.2"}, {103, "10.3"}, {104, "10.4"}, {0x50485953, "10.5"}};

    for (size_t i = 0; i < sizeof(old) / sizeof(old[0]); i++) {
        memset(h, 0, sizeof(h));
        redo_mach_write_4(h, old[i].id);
        redo_mach_write_8(h + 8, 12288);
        fix_header_crc(h);
        assert_int_equal(redo_log_header_parse(h, sizeof(h), &hdr, &err), IBS_E_REDO);
        assert_non_null(strstr(err.msg, old[i].name));
        assert_non_null(strstr(err.msg, "MariaDB 10.8 or newer is required"));
    }
    redo_mach_write_4(h, 0x12345678);
    fix_header_crc(h);
    assert_int_equal(redo_log_header_parse(h, sizeof(h), &hdr, &err), IBS_E_REDO);
    assert_non_null(strstr(err.msg, "unknown redo log format 0x12345678"));

    redo_log_header_init(&hdr, 12288, "MariaDB 10.11.19");
    redo_log_header_write(&hdr, h);
    assert_int_equal(redo_log_header_parse(h, sizeof(h) - 1, &hdr, &err), IBS_E_REDO);
    assert_non_null(strstr(err.msg, "truncated"));
    h[100] ^= 1; /* CRC */
    assert_int_equal(redo_log_header_parse(h, sizeof(h), &hdr, &err), IBS_E_REDO);
    assert_non_null(strstr(err.msg, "checksum"));
    h[100] ^= 1;
    h[5] = 1; /* reserved bytes 4..7 */
    fix_header_crc(h);
    assert_int_equal(redo_log_header_parse(h, sizeof(h), &hdr, &err), IBS_E_REDO);
    assert_non_null(strstr(err.msg, "bytes 4..7"));
    h[5] = 0;
    redo_mach_write_8(h + 8, 12287); /* first_lsn below START_OFFSET */
    fix_header_crc(h);
    assert_int_equal(redo_log_header_parse(h, sizeof(h), &hdr, &err), IBS_E_REDO);
    assert_non_null(strstr(err.msg, "first LSN 12287"));
}

static void test_encrypted_headers(void **state)
{
    (void)state;
    uint8_t h[REDO_LOG_HEADER_SIZE];
    struct redo_log_header in, out;
    struct ibs_err err;

    for (int fmt = REDO_FORMAT_ENC_10_8; fmt <= REDO_FORMAT_ENC_11; fmt++) {
        redo_log_header_init(&in, 99999, "MariaDB 10.11.19");
        in.format = (enum redo_log_format)fmt;
        in.key_id = 1;
        in.key_version = 7;
        memset(in.crypt_msg, 0xab, sizeof(in.crypt_msg));
        memset(in.crypt_nonce, 0xcd, sizeof(in.crypt_nonce));
        redo_log_header_write(&in, h);
        assert_int_equal(redo_mach_read_4(h),
                         fmt == REDO_FORMAT_ENC_11 ? 0xF09F979Du : 0x50687973u);
        assert_int_equal(redo_log_header_parse(h, sizeof(h), &out, &err), 0);
        assert_int_equal(out.format, fmt);
        assert_int_equal(out.key_version, 7);
        assert_memory_equal(out.crypt_msg, in.crypt_msg, 16);
        assert_memory_equal(out.crypt_nonce, in.crypt_nonce, 4);
        assert_true(redo_log_format_encrypted(out.format));
        assert_non_null(strstr(redo_log_format_name(out.format), "encrypted"));
        /* Key id other than 1 (LOG_DEFAULT_ENCRYPTION_KEY). */
        redo_mach_write_4(h + LOG_HEADER_CRYPT, 2);
        fix_header_crc(h);
        assert_int_equal(redo_log_header_parse(h, sizeof(h), &out, &err), IBS_E_REDO);
        assert_non_null(strstr(err.msg, "key id 2"));
    }
}

static void test_checkpoint_blocks(void **state)
{
    (void)state;
    uint8_t area[REDO_LOG_START_OFFSET];
    struct redo_log_header hdr;
    struct redo_checkpoint c;
    struct ibs_err err;

    redo_log_header_init(&hdr, 20000, "Backup 10.11.19");
    redo_log_write_file_start(&hdr, 30000, 30100, area);
    assert_int_equal(redo_log_find_checkpoint(area, sizeof(area), 20000, &c, &err), 0);
    assert_int_equal(c.block, 1);
    assert_int_equal(c.checkpoint_lsn, 30000);
    assert_int_equal(c.end_lsn, 30100);

    /* A tie: block 2 wins, as find_checkpoint()'s `>=` does. */
    redo_log_checkpoint_write(30000, 30200, area + REDO_LOG_CHECKPOINT_2);
    assert_int_equal(redo_log_find_checkpoint(area, sizeof(area), 20000, &c, &err), 0);
    assert_int_equal(c.block, 2);
    assert_int_equal(c.end_lsn, 30200);

    uint8_t *b = area + REDO_LOG_CHECKPOINT_1;
    redo_log_checkpoint_write(30000, 30100, b);
    b[20] = 1;
    redo_mach_write_4(b + 60, redo_crc32c(0, b, 60));
    assert_int_equal(redo_log_checkpoint_parse(b, 20000, &c, &err), IBS_E_REDO);
    assert_non_null(strstr(err.msg, "16..59"));
    redo_log_checkpoint_write(10000, 30100, b);
    assert_int_equal(redo_log_checkpoint_parse(b, 20000, &c, &err), IBS_E_REDO);
    assert_non_null(strstr(err.msg, "before the log's first LSN"));
    redo_log_checkpoint_write(30000, 29999, b);
    assert_int_equal(redo_log_checkpoint_parse(b, 20000, &c, &err), IBS_E_REDO);
    assert_non_null(strstr(err.msg, "end LSN 29999"));
    b[0] ^= 0x40;
    assert_int_equal(redo_log_checkpoint_parse(b, 20000, &c, &err), IBS_E_REDO);
    assert_non_null(strstr(err.msg, "checksum"));

    memset(area + REDO_LOG_CHECKPOINT_2, 0, 64);
    assert_int_equal(redo_log_find_checkpoint(area, sizeof(area), 20000, &c, &err), IBS_E_REDO);
    assert_non_null(strstr(err.msg, "no valid checkpoint"));
    assert_int_equal(redo_log_find_checkpoint(area, 8192, 20000, &c, &err), IBS_E_REDO);
    assert_non_null(strstr(err.msg, "truncated"));
}

static void test_geometry(void **state)
{
    (void)state;
    struct redo_log_header hdr;
    struct redo_log_geom g;
    struct ibs_err err;

    redo_log_header_init(&hdr, 50000, "x");
    assert_int_equal(redo_log_geom_init(&g, &hdr, REDO_LOG_MIN_FILE_SIZE - 1, &err), IBS_E_REDO);
    assert_non_null(strstr(err.msg, "too small"));
    assert_int_equal(redo_log_geom_init(&g, &hdr, 12288 + 1000, &err), 0);
    assert_int_equal(g.capacity, 1000);
    assert_int_equal(redo_log_offset(&g, 50000), 12288);
    assert_int_equal(redo_log_offset(&g, 50999), 12288 + 999);
    assert_int_equal(redo_log_offset(&g, 51000), 12288);
    assert_int_equal(redo_log_offset(&g, 52500), 12288 + 500);
    assert_int_equal(redo_log_sequence_bit(&g, 50000), 1);
    assert_int_equal(redo_log_sequence_bit(&g, 50999), 1);
    assert_int_equal(redo_log_sequence_bit(&g, 51000), 0);
    assert_int_equal(redo_log_sequence_bit(&g, 52000), 1);
}

static void test_prepared_log(void **state)
{
    (void)state;
    uint8_t f[REDO_PREPARED_LOG_SIZE];
    struct redo_log_header hdr;
    struct redo_checkpoint c;
    struct redo_log_geom g;
    struct redo_mtr m;
    struct ibs_err err;

    redo_log_write_prepared(1000016, "Backup 10.11.19", f);
    assert_int_equal(redo_log_header_parse(f, sizeof(f), &hdr, &err), 0);
    assert_int_equal(hdr.first_lsn, 1000000);
    assert_string_equal(hdr.creator, "Backup 10.11.19");
    assert_int_equal(redo_log_find_checkpoint(f, sizeof(f), hdr.first_lsn, &c, &err), 0);
    assert_int_equal(c.checkpoint_lsn, 1000000);
    assert_int_equal(c.end_lsn, 1000000);
    assert_int_equal(redo_log_geom_init(&g, &hdr, sizeof(f), &err), 0);
    const uint8_t *body = f + REDO_LOG_START_OFFSET;
    assert_int_equal(body[0], 0xFA);
    assert_int_equal(redo_mtr_scan(&g, body, 16, 1000000, &m), REDO_MTR_OK);
    assert_int_equal(m.len, 16);

    /* Byte for byte what mariadb-backup --prepare 10.11.19 left (fixture). */
    size_t len;
    uint8_t *real = fixture_read("prepared_logfile0.bin", &len);
    assert_int_equal(len, REDO_PREPARED_LOG_SIZE);
    struct redo_log_header rh;
    assert_int_equal(redo_log_header_parse(real, len, &rh, &err), 0);
    redo_log_write_prepared(rh.first_lsn + 16, rh.creator, f);
    assert_memory_equal(f, real, len);
    free(real);
}

/* FILE_MODIFY mtrs decode back to their space and name, in the short length
 * form (up to 15 bytes after the type byte), the long one, and at the edge
 * where the long form's length needs two bytes. */
static void test_file_modify_mtr(void **state)
{
    (void)state;
    uint8_t f[REDO_PREPARED_LOG_SIZE], mtr[400];
    struct redo_log_header hdr;
    struct redo_log_geom g;
    struct ibs_err err;
    redo_log_write_prepared(1000016, "Backup 10.11.19", f);
    assert_int_equal(redo_log_header_parse(f, sizeof(f), &hdr, &err), 0);
    assert_int_equal(redo_log_geom_init(&g, &hdr, 1 << 20, &err), 0);

    char long_name[300];
    memset(long_name, 'x', sizeof(long_name));
    memcpy(long_name, "./d/", 4);
    memcpy(long_name + 150, ".ibd", 5); /* 154 bytes: the length needs 2 */
    const struct {
        uint32_t space;
        const char *name;
        size_t len;
    } cases[] = {{5, "./t/a.ibd", 1 + 2 + 9 + 5},  /* short: B0|11 */
                 {5, "./test/tr.ibd", 1 + 15 + 5}, /* 15 after the type byte: still short */
                 {300, "./inc/items.ibd", 1 + 1 + 18 + 5},
                 {7, long_name, 1 + 2 + 156 + 5}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t n = redo_log_file_modify_mtr(cases[i].space, cases[i].name, mtr, sizeof(mtr));
        assert_int_equal(n, cases[i].len);
        assert_int_equal(mtr[0] & 0xF0, REDO_FILE_MODIFY);
        struct redo_mtr m;
        assert_int_equal(redo_mtr_scan(&g, mtr, n, 2000000, &m), REDO_MTR_OK);
        assert_int_equal(m.len, n);
        struct redo_rec_iter it;
        struct redo_rec rec;
        assert_int_equal(redo_rec_iter_init(&it, &m, mtr, hdr.format, 16384, &err), 0);
        assert_int_equal(redo_rec_next(&it, &rec, &err), 0);
        assert_int_equal(rec.type, REDO_FILE_MODIFY);
        assert_int_equal(rec.space_id, cases[i].space);
        assert_int_equal(rec.name_len, strlen(cases[i].name));
        assert_memory_equal(rec.name, cases[i].name, rec.name_len);
        assert_false(redo_rec_iter_more(&it));
    }
    /* Too small a buffer: nothing written, 0. */
    assert_int_equal(redo_log_file_modify_mtr(5, "./t/a.ibd", mtr, 16), 0);
}

int run_log_tests(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc32c_vector),     cmocka_unit_test(test_live_header),
        cmocka_unit_test(test_header_refusals),   cmocka_unit_test(test_encrypted_headers),
        cmocka_unit_test(test_checkpoint_blocks), cmocka_unit_test(test_geometry),
        cmocka_unit_test(test_prepared_log),      cmocka_unit_test(test_file_modify_mtr),
    };
    return cmocka_run_group_tests_name("redo_log", tests, NULL, NULL);
}
