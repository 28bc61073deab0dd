/* The page copier: reads data files with io_uring in large aligned chunks,
 * validates every InnoDB page's checksum (re-reading pages that the server may
 * be writing), and turns each chunk into a frame in the data packs. Several
 * workers (--parallel) take files from one list; each worker owns a ring, a
 * codec and queue_depth chunk buffers, so memory is
 * parallel x queue_depth x chunk_size (plus the packs' upload buffers). */
#ifndef IBS_ENGINE_COPIER_H
#define IBS_ENGINE_COPIER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"
#include "engine/manifest.h"
#include "engine/pack.h"

struct io_throttle;
struct eng_crypt_key;

struct eng_copy_job {
    const char *path;       /* absolute path to read */
    uint32_t file_id;       /* index of mf in the manifest */
    struct eng_mfile *mf;   /* filled by the copier: size, flags, page size, frames */
    bool innodb;            /* validate pages; skip pages beyond the free limit */
    uint32_t first_page_no; /* page number at offset 0 (ibdata2.. continue ibdata1) */
    bool tablespace_head;   /* the file holds page 0 of its tablespace */
    uint32_t page_size;     /* innodb_page_size: for files that do not hold page 0 */
};

struct eng_copy_opts {
    unsigned parallel;     /* workers */
    unsigned queue_depth;  /* reads in flight per worker */
    uint32_t chunk_size;   /* bytes per read and per frame; a multiple of 64 KiB */
    int compress_level;
    struct io_throttle *throttle; /* may be NULL */
    struct eng_pack_writer *packs;
    atomic_bool *cancel;   /* set by anyone to stop the copy */
    unsigned page_retries; /* re-reads of a page that fails its checksum */
    /* Incremental: keep only pages whose FIL_PAGE_LSN is newer than this,
     * stored as page frames; 0 copies everything (a full backup). */
    uint64_t incremental_lsn;
    const struct eng_crypt_key *key; /* encrypts the frames when not NULL (crypt.h) */
};

struct eng_copy_stats {
    _Atomic uint64_t bytes_read;
    _Atomic uint64_t bytes_stored;
    _Atomic uint64_t pages_reread;
    _Atomic uint64_t files_done;
    _Atomic uint64_t bytes_total; /* planned: sum of what will be read, for progress */
    _Atomic uint64_t pages_scanned;
    _Atomic uint64_t pages_stored;
};

/* Copies every job; returns the first failure (the others stop at their next
 * chunk). A file that disappeared since discovery (dropped table) is recorded
 * with size 0 and no frames: the redo log's FILE_DELETE accounts for it. */
int eng_copy_files(const struct eng_copy_opts *opts, struct eng_copy_job *jobs, size_t n,
                   struct eng_copy_stats *stats, struct ibs_err *err);

#endif
