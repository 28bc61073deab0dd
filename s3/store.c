/* The object-store front end: parses a repository URL, picks the driver
 * (S3 or a local directory), checks keys once for every driver and forwards
 * each public call of s3/store.h to the driver's operations. */
#include "s3/store.h"
#include "s3/store_driver.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* S3 refuses keys longer than 1024 bytes (UTF-8); the same limit everywhere
 * keeps a repository portable between drivers. */
#define STORE_KEY_MAX 1024

#define STORE_URL_FORMS "s3://bucket[/prefix], file:///absolute/path or a directory path"

struct store {
    const struct store_driver_ops *ops;
    void *state;
    char *url; /* canonical: "s3://bucket/prefix" or "file:///abs/path" */
};

struct store_writer {
    const struct store_driver_ops *ops;
    struct store_driver_writer *dw;
    char *key; /* for messages */
};

/* Checks one '/'-separated name: a key (whole = true) or a listing prefix,
 * which may be empty or end in '/'. Rejects what would escape the root or
 * mean different things to S3 and to a file system. */
static int check_name(const char *what, const char *name, bool whole, struct ibs_err *err)
{
    size_t len;
    const char *comp;

    if (!name)
        return ibs_err_set(err, IBS_E_USAGE, "store: %s is missing (NULL)", what);
    len = strlen(name);
    if (whole && len == 0)
        return ibs_err_set(err, IBS_E_USAGE, "store: %s is empty; name an object", what);
    if (len > STORE_KEY_MAX)
        return ibs_err_set(err, IBS_E_USAGE,
                           "store: %s \"%.64s...\" is %zu bytes long; the limit is %d bytes", what,
                           name, len, STORE_KEY_MAX);
    if (name[0] == '/')
        return ibs_err_set(err, IBS_E_USAGE,
                           "store: %s \"%s\" starts with '/'; keys are relative to the "
                           "repository root",
                           what, name);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)name[i];
        if (c < 0x20 || c == 0x7f)
            return ibs_err_set(err, IBS_E_USAGE,
                               "store: %s \"%s\" holds control character 0x%02x at byte %zu; "
                               "use printable characters",
                               what, name, c, i);
    }
    /* Walk the components: "", "." and ".." would alias other keys on disk. */
    comp = name;
    while (*comp) {
        const char *slash = strchr(comp, '/');
        size_t clen = slash ? (size_t)(slash - comp) : strlen(comp);
        bool last = !slash;

        if ((clen == 1 && comp[0] == '.') || (clen == 2 && comp[0] == '.' && comp[1] == '.'))
            return ibs_err_set(err, IBS_E_USAGE,
                               "store: %s \"%s\" holds a \".\" or \"..\" component; "
                               "name objects without them",
                               what, name);
        if (clen == 0 && !(last && !whole))
            return ibs_err_set(err, IBS_E_USAGE,
                               "store: %s \"%s\" holds an empty component (\"//\" or a "
                               "trailing '/'); name objects without them",
                               what, name);
        if (last)
            break;
        comp = slash + 1;
        if (*comp == '\0' && whole)
            return ibs_err_set(err, IBS_E_USAGE,
                               "store: %s \"%s\" ends with '/'; that names a folder, not "
                               "an object",
                               what, name);
    }
    return 0;
}

static int bad_url(const char *url, const char *why, struct ibs_err *err)
{
    return ibs_err_set(err, IBS_E_USAGE, "store: repository URL \"%s\": %s; use " STORE_URL_FORMS,
                       url, why);
}

/* Appends the '/'-separated components of path to out (of size PATH_MAX),
 * dropping empty and "." components; out starts as "" or "/...". */
static int append_components(char *out, size_t size, const char *path)
{
    const char *p = path;
    size_t used = strlen(out);

    while (*p) {
        const char *slash = strchr(p, '/');
        size_t clen = slash ? (size_t)(slash - p) : strlen(p);

        if (clen > 0 && !(clen == 1 && p[0] == '.')) {
            if (used + 1 + clen + 1 > size)
                return -1;
            out[used++] = '/';
            memcpy(out + used, p, clen);
            used += clen;
            out[used] = '\0';
        }
        if (!slash)
            break;
        p = slash + 1;
    }
    return 0;
}

/* "file:///abs/path" or a plain path -> absolute directory, no trailing '/'. */
static int parse_local(const char *url, const char *path, char **root, struct ibs_err *err)
{
    char buf[PATH_MAX];

    if (path[0] == '\0')
        return bad_url(url, "the path is empty", err);
    for (const char *c = path; *c; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7f)
            return bad_url(url, "the path holds a control character", err);
    buf[0] = '\0';
    if (path[0] != '/') {
        /* A relative path is taken from the current directory now, so a later
         * chdir cannot move the repository. */
        if (!getcwd(buf, sizeof(buf)))
            return ibs_err_sys(err, IBS_E_USAGE, errno,
                               "store: repository path \"%s\" is relative and the current "
                               "directory is unknown; give an absolute path",
                               path);
        if (strcmp(buf, "/") == 0)
            buf[0] = '\0';
    }
    if (append_components(buf, sizeof(buf), path) != 0)
        return bad_url(url, "the path is longer than PATH_MAX", err);
    if (buf[0] == '\0')
        strcpy(buf, "/");
    *root = strdup(buf);
    if (!*root)
        return ibs_err_set(err, IBS_E_INTERNAL, "store: out of memory");
    return 0;
}

/* Bucket names: S3's rules, relaxed to what legacy buckets and emulators use. */
static bool bucket_name_ok(const char *bucket, size_t len)
{
    if (len < 3 || len > 255)
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)bucket[i];
        if (!isalnum(c) && c != '.' && c != '-' && c != '_')
            return false;
    }
    return true;
}

/* "s3://bucket[/prefix]" -> root "bucket" or "bucket/prefix". */
static int parse_s3(const char *url, const char *rest, char **root, struct ibs_err *err)
{
    const char *slash = strchr(rest, '/');
    size_t blen = slash ? (size_t)(slash - rest) : strlen(rest);
    char prefix[STORE_KEY_MAX + 2];
    struct ibs_err perr;
    size_t plen;

    if (blen == 0)
        return bad_url(url, "the bucket name is missing", err);
    if (!bucket_name_ok(rest, blen))
        return bad_url(url, "the bucket name must be 3 to 255 letters, digits, '.', '-' or '_'",
                       err);
    prefix[0] = '\0';
    if (slash && append_components(prefix, sizeof(prefix), slash + 1) != 0)
        return bad_url(url, "the prefix is longer than 1024 bytes", err);
    plen = strlen(prefix);
    /* append_components leaves a leading '/', which is the separator after
     * the bucket; the prefix itself is checked like a key. */
    if (plen > 0 && check_name("prefix", prefix + 1, true, &perr) != 0)
        return bad_url(url, perr.msg, err);
    if (asprintf(root, "%.*s%s", (int)blen, rest, prefix) < 0) {
        *root = NULL;
        return ibs_err_set(err, IBS_E_INTERNAL, "store: out of memory");
    }
    return 0;
}

/* Length of a "scheme://" at the start of url, 0 if there is none. */
static size_t scheme_len(const char *url)
{
    size_t i = 0;

    if (!isalpha((unsigned char)url[0]))
        return 0;
    while (isalnum((unsigned char)url[i]) || url[i] == '+' || url[i] == '-' || url[i] == '.')
        i++;
    return strncmp(url + i, "://", 3) == 0 ? i : 0;
}

int store_open(const struct store_opts *opts, struct store **out, struct ibs_err *err)
{
    const struct store_driver_ops *ops;
    const char *url = opts ? opts->url : NULL;
    struct store *store = NULL;
    char *root = NULL;
    size_t slen;
    int rc;

    *out = NULL;
    if (!url || url[0] == '\0')
        return ibs_err_set(err, IBS_E_USAGE,
                           "store: no repository URL given; use " STORE_URL_FORMS);
    slen = scheme_len(url);
    if (slen == 2 && strncasecmp(url, "s3", 2) == 0) {
        rc = parse_s3(url, url + 5, &root, err);
        if (rc)
            goto out;
        ops = &store_s3_driver;
    } else if (slen == 4 && strncasecmp(url, "file", 4) == 0) {
        if (url[7] != '/') {
            rc = bad_url(url,
                         "file:// URLs name a local absolute path (file:///path); "
                         "remote hosts are not supported",
                         err);
            goto out;
        }
        rc = parse_local(url, url + 7, &root, err);
        if (rc)
            goto out;
        ops = &store_local_driver;
    } else if (slen > 0) {
        rc = bad_url(url, "unknown scheme", err);
        goto out;
    } else {
        rc = parse_local(url, url, &root, err);
        if (rc)
            goto out;
        ops = &store_local_driver;
    }

    store = calloc(1, sizeof(*store));
    if (!store) {
        rc = ibs_err_set(err, IBS_E_INTERNAL, "store: out of memory");
        goto out;
    }
    store->ops = ops;
    if (asprintf(&store->url, "%s://%s", ops == &store_local_driver ? "file" : "s3", root) < 0) {
        store->url = NULL;
        rc = ibs_err_set(err, IBS_E_INTERNAL, "store: out of memory");
        goto out;
    }
    rc = ops->open(opts, root, &store->state, err);
    if (rc)
        goto out;
    *out = store;
    store = NULL;
out:
    if (store) {
        free(store->url);
        free(store);
    }
    free(root);
    return rc;
}

void store_close(struct store *store)
{
    if (!store)
        return;
    store->ops->close(store->state);
    free(store->url);
    free(store);
}

const char *store_url(const struct store *store)
{
    return store->url;
}

const char *store_kind(const struct store *store)
{
    return store->ops->kind;
}

int store_put(struct store *store, const char *key, const void *data, size_t len,
              struct ibs_err *err)
{
    int rc = check_name("key", key, true, err);
    if (rc)
        return rc;
    return store->ops->put(store->state, key, data, len, err);
}

bool store_has_put_new(const struct store *store)
{
    return store->ops->put_new != NULL;
}

int store_put_new(struct store *store, const char *key, const void *data, size_t len,
                  bool *created, struct ibs_err *err)
{
    int rc = check_name("key", key, true, err);
    if (rc)
        return rc;
    if (!store->ops->put_new)
        return ibs_err_set(err, IBS_E_INTERNAL, "%s store: no exclusive put", store->ops->kind);
    return store->ops->put_new(store->state, key, data, len, created, err);
}

int store_get(struct store *store, const char *key, void **data, size_t *len, struct ibs_err *err)
{
    int rc = check_name("key", key, true, err);
    if (rc)
        return rc;
    return store->ops->get(store->state, key, data, len, err);
}

int store_get_range(struct store *store, const char *key, uint64_t offset, void *buf, size_t len,
                    struct ibs_err *err)
{
    int rc = check_name("key", key, true, err);
    if (rc)
        return rc;
    return store->ops->get_range(store->state, key, offset, buf, len, err);
}

int store_get_ranges(struct store *store, struct store_range *ranges, size_t n, struct ibs_err *err)
{
    int rc;

    for (size_t i = 0; i < n; i++) {
        rc = check_name("key", ranges[i].key, true, err);
        if (rc)
            return rc;
    }
    if (n == 0)
        return 0;
    if (store->ops->get_ranges)
        return store->ops->get_ranges(store->state, ranges, n, err);
    for (size_t i = 0; i < n; i++) {
        rc = store->ops->get_range(store->state, ranges[i].key, ranges[i].offset, ranges[i].buf,
                                   ranges[i].len, err);
        if (rc)
            return rc;
    }
    return 0;
}

int store_head(struct store *store, const char *key, struct store_stat *st, struct ibs_err *err)
{
    int rc = check_name("key", key, true, err);
    if (rc)
        return rc;
    return store->ops->head(store->state, key, st, err);
}

int store_list(struct store *store, const char *prefix,
               int (*fn)(void *ctx, const struct store_entry *entry), void *ctx,
               struct ibs_err *err)
{
    int rc;

    if (!prefix)
        prefix = "";
    rc = check_name("prefix", prefix, false, err);
    if (rc)
        return rc;
    return store->ops->list(store->state, prefix, fn, ctx, err);
}

int store_delete(struct store *store, const char *key, struct ibs_err *err)
{
    int rc = check_name("key", key, true, err);
    if (rc)
        return rc;
    return store->ops->delete_one(store->state, key, err);
}

int store_delete_many(struct store *store, const char *const *keys, size_t n, struct ibs_err *err)
{
    int rc;

    for (size_t i = 0; i < n; i++) {
        rc = check_name("key", keys[i], true, err);
        if (rc)
            return rc;
    }
    if (n == 0)
        return 0;
    return store->ops->delete_many(store->state, keys, n, err);
}

int store_list_uploads(struct store *store, const char *prefix,
                       int (*fn)(void *ctx, const struct store_upload *upload), void *ctx,
                       struct ibs_err *err)
{
    int rc;

    if (!prefix)
        prefix = "";
    rc = check_name("prefix", prefix, false, err);
    if (rc)
        return rc;
    return store->ops->list_uploads(store->state, prefix, fn, ctx, err);
}

int store_abort_upload(struct store *store, const char *key, const char *upload_id,
                       struct ibs_err *err)
{
    int rc = check_name("key", key, true, err);
    if (rc)
        return rc;
    if (!upload_id || upload_id[0] == '\0')
        return ibs_err_set(err, IBS_E_USAGE, "store: abort of %s: the upload id is empty", key);
    return store->ops->abort_upload(store->state, key, upload_id, err);
}

int store_writer_open(struct store *store, const char *key, struct store_writer **out,
                      struct ibs_err *err)
{
    struct store_writer *w;
    int rc;

    *out = NULL;
    rc = check_name("key", key, true, err);
    if (rc)
        return rc;
    w = calloc(1, sizeof(*w));
    if (!w || !(w->key = strdup(key))) {
        free(w);
        return ibs_err_set(err, IBS_E_INTERNAL, "store: out of memory opening writer for %s", key);
    }
    w->ops = store->ops;
    rc = store->ops->writer_open(store->state, key, &w->dw, err);
    if (rc) {
        free(w->key);
        free(w);
        return rc;
    }
    *out = w;
    return 0;
}

int store_writer_write(struct store_writer *w, const void *data, size_t len, struct ibs_err *err)
{
    uint64_t offset = w->ops->writer_offset(w->dw);
    uint64_t capacity = w->ops->writer_capacity(w->dw);

    if (len > capacity || offset > capacity - len)
        return ibs_err_set(err, IBS_E_USAGE,
                           "store: writing %zu bytes at offset %llu to %s would pass the "
                           "writer's capacity of %llu bytes; start a new object or raise "
                           "the part size",
                           len, (unsigned long long)offset, w->key, (unsigned long long)capacity);
    if (len == 0)
        return 0;
    return w->ops->writer_write(w->dw, data, len, err);
}

uint64_t store_writer_offset(const struct store_writer *w)
{
    return w->ops->writer_offset(w->dw);
}

uint64_t store_writer_capacity(const struct store_writer *w)
{
    return w->ops->writer_capacity(w->dw);
}

int store_writer_commit(struct store_writer *w, struct ibs_err *err)
{
    int rc = w->ops->writer_commit(w->dw, err);
    free(w->key);
    free(w);
    return rc;
}

void store_writer_abort(struct store_writer *w)
{
    if (!w)
        return;
    w->ops->writer_abort(w->dw);
    free(w->key);
    free(w);
}
