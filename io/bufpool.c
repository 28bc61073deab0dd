/* The aligned buffer pool (see bufpool.h): one aligned allocation cut into
 * equal slots, a stack of free slot numbers, a mutex and a condvar. */
#include "io/bufpool.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

struct io_bufpool {
    unsigned char *mem; /* count slots of stride bytes */
    size_t count, buf_size, stride;

    pthread_mutex_t lock; /* guards everything below */
    pthread_cond_t freed;
    size_t *free_slots; /* stack of free slot numbers, free_top of them */
    size_t free_top;
    bool *out; /* out[i]: slot i is handed out */
    size_t peak;
    bool shut;
};

static void bufpool_bug(const char *what, const void *buf)
{
    fprintf(stderr, "ibstream: io_bufpool: %s (%p); aborting\n", what, buf);
    abort();
}

struct io_bufpool *io_bufpool_new(size_t count, size_t buf_size, size_t align, struct ibs_err *err)
{
    struct io_bufpool *pool = NULL;

    if (align == 0)
        align = IO_BUFPOOL_DEFAULT_ALIGN;
    if (count == 0 || buf_size == 0 || (align & (align - 1)) != 0 || align < sizeof(void *)) {
        ibs_err_set(err, IBS_E_USAGE,
                    "buffer pool: %zu buffers of %zu bytes aligned to %zu: need at least one "
                    "buffer of at least one byte and a power-of-two alignment",
                    count, buf_size, align);
        return NULL;
    }
    size_t stride = (buf_size + align - 1) / align * align;
    if (stride < buf_size || count > SIZE_MAX / stride) {
        ibs_err_set(err, IBS_E_USAGE, "buffer pool: %zu buffers of %zu bytes overflow memory",
                    count, buf_size);
        return NULL;
    }
    pool = calloc(1, sizeof(*pool));
    if (pool == NULL)
        goto oom;
    pool->count = count;
    pool->buf_size = buf_size;
    pool->stride = stride;
    pool->free_slots = malloc(count * sizeof(*pool->free_slots));
    pool->out = calloc(count, sizeof(*pool->out));
    if (pool->free_slots == NULL || pool->out == NULL ||
        posix_memalign((void **)&pool->mem, align, count * stride) != 0) {
        pool->mem = NULL;
        goto oom;
    }
    /* Hand out low addresses first: slot 0 on top of the stack. */
    for (size_t i = 0; i < count; i++)
        pool->free_slots[i] = count - 1 - i;
    pool->free_top = count;
    pthread_mutex_init(&pool->lock, NULL);
    pthread_cond_init(&pool->freed, NULL);
    return pool;
oom:
    if (pool != NULL) {
        free(pool->free_slots);
        free(pool->out);
        free(pool);
    }
    ibs_err_set(err, IBS_E_INTERNAL, "buffer pool: cannot allocate %zu buffers of %zu bytes", count,
                buf_size);
    return NULL;
}

/* Pops a free slot; the caller holds the lock and has checked free_top > 0. */
static void *bufpool_take(struct io_bufpool *pool)
{
    size_t slot = pool->free_slots[--pool->free_top];
    pool->out[slot] = true;
    size_t in_use = pool->count - pool->free_top;
    if (in_use > pool->peak)
        pool->peak = in_use;
    return pool->mem + slot * pool->stride;
}

void *io_bufpool_get(struct io_bufpool *pool)
{
    void *buf = NULL;

    pthread_mutex_lock(&pool->lock);
    while (pool->free_top == 0 && !pool->shut)
        pthread_cond_wait(&pool->freed, &pool->lock);
    if (!pool->shut)
        buf = bufpool_take(pool);
    pthread_mutex_unlock(&pool->lock);
    return buf;
}

void *io_bufpool_try_get(struct io_bufpool *pool)
{
    void *buf = NULL;

    pthread_mutex_lock(&pool->lock);
    if (pool->free_top > 0 && !pool->shut)
        buf = bufpool_take(pool);
    pthread_mutex_unlock(&pool->lock);
    return buf;
}

void io_bufpool_put(struct io_bufpool *pool, void *buf)
{
    uintptr_t start = (uintptr_t)pool->mem, at = (uintptr_t)buf;

    if (at < start || at >= start + pool->count * pool->stride || (at - start) % pool->stride)
        bufpool_bug("put of a buffer that is not from this pool", buf);
    size_t slot = (at - start) / pool->stride;

    pthread_mutex_lock(&pool->lock);
    if (!pool->out[slot]) {
        pthread_mutex_unlock(&pool->lock);
        bufpool_bug("buffer put back twice", buf);
    }
    pool->out[slot] = false;
    pool->free_slots[pool->free_top++] = slot;
    pthread_cond_signal(&pool->freed);
    pthread_mutex_unlock(&pool->lock);
}

void io_bufpool_shutdown(struct io_bufpool *pool)
{
    pthread_mutex_lock(&pool->lock);
    pool->shut = true;
    pthread_cond_broadcast(&pool->freed);
    pthread_mutex_unlock(&pool->lock);
}

void io_bufpool_stats(struct io_bufpool *pool, struct io_bufpool_stats *stats)
{
    pthread_mutex_lock(&pool->lock);
    stats->count = pool->count;
    stats->buf_size = pool->buf_size;
    stats->in_use = pool->count - pool->free_top;
    stats->peak = pool->peak;
    pthread_mutex_unlock(&pool->lock);
}

void io_bufpool_free(struct io_bufpool *pool)
{
    if (pool == NULL)
        return;
    if (pool->free_top != pool->count)
        bufpool_bug("freed while buffers are still out", pool);
    pthread_cond_destroy(&pool->freed);
    pthread_mutex_destroy(&pool->lock);
    free(pool->mem);
    free(pool->free_slots);
    free(pool->out);
    free(pool);
}
