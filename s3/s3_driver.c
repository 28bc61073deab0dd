/* The S3 driver of the object-store interface: open (addressing, credentials,
 * SSE), whole-object and ranged reads, listing, deletes and the multipart
 * housekeeping calls. The streaming writer is in s3_writer.c, the request
 * engine in s3_http.c. API: https://docs.aws.amazon.com/AmazonS3/latest/API/ */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>

#include "common/log.h"
#include "s3/s3.h"
#include "s3/s3_store.h"
#include "s3/s3_xml.h"

#define DELETE_BATCH_MAX 1000u /* DeleteObjects takes at most 1,000 keys */
#define LIST_PAGES_MAX 10000000u
#define PARTS_IN_FLIGHT_MAX 64u

char *s3_full_key(const struct s3_store *store, const char *key)
{
    char *full = NULL;
    if (asprintf(&full, "%s%s", store->prefix, key) < 0)
        return NULL;
    return full;
}

static void s3_close(void *state)
{
    struct s3_store *store = state;
    if (!store)
        return;
    for (size_t i = 0; i < store->n_handles; i++)
        curl_easy_cleanup(store->handles[i]);
    free(store->handles);
    pthread_mutex_destroy(&store->lock);
    s3_config_clear(&store->cfg);
    free(store->bucket);
    free(store->prefix);
    free(store->url_base);
    free(store->host);
    free(store->path_base);
    free(store->ca_file);
    free(store->sse);
    free(store->sse_kms_key_id);
    free(store->storage_class);
    explicit_bzero(store->sse_c_key, sizeof(store->sse_c_key));
    explicit_bzero(store->signing_key, sizeof(store->signing_key));
    free(store);
}

static int oom(struct ibs_err *err)
{
    return ibs_err_set(err, IBS_E_INTERNAL, "s3: out of memory");
}

/* "bucket/some/prefix/" -> bucket "bucket", prefix "some/prefix/". */
static int parse_root(struct s3_store *store, const char *root, struct ibs_err *err)
{
    while (*root == '/')
        root++;
    const char *slash = strchr(root, '/');
    size_t bucket_len = slash ? (size_t)(slash - root) : strlen(root);
    if (bucket_len == 0)
        return ibs_err_set(err, IBS_E_USAGE,
                           "s3: the repository URL names no bucket: use s3://bucket[/prefix]");
    store->bucket = strndup(root, bucket_len);
    const char *prefix = slash ? slash : "";
    while (*prefix == '/')
        prefix++;
    size_t prefix_len = strlen(prefix);
    while (prefix_len && prefix[prefix_len - 1] == '/')
        prefix_len--;
    if (prefix_len) {
        if (asprintf(&store->prefix, "%.*s/", (int)prefix_len, prefix) < 0)
            store->prefix = NULL;
    } else
        store->prefix = strdup("");
    if (!store->bucket || !store->prefix)
        return oom(err);
    return 0;
}

/* Custom endpoints use path-style addressing (http://host:port/bucket/key);
 * AWS uses virtual-hosted style (https://bucket.s3.REGION.amazonaws.com/key),
 * except for bucket names with dots, which TLS wildcards do not cover. */
static int set_addressing(struct s3_store *store, struct ibs_err *err)
{
    const char *endpoint = store->cfg.endpoint;
    int n;

    if (endpoint) {
        const char *sep = strstr(endpoint, "://");
        if (!sep || (strncmp(endpoint, "http://", 7) != 0 && strncmp(endpoint, "https://", 8) != 0))
            return ibs_err_set(err, IBS_E_USAGE,
                               "s3: endpoint %s: not an http:// or https:// URL: fix it",
                               endpoint);
        store->https = strncmp(endpoint, "https://", 8) == 0;
        const char *host = sep + 3;
        const char *path = strchr(host, '/');
        size_t host_len = path ? (size_t)(path - host) : strlen(host);
        if (host_len == 0)
            return ibs_err_set(err, IBS_E_USAGE, "s3: endpoint %s names no host: fix it",
                               endpoint);
        size_t path_len = path ? strlen(path) : 0;
        while (path_len && path[path_len - 1] == '/')
            path_len--;
        store->host = strndup(host, host_len);
        n = asprintf(&store->url_base, "%.*s", (int)(host - endpoint + (ptrdiff_t)host_len),
                     endpoint);
        if (n < 0)
            store->url_base = NULL;
        n = asprintf(&store->path_base, "%.*s/%s", (int)path_len, path ? path : "", store->bucket);
        if (n < 0)
            store->path_base = NULL;
    } else if (strchr(store->bucket, '.')) {
        store->https = true;
        n = asprintf(&store->host, "s3.%s.amazonaws.com", store->cfg.region);
        if (n < 0)
            store->host = NULL;
        n = asprintf(&store->path_base, "/%s", store->bucket);
        if (n < 0)
            store->path_base = NULL;
    } else {
        store->https = true;
        n = asprintf(&store->host, "%s.s3.%s.amazonaws.com", store->bucket, store->cfg.region);
        if (n < 0)
            store->host = NULL;
        store->path_base = strdup("");
    }
    if (!endpoint && store->host) {
        n = asprintf(&store->url_base, "https://%s", store->host);
        if (n < 0)
            store->url_base = NULL;
    }
    if (!store->host || !store->url_base || !store->path_base)
        return oom(err);
    return 0;
}

static int dup_opt(char **slot, const char *value, struct ibs_err *err)
{
    if (value && !(*slot = strdup(value)))
        return oom(err);
    return 0;
}

/* SSE-C: the key file holds the 32 raw bytes of an AES-256 key.
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/ServerSideEncryptionCustomerKeys.html */
static int load_sse_c_key(struct s3_store *store, const char *path, struct ibs_err *err)
{
    unsigned char key[33];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return ibs_err_sys(err, IBS_E_USAGE, errno, "s3: SSE-C key file %s", path);
    ssize_t got = read(fd, key, sizeof(key));
    int saved = errno;
    close(fd);
    if (got < 0)
        return ibs_err_sys(err, IBS_E_USAGE, saved, "s3: SSE-C key file %s", path);
    if (got != 32) {
        explicit_bzero(key, sizeof(key));
        return ibs_err_set(err, IBS_E_USAGE,
                           "s3: SSE-C key file %s holds %s%zd bytes, not 32: it must be a raw "
                           "AES-256 key (e.g. head -c 32 /dev/urandom)",
                           path, got > 32 ? "more than " : "", got > 32 ? (ssize_t)32 : got);
    }
    sigv4_base64(key, 32, store->sse_c_key, sizeof(store->sse_c_key));
    sigv4_md5_base64(key, 32, store->sse_c_key_md5);
    explicit_bzero(key, sizeof(key));
    store->sse_c = true;
    ibs_log_add_secret(store->sse_c_key);
    return 0;
}

static int check_opts(const struct store_opts *opts, struct ibs_err *err)
{
    if (opts->sse && strcmp(opts->sse, "AES256") != 0 && strcmp(opts->sse, "aws:kms") != 0)
        return ibs_err_set(err, IBS_E_USAGE,
                           "s3: server-side encryption \"%s\" is not known: use AES256 or aws:kms",
                           opts->sse);
    if (opts->sse_kms_key_id && (!opts->sse || strcmp(opts->sse, "aws:kms") != 0))
        return ibs_err_set(err, IBS_E_USAGE,
                           "s3: a KMS key id needs server-side encryption aws:kms: set both");
    if (opts->sse && opts->sse_c_key_file)
        return ibs_err_set(err, IBS_E_USAGE,
                           "s3: SSE-C (a customer key file) and SSE %s exclude each other: "
                           "choose one",
                           opts->sse);
    if (opts->part_size &&
        (opts->part_size < STORE_S3_MIN_PART_SIZE || opts->part_size > STORE_S3_MAX_PART_SIZE))
        return ibs_err_set(err, IBS_E_USAGE,
                           "s3: part size %llu is outside S3's limits: use 5 MiB to 5 GiB",
                           (unsigned long long)opts->part_size);
    return 0;
}

static int s3_open(const struct store_opts *opts, const char *root, void **state,
                   struct ibs_err *err)
{
    int rc;
    struct s3_store *store = calloc(1, sizeof(*store));
    if (!store)
        return oom(err);
    pthread_mutex_init(&store->lock, NULL);
    s3_global_init();

    rc = check_opts(opts, err);
    if (!rc)
        rc = s3_config_resolve(opts, &store->cfg, err);
    if (!rc)
        rc = parse_root(store, root, err);
    if (!rc)
        rc = set_addressing(store, err);
    if (!rc)
        rc = dup_opt(&store->ca_file, opts->ca_file, err);
    if (!rc)
        rc = dup_opt(&store->sse, opts->sse, err);
    if (!rc)
        rc = dup_opt(&store->sse_kms_key_id, opts->sse_kms_key_id, err);
    if (!rc)
        rc = dup_opt(&store->storage_class, opts->storage_class, err);
    if (!rc && opts->sse_c_key_file)
        rc = load_sse_c_key(store, opts->sse_c_key_file, err);
    if (rc) {
        s3_close(store);
        return rc;
    }
    store->no_verify_tls = opts->no_verify_tls;
    store->debug = opts->debug;
    store->part_size = opts->part_size ? opts->part_size : STORE_DEFAULT_PART_SIZE;
    store->parts_in_flight = opts->parts_in_flight ? opts->parts_in_flight
                                                   : STORE_DEFAULT_PARTS_IN_FLIGHT;
    if (store->parts_in_flight > PARTS_IN_FLIGHT_MAX)
        store->parts_in_flight = PARTS_IN_FLIGHT_MAX;
    store->retries = opts->retries ? opts->retries : STORE_DEFAULT_RETRIES;
    store->backoff_base_ms = 100;
    store->backoff_cap_ms = 20000;
    store->low_speed_time = 30;
    store->connect_timeout = 10;

    if (store->no_verify_tls && store->https)
        IBS_WARN("s3", "TLS certificate verification is off for %s", store->url_base);
    if (store->debug)
        IBS_INFO("s3", "s3://%s/%s via %s, region %s, credentials from %s", store->bucket,
                 store->prefix, store->url_base, store->cfg.region, store->cfg.source);
    *state = store;
    return 0;
}

int s3_put_object(struct s3_store *store, const char *full_key, const char *key, const void *data,
                  size_t len, struct ibs_err *err)
{
    char what[600];
    struct s3_resp resp;
    snprintf(what, sizeof(what), "PUT %s", key);
    struct s3_req req = {
        .method = "PUT",
        .key = full_key,
        .body = data ? data : "",
        .body_len = len,
        .content_md5 = true,
        .headers = S3_H_CREATE | S3_H_SSE_C,
        .what = what,
    };
    s3_resp_init(&resp);
    int rc = s3_request(store, &req, &resp, err);
    s3_resp_free(&resp);
    return rc;
}

static int s3_put(void *state, const char *key, const void *data, size_t len, struct ibs_err *err)
{
    char *full = s3_full_key(state, key);
    if (!full)
        return oom(err);
    int rc = s3_put_object(state, full, key, data, len, err);
    free(full);
    return rc;
}

static int s3_get(void *state, const char *key, void **data, size_t *len, struct ibs_err *err)
{
    char what[600];
    struct s3_resp resp;
    char *full = s3_full_key(state, key);
    if (!full)
        return oom(err);
    snprintf(what, sizeof(what), "GET %s", key);
    struct s3_req req = {.method = "GET", .key = full, .headers = S3_H_SSE_C, .what = what};
    s3_resp_init(&resp);
    int rc = s3_request(state, &req, &resp, err);
    if (!rc && resp.has_length && resp.content_length != resp.body.len)
        rc = ibs_err_set(err, IBS_E_INTEGRITY, "s3: GET %s: %zu bytes received, %llu announced",
                         key, resp.body.len, (unsigned long long)resp.content_length);
    if (!rc) {
        *len = resp.body.len;
        *data = resp.body.data ? resp.body.data : calloc(1, 1);
        resp.body.data = NULL;
        if (!*data)
            rc = oom(err);
    }
    s3_resp_free(&resp);
    free(full);
    return rc;
}

static int s3_get_range(void *state, const char *key, uint64_t offset, void *buf, size_t len,
                        struct ibs_err *err)
{
    char what[600], range[64];
    struct s3_resp resp;
    if (len == 0)
        return 0;
    char *full = s3_full_key(state, key);
    if (!full)
        return oom(err);
    snprintf(what, sizeof(what), "GET %s bytes %llu-%llu", key, (unsigned long long)offset,
             (unsigned long long)(offset + len - 1));
    snprintf(range, sizeof(range), "bytes=%llu-%llu", (unsigned long long)offset,
             (unsigned long long)(offset + len - 1));
    struct s3_req req = {
        .method = "GET",
        .key = full,
        .headers = S3_H_SSE_C,
        .range = range,
        .dest = buf,
        .dest_len = len,
        .what = what,
    };
    s3_resp_init(&resp);
    int rc = s3_request(state, &req, &resp, err);
    s3_resp_free(&resp);
    free(full);
    return rc;
}

/* Parallel ranged reads: workers take the next range until none is left or one fails. */
struct ranges_job {
    struct s3_store *store;
    struct store_range *ranges;
    size_t n;
    pthread_mutex_t lock; /* guards next, failed, err */
    size_t next;
    bool failed;
    struct ibs_err err;
};

static void *ranges_worker(void *arg)
{
    struct ranges_job *job = arg;
    for (;;) {
        pthread_mutex_lock(&job->lock);
        size_t i = job->failed ? job->n : job->next++;
        pthread_mutex_unlock(&job->lock);
        if (i >= job->n)
            return NULL;
        struct store_range *r = &job->ranges[i];
        struct ibs_err err;
        ibs_err_clear(&err);
        if (s3_get_range(job->store, r->key, r->offset, r->buf, r->len, &err) != 0) {
            pthread_mutex_lock(&job->lock);
            if (!job->failed) {
                job->failed = true;
                job->err = err;
            }
            pthread_mutex_unlock(&job->lock);
            return NULL;
        }
    }
}

static int s3_get_ranges(void *state, struct store_range *ranges, size_t n, struct ibs_err *err)
{
    struct s3_store *store = state;
    struct ranges_job job = {.store = store, .ranges = ranges, .n = n};
    pthread_t threads[PARTS_IN_FLIGHT_MAX];
    size_t started = 0;
    size_t want = n < store->parts_in_flight ? n : store->parts_in_flight;

    pthread_mutex_init(&job.lock, NULL);
    ibs_err_clear(&job.err);
    for (; started < want; started++) {
        if (pthread_create(&threads[started], NULL, ranges_worker, &job) != 0)
            break;
    }
    if (started == 0 && n > 0)
        ranges_worker(&job); /* no thread to spare: do it here */
    for (size_t i = 0; i < started; i++)
        pthread_join(threads[i], NULL);
    pthread_mutex_destroy(&job.lock);
    if (job.failed) {
        *err = job.err;
        return err->code;
    }
    return 0;
}

static int s3_head(void *state, const char *key, struct store_stat *st, struct ibs_err *err)
{
    char what[600];
    struct s3_resp resp;
    char *full = s3_full_key(state, key);
    if (!full)
        return oom(err);
    snprintf(what, sizeof(what), "HEAD %s", key);
    struct s3_req req = {.method = "HEAD", .key = full, .headers = S3_H_SSE_C, .what = what};
    s3_resp_init(&resp);
    int rc = s3_request(state, &req, &resp, err);
    if (rc && resp.status == 403 && !resp.code[0]) {
        /* A HEAD answer has no body, so a 403 cannot say whether the key is
         * refused (AccessDenied) or the signature is wrong
         * (SignatureDoesNotMatch). The same request as a one-byte GET carries
         * the error document: report its code when it fails too. */
        struct s3_resp get_resp;
        struct ibs_err get_err = {0};
        struct s3_req get = req;
        get.method = "GET";
        get.range = "bytes=0-0";
        s3_resp_init(&get_resp);
        if (s3_request(state, &get, &get_resp, &get_err) && get_resp.code[0])
            *err = get_err;
        s3_resp_free(&get_resp);
    }
    if (!rc) {
        memset(st, 0, sizeof(*st));
        st->size = resp.content_length;
        st->mtime = resp.last_modified;
        const char *etag = resp.etag;
        size_t etag_len = strlen(etag);
        if (etag_len >= 2 && etag[0] == '"' && etag[etag_len - 1] == '"') {
            etag++;
            etag_len -= 2;
        }
        snprintf(st->etag, sizeof(st->etag), "%.*s", (int)etag_len, etag);
    }
    s3_resp_free(&resp);
    free(full);
    return rc;
}

struct list_ctx {
    const struct s3_store *store;
    int (*fn)(void *ctx, const struct store_entry *entry);
    void *ctx;
};

static int list_entry(void *arg, const char *key, uint64_t size, time_t mtime)
{
    struct list_ctx *lc = arg;
    size_t prefix_len = strlen(lc->store->prefix);
    /* S3 only returns keys under the prefix asked for; be strict anyway. */
    if (strncmp(key, lc->store->prefix, prefix_len) != 0)
        return 0;
    struct store_entry entry = {.key = key + prefix_len, .size = size, .mtime = mtime};
    return lc->fn(lc->ctx, &entry);
}

/* ListObjectsV2, every page (https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectsV2.html). */
static int s3_list(void *state, const char *prefix,
                   int (*fn)(void *ctx, const struct store_entry *entry), void *ctx,
                   struct ibs_err *err)
{
    struct s3_store *store = state;
    struct list_ctx lc = {.store = store, .fn = fn, .ctx = ctx};
    struct s3_resp resp;
    char *full = s3_full_key(store, prefix ? prefix : "");
    char *token = NULL;
    char what[600];
    int rc = 0;

    if (!full)
        return oom(err);
    snprintf(what, sizeof(what), "LIST %s", prefix ? prefix : "");
    s3_resp_init(&resp);
    for (unsigned page = 0; page < LIST_PAGES_MAX; page++) {
        struct sigv4_param params[3] = {{"list-type", "2"}, {"prefix", full}};
        size_t n_params = 2;
        if (token)
            params[n_params++] = (struct sigv4_param){"continuation-token", token};
        struct s3_req req = {
            .method = "GET", .params = params, .n_params = n_params, .what = what};
        rc = s3_request(store, &req, &resp, err);
        if (rc)
            break;
        bool truncated = false;
        char *next = NULL;
        rc = s3_xml_list_objects(s3_buf_str(&resp.body), resp.body.len, list_entry, &lc,
                                 &truncated, &next);
        if (rc == -1) {
            free(next);
            rc = ibs_err_set(err, IBS_E_STORAGE,
                             "s3: %s: the answer is not a ListBucketResult: check the endpoint",
                             what);
            break;
        }
        if (rc) { /* the callback stopped the listing */
            free(next);
            break;
        }
        if (!truncated) {
            free(next);
            break;
        }
        if (!next || !next[0] || (token && strcmp(next, token) == 0)) {
            free(next);
            rc = ibs_err_set(err, IBS_E_STORAGE,
                             "s3: %s: a truncated page without a new continuation token: the "
                             "endpoint does not page correctly",
                             what);
            break;
        }
        free(token);
        token = next;
    }
    free(token);
    free(full);
    s3_resp_free(&resp);
    return rc;
}

static int s3_delete_one(void *state, const char *key, struct ibs_err *err)
{
    char what[600];
    struct s3_resp resp;
    char *full = s3_full_key(state, key);
    if (!full)
        return oom(err);
    snprintf(what, sizeof(what), "DELETE %s", key);
    struct s3_req req = {.method = "DELETE", .key = full, .what = what};
    s3_resp_init(&resp);
    int rc = s3_request(state, &req, &resp, err);
    if (rc == IBS_E_NOTFOUND) { /* deleting an absent object succeeds */
        ibs_err_clear(err);
        rc = 0;
    }
    s3_resp_free(&resp);
    free(full);
    return rc;
}

/* DeleteObjects in batches of 1,000 keys, Content-MD5 required
 * (https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteObjects.html). */
static int delete_batch(struct s3_store *store, const char *const *keys, size_t n,
                        struct ibs_err *err)
{
    struct s3_buf body;
    struct s3_resp resp;
    struct sigv4_param params[] = {{"delete", NULL}};
    char what[64];
    int rc;

    s3_buf_init(&body);
    s3_resp_init(&resp);
    s3_buf_puts(&body, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                       "<Delete xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Quiet>true</Quiet>");
    for (size_t i = 0; i < n; i++) {
        s3_buf_puts(&body, "<Object><Key>");
        s3_xml_escape(&body, store->prefix);
        s3_xml_escape(&body, keys[i]);
        s3_buf_puts(&body, "</Key></Object>");
    }
    s3_buf_puts(&body, "</Delete>");
    if (body.oom) {
        rc = oom(err);
        goto out;
    }
    snprintf(what, sizeof(what), "DELETE %zu objects", n);
    struct s3_req req = {
        .method = "POST",
        .params = params,
        .n_params = 1,
        .body = body.data,
        .body_len = body.len,
        .content_md5 = true,
        .what = what,
    };
    rc = s3_request(store, &req, &resp, err);
    if (rc)
        goto out;
    char key[512], code[64], msg[256];
    bool bad = false;
    if (s3_xml_delete_error(s3_buf_str(&resp.body), resp.body.len, key, sizeof(key), code,
                            sizeof(code), msg, sizeof(msg), &bad)) {
        rc = ibs_err_set(err, IBS_E_STORAGE, "s3: DELETE %s: %s%s%s", key, code, msg[0] ? ": " : "",
                         msg);
    } else if (bad) {
        rc = ibs_err_set(err, IBS_E_STORAGE,
                         "s3: %s: the answer is not a DeleteResult: check the endpoint", what);
    }
out:
    s3_buf_free(&body);
    s3_resp_free(&resp);
    return rc;
}

static int s3_delete_many(void *state, const char *const *keys, size_t n, struct ibs_err *err)
{
    for (size_t done = 0; done < n; done += DELETE_BATCH_MAX) {
        size_t batch = n - done < DELETE_BATCH_MAX ? n - done : DELETE_BATCH_MAX;
        int rc = delete_batch(state, keys + done, batch, err);
        if (rc)
            return rc;
    }
    return 0;
}

struct uploads_ctx {
    const struct s3_store *store;
    int (*fn)(void *ctx, const struct store_upload *upload);
    void *ctx;
};

static int upload_entry(void *arg, const char *key, const char *upload_id, time_t initiated)
{
    struct uploads_ctx *uc = arg;
    size_t prefix_len = strlen(uc->store->prefix);
    if (strncmp(key, uc->store->prefix, prefix_len) != 0)
        return 0;
    struct store_upload upload = {.key = key + prefix_len, .upload_id = upload_id,
                                  .initiated = initiated};
    return uc->fn(uc->ctx, &upload);
}

/* ListMultipartUploads, every page
 * (https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListMultipartUploads.html). */
static int s3_list_uploads(void *state, const char *prefix,
                           int (*fn)(void *ctx, const struct store_upload *upload), void *ctx,
                           struct ibs_err *err)
{
    struct s3_store *store = state;
    struct uploads_ctx uc = {.store = store, .fn = fn, .ctx = ctx};
    struct s3_resp resp;
    char *full = s3_full_key(store, prefix ? prefix : "");
    char *key_marker = NULL, *id_marker = NULL;
    char what[600];
    int rc = 0;

    if (!full)
        return oom(err);
    snprintf(what, sizeof(what), "LIST UPLOADS %s", prefix ? prefix : "");
    s3_resp_init(&resp);
    for (unsigned page = 0; page < LIST_PAGES_MAX; page++) {
        struct sigv4_param params[4] = {{"uploads", NULL}, {"prefix", full}};
        size_t n_params = 2;
        if (key_marker)
            params[n_params++] = (struct sigv4_param){"key-marker", key_marker};
        if (id_marker)
            params[n_params++] = (struct sigv4_param){"upload-id-marker", id_marker};
        struct s3_req req = {.method = "GET", .params = params, .n_params = n_params,
                             .what = what};
        rc = s3_request(store, &req, &resp, err);
        if (rc)
            break;
        bool truncated = false;
        char *next_key = NULL, *next_id = NULL;
        rc = s3_xml_list_uploads(s3_buf_str(&resp.body), resp.body.len, upload_entry, &uc,
                                 &truncated, &next_key, &next_id);
        if (rc == -1)
            rc = ibs_err_set(err, IBS_E_STORAGE,
                             "s3: %s: the answer is not a ListMultipartUploadsResult: check "
                             "the endpoint",
                             what);
        else if (!rc && truncated && (!next_key || !next_key[0]))
            rc = ibs_err_set(err, IBS_E_STORAGE,
                             "s3: %s: a truncated page without a next key marker", what);
        free(key_marker);
        free(id_marker);
        key_marker = next_key;
        id_marker = next_id;
        if (rc || !truncated)
            break;
    }
    free(key_marker);
    free(id_marker);
    free(full);
    s3_resp_free(&resp);
    return rc;
}

int s3_abort_multipart(struct s3_store *store, const char *full_key, const char *upload_id,
                       struct ibs_err *err)
{
    char what[700];
    struct s3_resp resp;
    struct sigv4_param params[] = {{"uploadId", upload_id}};
    snprintf(what, sizeof(what), "ABORT UPLOAD %s", full_key + strlen(store->prefix));
    struct s3_req req = {
        .method = "DELETE", .key = full_key, .params = params, .n_params = 1, .what = what};
    s3_resp_init(&resp);
    int rc = s3_request(store, &req, &resp, err);
    if (rc == IBS_E_NOTFOUND) { /* already completed or aborted */
        ibs_err_clear(err);
        rc = 0;
    }
    s3_resp_free(&resp);
    return rc;
}

static int s3_abort_upload(void *state, const char *key, const char *upload_id,
                           struct ibs_err *err)
{
    char *full = s3_full_key(state, key);
    if (!full)
        return oom(err);
    int rc = s3_abort_multipart(state, full, upload_id, err);
    free(full);
    return rc;
}

/* Here rather than in s3_config.c: a program that asks where credentials come
 * from also links the driver (store.c refers to it weakly). */
int s3_credentials_source(const struct store_opts *opts, char *buf, size_t size,
                          struct ibs_err *err)
{
    struct s3_config cfg;
    int rc = s3_config_resolve(opts, &cfg, err);
    if (!rc)
        snprintf(buf, size, "%s", cfg.source);
    s3_config_clear(&cfg);
    return rc;
}

const struct store_driver_ops store_s3_driver = {
    .kind = "s3",
    .open = s3_open,
    .close = s3_close,
    .put = s3_put,
    .get = s3_get,
    .get_range = s3_get_range,
    .get_ranges = s3_get_ranges,
    .head = s3_head,
    .list = s3_list,
    .delete_one = s3_delete_one,
    .delete_many = s3_delete_many,
    .list_uploads = s3_list_uploads,
    .abort_upload = s3_abort_upload,
    .writer_open = s3_writer_open,
    .writer_write = s3_writer_write,
    .writer_offset = s3_writer_offset,
    .writer_capacity = s3_writer_capacity,
    .writer_commit = s3_writer_commit,
    .writer_abort = s3_writer_abort,
};
