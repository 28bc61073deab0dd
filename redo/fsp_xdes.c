/* Extent descriptors: which pages of a tablespace are free. Facts: fsp0fsp.h
 * (XDES_*, xdes_is_free()), fsp0types.h (FSP_EXTENT_SIZE), fsp0fsp.cc
 * (xdes_calc_descriptor_page(), xdes_calc_descriptor_index(), xdes_init()).
 * Why skipping free pages is safe in a hot copy: see fsp.h. */
#include <string.h>

#include "redo/fsp.h"
#include "redo/page.h"

unsigned redo_fsp_xdes_size(unsigned logical_size)
{
    unsigned extent = redo_fsp_extent_size(logical_size);
    return XDES_BITMAP + (extent * XDES_BITS_PER_PAGE + 7) / 8;
}

/* Free-ness of the page at offset i of the descriptor's extent. Extents are
 * sized by the logical page size, also in ROW_FORMAT=COMPRESSED tablespaces
 * whose XDES pages come every zip_size pages with zip_size / extent entries. */
static bool descriptor_page_free(const uint8_t *descr, unsigned i)
{
    uint32_t state = redo_be32(descr + XDES_STATE);
    /* State 0: an entry xdes_init() never reached (beyond the free limit when
     * the XDES page was written). XDES_FREE: in the free extent list. */
    if (state == 0 || state == XDES_FREE)
        return true;
    unsigned bit = XDES_FREE_BIT + XDES_BITS_PER_PAGE * i;
    return descr[XDES_BITMAP + bit / 8] >> (bit % 8) & 1;
}

bool redo_fsp_xdes_page_free(const uint8_t *xdes, uint32_t page_no, uint32_t flags,
                             uint32_t free_limit)
{
    if (page_no >= free_limit)
        return true;
    unsigned ps = redo_fsp_flags_physical_size(flags);
    if (!ps)
        return false; /* invalid flags: claim nothing is free */
    unsigned extent = redo_fsp_extent_size(redo_fsp_flags_logical_size(flags));
    unsigned xdes_size = redo_fsp_xdes_size(redo_fsp_flags_logical_size(flags));
    unsigned in_range = page_no % ps;
    const uint8_t *descr = xdes + XDES_ARR_OFFSET + (size_t)(in_range / extent) * xdes_size;
    return descriptor_page_free(descr, in_range % extent);
}

uint32_t redo_fsp_xdes_free_bitmap(const uint8_t *xdes, uint32_t first_page, uint32_t flags,
                                   uint32_t free_limit, uint8_t *free_bits)
{
    unsigned ps = redo_fsp_flags_physical_size(flags);
    uint32_t n_free = 0;
    if (!ps)
        return 0;
    memset(free_bits, 0, ps / 8);
    for (unsigned i = 0; i < ps; i++) {
        /* The last range of a 4-billion-page space would wrap: stop there. */
        if (first_page + i < first_page)
            break;
        if (redo_fsp_xdes_page_free(xdes, first_page + i, flags, free_limit)) {
            free_bits[i / 8] |= (uint8_t)(1u << (i % 8));
            n_free++;
        }
    }
    return n_free;
}

bool redo_fsp_is_doublewrite(uint32_t space_id, uint32_t page_no, uint32_t flags)
{
    if (space_id != TRX_SYS_SPACE)
        return false;
    unsigned extent = redo_fsp_extent_size(redo_fsp_flags_logical_size(flags));
    return page_no >= extent && page_no < 3 * extent;
}
