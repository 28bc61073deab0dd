/* Verifying backups in a repository without restoring them: every frame is
 * read back with ranged reads (bounded memory: one frame buffer per worker)
 * and its header, XXH3 and, in data frames, every InnoDB page checksum are
 * checked; every pack the manifest lists must exist with its size; an
 * incremental's chain must be complete. Problems are reported per file, the
 * first one of each file, naming object, offset, file and page. */
#ifndef IBS_ENGINE_VERIFY_H
#define IBS_ENGINE_VERIFY_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "s3/store.h"

struct eng_verify_backup {
    const char *id;
    size_t files;
    uint64_t frames;
    uint64_t pages;        /* InnoDB pages checked */
    uint64_t bytes_stored; /* bytes read back */
    size_t problems;       /* 0: restorable */
};

struct eng_verify_opts {
    struct store *store;
    const char *backup; /* id or "latest" (NULL: latest); ignored with all */
    bool all;           /* every complete backup */
    unsigned parallel;  /* files checked at once (0: 2) */
    atomic_bool *cancel;
    /* Called for each problem as found (from worker threads, serialised). */
    void (*on_problem)(void *ctx, const char *backup_id, const char *what);
    /* Called once per backup when it is done. */
    void (*on_backup)(void *ctx, const struct eng_verify_backup *result);
    void *ctx;
};

struct eng_verify_result {
    size_t backups;
    size_t backups_bad;
    size_t problems;
};

/* Returns 0 when every backup verified is restorable; IBS_E_INTEGRITY when a
 * problem was found (err says how many and where the first is);
 * IBS_E_NOTFOUND when the named backup does not exist; IBS_E_STORAGE (or
 * another code) when the repository could not be read to the end. */
int eng_verify_run(const struct eng_verify_opts *opts, struct eng_verify_result *result,
                   struct ibs_err *err);

#endif
