/* Credentials, region and endpoint for the S3 driver, resolved at open as the
 * AWS CLI does (https://docs.aws.amazon.com/cli/latest/userguide/cli-configure-files.html,
 * https://docs.aws.amazon.com/sdkref/latest/guide/feature-ss-endpoints.html).
 * Private to s3/. */
#ifndef IBS_S3_CONFIG_H
#define IBS_S3_CONFIG_H

#include "common/err.h"
#include "s3/store.h"

struct s3_config {
    char *access_key;
    char *secret_key;
    char *session_token; /* NULL without one */
    char *region;
    char *endpoint;      /* custom endpoint URL, NULL for AWS */
    char source[512];    /* where the credentials came from, for messages */
    char region_source[512];
};

/* Fills cfg (which the caller clears with s3_config_clear, also on failure).
 * Registers the secret key and session token with the logger's redaction. */
int s3_config_resolve(const struct store_opts *opts, struct s3_config *cfg, struct ibs_err *err);
void s3_config_clear(struct s3_config *cfg);

#endif
