/* Pack writer (see pack.h). */
#include "engine/pack.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct eng_pack_writer {
    /* One full object completes at a time: each holds its part buffers until
     * its upload ends, so this bounds the memory to two objects' worth. */
    pthread_mutex_t commit_lock;
    pthread_mutex_t lock; /* guards every field below */
    struct store *store;
    char *prefix;
    uint64_t max_pack_size;
    struct store_writer *current; /* object being written, NULL before the first frame */
    uint32_t current_no;
    struct eng_pack_info *packs; /* committed objects, then the current one at finish */
    size_t pack_count;
    uint64_t total;
    struct ibs_err failure; /* sticky: set once, every later call returns it */
};

static char *pack_key(const char *prefix, uint32_t no)
{
    char *key = NULL;
    if (asprintf(&key, "%s.%04u", prefix, no) < 0)
        return NULL;
    return key;
}

int eng_pack_writer_new(struct store *store, const char *prefix, uint64_t max_pack_size,
                        struct eng_pack_writer **out, struct ibs_err *err)
{
    struct eng_pack_writer *pw = calloc(1, sizeof(*pw));
    if (!pw || !(pw->prefix = strdup(prefix))) {
        free(pw);
        return ibs_err_set(err, IBS_E_INTERNAL, "out of memory");
    }
    pthread_mutex_init(&pw->lock, NULL);
    pthread_mutex_init(&pw->commit_lock, NULL);
    pw->store = store;
    pw->max_pack_size = max_pack_size;
    ibs_err_clear(&pw->failure);
    *out = pw;
    return 0;
}

/* Records committed object no at index no: objects committed by different
 * threads may complete out of order. Called with the lock held. */
static int record_pack(struct eng_pack_writer *pw, uint32_t no, uint64_t size, struct ibs_err *err)
{
    if (no >= pw->pack_count) {
        struct eng_pack_info *grown = realloc(pw->packs, (no + 1) * sizeof(*grown));
        if (!grown)
            return ibs_err_set(err, IBS_E_INTERNAL, "out of memory");
        memset(grown + pw->pack_count, 0, (no + 1 - pw->pack_count) * sizeof(*grown));
        pw->packs = grown;
        pw->pack_count = no + 1;
    }
    pw->packs[no].key = pack_key(pw->prefix, no);
    pw->packs[no].size = size;
    if (!pw->packs[no].key)
        return ibs_err_set(err, IBS_E_INTERNAL, "out of memory");
    return 0;
}

/* Commits a full object outside the lock, so the other threads append to the
 * next one meanwhile: completing a large multipart upload takes seconds on
 * some stores. */
static int commit_full(struct eng_pack_writer *pw, struct store_writer *w, uint32_t no,
                       struct ibs_err *err)
{
    uint64_t size = store_writer_offset(w);
    pthread_mutex_lock(&pw->commit_lock);
    int rc = store_writer_commit(w, err);
    pthread_mutex_unlock(&pw->commit_lock);
    pthread_mutex_lock(&pw->lock);
    if (!rc)
        rc = record_pack(pw, no, size, err);
    if (rc && !pw->failure.code)
        pw->failure = *err;
    pthread_mutex_unlock(&pw->lock);
    return rc;
}

/* Commits the current object; called with the lock held. */
static int close_current(struct eng_pack_writer *pw, struct ibs_err *err)
{
    uint64_t size = store_writer_offset(pw->current);
    int rc = store_writer_commit(pw->current, err);
    pw->current = NULL;
    if (rc)
        return rc;
    rc = record_pack(pw, pw->current_no, size, err);
    pw->current_no++;
    return rc;
}

static int open_current(struct eng_pack_writer *pw, struct ibs_err *err)
{
    char *key = pack_key(pw->prefix, pw->current_no);
    if (!key)
        return ibs_err_set(err, IBS_E_INTERNAL, "out of memory");
    int rc = store_writer_open(pw->store, key, &pw->current, err);
    free(key);
    return rc;
}

int eng_pack_append(struct eng_pack_writer *pw, const void *frame, size_t len,
                    struct eng_frame_loc *loc, struct ibs_err *err)
{
    int rc = 0;
    struct store_writer *full = NULL; /* committed by this thread after unlocking */
    uint32_t full_no = 0;
    pthread_mutex_lock(&pw->lock);
    if (pw->failure.code) {
        *err = pw->failure;
        rc = err->code;
        goto out;
    }
    if (pw->current) {
        uint64_t used = store_writer_offset(pw->current);
        uint64_t limit = store_writer_capacity(pw->current);
        if (pw->max_pack_size && pw->max_pack_size < limit)
            limit = pw->max_pack_size;
        if (used > 0 && used + len > limit) {
            full = pw->current;
            full_no = pw->current_no++;
            pw->current = NULL;
        }
    }
    if (!pw->current && (rc = open_current(pw, err)) != 0)
        goto fail;
    loc->pack = pw->current_no;
    loc->offset = store_writer_offset(pw->current);
    rc = store_writer_write(pw->current, frame, len, err);
    if (rc)
        goto fail;
    pw->total += len;
    goto out;
fail:
    pw->failure = *err;
out:
    pthread_mutex_unlock(&pw->lock);
    if (full) {
        if (rc) {
            store_writer_abort(full);
        } else {
            rc = commit_full(pw, full, full_no, err);
        }
    }
    return rc;
}

uint64_t eng_pack_bytes(struct eng_pack_writer *pw)
{
    pthread_mutex_lock(&pw->lock);
    uint64_t total = pw->total;
    pthread_mutex_unlock(&pw->lock);
    return total;
}

void eng_pack_info_free(struct eng_pack_info *packs, size_t count)
{
    for (size_t i = 0; i < count; i++)
        free(packs[i].key);
    free(packs);
}

static void writer_free(struct eng_pack_writer *pw)
{
    if (pw->current)
        store_writer_abort(pw->current);
    eng_pack_info_free(pw->packs, pw->pack_count);
    pthread_mutex_destroy(&pw->lock);
    pthread_mutex_destroy(&pw->commit_lock);
    free(pw->prefix);
    free(pw);
}

int eng_pack_writer_finish(struct eng_pack_writer *pw, struct eng_pack_info **packs,
                           size_t *count, struct ibs_err *err)
{
    int rc = 0;
    if (pw->failure.code) {
        *err = pw->failure;
        rc = err->code;
    } else if (pw->current) {
        rc = close_current(pw, err);
    }
    if (rc) {
        writer_free(pw);
        return rc;
    }
    *packs = pw->packs;
    *count = pw->pack_count;
    pw->packs = NULL;
    pw->pack_count = 0;
    writer_free(pw);
    return 0;
}

void eng_pack_writer_abort(struct eng_pack_writer *pw)
{
    struct ibs_err ignored;
    if (!pw)
        return;
    /* Best effort: what a failed delete leaves, `cleanup` removes (no manifest names it). */
    for (size_t i = 0; i < pw->pack_count; i++)
        if (pw->packs[i].key)
            store_delete(pw->store, pw->packs[i].key, &ignored);
    writer_free(pw);
}
