/* The page copier (see copier.h). */
#include "engine/copier.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "engine/crypt.h"
#include "engine/frame.h"
#include "io/codec.h"
#include "io/ring.h"
#include "io/throttle.h"
#include "redo/fsp.h"
#include "redo/page.h"

#define DIRECT_ALIGN 4096

struct copy_run {
    const struct eng_copy_opts *opts;
    struct eng_copy_job *jobs;
    size_t n;
    _Atomic size_t next_job;
    struct eng_copy_stats *stats;
    pthread_mutex_t lock; /* guards failure */
    struct ibs_err failure;
};

struct worker {
    struct copy_run *run;
    struct io_ring *ring;
    struct io_codec *codec;
    uint8_t **bufs;   /* queue_depth chunk buffers, aligned for O_DIRECT */
    uint8_t *frame;   /* one encoded frame */
    size_t frame_cap;
    uint8_t *reread;  /* one page, for re-reads */
    uint8_t *pages;   /* an incremental's page frame being assembled */
    size_t pages_cap;
    uint32_t *page_nos;
    size_t pages_len;
    uint32_t npages;
};

/* What one file's copy needs to know about its pages. */
struct file_plan {
    const struct eng_copy_job *job;
    int fd_direct;    /* for the chunk reads */
    int fd_plain;     /* for page re-reads of any size and alignment */
    bool direct;
    uint64_t limit;   /* bytes to read: the file, or up to the free limit */
    uint32_t page_size; /* 0: not validated page by page */
    uint32_t flags;
};

static void fail_run(struct copy_run *run, const struct ibs_err *err)
{
    pthread_mutex_lock(&run->lock);
    if (!run->failure.code)
        run->failure = *err;
    pthread_mutex_unlock(&run->lock);
    atomic_store(run->opts->cancel, true);
}

static bool all_zero(const uint8_t *p, size_t len)
{
    return len == 0 || (p[0] == 0 && memcmp(p, p + 1, len - 1) == 0);
}

/* Re-reads a page that failed validation until it passes: the server may have
 * been writing it. Gives up after page_retries attempts. */
static int reread_page(struct worker *w, const struct file_plan *fp, uint8_t *page,
                       uint64_t file_offset, uint32_t page_no,
                       const struct redo_page_verdict *first, struct ibs_err *err)
{
    struct redo_page_verdict v = *first;
    unsigned retries = w->run->opts->page_retries;
    for (unsigned attempt = 1; attempt <= retries; attempt++) {
        struct timespec pause = {0, 1000000L * attempt}; /* 1 ms, 2 ms, ... */
        nanosleep(&pause, NULL);
        ssize_t got = pread(fp->fd_plain, w->reread, fp->page_size, (off_t)file_offset);
        atomic_fetch_add(&w->run->stats->pages_reread, 1);
        if (got != (ssize_t)fp->page_size)
            break; /* the file shrank under us: report the first verdict */
        redo_page_validate(w->reread, fp->page_size, fp->flags, page_no, &v);
        if (v.ok) {
            memcpy(page, w->reread, fp->page_size);
            return 0;
        }
    }
    char why[160];
    redo_page_verdict_str(&v, why, sizeof(why));
    return ibs_err_set(err, IBS_E_INTEGRITY,
                       "%s page %u: %s after %u re-reads; the page is corrupt on disk "
                       "(run CHECK TABLE, or restore this table from an older backup)",
                       fp->job->path, page_no, why, retries);
}

static int validate_chunk(struct worker *w, const struct file_plan *fp, uint8_t *chunk,
                          size_t len, uint64_t offset, struct ibs_err *err)
{
    for (size_t at = 0; at + fp->page_size <= len; at += fp->page_size) {
        uint32_t page_no = fp->job->first_page_no + (uint32_t)((offset + at) / fp->page_size);
        struct redo_page_verdict v;
        if (redo_fsp_is_doublewrite(fp->job->mf->space_id, page_no, fp->flags))
            continue;
        redo_page_validate(chunk + at, fp->page_size, fp->flags, page_no, &v);
        if (!v.ok) {
            int rc = reread_page(w, fp, chunk + at, offset + at, page_no, &v, err);
            if (rc)
                return rc;
        }
    }
    return 0;
}

/* Encodes raw as one frame, appends it to the packs and records it in the
 * file's frame list; pages (owned by the list afterwards) for page frames. */
static int emit_frame(struct worker *w, const struct file_plan *fp, enum eng_frame_kind kind,
                      const uint8_t *raw, size_t len, uint64_t offset, uint32_t *pages,
                      uint32_t npages, struct ibs_err *err)
{
    struct eng_frame_header h = {.kind = kind,
                                 .file_id = fp->job->file_id,
                                 .offset = offset,
                                 .page_size = fp->page_size};
    size_t frame_len;
    struct eng_frame_loc loc;
    int rc = eng_crypt_frame_encode(w->codec, w->run->opts->key, &h, raw, len, w->frame,
                                    w->frame_cap, &frame_len, err);
    if (!rc)
        rc = eng_pack_append(w->run->opts->packs, w->frame, frame_len, &loc, err);
    if (rc) {
        free(pages);
        return rc;
    }
    struct eng_frame_ref ref = {.pack = loc.pack,
                                .pack_offset = loc.offset,
                                .frame_len = (uint32_t)frame_len,
                                .offset = offset,
                                .raw_len = (uint32_t)len,
                                .xxh3 = h.xxh3,
                                .pages = pages,
                                .npages = npages};
    atomic_fetch_add(&w->run->stats->bytes_stored, frame_len);
    rc = eng_frame_list_add(&fp->job->mf->frames, &ref, err);
    if (rc)
        free(pages);
    return rc;
}

static int flush_pages(struct worker *w, const struct file_plan *fp, uint64_t offset,
                       struct ibs_err *err)
{
    if (w->npages == 0)
        return 0;
    uint32_t *pages = malloc(w->npages * sizeof(*pages));
    if (!pages)
        return ibs_err_set(err, IBS_E_INTERNAL, "out of memory");
    memcpy(pages, w->page_nos, w->npages * sizeof(*pages));
    int rc = emit_frame(w, fp, ENG_FRAME_PAGES, w->pages, w->pages_len, offset, pages,
                        w->npages, err);
    w->pages_len = 0;
    w->npages = 0;
    return rc;
}

/* An incremental keeps the pages changed since its base. A page whose header
 * LSN is not newer is skipped unchecked: even if the read was torn, its first
 * bytes (and LSN) are those of the version on disk at the checkpoint, which
 * the base already holds, and the incremental's redo carries every later
 * change. A page that is newer is validated (and re-read) like any other. */
static int store_changed_pages(struct worker *w, const struct file_plan *fp, uint8_t *chunk,
                               size_t len, uint64_t offset, struct ibs_err *err)
{
    uint64_t threshold = w->run->opts->incremental_lsn;
    const size_t entry = 4 + fp->page_size;
    for (size_t at = 0; at + fp->page_size <= len; at += fp->page_size) {
        uint8_t *page = chunk + at;
        uint32_t page_no = fp->job->first_page_no + (uint32_t)((offset + at) / fp->page_size);
        atomic_fetch_add(&w->run->stats->pages_scanned, 1);
        fp->job->mf->pages_scanned++;
        if (redo_page_get_lsn(page) <= threshold)
            continue;
        struct redo_page_verdict v;
        if (!redo_fsp_is_doublewrite(fp->job->mf->space_id, page_no, fp->flags)) {
            redo_page_validate(page, fp->page_size, fp->flags, page_no, &v);
            if (!v.ok) {
                int rc = reread_page(w, fp, page, offset + at, page_no, &v, err);
                if (rc)
                    return rc;
            }
        }
        if (w->pages_len + entry > w->pages_cap || w->npages == ENG_FRAME_PAGES_MAX) {
            int rc = flush_pages(w, fp, offset, err);
            if (rc)
                return rc;
        }
        /* Numbered within the file (ibdata2 starts again at 0), like the offsets. */
        uint32_t index = (uint32_t)((offset + at) / fp->page_size);
        redo_put_be32(w->pages + w->pages_len, index);
        memcpy(w->pages + w->pages_len + 4, page, fp->page_size);
        w->pages_len += entry;
        w->page_nos[w->npages++] = index;
        fp->job->mf->pages_copied++;
        atomic_fetch_add(&w->run->stats->pages_stored, 1);
    }
    return flush_pages(w, fp, offset, err);
}

static int store_chunk(struct worker *w, const struct file_plan *fp, uint8_t *chunk, size_t len,
                       uint64_t offset, struct ibs_err *err)
{
    struct eng_mfile *mf = fp->job->mf;
    int rc;

    if (fp->page_size && w->run->opts->incremental_lsn)
        return store_changed_pages(w, fp, chunk, len, offset, err);
    if (fp->page_size && (rc = validate_chunk(w, fp, chunk, len, offset, err)) != 0)
        return rc;
    if (fp->page_size) {
        for (size_t at = 0; at + fp->page_size <= len; at += fp->page_size)
            mf->pages_copied += !all_zero(chunk + at, fp->page_size);
        mf->pages_scanned += len / fp->page_size;
        atomic_fetch_add(&w->run->stats->pages_scanned, len / fp->page_size);
    }
    /* A chunk of zeros is a hole in the restored file: nothing to store. */
    if (all_zero(chunk, len))
        return 0;
    return emit_frame(w, fp, ENG_FRAME_FILE, chunk, len, offset, NULL, 0, err);
}

/* Learns page size, flags and the free limit from page 0 of an InnoDB file. */
static int plan_innodb(struct file_plan *fp, uint64_t file_size, struct ibs_err *err)
{
    const struct eng_copy_job *job = fp->job;
    struct eng_mfile *mf = job->mf;
    if (!job->tablespace_head) {
        fp->page_size = job->page_size;
        fp->flags = mf->fsp_flags;
        mf->page_size = job->page_size;
        return 0;
    }
    uint8_t *page0 = malloc(65536);
    if (!page0)
        return ibs_err_set(err, IBS_E_INTERNAL, "out of memory");
    ssize_t got = pread(fp->fd_plain, page0, 65536, 0);
    int rc = 0;
    if (got < 0) {
        rc = ibs_err_sys(err, IBS_E_IO, errno, "read %s", job->path);
        goto out;
    }
    if (got < 4096 || all_zero(page0, 4096)) {
        /* Being created right now: every page of it is in the redo log after our
         * checkpoint (FILE_CREATE, INIT_PAGE), so copy the bytes as they are. */
        IBS_DEBUG("copy", "%s: page 0 not written yet; copied without page checks", job->path);
        goto out;
    }
    struct redo_fsp_info info;
    rc = redo_fsp_read_page0(page0, (size_t)got, file_size, &info, err);
    if (rc) {
        ibs_err_wrap(err, "%s", job->path);
        goto out;
    }
    fp->page_size = info.physical_size;
    fp->flags = info.flags;
    mf->page_size = info.physical_size;
    mf->fsp_flags = info.flags;
    mf->space_id = info.space_id;
    /* Pages at or beyond FSP_FREE_LIMIT were never initialised; pages allocated
     * there later are rebuilt from the redo log (INIT_PAGE). */
    uint64_t used = (uint64_t)info.free_limit * info.physical_size;
    if (info.free_limit > 0 && used < fp->limit)
        fp->limit = used;
out:
    free(page0);
    return rc;
}

static int copy_one(struct worker *w, struct eng_copy_job *job)
{
    const struct eng_copy_opts *opts = w->run->opts;
    struct eng_copy_stats *stats = w->run->stats;
    struct file_plan fp = {.job = job, .fd_direct = -1, .fd_plain = -1};
    struct ibs_err err;
    struct stat st;
    int rc = 0;

    fp.fd_plain = open(job->path, O_RDONLY | O_CLOEXEC);
    if (fp.fd_plain < 0) {
        if (errno == ENOENT) {
            IBS_INFO("copy", "%s: dropped during the backup", job->path);
            return 0;
        }
        rc = ibs_err_sys(&err, IBS_E_IO, errno,
                         "open %s (run ibstream as the server's OS user or a member of its "
                         "group)",
                         job->path);
        goto out;
    }
    if (fstat(fp.fd_plain, &st) != 0) {
        rc = ibs_err_sys(&err, IBS_E_IO, errno, "stat %s", job->path);
        goto out;
    }
    job->mf->size = (uint64_t)st.st_size;
    job->mf->mtime = st.st_mtime;
    job->mf->mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
    fp.limit = (uint64_t)st.st_size;
    if (job->innodb && (rc = plan_innodb(&fp, (uint64_t)st.st_size, &err)) != 0)
        goto out;
    fp.fd_direct = io_file_open_direct(job->path, O_RDONLY, &fp.direct, &err);
    if (fp.fd_direct < 0) {
        rc = err.code;
        goto out;
    }

    uint64_t next = 0;
    unsigned inflight = 0;
    unsigned free_top = 0;
    uint8_t **idle = calloc(opts->queue_depth, sizeof(*idle));
    if (!idle) {
        rc = ibs_err_set(&err, IBS_E_INTERNAL, "out of memory");
        goto out;
    }
    for (unsigned i = 0; i < opts->queue_depth; i++)
        idle[free_top++] = w->bufs[i];

    while (next < fp.limit || inflight > 0) {
        while (next < fp.limit && free_top > 0 && !atomic_load(opts->cancel)) {
            uint64_t len = fp.limit - next < opts->chunk_size ? fp.limit - next : opts->chunk_size;
            uint64_t aligned = (len + DIRECT_ALIGN - 1) & ~(uint64_t)(DIRECT_ALIGN - 1);
            if (opts->throttle)
                io_throttle_take(opts->throttle, len);
            rc = io_ring_read(w->ring, fp.fd_direct, idle[--free_top], aligned, next, len, &err);
            if (rc)
                goto out_idle;
            next += len;
            inflight++;
        }
        if (inflight == 0)
            break; /* cancelled */
        if ((rc = io_ring_submit(w->ring, &err)) != 0)
            goto out_idle;
        struct io_completion done[16];
        unsigned got = 0;
        rc = io_ring_reap(w->ring, done, 16, 1, &got, &err);
        if (rc)
            goto out_idle;
        for (unsigned i = 0; i < got; i++) {
            struct io_completion *c = &done[i];
            inflight--;
            idle[free_top++] = c->buf;
            if (c->error) {
                rc = ibs_err_sys(&err, IBS_E_IO, c->error, "read %s at offset %llu", job->path,
                                 (unsigned long long)c->offset);
                goto out_idle;
            }
            size_t len = c->done < c->tag ? c->done : (size_t)c->tag; /* tag = wanted bytes */
            atomic_fetch_add(&stats->bytes_read, len);
            if (rc == 0 && !atomic_load(opts->cancel))
                rc = store_chunk(w, &fp, c->buf, len, c->offset, &err);
            if (rc)
                goto out_idle;
        }
    }
    if (atomic_load(opts->cancel) && rc == 0) {
        rc = ibs_err_set(&err, IBS_E_INTERRUPTED, "copy of %s cancelled", job->path);
    }
out_idle:
    /* Drain reads still in flight before their buffers can be reused or freed. */
    while (inflight > 0) {
        struct io_completion done[16];
        unsigned got = 0;
        struct ibs_err ignored;
        if (io_ring_reap(w->ring, done, 16, 1, &got, &ignored) != 0)
            break;
        inflight -= got;
    }
    free(idle);
out:
    if (fp.fd_direct >= 0)
        close(fp.fd_direct);
    if (fp.fd_plain >= 0)
        close(fp.fd_plain);
    if (rc) {
        /* Another worker's failure stops this one: report only the first cause. */
        if (rc != IBS_E_INTERRUPTED || !w->run->failure.code)
            fail_run(w->run, &err);
        return rc;
    }
    atomic_fetch_add(&stats->files_done, 1);
    return 0;
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct copy_run *run = w->run;
    for (;;) {
        size_t i = atomic_fetch_add(&run->next_job, 1);
        if (i >= run->n || atomic_load(run->opts->cancel))
            break;
        if (copy_one(w, &run->jobs[i]) != 0)
            break;
    }
    return NULL;
}

static void worker_free(struct worker *w, unsigned queue_depth)
{
    if (w->bufs)
        for (unsigned i = 0; i < queue_depth; i++)
            free(w->bufs[i]);
    free(w->bufs);
    free(w->frame);
    free(w->reread);
    free(w->pages);
    free(w->page_nos);
    io_codec_free(w->codec);
    io_ring_free(w->ring);
}

static int worker_init(struct worker *w, struct copy_run *run, struct ibs_err *err)
{
    const struct eng_copy_opts *opts = run->opts;
    memset(w, 0, sizeof(*w));
    w->run = run;
    if (!(w->ring = io_ring_new(opts->queue_depth, err)))
        return err->code;
    if (!(w->codec = io_codec_new(opts->compress_level, err)))
        return err->code;
    w->bufs = calloc(opts->queue_depth, sizeof(*w->bufs));
    /* A page frame holds at most one chunk's pages, each with a 4-byte number
     * (1 KiB pages at the smallest: chunk / 256 more bytes). */
    w->pages_cap = opts->chunk_size + opts->chunk_size / 256;
    if (w->pages_cap > ENG_FRAME_MAX_RAW)
        w->pages_cap = ENG_FRAME_MAX_RAW;
    w->frame_cap = eng_frame_bound(opts->incremental_lsn ? w->pages_cap : opts->chunk_size);
    w->frame = malloc(w->frame_cap);
    if (opts->incremental_lsn) {
        w->pages = malloc(w->pages_cap);
        w->page_nos = malloc(ENG_FRAME_PAGES_MAX * sizeof(*w->page_nos));
        if (!w->pages || !w->page_nos)
            return ibs_err_set(err, IBS_E_INTERNAL, "out of memory");
    }
    if (!w->bufs || !w->frame || posix_memalign((void **)&w->reread, DIRECT_ALIGN, 65536) != 0)
        return ibs_err_set(err, IBS_E_INTERNAL, "out of memory");
    for (unsigned i = 0; i < opts->queue_depth; i++)
        if (posix_memalign((void **)&w->bufs[i], DIRECT_ALIGN, opts->chunk_size) != 0)
            return ibs_err_set(err, IBS_E_INTERNAL, "out of memory for read buffers");
    return 0;
}

int eng_copy_files(const struct eng_copy_opts *opts, struct eng_copy_job *jobs, size_t n,
                   struct eng_copy_stats *stats, struct ibs_err *err)
{
    struct copy_run run = {.opts = opts, .jobs = jobs, .n = n, .stats = stats};
    unsigned count = opts->parallel ? opts->parallel : 1;
    struct worker *workers = calloc(count, sizeof(*workers));
    pthread_t *threads = calloc(count, sizeof(*threads));
    unsigned started = 0;
    int rc = 0;

    if (opts->chunk_size == 0 || opts->chunk_size % 65536 != 0 ||
        opts->chunk_size > ENG_FRAME_MAX_RAW)
        return ibs_err_set(err, IBS_E_USAGE, "chunk size must be a multiple of 64K up to 16M");
    if (!workers || !threads) {
        free(workers);
        free(threads);
        return ibs_err_set(err, IBS_E_INTERNAL, "out of memory");
    }
    atomic_init(&run.next_job, 0);
    pthread_mutex_init(&run.lock, NULL);
    ibs_err_clear(&run.failure);

    for (unsigned i = 0; i < count; i++) {
        rc = worker_init(&workers[i], &run, err);
        if (rc)
            goto out;
    }
    for (; started < count; started++) {
        if (pthread_create(&threads[started], NULL, worker_main, &workers[started]) != 0) {
            rc = ibs_err_set(err, IBS_E_INTERNAL, "cannot start copier thread");
            atomic_store(opts->cancel, true);
            break;
        }
    }
out:
    for (unsigned i = 0; i < started; i++)
        pthread_join(threads[i], NULL);
    for (unsigned i = 0; i < count; i++)
        worker_free(&workers[i], opts->queue_depth);
    if (!rc && run.failure.code) {
        *err = run.failure;
        rc = err->code;
    }
    pthread_mutex_destroy(&run.lock);
    free(workers);
    free(threads);
    return rc;
}
