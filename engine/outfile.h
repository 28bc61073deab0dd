/* Private to engine/: the files restore writes into its target directory,
 * made one way: paths are checked to stay under the target (a manifest names
 * no file outside it, even a DATA DIRECTORY table's absolute path), parents are
 * created 0750, files 0640 (the server's convention for its data), and a file
 * is finished by setting its size (the tail beyond the last frame is a hole),
 * fsync and close. Many files are finished together: their fsyncs run on a few
 * threads at once, so the file system commits them in one journal transaction
 * or a few rather than one after the other, then their directories are synced. */
#ifndef IBS_ENGINE_OUTFILE_H
#define IBS_ENGINE_OUTFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

/* dir/name[suffix]; leading '/' of name dropped, ".." refused (IBS_E_INTEGRITY). */
int eng_out_path(const char *dir, const char *name, const char *suffix, char *out, size_t size,
                 struct ibs_err *err);
/* Creates (truncates) path and its missing parents; *fd is open for writing. */
int eng_out_create(const char *path, int *fd, struct ibs_err *err);
/* Sets the size, syncs and closes fd (closed in every case). */
int eng_out_finish(int fd, uint64_t size, const char *path, struct ibs_err *err);
/* A file being written, for eng_out_finish_many. */
struct eng_out_file {
    int fd;           /* -1: not open (skipped) */
    uint64_t size;    /* the size it gets */
    const char *path; /* names it in messages; its directory is synced too */
};

/* Finishes n files: sets each one's size, syncs them all (in parallel), syncs
 * the directories that hold them, and closes every descriptor (also on failure,
 * and always when ok is false: then nothing is resized or synced, the files are
 * only closed). Returns the first failure in order. */
int eng_out_finish_many(struct eng_out_file *files, size_t n, bool ok, struct ibs_err *err);
/* Syncs directory dir, so the names of files created in it are durable. */
int eng_out_sync_dir(const char *dir, struct ibs_err *err);
/* Writes a small text file dir/name (synced; its directory is not). */
int eng_out_text(const char *dir, const char *name, const char *text, struct ibs_err *err);

#endif
