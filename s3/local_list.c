/* The local driver's listing: a depth-first walk of the directory tree that
 * yields keys in the order S3 lists them (bytewise by the whole key), pruned
 * to the directories a prefix can reach. */
#include "s3/local.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct walk {
    const char *prefix;
    size_t prefix_len;
    bool skip_tmp;
    const char *path; /* of the base directory, for messages */
    int (*fn)(void *ctx, const char *key, const struct stat *st);
    void *ctx;
    struct ibs_err *err;
    char key[PATH_MAX]; /* the key of the directory being walked, with its '/' */
};

/* A directory's entry; a subdirectory's name carries a trailing '/' so that
 * sorting names sorts keys: "a-b" < "a/x" < "a0" as in S3. */
struct walk_entry {
    char *name;
    bool is_dir;
};

static int entry_cmp(const void *a, const void *b)
{
    const struct walk_entry *x = a, *y = b;
    return strcmp(x->name, y->name); /* glibc strcmp compares as unsigned char */
}

static void free_entries(struct walk_entry *entries, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(entries[i].name);
    free(entries);
}

/* Whether one of a and b starts with the other: the walk may find keys
 * under a directory only if its key and the prefix agree that far. */
static bool compatible(const char *a, size_t alen, const char *b, size_t blen)
{
    size_t n = alen < blen ? alen : blen;
    return memcmp(a, b, n) == 0;
}

/* Reads the entries of dir_fd that can lead to keys under the prefix. */
static int read_entries(struct walk *wk, int dir_fd, size_t key_len, struct walk_entry **out,
                        size_t *count)
{
    struct walk_entry *entries = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    DIR *dir;
    int fd, rc = 0;

    *out = NULL;
    *count = 0;
    fd = dup(dir_fd);
    if (fd < 0)
        return local_err(wk->err, errno, wk->path, "listing %s", wk->key);
    dir = fdopendir(fd);
    if (!dir) {
        rc = local_err(wk->err, errno, wk->path, "listing %s", wk->key);
        close(fd);
        return rc;
    }
    while ((errno = 0, de = readdir(dir)) != NULL) {
        size_t nlen = strlen(de->d_name);
        bool is_dir;
        unsigned char type = de->d_type;

        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        if (wk->skip_tmp && key_len == 0 && strcmp(de->d_name, LOCAL_TMP_DIR) == 0)
            continue;
        if (type == DT_UNKNOWN) {
            struct stat st;
            if (fstatat(dirfd(dir), de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0)
                continue; /* deleted meanwhile */
            type = S_ISDIR(st.st_mode) ? DT_DIR : S_ISREG(st.st_mode) ? DT_REG : DT_UNKNOWN;
        }
        /* Symbolic links and special files are not objects; not following
         * links also keeps the walk inside the root and free of cycles. */
        if (type != DT_DIR && type != DT_REG)
            continue;
        is_dir = type == DT_DIR;
        if (key_len + nlen + 2 > sizeof(wk->key))
            continue;
        memcpy(wk->key + key_len, de->d_name, nlen);
        if (is_dir)
            wk->key[key_len + nlen++] = '/';
        if (!compatible(wk->key, key_len + nlen, wk->prefix, wk->prefix_len))
            continue;
        if (!is_dir && key_len + nlen < wk->prefix_len)
            continue;
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 64;
            struct walk_entry *grown = realloc(entries, ncap * sizeof(*entries));
            if (!grown) {
                rc = ibs_err_set(wk->err, IBS_E_INTERNAL, "local: out of memory listing %s",
                                 wk->path);
                goto out;
            }
            entries = grown;
            cap = ncap;
        }
        entries[n].name = strndup(wk->key + key_len, nlen);
        if (!entries[n].name) {
            rc = ibs_err_set(wk->err, IBS_E_INTERNAL, "local: out of memory listing %s", wk->path);
            goto out;
        }
        entries[n++].is_dir = is_dir;
    }
    if (errno != 0)
        rc = local_err(wk->err, errno, wk->path, "listing %.*s", (int)key_len, wk->key);
out:
    closedir(dir);
    if (rc) {
        free_entries(entries, n);
        return rc;
    }
    if (n > 1)
        qsort(entries, n, sizeof(*entries), entry_cmp);
    *out = entries;
    *count = n;
    return 0;
}

static int walk_dir(struct walk *wk, int dir_fd, size_t key_len)
{
    struct walk_entry *entries;
    size_t n;
    int rc;

    rc = read_entries(wk, dir_fd, key_len, &entries, &n);
    if (rc)
        return rc;
    for (size_t i = 0; i < n && rc == 0; i++) {
        size_t nlen = strlen(entries[i].name);

        memcpy(wk->key + key_len, entries[i].name, nlen + 1);
        if (entries[i].is_dir) {
            int fd;
            wk->key[key_len + nlen - 1] = '\0';
            fd = openat(dir_fd, wk->key + key_len, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            wk->key[key_len + nlen - 1] = '/';
            if (fd < 0) {
                if (errno == ENOENT || errno == ENOTDIR)
                    continue; /* removed meanwhile */
                rc = local_err(wk->err, errno, wk->path, "listing %s", wk->key);
                break;
            }
            rc = walk_dir(wk, fd, key_len + nlen);
            close(fd);
        } else {
            struct stat st;
            if (fstatat(dir_fd, entries[i].name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
                !S_ISREG(st.st_mode))
                continue; /* deleted or replaced meanwhile */
            rc = wk->fn(wk->ctx, wk->key, &st);
        }
    }
    free_entries(entries, n);
    return rc;
}

int local_walk(int base_fd, const char *path, const char *prefix, bool skip_tmp,
               int (*fn)(void *ctx, const char *key, const struct stat *st), void *ctx,
               struct ibs_err *err)
{
    struct walk *wk;
    int rc;

    /* The key buffer is PATH_MAX long: keep it off the stack of callers. */
    wk = calloc(1, sizeof(*wk));
    if (!wk)
        return ibs_err_set(err, IBS_E_INTERNAL, "local: out of memory listing %s", path);
    wk->prefix = prefix;
    wk->prefix_len = strlen(prefix);
    wk->skip_tmp = skip_tmp;
    wk->path = path;
    wk->fn = fn;
    wk->ctx = ctx;
    wk->err = err;
    rc = walk_dir(wk, base_fd, 0);
    free(wk);
    return rc;
}
