/* The redo tailer (engine/redo_tail.h) on synthetic ib_logfile0 files: what
 * it copies, where the durable LSN stops it, a torn mtr, the wrap of the
 * circular log, the check for log two laps newer, and buffered reads.
 * The stored frames are read back and compared byte for byte with the mtrs
 * written, whose end bytes the tailer stores as 1 (the lap-0 value). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include "../redo/redo_test.h"
#include "engine/frame.h"
#include "engine/redo_tail.h"
#include "io/codec.h"
#include "redo/log.h"
#include "redo/mtr.h"
#include "s3/store.h"

#define CAPACITY (1ull << 20)
#define FIRST_LSN 1000000ull
#define PREFIX "backups/t/redo"
#define FINISH_MS 2000u
#define TMPFS_MAGIC_NUMBER 0x01021994

/* A log file being written, its repository, the tailer reading it, and the
 * mtrs the tailer should copy (expect, from LSN expect_lsn, end bytes 1).
 * Each test's state: the teardown stops the tailer and removes the files when
 * an assertion ends the test early. */
struct logfile {
    char dir[PATH_MAX];
    char path[PATH_MAX + 32];
    char repo[PATH_MAX + 32];
    int fd;
    uint8_t *image; /* the whole file */
    uint64_t file_size;
    struct redo_log_geom geom;
    struct store *store;
    uint8_t *expect;
    size_t expect_len, expect_cap;
    uint64_t expect_lsn;
    struct eng_redo_tail *tail;
    atomic_bool cancel;
};

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    return remove(path);
}

static const char *tmp_base(void)
{
    const char *tmp = getenv("TMPDIR");
    return tmp && *tmp ? tmp : "/tmp";
}

/* 1 if the file system of dir refuses O_DIRECT, 0 if it takes it. */
static int direct_refused(const char *dir)
{
    char path[PATH_MAX + 32];
    snprintf(path, sizeof(path), "%s/ibs-direct-XXXXXX", dir);
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    fd = open(path, O_RDONLY | O_DIRECT);
    int refused = fd < 0 && errno == EINVAL;
    if (fd >= 0)
        close(fd);
    unlink(path);
    return refused;
}

static void log_pwrite(struct logfile *f, uint64_t off, size_t len)
{
    assert_int_equal(pwrite(f->fd, f->image + off, len, (off_t)off), (ssize_t)len);
}

/* Creates base/ibs-redo-tail-XXXXXX with an ib_logfile0 of capacity bytes of
 * log (header for FIRST_LSN, no checkpoint yet, the body stale bytes) and a
 * local repository. */
static void log_create(struct logfile *f, const char *base, uint64_t capacity)
{
    struct redo_log_header hdr;
    struct store_opts so = {0};
    struct ibs_err err;

    assert_null(f->image);
    memset(f, 0, sizeof(*f));
    f->fd = -1;
    atomic_init(&f->cancel, false);
    snprintf(f->dir, sizeof(f->dir), "%s/ibs-redo-tail-XXXXXX", base);
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->path, sizeof(f->path), "%s/ib_logfile0", f->dir);
    snprintf(f->repo, sizeof(f->repo), "%s/repo", f->dir);
    f->file_size = REDO_LOG_START_OFFSET + capacity;
    f->image = calloc(1, f->file_size);
    assert_non_null(f->image);
    uint32_t x = 2463534242u; /* xorshift32: old log of no valid shape */
    for (uint64_t i = REDO_LOG_START_OFFSET; i < f->file_size; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        f->image[i] = (uint8_t)x;
    }
    redo_log_header_init(&hdr, FIRST_LSN, "MariaDB 10.11.19");
    redo_log_header_write(&hdr, f->image);
    assert_int_equal(redo_log_geom_init(&f->geom, &hdr, f->file_size, &err), 0);
    f->fd = open(f->path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    assert_true(f->fd >= 0);
    log_pwrite(f, 0, f->file_size);
    so.url = f->repo;
    if (store_open(&so, &f->store, &err) != 0)
        fail_msg("store_open: %s", err.msg);
}

static void log_free(struct logfile *f)
{
    eng_redo_tail_abort(f->tail);
    store_close(f->store);
    if (f->image && f->fd >= 0)
        close(f->fd);
    if (f->dir[0])
        nftw(f->dir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
    free(f->image);
    free(f->expect);
    memset(f, 0, sizeof(*f));
}

static int setup(void **state)
{
    *state = calloc(1, sizeof(struct logfile));
    return *state ? 0 : -1;
}

static int teardown(void **state)
{
    log_free(*state);
    free(*state);
    return 0;
}

/* Writes checkpoint block 1 or 2 as the server does (the whole 4 KiB block). */
static void log_checkpoint(struct logfile *f, int block, uint64_t checkpoint_lsn, uint64_t end_lsn)
{
    uint64_t off = block == 1 ? REDO_LOG_CHECKPOINT_1 : REDO_LOG_CHECKPOINT_2;
    memset(f->image + off, 0, 4096);
    redo_log_checkpoint_write(checkpoint_lsn, end_lsn, f->image + off);
    log_pwrite(f, off, 4096);
}

/* Writes len bytes of log at lsn, continuing at offset 12288 past the end. */
static void log_write(struct logfile *f, uint64_t lsn, const uint8_t *bytes, size_t len)
{
    while (len > 0) {
        uint64_t off = redo_log_offset(&f->geom, lsn);
        size_t n = len < f->file_size - off ? len : (size_t)(f->file_size - off);
        memcpy(f->image + off, bytes, n);
        log_pwrite(f, off, n);
        lsn += n;
        bytes += n;
        len -= n;
    }
}

/* Writes one mtr (built with end byte 1) at lsn with the end byte its LSN
 * needs on disk, and adds it to what the tailer should copy. Returns the LSN
 * after it. */
static uint64_t log_put_mtr(struct logfile *f, uint64_t lsn, const uint8_t *mtr, size_t len)
{
    uint8_t *disk = malloc(len);
    assert_non_null(disk);
    memcpy(disk, mtr, len);
    size_t end_byte = len - 5;
    assert_int_equal(mtr[end_byte], 1);
    disk[end_byte] = redo_log_sequence_bit(&f->geom, lsn + end_byte);
    log_write(f, lsn, disk, len);
    free(disk);

    if (f->expect_len == 0)
        f->expect_lsn = lsn;
    assert_true(lsn == f->expect_lsn + f->expect_len);
    if (f->expect_len + len > f->expect_cap) {
        f->expect_cap = (f->expect_len + len) * 2;
        f->expect = realloc(f->expect, f->expect_cap);
        assert_non_null(f->expect);
    }
    memcpy(f->expect + f->expect_len, mtr, len);
    f->expect_len += len;
    return lsn + len;
}

/* An mtr of nrec WRITE records on one page, their sizes and bytes drawn from
 * seed; end byte 1. Returns its length (at most nrec * 206 + 5). */
static size_t build_mtr(uint8_t *buf, unsigned seed, unsigned nrec)
{
    size_t n = 0;
    for (unsigned r = 0; r < nrec; r++) {
        uint8_t payload[200];
        size_t plen = 3 + (seed * 37u + r * 11u) % 190;
        for (size_t i = 0; i < plen; i++)
            payload[i] = (uint8_t)(seed * 131u + r * 17u + i);
        n += put_rec(buf + n, REDO_WRITE, r > 0, 5, 100 + seed, payload, plen);
    }
    return mtr_finish(buf, n);
}

/* Writes the mtr build_mtr(seed, nrec) at lsn; returns the LSN after it. */
static uint64_t log_put(struct logfile *f, uint64_t lsn, unsigned seed, unsigned nrec)
{
    uint8_t buf[64 * 206 + 5];
    assert_true(nrec <= 64);
    return log_put_mtr(f, lsn, buf, build_mtr(buf, seed, nrec));
}

/* Starts a tailer on f; resume_lsn as an incremental passes its base's end. */
static struct eng_redo_tail *tail_start_at(struct logfile *f, uint32_t frame_bytes,
                                           uint64_t resume_lsn, struct eng_redo_tail_info *info)
{
    struct eng_redo_tail_opts opts = {.log_path = f->path,
                                      .store = f->store,
                                      .prefix = PREFIX,
                                      .compress_level = 1,
                                      .frame_bytes = frame_bytes,
                                      .page_size = 16384,
                                      .cancel = &f->cancel,
                                      .resume_lsn = resume_lsn};
    struct eng_redo_tail *t = NULL;
    struct ibs_err err;
    assert_null(f->tail);
    if (eng_redo_tail_start(&opts, &t, info, &err) != 0)
        fail_msg("eng_redo_tail_start: %s", err.msg);
    f->tail = t;
    assert_int_equal(info->format_id, REDO_LOG_FORMAT_10_8);
    assert_int_equal(info->first_lsn, FIRST_LSN);
    assert_int_equal(info->capacity, f->file_size - REDO_LOG_START_OFFSET);
    return t;
}

static struct eng_redo_tail *tail_start(struct logfile *f, uint32_t frame_bytes,
                                        struct eng_redo_tail_info *info)
{
    return tail_start_at(f, frame_bytes, 0, info);
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Polls (at most ms) until the tailer has copied through lsn; returns what it
 * has copied. */
static uint64_t wait_copied(struct eng_redo_tail *t, uint64_t lsn, unsigned ms)
{
    for (unsigned i = 0; i < ms && eng_redo_tail_lsn(t) < lsn; i++)
        sleep_ms(1);
    return eng_redo_tail_lsn(t);
}

static int count_object(void *ctx, const struct store_entry *entry)
{
    (*(size_t *)ctx)++;
    return 0;
}

static size_t objects_under(struct logfile *f, const char *prefix)
{
    size_t n = 0;
    struct ibs_err err;
    if (store_list(f->store, prefix, count_object, &n, &err) != 0)
        fail_msg("store_list: %s", err.msg);
    return n;
}

/* The outcome of eng_redo_tail_finish on success. */
struct copy {
    struct eng_frame_list frames;
    struct eng_pack_ref *packs;
    size_t pack_count;
    uint64_t end_lsn;
};

static void copy_free(struct copy *c)
{
    for (size_t i = 0; i < c->pack_count; i++)
        free(c->packs[i].key);
    free(c->packs);
    eng_frame_list_free(&c->frames);
}

/* Finishes f's tailer (which finish frees in every case). */
static void tail_finish_ok(struct logfile *f, uint64_t target, struct copy *c)
{
    struct eng_redo_tail *t = f->tail;
    struct ibs_err err;
    f->tail = NULL;
    memset(c, 0, sizeof(*c));
    if (eng_redo_tail_finish(t, target, FINISH_MS, &c->frames, &c->packs, &c->pack_count,
                             &c->end_lsn, &err) != 0)
        fail_msg("eng_redo_tail_finish: %s", err.msg);
    assert_int_equal(c->end_lsn, target);
}

/* Reads every stored frame back: one pack object, frames back to back in LSN
 * order from start_lsn, whose bytes are exactly f->expect. */
static void check_frames(struct logfile *f, const struct copy *c, uint64_t start_lsn)
{
    struct io_codec *codec;
    struct ibs_err err;
    struct store_stat st;

    assert_int_equal(c->pack_count, 1);
    assert_string_equal(c->packs[0].key, PREFIX ".0000");
    assert_int_equal(store_head(f->store, c->packs[0].key, &st, &err), 0);
    assert_int_equal(st.size, c->packs[0].size);
    assert_true(c->frames.count >= 1);
    assert_int_equal(start_lsn, f->expect_lsn);

    codec = io_codec_new(1, &err);
    assert_non_null(codec);
    uint8_t *got = malloc(f->expect_len ? f->expect_len : 1);
    assert_non_null(got);
    size_t got_len = 0;
    uint64_t pack_offset = 0;
    for (size_t i = 0; i < c->frames.count; i++) {
        const struct eng_frame_ref *ref = &c->frames.refs[i];
        struct eng_frame_header h;
        assert_int_equal(ref->pack, 0);
        assert_int_equal(ref->pack_offset, pack_offset);
        assert_int_equal(ref->offset, start_lsn + got_len);
        assert_true(ref->raw_len > 0 && got_len + ref->raw_len <= f->expect_len);
        uint8_t *frame = malloc(ref->frame_len);
        assert_non_null(frame);
        if (store_get_range(f->store, c->packs[0].key, ref->pack_offset, frame, ref->frame_len,
                            &err) != 0)
            fail_msg("store_get_range: %s", err.msg);
        if (eng_frame_decode(codec, frame, ref->frame_len, &h, got + got_len,
                             f->expect_len - got_len, &err) != 0)
            fail_msg("frame %zu: %s", i, err.msg);
        free(frame);
        assert_int_equal(h.kind, ENG_FRAME_REDO);
        assert_int_equal(h.offset, ref->offset);
        assert_int_equal(h.raw_len, ref->raw_len);
        assert_int_equal(h.xxh3, ref->xxh3);
        got_len += ref->raw_len;
        pack_offset += ref->frame_len;
    }
    assert_int_equal(pack_offset, c->packs[0].size);
    assert_int_equal(got_len, f->expect_len);
    assert_memory_equal(got, f->expect, f->expect_len);
    free(got);
    io_codec_free(codec);
}

/* 1. From a checkpoint (A, E) with its FILE_CHECKPOINT mtr at E: the log up to
 * E is copied at once (the durable LSN starts at the checkpoint's end), the
 * rest once durable, and finish ends exactly at the target. */
static void test_copies_from_checkpoint(void **state)
{
    struct logfile *f = *state;
    struct eng_redo_tail_info info;
    struct copy c;
    uint8_t ckpt_mtr[REDO_FILE_CHECKPOINT_MTR_SIZE];

    log_create(f, tmp_base(), CAPACITY);
    const uint64_t a = FIRST_LSN + 123457;
    uint64_t lsn = a;
    for (unsigned i = 0; lsn - a < 6000; i++)
        lsn = log_put(f, lsn, i, 1 + i % 4);
    const uint64_t e = lsn;
    redo_log_file_checkpoint_mtr(a, ckpt_mtr);
    lsn = log_put_mtr(f, lsn, ckpt_mtr, sizeof(ckpt_mtr));
    for (unsigned i = 0; i < 20; i++)
        lsn = log_put(f, lsn, 100 + i, 1 + i % 5);
    const uint64_t end = lsn;
    log_checkpoint(f, 1, a, e);

    /* A base that ended before the checkpoint: the copy starts there anyway. */
    struct eng_redo_tail *t = tail_start_at(f, 4096, a - 1000, &info);
    assert_int_equal(info.checkpoint_lsn, a);
    assert_int_equal(info.server_checkpoint_lsn, a);
    assert_false(info.resumed);
    assert_int_equal(info.checkpoint_end_lsn, e);
    assert_int_equal(wait_copied(t, e, 1000), e);
    eng_redo_tail_set_durable(t, end);
    tail_finish_ok(f, end, &c);
    check_frames(f, &c, a);
    /* The first window filled more than frame_bytes, so it became a frame. */
    assert_int_equal(c.frames.count, 2);
    assert_int_equal(c.frames.refs[0].raw_len, e - a);
    assert_int_equal(c.frames.refs[1].offset, e);
    copy_free(&c);
    assert_false(atomic_load(&f->cancel));
}

/* 1b. An incremental whose base ended at R, past the server's checkpoint A:
 * the copy starts at R (the log before it is the base's), and the checkpoint
 * group written later, at E past R, is copied as any other mtr. */
static void test_resumes_at_base_end(void **state)
{
    struct logfile *f = *state;
    struct eng_redo_tail_info info;
    struct copy c;
    uint8_t ckpt_mtr[REDO_FILE_CHECKPOINT_MTR_SIZE];

    log_create(f, tmp_base(), CAPACITY);
    const uint64_t a = FIRST_LSN + 98765;
    uint64_t lsn = a;
    for (unsigned i = 0; lsn - a < 3000; i++)
        lsn = log_put(f, lsn, i, 1 + i % 4);
    const uint64_t r = lsn;
    f->expect_len = 0; /* what the tailer must store starts here */
    for (unsigned i = 0; i < 12; i++)
        lsn = log_put(f, lsn, 50 + i, 1 + i % 3);
    const uint64_t e = lsn;
    redo_log_file_checkpoint_mtr(a, ckpt_mtr);
    lsn = log_put_mtr(f, lsn, ckpt_mtr, sizeof(ckpt_mtr));
    for (unsigned i = 0; i < 10; i++)
        lsn = log_put(f, lsn, 200 + i, 1 + i % 5);
    const uint64_t end = lsn;
    log_checkpoint(f, 1, a, e);

    struct eng_redo_tail *t = tail_start_at(f, 1 << 20, r, &info);
    assert_true(info.resumed);
    assert_int_equal(info.server_checkpoint_lsn, a);
    assert_int_equal(info.checkpoint_lsn, r);
    assert_int_equal(info.checkpoint_end_lsn, r);
    eng_redo_tail_set_durable(t, end);
    assert_int_equal(wait_copied(t, end, 1000), end);
    tail_finish_ok(f, end, &c);
    check_frames(f, &c, r);
    copy_free(&c);
    assert_false(atomic_load(&f->cancel));
}

/* 2. Valid mtrs follow in the file, but the tailer copies only through the
 * durable LSN, and not an mtr that ends past it. */
static void test_stops_at_durable(void **state)
{
    struct logfile *f = *state;
    struct eng_redo_tail_info info;
    struct copy c;
    uint64_t ends[8];

    log_create(f, tmp_base(), CAPACITY);
    const uint64_t a = FIRST_LSN + CAPACITY + 4321; /* lap 1: end bytes 0 on disk */
    uint64_t lsn = a;
    for (unsigned i = 0; i < 8; i++)
        ends[i] = lsn = log_put(f, lsn, 7 * i, 1 + i % 3);
    log_checkpoint(f, 1, a, a);

    struct eng_redo_tail *t = tail_start(f, 0, &info);
    sleep_ms(20);
    assert_int_equal(eng_redo_tail_lsn(t), a);

    eng_redo_tail_set_durable(t, ends[2]);
    assert_int_equal(wait_copied(t, ends[2], 1000), ends[2]);
    for (int i = 0; i < 50; i++) {
        sleep_ms(1);
        assert_int_equal(eng_redo_tail_lsn(t), ends[2]);
    }
    /* Durable inside the 4th mtr: it is not complete yet. */
    eng_redo_tail_set_durable(t, ends[2] + (ends[3] - ends[2]) / 2);
    for (int i = 0; i < 50; i++) {
        sleep_ms(1);
        assert_int_equal(eng_redo_tail_lsn(t), ends[2]);
    }
    struct ibs_err err;
    assert_int_equal(eng_redo_tail_failed(t, &err), 0);

    tail_finish_ok(f, ends[7], &c);
    check_frames(f, &c, a);
    copy_free(&c);
}

/* Durable log that does not read back whole yet (a block being rewritten):
 * the tailer copies up to the last complete mtr, retries without failing,
 * and goes on once the bytes are there. */
static void test_waits_for_torn_mtr(void **state)
{
    struct logfile *f = *state;
    struct eng_redo_tail_info info;
    struct ibs_err err;
    struct copy c;
    uint64_t ends[10];

    log_create(f, tmp_base(), CAPACITY);
    const uint64_t a = FIRST_LSN + 50000;
    uint64_t lsn = a;
    for (unsigned i = 0; i < 10; i++)
        ends[i] = lsn = log_put(f, lsn, 11 * i + 5, 2 + i % 3);
    log_checkpoint(f, 1, a, a);
    /* From the middle of the 7th mtr on, the file still holds zeros: the
     * records seem to end there, with the end byte of another lap. */
    const uint64_t torn = ends[5] + (ends[6] - ends[5]) / 2;
    const uint64_t off = redo_log_offset(&f->geom, torn);
    const size_t len = (size_t)(ends[9] - torn);
    uint8_t *old = calloc(1, len);
    assert_non_null(old);
    assert_int_equal(pwrite(f->fd, old, len, (off_t)off), (ssize_t)len);
    free(old);

    struct eng_redo_tail *t = tail_start(f, 0, &info);
    eng_redo_tail_set_durable(t, ends[9]);
    assert_int_equal(wait_copied(t, ends[5], 1000), ends[5]);
    for (int i = 0; i < 30; i++) {
        sleep_ms(1);
        assert_int_equal(eng_redo_tail_lsn(t), ends[5]);
    }
    assert_int_equal(eng_redo_tail_failed(t, &err), 0);
    log_pwrite(f, off, len);
    assert_int_equal(wait_copied(t, ends[9], 1000), ends[9]);
    tail_finish_ok(f, ends[9], &c);
    check_frames(f, &c, a);
    copy_free(&c);
}

/* Log from A, at a file offset that is not 4 KiB aligned near the end of the
 * circular area, through an mtr that straddles the end and on past offset
 * 12288, copied in one window. */
static void run_wrap(struct logfile *f, const char *base, uint64_t capacity)
{
    struct eng_redo_tail_info info;
    struct copy c;

    log_create(f, base, capacity);
    const uint64_t wrap = FIRST_LSN + 2 * capacity; /* lap 1 ends, lap 2 starts */
    const uint64_t a = wrap - 7777;
    assert_int_not_equal(redo_log_offset(&f->geom, a) % 4096, 0);
    assert_int_equal(redo_log_sequence_bit(&f->geom, a), 0);
    assert_int_equal(redo_log_sequence_bit(&f->geom, wrap), 1);

    uint64_t lsn = a;
    unsigned seed = 0;
    for (; lsn < wrap - 2500; seed++)
        lsn = log_put(f, lsn, seed, 1 + seed % 3);
    const uint64_t straddle = lsn;
    lsn = log_put(f, lsn, seed++, 40); /* about 4 KiB */
    assert_true(straddle < wrap && lsn > wrap + 1000);
    for (; lsn < wrap + 9000; seed++)
        lsn = log_put(f, lsn, seed, 1 + seed % 4);
    const uint64_t end = lsn;
    log_checkpoint(f, 2, a, a);

    struct eng_redo_tail *t = tail_start(f, 0, &info);
    assert_int_equal(info.checkpoint_lsn, a);
    eng_redo_tail_set_durable(t, end);
    tail_finish_ok(f, end, &c);
    check_frames(f, &c, a);
    copy_free(&c);
}

/* 3. The wrap, read with O_DIRECT where the file system takes it. */
static void test_wrap(void **state)
{
    if (direct_refused(tmp_base()))
        print_message("note: %s refuses O_DIRECT, the wrap is read through the page cache\n",
                      tmp_base());
    run_wrap(*state, tmp_base(), CAPACITY);
}

/* Starts the tailer on a checkpoint at A with nothing to copy; then, while it
 * runs, the server writes at A's offset log with A's sequence bit and a
 * checkpoint at new_checkpoint, and the log becomes durable. */
static void run_lapped(struct logfile *f, uint64_t new_checkpoint_off, bool overwritten)
{
    struct eng_redo_tail_info info;
    struct ibs_err err;

    log_create(f, tmp_base(), CAPACITY);
    const uint64_t a = FIRST_LSN + 3 * CAPACITY + 10000;
    const uint64_t new_checkpoint = a + new_checkpoint_off;
    log_checkpoint(f, 1, a, a);
    struct eng_redo_tail *t = tail_start(f, 0, &info);
    assert_int_equal(info.checkpoint_end_lsn, a);
    sleep_ms(5);
    assert_int_equal(eng_redo_tail_lsn(t), a);

    uint64_t lsn = a;
    for (unsigned i = 0; i < 12; i++)
        lsn = log_put(f, lsn, 3 * i + 1, 1 + i % 4);
    const uint64_t end = lsn;
    log_checkpoint(f, 2, new_checkpoint, new_checkpoint);
    eng_redo_tail_set_durable(t, end);

    if (!overwritten) {
        struct copy c;
        tail_finish_ok(f, end, &c);
        check_frames(f, &c, a);
        copy_free(&c);
        log_free(f); /* the control runs twice */
        return;
    }
    int rc = 0;
    for (int i = 0; i < 1000 && (rc = eng_redo_tail_failed(t, &err)) == 0; i++)
        sleep_ms(1);
    assert_int_equal(rc, IBS_E_REDO);
    assert_int_equal(eng_redo_tail_lsn(t), a);

    struct eng_frame_list frames = {0};
    struct eng_pack_ref *packs = NULL;
    size_t pack_count = 0;
    uint64_t end_lsn = 0;
    memset(&err, 0, sizeof(err));
    f->tail = NULL;
    rc = eng_redo_tail_finish(t, end, FINISH_MS, &frames, &packs, &pack_count, &end_lsn, &err);
    assert_int_equal(rc, IBS_E_REDO);
    assert_int_equal(err.code, IBS_E_REDO);
    assert_non_null(strstr(err.msg, "overwrote"));
    assert_non_null(strstr(err.msg, "innodb_log_file_size"));
    char where[128];
    snprintf(where, sizeof(where), "server checkpoint at LSN %llu, copy at %llu",
             (unsigned long long)new_checkpoint, (unsigned long long)a);
    if (!strstr(err.msg, where))
        fail_msg("expected \"%s\" in: %s", where, err.msg);
    assert_int_equal(pack_count, 0);
    assert_int_equal(frames.count, 0);
    assert_int_equal(objects_under(f, "backups/"), 0);
}

/* 4. Log two laps newer than the copy carries the same sequence bit and
 * passes every mtr check: the newer checkpoint gives it away. */
static void test_two_laps_newer(void **state)
{
    run_lapped(*state, 2 * CAPACITY + 100, true);
}

/* One byte past one capacity already lets the server overwrite A's log with
 * log of the same sequence bit. */
static void test_lapped_boundary(void **state)
{
    run_lapped(*state, CAPACITY + 1, true);
}

/* Controls: a checkpoint at most one capacity past A means the log at A's
 * offset is A's own or the next lap's (other sequence bit). */
static void test_one_lap_newer_ok(void **state)
{
    run_lapped(*state, CAPACITY, false);
    run_lapped(*state, 5000, false);
}

/* 5. On a file system that refuses O_DIRECT (tmpfs before Linux 6.6) the
 * tailer reads through the page cache. */
static void test_tmpfs_without_direct(void **state)
{
    struct statfs sfs;
    if (statfs("/dev/shm", &sfs) != 0 || sfs.f_type != TMPFS_MAGIC_NUMBER) {
        print_message("skipped: /dev/shm is not a tmpfs here\n");
        skip();
        return;
    }
    if (!direct_refused("/dev/shm")) {
        print_message("skipped: this kernel's tmpfs takes O_DIRECT, so the buffered fallback "
                      "cannot be reached this way (see the file size test)\n");
        skip();
        return;
    }
    run_wrap(*state, "/dev/shm", CAPACITY);
}

/* A file size that is not a multiple of 4 KiB makes the tailer read through
 * the page cache on any file system: the same wrap, buffered. */
static void test_unaligned_file_size(void **state)
{
    run_wrap(*state, tmp_base(), CAPACITY + 1000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_copies_from_checkpoint, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resumes_at_base_end, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stops_at_durable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_waits_for_torn_mtr, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_two_laps_newer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lapped_boundary, setup, teardown),
        cmocka_unit_test_setup_teardown(test_one_lap_newer_ok, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tmpfs_without_direct, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unaligned_file_size, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
