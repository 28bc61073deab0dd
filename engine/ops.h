/* Repository operations for scheduled jobs: describing backups (list, info),
 * their chains, retention (expire) and removing what killed runs left behind
 * (cleanup). Verification is in engine/verify.h, the repository lock in
 * engine/lock.h. */
#ifndef IBS_ENGINE_OPS_H
#define IBS_ENGINE_OPS_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "common/err.h"
#include "engine/catalog.h"
#include "engine/manifest.h"
#include "s3/store.h"

/* ---- describing backups (ops_describe.c) ---- */

/* A new JSON object summarising m: id, type, parent, times, server, LSNs,
 * binlog coordinates, bytes, duration. The caller owns it (json_object_put). */
json_object *eng_ops_summary_json(const struct eng_manifest *m);

/* Bytes of one database (the first path component of its files' names;
 * files at the top of the data directory count as "(server)"). */
struct eng_ops_db_size {
    char *name;
    size_t files;
    uint64_t size;   /* bytes the restored files have */
    uint64_t stored; /* bytes of this backup's frames for them */
};

/* Groups m's files by database, sorted by name. Free with eng_ops_db_sizes_free. */
int eng_ops_db_sizes(const struct eng_manifest *m, struct eng_ops_db_size **out, size_t *count,
                     struct ibs_err *err);
void eng_ops_db_sizes_free(struct eng_ops_db_size *sizes, size_t count);

/* The database a file name belongs to, into buf. */
void eng_ops_db_of(const char *file_name, char *buf, size_t size);

/* The chain of backup id: the full it starts from first, id last, following
 * "parent" links. Every member's manifest must exist: a missing one is
 * IBS_E_INTEGRITY naming it (the chain cannot be restored). ids are malloc'd
 * strings the caller frees with eng_ops_ids_free. */
int eng_ops_chain(struct store *store, const char *id, char ***ids, size_t *count,
                  struct ibs_err *err);
void eng_ops_ids_free(char **ids, size_t count);

/* ---- retention (ops_expire.c) ---- */

struct eng_expire_policy {
    unsigned retain_full;  /* newest full backups kept with their incrementals; >= 1 */
    unsigned retain_days;  /* also keep backups that ended within this many days; 0: no */
    time_t now;
};

struct eng_expire_item {
    char *id;
    char *type;
    uint64_t bytes;  /* bytes of its objects */
    size_t objects;
};

struct eng_expire_plan {
    struct eng_expire_item *remove; /* newest first: incrementals before their bases */
    size_t remove_count;
    char **keep;                    /* ids kept, oldest first */
    size_t keep_count;
};

/* Decides what the policy removes. A full that a kept incremental needs is
 * always kept. Incomplete attempts are left to cleanup. */
int eng_expire_plan(struct store *store, const struct eng_expire_policy *policy,
                    struct eng_expire_plan *plan, struct ibs_err *err);

/* Deletes the plan's backups, each one manifest first (so a half-deleted
 * backup is never listed as complete), then its other objects. on_done, if
 * not NULL, is called after each backup is gone. */
int eng_expire_apply(struct store *store, const struct eng_expire_plan *plan,
                     void (*on_done)(void *ctx, const struct eng_expire_item *item), void *ctx,
                     struct ibs_err *err);
void eng_expire_plan_free(struct eng_expire_plan *plan);

/* Deletes every object whose key starts with prefix, except skip (may be NULL). */
int eng_ops_delete_prefix(struct store *store, const char *prefix, const char *skip,
                          struct ibs_err *err);

/* ---- leftovers of killed runs (ops_cleanup.c) ---- */

struct eng_cleanup_opts {
    uint64_t older_than_s; /* only what is at least this old */
    bool dry_run;
    time_t now;
    /* Called for everything removed (or that would be): kind is "upload" or
     * "object". */
    void (*on_item)(void *ctx, const char *kind, const char *key, uint64_t bytes);
    void *ctx;
};

struct eng_cleanup_result {
    size_t uploads_aborted;
    bool uploads_unsupported; /* the store cannot list multipart uploads */
    char uploads_note[256];   /* why, when unsupported */
    size_t objects_removed;
    uint64_t bytes_freed;
};

/* Aborts stale multipart uploads under backups/ and removes objects under
 * backups/ that no manifest references (of incomplete attempts, or not listed
 * by their backup's manifest). The caller holds the repository lock, so no
 * backup is running. */
int eng_cleanup_run(struct store *store, const struct eng_cleanup_opts *opts,
                    struct eng_cleanup_result *res, struct ibs_err *err);

/* ---- figures for --metrics-file (ops_stats.c) ---- */

/* What the command moved, noted by the engine (backup) for the metrics the
 * command line writes at exit. Thread-safe. */
void eng_ops_note_bytes(uint64_t bytes_read, uint64_t bytes_stored);
void eng_ops_noted_bytes(uint64_t *bytes_read, uint64_t *bytes_stored, bool *any);

#endif
