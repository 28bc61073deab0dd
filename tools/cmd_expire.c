/* ibstream expire: remove whole backups beyond a retention policy. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "engine/lock.h"
#include "engine/ops.h"
#include "tools/cli.h"
#include "tools/repo_open.h"

static const int expire_options[] = {COMMON_OPTIONS,  REPO_OPTIONS, OPT_RETAIN_FULL,
                                     OPT_RETAIN_DAYS, OPT_DRY_RUN,  -1};

static void on_done(void *ctx, const struct eng_expire_item *item)
{
    printf("deleted backup %s (%s, %zu objects, %" PRIu64 " bytes)\n", item->id, item->type,
           item->objects, item->bytes);
    fflush(stdout);
}

static int run_expire(struct opts *o, int argc, char **argv, int first_arg, struct ibs_err *err)
{
    struct eng_expire_policy policy = {.now = time(NULL)};
    struct eng_expire_plan plan;
    struct store *store = NULL;
    struct eng_lock *lock = NULL;
    bool dry = opts_bool(o, OPT_DRY_RUN);
    int rc;

    memset(&plan, 0, sizeof(plan));
    if (first_arg < argc)
        return ibs_err_set(err, IBS_E_USAGE,
                           "unexpected argument '%s' (see 'ibstream help expire')",
                           argv[first_arg]);
    if (!opts_str(o, OPT_RETAIN_FULL))
        return ibs_err_set(err, IBS_E_USAGE,
                           "--retain-full N is required (the number of full backups to keep)");
    if ((rc = opts_uint(o, OPT_RETAIN_FULL, &policy.retain_full, err)) != 0)
        return rc;
    if (policy.retain_full < 1)
        return ibs_err_set(err, IBS_E_USAGE, "--retain-full must be at least 1");
    if (opts_str(o, OPT_RETAIN_DAYS) &&
        (rc = opts_uint(o, OPT_RETAIN_DAYS, &policy.retain_days, err)) != 0)
        return rc;
    if ((rc = cli_open_repo(o, &store, err)) != 0)
        return rc;
    /* A dry run changes nothing and needs no lock. */
    if (!dry && (rc = eng_lock_acquire_configured(store, &lock, err)) != 0)
        goto out;
    if ((rc = eng_expire_plan(store, &policy, &plan, err)) != 0)
        goto out;
    uint64_t bytes = 0;
    for (size_t i = 0; i < plan.remove_count; i++) {
        bytes += plan.remove[i].bytes;
        if (dry)
            printf("would delete backup %s (%s, %zu objects, %" PRIu64 " bytes)\n",
                   plan.remove[i].id, plan.remove[i].type, plan.remove[i].objects,
                   plan.remove[i].bytes);
    }
    if (!dry)
        rc = eng_expire_apply(store, &plan, on_done, NULL, err);
    if (rc)
        goto out;
    for (size_t i = 0; i < plan.keep_count; i++)
        printf("keeping backup %s\n", plan.keep[i]);
    printf("%s %zu backup(s), %" PRIu64 " bytes (%.1f MB) %s; %zu kept\n",
           dry ? "would delete" : "deleted", plan.remove_count, bytes, (double)bytes / 1e6,
           dry ? "would be freed" : "freed", plan.keep_count);
out:
    eng_expire_plan_free(&plan);
    struct ibs_err lerr;
    if (eng_lock_release(lock, &lerr) != 0 && !rc)
        rc = (*err = lerr).code;
    store_close(store);
    return rc;
}

const struct cli_cmd cmd_expire = {
    .name = "expire",
    .summary = "delete whole backups beyond a retention policy",
    .usage = "ibstream expire --repo URL --retain-full N [--retain-days D] [--dry-run]",
    .description =
        "Keeps the newest N full backups and every incremental built on them, and (with\n"
        "--retain-days) every backup that ended less than D days ago; a full that a kept\n"
        "incremental needs is always kept. Every other complete backup is deleted: its\n"
        "manifest first (so it is never listed half-deleted), then its objects. Prints\n"
        "what it deletes and the bytes freed. Takes the repository lock. --dry-run\n"
        "prints the same plan and changes nothing.",
    .options = expire_options,
    .run = run_expire,
};
