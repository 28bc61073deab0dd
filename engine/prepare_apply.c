/* Applying a batch of pages on several threads (see prepare_apply.h). */
#include "engine/prepare_apply.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "engine/prepare_inflate.h"
#include "redo/apply.h"
#include "redo/fsp.h"
#include "redo/page.h"

/* Pages a worker takes at a time: long enough runs of neighbouring pages for
 * the disk, short enough to share the end of a batch. */
#define RUN_PAGES 32
/* Pages are read one at a time (pread): the kernel is asked to start reading
 * the pages PREFETCH_RUNS runs ahead meanwhile, so that the reads of a cold
 * data directory overlap instead of waiting one 16 KiB read after another. */
#define PREFETCH_RUNS 8
#define MAX_THREADS 8

struct applier {
    const struct prep_batch *b;
    /* Runs are handed out in order; the run counter needs no lock. */
    atomic_size_t next_run;
    /* Lowest index of a failed page so far (SIZE_MAX: none): workers stop
     * before pages after it. */
    atomic_size_t failed_at;
};

struct worker {
    struct applier *a;
    pthread_t thread;
    uint8_t *page; /* this worker's page buffer, up to 64 KiB */
    struct prep_file *last; /* the file of the previous page: most pages share it */
    /* Pages written and not yet handed to writeback: one range of one file. */
    struct prep_file *wb_file;
    off_t wb_from, wb_to;
    struct eng_prepare_result res;
    size_t err_at; /* index of the page err is about, SIZE_MAX if none */
    struct ibs_err err;
    int rc;
};

bool prep_flags_from_log(const struct redo_space_info *info, size_t n, uint32_t space_id,
                         uint32_t *flags)
{
    for (size_t i = 0; i < n; i++)
        if (info[i].space_id == space_id && info[i].has_flags) {
            *flags = info[i].flags;
            return true;
        }
    return false;
}

static struct prep_file *find_file(struct worker *w, uint32_t space_id, uint32_t page_no)
{
    struct prep_file *f = w->last;
    if (f && f->space_known && f->space_id == space_id && f->fd >= 0 &&
        page_no >= f->first_page && (f->pages == 0 || page_no < f->first_page + f->pages))
        return f;
    f = prep_spaces_find(w->a->b->spaces, space_id, page_no);
    if (f)
        w->last = f;
    return f;
}

static void prefetch_page(struct worker *w, const struct redo_recv_page *pg)
{
    if (pg->init)
        return;
    struct prep_file *f = find_file(w, pg->space_id, pg->page_no);
    if (f && f->page_size)
        (void)posix_fadvise(f->fd, (off_t)(pg->page_no - f->first_page) * f->page_size,
                            f->page_size, POSIX_FADV_WILLNEED);
}

/* Starts writing back the pages written so far (sync_file_range(), which
 * does not wait), so that the disk writes them while pages are applied rather
 * than all in the final fsync. */
static void writeback_start(struct worker *w)
{
    if (w->wb_file && w->wb_to > w->wb_from && w->wb_file->fd >= 0)
        (void)sync_file_range(w->wb_file->fd, w->wb_from, w->wb_to - w->wb_from,
                              SYNC_FILE_RANGE_WRITE);
    w->wb_file = NULL;
}

static void writeback_note(struct worker *w, struct prep_file *f, uint32_t page_no)
{
    off_t at = (off_t)(page_no - f->first_page) * f->page_size;
    if (w->wb_file != f || at != w->wb_to) {
        writeback_start(w);
        w->wb_file = f;
        w->wb_from = at;
    }
    w->wb_to = at + f->page_size;
}

static int apply_one(struct worker *w, const struct redo_recv_page *pg, struct ibs_err *err)
{
    const struct prep_batch *b = w->a->b;
    struct eng_prepare_result *res = &w->res;
    int rc;

    if (b->opts->skip && b->opts->skip(b->opts->skip_ctx, pg->space_id, pg->page_no)) {
        res->pages_superseded++;
        return 0;
    }
    /* A later batch initialises or frees this page: these records are moot. */
    if (b->inits && pg->tail &&
        prep_inits_last(b->inits, pg->space_id, pg->page_no) >= pg->end_lsn) {
        res->pages_skipped++;
        return 0;
    }
    struct prep_file *f = find_file(w, pg->space_id, pg->page_no);
    if (!f) {
        /* A tablespace dropped before the end of the backup, as mariabackup's
         * "All redo log for this file will be ignored". */
        res->pages_unknown++;
        return 0;
    }
    uint32_t flags = f->flags;
    if (!f->space_known || (pg->page_no == 0 && flags == 0))
        prep_flags_from_log(b->space_info, b->n_space_info, pg->space_id, &flags);
    if (pg->init)
        memset(w->page, 0, f->page_size);
    else if ((rc = prep_read_page(f, pg->page_no, w->page, err)) != 0 ||
             (rc = prep_inflate_page(w->page, f->page_size, flags, f->name, pg->page_no, err)) !=
                 0)
        return rc;
    struct redo_apply_result ar;
    rc = redo_apply_page(pg, w->page, f->page_size, flags, &ar, err);
    if (rc)
        return ibs_err_wrap(err, "%s page %u", f->name, pg->page_no);
    if (ar.outcome == REDO_APPLY_WRITE) {
        if ((rc = prep_write_page(f, pg->page_no, w->page, err)) != 0)
            return rc;
        writeback_note(w, f, pg->page_no);
        res->pages_applied++;
        /* Only pages 0 get here while other pages may run (they are applied
         * first, alone), so no other worker reads these flags meanwhile. */
        if (pg->page_no == 0 && f->flags == 0)
            f->flags = redo_be32(w->page + FSP_HEADER_OFFSET + FSP_SPACE_FLAGS);
    } else if (ar.outcome == REDO_APPLY_FREED && redo_fsp_flags_page_compressed(flags)) {
        /* Recovery punches a hole for a page freed in a page_compressed
         * tablespace (buf_flush_freed_page()), as the server does. */
        if ((rc = prep_punch_page(f, pg->page_no, err)) != 0)
            return rc;
        res->pages_skipped++;
    } else {
        res->pages_skipped++;
    }
    return 0;
}

/* Applies pages [from, to) of the batch; records the first failure. */
static bool apply_range(struct worker *w, size_t from, size_t to, bool page0)
{
    struct redo_recv_page *const *pages = w->a->b->pages;
    for (size_t i = from; i < to; i++) {
        if ((pages[i]->page_no == 0) != page0)
            continue;
        if (i > atomic_load(&w->a->failed_at))
            return false;
        struct ibs_err err;
        int rc = apply_one(w, pages[i], &err);
        if (!rc)
            continue;
        if (i < w->err_at) {
            w->err_at = i;
            w->err = err;
            w->rc = rc;
        }
        size_t seen = atomic_load(&w->a->failed_at);
        while (i < seen && !atomic_compare_exchange_weak(&w->a->failed_at, &seen, i))
            ;
        return false;
    }
    return true;
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct applier *a = w->a;
    const size_t n = a->b->n_pages, runs = (n + RUN_PAGES - 1) / RUN_PAGES;
    for (;;) {
        size_t run = atomic_fetch_add(&a->next_run, 1);
        if (run >= runs)
            break;
        /* Run `run` asks for run + PREFETCH_RUNS; the first runs were asked for
         * before the workers started. */
        size_t ahead = run + PREFETCH_RUNS;
        for (size_t i = ahead * RUN_PAGES; i < n && i < (ahead + 1) * RUN_PAGES; i++)
            if (a->b->pages[i]->page_no != 0)
                prefetch_page(w, a->b->pages[i]);
        size_t to = (run + 1) * RUN_PAGES < n ? (run + 1) * RUN_PAGES : n;
        if (!apply_range(w, run * RUN_PAGES, to, false))
            break;
    }
    writeback_start(w);
    return NULL;
}

int prep_apply_batch(const struct prep_batch *b, struct eng_prepare_result *res,
                     struct ibs_err *err)
{
    struct applier a = {.b = b};
    struct worker w[MAX_THREADS];
    unsigned threads = b->threads < 1 ? 1 : b->threads > MAX_THREADS ? MAX_THREADS : b->threads;
    unsigned started = 0;
    int rc = 0;

    if ((size_t)threads * RUN_PAGES > b->n_pages)
        threads = 1; /* a small batch: not worth a thread */
    atomic_init(&a.next_run, 0);
    atomic_init(&a.failed_at, SIZE_MAX);
    memset(w, 0, sizeof(w));
    for (unsigned t = 0; t < threads; t++) {
        w[t].a = &a;
        w[t].err_at = SIZE_MAX;
        w[t].page = aligned_alloc(4096, 65536);
        if (!w[t].page) {
            rc = ibs_err_set(err, IBS_E_INTERNAL, "out of memory");
            goto out;
        }
    }
    /* Pages 0 first, on this thread (see prepare_apply.h). */
    if (!apply_range(&w[0], 0, b->n_pages, true))
        goto collect;
    for (size_t i = 0; i < b->n_pages && i < PREFETCH_RUNS * RUN_PAGES; i++)
        if (b->pages[i]->page_no != 0)
            prefetch_page(&w[0], b->pages[i]);
    for (started = 1; started < threads; started++)
        if (pthread_create(&w[started].thread, NULL, worker_main, &w[started]) != 0)
            break; /* fewer workers: the others still finish the batch */
    worker_main(&w[0]);
    for (unsigned t = 1; t < started; t++)
        pthread_join(w[t].thread, NULL);
collect:
    for (unsigned t = 0; t < threads; t++) {
        res->pages_applied += w[t].res.pages_applied;
        res->pages_skipped += w[t].res.pages_skipped;
        res->pages_unknown += w[t].res.pages_unknown;
        res->pages_superseded += w[t].res.pages_superseded;
    }
    size_t first = SIZE_MAX;
    for (unsigned t = 0; t < threads; t++)
        if (w[t].err_at < first) {
            first = w[t].err_at;
            *err = w[t].err;
            rc = w[t].rc;
        }
out:
    for (unsigned t = 0; t < threads; t++)
        free(w[t].page);
    return rc;
}

struct prep_apply_job {
    struct prep_batch b;
    struct redo_space_info *space_info; /* b's copy */
    struct eng_prepare_result res;
    struct ibs_err err;
    int rc;
    pthread_t thread;
    bool threaded;
};

static void *job_main(void *arg)
{
    struct prep_apply_job *job = arg;
    job->rc = prep_apply_batch(&job->b, &job->res, &job->err);
    return NULL;
}

int prep_apply_start(const struct prep_batch *b, struct prep_apply_job **job, struct ibs_err *err)
{
    struct prep_apply_job *j = calloc(1, sizeof(*j));
    size_t info_bytes = b->n_space_info * sizeof(*b->space_info);
    if (j && info_bytes && !(j->space_info = malloc(info_bytes))) {
        free(j);
        j = NULL;
    }
    if (!j)
        return ibs_err_set(err, IBS_E_INTERNAL, "out of memory");
    if (info_bytes)
        memcpy(j->space_info, b->space_info, info_bytes);
    j->b = *b;
    j->b.space_info = j->space_info;
    j->threaded = pthread_create(&j->thread, NULL, job_main, j) == 0;
    if (!j->threaded)
        job_main(j);
    *job = j;
    return 0;
}

int prep_apply_wait(struct prep_apply_job *job, struct eng_prepare_result *res, struct ibs_err *err)
{
    if (!job)
        return 0;
    if (job->threaded)
        pthread_join(job->thread, NULL);
    int rc = job->rc;
    if (rc)
        *err = job->err;
    res->pages_applied += job->res.pages_applied;
    res->pages_skipped += job->res.pages_skipped;
    res->pages_unknown += job->res.pages_unknown;
    res->pages_superseded += job->res.pages_superseded;
    free(job->space_info);
    free(job);
    return rc;
}
