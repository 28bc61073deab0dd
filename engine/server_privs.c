/* The privilege check (see eng_server_check_privileges in server.h).
 *
 * Tried on 10.11 with an account holding only these: BACKUP STAGE needs
 * RELOAD; information_schema.INNODB_SYS_TABLESPACES and SHOW ENGINE INNODB
 * STATUS need PROCESS; SHOW MASTER STATUS needs BINLOG MONITOR (REPLICATION
 * CLIENT is the same privilege under its old name). SHOW GLOBAL STATUS and
 * @@gtid_binlog_pos need none. */
#include "engine/server.h"

#include <mysql.h>
#include <stdio.h>
#include <string.h>

static const char *const required[] = {"RELOAD", "PROCESS", "BINLOG MONITOR"};
#define N_REQUIRED (sizeof(required) / sizeof(required[0]))

const char *eng_server_required_privilege(size_t i)
{
    return i < N_REQUIRED ? required[i] : NULL;
}

/* The account's global privileges. USER_PRIVILEGES lists other accounts too
 * when the caller can read mysql.global_priv, hence the filter. */
static const char privileges_query[] =
    "SELECT PRIVILEGE_TYPE FROM information_schema.USER_PRIVILEGES WHERE GRANTEE = "
    "CONCAT('''', SUBSTRING_INDEX(CURRENT_USER(), '@', 1), '''@''', "
    "SUBSTRING_INDEX(CURRENT_USER(), '@', -1), '''')";

int eng_server_check_privileges(struct eng_server *s, struct ibs_err *err)
{
    MYSQL *mysql = eng_server_handle(s);
    MYSQL_RES *res;
    MYSQL_ROW row;
    bool held[N_REQUIRED] = {false};
    char account[512];
    char missing[256] = "";
    int rc;

    rc = eng_server_query_value(s, "SELECT CONCAT('''', SUBSTRING_INDEX(CURRENT_USER(), '@', 1), "
                                   "'''@''', SUBSTRING_INDEX(CURRENT_USER(), '@', -1), '''')",
                                account, sizeof(account), err);
    if (rc)
        return ibs_err_wrap(err, "checking privileges");
    if (mysql_real_query(mysql, privileges_query, sizeof(privileges_query) - 1) != 0)
        return eng_server_sql_error(s, "checking privileges", err);
    res = mysql_store_result(mysql);
    if (!res)
        return eng_server_sql_error(s, "checking privileges", err);
    while ((row = mysql_fetch_row(res))) {
        for (size_t i = 0; i < N_REQUIRED; i++) {
            /* 10.11 reports REPLICATION CLIENT as BINLOG MONITOR; older
             * spellings are accepted in case a server reports them. */
            if (row[0] && (strcmp(row[0], required[i]) == 0 ||
                           (i == 2 && strcmp(row[0], "REPLICATION CLIENT") == 0)))
                held[i] = true;
        }
    }
    mysql_free_result(res);

    for (size_t i = 0; i < N_REQUIRED; i++) {
        if (held[i])
            continue;
        if (missing[0])
            strcat(missing, ", ");
        strcat(missing, required[i]);
    }
    if (!missing[0])
        return 0;
    return ibs_err_set(err, IBS_E_SERVER,
                       "the account %s lacks the privileges %s that a backup needs: run GRANT %s ON "
                       "*.* TO %s;",
                       account, missing, missing, account);
}
