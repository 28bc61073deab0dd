/* Fuzz target: an S3 response body, given to every parser of s3/s3_xml.c the
 * drivers use (error documents, InitiateMultipartUpload, ListObjectsV2,
 * ListMultipartUploads, DeleteObjects), the keys found escaped again, and the
 * body's first line parsed as an S3 timestamp. */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "fuzz_common.h"
#include "s3/s3_buf.h"
#include "s3/s3_xml.h"

#include <libxml/parser.h>

struct seen {
    unsigned n;
    struct s3_buf esc;
};

static int on_object(void *ctx, const char *key, uint64_t size, time_t mtime)
{
    struct seen *s = ctx;
    FUZZ_CHECK(key);
    s3_xml_escape(&s->esc, key);
    return ++s->n >= 1000; /* stop early, as a caller may */
}

static int on_upload(void *ctx, const char *key, const char *upload_id, time_t initiated)
{
    struct seen *s = ctx;
    FUZZ_CHECK(key && upload_id);
    s3_xml_escape(&s->esc, key);
    s3_xml_escape(&s->esc, upload_id);
    return ++s->n >= 1000;
}

static void silent(void *ctx, const char *msg, ...)
{
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool init;
    if (!init) {
        xmlInitParser();
        xmlSetGenericErrorFunc(NULL, silent);
        init = true;
    }
    /* An exact-size copy without a terminator: the parsers take a length. */
    char *body = malloc(size ? size : 1);
    FUZZ_CHECK(body);
    memcpy(body, data, size);

    char code[64], msg[256], key[1024], id[256];
    if (s3_xml_error(body, size, code, sizeof(code), msg, sizeof(msg)))
        FUZZ_CHECK(strlen(code) < sizeof(code) && strlen(msg) < sizeof(msg));
    if (s3_xml_upload_id(body, size, id, sizeof(id)))
        FUZZ_CHECK(id[0] && strlen(id) < sizeof(id));

    struct seen s = {0};
    s3_buf_init(&s.esc);
    bool truncated;
    char *token = NULL, *key_marker = NULL, *id_marker = NULL;
    int rc = s3_xml_list_objects(body, size, on_object, &s, &truncated, &token);
    FUZZ_CHECK(rc == 0 || rc == 1 || rc == -1);
    if (rc == -1)
        FUZZ_CHECK(!truncated && !token);
    free(token);
    rc = s3_xml_list_uploads(body, size, on_upload, &s, &truncated, &key_marker, &id_marker);
    FUZZ_CHECK(rc == 0 || rc == 1 || rc == -1);
    free(key_marker);
    free(id_marker);

    bool bad;
    if (s3_xml_delete_error(body, size, key, sizeof(key), code, sizeof(code), msg, sizeof(msg),
                            &bad))
        FUZZ_CHECK(!bad && strlen(key) < sizeof(key));
    FUZZ_CHECK(!s.esc.oom);
    s3_buf_free(&s.esc);

    /* The first line as a timestamp (LastModified, Initiated). */
    size_t n = 0;
    while (n < size && n < 64 && data[n] != '\n')
        n++;
    char when[65];
    memcpy(when, data, n);
    when[n] = '\0';
    (void)s3_xml_parse_time(when);
    free(body);
    return 0;
}
