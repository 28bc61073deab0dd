/* Private to engine/: the files restore writes into its target directory,
 * made one way: paths are checked to stay under the target (a manifest names
 * no file outside it, even a DATA DIRECTORY table's absolute path), parents are
 * created 0750, files 0640 (the server's convention for its data), and a file
 * is finished by setting its size (the tail beyond the last frame is a hole),
 * fsync and close. */
#ifndef IBS_ENGINE_OUTFILE_H
#define IBS_ENGINE_OUTFILE_H

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
/* Writes a small text file dir/name. */
int eng_out_text(const char *dir, const char *name, const char *text, struct ibs_err *err);

#endif
