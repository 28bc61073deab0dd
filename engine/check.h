/* The pre-flight check of a repository (`ibstream check`): everything a
 * backup will ask of the store, tried on small probe objects under
 * <root>/.ibstream-check-<random> that are removed again. */
#ifndef IBS_ENGINE_CHECK_H
#define IBS_ENGINE_CHECK_H

#include <stdint.h>

#include "common/err.h"
#include "s3/store.h"

/* Above this the check warns; S3 refuses requests signed 15 minutes off
 * (https://docs.aws.amazon.com/AmazonS3/latest/API/RESTAuthentication.html#RESTAuthenticationTimeStamp).
 */
#define ENG_CHECK_SKEW_WARN_S 5
#define ENG_CHECK_SKEW_FAIL_S (15 * 60)
#define ENG_CHECK_BULK_DEFAULT (32ull << 20)
#define ENG_CHECK_LATENCY_SAMPLES 5
/* A local repository with less free space than this gets a warning. */
#define ENG_CHECK_LOW_SPACE (1ull << 30)

enum eng_check_status { ENG_CHECK_OK, ENG_CHECK_WARN, ENG_CHECK_FAIL };

struct eng_check_opts {
    const struct store_opts *store; /* the repository, as store_open takes it */
    uint64_t bulk_bytes;            /* throughput object size; 0: no throughput step */
    /* Called once per step ("credentials", "clock", "write"...) with a
     * one-line detail; a FAIL is followed by the function's error return. */
    void (*report)(void *ctx, enum eng_check_status status, const char *step, const char *detail);
    void *ctx;
};

struct eng_check_result {
    unsigned warnings;
    double latency_ms; /* median of ENG_CHECK_LATENCY_SAMPLES small requests */
    double up_mib_s;   /* 0 when not measured */
    double down_mib_s;
};

/* Runs every step in order and stops at the first failure, after removing
 * the probe objects it wrote. 0 when a backup could run (warnings allowed);
 * otherwise the failing step's code: IBS_E_STORAGE for what the store
 * refused or got wrong, IBS_E_USAGE for a bad URL or no credentials. */
int eng_check_run(const struct eng_check_opts *opts, struct eng_check_result *result,
                  struct ibs_err *err);

#endif
