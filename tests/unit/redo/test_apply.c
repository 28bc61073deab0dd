/* Record collection and apply: pages recovered from a real backup compared
 * with mariadb-backup --prepare's, in one batch and in many, and hand-built
 * records for each rule and each refusal. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <zstd.h>

#include "redo/apply.h"
#include "redo/page.h"
#include "redo/recv.h"
#include "redo_test.h"

#define PS 16384
#define FLAGS_FCRC32_16K 0x15u /* full_crc32, 16K */

static uint8_t *zstd_fixture(const char *name, size_t *len)
{
    size_t clen;
    uint8_t *c = fixture_read(name, &clen);
    unsigned long long n = ZSTD_getFrameContentSize(c, clen);
    assert_true(n != ZSTD_CONTENTSIZE_ERROR && n != ZSTD_CONTENTSIZE_UNKNOWN);
    uint8_t *out = malloc(n);
    assert_int_equal(ZSTD_decompress(out, n, c, clen), n);
    free(c);
    *len = (size_t)n;
    return out;
}

struct fixture_page {
    uint32_t space_id, page_no, flags, ps;
    uint8_t *raw, *expected;
};

struct apply_fixture {
    uint8_t *log, *pages_blob;
    size_t log_len, n_pages;
    struct fixture_page pages[256];
};

static void load_apply_fixture(struct apply_fixture *f)
{
    size_t len;
    f->log = zstd_fixture("apply_log.bin.zst", &f->log_len);
    f->pages_blob = zstd_fixture("apply_pages.bin.zst", &len);
    f->n_pages = 0;
    for (size_t p = 0; p < len;) {
        struct fixture_page *fp = &f->pages[f->n_pages++];
        fp->space_id = redo_mach_read_4(f->pages_blob + p);
        fp->page_no = redo_mach_read_4(f->pages_blob + p + 4);
        fp->flags = redo_mach_read_4(f->pages_blob + p + 8);
        fp->ps = redo_mach_read_4(f->pages_blob + p + 12);
        fp->raw = f->pages_blob + p + 16;
        fp->expected = fp->raw + fp->ps;
        p += 16 + 2 * (size_t)fp->ps;
    }
}

static struct fixture_page *fixture_page(struct apply_fixture *f, uint32_t space_id,
                                         uint32_t page_no)
{
    for (size_t i = 0; i < f->n_pages; i++)
        if (f->pages[i].space_id == space_id && f->pages[i].page_no == page_no)
            return &f->pages[i];
    return NULL;
}

/* Applies the collected pages that the fixture holds to its "files" (the raw
 * page buffers, updated in place), then forgets them: cleared, or taken out
 * with redo_recv_detach() and freed (detach). */
static void apply_known_pages(struct apply_fixture *f, struct redo_recv *recv, bool detach,
                              unsigned *written)
{
    struct redo_recv_page *const *pages;
    struct redo_recv_batch *batch = NULL;
    size_t n;
    struct ibs_err err;
    if (detach)
        assert_int_equal(redo_recv_detach(recv, &batch, &pages, &n, &err), 0);
    else
        assert_int_equal(redo_recv_pages(recv, &pages, &n, &err), 0);
    for (size_t i = 0; i < n; i++) {
        struct fixture_page *fp = fixture_page(f, pages[i]->space_id, pages[i]->page_no);
        if (!fp)
            continue; /* freed in the end: not part of the fixture */
        uint8_t *buf = malloc(fp->ps);
        memcpy(buf, fp->raw, fp->ps);
        struct redo_apply_result res;
        if (redo_apply_page(pages[i], buf, fp->ps, fp->flags, &res, &err))
            fail_msg("%s", err.msg);
        if (res.outcome == REDO_APPLY_WRITE) {
            memcpy(fp->raw, buf, fp->ps);
            (*written)++;
        }
        free(buf);
    }
    if (detach)
        redo_recv_batch_free(recv, batch);
    else
        redo_recv_clear_pages(recv);
    assert_int_equal(redo_recv_page_count(recv), 0);
}

/* The whole log of a real backup, applied with at most `batch` mtrs per batch;
 * refer: the collector points into the log instead of copying records, and
 * batches are detached. */
static void run_real_backup(size_t batch, bool refer)
{
    struct apply_fixture *f = calloc(1, sizeof(*f));
    load_apply_fixture(f);
    assert_true(f->n_pages >= 50);

    struct redo_log_header hdr;
    struct redo_checkpoint ck;
    struct redo_log_geom g;
    struct ibs_err err;
    assert_int_equal(redo_log_header_parse(f->log, f->log_len, &hdr, &err), 0);
    assert_string_equal(hdr.creator, "Backup 10.11.19");
    assert_int_equal(redo_log_find_checkpoint(f->log, f->log_len, hdr.first_lsn, &ck, &err), 0);
    assert_int_equal(redo_log_geom_init(&g, &hdr, f->log_len, &err), 0);
    struct redo_recv *recv = redo_recv_new(PS, &err);
    assert_non_null(recv);
    if (refer)
        redo_recv_refer(recv);

    uint64_t lsn = ck.checkpoint_lsn;
    size_t pos = redo_log_offset(&g, lsn), in_batch = 0;
    unsigned mtrs = 0, written = 0;
    struct redo_mtr m;
    while (redo_mtr_scan(&g, f->log + pos, f->log_len - pos, lsn, &m) == REDO_MTR_OK) {
        if (redo_recv_add_mtr(recv, f->log + pos, &m, g.format, &err))
            fail_msg("%s", err.msg);
        pos += m.len;
        lsn += m.len;
        mtrs++;
        if (++in_batch == batch) {
            apply_known_pages(f, recv, refer, &written);
            in_batch = 0;
        }
    }
    /* The backup log ends at EOF. */
    assert_int_equal(pos, f->log_len);
    assert_true(mtrs > 1000);
    apply_known_pages(f, recv, refer, &written);

    unsigned same = 0;
    for (size_t i = 0; i < f->n_pages; i++) {
        struct fixture_page *fp = &f->pages[i];
        if (!memcmp(fp->raw, fp->expected, fp->ps))
            same++;
        else
            print_error("page %u:%u differs from mariadb-backup --prepare\n", fp->space_id,
                        fp->page_no);
    }
    assert_int_equal(same, f->n_pages);
    assert_true(written >= f->n_pages);

    /* FILE_MODIFY records and the FILE_CHECKPOINT of the backup's checkpoint. */
    size_t nev;
    const struct redo_file_event *ev = redo_recv_file_events(recv, &nev);
    bool modify = false, checkpoint = false;
    for (size_t i = 0; i < nev; i++) {
        if (ev[i].op == REDO_FILE_OP_MODIFY && strstr(ev[i].name, ".ibd"))
            modify = true;
        if (ev[i].op == REDO_FILE_OP_CHECKPOINT && ev[i].checkpoint_lsn == ck.checkpoint_lsn)
            checkpoint = true;
    }
    assert_true(modify);
    assert_true(checkpoint);
    redo_recv_free(recv);
    free(f->log);
    free(f->pages_blob);
    free(f);
}

static void test_real_backup_one_batch(void **state)
{
    (void)state;
    run_real_backup(0, false);
}

static void test_real_backup_batches(void **state)
{
    (void)state;
    run_real_backup(37, false);
}

static void test_real_backup_refer(void **state)
{
    (void)state;
    run_real_backup(0, true);
    run_real_backup(37, true);
}

/* ---- hand-built records ---- */

/* Adds one mtr made of `n` record bytes at LSN lsn; returns its end LSN. */
static uint64_t add_mtr(struct redo_recv *recv, uint64_t lsn, const uint8_t *recs, size_t n)
{
    uint8_t *buf = malloc(n + 5);
    memcpy(buf, recs, n);
    size_t len = mtr_finish(buf, n);
    struct redo_log_geom g = geom_lap0();
    struct redo_mtr m;
    struct ibs_err err;
    assert_int_equal(redo_mtr_scan(&g, buf, len, lsn, &m), REDO_MTR_OK);
    if (redo_recv_add_mtr(recv, buf, &m, g.format, &err))
        fail_msg("%s", err.msg);
    free(buf);
    return lsn + len;
}

static int apply_one(struct redo_recv *recv, uint32_t space, uint32_t page_no, uint8_t *page,
                     uint32_t flags, struct redo_apply_result *res, struct ibs_err *err)
{
    const struct redo_recv_page *pg = redo_recv_page_find(recv, space, page_no);
    assert_non_null(pg);
    return redo_apply_page(pg, page, PS, flags, res, err);
}

static void test_page_lsn_rule(void **state)
{
    (void)state;
    struct ibs_err err;
    struct redo_recv *recv = redo_recv_new(PS, &err);
    uint8_t r[64], pl[8];
    size_t n;

    /* Three mtrs writing one byte each at offset 100 of page 5:7. */
    uint64_t lsn[4] = {100000};
    for (int i = 0; i < 3; i++) {
        pl[0] = 100;
        pl[1] = (uint8_t)(0xa0 + i);
        n = put_rec(r, REDO_WRITE, false, 5, 7, pl, 2);
        lsn[i + 1] = add_mtr(recv, lsn[i], r, n);
    }
    uint8_t *page = calloc(1, PS);
    redo_mach_write_4(page + FIL_PAGE_OFFSET, 7);
    redo_mach_write_4(page + FIL_PAGE_SPACE_ID, 5);
    /* The page already holds the first mtr (its LSN is that mtr's end). */
    redo_mach_write_8(page + FIL_PAGE_LSN, lsn[1]);
    page[100] = 0xa0;
    struct redo_apply_result res;
    assert_int_equal(apply_one(recv, 5, 7, page, FLAGS_FCRC32_16K, &res, &err), 0);
    assert_int_equal(res.outcome, REDO_APPLY_WRITE);
    assert_int_equal(res.skipped, 1);
    assert_int_equal(res.applied, 2);
    assert_int_equal(page[100], 0xa2);
    assert_int_equal(redo_page_get_lsn(page), lsn[3]);
    assert_int_equal(res.page_lsn, lsn[3]);
    /* full_crc32 trailer: low LSN bits, then the CRC-32C of the rest. */
    assert_int_equal(redo_mach_read_4(page + PS - 8), (uint32_t)lsn[3]);
    assert_int_equal(redo_mach_read_4(page + PS - 4), redo_crc32c(0, page, PS - 4));

    /* Newer than every record: nothing to do. */
    redo_mach_write_8(page + FIL_PAGE_LSN, lsn[3]);
    assert_int_equal(apply_one(recv, 5, 7, page, FLAGS_FCRC32_16K, &res, &err), 0);
    assert_int_equal(res.outcome, REDO_APPLY_NOTHING);
    assert_int_equal(res.skipped, 3);

    /* An all-zero page (beyond the end of the file) without INIT_PAGE. */
    memset(page, 0, PS);
    assert_int_equal(apply_one(recv, 5, 7, page, FLAGS_FCRC32_16K, &res, &err), IBS_E_INTEGRITY);
    assert_non_null(strstr(err.msg, "page 5:7 is all zero"));
    free(page);
    redo_recv_free(recv);
}

static void test_init_free_memset_memmove(void **state)
{
    (void)state;
    struct ibs_err err;
    struct redo_recv *recv = redo_recv_new(PS, &err);
    uint8_t r[256];
    size_t n = 0;
    uint8_t pl[16];

    /* mtr 1: WRITE to 6:9 then FREE_PAGE: only the FREE remains. */
    pl[0] = 100;
    pl[1] = 0x11;
    n = put_rec(r, REDO_WRITE, false, 6, 9, pl, 2);
    n += put_rec(r + n, REDO_FREE_PAGE, false, 6, 9, NULL, 0);
    uint64_t l1 = add_mtr(recv, 200000, r, n);
    const struct redo_recv_page *pg = redo_recv_page_find(recv, 6, 9);
    assert_non_null(pg);
    assert_true(pg->init);
    assert_int_equal(pg->n_recs, 1);
    uint8_t *page = malloc(PS);
    memset(page, 0x77, PS);
    struct redo_apply_result res;
    assert_int_equal(apply_one(recv, 6, 9, page, FLAGS_FCRC32_16K, &res, &err), 0);
    assert_int_equal(res.outcome, REDO_APPLY_FREED);
    assert_int_equal(page[100], 0x77); /* untouched */

    /* mtr 2: INIT_PAGE, type, MEMSET pattern, MEMMOVE, WRITE. */
    n = put_rec(r, REDO_INIT_PAGE, false, 6, 9, NULL, 0);
    static const uint8_t type[] = {0, 0x00, 0x02}; /* +0 (24): FIL_PAGE_UNDO_LOG */
    n += put_rec(r + n, REDO_WRITE, true, 0, 0, type, 3);
    static const uint8_t ms[] = {100, 0x06, 0xab, 0xcd}; /* 126: 6 bytes of ab cd */
    n += put_rec(r + n, REDO_MEMSET, true, 0, 0, ms, 4);
    static const uint8_t mm[] = {0, 0x04, 0x0b}; /* 132: 4 bytes from 132-6 */
    n += put_rec(r + n, REDO_MEMMOVE, true, 0, 0, mm, 3);
    uint64_t l2 = add_mtr(recv, l1, r, n);
    pg = redo_recv_page_find(recv, 6, 9);
    assert_int_equal(pg->n_recs, 4);
    assert_int_equal(pg->init_lsn, l1);
    memset(page, 0x77, PS);
    assert_int_equal(apply_one(recv, 6, 9, page, FLAGS_FCRC32_16K, &res, &err), 0);
    assert_int_equal(res.outcome, REDO_APPLY_WRITE);
    assert_int_equal(res.page_lsn, l2);
    assert_int_equal(redo_mach_read_4(page + FIL_PAGE_OFFSET), 9);
    assert_int_equal(redo_mach_read_4(page + FIL_PAGE_PREV), 0xffffffff);
    assert_int_equal(redo_mach_read_4(page + FIL_PAGE_NEXT), 0xffffffff);
    assert_int_equal(redo_mach_read_4(page + FIL_PAGE_SPACE_ID), 6);
    assert_int_equal(redo_mach_read_2(page + FIL_PAGE_TYPE), 2);
    static const uint8_t want[] = {0xab, 0xcd, 0xab, 0xcd, 0xab, 0xcd,
                                   0xab, 0xcd, 0xab, 0xcd, 0x00};
    assert_memory_equal(page + 126, want, sizeof(want));
    assert_int_equal(page[100], 0);

    /* Legacy (crc32) tablespace flags 0: LSN in the trailer, checksum at 0. */
    assert_int_equal(apply_one(recv, 6, 9, page, 0, &res, &err), 0);
    assert_int_equal(redo_mach_read_4(page + PS - 4), (uint32_t)l2);
    assert_int_equal(redo_mach_read_4(page), redo_page_checksum_crc32(page, PS));

    /* A ROW_FORMAT=COMPRESSED page (8K zip in a legacy DYNAMIC space) is smaller
     * than innodb_page_size: bytes beyond it are refused. */
    n = put_rec(r, REDO_INIT_PAGE, false, 6, 10, NULL, 0);
    static const uint8_t far[] = {0xa0, 0x00, 0x01}; /* 128+8192 */
    n += put_rec(r + n, REDO_WRITE, false, 6, 10, far, 3);
    add_mtr(recv, l2, r, n);
    pg = redo_recv_page_find(recv, 6, 10);
    uint32_t zip8k = 1 | 4u << 1 | 1 << 5;
    assert_int_equal(redo_apply_page(pg, page, 8192, zip8k, &res, &err), IBS_E_REDO);
    assert_non_null(strstr(err.msg, "beyond the end of the page"));
    assert_int_equal(redo_apply_page(pg, page, 1000, zip8k, &res, &err), IBS_E_INTERNAL);
    free(page);
    redo_recv_free(recv);
}

/* ---- index pages ---- */

static uint64_t next_lsn = 500000;

static void apply_recs(uint8_t *page, uint32_t page_no, const uint8_t *recs, size_t n, int want_rc,
                       const char *want_msg)
{
    struct ibs_err err;
    struct redo_recv *recv = redo_recv_new(PS, &err);
    next_lsn = add_mtr(recv, next_lsn, recs, n);
    struct redo_apply_result res;
    redo_mach_write_8(page + FIL_PAGE_LSN, 1); /* older than every record */
    int rc = apply_one(recv, 9, page_no, page, FLAGS_FCRC32_16K, &res, &err);
    if (rc != want_rc)
        fail_msg("rc %d: %s", rc, rc ? err.msg : "");
    if (want_msg && !strstr(err.msg, want_msg))
        fail_msg("expected \"%s\" in \"%s\"", want_msg, err.msg);
    redo_recv_free(recv);
}

static void ext(uint8_t *page, uint32_t page_no, const uint8_t *payload, size_t plen)
{
    uint8_t r[300];
    size_t n = put_rec(r, REDO_EXTENDED, false, 9, page_no, payload, plen);
    apply_recs(page, page_no, r, n, 0, NULL);
}

static uint32_t n_slots(const uint8_t *p)
{
    return redo_mach_read_2(p + 38);
}

static uint32_t n_recs(const uint8_t *p)
{
    return redo_mach_read_2(p + 54);
}

/* Walks a COMPACT page's record list; returns the number of user records and
 * checks that the n_owned values add up and each slot points to an owner. */
static unsigned walk_compact(const uint8_t *p)
{
    unsigned count = 0, owned = 0;
    uint32_t rec = 99;
    for (;;) {
        owned += p[rec - 5] & 0xf;
        uint32_t next = redo_mach_read_2(p + rec - 2);
        if (!next)
            break;
        rec = (rec + next) & 0xffff;
        if (rec != 112)
            count++;
        assert_true(count < 1000);
    }
    assert_int_equal(rec, 112);
    assert_int_equal(owned, count + 2);
    for (uint32_t s = 0; s < n_slots(p); s++) {
        uint32_t o = redo_mach_read_2(p + PS - 10 - 2 * s);
        assert_true((p[o - 5] & 0xf) >= 1);
    }
    return count;
}

/* INSERT_HEAP_DYNAMIC of a 5-byte record after the record at prev_origin. */
static void insert_dynamic(uint8_t *page, uint32_t prev_origin, uint8_t key)
{
    uint8_t ins[16];
    size_t n = 0;
    ins[n++] = REDO_EXT_INSERT_HEAP_DYNAMIC;
    n += redo_varint_encode(ins + n, prev_origin - 99);
    static const uint8_t rest[] = {0 << 3, 0, 0, 0, 'd', 'a', 't', 'a'};
    memcpy(ins + n, rest, sizeof(rest));
    ins[n + 3] = key;
    ext(page, 10, ins, n + sizeof(rest));
}

static void test_dynamic_insert_delete(void **state)
{
    (void)state;
    uint8_t *page = calloc(1, PS);
    redo_mach_write_4(page + FIL_PAGE_OFFSET, 10);
    redo_mach_write_4(page + FIL_PAGE_SPACE_ID, 9);
    static const uint8_t create[] = {REDO_EXT_INIT_ROW_FORMAT_DYNAMIC};
    ext(page, 10, create, 1);
    assert_int_equal(redo_mach_read_2(page + FIL_PAGE_TYPE), FIL_PAGE_INDEX);
    assert_int_equal(n_slots(page), 2);
    assert_int_equal(redo_mach_read_2(page + 42), 0x8002);
    assert_int_equal(redo_mach_read_2(page + 40), 120);
    assert_memory_equal(page + 99, "infimum", 8);
    assert_memory_equal(page + 112, "supremum", 8);
    assert_int_equal(redo_mach_read_2(page + PS - 10), 99);
    assert_int_equal(redo_mach_read_2(page + PS - 12), 112);

    /* Ascending inserts: each after the last one. The 8th makes the supremum
     * own 9 records, so its slot splits. */
    uint32_t last = 99;
    for (int i = 0; i < 20; i++) {
        insert_dynamic(page, last, (uint8_t)i);
        last = redo_mach_read_2(page + 48); /* PAGE_LAST_INSERT */
        assert_int_equal(n_recs(page), i + 1);
        assert_int_equal(walk_compact(page), i + 1);
    }
    /* Splits at the 8th, 12th, 16th and 20th insert. */
    assert_int_equal(n_slots(page), 6);
    assert_int_equal(page[51] & 7, 2); /* PAGE_RIGHT */
    assert_int_equal(redo_mach_read_2(page + 52), 19);
    uint32_t heap_top = redo_mach_read_2(page + 40);
    assert_int_equal(heap_top, 120 + 20 * 10);

    /* Delete the first record (prev = infimum): it goes to the free list. */
    uint32_t first = (99 + redo_mach_read_2(page + 97)) & 0xffff;
    static const uint8_t del[] = {REDO_EXT_DELETE_ROW_FORMAT_DYNAMIC, 0, 0, 5};
    ext(page, 10, del, sizeof(del));
    assert_int_equal(n_recs(page), 19);
    assert_int_equal(walk_compact(page), 19);
    assert_int_equal(redo_mach_read_2(page + 44), first); /* PAGE_FREE */
    assert_int_equal(redo_mach_read_2(page + 46), 10);    /* PAGE_GARBAGE */
    /* Deletes until the first group drops below 4: slots merge. */
    for (int i = 0; i < 6; i++)
        ext(page, 10, del, sizeof(del));
    assert_int_equal(walk_compact(page), 13);
    assert_true(n_slots(page) < 6);
    /* Reuse the freed space at the head of the free list. */
    uint32_t free_rec = redo_mach_read_2(page + 44);
    static const uint8_t reuse[] = {
        REDO_EXT_INSERT_REUSE_DYNAMIC, 0, 0, 0, 0, 0, 42, 'r', 'e', 'u', 's'};
    ext(page, 10, reuse, sizeof(reuse));
    assert_int_equal(redo_mach_read_2(page + 48), free_rec);
    assert_int_equal(page[free_rec], 42);
    assert_int_equal(walk_compact(page), 14);
    assert_int_equal(redo_mach_read_2(page + 40), heap_top);

    /* Deleting the record at the top of the heap shrinks the heap. */
    uint32_t rec = 99, prev = 99;
    while (redo_mach_read_2(page + rec - 2) &&
           ((rec + redo_mach_read_2(page + rec - 2)) & 0xffff) != 112) {
        prev = rec;
        rec = (rec + redo_mach_read_2(page + rec - 2)) & 0xffff;
    }
    assert_int_equal(rec, heap_top - 5);
    uint8_t del_top[8];
    size_t dn = 0;
    del_top[dn++] = REDO_EXT_DELETE_ROW_FORMAT_DYNAMIC;
    dn += redo_varint_encode(del_top + dn, prev - 99);
    del_top[dn++] = 0;
    del_top[dn++] = 5;
    ext(page, 10, del_top, dn);
    assert_int_equal(redo_mach_read_2(page + 40), heap_top - 10);
    assert_int_equal(walk_compact(page), 13);

    /* Corrupt inputs. */
    uint8_t r[64];
    size_t n;
    static const uint8_t bad_prev[] = {REDO_EXT_DELETE_ROW_FORMAT_DYNAMIC, 0x01, 0, 5};
    n = put_rec(r, REDO_EXTENDED, false, 9, 10, bad_prev, sizeof(bad_prev));
    apply_recs(page, 10, r, n, IBS_E_INTEGRITY, "bad predecessor");
    static const uint8_t redundant_on_compact[] = {REDO_EXT_DELETE_ROW_FORMAT_REDUNDANT, 0};
    n = put_rec(r, REDO_EXTENDED, false, 9, 10, redundant_on_compact, 2);
    apply_recs(page, 10, r, n, IBS_E_INTEGRITY, "not a REDUNDANT page");
    static const uint8_t lit_long[] = {REDO_EXT_INSERT_HEAP_DYNAMIC, 0, 9 << 3, 0, 0, 1};
    n = put_rec(r, REDO_EXTENDED, false, 9, 10, lit_long, sizeof(lit_long));
    apply_recs(page, 10, r, n, IBS_E_INTEGRITY, "literal header longer");
    redo_mach_write_2(page + 40, PS); /* PAGE_HEAP_TOP past the directory */
    static const uint8_t ins[] = {REDO_EXT_INSERT_HEAP_DYNAMIC, 0, 0, 0, 0, 1};
    n = put_rec(r, REDO_EXTENDED, false, 9, 10, ins, sizeof(ins));
    apply_recs(page, 10, r, n, IBS_E_INTEGRITY, "bad PAGE_HEAP_TOP");
    redo_mach_write_2(page + FIL_PAGE_TYPE, FIL_PAGE_UNDO_LOG);
    apply_recs(page, 10, r, n, IBS_E_INTEGRITY, "not an index page");
    /* EXTENDED on pages 0..2 and on ROW_FORMAT=COMPRESSED. */
    n = put_rec(r, REDO_EXTENDED, false, 9, 2, ins, sizeof(ins));
    apply_recs(page, 2, r, n, IBS_E_REDO, "page 0, 1 or 2");
    {
        struct ibs_err err;
        struct redo_recv *recv = redo_recv_new(PS, &err);
        n = put_rec(r, REDO_EXTENDED, false, 9, 10, ins, sizeof(ins));
        add_mtr(recv, 900000, r, n);
        struct redo_apply_result res;
        uint32_t zip8k = 1 | 4u << 1 | 1 << 5;
        assert_int_equal(
            redo_apply_page(redo_recv_page_find(recv, 9, 10), page, 8192, zip8k, &res, &err),
            IBS_E_REDO);
        assert_non_null(strstr(err.msg, "ROW_FORMAT=COMPRESSED"));
        redo_recv_free(recv);
    }
    free(page);
}

static void test_redundant_insert_delete(void **state)
{
    (void)state;
    uint8_t *page = calloc(1, PS);
    redo_mach_write_4(page + FIL_PAGE_OFFSET, 11);
    static const uint8_t create[] = {REDO_EXT_INIT_ROW_FORMAT_REDUNDANT};
    ext(page, 11, create, 1);
    assert_int_equal(redo_mach_read_2(page + 42), 2);
    assert_int_equal(redo_mach_read_2(page + 40), 125);
    assert_memory_equal(page + 101, "infimum", 8);
    assert_memory_equal(page + 116, "supremum", 9);

    /* Insert after the infimum: 2 fields, short offsets, ends 4 and 9; the
     * header's 6 fixed bytes come from the infimum, the offsets are literal. */
    static const uint8_t ins[] = {REDO_EXT_INSERT_HEAP_REDUNDANT,
                                  0,
                                  (1 << 3) | 4,
                                  0,
                                  0,
                                  9,
                                  4,
                                  'a',
                                  'b',
                                  'c',
                                  'd',
                                  'e',
                                  'f',
                                  'g',
                                  'h',
                                  'i'};
    ext(page, 11, ins, sizeof(ins));
    uint32_t rec = redo_mach_read_2(page + 101 - 2);
    assert_int_equal(rec, 125 + 8);
    assert_int_equal(redo_mach_read_2(page + rec - 2), 116);    /* next = supremum */
    assert_int_equal(redo_mach_read_2(page + rec - 5) >> 3, 2); /* heap_no */
    assert_int_equal((redo_mach_read_2(page + rec - 4) >> 1) & 0x3ff, 2);
    assert_int_equal(page[rec - 3] & 1, 1);
    assert_memory_equal(page + rec, "abcdefghi", 9);
    assert_int_equal(n_recs(page), 1);
    assert_int_equal(redo_mach_read_2(page + 40), 125 + 8 + 9);
    assert_int_equal(page[116 - 6] & 0xf, 2); /* supremum owns 2 */

    /* A second record after the first sharing 2 data bytes and the offsets. */
    const uint8_t ins2[] = {REDO_EXT_INSERT_HEAP_REDUNDANT,
                            (uint8_t)(rec - 101),
                            (1 << 3) | 4,
                            2,
                            2,
                            'X',
                            'Y',
                            'Z',
                            'W',
                            'V',
                            'U',
                            'T'};
    ext(page, 11, ins2, sizeof(ins2));
    uint32_t rec2 = redo_mach_read_2(page + rec - 2);
    assert_memory_equal(page + rec2, "abXYZWVUT", 9);
    assert_int_equal(n_recs(page), 2);

    /* Delete the first (prev = infimum), then reuse its space. */
    static const uint8_t del[] = {REDO_EXT_DELETE_ROW_FORMAT_REDUNDANT, 0};
    ext(page, 11, del, sizeof(del));
    assert_int_equal(redo_mach_read_2(page + 101 - 2), rec2);
    assert_int_equal(redo_mach_read_2(page + 44), rec);
    assert_int_equal(redo_mach_read_2(page + 46), 17);
    static const uint8_t reuse[] = {REDO_EXT_INSERT_REUSE_REDUNDANT,
                                    0,
                                    (1 << 3) | 4,
                                    0,
                                    0,
                                    9,
                                    4,
                                    'q',
                                    'r',
                                    's',
                                    't',
                                    'u',
                                    'v',
                                    'w',
                                    'x',
                                    'y'};
    ext(page, 11, reuse, sizeof(reuse));
    assert_int_equal(redo_mach_read_2(page + 101 - 2), rec);
    assert_memory_equal(page + rec, "qrstuvwxy", 9);
    assert_int_equal(redo_mach_read_2(page + 44), 0);
    assert_int_equal(redo_mach_read_2(page + 46), 0);

    uint8_t r[64];
    size_t n;
    static const uint8_t bad_size[] = {
        REDO_EXT_INSERT_HEAP_REDUNDANT, 0, (1 << 3) | 4, 0, 0, 9, 4, 'a'};
    n = put_rec(r, REDO_EXTENDED, false, 9, 11, bad_size, sizeof(bad_size));
    apply_recs(page, 11, r, n, IBS_E_INTEGRITY, "record size does not match");
    static const uint8_t dyn_on_old[] = {REDO_EXT_INSERT_HEAP_DYNAMIC, 0, 0, 0, 0, 1};
    n = put_rec(r, REDO_EXTENDED, false, 9, 11, dyn_on_old, sizeof(dyn_on_old));
    apply_recs(page, 11, r, n, IBS_E_INTEGRITY, "not a COMPACT/DYNAMIC page");
    redo_mach_write_2(page + 54, 0);
    n = put_rec(r, REDO_EXTENDED, false, 9, 11, del, sizeof(del));
    apply_recs(page, 11, r, n, IBS_E_INTEGRITY, "PAGE_N_RECS is 0");
    free(page);
}

static void test_undo(void **state)
{
    (void)state;
    uint8_t *page = malloc(PS);
    memset(page, 0x55, PS);
    static const uint8_t init[] = {REDO_EXT_UNDO_INIT};
    ext(page, 20, init, 1);
    assert_int_equal(redo_mach_read_2(page + FIL_PAGE_TYPE), FIL_PAGE_UNDO_LOG);
    assert_int_equal(redo_mach_read_2(page + 40), 56);
    assert_int_equal(redo_mach_read_2(page + 42), 56);
    assert_int_equal(redo_mach_read_4(page + 44), 0xffffffff);
    assert_int_equal(redo_mach_read_2(page + 48), 0);
    assert_int_equal(page[56], 0x55); /* segment header kept */
    assert_int_equal(page[86], 0);
    assert_int_equal(page[PS - 9], 0);

    static const uint8_t app[] = {REDO_EXT_UNDO_APPEND, 1, 2, 3, 4};
    ext(page, 20, app, sizeof(app));
    assert_int_equal(redo_mach_read_2(page + 42), 56 + 4 + 4);
    assert_int_equal(redo_mach_read_2(page + 56), 64);
    static const uint8_t body[] = {1, 2, 3, 4};
    assert_memory_equal(page + 58, body, 4);
    assert_int_equal(redo_mach_read_2(page + 62), 56);

    uint8_t r[64];
    size_t n = put_rec(r, REDO_EXTENDED, false, 9, 20, app, sizeof(app));
    redo_mach_write_2(page + 42, PS - 16);
    apply_recs(page, 20, r, n, IBS_E_INTEGRITY, "TRX_UNDO_PAGE_FREE out of range");
    redo_mach_write_2(page + 42, 10);
    apply_recs(page, 20, r, n, IBS_E_INTEGRITY, "UNDO_APPEND");
    free(page);
}

static void test_recv_events(void **state)
{
    (void)state;
    struct ibs_err err;
    assert_null(redo_recv_new(1000, &err));
    assert_int_equal(err.code, IBS_E_INTERNAL);
    struct redo_recv *recv = redo_recv_new(PS, &err);
    uint8_t r[128], pl[32];
    size_t n;

    /* FILE_CREATE, FILE_RENAME, FILE_DELETE. */
    n = put_rec(r, 0, false, 12, 0, (const uint8_t *)"./d/a.ibd", 9);
    r[0] |= 0x80;
    size_t n2 = put_rec(r + n, 0x20, false, 12, 0, (const uint8_t *)"./d/a.ibd\0./d/b.ibd", 19);
    r[n] |= 0x80;
    n += n2;
    uint64_t l = add_mtr(recv, 300000, r, n);
    n = put_rec(r, 0x10, false, 12, 0, (const uint8_t *)"./d/b.ibd", 9);
    r[0] |= 0x80;
    l = add_mtr(recv, l, r, n);
    size_t nev;
    const struct redo_file_event *ev = redo_recv_file_events(recv, &nev);
    assert_int_equal(nev, 3);
    assert_int_equal(ev[0].op, REDO_FILE_OP_CREATE);
    assert_string_equal(ev[0].name, "./d/a.ibd");
    assert_int_equal(ev[0].lsn, 300000);
    assert_int_equal(ev[1].op, REDO_FILE_OP_RENAME);
    assert_string_equal(ev[1].new_name, "./d/b.ibd");
    assert_int_equal(ev[2].op, REDO_FILE_OP_DELETE);
    assert_int_equal(ev[2].space_id, 12);

    /* Page 0 of space 3: a WRITE covering FSP_SIZE and FSP_SPACE_FLAGS; one
     * covering only 3 bytes of FSP_SIZE is not a size. */
    pl[0] = 46;
    redo_mach_write_4(pl + 1, 640);
    memset(pl + 5, 0, 4);
    redo_mach_write_4(pl + 9, 0x15);
    n = put_rec(r, REDO_WRITE, false, 3, 0, pl, 13);
    l = add_mtr(recv, l, r, n);
    pl[0] = 47;
    pl[1] = 9;
    pl[2] = 9;
    pl[3] = 9;
    n = put_rec(r, REDO_WRITE, false, 3, 0, pl, 4);
    l = add_mtr(recv, l, r, n);
    size_t ns;
    const struct redo_space_info *si = redo_recv_spaces(recv, &ns);
    assert_int_equal(ns, 1);
    assert_true(si[0].has_size && si[0].has_flags);
    assert_int_equal(si[0].size, 640);
    assert_int_equal(si[0].flags, 0x15);

    /* Records for pages 3:5 and 4:5, then TRIM_PAGES of space 3: space 3's
     * earlier records go, space 4's stay. */
    pl[0] = 100;
    pl[1] = 1;
    n = put_rec(r, REDO_WRITE, false, 3, 5, pl, 2);
    n += put_rec(r + n, REDO_WRITE, false, 4, 5, pl, 2);
    l = add_mtr(recv, l, r, n);
    size_t before = redo_recv_mem_used(recv);
    assert_true(before > 0);
    assert_non_null(redo_recv_page_find(recv, 3, 5));
    static const uint8_t trim[] = {REDO_EXT_TRIM_PAGES};
    n = put_rec(r, REDO_EXTENDED, false, 3, 640, trim, 1);
    uint64_t trim_lsn = l;
    l = add_mtr(recv, l, r, n);
    assert_null(redo_recv_page_find(recv, 3, 5));
    assert_non_null(redo_recv_page_find(recv, 4, 5));
    ev = redo_recv_file_events(recv, &nev);
    assert_int_equal(ev[nev - 1].op, REDO_FILE_OP_TRUNCATE);
    assert_int_equal(ev[nev - 1].space_id, 3);
    assert_int_equal(ev[nev - 1].size, 640);
    assert_int_equal(ev[nev - 1].lsn, trim_lsn);

    /* Many pages: the table grows, pages come back sorted. */
    for (uint32_t i = 0; i < 3000; i++) {
        n = put_rec(r, REDO_WRITE, false, 7 - (i % 3), 3000 - i, pl, 2);
        l = add_mtr(recv, l, r, n);
    }
    assert_true(redo_recv_mem_used(recv) > before);
    struct redo_recv_page *const *pages;
    size_t np;
    assert_int_equal(redo_recv_pages(recv, &pages, &np, &err), 0);
    assert_int_equal(np, 3001);
    assert_int_equal(redo_recv_page_count(recv), 3001);
    for (size_t i = 1; i < np; i++)
        assert_true(pages[i - 1]->space_id < pages[i]->space_id ||
                    (pages[i - 1]->space_id == pages[i]->space_id &&
                     pages[i - 1]->page_no < pages[i]->page_no));
    redo_recv_clear_pages(recv);
    assert_int_equal(redo_recv_page_count(recv), 0);
    assert_null(redo_recv_page_find(recv, 4, 5));
    assert_int_equal(redo_recv_pages(recv, &pages, &np, &err), 0);
    assert_int_equal(np, 0);
    redo_recv_file_events(recv, &nev);
    assert_int_equal(nev, 4); /* events survive a batch */

    /* A corrupt record is reported; encrypted logs are refused. */
    static const uint8_t reserved[] = {0x63, 0x00, 0x05, 0x01};
    memcpy(r, reserved, 4);
    size_t len = mtr_finish(r, 4);
    struct redo_log_geom g = geom_lap0();
    struct redo_mtr m;
    assert_int_equal(redo_mtr_scan(&g, r, len, l, &m), REDO_MTR_OK);
    assert_int_equal(redo_recv_add_mtr(recv, r, &m, g.format, &err), IBS_E_REDO);
    assert_non_null(strstr(err.msg, "unknown log record"));
    assert_int_equal(redo_recv_add_mtr(recv, r, &m, REDO_FORMAT_ENC_11, &err), IBS_E_REDO);
    assert_non_null(strstr(err.msg, "encrypted redo log is not supported yet"));
    redo_recv_free(recv);
    redo_recv_free(NULL);
}

int run_apply_tests(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_real_backup_one_batch),
        cmocka_unit_test(test_real_backup_batches),
        cmocka_unit_test(test_real_backup_refer),
        cmocka_unit_test(test_page_lsn_rule),
        cmocka_unit_test(test_init_free_memset_memmove),
        cmocka_unit_test(test_dynamic_insert_delete),
        cmocka_unit_test(test_redundant_insert_delete),
        cmocka_unit_test(test_undo),
        cmocka_unit_test(test_recv_events),
    };
    return cmocka_run_group_tests_name("redo_apply", tests, NULL, NULL);
}
