/* ibstream verify: read every frame of a backup back and check it. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "engine/verify.h"
#include "tools/cli.h"
#include "tools/repo_open.h"
#include "tools/signals.h"

static const int verify_options[] = {COMMON_OPTIONS, REPO_OPTIONS, OPT_BACKUP, OPT_ALL,
                                     OPT_PARALLEL,   -1};

static void on_problem(void *ctx, const char *id, const char *what)
{
    printf("backup %s: PROBLEM: %s\n", id, what);
    fflush(stdout);
}

static void on_backup(void *ctx, const struct eng_verify_backup *b)
{
    if (b->problems)
        printf("backup %s: %zu problem(s): NOT restorable\n", b->id, b->problems);
    else
        printf("backup %s: ok (%zu files, %" PRIu64 " frames, %" PRIu64 " pages, %.1f MB read "
               "back)\n",
               b->id, b->files, b->frames, b->pages, (double)b->bytes_stored / 1e6);
    fflush(stdout);
}

static int run_verify(struct opts *o, int argc, char **argv, int first_arg, struct ibs_err *err)
{
    struct eng_verify_opts v;
    struct eng_verify_result res;
    int rc;

    memset(&v, 0, sizeof(v));
    if (first_arg < argc)
        return ibs_err_set(err, IBS_E_USAGE,
                           "unexpected argument '%s' (see 'ibstream help verify')",
                           argv[first_arg]);
    v.all = opts_bool(o, OPT_ALL);
    if (v.all && o->source[OPT_BACKUP] == SRC_CLI)
        return ibs_err_set(err, IBS_E_USAGE, "give --backup ID or --all, not both");
    if ((rc = opts_uint(o, OPT_PARALLEL, &v.parallel, err)) != 0)
        return rc;
    if (v.parallel < 1 || v.parallel > 64)
        return ibs_err_set(err, IBS_E_USAGE, "--parallel must be between 1 and 64");
    if ((rc = cli_open_repo(o, &v.store, err)) != 0)
        return rc;
    cli_install_signals();
    v.backup = opts_str(o, OPT_BACKUP);
    v.cancel = &cli_interrupted;
    v.on_problem = on_problem;
    v.on_backup = on_backup;
    rc = eng_verify_run(&v, &res, err);
    store_close(v.store);
    if (!rc)
        printf("verified %zu backup(s): all restorable\n", res.backups);
    return rc;
}

const struct cli_cmd cmd_verify = {
    .name = "verify",
    .summary = "check that backups are complete and intact without restoring them",
    .usage = "ibstream verify --repo URL [--backup ID|latest | --all] [--parallel N]",
    .description =
        "Reads every frame of the backup back with ranged reads (N files at once, one\n"
        "frame buffer each) and checks its header, its XXH3 and, in data frames, every\n"
        "InnoDB page checksum; checks that every object the manifest lists exists with\n"
        "its size and that an incremental's chain is complete. The first problem of each\n"
        "file is printed with the object, offset, file and page. Exit 0 when the backup\n"
        "is restorable, 6 when it is not, 11 when it does not exist.",
    .options = verify_options,
    .run = run_verify,
};
