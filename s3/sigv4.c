/* AWS Signature Version 4 (see sigv4.h). The canonicalisation rules follow
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html
 * and, for S3, https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html
 * (object paths are encoded once, never normalised). */
#include "s3/sigv4.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

static const char hex_upper[] = "0123456789ABCDEF";
static const char hex_lower[] = "0123456789abcdef";

static bool unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~';
}

void sigv4_uri_encode(struct s3_buf *out, const char *in, size_t len, bool keep_slash)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)in[i];
        if (unreserved(c) || (keep_slash && c == '/')) {
            s3_buf_append(out, &in[i], 1);
        } else {
            char esc[3] = {'%', hex_upper[c >> 4], hex_upper[c & 15]};
            s3_buf_append(out, esc, 3);
        }
    }
}

void sigv4_query_string(struct s3_buf *out, const struct sigv4_param *params, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (i)
            s3_buf_puts(out, "&");
        sigv4_uri_encode(out, params[i].name, strlen(params[i].name), false);
        if (params[i].value) {
            s3_buf_puts(out, "=");
            sigv4_uri_encode(out, params[i].value, strlen(params[i].value), false);
        }
    }
}

struct enc_param {
    char *name;
    char *value;
};

static int cmp_enc_param(const void *a, const void *b)
{
    const struct enc_param *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : strcmp(x->value, y->value);
}

static char *encode_dup(const char *s)
{
    struct s3_buf b;
    s3_buf_init(&b);
    sigv4_uri_encode(&b, s, strlen(s), false);
    s3_buf_append(&b, "", 0);
    if (b.oom) {
        s3_buf_free(&b);
        return NULL;
    }
    return b.data;
}

/* Sorted by encoded name, then encoded value; "name=" for a bare name. */
static int canonical_query(struct s3_buf *out, const struct sigv4_param *params, size_t n)
{
    int rc = -1;
    struct enc_param *enc = calloc(n ? n : 1, sizeof(*enc));
    if (!enc)
        return -1;
    for (size_t i = 0; i < n; i++) {
        enc[i].name = encode_dup(params[i].name);
        enc[i].value = encode_dup(params[i].value ? params[i].value : "");
        if (!enc[i].name || !enc[i].value)
            goto out;
    }
    qsort(enc, n, sizeof(*enc), cmp_enc_param);
    for (size_t i = 0; i < n; i++) {
        s3_buf_printf(out, "%s%s=%s", i ? "&" : "", enc[i].name, enc[i].value);
    }
    rc = 0;
out:
    for (size_t i = 0; i < n; i++) {
        free(enc[i].name);
        free(enc[i].value);
    }
    free(enc);
    return rc;
}

struct canon_header {
    char *name;          /* lowercased */
    const char *value;   /* raw, trimmed when written */
    size_t order;        /* position in the request, to keep duplicates in order */
};

static int cmp_canon_header(const void *a, const void *b)
{
    const struct canon_header *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    if (c)
        return c;
    return x->order < y->order ? -1 : x->order > y->order;
}

/* Trims the value and collapses runs of spaces to one, as the spec requires. */
static void append_trimmed(struct s3_buf *out, const char *value)
{
    const char *p = value;
    while (*p == ' ' || *p == '\t')
        p++;
    const char *end = p + strlen(p);
    while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    bool in_space = false;
    for (; p < end; p++) {
        if (*p == ' ' || *p == '\t') {
            in_space = true;
            continue;
        }
        if (in_space)
            s3_buf_append(out, " ", 1);
        in_space = false;
        s3_buf_append(out, p, 1);
    }
}

int sigv4_canonical_request(const struct sigv4_request *req, struct s3_buf *creq,
                            struct s3_buf *signed_headers)
{
    int rc = -1;
    size_t n = req->n_headers;
    struct canon_header *hdr = calloc(n ? n : 1, sizeof(*hdr));
    if (!hdr)
        return -1;
    for (size_t i = 0; i < n; i++) {
        hdr[i].name = strdup(req->headers[i].name);
        if (!hdr[i].name)
            goto out;
        for (char *c = hdr[i].name; *c; c++)
            *c = (char)tolower((unsigned char)*c);
        hdr[i].value = req->headers[i].value;
        hdr[i].order = i;
    }
    qsort(hdr, n, sizeof(*hdr), cmp_canon_header);

    s3_buf_printf(creq, "%s\n", req->method);
    sigv4_uri_encode(creq, req->path, strlen(req->path), true);
    s3_buf_puts(creq, "\n");
    if (canonical_query(creq, req->params, req->n_params) != 0)
        goto out;
    s3_buf_puts(creq, "\n");
    for (size_t i = 0; i < n; i++) {
        bool continues = i > 0 && strcmp(hdr[i].name, hdr[i - 1].name) == 0;
        if (continues) {
            s3_buf_puts(creq, ",");
        } else {
            if (i > 0)
                s3_buf_puts(creq, "\n");
            s3_buf_printf(creq, "%s:", hdr[i].name);
            s3_buf_printf(signed_headers, "%s%s", s3_buf_str(signed_headers)[0] ? ";" : "",
                          hdr[i].name);
        }
        append_trimmed(creq, hdr[i].value);
    }
    s3_buf_printf(creq, "\n\n%s\n%s", s3_buf_str(signed_headers), req->payload_hash);
    rc = creq->oom || signed_headers->oom ? -1 : 0;
out:
    for (size_t i = 0; i < n; i++)
        free(hdr[i].name);
    free(hdr);
    return rc;
}

void sigv4_scope(struct s3_buf *scope, const char *date8, const char *region, const char *service)
{
    s3_buf_printf(scope, "%s/%s/%s/aws4_request", date8, region, service);
}

static void hex_encode(const unsigned char *bin, size_t len, char *hex)
{
    for (size_t i = 0; i < len; i++) {
        hex[2 * i] = hex_lower[bin[i] >> 4];
        hex[2 * i + 1] = hex_lower[bin[i] & 15];
    }
    hex[2 * len] = '\0';
}

void sigv4_sha256_hex(const void *data, size_t len, char hex[65])
{
    unsigned char digest[SHA256_DIGEST_LENGTH];
    SHA256(data, len, digest);
    hex_encode(digest, sizeof(digest), hex);
}

void sigv4_string_to_sign(struct s3_buf *sts, const char *amz_date, const char *scope,
                          const char *creq)
{
    char hash[65];
    sigv4_sha256_hex(creq, strlen(creq), hash);
    s3_buf_printf(sts, "AWS4-HMAC-SHA256\n%s\n%s\n%s", amz_date, scope, hash);
}

static void hmac(const void *key, size_t key_len, const char *msg, unsigned char out[32])
{
    unsigned int out_len = 32;
    HMAC(EVP_sha256(), key, (int)key_len, (const unsigned char *)msg, strlen(msg), out, &out_len);
}

void sigv4_signing_key(const char *secret, const char *date8, const char *region,
                       const char *service, unsigned char key[32])
{
    size_t secret_len = strlen(secret);
    char *k_secret = malloc(secret_len + 5);
    unsigned char k[32];

    if (!k_secret) {
        /* Unsigned requests fail at the server with a clear error; never crash. */
        memset(key, 0, 32);
        return;
    }
    memcpy(k_secret, "AWS4", 4);
    memcpy(k_secret + 4, secret, secret_len + 1);
    hmac(k_secret, secret_len + 4, date8, k);
    hmac(k, 32, region, k);
    hmac(k, 32, service, k);
    hmac(k, 32, "aws4_request", key);
    OPENSSL_cleanse(k_secret, secret_len + 4);
    OPENSSL_cleanse(k, sizeof(k));
    free(k_secret);
}

int sigv4_authorization(const struct sigv4_request *req, const char *access_key,
                        const unsigned char key[32], const char *amz_date, const char *region,
                        const char *service, struct s3_buf *authz, struct s3_buf *creq_out,
                        struct s3_buf *sts_out)
{
    int rc = -1;
    struct s3_buf creq, signed_headers, scope, sts;
    char date8[9];
    unsigned char sig[32];
    char sig_hex[65];

    s3_buf_init(&creq);
    s3_buf_init(&signed_headers);
    s3_buf_init(&scope);
    s3_buf_init(&sts);
    memcpy(date8, amz_date, 8);
    date8[8] = '\0';

    if (sigv4_canonical_request(req, &creq, &signed_headers) != 0)
        goto out;
    sigv4_scope(&scope, date8, region, service);
    sigv4_string_to_sign(&sts, amz_date, s3_buf_str(&scope), s3_buf_str(&creq));
    hmac(key, 32, s3_buf_str(&sts), sig);
    hex_encode(sig, sizeof(sig), sig_hex);
    s3_buf_printf(authz, "AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s",
                  access_key, s3_buf_str(&scope), s3_buf_str(&signed_headers), sig_hex);
    if (creq_out)
        s3_buf_puts(creq_out, s3_buf_str(&creq));
    if (sts_out)
        s3_buf_puts(sts_out, s3_buf_str(&sts));
    rc = authz->oom || scope.oom || sts.oom ? -1 : 0;
out:
    s3_buf_free(&creq);
    s3_buf_free(&signed_headers);
    s3_buf_free(&scope);
    s3_buf_free(&sts);
    return rc;
}

void sigv4_base64(const void *data, size_t len, char *out, size_t out_size)
{
    if (out_size < 4 * ((len + 2) / 3) + 1) {
        if (out_size)
            out[0] = '\0';
        return;
    }
    EVP_EncodeBlock((unsigned char *)out, data, (int)len);
}

void sigv4_md5_base64(const void *data, size_t len, char b64[25])
{
    unsigned char digest[16];
    unsigned int digest_len = 0;
    EVP_Digest(data, len, digest, &digest_len, EVP_md5(), NULL);
    sigv4_base64(digest, sizeof(digest), b64, 25);
}
