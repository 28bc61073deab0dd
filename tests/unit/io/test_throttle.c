/* The rate limiter: exact arithmetic on an injected clock, rate changes, and
 * threads sharing one limiter on the real clock. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <time.h>

#include "io/throttle.h"
#include "io_tests.h"

#define MS 1000000ULL

struct fake_clock {
    uint64_t now;
    uint64_t slept;
    unsigned sleeps;
};

static uint64_t fake_now(void *ctx)
{
    return ((struct fake_clock *)ctx)->now;
}

static void fake_sleep(void *ctx, uint64_t ns)
{
    struct fake_clock *fc = ctx;
    fc->now += ns;
    fc->slept += ns;
    fc->sleeps++;
}

static struct io_throttle *fake_throttle(struct fake_clock *fc, uint64_t rate, uint64_t burst)
{
    struct ibs_err err;
    struct io_clock clock = {fake_now, fake_sleep, fc};
    fc->now = 1000 * MS; /* not zero: the clock's origin must not matter */
    struct io_throttle *t = io_throttle_new_clock(rate, burst, &clock, &err);
    assert_non_null(t);
    return t;
}

static void test_bucket_arithmetic(void **state)
{
    struct fake_clock fc = {0};
    struct io_throttle *t = fake_throttle(&fc, 1000, 100);

    assert_int_equal(io_throttle_take(t, 100), 0); /* the initial burst */
    assert_int_equal(io_throttle_take(t, 100), 100 * MS);
    assert_int_equal(fc.now, 1100 * MS);
    assert_int_equal(io_throttle_take(t, 50), 50 * MS);
    /* A take far beyond the burst is allowed and repaid in time. */
    assert_int_equal(io_throttle_take(t, 5000), 5000 * MS);
    /* Idle time refills, but only up to the burst. */
    fc.now += 60000 * MS;
    assert_int_equal(io_throttle_take(t, 100), 0);
    assert_int_equal(io_throttle_take(t, 1), 1 * MS);
    /* Fractions of a byte of credit carry over: 3 bytes at 1000 B/s is 3 ms. */
    fc.now += 1500 * MS;
    assert_int_equal(io_throttle_take(t, 100), 0);
    fc.now += 1 * MS + MS / 2;
    assert_int_equal(io_throttle_take(t, 3), 1 * MS + MS / 2);
    assert_int_equal(io_throttle_total(t), 100 + 100 + 50 + 5000 + 100 + 1 + 100 + 3);
    io_throttle_free(t);
    io_throttle_free(NULL);
}

static void test_long_run_rate(void **state)
{
    struct fake_clock fc = {0};
    const uint64_t rate = 10 * 1024 * 1024;
    struct io_throttle *t = fake_throttle(&fc, rate, 0); /* burst = rate / 10 */
    uint64_t start = fc.now, bytes = 0;

    for (int i = 0; i < 1000; i++) {
        uint64_t block = 65536 + (uint64_t)(i % 7) * 4099;
        io_throttle_take(t, block);
        bytes += block;
    }
    /* Elapsed time is what the bytes beyond the burst cost at the rate, give
     * or take a nanosecond of rounding per take. */
    double expect = (double)(bytes - rate / 10) * 1e9 / (double)rate;
    double elapsed = (double)(fc.now - start);
    assert_true(elapsed >= expect - 1);
    assert_true(elapsed <= expect + 1000);
    io_throttle_free(t);
}

static void test_rate_changes(void **state)
{
    struct fake_clock fc = {0};
    struct io_throttle *t = fake_throttle(&fc, 0, 0);

    /* Unlimited never sleeps. */
    for (int i = 0; i < 100; i++)
        assert_int_equal(io_throttle_take(t, 1 << 30), 0);
    assert_int_equal(fc.sleeps, 0);
    assert_int_equal(io_throttle_rate(t), 0);

    /* Limited: 1000 B/s, default burst 100 bytes, starting full. */
    io_throttle_set_rate(t, 1000);
    assert_int_equal(io_throttle_rate(t), 1000);
    assert_int_equal(io_throttle_take(t, 100), 0);
    assert_int_equal(io_throttle_take(t, 1000), 1000 * MS);

    /* Slower: the next take pays at the new rate. */
    io_throttle_set_rate(t, 100);
    assert_int_equal(io_throttle_take(t, 100), 1000 * MS);

    /* Debt made at one rate is repaid at the next: owe 500 bytes, then speed
     * up tenfold before paying. */
    io_throttle_set_rate(t, 1000);
    fc.now += 100 * MS; /* refills 10 bytes at 100 B/s, before the change */
    uint64_t before = fc.now;
    io_throttle_set_rate(t, 100); /* burst 10 bytes; the 10 bytes are kept */
    assert_int_equal(io_throttle_take(t, 510), 5000 * MS);
    io_throttle_set_rate(t, 1000);
    assert_int_equal(fc.now - before, 5000 * MS);
    /* The sleep repaid the debt exactly: the bucket is empty, not in credit. */
    assert_int_equal(io_throttle_take(t, 100), 100 * MS);

    /* Back to unlimited forgives debt. */
    assert_true(io_throttle_take(t, 100000) > 0);
    io_throttle_set_rate(t, 0);
    assert_int_equal(io_throttle_take(t, 100000), 0);
    io_throttle_free(t);
}

#define TAKERS 4
#define TAKES 50
#define TAKE_BYTES 1000

static void *take_many(void *arg)
{
    for (int i = 0; i < TAKES; i++)
        io_throttle_take(arg, TAKE_BYTES);
    return NULL;
}

static uint64_t real_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Threads share the bucket: together they cannot beat the rate. Only a lower
 * bound on the time is checked; a slow machine may take longer. */
static void test_threads_share_rate(void **state)
{
    struct ibs_err err;
    const uint64_t rate = 2 * 1000 * 1000; /* 200 KB in ~0.1 s */
    struct io_throttle *t = io_throttle_new(rate, &err);
    assert_non_null(t);
    pthread_t threads[TAKERS];
    uint64_t start = real_now_ns();
    for (int i = 0; i < TAKERS; i++)
        assert_int_equal(pthread_create(&threads[i], NULL, take_many, t), 0);
    for (int i = 0; i < TAKERS; i++)
        assert_int_equal(pthread_join(threads[i], NULL), 0);
    uint64_t elapsed = real_now_ns() - start;
    uint64_t bytes = (uint64_t)TAKERS * TAKES * TAKE_BYTES;
    assert_int_equal(io_throttle_total(t), bytes);
    double floor_ns = (double)(bytes - rate / 10) * 1e9 / (double)rate;
    assert_true((double)elapsed >= floor_ns - 1e3 * TAKERS * TAKES);
    io_throttle_free(t);
}

int io_test_throttle(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bucket_arithmetic),
        cmocka_unit_test(test_long_run_rate),
        cmocka_unit_test(test_rate_changes),
        cmocka_unit_test(test_threads_share_rate),
    };
    return cmocka_run_group_tests_name("io_throttle", tests, NULL, NULL);
}
