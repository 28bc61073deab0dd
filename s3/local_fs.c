/* File-system helpers of the local-directory driver: error mapping, paths,
 * creating and pruning the directories that '/' in keys becomes. */
#include "s3/local.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Deep enough for any key of 1024 bytes (at most 512 components). */
#define LOCAL_MAX_DEPTH 600

int local_err(struct ibs_err *err, int errnum, const char *path, const char *fmt, ...)
{
    char what[IBS_ERR_MSG_MAX / 2];
    const char *fix = "";
    enum ibs_code code = IBS_E_STORAGE;
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    switch (errnum) {
    case ENOSPC:
    case EDQUOT:
        code = IBS_E_NOSPACE;
        fix = "; free space on that file system or choose another repository";
        break;
    case EACCES:
    case EPERM:
        fix = "; give the user running ibstream write access to it or choose another repository";
        break;
    case EROFS:
        fix = "; the file system is mounted read-only: choose a writable repository";
        break;
    case ENOTDIR:
    case EISDIR:
    case ENOTEMPTY:
    case EEXIST:
        /* S3 can hold "a" and "a/b" at once; a directory tree cannot. */
        fix = "; a local repository cannot hold an object and a folder of the same name";
        break;
    default:
        break;
    }
    ibs_err_set(err, code, "local: %s (%s): %s%s", what, path, strerror(errnum), fix);
    err->sys_errno = errnum;
    return code;
}

int local_check_key(const struct local_store *ls, const char *key, struct ibs_err *err)
{
    size_t n = strlen(LOCAL_TMP_DIR);

    if (strncmp(key, LOCAL_TMP_DIR, n) == 0 && (key[n] == '/' || key[n] == '\0'))
        return ibs_err_set(err, IBS_E_USAGE,
                           "local: key %s: \"" LOCAL_TMP_DIR "\" is reserved for uploads in "
                           "progress in %s; choose another name",
                           key, ls->root);
    return 0;
}

char *local_path(const char *base, const char *rel, struct ibs_err *err)
{
    char *path;
    bool slash = !(base[0] == '/' && base[1] == '\0');

    if (strlen(base) + strlen(rel) + 2 > PATH_MAX) {
        ibs_err_set(err, IBS_E_USAGE, "local: %s/%s is longer than PATH_MAX; use shorter keys",
                    base, rel);
        return NULL;
    }
    if (asprintf(&path, "%s%s%s", base, slash ? "/" : "", rel) < 0) {
        ibs_err_set(err, IBS_E_INTERNAL, "local: out of memory");
        return NULL;
    }
    return path;
}

int local_sync_parent(const char *path, struct ibs_err *err)
{
    char dir[PATH_MAX];
    const char *slash = strrchr(path, '/');
    size_t len = slash ? (size_t)(slash - path) : 0;
    int fd, rc = 0;

    if (len == 0) {
        strcpy(dir, "/");
    } else {
        memcpy(dir, path, len);
        dir[len] = '\0';
    }
    fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return local_err(err, errno, dir, "opening directory to sync it");
    if (fsync(fd) != 0 && errno != EINVAL)
        rc = local_err(err, errno, dir, "syncing directory");
    close(fd);
    return rc;
}

/* mkdir with the exact mode whatever the umask, syncing the parent so the
 * new entry survives a crash. 1 if created, 0 if it existed, else an error. */
static int make_dir(const char *path, struct ibs_err *err)
{
    if (mkdir(path, LOCAL_DIR_MODE) != 0) {
        if (errno == EEXIST)
            return 0;
        return -local_err(err, errno, path, "creating directory");
    }
    if (chmod(path, LOCAL_DIR_MODE) != 0)
        return -local_err(err, errno, path, "setting mode 0700 on directory");
    if (local_sync_parent(path, err) != 0)
        return -(int)err->code;
    return 1;
}

int local_ensure_root(const struct local_store *ls, struct ibs_err *err)
{
    struct stat st;
    int rc;

    if (stat(ls->tmp, &st) == 0 && S_ISDIR(st.st_mode))
        return 0;
    if (mkdir(ls->root, LOCAL_DIR_MODE) != 0) {
        int e = errno;
        char parent[PATH_MAX];
        const char *slash = strrchr(ls->root, '/');

        snprintf(parent, sizeof(parent), "%.*s", slash == ls->root ? 1 : (int)(slash - ls->root),
                 ls->root);
        if (e == ENOENT)
            return ibs_err_set(err, IBS_E_STORAGE,
                               "local: cannot create repository directory %s: its parent %s "
                               "does not exist; create it first or choose another path",
                               ls->root, parent);
        if (e == EACCES || e == EPERM)
            return ibs_err_set(err, IBS_E_STORAGE,
                               "local: cannot create repository directory %s: no write access "
                               "to %s; create the directory yourself (mode 0700) or choose "
                               "another path",
                               ls->root, parent);
        if (e != EEXIST)
            return local_err(err, e, ls->root, "creating repository directory");
    } else {
        if (chmod(ls->root, LOCAL_DIR_MODE) != 0)
            return local_err(err, errno, ls->root, "setting mode 0700 on repository directory");
        rc = local_sync_parent(ls->root, err);
        if (rc)
            return rc;
    }
    rc = make_dir(ls->tmp, err);
    return rc < 0 ? -rc : 0;
}

int local_mkdir_parents(const char *base, const char *rel, struct ibs_err *err)
{
    char path[PATH_MAX];
    size_t blen = strlen(base);
    const char *slash = rel;
    int rc;

    if (blen + strlen(rel) + 2 > PATH_MAX)
        return ibs_err_set(err, IBS_E_USAGE, "local: %s/%s is longer than PATH_MAX", base, rel);
    while ((slash = strchr(slash, '/')) != NULL) {
        snprintf(path, sizeof(path), "%s/%.*s", base, (int)(slash - rel), rel);
        rc = make_dir(path, err);
        if (rc < 0)
            return -rc;
        slash++;
    }
    return 0;
}

void local_prune_parents(const char *base, const char *rel)
{
    char path[PATH_MAX];
    size_t len = strlen(rel);

    if (strlen(base) + len + 2 > PATH_MAX)
        return;
    while (len > 0) {
        while (len > 0 && rel[len - 1] != '/')
            len--;
        if (len == 0)
            break;
        len--; /* drop the '/' */
        snprintf(path, sizeof(path), "%s/%.*s", base, (int)len, rel);
        /* ENOTEMPTY (or a concurrent writer's new file) ends the pruning. */
        if (rmdir(path) != 0)
            break;
    }
}

int local_remove_tree(int parent_fd, const char *name, int depth)
{
    DIR *dir;
    struct dirent *de;
    int fd, rc = 0;

    if (depth > LOCAL_MAX_DEPTH)
        return ELOOP;
    fd = openat(parent_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOTDIR || errno == ELOOP)
            return unlinkat(parent_fd, name, 0) == 0 || errno == ENOENT ? 0 : errno;
        return errno == ENOENT ? 0 : errno;
    }
    dir = fdopendir(fd);
    if (!dir) {
        rc = errno;
        close(fd);
        return rc;
    }
    while ((de = readdir(dir)) != NULL) {
        int e;
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        if (de->d_type == DT_DIR || de->d_type == DT_UNKNOWN)
            e = local_remove_tree(dirfd(dir), de->d_name, depth + 1);
        else
            e = unlinkat(dirfd(dir), de->d_name, 0) == 0 || errno == ENOENT ? 0 : errno;
        if (e && !rc)
            rc = e;
    }
    closedir(dir);
    if (unlinkat(parent_fd, name, AT_REMOVEDIR) != 0 && errno != ENOENT && !rc)
        rc = errno;
    return rc;
}
