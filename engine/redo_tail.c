/* The redo tailer (see redo_tail.h). */
#include "engine/redo_tail.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "engine/crypt.h"
#include "engine/frame.h"
#include "engine/pack.h"
#include "io/codec.h"
#include "io/queue.h"
#include "redo/log.h"
#include "redo/mtr.h"

#define WINDOW_MIN (64u << 10)
#define WINDOW_MAX (8u << 20)
/* A mini-transaction is at most 1 MiB of records plus its trailer (log0recv.h). */
#define MTR_MAX ((1u << 20) + 16)
#define IDLE_FLUSH_NS 200000000L
/* O_DIRECT reads are whole, aligned 4 KiB blocks: the log area starts at
 * 12288 and innodb_log_file_size is a multiple of 4 KiB. */
#define DIRECT_ALIGN 4096u
/* Buffers of copied mtrs: one being filled by the tailer, the others waiting
 * for or being stored by the storer thread. */
#define OUT_BUFFERS 3

struct redo_chunk {
    uint8_t *buf;
    size_t len;
    uint64_t lsn; /* of buf[0] */
};

struct eng_redo_tail {
    struct eng_redo_tail_opts opts;
    int fd;
    /* The log is read with O_DIRECT: the server writes it with O_DIRECT, and
     * a buffered read racing such a write can leave a stale block in the
     * page cache that every later read sees again. */
    bool direct;
    struct redo_log_geom geom;
    uint64_t file_size;
    struct eng_redo_tail_info info;

    pthread_t thread;
    bool running;
    atomic_bool quit; /* finish or abort asked the thread to end */
    atomic_bool done; /* the thread has ended */
    _Atomic uint64_t copied_lsn;
    _Atomic uint64_t target_lsn; /* stop once copied through this (0: keep going) */
    /* The server has written (and synced) its log up to here: bytes before it
     * are final. Past it, the block being written holds stale buffer contents
     * that may parse as complete, CRC-valid mtrs from another position, or a
     * half-written block (§1.7 of the format reference); copying one of those
     * misaligns the tailer for good. */
    _Atomic uint64_t durable_lsn;
    struct timespec started;

    /* Owned by the tailer thread until it ends. */
    uint8_t *window;
    uint8_t *head;          /* the file's first REDO_LOG_START_OFFSET bytes, re-read */
    struct redo_chunk *cur; /* being filled */
    uint8_t *out;           /* cur->buf: mtrs waiting to become a frame */
    size_t out_len, out_cap;
    uint64_t out_lsn;       /* LSN of out[0] */
    struct ibs_err failure; /* set by the thread before done */

    /* The storer thread compresses (and encrypts) chunks into frames and
     * appends them to the packs, so the tailer only reads and validates: the
     * two overlap. Owned by the storer until it ends. */
    struct redo_chunk chunks[OUT_BUFFERS];
    struct io_queue *ready; /* filled chunks, in LSN order */
    struct io_queue *idle;  /* chunks to fill */
    pthread_t storer;
    bool storer_running;
    struct eng_pack_writer *packs;
    struct io_codec *codec;
    struct eng_frame_list frames;
    uint8_t *frame;
    size_t frame_cap;
    atomic_bool store_failed;
    struct ibs_err store_failure; /* written before store_failed is set */
};

static double seconds_since(const struct timespec *t0)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - t0->tv_sec) + (double)(now.tv_nsec - t0->tv_nsec) / 1e9;
}

/* Stores one chunk as a redo frame (storer thread). */
static int store_chunk(struct eng_redo_tail *t, const struct redo_chunk *c, struct ibs_err *err)
{
    struct eng_frame_header h = {.kind = ENG_FRAME_REDO, .offset = c->lsn};
    size_t frame_len;
    int rc = eng_crypt_frame_encode(t->codec, t->opts.key, &h, c->buf, c->len, t->frame,
                                    t->frame_cap, &frame_len, err);
    if (rc)
        return rc;
    struct eng_frame_loc loc;
    rc = eng_pack_append(t->packs, t->frame, frame_len, &loc, err);
    if (rc)
        return ibs_err_wrap(err, "storing redo log");
    struct eng_frame_ref ref = {.pack = loc.pack,
                                .pack_offset = loc.offset,
                                .frame_len = (uint32_t)frame_len,
                                .offset = c->lsn,
                                .raw_len = (uint32_t)c->len,
                                .xxh3 = h.xxh3};
    return eng_frame_list_add(&t->frames, &ref, err);
}

static void *storer_main(void *arg)
{
    struct eng_redo_tail *t = arg;
    void *item;
    while (io_queue_pop(t->ready, &item) == IO_QUEUE_OK) {
        struct redo_chunk *c = item;
        struct ibs_err err;
        /* After a failure the chunks still go round, so the tailer never waits
         * for a buffer that does not come back. */
        if (!atomic_load(&t->store_failed) && store_chunk(t, c, &err) != 0) {
            t->store_failure = err;
            atomic_store(&t->store_failed, true);
            atomic_store(t->opts.cancel, true);
        }
        io_queue_push(t->idle, c);
    }
    return NULL;
}

/* Hands the filled buffer to the storer and takes an empty one (tailer thread). */
static int flush_out(struct eng_redo_tail *t, struct ibs_err *err)
{
    if (atomic_load(&t->store_failed)) {
        *err = t->store_failure;
        return err->code;
    }
    if (t->out_len == 0)
        return 0;
    t->cur->len = t->out_len;
    t->cur->lsn = t->out_lsn;
    void *next;
    if (io_queue_push(t->ready, t->cur) != IO_QUEUE_OK ||
        io_queue_pop(t->idle, &next) != IO_QUEUE_OK)
        return ibs_err_set(err, IBS_E_INTERNAL, "redo storer stopped");
    t->out_lsn += t->out_len;
    t->out_len = 0;
    t->cur = next;
    t->out = t->cur->buf;
    return 0;
}

/* Switches fd to buffered reads when the file system refuses O_DIRECT. */
static int stop_direct(struct eng_redo_tail *t, struct ibs_err *err)
{
    int flags = fcntl(t->fd, F_GETFL);
    if (flags < 0 || fcntl(t->fd, F_SETFL, flags & ~O_DIRECT) != 0)
        return ibs_err_sys(err, IBS_E_IO, errno, "read %s", t->opts.log_path);
    IBS_DEBUG("redo", "%s: O_DIRECT refused, reading through the page cache", t->opts.log_path);
    t->direct = false;
    return 0;
}

/* Reads want bytes of the circular log starting at lsn; *data points to the
 * first of them in the window. Direct reads start at the 4 KiB boundary below
 * lsn's offset and end at one above; since the file size and the start of the
 * log area are multiples of 4 KiB, the part after a wrap is aligned too. */
static int read_window(struct eng_redo_tail *t, uint64_t lsn, size_t want, const uint8_t **data,
                       struct ibs_err *err)
{
    uint64_t off = redo_log_offset(&t->geom, lsn);
    size_t head = t->direct ? (size_t)(off % DIRECT_ALIGN) : 0;
    uint64_t start = off - head;
    size_t total = head + want;
    if (t->direct)
        total = (total + DIRECT_ALIGN - 1) & ~(size_t)(DIRECT_ALIGN - 1);
    size_t first = total;
    if (start + first > t->file_size)
        first = (size_t)(t->file_size - start);
    size_t done = 0;
    while (done < total) {
        uint64_t at = done < first ? start + done : REDO_LOG_START_OFFSET + (done - first);
        size_t len = done < first ? first - done : total - done;
        ssize_t got = pread(t->fd, t->window + done, len, (off_t)at);
        if (got < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EINVAL && t->direct) {
                int rc = stop_direct(t, err);
                if (rc)
                    return rc;
                return read_window(t, lsn, want, data, err);
            }
            return ibs_err_sys(err, IBS_E_IO, errno, "read %s", t->opts.log_path);
        }
        if (got == 0)
            return ibs_err_set(err, IBS_E_REDO, "%s shrank while it was being read",
                               t->opts.log_path);
        done += (size_t)got;
    }
    *data = t->window + head;
    return 0;
}

/* The server has written the log past lsn, yet nothing valid was read there:
 * a buffered read that raced the server's O_DIRECT write of that block can
 * leave the old block in the page cache, and every later read would see it
 * again. Dropping the cached pages makes the next read go to the file. */
static void drop_cached(struct eng_redo_tail *t, uint64_t lsn, size_t want)
{
    if (t->direct)
        return;
    uint64_t off = redo_log_offset(&t->geom, lsn) & ~(uint64_t)4095;
    uint64_t len = want + 4096;
    if (off + len > t->file_size) {
        (void)posix_fadvise(t->fd, (off_t)off, (off_t)(t->file_size - off), POSIX_FADV_DONTNEED);
        len -= t->file_size - off;
        off = REDO_LOG_START_OFFSET;
    }
    (void)posix_fadvise(t->fd, (off_t)off, (off_t)len, POSIX_FADV_DONTNEED);
}

/* Proves that a window read at lsn held no log from two or more laps later:
 * such log has the same sequence bit as lsn's lap, so its mtrs would pass
 * every check. The server never writes more than the capacity past its latest
 * checkpoint; with a checkpoint read after the window at most one capacity
 * past lsn, the window can hold at most the next lap's log, which the
 * sequence bit and the CRC reject. After a longer stall (the process stopped,
 * starved of CPU) the checkpoint is further on, and the copy fails. */
static int check_not_lapped(struct eng_redo_tail *t, uint64_t lsn, struct ibs_err *err)
{
    struct redo_checkpoint ckpt;
    ssize_t got;
    do
        got = pread(t->fd, t->head, REDO_LOG_START_OFFSET, 0);
    while (got < 0 && errno == EINTR);
    if (got != (ssize_t)REDO_LOG_START_OFFSET)
        return ibs_err_sys(err, IBS_E_IO, got < 0 ? errno : EIO, "read %s", t->opts.log_path);
    int rc =
        redo_log_find_checkpoint(t->head, REDO_LOG_START_OFFSET, t->info.first_lsn, &ckpt, err);
    if (rc)
        return ibs_err_wrap(err, "%s", t->opts.log_path);
    if (ckpt.checkpoint_lsn <= lsn + t->geom.capacity)
        return 0;
    return ibs_err_set(err, IBS_E_REDO,
                       "the server overwrote redo log that was not copied yet (log capacity "
                       "%.1f MB; server checkpoint at LSN %llu, copy at %llu): set a larger "
                       "innodb_log_file_size, or lower --parallel or set a lower --throttle so "
                       "the page copy leaves the redo copy more I/O and CPU",
                       (double)t->geom.capacity / 1e6, (unsigned long long)ckpt.checkpoint_lsn,
                       (unsigned long long)lsn);
}

/* Copies the complete mtrs of [lsn, durable) that one window read holds
 * (at most WINDOW_MAX bytes) into the out buffers; *lsn advances past them.
 * Copies nothing when the log there does not parse yet: an mtr crossing
 * durable, or, read through the page cache, a stale block. */
static int copy_window(struct eng_redo_tail *t, uint64_t *lsn, uint64_t durable, size_t *copied,
                       struct ibs_err *err)
{
    uint64_t want = durable - *lsn;
    if (want > WINDOW_MAX)
        want = WINDOW_MAX;
    /* Two blocks of slack: a direct read is rounded out to whole blocks. */
    if (want > t->geom.capacity - 2 * DIRECT_ALIGN)
        want = t->geom.capacity - 2 * DIRECT_ALIGN;
    const uint8_t *window = NULL;
    int rc = read_window(t, *lsn, (size_t)want, &window, err);
    if (rc)
        return rc;
    size_t pos = 0;
    while (pos < want) {
        struct redo_mtr m;
        enum redo_mtr_status st =
            redo_mtr_scan(&t->geom, window + pos, (size_t)want - pos, *lsn + pos, &m);
        if (st != REDO_MTR_OK)
            break;
        if (t->out_len + m.len > t->out_cap && (rc = flush_out(t, err)) != 0)
            return rc;
        memcpy(t->out + t->out_len, window + pos, m.len);
        /* The backup log never wraps: every end byte is that of lap 0 (§5.5). */
        t->out[t->out_len + redo_mtr_end_byte_offset(&m)] = 1;
        t->out_len += m.len;
        pos += m.len;
    }
    if (pos > 0 && (rc = check_not_lapped(t, *lsn, err)) != 0)
        return rc;
    *lsn += pos;
    *copied = pos;
    return 0;
}

/* Reads only what the server has made durable (the monitor passes on
 * Innodb_lsn_flushed): past it there is nothing the tailer may copy, so
 * reading it would only load the disk the server writes to. */
static int tail_loop(struct eng_redo_tail *t, struct ibs_err *err)
{
    uint64_t lsn = t->info.checkpoint_lsn;
    struct timespec last_flush;
    int rc;

    clock_gettime(CLOCK_MONOTONIC, &last_flush);
    for (;;) {
        if (atomic_load(t->opts.cancel) && !atomic_load(&t->quit))
            return ibs_err_set(err, IBS_E_INTERRUPTED, "redo copy cancelled");
        const uint64_t durable = atomic_load(&t->durable_lsn);
        const uint64_t target = atomic_load(&t->target_lsn);
        const bool finishing = atomic_load(&t->quit);
        size_t copied = 0;
        if (durable > lsn) {
            if ((rc = copy_window(t, &lsn, durable, &copied, err)) != 0)
                return rc;
            atomic_store(&t->copied_lsn, lsn);
        }
        if (t->out_len >= t->opts.frame_bytes || (finishing && lsn >= target)) {
            if ((rc = flush_out(t, err)) != 0)
                return rc;
            clock_gettime(CLOCK_MONOTONIC, &last_flush);
        }
        if (finishing && (lsn >= target || target == 0))
            return 0;
        if (copied == 0) {
            if (durable > lsn)
                drop_cached(t, lsn, WINDOW_MIN);
            /* Caught up: store what waits after a while, then poll again. */
            if (t->out_len > 0 && seconds_since(&last_flush) * 1e9 > IDLE_FLUSH_NS) {
                if ((rc = flush_out(t, err)) != 0)
                    return rc;
                clock_gettime(CLOCK_MONOTONIC, &last_flush);
            }
            struct timespec pause = {0, (long)t->opts.poll_us * 1000L};
            nanosleep(&pause, NULL);
        }
    }
}

static void *tail_main(void *arg)
{
    struct eng_redo_tail *t = arg;
    struct ibs_err err;
    ibs_err_clear(&err);
    if (tail_loop(t, &err) != 0) {
        t->failure = err;
        if (err.code != IBS_E_INTERRUPTED)
            atomic_store(t->opts.cancel, true);
    }
    atomic_store(&t->done, true);
    return NULL;
}

/* Lets the storer store what is queued and end (after the tailer ended). */
static void stop_storer(struct eng_redo_tail *t)
{
    if (t->storer_running) {
        io_queue_close(t->ready);
        pthread_join(t->storer, NULL);
        t->storer_running = false;
    }
}

static void tail_free(struct eng_redo_tail *t)
{
    if (t->fd >= 0)
        close(t->fd);
    stop_storer(t);
    eng_pack_writer_abort(t->packs);
    io_codec_free(t->codec);
    eng_frame_list_free(&t->frames);
    free(t->window);
    free(t->head);
    for (int i = 0; i < OUT_BUFFERS; i++)
        free(t->chunks[i].buf);
    io_queue_free(t->ready);
    io_queue_free(t->idle);
    free(t->frame);
    free(t);
}

static int read_start(struct eng_redo_tail *t, struct ibs_err *err)
{
    _Alignas(DIRECT_ALIGN) uint8_t head[REDO_LOG_START_OFFSET];
    struct redo_log_header hdr;
    struct redo_checkpoint ckpt;
    struct stat st;
    int rc;

    t->fd = open(t->opts.log_path, O_RDONLY | O_CLOEXEC | O_DIRECT);
    t->direct = t->fd >= 0;
    if (t->fd < 0 && errno == EINVAL)
        t->fd = open(t->opts.log_path, O_RDONLY | O_CLOEXEC);
    if (t->fd < 0)
        return ibs_err_sys(err, IBS_E_IO, errno,
                           "open %s (run ibstream as the server's OS user or a member of its "
                           "group)",
                           t->opts.log_path);
    if (fstat(t->fd, &st) != 0)
        return ibs_err_sys(err, IBS_E_IO, errno, "stat %s", t->opts.log_path);
    if (st.st_size % DIRECT_ALIGN != 0 && t->direct && (rc = stop_direct(t, err)) != 0)
        return rc;
    ssize_t got = pread(t->fd, head, sizeof(head), 0);
    if (got < 0 && errno == EINVAL && t->direct) {
        if ((rc = stop_direct(t, err)) != 0)
            return rc;
        got = pread(t->fd, head, sizeof(head), 0);
    }
    if (got != (ssize_t)sizeof(head))
        return ibs_err_set(err, IBS_E_REDO, "%s is too short to be a redo log", t->opts.log_path);
    rc = redo_log_header_parse(head, sizeof(head), &hdr, err);
    if (!rc)
        rc = redo_log_find_checkpoint(head, sizeof(head), hdr.first_lsn, &ckpt, err);
    if (!rc)
        rc = redo_log_geom_init(&t->geom, &hdr, (uint64_t)st.st_size, err);
    if (rc)
        return ibs_err_wrap(err, "%s", t->opts.log_path);
    if (redo_log_format_encrypted(hdr.format))
        return ibs_err_set(err, IBS_E_SERVER,
                           "%s: the redo log is encrypted (innodb_encrypt_log=ON); ibstream "
                           "cannot back up encrypted redo logs yet",
                           t->opts.log_path);
    t->file_size = (uint64_t)st.st_size;
    t->info.format_id = head[0] << 24 | head[1] << 16 | head[2] << 8 | head[3];
    t->info.checkpoint_lsn = ckpt.checkpoint_lsn;
    t->info.server_checkpoint_lsn = ckpt.checkpoint_lsn;
    t->info.checkpoint_end_lsn = ckpt.end_lsn;
    t->info.capacity = t->geom.capacity;
    t->info.first_lsn = hdr.first_lsn;
    return 0;
}

int eng_redo_tail_start(const struct eng_redo_tail_opts *opts, struct eng_redo_tail **out,
                        struct eng_redo_tail_info *info, struct ibs_err *err)
{
    struct eng_redo_tail *t = calloc(1, sizeof(*t));
    int rc;
    if (!t)
        return ibs_err_set(err, IBS_E_INTERNAL, "out of memory");
    t->fd = -1;
    t->opts = *opts;
    if (!t->opts.frame_bytes)
        t->opts.frame_bytes = 4u << 20;
    if (!t->opts.poll_us)
        t->opts.poll_us = 1000;
    if ((rc = read_start(t, err)) != 0)
        goto fail;
    /* The checkpoint group may lie past resume_lsn (it is written at the
     * checkpoint's end_lsn, often long after its checkpoint_lsn): then it is
     * simply part of the copy. */
    if (opts->resume_lsn > t->info.checkpoint_lsn) {
        t->info.checkpoint_lsn = opts->resume_lsn;
        t->info.checkpoint_end_lsn = opts->resume_lsn;
        t->info.resumed = true;
    }
    t->out_cap = t->opts.frame_bytes + MTR_MAX;
    t->frame_cap = eng_frame_bound(t->out_cap);
    if (posix_memalign((void **)&t->window, DIRECT_ALIGN, WINDOW_MAX + 2 * DIRECT_ALIGN) != 0)
        t->window = NULL;
    if (posix_memalign((void **)&t->head, DIRECT_ALIGN, REDO_LOG_START_OFFSET) != 0)
        t->head = NULL;
    t->frame = malloc(t->frame_cap);
    bool buffers = t->window && t->head && t->frame;
    for (int i = 0; i < OUT_BUFFERS; i++)
        buffers = (t->chunks[i].buf = malloc(t->out_cap)) != NULL && buffers;
    if (!buffers) {
        rc = ibs_err_set(err, IBS_E_INTERNAL, "out of memory");
        goto fail;
    }
    if (!(t->ready = io_queue_new(OUT_BUFFERS, err)) ||
        !(t->idle = io_queue_new(OUT_BUFFERS, err))) {
        rc = err->code;
        goto fail;
    }
    t->cur = &t->chunks[0];
    t->out = t->cur->buf;
    for (int i = 1; i < OUT_BUFFERS; i++)
        io_queue_push(t->idle, &t->chunks[i]);
    if (!(t->codec = io_codec_new(opts->compress_level, err))) {
        rc = err->code;
        goto fail;
    }
    if ((rc = eng_pack_writer_new(opts->store, opts->prefix,
                                  opts->pack_size ? opts->pack_size : ENG_PACK_SIZE_DEFAULT,
                                  &t->packs, err)) != 0)
        goto fail;
    t->out_lsn = t->info.checkpoint_lsn;
    atomic_init(&t->copied_lsn, t->info.checkpoint_lsn);
    atomic_init(&t->target_lsn, 0);
    /* Durable for sure: the checkpoint's record, or the base's end. */
    atomic_init(&t->durable_lsn, t->info.checkpoint_end_lsn > t->info.checkpoint_lsn
                                     ? t->info.checkpoint_end_lsn
                                     : t->info.checkpoint_lsn);
    atomic_init(&t->quit, false);
    atomic_init(&t->done, false);
    ibs_err_clear(&t->failure);
    atomic_init(&t->store_failed, false);
    clock_gettime(CLOCK_MONOTONIC, &t->started);
    if (pthread_create(&t->storer, NULL, storer_main, t) != 0) {
        rc = ibs_err_set(err, IBS_E_INTERNAL, "cannot start the redo storer thread");
        goto fail;
    }
    t->storer_running = true;
    if (pthread_create(&t->thread, NULL, tail_main, t) != 0) {
        rc = ibs_err_set(err, IBS_E_INTERNAL, "cannot start the redo tailer thread");
        goto fail;
    }
    t->running = true;
    *info = t->info;
    *out = t;
    return 0;
fail:
    tail_free(t);
    return rc;
}

void eng_redo_tail_set_durable(struct eng_redo_tail *t, uint64_t lsn)
{
    uint64_t was = atomic_load(&t->durable_lsn);
    while (lsn > was && !atomic_compare_exchange_weak(&t->durable_lsn, &was, lsn))
        ;
}

int eng_redo_tail_failed(struct eng_redo_tail *t, struct ibs_err *err)
{
    if (t && atomic_load(&t->store_failed)) {
        *err = t->store_failure;
        return err->code;
    }
    if (!t || !atomic_load(&t->done) || !t->failure.code)
        return 0;
    *err = t->failure;
    return err->code;
}

uint64_t eng_redo_tail_lsn(struct eng_redo_tail *t)
{
    return atomic_load(&t->copied_lsn);
}

double eng_redo_tail_rate(struct eng_redo_tail *t)
{
    double secs = seconds_since(&t->started);
    uint64_t copied = atomic_load(&t->copied_lsn) - t->info.checkpoint_lsn;
    return secs > 0 ? (double)copied / secs : 0;
}

static void stop_thread(struct eng_redo_tail *t)
{
    if (t->running) {
        pthread_join(t->thread, NULL);
        t->running = false;
    }
}

int eng_redo_tail_finish(struct eng_redo_tail *t, uint64_t target_lsn, unsigned timeout_ms,
                         struct eng_frame_list *frames, struct eng_pack_ref **packs,
                         size_t *pack_count, uint64_t *end_lsn, struct ibs_err *err)
{
    int rc = 0;
    eng_redo_tail_set_durable(t, target_lsn);
    atomic_store(&t->target_lsn, target_lsn);
    IBS_DEBUG("redo", "finishing the copy: at LSN %llu, target %llu",
              (unsigned long long)atomic_load(&t->copied_lsn), (unsigned long long)target_lsn);
    atomic_store(&t->quit, true);
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    /* A cancel (an interrupt, or the monitor seeing the log overwritten)
     * ends the wait: the copy cannot succeed any more. */
    while (!atomic_load(&t->done) && !atomic_load(t->opts.cancel) &&
           seconds_since(&t0) * 1000 < timeout_ms) {
        struct timespec pause = {0, 2000000L};
        nanosleep(&pause, NULL);
    }
    if (!atomic_load(&t->done) && atomic_load(t->opts.cancel)) {
        atomic_store(&t->target_lsn, 0); /* let the thread end now */
        stop_thread(t);
        stop_storer(t);
        rc = eng_redo_tail_failed(t, err);
        if (!rc)
            rc = ibs_err_set(err, IBS_E_INTERRUPTED, "redo copy cancelled");
        tail_free(t);
        return rc;
    }
    if (!atomic_load(&t->done)) {
        uint64_t at = atomic_load(&t->copied_lsn);
        IBS_ERROR("redo", "copy stuck at LSN %llu (target %llu, durable %llu, file offset %llu)",
                  (unsigned long long)at, (unsigned long long)target_lsn,
                  (unsigned long long)atomic_load(&t->durable_lsn),
                  (unsigned long long)redo_log_offset(&t->geom, at));
        atomic_store(&t->target_lsn, 0); /* let the thread end now */
        stop_thread(t);
        rc = ibs_err_set(err, IBS_E_REDO,
                         "the redo log was copied only up to LSN %llu, not to the backup's end "
                         "LSN %llu, within %u s: the log at that position is unreadable or was "
                         "overwritten (try a larger innodb_log_file_size)",
                         (unsigned long long)at, (unsigned long long)target_lsn, timeout_ms / 1000);
        tail_free(t);
        return rc;
    }
    stop_thread(t);
    stop_storer(t);
    if ((rc = eng_redo_tail_failed(t, err)) != 0) {
        tail_free(t);
        return rc;
    }
    struct eng_pack_info *info = NULL;
    size_t count = 0;
    struct eng_pack_writer *pw = t->packs;
    t->packs = NULL;
    rc = eng_pack_writer_finish(pw, &info, &count, err);
    if (rc) {
        tail_free(t);
        return rc;
    }
    *packs = calloc(count ? count : 1, sizeof(**packs));
    if (!*packs) {
        eng_pack_info_free(info, count);
        tail_free(t);
        return ibs_err_set(err, IBS_E_INTERNAL, "out of memory");
    }
    for (size_t i = 0; i < count; i++) {
        (*packs)[i].key = info[i].key;
        (*packs)[i].size = info[i].size;
        info[i].key = NULL;
    }
    eng_pack_info_free(info, count);
    *pack_count = count;
    *frames = t->frames;
    memset(&t->frames, 0, sizeof(t->frames));
    *end_lsn = atomic_load(&t->copied_lsn);
    tail_free(t);
    return 0;
}

void eng_redo_tail_abort(struct eng_redo_tail *t)
{
    if (!t)
        return;
    atomic_store(&t->target_lsn, 0);
    atomic_store(&t->quit, true);
    stop_thread(t);
    tail_free(t);
}
