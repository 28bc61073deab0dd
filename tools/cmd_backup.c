/* ibstream backup: a full hot backup of a running server into a repository. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "engine/backup.h"
#include "tools/cli.h"
#include "tools/repo_open.h"
#include "tools/signals.h"

static const int backup_options[] = {COMMON_OPTIONS,     CONNECTION_OPTIONS, REPO_OPTIONS,
                                     OPT_PARALLEL,       OPT_QUEUE_DEPTH,    OPT_CHUNK_SIZE,     OPT_PACK_SIZE,
                                     OPT_COMPRESS_LEVEL, OPT_THROTTLE,       OPT_PACE,           OPT_REDO_TIMEOUT,
                                     OPT_INCREMENTAL,    OPT_BASE,           -1};

static int backup_settings(struct opts *o, struct eng_backup_opts *b, struct ibs_err *err)
{
    uint64_t chunk, pack, throttle_mb;
    unsigned level_abs;
    int rc = opts_uint(o, OPT_PARALLEL, &b->parallel, err);
    if (!rc)
        rc = opts_uint(o, OPT_QUEUE_DEPTH, &b->queue_depth, err);
    if (!rc)
        rc = opts_size(o, OPT_CHUNK_SIZE, &chunk, err);
    if (!rc)
        rc = opts_size(o, OPT_PACK_SIZE, &pack, err);
    if (!rc)
        rc = opts_size(o, OPT_THROTTLE, &throttle_mb, err);
    if (!rc)
        rc = opts_uint(o, OPT_REDO_TIMEOUT, &b->redo_timeout_s, err);
    if (rc)
        return rc;
    const char *level = opts_str(o, OPT_COMPRESS_LEVEL);
    bool negative = level && level[0] == '-';
    struct opts tmp = *o;
    if (negative)
        tmp.value[OPT_COMPRESS_LEVEL] = level + 1;
    if ((rc = opts_uint(&tmp, OPT_COMPRESS_LEVEL, &level_abs, err)) != 0)
        return rc;
    b->compress_level = negative ? -(int)level_abs : (int)level_abs;
    if (b->parallel < 1 || b->parallel > 64)
        return ibs_err_set(err, IBS_E_USAGE, "--parallel must be between 1 and 64");
    if (b->queue_depth < 1 || b->queue_depth > 256)
        return ibs_err_set(err, IBS_E_USAGE, "--queue-depth must be between 1 and 256");
    if (chunk < (64u << 10) || chunk > (16u << 20) || chunk % (64u << 10))
        return ibs_err_set(err, IBS_E_USAGE,
                           "--chunk-size must be a multiple of 64K between 64K and 16M");
    b->chunk_size = (uint32_t)chunk;
    if (pack < (1u << 20) || pack > (4ull << 30))
        return ibs_err_set(err, IBS_E_USAGE, "--pack-size must be between 1M and 4G");
    b->pack_size = pack;
    b->throttle_bps = throttle_mb * 1000000ull;
    const char *pace = opts_str(o, OPT_PACE);
    if (strcmp(pace, "auto") != 0 && strcmp(pace, "off") != 0)
        return ibs_err_set(err, IBS_E_USAGE, "--pace must be auto or off, not '%s'", pace);
    b->pace = strcmp(pace, "auto") == 0;
    return 0;
}

static int run_backup(struct opts *o, int argc, char **argv, int first_arg, struct ibs_err *err)
{
    struct eng_backup_opts b;
    struct eng_backup_result res;
    char password[256];
    int rc;

    memset(&b, 0, sizeof(b));
    if (first_arg < argc)
        return ibs_err_set(err, IBS_E_USAGE, "unexpected argument '%s' (see 'ibstream help backup')",
                           argv[first_arg]);
    if ((rc = backup_settings(o, &b, err)) != 0)
        return rc;
    if ((rc = cli_conn_opts(o, &b.conn, password, sizeof(password), err)) != 0)
        return rc;
    if ((rc = cli_open_repo(o, &b.store, err)) != 0)
        return rc;
    cli_install_signals();
    b.cancel = &cli_interrupted;
    b.incremental = opts_bool(o, OPT_INCREMENTAL);
    b.base = opts_str(o, OPT_BASE);
    if (!b.incremental && o->source[OPT_BASE] > SRC_DEFAULT) {
        store_close(b.store);
        return ibs_err_set(err, IBS_E_USAGE, "--base is for incremental backups: add --incremental");
    }
    b.progress_tty = isatty(STDERR_FILENO) && ibs_log_min_level() <= IBS_LOG_INFO;
    rc = eng_backup_run(&b, &res, err);
    store_close(b.store);
    explicit_bzero(password, sizeof(password));
    if (rc) {
        if (rc == IBS_E_INTERRUPTED)
            ibs_err_wrap(err, "nothing was stored");
        return rc;
    }
    double secs = (double)res.duration_ms / 1000.0;
    printf("backup %s complete: %u files, %.1f MB read, %.1f MB stored (ratio %.2f; data %.1f "
           "MB, redo log %.1f MB), %.1f s, %.1f MB/s\n",
           res.id, res.files, (double)res.bytes_read / 1e6, (double)res.bytes_stored / 1e6,
           res.bytes_stored ? (double)res.bytes_read / (double)res.bytes_stored : 0.0,
           (double)res.data_stored / 1e6, (double)res.redo_bytes / 1e6, secs,
           secs > 0 ? (double)res.bytes_read / 1e6 / secs : 0);
    printf("  LSN %llu..%llu", (unsigned long long)res.checkpoint_lsn,
           (unsigned long long)res.end_lsn);
    if (res.binlog_file[0])
        printf(", binlog %s:%llu, gtid '%s'", res.binlog_file,
               (unsigned long long)res.binlog_pos, res.gtid);
    printf("\n");
    if (res.incremental) {
        printf("  incremental on %s (chain of %u): %llu of %llu pages changed and stored\n",
               res.parent, res.chain_length, (unsigned long long)res.pages_stored,
               (unsigned long long)res.pages_scanned);
        if (res.pages_stored == 0)
            printf("  no page changed since the base: only the redo log and changed non-InnoDB "
                   "files were stored\n");
    }
    return 0;
}

const struct cli_cmd cmd_backup = {
    .name = "backup",
    .summary = "take a hot backup of a running MariaDB server into a repository",
    .usage = "ibstream backup --repo URL [--incremental [--base ID]] [connection options] [options]",
    .description =
        "Copies every InnoDB tablespace while the server runs (io_uring, checksums checked\n"
        "page by page), follows the redo log from the latest checkpoint, copies the\n"
        "non-InnoDB files under BACKUP STAGE BLOCK_DDL and records the binlog position\n"
        "under BLOCK_COMMIT. Data is hashed (XXH3), zstd-compressed and streamed into the\n"
        "repository; the manifest is written last. An interrupted or failed backup leaves\n"
        "nothing behind. Run it on the database host, as a user that can read the datadir.",
    .options = backup_options,
    .run = run_backup,
};
