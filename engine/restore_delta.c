/* The delta layout of an incremental chain (see restore_delta.h): each later
 * member's frames rewritten as mariabackup's .delta/.meta files, so
 * `mariabackup --prepare --incremental-dir` can apply the chain itself. */
#include "engine/restore_delta.h"
#include "engine/outfile.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "engine/crypt.h"
#include "engine/frame.h"
#include "io/codec.h"
#include "io/ring.h"
#include "redo/log.h"
#include "redo/page.h"

#define BATCH_BYTES (64ull << 20)
#define BATCH_FRAMES 256
/* "xtra" heads a cluster that more follow, "XTRA" the last one
 * (wf_incremental_process(), extra/mariabackup/write_filt.cc). */
#define DELTA_MAGIC 0x78747261u
#define DELTA_MAGIC_LAST 0x58545241u

struct fetcher {
    const struct eng_restore_opts *opts;
    struct io_codec *codec;
    uint8_t *fetched, *raw;
    struct eng_restore_result *res;
};

typedef int (*frame_sink)(void *ctx, const struct eng_frame_header *h, const uint8_t *raw,
                          struct ibs_err *err);

/* Fetches, verifies and decodes one batch of frames, handing each to sink. */
static int fetch_batch(struct fetcher *f, const struct eng_frame_ref *refs, size_t n,
                       const struct eng_pack_ref *packs, size_t pack_count, frame_sink sink,
                       void *ctx, const char *what, struct ibs_err *err)
{
    struct store_range ranges[BATCH_FRAMES];
    size_t at = 0, raw_at = 0;
    for (size_t i = 0; i < n; i++) {
        if (refs[i].pack >= pack_count)
            return ibs_err_set(err, IBS_E_INTEGRITY, "%s: frame refers to a missing pack", what);
        ranges[i] = (struct store_range){.key = packs[refs[i].pack].key,
                                         .offset = refs[i].pack_offset,
                                         .len = refs[i].frame_len,
                                         .buf = f->fetched + at};
        at += refs[i].frame_len;
    }
    int rc = store_get_ranges(f->opts->store, ranges, n, err);
    for (size_t i = 0; !rc && i < n; i++) {
        struct eng_frame_header h;
        rc = eng_crypt_frame_decode(f->codec, ranges[i].key, ranges[i].buf, refs[i].frame_len, &h,
                                    f->raw + raw_at, BATCH_BYTES - raw_at, err);
        if (!rc &&
            (h.offset != refs[i].offset || h.raw_len != refs[i].raw_len || h.xxh3 != refs[i].xxh3))
            rc = ibs_err_set(err, IBS_E_INTEGRITY, "frame header does not match the manifest");
        if (rc)
            return ibs_err_wrap(err, "%s: object %s offset %" PRIu64, what, ranges[i].key,
                                ranges[i].offset);
        rc = sink(ctx, &h, f->raw + raw_at, err);
        raw_at += h.raw_len;
        f->res->bytes_written += h.raw_len;
        f->res->frames++;
    }
    return rc;
}

/* Every frame of list, in order, in batches of bounded memory. */
static int fetch_frames(struct fetcher *f, const struct eng_frame_list *list,
                        const struct eng_pack_ref *packs, size_t pack_count, frame_sink sink,
                        void *ctx, const char *what, struct ibs_err *err)
{
    size_t i = 0;
    while (i < list->count) {
        if (f->opts->cancel && atomic_load(f->opts->cancel))
            return ibs_err_set(err, IBS_E_INTERRUPTED, "restore interrupted");
        size_t stored = 0, raw = 0, n = 0;
        while (i + n < list->count && n < BATCH_FRAMES) {
            const struct eng_frame_ref *ref = &list->refs[i + n];
            if (ref->frame_len > BATCH_BYTES || ref->raw_len > BATCH_BYTES)
                return ibs_err_set(err, IBS_E_INTEGRITY,
                                   "%s: frame larger than any frame ibstream writes", what);
            if (stored + ref->frame_len > BATCH_BYTES || raw + ref->raw_len > BATCH_BYTES)
                break;
            stored += ref->frame_len;
            raw += ref->raw_len;
            n++;
        }
        int rc = fetch_batch(f, &list->refs[i], n, packs, pack_count, sink, ctx, what, err);
        if (rc)
            return rc;
        i += n;
    }
    return 0;
}

/* ---- files ---- */

/* dir/name[suffix], created with its parents (outfile.h). */
static int create_in(const char *dir, const char *name, const char *suffix, int *fd, char *path,
                     size_t size, struct ibs_err *err)
{
    int rc = eng_out_path(dir, name, suffix, path, size, err);
    return rc ? rc : eng_out_create(path, fd, err);
}

/* Byte frames at their offset: base is subtracted and shift added (the log). */
struct bytes_out {
    int fd;
    uint64_t base;
    uint64_t shift;
    const char *path;
};

static int sink_bytes(void *ctx, const struct eng_frame_header *h, const uint8_t *raw,
                      struct ibs_err *err)
{
    struct bytes_out *o = ctx;
    if (h->kind == ENG_FRAME_PAGES)
        return ibs_err_set(err, IBS_E_INTEGRITY, "%s: page frame where bytes were expected",
                           o->path);
    off_t at = (off_t)(h->offset - o->base + o->shift);
    if (pwrite(o->fd, raw, h->raw_len, at) != (ssize_t)h->raw_len)
        return ibs_err_sys(err, io_errno_code(errno), errno, "write %s", o->path);
    return 0;
}

/* ---- .delta writer (§5.9) ---- */

struct delta_out {
    int fd;
    const char *path;
    uint32_t ps;         /* physical page size */
    uint32_t slots;      /* ps / 4: header slot + pages of one cluster */
    uint32_t used;       /* slots used in the current cluster, header included */
    uint64_t cluster_at; /* file offset of the current cluster's header page */
    uint8_t *head;       /* the current cluster's header page */
    uint32_t space_id;   /* from the first page seen (for a file the manifest left at 0) */
    uint64_t pages;
};

static int delta_put_head(struct delta_out *d, uint32_t magic, struct ibs_err *err)
{
    redo_put_be32(d->head, magic);
    if (pwrite(d->fd, d->head, d->ps, (off_t)d->cluster_at) != (ssize_t)d->ps)
        return ibs_err_sys(err, io_errno_code(errno), errno, "write %s", d->path);
    return 0;
}

static int delta_add(struct delta_out *d, uint32_t page_no, const uint8_t *page,
                     struct ibs_err *err)
{
    if (d->used == d->slots) { /* cluster full: close it, start the next */
        int rc = delta_put_head(d, DELTA_MAGIC, err);
        if (rc)
            return rc;
        d->cluster_at += (uint64_t)d->slots * d->ps;
        memset(d->head, 0, d->ps);
        d->used = 1;
    }
    if (d->pages == 0)
        d->space_id = redo_page_get_space_id(page);
    redo_put_be32(d->head + 4 * d->used, page_no);
    if (pwrite(d->fd, page, d->ps, (off_t)(d->cluster_at + (uint64_t)d->used * d->ps)) !=
        (ssize_t)d->ps)
        return ibs_err_sys(err, io_errno_code(errno), errno, "write %s", d->path);
    d->used++;
    d->pages++;
    return 0;
}

/* The last cluster: "XTRA", and 0xFFFFFFFF after the last page if not full. */
static int delta_finish(struct delta_out *d, struct ibs_err *err)
{
    if (d->used != d->slots)
        redo_put_be32(d->head + 4 * d->used, 0xFFFFFFFFu);
    int rc = delta_put_head(d, DELTA_MAGIC_LAST, err);
    int crc = eng_out_finish(d->fd, d->cluster_at + (uint64_t)d->used * d->ps, d->path, err);
    d->fd = -1;
    return rc ? rc : crc;
}

static bool all_zero(const uint8_t *p, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (p[i])
            return false;
    return true;
}

/* Page frames give (index, page) pairs; byte frames (a tablespace whose page 0
 * was not written when it was copied) are cut into pages, holes left out. */
static int sink_delta(void *ctx, const struct eng_frame_header *h, const uint8_t *raw,
                      struct ibs_err *err)
{
    struct delta_out *d = ctx;
    int rc = 0;
    if (h->kind == ENG_FRAME_PAGES) {
        size_t entry = 4 + (size_t)h->page_size;
        if (h->page_size != d->ps || h->raw_len % entry)
            return ibs_err_set(err, IBS_E_INTEGRITY,
                               "%s: page frame of %u-byte pages in a "
                               "file of %u-byte pages",
                               d->path, h->page_size, d->ps);
        for (size_t at = 0; !rc && at < h->raw_len; at += entry)
            rc = delta_add(d, redo_be32(raw + at), raw + at + 4, err);
        return rc;
    }
    if (h->offset % d->ps || h->raw_len % d->ps)
        return ibs_err_set(err, IBS_E_INTEGRITY, "%s: byte frame not aligned to pages", d->path);
    for (size_t at = 0; !rc && at < h->raw_len; at += d->ps)
        if (!all_zero(raw + at, d->ps))
            rc = delta_add(d, (uint32_t)((h->offset + at) / d->ps), raw + at, err);
    return rc;
}

static int write_delta(struct fetcher *f, const char *dir, const struct eng_manifest *m,
                       const struct eng_mfile *file, struct ibs_err *err)
{
    char path[PATH_MAX], meta[256];
    struct delta_out d = {.fd = -1, .ps = file->page_size ? file->page_size : m->page_size};
    if (d.ps < 1024 || d.ps > 65536 || (d.ps & (d.ps - 1)))
        return ibs_err_set(err, IBS_E_INTEGRITY, "%s: page size %u", file->name, d.ps);
    d.slots = d.ps / 4;
    d.used = 1;
    d.path = path;
    d.head = calloc(1, d.ps);
    if (!d.head)
        return ibs_err_set(err, IBS_E_INTERNAL, "out of memory");
    int rc = create_in(dir, file->name, ".delta", &d.fd, path, sizeof(path), err);
    if (!rc)
        rc = fetch_frames(f, &file->frames, m->data_packs, m->data_pack_count, sink_delta, &d,
                          file->name, err);
    if (d.fd >= 0) {
        int frc = delta_finish(&d, err);
        if (!rc)
            rc = frc;
    }
    free(d.head);
    if (rc)
        return rc;
    /* zip_size: a physical page smaller than the server's is ROW_FORMAT=COMPRESSED
     * (xb_write_delta_metadata(); note the space before the newline). */
    /* The system tablespace is space 0 whatever its first stored page says:
     * that may be a doublewrite buffer page, a copy of another space's. */
    uint32_t space_id = file->kind == ENG_MFILE_SYSTEM ? 0
                        : file->space_id               ? file->space_id
                                                       : d.space_id;
    snprintf(meta, sizeof(meta), "page_size = %u\nzip_size = %u \nspace_id = %u\n", d.ps,
             d.ps < m->page_size ? d.ps : 0u, space_id);
    char name[PATH_MAX];
    snprintf(name, sizeof(name), "%s.meta", file->name);
    return eng_out_text(dir, name, meta, err);
}

/* A non-InnoDB file, whole, from the member whose packs hold it. */
static int write_whole(struct fetcher *f, const char *dir, const struct eng_manifest *const *chain,
                       size_t k, const struct eng_mfile *file, struct ibs_err *err)
{
    const struct eng_manifest *owner = chain[k];
    if (file->source) {
        owner = NULL;
        for (size_t i = 0; i < k; i++)
            if (strcmp(chain[i]->id, file->source) == 0)
                owner = chain[i];
        if (!owner)
            return ibs_err_set(err, IBS_E_INTEGRITY,
                               "%s: refers to backup %s, which is not in the chain", file->name,
                               file->source);
    }
    char path[PATH_MAX];
    struct bytes_out o = {.fd = -1, .path = path};
    int rc = create_in(dir, file->name, "", &o.fd, path, sizeof(path), err);
    if (!rc)
        rc = fetch_frames(f, &file->frames, owner->data_packs, owner->data_pack_count, sink_bytes,
                          &o, file->name, err);
    if (o.fd >= 0) {
        int crc = eng_out_finish(o.fd, file->size, path, err);
        if (!rc)
            rc = crc;
    }
    return rc;
}

/* A log copied from where the base ended has no checkpoint group; recovery
 * (mariabackup's prepare) wants one: FILE_MODIFY for every tablespace that
 * may have changes, then FILE_CHECKPOINT naming where the group starts. It is
 * put in front, ending where the copy starts: *len bytes at out, which the
 * caller frees; the checkpoint is the copy's start minus *len. */
static int checkpoint_group(const struct eng_manifest *m, uint8_t **out, size_t *len,
                            struct ibs_err *err)
{
    size_t cap = REDO_FILE_CHECKPOINT_MTR_SIZE, used = 0;
    for (size_t i = 0; i < m->file_count; i++)
        cap += strlen(m->files[i].name) + 32;
    uint8_t *buf = malloc(cap);
    if (!buf)
        return ibs_err_set(err, IBS_E_INTERNAL, "out of memory");
    for (size_t i = 0; i < m->file_count; i++) {
        const struct eng_mfile *file = &m->files[i];
        if (file->kind != ENG_MFILE_IBD || !file->space_id)
            continue; /* the system and undo tablespaces are never named */
        char name[PATH_MAX];
        snprintf(name, sizeof(name), "%s%s", file->name[0] == '/' ? "" : "./", file->name);
        size_t n = redo_log_file_modify_mtr(file->space_id, name, buf + used, cap - used);
        if (!n) {
            free(buf);
            return ibs_err_set(err, IBS_E_INTERNAL, "cannot name %s in the log", file->name);
        }
        used += n;
    }
    uint64_t checkpoint = m->checkpoint_lsn - (used + REDO_FILE_CHECKPOINT_MTR_SIZE);
    redo_log_file_checkpoint_mtr(checkpoint, buf + used);
    *out = buf;
    *len = used + REDO_FILE_CHECKPOINT_MTR_SIZE;
    return 0;
}

/* The member's own copied log, as restore writes a full's ib_logfile0 (a
 * resumed one behind a checkpoint group of its own). */
static int write_log(struct fetcher *f, const char *dir, const struct eng_manifest *m,
                     struct ibs_err *err)
{
    uint64_t expect = m->checkpoint_lsn;
    for (size_t i = 0; i < m->redo.count; i++) {
        if (m->redo.refs[i].offset != expect)
            return ibs_err_set(err, IBS_E_INTEGRITY,
                               "backup %s: the redo log has a gap at LSN %" PRIu64, m->id, expect);
        expect += m->redo.refs[i].raw_len;
    }
    if (expect != m->end_lsn)
        return ibs_err_set(err, IBS_E_INTEGRITY,
                           "backup %s: the redo log ends at LSN %" PRIu64 ", not %" PRIu64, m->id,
                           expect, m->end_lsn);
    char creator[64], path[PATH_MAX];
    uint8_t area[REDO_LOG_START_OFFSET];
    struct redo_log_header hdr;
    snprintf(creator, sizeof(creator), "Backup %s", m->server_version ? m->server_version : "");
    char *dash = strchr(creator + 7, '-');
    if (dash)
        *dash = '\0';
    uint8_t *group = NULL;
    size_t group_len = 0;
    int rc = m->log_resumed ? checkpoint_group(m, &group, &group_len, err) : 0;
    if (rc)
        return rc;
    uint64_t first = m->checkpoint_lsn - group_len;
    redo_log_header_init(&hdr, first, creator);
    redo_log_write_file_start(&hdr, first, group ? first : m->checkpoint_end_lsn, area);
    struct bytes_out o = {.fd = -1,
                          .base = m->checkpoint_lsn,
                          .shift = REDO_LOG_START_OFFSET + group_len,
                          .path = path};
    rc = create_in(dir, "ib_logfile0", "", &o.fd, path, sizeof(path), err);
    if (rc) {
        free(group);
        return rc;
    }
    if (pwrite(o.fd, area, sizeof(area), 0) != (ssize_t)sizeof(area) ||
        (group && pwrite(o.fd, group, group_len, REDO_LOG_START_OFFSET) != (ssize_t)group_len))
        rc = ibs_err_sys(err, io_errno_code(errno), errno, "write %s", path);
    free(group);
    if (!rc)
        rc = fetch_frames(f, &m->redo, m->redo_packs, m->redo_pack_count, sink_bytes, &o,
                          "ib_logfile0", err);
    int crc = eng_out_finish(
        o.fd, REDO_LOG_START_OFFSET + group_len + (m->end_lsn - m->checkpoint_lsn), path, err);
    return rc ? rc : crc;
}

uint64_t eng_restore_to_lsn(const struct eng_manifest *m)
{
    return m->to_lsn ? m->to_lsn : m->checkpoint_lsn;
}

static int write_metadata(const char *dir, const struct eng_manifest *m,
                          const struct eng_manifest *base, struct ibs_err *err)
{
    char text[8192];
    snprintf(text, sizeof(text),
             "backup_type = incremental\nfrom_lsn = %" PRIu64 "\nto_lsn = %" PRIu64
             "\nlast_lsn = %" PRIu64 "\nrecover_binlog_info = 0\n",
             eng_restore_to_lsn(base), eng_restore_to_lsn(m), m->end_lsn);
    int rc = eng_out_text(dir, "xtrabackup_checkpoints", text, err);
    if (!rc && m->binlog_enabled && m->binlog_file) {
        if (m->gtid && m->gtid[0])
            snprintf(text, sizeof(text), "%s\t%" PRIu64 "\t%s\n", m->binlog_file, m->binlog_pos,
                     m->gtid);
        else
            snprintf(text, sizeof(text), "%s\t%" PRIu64 "\n", m->binlog_file, m->binlog_pos);
        rc = eng_out_text(dir, "xtrabackup_binlog_info", text, err);
    }
    if (!rc) {
        snprintf(text, sizeof(text),
                 "# This options file was generated by ibstream.\n\n# The server\n[mysqld]\n"
                 "innodb_checksum_algorithm=crc32\ninnodb_data_file_path=%s\n"
                 "innodb_log_file_size=%" PRIu64 "\ninnodb_page_size=%u\n"
                 "innodb_undo_directory=./\ninnodb_undo_tablespaces=%u\n",
                 m->data_file_path ? m->data_file_path : "ibdata1:12M:autoextend", m->log_file_size,
                 m->page_size, m->undo_tablespaces);
        rc = eng_out_text(dir, "backup-my.cnf", text, err);
    }
    return rc;
}

static int write_member(struct fetcher *f, const struct eng_manifest *const *chain, size_t k,
                        struct ibs_err *err)
{
    const struct eng_manifest *m = chain[k];
    char dir[PATH_MAX];
    if ((size_t)snprintf(dir, sizeof(dir), "%s/%s/%03zu-%s", f->opts->target, ENG_RESTORE_DELTA_DIR,
                         k, m->id) >= sizeof(dir))
        return ibs_err_set(err, IBS_E_USAGE, "path too long under %s", f->opts->target);
    int rc = 0;
    for (size_t i = 0; i < m->file_count && !rc; i++) {
        const struct eng_mfile *file = &m->files[i];
        rc = file->kind == ENG_MFILE_OTHER ? write_whole(f, dir, chain, k, file, err)
                                           : write_delta(f, dir, m, file, err);
        f->res->files++;
    }
    if (!rc)
        rc = write_log(f, dir, m, err);
    if (!rc)
        rc = write_metadata(dir, m, chain[k - 1], err);
    if (!rc)
        IBS_INFO("restore", "wrote the delta directory of %s: %s", m->id, dir);
    return rc;
}

int eng_restore_deltas(const struct eng_restore_opts *opts, const struct eng_manifest *const *chain,
                       size_t count, struct eng_restore_result *res, struct ibs_err *err)
{
    struct fetcher f = {.opts = opts, .res = res};
    int rc = 0;
    f.fetched = malloc(BATCH_BYTES);
    f.raw = malloc(BATCH_BYTES);
    if (!f.fetched || !f.raw)
        rc = ibs_err_set(err, IBS_E_INTERNAL, "out of memory");
    else if (!(f.codec = io_codec_new(1, err)))
        rc = err->code;
    for (size_t k = 1; k < count && !rc; k++)
        rc = write_member(&f, chain, k, err);
    io_codec_free(f.codec);
    free(f.fetched);
    free(f.raw);
    return rc;
}
