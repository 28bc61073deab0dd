/* ibstream list: the backups of a repository, newest first. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/catalog.h"
#include "engine/ops.h"
#include "tools/cli.h"
#include "tools/repo_open.h"

static const int list_options[] = {COMMON_OPTIONS, REPO_OPTIONS, OPT_JSON, OPT_ALL, -1};

static void print_text(const struct eng_manifest *m)
{
    char start[32], end[32];
    struct tm tm;
    time_t t = (time_t)m->start_time;
    gmtime_r(&t, &tm);
    strftime(start, sizeof(start), "%Y-%m-%d %H:%M:%S", &tm);
    t = (time_t)m->end_time;
    gmtime_r(&t, &tm);
    strftime(end, sizeof(end), "%H:%M:%S", &tm);
    printf("%-18s %-11s %s..%s UTC %7.1f s  read %9.1f MB  stored %9.1f MB\n", m->id, m->type,
           start, end, (double)m->duration_ms / 1000.0, (double)m->bytes_read / 1e6,
           (double)m->bytes_stored / 1e6);
    if (m->parent)
        printf("    parent %s\n", m->parent);
    printf("    server %s (MariaDB %s)  LSN %" PRIu64 "..%" PRIu64, m->hostname ? m->hostname : "?",
           m->server_version ? m->server_version : "?", m->checkpoint_lsn, m->end_lsn);
    if (m->binlog_enabled && m->binlog_file)
        printf("  binlog %s:%" PRIu64 "%s%s", m->binlog_file, m->binlog_pos,
               m->gtid && m->gtid[0] ? " gtid " : "", m->gtid && m->gtid[0] ? m->gtid : "");
    printf("\n");
}

struct entry {
    const char *id;
    bool complete;
};

static int cmp_entry_desc(const void *a, const void *b)
{
    return strcmp(((const struct entry *)b)->id, ((const struct entry *)a)->id);
}

static int run_list(struct opts *o, int argc, char **argv, int first_arg, struct ibs_err *err)
{
    struct store *store = NULL;
    struct eng_catalog cat;
    bool json = opts_bool(o, OPT_JSON), all = opts_bool(o, OPT_ALL);
    json_object *root = NULL, *arr = NULL;
    struct entry *entries = NULL;
    int rc;

    if (first_arg < argc)
        return ibs_err_set(err, IBS_E_USAGE, "unexpected argument '%s' (see 'ibstream help list')",
                           argv[first_arg]);
    if ((rc = cli_open_repo(o, &store, err)) != 0)
        return rc;
    if ((rc = eng_catalog_load(store, &cat, err)) != 0) {
        store_close(store);
        return rc;
    }
    size_t n = cat.count + (all ? cat.incomplete_count : 0);
    entries = calloc(n ? n : 1, sizeof(*entries));
    if (!entries) {
        rc = ibs_err_set(err, IBS_E_INTERNAL, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < cat.count; i++)
        entries[i] = (struct entry){cat.ids[i], true};
    for (size_t i = 0; all && i < cat.incomplete_count; i++)
        entries[cat.count + i] = (struct entry){cat.incomplete[i], false};
    qsort(entries, n, sizeof(*entries), cmp_entry_desc);

    if (json) {
        root = json_object_new_object();
        arr = json_object_new_array();
        json_object_object_add(root, "repository", json_object_new_string(store_url(store)));
        json_object_object_add(root, "backups", arr);
    } else if (n == 0) {
        printf("no backups in %s\n", store_url(store));
    }
    for (size_t i = 0; i < n; i++) {
        struct eng_manifest m;
        struct ibs_err merr;
        eng_manifest_init(&m);
        if (!entries[i].complete) {
            if (json) {
                json_object *e = json_object_new_object();
                json_object_object_add(e, "id", json_object_new_string(entries[i].id));
                json_object_object_add(e, "status", json_object_new_string("incomplete"));
                json_object_array_add(arr, e);
            } else {
                printf("%-18s incomplete  (no manifest: failed, killed or still running)\n",
                       entries[i].id);
            }
            continue;
        }
        int mrc = eng_manifest_load(store, entries[i].id, &m, &merr);
        if (mrc && mrc != IBS_E_INTEGRITY) {
            *err = merr;
            rc = mrc;
            eng_manifest_free(&m);
            goto out;
        }
        if (json) {
            json_object *e = mrc ? json_object_new_object() : eng_ops_summary_json(&m);
            if (mrc) {
                json_object_object_add(e, "id", json_object_new_string(entries[i].id));
                json_object_object_add(e, "error", json_object_new_string(merr.msg));
            }
            json_object_object_add(e, "status",
                                   json_object_new_string(mrc ? "unreadable" : "complete"));
            json_object_array_add(arr, e);
        } else if (mrc) {
            printf("%-18s unreadable  %s\n", entries[i].id, merr.msg);
        } else {
            print_text(&m);
        }
        eng_manifest_free(&m);
    }
    if (json)
        printf("%s\n", json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY |
                                                                JSON_C_TO_STRING_NOSLASHESCAPE));
out:
    json_object_put(root);
    free(entries);
    eng_catalog_free(&cat);
    store_close(store);
    return rc;
}

const struct cli_cmd cmd_list = {
    .name = "list",
    .summary = "list the backups of a repository, newest first",
    .usage = "ibstream list --repo URL [--json] [--all]",
    .description =
        "Shows every complete backup (one whose manifest exists): id, type, parent,\n"
        "start and end time (UTC), server host and version, LSN range, binlog\n"
        "coordinates, bytes read and stored, duration. --all also shows incomplete\n"
        "attempts (a backup directory without a manifest: failed, killed or running).\n"
        "--json prints one object {\"repository\", \"backups\": [...]} for scripts;\n"
        "each backup has \"status\": complete, incomplete or unreadable.",
    .options = list_options,
    .run = run_list,
};
