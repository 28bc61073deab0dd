/* ibstream restore and ibstream prepare. */
#include <dirent.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "engine/prepare.h"
#include "engine/restore.h"
#include "engine/restore_delta.h"
#include "tools/cli.h"
#include "tools/repo_open.h"
#include "tools/signals.h"

static const int restore_options[] = {COMMON_OPTIONS, REPO_OPTIONS, OPT_BACKUP,    OPT_TARGET,
                                      OPT_FORCE,      OPT_NO_PREPARE, OPT_USE_MEMORY, -1};
static const int prepare_options[] = {COMMON_OPTIONS, OPT_TARGET, OPT_USE_MEMORY, -1};

static int prepare_dir(struct opts *o, const char *target, struct ibs_err *err)
{
    struct eng_prepare_opts p = {.target = target, .cancel = &cli_interrupted};
    struct eng_prepare_result res;
    int rc = opts_size(o, OPT_USE_MEMORY, &p.use_memory, err);
    if (rc)
        return rc;
    rc = eng_prepare_run(&p, &res, err);
    if (rc)
        return ibs_err_wrap(err, "prepare %s", target);
    if (res.already_prepared) {
        printf("%s is already prepared (log applied up to LSN %" PRIu64 "): nothing to do\n",
               target, res.end_lsn);
        return 0;
    }
    double secs = (double)res.duration_ms / 1000.0;
    printf("prepared %s: redo LSN %" PRIu64 "..%" PRIu64 " (%.1f MB, %" PRIu64
           " mini-transactions) applied to %" PRIu64 " pages in %.1f s (%.1f MB/s)\n",
           target, res.start_lsn, res.end_lsn, (double)res.log_bytes / 1e6, res.mtrs,
           res.pages_applied, secs, secs > 0 ? (double)res.log_bytes / 1e6 / secs : 0.0);
    if (res.pages_unknown)
        printf("  %" PRIu64 " page changes belonged to tablespaces dropped during the backup\n",
               res.pages_unknown);
    return 0;
}

static int delta_dir_filter(const struct dirent *e)
{
    return e->d_name[0] != '.';
}

/* The mariabackup commands that prepare a delta layout: the base, then each
 * member in chain order. 10.5 and newer roll nothing back on --prepare (the
 * server does that when it starts), so --apply-log-only is gone: 10.11's
 * mariabackup refuses it as an unknown option. */
static void print_delta_commands(const char *target)
{
    char dir[4096];
    struct dirent **list = NULL;
    snprintf(dir, sizeof(dir), "%s/%s", target, ENG_RESTORE_DELTA_DIR);
    int n = scandir(dir, &list, delta_dir_filter, alphasort);
    printf("delta layout for mariabackup: the full in %s/%s, %d incremental director%s in %s; "
           "prepare it with:\n",
           target, ENG_RESTORE_DELTA_BASE, n < 0 ? 0 : n, n == 1 ? "y" : "ies", dir);
    printf("  mariabackup --prepare --target-dir %s/%s\n", target, ENG_RESTORE_DELTA_BASE);
    for (int i = 0; i < n; i++) {
        printf("  mariabackup --prepare --target-dir %s/%s --incremental-dir %s/%s\n", target,
               ENG_RESTORE_DELTA_BASE, dir, list[i]->d_name);
        free(list[i]);
    }
    free(list);
}

static int need_target(struct opts *o, const char **target, struct ibs_err *err)
{
    *target = opts_str(o, OPT_TARGET);
    if (!*target)
        return ibs_err_set(err, IBS_E_USAGE, "--target DIR is required");
    return 0;
}

static int run_restore(struct opts *o, int argc, char **argv, int first_arg, struct ibs_err *err)
{
    struct eng_restore_opts r;
    struct eng_restore_result res;
    int rc;

    memset(&r, 0, sizeof(r));
    if (first_arg < argc)
        return ibs_err_set(err, IBS_E_USAGE,
                           "unexpected argument '%s' (see 'ibstream help restore')",
                           argv[first_arg]);
    if ((rc = need_target(o, &r.target, err)) != 0)
        return rc;
    if ((rc = cli_open_repo(o, &r.store, err)) != 0)
        return rc;
    cli_install_signals();
    r.backup = opts_str(o, OPT_BACKUP);
    r.force = opts_bool(o, OPT_FORCE);
    r.delta_layout = opts_bool(o, OPT_NO_PREPARE);
    r.cancel = &cli_interrupted;
    /* --s3-parts-in-flight: ranged reads at once, for a local repository too. */
    if ((rc = opts_uint(o, OPT_S3_PARTS_IN_FLIGHT, &r.fetchers, err)) != 0) {
        store_close(r.store);
        return rc;
    }
    rc = eng_restore_raw(&r, &res, err);
    store_close(r.store);
    if (rc)
        return ibs_err_wrap(err, "restore into %s failed, the target is incomplete", r.target);
    double secs = (double)res.duration_ms / 1000.0;
    printf("restored backup %s into %s: %u files, %.1f MB in %.1f s (%.1f MB/s)\n", res.id,
           r.target, res.files, (double)res.bytes_written / 1e6, secs,
           secs > 0 ? (double)res.bytes_written / 1e6 / secs : 0.0);
    if (res.chain_length > 1)
        printf("chain of %u backups: %" PRIu64 " frames fetched, %" PRIu64
               " not fetched (superseded by a newer member)\n",
               res.chain_length, res.frames, res.frames_skipped);
    if (opts_bool(o, OPT_NO_PREPARE) && res.chain_length > 1) {
        print_delta_commands(r.target);
    } else if (!opts_bool(o, OPT_NO_PREPARE)) {
        if ((rc = prepare_dir(o, r.target, err)) != 0)
            return rc;
    } else {
        printf("raw layout left unprepared: run 'ibstream prepare --target %s' (or "
               "mariabackup --prepare --target-dir %s)\n",
               r.target, r.target);
    }
    if (res.binlog_enabled)
        printf("binlog position: %s:%" PRIu64 "%s%s\n", res.binlog_file, res.binlog_pos,
               res.gtid[0] ? ", gtid " : "", res.gtid);
    if (!opts_bool(o, OPT_NO_PREPARE))
        printf("start a server on it: mariadbd --datadir=%s (owned by the server's user)\n",
               r.target);
    return 0;
}

static int run_prepare(struct opts *o, int argc, char **argv, int first_arg, struct ibs_err *err)
{
    const char *target;
    int rc = need_target(o, &target, err);
    if (rc)
        return rc;
    if (first_arg < argc)
        return ibs_err_set(err, IBS_E_USAGE,
                           "unexpected argument '%s' (see 'ibstream help prepare')",
                           argv[first_arg]);
    cli_install_signals();
    return prepare_dir(o, target, err);
}

const struct cli_cmd cmd_restore = {
    .name = "restore",
    .summary = "bring a backup back as a data directory the server starts from",
    .usage = "ibstream restore --repo URL --target DIR [--backup ID|latest] [options]",
    .description =
        "Fetches the backup's frames with parallel ranged reads, verifies every frame's\n"
        "XXH3 before use, writes the data files (free pages stay holes) and the copied\n"
        "redo log, then prepares the directory (applies the log) so the server starts\n"
        "on it without crash recovery. --no-prepare leaves the raw layout that\n"
        "mariabackup --prepare accepts; for an incremental, the full's raw layout in\n"
        "DIR/base and one directory per later member in DIR/incremental/NNN-ID\n"
        "(.delta/.meta files, its own log), with the mariabackup commands printed.",
    .options = restore_options,
    .run = run_restore,
};

const struct cli_cmd cmd_prepare = {
    .name = "prepare",
    .summary = "apply the redo log of a restored raw layout (restore --no-prepare)",
    .usage = "ibstream prepare --target DIR [--use-memory SIZE]",
    .description = "Applies the copied redo log to the data files so the directory is\n"
                   "consistent. Running it again on a prepared directory changes nothing.",
    .options = prepare_options,
    .run = run_prepare,
};
