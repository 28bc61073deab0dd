/* The backups in a repository: those whose manifest exists (complete), in id
 * order (ids sort by time), and loading one manifest. */
#ifndef IBS_ENGINE_CATALOG_H
#define IBS_ENGINE_CATALOG_H

#include <stddef.h>

#include "common/err.h"
#include "engine/manifest.h"
#include "s3/store.h"

struct eng_catalog {
    char **ids;        /* complete backups, oldest first */
    size_t count;
    char **incomplete; /* backup directories without a manifest (killed or running) */
    size_t incomplete_count;
};

int eng_catalog_load(struct store *store, struct eng_catalog *cat, struct ibs_err *err);
void eng_catalog_free(struct eng_catalog *cat);

/* Resolves "latest" (or NULL) to the newest complete backup, or checks that
 * the named one is complete. The id is copied into out. IBS_E_NOTFOUND with
 * the list of what exists otherwise. */
int eng_catalog_resolve(const struct eng_catalog *cat, const char *wanted, char *out, size_t size,
                        struct ibs_err *err);

/* Reads and parses backups/<id>/manifest. */
int eng_manifest_load(struct store *store, const char *id, struct eng_manifest *m,
                      struct ibs_err *err);

#endif
