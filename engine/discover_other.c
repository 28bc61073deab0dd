/* Discovery of the non-InnoDB files copied whole (see eng_discover_other). */
#include "engine/discover.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

struct other_ctx {
    struct eng_file_list *out;
};

static int scan_other(void *opaque, const char *db, const char *file_name, const char *path,
                      const struct stat *st, struct ibs_err *err)
{
    struct other_ctx *ctx = opaque;
    char name[4200];

    if (db ? !eng_other_file_wanted(file_name) : !eng_top_file_wanted(file_name))
        return 0;
    if (db)
        snprintf(name, sizeof(name), "%s/%s", db, file_name);
    else
        snprintf(name, sizeof(name), "%s", file_name);
    return eng_file_list_add(ctx->out, path, name, ENG_FILE_OTHER, 0, (uint64_t)st->st_size, err);
}

/* dir's parent directory into buf ("" if none). */
static void parent_of(const char *path, char *buf, size_t size)
{
    const char *slash = strrchr(path, '/');
    size_t len = slash ? (size_t)(slash - path) : 0;
    if (len >= size)
        len = 0;
    memcpy(buf, path, len);
    buf[len] = '\0';
}

int eng_discover_other(const struct eng_server_info *info, struct eng_file_list *out,
                       struct ibs_err *err)
{
    /* Directories inside the datadir that hold no database: binlogs, undo
     * and redo logs placed in a subdirectory. */
    char binlog_dir[4096];
    const char *skip[5];
    size_t n = 0;

    if (info->log_bin && info->log_bin_basename[0]) {
        parent_of(info->log_bin_basename, binlog_dir, sizeof(binlog_dir));
        skip[n++] = binlog_dir;
    }
    skip[n++] = info->undo_dir;
    skip[n++] = info->log_dir;
    skip[n++] = info->data_home_dir;
    skip[n] = NULL;

    struct other_ctx ctx = {.out = out};
    int rc = eng_scan_datadir(info->datadir, skip, scan_other, &ctx, err);
    if (!rc)
        eng_file_list_sort(out);
    return rc;
}
