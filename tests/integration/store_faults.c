/* S3 under faults: a multipart stream written and read back through
 * tests/faultproxy/faultproxy.py while it fails 20% of requests (500, 503,
 * resets, stalls) must come back byte for byte; with every request failing
 * the writer must give up within its retry budget, leave no object, and
 * name the last cause.
 *
 * Usage (through tests/integration/with-s3): store_faults PATH/faultproxy.py
 * The proxy's stall length is IBS_TEST_STALL_SECONDS (default 10). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

#include "s3/store.h"

#define MIB (1024u * 1024u)

static struct {
    const char *proxy_script;
    const char *endpoint; /* the emulator, without faults */
    char url[512];
    char run[96]; /* this run's key prefix */
} g;

struct proxy {
    pid_t pid;
    char endpoint[64];
};

/* Starts faultproxy.py in front of the emulator and waits (bounded) for
 * its "ready PORT" line. */
static void proxy_start(struct proxy *p, const char *rate, const char *faults, const char *seed)
{
    const char *stall = getenv("IBS_TEST_STALL_SECONDS");
    char line[64];
    size_t used = 0;
    int fds[2], port = 0;

    if (!stall || !*stall)
        stall = "10";
    assert_int_equal(pipe(fds), 0);
    p->pid = fork();
    assert_true(p->pid >= 0);
    if (p->pid == 0) {
        dup2(fds[1], STDOUT_FILENO);
        close(fds[0]);
        close(fds[1]);
        execlp("python3", "python3", g.proxy_script, "--upstream", g.endpoint, "--port", "0",
               "--fault-rate", rate, "--faults", faults, "--seed", seed, "--stall-seconds", stall,
               (char *)NULL);
        perror("exec python3");
        _exit(127);
    }
    close(fds[1]);
    /* At most 30 s for the interpreter to start. */
    for (int waited = 0; waited < 300 && used < sizeof(line) - 1; waited++) {
        struct pollfd pfd = {.fd = fds[0], .events = POLLIN};
        ssize_t n;
        if (poll(&pfd, 1, 100) <= 0)
            continue;
        n = read(fds[0], line + used, sizeof(line) - 1 - used);
        if (n <= 0)
            break;
        used += (size_t)n;
        line[used] = '\0';
        if (strchr(line, '\n'))
            break;
    }
    line[used] = '\0';
    close(fds[0]);
    if (sscanf(line, "ready %d", &port) != 1 || port <= 0) {
        kill(p->pid, SIGKILL);
        waitpid(p->pid, NULL, 0);
        fail_msg("faultproxy did not start (said \"%s\")", line);
    }
    snprintf(p->endpoint, sizeof(p->endpoint), "http://127.0.0.1:%d", port);
}

/* SIGTERM (the proxy prints its summary), then SIGKILL after 10 s. */
static void proxy_stop(struct proxy *p)
{
    int status;

    if (p->pid <= 0)
        return;
    kill(p->pid, SIGTERM);
    for (int i = 0; i < 100; i++) {
        if (waitpid(p->pid, &status, WNOHANG) == p->pid) {
            p->pid = 0;
            return;
        }
        usleep(100 * 1000);
    }
    kill(p->pid, SIGKILL);
    waitpid(p->pid, &status, 0);
    p->pid = 0;
}

static void opts_for(struct store_opts *opts, const char *endpoint)
{
    memset(opts, 0, sizeof(*opts));
    opts->url = g.url;
    opts->endpoint = endpoint;
    opts->region = getenv("AWS_REGION");
    opts->access_key = getenv("AWS_ACCESS_KEY_ID");
    opts->secret_key = getenv("AWS_SECRET_ACCESS_KEY");
    opts->part_size = STORE_S3_MIN_PART_SIZE;
}

static void open_store(const char *endpoint, unsigned retries, struct store **store)
{
    struct store_opts opts;
    struct ibs_err err;

    opts_for(&opts, endpoint);
    opts.retries = retries;
    if (store_open(&opts, store, &err) != 0)
        fail_msg("store_open %s via %s: %s", g.url, endpoint, err.msg);
}

static void fill(unsigned char *buf, uint64_t offset, size_t len)
{
    for (size_t i = 0; i < len; i++)
        buf[i] = (unsigned char)((offset + i) * 2654435761u >> 13);
}

/* 23 MiB in 5 MiB parts through 20% faults, read back through them too. */
static void test_stream_survives_20pct_faults(void **state)
{
    const uint64_t total = 23ull * MIB + 5;
    const size_t chunk = 700 * 1024 + 3, range_len = MIB;
    unsigned char *buf = malloc(range_len), *want = malloc(range_len);
    struct store *faulty, *direct;
    struct store_writer *w;
    struct store_stat st;
    struct proxy p = {0};
    struct ibs_err err;
    char key[160];
    uint64_t at = 0;
    int rc;

    assert_non_null(buf);
    assert_non_null(want);
    snprintf(key, sizeof(key), "%sfaults20/data.0001", g.run);
    proxy_start(&p, "0.2", "500,503,reset,stall", "20");
    open_store(p.endpoint, 0, &faulty);

    rc = store_writer_open(faulty, key, &w, &err);
    while (rc == 0 && at < total) {
        size_t n = total - at < chunk ? (size_t)(total - at) : chunk;
        fill(buf, at, n);
        rc = store_writer_write(w, buf, n, &err);
        at += n;
    }
    if (rc == 0)
        rc = store_writer_commit(w, &err);
    else
        store_writer_abort(w);
    if (rc != 0) {
        proxy_stop(&p);
        fail_msg("upload through 20%% faults: %s", err.msg);
    }
    for (uint64_t off = 0; off < total && rc == 0; off += range_len) {
        size_t n = total - off < range_len ? (size_t)(total - off) : range_len;
        struct store_range r = {.key = key, .offset = off, .len = n, .buf = buf};
        rc = store_get_ranges(faulty, &r, 1, &err);
        fill(want, off, n);
        if (rc == 0 && memcmp(buf, want, n) != 0)
            rc = -1, snprintf(err.msg, sizeof(err.msg), "bytes differ at [%llu,+%zu)",
                              (unsigned long long)off, n);
    }
    store_close(faulty);
    proxy_stop(&p);
    if (rc != 0)
        fail_msg("read back through 20%% faults: %s", err.msg);

    open_store(g.endpoint, 0, &direct);
    assert_int_equal(store_head(direct, key, &st, &err), 0);
    assert_int_equal(st.size, total);
    assert_int_equal(store_delete(direct, key, &err), 0);
    store_close(direct);
    free(buf);
    free(want);
}

struct uploads_of_key {
    const char *key;
    size_t n;
};

static int see_upload(void *ctx, const struct store_upload *upload)
{
    struct uploads_of_key *u = ctx;
    if (strcmp(upload->key, u->key) == 0)
        u->n++;
    return 0;
}

/* Every request fails with 503 SlowDown: the writer gives up within its
 * small retry budget, nothing appears, and the message says SlowDown. */
static void test_all_faults_fail_cleanly(void **state)
{
    const size_t n = 12 * MIB;
    unsigned char *buf = malloc(n);
    struct store *faulty, *direct;
    struct store_writer *w = NULL;
    struct uploads_of_key u;
    struct store_stat st;
    struct proxy p = {0};
    struct ibs_err err;
    char key[160];
    int rc;

    assert_non_null(buf);
    fill(buf, 0, n);
    ibs_err_clear(&err);
    snprintf(key, sizeof(key), "%sfaults100/data.0001", g.run);
    proxy_start(&p, "1.0", "503", "100");
    open_store(p.endpoint, 2, &faulty);
    rc = store_writer_open(faulty, key, &w, &err);
    if (rc == 0) {
        rc = store_writer_write(w, buf, n, &err);
        if (rc == 0)
            rc = store_writer_commit(w, &err);
        else
            store_writer_abort(w);
    }
    store_close(faulty);
    proxy_stop(&p);
    print_message("error at 100%% faults: %s\n", err.msg);
    assert_int_not_equal(rc, 0);
    assert_int_equal(rc, IBS_E_STORAGE);
    assert_true(strstr(err.msg, "SlowDown") || strstr(err.msg, "503"));

    open_store(g.endpoint, 0, &direct);
    assert_int_equal(store_head(direct, key, &st, &err), IBS_E_NOTFOUND);
    u.key = key;
    u.n = 0;
    rc = store_list_uploads(direct, g.run, see_upload, &u, &err);
    if (rc != 0 && strstr(err.msg, "NotImplemented"))
        print_message("note: this S3 endpoint cannot list uploads: %s\n", err.msg);
    else if (rc != 0)
        fail_msg("list_uploads: %s", err.msg);
    assert_int_equal(u.n, 0);
    store_close(direct);
    free(buf);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stream_survives_20pct_faults),
        cmocka_unit_test(test_all_faults_fail_cleanly),
    };
    const char *bucket = getenv("IBS_TEST_S3_BUCKET");

    if (argc != 2) {
        fprintf(stderr, "usage: store_faults PATH/faultproxy.py\n");
        return 2;
    }
    g.proxy_script = argv[1];
    g.endpoint = getenv("IBS_TEST_S3_ENDPOINT");
    if (!bucket || !*bucket || !g.endpoint || !*g.endpoint) {
        fprintf(stderr, "store_faults: needs IBS_TEST_S3_ENDPOINT and IBS_TEST_S3_BUCKET "
                        "(run it through tests/integration/with-s3)\n");
        return 2;
    }
    snprintf(g.url, sizeof(g.url), "s3://%s/store-faults", bucket);
    snprintf(g.run, sizeof(g.run), "run-%ld-%lld/", (long)getpid(), (long long)time(NULL));
    {
        /* A build without the S3 driver skips rather than fails (ctest code 77). */
        struct store_opts opts = {.url = g.url};
        struct store *store = NULL;
        struct ibs_err err;
        if (store_open(&opts, &store, &err) != 0 && strstr(err.msg, "no S3 driver")) {
            fprintf(stderr, "store_faults: skipped: %s\n", err.msg);
            return 77;
        }
        store_close(store);
    }
    return cmocka_run_group_tests_name("store_faults", tests, NULL, NULL);
}
