/* Public extras of the S3 driver that the store interface does not cover. */
#ifndef IBS_S3_S3_H
#define IBS_S3_S3_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "common/err.h"
#include "s3/store.h"

/* Resolves credentials for opts the way the S3 driver does at store_open (the
 * AWS CLI order: explicit options, environment, shared credentials/config
 * files), without making a request, and writes where they came from into buf:
 * "explicit options", "environment", "profile 'prod' in /root/.aws/credentials".
 * The secrets themselves are never written. IBS_E_USAGE, naming the places
 * looked at, when there are none. */
int s3_credentials_source(const struct store_opts *opts, char *buf, size_t size,
                          struct ibs_err *err);

/* Pre-flight probes for `ibstream check`. Each opens its own connection to
 * the S3 repository opts names (an s3:// URL) from the same options as
 * store_open, and leaves nothing behind. */

/* The endpoint's clock: a signed HEAD of the bucket, whose answer carries a
 * Date header even when it is a refusal (S3 refuses a request signed more
 * than 15 minutes off with RequestTimeTooSkewed, and says so with a Date).
 * *server_time is that Date, *local_time this host's clock halfway through
 * the request; the HEAD's own status does not matter. IBS_E_STORAGE when the
 * endpoint does not answer or its answer has no Date. */
int s3_probe_clock(const struct store_opts *opts, time_t *server_time, time_t *local_time,
                   struct ibs_err *err);

/* What s3_probe_multipart learned besides success. */
struct s3_multipart_report {
    bool listed;                     /* ListMultipartUploads showed the probe upload */
    bool aborted;                    /* AbortMultipartUpload succeeded */
    bool unsupported;                /* the endpoint answered NotImplemented/405 to list or abort */
    char list_note[IBS_ERR_MSG_MAX]; /* why the upload was not listed, "" if it was */
    char abort_note[IBS_ERR_MSG_MAX]; /* why abort is not available, "" if it worked */
};

/* Starts a multipart upload of key (relative to the repository root), uploads
 * one small part, looks for the upload in ListMultipartUploads and aborts it
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/mpuoverview.html).
 * Fails (IBS_E_STORAGE, the message naming the missing permission on
 * AccessDenied) when create, the part or the abort is refused; a listing that
 * fails, or an endpoint that implements neither list nor abort, is noted in
 * report and is not a failure: backups need neither to succeed. */
int s3_probe_multipart(const struct store_opts *opts, const char *key,
                       struct s3_multipart_report *report, struct ibs_err *err);

#endif
