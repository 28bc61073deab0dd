/* Restore: fetching frames with parallel ranged reads, verifying and decoding
 * them, and writing them with io_uring (see restore_int.h). */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "engine/crypt.h"
#include "engine/frame.h"
#include "engine/restore_int.h"
#include "io/ring.h"
#include "s3/store.h"

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
int restore_refs(struct restorer *r, const struct eng_frame_ref *const *refs,
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

int restore_frames(struct restorer *r, const struct eng_frame_list *list,
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
