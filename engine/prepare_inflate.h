/* Private to engine/: turning a page_compressed image read from a backup into
 * the page it holds, so prepare can apply the log to it (reference §4.9). */
#ifndef IBS_ENGINE_PREPARE_INFLATE_H
#define IBS_ENGINE_PREPARE_INFLATE_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

/* If page (physical_size bytes, of a tablespace with fsp_flags) is a
 * page_compressed image, replaces it by the uncompressed page with a valid
 * checksum; an ordinary page is left alone. Only zlib, the server's default
 * algorithm, is supported: other algorithms, encrypted images and streams that
 * do not inflate to exactly one page give IBS_E_REDO naming file and page. */
int prep_inflate_page(uint8_t *page, size_t physical_size, uint32_t fsp_flags, const char *file,
                      uint32_t page_no, struct ibs_err *err);

#endif
