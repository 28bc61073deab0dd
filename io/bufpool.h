/* A fixed pool of aligned buffers, allocated once: the memory of a pipeline
 * stage is bounded by count x buf_size however large the database. Buffers are
 * aligned for O_DIRECT (4096 by default). Thread-safe. */
#ifndef IBS_IO_BUFPOOL_H
#define IBS_IO_BUFPOOL_H

#include <stdbool.h>
#include <stddef.h>

#include "common/err.h"

#define IO_BUFPOOL_DEFAULT_ALIGN 4096

struct io_bufpool;

struct io_bufpool_stats {
    size_t count;    /* buffers in the pool */
    size_t buf_size; /* bytes in each buffer */
    size_t in_use;   /* buffers handed out and not yet put back */
    size_t peak;     /* highest in_use so far */
};

/* Allocates count buffers of buf_size bytes, each aligned to align bytes (0
 * means IO_BUFPOOL_DEFAULT_ALIGN; otherwise a power of two). buf_size is kept
 * as given; each buffer's start is aligned. Returns NULL with err set:
 * IBS_E_USAGE for count or buf_size 0 or a bad align, IBS_E_INTERNAL when the
 * memory cannot be had. */
struct io_bufpool *io_bufpool_new(size_t count, size_t buf_size, size_t align, struct ibs_err *err);

/* Takes a free buffer, waiting until another thread puts one back. Returns
 * NULL only once the pool is shut down (io_bufpool_shutdown). The buffer
 * belongs to the caller until io_bufpool_put; its content is whatever its last
 * user left. */
void *io_bufpool_get(struct io_bufpool *pool);

/* Like io_bufpool_get, but returns NULL at once when no buffer is free. */
void *io_bufpool_try_get(struct io_bufpool *pool);

/* Gives buf (from io_bufpool_get of this pool) back and wakes one waiter.
 * Putting a foreign pointer or the same buffer twice is a bug: the process
 * aborts with a message rather than corrupt the pool. */
void io_bufpool_put(struct io_bufpool *pool, void *buf);

/* Wakes every waiter in io_bufpool_get, which then returns NULL, as do later
 * gets; for cancelling a pipeline. Buffers out may still be put back. */
void io_bufpool_shutdown(struct io_bufpool *pool);

/* A consistent snapshot of the counters. */
void io_bufpool_stats(struct io_bufpool *pool, struct io_bufpool_stats *stats);

/* Releases the pool and all its memory; every buffer must have been put back
 * (a buffer still out would dangle: that is a bug, reported and aborted on).
 * NULL is a no-op. */
void io_bufpool_free(struct io_bufpool *pool);

#endif
