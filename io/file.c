/* Opening, sizing and syncing files for io_uring I/O (see ring.h). */
#include "io/ring.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#define IO_FILE_MODE 0660 /* what MariaDB gives its data files, less the umask */

enum ibs_code io_errno_code(int errnum)
{
    switch (errnum) {
    case ENOSPC:
    case EDQUOT:
        return IBS_E_NOSPACE;
    case ENOENT:
        return IBS_E_NOTFOUND;
    default:
        return IBS_E_IO;
    }
}

int io_file_open_direct(const char *path, int flags, bool *direct, struct ibs_err *err)
{
    int fd;

    flags |= O_CLOEXEC;
    fd = open(path, flags | O_DIRECT, IO_FILE_MODE);
    if (fd >= 0) {
        *direct = true;
        return fd;
    }
    if (errno == EINVAL) {
        /* The file system refuses O_DIRECT. Some kernels create the file before
         * checking, so an O_EXCL retry would find it: the first attempt made it. */
        fd = open(path, flags, IO_FILE_MODE);
        if (fd < 0 && errno == EEXIST && (flags & O_CREAT) && (flags & O_EXCL))
            fd = open(path, flags & ~O_EXCL, IO_FILE_MODE);
        if (fd >= 0) {
            *direct = false;
            return fd;
        }
    }
    ibs_err_sys(err, io_errno_code(errno), errno, "opening %s", path);
    return -1;
}

int io_file_set_size(int fd, uint64_t size, const char *path, struct ibs_err *err)
{
    while (ftruncate(fd, (off_t)size) != 0) {
        if (errno != EINTR)
            return ibs_err_sys(err, errno == EFBIG ? IBS_E_NOSPACE : io_errno_code(errno), errno,
                               "setting the size of %s to %llu bytes", path,
                               (unsigned long long)size);
    }
    return 0;
}

int io_file_sync(int fd, const char *path, struct ibs_err *err)
{
    if (fsync(fd) != 0)
        return ibs_err_sys(err, io_errno_code(errno), errno, "syncing %s to disk", path);
    return 0;
}
