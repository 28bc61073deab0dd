/* The local-directory driver: a repository kept as files under a root
 * directory, with the semantics of the S3 driver (objects appear whole on
 * commit, listings in key order, absent deletes succeed). Uploads are in
 * s3/local_writer.c, the listing walk in s3/local_list.c. */
#include "s3/local.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int local_open(const struct store_opts *opts, const char *root, void **state,
                      struct ibs_err *err)
{
    struct local_store *ls;
    struct stat st;

    *state = NULL;
    if (root[0] != '/')
        return ibs_err_set(err, IBS_E_USAGE, "local: repository path %s is not absolute", root);
    /* A missing root is created by the first write; anything else in its
     * place is a mistake to report now rather than at the end of a backup. */
    if (stat(root, &st) == 0 && !S_ISDIR(st.st_mode))
        return ibs_err_set(err, IBS_E_STORAGE,
                           "local: repository path %s exists and is not a directory; choose "
                           "a directory",
                           root);
    ls = calloc(1, sizeof(*ls));
    if (!ls)
        return ibs_err_set(err, IBS_E_INTERNAL, "local: out of memory");
    ls->root = strdup(root);
    ls->tmp = ls->root ? local_path(root, LOCAL_TMP_DIR, err) : NULL;
    if (!ls->root || !ls->tmp) {
        free(ls->root);
        free(ls);
        return ibs_err_set(err, IBS_E_INTERNAL, "local: out of memory");
    }
    *state = ls;
    return 0;
}

static void local_close(void *state)
{
    struct local_store *ls = state;

    if (!ls)
        return;
    free(ls->root);
    free(ls->tmp);
    free(ls);
}

/* Opens the object's file for reading; IBS_E_NOTFOUND if there is none. */
static int open_object(const struct local_store *ls, const char *key, int *fd, struct stat *st,
                       struct ibs_err *err)
{
    char *path;
    int rc = 0;

    *fd = -1;
    rc = local_check_key(ls, key, err);
    if (rc)
        return rc;
    path = local_path(ls->root, key, err);
    if (!path)
        return err->code;
    *fd = open(path, O_RDONLY | O_CLOEXEC);
    if (*fd < 0) {
        if (errno == ENOENT || errno == ENOTDIR)
            rc =
                ibs_err_set(err, IBS_E_NOTFOUND, "local: object %s not found in %s", key, ls->root);
        else
            rc = local_err(err, errno, path, "opening %s", key);
        goto out;
    }
    if (fstat(*fd, st) != 0) {
        rc = local_err(err, errno, path, "reading the size of %s", key);
        goto out;
    }
    /* A directory is a folder of keys, not an object (as on S3). */
    if (!S_ISREG(st->st_mode))
        rc = ibs_err_set(err, IBS_E_NOTFOUND, "local: object %s not found in %s", key, ls->root);
out:
    if (rc && *fd >= 0) {
        close(*fd);
        *fd = -1;
    }
    free(path);
    return rc;
}

/* Reads len bytes at offset; a file that ends first is an integrity error,
 * as a repository object shorter than its index says is damaged. */
static int read_at(const struct local_store *ls, int fd, const char *key, uint64_t size,
                   uint64_t offset, void *buf, size_t len, struct ibs_err *err)
{
    size_t done = 0;

    while (done < len) {
        ssize_t n = pread(fd, (char *)buf + done, len - done, (off_t)(offset + done));
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return local_err(err, errno, ls->root, "reading %zu bytes at offset %llu of %s", len,
                             (unsigned long long)offset, key);
        }
        if (n == 0)
            return ibs_err_set(err, IBS_E_INTEGRITY,
                               "local: %s in %s is too short: wanted %zu bytes at offset %llu, "
                               "the object has %llu bytes",
                               key, ls->root, len, (unsigned long long)offset,
                               (unsigned long long)size);
        done += (size_t)n;
    }
    return 0;
}

static int local_get(void *state, const char *key, void **data, size_t *len, struct ibs_err *err)
{
    const struct local_store *ls = state;
    struct stat st;
    void *buf = NULL;
    int fd, rc;

    *data = NULL;
    *len = 0;
    rc = open_object(ls, key, &fd, &st, err);
    if (rc)
        return rc;
    if ((uint64_t)st.st_size > SIZE_MAX - 1) {
        rc = ibs_err_set(err, IBS_E_USAGE, "local: %s is too large to read whole", key);
        goto out;
    }
    buf = malloc((size_t)st.st_size + 1);
    if (!buf) {
        rc = ibs_err_set(err, IBS_E_INTERNAL, "local: out of memory reading %s (%lld bytes)", key,
                         (long long)st.st_size);
        goto out;
    }
    rc = read_at(ls, fd, key, (uint64_t)st.st_size, 0, buf, (size_t)st.st_size, err);
    if (rc)
        goto out;
    *data = buf;
    *len = (size_t)st.st_size;
    buf = NULL;
out:
    free(buf);
    close(fd);
    return rc;
}

static int local_get_range(void *state, const char *key, uint64_t offset, void *buf, size_t len,
                           struct ibs_err *err)
{
    const struct local_store *ls = state;
    struct stat st;
    int fd, rc;

    rc = open_object(ls, key, &fd, &st, err);
    if (rc)
        return rc;
    rc = read_at(ls, fd, key, (uint64_t)st.st_size, offset, buf, len, err);
    close(fd);
    return rc;
}

/* One after the other: the page cache and read-ahead serve a local disk
 * well enough, and consecutive ranges of one object share the open file. */
static int local_get_ranges(void *state, struct store_range *ranges, size_t n, struct ibs_err *err)
{
    const struct local_store *ls = state;
    const char *open_key = NULL;
    struct stat st;
    int fd = -1, rc = 0;

    for (size_t i = 0; i < n && rc == 0; i++) {
        if (!open_key || strcmp(open_key, ranges[i].key) != 0) {
            if (fd >= 0)
                close(fd);
            open_key = NULL;
            rc = open_object(ls, ranges[i].key, &fd, &st, err);
            if (rc)
                break;
            open_key = ranges[i].key;
        }
        rc = read_at(ls, fd, ranges[i].key, (uint64_t)st.st_size, ranges[i].offset, ranges[i].buf,
                     ranges[i].len, err);
    }
    if (fd >= 0)
        close(fd);
    return rc;
}

static int local_head(void *state, const char *key, struct store_stat *out, struct ibs_err *err)
{
    const struct local_store *ls = state;
    struct stat st;
    int fd, rc;

    rc = open_object(ls, key, &fd, &st, err);
    if (rc)
        return rc;
    close(fd);
    memset(out, 0, sizeof(*out));
    out->size = (uint64_t)st.st_size;
    out->mtime = st.st_mtim.tv_sec;
    /* Opaque like S3's: changes whenever the object is replaced. */
    snprintf(out->etag, sizeof(out->etag), "\"%llx-%llx-%llx.%09ld\"",
             (unsigned long long)st.st_ino, (unsigned long long)st.st_size,
             (unsigned long long)st.st_mtim.tv_sec, (long)st.st_mtim.tv_nsec);
    return 0;
}

/* Opens dir for a walk; *fd is -1 (and 0 returned) if it does not exist. */
static int open_dir(const char *dir, int *fd, struct ibs_err *err)
{
    *fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (*fd < 0 && errno != ENOENT)
        return local_err(err, errno, dir, "opening directory to list it");
    return 0;
}

struct list_ctx {
    int (*fn)(void *ctx, const struct store_entry *entry);
    void *ctx;
};

static int list_one(void *ctx, const char *key, const struct stat *st)
{
    struct list_ctx *lc = ctx;
    struct store_entry entry = {
        .key = key, .size = (uint64_t)st->st_size, .mtime = st->st_mtim.tv_sec};

    return lc->fn(lc->ctx, &entry);
}

static int local_list(void *state, const char *prefix,
                      int (*fn)(void *ctx, const struct store_entry *entry), void *ctx,
                      struct ibs_err *err)
{
    const struct local_store *ls = state;
    struct list_ctx lc = {.fn = fn, .ctx = ctx};
    int fd, rc;

    rc = open_dir(ls->root, &fd, err);
    if (rc || fd < 0)
        return rc; /* no root: no objects yet */
    rc = local_walk(fd, ls->root, prefix, true, list_one, &lc, err);
    close(fd);
    return rc;
}

static int local_delete_one(void *state, const char *key, struct ibs_err *err)
{
    const struct local_store *ls = state;
    char *path;
    int rc = 0;

    rc = local_check_key(ls, key, err);
    if (rc)
        return rc;
    path = local_path(ls->root, key, err);
    if (!path)
        return err->code;
    if (unlink(path) == 0) {
        /* Empty folders are not objects; leave none behind, as on S3. */
        local_prune_parents(ls->root, key);
    } else if (errno != ENOENT && errno != ENOTDIR && errno != EISDIR) {
        rc = local_err(err, errno, path, "deleting %s", key);
    }
    free(path);
    return rc;
}

/* Deletes every key, going on past failures; reports the first. */
static int local_delete_many(void *state, const char *const *keys, size_t n, struct ibs_err *err)
{
    size_t failed = 0;
    int first = 0;
    struct ibs_err one;

    for (size_t i = 0; i < n; i++) {
        int rc = local_delete_one(state, keys[i], failed ? &one : err);
        if (rc) {
            if (!first)
                first = rc;
            failed++;
        }
    }
    if (failed > 1)
        ibs_err_wrap(err, "%zu of %zu deletes failed, the first", failed, n);
    return first;
}

struct uploads_ctx {
    const char *upload_id;
    int (*fn)(void *ctx, const struct store_upload *upload);
    void *ctx;
};

static int upload_one(void *ctx, const char *key, const struct stat *st)
{
    struct uploads_ctx *uc = ctx;
    struct store_upload upload = {
        .key = key, .upload_id = uc->upload_id, .initiated = st->st_mtim.tv_sec};

    return uc->fn(uc->ctx, &upload);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* An upload id names one directory of the upload area; nothing else does. */
static bool upload_id_ok(const char *id)
{
    if (id[0] != 'u' || strlen(id) > 64)
        return false;
    for (const char *c = id + 1; *c; c++)
        if (!((*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'f')))
            return false;
    return true;
}

static int local_list_uploads(void *state, const char *prefix,
                              int (*fn)(void *ctx, const struct store_upload *upload), void *ctx,
                              struct ibs_err *err)
{
    const struct local_store *ls = state;
    struct uploads_ctx uc = {.fn = fn, .ctx = ctx};
    char **ids = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    DIR *dir = NULL;
    int fd, rc;

    rc = open_dir(ls->tmp, &fd, err);
    if (rc || fd < 0)
        return rc;
    dir = fdopendir(fd);
    if (!dir) {
        rc = local_err(err, errno, ls->tmp, "listing uploads");
        close(fd);
        return rc;
    }
    /* Ids first, sorted, so the order is stable; then each upload's file. */
    while ((de = readdir(dir)) != NULL) {
        if (!upload_id_ok(de->d_name))
            continue;
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            char **grown = realloc(ids, ncap * sizeof(*ids));
            if (!grown) {
                rc = ibs_err_set(err, IBS_E_INTERNAL, "local: out of memory listing uploads");
                goto out;
            }
            ids = grown;
            cap = ncap;
        }
        if (!(ids[n] = strdup(de->d_name))) {
            rc = ibs_err_set(err, IBS_E_INTERNAL, "local: out of memory listing uploads");
            goto out;
        }
        n++;
    }
    if (n > 1)
        qsort(ids, n, sizeof(*ids), cmp_str);
    for (size_t i = 0; i < n && rc == 0; i++) {
        int id_fd = openat(dirfd(dir), ids[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (id_fd < 0)
            continue; /* committed or aborted meanwhile */
        uc.upload_id = ids[i];
        rc = local_walk(id_fd, ls->tmp, prefix, false, upload_one, &uc, err);
        close(id_fd);
    }
out:
    for (size_t i = 0; i < n; i++)
        free(ids[i]);
    free(ids);
    closedir(dir);
    return rc;
}

static int local_abort_upload(void *state, const char *key, const char *upload_id,
                              struct ibs_err *err)
{
    const struct local_store *ls = state;
    struct stat st;
    char *dir = NULL, *path = NULL;
    int fd = -1, rc = 0, e;

    if (!upload_id_ok(upload_id))
        return ibs_err_set(err, IBS_E_NOTFOUND,
                           "local: no upload %s of %s in %s (not an id this driver makes)",
                           upload_id, key, ls->root);
    dir = local_path(ls->tmp, upload_id, err);
    path = dir ? local_path(dir, key, err) : NULL;
    if (!path) {
        rc = err->code;
        goto out;
    }
    if (lstat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
        rc = ibs_err_set(err, IBS_E_NOTFOUND, "local: no upload %s of %s in %s", upload_id, key,
                         ls->root);
        goto out;
    }
    fd = open(ls->tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        rc = local_err(err, errno, ls->tmp, "aborting upload %s of %s", upload_id, key);
        goto out;
    }
    e = local_remove_tree(fd, upload_id, 0);
    if (e)
        rc = local_err(err, e, dir, "aborting upload %s of %s", upload_id, key);
out:
    if (fd >= 0)
        close(fd);
    free(path);
    free(dir);
    return rc;
}

const struct store_driver_ops store_local_driver = {
    .kind = "local",
    .open = local_open,
    .close = local_close,
    .put = local_put,
    .get = local_get,
    .get_range = local_get_range,
    .put_new = local_put_new,
    .get_ranges = local_get_ranges,
    .head = local_head,
    .list = local_list,
    .delete_one = local_delete_one,
    .delete_many = local_delete_many,
    .list_uploads = local_list_uploads,
    .abort_upload = local_abort_upload,
    .writer_open = local_writer_open,
    .writer_write = local_writer_write,
    .writer_offset = local_writer_offset,
    .writer_capacity = local_writer_capacity,
    .writer_commit = local_writer_commit,
    .writer_abort = local_writer_abort,
};
