/* Unit tests of the operations: the repository lock on a local store (a
 * second taker fails naming the holder, stale locks are broken, release
 * leaves a lock that is not ours), the metrics text, and database grouping. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "engine/lock.h"
#include "engine/ops.h"
#include "s3/store.h"
#include "tools/metrics.h"

struct fixture {
    char dir[64];
    struct store *store;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    struct ibs_err err;
    snprintf(f->dir, sizeof(f->dir), "/tmp/ibs-ops-test.XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    struct store_opts so = {.url = f->dir};
    assert_int_equal(store_open(&so, &f->store, &err), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    char cmd[128];
    store_close(f->store);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

static void put_lock(struct store *store, const char *host, long pid, int64_t started)
{
    char text[512];
    struct ibs_err err;
    int n = snprintf(text, sizeof(text),
                     "{\"host\":\"%s\",\"pid\":%ld,\"started\":%lld,\"command\":\"backup\","
                     "\"token\":\"feedfacefeedface\"}",
                     host, pid, (long long)started);
    assert_int_equal(store_put(store, ENG_LOCK_KEY, text, (size_t)n, &err), 0);
}

static void test_second_taker_fails(void **state)
{
    struct fixture *f = *state;
    struct eng_lock *a = NULL, *b = NULL;
    struct ibs_err err;
    struct eng_lock_holder h;
    char host[256] = "", pid[32];

    assert_int_equal(eng_lock_acquire(f->store, "backup", 0, &a, &err), 0);
    assert_non_null(a);
    assert_int_equal(eng_lock_read(f->store, &h, &err), 0);
    assert_int_equal(h.pid, (long)getpid());
    assert_string_equal(h.command, "backup");
    assert_int_equal(strlen(h.token), 32);

    /* Same host, this very process: alive. */
    int rc = eng_lock_acquire(f->store, "expire", 0, &b, &err);
    gethostname(host, sizeof(host) - 1);
    snprintf(pid, sizeof(pid), "pid %ld", (long)getpid());
    assert_int_equal(rc, IBS_E_LOCKED);
    assert_null(b);
    assert_non_null(strstr(err.msg, host));
    assert_non_null(strstr(err.msg, pid));
    assert_int_equal(eng_lock_release(a, &err), 0);
    assert_int_equal(eng_lock_read(f->store, &h, &err), IBS_E_NOTFOUND);
}

static void test_other_host_recent_lock_holds(void **state)
{
    struct fixture *f = *state;
    struct eng_lock *lk = NULL;
    struct ibs_err err;
    put_lock(f->store, "db-other-host.example", 4242, (int64_t)time(NULL) - 60);
    assert_int_equal(eng_lock_acquire(f->store, "backup", 3600, &lk, &err), IBS_E_LOCKED);
    assert_null(lk);
    assert_non_null(strstr(err.msg, "db-other-host.example"));
    assert_non_null(strstr(err.msg, "pid 4242"));
    assert_non_null(strstr(err.msg, "since "));
}

static void test_other_host_old_lock_is_broken(void **state)
{
    struct fixture *f = *state;
    struct eng_lock *lk = NULL;
    struct eng_lock_holder h;
    struct ibs_err err;
    put_lock(f->store, "db-other-host.example", 4242, (int64_t)time(NULL) - 7200);
    assert_int_equal(eng_lock_acquire(f->store, "backup", 3600, &lk, &err), 0);
    assert_int_equal(eng_lock_read(f->store, &h, &err), 0);
    assert_int_equal(h.pid, (long)getpid());
    assert_int_equal(eng_lock_release(lk, &err), 0);
}

static void test_dead_pid_same_host_is_broken(void **state)
{
    struct fixture *f = *state;
    struct eng_lock *lk = NULL;
    struct ibs_err err;
    char host[256] = "";
    gethostname(host, sizeof(host) - 1);
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0)
        _exit(0);
    int status = -1;
    assert_int_equal(waitpid(child, &status, 0), child);
    put_lock(f->store, host, (long)child, (int64_t)time(NULL));
    assert_int_equal(eng_lock_acquire(f->store, "cleanup", 0, &lk, &err), 0);
    assert_int_equal(eng_lock_release(lk, &err), 0);
}

static void test_release_keeps_a_lock_not_ours(void **state)
{
    struct fixture *f = *state;
    struct eng_lock *lk = NULL;
    struct eng_lock_holder h;
    struct ibs_err err;
    assert_int_equal(eng_lock_acquire(f->store, "backup", 0, &lk, &err), 0);
    /* Someone broke our lock and took it. */
    put_lock(f->store, "db-other-host.example", 77, (int64_t)time(NULL));
    assert_int_equal(eng_lock_release(lk, &err), 0);
    assert_int_equal(eng_lock_read(f->store, &h, &err), 0);
    assert_string_equal(h.host, "db-other-host.example");
}

static void test_garbage_lock_is_locked(void **state)
{
    struct fixture *f = *state;
    struct eng_lock *lk = NULL;
    struct ibs_err err;
    assert_int_equal(store_put(f->store, ENG_LOCK_KEY, "not json", 8, &err), 0);
    assert_int_equal(eng_lock_acquire(f->store, "backup", 0, &lk, &err), IBS_E_LOCKED);
    assert_non_null(strstr(err.msg, "not a lock ibstream wrote"));
}

static void test_metrics_text(void **state)
{
    char *ok = cli_metrics_text("backup", 0, 12.5, 1700000000, 1000, 250, 1, NULL);
    assert_non_null(ok);
    assert_non_null(strstr(ok, "ibstream_last_success_timestamp_seconds{command=\"backup\"} "
                               "1700000000\n"));
    assert_non_null(strstr(ok, "ibstream_last_exit_code{command=\"backup\"} 0\n"));
    assert_non_null(strstr(ok, "ibstream_last_duration_seconds{command=\"backup\"} 12.500\n"));
    assert_non_null(strstr(ok, "ibstream_last_bytes_read{command=\"backup\"} 1000\n"));
    assert_non_null(strstr(ok, "ibstream_last_bytes_stored{command=\"backup\"} 250\n"));
    assert_non_null(strstr(ok, "ibstream_last_compression_ratio{command=\"backup\"} 4.000\n"));
    /* A failure keeps the last success time of the previous file. */
    char *bad = cli_metrics_text("backup", 7, 0.2, 1700000999, 0, 0, 0, ok);
    assert_non_null(bad);
    assert_non_null(strstr(bad, "ibstream_last_success_timestamp_seconds{command=\"backup\"} "
                                "1700000000\n"));
    assert_non_null(strstr(bad, "ibstream_last_exit_code{command=\"backup\"} 7\n"));
    assert_null(strstr(bad, "ibstream_last_bytes_read"));
    /* A first failure has no success time at all. */
    char *first = cli_metrics_text("expire", 5, 0.1, 1700000999, 0, 0, 0, NULL);
    assert_null(strstr(first, "ibstream_last_success_timestamp_seconds{"));
    free(ok);
    free(bad);
    free(first);
}

static void test_db_of(void **state)
{
    char db[64];
    eng_ops_db_of("shop/orders.ibd", db, sizeof(db));
    assert_string_equal(db, "shop");
    eng_ops_db_of("ibdata1", db, sizeof(db));
    assert_string_equal(db, "(server)");
    eng_ops_db_of("/srv/ext/db_b/t.ibd", db, sizeof(db));
    assert_string_equal(db, "db_b");
    eng_ops_db_of("/t.ibd", db, sizeof(db));
    assert_string_equal(db, "(server)");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_second_taker_fails, setup, teardown),
        cmocka_unit_test_setup_teardown(test_other_host_recent_lock_holds, setup, teardown),
        cmocka_unit_test_setup_teardown(test_other_host_old_lock_is_broken, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dead_pid_same_host_is_broken, setup, teardown),
        cmocka_unit_test_setup_teardown(test_release_keeps_a_lock_not_ours, setup, teardown),
        cmocka_unit_test_setup_teardown(test_garbage_lock_is_locked, setup, teardown),
        cmocka_unit_test(test_metrics_text),
        cmocka_unit_test(test_db_of),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
