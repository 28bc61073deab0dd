/* Verification of stored backups (see verify.h): packs, chain, then every
 * file's frames checked by a few worker threads, each with one frame buffer. */
#include "engine/verify.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "engine/catalog.h"
#include "engine/crypt.h"
#include "engine/frame.h"
#include "engine/manifest.h"
#include "engine/ops.h"
#include "io/codec.h"
#include "redo/fsp.h"
#include "redo/page.h"

struct pack_state {
    bool present;
    uint64_t size;
};

/* One unit of work: a data file of the manifest, or (file NULL) the redo log. */
struct vtask {
    const struct eng_mfile *file;
    uint32_t file_id;
    uint32_t first_page_no; /* ibdata2... continue the page numbers of ibdata1 */
    /* Where the file's frames are: this backup's data packs, or those of an
     * earlier member of the chain (an incremental's unchanged files). */
    const struct eng_pack_ref *packs;
    size_t pack_count;
    const struct pack_state *state;
    bool foreign;
};

/* An earlier member whose data packs hold some of this backup's frames. */
struct vsource {
    struct eng_manifest m;
    struct pack_state *state;
};

struct vrun {
    const struct eng_verify_opts *opts;
    const struct eng_manifest *m;
    struct pack_state *data, *redo;
    struct vtask *tasks;
    size_t task_count;
    struct vsource *sources;
    size_t source_count;

    pthread_mutex_t lock; /* guards everything below */
    size_t next_task;
    struct eng_verify_backup stats;
    char first_problem[IBS_ERR_MSG_MAX];
    struct ibs_err fatal; /* the repository could not be read: stop */
};

struct vworker {
    struct vrun *run;
    struct io_codec *codec;
    uint8_t *frame; /* one frame as stored */
    size_t frame_cap;
    uint8_t *raw; /* its decoded bytes */
    uint64_t frames, pages, bytes;
};

static void problem(struct vrun *run, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void problem(struct vrun *run, const char *fmt, ...)
{
    char what[IBS_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    pthread_mutex_lock(&run->lock);
    if (run->stats.problems++ == 0)
        snprintf(run->first_problem, sizeof(run->first_problem), "%s", what);
    if (run->opts->on_problem)
        run->opts->on_problem(run->opts->ctx, run->m->id, what);
    pthread_mutex_unlock(&run->lock);
}

static void fatal(struct vrun *run, const struct ibs_err *err)
{
    pthread_mutex_lock(&run->lock);
    if (!run->fatal.code)
        run->fatal = *err;
    pthread_mutex_unlock(&run->lock);
}

static bool stopping(struct vrun *run)
{
    pthread_mutex_lock(&run->lock);
    bool stop = run->fatal.code != 0;
    pthread_mutex_unlock(&run->lock);
    return stop || (run->opts->cancel && atomic_load(run->opts->cancel));
}

/* Checks the pages of a decoded data frame; returns false after a problem. */
static bool check_pages(struct vworker *w, const struct vtask *t, const struct eng_frame_ref *ref,
                        const struct eng_frame_header *h, const char *key)
{
    const struct eng_mfile *f = t->file;
    uint32_t ps = f->page_size;
    bool pairs = h->kind == ENG_FRAME_PAGES;
    if (ps == 0)
        return true; /* not an InnoDB file, or one created during the backup */
    if (ps < REDO_PAGE_ZIP_MIN_SIZE || ps > REDO_PAGE_MAX_SIZE) {
        problem(w->run, "file %s: the manifest gives an impossible page size %u", f->name, ps);
        return false;
    }
    size_t step = pairs ? ps + 4u : ps;
    if (!pairs && ref->offset % ps != 0) {
        problem(w->run,
                "file %s: frame at object %s offset %" PRIu64 " starts at file offset %" PRIu64
                ", not on a page boundary",
                f->name, key, ref->pack_offset, ref->offset);
        return false;
    }
    if (pairs && h->raw_len % step != 0) {
        problem(w->run,
                "file %s: page frame at object %s offset %" PRIu64 " holds %u bytes, not whole "
                "pages",
                f->name, key, ref->pack_offset, h->raw_len);
        return false;
    }
    for (size_t at = 0; at + step <= h->raw_len; at += step) {
        const uint8_t *page = w->raw + at + (pairs ? 4 : 0);
        uint32_t page_no = pairs ? redo_be32(w->raw + at)
                                 : (uint32_t)((ref->offset + at) / ps);
        page_no += t->first_page_no;
        if (redo_fsp_is_doublewrite(f->space_id, page_no, f->fsp_flags))
            continue; /* copies of other pages (see fsp.h) */
        struct redo_page_verdict v;
        memset(&v, 0, sizeof(v));
        int rc = redo_page_validate(page, ps, f->fsp_flags, page_no, &v);
        w->pages++;
        if (rc == 0 && v.ok)
            continue;
        char why[200];
        if (rc == IBS_E_INTERNAL)
            snprintf(why, sizeof(why), "page size %u does not fit the tablespace flags 0x%x", ps,
                     f->fsp_flags);
        else
            redo_page_verdict_str(&v, why, sizeof(why));
        problem(w->run,
                "file %s page %u (object %s offset %" PRIu64 ", file offset %" PRIu64 "): %s",
                f->name, page_no, key, ref->pack_offset,
                pairs ? (uint64_t)page_no * ps : ref->offset + at, why);
        return false;
    }
    return true;
}

/* Reads back and checks one frame; false after a problem or a fatal error. */
static bool check_frame(struct vworker *w, const struct vtask *t, const struct eng_frame_ref *ref)
{
    struct vrun *run = w->run;
    const struct eng_manifest *m = run->m;
    bool redo = t->file == NULL;
    const char *what = redo ? "redo log" : t->file->name;
    const struct eng_pack_ref *packs = redo ? m->redo_packs : t->packs;
    size_t pack_count = redo ? m->redo_pack_count : t->pack_count;
    const struct pack_state *state = redo ? run->redo : t->state;
    struct ibs_err err;

    if (ref->pack >= pack_count) {
        problem(run, "%s: frame at %s %" PRIu64 " is in pack %u, which the manifest does not list",
                what, redo ? "LSN" : "file offset", ref->offset, ref->pack);
        return false;
    }
    const char *key = packs[ref->pack].key;
    if (!state[ref->pack].present) {
        problem(run, "%s: frame at %s %" PRIu64 " is in object %s, which is missing", what,
                redo ? "LSN" : "file offset", ref->offset, key);
        return false;
    }
    if (ref->frame_len < ENG_FRAME_HEADER_SIZE ||
        ref->frame_len > eng_frame_bound(ENG_FRAME_MAX_RAW) ||
        ref->pack_offset + ref->frame_len > state[ref->pack].size) {
        problem(run,
                "%s: frame at object %s offset %" PRIu64 " (%u bytes) lies outside the object "
                "(%" PRIu64 " bytes)",
                what, key, ref->pack_offset, ref->frame_len, state[ref->pack].size);
        return false;
    }
    if (ref->frame_len > w->frame_cap) {
        uint8_t *grown = realloc(w->frame, ref->frame_len);
        if (!grown) {
            ibs_err_set(&err, IBS_E_INTERNAL, "out of memory");
            fatal(run, &err);
            return false;
        }
        w->frame = grown;
        w->frame_cap = ref->frame_len;
    }
    int rc = store_get_range(run->opts->store, key, ref->pack_offset, w->frame, ref->frame_len,
                             &err);
    if (rc == IBS_E_INTEGRITY || rc == IBS_E_NOTFOUND) {
        problem(run, "%s: object %s offset %" PRIu64 ": %s", what, key, ref->pack_offset,
                err.msg);
        return false;
    }
    if (rc) {
        fatal(run, &err);
        return false;
    }
    w->bytes += ref->frame_len;
    w->frames++;
    struct eng_frame_header h;
    rc = eng_crypt_frame_decode(w->codec, key, w->frame, ref->frame_len, &h, w->raw,
                                ENG_FRAME_MAX_RAW, &err);
    if (rc) {
        problem(run, "%s: frame at object %s offset %" PRIu64 " (%s %" PRIu64 "): %s", what, key,
                ref->pack_offset, redo ? "LSN" : "file offset", ref->offset, err.msg);
        return false;
    }
    bool kind_ok = redo ? h.kind == ENG_FRAME_REDO
                        : (h.kind == ENG_FRAME_FILE || h.kind == ENG_FRAME_PAGES);
    /* A frame from an earlier member carries that member's file id. */
    bool id_ok = t->foreign || h.file_id == (redo ? 0 : t->file_id);
    if (!kind_ok || !id_ok || h.offset != ref->offset ||
        h.raw_len != ref->raw_len || h.xxh3 != ref->xxh3 ||
        (uint64_t)h.stored_len + ENG_FRAME_HEADER_SIZE != ref->frame_len) {
        problem(run,
                "%s: frame at object %s offset %" PRIu64 " does not match the manifest (frame: "
                "kind %d, file %u, offset %" PRIu64 ", %u bytes, xxh3 %016" PRIx64
                "; manifest: offset %" PRIu64 ", %u bytes, xxh3 %016" PRIx64 ")",
                what, key, ref->pack_offset, (int)h.kind, h.file_id, h.offset, h.raw_len, h.xxh3,
                ref->offset, ref->raw_len, ref->xxh3);
        return false;
    }
    return redo || check_pages(w, t, ref, &h, key);
}

static void check_task(struct vworker *w, const struct vtask *t)
{
    const struct eng_manifest *m = w->run->m;
    const struct eng_frame_list *list = t->file ? &t->file->frames : &m->redo;
    uint64_t expect = m->checkpoint_lsn;
    for (size_t i = 0; i < list->count; i++) {
        if (stopping(w->run))
            return;
        const struct eng_frame_ref *ref = &list->refs[i];
        if (!t->file && ref->offset != expect) {
            problem(w->run, "redo log: the frames have a gap or overlap at LSN %" PRIu64
                    " (next frame starts at %" PRIu64 ")", expect, ref->offset);
            return;
        }
        expect += ref->raw_len;
        if (!check_frame(w, t, ref))
            return;
    }
    if (!t->file && expect != m->end_lsn)
        problem(w->run, "redo log: the frames end at LSN %" PRIu64 ", the backup at %" PRIu64,
                expect, m->end_lsn);
}

static void *worker_main(void *arg)
{
    struct vworker *w = arg;
    struct vrun *run = w->run;
    for (;;) {
        pthread_mutex_lock(&run->lock);
        size_t i = run->next_task < run->task_count ? run->next_task++ : SIZE_MAX;
        pthread_mutex_unlock(&run->lock);
        if (i == SIZE_MAX || stopping(run))
            break;
        check_task(w, &run->tasks[i]);
    }
    pthread_mutex_lock(&run->lock);
    run->stats.frames += w->frames;
    run->stats.pages += w->pages;
    run->stats.bytes_stored += w->bytes;
    pthread_mutex_unlock(&run->lock);
    return NULL;
}

/* Every pack listed must exist with its size. */
static int check_packs(struct vrun *run, const struct eng_pack_ref *packs, size_t count,
                       struct pack_state *state, struct ibs_err *err)
{
    for (size_t i = 0; i < count; i++) {
        struct store_stat st;
        int rc = store_head(run->opts->store, packs[i].key, &st, err);
        if (rc == IBS_E_NOTFOUND) {
            problem(run, "object %s is missing", packs[i].key);
            continue;
        }
        if (rc)
            return rc;
        state[i].present = true;
        state[i].size = st.size;
        if (st.size != packs[i].size)
            problem(run, "object %s has %" PRIu64 " bytes, the manifest says %" PRIu64,
                    packs[i].key, st.size, packs[i].size);
    }
    return 0;
}

/* Loads an earlier member once and checks its data packs; *out NULL when
 * its manifest is missing or unreadable (a problem, reported by the caller). */
static int load_source(struct vrun *run, const char *id, const struct vsource **out,
                       struct ibs_err *err)
{
    *out = NULL;
    for (size_t i = 0; i < run->source_count; i++)
        if (strcmp(run->sources[i].m.id, id) == 0) {
            *out = &run->sources[i];
            return 0;
        }
    struct vsource *grown = realloc(run->sources, (run->source_count + 1) * sizeof(*grown));
    if (!grown)
        return ibs_err_set(err, IBS_E_INTERNAL, "out of memory");
    run->sources = grown;
    struct vsource *src = &run->sources[run->source_count];
    struct ibs_err merr;
    eng_manifest_init(&src->m);
    int rc = eng_manifest_load(run->opts->store, id, &src->m, &merr);
    if (rc == IBS_E_NOTFOUND || rc == IBS_E_INTEGRITY) {
        eng_manifest_free(&src->m);
        return 0;
    }
    if (rc) {
        eng_manifest_free(&src->m);
        *err = merr;
        return rc;
    }
    src->state = calloc(src->m.data_pack_count + 1, sizeof(*src->state));
    if (!src->state) {
        eng_manifest_free(&src->m);
        return ibs_err_set(err, IBS_E_INTERNAL, "out of memory");
    }
    run->source_count++;
    rc = check_packs(run, src->m.data_packs, src->m.data_pack_count, src->state, err);
    if (rc)
        return rc;
    *out = src;
    return 0;
}

static int make_tasks(struct vrun *run, struct ibs_err *err)
{
    const struct eng_manifest *m = run->m;
    run->tasks = calloc(m->file_count + 1, sizeof(*run->tasks));
    if (!run->tasks)
        return ibs_err_set(err, IBS_E_INTERNAL, "out of memory");
    uint32_t system_pages = 0;
    for (size_t i = 0; i < m->file_count; i++) {
        const struct eng_mfile *f = &m->files[i];
        struct vtask *t = &run->tasks[run->task_count++];
        t->file = f;
        t->file_id = (uint32_t)i;
        t->packs = m->data_packs;
        t->pack_count = m->data_pack_count;
        t->state = run->data;
        if (f->source && strcmp(f->source, m->id) != 0) {
            const struct vsource *src = NULL;
            int rc = load_source(run, f->source, &src, err);
            if (rc)
                return rc;
            if (!src) {
                problem(run, "file %s: its frames are in backup %s, whose manifest is missing",
                        f->name, f->source);
                t->pack_count = 0;
                t->packs = NULL;
            } else {
                t->packs = src->m.data_packs;
                t->pack_count = src->m.data_pack_count;
                t->state = src->state;
            }
            t->foreign = true;
        }
        if (f->kind == ENG_MFILE_SYSTEM && f->page_size) {
            t->first_page_no = system_pages;
            system_pages += (uint32_t)(f->size / f->page_size);
        }
    }
    run->task_count++; /* the redo log: file NULL */
    return 0;
}

static int verify_manifest(const struct eng_verify_opts *opts, const struct eng_manifest *m,
                           struct eng_verify_backup *out, char *first, size_t first_size,
                           struct ibs_err *err)
{
    struct vrun run;
    unsigned parallel = opts->parallel ? opts->parallel : 2;
    pthread_t threads[64];
    struct vworker workers[64];
    unsigned started = 0;
    int rc;

    memset(&run, 0, sizeof(run));
    memset(workers, 0, sizeof(workers));
    if (parallel > 64)
        parallel = 64;
    run.opts = opts;
    run.m = m;
    run.stats.id = m->id;
    run.stats.files = m->file_count;
    pthread_mutex_init(&run.lock, NULL);
    run.data = calloc(m->data_pack_count + 1, sizeof(*run.data));
    run.redo = calloc(m->redo_pack_count + 1, sizeof(*run.redo));
    if (!run.data || !run.redo) {
        rc = ibs_err_set(err, IBS_E_INTERNAL, "out of memory");
        goto out;
    }
    if (strcmp(m->type, "full") != 0) {
        char **chain = NULL;
        size_t n = 0;
        struct ibs_err cerr;
        rc = eng_ops_chain(opts->store, m->id, &chain, &n, &cerr);
        if (rc == IBS_E_INTEGRITY || rc == IBS_E_NOTFOUND)
            problem(&run, "chain: %s", cerr.msg);
        else if (rc) {
            *err = cerr;
            goto out;
        }
        eng_ops_ids_free(chain, n);
    }
    if ((rc = check_packs(&run, m->data_packs, m->data_pack_count, run.data, err)) != 0 ||
        (rc = check_packs(&run, m->redo_packs, m->redo_pack_count, run.redo, err)) != 0 ||
        (rc = make_tasks(&run, err)) != 0)
        goto out;
    for (unsigned i = 0; i < parallel; i++) {
        workers[i].run = &run;
        workers[i].raw = malloc(ENG_FRAME_MAX_RAW);
        if (!workers[i].raw || !(workers[i].codec = io_codec_new(1, err))) {
            if (!workers[i].raw)
                ibs_err_set(err, IBS_E_INTERNAL, "out of memory");
            fatal(&run, err);
            break;
        }
        if (pthread_create(&threads[i], NULL, worker_main, &workers[i]) != 0) {
            ibs_err_set(err, IBS_E_INTERNAL, "cannot start a verify thread");
            fatal(&run, err);
            break;
        }
        started++;
    }
    for (unsigned i = 0; i < started; i++)
        pthread_join(threads[i], NULL);
    rc = 0;
    if (run.fatal.code) {
        *err = run.fatal;
        rc = err->code;
    } else if (opts->cancel && atomic_load(opts->cancel)) {
        rc = ibs_err_set(err, IBS_E_INTERRUPTED, "verify interrupted");
    }
out:
    for (unsigned i = 0; i < parallel; i++) {
        io_codec_free(workers[i].codec);
        free(workers[i].raw);
        free(workers[i].frame);
    }
    *out = run.stats;
    snprintf(first, first_size, "%s", run.first_problem);
    free(run.tasks);
    for (size_t i = 0; i < run.source_count; i++) {
        eng_manifest_free(&run.sources[i].m);
        free(run.sources[i].state);
    }
    free(run.sources);
    free(run.data);
    free(run.redo);
    pthread_mutex_destroy(&run.lock);
    return rc;
}

/* Verifies one backup; problems are counted in result, not returned. */
static int verify_one(const struct eng_verify_opts *opts, const char *id,
                      struct eng_verify_result *result, char *first, size_t first_size,
                      struct ibs_err *err)
{
    struct eng_manifest m;
    struct eng_verify_backup stats;
    struct ibs_err merr;
    eng_manifest_init(&m);
    memset(&stats, 0, sizeof(stats));
    stats.id = id;
    first[0] = '\0';
    int rc = eng_manifest_load(opts->store, id, &m, &merr);
    if (rc == IBS_E_INTEGRITY) {
        stats.problems = 1;
        snprintf(first, first_size, "manifest: %.900s", merr.msg);
        if (opts->on_problem)
            opts->on_problem(opts->ctx, id, first);
        rc = 0;
    } else if (rc) {
        *err = merr;
    } else {
        rc = verify_manifest(opts, &m, &stats, first, first_size, err);
        stats.id = id;
    }
    eng_manifest_free(&m);
    if (rc)
        return rc;
    result->backups++;
    if (stats.problems) {
        result->backups_bad++;
        result->problems += stats.problems;
    }
    if (opts->on_backup)
        opts->on_backup(opts->ctx, &stats);
    return 0;
}

int eng_verify_run(const struct eng_verify_opts *opts, struct eng_verify_result *result,
                   struct ibs_err *err)
{
    struct eng_catalog cat;
    char id[256];
    char first[IBS_ERR_MSG_MAX], first_bad[IBS_ERR_MSG_MAX] = "", first_id[256] = "";
    memset(result, 0, sizeof(*result));
    int rc = eng_catalog_load(opts->store, &cat, err);
    if (rc)
        return rc;
    if (opts->all) {
        if (cat.count == 0)
            rc = ibs_err_set(err, IBS_E_NOTFOUND,
                             "the repository holds no complete backup to verify");
        for (size_t i = cat.count; !rc && i-- > 0;) {
            rc = verify_one(opts, cat.ids[i], result, first, sizeof(first), err);
            if (!rc && first[0] && !first_bad[0]) {
                snprintf(first_bad, sizeof(first_bad), "%s", first);
                snprintf(first_id, sizeof(first_id), "%s", cat.ids[i]);
            }
        }
    } else {
        rc = eng_catalog_resolve(&cat, opts->backup, id, sizeof(id), err);
        if (!rc)
            rc = verify_one(opts, id, result, first_bad, sizeof(first_bad), err);
        snprintf(first_id, sizeof(first_id), "%s", id);
    }
    eng_catalog_free(&cat);
    if (rc)
        return rc;
    if (result->problems)
        return ibs_err_set(err, IBS_E_INTEGRITY,
                           "%zu problem(s) in %zu of %zu backup(s); first in %.64s: %.800s",
                           result->problems, result->backups_bad, result->backups, first_id,
                           first_bad);
    return 0;
}
