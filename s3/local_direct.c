/* Direct writes of one upload file (see local_direct.h). */
#include "s3/local_direct.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

#include "io/ring.h"
#include "s3/local.h"

struct local_direct {
    int fd;
    struct io_ring *ring; /* NULL: not started yet, or io_uring refused */
    bool ring_tried;
    unsigned char *bufs[LOCAL_DIRECT_BUFS];
    bool busy[LOCAL_DIRECT_BUFS]; /* a write from it is in flight */
    unsigned cur;                 /* the buffer filling */
    int error;                    /* errno of the first failed write, 0 */
    uint64_t error_offset;
};

struct local_direct *local_direct_new(int fd)
{
    struct local_direct *d = calloc(1, sizeof(*d));
    void *buf = NULL;
    if (!d || posix_memalign(&buf, LOCAL_DIRECT_ALIGN, LOCAL_WRITE_BUF) != 0) {
        free(d);
        return NULL;
    }
    d->fd = fd;
    d->bufs[0] = buf;
    return d;
}

unsigned char *local_direct_buffer(struct local_direct *d)
{
    return d->bufs[d->cur];
}

/* Writes len bytes at offset with pwrite, across short writes and EINTR. */
static int write_sync(int fd, const unsigned char *buf, size_t len, uint64_t offset)
{
    size_t done = 0;
    while (done < len) {
        ssize_t n = pwrite(fd, buf + done, len - done, (off_t)(offset + done));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EINVAL && (fcntl(fd, F_GETFL) & O_DIRECT)) {
            /* The file system opened with O_DIRECT but refuses the writes. */
            (void)fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_DIRECT);
            continue;
        }
        if (n < 0)
            return errno;
        done += (size_t)n;
    }
    return 0;
}

static void note_failure(struct local_direct *d, int errnum, uint64_t offset)
{
    if (!d->error) {
        d->error = errnum;
        d->error_offset = offset;
    }
}

static int reported(struct local_direct *d, const char *path, struct ibs_err *err)
{
    if (!d->error)
        return 0;
    return local_err(err, d->error, path, "writing %u bytes at offset %llu of %s", LOCAL_WRITE_BUF,
                     (unsigned long long)d->error_offset, path);
}

/* Collects finished writes, waiting for at least min of them. */
static void reap(struct local_direct *d, unsigned min)
{
    struct io_completion done[LOCAL_DIRECT_BUFS];
    unsigned n = 0;
    struct ibs_err err;
    if (io_ring_reap(d->ring, done, LOCAL_DIRECT_BUFS, min, &n, &err) != 0) {
        note_failure(d, EIO, 0);
        return;
    }
    for (unsigned i = 0; i < n; i++) {
        const struct io_completion *c = &done[i];
        int e = c->error;
        if (e == EINVAL) /* no direct writes after all: through the page cache */
            e = write_sync(d->fd, c->buf, c->len, c->offset);
        if (e)
            note_failure(d, e, c->offset);
        d->busy[c->tag] = false;
    }
}

/* The ring and the other buffers, at the first write; without them the
 * writes are synchronous from the one buffer. */
static void start(struct local_direct *d)
{
    d->ring_tried = true;
    struct ibs_err ignored;
    d->ring = io_ring_new(LOCAL_DIRECT_BUFS, &ignored);
    for (unsigned i = 1; d->ring && i < LOCAL_DIRECT_BUFS; i++) {
        void *buf = NULL;
        if (posix_memalign(&buf, LOCAL_DIRECT_ALIGN, LOCAL_WRITE_BUF) != 0)
            break;
        d->bufs[i] = buf;
    }
}

int local_direct_write(struct local_direct *d, uint64_t offset, const char *path,
                       struct ibs_err *err)
{
    if (!d->ring_tried)
        start(d);
    unsigned next = (d->cur + 1) % LOCAL_DIRECT_BUFS;
    if (!d->ring || !d->bufs[next]) {
        int e = write_sync(d->fd, d->bufs[d->cur], LOCAL_WRITE_BUF, offset);
        if (e)
            note_failure(d, e, offset);
        return reported(d, path, err);
    }
    if (io_ring_write(d->ring, d->fd, d->bufs[d->cur], LOCAL_WRITE_BUF, offset, d->cur, err) != 0 ||
        io_ring_submit(d->ring, err) != 0)
        return err->code;
    d->busy[d->cur] = true;
    d->cur = next;
    while (d->busy[d->cur])
        reap(d, 1);
    return reported(d, path, err);
}

int local_direct_drain(struct local_direct *d, const char *path, struct ibs_err *err)
{
    while (d->ring && io_ring_inflight(d->ring) > 0)
        reap(d, io_ring_inflight(d->ring));
    return reported(d, path, err);
}

void local_direct_free(struct local_direct *d)
{
    if (!d)
        return;
    io_ring_free(d->ring); /* waits for the writes still in flight */
    for (unsigned i = 0; i < LOCAL_DIRECT_BUFS; i++)
        free(d->bufs[i]);
    free(d);
}
