/* Walking the datadir and its database directories (see eng_scan_datadir). */
#include "engine/discover.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

static int dir_error(const char *path, int errnum, struct ibs_err *err)
{
    if (errnum == EACCES || errnum == EPERM)
        ibs_err_set(err, IBS_E_IO, "cannot read %s: %s; run ibstream as the mysql user or a member of "
                    "its group", path, strerror(errnum));
    else
        ibs_err_set(err, IBS_E_IO, "cannot read directory %s: %s", path, strerror(errnum));
    err->sys_errno = errnum;
    return IBS_E_IO;
}

static bool skipped(const char *path, const char *const *skip_dirs)
{
    for (size_t i = 0; skip_dirs && skip_dirs[i]; i++)
        if (strcmp(path, skip_dirs[i]) == 0)
            return true;
    return false;
}

/* Visits one directory; db is NULL for the datadir itself, whose database
 * directories are then visited in turn. */
static int scan_dir(const char *dir, const char *db, const char *const *skip_dirs, eng_scan_fn fn,
                    void *ctx, struct ibs_err *err)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    char path[8192];
    int rc = 0;

    if (!d)
        return dir_error(dir, errno, err);
    for (;;) {
        errno = 0;
        de = readdir(d);
        if (!de) {
            if (errno)
                rc = dir_error(dir, errno, err);
            break;
        }
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) >= sizeof(path)) {
            rc = ibs_err_set(err, IBS_E_IO, "path %s/%s is too long", dir, de->d_name);
            break;
        }
        struct stat st;
        /* stat, not lstat: symlinked database directories and MyISAM/Aria
         * DATA DIRECTORY files are symlinks the server follows too. */
        if (stat(path, &st) != 0) {
            if (errno == ENOENT)
                continue; /* dropped meanwhile, or a dangling symlink */
            rc = ibs_err_sys(err, IBS_E_IO, errno, "cannot stat %s", path);
            break;
        }
        if (S_ISREG(st.st_mode)) {
            rc = fn(ctx, db, de->d_name, path, &st, err);
        } else if (S_ISDIR(st.st_mode) && !db && eng_database_dir_wanted(de->d_name) &&
                   !skipped(path, skip_dirs)) {
            rc = scan_dir(path, de->d_name, skip_dirs, fn, ctx, err);
        }
        if (rc)
            break;
    }
    closedir(d);
    return rc;
}

int eng_scan_datadir(const char *datadir, const char *const *skip_dirs, eng_scan_fn fn, void *ctx,
                     struct ibs_err *err)
{
    return scan_dir(datadir, NULL, skip_dirs, fn, ctx, err);
}
