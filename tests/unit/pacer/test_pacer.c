/* The pacer (engine/pacer.c): a sequence of samples of a made-up host, one a
 * window apart, and the rate the copier is given. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "engine/pacer.h"

#define MB 1000000.0

/* A host of 2 CPUs over which a test moves time forward: each window adds
 * the given CPU of ours, of the server and of everything else. */
struct host {
    struct eng_pacer p;
    struct eng_pace_sample s;
};

static void host_init(struct host *h, unsigned ncpu)
{
    eng_pacer_init(&h->p, ncpu);
    h->s = (struct eng_pace_sample){
        .wall_s = 100, .host_busy_s = 5000, .self_cpu_s = 1, .server_cpu_s = 300, .bytes = 0};
    assert_false(eng_pacer_update(&h->p, &h->s)); /* the first sample only starts a window */
}

/* One window of PACE_WINDOW_S: self/server/rest in cores, bytes in MB. */
static bool host_window(struct host *h, double self, double server, double rest, double mb)
{
    double dt = PACE_WINDOW_S;
    h->s.wall_s += dt;
    h->s.self_cpu_s += self * dt;
    if (h->s.server_cpu_s >= 0)
        h->s.server_cpu_s += server * dt;
    h->s.host_busy_s += (self + server + rest) * dt;
    h->s.bytes += (uint64_t)(mb * MB);
    return eng_pacer_update(&h->p, &h->s);
}

static void test_quiet_server_is_not_paced(void **state)
{
    (void)state;
    struct host h;
    host_init(&h, 2);
    /* Our copy takes 1.8 cores at 300 MB/s per core; the server idles; an S3
     * emulator on the same host takes a core: still not paced. */
    for (int i = 0; i < 10; i++) {
        assert_false(host_window(&h, 1.8, 0.05, 1.0, 1.8 * 300 * PACE_WINDOW_S));
        assert_int_equal(h.p.rate, 0);
    }
    assert_float_equal(h.p.bytes_per_cpu_s, 300 * MB, 1e3);
}

static void test_busy_server_gets_the_spare_cpu(void **state)
{
    (void)state;
    struct host h;
    host_init(&h, 8);
    /* A server on 1.5 of 8 cores: the copy may take 8 - 1.5 - margin (4). */
    assert_true(host_window(&h, 4.0, 1.5, 0.0, 4.0 * 200 * PACE_WINDOW_S));
    assert_float_equal((double)h.p.rate, 2.5 * 200 * MB, 1e3);
    assert_float_equal(h.p.server_cores, 1.5, 1e-9);
    assert_float_equal(h.p.others_cores, 1.5, 1e-9);
    /* Paced to 2.5 cores now; the server keeps its 1.5: the rate stays. */
    assert_false(host_window(&h, 2.5, 1.5, 0.0, 2.5 * 200 * PACE_WINDOW_S));
    assert_float_equal((double)h.p.rate, 2.5 * 200 * MB, 1e3);
    /* The server takes 3 cores: down to 1, at once. */
    assert_true(host_window(&h, 2.5, 3.0, 0.0, 2.5 * 200 * PACE_WINDOW_S));
    assert_float_equal((double)h.p.rate, 1.0 * 200 * MB, 1e3);
    /* Back to 1.5: up halfway per window. */
    assert_true(host_window(&h, 1.0, 1.5, 0.0, 1.0 * 200 * PACE_WINDOW_S));
    assert_float_equal((double)h.p.rate, 1.75 * 200 * MB, 1e3);
}

static void test_saturated_host_settles_at_the_floor(void **state)
{
    (void)state;
    struct host h;
    host_init(&h, 2);
    /* The server and its clients want both cores; while we copy at full
     * speed they get 0.7 of them, then more as we back off. */
    double self = 1.0, others = 0.7;
    uint64_t last = UINT64_MAX;
    for (int i = 0; i < 12; i++) {
        host_window(&h, self, others * 0.8, others * 0.2, self * 250 * PACE_WINDOW_S);
        assert_true(h.p.rate > 0);
        assert_true(h.p.rate <= last); /* backing off, never forward */
        last = h.p.rate;
        self = (double)h.p.rate / (250 * MB);
        others = 2.0 - self;
    }
    /* The floor on two cores is a fifth of a core: 50 MB/s here (the rate
     * follows in steps of more than 5 %, so it stops a little above). */
    assert_true(h.p.rate >= 0.99 * 0.2 * 250 * MB && h.p.rate <= 1.1 * 0.2 * 250 * MB);
    /* The load goes away: full speed once it has stayed away a while. */
    for (int i = 1; i < PACE_QUIET_WINDOWS; i++) {
        assert_false(host_window(&h, self, 0.02, 0.05, self * 250 * PACE_WINDOW_S));
        assert_int_equal(h.p.rate, last);
    }
    assert_true(host_window(&h, self, 0.02, 0.05, self * 250 * PACE_WINDOW_S));
    assert_int_equal(h.p.rate, 0);
}

static void test_a_moment_of_quiet_keeps_the_pace(void **state)
{
    (void)state;
    struct host h;
    host_init(&h, 2);
    assert_true(host_window(&h, 1.8, 0.6, 0.3, 1.8 * 300 * PACE_WINDOW_S));
    uint64_t rate = h.p.rate;
    assert_true(rate > 0);
    /* The server stalls on its disk for a window or two, then is busy again. */
    for (int round = 0; round < 3; round++) {
        for (int i = 1; i < PACE_QUIET_WINDOWS; i++) {
            assert_false(host_window(&h, 0.2, 0.05, 0.3, 0.2 * 300 * PACE_WINDOW_S));
            assert_int_equal(h.p.rate, rate);
        }
        host_window(&h, 0.2, 0.6, 1.2, 0.2 * 300 * PACE_WINDOW_S);
        assert_true(h.p.rate > 0);
        rate = h.p.rate;
    }
}

static void test_never_below_the_minimum_rate(void **state)
{
    (void)state;
    struct host h;
    host_init(&h, 2);
    /* A copy that costs a whole CPU second per 10 MB (an encrypted one on a
     * slow core): a fifth of a core would be 2 MB/s. */
    assert_true(host_window(&h, 1.0, 1.9, 0.1, 1.0 * 10 * PACE_WINDOW_S));
    assert_int_equal(h.p.rate, PACE_MIN_RATE_BPS);
}

static void test_small_changes_are_not_applied(void **state)
{
    (void)state;
    struct host h;
    host_init(&h, 8);
    assert_true(host_window(&h, 4.0, 2.0, 0.0, 4.0 * 100 * PACE_WINDOW_S)); /* 2 cores left */
    uint64_t rate = h.p.rate;
    /* 2 % more load: the throttle is not touched for so little. */
    assert_false(host_window(&h, 4.0, 2.08, 0.0, 4.0 * 100 * PACE_WINDOW_S));
    assert_int_equal(h.p.rate, rate);
    /* Half a core more: it is. */
    assert_true(host_window(&h, 4.0, 2.5, 0.0, 4.0 * 100 * PACE_WINDOW_S));
    assert_true(h.p.rate < rate);
}

static void test_short_windows_wait(void **state)
{
    (void)state;
    struct host h;
    host_init(&h, 2);
    struct eng_pace_sample s = h.s;
    s.wall_s += PACE_WINDOW_S / 2;
    s.server_cpu_s += 1.0;
    s.self_cpu_s += 0.5;
    s.host_busy_s += 1.5;
    s.bytes += 100000000;
    assert_false(eng_pacer_update(&h.p, &s));
    assert_int_equal(h.p.rate, 0);
    assert_float_equal(h.p.bytes_per_cpu_s, 0, 0); /* nothing learned yet */
}

static void test_unknown_server_uses_the_host(void **state)
{
    (void)state;
    struct host h;
    eng_pacer_init(&h.p, 4);
    h.s = (struct eng_pace_sample){
        .wall_s = 1, .host_busy_s = 10, .self_cpu_s = 1, .server_cpu_s = -1};
    eng_pacer_update(&h.p, &h.s);
    /* Other processes on 0.6 of 4 cores: below a quarter of the host. */
    assert_false(host_window(&h, 2.5, 0, 0.6, 2.5 * 200 * PACE_WINDOW_S));
    assert_int_equal(h.p.rate, 0);
    assert_float_equal(h.p.server_cores, -1, 0);
    /* On 1.2: paced (4 - 1.2 - 2 = 0.8 cores). */
    assert_true(host_window(&h, 2.5, 0, 1.2, 2.5 * 200 * PACE_WINDOW_S));
    assert_float_equal((double)h.p.rate, 0.8 * 200 * MB, 1e3);
}

static void test_reads_this_host(void **state)
{
    (void)state;
    struct eng_pace_sample a, b;
    assert_true(eng_pace_read(getpid(), 7, &a));
    volatile double x = 0;
    for (long i = 0; i < 30000000; i++) /* ~0.05 s of CPU */
        x += (double)i;
    assert_true(eng_pace_read(getpid(), 9, &b));
    assert_int_equal(b.bytes, 9);
    assert_true(b.wall_s > a.wall_s);
    assert_true(b.self_cpu_s > a.self_cpu_s);
    assert_true(b.host_busy_s >= a.host_busy_s);
    assert_true(a.server_cpu_s >= 0); /* our own /proc/<pid>/stat parses */
    assert_true(eng_pace_read(0, 0, &a));
    assert_true(a.server_cpu_s < 0);
}

static void test_server_pid_file(void **state)
{
    (void)state;
    char dir[] = "/tmp/ibs-pacer-XXXXXX", path[64];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/pid", dir);
    assert_int_equal(eng_pace_server_pid(path), 0); /* missing */
    FILE *f = fopen(path, "w");
    fprintf(f, "%d\n", (int)getpid()); /* alive, but not a MariaDB server */
    fclose(f);
    assert_int_equal(eng_pace_server_pid(path), 0);
    f = fopen(path, "w");
    fprintf(f, "garbage\n");
    fclose(f);
    assert_int_equal(eng_pace_server_pid(path), 0);
    unlink(path);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quiet_server_is_not_paced),
        cmocka_unit_test(test_busy_server_gets_the_spare_cpu),
        cmocka_unit_test(test_saturated_host_settles_at_the_floor),
        cmocka_unit_test(test_a_moment_of_quiet_keeps_the_pace),
        cmocka_unit_test(test_never_below_the_minimum_rate),
        cmocka_unit_test(test_small_changes_are_not_applied),
        cmocka_unit_test(test_short_windows_wait),
        cmocka_unit_test(test_unknown_server_uses_the_host),
        cmocka_unit_test(test_reads_this_host),
        cmocka_unit_test(test_server_pid_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
