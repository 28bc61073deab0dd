/* AWS Signature Version 4 for S3 requests: canonical request, string to sign,
 * signing key and Authorization header, computed with OpenSSL. Pure functions
 * of their inputs (no clock, no network) so the published test vectors apply.
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html
 * Private to s3/. */
#ifndef IBS_S3_SIGV4_H
#define IBS_S3_SIGV4_H

#include <stdbool.h>
#include <stddef.h>

#include "s3/s3_buf.h"

#define SIGV4_UNSIGNED_PAYLOAD "UNSIGNED-PAYLOAD"
#define SIGV4_EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

/* A query parameter, unencoded. value NULL is a bare name ("?uploads"): it is
 * sent without '=' and signed as "uploads=". */
struct sigv4_param {
    const char *name;
    const char *value;
};

/* A request header; every header given is signed. */
struct sigv4_header {
    const char *name;
    const char *value;
};

struct sigv4_request {
    const char *method;
    const char *path; /* unencoded absolute path, "/bucket/key": encoded once here */
    const struct sigv4_param *params;
    size_t n_params;
    const struct sigv4_header *headers; /* must include host and x-amz-date */
    size_t n_headers;
    const char *payload_hash; /* hex SHA-256 of the body, or SIGV4_UNSIGNED_PAYLOAD */
};

/* Appends in[0..len) URI-encoded as SigV4 requires: A-Za-z0-9-._~ kept, every
 * other byte %XX (uppercase hex); '/' kept when keep_slash (object paths). */
void sigv4_uri_encode(struct s3_buf *out, const char *in, size_t len, bool keep_slash);

/* Appends the query string to send, "a=b&c" (encoded, in the order given). */
void sigv4_query_string(struct s3_buf *out, const struct sigv4_param *params, size_t n);

/* Fills creq with the canonical request and signed_headers with "host;x-amz-date".
 * Returns 0, or -1 when out of memory. */
int sigv4_canonical_request(const struct sigv4_request *req, struct s3_buf *creq,
                            struct s3_buf *signed_headers);

/* "20150830/us-east-1/service/aws4_request" into scope. */
void sigv4_scope(struct s3_buf *scope, const char *date8, const char *region, const char *service);

/* The string to sign for a canonical request. */
void sigv4_string_to_sign(struct s3_buf *sts, const char *amz_date, const char *scope,
                          const char *creq);

/* kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date8), region), service), "aws4_request"). */
void sigv4_signing_key(const char *secret, const char *date8, const char *region,
                       const char *service, unsigned char key[32]);

/* Signs req at amz_date ("20150830T123600Z") with a signing key for its date,
 * and fills authz with the Authorization header value. creq and sts, when not
 * NULL, receive the intermediate strings (tests). Returns 0, or -1 when out of memory. */
int sigv4_authorization(const struct sigv4_request *req, const char *access_key,
                        const unsigned char key[32], const char *amz_date, const char *region,
                        const char *service, struct s3_buf *authz, struct s3_buf *creq,
                        struct s3_buf *sts);

/* Lowercase hex SHA-256 of data. */
void sigv4_sha256_hex(const void *data, size_t len, char hex[65]);

/* Base64 of the MD5 of data, for Content-MD5 (RFC 1864). */
void sigv4_md5_base64(const void *data, size_t len, char b64[25]);

/* Base64 of len bytes into out (NUL-terminated; out_size >= 4*ceil(len/3)+1). */
void sigv4_base64(const void *data, size_t len, char *out, size_t out_size);

#endif
