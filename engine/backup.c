/* Full hot backup orchestration (see backup.h). */
#include "engine/backup.h"

#include <errno.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "engine/backup_monitor.h"
#include "engine/catalog.h"
#include "engine/copier.h"
#include "engine/crypt.h"
#include "engine/discover.h"
#include "engine/lock.h"
#include "engine/ops.h"
#include "engine/manifest.h"
#include "engine/pack.h"
#include "engine/redo_tail.h"
#include "engine/repo.h"
#include "io/throttle.h"

struct backup {
    const struct eng_backup_opts *opts;
    struct eng_lock *lock;      /* taken; confirmed before the first write */
    struct eng_server *session; /* BACKUP STAGE and queries */
    struct eng_server *watch;   /* the monitor's connection */
    struct eng_server_info info;
    bool stage_started;
    struct eng_redo_tail *tail;
    struct eng_pack_writer *packs;
    struct io_throttle *throttle;
    struct eng_monitor monitor;
    struct eng_copy_stats stats;
    struct eng_manifest m;
    char prefix[128];         /* "backups/<id>" */
    struct eng_manifest base; /* the parent of an incremental */
    bool have_base;
    unsigned chain_length;
    bool encrypted;
    struct eng_crypt_key data_key; /* this backup's, when the repository is encrypted */
};

void eng_backup_make_id(char *buf, size_t size, time_t when, bool incremental)
{
    struct tm tm;
    gmtime_r(&when, &tm);
    char stamp[32];
    strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", &tm);
    snprintf(buf, size, "%s%c", stamp, incremental ? 'I' : 'F');
}

static double elapsed_s(const struct timespec *t0)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - t0->tv_sec) + (double)(now.tv_nsec - t0->tv_nsec) / 1e9;
}

static enum eng_mfile_kind mfile_kind(enum eng_file_kind kind)
{
    switch (kind) {
    case ENG_FILE_SYSTEM:
        return ENG_MFILE_SYSTEM;
    case ENG_FILE_UNDO:
        return ENG_MFILE_UNDO;
    case ENG_FILE_IBD:
        return ENG_MFILE_IBD;
    case ENG_FILE_OTHER:
        break;
    }
    return ENG_MFILE_OTHER;
}

static uint64_t pack_size(const struct eng_backup_opts *opts)
{
    return opts->pack_size ? opts->pack_size : ENG_PACK_SIZE_DEFAULT;
}

static int check_cancel(struct backup *b, struct ibs_err *err)
{
    if (atomic_load(b->opts->cancel)) {
        /* The monitor may have cancelled with the real cause. */
        if (b->monitor.failure.code)
            return ibs_err_set(err, b->monitor.failure.code, "%s", b->monitor.failure.msg);
        if (eng_redo_tail_failed(b->tail, err) != 0)
            return err->code;
        return ibs_err_set(err, IBS_E_INTERRUPTED, "backup interrupted");
    }
    return 0;
}

/* Is this tablespace already in the manifest as the same space? */
static bool already_copied(const struct eng_manifest *m, const struct eng_file *f)
{
    for (size_t i = 0; i < m->file_count; i++) {
        const struct eng_mfile *mf = &m->files[i];
        if (strcmp(mf->name, f->name) == 0)
            return f->kind == ENG_FILE_OTHER || f->space_id == 0 || mf->space_id == 0 ||
                   mf->space_id == f->space_id;
    }
    return false;
}

/* An incremental refers to the base's copy of a non-InnoDB file that has not
 * changed (same size and modification time to the nanosecond) instead of
 * storing it again. */
static int reference_unchanged(struct backup *b, const struct eng_file_list *list,
                               struct ibs_err *err)
{
    for (size_t i = 0; i < list->count; i++) {
        const struct eng_file *f = &list->files[i];
        struct stat st;
        if (already_copied(&b->m, f) || stat(f->path, &st) != 0)
            continue;
        for (size_t k = 0; k < b->base.file_count; k++) {
            const struct eng_mfile *old = &b->base.files[k];
            int64_t mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
            /* A file changed while (or just before) the base copied it may have
             * been copied half-written with its final size and time: only a file
             * last modified before the base started counts as unchanged. */
            if (old->kind != ENG_MFILE_OTHER || strcmp(old->name, f->name) != 0 ||
                old->size != (uint64_t)st.st_size || old->mtime_ns != mtime_ns ||
                mtime_ns >= (int64_t)b->base.start_time * 1000000000)
                continue;
            long id = eng_manifest_add_file(&b->m, f->name, ENG_MFILE_OTHER);
            if (id < 0)
                return ibs_err_set(err, IBS_E_INTERNAL, "out of memory");
            struct eng_mfile *mf = &b->m.files[id];
            mf->size = old->size;
            mf->mtime = old->mtime;
            mf->mtime_ns = old->mtime_ns;
            mf->source = strdup(old->source ? old->source : b->base.id);
            if (!mf->source)
                return ibs_err_set(err, IBS_E_INTERNAL, "out of memory");
            int rc = eng_frame_list_copy(&mf->frames, &old->frames, err);
            if (rc)
                return rc;
            break;
        }
    }
    return 0;
}

/* Adds the files of list that are not in the manifest yet and copies them. */
static int copy_new_files(struct backup *b, const struct eng_file_list *list, bool innodb,
                          struct ibs_err *err)
{
    const struct eng_backup_opts *opts = b->opts;
    size_t first = b->m.file_count;
    uint32_t system_pages = 0;
    int rc = 0;

    for (size_t i = 0; i < list->count; i++) {
        const struct eng_file *f = &list->files[i];
        if (already_copied(&b->m, f))
            continue;
        long id = eng_manifest_add_file(&b->m, f->name, mfile_kind(f->kind));
        if (id < 0)
            return ibs_err_set(err, IBS_E_INTERNAL, "out of memory");
        b->m.files[id].space_id = f->space_id;
    }
    size_t n = b->m.file_count - first;
    if (n == 0)
        return 0;
    struct eng_copy_job *jobs = calloc(n, sizeof(*jobs));
    if (!jobs)
        return ibs_err_set(err, IBS_E_INTERNAL, "out of memory");
    for (size_t j = 0; j < n; j++) {
        struct eng_mfile *mf = &b->m.files[first + j];
        const struct eng_file *f = eng_file_list_find(list, mf->name);
        jobs[j].path = f->path;
        jobs[j].file_id = (uint32_t)(first + j);
        jobs[j].mf = mf;
        jobs[j].innodb = innodb;
        jobs[j].page_size = b->info.page_size;
        /* The system tablespace may span ibdata1, ibdata2...: only the first
         * holds page 0; the others continue its page numbers. */
        jobs[j].tablespace_head = !(mf->kind == ENG_MFILE_SYSTEM && system_pages > 0);
        jobs[j].first_page_no = mf->kind == ENG_MFILE_SYSTEM ? system_pages : 0;
        if (mf->kind == ENG_MFILE_SYSTEM)
            system_pages += (uint32_t)(f->size / b->info.page_size);
        atomic_fetch_add(&b->stats.bytes_total, f->size);
    }
    struct eng_copy_opts copy = {
        .parallel = opts->parallel,
        .queue_depth = opts->queue_depth,
        .chunk_size = opts->chunk_size,
        .compress_level = opts->compress_level,
        .throttle = b->throttle,
        .packs = b->packs,
        .cancel = opts->cancel,
        .page_retries = 10,
        .incremental_lsn = b->have_base ? b->base.end_lsn : 0,
        .key = b->encrypted ? &b->data_key : NULL,
    };
    rc = eng_copy_files(&copy, jobs, n, &b->stats, err);
    free(jobs);
    return rc;
}

/* Drops from the manifest the tablespaces that no longer exist (or are now a
 * different tablespace under the same name): the redo log deletes them. */
static void forget_dropped(struct backup *b, const struct eng_file_list *now)
{
    size_t keep = 0;
    for (size_t i = 0; i < b->m.file_count; i++) {
        struct eng_mfile *mf = &b->m.files[i];
        const struct eng_file *f = eng_file_list_find(now, mf->name);
        bool gone = mf->kind != ENG_MFILE_OTHER &&
                    (!f || (f->space_id && mf->space_id && f->space_id != mf->space_id));
        if (gone) {
            IBS_INFO("backup", "%s: dropped or replaced during the backup", mf->name);
            free(mf->name);
            free(mf->source);
            eng_frame_list_free(&mf->frames);
            continue;
        }
        b->m.files[keep++] = *mf;
    }
    b->m.file_count = keep;
}

static int ensure_repository(struct store *store, struct ibs_err *err)
{
    struct store_stat st;
    int rc = store_head(store, ENG_REPO_MARKER, &st, err);
    if (rc != IBS_E_NOTFOUND)
        return rc;
    char text[512], crypt[384];
    eng_crypt_marker_fields(crypt, sizeof(crypt));
    int len = snprintf(text, sizeof(text), "{\"format\":%d,\"created\":%lld%s}\n", ENG_REPO_FORMAT,
                       (long long)time(NULL), crypt);
    return store_put(store, ENG_REPO_MARKER, text, (size_t)len, err);
}

static int count_entry(void *ctx, const struct store_entry *e)
{
    (void)e;
    ++*(size_t *)ctx;
    return 0;
}

/* Ids have a one-second resolution: a backup that starts in the same second
 * as the previous one waits for the next second rather than share its id. */
static int unique_id(struct backup *b, char *id, size_t size, struct ibs_err *err)
{
    for (int attempt = 0; attempt < 5; attempt++) {
        char prefix[96];
        size_t found = 0;
        eng_backup_make_id(id, size, b->m.start_time, b->opts->incremental);
        snprintf(prefix, sizeof(prefix), "%s/%s/", ENG_BACKUPS_DIR, id);
        int rc = store_list(b->opts->store, prefix, count_entry, &found, err);
        if (rc || !found)
            return rc;
        sleep(1);
        b->m.start_time = time(NULL);
    }
    return ibs_err_set(err, IBS_E_STORAGE, "cannot find an unused backup id in %s",
                       store_url(b->opts->store));
}

static bool same_server(const struct eng_manifest *m, const struct eng_server_info *info)
{
    return m->hostname && m->datadir && strcmp(m->hostname, info->hostname) == 0 &&
           strcmp(m->datadir, info->datadir) == 0 && m->server_id == info->server_id;
}

/* Finds the base of an incremental: the named backup, or the newest complete
 * backup of this server; checks it belongs to this server and its chain.
 * The incremental keeps pages newer than the base's END LSN (mariabackup uses
 * the checkpoint at BLOCK_COMMIT, which is older): a restored base is
 * prepared up to its end LSN, so a page last changed before it is already
 * right there, and pages the server merely flushed after the base ended are
 * not stored again. */
static int load_base(struct backup *b, struct ibs_err *err)
{
    struct eng_catalog cat;
    int rc = eng_catalog_load(b->opts->store, &cat, err);
    if (rc)
        return rc;
    const char *wanted = b->opts->base;
    bool latest = !wanted || strcmp(wanted, "latest") == 0;
    char id[64] = "";
    if (latest) {
        for (size_t i = cat.count; i-- > 0 && !id[0];) {
            struct eng_manifest m;
            if (eng_manifest_load(b->opts->store, cat.ids[i], &m, err) != 0)
                continue; /* verify reports damaged manifests; keep looking */
            if (same_server(&m, &b->info))
                snprintf(id, sizeof(id), "%s", cat.ids[i]);
            eng_manifest_free(&m);
        }
        if (!id[0])
            rc = ibs_err_set(err, IBS_E_NOTFOUND,
                             "no complete backup of this server (%s:%s) in %s to base an "
                             "incremental on: take a full backup first",
                             b->info.hostname, b->info.datadir, store_url(b->opts->store));
    } else {
        rc = eng_catalog_resolve(&cat, wanted, id, sizeof(id), err);
    }
    eng_catalog_free(&cat);
    if (rc)
        return rc;
    if ((rc = eng_manifest_load(b->opts->store, id, &b->base, err)) != 0)
        return ibs_err_wrap(err, "base backup");
    b->have_base = true;
    if (!same_server(&b->base, &b->info))
        return ibs_err_set(err, IBS_E_USAGE,
                           "base backup %s is of another server (%s:%s, server_id %u), not this "
                           "one (%s:%s, server_id %u): give --base a backup of this server",
                           id, b->base.hostname, b->base.datadir, b->base.server_id,
                           b->info.hostname, b->info.datadir, b->info.server_id);
    if (b->base.page_size != b->info.page_size)
        return ibs_err_set(err, IBS_E_USAGE,
                           "base backup %s has innodb_page_size %u, the server %u", id,
                           b->base.page_size, b->info.page_size);
    /* The chain must be whole: every parent up to the full. */
    b->chain_length = 1;
    char parent[64];
    snprintf(parent, sizeof(parent), "%s", b->base.parent ? b->base.parent : "");
    while (parent[0]) {
        struct eng_manifest m;
        if (++b->chain_length > 10000)
            return ibs_err_set(err, IBS_E_INTEGRITY, "backup chain of %s loops", id);
        if ((rc = eng_manifest_load(b->opts->store, parent, &m, err)) != 0)
            return ibs_err_wrap(err, "the chain of base %s is broken", id);
        snprintf(parent, sizeof(parent), "%s", m.parent ? m.parent : "");
        eng_manifest_free(&m);
    }
    b->chain_length++; /* this backup */
    return 0;
}

static int connect_all(struct backup *b, struct ibs_err *err)
{
    int rc = eng_server_connect(&b->opts->conn, &b->session, err);
    if (!rc)
        rc = eng_server_info(b->session, &b->info, err);
    if (!rc)
        rc = eng_server_check_privileges(b->session, err);
    if (!rc && b->info.encrypt_log)
        rc = ibs_err_set(err, IBS_E_SERVER,
                         "innodb_encrypt_log is ON: ibstream cannot back up an encrypted redo "
                         "log yet (use mariabackup for this server)");
    if (!rc)
        rc = eng_server_connect(&b->opts->conn, &b->watch, err);
    return rc;
}

/* The server's process, for the pacer: 0 when it is not on this host or its
 * pid file cannot be read (the pacer then watches the whole host). */
static pid_t server_pid(struct backup *b)
{
    char pid_file[4096], path[8300];
    struct ibs_err ignored;
    if (eng_server_query_value(b->session, "SELECT @@pid_file", pid_file, sizeof(pid_file),
                               &ignored) != 0)
        return 0;
    if (pid_file[0] == '/')
        snprintf(path, sizeof(path), "%s", pid_file);
    else
        snprintf(path, sizeof(path), "%s/%s", b->info.datadir, pid_file);
    pid_t pid = eng_pace_server_pid(path);
    if (!pid)
        IBS_INFO("backup",
                 "the server's process is not readable here (pid file %s): pacing "
                 "watches the whole host's load",
                 path);
    return pid;
}

static int start_redo(struct backup *b, struct ibs_err *err)
{
    char log_path[4200], redo_prefix[160];
    snprintf(log_path, sizeof(log_path), "%s/ib_logfile0", b->info.log_dir);
    snprintf(redo_prefix, sizeof(redo_prefix), "%s/redo", b->prefix);
    struct eng_redo_tail_opts topts = {
        .log_path = log_path,
        .store = b->opts->store,
        .prefix = redo_prefix,
        .compress_level = b->opts->compress_level,
        .pack_size = pack_size(b->opts),
        .page_size = b->info.page_size,
        .cancel = b->opts->cancel,
        .key = b->encrypted ? &b->data_key : NULL,
        .resume_lsn = b->have_base ? b->base.end_lsn : 0,
    };
    struct eng_redo_tail_info tinfo;
    int rc = eng_redo_tail_start(&topts, &b->tail, &tinfo, err);
    if (rc)
        return rc;
    b->m.checkpoint_lsn = tinfo.checkpoint_lsn;
    b->m.checkpoint_end_lsn = tinfo.checkpoint_end_lsn;
    b->m.log_resumed = tinfo.resumed;
    b->m.log_format = tinfo.format_id;
    IBS_INFO("backup", "redo log: checkpoint at LSN %llu, capacity %.1f MB",
             (unsigned long long)tinfo.server_checkpoint_lsn, (double)tinfo.capacity / 1e6);
    if (tinfo.resumed)
        IBS_INFO("backup",
                 "copying the log from LSN %llu, where the base ended: the chain holds "
                 "the %.1f MB before it",
                 (unsigned long long)b->base.end_lsn,
                 (double)(b->base.end_lsn - tinfo.server_checkpoint_lsn) / 1e6);
    b->monitor = (struct eng_monitor){
        .conn = b->watch,
        .tail = b->tail,
        .capacity = tinfo.capacity,
        .throttle = b->throttle,
        .throttle_bps = b->opts->throttle_bps,
        .stats = &b->stats,
        .cancel = b->opts->cancel,
        .progress_tty = b->opts->progress_tty,
        .pace = b->opts->pace,
        .server_pid = b->opts->pace ? server_pid(b) : 0,
    };
    return eng_monitor_start(&b->monitor, err);
}

static int fill_server_fields(struct backup *b, struct ibs_err *err)
{
    struct eng_manifest *m = &b->m;
    m->type = strdup(b->have_base ? "incremental" : "full");
    if (b->have_base && !(m->parent = strdup(b->base.id)))
        return ibs_err_set(err, IBS_E_INTERNAL, "out of memory");
    m->server_version = strdup(b->info.version);
    m->hostname = strdup(b->info.hostname);
    m->datadir = strdup(b->info.datadir);
    m->server_id = b->info.server_id;
    m->page_size = b->info.page_size;
    m->log_file_size = b->info.log_file_size;
    m->data_file_path = strdup(b->info.data_file_path);
    m->undo_tablespaces = b->info.undo_tablespaces;
    if (!m->type || !m->server_version || !m->hostname || !m->datadir)
        return ibs_err_set(err, IBS_E_INTERNAL, "out of memory");
    return 0;
}

/* BLOCK_COMMIT: binlog coordinates and the end LSN they match. */
static int take_end_position(struct backup *b, uint64_t *target, struct ibs_err *err)
{
    struct eng_binlog_pos pos;
    uint64_t current = 0, checkpoint = 0, flushed = 0;
    int rc = eng_server_binlog_pos(b->session, &pos, err);
    /* Make the server write its log buffer so the end LSN is in the file. */
    if (!rc)
        rc = eng_server_exec(b->session, "FLUSH NO_WRITE_TO_BINLOG ENGINE LOGS", err);
    if (!rc)
        rc = eng_server_lsn(b->session, &current, &checkpoint, err);
    /* The end is what the server has written since the flush: log generated
     * after it (purge, under BLOCK_COMMIT) is not needed and may not be in the
     * file yet. */
    if (!rc)
        rc = eng_server_lsn_flushed(b->session, &flushed, err);
    if (rc)
        return rc;
    b->m.binlog_enabled = pos.enabled;
    if (pos.enabled) {
        b->m.binlog_file = strdup(pos.file);
        b->m.binlog_pos = pos.position;
        b->m.gtid = strdup(pos.gtid);
    }
    *target = flushed > checkpoint ? flushed : checkpoint;
    b->m.to_lsn = checkpoint;
    return 0;
}

/* After BACKUP STAGE END: the log up to the end LSN is on disk and the
 * server may go on committing; the tailer copies the rest. The monitor keeps
 * watching meanwhile, so log overwritten before it is copied still fails the
 * backup, with the monitor's figures. */
static int wait_for_redo(struct backup *b, uint64_t target, struct ibs_err *err)
{
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    struct eng_redo_tail *tail = b->tail;
    b->tail = NULL;
    int rc = eng_redo_tail_finish(tail, target, b->opts->redo_timeout_s * 1000, &b->m.redo,
                                  &b->m.redo_packs, &b->m.redo_pack_count, &b->m.end_lsn, err);
    struct ibs_err monitor_err;
    int mrc = eng_monitor_stop(&b->monitor, &monitor_err);
    if (mrc) {
        *err = monitor_err; /* the overwritten log is the cause, not the cancel it caused */
        return mrc;
    }
    if (rc)
        return rc;
    IBS_INFO("backup", "redo log copied from LSN %llu to %llu (the last %.2f s after END)",
             (unsigned long long)b->m.checkpoint_lsn, (unsigned long long)b->m.end_lsn,
             elapsed_s(&t0));
    return 0;
}

static int commit_manifest(struct backup *b, struct ibs_err *err)
{
    struct eng_pack_info *packs = NULL;
    size_t count = 0;
    struct eng_pack_writer *pw = b->packs;
    b->packs = NULL;
    int rc = eng_pack_writer_finish(pw, &packs, &count, err);
    if (rc)
        return rc;
    b->m.data_packs = calloc(count ? count : 1, sizeof(*b->m.data_packs));
    if (!b->m.data_packs) {
        eng_pack_info_free(packs, count);
        return ibs_err_set(err, IBS_E_INTERNAL, "out of memory");
    }
    for (size_t i = 0; i < count; i++) {
        b->m.data_packs[i].key = packs[i].key;
        b->m.data_packs[i].size = packs[i].size;
        packs[i].key = NULL;
    }
    b->m.data_pack_count = count;
    eng_pack_info_free(packs, count);

    char *json = NULL;
    size_t len = 0;
    char key[160];
    rc = eng_manifest_to_json(&b->m, &json, &len, err);
    if (!rc && (rc = eng_crypt_manifest_seal(b->m.id, &json, &len, err)) != 0)
        free(json);
    if (rc)
        return rc;
    snprintf(key, sizeof(key), "%s/%s", b->prefix, ENG_MANIFEST_NAME);
    rc = store_put(b->opts->store, key, json, len, err);
    free(json);
    return rc ? ibs_err_wrap(err, "writing the manifest") : 0;
}

/* Removes every object of this backup: nothing partial may stay listed. */
static void remove_partial(struct backup *b)
{
    struct ibs_err ignored;
    for (size_t i = 0; i < b->m.data_pack_count; i++)
        store_delete(b->opts->store, b->m.data_packs[i].key, &ignored);
    for (size_t i = 0; i < b->m.redo_pack_count; i++)
        store_delete(b->opts->store, b->m.redo_packs[i].key, &ignored);
}

static int run(struct backup *b, struct eng_backup_result *res, struct ibs_err *err)
{
    const struct eng_backup_opts *opts = b->opts;
    struct eng_file_list innodb = {0}, innodb_now = {0}, other = {0};
    struct timespec t0, t_stage;
    int rc;

    clock_gettime(CLOCK_MONOTONIC, &t0);
    b->m.start_time = time(NULL);
    if ((rc = connect_all(b, err)) != 0)
        goto out;
    if (opts->incremental && (rc = load_base(b, err)) != 0)
        goto out;
    if ((rc = fill_server_fields(b, err)) != 0)
        goto out;
    if ((rc = unique_id(b, res->id, sizeof(res->id), err)) != 0)
        goto out;
    /* Only reads so far: the lock's settling pause ran meanwhile. */
    if ((rc = eng_lock_confirm(b->lock, err)) != 0)
        goto out;
    if ((rc = ensure_repository(opts->store, err)) != 0)
        goto out;
    b->m.id = strdup(res->id);
    snprintf(b->prefix, sizeof(b->prefix), "%s/%s", ENG_BACKUPS_DIR, res->id);
    b->encrypted = eng_crypt_repo_active();
    if (b->encrypted && (rc = eng_crypt_data_key(res->id, &b->data_key, err)) != 0)
        goto out;
    char data_prefix[160];
    snprintf(data_prefix, sizeof(data_prefix), "%s/data", b->prefix);
    if ((rc = eng_pack_writer_new(opts->store, data_prefix, pack_size(opts), &b->packs, err)) != 0)
        goto out;
    if (opts->throttle_bps && !(b->throttle = io_throttle_new(opts->throttle_bps, err))) {
        rc = err->code;
        goto out;
    }
    if (!b->throttle && !(b->throttle = io_throttle_new(0, err))) {
        rc = err->code; /* unlimited, but the monitor can still slow it down */
        goto out;
    }
    IBS_INFO("backup", "%s backup %s of MariaDB %s (%s) into %s", b->m.type, res->id,
             b->info.version, b->info.datadir, store_url(opts->store));
    if (b->have_base)
        IBS_INFO("backup", "base %s: pages newer than LSN %llu are stored", b->base.id,
                 (unsigned long long)b->base.end_lsn);

    if ((rc = eng_server_backup_stage(b->session, ENG_STAGE_START, err)) != 0)
        goto out;
    b->stage_started = true;
    if ((rc = start_redo(b, err)) != 0)
        goto out;
    if ((rc = eng_discover_innodb(b->session, &b->info, &innodb, err)) != 0)
        goto out;
    IBS_INFO("backup", "copying %zu InnoDB files", innodb.count);
    if ((rc = copy_new_files(b, &innodb, true, err)) != 0 || (rc = check_cancel(b, err)) != 0)
        goto out;

    eng_monitor_end_pacing(&b->monitor);
    if ((rc = eng_server_backup_stage(b->session, ENG_STAGE_FLUSH, err)) != 0 ||
        (rc = eng_server_backup_stage(b->session, ENG_STAGE_BLOCK_DDL, err)) != 0)
        goto out;
    clock_gettime(CLOCK_MONOTONIC, &t_stage);
    /* Under BLOCK_DDL the set of files is stable: pick up what DDL changed. */
    if ((rc = eng_discover_innodb(b->session, &b->info, &innodb_now, err)) != 0)
        goto out;
    forget_dropped(b, &innodb_now);
    if ((rc = copy_new_files(b, &innodb_now, true, err)) != 0)
        goto out;
    if ((rc = eng_discover_other(&b->info, &other, err)) != 0)
        goto out;
    if (b->have_base && (rc = reference_unchanged(b, &other, err)) != 0)
        goto out;
    if ((rc = copy_new_files(b, &other, false, err)) != 0 || (rc = check_cancel(b, err)) != 0)
        goto out;
    IBS_INFO("backup", "BLOCK_DDL held for %.2f s", elapsed_s(&t_stage));

    if ((rc = eng_server_backup_stage(b->session, ENG_STAGE_BLOCK_COMMIT, err)) != 0)
        goto out;
    clock_gettime(CLOCK_MONOTONIC, &t_stage);
    uint64_t target = 0;
    rc = take_end_position(b, &target, err);
    IBS_INFO("backup", "BLOCK_COMMIT held for %.2f s", elapsed_s(&t_stage));
    if (rc)
        goto out;
    rc = eng_server_backup_stage(b->session, ENG_STAGE_END, err);
    b->stage_started = false;
    if (rc || (rc = wait_for_redo(b, target, err)) != 0 || (rc = check_cancel(b, err)) != 0)
        goto out;

    b->m.end_time = time(NULL);
    b->m.duration_ms = (uint64_t)(elapsed_s(&t0) * 1000);
    b->m.bytes_read = atomic_load(&b->stats.bytes_read);
    uint64_t redo_stored = 0;
    for (size_t i = 0; i < b->m.redo_pack_count; i++)
        redo_stored += b->m.redo_packs[i].size;
    b->m.bytes_stored = atomic_load(&b->stats.bytes_stored) + redo_stored;
    rc = commit_manifest(b, err);
    if (rc)
        goto out;

    res->bytes_read = b->m.bytes_read;
    res->bytes_stored = b->m.bytes_stored;
    res->redo_bytes = b->m.end_lsn - b->m.checkpoint_lsn;
    res->data_stored = atomic_load(&b->stats.bytes_stored);
    res->duration_ms = b->m.duration_ms;
    res->checkpoint_lsn = b->m.checkpoint_lsn;
    res->end_lsn = b->m.end_lsn;
    res->files = (unsigned)b->m.file_count;
    res->incremental = b->have_base;
    res->chain_length = b->have_base ? b->chain_length : 1;
    res->pages_scanned = atomic_load(&b->stats.pages_scanned);
    res->pages_stored = atomic_load(&b->stats.pages_stored);
    if (b->have_base)
        snprintf(res->parent, sizeof(res->parent), "%s", b->base.id);
    if (b->m.binlog_enabled) {
        snprintf(res->binlog_file, sizeof(res->binlog_file), "%s", b->m.binlog_file);
        res->binlog_pos = b->m.binlog_pos;
        snprintf(res->gtid, sizeof(res->gtid), "%s", b->m.gtid ? b->m.gtid : "");
    }
out:
    eng_file_list_free(&innodb);
    eng_file_list_free(&innodb_now);
    eng_file_list_free(&other);
    return rc;
}

int eng_backup_run(const struct eng_backup_opts *opts, struct eng_backup_result *result,
                   struct ibs_err *err)
{
    struct backup b;
    memset(&b, 0, sizeof(b));
    memset(result, 0, sizeof(*result));
    b.opts = opts;
    eng_manifest_init(&b.m);

    /* Nothing is written before the repository lock is ours (confirmed). */
    struct eng_lock *lock = NULL;
    int rc = eng_lock_take_configured(opts->store, &lock, err);
    b.lock = lock;
    if (!rc)
        rc = run(&b, result, err);

    struct ibs_err cleanup_err;
    if (b.monitor.running) {
        int mrc = eng_monitor_stop(&b.monitor, &cleanup_err);
        if (mrc && rc)
            *err = cleanup_err; /* the overwritten log is the cause, not the cancel it caused */
    }
    if (rc) {
        atomic_store(opts->cancel, true);
        eng_redo_tail_abort(b.tail);
        eng_pack_writer_abort(b.packs);
        remove_partial(&b);
    }
    if (b.stage_started && eng_server_backup_stage(b.session, ENG_STAGE_END, &cleanup_err) != 0)
        IBS_WARN("backup", "BACKUP STAGE END failed: %s", cleanup_err.msg);
    io_throttle_free(b.throttle);
    eng_server_close(b.watch);
    eng_server_close(b.session);
    eng_manifest_free(&b.m);
    eng_crypt_key_clear(&b.data_key);
    eng_manifest_free(&b.base);
    if (!rc)
        eng_ops_note_bytes(result->bytes_read, result->bytes_stored);
    if (eng_lock_release(lock, &cleanup_err) != 0)
        IBS_WARN("backup", "releasing the repository lock: %s", cleanup_err.msg);
    return rc;
}
