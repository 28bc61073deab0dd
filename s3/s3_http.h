/* The S3 driver's state and its request engine: one signed HTTP request over
 * libcurl with retries (exponential backoff, full jitter), error documents
 * turned into ibstream errors with a fix, and per-request debug logging.
 * Private to s3/. */
#ifndef IBS_S3_HTTP_H
#define IBS_S3_HTTP_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "common/err.h"
#include "s3/s3_buf.h"
#include "s3/s3_config.h"
#include "s3/sigv4.h"

/* An open S3 store (the driver's state). Immutable after open except where noted. */
struct s3_store {
    struct s3_config cfg;
    char *bucket;
    char *prefix;      /* "" or "backups/x/" (with the trailing '/') */
    char *url_base;    /* "https://bucket.s3.eu-west-1.amazonaws.com" or "http://127.0.0.1:9000" */
    char *host;        /* the Host header, as signed */
    char *path_base;   /* unencoded path before the key: "" (virtual-hosted) or "/bucket" */
    bool https;
    uint64_t part_size;
    unsigned parts_in_flight;
    unsigned retries;
    bool debug;
    char *ca_file;
    bool no_verify_tls;
    char *sse;            /* "AES256" or "aws:kms", NULL for none */
    char *sse_kms_key_id;
    char *storage_class;
    bool sse_c;
    char sse_c_key[48];   /* base64 of the 32-byte key */
    char sse_c_key_md5[25];
    unsigned backoff_base_ms; /* first retry waits up to this; doubles per attempt */
    unsigned backoff_cap_ms;
    long low_speed_time;      /* seconds under 1 KiB/s before a transfer is abandoned */
    long connect_timeout;

    pthread_mutex_t lock; /* guards handles and the signing key cache below */
    void **handles;       /* idle CURL easy handles, kept for connection reuse */
    size_t n_handles;
    size_t cap_handles;
    char key_date[9];     /* the date the cached signing key is for */
    unsigned char signing_key[32];
};

/* Which optional headers a request carries. */
enum {
    S3_H_CREATE = 1 << 0, /* SSE and storage class: PUT, CreateMultipartUpload */
    S3_H_SSE_C = 1 << 1,  /* SSE-C key headers: PUT, GET, HEAD, UploadPart, Create */
};

struct s3_req {
    const char *method;
    const char *key;   /* full object key (prefix included); NULL for the bucket */
    const struct sigv4_param *params;
    size_t n_params;
    const void *body;
    size_t body_len;
    bool content_md5;   /* send Content-MD5 of the body */
    unsigned headers;   /* S3_H_* */
    const char *range;  /* "bytes=a-b" */
    void *dest;         /* a 2xx body goes here and must be exactly dest_len bytes */
    size_t dest_len;
    bool error_in_200;  /* a 200 whose body is <Error> failed (CompleteMultipartUpload) */
    const char *what;   /* "PUT backups/x/data.0003 part 17", for messages */
};

struct s3_resp {
    long status;
    struct s3_buf body; /* the body unless it went to dest; the error document on failure */
    size_t dest_filled;
    char etag[128];
    char request_id[128];
    uint64_t content_length;
    bool has_length;
    time_t last_modified;
    time_t date;        /* the Date header (the server's clock), 0 without one */
    char code[64];      /* S3 error code of a failed request, "" otherwise */
};

void s3_resp_init(struct s3_resp *resp);
void s3_resp_free(struct s3_resp *resp);

/* Performs req, retrying what S3 says may be retried, up to store->retries times.
 * On failure err reads "s3: <what>: <status> <Code>[ after N retries]: <fix>".
 * IBS_E_NOTFOUND for a missing key, IBS_E_INTEGRITY for a body of the wrong
 * length, IBS_E_STORAGE otherwise. */
int s3_request(struct s3_store *store, const struct s3_req *req, struct s3_resp *resp,
               struct ibs_err *err);

/* One-time global init of libcurl and libxml2 (thread-safe). */
void s3_global_init(void);

#endif
