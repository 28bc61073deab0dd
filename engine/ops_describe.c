/* Describing backups for list and info: a JSON summary of a manifest, sizes
 * per database and the chain a backup belongs to (see ops.h). */
#include "engine/ops.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void add_str(json_object *o, const char *key, const char *value)
{
    json_object_object_add(o, key, value ? json_object_new_string(value) : NULL);
}

static void add_u64(json_object *o, const char *key, uint64_t value)
{
    json_object_object_add(o, key, json_object_new_uint64(value));
}

static void add_time(json_object *o, const char *key, int64_t t)
{
    char text[32];
    struct tm tm;
    time_t tt = (time_t)t;
    gmtime_r(&tt, &tm);
    strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%SZ", &tm);
    json_object_object_add(o, key, json_object_new_string(text));
}

json_object *eng_ops_summary_json(const struct eng_manifest *m)
{
    json_object *o = json_object_new_object();
    if (!o)
        return NULL;
    add_str(o, "id", m->id);
    add_str(o, "type", m->type);
    add_str(o, "parent", m->parent);
    add_time(o, "start_time", m->start_time);
    add_time(o, "end_time", m->end_time);
    json_object_object_add(o, "start_epoch", json_object_new_int64(m->start_time));
    json_object_object_add(o, "end_epoch", json_object_new_int64(m->end_time));
    add_u64(o, "duration_ms", m->duration_ms);

    json_object *server = json_object_new_object();
    add_str(server, "hostname", m->hostname);
    add_str(server, "version", m->server_version);
    add_u64(server, "server_id", m->server_id);
    add_str(server, "datadir", m->datadir);
    add_u64(server, "page_size", m->page_size);
    json_object_object_add(o, "server", server);

    json_object *lsn = json_object_new_object();
    add_u64(lsn, "checkpoint", m->checkpoint_lsn);
    add_u64(lsn, "end", m->end_lsn);
    add_u64(lsn, "to", m->to_lsn);
    json_object_object_add(o, "lsn", lsn);

    json_object *binlog = NULL;
    if (m->binlog_enabled) {
        binlog = json_object_new_object();
        add_str(binlog, "file", m->binlog_file);
        add_u64(binlog, "position", m->binlog_pos);
        add_str(binlog, "gtid", m->gtid ? m->gtid : "");
    }
    json_object_object_add(o, "binlog", binlog);

    add_u64(o, "bytes_read", m->bytes_read);
    add_u64(o, "bytes_stored", m->bytes_stored);
    add_u64(o, "files", m->file_count);
    add_u64(o, "data_packs", m->data_pack_count);
    add_u64(o, "redo_packs", m->redo_pack_count);
    return o;
}

void eng_ops_db_of(const char *name, char *buf, size_t size)
{
    const char *last = strrchr(name, '/');
    if (name[0] == '/' && last) {
        /* DATA DIRECTORY tables, /path/<db>/<table>.ibd: the parent's name */
        const char *start = last;
        while (start > name && start[-1] != '/')
            start--;
        if (start > name && last > start) {
            snprintf(buf, size, "%.*s", (int)(last - start), start);
            return;
        }
    }
    const char *slash = strchr(name, '/');
    if (!slash || name[0] == '/')
        snprintf(buf, size, "(server)");
    else
        snprintf(buf, size, "%.*s", (int)(slash - name), name);
}

static int cmp_db(const void *a, const void *b)
{
    return strcmp(((const struct eng_ops_db_size *)a)->name,
                  ((const struct eng_ops_db_size *)b)->name);
}

int eng_ops_db_sizes(const struct eng_manifest *m, struct eng_ops_db_size **out, size_t *count,
                     struct ibs_err *err)
{
    struct eng_ops_db_size *dbs = NULL;
    size_t n = 0;
    *out = NULL;
    *count = 0;
    for (size_t i = 0; i < m->file_count; i++) {
        const struct eng_mfile *f = &m->files[i];
        char db[256];
        eng_ops_db_of(f->name, db, sizeof(db));
        size_t k = 0;
        while (k < n && strcmp(dbs[k].name, db) != 0)
            k++;
        if (k == n) {
            struct eng_ops_db_size *grown = realloc(dbs, (n + 1) * sizeof(*dbs));
            if (!grown)
                goto oom;
            dbs = grown;
            memset(&dbs[n], 0, sizeof(dbs[n]));
            if (!(dbs[n].name = strdup(db)))
                goto oom;
            n++;
        }
        dbs[k].files++;
        dbs[k].size += f->size;
        for (size_t j = 0; j < f->frames.count; j++)
            dbs[k].stored += f->frames.refs[j].frame_len;
    }
    if (n)
        qsort(dbs, n, sizeof(*dbs), cmp_db);
    *out = dbs;
    *count = n;
    return 0;
oom:
    eng_ops_db_sizes_free(dbs, n);
    return ibs_err_set(err, IBS_E_INTERNAL, "out of memory");
}

void eng_ops_db_sizes_free(struct eng_ops_db_size *sizes, size_t count)
{
    for (size_t i = 0; sizes && i < count; i++)
        free(sizes[i].name);
    free(sizes);
}

void eng_ops_ids_free(char **ids, size_t count)
{
    for (size_t i = 0; ids && i < count; i++)
        free(ids[i]);
    free(ids);
}

/* Longest chain followed: a loop of parent links in edited manifests must end. */
#define CHAIN_MAX 10000

int eng_ops_chain(struct store *store, const char *id, char ***ids, size_t *count,
                  struct ibs_err *err)
{
    char **chain = NULL;
    size_t n = 0;
    char *next = strdup(id);
    int rc = 0;

    *ids = NULL;
    *count = 0;
    while (next) {
        if (n >= CHAIN_MAX) {
            rc = ibs_err_set(err, IBS_E_INTEGRITY, "backup %s: its parent links form a loop", id);
            break;
        }
        char **grown = realloc(chain, (n + 1) * sizeof(*chain));
        if (!grown) {
            rc = ibs_err_set(err, IBS_E_INTERNAL, "out of memory");
            break;
        }
        chain = grown;
        chain[n++] = next;
        struct eng_manifest m;
        eng_manifest_init(&m);
        rc = eng_manifest_load(store, next, &m, err);
        if (rc) {
            if (n > 1 && rc == IBS_E_NOTFOUND)
                rc = ibs_err_set(err, IBS_E_INTEGRITY,
                                 "backup %s: its chain is broken: base backup %s (parent of "
                                 "%s) has no manifest in the repository",
                                 id, next, chain[n - 2]);
            eng_manifest_free(&m);
            next = NULL;
            break;
        }
        next = NULL;
        if (m.parent && m.parent[0] && strcmp(m.type, "full") != 0) {
            next = strdup(m.parent);
            if (!next)
                rc = ibs_err_set(err, IBS_E_INTERNAL, "out of memory");
        } else if (strcmp(m.type, "full") != 0) {
            rc = ibs_err_set(err, IBS_E_INTEGRITY, "backup %s is %s but names no parent",
                             m.id, m.type);
        }
        eng_manifest_free(&m);
    }
    if (rc) {
        eng_ops_ids_free(chain, n);
        return rc;
    }
    for (size_t i = 0; i < n / 2; i++) {
        char *t = chain[i];
        chain[i] = chain[n - 1 - i];
        chain[n - 1 - i] = t;
    }
    *ids = chain;
    *count = n;
    return 0;
}
