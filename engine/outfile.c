/* Files of a restore target (see outfile.h). */
#include "engine/outfile.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/ring.h"

int eng_out_path(const char *dir, const char *name, const char *suffix, char *out, size_t size,
                 struct ibs_err *err)
{
    while (name[0] == '/')
        name++;
    if (strstr(name, "..") || name[0] == '\0')
        return ibs_err_set(err, IBS_E_INTEGRITY, "manifest names an unsafe path '%s'", name);
    if ((size_t)snprintf(out, size, "%s/%s%s", dir, name, suffix) >= size)
        return ibs_err_set(err, IBS_E_USAGE, "path too long under %s", dir);
    return 0;
}

static int make_parents(char *path, struct ibs_err *err)
{
    for (char *p = strchr(path + 1, '/'); p; p = strchr(p + 1, '/')) {
        *p = '\0';
        int rc = mkdir(path, 0750);
        int e = errno;
        *p = '/';
        if (rc != 0 && e != EEXIST)
            return ibs_err_sys(err, IBS_E_IO, e, "mkdir for %s", path);
    }
    return 0;
}

int eng_out_create(const char *path, int *fd, struct ibs_err *err)
{
    char parents[PATH_MAX];
    snprintf(parents, sizeof(parents), "%s", path);
    int rc = make_parents(parents, err);
    if (rc)
        return rc;
    *fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    if (*fd < 0)
        return ibs_err_sys(err, io_errno_code(errno), errno, "create %s", path);
    return 0;
}

int eng_out_finish(int fd, uint64_t size, const char *path, struct ibs_err *err)
{
    int rc = io_file_set_size(fd, size, path, err);
    if (!rc)
        rc = io_file_sync(fd, path, err);
    if (close(fd) != 0 && !rc)
        rc = ibs_err_sys(err, IBS_E_IO, errno, "close %s", path);
    return rc;
}

int eng_out_text(const char *dir, const char *name, const char *text, struct ibs_err *err)
{
    char path[PATH_MAX];
    int fd;
    int rc = eng_out_path(dir, name, "", path, sizeof(path), err);
    if (!rc)
        rc = eng_out_create(path, &fd, err);
    if (rc)
        return rc;
    size_t len = strlen(text);
    if (write(fd, text, len) != (ssize_t)len) {
        rc = ibs_err_sys(err, io_errno_code(errno), errno, "write %s", path);
        close(fd);
        return rc;
    }
    return eng_out_finish(fd, len, path, err);
}
