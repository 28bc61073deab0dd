/* The server variables a backup needs (see eng_server_info in server.h). */
#include "engine/server.h"

#include <errno.h>
#include <mysql.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The redo log format ibstream reads appeared in 10.8. */
#define ENG_MIN_VERSION_ID 100800ul

/* Appends component [comp, comp+len) to out, handling "." and empty ones. */
static bool append_component(char *out, size_t size, size_t *used, const char *comp, size_t len)
{
    if (len == 0 || (len == 1 && comp[0] == '.'))
        return true;
    if (*used + 1 + len + 1 > size)
        return false;
    if (*used == 0 || out[*used - 1] != '/')
        out[(*used)++] = '/';
    memcpy(out + *used, comp, len);
    *used += len;
    out[*used] = '\0';
    return true;
}

static bool append_path(char *out, size_t size, size_t *used, const char *path)
{
    while (*path) {
        const char *slash = strchr(path, '/');
        size_t len = slash ? (size_t)(slash - path) : strlen(path);
        if (!append_component(out, size, used, path, len))
            return false;
        path += len;
        if (*path == '/')
            path++;
    }
    return true;
}

int eng_path_resolve(const char *base, const char *dir, char *out, size_t size, struct ibs_err *err)
{
    size_t used = 0;

    if (size < 2)
        return ibs_err_set(err, IBS_E_INTERNAL, "path buffer too small");
    out[0] = '\0';
    if (!dir || dir[0] != '/') {
        if (base[0] == '/') {
            out[0] = '/';
            out[1] = '\0';
            used = 1;
        }
        if (!append_path(out, size, &used, base))
            goto too_long;
    } else {
        out[0] = '/';
        out[1] = '\0';
        used = 1;
    }
    if (dir && !append_path(out, size, &used, dir))
        goto too_long;
    if (used == 0) {
        out[0] = '.';
        out[1] = '\0';
    }
    return 0;
too_long:
    return ibs_err_set(err, IBS_E_INTERNAL, "path %s/%s is longer than %zu bytes", base, dir ? dir : "",
                       size - 1);
}

/* Copies a value into a fixed field, or fails naming the variable. */
static int copy_field(char *dst, size_t size, const char *name, const char *value, struct ibs_err *err)
{
    size_t len = value ? strlen(value) : 0;
    if (len >= size)
        return ibs_err_set(err, IBS_E_SERVER, "server variable %s is %zu bytes long, more than %zu",
                           name, len, size - 1);
    memcpy(dst, value ? value : "", len);
    dst[len] = '\0';
    return 0;
}

static int parse_u64(const char *name, const char *value, uint64_t *out, struct ibs_err *err)
{
    char *end;
    errno = 0;
    unsigned long long v = value ? strtoull(value, &end, 10) : 0;
    if (!value || errno || end == value || *end)
        return ibs_err_set(err, IBS_E_SERVER, "server variable %s has the unexpected value '%s'", name,
                           value ? value : "NULL");
    *out = v;
    return 0;
}

static bool is_on(const char *value)
{
    return value && strcasecmp(value, "0") != 0 && strcasecmp(value, "OFF") != 0 && *value;
}

/* The variables, in the order of the columns of the query below. */
enum { V_VERSION, V_HOSTNAME, V_SERVER_ID, V_DATADIR, V_PAGE_SIZE, V_DATA_HOME, V_DATA_FILE_PATH,
       V_UNDO_DIR, V_UNDO_TABLESPACES, V_LOG_DIR, V_LOG_FILE_SIZE, V_LOG_BIN, V_LOG_BIN_BASENAME,
       V_ENCRYPT_LOG, V_ENCRYPT_TABLES, V_CHECKSUM, V_COUNT };

static const char info_query[] =
    "SELECT @@version, @@hostname, @@server_id, @@datadir, @@innodb_page_size, "
    "@@innodb_data_home_dir, @@innodb_data_file_path, @@innodb_undo_directory, "
    "@@innodb_undo_tablespaces, @@innodb_log_group_home_dir, @@innodb_log_file_size, "
    "@@log_bin, @@log_bin_basename, @@innodb_encrypt_log, @@innodb_encrypt_tables, "
    "@@innodb_checksum_algorithm";

static int fill_info(MYSQL_ROW row, struct eng_server_info *info, struct ibs_err *err)
{
    uint64_t v = 0;
    int rc;

    if ((rc = copy_field(info->version, sizeof(info->version), "version", row[V_VERSION], err)) ||
        (rc = copy_field(info->hostname, sizeof(info->hostname), "hostname", row[V_HOSTNAME], err)) ||
        (rc = copy_field(info->data_file_path, sizeof(info->data_file_path), "innodb_data_file_path",
                         row[V_DATA_FILE_PATH], err)) ||
        (rc = copy_field(info->checksum_algorithm, sizeof(info->checksum_algorithm),
                         "innodb_checksum_algorithm", row[V_CHECKSUM], err)))
        return rc;
    if ((rc = parse_u64("server_id", row[V_SERVER_ID], &v, err)))
        return rc;
    info->server_id = (unsigned)v;
    if ((rc = parse_u64("innodb_page_size", row[V_PAGE_SIZE], &v, err)))
        return rc;
    info->page_size = (uint32_t)v;
    if ((rc = parse_u64("innodb_undo_tablespaces", row[V_UNDO_TABLESPACES], &v, err)))
        return rc;
    info->undo_tablespaces = (unsigned)v;
    if ((rc = parse_u64("innodb_log_file_size", row[V_LOG_FILE_SIZE], &info->log_file_size, err)))
        return rc;

    if (!row[V_DATADIR] || row[V_DATADIR][0] != '/')
        return ibs_err_set(err, IBS_E_SERVER, "server datadir '%s' is not an absolute path",
                           row[V_DATADIR] ? row[V_DATADIR] : "NULL");
    /* Relative InnoDB directories are relative to the datadir (the server's
     * working directory); an empty innodb_data_home_dir means the datadir. */
    if ((rc = eng_path_resolve(row[V_DATADIR], NULL, info->datadir, sizeof(info->datadir), err)) ||
        (rc = eng_path_resolve(info->datadir, row[V_DATA_HOME], info->data_home_dir,
                               sizeof(info->data_home_dir), err)) ||
        (rc = eng_path_resolve(info->datadir, row[V_UNDO_DIR], info->undo_dir, sizeof(info->undo_dir),
                               err)) ||
        (rc = eng_path_resolve(info->datadir, row[V_LOG_DIR], info->log_dir, sizeof(info->log_dir),
                               err)))
        return rc;

    info->log_bin = is_on(row[V_LOG_BIN]);
    info->log_bin_basename[0] = '\0';
    if (info->log_bin && row[V_LOG_BIN_BASENAME] &&
        (rc = eng_path_resolve(info->datadir, row[V_LOG_BIN_BASENAME], info->log_bin_basename,
                               sizeof(info->log_bin_basename), err)))
        return rc;
    info->encrypt_log = is_on(row[V_ENCRYPT_LOG]);
    info->encrypt_tables = is_on(row[V_ENCRYPT_TABLES]);
    return 0;
}

int eng_server_info(struct eng_server *s, struct eng_server_info *info, struct ibs_err *err)
{
    MYSQL *mysql = eng_server_handle(s);
    MYSQL_RES *res = NULL;
    MYSQL_ROW row;
    int rc;

    memset(info, 0, sizeof(*info));
    info->version_id = mysql_get_server_version(mysql);
    if (info->version_id < ENG_MIN_VERSION_ID)
        return ibs_err_set(err, IBS_E_SERVER,
                           "MariaDB %s is too old: ibstream needs 10.8 or newer (the redo log format "
                           "of 10.8)", mysql_get_server_info(mysql));

    if (mysql_real_query(mysql, info_query, sizeof(info_query) - 1) != 0)
        return eng_server_sql_error(s, "reading server variables", err);
    res = mysql_store_result(mysql);
    if (!res)
        return eng_server_sql_error(s, "reading server variables", err);
    row = mysql_fetch_row(res);
    if (!row || mysql_num_fields(res) != V_COUNT) {
        rc = ibs_err_set(err, IBS_E_SERVER, "reading server variables: unexpected result");
        goto out;
    }
    rc = fill_info(row, info, err);
out:
    mysql_free_result(res);
    return rc;
}
