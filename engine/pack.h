/* Pack writer: appends frames to a numbered series of objects
 * ("<prefix>.0000", "<prefix>.0001", ...) through streaming store writers,
 * starting a new object when the current one reaches max_pack_size or the
 * store's capacity for one object. Thread-safe: copier workers append frames
 * concurrently; each append is contiguous in one object. Nothing is visible in
 * the repository until eng_pack_writer_finish(); abort leaves nothing behind. */
#ifndef IBS_ENGINE_PACK_H
#define IBS_ENGINE_PACK_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "s3/store.h"

/* Where a frame landed. */
struct eng_frame_loc {
    uint32_t pack;   /* object number */
    uint64_t offset; /* byte offset of the frame's header in that object */
};

struct eng_pack_info {
    char *key;     /* object key */
    uint64_t size; /* bytes */
};

struct eng_pack_writer;

/* Objects of a backup are at most this large: a full object is committed
 * while the next one fills, so the end of a backup waits only for the last
 * one (completing a multipart upload of hundreds of MB takes seconds on some
 * stores), and a restore can fetch from several objects at once. */
#define ENG_PACK_SIZE_DEFAULT (128ull << 20)

/* prefix is the key without the number ("backups/<id>/data"). max_pack_size 0
 * means "as large as the store allows". */
int eng_pack_writer_new(struct store *store, const char *prefix, uint64_t max_pack_size,
                        struct eng_pack_writer **out, struct ibs_err *err);

/* Appends one frame of len bytes; *loc says where it went. Blocks while the
 * store's upload buffers are busy. After a failure every later call fails. */
int eng_pack_append(struct eng_pack_writer *pw, const void *frame, size_t len,
                    struct eng_frame_loc *loc, struct ibs_err *err);

/* Bytes appended so far over all objects. */
uint64_t eng_pack_bytes(struct eng_pack_writer *pw);

/* Commits every object. On success packs and count describe them (the caller
 * frees with eng_pack_info_free). Frees pw in every case; on failure the
 * uncommitted objects are aborted. */
int eng_pack_writer_finish(struct eng_pack_writer *pw, struct eng_pack_info **packs,
                           size_t *count, struct ibs_err *err);

/* Aborts the uncommitted object, deletes the objects already committed by a
 * rollover, and frees pw; NULL is a no-op. */
void eng_pack_writer_abort(struct eng_pack_writer *pw);

void eng_pack_info_free(struct eng_pack_info *packs, size_t count);

#endif
