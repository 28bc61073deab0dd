/* Removing what killed runs left behind (see ops.h): unfinished multipart
 * uploads, and objects under backups/ that no manifest references. */
#include "engine/ops.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "engine/repo.h"

struct upload {
    char *key, *id;
    time_t initiated;
};

struct uploads {
    struct upload *items;
    size_t count, cap;
};

static int collect_upload(void *ctx, const struct store_upload *u)
{
    struct uploads *us = ctx;
    if (us->count == us->cap) {
        size_t ncap = us->cap ? us->cap * 2 : 16;
        struct upload *grown = realloc(us->items, ncap * sizeof(*grown));
        if (!grown)
            return -1;
        us->items = grown;
        us->cap = ncap;
    }
    struct upload *it = &us->items[us->count];
    it->key = strdup(u->key);
    it->id = strdup(u->upload_id);
    it->initiated = u->initiated;
    us->count++;
    return it->key && it->id ? 0 : -1;
}

static int abort_uploads(struct store *store, const struct eng_cleanup_opts *opts,
                         struct eng_cleanup_result *res, struct ibs_err *err)
{
    struct uploads us = {0};
    int rc = store_list_uploads(store, ENG_BACKUPS_DIR "/", collect_upload, &us, err);
    if (rc == -1)
        rc = ibs_err_set(err, IBS_E_INTERNAL, "out of memory");
    if (rc && (strstr(err->msg, "NotImplemented") || strstr(err->msg, "does not implement"))) {
        /* Some S3-compatible stores (and emulators) lack ListMultipartUploads:
         * say so and go on; a bucket lifecycle rule
         * (AbortIncompleteMultipartUpload) covers them. */
        res->uploads_unsupported = true;
        snprintf(res->uploads_note, sizeof(res->uploads_note), "%.250s", err->msg);
        rc = 0;
    }
    for (size_t i = 0; !rc && i < us.count; i++) {
        const struct upload *u = &us.items[i];
        if (opts->now - u->initiated < (int64_t)opts->older_than_s)
            continue;
        if (!opts->dry_run) {
            rc = store_abort_upload(store, u->key, u->id, err);
            if (rc == IBS_E_NOTFOUND)
                rc = 0; /* finished or aborted meanwhile */
        }
        if (!rc) {
            res->uploads_aborted++;
            if (opts->on_item)
                opts->on_item(opts->ctx, "upload", u->key, 0);
        }
    }
    for (size_t i = 0; i < us.count; i++) {
        free(us.items[i].key);
        free(us.items[i].id);
    }
    free(us.items);
    return rc;
}

/* Objects of one backup directory that its manifest does not reference. */
struct dir_scan {
    const struct eng_manifest *m; /* NULL: no manifest, nothing is referenced */
    const struct eng_cleanup_opts *opts;
    char **keys;
    uint64_t *sizes;
    size_t count, cap;
};

static bool referenced(const struct eng_manifest *m, const char *key)
{
    if (!m)
        return false;
    const char *slash = strrchr(key, '/');
    if (slash && strcmp(slash + 1, ENG_MANIFEST_NAME) == 0)
        return true;
    for (size_t i = 0; i < m->data_pack_count; i++)
        if (strcmp(m->data_packs[i].key, key) == 0)
            return true;
    for (size_t i = 0; i < m->redo_pack_count; i++)
        if (strcmp(m->redo_packs[i].key, key) == 0)
            return true;
    return false;
}

static int scan_entry(void *ctx, const struct store_entry *e)
{
    struct dir_scan *s = ctx;
    if (referenced(s->m, e->key) || s->opts->now - e->mtime < (int64_t)s->opts->older_than_s)
        return 0;
    if (s->count == s->cap) {
        size_t ncap = s->cap ? s->cap * 2 : 16;
        char **k = realloc(s->keys, ncap * sizeof(*k));
        if (!k)
            return -1;
        s->keys = k;
        uint64_t *z = realloc(s->sizes, ncap * sizeof(*z));
        if (!z)
            return -1;
        s->sizes = z;
        s->cap = ncap;
    }
    if (!(s->keys[s->count] = strdup(e->key)))
        return -1;
    s->sizes[s->count++] = e->size;
    return 0;
}

static int clean_dir(struct store *store, const char *id, const struct eng_manifest *m,
                     const struct eng_cleanup_opts *opts, struct eng_cleanup_result *res,
                     struct ibs_err *err)
{
    char prefix[300];
    struct dir_scan s = {.m = m, .opts = opts};
    snprintf(prefix, sizeof(prefix), "%s/%s/", ENG_BACKUPS_DIR, id);
    int rc = store_list(store, prefix, scan_entry, &s, err);
    if (rc == -1)
        rc = ibs_err_set(err, IBS_E_INTERNAL, "out of memory");
    if (!rc && s.count && !opts->dry_run)
        rc = store_delete_many(store, (const char *const *)s.keys, s.count, err);
    for (size_t i = 0; !rc && i < s.count; i++) {
        res->objects_removed++;
        res->bytes_freed += s.sizes[i];
        if (opts->on_item)
            opts->on_item(opts->ctx, "object", s.keys[i], s.sizes[i]);
    }
    for (size_t i = 0; i < s.count; i++)
        free(s.keys[i]);
    free(s.keys);
    free(s.sizes);
    return rc;
}

int eng_cleanup_run(struct store *store, const struct eng_cleanup_opts *opts,
                    struct eng_cleanup_result *res, struct ibs_err *err)
{
    struct eng_catalog cat;
    memset(res, 0, sizeof(*res));
    int rc = abort_uploads(store, opts, res, err);
    if (rc)
        return ibs_err_wrap(err, "aborting stale uploads");
    if ((rc = eng_catalog_load(store, &cat, err)) != 0)
        return rc;
    for (size_t i = 0; !rc && i < cat.incomplete_count; i++)
        rc = clean_dir(store, cat.incomplete[i], NULL, opts, res, err);
    for (size_t i = 0; !rc && i < cat.count; i++) {
        struct eng_manifest m;
        struct ibs_err merr;
        eng_manifest_init(&m);
        int mrc = eng_manifest_load(store, cat.ids[i], &m, &merr);
        if (mrc == IBS_E_INTEGRITY)
            IBS_WARN("cleanup", "backup %s left alone: %s", cat.ids[i], merr.msg);
        else if (mrc) {
            *err = merr;
            rc = mrc;
        } else {
            rc = clean_dir(store, cat.ids[i], &m, opts, res, err);
        }
        eng_manifest_free(&m);
    }
    eng_catalog_free(&cat);
    return rc;
}
