/* Fuzz target: a window of redo log bytes at a fixed LSN of a fixed log
 * geometry (the live fixture's: a 4 MiB ib_logfile0, first_lsn 12288; the
 * window at LSN 41900000, in lap 10 like the live tail's lap 6 an even one,
 * so real mtrs keep their end byte 1, and newer than every page of the apply
 * fixture, so their records are applied, not skipped), walked as the redo tailer and prepare do:
 * redo_mtr_scan() mtr by mtr, every record through the iterator, every mtr
 * into a redo_recv collector, then the collected pages applied to blank pages.
 *
 * Input: one mode byte, then the window.
 *   bit 0    re-frame: before scanning each mtr, write the end byte and the
 *            CRC-32C the records need, so mutated records get past the checksum
 *            and reach the record parser, the collector and apply
 *   bits 1-2 innodb_page_size: 16K, 4K, 8K, 64K
 *   bit 3    encrypted format (8-byte nonce; only the scanner accepts it)
 *
 * Pages the apply fixture holds (tests/fixtures/redo/apply_pages.bin.zst: real
 * pages of a backup, before its log was applied) start from their real bytes,
 * so records of real mtrs reach the index and undo algorithms; others start
 * blank. */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <zstd.h>

#include "fuzz_common.h"
#include "redo/apply.h"
#include "redo/log.h"
#include "redo/mtr.h"
#include "redo/recv.h"

#define FIXED_FIRST_LSN 12288u
#define FIXED_CAPACITY (4194304u - REDO_LOG_START_OFFSET)
#define FIXED_LSN 41900000u
#define MAX_MTRS 4096
#define MAX_APPLY_PAGES 64

static const uint32_t page_sizes[4] = {16384, 4096, 8192, 65536};

/* Writes the end byte and CRC of the mtr at buf as the server would, when the
 * record lengths lead to an end inside the window. */
static void reframe(const struct redo_log_geom *g, uint8_t *buf, size_t len, uint64_t lsn)
{
    const size_t nonce = redo_log_format_encrypted(g->format) ? 8 : 0;
    size_t p = 0;
    if (!len || buf[0] <= 1)
        return;
    while (p < len && buf[p] > 1) {
        uint32_t rlen = buf[p] & 0xf;
        p++;
        if (!rlen) {
            if (p >= len)
                return;
            unsigned ll = redo_varint_len(buf[p]);
            if (ll > 5 || len - p < ll)
                return;
            uint32_t add = redo_varint_decode(buf + p);
            if (add >= REDO_MTR_SIZE_MAX)
                return;
            rlen = add + 15;
        }
        if (len - p < rlen)
            return;
        p += rlen;
    }
    if (len - p < 5 + nonce)
        return;
    buf[p] = redo_log_sequence_bit(g, lsn + p);
    uint32_t crc = redo_crc32c(0, buf, p);
    if (nonce)
        crc = redo_crc32c(crc, buf + p + 1, nonce);
    redo_mach_write_4(buf + p + 1 + nonce, crc);
}

static bool within(const void *p, size_t n, const uint8_t *lo, const uint8_t *hi)
{
    const uint8_t *b = p;
    return n == 0 || (b >= lo && b <= hi && (size_t)(hi - b) >= n);
}

/* Every record of a valid mtr: pointers stay inside its record bytes. */
static void walk_records(const struct redo_mtr *m, const uint8_t *buf, enum redo_log_format format,
                         uint32_t page_size)
{
    struct redo_rec_iter it;
    struct redo_rec r;
    struct ibs_err err;
    const uint8_t *end = buf + m->records_len;

    if (redo_rec_iter_init(&it, m, buf, format, page_size, &err)) {
        FUZZ_CHECK(err.code != IBS_OK && err.msg[0]);
        return;
    }
    while (redo_rec_iter_more(&it)) {
        memset(&r, 0, sizeof(r));
        if (redo_rec_next(&it, &r, &err)) {
            FUZZ_CHECK(err.code == IBS_E_REDO && err.msg[0]);
            FUZZ_CHECK(!redo_rec_iter_more(&it));
            return;
        }
        FUZZ_CHECK(within(r.rec, r.rec_len, buf, end));
        FUZZ_CHECK(r.rec_len > 0);
        FUZZ_CHECK(within(r.payload, r.payload_len, buf, end));
        FUZZ_CHECK(within(r.data, r.data_len, buf, end));
        FUZZ_CHECK(within(r.name, r.name_len, buf, end));
        FUZZ_CHECK(within(r.new_name, r.new_name_len, buf, end));
        FUZZ_CHECK(r.lsn >= m->lsn && r.lsn < m->lsn + m->records_len);
        (void)redo_rec_type_name(r.type);
        if (r.type == REDO_EXTENDED)
            (void)redo_ext_type_name(r.subtype);
        if (r.type == REDO_WRITE || r.type == REDO_MEMSET || r.type == REDO_MEMMOVE) {
            FUZZ_CHECK(r.offset <= page_size && r.len <= page_size - r.offset);
            if (r.type == REDO_MEMMOVE)
                FUZZ_CHECK(r.src <= page_size && r.len <= page_size - r.src);
        }
    }
    FUZZ_CHECK(it.lsn == m->lsn + m->records_len);
}

struct fixture_page {
    uint32_t space_id, page_no, flags, ps;
    const uint8_t *raw;
};
static struct fixture_page fixture[512];
static size_t n_fixture;

/* Loads the apply fixture's pages once (missing fixture: blank pages only). */
static void load_fixture(void)
{
    static bool loaded;
    if (loaded)
        return;
    loaded = true;
    FILE *f = fopen(IBS_FUZZ_FIXTURES "/apply_pages.bin.zst", "rb");
    if (!f)
        return;
    static uint8_t z[1 << 20];
    size_t zlen = fread(z, 1, sizeof(z), f);
    fclose(f);
    unsigned long long n = ZSTD_getFrameContentSize(z, zlen);
    if (n == ZSTD_CONTENTSIZE_ERROR || n == ZSTD_CONTENTSIZE_UNKNOWN)
        return;
    uint8_t *blob = malloc(n); /* kept for the life of the process */
    if (!blob || ZSTD_decompress(blob, n, z, zlen) != n)
        return;
    for (size_t p = 0; p + 16 <= n && n_fixture < sizeof(fixture) / sizeof(fixture[0]);) {
        struct fixture_page *fp = &fixture[n_fixture++];
        fp->space_id = redo_mach_read_4(blob + p);
        fp->page_no = redo_mach_read_4(blob + p + 4);
        fp->flags = redo_mach_read_4(blob + p + 8);
        fp->ps = redo_mach_read_4(blob + p + 12);
        fp->raw = blob + p + 16;
        p += 16 + 2 * (size_t)fp->ps;
    }
}

static const struct fixture_page *fixture_page(uint32_t space_id, uint32_t page_no, uint32_t ps)
{
    for (size_t i = 0; i < n_fixture; i++)
        if (fixture[i].space_id == space_id && fixture[i].page_no == page_no && fixture[i].ps == ps)
            return &fixture[i];
    return NULL;
}

/* Applies what was collected to the fixture's pages, or to blank pages of a
 * full_crc32 tablespace. */
static void apply_pages(struct redo_recv *recv, uint32_t page_size)
{
    struct redo_recv_page *const *pages;
    size_t n;
    struct ibs_err err;
    uint32_t ssize = page_size == 4096 ? 3 : page_size == 8192 ? 4 : page_size == 16384 ? 5 : 7;
    uint32_t flags = 0x10 | ssize; /* FSP_FLAGS_FCRC32_MASK_MARKER | page ssize */

    if (redo_recv_pages(recv, &pages, &n, &err))
        return;
    uint8_t *page = malloc(page_size);
    if (!page)
        return;
    for (size_t i = 0; i < n && i < MAX_APPLY_PAGES; i++) {
        struct redo_apply_result res;
        FUZZ_CHECK(pages[i]->n_recs > 0);
        const struct fixture_page *fp =
            fixture_page(pages[i]->space_id, pages[i]->page_no, page_size);
        if (fp)
            memcpy(page, fp->raw, page_size);
        else
            memset(page, 0, page_size);
        if (redo_apply_page(pages[i], page, page_size, fp ? fp->flags : flags, &res, &err))
            FUZZ_CHECK(err.code != IBS_OK && err.msg[0]);
        FUZZ_CHECK(redo_recv_page_find(recv, pages[i]->space_id, pages[i]->page_no) == pages[i]);
    }
    free(page);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    load_fixture();
    if (size < 1)
        return 0;
    const uint8_t mode = data[0];
    const uint32_t page_size = page_sizes[(mode >> 1) & 3];
    const struct redo_log_geom g = {
        .first_lsn = FIXED_FIRST_LSN,
        .capacity = FIXED_CAPACITY,
        .format = (mode & 8) ? REDO_FORMAT_ENC_11 : REDO_FORMAT_10_8,
    };
    size_t len = size - 1;
    /* An exact-size copy: ASan sees any read past the window; re-framing writes. */
    uint8_t *buf = malloc(len ? len : 1);
    if (!buf)
        return 0;
    memcpy(buf, data + 1, len);

    struct ibs_err err;
    struct redo_recv *recv = redo_recv_new(page_size, &err);
    FUZZ_CHECK(recv);
    uint64_t lsn = FIXED_LSN;
    size_t p = 0;
    for (unsigned n = 0; n < MAX_MTRS; n++) {
        struct redo_mtr m;
        if (mode & 1)
            reframe(&g, buf + p, len - p, lsn);
        enum redo_mtr_status st = redo_mtr_scan(&g, buf + p, len - p, lsn, &m);
        if (st == REDO_MTR_END) {
            FUZZ_CHECK(m.end_reason != REDO_END_NONE);
            (void)redo_mtr_end_reason_name(m.end_reason);
            break;
        }
        if (st != REDO_MTR_OK) {
            FUZZ_CHECK(st == REDO_MTR_NEED_MORE);
            break;
        }
        FUZZ_CHECK(m.lsn == lsn && m.len <= len - p && m.records_len < m.len);
        FUZZ_CHECK(buf[p + redo_mtr_end_byte_offset(&m)] <= 1);
        walk_records(&m, buf + p, g.format, page_size);
        if (redo_recv_add_mtr(recv, buf + p, &m, g.format, &err)) {
            FUZZ_CHECK(err.code == IBS_E_REDO && err.msg[0]);
            break;
        }
        p += m.len;
        lsn += m.len;
    }

    size_t nev, nsp;
    const struct redo_file_event *ev = redo_recv_file_events(recv, &nev);
    for (size_t i = 0; i < nev; i++) {
        if (ev[i].name)
            FUZZ_CHECK(strlen(ev[i].name) < len);
        if (ev[i].new_name)
            FUZZ_CHECK(strlen(ev[i].new_name) < len);
    }
    (void)redo_recv_spaces(recv, &nsp);
    (void)redo_recv_mem_used(recv);
    apply_pages(recv, page_size);
    redo_recv_clear_pages(recv);
    FUZZ_CHECK(redo_recv_page_count(recv) == 0);
    redo_recv_free(recv);
    free(buf);
    return 0;
}
