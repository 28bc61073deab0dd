/* The repository lock: one object, <repo>/lock, naming its holder (host, pid,
 * start time, command, a random token). Commands that write to the repository
 * (backup, expire, cleanup) take it first; a second one fails at once with
 * IBS_E_LOCKED naming the holder. A stale lock (same host and the process is
 * gone, or another host's lock older than stale_after_s) is broken with a
 * warning.
 *
 * Stores offer no exclusive create here (S3 emulators lack conditional PUT),
 * so taking the lock is put-then-read-back: the lock is ours only if, after a
 * short pause, the object still holds our token. Two takers racing inside
 * that window can both succeed; docs/operations.md says what this guarantees. */
#ifndef IBS_ENGINE_LOCK_H
#define IBS_ENGINE_LOCK_H

#include <stdint.h>
#include <time.h>

#include "common/err.h"
#include "s3/store.h"

#define ENG_LOCK_KEY "lock"
#define ENG_LOCK_DEFAULT_STALE_S (24u * 3600u)

struct eng_lock_holder {
    char host[256];
    long pid;
    uint64_t pid_start; /* the process's start time, to tell a reused pid (0: unknown) */
    int64_t started; /* unix seconds */
    char command[32];
    char token[40];
};

struct eng_lock;

/* Takes the lock for command. stale_after_s 0 means the default. On success
 * *out holds it; release it with eng_lock_release. IBS_E_LOCKED when another
 * live holder has it. */
int eng_lock_acquire(struct store *store, const char *command, uint64_t stale_after_s,
                     struct eng_lock **out, struct ibs_err *err);

/* The same in two steps, for a command with reading to do first: take puts
 * the lock, confirm ends the settling pause (what is left of it) and reads
 * the lock back. Nothing may be written to the repository in between. After
 * a failed confirm the lock is another taker's: release it (which leaves it
 * alone) or free nothing else. Stores that create objects exclusively are
 * confirmed at once. */
int eng_lock_take(struct store *store, const char *command, uint64_t stale_after_s,
                  struct eng_lock **out, struct ibs_err *err);
int eng_lock_confirm(struct eng_lock *lk, struct ibs_err *err);

/* Deletes the lock if it still holds our token (a broken-and-retaken lock is
 * left to its new holder) and frees lk; NULL is a no-op. */
int eng_lock_release(struct eng_lock *lk, struct ibs_err *err);

/* Reads the current holder: IBS_E_NOTFOUND when unlocked, IBS_E_INTEGRITY
 * when the object is not a lock ibstream wrote. */
int eng_lock_read(struct store *store, struct eng_lock_holder *holder, struct ibs_err *err);

/* Process-wide settings for commands whose engine takes the lock itself
 * (backup): the command line sets them once from its options. */
void eng_lock_configure(const char *command, uint64_t stale_after_s);
int eng_lock_acquire_configured(struct store *store, struct eng_lock **out, struct ibs_err *err);
int eng_lock_take_configured(struct store *store, struct eng_lock **out, struct ibs_err *err);

#endif
