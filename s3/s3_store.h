/* Helpers shared by the S3 driver's files (s3_driver.c, s3_writer.c). Private to s3/. */
#ifndef IBS_S3_STORE_PRIV_H
#define IBS_S3_STORE_PRIV_H

#include "s3/s3_http.h"
#include "s3/store_driver.h"

/* prefix + key, malloc'd; NULL when out of memory. */
char *s3_full_key(const struct s3_store *store, const char *key);

/* The streaming writer (s3_writer.c). */
int s3_writer_open(void *state, const char *key, struct store_driver_writer **out,
                   struct ibs_err *err);
int s3_writer_write(struct store_driver_writer *w, const void *data, size_t len,
                    struct ibs_err *err);
uint64_t s3_writer_offset(const struct store_driver_writer *w);
uint64_t s3_writer_capacity(const struct store_driver_writer *w);
int s3_writer_commit(struct store_driver_writer *w, struct ibs_err *err);
void s3_writer_abort(struct store_driver_writer *w);

/* Single PUT of a whole object with Content-MD5 (also the writer's small-object path). */
int s3_put_object(struct s3_store *store, const char *full_key, const char *key, const void *data,
                  size_t len, struct ibs_err *err);

/* AbortMultipartUpload of full_key; an upload already gone counts as aborted. */
int s3_abort_multipart(struct s3_store *store, const char *full_key, const char *upload_id,
                       struct ibs_err *err);

#endif
