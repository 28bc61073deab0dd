/* ibstream info: one backup's manifest in human form, its chain and the size
 * of each database. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/catalog.h"
#include "engine/ops.h"
#include "tools/cli.h"
#include "tools/repo_open.h"

static const int info_options[] = {COMMON_OPTIONS, REPO_OPTIONS, OPT_BACKUP, OPT_JSON, -1};

static void print_time(const char *label, int64_t when)
{
    char text[32];
    struct tm tm;
    time_t t = (time_t)when;
    gmtime_r(&t, &tm);
    strftime(text, sizeof(text), "%Y-%m-%d %H:%M:%S UTC", &tm);
    printf("%-16s %s\n", label, text);
}

/* InnoDB pages read, and stored (for an incremental: changed since its parent). */
static void count_pages(const struct eng_manifest *m, uint64_t *scanned, uint64_t *stored)
{
    *scanned = *stored = 0;
    for (size_t i = 0; i < m->file_count; i++) {
        *scanned += m->files[i].pages_scanned;
        *stored += m->files[i].pages_copied;
    }
}

static void print_text(const struct eng_manifest *m, char **chain, size_t chain_len,
                       const char *chain_error, const struct eng_ops_db_size *dbs, size_t ndb)
{
    printf("%-16s %s\n", "backup", m->id);
    printf("%-16s %s\n", "type", m->type);
    if (m->parent)
        printf("%-16s %s\n", "parent", m->parent);
    print_time("started", m->start_time);
    print_time("ended", m->end_time);
    printf("%-16s %.1f s\n", "duration", (double)m->duration_ms / 1000.0);
    printf("%-16s %s, MariaDB %s, server_id %u\n", "server", m->hostname ? m->hostname : "?",
           m->server_version ? m->server_version : "?", m->server_id);
    printf("%-16s %s\n", "datadir", m->datadir ? m->datadir : "?");
    printf("%-16s %u bytes\n", "page size", m->page_size);
    /* An incremental on this backup stores the pages newer than its end LSN. */
    printf("%-16s %" PRIu64 "..%" PRIu64 " (an incremental on it stores pages newer than %" PRIu64
           ")\n",
           "LSN", m->checkpoint_lsn, m->end_lsn, m->end_lsn);
    if (m->binlog_enabled && m->binlog_file)
        printf("%-16s %s:%" PRIu64 ", gtid '%s'\n", "binlog", m->binlog_file, m->binlog_pos,
               m->gtid ? m->gtid : "");
    else
        printf("%-16s off\n", "binlog");
    double ratio = m->bytes_stored ? (double)m->bytes_read / (double)m->bytes_stored : 0.0;
    printf("%-16s %.1f MB read, %.1f MB stored (ratio %.2f)\n", "size",
           (double)m->bytes_read / 1e6, (double)m->bytes_stored / 1e6, ratio);
    printf("%-16s %zu files, %zu data packs, %zu redo packs\n", "objects", m->file_count,
           m->data_pack_count, m->redo_pack_count);
    uint64_t scanned, stored;
    count_pages(m, &scanned, &stored);
    printf("%-16s %" PRIu64 " scanned, %" PRIu64 " stored%s\n", "pages", scanned, stored,
           m->parent ? " (changed since the parent)" : "");
    printf("%-16s %zu\n", "chain length", chain_len);
    if (chain_error) {
        printf("%-16s BROKEN: %s\n", "chain", chain_error);
    } else {
        printf("%-16s", "chain");
        for (size_t i = 0; i < chain_len; i++)
            printf("%s%s", i ? " <- " : " ", chain[i]);
        printf("\n");
    }
    printf("\n%-32s %6s %12s %12s\n", "database", "files", "size MB", "stored MB");
    for (size_t i = 0; i < ndb; i++)
        printf("%-32s %6zu %12.1f %12.1f\n", dbs[i].name, dbs[i].files,
               (double)dbs[i].size / 1e6, (double)dbs[i].stored / 1e6);
}

static json_object *info_json(const struct eng_manifest *m, char **chain, size_t chain_len,
                              const char *chain_error, const struct eng_ops_db_size *dbs,
                              size_t ndb)
{
    json_object *o = eng_ops_summary_json(m);
    json_object *c = json_object_new_array();
    for (size_t i = 0; i < chain_len; i++)
        json_object_array_add(c, json_object_new_string(chain[i]));
    json_object_object_add(o, "chain", c);
    uint64_t scanned, stored;
    count_pages(m, &scanned, &stored);
    json_object_object_add(o, "pages_scanned", json_object_new_int64((int64_t)scanned));
    json_object_object_add(o, "pages_stored", json_object_new_int64((int64_t)stored));
    json_object_object_add(o, "chain_complete", json_object_new_boolean(chain_error == NULL));
    if (chain_error)
        json_object_object_add(o, "chain_error", json_object_new_string(chain_error));
    json_object *d = json_object_new_array();
    for (size_t i = 0; i < ndb; i++) {
        json_object *e = json_object_new_object();
        json_object_object_add(e, "name", json_object_new_string(dbs[i].name));
        json_object_object_add(e, "files", json_object_new_uint64(dbs[i].files));
        json_object_object_add(e, "size", json_object_new_uint64(dbs[i].size));
        json_object_object_add(e, "stored", json_object_new_uint64(dbs[i].stored));
        json_object_array_add(d, e);
    }
    json_object_object_add(o, "databases", d);
    json_object *files = json_object_new_array();
    for (size_t i = 0; i < m->file_count; i++) {
        const struct eng_mfile *f = &m->files[i];
        json_object *e = json_object_new_object();
        json_object_object_add(e, "name", json_object_new_string(f->name));
        json_object_object_add(e, "kind", json_object_new_string(eng_mfile_kind_name(f->kind)));
        json_object_object_add(e, "size", json_object_new_uint64(f->size));
        json_object_object_add(e, "frames", json_object_new_uint64(f->frames.count));
        json_object_array_add(files, e);
    }
    json_object_object_add(o, "files_detail", files);
    return o;
}

static int run_info(struct opts *o, int argc, char **argv, int first_arg, struct ibs_err *err)
{
    struct store *store = NULL;
    struct eng_catalog cat;
    struct eng_manifest m;
    struct eng_ops_db_size *dbs = NULL;
    size_t ndb = 0, chain_len = 0;
    char **chain = NULL;
    char id[256];
    struct ibs_err cerr;
    int rc;

    eng_manifest_init(&m);
    if (first_arg < argc)
        return ibs_err_set(err, IBS_E_USAGE, "unexpected argument '%s' (see 'ibstream help info')",
                           argv[first_arg]);
    if ((rc = cli_open_repo(o, &store, err)) != 0)
        return rc;
    rc = eng_catalog_load(store, &cat, err);
    if (rc)
        goto out_store;
    rc = eng_catalog_resolve(&cat, opts_str(o, OPT_BACKUP), id, sizeof(id), err);
    eng_catalog_free(&cat);
    if (rc)
        goto out_store;
    if ((rc = eng_manifest_load(store, id, &m, err)) != 0 ||
        (rc = eng_ops_db_sizes(&m, &dbs, &ndb, err)) != 0)
        goto out;
    const char *chain_error = NULL;
    int crc = eng_ops_chain(store, id, &chain, &chain_len, &cerr);
    if (crc == IBS_E_INTEGRITY)
        chain_error = cerr.msg;
    else if (crc) {
        *err = cerr;
        rc = crc;
        goto out;
    }
    if (opts_bool(o, OPT_JSON)) {
        json_object *j = info_json(&m, chain, chain_len, chain_error, dbs, ndb);
        printf("%s\n", json_object_to_json_string_ext(j, JSON_C_TO_STRING_PRETTY |
                                                             JSON_C_TO_STRING_NOSLASHESCAPE));
        json_object_put(j);
    } else {
        print_text(&m, chain, chain_len, chain_error, dbs, ndb);
    }
    if (chain_error)
        rc = ibs_err_set(err, IBS_E_INTEGRITY, "%s", chain_error);
out:
    eng_ops_ids_free(chain, chain_len);
    eng_ops_db_sizes_free(dbs, ndb);
    eng_manifest_free(&m);
out_store:
    store_close(store);
    return rc;
}

const struct cli_cmd cmd_info = {
    .name = "info",
    .summary = "describe one backup: manifest, chain and size of each database",
    .usage = "ibstream info --repo URL [--backup ID|latest] [--json]",
    .description =
        "Prints the backup's manifest in human form: times, server, LSN range, binlog\n"
        "coordinates, sizes; the chain it belongs to (the full backup first, following\n"
        "the parent links of incrementals) and the size of each database (files grouped\n"
        "by their first path component). A chain with a missing member exits 6.",
    .options = info_options,
    .run = run_info,
};
