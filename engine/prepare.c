/* Prepare: redo apply over a raw backup directory (see prepare.h). */
#include "engine/prepare.h"

#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "engine/prepare_apply.h"
#include "engine/prepare_inits.h"
#include "engine/prepare_spaces.h"
#include "redo/fsp.h"
#include "redo/log.h"
#include "redo/mtr.h"
#include "redo/recv.h"

#define WINDOW (8u << 20)
#define DEFAULT_USE_MEMORY (1ull << 30)

struct preparer {
    const struct eng_prepare_opts *opts;
    struct eng_prepare_result *res;
    struct prep_spaces spaces;
    struct redo_recv *recv;
    uint32_t page_size; /* innodb_page_size */
    unsigned threads;   /* applying a batch: one per core */
    bool names_only;    /* parse_log() pre-scans: file events and inits, applies nothing */
    struct prep_inits *inits; /* last INIT_PAGE/FREE_PAGE per page, from the pre-scan */
    /* The pre-scan, running on its own thread until prescan_finish(). */
    struct preparer *prescan;
    bool prescanned; /* the pre-scan was started (it runs once) */
    /* In the pre-scan's own copy: its thread, result and error. */
    pthread_t prescan_thread;
    bool prescan_joined;
    int prescan_rc;
    struct ibs_err prescan_err;
    struct eng_prepare_result prescan_res;
    double batch_start; /* when the collection of the current batch began */
    /* The batch being applied while the next one is collected, and its
     * records (given back to recv when it is done). */
    struct prep_apply_job *applying;
    struct redo_recv_batch *applying_batch;
    double applying_since;
    /* The log mapped read-only (collector only; NULL: read by windows), the
     * records point into it; the part a batch used is given back to the page
     * cache once the batch is applied. */
    const uint8_t *log_map;
    size_t batch_from, applying_from, applying_to; /* file offsets */
};

/* Drops the mapping's pages of file offsets [from, to) (their records are
 * applied): the page cache keeps the log, but the process no longer counts it. */
static void log_release(const struct preparer *p, size_t from, size_t to)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    from = (from + page - 1) / page * page;
    to = to / page * page;
    if (p->log_map && from < to)
        (void)madvise((void *)(p->log_map + from), to - from, MADV_DONTNEED);
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* ---- metadata files ---- */

struct checkpoints {
    char backup_type[64];
    uint64_t from_lsn, to_lsn, last_lsn;
};

static int read_checkpoints(const char *target, struct checkpoints *cp, struct ibs_err *err)
{
    char path[PATH_MAX], line[256];
    snprintf(path, sizeof(path), "%s/xtrabackup_checkpoints", target);
    FILE *f = fopen(path, "r");
    if (!f)
        return ibs_err_sys(err, errno == ENOENT ? IBS_E_USAGE : IBS_E_IO, errno,
                           "%s: is %s a restored backup (ibstream restore --no-prepare)?", path,
                           target);
    memset(cp, 0, sizeof(*cp));
    while (fgets(line, sizeof(line), f)) {
        unsigned long long v;
        if (sscanf(line, "backup_type = %63s", cp->backup_type) == 1)
            continue;
        if (sscanf(line, "from_lsn = %llu", &v) == 1)
            cp->from_lsn = v;
        else if (sscanf(line, "to_lsn = %llu", &v) == 1)
            cp->to_lsn = v;
        else if (sscanf(line, "last_lsn = %llu", &v) == 1)
            cp->last_lsn = v;
    }
    fclose(f);
    if (!cp->backup_type[0] || !cp->last_lsn)
        return ibs_err_set(err, IBS_E_INTEGRITY, "%s is incomplete", path);
    return 0;
}

static int write_checkpoints(const char *target, const struct checkpoints *cp,
                             struct ibs_err *err)
{
    char path[PATH_MAX], tmp[PATH_MAX + 8];
    snprintf(path, sizeof(path), "%s/xtrabackup_checkpoints", target);
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return ibs_err_sys(err, IBS_E_IO, errno, "create %s", tmp);
    fprintf(f,
            "backup_type = log-applied\nfrom_lsn = %" PRIu64 "\nto_lsn = %" PRIu64
            "\nlast_lsn = %" PRIu64 "\nrecover_binlog_info = 0\n",
            cp->from_lsn, cp->to_lsn, cp->last_lsn);
    if (fflush(f) != 0 || fsync(fileno(f)) != 0) {
        fclose(f);
        return ibs_err_sys(err, IBS_E_IO, errno, "write %s", tmp);
    }
    fclose(f);
    if (rename(tmp, path) != 0)
        return ibs_err_sys(err, IBS_E_IO, errno, "rename %s", tmp);
    return 0;
}

static uint32_t read_page_size(const char *target)
{
    char path[PATH_MAX], line[256];
    unsigned v = 16384;
    snprintf(path, sizeof(path), "%s/backup-my.cnf", target);
    FILE *f = fopen(path, "r");
    if (!f)
        return 16384;
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "innodb_page_size=%u", &v) == 1)
            break;
    fclose(f);
    return v;
}

/* ---- applying a batch ---- */

/* A file whose page 0 was unreadable takes its flags, and with them its page
 * size (ROW_FORMAT=COMPRESSED: 1K..8K), from what the log wrote to page 0. */
static void adopt_log_flags(const struct redo_recv *recv, struct prep_file *f)
{
    size_t n = 0;
    const struct redo_space_info *info = redo_recv_spaces(recv, &n);
    if (!prep_flags_from_log(info, n, f->space_id, &f->flags))
        return;
    unsigned physical = redo_fsp_flags_physical_size(f->flags);
    if (physical)
        f->page_size = physical;
}

/* A tablespace created shortly before or during the backup may have reached
 * the disk as zeros (its pages were still in the buffer pool): its page 0 says
 * nothing, but the log names it (FILE_CREATE, FILE_MODIFY) and rebuilds every
 * page from INIT_PAGE. */
static void resolve_spaces_by_name(struct preparer *p)
{
    size_t n = 0;
    const struct redo_file_event *ev = redo_recv_file_events(p->recv, &n);
    /* The last event that names a file decides, as in prescan_finish(). */
    for (size_t i = n; i-- > 0;) {
        const char *name = ev[i].op == REDO_FILE_OP_RENAME ? ev[i].new_name : ev[i].name;
        if (!name || (ev[i].op != REDO_FILE_OP_CREATE && ev[i].op != REDO_FILE_OP_MODIFY &&
                      ev[i].op != REDO_FILE_OP_RENAME))
            continue;
        struct prep_file *f = prep_spaces_find_name(&p->spaces, name);
        if (f && !f->space_known) {
            f->space_id = ev[i].space_id;
            f->space_known = true;
            adopt_log_flags(p->recv, f);
            IBS_DEBUG("prepare", "%s: space %u named by the log", f->name, f->space_id);
        }
    }
}

static int parse_log(struct preparer *p, const struct checkpoints *cp, struct ibs_err *err);

/* The log is read once before any page is applied, as recovery does
 * (recv_scan_log() without storing, then with), for two things:
 * - which space a file with an unreadable page 0 holds: the last event that
 *   gave its name (FILE_CREATE, FILE_MODIFY, FILE_RENAME to it), since the
 *   backup copied files under their final names and a name can pass through
 *   several spaces during the backup (TRUNCATE renames the old table away and
 *   creates a new one under the name; so does ALTER ... FORCE);
 * - the last INIT_PAGE or FREE_PAGE of every page (prepare_inits.h), so that a
 *   batch skips records a later batch makes pointless.
 * Neither is needed before the first batch is applied, nor at all when the
 * whole log fits in one batch: the collector then sees every event and
 * INIT_PAGE itself. So the pre-scan runs on its own thread while the main one
 * collects the first batch's records as soon as the log looks too large for
 * one batch (prescan_if_batches()), or else once a batch fills up;
 * prescan_finish() waits for it before anything is applied. It works on a copy of the preparer with
 * its own collector, inits and result, and touches nothing the main thread
 * uses until it is joined. */
static void *prescan_main(void *arg)
{
    struct preparer *q = arg;
    q->prescan_rc = parse_log(q, NULL, &q->prescan_err);
    return NULL;
}

static int prescan_start(struct preparer *p, struct ibs_err *err)
{
    struct preparer *q = calloc(1, sizeof(*q));
    if (!q)
        return ibs_err_set(err, IBS_E_INTERNAL, "out of memory");
    *q = *p;
    q->res = &q->prescan_res;
    q->names_only = true;
    q->applying = NULL;
    q->applying_batch = NULL;
    q->log_map = NULL;
    q->recv = redo_recv_new(p->page_size, err);
    q->inits = q->recv ? prep_inits_new(err) : NULL;
    if (!q->inits) {
        redo_recv_free(q->recv);
        free(q);
        return err->code;
    }
    if (pthread_create(&q->prescan_thread, NULL, prescan_main, q) != 0) {
        /* No thread: scan here, before collecting. */
        prescan_main(q);
        q->prescan_joined = true;
    }
    p->prescan = q;
    p->prescanned = true;
    return 0;
}

/* Joins the pre-scan (if started and not joined yet) and takes its results:
 * the inits table and the names of files with an unreadable page 0. */
static int prescan_finish(struct preparer *p, struct ibs_err *err)
{
    struct preparer *q = p->prescan;
    if (!q)
        return 0;
    p->prescan = NULL;
    if (!q->prescan_joined)
        pthread_join(q->prescan_thread, NULL);
    int rc = q->prescan_rc;
    if (rc) {
        *err = q->prescan_err;
        goto out;
    }
    size_t n = 0;
    const struct redo_file_event *ev = redo_recv_file_events(q->recv, &n);
    for (size_t i = 0; i < p->spaces.count; i++) {
        struct prep_file *f = &p->spaces.files[i];
        const struct redo_file_event *last = NULL;
        for (size_t j = 0; !f->space_known && j < n; j++) {
            const char *name = ev[j].op == REDO_FILE_OP_RENAME ? ev[j].new_name : ev[j].name;
            if (name && (ev[j].op == REDO_FILE_OP_CREATE || ev[j].op == REDO_FILE_OP_MODIFY ||
                         ev[j].op == REDO_FILE_OP_RENAME) &&
                prep_spaces_find_name(&p->spaces, name) == f)
                last = &ev[j];
        }
        if (last) {
            f->space_id = last->space_id;
            f->space_known = true;
            adopt_log_flags(q->recv, f);
            IBS_DEBUG("prepare", "%s: space %u named last by the log", f->name, f->space_id);
        }
    }
    p->inits = q->inits;
    q->inits = NULL;
out:
    redo_recv_free(q->recv);
    prep_inits_free(q->inits);
    free(q);
    return rc;
}

/* Waits for the batch being applied, if any, and takes its memory back. */
static int applied_wait(struct preparer *p, struct ibs_err *err)
{
    if (!p->applying)
        return 0;
    double t0 = now_s();
    int rc = prep_apply_wait(p->applying, p->res, err);
    redo_recv_batch_free(p->recv, p->applying_batch);
    log_release(p, p->applying_from, p->applying_to);
    p->applying = NULL;
    p->applying_batch = NULL;
    double t1 = now_s();
    IBS_DEBUG("prepare", "batch %u applied in %.2f s (%.2f s of it waited for)", p->res->batches,
              t1 - p->applying_since, t1 - t0);
    return rc;
}

/* Applies the records collected so far. Batches are applied one after the
 * other (a page's records of one batch before those of the next); all but the
 * last on their own threads while this one collects the next batch, so that
 * reading the log and applying it overlap. Two batches are held at a time:
 * each is at most half of --use-memory. */
static int apply_batch(struct preparer *p, bool last, size_t log_at, struct ibs_err *err)
{
    double t0 = now_s();
    size_t mem = redo_recv_mem_used(p->recv);
    int rc = applied_wait(p, err);
    /* The log was not all collected: this batch needs the pre-scan's
     * knowledge of the rest (see prescan_main()). */
    if (!rc && !last && !p->prescanned)
        rc = prescan_start(p, err);
    if (!rc)
        rc = prescan_finish(p, err);
    if (rc)
        return rc;
    resolve_spaces_by_name(p);
    struct redo_recv_batch *batch;
    struct redo_recv_page *const *pages;
    size_t n = 0, n_info = 0;
    if ((rc = redo_recv_detach(p->recv, &batch, &pages, &n, err)) != 0)
        return rc;
    struct prep_batch b = {.opts = p->opts,
                           .spaces = &p->spaces,
                           .space_info = redo_recv_spaces(p->recv, &n_info),
                           .n_space_info = n_info,
                           .inits = p->inits,
                           .pages = pages,
                           .n_pages = n,
                           .threads = p->threads};
    p->res->batches++;
    double t1 = now_s();
    IBS_DEBUG("prepare",
              "batch %u: %zu pages, %zu MiB of records collected in %.2f s; the batch before "
              "and the pre-scan awaited for %.2f s",
              p->res->batches, n, mem >> 20, t0 - p->batch_start, t1 - t0);
    p->batch_start = t1;
    p->applying_since = t1;
    p->applying_batch = batch;
    p->applying_from = p->batch_from;
    p->applying_to = log_at;
    p->batch_from = log_at;
    if (last) {
        rc = prep_apply_batch(&b, p->res, err);
        redo_recv_batch_free(p->recv, batch);
        p->applying_batch = NULL;
        log_release(p, p->applying_from, p->applying_to);
        IBS_DEBUG("prepare", "batch %u applied in %.2f s", p->res->batches, now_s() - t1);
        return rc;
    }
    if ((rc = prep_apply_start(&b, &p->applying, err)) != 0) {
        redo_recv_batch_free(p->recv, batch);
        p->applying_batch = NULL;
    }
    return rc;
}

/* ---- reading the log ---- */

/* Log read before the collector's memory is extrapolated to the whole log. */
#define PRESCAN_SAMPLE (64u << 20)

/* Starts the pre-scan if the records collected from the first `read` bytes
 * of the log, extrapolated to all `total`, come near a batch's limit: then
 * the log likely takes several batches, and the first one should not wait
 * for a whole pre-scan (see prescan_main()). */
static int prescan_if_batches(struct preparer *p, uint64_t read, uint64_t total,
                              uint64_t batch_limit, struct ibs_err *err)
{
    if (p->prescanned || read < PRESCAN_SAMPLE)
        return 0;
    double whole = (double)redo_recv_mem_used(p->recv) * (double)total / (double)read;
    return whole > 0.75 * (double)batch_limit ? prescan_start(p, err) : 0;
}

static int note_init(void *ctx, uint32_t space_id, uint32_t page_no, uint64_t mtr_lsn,
                     struct ibs_err *err)
{
    return prep_inits_note(ctx, space_id, page_no, mtr_lsn, err);
}

static int parse_log(struct preparer *p, const struct checkpoints *cp, struct ibs_err *err)
{
    char path[PATH_MAX];
    uint8_t head[REDO_LOG_START_OFFSET];
    struct redo_log_header hdr;
    struct redo_checkpoint ckpt;
    struct redo_log_geom geom;
    struct stat st;
    uint8_t *window = NULL, *map = NULL;
    int rc = 0;

    snprintf(path, sizeof(path), "%s/ib_logfile0", p->opts->target);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return ibs_err_sys(err, IBS_E_IO, errno, "open %s", path);
    if (fstat(fd, &st) != 0 || pread(fd, head, sizeof(head), 0) != (ssize_t)sizeof(head)) {
        rc = ibs_err_set(err, IBS_E_REDO, "%s is too short to be a redo log", path);
        goto out;
    }
    if ((rc = redo_log_header_parse(head, sizeof(head), &hdr, err)) != 0 ||
        (rc = redo_log_find_checkpoint(head, sizeof(head), hdr.first_lsn, &ckpt, err)) != 0 ||
        (rc = redo_log_geom_init(&geom, &hdr, (uint64_t)st.st_size, err)) != 0) {
        ibs_err_wrap(err, "%s", path);
        goto out;
    }
    if (!p->names_only) {
        /* The collector keeps the records where they are: in the page cache,
         * mapped, until their batch is applied (no copy, and batches hold
         * only the records' index). The pre-scan keeps nothing and reads. */
        map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
        if (map == MAP_FAILED)
            map = NULL;
        if (map) {
            redo_recv_refer(p->recv);
            p->log_map = map;
            p->batch_from = REDO_LOG_START_OFFSET + (ckpt.checkpoint_lsn - hdr.first_lsn);
        }
    }
    if (!map && !(window = malloc(WINDOW))) {
        rc = ibs_err_set(err, IBS_E_INTERNAL, "out of memory");
        goto out;
    }
    uint64_t lsn = ckpt.checkpoint_lsn;
    uint64_t end = hdr.first_lsn + ((uint64_t)st.st_size - REDO_LOG_START_OFFSET);
    p->res->start_lsn = lsn;
    uint64_t use_memory = p->opts->use_memory ? p->opts->use_memory : DEFAULT_USE_MEMORY;
    while (lsn < end) {
        if (atomic_load(p->opts->cancel)) {
            rc = ibs_err_set(err, IBS_E_INTERRUPTED, "prepare interrupted");
            goto out;
        }
        size_t want = end - lsn < WINDOW ? (size_t)(end - lsn) : WINDOW;
        size_t at = REDO_LOG_START_OFFSET + (size_t)(lsn - hdr.first_lsn);
        const uint8_t *buf = map ? map + at : window;
        if (!map && pread(fd, window, want, (off_t)at) != (ssize_t)want) {
            rc = ibs_err_sys(err, IBS_E_IO, errno, "read %s", path);
            goto out;
        }
        size_t pos = 0;
        while (pos < want) {
            struct redo_mtr m;
            enum redo_mtr_status s = redo_mtr_scan(&geom, buf + pos, want - pos, lsn, &m);
            if (s == REDO_MTR_NEED_MORE && want == WINDOW && pos > 0)
                break; /* continue with the next window at this mtr */
            if (s != REDO_MTR_OK) {
                rc = ibs_err_set(err, IBS_E_REDO,
                                 "the backup's redo log is damaged at LSN %" PRIu64
                                 " (%s); it should run to %" PRIu64,
                                 lsn, s == REDO_MTR_NEED_MORE ? "truncated"
                                                              : redo_mtr_end_reason_name(m.end_reason),
                                 end);
                goto out;
            }
            if (p->names_only) {
                /* The pre-scan stores no page record: one decode, no memory. */
                rc = redo_recv_scan_mtr(p->recv, buf + pos, &m, hdr.format, note_init, p->inits,
                                        err);
                if (rc)
                    goto out;
                pos += m.len;
                lsn += m.len;
                continue;
            }
            if ((rc = redo_recv_add_mtr(p->recv, buf + pos, &m, hdr.format, err)) != 0)
                goto out;
            pos += m.len;
            lsn += m.len;
            p->res->mtrs++;
            if (redo_recv_mem_used(p->recv) > use_memory / 2 &&
                (rc = apply_batch(p, false, at + pos, err)) != 0)
                goto out;
        }
        if (!p->names_only &&
            (rc = prescan_if_batches(p, lsn - ckpt.checkpoint_lsn, end - ckpt.checkpoint_lsn,
                                     use_memory / 2, err)) != 0)
            goto out;
    }
    if (cp && lsn < cp->last_lsn) {
        rc = ibs_err_set(err, IBS_E_REDO,
                         "the backup's redo log ends at LSN %" PRIu64 ", before %" PRIu64, lsn,
                         cp->last_lsn);
        goto out;
    }
    if (p->names_only)
        goto out;
    rc = apply_batch(p, true, REDO_LOG_START_OFFSET + (size_t)(lsn - hdr.first_lsn), err);
    p->res->end_lsn = lsn;
    p->res->log_bytes = lsn - ckpt.checkpoint_lsn;
out:
    if (p->applying) {
        /* Stopped while a batch was being applied: it comes first, being
         * about earlier records. */
        struct ibs_err apply_err;
        int apply_rc = applied_wait(p, &apply_err);
        if (apply_rc) {
            *err = apply_err;
            rc = apply_rc;
        }
    }
    if (map) {
        /* No record points into the log any more: the last batch was applied,
         * or prepare failed and nothing reads them. */
        p->log_map = NULL;
        munmap(map, (size_t)st.st_size);
    }
    free(window);
    close(fd);
    return rc;
}

/* ---- file sizes ---- */

/* A tablespace that grew during the backup was copied at its old size, and the
 * extension may hold no page the log wrote: recovery extends every file to the
 * last FSP_SIZE the log wrote to page 0 (fil_system_t::extend_to_recv_size(),
 * §3.4), or the server would find the file shorter than its FSP header says. */
static int extend_files(struct preparer *p, struct ibs_err *err)
{
    size_t n = 0;
    const struct redo_space_info *info = redo_recv_spaces(p->recv, &n);
    for (size_t i = 0; i < n; i++) {
        if (!info[i].has_size)
            continue;
        struct prep_file *last = NULL;
        for (size_t j = 0; j < p->spaces.count; j++) {
            struct prep_file *f = &p->spaces.files[j];
            if (f->space_known && f->space_id == info[i].space_id && f->fd >= 0 &&
                (!last || f->first_page > last->first_page))
                last = f;
        }
        if (!last || info[i].size <= last->first_page)
            continue;
        off_t want = (off_t)(info[i].size - last->first_page) * last->page_size;
        struct stat st;
        if (fstat(last->fd, &st) != 0)
            return ibs_err_sys(err, IBS_E_IO, errno, "stat %s", last->path);
        if (st.st_size >= want)
            continue;
        IBS_DEBUG("prepare", "%s: extended from %lld to %lld bytes (FSP_SIZE %u in the log)",
                  last->name, (long long)st.st_size, (long long)want, info[i].size);
        if (ftruncate(last->fd, want) != 0)
            return ibs_err_sys(err, errno == ENOSPC ? IBS_E_NOSPACE : IBS_E_IO, errno,
                               "extend %s to %lld bytes", last->path, (long long)want);
    }
    return 0;
}

/* ---- file operations the log recorded ---- */

static int apply_file_events(struct preparer *p, struct ibs_err *err)
{
    size_t n = 0;
    const struct redo_file_event *ev = redo_recv_file_events(p->recv, &n);
    for (size_t i = 0; i < n; i++) {
        const struct redo_file_event *e = &ev[i];
        if (e->op == REDO_FILE_OP_DELETE) {
            struct prep_file *f = e->name ? prep_spaces_find_name(&p->spaces, e->name) : NULL;
            if (f && f->fd >= 0 && f->space_known && f->space_id == e->space_id) {
                IBS_INFO("prepare", "%s: deleted by the log (DROP during the backup)", f->name);
                close(f->fd);
                f->fd = -1;
                if (unlink(f->path) != 0 && errno != ENOENT)
                    return ibs_err_sys(err, IBS_E_IO, errno, "delete %s", f->path);
            }
        } else if (e->op == REDO_FILE_OP_RENAME && e->name && e->new_name) {
            struct prep_file *from = prep_spaces_find_name(&p->spaces, e->name);
            struct prep_file *to = prep_spaces_find_name(&p->spaces, e->new_name);
            /* The backup copied the final names under BLOCK_DDL; only a file still
             * under its old name (and no file at the new one) moves. */
            if (from && !to && from->fd >= 0 && from->space_id == e->space_id) {
                char dest[PATH_MAX];
                const char *rel = e->new_name;
                if (strncmp(rel, "./", 2) == 0)
                    rel += 2;
                snprintf(dest, sizeof(dest), "%s/%s", p->opts->target, rel);
                if (rename(from->path, dest) != 0)
                    return ibs_err_sys(err, IBS_E_IO, errno, "rename %s to %s", from->path, dest);
            }
        } else if (e->op == REDO_FILE_OP_TRUNCATE) {
            struct prep_file *f = prep_spaces_find(&p->spaces, e->space_id, 0);
            if (f && f->fd >= 0 && ftruncate(f->fd, (off_t)e->size * f->page_size) != 0)
                return ibs_err_sys(err, IBS_E_IO, errno, "truncate %s", f->path);
        }
    }
    return 0;
}

static int sync_files(struct preparer *p, struct ibs_err *err)
{
    for (size_t i = 0; i < p->spaces.count; i++) {
        struct prep_file *f = &p->spaces.files[i];
        if (f->fd >= 0 && fsync(f->fd) != 0)
            return ibs_err_sys(err, IBS_E_IO, errno, "fsync %s", f->path);
    }
    return 0;
}

/* The log the server starts from: clean, checkpoint at the end (§5.11). */
static int write_final_log(struct preparer *p, struct ibs_err *err)
{
    char path[PATH_MAX], tmp[PATH_MAX + 8];
    uint8_t file[REDO_PREPARED_LOG_SIZE];
    snprintf(path, sizeof(path), "%s/ib_logfile0", p->opts->target);
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    redo_log_write_prepared(p->res->end_lsn, "Backup ibstream", file);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    if (fd < 0)
        return ibs_err_sys(err, IBS_E_IO, errno, "create %s", tmp);
    if (write(fd, file, sizeof(file)) != (ssize_t)sizeof(file) || fsync(fd) != 0) {
        int e = errno;
        close(fd);
        return ibs_err_sys(err, IBS_E_IO, e, "write %s", tmp);
    }
    close(fd);
    if (rename(tmp, path) != 0)
        return ibs_err_sys(err, IBS_E_IO, errno, "rename %s", tmp);
    return 0;
}

int eng_prepare_run(const struct eng_prepare_opts *opts, struct eng_prepare_result *res,
                    struct ibs_err *err)
{
    struct preparer p;
    struct checkpoints cp;
    struct timespec t0, t1;
    int rc;

    memset(&p, 0, sizeof(p));
    memset(res, 0, sizeof(*res));
    clock_gettime(CLOCK_MONOTONIC, &t0);
    p.opts = opts;
    p.res = res;
    if (opts->intermediate) {
        p.page_size = opts->page_size;
        goto apply;
    }
    if ((rc = read_checkpoints(opts->target, &cp, err)) != 0)
        return rc;
    if (strcmp(cp.backup_type, "log-applied") == 0) {
        res->already_prepared = true;
        res->end_lsn = cp.last_lsn;
        return 0;
    }
    if (strcmp(cp.backup_type, "full-backuped") != 0)
        return ibs_err_set(err, IBS_E_USAGE,
                           "%s holds a '%s' backup: prepare works on a full backup's layout",
                           opts->target, cp.backup_type);
    p.page_size = read_page_size(opts->target);
apply:
    p.recv = redo_recv_new(p.page_size, err);
    if (!p.recv)
        return err->code;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    p.threads = cores > 1 ? (unsigned)cores : 1;
    if ((rc = prep_spaces_scan(opts->target, p.page_size, &p.spaces, err)) != 0)
        goto out;
    p.batch_start = now_s();
    rc = parse_log(&p, opts->intermediate ? NULL : &cp, err);
    if (p.prescan) {
        /* The log was read to its end or failed before the last batch: the
         * pre-scan's error (the same log, from its start) comes first. */
        struct ibs_err scan_err;
        int scan_rc = prescan_finish(&p, &scan_err);
        if (scan_rc) {
            *err = scan_err;
            rc = scan_rc;
        }
    }
    if (rc != 0 ||
        (rc = extend_files(&p, err)) != 0 || (rc = apply_file_events(&p, err)) != 0 || (rc = sync_files(&p, err)) != 0)
        goto out;
    if (opts->intermediate)
        goto out;
    if ((rc = write_final_log(&p, err)) != 0)
        goto out;
    cp.last_lsn = res->end_lsn;
    rc = write_checkpoints(opts->target, &cp, err);
out:
    clock_gettime(CLOCK_MONOTONIC, &t1);
    res->duration_ms =
        (uint64_t)((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000);
    prep_spaces_free(&p.spaces);
    redo_recv_free(p.recv);
    prep_inits_free(p.inits);
    return rc;
}
