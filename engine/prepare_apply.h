/* Private to engine/: applying one batch of collected redo records to the
 * data files, on several threads. Pages are independent within a batch (each
 * page's records are complete and in LSN order), so workers take runs of the
 * sorted page list, each with its own page buffer, and read, apply and write
 * their pages with pread/pwrite on the shared descriptors. */
#ifndef IBS_ENGINE_PREPARE_APPLY_H
#define IBS_ENGINE_PREPARE_APPLY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "engine/prepare.h"
#include "engine/prepare_inits.h"
#include "engine/prepare_spaces.h"
#include "redo/recv.h"

struct prep_batch {
    const struct eng_prepare_opts *opts; /* skip: called from every worker */
    struct prep_spaces *spaces;          /* page 0 may set a file's flags */
    const struct redo_recv *recv;        /* page-0 flags the log wrote */
    const struct prep_inits *inits;      /* NULL: no page is skipped for a later init */
    struct redo_recv_page *const *pages; /* ascending (space, page) */
    size_t n_pages;
    unsigned threads; /* workers; 1 applies on the calling thread */
};

/* Applies every page of the batch and adds to res's page counters. Pages 0
 * are applied first, alone: they can set the flags (page size, checksum,
 * compression) of their file that the space's other pages are applied with,
 * as in one pass in page order. On error the first failing page in page
 * order among those tried is reported; other pages may have been written,
 * which a failed prepare leaves anyway (the directory stays unprepared, and
 * re-applying is harmless by the page-LSN rule). */
int prep_apply_batch(const struct prep_batch *b, struct eng_prepare_result *res,
                     struct ibs_err *err);

/* The FSP_SPACE_FLAGS the log last wrote to page 0 of space_id, if any. */
bool prep_flags_from_log(const struct redo_recv *recv, uint32_t space_id, uint32_t *flags);

#endif
