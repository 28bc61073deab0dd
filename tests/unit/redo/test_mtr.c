/* Mini-transaction framing and record decoding: real log slices (including one
 * that wraps around the end of the file), the worked examples of the format
 * reference, and every corrupt-input path. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "redo_test.h"

#define PS 16384

/* Decodes every record of a valid mtr; returns the number of records. */
static int walk_records(const uint8_t *buf, const struct redo_mtr *m)
{
    struct redo_rec_iter it;
    struct redo_rec r;
    struct ibs_err err;
    int n = 0;
    assert_int_equal(redo_rec_iter_init(&it, m, buf, REDO_FORMAT_10_8, PS, &err), 0);
    while (redo_rec_iter_more(&it)) {
        int rc = redo_rec_next(&it, &r, &err);
        if (rc)
            fail_msg("%s", err.msg);
        n++;
    }
    return n;
}

static void test_varint(void **state)
{
    (void)state;
    static const uint32_t values[] = {0,       1,       127,       128,       16511,      16512,
                                      2113663, 2113664, 270549119, 270549120, 0xFFFFFFFEu};
    static const unsigned lens[] = {1, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5};
    uint8_t b[8];
    for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        size_t n = redo_varint_encode(b, values[i]);
        assert_int_equal(n, lens[i]);
        assert_int_equal(redo_varint_len(b[0]), n);
        assert_int_equal(redo_varint_decode(b), values[i]);
    }
    /* 0xF1..0xFF and a 5-byte value above 2^32-1 are invalid. */
    memset(b, 0, sizeof(b));
    for (unsigned first = 0xf1; first <= 0xff; first++) {
        b[0] = (uint8_t)first;
        assert_int_equal(redo_varint_decode(b), REDO_VARINT_ERROR);
    }
    assert_int_equal(redo_varint_len(0xff), 9);
    b[0] = 0xf0;
    redo_mach_write_4(b + 1, 0xEFDFBF7F);
    /* The largest 5-byte value decodes to 2^32-1, which is also the error value. */
    assert_int_equal(redo_varint_decode(b), 0xFFFFFFFFu);
    redo_mach_write_4(b + 1, 0xEFDFBF7E);
    assert_int_equal(redo_varint_decode(b), 0xFFFFFFFEu);
    redo_mach_write_4(b + 1, 0xEFDFBF80);
    assert_int_equal(redo_varint_decode(b), REDO_VARINT_ERROR);
}

static void test_live_tail(void **state)
{
    (void)state;
    size_t len;
    uint8_t *buf = fixture_read("live_tail.bin", &len);
    struct redo_log_geom g = {.first_lsn = fixture_live("first_lsn"),
                              .capacity = fixture_live("file_size") - REDO_LOG_START_OFFSET,
                              .format = REDO_FORMAT_10_8};
    uint64_t lsn = fixture_live("checkpoint_lsn");
    size_t p = 0;
    unsigned mtrs = 0, recs = 0, checkpoints = 0;
    struct redo_mtr m;

    for (;;) {
        enum redo_mtr_status st = redo_mtr_scan(&g, buf + p, len - p, lsn, &m);
        if (st != REDO_MTR_OK) {
            assert_int_equal(st, REDO_MTR_END);
            assert_int_equal(m.end_reason, REDO_END_MARKER);
            break;
        }
        struct redo_rec_iter it;
        struct redo_rec r;
        struct ibs_err err;
        assert_int_equal(redo_rec_iter_init(&it, &m, buf + p, g.format, PS, &err), 0);
        while (redo_rec_iter_more(&it)) {
            if (redo_rec_next(&it, &r, &err))
                fail_msg("%s", err.msg);
            if (r.type == REDO_FILE_CHECKPOINT && !r.padding) {
                assert_int_equal(r.checkpoint_lsn, fixture_live("checkpoint_lsn"));
                assert_int_equal(r.lsn, fixture_live("end_lsn"));
                checkpoints++;
            }
            recs++;
        }
        assert_int_equal(it.lsn, lsn + m.records_len);
        mtrs++;
        p += m.len;
        lsn += m.len;
    }
    assert_int_equal(mtrs, fixture_live("mtrs"));
    assert_int_equal(lsn, fixture_live("log_end_lsn"));
    assert_int_equal(checkpoints, 1);
    assert_true(recs > mtrs);

    /* Every prefix of the first mtr is NEED_MORE, never OK or END. */
    assert_int_equal(redo_mtr_scan(&g, buf, len, fixture_live("checkpoint_lsn"), &m), REDO_MTR_OK);
    uint32_t first_len = m.len;
    for (uint32_t n = 0; n < first_len; n++)
        assert_int_equal(redo_mtr_scan(&g, buf, n, fixture_live("checkpoint_lsn"), &m),
                         REDO_MTR_NEED_MORE);
    /* The same bytes one lap later carry the wrong sequence bit. */
    assert_int_equal(redo_mtr_scan(&g, buf, len, fixture_live("checkpoint_lsn") + g.capacity, &m),
                     REDO_MTR_END);
    assert_int_equal(m.end_reason, REDO_END_SEQUENCE);
    /* A flipped record byte fails the CRC. */
    buf[first_len / 2] ^= 0x01;
    enum redo_mtr_status st = redo_mtr_scan(&g, buf, len, fixture_live("checkpoint_lsn"), &m);
    assert_true(st == REDO_MTR_END || st == REDO_MTR_NEED_MORE);
    buf[first_len / 2] ^= 0x01;
    buf[first_len - 3] ^= 0x80; /* inside the CRC */
    assert_int_equal(redo_mtr_scan(&g, buf, len, fixture_live("checkpoint_lsn"), &m), REDO_MTR_END);
    assert_int_equal(m.end_reason, REDO_END_CRC);
    assert_string_equal(redo_mtr_end_reason_name(m.end_reason), "checksum mismatch");
    free(buf);
}

static void test_live_wrap(void **state)
{
    (void)state;
    size_t len;
    uint8_t *buf = fixture_read("live_wrap.bin", &len);
    struct redo_log_geom g = {.first_lsn = fixture_live("first_lsn"),
                              .capacity = fixture_live("file_size") - REDO_LOG_START_OFFSET,
                              .format = REDO_FORMAT_10_8};
    uint64_t slice_lsn = fixture_live("wrap_slice_lsn");
    uint64_t lsn = fixture_live("wrap_first_mtr_lsn");
    uint64_t to = fixture_live("wrap_mtrs_to");
    unsigned n = 0;
    bool crossed = false;
    struct redo_mtr m;

    /* The slice starts 16 KiB before the physical end of the file. */
    assert_int_equal(redo_log_offset(&g, slice_lsn + 16384), REDO_LOG_START_OFFSET);
    while (lsn < to) {
        size_t p = (size_t)(lsn - slice_lsn);
        assert_int_equal(redo_mtr_scan(&g, buf + p, len - p, lsn, &m), REDO_MTR_OK);
        if (p < 16384 && p + m.len > 16384)
            crossed = true;
        assert_true(walk_records(buf + p, &m) > 0);
        lsn += m.len;
        n++;
    }
    assert_int_equal(lsn, to);
    assert_int_equal(n, fixture_live("wrap_mtrs"));
    assert_true(crossed || n > 0);
    free(buf);
}

/* The 42-byte mtr of reference §2.9 example 2, with relative offsets. */
static void test_worked_example(void **state)
{
    (void)state;
    static const uint8_t recs[] = {0x34, 0x00, 0x2e, 0x31, 0x01, 0xb7, 0x00, 0x00, 0x00, 0x01,
                                   0x2d, 0x00, 0x78, 0xd3, 0x00, 0x06, 0x0b, 0x46, 0x00, 0x80,
                                   0xad, 0x78, 0x04, 0xff, 0xd3, 0x02, 0x06, 0x0b, 0x35, 0x00,
                                   0x80, 0xad, 0x39, 0x02, 0xb2, 0x2b, 0x10};
    uint8_t buf[64];
    memcpy(buf, recs, sizeof(recs));
    size_t n = mtr_finish(buf, sizeof(recs));
    assert_int_equal(n, 42);
    /* The CRC printed in the reference. */
    assert_int_equal(redo_mach_read_4(buf + 38), 0xebc2aea4);

    struct redo_log_geom g = geom_lap0();
    struct redo_mtr m;
    assert_int_equal(redo_mtr_scan(&g, buf, n, 100000, &m), REDO_MTR_OK);
    assert_int_equal(m.len, 42);

    struct {
        enum redo_rec_type type;
        bool same;
        uint32_t page, offset, len, src;
    } want[] = {
        {REDO_WRITE, false, 46, 49, 1, 0},      {REDO_WRITE, true, 46, 50, 6, 0},
        {REDO_MEMMOVE, true, 46, 56, 6, 50},    {REDO_MEMSET, false, 301, 120, 4, 0},
        {REDO_MEMMOVE, true, 301, 126, 6, 120}, {REDO_WRITE, false, 301, 57, 1, 0},
        {REDO_WRITE, true, 301, 101, 1, 0},
    };
    struct redo_rec_iter it;
    struct redo_rec r;
    struct ibs_err err;
    assert_int_equal(redo_rec_iter_init(&it, &m, buf, REDO_FORMAT_10_8, PS, &err), 0);
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        assert_true(redo_rec_iter_more(&it));
        assert_int_equal(redo_rec_next(&it, &r, &err), 0);
        assert_int_equal(r.type, want[i].type);
        assert_int_equal(r.same_page, want[i].same);
        assert_int_equal(r.space_id, 0);
        assert_int_equal(r.page_no, want[i].page);
        assert_int_equal(r.offset, want[i].offset);
        assert_int_equal(r.len, want[i].len);
        if (r.type == REDO_MEMMOVE)
            assert_int_equal(r.src, want[i].src);
        if (r.type == REDO_MEMSET) {
            assert_int_equal(r.data_len, 1);
            assert_int_equal(r.data[0], 0xff);
        }
    }
    assert_false(redo_rec_iter_more(&it));
    assert_int_equal(r.lsn + r.rec_len, 100000 + m.records_len);
}

/* Decodes one single-record mtr; returns the iterator's result code. */
static int decode_one(const uint8_t *rec, size_t n, struct redo_rec *r, struct ibs_err *err)
{
    uint8_t buf[512];
    memcpy(buf, rec, n);
    size_t len = mtr_finish(buf, n);
    struct redo_log_geom g = geom_lap0();
    struct redo_mtr m;
    struct redo_rec_iter it;
    assert_int_equal(redo_mtr_scan(&g, buf, len, 50000, &m), REDO_MTR_OK);
    assert_int_equal(redo_rec_iter_init(&it, &m, buf, REDO_FORMAT_10_8, PS, err), 0);
    int rc = redo_rec_next(&it, r, err);
    if (!rc)
        assert_false(redo_rec_iter_more(&it));
    else
        assert_false(redo_rec_iter_more(&it)); /* finished after an error */
    /* r points into buf: copy out what the callers look at. */
    r->rec = r->payload = r->data = NULL;
    r->name = r->new_name = NULL;
    return rc;
}

static void expect_corrupt(const uint8_t *rec, size_t n, const char *why)
{
    struct redo_rec r;
    struct ibs_err err;
    if (decode_one(rec, n, &r, &err) != IBS_E_REDO)
        fail_msg("not refused (expected \"%s\")", why);
    if (!strstr(err.msg, why))
        fail_msg("expected \"%s\" in \"%s\"", why, err.msg);
    assert_non_null(strstr(err.msg, "LSN 50000"));
}

static void test_file_records(void **state)
{
    (void)state;
    uint8_t rec[128];
    struct redo_rec r;
    struct ibs_err err;

    /* Reference §2.7: FILE_MODIFY of space 5 and FILE_RENAME of space 6. */
    static const uint8_t modify[] = {0xb0, 0x01, 0x05, 0x00, '.', '/', 't', 'e', 's',
                                     't',  '/',  't',  'r',  '.', 'i', 'b', 'd'};
    assert_int_equal(decode_one(modify, sizeof(modify), &r, &err), 0);
    assert_int_equal(r.type, REDO_FILE_MODIFY);
    assert_int_equal(r.space_id, 5);
    assert_int_equal(r.name_len, 13);
    assert_int_equal(r.rec_len, 17);

    const char *ren = "./test/tc.ibd\0./test/tc2.ibd";
    size_t n = put_rec(rec, REDO_FILE_RENAME, false, 6, 0, (const uint8_t *)ren, 28);
    assert_int_equal(n, 32);
    assert_int_equal(decode_one(rec, n, &r, &err), 0);
    assert_int_equal(r.type, REDO_FILE_RENAME);
    assert_int_equal(r.name_len, 13);
    assert_int_equal(r.new_name_len, 14);

    n = put_rec(rec, 0x80, false, 9, 0, (const uint8_t *)"./d/t.ibd", 9);
    rec[0] |= 0x80;
    assert_int_equal(decode_one(rec, n, &r, &err), 0);
    assert_int_equal(r.type, REDO_FILE_CREATE);
    n = put_rec(rec, 0x80, false, 9, 0, (const uint8_t *)"./d/t.ibd", 9);
    rec[0] = (uint8_t)(0x90 | (rec[0] & 0xf));
    assert_int_equal(decode_one(rec, n, &r, &err), 0);
    assert_int_equal(r.type, REDO_FILE_DELETE);

    uint8_t lsn8[8];
    redo_mach_write_8(lsn8, 123456789);
    n = put_rec(rec, 0xf0 & 0x70, false, 0, 0, lsn8, 8);
    rec[0] |= 0x80 | 0x70;
    assert_int_equal(decode_one(rec, n, &r, &err), 0);
    assert_int_equal(r.type, REDO_FILE_CHECKPOINT);
    assert_int_equal(r.checkpoint_lsn, 123456789);
    assert_false(r.padding);

    /* Padding forms: F1 00, F2 00 00, all-zero payloads. */
    static const uint8_t f1[] = {0xf1, 0x00}, f2[] = {0xf2, 0x00, 0x00};
    assert_int_equal(decode_one(f1, 2, &r, &err), 0);
    assert_true(r.padding);
    assert_int_equal(decode_one(f2, 3, &r, &err), 0);
    assert_true(r.padding);
    static const uint8_t zero5[] = {0xf5, 0x00, 0x00, 0x00, 0x00, 0x00};
    assert_int_equal(decode_one(zero5, sizeof(zero5), &r, &err), 0);
    assert_true(r.padding);

    /* Corrupt file records. */
    static const uint8_t nonzero5[] = {0xf5, 0x00, 0x00, 0x00, 0x01, 0x00};
    expect_corrupt(nonzero5, sizeof(nonzero5), "FILE_CHECKPOINT payload of 3 bytes");
    static const uint8_t f2bad[] = {0xf2, 0x01, 0x00};
    expect_corrupt(f2bad, 3, "empty file record");
    n = put_rec(rec, 0x70, false, 1, 0, lsn8, 8);
    rec[0] |= 0x80;
    expect_corrupt(rec, n, "not last");
    n = put_rec(rec, 0x30, false, 5, 1, (const uint8_t *)"./a.ibd", 7);
    rec[0] |= 0x80;
    expect_corrupt(rec, n, "page number 1");
    n = put_rec(rec, 0x30, false, 0, 0, (const uint8_t *)"./a.ibd", 7);
    rec[0] |= 0x80;
    expect_corrupt(rec, n, "system tablespace");
    n = put_rec(rec, 0x30, false, 5, 0, (const uint8_t *)"./a.frm", 7);
    rec[0] |= 0x80;
    expect_corrupt(rec, n, "does not end in .ibd");
    n = put_rec(rec, 0x30, false, 5, 0, (const uint8_t *)"./a\0.ibd", 8);
    rec[0] |= 0x80;
    expect_corrupt(rec, n, "NUL byte");
    n = put_rec(rec, 0x20, false, 5, 0, (const uint8_t *)"./a.ibd", 7);
    rec[0] |= 0x80;
    expect_corrupt(rec, n, "without a new name");
    n = put_rec(rec, 0x20, false, 5, 0, (const uint8_t *)"./a.ibd\0./b.frm", 15);
    rec[0] |= 0x80;
    expect_corrupt(rec, n, "bad new file name");
    n = put_rec(rec, 0x40, false, 5, 0, (const uint8_t *)"./a.ibd", 7);
    rec[0] |= 0x80; /* 0xC0: no such file record */
    expect_corrupt(rec, n, "unknown file record type 0xc0");
}

static void test_page_records(void **state)
{
    (void)state;
    uint8_t rec[300], buf[600];
    struct redo_rec r;
    struct ibs_err err;
    size_t n;

    /* §2.5 examples: FREE_PAGE (0,301), INIT_PAGE (5,10). */
    static const uint8_t freep[] = {0x03, 0x00, 0x80, 0xad}, initp[] = {0x12, 0x05, 0x0a};
    assert_int_equal(decode_one(freep, 4, &r, &err), 0);
    assert_int_equal(r.type, REDO_FREE_PAGE);
    assert_int_equal(r.page_no, 301);
    assert_int_equal(decode_one(initp, 3, &r, &err), 0);
    assert_int_equal(r.type, REDO_INIT_PAGE);
    assert_int_equal(r.space_id, 5);
    assert_int_equal(r.page_no, 10);

    /* A long record (16 + v bytes) with a large space id and page number. */
    uint8_t data[100];
    memset(data, 0x5a, sizeof(data));
    uint8_t pl[120];
    size_t o = redo_varint_encode(pl, 1000);
    memcpy(pl + o, data, 100);
    n = put_rec(rec, REDO_WRITE, false, 0xFFFFFFEF, 3000000, pl, o + 100);
    assert_int_equal(decode_one(rec, n, &r, &err), 0);
    assert_int_equal(r.type, REDO_WRITE);
    assert_int_equal(r.space_id, 0xFFFFFFEF);
    assert_int_equal(r.page_no, 3000000);
    assert_int_equal(r.offset, 1000);
    assert_int_equal(r.len, 100);
    assert_int_equal(r.rec_len, n);

    /* INIT_PAGE then same-page records relative to 24; EXTENDED resets to 24;
     * OPTION is passed through. */
    size_t p = 0;
    p += put_rec(buf + p, REDO_INIT_PAGE, false, 7, 9, NULL, 0);
    static const uint8_t w2[] = {0x00, 0x45, 0xbf};
    p += put_rec(buf + p, REDO_WRITE, true, 0, 0, w2, 3); /* FIL_PAGE_TYPE at 24 */
    static const uint8_t ext1[] = {REDO_EXT_INIT_ROW_FORMAT_DYNAMIC};
    p += put_rec(buf + p, REDO_EXTENDED, true, 0, 0, ext1, 1);
    static const uint8_t ms[] = {0x0a, 0x08, 0x01, 0x02}; /* +10, 8 bytes of 01 02 */
    p += put_rec(buf + p, REDO_MEMSET, true, 0, 0, ms, 4);
    static const uint8_t mm[] = {0x00, 0x04, 0x0f}; /* +0, 4 bytes from abs-8 */
    p += put_rec(buf + p, REDO_MEMMOVE, true, 0, 0, mm, 3);
    static const uint8_t opt[] = {0x00, 1, 2, 3, 4};
    p += put_rec(buf + p, REDO_OPTION, true, 0, 0, opt, 5);
    static const uint8_t ua[] = {REDO_EXT_UNDO_APPEND, 1, 2, 3};
    p += put_rec(buf + p, REDO_EXTENDED, true, 0, 0, ua, 4);
    static const uint8_t ins[] = {
        REDO_EXT_INSERT_REUSE_DYNAMIC, 0x35, 0x03, 0x08, 0x01, 0x03, 0xaa, 0xbb};
    p += put_rec(buf + p, REDO_EXTENDED, true, 0, 0, ins, sizeof(ins));
    static const uint8_t insr[] = {REDO_EXT_INSERT_HEAP_REDUNDANT, 0x3e, 0x1c, 0x03, 0x03, 0x16};
    p += put_rec(buf + p, REDO_EXTENDED, true, 0, 0, insr, sizeof(insr));
    static const uint8_t deld[] = {REDO_EXT_DELETE_ROW_FORMAT_DYNAMIC, 0x80, 0x06, 0x02, 0x17};
    p += put_rec(buf + p, REDO_EXTENDED, true, 0, 0, deld, sizeof(deld));
    static const uint8_t delr[] = {REDO_EXT_DELETE_ROW_FORMAT_REDUNDANT, 0x3e};
    p += put_rec(buf + p, REDO_EXTENDED, true, 0, 0, delr, sizeof(delr));
    static const uint8_t trim[] = {REDO_EXT_TRIM_PAGES};
    p += put_rec(buf + p, REDO_EXTENDED, false, 3, 640, trim, 1);
    size_t len = mtr_finish(buf, p);

    struct redo_log_geom g = geom_lap0();
    struct redo_mtr m;
    struct redo_rec_iter it;
    assert_int_equal(redo_mtr_scan(&g, buf, len, 70000, &m), REDO_MTR_OK);
    assert_int_equal(redo_rec_iter_init(&it, &m, buf, REDO_FORMAT_10_8, PS, &err), 0);
#define NEXT() assert_int_equal(redo_rec_next(&it, &r, &err), 0)
    NEXT();
    assert_int_equal(r.type, REDO_INIT_PAGE);
    NEXT();
    assert_int_equal(r.offset, 24);
    assert_int_equal(r.len, 2);
    NEXT();
    assert_int_equal(r.subtype, REDO_EXT_INIT_ROW_FORMAT_DYNAMIC);
    NEXT();
    assert_int_equal(r.type, REDO_MEMSET);
    assert_int_equal(r.offset, 34);
    assert_int_equal(r.len, 8);
    assert_int_equal(r.data_len, 2);
    NEXT();
    assert_int_equal(r.type, REDO_MEMMOVE);
    assert_int_equal(r.offset, 42);
    assert_int_equal(r.src, 42 - 7 - 1);
    NEXT();
    assert_int_equal(r.type, REDO_OPTION);
    assert_int_equal(r.subtype, 0);
    assert_int_equal(r.data_len, 4);
    NEXT();
    assert_int_equal(r.subtype, REDO_EXT_UNDO_APPEND);
    assert_int_equal(r.data_len, 3);
    NEXT();
    assert_int_equal(r.subtype, REDO_EXT_INSERT_REUSE_DYNAMIC);
    assert_int_equal(r.prev, 0x35);
    assert_int_equal(r.shift, 3);
    assert_int_equal(r.enc_hdr, 8);
    assert_int_equal(r.hdr_c, 1);
    assert_int_equal(r.data_c, 3);
    assert_int_equal(r.data_len, 2);
    NEXT();
    assert_int_equal(r.subtype, REDO_EXT_INSERT_HEAP_REDUNDANT);
    assert_int_equal(r.prev, 62);
    assert_int_equal(r.enc_hdr, 0x1c);
    assert_int_equal(r.data_len, 1);
    NEXT();
    assert_int_equal(r.subtype, REDO_EXT_DELETE_ROW_FORMAT_DYNAMIC);
    assert_int_equal(r.prev, 134);
    assert_int_equal(r.hdr_size, 2);
    assert_int_equal(r.data_size, 23);
    NEXT();
    assert_int_equal(r.subtype, REDO_EXT_DELETE_ROW_FORMAT_REDUNDANT);
    assert_int_equal(r.prev, 62);
    NEXT();
    assert_int_equal(r.subtype, REDO_EXT_TRIM_PAGES);
    assert_int_equal(r.space_id, 3);
    assert_int_equal(r.page_no, 640);
    assert_false(redo_rec_iter_more(&it));
#undef NEXT
    assert_string_equal(redo_ext_type_name(10), "TRIM_PAGES");
    assert_string_equal(redo_ext_type_name(11), "?");
    assert_string_equal(redo_rec_type_name(REDO_MEMMOVE), "MEMMOVE");
}

/* A page record after `prefix` (a record that sets the current page). */
static void expect_corrupt2(const uint8_t *first, size_t n1, const uint8_t *second, size_t n2,
                            const char *why)
{
    uint8_t buf[512];
    memcpy(buf, first, n1);
    memcpy(buf + n1, second, n2);
    size_t len = mtr_finish(buf, n1 + n2);
    struct redo_log_geom g = geom_lap0();
    struct redo_mtr m;
    struct redo_rec_iter it;
    struct redo_rec r;
    struct ibs_err err;
    assert_int_equal(redo_mtr_scan(&g, buf, len, 50000, &m), REDO_MTR_OK);
    assert_int_equal(redo_rec_iter_init(&it, &m, buf, REDO_FORMAT_10_8, PS, &err), 0);
    assert_int_equal(redo_rec_next(&it, &r, &err), 0);
    assert_int_equal(redo_rec_next(&it, &r, &err), IBS_E_REDO);
    if (!strstr(err.msg, why))
        fail_msg("expected \"%s\" in \"%s\"", why, err.msg);
    assert_false(redo_rec_iter_more(&it));
}

static void test_corrupt_page_records(void **state)
{
    (void)state;
    uint8_t rec[64];
    size_t n;

    static const uint8_t reserved[] = {0x63, 0x00, 0x05, 0x01};
    expect_corrupt(reserved, 4, "unknown log record");
    static const uint8_t badid[] = {0x32, 0xf8, 0x00};
    expect_corrupt(badid, 3, "malformed page id");
    static const uint8_t idonly[] = {0x31, 0x05};
    expect_corrupt(idonly, 2, "malformed page id");
    static const uint8_t badpage[] = {0x33, 0x05, 0xf8, 0x00};
    expect_corrupt(badpage, 4, "malformed page id");
    static const uint8_t f5[] = {0x36, 0xf1, 0, 0, 0, 0, 0x00};
    expect_corrupt(f5, 7, "malformed page id");
    static const uint8_t badspace[] = {0x38, 0xf0, 0xef, 0xdf, 0xbf, 0x70, 0x00, 0x20, 0x01};
    expect_corrupt(badspace, 9, "invalid tablespace id");
    static const uint8_t initpl[] = {0x13, 0x05, 0x0a, 0x00};
    expect_corrupt(initpl, 4, "unexpected payload");
    static const uint8_t freepl[] = {0x03, 0x05, 0x0a, 0x00};
    expect_corrupt(freepl, 4, "unexpected payload");
    static const uint8_t w_off[] = {0x34, 0x05, 0x0a, 0x04, 0x01}; /* abs 4 < 8 */
    expect_corrupt(w_off, 5, "outside the page");
    static const uint8_t w_big[] = {0x35, 0x05, 0x0a, 0xbf, 0xff, 0x01}; /* 16511 >= ps */
    expect_corrupt(w_big, 6, "outside the page");
    static const uint8_t w_far[] = {0x37, 0x05, 0x0a, 0xbf, 0x7e, 0x01, 0x02, 0x03}; /* 16382+3 */
    expect_corrupt(w_far, 8, "beyond the page");
    static const uint8_t w_nodata[] = {0x33, 0x05, 0x0a, 0x30};
    expect_corrupt(w_nodata, 4, "malformed offset");
    static const uint8_t w_off4[] = {0x37, 0x05, 0x0a, 0xe0, 0x00, 0x00, 0x00, 0x01};
    expect_corrupt(w_off4, 8, "malformed offset");
    static const uint8_t ms_nopat[] = {0x44, 0x05, 0x0a, 0x30, 0x04};
    expect_corrupt(ms_nopat, 5, "fill pattern of 0 bytes");
    static const uint8_t ms_longpat[] = {0x46, 0x05, 0x0a, 0x30, 0x01, 0x07, 0x08};
    expect_corrupt(ms_longpat, 7, "fill pattern of 2 bytes for 1");
    static const uint8_t ms_far[] = {0x46, 0x05, 0x0a, 0xbf, 0x7e, 0x04, 0x07};
    expect_corrupt(ms_far, 7, "beyond the page");
    static const uint8_t ms_nolen[] = {0x43, 0x05, 0x0a, 0x30};
    expect_corrupt(ms_nolen, 4, "malformed offset");
    static const uint8_t ms_badlen[] = {0x45, 0x05, 0x0a, 0x30, 0xe0, 0x01};
    expect_corrupt(ms_badlen, 6, "malformed length");
    static const uint8_t mm_src[] = {0x55, 0x05, 0x0a, 0x30, 0x04, 0x7f}; /* 48-63-1 < 8 */
    expect_corrupt(mm_src, 6, "source offset");
    static const uint8_t mm_extra[] = {0x56, 0x05, 0x0a, 0x30, 0x04, 0x03, 0x00};
    expect_corrupt(mm_extra, 7, "malformed source");
    static const uint8_t mm_nosrc[] = {0x54, 0x05, 0x0a, 0x30, 0x04};
    expect_corrupt(mm_nosrc, 5, "malformed source");
    static const uint8_t ext_empty[] = {0x22, 0x05, 0x0a};
    expect_corrupt(ext_empty, 3, "EXTENDED without subtype");
    static const uint8_t ext_11[] = {0x23, 0x05, 0x0a, 0x0b};
    expect_corrupt(ext_11, 4, "unknown EXTENDED subtype 11");
    static const uint8_t ext_init_pl[] = {0x24, 0x05, 0x0a, 0x01, 0x00};
    expect_corrupt(ext_init_pl, 5, "INIT_ROW_FORMAT_DYNAMIC with 1 payload");
    static const uint8_t ext_trim_pl[] = {0x24, 0x05, 0x0a, 0x0a, 0x00};
    expect_corrupt(ext_trim_pl, 5, "TRIM_PAGES with 1 payload");
    static const uint8_t ext_undo_short[] = {0x25, 0x05, 0x0a, 0x03, 0x01, 0x02};
    expect_corrupt(ext_undo_short, 6, "UNDO_APPEND of 2 bytes");
    static const uint8_t ins_short[] = {0x26, 0x05, 0x0a, 0x06, 0x01, 0x02, 0x03};
    expect_corrupt(ins_short, 7, "malformed INSERT_HEAP_DYNAMIC");
    static const uint8_t ins_r_hdr3[] = {0x29, 0x05, 0x0a, 0x04, 0x01,
                                         0xc0, 0x00, 0x00, 0x01, 0x01};
    expect_corrupt(ins_r_hdr3, 10, "malformed INSERT_HEAP_REDUNDANT");
    static const uint8_t del_r_long[] = {0x25, 0x05, 0x0a, 0x08, 0x01, 0x01};
    expect_corrupt(del_r_long, 6, "malformed DELETE_ROW_FORMAT_REDUNDANT");
    static const uint8_t del_d_tail[] = {0x27, 0x05, 0x0a, 0x09, 0x01, 0x01, 0x01, 0x01};
    expect_corrupt(del_d_tail, 8, "malformed DELETE_ROW_FORMAT_DYNAMIC");

    /* Same-page rules. */
    static const uint8_t initp[] = {0x12, 0x05, 0x0a}, freep[] = {0x02, 0x05, 0x0b};
    static const uint8_t same_init[] = {0x91, 0x00};
    expect_corrupt2(initp, 3, same_init, 2, "INIT_PAGE without a page id");
    static const uint8_t sfree[] = {0x80 | 0x00 | 0x01, 0x00};
    expect_corrupt2(initp, 3, sfree, 2, "FREE_PAGE without a page id");
    static const uint8_t same_w[] = {0xb2, 0x10, 0x01};
    expect_corrupt2(freep, 3, same_w, 3, "after FREE_PAGE");
    n = put_rec(rec, REDO_EXTENDED, false, 3, 640, (const uint8_t[]){REDO_EXT_TRIM_PAGES}, 1);
    expect_corrupt2(rec, n, same_w, 3, "after FREE_PAGE or TRIM_PAGES");
    /* A record longer than the page size. */
    uint8_t big[3 + 4 + 16384];
    big[0] = 0x30;
    /* total = 16 + v = 16390 -> v = 16374 (3-byte varint) */
    size_t ll = redo_varint_encode(big + 1, 16374);
    big[1 + ll] = 0x05;
    big[2 + ll] = 0x0a;
    big[3 + ll] = 0x30;
    memset(big + 4 + ll, 0, 16390 - 4 - ll);
    uint8_t *mbuf = malloc(16390 + 5);
    memcpy(mbuf, big, 16390);
    size_t mlen = mtr_finish(mbuf, 16390);
    struct redo_log_geom g = geom_lap0();
    struct redo_mtr m;
    struct redo_rec_iter it;
    struct redo_rec r;
    struct ibs_err err;
    assert_int_equal(redo_mtr_scan(&g, mbuf, mlen, 50000, &m), REDO_MTR_OK);
    assert_int_equal(redo_rec_iter_init(&it, &m, mbuf, REDO_FORMAT_10_8, PS, &err), 0);
    assert_int_equal(redo_rec_next(&it, &r, &err), IBS_E_REDO);
    assert_non_null(strstr(err.msg, "longer than a page"));
    free(mbuf);
}

static void test_scan_limits(void **state)
{
    (void)state;
    struct redo_log_geom g = geom_lap0();
    struct redo_mtr m;
    uint8_t buf[64];

    buf[0] = 0;
    assert_int_equal(redo_mtr_scan(&g, buf, 1, 50000, &m), REDO_MTR_END);
    assert_int_equal(m.end_reason, REDO_END_MARKER);
    buf[0] = 1;
    assert_int_equal(redo_mtr_scan(&g, buf, 1, 50000, &m), REDO_MTR_END);
    assert_int_equal(redo_mtr_scan(&g, buf, 0, 50000, &m), REDO_MTR_NEED_MORE);
    /* A long length >= 1 MiB, and an undecodable one. */
    buf[0] = 0x30;
    size_t ll = redo_varint_encode(buf + 1, REDO_MTR_SIZE_MAX);
    assert_int_equal(redo_mtr_scan(&g, buf, 1 + ll, 50000, &m), REDO_MTR_END);
    assert_int_equal(m.end_reason, REDO_END_TOO_LONG);
    buf[1] = 0xf8;
    memset(buf + 2, 0, 10);
    assert_int_equal(redo_mtr_scan(&g, buf, 12, 50000, &m), REDO_MTR_END);
    assert_int_equal(m.end_reason, REDO_END_TOO_LONG);
    assert_int_equal(redo_mtr_scan(&g, buf, 1, 50000, &m), REDO_MTR_NEED_MORE);
    buf[1] = 0xc0;
    assert_int_equal(redo_mtr_scan(&g, buf, 3, 50000, &m), REDO_MTR_NEED_MORE);
    /* Many records adding up to more than 1 MiB. */
    size_t big = REDO_MTR_SIZE_MAX + 100000;
    uint8_t *lots = malloc(big);
    for (size_t p = 0; p < big; p += 16) {
        lots[p] = 0x3f;
        memset(lots + p + 1, 0x11, 15);
    }
    assert_int_equal(redo_mtr_scan(&g, lots, big, 50000, &m), REDO_MTR_END);
    assert_int_equal(m.end_reason, REDO_END_TOO_LONG);
    free(lots);

    /* Encrypted formats: 8 nonce bytes between end byte and CRC, in the CRC. */
    static const uint8_t initp[] = {0x12, 0x05, 0x0a};
    memcpy(buf, initp, 3);
    buf[3] = 1;
    memset(buf + 4, 0x77, 8);
    uint32_t crc = redo_crc32c(redo_crc32c(0, buf, 3), buf + 4, 8);
    redo_mach_write_4(buf + 12, crc);
    g.format = REDO_FORMAT_ENC_11;
    assert_int_equal(redo_mtr_scan(&g, buf, 16, 50000, &m), REDO_MTR_OK);
    assert_int_equal(m.len, 16);
    assert_int_equal(redo_mtr_scan(&g, buf, 15, 50000, &m), REDO_MTR_NEED_MORE);
    buf[6] ^= 1; /* nonce byte */
    assert_int_equal(redo_mtr_scan(&g, buf, 16, 50000, &m), REDO_MTR_END);
    assert_int_equal(m.end_reason, REDO_END_CRC);
    buf[6] ^= 1;
    struct redo_rec_iter it;
    struct ibs_err err;
    assert_int_equal(redo_mtr_scan(&g, buf, 16, 50000, &m), REDO_MTR_OK);
    assert_int_equal(redo_rec_iter_init(&it, &m, buf, g.format, PS, &err), IBS_E_REDO);
    assert_non_null(strstr(err.msg, "encrypted redo log is not supported yet"));
    assert_false(redo_rec_iter_more(&it));
    g.format = REDO_FORMAT_10_8;
    assert_int_equal(redo_rec_iter_init(&it, &m, buf, g.format, 1000, &err), IBS_E_INTERNAL);
}

int run_mtr_tests(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_varint),
        cmocka_unit_test(test_live_tail),
        cmocka_unit_test(test_live_wrap),
        cmocka_unit_test(test_worked_example),
        cmocka_unit_test(test_file_records),
        cmocka_unit_test(test_page_records),
        cmocka_unit_test(test_corrupt_page_records),
        cmocka_unit_test(test_scan_limits),
    };
    return cmocka_run_group_tests_name("redo_mtr", tests, NULL, NULL);
}
