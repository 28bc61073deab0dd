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
    /* Page-0 flags the log wrote up to the end of the batch: a copy, since the
     * collector may go on changing its own while the batch is applied. */
    const struct redo_space_info *space_info;
    size_t n_space_info;
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

/* A batch applied on a thread of its own while the caller collects the next
 * one. */
struct prep_apply_job;

/* Starts applying b on a thread of its own (b's space_info is copied; its
 * pages, spaces and inits must stay as they are until prep_apply_wait()); if
 * no thread can be made, applies it before returning. 0, or an error if
 * memory runs out (nothing started). */
int prep_apply_start(const struct prep_batch *b, struct prep_apply_job **job, struct ibs_err *err);

/* Waits for job to finish, adds its page counters to res and frees it;
 * returns what prep_apply_batch() returned, with err. NULL is a no-op. */
int prep_apply_wait(struct prep_apply_job *job, struct eng_prepare_result *res,
                    struct ibs_err *err);

/* The FSP_SPACE_FLAGS the log last wrote to page 0 of space_id, if any, from
 * the n entries of info (redo_recv_spaces()). */
bool prep_flags_from_log(const struct redo_space_info *info, size_t n, uint32_t space_id,
                         uint32_t *flags);

#endif
