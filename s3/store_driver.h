/* Private to s3/: what a store driver implements. store.c parses the URL,
 * picks the driver and forwards each public call to these operations; the
 * public header documents their semantics. */
#ifndef IBS_S3_STORE_DRIVER_H
#define IBS_S3_STORE_DRIVER_H

#include "s3/store.h"

struct store_driver_writer; /* a driver's streaming upload */

struct store_driver_ops {
    const char *kind; /* "s3" or "local" */
    /* root is the URL part after the scheme: "bucket/prefix" or "/abs/path". */
    int (*open)(const struct store_opts *opts, const char *root, void **state, struct ibs_err *err);
    void (*close)(void *state);
    int (*put)(void *state, const char *key, const void *data, size_t len, struct ibs_err *err);
    /* Optional (NULL: not offered): put only when key does not exist yet. */
    int (*put_new)(void *state, const char *key, const void *data, size_t len, bool *created,
                   struct ibs_err *err);
    int (*get)(void *state, const char *key, void **data, size_t *len, struct ibs_err *err);
    int (*get_range)(void *state, const char *key, uint64_t offset, void *buf, size_t len,
                     struct ibs_err *err);
    int (*get_ranges)(void *state, struct store_range *ranges, size_t n, struct ibs_err *err);
    int (*head)(void *state, const char *key, struct store_stat *st, struct ibs_err *err);
    int (*list)(void *state, const char *prefix,
                int (*fn)(void *ctx, const struct store_entry *entry), void *ctx,
                struct ibs_err *err);
    int (*delete_one)(void *state, const char *key, struct ibs_err *err);
    int (*delete_many)(void *state, const char *const *keys, size_t n, struct ibs_err *err);
    int (*list_uploads)(void *state, const char *prefix,
                        int (*fn)(void *ctx, const struct store_upload *upload), void *ctx,
                        struct ibs_err *err);
    int (*abort_upload)(void *state, const char *key, const char *upload_id, struct ibs_err *err);

    int (*writer_open)(void *state, const char *key, struct store_driver_writer **out,
                       struct ibs_err *err);
    int (*writer_write)(struct store_driver_writer *w, const void *data, size_t len,
                        struct ibs_err *err);
    uint64_t (*writer_offset)(const struct store_driver_writer *w);
    uint64_t (*writer_capacity)(const struct store_driver_writer *w);
    int (*writer_commit)(struct store_driver_writer *w, struct ibs_err *err); /* frees w */
    void (*writer_abort)(struct store_driver_writer *w);                     /* frees w */
};

extern const struct store_driver_ops store_s3_driver;
extern const struct store_driver_ops store_local_driver;

#endif
