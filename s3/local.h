/* Private to the local-directory driver (s3/local*.c): the store state, path
 * and directory helpers, and the sorted tree walk behind listings.
 *
 * Layout under the root: an object "a/b/c" is the file <root>/a/b/c; a
 * streaming upload lives at <root>/.ibstream-tmp/<upload id>/<key> until it
 * is committed (renamed into place) or aborted. */
#ifndef IBS_S3_LOCAL_H
#define IBS_S3_LOCAL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#include "s3/store_driver.h"

/* The upload area, hidden from listings; keys may not start with it. */
#define LOCAL_TMP_DIR ".ibstream-tmp"
/* Files and directories are private to the owner: backups hold all the data. */
#define LOCAL_FILE_MODE 0600
#define LOCAL_DIR_MODE 0700
/* A writer's buffer, whatever the object size; direct writers hold up to
 * LOCAL_DIRECT_BUFS of them (local_direct.h). Direct writes of 4 MiB kept a
 * backup into a directory as fast as buffered writes; of 1 MiB they made it
 * 7 % slower. */
#define LOCAL_WRITE_BUF (4u << 20)
/* Bounded retries when a concurrent delete removes a directory we just made. */
#define LOCAL_RACE_RETRIES 8

struct local_store {
    char *root; /* absolute, no trailing '/' (except "/") */
    char *tmp;  /* <root>/.ibstream-tmp */
};

/* Sets err from errnum for an operation on path: ENOSPC/EDQUOT -> IBS_E_NOSPACE,
 * everything else IBS_E_STORAGE, with the fix for the common causes. what is
 * a printf format describing the operation ("writing 4096 bytes of k to %s"). */
int local_err(struct ibs_err *err, int errnum, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Rejects keys the file system cannot hold as the same object S3 would. */
int local_check_key(const struct local_store *ls, const char *key, struct ibs_err *err);

/* base + "/" + rel into a new string; NULL on overflow or no memory (err set). */
char *local_path(const char *base, const char *rel, struct ibs_err *err);

/* Creates the root (not its parents) and the upload area if missing. */
int local_ensure_root(const struct local_store *ls, struct ibs_err *err);

/* Creates the directories of rel's parent components under base (0700),
 * syncing each parent that gained an entry. */
int local_mkdir_parents(const char *base, const char *rel, struct ibs_err *err);

/* Removes the now-empty directories of rel's parent components under base,
 * deepest first, stopping at the first that is not empty; never removes base. */
void local_prune_parents(const char *base, const char *rel);

/* fsync of the directory holding path (its last component's parent). */
int local_sync_parent(const char *path, struct ibs_err *err);

/* Removes the directory name under parent_fd and everything in it. */
int local_remove_tree(int parent_fd, const char *name, int depth);

/* Walks the regular files under base_fd whose key (path relative to base_fd)
 * starts with prefix, in S3 key order (bytewise, a directory sorting as its
 * name + '/'). skip_tmp hides LOCAL_TMP_DIR at the top. fn returns non-zero
 * to stop; that value is returned. path names base_fd for messages. */
int local_walk(int base_fd, const char *path, const char *prefix, bool skip_tmp,
               int (*fn)(void *ctx, const char *key, const struct stat *st), void *ctx,
               struct ibs_err *err);

/* Writer operations (s3/local_writer.c) and the whole-object put built on them. */
int local_writer_open(void *state, const char *key, struct store_driver_writer **out,
                      struct ibs_err *err);
int local_writer_write(struct store_driver_writer *w, const void *data, size_t len,
                       struct ibs_err *err);
uint64_t local_writer_offset(const struct store_driver_writer *w);
uint64_t local_writer_capacity(const struct store_driver_writer *w);
int local_writer_commit(struct store_driver_writer *w, struct ibs_err *err);
void local_writer_abort(struct store_driver_writer *w);
int local_put(void *state, const char *key, const void *data, size_t len, struct ibs_err *err);
int local_put_new(void *state, const char *key, const void *data, size_t len, bool *created,
                  struct ibs_err *err);

#endif
