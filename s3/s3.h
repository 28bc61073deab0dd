/* Public extras of the S3 driver that the store interface does not cover. */
#ifndef IBS_S3_S3_H
#define IBS_S3_S3_H

#include <stddef.h>

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

#endif
