/* Private to engine/: for every page the log initialises or frees, the start
 * LSN of the last mini-transaction that does (INIT_PAGE or FREE_PAGE). When
 * prepare applies the log in batches, a page's records in one batch are
 * pointless when a later batch initialises or frees the page again: recovery
 * skips them without reading the page (recv_sys_t::will_avoid_read()). Without
 * this a page freed later, and therefore stored as a hole or punched, would
 * get its older records applied to zeros. */
#ifndef IBS_ENGINE_PREPARE_INITS_H
#define IBS_ENGINE_PREPARE_INITS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

struct prep_inits;

struct prep_inits *prep_inits_new(struct ibs_err *err);
void prep_inits_free(struct prep_inits *in);

/* Records that the mtr starting at lsn initialises or frees the page; keeps
 * the largest lsn per page. */
int prep_inits_note(struct prep_inits *in, uint32_t space_id, uint32_t page_no, uint64_t lsn,
                    struct ibs_err *err);

/* The start LSN of the last INIT_PAGE/FREE_PAGE of the page, 0 if none. */
uint64_t prep_inits_last(const struct prep_inits *in, uint32_t space_id, uint32_t page_no);

size_t prep_inits_count(const struct prep_inits *in);

#endif
