/* Restore: fetching frames in spans (runs of frames adjacent in one object,
 * one ranged read each) on fetcher threads while decoder threads verify,
 * decompress and write the spans that have arrived (see restore_int.h).
 *
 * One ranged read per frame costs a request per MiB of data, and an object
 * store (or its emulator) spends more time on a request than on its bytes;
 * reading a batch, then decoding it, then writing it leaves the network idle
 * while the CPU works and the CPU idle while the network does. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/crypt.h"
#include "engine/frame.h"
#include "engine/restore_int.h"
#include "io/codec.h"
#include "io/queue.h"
#include "io/ring.h"
#include "s3/store.h"

#define SPAN_MAX (8u << 20)      /* bytes of one ranged read (unless one frame is larger) */
#define SPAN_GAP_MAX (64u << 10) /* unused bytes between two frames read in one span */
#define FETCHERS_DEFAULT 4       /* ranged reads in flight, unless the options say */
#define FETCHERS_MAX 64
#define DECODERS_MAX 8
#define SPARSE_BLOCK 4096        /* all-zero blocks of a byte frame are left as holes */

/* One frame to restore. */
struct item {
    const struct eng_frame_ref *ref;
    const char *key; /* the object holding it */
    size_t out;      /* index into the pass's outs */
};

/* Frames [first, first + count) of the sorted items, read as bytes
 * [offset, offset + len) of key into buf. */
struct span {
    const char *key;
    uint64_t offset;
    size_t len;
    size_t first, count;
    uint8_t *buf;
};

struct pass {
    struct restorer *r;
    const struct restore_out *outs;
    struct item *items;
    size_t n_items;
    struct span *spans;
    size_t n_spans;
    size_t buf_cap, raw_cap;
    struct io_queue *free_bufs; /* span buffers not in use */
    struct io_queue *ready;     /* fetched spans, for the decoders */

    pthread_mutex_t lock; /* guards everything below */
    size_t next_span;
    unsigned fetchers_left;
    bool failed;
    struct ibs_err err;
};

struct decoder {
    struct pass *p;
    struct io_codec *codec;
    uint8_t *raw;
    uint64_t frames, bytes;
};

static void fail(struct pass *p, const struct ibs_err *err)
{
    pthread_mutex_lock(&p->lock);
    if (!p->failed) {
        p->failed = true;
        p->err = *err;
    }
    pthread_mutex_unlock(&p->lock);
    /* Fetchers waiting for a buffer wake up and stop. */
    io_queue_close(p->free_bufs);
}

static bool stopping(struct pass *p)
{
    pthread_mutex_lock(&p->lock);
    bool failed = p->failed;
    pthread_mutex_unlock(&p->lock);
    if (!failed && p->r->opts->cancel && atomic_load(p->r->opts->cancel)) {
        struct ibs_err err;
        ibs_err_set(&err, IBS_E_INTERRUPTED, "restore interrupted");
        fail(p, &err);
        failed = true;
    }
    return failed;
}

static int write_all(int fd, const uint8_t *buf, size_t len, uint64_t offset, const char *what,
                     struct ibs_err *err)
{
    while (len > 0) {
        ssize_t n = pwrite(fd, buf, len, (off_t)offset);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            int e = n < 0 ? errno : EIO;
            return ibs_err_sys(err, io_errno_code(e), e, "write %s at offset %" PRIu64, what,
                               offset);
        }
        buf += n;
        len -= (size_t)n;
        offset += (uint64_t)n;
    }
    return 0;
}

static bool block_is_zero(const uint8_t *p, size_t n)
{
    return p[0] == 0 && memcmp(p, p + 1, n - 1) == 0;
}

/* Writes the runs of buf that are not all-zero blocks, so a new file keeps
 * holes where free pages were (the size is set when the file is finished). */
static int write_sparse(int fd, const uint8_t *buf, size_t len, uint64_t offset, const char *what,
                        struct ibs_err *err)
{
    size_t at = 0;
    while (at < len) {
        size_t n = len - at < SPARSE_BLOCK ? len - at : SPARSE_BLOCK;
        if (block_is_zero(buf + at, n)) {
            at += n;
            continue;
        }
        size_t end = at + n;
        while (end < len) {
            size_t m = len - end < SPARSE_BLOCK ? len - end : SPARSE_BLOCK;
            if (block_is_zero(buf + end, m))
                break;
            end += m;
        }
        int rc = write_all(fd, buf + at, end - at, offset + at, what, err);
        if (rc)
            return rc;
        at = end;
    }
    return 0;
}

/* Writes one decoded frame: a byte frame at its offset (minus base, plus
 * shift: the log), a page frame page by page at index x page size. */
static int write_frame(const struct restore_out *out, const struct eng_frame_header *h,
                       const uint8_t *raw, struct ibs_err *err)
{
    if (h->kind != ENG_FRAME_PAGES) {
        uint64_t at = h->offset - out->base + (uint64_t)out->shift;
        int rc = write_sparse(out->fd, raw, h->raw_len, at, out->what, err);
        /* Start writing the range back now, while the rest downloads, rather
         * than leave a whole backup of dirty pages to the final fsync. Only a
         * hint: a write-back error is reported by that fsync. */
        if (!rc)
            (void)sync_file_range(out->fd, (off_t)at, (off_t)h->raw_len, SYNC_FILE_RANGE_WRITE);
        return rc;
    }
    size_t entry = 4 + (size_t)h->page_size;
    if (h->page_size < 1024 || h->raw_len % entry)
        return ibs_err_set(err, IBS_E_INTEGRITY, "page frame with a bad page size %u",
                           h->page_size);
    for (size_t at = 0; at < h->raw_len; at += entry) {
        uint32_t index = (uint32_t)raw[at] << 24 | (uint32_t)raw[at + 1] << 16 |
                         (uint32_t)raw[at + 2] << 8 | raw[at + 3];
        int rc = write_all(out->fd, raw + at + 4, h->page_size, (uint64_t)index * h->page_size,
                           out->what, err);
        if (rc)
            return rc;
    }
    return 0;
}

/* Verifies, decodes and writes every frame of a fetched span. */
static int decode_span(struct decoder *d, const struct span *s, struct ibs_err *err)
{
    struct pass *p = d->p;
    for (size_t k = s->first; k < s->first + s->count; k++) {
        const struct item *it = &p->items[k];
        const struct eng_frame_ref *ref = it->ref;
        const struct restore_out *out = &p->outs[it->out];
        struct eng_frame_header h;
        int rc = eng_crypt_frame_decode(d->codec, it->key, s->buf + (ref->pack_offset - s->offset),
                                        ref->frame_len, &h, d->raw, p->raw_cap, err);
        if (!rc && (h.offset != ref->offset || h.raw_len != ref->raw_len || h.xxh3 != ref->xxh3))
            rc = ibs_err_set(err, IBS_E_INTEGRITY,
                             "frame header does not match the manifest (offset %" PRIu64
                             " vs %" PRIu64 ")",
                             h.offset, ref->offset);
        if (!rc)
            rc = write_frame(out, &h, d->raw, err);
        if (rc)
            return ibs_err_wrap(err, "%s: object %s offset %" PRIu64 " (file offset %" PRIu64 ")",
                                out->what, it->key, ref->pack_offset, ref->offset);
        d->frames++;
        d->bytes += h.raw_len;
    }
    return 0;
}

static void *decoder_main(void *arg)
{
    struct decoder *d = arg;
    struct pass *p = d->p;
    void *item;
    while (io_queue_pop(p->ready, &item) == IO_QUEUE_OK) {
        struct span *s = item;
        struct ibs_err err;
        ibs_err_clear(&err);
        if (!stopping(p) && decode_span(d, s, &err) != 0)
            fail(p, &err);
        io_queue_push(p->free_bufs, s->buf); /* closed after a failure: then dropped */
        s->buf = NULL;
    }
    return NULL;
}

static void *fetcher_main(void *arg)
{
    struct pass *p = arg;
    for (;;) {
        pthread_mutex_lock(&p->lock);
        size_t i = p->failed ? p->n_spans : p->next_span++;
        pthread_mutex_unlock(&p->lock);
        if (i >= p->n_spans || stopping(p))
            break;
        void *buf;
        if (io_queue_pop(p->free_bufs, &buf) != IO_QUEUE_OK || stopping(p))
            break;
        struct span *s = &p->spans[i];
        struct ibs_err err;
        ibs_err_clear(&err);
        if (store_get_range(p->r->opts->store, s->key, s->offset, buf, s->len, &err) != 0) {
            fail(p, &err);
            break;
        }
        s->buf = buf;
        io_queue_push(p->ready, s); /* never full: it has room for every buffer */
    }
    pthread_mutex_lock(&p->lock);
    bool last = --p->fetchers_left == 0;
    pthread_mutex_unlock(&p->lock);
    if (last)
        io_queue_close(p->ready); /* the decoders finish what is queued, then stop */
    return NULL;
}

static int cmp_items(const void *a, const void *b)
{
    const struct item *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    if (c)
        return c;
    if (x->ref->pack_offset != y->ref->pack_offset)
        return x->ref->pack_offset < y->ref->pack_offset ? -1 : 1;
    return 0;
}

/* The items of every file in object order, and the spans that read them. */
static int plan(struct pass *p, size_t n, struct ibs_err *err)
{
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += p->outs[i].count;
    p->items = calloc(total ? total : 1, sizeof(*p->items));
    p->spans = calloc(total ? total : 1, sizeof(*p->spans));
    if (!p->items || !p->spans)
        return ibs_err_set(err, IBS_E_INTERNAL, "out of memory");
    for (size_t i = 0; i < n; i++) {
        const struct restore_out *out = &p->outs[i];
        for (size_t k = 0; k < out->count; k++) {
            const struct eng_frame_ref *ref = out->refs[k];
            if (ref->pack >= out->pack_count)
                return ibs_err_set(err, IBS_E_INTEGRITY, "%s: frame refers to a missing pack",
                                   out->what);
            if (ref->raw_len > ENG_FRAME_MAX_RAW || ref->frame_len < ENG_FRAME_HEADER_SIZE ||
                ref->frame_len > eng_frame_bound(ENG_FRAME_MAX_RAW))
                return ibs_err_set(err, IBS_E_INTEGRITY,
                                   "%s: frame larger than any frame ibstream writes", out->what);
            p->items[p->n_items++] = (struct item){ref, out->packs[ref->pack].key, i};
            if (ref->raw_len > p->raw_cap)
                p->raw_cap = ref->raw_len;
        }
    }
    qsort(p->items, p->n_items, sizeof(*p->items), cmp_items);
    p->buf_cap = SPAN_MAX;
    for (size_t k = 0; k < p->n_items; k++) {
        const struct eng_frame_ref *ref = p->items[k].ref;
        struct span *s = p->n_spans ? &p->spans[p->n_spans - 1] : NULL;
        uint64_t end = s ? s->offset + s->len : 0;
        if (s && strcmp(s->key, p->items[k].key) == 0 && ref->pack_offset >= end &&
            ref->pack_offset - end <= SPAN_GAP_MAX &&
            ref->pack_offset + ref->frame_len - s->offset <= SPAN_MAX) {
            s->len = (size_t)(ref->pack_offset + ref->frame_len - s->offset);
            s->count++;
            continue;
        }
        p->spans[p->n_spans++] = (struct span){.key = p->items[k].key,
                                               .offset = ref->pack_offset,
                                               .len = ref->frame_len,
                                               .first = k,
                                               .count = 1};
        if (ref->frame_len > p->buf_cap)
            p->buf_cap = ref->frame_len;
    }
    return 0;
}

static unsigned decoder_count(void)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    if (cpus < 1)
        return 1;
    return cpus > DECODERS_MAX ? DECODERS_MAX : (unsigned)cpus;
}

int restore_pass(struct restorer *r, struct restore_out *outs, size_t n,
                 restore_open_fn *open_files, void *ctx, struct ibs_err *err)
{
    struct pass p = {.r = r, .outs = outs};
    struct decoder decoders[DECODERS_MAX];
    pthread_t dthreads[DECODERS_MAX], fthreads[FETCHERS_MAX];
    uint8_t **bufs = NULL;
    size_t n_bufs = 0, n_dec = 0, n_dthreads = 0, n_fthreads = 0;
    int rc;

    memset(decoders, 0, sizeof(decoders));
    pthread_mutex_init(&p.lock, NULL);
    if ((rc = plan(&p, n, err)) != 0)
        goto out;
    if (p.n_spans == 0) { /* files without frames are still created */
        rc = open_files ? open_files(ctx, outs, n, err) : 0;
        goto out;
    }
    /* As many span buffers as the memory bound allows, but one per thread at
     * least (more fetchers were asked for: they need somewhere to read to);
     * never more than there are spans, nor more than keep every thread busy
     * twice. */
    unsigned want_dec = decoder_count();
    unsigned fetchers = r->opts->fetchers ? r->opts->fetchers : FETCHERS_DEFAULT;
    if (fetchers > FETCHERS_MAX)
        fetchers = FETCHERS_MAX;
    size_t want = r->batch_cap / p.buf_cap;
    if (want > 2 * (fetchers + want_dec))
        want = 2 * (fetchers + want_dec);
    if (want < fetchers + want_dec)
        want = fetchers + want_dec;
    if (want > p.n_spans)
        want = p.n_spans;
    if (want_dec > p.n_spans)
        want_dec = (unsigned)p.n_spans;
    bufs = calloc(want, sizeof(*bufs));
    if (!bufs || !(p.free_bufs = io_queue_new(want, err)) || !(p.ready = io_queue_new(want, err))) {
        rc = bufs ? (int)err->code : ibs_err_set(err, IBS_E_INTERNAL, "out of memory");
        goto out;
    }
    for (; n_bufs < want; n_bufs++) {
        if (!(bufs[n_bufs] = malloc(p.buf_cap))) {
            rc = ibs_err_set(err, IBS_E_INTERNAL, "out of memory");
            goto out;
        }
        io_queue_push(p.free_bufs, bufs[n_bufs]);
    }
    for (; n_dec < want_dec; n_dec++) {
        struct decoder *d = &decoders[n_dec];
        d->p = &p;
        d->raw = malloc(p.raw_cap ? p.raw_cap : 1);
        if (!d->raw || !(d->codec = io_codec_new(1, err))) {
            rc = d->raw ? (int)err->code : ibs_err_set(err, IBS_E_INTERNAL, "out of memory");
            free(d->raw);
            d->raw = NULL;
            goto out;
        }
    }

    /* fetchers_left counts the fetchers and, until they are all started,
     * this thread: the ready queue is closed when the count drops to 0. */
    unsigned want_fetch = p.n_spans < fetchers ? (unsigned)p.n_spans : fetchers;
    p.fetchers_left = 1;
    for (; n_fthreads < want_fetch; n_fthreads++) {
        pthread_mutex_lock(&p.lock);
        p.fetchers_left++;
        pthread_mutex_unlock(&p.lock);
        if (pthread_create(&fthreads[n_fthreads], NULL, fetcher_main, &p) != 0) {
            pthread_mutex_lock(&p.lock);
            p.fetchers_left--;
            pthread_mutex_unlock(&p.lock);
            break;
        }
    }
    if (n_fthreads == 0) {
        struct ibs_err terr;
        ibs_err_set(&terr, IBS_E_INTERNAL, "restore: cannot start a fetching thread");
        fail(&p, &terr);
    }
    pthread_mutex_lock(&p.lock);
    bool last = --p.fetchers_left == 0;
    pthread_mutex_unlock(&p.lock);
    if (last)
        io_queue_close(p.ready);
    /* The files are opened while the first reads are under way. */
    if (open_files) {
        struct ibs_err oerr;
        ibs_err_clear(&oerr);
        if (open_files(ctx, outs, n, &oerr) != 0)
            fail(&p, &oerr);
    }
    /* Decoders 1..n_dec-1 on threads, decoder 0 on this one. */
    for (size_t i = 1; i < n_dec; i++) {
        if (pthread_create(&dthreads[n_dthreads], NULL, decoder_main, &decoders[i]) != 0)
            break;
        n_dthreads++;
    }
    decoder_main(&decoders[0]);
    for (size_t i = 0; i < n_fthreads; i++)
        pthread_join(fthreads[i], NULL);
    for (size_t i = 0; i < n_dthreads; i++)
        pthread_join(dthreads[i], NULL);
    if (p.failed) {
        *err = p.err;
        rc = err->code;
    }
    for (size_t i = 0; i < n_dec; i++) {
        r->res->frames += decoders[i].frames;
        r->res->bytes_written += decoders[i].bytes;
    }
out:
    for (size_t i = 0; i < n_dec; i++) {
        io_codec_free(decoders[i].codec);
        free(decoders[i].raw);
    }
    for (size_t i = 0; i < n_bufs; i++)
        free(bufs[i]);
    free(bufs);
    io_queue_free(p.free_bufs);
    io_queue_free(p.ready);
    free(p.items);
    free(p.spans);
    pthread_mutex_destroy(&p.lock);
    return rc;
}
