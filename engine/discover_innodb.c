/* Discovery of the InnoDB tablespace files (see eng_discover_innodb). */
#include "engine/discover.h"

#include <errno.h>
#include <fcntl.h>
#include <mysql.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"

/* FIL_PAGE_ARCH_LOG_NO_OR_SPACE_ID: the space id in every page header
 * (fil0fil.h); page 0 of a tablespace is never encrypted. */
#define ENG_FIL_PAGE_SPACE_ID 34

/* The space id stored in page 0, or 0 if it cannot be read (a file created
 * an instant ago whose page 0 is not written yet). */
static uint32_t space_id_of(const char *path)
{
    unsigned char b[4];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t n = pread(fd, b, sizeof(b), ENG_FIL_PAGE_SPACE_ID);
    close(fd);
    if (n != (ssize_t)sizeof(b))
        return 0;
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* System and undo files: inside the datadir by their relative name, outside
 * by their file name. A missing one is an error: the server has it open. */
static int add_fixed(struct eng_file_list *out, const struct eng_server_info *info, const char *path,
                     enum eng_file_kind kind, uint32_t space_id, struct ibs_err *err)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        if (errno == EACCES)
            return ibs_err_set(err, IBS_E_IO, "cannot read %s: %s; run ibstream as the mysql user "
                               "or a member of its group", path, strerror(errno));
        return ibs_err_sys(err, IBS_E_IO, errno, "InnoDB file %s", path);
    }
    const char *name = eng_name_in_datadir(info->datadir, path);
    return eng_file_list_add(out, path, name ? name : base_name(path), kind, space_id,
                             (uint64_t)st.st_size, err);
}

static int add_system(struct eng_file_list *out, const struct eng_server_info *info,
                      struct ibs_err *err)
{
    struct eng_data_file *files = NULL;
    size_t count = 0;
    char path[4096];
    int rc;

    rc = eng_parse_data_file_path(info->data_file_path, &files, &count, err);
    for (size_t i = 0; !rc && i < count; i++) {
        rc = eng_path_resolve(info->data_home_dir, files[i].path, path, sizeof(path), err);
        if (!rc)
            rc = add_fixed(out, info, path, ENG_FILE_SYSTEM, 0, err);
    }
    free(files);
    return rc;
}

static int add_undo(struct eng_file_list *out, const struct eng_server_info *info, struct ibs_err *err)
{
    char path[4200];
    for (unsigned i = 1; i <= info->undo_tablespaces; i++) {
        snprintf(path, sizeof(path), "%s/undo%03u", info->undo_dir, i);
        int rc = add_fixed(out, info, path, ENG_FILE_UNDO, space_id_of(path), err);
        if (rc)
            return rc;
    }
    return 0;
}

/* A tablespace the server knows: FILENAME is "./db/t.ibd" in the datadir or
 * the absolute path of a DATA DIRECTORY table. */
static int add_known(struct eng_file_list *out, const struct eng_server_info *info, uint32_t space_id,
                     const char *filename, struct ibs_err *err)
{
    char path[8192];
    const char *name;
    struct stat st;

    if (!eng_ibd_file_wanted(base_name(filename)))
        return 0;
    if (strncmp(filename, "./", 2) == 0) {
        name = filename + 2;
        snprintf(path, sizeof(path), "%s/%s", info->datadir, name);
    } else if (filename[0] == '/') {
        name = eng_name_in_datadir(info->datadir, filename);
        if (!name)
            name = filename;
        snprintf(path, sizeof(path), "%s", filename);
    } else {
        name = filename;
        snprintf(path, sizeof(path), "%s/%s", info->datadir, filename);
    }
    if (stat(path, &st) != 0) {
        if (errno == ENOENT) {
            /* Dropped since the query; the redo log tells the rest. */
            IBS_DEBUG("discover", "tablespace %u (%s) vanished", space_id, path);
            return 0;
        }
        if (errno == EACCES)
            return ibs_err_set(err, IBS_E_IO, "cannot read %s: %s; run ibstream as the mysql user "
                               "or a member of its group", path, strerror(errno));
        return ibs_err_sys(err, IBS_E_IO, errno, "tablespace %s", path);
    }
    return eng_file_list_add(out, path, name, ENG_FILE_IBD, space_id, (uint64_t)st.st_size, err);
}

static int add_from_information_schema(struct eng_server *s, struct eng_file_list *out,
                                       const struct eng_server_info *info, struct ibs_err *err)
{
    static const char sql[] = "SELECT SPACE, FILENAME FROM information_schema.INNODB_SYS_TABLESPACES "
                              "WHERE FILENAME LIKE '%.ibd'";
    MYSQL *mysql = eng_server_handle(s);
    MYSQL_RES *res;
    MYSQL_ROW row;
    int rc = 0;

    if (mysql_real_query(mysql, sql, sizeof(sql) - 1) != 0)
        return eng_server_sql_error(s, "listing InnoDB tablespaces", err);
    res = mysql_store_result(mysql);
    if (!res)
        return eng_server_sql_error(s, "listing InnoDB tablespaces", err);
    while (!rc && (row = mysql_fetch_row(res))) {
        if (!row[0] || !row[1])
            continue;
        rc = add_known(out, info, (uint32_t)strtoul(row[0], NULL, 10), row[1], err);
    }
    mysql_free_result(res);
    return rc;
}

static int by_path(const void *a, const void *b)
{
    return strcmp(((const struct eng_file *)a)->path, ((const struct eng_file *)b)->path);
}

struct scan_ctx {
    const struct eng_file_list *known; /* sorted by path */
    struct eng_file_list *found;
};

/* A .ibd in a database directory that information_schema did not list (not
 * loaded by the server yet, or created meanwhile). */
static int scan_ibd(void *opaque, const char *db, const char *file_name, const char *path,
                    const struct stat *st, struct ibs_err *err)
{
    struct scan_ctx *ctx = opaque;
    char name[4200];

    if (!db || !eng_ibd_file_wanted(file_name))
        return 0;
    struct eng_file key = {.path = (char *)path};
    if (ctx->known->count &&
        bsearch(&key, ctx->known->files, ctx->known->count, sizeof(key), by_path))
        return 0;
    snprintf(name, sizeof(name), "%s/%s", db, file_name);
    return eng_file_list_add(ctx->found, path, name, ENG_FILE_IBD, space_id_of(path),
                             (uint64_t)st->st_size, err);
}

int eng_discover_innodb(struct eng_server *s, const struct eng_server_info *info,
                        struct eng_file_list *out, struct ibs_err *err)
{
    struct eng_file_list list = {0}, found = {0};
    int rc;

    if ((rc = add_system(&list, info, err)) || (rc = add_undo(&list, info, err)) ||
        (rc = add_from_information_schema(s, &list, info, err)))
        goto out;

    qsort(list.files, list.count, sizeof(list.files[0]), by_path);
    struct scan_ctx ctx = {.known = &list, .found = &found};
    rc = eng_scan_datadir(info->datadir, NULL, scan_ibd, &ctx, err);
    if (rc)
        goto out;
    for (size_t i = 0; i < found.count && !rc; i++)
        rc = eng_file_list_add(&list, found.files[i].path, found.files[i].name, found.files[i].kind,
                               found.files[i].space_id, found.files[i].size, err);
    if (rc)
        goto out;
    for (size_t i = 0; i < list.count && !rc; i++)
        rc = eng_file_list_add(out, list.files[i].path, list.files[i].name, list.files[i].kind,
                               list.files[i].space_id, list.files[i].size, err);
    if (!rc)
        eng_file_list_sort(out);
out:
    eng_file_list_free(&found);
    eng_file_list_free(&list);
    return rc;
}
