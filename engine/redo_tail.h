/* The redo tailer: a thread that follows the server's circular ib_logfile0 from
 * the latest checkpoint while the backup runs, copies only complete
 * mini-transactions whose CRC checks, and streams them as redo frames into the
 * repository ("<prefix>.NNNN"). The copied log is the backup log mariabackup
 * would write: the mtrs verbatim with each end byte set to 1.
 *
 * It never sleeps while there is log to copy; when it catches up it polls the
 * file every poll interval. It cannot see log the server overwrote: the caller
 * compares the server's current LSN with eng_redo_tail_lsn() (the headroom)
 * and fails the backup when the gap exceeds the capacity. */
#ifndef IBS_ENGINE_REDO_TAIL_H
#define IBS_ENGINE_REDO_TAIL_H

#include <stdatomic.h>
#include <stdint.h>

#include "common/err.h"
#include "engine/manifest.h"
#include "s3/store.h"

struct eng_crypt_key;

struct eng_redo_tail_opts {
    const char *log_path; /* the server's ib_logfile0 */
    struct store *store;
    const char *prefix; /* "backups/<id>/redo" */
    int compress_level;
    uint32_t frame_bytes; /* log bytes per frame (default 4 MiB) */
    uint64_t pack_size;   /* largest object (0: ENG_PACK_SIZE_DEFAULT) */
    unsigned poll_us;     /* sleep when caught up (default 1000) */
    uint32_t page_size;   /* innodb_page_size */
    atomic_bool *cancel;
    const struct eng_crypt_key *key; /* encrypts the frames when not NULL (crypt.h) */
    /* Where an incremental's base ended (an mtr boundary), 0 = none. When it
     * is past the server's checkpoint, the copy starts there (the chain
     * already holds the log before it): info.checkpoint_lsn and
     * checkpoint_end_lsn are then that LSN and info.resumed is set. */
    uint64_t resume_lsn;
};

struct eng_redo_tail_info {
    uint32_t format_id;             /* on-disk format identifier */
    uint64_t checkpoint_lsn;        /* where the copied log starts */
    uint64_t server_checkpoint_lsn; /* the server's, in the log header */
    bool resumed;                   /* the copy starts at resume_lsn */
    uint64_t checkpoint_end_lsn;
    uint64_t capacity; /* bytes of log the server can hold */
    uint64_t first_lsn;
};

struct eng_redo_tail;

/* Reads the log header and latest checkpoint (refusing formats older than
 * 10.8), then starts the thread. */
int eng_redo_tail_start(const struct eng_redo_tail_opts *opts, struct eng_redo_tail **out,
                        struct eng_redo_tail_info *info, struct ibs_err *err);

/* The server's log is written and synced up to lsn (Innodb_lsn_flushed): the
 * tailer copies no mtr that ends beyond the highest LSN given so far (at
 * first, the start checkpoint's end). Safe from any thread. */
void eng_redo_tail_set_durable(struct eng_redo_tail *t, uint64_t lsn);

/* The tailer's own failure (the log overwritten, unreadable, the store
 * failing) once its thread has ended with one: returns its code and copies it
 * to err; 0 while it runs or after it ended well. Safe from any thread. */
int eng_redo_tail_failed(struct eng_redo_tail *t, struct ibs_err *err);

/* LSN up to which the log has been copied (safe from any thread). */
uint64_t eng_redo_tail_lsn(struct eng_redo_tail *t);

/* Bytes of log copied per second, averaged since the start. */
double eng_redo_tail_rate(struct eng_redo_tail *t);

/* Waits (at most timeout_ms) until the log is copied through target_lsn (which
 * must be durable: it is passed to eng_redo_tail_set_durable()), then
 * stops the thread, stores the last frame and commits the redo objects. On
 * success the frames, objects and the LSN the copy ends at are handed over
 * (the caller owns them). Frees t in every case; on failure nothing is left in
 * the repository. */
int eng_redo_tail_finish(struct eng_redo_tail *t, uint64_t target_lsn, unsigned timeout_ms,
                         struct eng_frame_list *frames, struct eng_pack_ref **packs,
                         size_t *pack_count, uint64_t *end_lsn, struct ibs_err *err);

/* Stops the thread, removes what it stored, frees t. NULL is a no-op. */
void eng_redo_tail_abort(struct eng_redo_tail *t);

#endif
