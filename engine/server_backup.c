/* BACKUP STAGE, the server's LSNs and the binlog position (see server.h). */
#include "engine/server.h"

#include <errno.h>
#include <inttypes.h>
#include <mysql.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"

static const char *const stage_names[] = {
    [ENG_STAGE_START] = "START",
    [ENG_STAGE_FLUSH] = "FLUSH",
    [ENG_STAGE_BLOCK_DDL] = "BLOCK_DDL",
    [ENG_STAGE_BLOCK_COMMIT] = "BLOCK_COMMIT",
    [ENG_STAGE_END] = "END",
};

const char *eng_backup_stage_name(enum eng_backup_stage stage)
{
    if ((unsigned)stage >= sizeof(stage_names) / sizeof(stage_names[0]))
        return "?";
    return stage_names[stage];
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int eng_server_backup_stage(struct eng_server *s, enum eng_backup_stage stage, struct ibs_err *err)
{
    char sql[64];
    int rc;

    if ((unsigned)stage >= sizeof(stage_names) / sizeof(stage_names[0]))
        return ibs_err_set(err, IBS_E_INTERNAL, "BACKUP STAGE: unknown stage %d", (int)stage);
    snprintf(sql, sizeof(sql), "BACKUP STAGE %s", stage_names[stage]);
    double start = now_seconds();
    rc = eng_server_exec(s, sql, err);
    double took = now_seconds() - start;
    if (rc)
        return ibs_err_wrap(err, "after %.3f s", took);
    IBS_INFO("server", "%s took %.3f s", sql, took);
    return 0;
}

static int parse_lsn(const char *name, const char *value, uint64_t *out, struct ibs_err *err)
{
    char *end;
    errno = 0;
    unsigned long long v = value ? strtoull(value, &end, 10) : 0;
    if (!value || errno || end == value || *end)
        return ibs_err_set(err, IBS_E_SERVER, "status %s has the unexpected value '%s'", name,
                           value ? value : "NULL");
    *out = v;
    return 0;
}

int eng_server_lsn(struct eng_server *s, uint64_t *current_lsn, uint64_t *checkpoint_lsn,
                   struct ibs_err *err)
{
    static const char sql[] = "SHOW GLOBAL STATUS WHERE Variable_name IN "
                              "('Innodb_lsn_current', 'Innodb_lsn_last_checkpoint')";
    MYSQL *mysql = eng_server_handle(s);
    MYSQL_RES *res;
    MYSQL_ROW row;
    bool have_current = false, have_checkpoint = false;
    int rc = 0;

    if (mysql_real_query(mysql, sql, sizeof(sql) - 1) != 0)
        return eng_server_sql_error(s, "reading the InnoDB LSNs", err);
    res = mysql_store_result(mysql);
    if (!res)
        return eng_server_sql_error(s, "reading the InnoDB LSNs", err);
    while (!rc && (row = mysql_fetch_row(res))) {
        if (!row[0])
            continue;
        if (strcmp(row[0], "Innodb_lsn_current") == 0) {
            rc = parse_lsn(row[0], row[1], current_lsn, err);
            have_current = true;
        } else if (strcmp(row[0], "Innodb_lsn_last_checkpoint") == 0) {
            rc = parse_lsn(row[0], row[1], checkpoint_lsn, err);
            have_checkpoint = true;
        }
    }
    mysql_free_result(res);
    if (!rc && (!have_current || !have_checkpoint))
        rc = ibs_err_set(err, IBS_E_SERVER,
                         "the server reports no Innodb_lsn_current/Innodb_lsn_last_checkpoint: is "
                         "InnoDB enabled?");
    return rc;
}

int eng_server_lsn_flushed(struct eng_server *s, uint64_t *flushed_lsn, struct ibs_err *err)
{
    static const char sql[] = "SHOW GLOBAL STATUS LIKE 'Innodb_lsn_flushed'";
    MYSQL *mysql = eng_server_handle(s);
    MYSQL_RES *res;
    MYSQL_ROW row;
    int rc;

    if (mysql_real_query(mysql, sql, sizeof(sql) - 1) != 0)
        return eng_server_sql_error(s, "reading Innodb_lsn_flushed", err);
    res = mysql_store_result(mysql);
    if (!res)
        return eng_server_sql_error(s, "reading Innodb_lsn_flushed", err);
    row = mysql_fetch_row(res);
    if (row && row[0] && row[1])
        rc = parse_lsn(row[0], row[1], flushed_lsn, err);
    else
        rc = ibs_err_set(err, IBS_E_SERVER,
                         "the server reports no Innodb_lsn_flushed: is InnoDB enabled?");
    mysql_free_result(res);
    return rc;
}

int eng_server_binlog_pos(struct eng_server *s, struct eng_binlog_pos *pos, struct ibs_err *err)
{
    MYSQL *mysql = eng_server_handle(s);
    MYSQL_RES *res;
    MYSQL_ROW row;
    int rc = 0;

    memset(pos, 0, sizeof(*pos));
    if (mysql_query(mysql, "SHOW MASTER STATUS") != 0)
        return eng_server_sql_error(s, "SHOW MASTER STATUS", err);
    res = mysql_store_result(mysql);
    if (!res)
        return eng_server_sql_error(s, "SHOW MASTER STATUS", err);
    row = mysql_fetch_row(res);
    /* No row: binary logging is off. */
    if (row && row[0] && row[1]) {
        pos->enabled = true;
        if (strlen(row[0]) >= sizeof(pos->file))
            rc = ibs_err_set(err, IBS_E_SERVER, "binlog file name %s is too long", row[0]);
        else
            snprintf(pos->file, sizeof(pos->file), "%s", row[0]);
        if (!rc)
            rc = parse_lsn("Position", row[1], &pos->position, err);
    }
    mysql_free_result(res);
    if (rc || !pos->enabled)
        return rc;
    rc = eng_server_query_value(s, "SELECT @@gtid_binlog_pos", pos->gtid, sizeof(pos->gtid), err);
    return rc;
}
