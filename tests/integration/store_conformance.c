/* Store conformance: the same checks of the public store API against any
 * driver, so the local directory and S3 keep one semantics.
 *
 * Usage: store_conformance URL | --local-tmp | --s3
 *   URL          any repository URL store_open accepts
 *   --local-tmp  a fresh temporary directory, removed at the end
 *   --s3         s3://$IBS_TEST_S3_BUCKET/store-conformance (tests/integration/with-s3)
 * S3 settings come from IBS_TEST_S3_ENDPOINT, AWS_ACCESS_KEY_ID,
 * AWS_SECRET_ACCESS_KEY and AWS_REGION. Every key lives under a prefix unique
 * to the run, deleted at the end. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

#include "s3/store.h"

#define MIB (1024u * 1024u)

static struct {
    char url[PATH_MAX + 64];
    char tmpdir[PATH_MAX]; /* --local-tmp only */
    struct store_opts opts;
    struct store *store;
    char run[96]; /* "conformance-<pid>-<time>/": this run's keys */
} g;

/* The run's key for name, in one of a few rotating buffers. */
static const char *key(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static const char *key(const char *fmt, ...)
{
    static char bufs[8][512];
    static unsigned next;
    char *buf = bufs[next++ % 8];
    size_t n = (size_t)snprintf(buf, sizeof(bufs[0]), "%s", g.run);
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(buf + n, sizeof(bufs[0]) - n, fmt, ap);
    va_end(ap);
    return buf;
}

/* Deterministic bytes by position, so any range can be checked alone. */
static uint64_t splitmix64(uint64_t x)
{
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

static void fill(unsigned char *buf, uint64_t offset, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        uint64_t at = offset + i;
        buf[i] = (unsigned char)(splitmix64(at >> 3) >> ((at & 7) * 8));
    }
}

/* Fails the test with the store's message if call (which fills err) fails. */
#define CHECK_OK(call)                                                                             \
    do {                                                                                           \
        if ((call) != 0)                                                                           \
            fail_msg("%s: %s: %s", #call, ibs_code_name(err.code), err.msg);                       \
    } while (0)

struct keys {
    char **v;
    size_t n, cap;
};

static int collect(void *ctx, const struct store_entry *entry)
{
    struct keys *k = ctx;

    if (k->n == k->cap) {
        k->cap = k->cap ? 2 * k->cap : 256;
        k->v = realloc(k->v, k->cap * sizeof(*k->v));
        assert_non_null(k->v);
    }
    k->v[k->n] = strdup(entry->key);
    assert_non_null(k->v[k->n]);
    k->n++;
    return 0;
}

static void keys_free(struct keys *k)
{
    for (size_t i = 0; i < k->n; i++)
        free(k->v[i]);
    free(k->v);
    memset(k, 0, sizeof(*k));
}

static void list_keys(const char *prefix, struct keys *out)
{
    struct ibs_err err;
    memset(out, 0, sizeof(*out));
    CHECK_OK(store_list(g.store, prefix, collect, out, &err));
}

static void test_put_get_head_delete(void **state)
{
    struct ibs_err err;
    struct store_stat st;
    struct keys k;
    void *data;
    size_t len;

    assert_int_equal(store_get(g.store, key("small/absent"), &data, &len, &err), IBS_E_NOTFOUND);
    assert_int_equal(store_head(g.store, key("small/absent"), &st, &err), IBS_E_NOTFOUND);
    CHECK_OK(store_delete(g.store, key("small/absent"), &err));

    CHECK_OK(store_put(g.store, key("small/manifest"), "{\"v\":1}", 7, &err));
    CHECK_OK(store_get(g.store, key("small/manifest"), &data, &len, &err));
    assert_int_equal(len, 7);
    assert_memory_equal(data, "{\"v\":1}", 7);
    free(data);
    CHECK_OK(store_head(g.store, key("small/manifest"), &st, &err));
    assert_int_equal(st.size, 7);
    assert_true(st.mtime > 0);

    /* Replacing is whole. */
    CHECK_OK(store_put(g.store, key("small/manifest"), "{\"v\":22}", 8, &err));
    CHECK_OK(store_get(g.store, key("small/manifest"), &data, &len, &err));
    assert_int_equal(len, 8);
    assert_memory_equal(data, "{\"v\":22}", 8);
    free(data);

    CHECK_OK(store_put(g.store, key("small/empty"), "", 0, &err));
    CHECK_OK(store_head(g.store, key("small/empty"), &st, &err));
    assert_int_equal(st.size, 0);

    list_keys(key("small/"), &k);
    assert_int_equal(k.n, 2);
    assert_string_equal(k.v[0], key("small/empty"));
    assert_string_equal(k.v[1], key("small/manifest"));
    keys_free(&k);

    /* A short object is an integrity error, an absent one not found. */
    {
        char buf[16];
        assert_int_equal(store_get_range(g.store, key("small/manifest"), 4, buf, 8, &err),
                         IBS_E_INTEGRITY);
        assert_int_equal(store_get_range(g.store, key("small/absent"), 0, buf, 1, &err),
                         IBS_E_NOTFOUND);
        CHECK_OK(store_get_range(g.store, key("small/manifest"), 2, buf, 3, &err));
        assert_memory_equal(buf, "v\":", 3);
    }

    CHECK_OK(store_delete(g.store, key("small/manifest"), &err));
    CHECK_OK(store_delete(g.store, key("small/empty"), &err));
    assert_int_equal(store_head(g.store, key("small/manifest"), &st, &err), IBS_E_NOTFOUND);
    list_keys(key("small/"), &k);
    assert_int_equal(k.n, 0);
    keys_free(&k);
}

/* Exclusive creation, where the store offers it: the first put creates, a
 * second leaves the object as it was; after a delete it creates again. */
static void test_put_new(void **state)
{
    struct ibs_err err;
    void *data;
    size_t len;
    bool created = false;

    if (!store_has_put_new(g.store)) {
        skip(); /* S3 before conditional writes: the lock reads back instead */
        return;
    }
    CHECK_OK(store_put_new(g.store, key("excl/lock"), "first", 5, &created, &err));
    assert_true(created);
    CHECK_OK(store_put_new(g.store, key("excl/lock"), "second", 6, &created, &err));
    assert_false(created);
    CHECK_OK(store_get(g.store, key("excl/lock"), &data, &len, &err));
    assert_int_equal(len, 5);
    assert_memory_equal(data, "first", 5);
    free(data);
    CHECK_OK(store_delete(g.store, key("excl/lock"), &err));
    CHECK_OK(store_put_new(g.store, key("excl/lock"), "third", 5, &created, &err));
    assert_true(created);
    CHECK_OK(store_delete(g.store, key("excl/lock"), &err));
    struct keys k;
    list_keys(key("excl/"), &k);
    assert_int_equal(k.n, 0);
    keys_free(&k);
}

/* ~100 MB through a writer, in odd-sized writes over many parts; read back
 * by get_ranges in batches and compared by XXH3 and byte by byte. */
static void test_streaming_writer_100mb(void **state)
{
    const uint64_t total = 100ull * MIB + 4321;
    const size_t chunk = MIB + 13, range_len = 4 * MIB;
    enum { BATCH = 4 };
    unsigned char *buf = malloc(chunk), *back[BATCH], *want = malloc(range_len);
    XXH3_state_t *in = XXH3_createState(), *out = XXH3_createState();
    struct store_range ranges[BATCH];
    struct store_writer *w;
    struct store_stat st;
    struct keys k;
    struct ibs_err err;
    const char *obj = key("stream/data.0001");
    uint64_t at = 0;

    assert_non_null(buf);
    assert_non_null(want);
    assert_non_null(in);
    assert_non_null(out);
    XXH3_64bits_reset(in);
    XXH3_64bits_reset(out);
    for (int i = 0; i < BATCH; i++) {
        back[i] = malloc(range_len);
        assert_non_null(back[i]);
    }

    CHECK_OK(store_writer_open(g.store, obj, &w, &err));
    assert_true(store_writer_capacity(w) >= total);
    while (at < total) {
        size_t n = total - at < chunk ? (size_t)(total - at) : chunk;
        fill(buf, at, n);
        XXH3_64bits_update(in, buf, n);
        if (store_writer_write(w, buf, n, &err) != 0) {
            store_writer_abort(w);
            fail_msg("write at %llu: %s", (unsigned long long)at, err.msg);
        }
        at += n;
        assert_int_equal(store_writer_offset(w), at);
        /* Invisible while being written, even with parts uploaded. */
        if (at >= 40ull * MIB && at - n < 40ull * MIB) {
            assert_int_equal(store_head(g.store, obj, &st, &err), IBS_E_NOTFOUND);
            list_keys(key("stream/"), &k);
            assert_int_equal(k.n, 0);
            keys_free(&k);
        }
    }
    CHECK_OK(store_writer_commit(w, &err));
    CHECK_OK(store_head(g.store, obj, &st, &err));
    assert_int_equal(st.size, total);

    for (uint64_t off = 0; off < total;) {
        size_t n = 0;
        for (; n < BATCH && off < total; n++) {
            ranges[n].key = obj;
            ranges[n].offset = off;
            ranges[n].len = total - off < range_len ? (size_t)(total - off) : range_len;
            ranges[n].buf = back[n];
            off += ranges[n].len;
        }
        CHECK_OK(store_get_ranges(g.store, ranges, n, &err));
        for (size_t i = 0; i < n; i++) {
            XXH3_64bits_update(out, back[i], ranges[i].len);
            fill(want, ranges[i].offset, ranges[i].len);
            if (memcmp(want, back[i], ranges[i].len) != 0)
                fail_msg("bytes differ in [%llu, +%zu)", (unsigned long long)ranges[i].offset,
                         ranges[i].len);
        }
    }
    assert_int_equal(XXH3_64bits_digest(in), XXH3_64bits_digest(out));

    /* A read across the end is short. */
    assert_int_equal(store_get_range(g.store, obj, total - 10, back[0], 20, &err), IBS_E_INTEGRITY);
    CHECK_OK(store_delete(g.store, obj, &err));
    for (int i = 0; i < BATCH; i++)
        free(back[i]);
    free(buf);
    free(want);
    XXH3_freeState(in);
    XXH3_freeState(out);
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

static void test_abort_leaves_nothing(void **state)
{
    const size_t n = 3 * MIB + 7;
    unsigned char *buf = malloc(n);
    const char *obj = key("abort/data.0001");
    struct uploads_of_key u = {.key = obj};
    struct store_writer *w;
    struct store_stat st;
    struct keys k;
    struct ibs_err err;
    int rc;

    assert_non_null(buf);
    fill(buf, 0, n);
    CHECK_OK(store_writer_open(g.store, obj, &w, &err));
    /* Several parts' worth, so an S3 multipart upload exists. */
    for (int i = 0; i < 8; i++)
        CHECK_OK(store_writer_write(w, buf, n, &err));
    store_writer_abort(w);

    assert_int_equal(store_head(g.store, obj, &st, &err), IBS_E_NOTFOUND);
    list_keys(key("abort/"), &k);
    assert_int_equal(k.n, 0);
    keys_free(&k);
    rc = store_list_uploads(g.store, key("abort/"), see_upload, &u, &err);
    if (rc != 0 && strcmp(store_kind(g.store), "s3") == 0 && strstr(err.msg, "NotImplemented"))
        print_message("note: this S3 endpoint cannot list uploads: %s\n", err.msg);
    else if (rc != 0)
        fail_msg("list_uploads: %s", err.msg);
    else
        assert_int_equal(u.n, 0);

    /* A committed empty writer is an empty object. */
    CHECK_OK(store_writer_open(g.store, key("abort/empty"), &w, &err));
    CHECK_OK(store_writer_commit(w, &err));
    CHECK_OK(store_head(g.store, key("abort/empty"), &st, &err));
    assert_int_equal(st.size, 0);
    CHECK_OK(store_delete(g.store, key("abort/empty"), &err));
    free(buf);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* More keys than one S3 listing page (1000), listed in key order across
 * pages; delete_many removes them all. */
static void test_listing_over_1000_keys(void **state)
{
    enum { N = 1050 };
    char **want = calloc(N, sizeof(*want));
    struct keys k;
    struct ibs_err err;

    assert_non_null(want);
    for (int i = 0; i < N; i++) {
        int id = (i * 7919) % N; /* not in key order */
        want[i] = strdup(key("list/k%04d", id));
        CHECK_OK(store_put(g.store, want[i], want[i], strlen(want[i]), &err));
    }
    qsort(want, N, sizeof(*want), cmp_str);

    list_keys(key("list/"), &k);
    assert_int_equal(k.n, N);
    for (size_t i = 0; i < N; i++)
        assert_string_equal(k.v[i], want[i]);
    keys_free(&k);
    list_keys(key("list/k01"), &k);
    assert_int_equal(k.n, 100);
    assert_string_equal(k.v[0], key("list/k0100"));
    assert_string_equal(k.v[99], key("list/k0199"));
    keys_free(&k);

    CHECK_OK(store_delete_many(g.store, (const char *const *)want, N, &err));
    list_keys(key("list/"), &k);
    assert_int_equal(k.n, 0);
    keys_free(&k);
    for (size_t i = 0; i < N; i++)
        free(want[i]);
    free(want);
}

/* S3 lists bytewise by the whole key: '-' < '.' < '/' < '0'. The loopback
 * emulator (s3rver) walks its folders and lists "a/b" before "a-b", so the
 * check runs against real S3 and the local driver only. */
static void test_listing_order_around_slash(void **state)
{
    static const char *const names[] = {"a-b", "a.b", "a/b", "a0", "m/x-1", "m/x/y", "m/x0"};
    const size_t n = sizeof(names) / sizeof(names[0]);
    const char *endpoint = getenv("IBS_TEST_S3_ENDPOINT");
    const char *keys_put[sizeof(names) / sizeof(names[0])];
    struct keys k;
    struct ibs_err err;

    if (strcmp(store_kind(g.store), "s3") == 0 && endpoint && strstr(endpoint, "://127.0.0.1")) {
        print_message("note: skipped against the loopback emulator (its listing order "
                      "differs from S3's)\n");
        skip();
    }
    for (size_t i = 0; i < n; i++) {
        keys_put[i] = strdup(key("order/%s", names[i]));
        CHECK_OK(store_put(g.store, keys_put[i], "t", 1, &err));
    }
    list_keys(key("order/"), &k);
    assert_int_equal(k.n, n);
    for (size_t i = 0; i < n; i++)
        assert_string_equal(k.v[i], keys_put[i]); /* names[] is in S3 order */
    keys_free(&k);
    list_keys(key("order/m/"), &k);
    assert_int_equal(k.n, 3);
    assert_string_equal(k.v[1], key("order/m/x/y"));
    keys_free(&k);
    CHECK_OK(store_delete_many(g.store, keys_put, n, &err));
    for (size_t i = 0; i < n; i++)
        free((char *)keys_put[i]);
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    return remove(path);
}

/* Deletes whatever this run left (after a failed check). */
static int cleanup_run(void **state)
{
    struct keys k;
    struct ibs_err err;

    if (!g.store)
        return 0;
    memset(&k, 0, sizeof(k));
    if (store_list(g.store, g.run, collect, &k, &err) == 0 && k.n > 0 &&
        store_delete_many(g.store, (const char *const *)k.v, k.n, &err) != 0)
        fprintf(stderr, "cleanup of %s%s: %s\n", store_url(g.store), g.run, err.msg);
    keys_free(&k);
    store_close(g.store);
    g.store = NULL;
    if (g.tmpdir[0])
        nftw(g.tmpdir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
    return 0;
}

static int open_store(void **state)
{
    struct ibs_err err;

    if (store_open(&g.opts, &g.store, &err) != 0) {
        fprintf(stderr, "store_open %s: %s\n", g.url, err.msg);
        /* A build without the S3 driver skips rather than fails (ctest code 77). */
        if (strstr(err.msg, "no S3 driver"))
            exit(77);
        return -1;
    }
    printf("store: %s (%s), run prefix %s\n", store_url(g.store), store_kind(g.store), g.run);
    return 0;
}

static int usage(void)
{
    fprintf(stderr, "usage: store_conformance URL | --local-tmp | --s3\n");
    return 2;
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_put_get_head_delete),
        cmocka_unit_test(test_put_new),
        cmocka_unit_test(test_streaming_writer_100mb),
        cmocka_unit_test(test_abort_leaves_nothing),
        cmocka_unit_test(test_listing_over_1000_keys),
        cmocka_unit_test(test_listing_order_around_slash),
    };
    const char *tmp = getenv("TMPDIR");

    if (argc != 2)
        return usage();
    if (strcmp(argv[1], "--local-tmp") == 0) {
        snprintf(g.tmpdir, sizeof(g.tmpdir), "%s/ibs-conformance-XXXXXX",
                 tmp && *tmp ? tmp : "/tmp");
        if (!mkdtemp(g.tmpdir)) {
            perror(g.tmpdir);
            return 1;
        }
        /* The root itself does not exist yet: the first write makes it. */
        snprintf(g.url, sizeof(g.url), "file://%s/repo", g.tmpdir);
    } else if (strcmp(argv[1], "--s3") == 0) {
        const char *bucket = getenv("IBS_TEST_S3_BUCKET");
        if (!bucket || !*bucket) {
            fprintf(stderr, "store_conformance: --s3 needs IBS_TEST_S3_BUCKET "
                            "(run it through tests/integration/with-s3)\n");
            return 2;
        }
        snprintf(g.url, sizeof(g.url), "s3://%s/store-conformance", bucket);
    } else if (argv[1][0] == '-') {
        return usage();
    } else {
        snprintf(g.url, sizeof(g.url), "%s", argv[1]);
    }
    g.opts.url = g.url;
    if (strncmp(g.url, "s3://", 5) == 0) {
        g.opts.endpoint = getenv("IBS_TEST_S3_ENDPOINT");
        g.opts.region = getenv("AWS_REGION");
        g.opts.access_key = getenv("AWS_ACCESS_KEY_ID");
        g.opts.secret_key = getenv("AWS_SECRET_ACCESS_KEY");
    }
    /* Small parts: the 100 MB object spans more than a dozen of them. */
    g.opts.part_size = 8 * MIB;
    snprintf(g.run, sizeof(g.run), "conformance-%ld-%lld/", (long)getpid(), (long long)time(NULL));
    return cmocka_run_group_tests_name("store_conformance", tests, open_store, cleanup_run);
}
