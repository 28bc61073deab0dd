/* The S3 driver against the loopback emulator (run under tests/integration/with-s3,
 * which exports IBS_TEST_S3_ENDPOINT, IBS_TEST_S3_BUCKET and the AWS_* key pair).
 *
 * Each test works under its own prefix. The story: small objects with awkward
 * keys, ranged reads, a multipart stream of a few hundred MB read back by
 * parallel ranged GETs and compared by SHA-256, a listing of more than 1,000
 * keys (pagination) and their batch delete, and the error messages for a
 * wrong secret and a missing bucket. IBS_TEST_S3_STREAM_MB sets the stream size. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "common/log.h"
#include "s3/s3.h"
#include "s3/store.h"

#define MIB (1u << 20)

static char bucket[128];
static char endpoint[256];
static char run_prefix[64];

static void open_store(const char *sub, const struct store_opts *extra, struct store **out)
{
    char url[512];
    struct store_opts opts = extra ? *extra : (struct store_opts){0};
    struct ibs_err err;

    snprintf(url, sizeof(url), "s3://%s/%s/%s", opts.url ? opts.url : bucket, run_prefix, sub);
    opts.url = url;
    opts.endpoint = endpoint;
    opts.debug = getenv("IBS_TEST_S3_DEBUG") != NULL;
    ibs_err_clear(&err);
    int rc = store_open(&opts, out, &err);
    if (rc)
        fail_msg("store_open %s: %s", url, err.msg);
}

/* Deterministic bytes: a function of the offset, so any range can be regenerated. */
static void fill(unsigned char *buf, uint64_t offset, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        uint64_t x = (offset + i) / 8 * 0x9E3779B97F4A7C15ull;
        x ^= x >> 29;
        buf[i] = (unsigned char)(x >> (8 * ((offset + i) % 8)));
    }
}

static void test_small_objects(void **state)
{
    (void)state;
    struct store *s;
    struct ibs_err err;
    const char *keys[] = {"plain", "dir/a b+c=d%e&f", "caf\xc3\xa9/\xe6\x97\xa5\xe6\x9c\xac.txt",
                          "x/~tilde_(1)*'!"};
    open_store("small", NULL, &s);
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        char body[64];
        int n = snprintf(body, sizeof(body), "object %zu: %s", i, keys[i]);
        assert_int_equal(store_put(s, keys[i], body, (size_t)n, &err), 0);

        void *data = NULL;
        size_t len = 0;
        int rc = store_get(s, keys[i], &data, &len, &err);
        if (rc)
            fail_msg("get %s: %s", keys[i], err.msg);
        assert_int_equal(len, (size_t)n);
        assert_memory_equal(data, body, len);
        free(data);

        struct store_stat st;
        assert_int_equal(store_head(s, keys[i], &st, &err), 0);
        assert_int_equal(st.size, (uint64_t)n);
        assert_true(st.mtime > 0);
        assert_true(st.etag[0] != '\0');
    }
    /* An empty object. */
    assert_int_equal(store_put(s, "empty", "", 0, &err), 0);
    void *data = NULL;
    size_t len = 1;
    assert_int_equal(store_get(s, "empty", &data, &len, &err), 0);
    assert_int_equal(len, 0);
    free(data);

    /* Missing objects. */
    struct store_stat st;
    assert_int_equal(store_head(s, "no/such/key", &st, &err), IBS_E_NOTFOUND);
    assert_int_equal(store_get(s, "no/such/key", &data, &len, &err), IBS_E_NOTFOUND);
    assert_non_null(strstr(err.msg, "no/such/key"));

    /* Delete, and deleting again (absent) both succeed. */
    assert_int_equal(store_delete(s, "plain", &err), 0);
    assert_int_equal(store_delete(s, "plain", &err), 0);
    assert_int_equal(store_head(s, "plain", &st, &err), IBS_E_NOTFOUND);
    store_close(s);
}

static void test_ranged_get(void **state)
{
    (void)state;
    struct store *s;
    struct ibs_err err;
    unsigned char obj[10000], buf[3000];
    fill(obj, 0, sizeof(obj));
    open_store("range", NULL, &s);
    assert_int_equal(store_put(s, "r", obj, sizeof(obj), &err), 0);

    assert_int_equal(store_get_range(s, "r", 1234, buf, sizeof(buf), &err), 0);
    assert_memory_equal(buf, obj + 1234, sizeof(buf));
    assert_int_equal(store_get_range(s, "r", 9999, buf, 1, &err), 0);
    assert_int_equal(buf[0], obj[9999]);
    /* A range past the end is an integrity error: the object is shorter than expected. */
    int rc = store_get_range(s, "r", 9000, buf, 2000, &err);
    assert_int_equal(rc, IBS_E_INTEGRITY);
    rc = store_get_range(s, "r", 20000, buf, 10, &err);
    assert_int_equal(rc, IBS_E_INTEGRITY);
    store_close(s);
}

static void test_stream_roundtrip(void **state)
{
    (void)state;
    struct store *s;
    struct store_writer *w;
    struct ibs_err err;
    const char *env_mb = getenv("IBS_TEST_S3_STREAM_MB");
    uint64_t total = (uint64_t)(env_mb ? strtoull(env_mb, NULL, 10) : 300) * MIB + 12345;
    const size_t part = 8 * MIB;
    struct store_opts opts = {.part_size = part, .parts_in_flight = 4};
    unsigned char want[65], got[65];
    unsigned int dlen;

    open_store("stream", &opts, &s);
    assert_int_equal(store_writer_open(s, "backups/x/data.0001", &w, &err), 0);
    assert_int_equal(store_writer_capacity(w), (uint64_t)part * STORE_S3_MAX_PARTS);

    /* Odd-sized writes so parts never align with them. */
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_DigestInit_ex(md, EVP_sha256(), NULL);
    size_t chunk = 777777;
    unsigned char *buf = malloc(chunk);
    assert_non_null(buf);
    for (uint64_t off = 0; off < total;) {
        size_t n = total - off < chunk ? (size_t)(total - off) : chunk;
        fill(buf, off, n);
        EVP_DigestUpdate(md, buf, n);
        int rc = store_writer_write(w, buf, n, &err);
        if (rc)
            fail_msg("write at %llu: %s", (unsigned long long)off, err.msg);
        off += n;
        assert_int_equal(store_writer_offset(w), off);
    }
    EVP_DigestFinal_ex(md, want, &dlen);
    int rc = store_writer_commit(w, &err);
    if (rc)
        fail_msg("commit: %s", err.msg);

    struct store_stat st;
    assert_int_equal(store_head(s, "backups/x/data.0001", &st, &err), 0);
    assert_int_equal(st.size, total);

    /* Read back with parallel ranged GETs of 8 MiB, hashed in order. */
    size_t n_ranges = (size_t)((total + part - 1) / part);
    struct store_range *ranges = calloc(n_ranges, sizeof(*ranges));
    unsigned char *back = malloc(total);
    assert_non_null(ranges);
    assert_non_null(back);
    for (size_t i = 0; i < n_ranges; i++) {
        ranges[i].key = "backups/x/data.0001";
        ranges[i].offset = (uint64_t)i * part;
        ranges[i].len = (size_t)(total - ranges[i].offset < part ? total - ranges[i].offset : part);
        ranges[i].buf = back + ranges[i].offset;
    }
    rc = store_get_ranges(s, ranges, n_ranges, &err);
    if (rc)
        fail_msg("get_ranges: %s", err.msg);
    EVP_DigestInit_ex(md, EVP_sha256(), NULL);
    EVP_DigestUpdate(md, back, total);
    EVP_DigestFinal_ex(md, got, &dlen);
    assert_memory_equal(got, want, dlen);

    /* A stream smaller than a part is a single PUT; an empty one too. */
    assert_int_equal(store_writer_open(s, "small", &w, &err), 0);
    assert_int_equal(store_writer_write(w, back, 1000, &err), 0);
    assert_int_equal(store_writer_commit(w, &err), 0);
    assert_int_equal(store_head(s, "small", &st, &err), 0);
    assert_int_equal(st.size, 1000);
    assert_int_equal(store_writer_open(s, "empty", &w, &err), 0);
    assert_int_equal(store_writer_commit(w, &err), 0);
    assert_int_equal(store_head(s, "empty", &st, &err), 0);
    assert_int_equal(st.size, 0);

    /* An aborted writer leaves no object, whether it had started a multipart upload or not. */
    assert_int_equal(store_writer_open(s, "aborted", &w, &err), 0);
    for (size_t done = 0; done < 2 * part + 5; done += chunk)
        assert_int_equal(store_writer_write(w, buf, chunk, &err), 0);
    store_writer_abort(w);
    assert_int_equal(store_head(s, "aborted", &st, &err), IBS_E_NOTFOUND);

    free(back);
    free(ranges);
    free(buf);
    EVP_MD_CTX_free(md);
    store_close(s);
}

struct listing {
    size_t count;
    char last[256];
    bool sorted;
    bool relative;
};

static int count_entry(void *ctx, const struct store_entry *e)
{
    struct listing *l = ctx;
    if (l->count && strcmp(e->key, l->last) <= 0)
        l->sorted = false;
    if (strncmp(e->key, "k/", 2) != 0)
        l->relative = false;
    snprintf(l->last, sizeof(l->last), "%s", e->key);
    l->count++;
    return 0;
}

static int stop_at_ten(void *ctx, const struct store_entry *e)
{
    (void)e;
    size_t *n = ctx;
    return ++*n == 10 ? 42 : 0;
}

static void test_list_and_batch_delete(void **state)
{
    (void)state;
    struct store *s;
    struct ibs_err err;
    enum { N = 1100 };
    static char names[N][32];
    const char *keys[N];

    int rc;
    open_store("list", NULL, &s);
    for (int i = 0; i < N; i++) {
        snprintf(names[i], sizeof(names[i]), "k/%05d", i);
        keys[i] = names[i];
        rc = store_put(s, keys[i], "x", 1, &err);
        if (rc)
            fail_msg("put %s: %s", keys[i], err.msg);
    }
    struct listing l = {.sorted = true, .relative = true};
    rc = store_list(s, "k/", count_entry, &l, &err);
    if (rc)
        fail_msg("list: %s", err.msg);
    assert_int_equal(l.count, N);
    assert_true(l.sorted);
    assert_true(l.relative);
    assert_string_equal(l.last, "k/01099");

    /* The callback's non-zero result stops the listing and is returned as is. */
    size_t seen = 0;
    assert_int_equal(store_list(s, "", stop_at_ten, &seen, &err), 42);
    assert_int_equal(seen, 10);

    rc = store_delete_many(s, keys, N, &err);
    if (rc)
        fail_msg("delete_many: %s", err.msg);
    struct listing after = {.sorted = true, .relative = true};
    assert_int_equal(store_list(s, "k/", count_entry, &after, &err), 0);
    assert_int_equal(after.count, 0);
    store_close(s);
}

static void test_wrong_secret(void **state)
{
    (void)state;
    struct store *s;
    struct ibs_err err;
    struct store_opts opts = {
        .access_key = getenv("AWS_ACCESS_KEY_ID"),
        .secret_key = "not-the-secret-key-of-this-pair",
        .retries = 1,
    };
    open_store("auth", &opts, &s);
    int rc = store_put(s, "x", "x", 1, &err);
    assert_int_equal(rc, IBS_E_STORAGE);
    print_message("wrong secret: %s\n", err.msg);
    assert_non_null(strstr(err.msg, "403 SignatureDoesNotMatch"));
    assert_non_null(strstr(err.msg, "the secret key does not match the access key"));
    assert_non_null(strstr(err.msg, "explicit options"));
    assert_null(strstr(err.msg, "not-the-secret-key-of-this-pair"));
    store_close(s);
}

static void test_missing_bucket(void **state)
{
    (void)state;
    struct store *s;
    struct ibs_err err;
    struct store_opts opts = {.url = "ibstream-no-such-bucket"};
    open_store("nb", &opts, &s);
    int rc = store_put(s, "x", "x", 1, &err);
    print_message("missing bucket: %s\n", err.msg);
    assert_int_equal(rc, IBS_E_STORAGE);
    assert_non_null(strstr(err.msg, "NoSuchBucket"));
    assert_non_null(
        strstr(err.msg, "bucket ibstream-no-such-bucket does not exist: create it or fix --repo"));
    store_close(s);
}

static int count_upload(void *ctx, const struct store_upload *u)
{
    (void)u;
    ++*(size_t *)ctx;
    return 0;
}

/* The emulator implements neither ListMultipartUploads nor AbortMultipartUpload:
 * their NotImplemented answer must come out as a clear error, not a crash. */
static void test_uploads_housekeeping(void **state)
{
    (void)state;
    struct store *s;
    struct ibs_err err;
    size_t n = 0;
    open_store("uploads", NULL, &s);
    int rc = store_list_uploads(s, "", count_upload, &n, &err);
    if (rc) {
        print_message("list_uploads (emulator gap): %s\n", err.msg);
        assert_int_equal(rc, IBS_E_STORAGE);
        assert_non_null(strstr(err.msg, "LIST UPLOADS"));
    }
    rc = store_abort_upload(s, "k", "no-such-upload-id", &err);
    if (rc) {
        print_message("abort_upload (emulator gap): %s\n", err.msg);
        assert_int_equal(rc, IBS_E_STORAGE);
    }
    store_close(s);
}

static void test_credentials_source(void **state)
{
    (void)state;
    char source[512];
    struct ibs_err err;
    struct store_opts opts = {.url = "s3://b"};
    assert_int_equal(s3_credentials_source(&opts, source, sizeof(source), &err), 0);
    assert_string_equal(source, "environment");
}

int main(void)
{
    const char *e = getenv("IBS_TEST_S3_ENDPOINT");
    const char *b = getenv("IBS_TEST_S3_BUCKET");
    if (!e || !b) {
        fprintf(stderr, "s3_store: IBS_TEST_S3_ENDPOINT and IBS_TEST_S3_BUCKET are not set: "
                        "run under tests/integration/with-s3\n");
        return 2;
    }
    snprintf(endpoint, sizeof(endpoint), "%s", e);
    snprintf(bucket, sizeof(bucket), "%s", b);
    snprintf(run_prefix, sizeof(run_prefix), "s3_store-%ld-%d", (long)time(NULL), (int)getpid());

    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_credentials_source),
        cmocka_unit_test(test_small_objects),
        cmocka_unit_test(test_ranged_get),
        cmocka_unit_test(test_stream_roundtrip),
        cmocka_unit_test(test_list_and_batch_delete),
        cmocka_unit_test(test_wrong_secret),
        cmocka_unit_test(test_missing_bucket),
        cmocka_unit_test(test_uploads_housekeeping),
    };
    return cmocka_run_group_tests_name("s3_store", tests, NULL, NULL);
}
