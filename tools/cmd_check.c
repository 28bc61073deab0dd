/* ibstream check: the pre-flight users run before the first backup, to learn
 * now rather than at the end of a backup that the repository cannot take it. */
#include <stdio.h>
#include <string.h>

#include "common/log.h"
#include "engine/check.h"
#include "tools/cli.h"
#include "tools/repo_open.h"

/* A pre-flight should answer in seconds: a few retries ride out a transient
 * error without hiding an endpoint that is down. --s3-retries overrides it. */
#define CHECK_RETRIES 2u

static const int check_options[] = {COMMON_OPTIONS, REPO_OPTIONS, -1};

static void print_step(void *ctx, enum eng_check_status status, const char *step,
                       const char *detail)
{
    static const char *const tags[] = {"ok", "warn", "FAIL"};
    char line[IBS_ERR_MSG_MAX + 256];
    (void)ctx;
    /* Details can quote error messages: keep registered secrets out of them. */
    ibs_log_redact(detail, line, sizeof(line));
    printf("  %-5s %-11s %s\n", tags[status], step, line);
    fflush(stdout);
}

static int run_check(struct opts *o, int argc, char **argv, int first_arg, struct ibs_err *err)
{
    struct store_opts so;
    struct eng_check_result res;
    int rc;

    if (first_arg < argc)
        return ibs_err_set(err, IBS_E_USAGE, "unexpected argument '%s' (see 'ibstream help check')",
                           argv[first_arg]);
    if ((rc = cli_repo_opts(o, &so, err)) != 0)
        return rc;
    if (o->source[OPT_S3_RETRIES] == SRC_DEFAULT)
        so.retries = CHECK_RETRIES;
    struct eng_check_opts co = {
        .store = &so,
        .bulk_bytes = ENG_CHECK_BULK_DEFAULT,
        .report = print_step,
    };
    printf("ibstream check %s\n", so.url);
    rc = eng_check_run(&co, &res, err);
    if (rc) {
        printf("check failed: a backup would fail (exit status %d)\n", rc);
        return rc;
    }
    if (res.warnings)
        printf("check passed with %u warning%s: a backup can run\n", res.warnings,
               res.warnings == 1 ? "" : "s");
    else
        printf("check passed: a backup can run\n");
    return 0;
}

const struct cli_cmd cmd_check = {
    .name = "check",
    .summary = "check that a repository can take backups (run before the first one)",
    .usage = "ibstream check --repo URL [repository options]",
    .description =
        "Tries everything a backup asks of the repository on probe objects named\n"
        "<repo>/.ibstream-check-<random>, and removes them again. For S3: where the\n"
        "credentials come from, the clock against the endpoint's (a warning above 5 s;\n"
        "S3 refuses requests at 15 minutes), a write read back and compared, a listing,\n"
        "a multipart upload with one part that is aborted, the median latency of small\n"
        "requests, 32 MiB up and down, and the delete. A refusal names the permission\n"
        "to grant (s3:PutObject, s3:GetObject, s3:ListBucket, s3:DeleteObject,\n"
        "s3:AbortMultipartUpload). For a directory: free space, the same probe and\n"
        "throughput. An endpoint that does not implement listing or aborting multipart\n"
        "uploads gets a warning: backups run, but cleanup after a failure cannot.\n"
        "Exit status 0 when a backup can run, 5 when the repository refuses or fails,\n"
        "2 for a bad URL, option or missing credentials.",
    .options = check_options,
    .run = run_check,
};
