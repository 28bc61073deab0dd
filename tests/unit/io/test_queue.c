/* The bounded MPMC queue: order, bounds, close semantics, and many producers
 * and consumers delivering every item exactly once. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdlib.h>

#include "io/queue.h"
#include "io_tests.h"

static void *item(uintptr_t n)
{
    return (void *)n;
}

static void test_order_bounds_close(void **state)
{
    struct ibs_err err;
    void *got = NULL;
    struct io_queue *queue = io_queue_new(3, &err);
    assert_non_null(queue);

    assert_int_equal(io_queue_try_pop(queue, &got), IO_QUEUE_WOULD_BLOCK);
    assert_int_equal(io_queue_push(queue, item(1)), IO_QUEUE_OK);
    assert_int_equal(io_queue_push(queue, NULL), IO_QUEUE_OK);
    assert_int_equal(io_queue_try_push(queue, item(3)), IO_QUEUE_OK);
    assert_int_equal(io_queue_try_push(queue, item(4)), IO_QUEUE_WOULD_BLOCK);
    assert_int_equal(io_queue_length(queue), 3);
    assert_int_equal(io_queue_pop(queue, &got), IO_QUEUE_OK);
    assert_ptr_equal(got, item(1));
    assert_int_equal(io_queue_push(queue, item(4)), IO_QUEUE_OK); /* wraps around */

    io_queue_close(queue);
    io_queue_close(queue);
    assert_int_equal(io_queue_push(queue, item(5)), IO_QUEUE_CLOSED);
    assert_int_equal(io_queue_try_push(queue, item(5)), IO_QUEUE_CLOSED);
    /* Pop drains what was queued before the close, in order. */
    got = item(99);
    assert_int_equal(io_queue_pop(queue, &got), IO_QUEUE_OK);
    assert_null(got);
    assert_int_equal(io_queue_try_pop(queue, &got), IO_QUEUE_OK);
    assert_ptr_equal(got, item(3));
    assert_int_equal(io_queue_pop(queue, &got), IO_QUEUE_OK);
    assert_ptr_equal(got, item(4));
    got = item(77);
    assert_int_equal(io_queue_pop(queue, &got), IO_QUEUE_CLOSED);
    assert_int_equal(io_queue_try_pop(queue, &got), IO_QUEUE_CLOSED);
    assert_ptr_equal(got, item(77));
    io_queue_free(queue);
    io_queue_free(NULL);

    ibs_err_clear(&err);
    assert_null(io_queue_new(0, &err));
    assert_int_equal(err.code, IBS_E_USAGE);
}

struct blocked {
    struct io_queue *queue;
    enum io_queue_status status;
};

static void *push_one(void *arg)
{
    struct blocked *b = arg;
    b->status = io_queue_push(b->queue, item(42));
    return NULL;
}

static void *pop_one(void *arg)
{
    struct blocked *b = arg;
    void *got;
    b->status = io_queue_pop(b->queue, &got);
    return NULL;
}

static void test_close_wakes_blocked(void **state)
{
    struct ibs_err err;
    pthread_t threads[4];
    struct io_queue *full = io_queue_new(1, &err), *empty = io_queue_new(1, &err);
    assert_non_null(full);
    assert_non_null(empty);
    assert_int_equal(io_queue_push(full, item(1)), IO_QUEUE_OK);

    struct blocked pushers[2] = {{full, IO_QUEUE_OK}, {full, IO_QUEUE_OK}};
    struct blocked poppers[2] = {{empty, IO_QUEUE_OK}, {empty, IO_QUEUE_OK}};
    for (int i = 0; i < 2; i++) {
        assert_int_equal(pthread_create(&threads[i], NULL, push_one, &pushers[i]), 0);
        assert_int_equal(pthread_create(&threads[2 + i], NULL, pop_one, &poppers[i]), 0);
    }
    io_queue_close(full);
    io_queue_close(empty);
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_join(threads[i], NULL), 0);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(pushers[i].status, IO_QUEUE_CLOSED);
        assert_int_equal(poppers[i].status, IO_QUEUE_CLOSED);
    }
    assert_int_equal(io_queue_length(full), 1); /* the blocked items never went in */
    io_queue_free(full);
    io_queue_free(empty);
}

#define PRODUCERS 3
#define CONSUMERS 3
#define PER_PRODUCER 20000

struct producer {
    struct io_queue *queue;
    uintptr_t first;
    int refused;
};

struct consumer {
    struct io_queue *queue;
    unsigned char *seen; /* shared; each index written by one consumer only */
    size_t count;
    uintptr_t last_of_producer[PRODUCERS];
    int out_of_order;
};

static void *produce(void *arg)
{
    struct producer *p = arg;
    for (uintptr_t i = 0; i < PER_PRODUCER; i++)
        if (io_queue_push(p->queue, item(p->first + i + 1)) != IO_QUEUE_OK)
            p->refused++;
    return NULL;
}

static void *consume(void *arg)
{
    struct consumer *c = arg;
    void *got;
    while (io_queue_pop(c->queue, &got) == IO_QUEUE_OK) {
        uintptr_t n = (uintptr_t)got - 1;
        c->seen[n]++;
        c->count++;
        /* Items of one producer come out in the order it pushed them. */
        size_t producer = n / PER_PRODUCER;
        if (n < c->last_of_producer[producer])
            c->out_of_order++;
        c->last_of_producer[producer] = n;
    }
    return NULL;
}

static void test_many_producers_and_consumers(void **state)
{
    struct ibs_err err;
    struct io_queue *queue = io_queue_new(8, &err);
    assert_non_null(queue);
    unsigned char *seen = calloc(PRODUCERS * PER_PRODUCER, 1);
    assert_non_null(seen);
    struct producer producers[PRODUCERS];
    struct consumer consumers[CONSUMERS];
    pthread_t pt[PRODUCERS], ct[CONSUMERS];

    for (int i = 0; i < CONSUMERS; i++) {
        consumers[i] = (struct consumer){.queue = queue, .seen = seen};
        assert_int_equal(pthread_create(&ct[i], NULL, consume, &consumers[i]), 0);
    }
    for (int i = 0; i < PRODUCERS; i++) {
        producers[i] = (struct producer){.queue = queue, .first = (uintptr_t)i * PER_PRODUCER};
        assert_int_equal(pthread_create(&pt[i], NULL, produce, &producers[i]), 0);
    }
    for (int i = 0; i < PRODUCERS; i++) {
        assert_int_equal(pthread_join(pt[i], NULL), 0);
        assert_int_equal(producers[i].refused, 0);
    }
    io_queue_close(queue);
    size_t total = 0;
    for (int i = 0; i < CONSUMERS; i++) {
        assert_int_equal(pthread_join(ct[i], NULL), 0);
        assert_int_equal(consumers[i].out_of_order, 0);
        total += consumers[i].count;
    }
    assert_int_equal(total, PRODUCERS * PER_PRODUCER);
    for (size_t n = 0; n < PRODUCERS * PER_PRODUCER; n++)
        assert_int_equal(seen[n], 1);
    free(seen);
    io_queue_free(queue);
}

int io_test_queue(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_order_bounds_close),
        cmocka_unit_test(test_close_wakes_blocked),
        cmocka_unit_test(test_many_producers_and_consumers),
    };
    return cmocka_run_group_tests_name("io_queue", tests, NULL, NULL);
}
