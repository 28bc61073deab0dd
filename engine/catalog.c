/* Listing backups and loading manifests (see catalog.h). */
#include "engine/catalog.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/crypt.h"
#include "engine/repo.h"

struct scan {
    struct eng_catalog *cat;
    char **dirs; /* every backups/<id>/ seen, in key order */
    size_t dir_count, dir_cap;
    char **complete;
    size_t complete_count, complete_cap;
    struct ibs_err *err;
};

static int push(char ***arr, size_t *count, size_t *cap, const char *s, size_t len)
{
    if (*count && strlen((*arr)[*count - 1]) == len && memcmp((*arr)[*count - 1], s, len) == 0)
        return 0; /* keys come sorted: same id as the previous one */
    if (*count == *cap) {
        size_t ncap = *cap ? *cap * 2 : 16;
        char **grown = realloc(*arr, ncap * sizeof(*grown));
        if (!grown)
            return -1;
        *arr = grown;
        *cap = ncap;
    }
    (*arr)[*count] = strndup(s, len);
    if (!(*arr)[*count])
        return -1;
    (*count)++;
    return 0;
}

static int on_entry(void *ctx, const struct store_entry *e)
{
    struct scan *s = ctx;
    const char *rest = e->key + strlen(ENG_BACKUPS_DIR "/");
    const char *slash = strchr(rest, '/');
    if (!slash)
        return 0;
    size_t id_len = (size_t)(slash - rest);
    if (push(&s->dirs, &s->dir_count, &s->dir_cap, rest, id_len) != 0)
        return ibs_err_set(s->err, IBS_E_INTERNAL, "out of memory");
    if (strcmp(slash + 1, ENG_MANIFEST_NAME) == 0 &&
        push(&s->complete, &s->complete_count, &s->complete_cap, rest, id_len) != 0)
        return ibs_err_set(s->err, IBS_E_INTERNAL, "out of memory");
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int eng_catalog_load(struct store *store, struct eng_catalog *cat, struct ibs_err *err)
{
    struct scan s = {.cat = cat, .err = err};
    memset(cat, 0, sizeof(*cat));
    int rc = store_list(store, ENG_BACKUPS_DIR "/", on_entry, &s, err);
    if (!rc) {
        if (s.complete_count) /* qsort and bsearch take no NULL array, even empty */
            qsort(s.complete, s.complete_count, sizeof(char *), cmp_str);
        cat->ids = s.complete;
        cat->count = s.complete_count;
        s.complete = NULL;
        /* Directories without a manifest are incomplete attempts. */
        for (size_t i = 0; i < s.dir_count; i++) {
            bool done = cat->count &&
                        bsearch(&s.dirs[i], cat->ids, cat->count, sizeof(char *), cmp_str);
            if (done) {
                free(s.dirs[i]);
                continue;
            }
            s.dirs[cat->incomplete_count++] = s.dirs[i];
        }
        cat->incomplete = s.dirs;
        s.dirs = NULL;
    }
    for (size_t i = 0; s.dirs && i < s.dir_count; i++)
        free(s.dirs[i]);
    free(s.dirs);
    for (size_t i = 0; s.complete && i < s.complete_count; i++)
        free(s.complete[i]);
    free(s.complete);
    return rc;
}

void eng_catalog_free(struct eng_catalog *cat)
{
    for (size_t i = 0; i < cat->count; i++)
        free(cat->ids[i]);
    free(cat->ids);
    for (size_t i = 0; i < cat->incomplete_count; i++)
        free(cat->incomplete[i]);
    free(cat->incomplete);
    memset(cat, 0, sizeof(*cat));
}

int eng_catalog_resolve(const struct eng_catalog *cat, const char *wanted, char *out, size_t size,
                        struct ibs_err *err)
{
    if (cat->count == 0)
        return ibs_err_set(err, IBS_E_NOTFOUND,
                           "the repository holds no complete backup (run 'ibstream backup' "
                           "first, or check --repo)");
    if (!wanted || strcmp(wanted, "latest") == 0) {
        snprintf(out, size, "%s", cat->ids[cat->count - 1]);
        return 0;
    }
    for (size_t i = 0; i < cat->count; i++)
        if (strcmp(cat->ids[i], wanted) == 0) {
            snprintf(out, size, "%s", wanted);
            return 0;
        }
    for (size_t i = 0; i < cat->incomplete_count; i++)
        if (strcmp(cat->incomplete[i], wanted) == 0)
            return ibs_err_set(err, IBS_E_NOTFOUND,
                               "backup %s is incomplete (no manifest: it failed or is still "
                               "running) and cannot be used",
                               wanted);
    return ibs_err_set(err, IBS_E_NOTFOUND,
                       "no backup %s in the repository (newest is %s; see 'ibstream list')",
                       wanted, cat->ids[cat->count - 1]);
}

int eng_manifest_load(struct store *store, const char *id, struct eng_manifest *m,
                      struct ibs_err *err)
{
    char key[256];
    void *data = NULL;
    size_t len = 0;
    snprintf(key, sizeof(key), "%s/%s/%s", ENG_BACKUPS_DIR, id, ENG_MANIFEST_NAME);
    int rc = store_get(store, key, &data, &len, err);
    if (rc)
        return ibs_err_wrap(err, "backup %s", id);
    rc = eng_crypt_manifest_open(id, &data, &len, err);
    if (!rc)
        rc = eng_manifest_parse(data, len, m, err);
    free(data);
    if (rc)
        return ibs_err_wrap(err, "backup %s: %s", id, key);
    if (strcmp(m->id, id) != 0) {
        ibs_err_set(err, IBS_E_INTEGRITY, "backup %s: its manifest names backup %s", id, m->id);
        eng_manifest_free(m);
        return err->code;
    }
    return 0;
}
