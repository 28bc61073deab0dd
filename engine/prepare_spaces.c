/* Tablespace discovery and page I/O for prepare (see prepare_spaces.h). */
#include "engine/prepare_spaces.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <ftw.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "redo/fsp.h"

static struct prep_spaces *scan_target; /* nftw has no user pointer */
static size_t scan_prefix_len;
static struct ibs_err *scan_err;

static bool is_innodb_name(const char *base)
{
    return fnmatch("ibdata[0-9]*", base, 0) == 0 || fnmatch("undo[0-9][0-9][0-9]", base, 0) == 0 ||
           fnmatch("*.ibd", base, 0) == 0;
}

static int add_file(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    struct prep_spaces *sp = scan_target;
    if (type != FTW_F || !is_innodb_name(path + ftw->base))
        return 0;
    if (sp->count == sp->cap) {
        size_t cap = sp->cap ? sp->cap * 2 : 64;
        struct prep_file *grown = realloc(sp->files, cap * sizeof(*grown));
        if (!grown)
            return ibs_err_set(scan_err, IBS_E_INTERNAL, "out of memory");
        sp->files = grown;
        sp->cap = cap;
    }
    struct prep_file *f = &sp->files[sp->count];
    memset(f, 0, sizeof(*f));
    f->fd = open(path, O_RDWR | O_CLOEXEC);
    if (f->fd < 0)
        return ibs_err_sys(scan_err, IBS_E_IO, errno, "open %s", path);
    f->path = strdup(path);
    f->name = strdup(path + scan_prefix_len);
    sp->count++;
    if (!f->path || !f->name)
        return ibs_err_set(scan_err, IBS_E_INTERNAL, "out of memory");
    f->page_size = sp->server_page_size;
    uint8_t *page0 = malloc(65536);
    if (!page0)
        return ibs_err_set(scan_err, IBS_E_INTERNAL, "out of memory");
    ssize_t got = pread(f->fd, page0, 65536, 0);
    struct redo_fsp_info info;
    struct ibs_err ignored;
    bool system_continuation = fnmatch("ibdata[0-9]*", path + ftw->base, 0) == 0 &&
                               strcmp(path + ftw->base, "ibdata1") != 0;
    if (!system_continuation && got >= 1024 &&
        redo_fsp_read_page0(page0, (size_t)got, (uint64_t)st->st_size, &info, &ignored) == 0) {
        f->space_id = info.space_id;
        f->flags = info.flags;
        f->page_size = info.physical_size;
        f->space_known = true;
    }
    free(page0);
    return 0;
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp(((const struct prep_file *)a)->name, ((const struct prep_file *)b)->name);
}

/* ibdata1, ibdata2...: one tablespace (0); each file continues the previous. */
static void chain_system_files(struct prep_spaces *sp)
{
    uint32_t next = 0;
    struct prep_file *head = NULL;
    for (size_t i = 0; i < sp->count; i++) {
        struct prep_file *f = &sp->files[i];
        if (strncmp(f->name, "ibdata", 6) != 0 || strchr(f->name, '/'))
            continue;
        if (!head) {
            head = f;
        } else {
            f->space_id = 0;
            f->space_known = true;
            f->flags = head->flags;
            f->page_size = head->page_size;
        }
        struct stat st;
        fstat(f->fd, &st);
        f->first_page = next;
        f->pages = (uint32_t)((uint64_t)st.st_size / f->page_size);
        next += f->pages;
    }
    /* The last file of the system tablespace is the one that grows. */
    for (size_t i = sp->count; i-- > 0;)
        if (strncmp(sp->files[i].name, "ibdata", 6) == 0 && !strchr(sp->files[i].name, '/')) {
            sp->files[i].pages = 0;
            break;
        }
}

int prep_spaces_scan(const char *target, uint32_t server_page_size, struct prep_spaces *sp,
                     struct ibs_err *err)
{
    memset(sp, 0, sizeof(*sp));
    sp->server_page_size = server_page_size;
    scan_target = sp;
    scan_prefix_len = strlen(target) + 1;
    scan_err = err;
    ibs_err_clear(err);
    int rc = nftw(target, add_file, 32, FTW_PHYS | FTW_MOUNT);
    scan_target = NULL;
    if (rc != 0 && err->code == IBS_OK)
        ibs_err_sys(err, IBS_E_IO, errno, "scan %s", target);
    if (rc != 0)
        return err->code;
    qsort(sp->files, sp->count, sizeof(*sp->files), cmp_name);
    chain_system_files(sp);
    return 0;
}

void prep_spaces_free(struct prep_spaces *sp)
{
    for (size_t i = 0; i < sp->count; i++) {
        if (sp->files[i].fd >= 0)
            close(sp->files[i].fd);
        free(sp->files[i].path);
        free(sp->files[i].name);
    }
    free(sp->files);
    memset(sp, 0, sizeof(*sp));
}

struct prep_file *prep_spaces_find(struct prep_spaces *sp, uint32_t space_id, uint32_t page_no)
{
    for (size_t i = 0; i < sp->count; i++) {
        struct prep_file *f = &sp->files[i];
        if (!f->space_known || f->space_id != space_id || f->fd < 0)
            continue;
        if (page_no >= f->first_page && (f->pages == 0 || page_no < f->first_page + f->pages))
            return f;
    }
    return NULL;
}

struct prep_file *prep_spaces_find_name(struct prep_spaces *sp, const char *log_name)
{
    const char *name = log_name;
    if (strncmp(name, "./", 2) == 0)
        name += 2;
    while (name[0] == '/')
        name++; /* DATA DIRECTORY tables are restored under the target */
    for (size_t i = 0; i < sp->count; i++)
        if (strcmp(sp->files[i].name, name) == 0)
            return &sp->files[i];
    return NULL;
}

int prep_read_page(struct prep_file *f, uint32_t page_no, uint8_t *page, struct ibs_err *err)
{
    off_t at = (off_t)(page_no - f->first_page) * f->page_size;
    ssize_t got = pread(f->fd, page, f->page_size, at);
    if (got < 0)
        return ibs_err_sys(err, IBS_E_IO, errno, "read %s page %u", f->path, page_no);
    if ((size_t)got < f->page_size)
        memset(page + got, 0, f->page_size - (size_t)got); /* beyond the end: zeros (§3.4) */
    return 0;
}

int prep_write_page(struct prep_file *f, uint32_t page_no, const uint8_t *page,
                    struct ibs_err *err)
{
    off_t at = (off_t)(page_no - f->first_page) * f->page_size;
    ssize_t put = pwrite(f->fd, page, f->page_size, at);
    if (put != (ssize_t)f->page_size)
        return ibs_err_sys(err, errno == ENOSPC ? IBS_E_NOSPACE : IBS_E_IO, put < 0 ? errno : EIO,
                           "write %s page %u", f->path, page_no);
    return 0;
}

int prep_punch_page(struct prep_file *f, uint32_t page_no, struct ibs_err *err)
{
    static const uint8_t zeros[65536];
    off_t at = (off_t)(page_no - f->first_page) * f->page_size;
    struct stat st;
    if (fstat(f->fd, &st) != 0)
        return ibs_err_sys(err, IBS_E_IO, errno, "stat %s", f->path);
    if (at >= st.st_size)
        return 0;
    if (fallocate(f->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, at, f->page_size) == 0)
        return 0;
    if (errno != EOPNOTSUPP)
        return ibs_err_sys(err, IBS_E_IO, errno, "punch %s page %u", f->path, page_no);
    return prep_write_page(f, page_no, zeros, err);
}
