/* The S3 request engine (see s3_http.h).
 *
 * Retry policy (https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html,
 * https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html):
 * connection errors and timeouts, 5xx, 429, SlowDown, RequestTimeout and
 * InternalError are retried with exponential backoff and full jitter; any
 * other 4xx fails at once with the S3 code and what to do about it. */
#include "s3/s3_http.h"

#include <curl/curl.h>
#include <libxml/parser.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/log.h"
#include "s3/s3_xml.h"

#define ERROR_BODY_MAX (64u << 10)
#define UNSIGNED_PAYLOAD_MIN (1u << 20)

static pthread_once_t global_once = PTHREAD_ONCE_INIT;

static void global_init_once(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    xmlInitParser();
}

void s3_global_init(void)
{
    pthread_once(&global_once, global_init_once);
}

void s3_resp_init(struct s3_resp *resp)
{
    memset(resp, 0, sizeof(*resp));
    s3_buf_init(&resp->body);
}

void s3_resp_free(struct s3_resp *resp)
{
    s3_buf_free(&resp->body);
}

static void resp_reset(struct s3_resp *resp)
{
    struct s3_buf body = resp->body;
    memset(resp, 0, sizeof(*resp));
    resp->body = body;
    s3_buf_reset(&resp->body);
}

static CURL *handle_take(struct s3_store *store)
{
    CURL *h = NULL;
    pthread_mutex_lock(&store->lock);
    if (store->n_handles > 0)
        h = store->handles[--store->n_handles];
    pthread_mutex_unlock(&store->lock);
    return h ? h : curl_easy_init();
}

/* Keeps h (and its open connections) for the next request. */
static void handle_give_back(struct s3_store *store, CURL *h)
{
    pthread_mutex_lock(&store->lock);
    if (store->n_handles == store->cap_handles) {
        size_t cap = store->cap_handles ? 2 * store->cap_handles : 8;
        void **grown = realloc(store->handles, cap * sizeof(*grown));
        if (grown) {
            store->handles = grown;
            store->cap_handles = cap;
        }
    }
    if (store->n_handles < store->cap_handles) {
        store->handles[store->n_handles++] = h;
        h = NULL;
    }
    pthread_mutex_unlock(&store->lock);
    if (h)
        curl_easy_cleanup(h);
}

/* The signing key is the same for a whole UTC day: compute it once a day. */
static void signing_key_for(struct s3_store *store, const char *date8, unsigned char key[32])
{
    pthread_mutex_lock(&store->lock);
    if (strcmp(store->key_date, date8) != 0) {
        sigv4_signing_key(store->cfg.secret_key, date8, store->cfg.region, "s3",
                          store->signing_key);
        memcpy(store->key_date, date8, 9);
    }
    memcpy(key, store->signing_key, 32);
    pthread_mutex_unlock(&store->lock);
}

struct transfer {
    CURL *h;
    const struct s3_req *req;
    struct s3_resp *resp;
    size_t upload_pos;
    bool overflow;
    char bucket_region[64];
};

static bool status_ok(long status)
{
    return status >= 200 && status < 300;
}

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *user)
{
    struct transfer *t = user;
    size_t n = size * nmemb;
    long status = 0;

    curl_easy_getinfo(t->h, CURLINFO_RESPONSE_CODE, &status);
    if (status_ok(status) && t->req->dest) {
        if (n > t->req->dest_len - t->resp->dest_filled) {
            t->overflow = true;
            return 0;
        }
        memcpy((char *)t->req->dest + t->resp->dest_filled, ptr, n);
        t->resp->dest_filled += n;
        return n;
    }
    if (!status_ok(status) && t->resp->body.len >= ERROR_BODY_MAX)
        return n; /* enough of an error document to read its code */
    s3_buf_append(&t->resp->body, ptr, n);
    return t->resp->body.oom ? 0 : n;
}

/* Copies the value of header line "Name: value\r\n" if it is name. */
static bool header_value(const char *line, size_t len, const char *name, char *out, size_t size)
{
    size_t name_len = strlen(name);
    if (len <= name_len || strncasecmp(line, name, name_len) != 0 || line[name_len] != ':')
        return false;
    const char *v = line + name_len + 1;
    const char *end = line + len;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
        end--;
    size_t n = (size_t)(end - v);
    if (n >= size)
        n = size - 1;
    memcpy(out, v, n);
    out[n] = '\0';
    return true;
}

static size_t on_header(char *line, size_t size, size_t nitems, void *user)
{
    struct transfer *t = user;
    size_t len = size * nitems;
    char value[128];

    if (header_value(line, len, "ETag", t->resp->etag, sizeof(t->resp->etag)))
        return len;
    if (header_value(line, len, "x-amz-request-id", t->resp->request_id,
                     sizeof(t->resp->request_id)))
        return len;
    if (header_value(line, len, "x-amz-bucket-region", t->bucket_region,
                     sizeof(t->bucket_region)))
        return len;
    if (header_value(line, len, "Content-Length", value, sizeof(value))) {
        t->resp->content_length = strtoull(value, NULL, 10);
        t->resp->has_length = true;
    } else if (header_value(line, len, "Last-Modified", value, sizeof(value))) {
        t->resp->last_modified = curl_getdate(value, NULL);
    } else if (header_value(line, len, "Date", value, sizeof(value))) {
        t->resp->date = curl_getdate(value, NULL);
    }
    return len;
}

static size_t on_upload(char *buf, size_t size, size_t nitems, void *user)
{
    struct transfer *t = user;
    size_t n = t->req->body_len - t->upload_pos;
    if (n > size * nitems)
        n = size * nitems;
    if (n)
        memcpy(buf, (const char *)t->req->body + t->upload_pos, n);
    t->upload_pos += n;
    return n;
}

/* curl rewinds the body when it must resend it on a new connection. */
static int on_seek(void *user, curl_off_t offset, int origin)
{
    struct transfer *t = user;
    if (origin != SEEK_SET || offset < 0 || (size_t)offset > t->req->body_len)
        return CURL_SEEKFUNC_CANTSEEK;
    t->upload_pos = (size_t)offset;
    return CURL_SEEKFUNC_OK;
}

/* What went wrong in one attempt. */
struct failure {
    enum ibs_code code;
    bool retry;
    char cause[1024]; /* "503 SlowDown", "connection error: ..." */
    char fix[2048];
};

static bool is_retryable_code(const char *code)
{
    static const char *const codes[] = {"SlowDown", "RequestTimeout", "InternalError",
                                        "ServiceUnavailable", "Throttling", "ThrottlingException",
                                        "RequestThrottled", "BadDigest", "OperationAborted"};
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
        if (strcmp(code, codes[i]) == 0)
            return true;
    }
    return false;
}

static void object_name(const struct s3_store *store, const struct s3_req *req, char *out,
                        size_t size)
{
    snprintf(out, size, "s3://%s/%s", store->bucket, req->key ? req->key : "");
}

static bool has_param(const struct s3_req *req, const char *name)
{
    for (size_t i = 0; i < req->n_params; i++) {
        if (strcmp(req->params[i].name, name) == 0)
            return true;
    }
    return false;
}

/* The IAM action that authorises req, so an AccessDenied names the permission
 * to grant (https://docs.aws.amazon.com/AmazonS3/latest/userguide/using-with-s3-policy-actions.html):
 * the multipart calls other than abort and listing are covered by s3:PutObject,
 * HEAD by the action of the matching GET, DeleteObjects by s3:DeleteObject. */
static const char *iam_action(const struct s3_req *req)
{
    const char *m = req->method;
    if (!req->key) {
        if (strcmp(m, "POST") == 0 && has_param(req, "delete"))
            return "s3:DeleteObject";
        if (has_param(req, "uploads"))
            return "s3:ListBucketMultipartUploads";
        return "s3:ListBucket";
    }
    if (strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0)
        return "s3:GetObject";
    if (strcmp(m, "DELETE") == 0)
        return has_param(req, "uploadId") ? "s3:AbortMultipartUpload" : "s3:DeleteObject";
    return "s3:PutObject";
}

/* Fills f->fix for an S3 error code, and the code's ibstream error class. */
static void explain_code(const struct s3_store *store, const struct s3_req *req,
                         const struct transfer *t, const char *code, struct failure *f)
{
    char object[600];
    object_name(store, req, object, sizeof(object));

    if (strcmp(code, "NoSuchKey") == 0) {
        f->code = IBS_E_NOTFOUND;
        snprintf(f->fix, sizeof(f->fix), "%s does not exist", object);
    } else if (strcmp(code, "NoSuchUpload") == 0) {
        f->code = IBS_E_NOTFOUND;
        snprintf(f->fix, sizeof(f->fix),
                 "the multipart upload of %s no longer exists (completed or aborted)", object);
    } else if (strcmp(code, "NoSuchBucket") == 0) {
        snprintf(f->fix, sizeof(f->fix), "bucket %s does not exist: create it or fix --repo",
                 store->bucket);
    } else if (strcmp(code, "AccessDenied") == 0 || strcmp(code, "AllAccessDisabled") == 0) {
        snprintf(f->fix, sizeof(f->fix),
                 "the credentials (from %s) lack permission for %s on %s (%s): grant it in the "
                 "IAM or bucket policy, or use other credentials",
                 store->cfg.source, req->method, object, iam_action(req));
    } else if (strcmp(code, "SignatureDoesNotMatch") == 0) {
        snprintf(f->fix, sizeof(f->fix),
                 "the secret key does not match the access key (credentials from %s), or the "
                 "clock is off: fix the secret key or synchronise the clock",
                 store->cfg.source);
    } else if (strcmp(code, "InvalidAccessKeyId") == 0) {
        snprintf(f->fix, sizeof(f->fix),
                 "access key %s (from %s) is not known to this endpoint: fix the credentials",
                 store->cfg.access_key, store->cfg.source);
    } else if (strcmp(code, "ExpiredToken") == 0 || strcmp(code, "TokenRefreshRequired") == 0) {
        snprintf(f->fix, sizeof(f->fix),
                 "the session token (from %s) has expired: renew the credentials",
                 store->cfg.source);
    } else if (strcmp(code, "InvalidToken") == 0) {
        snprintf(f->fix, sizeof(f->fix),
                 "the session token (from %s) is not valid: fix the credentials",
                 store->cfg.source);
    } else if (strcmp(code, "RequestTimeTooSkewed") == 0) {
        snprintf(f->fix, sizeof(f->fix),
                 "this host's clock is more than 15 minutes off: synchronise it (NTP)");
    } else if (strcmp(code, "PermanentRedirect") == 0 ||
               strcmp(code, "AuthorizationHeaderMalformed") == 0 ||
               strcmp(code, "IllegalLocationConstraintException") == 0) {
        snprintf(f->fix, sizeof(f->fix),
                 "bucket %s is not in region %s (from %s)%s%s: set the bucket's region",
                 store->bucket, store->cfg.region, store->cfg.region_source,
                 t->bucket_region[0] ? "; S3 says it is in " : "", t->bucket_region);
    } else if (strcmp(code, "InvalidRange") == 0) {
        f->code = IBS_E_INTEGRITY;
        snprintf(f->fix, sizeof(f->fix), "%s is shorter than the range %s asked for", object,
                 req->range ? req->range : "");
    } else if (strcmp(code, "NotImplemented") == 0) {
        snprintf(f->fix, sizeof(f->fix), "the S3 endpoint %s does not implement this request",
                 store->url_base);
    } else if (strcmp(code, "InvalidBucketName") == 0) {
        snprintf(f->fix, sizeof(f->fix), "\"%s\" is not a valid bucket name: fix --repo",
                 store->bucket);
    }
}

/* Classifies an HTTP answer; returns true when it is a success. */
static bool classify_http(const struct s3_store *store, const struct s3_req *req,
                          struct transfer *t, struct failure *f)
{
    struct s3_resp *resp = t->resp;
    long status = resp->status;
    char msg[256] = "";

    if (status_ok(status)) {
        if (req->error_in_200 &&
            s3_xml_error(s3_buf_str(&resp->body), resp->body.len, resp->code, sizeof(resp->code),
                         msg, sizeof(msg))) {
            /* CompleteMultipartUpload can fail after its 200 header was sent. */
            f->code = IBS_E_STORAGE;
            f->retry = is_retryable_code(resp->code);
            snprintf(f->cause, sizeof(f->cause), "200 with error %s%s%s", resp->code,
                     msg[0] ? " " : "", msg);
            explain_code(store, req, t, resp->code, f);
            return false;
        }
        if (req->dest && resp->dest_filled != req->dest_len) {
            f->code = IBS_E_INTEGRITY;
            snprintf(f->cause, sizeof(f->cause), "%zu bytes received, %zu expected",
                     resp->dest_filled, req->dest_len);
            snprintf(f->fix, sizeof(f->fix), "the object is shorter than the range asked for");
            return false;
        }
        return true;
    }

    f->code = IBS_E_STORAGE;
    if (!s3_xml_error(s3_buf_str(&resp->body), resp->body.len, resp->code, sizeof(resp->code),
                      msg, sizeof(msg))) {
        resp->code[0] = '\0';
    }
    if (resp->code[0]) {
        snprintf(f->cause, sizeof(f->cause), "%ld %s", status, resp->code);
        explain_code(store, req, t, resp->code, f);
        if (!f->fix[0] && msg[0])
            snprintf(f->fix, sizeof(f->fix), "%s", msg);
    } else if (status == 404) {
        /* HEAD answers carry no body, hence no code. */
        snprintf(f->cause, sizeof(f->cause), "404 Not Found");
        if (req->key) {
            f->code = IBS_E_NOTFOUND;
            char object[600];
            object_name(store, req, object, sizeof(object));
            snprintf(f->fix, sizeof(f->fix), "%s does not exist", object);
        } else {
            snprintf(f->fix, sizeof(f->fix), "bucket %s does not exist: create it or fix --repo",
                     store->bucket);
        }
    } else if (status == 403) {
        snprintf(f->cause, sizeof(f->cause), "403 Forbidden");
        snprintf(f->fix, sizeof(f->fix),
                 "access denied or a bad signature (the answer carries no code): check the "
                 "credentials from %s and their permissions",
                 store->cfg.source);
    } else {
        snprintf(f->cause, sizeof(f->cause), "HTTP %ld", status);
    }
    /* 501 NotImplemented will not change on a retry. */
    f->retry = (status >= 500 && status != 501) || status == 429 || is_retryable_code(resp->code);
    return false;
}

static void classify_curl(const struct s3_store *store, CURLcode cres, const char *errbuf,
                          const struct transfer *t, struct failure *f)
{
    f->code = IBS_E_STORAGE;
    if (t->overflow) {
        f->code = IBS_E_INTEGRITY;
        snprintf(f->cause, sizeof(f->cause), "more than the %zu bytes asked for",
                 t->req->dest_len);
        return;
    }
    snprintf(f->cause, sizeof(f->cause), "connection error: %s",
             errbuf[0] ? errbuf : curl_easy_strerror(cres));
    switch (cres) {
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
        snprintf(f->fix, sizeof(f->fix), "the endpoint URL %s is not usable: fix it",
                 store->url_base);
        break;
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
        snprintf(f->fix, sizeof(f->fix),
                 "the TLS certificate of %s does not verify: give the CA file that signs it",
                 store->url_base);
        break;
    case CURLE_OUT_OF_MEMORY:
        break;
    default:
        f->retry = true;
        snprintf(f->fix, sizeof(f->fix), "check that %s is reachable", store->url_base);
    }
}

/* Full jitter: a random wait in [0, min(cap, base * 2^attempt)]. */
static void backoff(const struct s3_store *store, unsigned attempt, unsigned *seed)
{
    uint64_t ceiling = (uint64_t)store->backoff_base_ms << (attempt < 20 ? attempt : 20);
    if (ceiling > store->backoff_cap_ms)
        ceiling = store->backoff_cap_ms;
    uint64_t ms = ceiling ? (uint64_t)rand_r(seed) % (ceiling + 1) : 0;
    struct timespec ts = {.tv_sec = (time_t)(ms / 1000), .tv_nsec = (long)(ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Request-wide values that do not change between attempts. */
struct prepared {
    struct s3_buf raw_path;
    struct s3_buf url;
    struct s3_buf path_query; /* for the debug log */
    char payload_hash[65];
    char md5[25];
    char what[700];
};

static void prepare(const struct s3_store *store, const struct s3_req *req, struct prepared *p)
{
    s3_buf_init(&p->raw_path);
    s3_buf_init(&p->url);
    s3_buf_init(&p->path_query);

    s3_buf_puts(&p->raw_path, store->path_base);
    if (req->key) {
        s3_buf_puts(&p->raw_path, "/");
        s3_buf_puts(&p->raw_path, req->key);
    } else if (!store->path_base[0]) {
        s3_buf_puts(&p->raw_path, "/");
    }
    sigv4_uri_encode(&p->path_query, p->raw_path.data, p->raw_path.len, true);
    if (req->n_params) {
        s3_buf_puts(&p->path_query, "?");
        sigv4_query_string(&p->path_query, req->params, req->n_params);
    }
    s3_buf_printf(&p->url, "%s%s", store->url_base, s3_buf_str(&p->path_query));

    /* A large body is sent as UNSIGNED-PAYLOAD when it carries Content-MD5,
     * over http as well as https: content-md5 is among the signed headers, so
     * the body cannot be changed in transit without failing S3's MD5 check
     * (BadDigest), nor the MD5 without failing the signature. That saves a
     * SHA-256 pass over every part, a quarter of the upload's CPU time (the
     * MD5 pass stays: it is the integrity check every S3 implementation
     * performs). https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html */
    if (req->content_md5 && req->body_len >= UNSIGNED_PAYLOAD_MIN)
        snprintf(p->payload_hash, sizeof(p->payload_hash), "%s", SIGV4_UNSIGNED_PAYLOAD);
    else
        sigv4_sha256_hex(req->body ? req->body : "", req->body_len, p->payload_hash);
    p->md5[0] = '\0';
    if (req->content_md5)
        sigv4_md5_base64(req->body ? req->body : "", req->body_len, p->md5);
    if (req->what)
        snprintf(p->what, sizeof(p->what), "%s", req->what);
    else
        snprintf(p->what, sizeof(p->what), "%s %s", req->method, req->key ? req->key : "/");
}

static void prepared_free(struct prepared *p)
{
    s3_buf_free(&p->raw_path);
    s3_buf_free(&p->url);
    s3_buf_free(&p->path_query);
}

#define MAX_HEADERS 16

/* Signs and sends one attempt; returns the curl result. */
static CURLcode send_once(struct s3_store *store, const struct s3_req *req,
                          const struct prepared *p, struct transfer *t, char *errbuf)
{
    struct sigv4_header hdr[MAX_HEADERS];
    size_t n = 0;
    char amz_date[17], date8[9];
    unsigned char key[32];
    struct s3_buf authz, line;
    struct curl_slist *list = NULL;
    CURLcode cres = CURLE_OUT_OF_MEMORY;
    time_t now = time(NULL);
    struct tm tm;
    CURL *h = t->h;

    gmtime_r(&now, &tm);
    strftime(amz_date, sizeof(amz_date), "%Y%m%dT%H%M%SZ", &tm);
    memcpy(date8, amz_date, 8);
    date8[8] = '\0';
    signing_key_for(store, date8, key);

    hdr[n++] = (struct sigv4_header){"host", store->host};
    hdr[n++] = (struct sigv4_header){"x-amz-date", amz_date};
    hdr[n++] = (struct sigv4_header){"x-amz-content-sha256", p->payload_hash};
    if (store->cfg.session_token)
        hdr[n++] = (struct sigv4_header){"x-amz-security-token", store->cfg.session_token};
    if (p->md5[0])
        hdr[n++] = (struct sigv4_header){"content-md5", p->md5};
    if (req->range)
        hdr[n++] = (struct sigv4_header){"range", req->range};
    if (req->headers & S3_H_CREATE) {
        if (store->sse)
            hdr[n++] = (struct sigv4_header){"x-amz-server-side-encryption", store->sse};
        if (store->sse_kms_key_id)
            hdr[n++] = (struct sigv4_header){"x-amz-server-side-encryption-aws-kms-key-id",
                                             store->sse_kms_key_id};
        if (store->storage_class)
            hdr[n++] = (struct sigv4_header){"x-amz-storage-class", store->storage_class};
    }
    if ((req->headers & S3_H_SSE_C) && store->sse_c) {
        hdr[n++] = (struct sigv4_header){"x-amz-server-side-encryption-customer-algorithm",
                                         "AES256"};
        hdr[n++] = (struct sigv4_header){"x-amz-server-side-encryption-customer-key",
                                         store->sse_c_key};
        hdr[n++] = (struct sigv4_header){"x-amz-server-side-encryption-customer-key-MD5",
                                         store->sse_c_key_md5};
    }

    struct sigv4_request sreq = {
        .method = req->method,
        .path = p->raw_path.data,
        .params = req->params,
        .n_params = req->n_params,
        .headers = hdr,
        .n_headers = n,
        .payload_hash = p->payload_hash,
    };
    s3_buf_init(&authz);
    s3_buf_init(&line);
    if (sigv4_authorization(&sreq, store->cfg.access_key, key, amz_date, store->cfg.region, "s3",
                            &authz, NULL, NULL) != 0)
        goto out;
    for (size_t i = 0; i < n; i++) {
        s3_buf_reset(&line);
        s3_buf_printf(&line, "%s: %s", hdr[i].name, hdr[i].value);
        struct curl_slist *next = curl_slist_append(list, s3_buf_str(&line));
        if (!next)
            goto out;
        list = next;
    }
    s3_buf_reset(&line);
    s3_buf_printf(&line, "Authorization: %s", s3_buf_str(&authz));
    struct curl_slist *next = curl_slist_append(list, s3_buf_str(&line));
    if (!next)
        goto out;
    list = next;
    /* No "Expect: 100-continue" round trip: S3 answers errors early anyway. */
    next = curl_slist_append(list, "Expect:");
    if (!next)
        goto out;
    list = next;

    curl_easy_reset(h);
    curl_easy_setopt(h, CURLOPT_URL, p->url.data);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, list);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, store->connect_timeout);
    /* A stalled transfer fails (and is retried) instead of hanging. */
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1024L);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, store->low_speed_time);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, t);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, t);
    if (store->ca_file)
        curl_easy_setopt(h, CURLOPT_CAINFO, store->ca_file);
    if (store->no_verify_tls) {
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    if (strcmp(req->method, "HEAD") == 0) {
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    } else if (req->body) {
        curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)req->body_len);
        curl_easy_setopt(h, CURLOPT_READFUNCTION, on_upload);
        curl_easy_setopt(h, CURLOPT_READDATA, t);
        curl_easy_setopt(h, CURLOPT_SEEKFUNCTION, on_seek);
        curl_easy_setopt(h, CURLOPT_SEEKDATA, t);
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req->method);
    } else if (strcmp(req->method, "GET") != 0) {
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req->method);
    }
    cres = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &t->resp->status);
    /* The request is done: the handle must not keep pointers into this frame. */
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, NULL);
out:
    explicit_bzero(key, sizeof(key));
    curl_slist_free_all(list);
    s3_buf_free(&authz);
    s3_buf_free(&line);
    return cres;
}

int s3_request(struct s3_store *store, const struct s3_req *req, struct s3_resp *resp,
               struct ibs_err *err)
{
    struct prepared p;
    struct failure f;
    unsigned seed = (unsigned)now_ms() ^ (unsigned)(uintptr_t)&p;
    unsigned attempts = store->retries + 1;
    CURL *h = handle_take(store);
    int rc = 0;

    prepare(store, req, &p);
    if (!h || p.url.oom || p.raw_path.oom) {
        rc = ibs_err_set(err, IBS_E_INTERNAL, "s3: %s: out of memory", p.what);
        goto out;
    }
    for (unsigned attempt = 0; attempt < attempts; attempt++) {
        char errbuf[CURL_ERROR_SIZE] = "";
        struct transfer t = {.h = h, .req = req, .resp = resp};
        int64_t start = now_ms();

        if (attempt > 0)
            backoff(store, attempt - 1, &seed);
        resp_reset(resp);
        memset(&f, 0, sizeof(f));
        CURLcode cres = send_once(store, req, &p, &t, errbuf);
        bool ok = false;
        if (cres == CURLE_OK)
            ok = classify_http(store, req, &t, &f);
        else
            classify_curl(store, cres, errbuf, &t, &f);
        if (store->debug)
            IBS_INFO("s3", "%s %s -> %ld%s%s request-id %s attempt %u %lld ms", req->method,
                     s3_buf_str(&p.path_query), resp->status, resp->code[0] ? " " : "",
                     resp->code, resp->request_id[0] ? resp->request_id : "-", attempt + 1,
                     (long long)(now_ms() - start));
        if (ok)
            goto out;
        if (!f.retry || attempt + 1 == attempts) {
            char retries[48] = "";
            if (attempt > 0)
                snprintf(retries, sizeof(retries), " after %u retries", attempt);
            rc = ibs_err_set(err, f.code, "s3: %s: %s%s%s%s", p.what, f.cause, retries,
                             f.fix[0] ? ": " : "", f.fix);
            goto out;
        }
    }
out:
    if (h)
        handle_give_back(store, h);
    prepared_free(&p);
    return rc;
}
