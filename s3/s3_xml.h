/* Parsing of S3's XML responses with libxml2: error documents, list results,
 * multipart initiation and batch delete results. Private to s3/. */
#ifndef IBS_S3_XML_H
#define IBS_S3_XML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* If body is an <Error> document, copies its Code and Message and returns true. */
bool s3_xml_error(const char *body, size_t len, char *code, size_t code_size, char *msg,
                  size_t msg_size);

/* The UploadId of an InitiateMultipartUploadResult; false if absent. */
bool s3_xml_upload_id(const char *body, size_t len, char *out, size_t out_size);

/* ListObjectsV2: calls fn for every Contents entry; *truncated and token
 * (NextContinuationToken) describe the next page. fn returns non-zero to stop.
 * Returns 0, fn's result, or -1 if the body is not a ListBucketResult. */
int s3_xml_list_objects(const char *body, size_t len,
                        int (*fn)(void *ctx, const char *key, uint64_t size, time_t mtime),
                        void *ctx, bool *truncated, char **token);

/* ListMultipartUploads: calls fn for every Upload; markers for the next page. */
int s3_xml_list_uploads(const char *body, size_t len,
                        int (*fn)(void *ctx, const char *key, const char *upload_id,
                                  time_t initiated),
                        void *ctx, bool *truncated, char **key_marker, char **upload_id_marker);

/* DeleteObjects result: the first per-key <Error> (key, code, message); false if none.
 * -1 in *bad when the body is not a DeleteResult. */
bool s3_xml_delete_error(const char *body, size_t len, char *key, size_t key_size, char *code,
                         size_t code_size, char *msg, size_t msg_size, bool *bad);

/* Appends text to out with XML's five special characters escaped. */
struct s3_buf;
void s3_xml_escape(struct s3_buf *out, const char *text);

/* "2009-10-12T17:50:30.000Z" -> time_t (UTC); 0 if unparsable. */
time_t s3_xml_parse_time(const char *iso8601);

#endif
