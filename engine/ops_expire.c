/* Retention: which backups a policy removes, and removing them manifest
 * first (see ops.h). */
#include "engine/ops.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "engine/repo.h"

struct node {
    const char *id;
    char *type;
    char *parent;
    int64_t end_time;
    bool readable;
    bool keep;
};

static long find(const struct node *nodes, size_t n, const char *id)
{
    for (size_t i = 0; id && i < n; i++)
        if (strcmp(nodes[i].id, id) == 0)
            return (long)i;
    return -1;
}

/* The full a backup builds on, or -1 when its chain is broken. */
static long root_of(const struct node *nodes, size_t n, size_t i)
{
    long at = (long)i;
    for (size_t steps = 0; at >= 0 && steps <= n; steps++) {
        if (!nodes[at].readable)
            return -1;
        if (strcmp(nodes[at].type, "full") == 0)
            return at;
        at = find(nodes, n, nodes[at].parent);
    }
    return -1;
}

struct sum {
    uint64_t bytes;
    size_t objects;
};

static int add_entry(void *ctx, const struct store_entry *e)
{
    struct sum *s = ctx;
    s->bytes += e->size;
    s->objects++;
    return 0;
}

static int measure(struct store *store, const char *id, struct eng_expire_item *item,
                   struct ibs_err *err)
{
    char prefix[300];
    struct sum s = {0, 0};
    snprintf(prefix, sizeof(prefix), "%s/%s/", ENG_BACKUPS_DIR, id);
    int rc = store_list(store, prefix, add_entry, &s, err);
    item->bytes = s.bytes;
    item->objects = s.objects;
    return rc;
}

int eng_expire_plan(struct store *store, const struct eng_expire_policy *policy,
                    struct eng_expire_plan *plan, struct ibs_err *err)
{
    struct eng_catalog cat;
    struct node *nodes = NULL;
    int rc;

    memset(plan, 0, sizeof(*plan));
    if (policy->retain_full < 1)
        return ibs_err_set(err, IBS_E_USAGE, "--retain-full must be at least 1");
    if ((rc = eng_catalog_load(store, &cat, err)) != 0)
        return rc;
    nodes = calloc(cat.count + 1, sizeof(*nodes));
    if (!nodes) {
        rc = ibs_err_set(err, IBS_E_INTERNAL, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < cat.count; i++) {
        struct eng_manifest m;
        struct ibs_err merr;
        eng_manifest_init(&m);
        nodes[i].id = cat.ids[i];
        int mrc = eng_manifest_load(store, cat.ids[i], &m, &merr);
        if (mrc == IBS_E_INTEGRITY) {
            /* Never remove what cannot be understood: verify reports it. */
            IBS_WARN("expire", "backup %s is kept: %s", cat.ids[i], merr.msg);
            nodes[i].keep = true;
        } else if (mrc) {
            *err = merr;
            rc = mrc;
            eng_manifest_free(&m);
            goto out;
        } else {
            nodes[i].readable = true;
            nodes[i].type = strdup(m.type);
            nodes[i].parent = m.parent ? strdup(m.parent) : NULL;
            nodes[i].end_time = m.end_time;
        }
        eng_manifest_free(&m);
    }
    /* The newest retain_full fulls, and everything built on them. */
    unsigned fulls = 0;
    for (size_t i = cat.count; i-- > 0;)
        if (nodes[i].readable && strcmp(nodes[i].type, "full") == 0 &&
            fulls++ < policy->retain_full)
            nodes[i].keep = true;
    for (size_t i = 0; i < cat.count; i++) {
        long root = root_of(nodes, cat.count, i);
        if (root >= 0 && nodes[root].keep && strcmp(nodes[root].type, "full") == 0 &&
            nodes[i].readable && strcmp(nodes[i].type, "full") != 0)
            nodes[i].keep = true;
        if (policy->retain_days && nodes[i].readable &&
            policy->now - nodes[i].end_time < (int64_t)policy->retain_days * 86400)
            nodes[i].keep = true;
    }
    /* A kept incremental needs its whole chain. */
    for (size_t i = 0; i < cat.count; i++) {
        if (!nodes[i].keep || !nodes[i].readable)
            continue;
        long at = find(nodes, cat.count, nodes[i].parent);
        for (size_t steps = 0; at >= 0 && steps <= cat.count; steps++) {
            nodes[at].keep = true;
            at = nodes[at].readable ? find(nodes, cat.count, nodes[at].parent) : -1;
        }
    }
    plan->remove = calloc(cat.count + 1, sizeof(*plan->remove));
    plan->keep = calloc(cat.count + 1, sizeof(*plan->keep));
    if (!plan->remove || !plan->keep) {
        rc = ibs_err_set(err, IBS_E_INTERNAL, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < cat.count; i++)
        if (nodes[i].keep && !(plan->keep[plan->keep_count++] = strdup(nodes[i].id))) {
            rc = ibs_err_set(err, IBS_E_INTERNAL, "out of memory");
            goto out;
        }
    /* Newest first: an incremental goes before the backup it builds on. */
    for (size_t i = cat.count; i-- > 0;) {
        if (nodes[i].keep)
            continue;
        struct eng_expire_item *item = &plan->remove[plan->remove_count++];
        item->id = strdup(nodes[i].id);
        item->type = strdup(nodes[i].type);
        if (!item->id || !item->type) {
            rc = ibs_err_set(err, IBS_E_INTERNAL, "out of memory");
            goto out;
        }
        if ((rc = measure(store, item->id, item, err)) != 0)
            goto out;
    }
out:
    for (size_t i = 0; nodes && i < cat.count; i++) {
        free(nodes[i].type);
        free(nodes[i].parent);
    }
    free(nodes);
    eng_catalog_free(&cat);
    if (rc)
        eng_expire_plan_free(plan);
    return rc;
}

struct keys {
    char **keys;
    size_t count, cap;
    const char *skip; /* the manifest, already gone */
};

static int collect(void *ctx, const struct store_entry *e)
{
    struct keys *k = ctx;
    if (k->skip && strcmp(e->key, k->skip) == 0)
        return 0;
    if (k->count == k->cap) {
        size_t ncap = k->cap ? k->cap * 2 : 64;
        char **grown = realloc(k->keys, ncap * sizeof(*grown));
        if (!grown)
            return -1;
        k->keys = grown;
        k->cap = ncap;
    }
    if (!(k->keys[k->count] = strdup(e->key)))
        return -1;
    k->count++;
    return 0;
}

int eng_ops_delete_prefix(struct store *store, const char *prefix, const char *skip,
                          struct ibs_err *err)
{
    struct keys k = {.skip = skip};
    int rc = store_list(store, prefix, collect, &k, err);
    if (rc == -1)
        rc = ibs_err_set(err, IBS_E_INTERNAL, "out of memory");
    for (size_t at = 0; !rc && at < k.count; at += 1000) {
        size_t n = k.count - at < 1000 ? k.count - at : 1000;
        rc = store_delete_many(store, (const char *const *)k.keys + at, n, err);
    }
    for (size_t i = 0; i < k.count; i++)
        free(k.keys[i]);
    free(k.keys);
    return rc;
}

int eng_expire_apply(struct store *store, const struct eng_expire_plan *plan,
                     void (*on_done)(void *ctx, const struct eng_expire_item *item), void *ctx,
                     struct ibs_err *err)
{
    for (size_t i = 0; i < plan->remove_count; i++) {
        const struct eng_expire_item *item = &plan->remove[i];
        char manifest[300], prefix[300];
        snprintf(manifest, sizeof(manifest), "%s/%s/%s", ENG_BACKUPS_DIR, item->id,
                 ENG_MANIFEST_NAME);
        snprintf(prefix, sizeof(prefix), "%s/%s/", ENG_BACKUPS_DIR, item->id);
        /* The manifest first: from here on the backup is no longer listed. */
        int rc = store_delete(store, manifest, err);
        if (!rc)
            rc = eng_ops_delete_prefix(store, prefix, manifest, err);
        if (rc)
            return ibs_err_wrap(err, "expiring backup %s (run expire or cleanup again to finish)",
                                item->id);
        if (on_done)
            on_done(ctx, item);
    }
    return 0;
}

void eng_expire_plan_free(struct eng_expire_plan *plan)
{
    for (size_t i = 0; plan->remove && i < plan->remove_count; i++) {
        free(plan->remove[i].id);
        free(plan->remove[i].type);
    }
    free(plan->remove);
    for (size_t i = 0; plan->keep && i < plan->keep_count; i++)
        free(plan->keep[i]);
    free(plan->keep);
    memset(plan, 0, sizeof(*plan));
}
