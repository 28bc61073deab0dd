/* io_uring requests with resubmission of short transfers (see ring.h).
 *
 * Each request owns one slot; the slot number is the SQE's user_data, and a
 * slot has at most one SQE in the kernel at a time, so a submission queue of
 * queue_depth entries never overflows and the completion queue (twice that)
 * never drops a completion. */
#include "io/ring.h"

#include <errno.h>
#include <liburing.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define RING_MAX_DEPTH 4096
/* Linux transfers at most this much per read/write call (MAX_RW_COUNT). */
#define RING_MAX_CHUNK 0x7ffff000u
/* A write that moves nothing this many times in a row is stuck. */
#define RING_MAX_STALLS 8

enum slot_kind { SLOT_FREE, SLOT_READ, SLOT_WRITE, SLOT_WRITE_SPARSE };

struct ring_slot {
    enum slot_kind kind;
    int fd;
    unsigned char *buf;
    size_t len;
    uint64_t offset;
    uint64_t tag;
    size_t done;     /* bytes finished (sparse: written or skipped) */
    size_t run_end;  /* sparse: end of the data run being written */
    unsigned chunk;  /* bytes asked for by the SQE in flight */
    unsigned stalls; /* consecutive zero-byte writes */
    int error;
    bool finished; /* waiting in ready[] to be reaped */
};

struct io_ring {
    struct io_uring uring;
    unsigned depth;
    unsigned inflight; /* slots not SLOT_FREE */
    struct ring_slot *slots;
    unsigned *free_slots; /* stack of free slot numbers */
    unsigned free_top;
    unsigned *ready; /* finished slots, FIFO, not yet reaped */
    unsigned ready_head, ready_count;
};

struct io_ring *io_ring_new(unsigned queue_depth, struct ibs_err *err)
{
    struct io_ring *ring;
    struct io_uring_params params;
    int rc;

    if (queue_depth == 0 || queue_depth > RING_MAX_DEPTH) {
        ibs_err_set(err, IBS_E_USAGE, "io_uring: queue depth %u is out of range 1..%u", queue_depth,
                    RING_MAX_DEPTH);
        return NULL;
    }
    ring = calloc(1, sizeof(*ring));
    if (ring == NULL)
        goto oom;
    ring->depth = queue_depth;
    ring->slots = calloc(queue_depth, sizeof(*ring->slots));
    ring->free_slots = calloc(queue_depth, sizeof(*ring->free_slots));
    ring->ready = calloc(queue_depth, sizeof(*ring->ready));
    if (ring->slots == NULL || ring->free_slots == NULL || ring->ready == NULL)
        goto oom;
    for (unsigned i = 0; i < queue_depth; i++)
        ring->free_slots[i] = queue_depth - 1 - i;
    ring->free_top = queue_depth;

    memset(&params, 0, sizeof(params));
    params.flags = IORING_SETUP_CQSIZE;
    params.cq_entries = 2 * queue_depth;
    rc = io_uring_queue_init_params(queue_depth, &ring->uring, &params);
    if (rc < 0) {
        const char *hint = "";
        if (rc == -ENOSYS)
            hint = " (the kernel has no io_uring; Linux 5.10 or newer is needed)";
        else if (rc == -EPERM)
            hint = " (io_uring is disabled: check sysctl kernel.io_uring_disabled and the "
                   "container's seccomp profile)";
        else if (rc == -ENOMEM)
            hint = " (raise RLIMIT_MEMLOCK, ulimit -l, or lower the queue depth)";
        ibs_err_sys(err, IBS_E_IO, -rc, "io_uring: cannot set up a ring of %u entries%s",
                    queue_depth, hint);
        free(ring->slots);
        free(ring->free_slots);
        free(ring->ready);
        free(ring);
        return NULL;
    }
    return ring;
oom:
    if (ring != NULL) {
        free(ring->slots);
        free(ring->free_slots);
        free(ring->ready);
        free(ring);
    }
    ibs_err_set(err, IBS_E_INTERNAL, "io_uring: out of memory for %u slots", queue_depth);
    return NULL;
}

unsigned io_ring_depth(const struct io_ring *ring)
{
    return ring->depth;
}

unsigned io_ring_inflight(const struct io_ring *ring)
{
    return ring->inflight;
}

static bool block_is_zero(const unsigned char *p, size_t n)
{
    return p[0] == 0 && memcmp(p, p + 1, n - 1) == 0;
}

/* Sparse writes: advances slot->done over zero blocks and sets run_end to the
 * end of the data run that follows; returns false when only zeros remain. */
static bool sparse_next_run(struct ring_slot *slot)
{
    size_t pos = slot->done;
    while (pos < slot->len) {
        size_t n = slot->len - pos < IO_RING_SPARSE_BLOCK ? slot->len - pos : IO_RING_SPARSE_BLOCK;
        if (!block_is_zero(slot->buf + pos, n))
            break;
        pos += n;
    }
    slot->done = pos;
    if (pos == slot->len)
        return false;
    while (pos < slot->len) {
        size_t n = slot->len - pos < IO_RING_SPARSE_BLOCK ? slot->len - pos : IO_RING_SPARSE_BLOCK;
        if (block_is_zero(slot->buf + pos, n))
            break;
        pos += n;
    }
    slot->run_end = pos;
    return true;
}

static void slot_finish(struct io_ring *ring, struct ring_slot *slot, int error)
{
    slot->error = error;
    slot->finished = true;
    ring->ready[(ring->ready_head + ring->ready_count) % ring->depth] =
        (unsigned)(slot - ring->slots);
    ring->ready_count++;
}

/* Queues an SQE for what remains of slot's request. Only fails if the
 * submission queue is full and cannot be flushed, which the slot accounting
 * rules out; the request is then finished with EBUSY. */
static void slot_queue(struct io_ring *ring, struct ring_slot *slot)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(&ring->uring);
    if (sqe == NULL) {
        io_uring_submit(&ring->uring);
        sqe = io_uring_get_sqe(&ring->uring);
    }
    if (sqe == NULL) {
        slot_finish(ring, slot, EBUSY);
        return;
    }
    size_t end = slot->kind == SLOT_WRITE_SPARSE ? slot->run_end : slot->len;
    size_t remaining = end - slot->done;
    slot->chunk = remaining > RING_MAX_CHUNK ? RING_MAX_CHUNK : (unsigned)remaining;
    if (slot->kind == SLOT_READ)
        io_uring_prep_read(sqe, slot->fd, slot->buf + slot->done, slot->chunk,
                           slot->offset + slot->done);
    else
        io_uring_prep_write(sqe, slot->fd, slot->buf + slot->done, slot->chunk,
                            slot->offset + slot->done);
    io_uring_sqe_set_data64(sqe, (uint64_t)(slot - ring->slots));
}

static int ring_queue(struct io_ring *ring, enum slot_kind kind, int fd, const void *buf,
                      size_t len, uint64_t offset, uint64_t tag, struct ibs_err *err)
{
    if (ring->free_top == 0)
        return ibs_err_set(err, IBS_E_USAGE,
                           "io_uring: all %u slots are busy; reap completions first", ring->depth);
    if (len == 0)
        return ibs_err_set(err, IBS_E_USAGE, "io_uring: request of 0 bytes at offset %llu",
                           (unsigned long long)offset);
    unsigned index = ring->free_slots[--ring->free_top];
    struct ring_slot *slot = &ring->slots[index];
    *slot = (struct ring_slot){
        .kind = kind,
        .fd = fd,
        .buf = (unsigned char *)buf,
        .len = len,
        .offset = offset,
        .tag = tag,
    };
    ring->inflight++;
    if (kind == SLOT_WRITE_SPARSE && !sparse_next_run(slot))
        slot_finish(ring, slot, 0); /* all zeros: nothing to write */
    else
        slot_queue(ring, slot);
    return 0;
}

int io_ring_read(struct io_ring *ring, int fd, void *buf, size_t len, uint64_t offset, uint64_t tag,
                 struct ibs_err *err)
{
    return ring_queue(ring, SLOT_READ, fd, buf, len, offset, tag, err);
}

int io_ring_write(struct io_ring *ring, int fd, const void *buf, size_t len, uint64_t offset,
                  uint64_t tag, struct ibs_err *err)
{
    return ring_queue(ring, SLOT_WRITE, fd, buf, len, offset, tag, err);
}

int io_ring_write_sparse(struct io_ring *ring, int fd, const void *buf, size_t len, uint64_t offset,
                         uint64_t tag, struct ibs_err *err)
{
    return ring_queue(ring, SLOT_WRITE_SPARSE, fd, buf, len, offset, tag, err);
}

/* A read returned fewer bytes than asked: end of file, or (rarely, e.g. a
 * signal or a network file system) just short. The file's size tells which. */
static bool read_hit_eof(const struct ring_slot *slot)
{
    struct stat st;
    if (fstat(slot->fd, &st) != 0)
        return true; /* cannot tell; reporting the bytes read is the safe answer */
    return slot->offset + slot->done >= (uint64_t)st.st_size;
}

/* Accounts one CQE to its slot: finishes the request or queues the rest. */
static void ring_complete(struct io_ring *ring, struct ring_slot *slot, int res)
{
    if (res == -EAGAIN || res == -EINTR) {
        slot_queue(ring, slot);
        return;
    }
    if (res < 0) {
        slot_finish(ring, slot, -res);
        return;
    }
    unsigned got = (unsigned)res;
    slot->done += got;
    switch (slot->kind) {
    case SLOT_READ:
        if (slot->done == slot->len || got == 0 || (got < slot->chunk && read_hit_eof(slot)))
            slot_finish(ring, slot, 0);
        else
            slot_queue(ring, slot);
        return;
    case SLOT_WRITE:
    case SLOT_WRITE_SPARSE:
        slot->stalls = got == 0 ? slot->stalls + 1 : 0;
        if (slot->stalls >= RING_MAX_STALLS) {
            slot_finish(ring, slot, EIO);
            return;
        }
        if (slot->kind == SLOT_WRITE && slot->done == slot->len)
            slot_finish(ring, slot, 0);
        else if (slot->kind == SLOT_WRITE_SPARSE && slot->done == slot->run_end &&
                 !sparse_next_run(slot))
            slot_finish(ring, slot, 0);
        else
            slot_queue(ring, slot);
        return;
    case SLOT_FREE:
        break;
    }
}

int io_ring_submit(struct io_ring *ring, struct ibs_err *err)
{
    for (;;) {
        int rc = io_uring_submit(&ring->uring);
        if (rc >= 0)
            return 0;
        if (rc != -EINTR && rc != -EAGAIN)
            return ibs_err_sys(err, IBS_E_IO, -rc, "io_uring: submitting requests");
    }
}

/* Moves every CQE available now into the slots; waits for one first if wait. */
static int ring_drain_cqes(struct io_ring *ring, bool wait, struct ibs_err *err)
{
    struct io_uring_cqe *cqe;
    int rc;

    for (;;) {
        rc = wait ? io_uring_submit_and_wait(&ring->uring, 1) : io_uring_submit(&ring->uring);
        if (rc >= 0)
            break;
        if (rc != -EINTR && rc != -EAGAIN)
            return ibs_err_sys(err, IBS_E_IO, -rc, "io_uring: waiting for completions");
    }
    while (io_uring_peek_cqe(&ring->uring, &cqe) == 0) {
        uint64_t index = io_uring_cqe_get_data64(cqe);
        int res = cqe->res;
        io_uring_cqe_seen(&ring->uring, cqe);
        if (index >= ring->depth || ring->slots[index].kind == SLOT_FREE)
            return ibs_err_set(err, IBS_E_INTERNAL, "io_uring: completion for unknown slot %llu",
                               (unsigned long long)index);
        ring_complete(ring, &ring->slots[index], res);
    }
    /* Resubmissions queued while draining go to the kernel now. */
    return io_ring_submit(ring, err);
}

int io_ring_reap(struct io_ring *ring, struct io_completion *out, unsigned max, unsigned min,
                 unsigned *n_out, struct ibs_err *err)
{
    unsigned got = 0;
    int rc;

    if (min > ring->inflight)
        min = ring->inflight;
    if (min > max)
        min = max;
    rc = ring_drain_cqes(ring, false, err);
    for (;;) {
        if (rc != 0)
            break;
        while (got < max && ring->ready_count > 0) {
            unsigned index = ring->ready[ring->ready_head];
            struct ring_slot *slot = &ring->slots[index];
            ring->ready_head = (ring->ready_head + 1) % ring->depth;
            ring->ready_count--;
            out[got++] = (struct io_completion){
                .tag = slot->tag,
                .fd = slot->fd,
                .buf = slot->buf,
                .len = slot->len,
                .offset = slot->offset,
                .done = slot->done,
                .error = slot->error,
                .write = slot->kind != SLOT_READ,
            };
            slot->kind = SLOT_FREE;
            ring->free_slots[ring->free_top++] = index;
            ring->inflight--;
        }
        if (got >= min)
            break;
        rc = ring_drain_cqes(ring, true, err);
    }
    *n_out = got;
    return rc;
}

static int ring_sync(struct io_ring *ring, enum slot_kind kind, int fd, void *buf, size_t len,
                     uint64_t offset, struct ibs_err *err)
{
    const char *what = kind == SLOT_READ ? "reading" : "writing";
    struct io_completion done;
    unsigned n;
    int rc;

    if (ring->inflight != 0)
        return ibs_err_set(err, IBS_E_USAGE,
                           "io_uring: synchronous %s on a ring with %u requests in flight", what,
                           ring->inflight);
    if (len == 0)
        return 0;
    rc = ring_queue(ring, kind, fd, buf, len, offset, 0, err);
    if (rc == 0)
        rc = io_ring_reap(ring, &done, 1, 1, &n, err);
    if (rc != 0)
        return rc;
    if (done.error != 0)
        return ibs_err_sys(err, io_errno_code(done.error), done.error,
                           "%s %zu bytes at offset %llu", what, len, (unsigned long long)offset);
    if (done.done != len)
        return ibs_err_set(err, IBS_E_IO,
                           "reading %zu bytes at offset %llu: end of file after %zu bytes", len,
                           (unsigned long long)offset, done.done);
    return 0;
}

int io_ring_read_full(struct io_ring *ring, int fd, void *buf, size_t len, uint64_t offset,
                      struct ibs_err *err)
{
    return ring_sync(ring, SLOT_READ, fd, buf, len, offset, err);
}

int io_ring_write_full(struct io_ring *ring, int fd, const void *buf, size_t len, uint64_t offset,
                       struct ibs_err *err)
{
    return ring_sync(ring, SLOT_WRITE, fd, (void *)buf, len, offset, err);
}

void io_ring_free(struct io_ring *ring)
{
    struct io_completion discard[16];
    struct ibs_err err;
    unsigned n;

    if (ring == NULL)
        return;
    while (ring->inflight > 0)
        if (io_ring_reap(ring, discard, 16, 1, &n, &err) != 0)
            break; /* the ring is broken; exiting it cancels what is left */
    io_uring_queue_exit(&ring->uring);
    free(ring->slots);
    free(ring->free_slots);
    free(ring->ready);
    free(ring);
}
