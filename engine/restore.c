/* Restore of a backup's raw layout (see restore.h). */
#include "engine/restore.h"
#include "engine/restore_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "engine/catalog.h"
#include "engine/crypt.h"
#include "engine/frame.h"
#include "engine/manifest.h"
#include "engine/outfile.h"
#include "engine/prepare.h"
#include "engine/restore_delta.h"
#include "io/ring.h"
#include "redo/log.h"

#define DEFAULT_BATCH (64ull << 20)


/* ---- target directory ---- */

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    if (ftw->level == 0)
        return 0; /* the target itself stays */
    int rc = (type == FTW_DP) ? rmdir(path) : unlink(path);
    return rc == 0 ? 0 : -1;
}

static int prepare_target(const struct eng_restore_opts *opts, struct ibs_err *err)
{
    struct stat st;
    if (stat(opts->target, &st) != 0) {
        if (errno != ENOENT)
            return ibs_err_sys(err, IBS_E_IO, errno, "target %s", opts->target);
        if (mkdir(opts->target, 0750) != 0)
            return ibs_err_sys(err, IBS_E_IO, errno,
                               "cannot create the target directory %s (does its parent exist?)",
                               opts->target);
        return 0;
    }
    if (!S_ISDIR(st.st_mode))
        return ibs_err_set(err, IBS_E_USAGE, "target %s is not a directory", opts->target);
    DIR *dir = opendir(opts->target);
    if (!dir)
        return ibs_err_sys(err, IBS_E_IO, errno, "target %s", opts->target);
    bool empty = true;
    for (struct dirent *e; (e = readdir(dir)) != NULL;)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            empty = false;
    closedir(dir);
    if (empty)
        return 0;
    if (!opts->force)
        return ibs_err_set(err, IBS_E_USAGE,
                           "target %s is not empty: restore into an empty directory, or give "
                           "--force to replace its contents",
                           opts->target);
    /* FTW_PHYS: symlinks are removed, never followed; FTW_MOUNT: stay on the
     * target's file system. Nothing outside the target is touched. */
    if (nftw(opts->target, remove_entry, 32, FTW_DEPTH | FTW_PHYS | FTW_MOUNT) != 0)
        return ibs_err_sys(err, IBS_E_IO, errno, "cannot empty the target %s", opts->target);
    return 0;
}

/* Where a file of the backup goes under the target (outfile.h): DATA
 * DIRECTORY tables (absolute names) are placed under the target too, never at
 * their original path. */
int restore_target_path(const struct eng_restore_opts *opts, const char *name, char *out,
                        size_t size, struct ibs_err *err)
{
    return eng_out_path(opts->target, name, "", out, size, err);
}

static int check_space(struct restorer *r, struct ibs_err *err)
{
    uint64_t need = r->m.end_lsn - r->m.checkpoint_lsn + REDO_LOG_START_OFFSET;
    for (size_t i = 0; i < r->m.file_count; i++)
        for (size_t k = 0; k < r->m.files[i].frames.count; k++)
            need += r->m.files[i].frames.refs[k].raw_len;
    struct statvfs vfs;
    if (statvfs(r->opts->target, &vfs) != 0)
        return ibs_err_sys(err, IBS_E_IO, errno, "statvfs %s", r->opts->target);
    uint64_t avail = (uint64_t)vfs.f_bavail * vfs.f_frsize;
    if (avail < need)
        return ibs_err_set(err, IBS_E_NOSPACE,
                           "not enough space in %s: the restore needs %.1f MB, %.1f MB are free",
                           r->opts->target, (double)need / 1e6, (double)avail / 1e6);
    return 0;
}

/* How many files a restore may hold open at once: the descriptor limit,
 * raised to its hard maximum, less a margin for everything else (sockets,
 * packs of a local repository, the prepare that follows). */
static size_t open_files_allowed(void)
{
    struct rlimit lim;
    if (getrlimit(RLIMIT_NOFILE, &lim) != 0)
        return 64;
    if (lim.rlim_cur < lim.rlim_max) {
        struct rlimit raised = {.rlim_cur = lim.rlim_max, .rlim_max = lim.rlim_max};
        if (setrlimit(RLIMIT_NOFILE, &raised) == 0)
            lim.rlim_cur = lim.rlim_max;
    }
    if (lim.rlim_cur == RLIM_INFINITY || lim.rlim_cur > (1u << 20))
        return 1u << 20;
    if (lim.rlim_cur > 256)
        return (size_t)lim.rlim_cur - 128;
    return lim.rlim_cur > 16 ? (size_t)lim.rlim_cur / 2 : 8;
}

int restore_open_existing(const char *path, int *fd, struct ibs_err *err)
{
    *fd = open(path, O_WRONLY | O_CLOEXEC);
    if (*fd < 0)
        return ibs_err_sys(err, io_errno_code(errno), errno, "open %s", path);
    return 0;
}



/* A DATA DIRECTORY table's .isl file names where its .ibd lives. The .ibd is
 * restored under the target (never at its original path), so the link must
 * point there, or a server started on the target opens the source's file. */
static int relink_data_directories(struct restorer *r, struct ibs_err *err)
{
    for (size_t i = 0; i < r->m.file_count; i++) {
        const char *name = r->m.files[i].name;
        size_t len = strlen(name);
        if (len < 5 || strcmp(name + len - 4, ".isl") != 0)
            continue;
        char path[PATH_MAX], link[PATH_MAX], fixed[PATH_MAX];
        int rc = restore_target_path(r->opts, name, path, sizeof(path), err);
        if (rc)
            return rc;
        FILE *f = fopen(path, "r");
        if (!f)
            return ibs_err_sys(err, IBS_E_IO, errno, "open %s", path);
        size_t got = fread(link, 1, sizeof(link) - 1, f);
        fclose(f);
        link[got] = '\0';
        link[strcspn(link, "\r\n")] = '\0';
        if (link[0] != '/')
            continue;
        if ((rc = restore_target_path(r->opts, link, fixed, sizeof(fixed), err)) != 0)
            return rc;
        f = fopen(path, "w");
        bool ok = f && fputs(fixed, f) >= 0 && fflush(f) == 0 && fsync(fileno(f)) == 0;
        if ((f && fclose(f) != 0) || !ok)
            return ibs_err_sys(err, IBS_E_IO, errno, "rewrite %s", path);
    }
    return 0;
}

/* ib_logfile0 as mariabackup's backup writes it (§5.5): a header whose first
 * LSN is the checkpoint, then the copied mini-transactions from offset 12288. */
int restore_log(struct restorer *r, const struct eng_manifest *m, struct ibs_err *err)
{
    char path[PATH_MAX];
    int fd = -1;
    uint8_t area[REDO_LOG_START_OFFSET];
    struct redo_log_header hdr;
    char creator[64];

    /* The frames must cover the log from the checkpoint to the end, no gap. */
    uint64_t expect = m->checkpoint_lsn;
    for (size_t i = 0; i < m->redo.count; i++) {
        if (m->redo.refs[i].offset != expect)
            return ibs_err_set(err, IBS_E_INTEGRITY,
                               "the backup's redo log has a gap at LSN %" PRIu64, expect);
        expect += m->redo.refs[i].raw_len;
    }
    if (expect != m->end_lsn)
        return ibs_err_set(err, IBS_E_INTEGRITY,
                           "the backup's redo log ends at LSN %" PRIu64 ", not %" PRIu64, expect,
                           m->end_lsn);
    snprintf(creator, sizeof(creator), "Backup %s", m->server_version ? m->server_version : "");
    char *dash = strchr(creator + 7, '-');
    if (dash)
        *dash = '\0'; /* "Backup 10.11.19", as mariabackup writes it */
    redo_log_header_init(&hdr, m->checkpoint_lsn, creator);
    redo_log_write_file_start(&hdr, m->checkpoint_lsn, m->checkpoint_end_lsn, area);
    snprintf(path, sizeof(path), "%s/ib_logfile0", r->opts->target);
    int rc = eng_out_create(path, &fd, err);
    if (rc)
        return rc;
    if (pwrite(fd, area, sizeof(area), 0) != (ssize_t)sizeof(area))
        rc = ibs_err_sys(err, io_errno_code(errno), errno, "write %s", path);
    const struct eng_frame_ref **refs = calloc(m->redo.count + 1, sizeof(*refs));
    if (!refs && !rc)
        rc = ibs_err_set(err, IBS_E_INTERNAL, "out of memory");
    for (size_t i = 0; refs && i < m->redo.count; i++)
        refs[i] = &m->redo.refs[i];
    if (!rc) {
        struct restore_out out = {.what = "ib_logfile0",
                                  .fd = fd,
                                  .base = m->checkpoint_lsn,
                                  .shift = REDO_LOG_START_OFFSET,
                                  .packs = m->redo_packs,
                                  .pack_count = m->redo_pack_count,
                                  .refs = refs,
                                  .count = m->redo.count};
        rc = restore_pass(r, &out, 1, NULL, NULL, err);
    }
    free(refs);
    struct eng_out_file file = {.fd = fd,
                                .size = REDO_LOG_START_OFFSET + (m->end_lsn - m->checkpoint_lsn),
                                .path = path};
    struct ibs_err ferr;
    ibs_err_clear(&ferr);
    int frc = eng_out_finish_many(&file, 1, rc == 0, &ferr);
    if (frc && !rc) {
        *err = ferr;
        rc = frc;
    }
    return rc;
}


static int write_metadata(struct restorer *r, struct ibs_err *err)
{
    const struct eng_manifest *m = &r->m;
    char text[8192];
    snprintf(text, sizeof(text),
             "backup_type = full-backuped\nfrom_lsn = 0\nto_lsn = %" PRIu64 "\nlast_lsn = %" PRIu64
             "\nrecover_binlog_info = 0\n",
             m->to_lsn ? m->to_lsn : m->checkpoint_lsn, m->end_lsn);
    int rc = eng_out_text(r->opts->target, "xtrabackup_checkpoints", text, err);
    if (!rc && m->binlog_enabled && m->binlog_file) {
        if (m->gtid && m->gtid[0])
            snprintf(text, sizeof(text), "%s\t%" PRIu64 "\t%s\n", m->binlog_file, m->binlog_pos,
                     m->gtid);
        else
            snprintf(text, sizeof(text), "%s\t%" PRIu64 "\n", m->binlog_file, m->binlog_pos);
        rc = eng_out_text(r->opts->target, "xtrabackup_binlog_info", text, err);
    }
    if (!rc) {
        snprintf(text, sizeof(text),
                 "# This options file was generated by ibstream.\n\n# The server\n[mysqld]\n"
                 "innodb_checksum_algorithm=crc32\ninnodb_data_file_path=%s\n"
                 "innodb_log_file_size=%" PRIu64 "\ninnodb_page_size=%u\n"
                 "innodb_undo_directory=./\ninnodb_undo_tablespaces=%u\n",
                 m->data_file_path ? m->data_file_path : "ibdata1:12M:autoextend",
                 m->log_file_size, m->page_size, m->undo_tablespaces);
        rc = eng_out_text(r->opts->target, "backup-my.cnf", text, err);
    }
    return rc;
}

/* Loads the backup and its parents up to the full: r->m is the backup,
 * r->chain[0..len-2] its ancestors, oldest first. A missing member is an
 * integrity error: a chain is never restored with a hole. */
static int load_chain(struct restorer *r, const char *id, struct ibs_err *err)
{
    int rc = eng_manifest_load(r->opts->store, id, &r->m, err);
    if (rc)
        return rc;
    size_t depth = 0, cap = 0;
    struct eng_manifest *up = NULL;
    const char *child = id;
    const char *parent = r->m.parent;
    while (parent) {
        if (depth == cap) {
            cap = cap ? cap * 2 : 8;
            struct eng_manifest *grown = realloc(up, cap * sizeof(*grown));
            if (!grown) {
                rc = ibs_err_set(err, IBS_E_INTERNAL, "out of memory");
                break;
            }
            up = grown;
        }
        if (depth > 100000) {
            rc = ibs_err_set(err, IBS_E_INTEGRITY, "backup chain of %s loops", id);
            break;
        }
        rc = eng_manifest_load(r->opts->store, parent, &up[depth], err);
        if (rc == IBS_E_NOTFOUND)
            rc = ibs_err_set(err, IBS_E_INTEGRITY,
                             "the chain of backup %s is broken: %s, the parent of %s, is missing "
                             "from the repository",
                             id, parent, child);
        if (rc)
            break;
        child = up[depth].id;
        parent = up[depth].parent;
        depth++;
    }
    if (!rc && up && strcmp(up[depth - 1].type, "full") != 0)
        rc = ibs_err_set(err, IBS_E_INTEGRITY, "the chain of backup %s does not start with a full",
                         id);
    /* Oldest first; the restored backup itself is the last member. */
    r->chain = calloc(depth + 1, sizeof(*r->chain));
    if (!r->chain && !rc)
        rc = ibs_err_set(err, IBS_E_INTERNAL, "out of memory");
    for (size_t i = 0; i < depth; i++) {
        if (r->chain)
            r->chain[depth - 1 - i] = up[i];
        else
            eng_manifest_free(&up[i]);
    }
    free(up);
    r->chain_len = depth + 1;
    if (!rc && r->chain_len == 1 && strcmp(r->m.type, "full") != 0)
        rc = ibs_err_set(err, IBS_E_INTEGRITY, "backup %s is an incremental without a parent", id);
    return rc;
}

/* The delta layout: the full restored raw into <target>/base, then the delta
 * directory of every later member (restore_delta.c). */
static int restore_as_deltas(struct restorer *r, struct ibs_err *err)
{
    struct eng_restore_opts full = *r->opts;
    struct eng_restore_result fres;
    char base[PATH_MAX];
    int rc = prepare_target(r->opts, err);
    if (rc)
        return rc;
    snprintf(base, sizeof(base), "%s/%s", r->opts->target, ENG_RESTORE_DELTA_BASE);
    full.target = base;
    full.backup = r->chain[0].id;
    full.delta_layout = false;
    full.force = false;
    if ((rc = eng_restore_raw(&full, &fres, err)) != 0)
        return rc;
    r->res->files += fres.files;
    r->res->frames += fres.frames;
    r->res->bytes_written += fres.bytes_written;
    const struct eng_manifest **members = calloc(r->chain_len, sizeof(*members));
    if (!members)
        return ibs_err_set(err, IBS_E_INTERNAL, "out of memory");
    for (size_t k = 0; k < r->chain_len; k++)
        members[k] = restore_member(r, k);
    rc = eng_restore_deltas(r->opts, members, r->chain_len, r->res, err);
    free(members);
    return rc;
}

int eng_restore_raw(const struct eng_restore_opts *opts, struct eng_restore_result *res,
                    struct ibs_err *err)
{
    struct restorer r;
    struct eng_catalog cat;
    struct timespec t0, t1;
    int rc;

    memset(&r, 0, sizeof(r));
    memset(res, 0, sizeof(*res));
    clock_gettime(CLOCK_MONOTONIC, &t0);
    r.opts = opts;
    r.res = res;
    eng_manifest_init(&r.m);
    r.batch_cap = opts->batch_bytes ? opts->batch_bytes : DEFAULT_BATCH;

    rc = eng_catalog_load(opts->store, &cat, err);
    if (rc)
        return rc;
    rc = eng_catalog_resolve(&cat, opts->backup, res->id, sizeof(res->id), err);
    eng_catalog_free(&cat);
    if (rc)
        return rc;
    rc = load_chain(&r, res->id, err);
    if (rc)
        goto out;
    res->chain_length = (unsigned)r.chain_len;
    if (opts->delta_layout && r.chain_len > 1) {
        if ((rc = restore_as_deltas(&r, err)) != 0)
            goto out;
        goto done;
    }
    if ((rc = prepare_target(opts, err)) != 0 || (rc = check_space(&r, err)) != 0)
        goto out;
    r.max_open = open_files_allowed();
    IBS_INFO("restore", "restoring backup %s (%zu files) into %s", res->id, r.m.file_count,
             opts->target);
    if ((rc = restore_files(&r, err)) != 0 || (rc = relink_data_directories(&r, err)) != 0 ||
        (rc = restore_log(&r, &r.m, err)) != 0 ||
        (rc = write_metadata(&r, err)) != 0 ||
        (rc = eng_out_sync_dir(opts->target, err)) != 0)
        goto out;
done:
    res->checkpoint_lsn = r.m.checkpoint_lsn;
    res->end_lsn = r.m.end_lsn;
    res->binlog_enabled = r.m.binlog_enabled;
    if (r.m.binlog_enabled && r.m.binlog_file) {
        snprintf(res->binlog_file, sizeof(res->binlog_file), "%s", r.m.binlog_file);
        res->binlog_pos = r.m.binlog_pos;
        snprintf(res->gtid, sizeof(res->gtid), "%s", r.m.gtid ? r.m.gtid : "");
    }
out:
    clock_gettime(CLOCK_MONOTONIC, &t1);
    res->duration_ms = (uint64_t)((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000);
    for (size_t i = 0; r.layers && i < r.m.file_count; i++)
        free(r.layers[i].owner);
    free(r.layers);
    eng_manifest_free(&r.m);
    for (size_t i = 0; i + 1 < r.chain_len; i++)
        eng_manifest_free(&r.chain[i]);
    free(r.chain);
    return rc;
}
