/* The S3 streaming writer: a multipart upload of an object of unknown length
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/mpuoverview.html).
 *
 * Bytes fill a part buffer; when it is full the upload is created (once) and
 * the buffer queued to up to parts_in_flight worker threads, each uploading a
 * part with Content-MD5 and its own retries. At most parts_in_flight + 1
 * buffers of part_size exist, reused, so memory is bounded by the options and
 * not by the object. An object smaller than one part is a single PUT at
 * commit. Any failure aborts the upload so no parts are left behind. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "s3/s3_store.h"
#include "s3/s3_xml.h"

#define FIRST_BUF_CAP (64u << 10)

struct part_buf {
    unsigned char *data;
    size_t len;
    size_t cap;
    unsigned number; /* 1-based part number once queued */
};

struct store_driver_writer {
    struct s3_store *store;
    char *key;      /* relative, for messages */
    char *full_key;
    uint64_t offset;
    uint64_t capacity;
    bool started;   /* CreateMultipartUpload done; upload_id valid */
    char upload_id[512];
    struct part_buf *cur; /* the buffer being filled (owned by the writer thread) */
    unsigned next_part;
    unsigned max_bufs;
    pthread_t threads[64];
    unsigned n_threads;

    pthread_mutex_t lock; /* guards everything below */
    pthread_cond_t cond;  /* signalled on every state change */
    struct part_buf **free_bufs;
    unsigned n_free;
    unsigned n_allocated;
    struct part_buf **queue; /* FIFO of full buffers */
    unsigned q_head;
    unsigned q_len;
    bool stopping;
    bool failed;
    struct ibs_err first_err;
    char (*etags)[128]; /* etags[n - 1] of part n */
};

static void part_buf_free(struct part_buf *b)
{
    if (b) {
        free(b->data);
        free(b);
    }
}

static struct part_buf *part_buf_new(size_t cap)
{
    struct part_buf *b = calloc(1, sizeof(*b));
    if (!b)
        return NULL;
    b->data = malloc(cap);
    if (!b->data) {
        free(b);
        return NULL;
    }
    b->cap = cap;
    return b;
}

static void fail_locked(struct store_driver_writer *w, const struct ibs_err *err)
{
    if (!w->failed) {
        w->failed = true;
        w->first_err = *err;
    }
    pthread_cond_broadcast(&w->cond);
}

static int upload_part(struct store_driver_writer *w, struct part_buf *b, struct ibs_err *err)
{
    char number[16], what[700];
    struct s3_resp resp;
    snprintf(number, sizeof(number), "%u", b->number);
    snprintf(what, sizeof(what), "PUT %s part %u", w->key, b->number);
    struct sigv4_param params[] = {{"partNumber", number}, {"uploadId", w->upload_id}};
    struct s3_req req = {
        .method = "PUT",
        .key = w->full_key,
        .params = params,
        .n_params = 2,
        .body = b->data,
        .body_len = b->len,
        .content_md5 = true,
        .headers = S3_H_SSE_C,
        .what = what,
    };
    s3_resp_init(&resp);
    int rc = s3_request(w->store, &req, &resp, err);
    if (!rc && !resp.etag[0])
        rc = ibs_err_set(err, IBS_E_STORAGE, "s3: %s: the answer has no ETag: check the endpoint",
                         what);
    if (!rc) {
        pthread_mutex_lock(&w->lock);
        snprintf(w->etags[b->number - 1], sizeof(w->etags[0]), "%s", resp.etag);
        pthread_mutex_unlock(&w->lock);
    }
    s3_resp_free(&resp);
    return rc;
}

static void *part_worker(void *arg)
{
    struct store_driver_writer *w = arg;
    pthread_mutex_lock(&w->lock);
    for (;;) {
        while (w->q_len == 0 && !w->stopping && !w->failed)
            pthread_cond_wait(&w->cond, &w->lock);
        if (w->failed || w->q_len == 0)
            break;
        struct part_buf *b = w->queue[w->q_head];
        w->q_head = (w->q_head + 1) % w->max_bufs;
        w->q_len--;
        pthread_mutex_unlock(&w->lock);

        struct ibs_err err;
        ibs_err_clear(&err);
        int rc = upload_part(w, b, &err);

        pthread_mutex_lock(&w->lock);
        b->len = 0;
        w->free_bufs[w->n_free++] = b;
        if (rc)
            fail_locked(w, &err);
        pthread_cond_broadcast(&w->cond);
    }
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

int s3_writer_open(void *state, const char *key, struct store_driver_writer **out,
                   struct ibs_err *err)
{
    struct s3_store *store = state;
    struct store_driver_writer *w = calloc(1, sizeof(*w));
    if (!w)
        return ibs_err_set(err, IBS_E_INTERNAL, "s3: out of memory");
    w->store = store;
    w->max_bufs = store->parts_in_flight + 1;
    w->capacity = store->part_size * STORE_S3_MAX_PARTS;
    if (w->capacity > STORE_S3_MAX_OBJECT_SIZE)
        w->capacity = STORE_S3_MAX_OBJECT_SIZE;
    w->next_part = 1;
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->cond, NULL);
    w->key = strdup(key);
    w->full_key = s3_full_key(store, key);
    w->free_bufs = calloc(w->max_bufs, sizeof(*w->free_bufs));
    w->queue = calloc(w->max_bufs, sizeof(*w->queue));
    /* The first buffer grows with the data: a small object costs little memory. */
    w->cur = part_buf_new(store->part_size < FIRST_BUF_CAP ? store->part_size : FIRST_BUF_CAP);
    if (!w->key || !w->full_key || !w->free_bufs || !w->queue || !w->cur) {
        s3_writer_abort(w);
        return ibs_err_set(err, IBS_E_INTERNAL, "s3: out of memory");
    }
    w->n_allocated = 1;
    *out = w;
    return 0;
}

/* CreateMultipartUpload and the worker threads, when the first part is full. */
static int start_upload(struct store_driver_writer *w, struct ibs_err *err)
{
    char what[700];
    struct s3_resp resp;
    struct sigv4_param params[] = {{"uploads", NULL}};
    snprintf(what, sizeof(what), "CREATE UPLOAD %s", w->key);
    struct s3_req req = {
        .method = "POST",
        .key = w->full_key,
        .params = params,
        .n_params = 1,
        .body = "",
        .body_len = 0,
        .headers = S3_H_CREATE | S3_H_SSE_C,
        .what = what,
    };
    w->etags = calloc(STORE_S3_MAX_PARTS, sizeof(*w->etags));
    if (!w->etags)
        return ibs_err_set(err, IBS_E_INTERNAL, "s3: out of memory");
    s3_resp_init(&resp);
    int rc = s3_request(w->store, &req, &resp, err);
    if (!rc && !s3_xml_upload_id(s3_buf_str(&resp.body), resp.body.len, w->upload_id,
                                 sizeof(w->upload_id)))
        rc = ibs_err_set(err, IBS_E_STORAGE,
                         "s3: %s: the answer carries no UploadId: check the endpoint", what);
    s3_resp_free(&resp);
    if (rc)
        return rc;
    w->started = true;
    for (unsigned i = 0; i < w->store->parts_in_flight; i++) {
        if (pthread_create(&w->threads[w->n_threads], NULL, part_worker, w) != 0)
            break;
        w->n_threads++;
    }
    if (w->n_threads == 0)
        return ibs_err_set(err, IBS_E_INTERNAL, "s3: %s: cannot start an upload thread", what);
    return 0;
}

/* Queues the full current buffer and takes an empty one, waiting for a worker
 * to free one when all part_size x (parts_in_flight + 1) bytes are in use. */
static int queue_current(struct store_driver_writer *w, bool take_next, struct ibs_err *err)
{
    pthread_mutex_lock(&w->lock);
    if (w->failed)
        goto failed;
    w->cur->number = w->next_part++;
    w->queue[(w->q_head + w->q_len) % w->max_bufs] = w->cur;
    w->q_len++;
    w->cur = NULL;
    pthread_cond_broadcast(&w->cond);
    if (!take_next) {
        pthread_mutex_unlock(&w->lock);
        return 0;
    }
    while (w->n_free == 0 && w->n_allocated == w->max_bufs && !w->failed)
        pthread_cond_wait(&w->cond, &w->lock);
    if (w->failed)
        goto failed;
    if (w->n_free > 0) {
        w->cur = w->free_bufs[--w->n_free];
    } else {
        w->n_allocated++;
        pthread_mutex_unlock(&w->lock);
        w->cur = part_buf_new(w->store->part_size);
        if (!w->cur)
            return ibs_err_set(err, IBS_E_INTERNAL, "s3: out of memory for a part buffer");
        return 0;
    }
    pthread_mutex_unlock(&w->lock);
    return 0;
failed:
    *err = w->first_err;
    pthread_mutex_unlock(&w->lock);
    return err->code;
}

int s3_writer_write(struct store_driver_writer *w, const void *data, size_t len,
                    struct ibs_err *err)
{
    const unsigned char *p = data;
    size_t part_size = w->store->part_size;

    if (!w->cur) /* an earlier write failed: only abort remains */
        return ibs_err_set(err, IBS_E_USAGE, "s3: PUT %s: the writer failed earlier: abort it",
                           w->key);
    if (len > w->capacity - w->offset)
        return ibs_err_set(err, IBS_E_USAGE,
                           "s3: PUT %s: the object would exceed %llu bytes (10,000 parts of "
                           "%llu): use a larger part size",
                           w->key, (unsigned long long)w->capacity,
                           (unsigned long long)part_size);
    while (len > 0) {
        if (w->cur->cap < part_size && w->cur->len + len > w->cur->cap) {
            size_t cap = w->cur->cap;
            while (cap < w->cur->len + len && cap < part_size)
                cap *= 2;
            if (cap > part_size)
                cap = part_size;
            unsigned char *grown = realloc(w->cur->data, cap);
            if (!grown)
                return ibs_err_set(err, IBS_E_INTERNAL, "s3: out of memory for a part buffer");
            w->cur->data = grown;
            w->cur->cap = cap;
        }
        size_t n = w->cur->cap - w->cur->len;
        if (n > len)
            n = len;
        memcpy(w->cur->data + w->cur->len, p, n);
        w->cur->len += n;
        w->offset += n;
        p += n;
        len -= n;
        if (w->cur->len == part_size) {
            int rc = w->started ? 0 : start_upload(w, err);
            if (!rc)
                rc = queue_current(w, true, err);
            if (rc)
                return rc;
        }
    }
    return 0;
}

uint64_t s3_writer_offset(const struct store_driver_writer *w)
{
    return w->offset;
}

uint64_t s3_writer_capacity(const struct store_driver_writer *w)
{
    return w->capacity;
}

/* Stops the workers after the queue drains (or at once after a failure). */
static void join_workers(struct store_driver_writer *w)
{
    pthread_mutex_lock(&w->lock);
    w->stopping = true;
    pthread_cond_broadcast(&w->cond);
    pthread_mutex_unlock(&w->lock);
    for (unsigned i = 0; i < w->n_threads; i++)
        pthread_join(w->threads[i], NULL);
    w->n_threads = 0;
}

static void writer_free(struct store_driver_writer *w)
{
    part_buf_free(w->cur);
    for (unsigned i = 0; i < w->n_free; i++)
        part_buf_free(w->free_bufs[i]);
    for (unsigned i = 0; i < w->q_len; i++)
        part_buf_free(w->queue[(w->q_head + i) % w->max_bufs]);
    free(w->free_bufs);
    free(w->queue);
    free(w->etags);
    free(w->key);
    free(w->full_key);
    pthread_cond_destroy(&w->cond);
    pthread_mutex_destroy(&w->lock);
    free(w);
}

/* Aborts the multipart upload, if any; a failure to abort is logged (the
 * caller already has the error that matters) with how to clean up by hand. */
static void abort_started(struct store_driver_writer *w)
{
    if (!w->started)
        return;
    struct ibs_err err;
    ibs_err_clear(&err);
    if (s3_abort_multipart(w->store, w->full_key, w->upload_id, &err) != 0)
        IBS_WARN("s3",
                 "%s; the parts of upload %s stay in the bucket until aborted (ibstream "
                 "cleanup, or a lifecycle rule for incomplete multipart uploads)",
                 err.msg, w->upload_id);
    w->started = false;
}

static int complete_upload(struct store_driver_writer *w, struct ibs_err *err)
{
    char what[700];
    struct s3_buf body;
    struct s3_resp resp;
    struct sigv4_param params[] = {{"uploadId", w->upload_id}};
    int rc;

    s3_buf_init(&body);
    s3_resp_init(&resp);
    s3_buf_puts(&body, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<CompleteMultipartUpload "
                       "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">");
    for (unsigned n = 1; n < w->next_part; n++) {
        s3_buf_printf(&body, "<Part><PartNumber>%u</PartNumber><ETag>", n);
        s3_xml_escape(&body, w->etags[n - 1]);
        s3_buf_puts(&body, "</ETag></Part>");
    }
    s3_buf_puts(&body, "</CompleteMultipartUpload>");
    if (body.oom) {
        rc = ibs_err_set(err, IBS_E_INTERNAL, "s3: out of memory");
        goto out;
    }
    snprintf(what, sizeof(what), "COMPLETE UPLOAD %s (%u parts)", w->key, w->next_part - 1);
    struct s3_req req = {
        .method = "POST",
        .key = w->full_key,
        .params = params,
        .n_params = 1,
        .body = body.data,
        .body_len = body.len,
        .error_in_200 = true,
        .what = what,
    };
    rc = s3_request(w->store, &req, &resp, err);
out:
    s3_buf_free(&body);
    s3_resp_free(&resp);
    return rc;
}

int s3_writer_commit(struct store_driver_writer *w, struct ibs_err *err)
{
    int rc;

    if (!w->cur && !w->started) {
        writer_free(w);
        return ibs_err_set(err, IBS_E_USAGE, "s3: the writer failed earlier: nothing to commit");
    }
    if (!w->started) {
        rc = s3_put_object(w->store, w->full_key, w->key, w->cur->data, w->cur->len, err);
        writer_free(w);
        return rc;
    }
    rc = 0;
    if (w->cur && w->cur->len > 0)
        rc = queue_current(w, false, err);
    join_workers(w);
    if (!rc && w->failed) {
        *err = w->first_err;
        rc = err->code;
    }
    if (!rc)
        rc = complete_upload(w, err);
    if (rc)
        abort_started(w);
    w->started = false;
    writer_free(w);
    return rc;
}

void s3_writer_abort(struct store_driver_writer *w)
{
    if (!w)
        return;
    pthread_mutex_lock(&w->lock);
    w->failed = true;
    pthread_cond_broadcast(&w->cond);
    pthread_mutex_unlock(&w->lock);
    join_workers(w);
    abort_started(w);
    writer_free(w);
}
