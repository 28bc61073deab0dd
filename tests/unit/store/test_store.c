/* Unit tests for the object-store front end (URL parsing, key checks) and
 * the local-directory driver's semantics, in a temporary directory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "s3/store.h"

struct fixture {
    char dir[PATH_MAX];       /* the temporary directory */
    char root[PATH_MAX + 16]; /* the repository root inside it, created on first write */
    struct store *store;
};

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    return remove(path);
}

static void rm_rf(const char *path)
{
    nftw(path, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    const char *tmp = getenv("TMPDIR");
    struct store_opts opts = {0};
    struct ibs_err err;

    assert_non_null(f);
    snprintf(f->dir, sizeof(f->dir), "%s/ibs-store-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->root, sizeof(f->root), "%s/repo", f->dir);
    opts.url = f->root;
    if (store_open(&opts, &f->store, &err) != 0)
        fail_msg("store_open: %s", err.msg);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    store_close(f->store);
    rm_rf(f->dir);
    free(f);
    return 0;
}

/* Opens url; returns the code, and the canonical URL in out if it opened. */
static int open_url(const char *url, char *out, size_t size, struct ibs_err *err)
{
    struct store_opts opts = {.url = url};
    struct store *store = NULL;
    int rc = store_open(&opts, &store, err);

    if (rc == 0) {
        snprintf(out, size, "%s", store_url(store));
        assert_string_equal(store_kind(store), "local");
        store_close(store);
    }
    return rc;
}

static void test_url_local_forms(void **state)
{
    char got[PATH_MAX], want[PATH_MAX * 2], cwd[PATH_MAX];
    struct ibs_err err;

    assert_int_equal(open_url("file:///var/backups/db/", got, sizeof(got), &err), 0);
    assert_string_equal(got, "file:///var/backups/db");
    assert_int_equal(open_url("/var//backups/./db/", got, sizeof(got), &err), 0);
    assert_string_equal(got, "file:///var/backups/db");
    assert_int_equal(open_url("file:///", got, sizeof(got), &err), 0);
    assert_string_equal(got, "file:///");

    assert_non_null(getcwd(cwd, sizeof(cwd)));
    assert_int_equal(open_url("rel/dir", got, sizeof(got), &err), 0);
    snprintf(want, sizeof(want), "file://%s/rel/dir", strcmp(cwd, "/") == 0 ? "" : cwd);
    assert_string_equal(got, want);
    assert_int_equal(open_url(".", got, sizeof(got), &err), 0);
    snprintf(want, sizeof(want), "file://%s", cwd);
    assert_string_equal(got, want);
}

static void test_url_bad_forms(void **state)
{
    static const char *const bad[] = {
        "gs://bucket/x",
        "http://127.0.0.1/x",
        "file://host/path",
        "file://",
        "s3://",
        "s3:///prefix",
        "s3://ab",
        "s3://bu cket/x",
        "s3://bucket/a/../b",
        "/tmp/a\nb",
    };
    struct store_opts opts = {0};
    struct store *store = NULL;
    struct ibs_err err;
    char got[PATH_MAX];

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (open_url(bad[i], got, sizeof(got), &err) != IBS_E_USAGE)
            fail_msg("URL \"%s\" was accepted (or gave %d)", bad[i], err.code);
        /* The message names the accepted forms. */
        if (!strstr(err.msg, "s3://bucket"))
            fail_msg("URL \"%s\": message lacks the accepted forms: %s", bad[i], err.msg);
    }
    assert_int_equal(open_url("", got, sizeof(got), &err), IBS_E_USAGE);
    assert_int_equal(store_open(&opts, &store, &err), IBS_E_USAGE);
    assert_null(store);
    assert_non_null(strstr(err.msg, "no repository URL"));
    /* The bad URL is named. */
    assert_int_equal(open_url("gs://bucket/x", got, sizeof(got), &err), IBS_E_USAGE);
    assert_non_null(strstr(err.msg, "\"gs://bucket/x\""));
}

static void test_url_s3(void **state)
{
    struct store_opts opts = {
        .url = "s3://my-bucket//pre/fix/",
        .endpoint = "http://127.0.0.1:9",
        .region = "us-east-1",
        .access_key = "AKIDEXAMPLE",
        .secret_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
    };
    struct store *store = NULL;
    struct ibs_err err;

    if (store_open(&opts, &store, &err) != 0)
        fail_msg("store_open(%s): %s", opts.url, err.msg);
    assert_string_equal(store_kind(store), "s3");
    assert_string_equal(store_url(store), "s3://my-bucket/pre/fix");
    store_close(store);
    opts.url = "S3://my-bucket";
    if (store_open(&opts, &store, &err) != 0)
        fail_msg("store_open(%s): %s", opts.url, err.msg);
    assert_string_equal(store_url(store), "s3://my-bucket");
    store_close(store);
}

static void test_key_validation(void **state)
{
    struct fixture *f = *state;
    static const char *const bad[] = {"",
                                      "/abs",
                                      "a/../b",
                                      "..",
                                      "a//b",
                                      "a/",
                                      "a\tb",
                                      "./a",
                                      "a/.",
                                      "a\x7f"
                                      "b"};
    static const char *const good[] = {"a", "a.b/c..d", "..a", "b/c/d", "x y/z"};
    char long_key[1100];
    struct ibs_err err;
    void *data;
    size_t len;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (store_put(f->store, bad[i], "x", 1, &err) != IBS_E_USAGE)
            fail_msg("key \"%s\" was accepted", bad[i]);
        assert_int_equal(store_get(f->store, bad[i], &data, &len, &err), IBS_E_USAGE);
        assert_int_equal(store_delete(f->store, bad[i], &err), IBS_E_USAGE);
    }
    assert_int_equal(store_put(f->store, NULL, "x", 1, &err), IBS_E_USAGE);
    memset(long_key, 'k', sizeof(long_key) - 1);
    long_key[sizeof(long_key) - 1] = '\0';
    assert_int_equal(store_put(f->store, long_key, "x", 1, &err), IBS_E_USAGE);
    /* The upload area is reserved. */
    assert_int_equal(store_put(f->store, ".ibstream-tmp/x", "x", 1, &err), IBS_E_USAGE);
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        if (store_put(f->store, good[i], "x", 1, &err) != 0)
            fail_msg("key \"%s\": %s", good[i], err.msg);
    /* Prefixes may be empty or end in '/', not start with one. */
    assert_int_equal(store_list(f->store, "/a", NULL, NULL, &err), IBS_E_USAGE);
    assert_int_equal(store_list(f->store, "a/../", NULL, NULL, &err), IBS_E_USAGE);
}

static void test_put_get_head(void **state)
{
    struct fixture *f = *state;
    struct store_stat st, st2;
    struct ibs_err err;
    void *data;
    size_t len;

    assert_int_equal(store_get(f->store, "nothing", &data, &len, &err), IBS_E_NOTFOUND);
    assert_non_null(strstr(err.msg, "nothing"));
    assert_int_equal(store_head(f->store, "nothing", &st, &err), IBS_E_NOTFOUND);

    if (store_put(f->store, "ibstream.repo", "format 1\n", 9, &err) != 0)
        fail_msg("put: %s", err.msg);
    assert_int_equal(store_get(f->store, "ibstream.repo", &data, &len, &err), 0);
    assert_int_equal(len, 9);
    assert_memory_equal(data, "format 1\n", 9);
    free(data);
    assert_int_equal(store_head(f->store, "ibstream.repo", &st, &err), 0);
    assert_int_equal(st.size, 9);
    assert_true(st.mtime > 0);
    assert_true(strlen(st.etag) > 0);

    /* Replacing changes the etag and the content at once. */
    assert_int_equal(store_put(f->store, "ibstream.repo", "format 22\n", 10, &err), 0);
    assert_int_equal(store_head(f->store, "ibstream.repo", &st2, &err), 0);
    assert_int_equal(st2.size, 10);
    assert_string_not_equal(st.etag, st2.etag);

    /* Empty objects exist. */
    assert_int_equal(store_put(f->store, "empty", "", 0, &err), 0);
    assert_int_equal(store_get(f->store, "empty", &data, &len, &err), 0);
    assert_int_equal(len, 0);
    free(data);
    /* A folder of keys is not an object. */
    assert_int_equal(store_put(f->store, "dir/obj", "x", 1, &err), 0);
    assert_int_equal(store_head(f->store, "dir", &st, &err), IBS_E_NOTFOUND);
}

struct collected {
    char **keys;
    size_t n, cap;
    size_t stop_after; /* 0: never */
};

static int collect(void *ctx, const struct store_entry *entry)
{
    struct collected *c = ctx;

    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 64;
        c->keys = realloc(c->keys, c->cap * sizeof(*c->keys));
        assert_non_null(c->keys);
    }
    c->keys[c->n++] = strdup(entry->key);
    if (c->stop_after && c->n == c->stop_after)
        return 7;
    return 0;
}

static void collected_free(struct collected *c)
{
    for (size_t i = 0; i < c->n; i++)
        free(c->keys[i]);
    free(c->keys);
    memset(c, 0, sizeof(*c));
}

/* Lists prefix into c, failing the test on an error. */
static void list_into(struct store *store, const char *prefix, struct collected *c)
{
    struct ibs_err err;
    if (store_list(store, prefix, collect, c, &err) != 0)
        fail_msg("list %s: %s", prefix, err.msg);
}

static int cmp_key(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static size_t count_files(const char *dir);

static void test_list_order_and_prefixes(void **state)
{
    struct fixture *f = *state;
    static const char *const tricky[] = {"a-b",   "a/b", "a.b",   "a0",   "a/c/d-e",
                                         "a/b-c", "b",   "m/x-1", "m/x0", "m/x/y"};
    enum { N = 1100 };
    char *want[N + 10];
    struct collected c = {0};
    struct ibs_err err;
    size_t n = 0;

    list_into(f->store, "", &c); /* no root yet: nothing, no error */
    assert_int_equal(c.n, 0);

    for (int i = 0; i < N; i++) {
        char key[32];
        snprintf(key, sizeof(key), "k/%05d", (i * 7919) % N); /* out of order */
        assert_int_equal(store_put(f->store, key, key, strlen(key), &err), 0);
        want[n++] = strdup(key);
    }
    for (size_t i = 0; i < sizeof(tricky) / sizeof(tricky[0]); i++) {
        assert_int_equal(store_put(f->store, tricky[i], "t", 1, &err), 0);
        want[n++] = strdup(tricky[i]);
    }
    qsort(want, n, sizeof(*want), cmp_key);

    list_into(f->store, "", &c);
    assert_int_equal(c.n, n);
    for (size_t i = 0; i < n; i++)
        assert_string_equal(c.keys[i], want[i]);
    collected_free(&c);

    /* Bytewise order across folder boundaries: '-' < '.' < '/' < '0'. */
    list_into(f->store, "a", &c);
    assert_int_equal(c.n, 6);
    assert_string_equal(c.keys[0], "a-b");
    assert_string_equal(c.keys[1], "a.b");
    assert_string_equal(c.keys[2], "a/b");
    assert_string_equal(c.keys[3], "a/b-c");
    assert_string_equal(c.keys[4], "a/c/d-e");
    assert_string_equal(c.keys[5], "a0");
    collected_free(&c);
    list_into(f->store, "m/", &c);
    assert_int_equal(c.n, 3);
    assert_string_equal(c.keys[0], "m/x-1");
    assert_string_equal(c.keys[1], "m/x/y");
    assert_string_equal(c.keys[2], "m/x0");
    collected_free(&c);

    list_into(f->store, "a/b", &c);
    assert_int_equal(c.n, 2);
    collected_free(&c);
    list_into(f->store, "a/c/", &c);
    assert_int_equal(c.n, 1);
    assert_string_equal(c.keys[0], "a/c/d-e");
    collected_free(&c);
    list_into(f->store, "k/001", &c);
    assert_int_equal(c.n, 100);
    assert_string_equal(c.keys[0], "k/00100");
    assert_string_equal(c.keys[99], "k/00199");
    collected_free(&c);
    list_into(f->store, "zzz", &c);
    assert_int_equal(c.n, 0);

    /* The callback stops the walk and its value comes back. */
    c.stop_after = 5;
    assert_int_equal(store_list(f->store, "k/", collect, &c, &err), 7);
    assert_int_equal(c.n, 5);
    assert_string_equal(c.keys[4], "k/00004");
    collected_free(&c);

    for (size_t i = 0; i < n; i++)
        free(want[i]);
}

/* Regular files anywhere under dir, upload area included. */
static size_t files_found;
static int count_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    if (flag == FTW_F)
        files_found++;
    return 0;
}

static size_t count_files(const char *dir)
{
    files_found = 0;
    nftw(dir, count_one, 16, FTW_PHYS);
    return files_found;
}

static void fill_pattern(unsigned char *buf, size_t len, uint64_t offset)
{
    for (size_t i = 0; i < len; i++) {
        uint64_t x = (offset + i) * 0x9E3779B97F4A7C15ull;
        buf[i] = (unsigned char)(x >> 56);
    }
}

/* The uploads listed under a prefix: how many, and a copy of the last one. */
struct uploads_seen {
    size_t n;
    char key[256], id[128];
    time_t initiated;
};

static int see_upload(void *ctx, const struct store_upload *upload)
{
    struct uploads_seen *seen = ctx;

    seen->n++;
    snprintf(seen->key, sizeof(seen->key), "%s", upload->key);
    snprintf(seen->id, sizeof(seen->id), "%s", upload->upload_id);
    seen->initiated = upload->initiated;
    return 0;
}

static size_t uploads_of(struct store *store, const char *prefix, struct uploads_seen *seen)
{
    struct ibs_err err;

    memset(seen, 0, sizeof(*seen));
    if (store_list_uploads(store, prefix, see_upload, seen, &err) != 0)
        fail_msg("list_uploads: %s", err.msg);
    return seen->n;
}

static void test_writer_invisible_until_commit(void **state)
{
    struct fixture *f = *state;
    const size_t total = 3 * 1024 * 1024 + 12345;
    const size_t chunks[] = {1, 100, 4096, 1 << 20, 3 << 20, 777};
    unsigned char *src = malloc(total), *back = malloc(total);
    struct store_writer *w;
    struct uploads_seen up;
    struct collected c = {0};
    struct store_stat st;
    struct ibs_err err;
    size_t done = 0;
    time_t before = time(NULL);

    assert_non_null(src);
    assert_non_null(back);
    fill_pattern(src, total, 0);
    if (store_writer_open(f->store, "backups/B1/data.0001", &w, &err) != 0)
        fail_msg("writer_open: %s", err.msg);
    assert_true(store_writer_capacity(w) >= (1ull << 40));
    for (size_t i = 0; done < total; i = (i + 1) % 6) {
        size_t n = chunks[i] < total - done ? chunks[i] : total - done;
        assert_int_equal(store_writer_write(w, src + done, n, &err), 0);
        done += n;
        assert_int_equal(store_writer_offset(w), done);
    }
    /* Not an object yet, but an upload in progress. */
    list_into(f->store, "", &c);
    assert_int_equal(c.n, 0);
    assert_int_equal(store_head(f->store, "backups/B1/data.0001", &st, &err), IBS_E_NOTFOUND);
    assert_int_equal(uploads_of(f->store, "backups/", &up), 1);
    assert_string_equal(up.key, "backups/B1/data.0001");
    assert_true(up.initiated >= before - 1);
    assert_int_equal(uploads_of(f->store, "other/", &up), 0);

    if (store_writer_commit(w, &err) != 0)
        fail_msg("commit: %s", err.msg);
    assert_int_equal(store_head(f->store, "backups/B1/data.0001", &st, &err), 0);
    assert_int_equal(st.size, total);
    assert_int_equal(store_get_range(f->store, "backups/B1/data.0001", 0, back, total, &err), 0);
    assert_memory_equal(src, back, total);
    assert_int_equal(uploads_of(f->store, "", &up), 0);
    /* Only the object is left: the upload area is empty. */
    assert_int_equal(count_files(f->root), 1);
    list_into(f->store, "", &c);
    assert_int_equal(c.n, 1);
    collected_free(&c);
    free(src);
    free(back);
}

/* More whole buffers than the local writer keeps in flight (direct writes
 * reuse them), a tail that is not a multiple of any block size, and a write
 * that straddles buffers: the object reads back byte for byte. */
static void test_writer_many_buffers(void **state)
{
    struct fixture *f = *state;
    const size_t total = 21 * 1024 * 1024 + 4097;
    unsigned char *src = malloc(total), *back = malloc(total);
    struct store_writer *w;
    struct ibs_err err;
    size_t done = 0;

    assert_non_null(src);
    assert_non_null(back);
    fill_pattern(src, total, 7);
    if (store_writer_open(f->store, "backups/B9/data.0001", &w, &err) != 0)
        fail_msg("writer_open: %s", err.msg);
    for (size_t n = 65536 + 3; done < total; n = n * 3 % (5 << 20) + 1) {
        if (n > total - done)
            n = total - done;
        if (store_writer_write(w, src + done, n, &err) != 0)
            fail_msg("write: %s", err.msg);
        done += n;
    }
    if (store_writer_commit(w, &err) != 0)
        fail_msg("commit: %s", err.msg);
    assert_int_equal(store_get_range(f->store, "backups/B9/data.0001", 0, back, total, &err), 0);
    assert_memory_equal(src, back, total);
    free(src);
    free(back);
}

static void test_writer_abort_leaves_nothing(void **state)
{
    struct fixture *f = *state;
    unsigned char buf[100000];
    struct store_writer *w;
    struct uploads_seen up;
    struct collected c = {0};
    struct store_stat st;
    struct ibs_err err;

    fill_pattern(buf, sizeof(buf), 0);
    assert_int_equal(store_writer_open(f->store, "x/y/z", &w, &err), 0);
    for (int i = 0; i < 30; i++)
        assert_int_equal(store_writer_write(w, buf, sizeof(buf), &err), 0);
    store_writer_abort(w);
    store_writer_abort(NULL);
    assert_int_equal(store_head(f->store, "x/y/z", &st, &err), IBS_E_NOTFOUND);
    assert_int_equal(uploads_of(f->store, "", &up), 0);
    list_into(f->store, "", &c);
    assert_int_equal(c.n, 0);
    assert_int_equal(count_files(f->root), 0);

    /* An empty object committed from a writer exists. */
    assert_int_equal(store_writer_open(f->store, "zero", &w, &err), 0);
    assert_int_equal(store_writer_commit(w, &err), 0);
    assert_int_equal(store_head(f->store, "zero", &st, &err), 0);
    assert_int_equal(st.size, 0);
}

static void test_list_uploads_and_abort_upload(void **state)
{
    struct fixture *f = *state;
    struct store_writer *w1, *w2;
    struct uploads_seen up;
    struct store_stat st;
    struct ibs_err err;
    char id[128];

    assert_int_equal(store_writer_open(f->store, "backups/B2/data.0001", &w1, &err), 0);
    assert_int_equal(store_writer_write(w1, "abc", 3, &err), 0);
    assert_int_equal(uploads_of(f->store, "backups/B2", &up), 1);
    assert_string_equal(up.key, "backups/B2/data.0001");
    snprintf(id, sizeof(id), "%s", up.id);

    assert_int_equal(store_abort_upload(f->store, "backups/B2/data.0001", "u0000", &err),
                     IBS_E_NOTFOUND);
    assert_int_equal(store_abort_upload(f->store, "backups/B2/data.0001", "../../etc", &err),
                     IBS_E_NOTFOUND);
    assert_int_equal(store_abort_upload(f->store, "backups/B2/other", id, &err), IBS_E_NOTFOUND);
    assert_int_equal(store_abort_upload(f->store, "backups/B2/data.0001", id, &err), 0);
    assert_int_equal(uploads_of(f->store, "", &up), 0);
    /* The writer of an aborted upload cannot commit, and its abort is harmless. */
    assert_int_not_equal(store_writer_commit(w1, &err), 0);
    assert_int_equal(store_head(f->store, "backups/B2/data.0001", &st, &err), IBS_E_NOTFOUND);

    assert_int_equal(store_writer_open(f->store, "backups/B3/data.0001", &w2, &err), 0);
    assert_int_equal(store_writer_write(w2, "abc", 3, &err), 0);
    assert_int_equal(uploads_of(f->store, "", &up), 1);
    assert_int_equal(store_abort_upload(f->store, up.key, up.id, &err), 0);
    store_writer_abort(w2);
    assert_int_equal(count_files(f->root), 0);
}

static void test_nested_keys_and_deletes(void **state)
{
    struct fixture *f = *state;
    const char *const keys[] = {"d/1", "d/e/2", "d/e/f/3", "absent/key", "d/e/f/3"};
    char path[PATH_MAX * 2];
    struct collected c = {0};
    struct stat st;
    struct ibs_err err;

    assert_int_equal(store_put(f->store, "x/y/z/obj", "o", 1, &err), 0);
    assert_int_equal(store_put(f->store, "x/keep", "k", 1, &err), 0);
    assert_int_equal(store_delete(f->store, "x/y/z/obj", &err), 0);
    /* Empty folders go with their last object; the root stays. */
    snprintf(path, sizeof(path), "%s/x/y", f->root);
    assert_int_equal(stat(path, &st), -1);
    snprintf(path, sizeof(path), "%s/x", f->root);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(store_delete(f->store, "x/keep", &err), 0);
    assert_int_equal(stat(path, &st), -1);
    assert_int_equal(stat(f->root, &st), 0);
    /* Absent objects delete fine, folders are not objects. */
    assert_int_equal(store_delete(f->store, "x/keep", &err), 0);
    assert_int_equal(store_delete(f->store, "never/was", &err), 0);

    for (int i = 0; i < 3; i++)
        assert_int_equal(store_put(f->store, keys[i], "v", 1, &err), 0);
    assert_int_equal(store_put(f->store, "d/stay", "s", 1, &err), 0);
    assert_int_equal(store_delete(f->store, "d", &err), 0);
    assert_int_equal(store_delete_many(f->store, keys, 5, &err), 0);
    list_into(f->store, "", &c);
    assert_int_equal(c.n, 1);
    assert_string_equal(c.keys[0], "d/stay");
    collected_free(&c);
    assert_int_equal(store_delete_many(f->store, keys, 0, &err), 0);

    /* "c" and "c/d" cannot both be files: a clear storage error, no crash. */
    assert_int_equal(store_put(f->store, "c", "c", 1, &err), 0);
    assert_int_equal(store_put(f->store, "c/d", "d", 1, &err), IBS_E_STORAGE);
    assert_non_null(strstr(err.msg, "c/d"));
    assert_int_equal(store_put(f->store, "d", "d", 1, &err), IBS_E_STORAGE);
}

static void test_ranged_reads(void **state)
{
    struct fixture *f = *state;
    unsigned char obj[10000], a[100], b[200], d[50];
    struct store_range ranges[3] = {
        {.key = "r/one", .offset = 9900, .len = sizeof(a), .buf = a},
        {.key = "r/two", .offset = 0, .len = sizeof(b), .buf = b},
        {.key = "r/one", .offset = 17, .len = sizeof(d), .buf = d},
    };
    struct ibs_err err;

    fill_pattern(obj, sizeof(obj), 0);
    assert_int_equal(store_put(f->store, "r/one", obj, sizeof(obj), &err), 0);
    assert_int_equal(store_put(f->store, "r/two", obj, 5000, &err), 0);
    assert_int_equal(store_get_range(f->store, "r/one", 1234, a, sizeof(a), &err), 0);
    assert_memory_equal(a, obj + 1234, sizeof(a));
    assert_int_equal(store_get_range(f->store, "r/one", 10000, a, 0, &err), 0);

    assert_int_equal(store_get_ranges(f->store, ranges, 3, &err), 0);
    assert_memory_equal(a, obj + 9900, sizeof(a));
    assert_memory_equal(b, obj, sizeof(b));
    assert_memory_equal(d, obj + 17, sizeof(d));
    assert_int_equal(store_get_ranges(f->store, ranges, 0, &err), 0);

    /* A short object is damage, not end of file. */
    assert_int_equal(store_get_range(f->store, "r/one", 9950, a, sizeof(a), &err), IBS_E_INTEGRITY);
    assert_non_null(strstr(err.msg, "r/one"));
    assert_non_null(strstr(err.msg, "10000 bytes"));
    ranges[1].offset = 4901;
    assert_int_equal(store_get_ranges(f->store, ranges, 3, &err), IBS_E_INTEGRITY);
    assert_non_null(strstr(err.msg, "r/two"));
    ranges[1].key = "r/none";
    assert_int_equal(store_get_ranges(f->store, ranges, 3, &err), IBS_E_NOTFOUND);
    assert_int_equal(store_get_range(f->store, "r/none", 0, a, 1, &err), IBS_E_NOTFOUND);
}

static void assert_mode(const char *path, mode_t want)
{
    struct stat st;
    if (stat(path, &st) != 0)
        fail_msg("stat %s: %s", path, strerror(errno));
    if ((st.st_mode & 07777) != want)
        fail_msg("%s has mode %04o, want %04o", path, (unsigned)(st.st_mode & 07777),
                 (unsigned)want);
}

static void test_permissions(void **state)
{
    struct fixture *f = *state;
    char path[PATH_MAX * 2];
    struct store_writer *w;
    struct uploads_seen up;
    struct ibs_err err;
    mode_t old = umask(0); /* modes must not depend on the umask */

    assert_int_equal(store_put(f->store, "p/q/obj", "x", 1, &err), 0);
    assert_int_equal(store_writer_open(f->store, "p/r/part", &w, &err), 0);
    assert_int_equal(uploads_of(f->store, "", &up), 1);
    umask(old);

    assert_mode(f->root, 0700);
    snprintf(path, sizeof(path), "%s/p", f->root);
    assert_mode(path, 0700);
    snprintf(path, sizeof(path), "%s/p/q", f->root);
    assert_mode(path, 0700);
    snprintf(path, sizeof(path), "%s/p/q/obj", f->root);
    assert_mode(path, 0600);
    snprintf(path, sizeof(path), "%s/.ibstream-tmp", f->root);
    assert_mode(path, 0700);
    snprintf(path, sizeof(path), "%s/.ibstream-tmp/%s", f->root, up.id);
    assert_mode(path, 0700);
    snprintf(path, sizeof(path), "%s/.ibstream-tmp/%s/p/r/part", f->root, up.id);
    assert_mode(path, 0600);
    store_writer_abort(w);
}

static void test_root_errors(void **state)
{
    struct fixture *f = *state;
    char url[PATH_MAX * 2];
    struct store_opts opts = {.url = url};
    struct store *store;
    struct ibs_err err;
    struct store_writer *w;
    FILE *file;

    /* The root is made on first write, its parent is not. */
    snprintf(url, sizeof(url), "%s/missing/repo", f->dir);
    assert_int_equal(store_open(&opts, &store, &err), 0);
    assert_int_equal(store_put(store, "k", "v", 1, &err), IBS_E_STORAGE);
    assert_non_null(strstr(err.msg, "does not exist"));
    assert_non_null(strstr(err.msg, "/missing"));
    assert_int_equal(store_writer_open(store, "k", &w, &err), IBS_E_STORAGE);
    store_close(store);

    /* A file in the root's place is refused at open. */
    snprintf(url, sizeof(url), "%s/afile", f->dir);
    file = fopen(url, "w");
    assert_non_null(file);
    fclose(file);
    assert_int_equal(store_open(&opts, &store, &err), IBS_E_STORAGE);
    assert_non_null(strstr(err.msg, "not a directory"));

    /* Permission denied names the path and the fix; root ignores modes. */
    if (geteuid() == 0)
        return;
    snprintf(url, sizeof(url), "%s/locked", f->dir);
    assert_int_equal(mkdir(url, 0500), 0);
    snprintf(url, sizeof(url), "%s/locked/repo", f->dir);
    assert_int_equal(store_open(&opts, &store, &err), 0);
    assert_int_equal(store_put(store, "k", "v", 1, &err), IBS_E_STORAGE);
    assert_non_null(strstr(err.msg, "locked"));
    assert_non_null(strstr(err.msg, "write access"));
    store_close(store);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_url_local_forms),
        cmocka_unit_test(test_url_bad_forms),
        cmocka_unit_test(test_url_s3),
        cmocka_unit_test_setup_teardown(test_key_validation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_put_get_head, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_order_and_prefixes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_writer_invisible_until_commit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_writer_many_buffers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_writer_abort_leaves_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_uploads_and_abort_upload, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nested_keys_and_deletes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ranged_reads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_permissions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_root_errors, setup, teardown),
    };
    return cmocka_run_group_tests_name("store", tests, NULL, NULL);
}
