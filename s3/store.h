/* The object-store interface: one API over S3 and a local directory.
 *
 * A store is a repository root: an S3 bucket and prefix (s3://bucket/prefix)
 * or a directory (file:///path or a plain path). Keys are relative to that
 * root and use '/' as separator ("backups/20261125T1140Z/manifest").
 *
 * Objects appear only when complete: a streaming writer's object is invisible
 * until store_writer_commit() succeeds, and an aborted or failed writer leaves
 * nothing behind (no object, no multipart upload). Memory is bounded by
 * part_size x parts_in_flight, never by object size. Every call is
 * thread-safe on one store unless noted. */
#ifndef IBS_S3_STORE_H
#define IBS_S3_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "common/err.h"

/* S3 limits (https://docs.aws.amazon.com/AmazonS3/latest/userguide/qfacts.html). */
#define STORE_S3_MIN_PART_SIZE (5ull << 20)
#define STORE_S3_MAX_PART_SIZE (5ull << 30)
#define STORE_S3_MAX_PARTS 10000u
#define STORE_S3_MAX_OBJECT_SIZE (5ull << 40)

#define STORE_DEFAULT_PART_SIZE (16ull << 20)
#define STORE_DEFAULT_PARTS_IN_FLIGHT 4u
#define STORE_DEFAULT_RETRIES 8u

struct store_opts {
    const char *url; /* s3://bucket[/prefix], file:///path or a path; required */

    /* S3 only; NULL/0 means "find it the way the AWS CLI does" or a default. */
    const char *endpoint;      /* custom endpoint URL: path-style addressing */
    const char *region;        /* default from AWS_REGION / profile / us-east-1 */
    const char *profile;       /* AWS_PROFILE */
    const char *access_key;    /* explicit credentials (ibstream config file) */
    const char *secret_key;
    const char *session_token;
    const char *ca_file;
    bool no_verify_tls;        /* test rigs only; never implied */
    const char *sse;           /* "AES256" or "aws:kms" */
    const char *sse_kms_key_id;
    const char *sse_c_key_file; /* 32-byte raw key file for SSE-C */
    const char *storage_class;
    bool debug;                /* log each request: method, path, status, request id, time */

    /* Both drivers. */
    uint64_t part_size;        /* 0: STORE_DEFAULT_PART_SIZE */
    unsigned parts_in_flight;  /* 0: STORE_DEFAULT_PARTS_IN_FLIGHT */
    unsigned retries;          /* retry budget per request; 0: STORE_DEFAULT_RETRIES */
};

struct store;
struct store_writer;

struct store_stat {
    uint64_t size;
    time_t mtime;
    char etag[80];
};

struct store_entry {
    const char *key; /* relative to the store root */
    uint64_t size;
    time_t mtime;
};

struct store_upload {
    const char *key;       /* relative to the store root */
    const char *upload_id; /* driver-specific */
    time_t initiated;
};

/* One ranged read for store_get_ranges(): bytes [offset, offset+len) of key into buf. */
struct store_range {
    const char *key;
    uint64_t offset;
    size_t len;
    void *buf;
};

/* Opens the store named by opts->url; resolves credentials for S3 (no request
 * is made). On success *out owns the store; free it with store_close(). */
int store_open(const struct store_opts *opts, struct store **out, struct ibs_err *err);
void store_close(struct store *store); /* NULL is a no-op */

/* "s3://bucket/prefix" or "file:///abs/path", for messages. */
const char *store_url(const struct store *store);
/* "s3" or "local". */
const char *store_kind(const struct store *store);

/* Whole-object operations, for small objects (manifests, locks). */
int store_put(struct store *store, const char *key, const void *data, size_t len,
              struct ibs_err *err);
/* Creates key only if no object has it, atomically: *created says whether
 * this call did. Offered by stores that can (store_has_put_new(): the local
 * driver, with link()); the repository lock uses it to skip a read-back. */
bool store_has_put_new(const struct store *store);
int store_put_new(struct store *store, const char *key, const void *data, size_t len,
                  bool *created, struct ibs_err *err);
/* Reads a whole object into a malloc'd buffer the caller frees. IBS_E_NOTFOUND if absent. */
int store_get(struct store *store, const char *key, void **data, size_t *len, struct ibs_err *err);
/* Reads exactly len bytes at offset; a short object is an IBS_E_INTEGRITY error. */
int store_get_range(struct store *store, const char *key, uint64_t offset, void *buf, size_t len,
                    struct ibs_err *err);
/* Performs n ranged reads, up to parts_in_flight at once; fails on the first failure. */
int store_get_ranges(struct store *store, struct store_range *ranges, size_t n,
                     struct ibs_err *err);
/* IBS_E_NOTFOUND if absent. */
int store_head(struct store *store, const char *key, struct store_stat *st, struct ibs_err *err);
/* Calls fn for every object whose key starts with prefix, in key order, across
 * all pages; fn returns 0 to go on, non-zero to stop (returned as is). */
int store_list(struct store *store, const char *prefix,
               int (*fn)(void *ctx, const struct store_entry *entry), void *ctx,
               struct ibs_err *err);
/* Deleting an absent object succeeds. */
int store_delete(struct store *store, const char *key, struct ibs_err *err);
int store_delete_many(struct store *store, const char *const *keys, size_t n, struct ibs_err *err);

/* Unfinished multipart uploads under prefix, and aborting one. */
int store_list_uploads(struct store *store, const char *prefix,
                       int (*fn)(void *ctx, const struct store_upload *upload), void *ctx,
                       struct ibs_err *err);
int store_abort_upload(struct store *store, const char *key, const char *upload_id,
                       struct ibs_err *err);

/* Streaming put of an object of unknown length. Bytes written are buffered into
 * parts of part_size and uploaded in parallel (up to parts_in_flight); write
 * blocks while all part buffers are busy. */
int store_writer_open(struct store *store, const char *key, struct store_writer **out,
                      struct ibs_err *err);
int store_writer_write(struct store_writer *w, const void *data, size_t len, struct ibs_err *err);
/* Bytes accepted so far: the offset the next write lands at in the object. */
uint64_t store_writer_offset(const struct store_writer *w);
/* Largest object this writer can still accept (part_size x 10,000 for S3). */
uint64_t store_writer_capacity(const struct store_writer *w);
/* Uploads what is buffered and completes the object; frees w in every case.
 * On failure the upload is aborted and nothing is left. */
int store_writer_commit(struct store_writer *w, struct ibs_err *err);
/* Aborts the upload (nothing is left behind) and frees w; NULL is a no-op. */
void store_writer_abort(struct store_writer *w);

/* The smallest part size (a multiple of 1 MiB, at least part_size_floor and
 * S3's 5 MiB minimum) with which an object of expected_size fits in 10,000
 * parts; capped at 5 GiB. */
uint64_t store_part_size_for(uint64_t expected_size, uint64_t part_size_floor);

#endif
