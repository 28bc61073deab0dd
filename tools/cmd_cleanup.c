/* ibstream cleanup: remove what killed runs left in a repository. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "engine/lock.h"
#include "engine/ops.h"
#include "tools/cli.h"
#include "tools/repo_open.h"

static const int cleanup_options[] = {COMMON_OPTIONS, REPO_OPTIONS, OPT_OLDER_THAN, OPT_DRY_RUN,
                                      -1};

struct report {
    bool dry;
};

static void on_item(void *ctx, const char *kind, const char *key, uint64_t bytes)
{
    const struct report *r = ctx;
    if (strcmp(kind, "upload") == 0)
        printf("%s unfinished upload of %s\n", r->dry ? "would abort" : "aborted", key);
    else
        printf("%s %s (%" PRIu64 " bytes, referenced by no manifest)\n",
               r->dry ? "would remove" : "removed", key, bytes);
    fflush(stdout);
}

static int run_cleanup(struct opts *o, int argc, char **argv, int first_arg, struct ibs_err *err)
{
    struct report report = {.dry = opts_bool(o, OPT_DRY_RUN)};
    struct eng_cleanup_opts c = {.now = time(NULL), .dry_run = report.dry, .on_item = on_item,
                                 .ctx = &report};
    struct eng_cleanup_result res;
    struct store *store = NULL;
    struct eng_lock *lock = NULL;
    unsigned hours;
    int rc;

    if (first_arg < argc)
        return ibs_err_set(err, IBS_E_USAGE,
                           "unexpected argument '%s' (see 'ibstream help cleanup')",
                           argv[first_arg]);
    if ((rc = opts_uint(o, OPT_OLDER_THAN, &hours, err)) != 0)
        return rc;
    c.older_than_s = (uint64_t)hours * 3600;
    if ((rc = cli_open_repo(o, &store, err)) != 0)
        return rc;
    /* Holding the lock, no backup is running: nothing we remove is in use. */
    if ((rc = eng_lock_acquire_configured(store, &lock, err)) != 0)
        goto out;
    rc = eng_cleanup_run(store, &c, &res, err);
    if (rc)
        goto out;
    if (res.uploads_unsupported)
        printf("note: this store cannot list unfinished multipart uploads (%s); set a bucket "
               "lifecycle rule AbortIncompleteMultipartUpload to remove them\n",
               res.uploads_note);
    printf("%s %zu upload(s), %s %zu object(s), %" PRIu64 " bytes (%.1f MB) %s\n",
           report.dry ? "would abort" : "aborted", res.uploads_aborted,
           report.dry ? "would remove" : "removed", res.objects_removed, res.bytes_freed,
           (double)res.bytes_freed / 1e6, report.dry ? "would be freed" : "freed");
out:;
    struct ibs_err lerr;
    if (eng_lock_release(lock, &lerr) != 0 && !rc)
        rc = (*err = lerr).code;
    store_close(store);
    return rc;
}

const struct cli_cmd cmd_cleanup = {
    .name = "cleanup",
    .summary = "remove what killed runs left behind: stale uploads, unreferenced objects",
    .usage = "ibstream cleanup --repo URL [--older-than HOURS] [--dry-run]",
    .description =
        "Aborts unfinished multipart uploads under backups/ and removes the objects there\n"
        "that no manifest references (packs of killed or failed backups), when they are\n"
        "older than --older-than hours (default 24). Takes the repository lock, so it never\n"
        "touches a running backup: while one runs it fails with exit 7. On a store that\n"
        "cannot list multipart uploads it says so and does the rest.",
    .options = cleanup_options,
    .run = run_cleanup,
};
