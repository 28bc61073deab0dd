/* Private to engine/: the state a restore shares between restore.c (target,
 * log, metadata, orchestration), restore_fetch.c (fetching, verifying and
 * writing frames) and restore_chain.c (an incremental chain, member by
 * member). */
#ifndef IBS_ENGINE_RESTORE_INT_H
#define IBS_ENGINE_RESTORE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "engine/manifest.h"
#include "engine/restore.h"

struct restorer {
    const struct eng_restore_opts *opts;
    struct eng_manifest *chain; /* full first, the backup to restore last */
    size_t chain_len;
    struct eng_manifest m;      /* the backup to restore (moved out of chain) */
    struct file_layers *layers; /* per file of m */
    size_t batch_cap;  /* bytes of frames fetched and not yet written, at most */
    size_t max_open;   /* files open at once, at most (descriptors to spare) */
    struct eng_restore_result *res;
};

/* One file a restore pass writes: the frames to write into fd, where they
 * are stored and where they land (a byte frame at its offset - base + shift:
 * the log's frames carry LSNs; a page frame page by page). */
struct restore_out {
    const char *what; /* the file's name, for messages */
    int fd;
    uint64_t base;
    int64_t shift;
    const struct eng_pack_ref *packs;
    size_t pack_count;
    const struct eng_frame_ref *const *refs;
    size_t count;
};

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

/* restore.c */
int restore_target_path(const struct eng_restore_opts *opts, const char *name, char *out,
                        size_t size, struct ibs_err *err);
int restore_open_existing(const char *path, int *fd, struct ibs_err *err);
int restore_log(struct restorer *r, const struct eng_manifest *m, struct ibs_err *err);

/* restore_fetch.c: fetches, verifies, decodes and writes every frame of n
 * files. Frames adjacent in an object are fetched together in one ranged read
 * (a span); spans are fetched on opts->fetchers threads while others verify,
 * decode and write what has arrived, with at most batch_cap bytes of spans
 * held (or one span per thread, if that is more). A
 * frame is written only after its header and XXH3 match the manifest; the
 * first failure stops the pass and is returned (writes may have happened).
 * open_files (NULL when every outs[i].fd is open already) opens the files and
 * sets outs[i].fd: the pass calls it on this thread once the first reads are
 * under way (also when there is no frame to write), so that creating many
 * files overlaps the first round trips. */
typedef int restore_open_fn(void *ctx, struct restore_out *outs, size_t n, struct ibs_err *err);
int restore_pass(struct restorer *r, struct restore_out *outs, size_t n,
                 restore_open_fn *open_files, void *ctx, struct ibs_err *err);

/* restore_chain.c: every file of r->m, member by member of the chain; the
 * manifest of member k (the last one is r->m). */
const struct eng_manifest *restore_member(const struct restorer *r, size_t k);
int restore_files(struct restorer *r, struct ibs_err *err);

#endif
