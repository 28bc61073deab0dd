/* InnoDB tablespace structure: the tablespace flags (FSP_SPACE_FLAGS), the
 * FSP header on page 0, and the extent descriptors (XDES) that say which pages
 * are in use. Pure functions over page buffers.
 *
 * Format facts: storage/innobase/include/fsp0types.h (flags, extent size),
 * fsp0fsp.h (FSP_*, XDES_*), fil0fil.h (fil_space_t::is_valid_flags(),
 * logical_size(), physical_size(), zip_size()), fil0crypt.cc (crypt data),
 * MariaDB 10.11. */
#ifndef IBS_REDO_FSP_H
#define IBS_REDO_FSP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

/* --- tablespace flags (fsp0types.h) ------------------------------------ */

/* Legacy layout (bit 4 clear). */
#define FSP_FLAGS_POS_POST_ANTELOPE 0
#define FSP_FLAGS_POS_ZIP_SSIZE 1
#define FSP_FLAGS_POS_ATOMIC_BLOBS 5
#define FSP_FLAGS_POS_PAGE_SSIZE 6
#define FSP_FLAGS_POS_RESERVED 10
#define FSP_FLAGS_POS_PAGE_COMPRESSION 16
#define FSP_FLAGS_MASK_POST_ANTELOPE (1u << FSP_FLAGS_POS_POST_ANTELOPE)
#define FSP_FLAGS_MASK_ZIP_SSIZE (15u << FSP_FLAGS_POS_ZIP_SSIZE)
#define FSP_FLAGS_MASK_ATOMIC_BLOBS (1u << FSP_FLAGS_POS_ATOMIC_BLOBS)
#define FSP_FLAGS_MASK_PAGE_SSIZE (15u << FSP_FLAGS_POS_PAGE_SSIZE)
#define FSP_FLAGS_MASK_RESERVED (63u << FSP_FLAGS_POS_RESERVED)
#define FSP_FLAGS_MASK_PAGE_COMPRESSION (1u << FSP_FLAGS_POS_PAGE_COMPRESSION)
#define FSP_FLAGS_MASK 0x1FFFFu /* bits 0..16: everything a legacy file may carry */
/* Bits 27..31 exist only in memory (DATA DIRECTORY, compression level). */
#define FSP_FLAGS_MEM_MASK (~0u << 27)

/* full_crc32 layout (bit 4 set). */
#define FSP_FLAGS_FCRC32_POS_PAGE_SSIZE 0
#define FSP_FLAGS_FCRC32_POS_MARKER 4
#define FSP_FLAGS_FCRC32_POS_COMPRESSED_ALGO 5
#define FSP_FLAGS_FCRC32_MASK_PAGE_SSIZE (15u << FSP_FLAGS_FCRC32_POS_PAGE_SSIZE)
#define FSP_FLAGS_FCRC32_MASK_MARKER (1u << FSP_FLAGS_FCRC32_POS_MARKER)
#define FSP_FLAGS_FCRC32_MASK_COMPRESSED_ALGO (7u << FSP_FLAGS_FCRC32_POS_COMPRESSED_ALGO)

/* page_compressed algorithms (fsp0types.h). */
#define PAGE_ZLIB_ALGORITHM 1
#define PAGE_LZ4_ALGORITHM 2
#define PAGE_LZO_ALGORITHM 3
#define PAGE_LZMA_ALGORITHM 4
#define PAGE_BZIP2_ALGORITHM 5
#define PAGE_SNAPPY_ALGORITHM 6
#define PAGE_ALGORITHM_LAST PAGE_SNAPPY_ALGORITHM

/* Space ids at or above this are not real tablespaces (fsp0types.h). */
#define SRV_SPACE_ID_UPPER_BOUND 0xFFFFFFF0u
#define SRV_TMP_SPACE_ID 0xFFFFFFFEu
#define TRX_SYS_SPACE 0u

/* Fixed pages (fsp0types.h). */
#define FSP_XDES_OFFSET 0u
#define FSP_IBUF_BITMAP_OFFSET 1u
#define FSP_FIRST_INODE_PAGE_NO 2u
#define FSP_TRX_SYS_PAGE_NO 5u /* in the system tablespace */

static inline bool redo_fsp_flags_full_crc32(uint32_t flags)
{
    return flags & FSP_FLAGS_FCRC32_MASK_MARKER;
}

/* ROW_FORMAT=COMPRESSED page size, 0 if none (fil_space_t::zip_size()). */
static inline unsigned redo_fsp_flags_zip_size(uint32_t flags)
{
    unsigned zssize = (flags & FSP_FLAGS_MASK_ZIP_SSIZE) >> FSP_FLAGS_POS_ZIP_SSIZE;
    return redo_fsp_flags_full_crc32(flags) || !zssize ? 0 : 512u << zssize;
}

/* innodb_page_size the file was created with, 0 if the flags say none
 * (fil_space_t::logical_size()). Legacy PAGE_SSIZE 0 means 16K. */
unsigned redo_fsp_flags_logical_size(uint32_t flags);

/* Size of each page in the file: the zip size, else the logical size. */
unsigned redo_fsp_flags_physical_size(uint32_t flags);

/* page_compressed algorithm of a full_crc32 tablespace (0 = none); a legacy
 * page_compressed tablespace records its algorithm in each page, so this
 * returns 0 for it: see redo_fsp_flags_page_compressed(). */
unsigned redo_fsp_flags_compression_algo(uint32_t flags);

/* PAGE_COMPRESSED=1 in either layout (fil_space_t::is_compressed()). */
bool redo_fsp_flags_page_compressed(uint32_t flags);

/* Pages per extent for a logical page size (FSP_EXTENT_SIZE): 1 MiB of pages
 * up to 16K pages, 64 pages above. */
unsigned redo_fsp_extent_size(unsigned logical_size);

/* Validates flags read from page 0 like fil_space_t::is_valid_flags() (with
 * is_ibd false: no guess about MariaDB 10.1.0-10.1.20 flags, which are reported
 * invalid) and explains in err what is wrong ("fsp: flags 0x...: ..."). */
int redo_fsp_flags_validate(uint32_t flags, struct ibs_err *err);

/* "full_crc32 16K page_compressed(zlib)", "legacy 16K zip 8K", for messages.
 * Returns buf. */
const char *redo_fsp_flags_str(uint32_t flags, char *buf, size_t len);

/* "zlib", "lz4", ..., NULL if unknown. */
const char *redo_fsp_algo_name(unsigned algo);

/* --- FSP header (fsp0fsp.h) --------------------------------------------- */

#define FSP_HEADER_OFFSET 38 /* FIL_PAGE_DATA */
/* Fields relative to FSP_HEADER_OFFSET. */
#define FSP_SPACE_ID 0
#define FSP_NOT_USED 4
#define FSP_SIZE 8        /* tablespace size in pages */
#define FSP_FREE_LIMIT 12 /* pages at or above are free by definition */
#define FSP_SPACE_FLAGS 16
#define FSP_FRAG_N_USED 20
#define FLST_BASE_NODE_SIZE 16
#define FLST_NODE_SIZE 12
#define FSP_FREE 24
#define FSP_FREE_FRAG (24 + FLST_BASE_NODE_SIZE)
#define FSP_FULL_FRAG (24 + 2 * FLST_BASE_NODE_SIZE)
#define FSP_SEG_ID (24 + 3 * FLST_BASE_NODE_SIZE)
#define FSP_SEG_INODES_FULL (32 + 3 * FLST_BASE_NODE_SIZE)
#define FSP_SEG_INODES_FREE (32 + 4 * FLST_BASE_NODE_SIZE)
#define FSP_HEADER_SIZE (32 + 5 * FLST_BASE_NODE_SIZE)

/* --- extent descriptors (fsp0fsp.h) -------------------------------------- */

#define XDES_ID 0
#define XDES_FLST_NODE 8
#define XDES_STATE (FLST_NODE_SIZE + 8)
#define XDES_BITMAP (FLST_NODE_SIZE + 12)
#define XDES_BITS_PER_PAGE 2
#define XDES_FREE_BIT 0
#define XDES_CLEAN_BIT 1
/* Descriptor states; 0 is an entry not yet initialised (beyond FSP_FREE_LIMIT). */
#define XDES_FREE 1
#define XDES_FREE_FRAG 2
#define XDES_FULL_FRAG 3
#define XDES_FSEG 4
/* Offset of the descriptor array on page 0 and on every XDES page. */
#define XDES_ARR_OFFSET (FSP_HEADER_OFFSET + FSP_HEADER_SIZE)

/* Size of one descriptor for a logical page size (XDES_SIZE). */
unsigned redo_fsp_xdes_size(unsigned logical_size);

/* The page holding page_no's descriptor: page 0 or a multiple of the physical
 * page size (xdes_calc_descriptor_page()). */
static inline uint32_t redo_fsp_xdes_page_no(uint32_t page_no, unsigned physical_size)
{
    return page_no - page_no % physical_size;
}

/* --- what a file says about itself -------------------------------------- */

/* Crypt data on page 0 (fil_space_read_crypt_data(), fil0crypt.cc). */
#define CRYPT_MAGIC_SIZE 6
#define CRYPT_SCHEME_UNENCRYPTED 0
#define CRYPT_SCHEME_1 1
#define FIL_ENCRYPTION_DEFAULT 0
#define FIL_ENCRYPTION_ON 1
#define FIL_ENCRYPTION_OFF 2

struct redo_fsp_info {
    uint32_t space_id;
    uint32_t flags;         /* FSP_SPACE_FLAGS */
    unsigned logical_size;  /* innodb_page_size of the server that made it */
    unsigned physical_size; /* size of every page in the file */
    unsigned zip_size;      /* ROW_FORMAT=COMPRESSED page size, 0 if not */
    bool full_crc32;
    bool page_compressed;
    unsigned compression_algo; /* full_crc32 page_compressed algorithm, 0 if legacy/none */
    uint32_t size;             /* FSP_SIZE, pages (the whole tablespace for ibdata*) */
    uint32_t free_limit;       /* FSP_FREE_LIMIT */
    uint64_t file_pages;       /* file_size / physical_size */
    bool crypt_data;           /* page 0 carries crypt data */
    unsigned crypt_type;       /* CRYPT_SCHEME_* */
    unsigned crypt_mode;       /* FIL_ENCRYPTION_* */
    uint32_t crypt_min_key_version;
    uint32_t crypt_key_id;
};

/* Reads what the first page of a tablespace file says. buf holds the first
 * len bytes of the file (len >= the physical page size, or the whole file if
 * shorter: 64 KiB covers every format), file_size is the file's size.
 * Checks: page number 0, space id in FIL header = FSP_SPACE_ID, flags valid,
 * a file that holds at least one page, and page 0's checksum. Fails with
 * IBS_E_INTEGRITY and a message naming the cause (the caller prefixes the file);
 * in a hot copy page 0 may be read while the server writes it: read again
 * before giving up, as for any page.
 * The second and later files of a multi-file system tablespace have no FSP
 * header: their page size is that of the first file. */
int redo_fsp_read_page0(const uint8_t *buf, size_t len, uint64_t file_size,
                        struct redo_fsp_info *out, struct ibs_err *err);

/* --- free pages --------------------------------------------------------- */

/* Which pages of an XDES page's range are free, i.e. never need copying.
 *
 * A page p is free when p >= FSP_FREE_LIMIT, or its descriptor's state is 0
 * (not initialised) or XDES_FREE, or its XDES_FREE_BIT is set. Skipping free
 * pages in a hot copy (writing zeros, or nothing, in their place) is safe when
 *  (a) the XDES page (and page 0 for FSP_FREE_LIMIT) was read after the backup's
 *      start checkpoint and validated: a page in use at that moment shows as
 *      used, and a page allocated later is initialised in the redo log by
 *      INIT_PAGE (fsp_page_create() -> mtr_t::init()), which needs no old image;
 *  (b) prepare discards the records of a page that the log later frees
 *      (FREE_PAGE), as recovery does, so a page freed between the checkpoint and
 *      the XDES read is not rebuilt from zeros;
 *  (c) the restored page is zero: InnoDB treats a zero page as valid and a free
 *      page is never read before INIT_PAGE rewrites it.
 * mariadb-backup 10.11 copies every page; this is an optimisation.
 *
 * first_page: the XDES page number (0 or a multiple of physical_size);
 * xdes: that page; free_limit: FSP_FREE_LIMIT from page 0; free_bits: one bit
 * per page of the range (physical_size pages, bit i = page first_page + i,
 * LSB first in each byte), set when the page is free; it must hold
 * physical_size / 8 bytes. Returns the number of free pages in the range. */
uint32_t redo_fsp_xdes_free_bitmap(const uint8_t *xdes, uint32_t first_page, uint32_t flags,
                                   uint32_t free_limit, uint8_t *free_bits);

/* Whether page_no (in the range of xdes) is free, by the rules above. */
bool redo_fsp_xdes_page_free(const uint8_t *xdes, uint32_t page_no, uint32_t flags,
                             uint32_t free_limit);

/* The doublewrite buffer of the system tablespace: pages [extent, 3 * extent)
 * hold copies of other pages in flight (their own page numbers and checksums
 * may not match their position), mariadb-backup does not check them
 * (page_is_corrupted() in extra/mariabackup/fil_cur.cc). */
bool redo_fsp_is_doublewrite(uint32_t space_id, uint32_t page_no, uint32_t flags);

#endif
