/* Integration test of engine/server against a real MariaDB server (run by
 * with-mariadb): connecting by socket, TCP and option files, the connection
 * errors, the variables, the privilege check, BACKUP STAGE, the LSNs and the
 * binlog position. */
#include <limits.h>
#include <mysql.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "engine/server.h"

static int failures;

#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            failures++;                                                                            \
            fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);                        \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
        }                                                                                          \
    } while (0)

static const char *env(const char *name)
{
    const char *v = getenv(name);
    if (!v || !*v) {
        fprintf(stderr, "FAIL: %s is not set; run this test through tests/integration/with-mariadb\n",
                name);
        exit(1);
    }
    return v;
}

static struct eng_conn_opts socket_opts(void)
{
    return (struct eng_conn_opts){
        .socket = env("IBS_TEST_MYSQL_SOCKET"),
        .user = env("IBS_TEST_MYSQL_USER"),
        .password = env("IBS_TEST_MYSQL_PASSWORD"),
        .defaults_file = "/dev/null", /* keep the host's option files out */
    };
}

/* root over the socket (the harness leaves it without a password). */
static struct eng_server *root_connect(void)
{
    struct eng_conn_opts o = {.socket = env("IBS_TEST_MYSQL_SOCKET"), .user = "root",
                              .defaults_file = "/dev/null"};
    struct eng_server *s = NULL;
    struct ibs_err err;
    if (eng_server_connect(&o, &s, &err)) {
        fprintf(stderr, "FAIL: cannot connect as root: %s\n", err.msg);
        exit(1);
    }
    return s;
}

static void root_exec(struct eng_server *root, const char *sql)
{
    struct ibs_err err;
    if (eng_server_exec(root, sql, &err)) {
        fprintf(stderr, "FAIL: %s\n", err.msg);
        exit(1);
    }
}

static void current_user_is(struct eng_server *s, const char *expected)
{
    char buf[256];
    struct ibs_err err;
    int rc = eng_server_query_value(s, "SELECT CURRENT_USER()", buf, sizeof(buf), &err);
    CHECK(rc == 0, "%s", err.msg);
    CHECK(rc || strcmp(buf, expected) == 0, "CURRENT_USER() = %s, expected %s", buf, expected);
}

static void test_connect_socket_and_info(void)
{
    struct eng_conn_opts o = socket_opts();
    struct eng_server *s = NULL;
    struct eng_server_info info;
    struct ibs_err err;
    char want_datadir[PATH_MAX];

    int rc = eng_server_connect(&o, &s, &err);
    CHECK(rc == 0, "connect via socket: %s", err.msg);
    if (rc)
        return;
    CHECK(strstr(mysql_get_host_info(eng_server_handle(s)), "socket") != NULL, "host info %s",
          mysql_get_host_info(eng_server_handle(s)));
    rc = eng_server_info(s, &info, &err);
    CHECK(rc == 0, "info: %s", err.msg);
    if (!rc) {
        CHECK(realpath(env("IBS_TEST_DATADIR"), want_datadir) != NULL, "realpath of the datadir");
        CHECK(strcmp(info.datadir, want_datadir) == 0, "datadir %s, expected %s", info.datadir,
              want_datadir);
        CHECK(info.page_size == 16384, "page size %u", info.page_size);
        CHECK(info.version_id >= 100800, "version id %lu", info.version_id);
        CHECK(strstr(info.version, "MariaDB") != NULL, "version %s", info.version);
        CHECK(info.server_id == 1, "server id %u", info.server_id);
        CHECK(strcmp(info.data_home_dir, want_datadir) == 0, "data home dir %s", info.data_home_dir);
        CHECK(strcmp(info.undo_dir, want_datadir) == 0, "undo dir %s", info.undo_dir);
        CHECK(strcmp(info.log_dir, want_datadir) == 0, "log dir %s", info.log_dir);
        CHECK(strncmp(info.data_file_path, "ibdata1:", 8) == 0, "data file path %s", info.data_file_path);
        CHECK(info.log_file_size == 48u << 20, "log file size %llu",
              (unsigned long long)info.log_file_size);
        CHECK(info.log_bin, "log_bin is off");
        char want_basename[PATH_MAX + 16];
        snprintf(want_basename, sizeof(want_basename), "%s/mysql-bin", want_datadir);
        CHECK(strcmp(info.log_bin_basename, want_basename) == 0, "log_bin_basename %s",
              info.log_bin_basename);
        CHECK(!info.encrypt_log && !info.encrypt_tables, "encryption reported on");
        CHECK(info.checksum_algorithm[0] != '\0', "no checksum algorithm");
        CHECK(info.hostname[0] != '\0', "no hostname");
    }
    /* The harness's account holds what a backup needs. */
    rc = eng_server_check_privileges(s, &err);
    CHECK(rc == 0, "privileges of the backup account: %s", err.msg);
    eng_server_close(s);
}

static void test_connect_tcp(void)
{
    struct eng_conn_opts o = socket_opts();
    struct eng_server *s = NULL;
    struct ibs_err err;

    o.socket = NULL;
    o.host = "127.0.0.1";
    o.port = (unsigned)atoi(env("IBS_TEST_MYSQL_PORT"));
    int rc = eng_server_connect(&o, &s, &err);
    CHECK(rc == 0, "connect via TCP: %s", err.msg);
    if (rc)
        return;
    const char *how = mysql_get_host_info(eng_server_handle(s));
    CHECK(strstr(how, "TCP") != NULL, "host info %s", how);
    current_user_is(s, "ibstream@127.0.0.1");
    eng_server_close(s);
}

static void test_connect_defaults_file(void)
{
    struct eng_conn_opts o = {.defaults_file = env("IBS_TEST_DEFAULTS_FILE")};
    struct eng_server *s = NULL;
    struct ibs_err err;

    int rc = eng_server_connect(&o, &s, &err);
    CHECK(rc == 0, "connect via %s: %s", o.defaults_file, err.msg);
    if (!rc)
        current_user_is(s, "ibstream@localhost");
    eng_server_close(s);

    o.defaults_file = "/nonexistent/ibstream-test.cnf";
    s = NULL;
    rc = eng_server_connect(&o, &s, &err);
    CHECK(rc == IBS_E_USAGE, "missing defaults file gave %d: %s", rc, err.msg);
    CHECK(strstr(err.msg, "/nonexistent/ibstream-test.cnf") != NULL, "message %s", err.msg);
    CHECK(s == NULL, "handle returned on failure");
}

/* The extra file fills what the usual (here: the test's) file lacks, and
 * explicit values win over it. */
static void test_connect_defaults_extra_file(void)
{
    char path[PATH_MAX], base[PATH_MAX];
    struct eng_server *s = NULL;
    struct ibs_err err;
    FILE *f;

    snprintf(base, sizeof(base), "%s/engine_server_base.cnf", env("IBS_TEST_TMPDIR"));
    snprintf(path, sizeof(path), "%s/engine_server_extra.cnf", env("IBS_TEST_TMPDIR"));
    f = fopen(base, "w");
    CHECK(f != NULL, "cannot write %s", base);
    if (!f)
        return;
    fprintf(f, "[client]\nuser=nobody-here\nsocket=%s\n", env("IBS_TEST_MYSQL_SOCKET"));
    fclose(f);
    f = fopen(path, "w");
    CHECK(f != NULL, "cannot write %s", path);
    if (!f)
        return;
    fprintf(f, "# extra\n[mysqld]\nuser=mysql\n[ibstream]\nuser = %s\npassword = \"%s\"\n",
            env("IBS_TEST_MYSQL_USER"), env("IBS_TEST_MYSQL_PASSWORD"));
    fclose(f);

    struct eng_conn_opts o = {.defaults_file = base, .defaults_extra_file = path};
    int rc = eng_server_connect(&o, &s, &err);
    CHECK(rc == 0, "connect with an extra file: %s", err.msg);
    if (!rc)
        current_user_is(s, "ibstream@localhost");
    eng_server_close(s);

    /* An explicit, wrong password wins over the extra file's right one. */
    o.password = "not-the-password";
    s = NULL;
    rc = eng_server_connect(&o, &s, &err);
    CHECK(rc == IBS_E_CONNECT, "explicit wrong password gave %d: %s", rc, err.msg);
    eng_server_close(s);
}

static void test_connect_errors(void)
{
    struct eng_conn_opts o = socket_opts();
    struct eng_server *s = NULL;
    struct ibs_err err;

    o.password = "wrong-password";
    int rc = eng_server_connect(&o, &s, &err);
    CHECK(rc == IBS_E_CONNECT, "wrong password gave %d: %s", rc, err.msg);
    CHECK(strcmp(err.msg, "access denied for user 'ibstream'@'localhost': check --user/--password "
                          "or the [client] group of your option file") == 0,
          "message: %s", err.msg);
    CHECK(s == NULL, "handle returned on failure");

    o = socket_opts();
    o.socket = "/nonexistent/mysqld.sock";
    rc = eng_server_connect(&o, &s, &err);
    CHECK(rc == IBS_E_CONNECT, "bad socket gave %d: %s", rc, err.msg);
    CHECK(strncmp(err.msg, "cannot connect to MariaDB at /nonexistent/mysqld.sock: ", 55) == 0,
          "message: %s", err.msg);
    CHECK(strstr(err.msg, "; is the server running? check --socket or --host/--port") != NULL,
          "message: %s", err.msg);

    /* Nothing listens on port 1 of the loopback. */
    o = socket_opts();
    o.socket = NULL;
    o.host = "127.0.0.1";
    o.port = 1;
    rc = eng_server_connect(&o, &s, &err);
    CHECK(rc == IBS_E_CONNECT, "closed port gave %d: %s", rc, err.msg);
    CHECK(strncmp(err.msg, "cannot connect to MariaDB at 127.0.0.1:1: ", 42) == 0, "message: %s",
          err.msg);
}

static struct eng_server *connect_as(const char *user, const char *password)
{
    struct eng_conn_opts o = {.socket = env("IBS_TEST_MYSQL_SOCKET"), .user = user,
                              .password = password, .defaults_file = "/dev/null"};
    struct eng_server *s = NULL;
    struct ibs_err err;
    int rc = eng_server_connect(&o, &s, &err);
    CHECK(rc == 0, "connect as %s: %s", user, err.msg);
    return s;
}

/* An account with no privileges is refused with the list and the GRANT; one
 * with exactly the required privileges passes the check and can run every
 * statement a backup runs: that is how the minimum was established. */
static void test_privileges(struct eng_server *root)
{
    struct eng_server *s;
    struct ibs_err err;
    int rc;

    root_exec(root, "CREATE USER 'ibs_nopriv'@'localhost' IDENTIFIED BY 'nopriv-secret'");
    s = connect_as("ibs_nopriv", "nopriv-secret");
    if (s) {
        rc = eng_server_check_privileges(s, &err);
        CHECK(rc == IBS_E_SERVER, "no privileges gave %d: %s", rc, err.msg);
        CHECK(strstr(err.msg, "'ibs_nopriv'@'localhost'") != NULL, "message: %s", err.msg);
        CHECK(strstr(err.msg, "GRANT RELOAD, PROCESS, BINLOG MONITOR ON *.* TO "
                              "'ibs_nopriv'@'localhost';") != NULL,
              "message: %s", err.msg);
        /* And the server agrees they are needed. */
        CHECK(eng_server_exec(s, "BACKUP STAGE START", &err) == IBS_E_SERVER, "BACKUP STAGE ran");
        CHECK(eng_server_exec(s, "SHOW MASTER STATUS", &err) == IBS_E_SERVER, "SHOW MASTER STATUS ran");
        eng_server_close(s);
    }

    root_exec(root, "GRANT RELOAD, PROCESS ON *.* TO 'ibs_nopriv'@'localhost'");
    s = connect_as("ibs_nopriv", "nopriv-secret");
    if (s) {
        rc = eng_server_check_privileges(s, &err);
        CHECK(rc == IBS_E_SERVER, "missing BINLOG MONITOR gave %d: %s", rc, err.msg);
        CHECK(strstr(err.msg, "lacks the privileges BINLOG MONITOR that") != NULL, "message: %s",
              err.msg);
        eng_server_close(s);
    }

    /* REPLICATION CLIENT is the old name of BINLOG MONITOR. */
    root_exec(root, "GRANT REPLICATION CLIENT ON *.* TO 'ibs_nopriv'@'localhost'");
    s = connect_as("ibs_nopriv", "nopriv-secret");
    if (!s)
        return;
    rc = eng_server_check_privileges(s, &err);
    CHECK(rc == 0, "minimal privileges refused: %s", err.msg);
    for (enum eng_backup_stage st = ENG_STAGE_START; st <= ENG_STAGE_END; st++) {
        rc = eng_server_backup_stage(s, st, &err);
        CHECK(rc == 0, "minimal account, stage %s: %s", eng_backup_stage_name(st), err.msg);
        if (st == ENG_STAGE_BLOCK_COMMIT) {
            struct eng_binlog_pos pos;
            rc = eng_server_binlog_pos(s, &pos, &err);
            CHECK(rc == 0 && pos.enabled, "minimal account, binlog pos: %s", err.msg);
        }
    }
    uint64_t cur, ckpt;
    rc = eng_server_lsn(s, &cur, &ckpt, &err);
    CHECK(rc == 0, "minimal account, lsn: %s", err.msg);
    char buf[64];
    rc = eng_server_query_value(s, "SELECT COUNT(*) FROM information_schema.INNODB_SYS_TABLESPACES",
                                buf, sizeof(buf), &err);
    CHECK(rc == 0 && atoi(buf) > 0, "minimal account sees %s tablespaces: %s", buf, err.msg);
    eng_server_close(s);
}

static void test_backup_stages(void)
{
    struct eng_conn_opts o = socket_opts();
    struct eng_server *s = NULL;
    struct ibs_err err;

    if (eng_server_connect(&o, &s, &err)) {
        CHECK(0, "connect: %s", err.msg);
        return;
    }
    /* Out of order: the server refuses, and we report it. */
    int rc = eng_server_backup_stage(s, ENG_STAGE_BLOCK_DDL, &err);
    CHECK(rc == IBS_E_SERVER, "BLOCK_DDL before START gave %d", rc);
    CHECK(strstr(err.msg, "BACKUP STAGE BLOCK_DDL") != NULL, "message: %s", err.msg);

    for (enum eng_backup_stage st = ENG_STAGE_START; st <= ENG_STAGE_END; st++) {
        rc = eng_server_backup_stage(s, st, &err);
        CHECK(rc == 0, "stage %s: %s", eng_backup_stage_name(st), err.msg);
    }
    eng_server_close(s);
}

static void test_binlog_and_lsn(struct eng_server *root)
{
    struct eng_conn_opts o = socket_opts();
    struct eng_server *s = NULL;
    struct eng_binlog_pos pos;
    struct ibs_err err;
    uint64_t cur = 0, ckpt = 0;

    root_exec(root, "CREATE DATABASE ibs_session");
    root_exec(root, "CREATE TABLE ibs_session.t (a INT PRIMARY KEY) ENGINE=InnoDB");
    root_exec(root, "INSERT INTO ibs_session.t VALUES (1), (2), (3)");
    if (eng_server_connect(&o, &s, &err)) {
        CHECK(0, "connect: %s", err.msg);
        return;
    }
    int rc = eng_server_binlog_pos(s, &pos, &err);
    CHECK(rc == 0, "binlog pos: %s", err.msg);
    CHECK(pos.enabled, "binlog reported off");
    CHECK(strncmp(pos.file, "mysql-bin.", 10) == 0, "binlog file %s", pos.file);
    CHECK(pos.position > 0, "binlog position %llu", (unsigned long long)pos.position);
    CHECK(strncmp(pos.gtid, "0-1-", 4) == 0, "gtid '%s'", pos.gtid);

    rc = eng_server_lsn(s, &cur, &ckpt, &err);
    CHECK(rc == 0, "lsn: %s", err.msg);
    CHECK(ckpt > 0 && cur >= ckpt, "current lsn %llu, checkpoint %llu", (unsigned long long)cur,
          (unsigned long long)ckpt);

    /* Small helpers. */
    char buf[8];
    rc = eng_server_query_value(s, "SELECT a FROM ibs_session.t WHERE a = 42", buf, sizeof(buf), &err);
    CHECK(rc == IBS_E_NOTFOUND, "no row gave %d", rc);
    rc = eng_server_query_value(s, "SELECT REPEAT('x', 100)", buf, sizeof(buf), &err);
    CHECK(rc == IBS_E_SERVER, "too long a value gave %d", rc);
    rc = eng_server_exec(s, "SELEC 1", &err);
    CHECK(rc == IBS_E_SERVER && strstr(err.msg, "SELEC 1") != NULL, "syntax error gave %d: %s", rc,
          err.msg);
    eng_server_close(s);
    eng_server_close(NULL);
}

int main(void)
{
    ibs_log_configure(IBS_LOG_WARN, IBS_LOG_TEXT, NULL);
    struct eng_server *root = root_connect();

    test_connect_socket_and_info();
    test_connect_tcp();
    test_connect_defaults_file();
    test_connect_defaults_extra_file();
    test_connect_errors();
    test_privileges(root);
    test_backup_stages();
    test_binlog_and_lsn(root);

    eng_server_close(root);
    ibs_log_forget_secrets();
    mysql_library_end();
    if (failures) {
        fprintf(stderr, "engine_server_session: %d check(s) failed\n", failures);
        return 1;
    }
    printf("engine_server_session: all checks passed\n");
    return 0;
}
