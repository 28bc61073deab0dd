/* Files of a restore target (see outfile.h). */
#include "engine/outfile.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
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
    const int flags = O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC;
    /* Most files go where an earlier one made the directories: try first. */
    *fd = open(path, flags, 0640);
    if (*fd < 0 && errno == ENOENT) {
        char parents[PATH_MAX];
        snprintf(parents, sizeof(parents), "%s", path);
        int rc = make_parents(parents, err);
        if (rc)
            return rc;
        *fd = open(path, flags, 0640);
    }
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

/* fsyncs block on the disk, not the CPU: more threads than cores let the file
 * system batch them into fewer journal commits. */
#define SYNC_THREADS 8

struct sync_job {
    struct eng_out_file *files;
    size_t n;
    pthread_mutex_t lock; /* guards next and failed below */
    size_t next;
    size_t failed; /* lowest index that failed, n if none */
    struct ibs_err err;
};

static void *sync_worker(void *arg)
{
    struct sync_job *job = arg;
    for (;;) {
        pthread_mutex_lock(&job->lock);
        size_t i = job->next++;
        pthread_mutex_unlock(&job->lock);
        if (i >= job->n)
            return NULL;
        struct ibs_err err;
        ibs_err_clear(&err);
        if (job->files[i].fd >= 0 && io_file_sync(job->files[i].fd, job->files[i].path, &err)) {
            pthread_mutex_lock(&job->lock);
            if (i < job->failed) {
                job->failed = i;
                job->err = err;
            }
            pthread_mutex_unlock(&job->lock);
        }
    }
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int eng_out_sync_dir(const char *dir, struct ibs_err *err)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return ibs_err_sys(err, io_errno_code(errno), errno, "open directory %s", dir);
    int rc = io_file_sync(fd, dir, err);
    close(fd);
    return rc;
}

/* A new file's name is durable only once its directory is synced. */
static int sync_dirs(const struct eng_out_file *files, size_t n, struct ibs_err *err)
{
    char **dirs = calloc(n ? n : 1, sizeof(*dirs));
    size_t count = 0;
    int rc = 0;
    if (!dirs)
        return ibs_err_set(err, IBS_E_INTERNAL, "out of memory");
    for (size_t i = 0; i < n && !rc; i++) {
        const char *slash = strrchr(files[i].path, '/');
        if (!slash)
            continue;
        size_t len = slash == files[i].path ? 1 : (size_t)(slash - files[i].path);
        if (!(dirs[count] = strndup(files[i].path, len)))
            rc = ibs_err_set(err, IBS_E_INTERNAL, "out of memory");
        else
            count++;
    }
    qsort(dirs, count, sizeof(*dirs), cmp_str);
    for (size_t i = 0; i < count && !rc; i++) {
        if (i > 0 && strcmp(dirs[i], dirs[i - 1]) == 0)
            continue;
        rc = eng_out_sync_dir(dirs[i], err);
    }
    for (size_t i = 0; i < count; i++)
        free(dirs[i]);
    free(dirs);
    return rc;
}

int eng_out_finish_many(struct eng_out_file *files, size_t n, bool ok, struct ibs_err *err)
{
    int rc = 0;
    for (size_t i = 0; ok && !rc && i < n; i++)
        if (files[i].fd >= 0)
            rc = io_file_set_size(files[i].fd, files[i].size, files[i].path, err);
    if (ok && !rc && n > 0) {
        struct sync_job job = {.files = files, .n = n, .failed = n};
        pthread_t threads[SYNC_THREADS];
        size_t started = 0;
        pthread_mutex_init(&job.lock, NULL);
        for (; started < SYNC_THREADS && started + 1 < n; started++)
            if (pthread_create(&threads[started], NULL, sync_worker, &job) != 0)
                break;
        sync_worker(&job); /* this thread helps, and does it all without threads */
        for (size_t i = 0; i < started; i++)
            pthread_join(threads[i], NULL);
        pthread_mutex_destroy(&job.lock);
        if (job.failed < n) {
            *err = job.err;
            rc = err->code;
        }
    }
    if (ok && !rc)
        rc = sync_dirs(files, n, err);
    for (size_t i = 0; i < n; i++) {
        if (files[i].fd >= 0 && close(files[i].fd) != 0 && ok && !rc)
            rc = ibs_err_sys(err, IBS_E_IO, errno, "close %s", files[i].path);
        files[i].fd = -1;
    }
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
