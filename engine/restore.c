/* Restore of a backup's raw layout (see restore.h). */
#include "engine/restore.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
#include "io/codec.h"
#include "io/ring.h"
#include "redo/log.h"

#define DEFAULT_BATCH (64ull << 20)
#define RING_DEPTH 16

struct file_layers;

struct restorer {
    const struct eng_restore_opts *opts;
    struct eng_manifest *chain; /* full first, the backup to restore last */
    size_t chain_len;
    struct eng_manifest m;      /* the backup to restore (moved out of chain) */
    struct file_layers *layers; /* per file of m */
    struct io_ring *ring;
    struct io_codec *codec;
    uint8_t *fetched;  /* one batch of frames as stored */
    uint8_t *raw;      /* one batch of frames decoded */
    size_t batch_cap;  /* bytes of each buffer */
    struct eng_restore_result *res;
};

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
static int target_path(const struct eng_restore_opts *opts, const char *name, char *out,
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

/* ---- frames ---- */

/* Reaps writes until a slot is free: submitting alone frees none, and a
 * frame holds more pages (16 of 64 KiB in a 1 MiB frame) than the ring has
 * slots. */
static int make_room(struct restorer *r, const char *what, struct ibs_err *err)
{
    if (io_ring_inflight(r->ring) < RING_DEPTH)
        return 0;
    int rc = io_ring_submit(r->ring, err);
    while (!rc && io_ring_inflight(r->ring) >= RING_DEPTH) {
        struct io_completion done[RING_DEPTH];
        unsigned got = 0;
        rc = io_ring_reap(r->ring, done, RING_DEPTH, 1, &got, err);
        for (unsigned k = 0; !rc && k < got; k++)
            if (done[k].error)
                rc = ibs_err_sys(err, io_errno_code(done[k].error), done[k].error,
                                 "write %s at offset %" PRIu64, what, done[k].offset);
    }
    return rc;
}

/* Writes one decoded frame: a byte frame at its offset (minus base, plus
 * shift: the log), a page frame page by page at index x page size. */
static int write_frame(struct restorer *r, const struct eng_frame_header *h, uint8_t *raw,
                       int fd, uint64_t base, int64_t shift, uint64_t tag, const char *what,
                       struct ibs_err *err)
{
    int rc;
    if (h->kind != ENG_FRAME_PAGES) {
        uint64_t file_off = h->offset - base + (uint64_t)shift;
        rc = io_ring_write_sparse(r->ring, fd, raw, h->raw_len, file_off, tag, err);
        if (!rc)
            rc = make_room(r, what, err);
        return rc;
    }
    size_t entry = 4 + (size_t)h->page_size;
    if (h->page_size < 1024 || h->raw_len % entry)
        return ibs_err_set(err, IBS_E_INTEGRITY, "page frame with a bad page size %u",
                           h->page_size);
    for (size_t at = 0; at < h->raw_len; at += entry) {
        uint32_t index = (uint32_t)raw[at] << 24 | (uint32_t)raw[at + 1] << 16 |
                         (uint32_t)raw[at + 2] << 8 | raw[at + 3];
        rc = io_ring_write(r->ring, fd, raw + at + 4, h->page_size,
                           (uint64_t)index * h->page_size, tag, err);
        if (!rc)
            rc = make_room(r, what, err);
        if (rc)
            return rc;
    }
    return 0;
}

/* Reaps every write in flight; the first failed one is reported in err (when
 * err is NULL, failures are only drained). */
static int reap_writes(struct restorer *r, const char *what, struct ibs_err *err)
{
    int rc = 0;
    while (io_ring_inflight(r->ring) > 0) {
        struct io_completion done[RING_DEPTH];
        unsigned got = 0;
        struct ibs_err ignored;
        if (io_ring_reap(r->ring, done, RING_DEPTH, 1, &got, err ? err : &ignored) != 0)
            return err ? err->code : IBS_E_IO;
        for (unsigned k = 0; k < got; k++)
            if (done[k].error && !rc && err)
                rc = ibs_err_sys(err, io_errno_code(done[k].error), done[k].error,
                                 "write %s at offset %" PRIu64, what, done[k].offset);
    }
    return rc;
}

/* Fetches the n frames refs points at, verifies and decodes each, and writes
 * it to fd. */
static int restore_batch(struct restorer *r, const struct eng_frame_ref *const *refs, size_t n,
                         const struct eng_pack_ref *packs, size_t pack_count, int fd,
                         uint64_t base, int64_t shift, const char *what, struct ibs_err *err)
{
    struct store_range *ranges = calloc(n, sizeof(*ranges));
    if (!ranges)
        return ibs_err_set(err, IBS_E_INTERNAL, "out of memory");
    size_t at = 0;
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        if (refs[i]->pack >= pack_count) {
            rc = ibs_err_set(err, IBS_E_INTEGRITY, "%s: frame refers to a missing pack", what);
            goto out;
        }
        ranges[i] = (struct store_range){.key = packs[refs[i]->pack].key,
                                         .offset = refs[i]->pack_offset,
                                         .len = refs[i]->frame_len,
                                         .buf = r->fetched + at};
        at += refs[i]->frame_len;
    }
    rc = store_get_ranges(r->opts->store, ranges, n, err);
    if (rc)
        goto out;
    size_t raw_at = 0;
    for (size_t i = 0; i < n; i++) {
        struct eng_frame_header h;
        rc = eng_crypt_frame_decode(r->codec, ranges[i].key, ranges[i].buf, refs[i]->frame_len,
                                    &h, r->raw + raw_at, r->batch_cap - raw_at, err);
        if (!rc && (h.offset != refs[i]->offset || h.raw_len != refs[i]->raw_len ||
                    h.xxh3 != refs[i]->xxh3))
            rc = ibs_err_set(err, IBS_E_INTEGRITY,
                             "frame header does not match the manifest (offset %" PRIu64
                             " vs %" PRIu64 ")",
                             h.offset, refs[i]->offset);
        if (rc) {
            ibs_err_wrap(err, "%s: object %s offset %" PRIu64 " (file offset %" PRIu64 ")",
                         what, ranges[i].key, ranges[i].offset, refs[i]->offset);
            goto out;
        }
        if ((rc = write_frame(r, &h, r->raw + raw_at, fd, base, shift, i, what, err)) != 0)
            goto out;
        raw_at += h.raw_len;
        r->res->bytes_written += h.raw_len;
        r->res->frames++;
    }
    rc = io_ring_submit(r->ring, err);
out:
    /* Every write is reaped, also after a failure: its buffer is reused next. */
    if (reap_writes(r, what, rc ? NULL : err) != 0 && !rc)
        rc = err->code;
    free(ranges);
    return rc;
}

/* Restores the frames refs points at, in batches bounded by batch_cap. */
static int restore_refs(struct restorer *r, const struct eng_frame_ref *const *refs,
                        size_t count, const struct eng_pack_ref *packs, size_t pack_count,
                        int fd, uint64_t base, int64_t shift, const char *what,
                        struct ibs_err *err)
{
    size_t i = 0;
    while (i < count) {
        if (atomic_load(r->opts->cancel))
            return ibs_err_set(err, IBS_E_INTERRUPTED, "restore interrupted");
        size_t stored = 0, raw = 0, n = 0;
        while (i + n < count && n < 256) {
            const struct eng_frame_ref *ref = refs[i + n];
            if (ref->frame_len > r->batch_cap || ref->raw_len > r->batch_cap)
                return ibs_err_set(err, IBS_E_INTEGRITY,
                                   "%s: frame larger than any frame ibstream writes", what);
            if (n > 0 &&
                (stored + ref->frame_len > r->batch_cap || raw + ref->raw_len > r->batch_cap))
                break;
            stored += ref->frame_len;
            raw += ref->raw_len;
            n++;
        }
        int rc = restore_batch(r, &refs[i], n, packs, pack_count, fd, base, shift, what, err);
        if (rc)
            return rc;
        i += n;
    }
    return 0;
}

static int restore_frames(struct restorer *r, const struct eng_frame_list *list,
                          const struct eng_pack_ref *packs, size_t pack_count, int fd,
                          uint64_t base, int64_t shift, const char *what, struct ibs_err *err)
{
    const struct eng_frame_ref **refs = calloc(list->count ? list->count : 1, sizeof(*refs));
    if (!refs)
        return ibs_err_set(err, IBS_E_INTERNAL, "out of memory");
    for (size_t i = 0; i < list->count; i++)
        refs[i] = &list->refs[i];
    int rc = restore_refs(r, refs, list->count, packs, pack_count, fd, base, shift, what, err);
    free(refs);
    return rc;
}

static int open_existing(const char *path, int *fd, struct ibs_err *err)
{
    *fd = open(path, O_WRONLY | O_CLOEXEC);
    if (*fd < 0)
        return ibs_err_sys(err, io_errno_code(errno), errno, "open %s", path);
    return 0;
}


/* The chain member whose data packs hold the frames of entry f of member k:
 * an incremental's unchanged non-InnoDB file lives in an earlier member. */
static const struct eng_manifest *member(const struct restorer *r, size_t k)
{
    return k == r->chain_len - 1 ? &r->m : &r->chain[k];
}

static const struct eng_manifest *pack_owner(const struct restorer *r, size_t k,
                                             const struct eng_mfile *f)
{
    if (!f->source)
        return member(r, k);
    for (size_t i = 0; i < r->chain_len - 1; i++)
        if (strcmp(r->chain[i].id, f->source) == 0)
            return &r->chain[i];
    return NULL;
}

static const struct eng_mfile *member_file(const struct restorer *r, size_t k, const char *name)
{
    const struct eng_manifest *m = member(r, k);
    for (size_t i = 0; i < m->file_count; i++)
        if (strcmp(m->files[i].name, name) == 0)
            return &m->files[i];
    return NULL;
}

/* One file of the restored backup across the chain: its layers are the
 * members from `first` (the oldest that holds the same tablespace: a file
 * dropped and created again under its name starts anew) to the last; owner[p]
 * is the newest member that stores page p, so older copies of p are neither
 * fetched nor brought forward by the log. */
struct file_layers {
    const struct eng_mfile *f; /* in the restored backup */
    size_t first;
    uint32_t ps;
    uint64_t npages;
    uint16_t *owner; /* per page: member index, or NO_OWNER */
};

#define NO_OWNER UINT16_MAX

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

/* Writes member k's frames of one file (not those a newer member supersedes). */
static int write_layer(struct restorer *r, const struct file_layers *fl, size_t k,
                       struct ibs_err *err)
{
    const struct eng_mfile *layer = k == r->chain_len - 1 ? fl->f : member_file(r, k, fl->f->name);
    const struct eng_manifest *owner = pack_owner(r, k, layer);
    char path[PATH_MAX];
    int fd = -1;
    if (!owner)
        return ibs_err_set(err, IBS_E_INTEGRITY, "%s: refers to backup %s, which is not in the chain",
                           layer->name, layer->source);
    const struct eng_frame_ref **refs = calloc(layer->frames.count + 1, sizeof(*refs));
    if (!refs)
        return ibs_err_set(err, IBS_E_INTERNAL, "out of memory");
    size_t count = 0;
    for (size_t i = 0; i < layer->frames.count; i++) {
        if (superseded(fl, &layer->frames.refs[i], k))
            r->res->frames_skipped++;
        else
            refs[count++] = &layer->frames.refs[i];
    }
    int rc = target_path(r->opts, fl->f->name, path, sizeof(path), err);
    if (!rc)
        rc = k == fl->first ? eng_out_create(path, &fd, err) : open_existing(path, &fd, err);
    if (!rc)
        rc = restore_refs(r, refs, count, owner->data_packs, owner->data_pack_count, fd, 0, 0,
                          fl->f->name, err);
    if (fd >= 0) {
        /* Each member's size: the log of the next one may extend it further. */
        int crc = eng_out_finish(fd, layer->size, path, err);
        if (!rc)
            rc = crc;
    }
    free(refs);
    return rc;
}

struct skip_ctx {
    struct restorer *r;
    size_t k;
};

/* Prepare callback: a page a newer member stores needs none of member k's log. */
static bool skip_superseded(void *ctx, uint32_t space_id, uint32_t page_no)
{
    struct skip_ctx *c = ctx;
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

static int restore_log(struct restorer *r, const struct eng_manifest *m, struct ibs_err *err);

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
        int rc = target_path(r->opts, name, path, sizeof(path), err);
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
        if ((rc = target_path(r->opts, link, fixed, sizeof(fixed), err)) != 0)
            return rc;
        f = fopen(path, "w");
        if (!f || fputs(fixed, f) < 0 || fclose(f) != 0)
            return ibs_err_sys(err, IBS_E_IO, errno, "rewrite %s", path);
    }
    return 0;
}

/* Writes the restored backup's files: for a chain, member by member, each
 * followed by its own log applied (as mariabackup prepares a base with
 * --apply-log-only before each incremental), so pages a member copied before
 * the server flushed them are brought up to that member's end. */
static int restore_files(struct restorer *r, struct ibs_err *err)
{
    int rc = 0;
    r->layers = calloc(r->m.file_count + 1, sizeof(*r->layers));
    if (!r->layers)
        return ibs_err_set(err, IBS_E_INTERNAL, "out of memory");
    for (size_t i = 0; i < r->m.file_count && !rc; i++) {
        r->layers[i].f = &r->m.files[i];
        rc = plan_layers(r, &r->layers[i], err);
    }
    for (size_t k = 0; k < r->chain_len && !rc; k++) {
        for (size_t i = 0; i < r->m.file_count && !rc; i++) {
            const struct file_layers *fl = &r->layers[i];
            if (k < fl->first)
                continue;
            rc = write_layer(r, fl, k, err);
            if (!rc && k == r->chain_len - 1)
                r->res->files++;
        }
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
    return rc;
}

/* ib_logfile0 as mariabackup's backup writes it (§5.5): a header whose first
 * LSN is the checkpoint, then the copied mini-transactions from offset 12288. */
static int restore_log(struct restorer *r, const struct eng_manifest *m, struct ibs_err *err)
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
    if (!rc)
        rc = restore_frames(r, &m->redo, m->redo_packs, m->redo_pack_count, fd,
                            m->checkpoint_lsn, REDO_LOG_START_OFFSET, "ib_logfile0", err);
    int crc = eng_out_finish(fd, REDO_LOG_START_OFFSET + (m->end_lsn - m->checkpoint_lsn),
                            path, err);
    return rc ? rc : crc;
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
        members[k] = member(r, k);
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
    r.fetched = malloc(r.batch_cap);
    r.raw = malloc(r.batch_cap);
    if (!r.fetched || !r.raw) {
        rc = ibs_err_set(err, IBS_E_INTERNAL, "out of memory");
        goto out;
    }
    if (!(r.ring = io_ring_new(RING_DEPTH, err)) || !(r.codec = io_codec_new(1, err))) {
        rc = err->code;
        goto out;
    }
    IBS_INFO("restore", "restoring backup %s (%zu files) into %s", res->id, r.m.file_count,
             opts->target);
    if ((rc = restore_files(&r, err)) != 0 || (rc = relink_data_directories(&r, err)) != 0 ||
        (rc = restore_log(&r, &r.m, err)) != 0 ||
        (rc = write_metadata(&r, err)) != 0)
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
    io_ring_free(r.ring);
    io_codec_free(r.codec);
    free(r.fetched);
    free(r.raw);
    for (size_t i = 0; r.layers && i < r.m.file_count; i++)
        free(r.layers[i].owner);
    free(r.layers);
    eng_manifest_free(&r.m);
    for (size_t i = 0; i + 1 < r.chain_len; i++)
        eng_manifest_free(&r.chain[i]);
    free(r.chain);
    return rc;
}
