/* Restore of an incremental chain: each file's layers across the members,
 * frames a newer member supersedes left unfetched, and each member's log
 * applied before the next lands (see restore_int.h). */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "engine/outfile.h"
#include "engine/prepare.h"
#include "engine/restore_int.h"

const struct eng_manifest *restore_member(const struct restorer *r, size_t k)
{
    return k == r->chain_len - 1 ? &r->m : &r->chain[k];
}

/* The chain member whose data packs hold the frames of entry f of member k:
 * an incremental's unchanged non-InnoDB file lives in an earlier member. */
static const struct eng_manifest *pack_owner(const struct restorer *r, size_t k,
                                             const struct eng_mfile *f)
{
    if (!f->source)
        return restore_member(r, k);
    for (size_t i = 0; i < r->chain_len - 1; i++)
        if (strcmp(r->chain[i].id, f->source) == 0)
            return &r->chain[i];
    return NULL;
}

static const struct eng_mfile *member_file(const struct restorer *r, size_t k, const char *name)
{
    const struct eng_manifest *m = restore_member(r, k);
    for (size_t i = 0; i < m->file_count; i++)
        if (strcmp(m->files[i].name, name) == 0)
            return &m->files[i];
    return NULL;
}


static void own_frames(struct file_layers *fl, const struct eng_frame_list *list, uint16_t k)
{
    for (size_t i = 0; i < list->count; i++) {
        const struct eng_frame_ref *ref = &list->refs[i];
        if (ref->pages) {
            for (uint32_t n = 0; n < ref->npages; n++)
                if (ref->pages[n] < fl->npages && fl->owner[ref->pages[n]] == NO_OWNER)
                    fl->owner[ref->pages[n]] = k;
        } else if (ref->offset % fl->ps == 0 && ref->raw_len % fl->ps == 0) {
            for (uint64_t p = ref->offset / fl->ps; p * fl->ps < ref->offset + ref->raw_len; p++)
                if (p < fl->npages && fl->owner[p] == NO_OWNER)
                    fl->owner[p] = k;
        }
    }
}

static int plan_layers(struct restorer *r, struct file_layers *fl, struct ibs_err *err)
{
    const struct eng_mfile *f = fl->f;
    size_t n = r->chain_len;
    uint64_t max_size = f->size;
    fl->first = n - 1;
    fl->ps = f->page_size;
    if (f->kind == ENG_MFILE_OTHER || n == 1)
        return 0; /* copied whole in the last member (or a full backup) */
    while (fl->first > 0) {
        const struct eng_mfile *older = member_file(r, fl->first - 1, f->name);
        if (!older || older->kind != f->kind || older->space_id != f->space_id)
            break;
        fl->first--;
        if (older->size > max_size)
            max_size = older->size;
        if (!fl->ps)
            fl->ps = older->page_size;
    }
    if (!fl->ps)
        fl->ps = r->m.page_size ? r->m.page_size : 16384;
    fl->npages = max_size / fl->ps + 1;
    fl->owner = malloc(fl->npages * sizeof(*fl->owner));
    if (!fl->owner)
        return ibs_err_set(err, IBS_E_INTERNAL, "out of memory");
    memset(fl->owner, 0xff, fl->npages * sizeof(*fl->owner));
    for (size_t k = n; k-- > fl->first;)
        own_frames(fl, &member_file(r, k, f->name)->frames, (uint16_t)k);
    return 0;
}

/* Does a newer member than k store every page of this frame? */
static bool superseded(const struct file_layers *fl, const struct eng_frame_ref *ref, size_t k)
{
    if (!fl->owner)
        return false;
    if (ref->pages) {
        for (uint32_t i = 0; i < ref->npages; i++)
            if (ref->pages[i] >= fl->npages || fl->owner[ref->pages[i]] <= k)
                return false;
        return true;
    }
    for (uint64_t p = ref->offset / fl->ps; p * fl->ps < ref->offset + ref->raw_len; p++)
        if (p >= fl->npages || fl->owner[p] <= k)
            return false;
    return true;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The files of one member's pass (write_layers), opened by the pass. */
struct layer_files {
    struct restorer *r;
    const size_t *idx;
    size_t k;
    struct eng_out_file *files;
};

static int open_layer_files(void *ctx, struct restore_out *outs, size_t n, struct ibs_err *err)
{
    struct layer_files *lf = ctx;
    for (size_t i = 0; i < n; i++) {
        struct eng_out_file *file = &lf->files[i];
        int rc = lf->k == lf->r->layers[lf->idx[i]].first
                     ? eng_out_create(file->path, &file->fd, err)
                     : restore_open_existing(file->path, &file->fd, err);
        if (rc)
            return rc;
        outs[i].fd = file->fd;
    }
    return 0;
}

/* Writes member k's frames (not those a newer member supersedes) of the n
 * files idx names (indexes into r->layers), in one pass, then sets their
 * sizes and syncs them. */
static int write_layers(struct restorer *r, const size_t *idx, size_t n, size_t k,
                        struct ibs_err *err)
{
    struct restore_out *outs = calloc(n ? n : 1, sizeof(*outs));
    struct eng_out_file *files = calloc(n ? n : 1, sizeof(*files));
    int rc = 0;
    if (!outs || !files) {
        free(outs);
        free(files);
        return ibs_err_set(err, IBS_E_INTERNAL, "out of memory");
    }
    for (size_t i = 0; i < n; i++)
        files[i].fd = outs[i].fd = -1;
    for (size_t i = 0; i < n && !rc; i++) {
        const struct file_layers *fl = &r->layers[idx[i]];
        const struct eng_mfile *layer =
            k == r->chain_len - 1 ? fl->f : member_file(r, k, fl->f->name);
        const struct eng_manifest *owner = pack_owner(r, k, layer);
        char path[PATH_MAX];
        if (!owner) {
            rc = ibs_err_set(err, IBS_E_INTEGRITY,
                             "%s: refers to backup %s, which is not in the chain", layer->name,
                             layer->source);
            break;
        }
        const struct eng_frame_ref **refs = calloc(layer->frames.count + 1, sizeof(*refs));
        if (!refs) {
            rc = ibs_err_set(err, IBS_E_INTERNAL, "out of memory");
            break;
        }
        size_t count = 0;
        for (size_t f = 0; f < layer->frames.count; f++) {
            if (superseded(fl, &layer->frames.refs[f], k))
                r->res->frames_skipped++;
            else
                refs[count++] = &layer->frames.refs[f];
        }
        outs[i] = (struct restore_out){.what = fl->f->name,
                                       .fd = -1,
                                       .packs = owner->data_packs,
                                       .pack_count = owner->data_pack_count,
                                       .refs = refs,
                                       .count = count};
        files[i].size = layer->size;
        rc = restore_target_path(r->opts, fl->f->name, path, sizeof(path), err);
        if (!rc && !(files[i].path = strdup(path)))
            rc = ibs_err_set(err, IBS_E_INTERNAL, "out of memory");
    }
    struct layer_files lf = {r, idx, k, files};
    double t0 = now_s();
    if (!rc)
        rc = restore_pass(r, outs, n, open_layer_files, &lf, err);
    double t1 = now_s();
    /* Each member's size: the log of the next one may extend it further. */
    struct ibs_err ferr;
    ibs_err_clear(&ferr);
    int frc = eng_out_finish_many(files, n, rc == 0, &ferr);
    if (frc && !rc) {
        *err = ferr;
        rc = frc;
    }
    if (!rc)
        IBS_DEBUG("restore", "%zu files of %s written in %.2f s, synced in %.2f s", n,
                  restore_member(r, k)->id, t1 - t0, now_s() - t1);
    for (size_t i = 0; i < n; i++) {
        free((void *)outs[i].refs);
        free((void *)files[i].path);
    }
    free(outs);
    free(files);
    return rc;
}

struct skip_ctx {
    struct restorer *r;
    size_t k;
};

/* Prepare callback: a page a newer member stores needs none of member k's log.
 * Pages 0 are always brought up to date: the next member's prepare finds
 * each tablespace by the space id and flags on its page 0, and a file whose
 * page 0 came only from the log (a table created during the full backup)
 * would otherwise keep a page 0 of zeros until the member that stores it, so
 * the log of every member in between would be ignored for the whole
 * tablespace. */
static bool skip_superseded(void *ctx, uint32_t space_id, uint32_t page_no)
{
    struct skip_ctx *c = ctx;
    if (page_no == 0)
        return false;
    for (size_t i = 0; i < c->r->m.file_count; i++) {
        const struct file_layers *fl = &c->r->layers[i];
        if (!fl->owner || fl->f->space_id != space_id || fl->f->kind == ENG_MFILE_OTHER)
            continue;
        if (fl->f->kind == ENG_MFILE_SYSTEM && strcmp(fl->f->name, "ibdata1") != 0)
            continue; /* ibdata2...: page numbers continue ibdata1's; ibdata1 decides */
        return page_no < fl->npages && fl->owner[page_no] != NO_OWNER && fl->owner[page_no] > c->k;
    }
    return false;
}

/* Writes the restored backup's files: for a chain, member by member, each
 * followed by its own log applied (as mariabackup prepares a base with
 * --apply-log-only before each incremental), so pages a member copied before
 * the server flushed them are brought up to that member's end. */
int restore_files(struct restorer *r, struct ibs_err *err)
{
    int rc = 0;
    r->layers = calloc(r->m.file_count + 1, sizeof(*r->layers));
    if (!r->layers)
        return ibs_err_set(err, IBS_E_INTERNAL, "out of memory");
    for (size_t i = 0; i < r->m.file_count && !rc; i++) {
        r->layers[i].f = &r->m.files[i];
        rc = plan_layers(r, &r->layers[i], err);
    }
    size_t *idx = calloc(r->m.file_count + 1, sizeof(*idx));
    if (!idx)
        rc = ibs_err_set(err, IBS_E_INTERNAL, "out of memory");
    for (size_t k = 0; k < r->chain_len && !rc; k++) {
        /* Every file this member writes, as many at once as may be open. */
        size_t n = 0;
        for (size_t i = 0; i < r->m.file_count; i++)
            if (k >= r->layers[i].first)
                idx[n++] = i;
        size_t group = r->max_open ? r->max_open : n;
        for (size_t at = 0; at < n && !rc; at += group)
            rc = write_layers(r, idx + at, n - at < group ? n - at : group, k, err);
        if (!rc && k == r->chain_len - 1)
            r->res->files += (unsigned)n;
        if (rc || k == r->chain_len - 1)
            break;
        /* Bring this member's pages to its end LSN before the next one lands. */
        rc = restore_log(r, &r->chain[k], err);
        if (rc)
            break;
        struct skip_ctx ctx = {r, k};
        struct eng_prepare_opts popts = {.target = r->opts->target,
                                         .cancel = r->opts->cancel,
                                         .intermediate = true,
                                         .page_size = r->m.page_size,
                                         .skip = skip_superseded,
                                         .skip_ctx = &ctx};
        struct eng_prepare_result pres;
        rc = eng_prepare_run(&popts, &pres, err);
        if (rc)
            ibs_err_wrap(err, "applying the log of %s (member %zu of the chain)",
                         r->chain[k].id, k + 1);
        else
            IBS_INFO("restore", "applied the log of %s: %llu pages", r->chain[k].id,
                     (unsigned long long)pres.pages_applied);
    }
    free(idx);
    return rc;
}
