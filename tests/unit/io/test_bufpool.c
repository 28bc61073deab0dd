/* The buffer pool: alignment, exhaustion, blocking get, exclusive ownership
 * under threads, shutdown. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include "io/bufpool.h"
#include "io_tests.h"

static void test_alignment_and_exhaustion(void **state)
{
    struct ibs_err err;
    struct io_bufpool_stats stats;
    void *bufs[4];
    struct io_bufpool *pool = io_bufpool_new(4, 10000, 0, &err);
    assert_non_null(pool);

    for (int i = 0; i < 4; i++) {
        bufs[i] = io_bufpool_try_get(pool);
        assert_non_null(bufs[i]);
        assert_int_equal((uintptr_t)bufs[i] % 4096, 0);
        memset(bufs[i], i, 10000); /* the whole size is usable (ASan checks) */
        for (int j = 0; j < i; j++)
            assert_ptr_not_equal(bufs[i], bufs[j]);
    }
    assert_null(io_bufpool_try_get(pool));
    io_bufpool_stats(pool, &stats);
    assert_int_equal(stats.count, 4);
    assert_int_equal(stats.buf_size, 10000);
    assert_int_equal(stats.in_use, 4);
    assert_int_equal(stats.peak, 4);

    io_bufpool_put(pool, bufs[2]);
    void *again = io_bufpool_try_get(pool);
    assert_ptr_equal(again, bufs[2]);
    for (int i = 0; i < 4; i++)
        io_bufpool_put(pool, bufs[i]);
    io_bufpool_stats(pool, &stats);
    assert_int_equal(stats.in_use, 0);
    assert_int_equal(stats.peak, 4);
    io_bufpool_free(pool);
    io_bufpool_free(NULL);

    /* Other alignments, and bad arguments. */
    pool = io_bufpool_new(3, 100, 64, &err);
    assert_non_null(pool);
    void *small = io_bufpool_get(pool);
    assert_int_equal((uintptr_t)small % 64, 0);
    io_bufpool_put(pool, small);
    io_bufpool_free(pool);
    ibs_err_clear(&err);
    assert_null(io_bufpool_new(0, 4096, 0, &err));
    assert_int_equal(err.code, IBS_E_USAGE);
    ibs_err_clear(&err);
    assert_null(io_bufpool_new(2, 0, 0, &err));
    assert_int_equal(err.code, IBS_E_USAGE);
    ibs_err_clear(&err);
    assert_null(io_bufpool_new(2, 4096, 3000, &err));
    assert_int_equal(err.code, IBS_E_USAGE);
    ibs_err_clear(&err);
    assert_null(io_bufpool_new(SIZE_MAX / 2, 8192, 0, &err));
    assert_int_equal(err.code, IBS_E_USAGE);
}

struct waiter {
    struct io_bufpool *pool;
    void *got;
    atomic_bool returned;
};

static void *wait_for_buffer(void *arg)
{
    struct waiter *w = arg;
    w->got = io_bufpool_get(w->pool);
    atomic_store(&w->returned, true);
    return NULL;
}

static void test_get_blocks_until_put(void **state)
{
    struct ibs_err err;
    struct io_bufpool *pool = io_bufpool_new(2, 4096, 0, &err);
    assert_non_null(pool);
    void *a = io_bufpool_get(pool), *b = io_bufpool_get(pool);
    struct waiter w = {.pool = pool};
    pthread_t thread;

    assert_int_equal(pthread_create(&thread, NULL, wait_for_buffer, &w), 0);
    /* Whatever the scheduling, the waiter cannot have a buffer: none is free. */
    for (int i = 0; i < 50; i++) {
        sched_yield();
        usleep(200);
        assert_false(atomic_load(&w.returned));
    }
    io_bufpool_put(pool, b);
    assert_int_equal(pthread_join(thread, NULL), 0);
    assert_ptr_equal(w.got, b);
    io_bufpool_put(pool, w.got);
    io_bufpool_put(pool, a);
    io_bufpool_free(pool);
}

static void test_shutdown_wakes_waiters(void **state)
{
    struct ibs_err err;
    struct io_bufpool *pool = io_bufpool_new(1, 512, 0, &err);
    assert_non_null(pool);
    void *only = io_bufpool_get(pool);
    struct waiter w[3] = {{.pool = pool}, {.pool = pool}, {.pool = pool}};
    pthread_t threads[3];
    for (int i = 0; i < 3; i++) {
        w[i].got = only; /* must be overwritten with NULL */
        assert_int_equal(pthread_create(&threads[i], NULL, wait_for_buffer, &w[i]), 0);
    }
    io_bufpool_shutdown(pool);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(pthread_join(threads[i], NULL), 0);
        assert_null(w[i].got);
    }
    assert_null(io_bufpool_get(pool));
    assert_null(io_bufpool_try_get(pool));
    io_bufpool_put(pool, only);
    io_bufpool_free(pool);
}

#define WORKERS 6
#define ROUNDS 2000
#define POOL_BUFS 3
#define POOL_BUF_SIZE 8192

struct worker {
    struct io_bufpool *pool;
    int id;
    int clashes;
};

/* Each worker stamps a buffer with its id, yields, and checks no other worker
 * wrote into it meanwhile: buffers are never handed to two owners. */
static void *stamp_buffers(void *arg)
{
    struct worker *wk = arg;
    for (int round = 0; round < ROUNDS; round++) {
        unsigned char *buf = io_bufpool_get(wk->pool);
        memset(buf, wk->id, POOL_BUF_SIZE);
        if (round % 7 == 0)
            sched_yield();
        for (size_t i = 0; i < POOL_BUF_SIZE; i += 512)
            if (buf[i] != wk->id)
                wk->clashes++;
        io_bufpool_put(wk->pool, buf);
    }
    return NULL;
}

static void test_threads_share_bounded_pool(void **state)
{
    struct ibs_err err;
    struct io_bufpool_stats stats;
    struct io_bufpool *pool = io_bufpool_new(POOL_BUFS, POOL_BUF_SIZE, 0, &err);
    assert_non_null(pool);
    struct worker workers[WORKERS];
    pthread_t threads[WORKERS];
    for (int i = 0; i < WORKERS; i++) {
        workers[i] = (struct worker){.pool = pool, .id = i + 1};
        assert_int_equal(pthread_create(&threads[i], NULL, stamp_buffers, &workers[i]), 0);
    }
    for (int i = 0; i < WORKERS; i++) {
        assert_int_equal(pthread_join(threads[i], NULL), 0);
        assert_int_equal(workers[i].clashes, 0);
    }
    io_bufpool_stats(pool, &stats);
    assert_int_equal(stats.in_use, 0);
    assert_true(stats.peak >= 1 && stats.peak <= POOL_BUFS);
    io_bufpool_free(pool);
}

int io_test_bufpool(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alignment_and_exhaustion),
        cmocka_unit_test(test_get_blocks_until_put),
        cmocka_unit_test(test_shutdown_wakes_waiters),
        cmocka_unit_test(test_threads_share_bounded_pool),
    };
    return cmocka_run_group_tests_name("io_bufpool", tests, NULL, NULL);
}
