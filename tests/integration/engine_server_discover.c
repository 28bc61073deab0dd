/* Integration test of engine/discover against a real MariaDB server (run by
 * with-mariadb): two databases with InnoDB tables of every row format, a
 * partitioned table, a DATA DIRECTORY table, MyISAM, Aria and CSV tables;
 * every file is found with the right kind, and the space ids match
 * information_schema. */
#include <limits.h>
#include <mysql.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "engine/discover.h"
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

static struct eng_server *connect_as(const char *user, const char *password)
{
    struct eng_conn_opts o = {.socket = env("IBS_TEST_MYSQL_SOCKET"), .user = user,
                              .password = password, .defaults_file = "/dev/null"};
    struct eng_server *s = NULL;
    struct ibs_err err;
    if (eng_server_connect(&o, &s, &err)) {
        fprintf(stderr, "FAIL: connect as %s: %s\n", user, err.msg);
        exit(1);
    }
    return s;
}

static void exec_or_die(struct eng_server *s, const char *sql)
{
    struct ibs_err err;
    if (eng_server_exec(s, sql, &err)) {
        fprintf(stderr, "FAIL: %s\n", err.msg);
        exit(1);
    }
}

static void setup(struct eng_server *root, const char *remote_dir)
{
    char sql[PATH_MAX + 256];

    exec_or_die(root, "CREATE DATABASE ibs_d1");
    exec_or_die(root, "CREATE DATABASE ibs_d2");
    exec_or_die(root, "CREATE TABLE ibs_d1.red (a INT PRIMARY KEY, b VARCHAR(20)) ENGINE=InnoDB "
                      "ROW_FORMAT=REDUNDANT");
    exec_or_die(root, "CREATE TABLE ibs_d1.cmp (a INT PRIMARY KEY) ENGINE=InnoDB ROW_FORMAT=COMPACT");
    exec_or_die(root, "CREATE TABLE ibs_d1.dyn (a INT PRIMARY KEY) ENGINE=InnoDB ROW_FORMAT=DYNAMIC");
    exec_or_die(root, "CREATE TABLE ibs_d1.zip (a INT PRIMARY KEY) ENGINE=InnoDB "
                      "ROW_FORMAT=COMPRESSED KEY_BLOCK_SIZE=8");
    exec_or_die(root, "CREATE TABLE ibs_d1.part (a INT PRIMARY KEY) ENGINE=InnoDB "
                      "PARTITION BY HASH(a) PARTITIONS 3");
    exec_or_die(root, "INSERT INTO ibs_d1.red VALUES (1, 'one'), (2, 'two')");
    exec_or_die(root, "INSERT INTO ibs_d1.part VALUES (1), (2), (3), (4)");
    snprintf(sql, sizeof(sql),
             "CREATE TABLE ibs_d2.remote (a INT PRIMARY KEY) ENGINE=InnoDB DATA DIRECTORY='%s'",
             remote_dir);
    exec_or_die(root, sql);
    exec_or_die(root, "CREATE TABLE ibs_d2.my (a INT) ENGINE=MyISAM");
    exec_or_die(root, "CREATE TABLE ibs_d2.ar (a INT) ENGINE=Aria");
    exec_or_die(root, "CREATE TABLE ibs_d2.cs (a INT NOT NULL) ENGINE=CSV");
    exec_or_die(root, "INSERT INTO ibs_d2.my VALUES (1)");
    exec_or_die(root, "INSERT INTO ibs_d2.ar VALUES (1)");
    exec_or_die(root, "INSERT INTO ibs_d2.cs VALUES (1)");
    exec_or_die(root, "CREATE TRIGGER ibs_d2.my_bi BEFORE INSERT ON ibs_d2.my FOR EACH ROW SET NEW.a = NEW.a");
    /* Written to disk, so page 0 of every tablespace holds its space id. */
    exec_or_die(root, "SET GLOBAL innodb_max_dirty_pages_pct = 0");
}

/* A .ibd file the server does not know (left by a crash, say): found by
 * the directory scan, its space id read from page 0. And a temporary file,
 * which must be skipped. */
static void plant_files(const char *datadir)
{
    char path[PATH_MAX + 64];
    unsigned char page[16384] = {0};
    FILE *f;

    page[34] = 0x00, page[35] = 0x00, page[36] = 0x03, page[37] = 0x09; /* space 777 */
    snprintf(path, sizeof(path), "%s/ibs_d1/orphan.ibd", datadir);
    f = fopen(path, "wb");
    if (!f || fwrite(page, sizeof(page), 1, f) != 1) {
        fprintf(stderr, "FAIL: cannot write %s\n", path);
        exit(1);
    }
    fclose(f);
    snprintf(path, sizeof(path), "%s/ibs_d1/#sql-alter-1-2.ibd", datadir);
    f = fopen(path, "wb");
    if (!f) {
        fprintf(stderr, "FAIL: cannot write %s\n", path);
        exit(1);
    }
    fclose(f);
}

/* The tablespaces information_schema lists for our databases and mysql. */
static void check_innodb_against_information_schema(struct eng_server *root,
                                                    const struct eng_file_list *list,
                                                    const char *datadir, const char *remote_dir)
{
    MYSQL *mysql = eng_server_handle(root);
    MYSQL_RES *res;
    MYSQL_ROW row;
    int seen = 0;

    if (mysql_query(mysql, "SELECT SPACE, NAME, FILENAME FROM information_schema.INNODB_SYS_TABLESPACES "
                           "WHERE NAME LIKE 'ibs\\_d%' OR NAME LIKE 'mysql/%'") != 0 ||
        !(res = mysql_store_result(mysql))) {
        CHECK(0, "information_schema query: %s", mysql_error(mysql));
        return;
    }
    while ((row = mysql_fetch_row(res))) {
        char name[1024];
        uint32_t space = (uint32_t)strtoul(row[0], NULL, 10);
        if (row[2][0] == '/')
            snprintf(name, sizeof(name), "%s", row[2]);
        else
            snprintf(name, sizeof(name), "%s.ibd", row[1]);
        const struct eng_file *f = eng_file_list_find(list, name);
        CHECK(f != NULL, "tablespace %s (%s) not discovered", row[1], name);
        if (!f)
            continue;
        seen++;
        CHECK(f->kind == ENG_FILE_IBD, "%s kind %d", name, f->kind);
        CHECK(f->space_id == space, "%s space id %u, information_schema says %u", name, f->space_id,
              space);
    }
    mysql_free_result(res);
    /* 4 mysql tables + red cmp dyn zip + 3 partitions + remote */
    CHECK(seen == 12, "information_schema listed %d of our tablespaces, expected 12", seen);

    const char *expected_ibd[] = {"ibs_d1/red.ibd", "ibs_d1/cmp.ibd", "ibs_d1/dyn.ibd", "ibs_d1/zip.ibd",
                                  "ibs_d1/part#P#p0.ibd", "ibs_d1/part#P#p1.ibd", "ibs_d1/part#P#p2.ibd",
                                  "mysql/innodb_table_stats.ibd", "mysql/innodb_index_stats.ibd",
                                  "mysql/gtid_slave_pos.ibd", "mysql/transaction_registry.ibd"};
    for (size_t i = 0; i < sizeof(expected_ibd) / sizeof(expected_ibd[0]); i++) {
        const struct eng_file *f = eng_file_list_find(list, expected_ibd[i]);
        CHECK(f != NULL, "%s missing", expected_ibd[i]);
        if (!f)
            continue;
        char path[PATH_MAX + 64];
        snprintf(path, sizeof(path), "%s/%s", datadir, expected_ibd[i]);
        CHECK(strcmp(f->path, path) == 0, "%s path %s", expected_ibd[i], f->path);
        CHECK(f->space_id != 0, "%s has no space id", expected_ibd[i]);
    }

    char remote[PATH_MAX + 64];
    snprintf(remote, sizeof(remote), "%s/ibs_d2/remote.ibd", remote_dir);
    const struct eng_file *f = eng_file_list_find(list, remote);
    CHECK(f != NULL, "DATA DIRECTORY table %s missing", remote);
    if (f)
        CHECK(strcmp(f->path, remote) == 0 && f->kind == ENG_FILE_IBD, "remote %s kind %d", f->path,
              f->kind);
}

static void test_discover_innodb(struct eng_server *root, struct eng_server *s,
                                 const struct eng_server_info *info, const char *remote_dir)
{
    struct eng_file_list list = {0};
    struct ibs_err err;

    int rc = eng_discover_innodb(s, info, &list, &err);
    CHECK(rc == 0, "discover innodb: %s", err.msg);
    if (rc) {
        eng_file_list_free(&list);
        return;
    }
    for (size_t i = 0; i < list.count; i++) {
        const struct eng_file *f = &list.files[i];
        struct stat st;
        CHECK(f->path[0] == '/', "%s: path %s not absolute", f->name, f->path);
        CHECK(stat(f->path, &st) == 0 && S_ISREG(st.st_mode), "%s: %s is no file", f->name, f->path);
        CHECK(f->size > 0, "%s: size 0", f->name);
        CHECK(f->kind != ENG_FILE_OTHER, "%s: kind other", f->name);
        CHECK(strstr(f->name, "#sql") == NULL, "%s: temporary file listed", f->name);
        CHECK(strcmp(f->name, "ibtmp1") != 0, "ibtmp1 listed");
        if (i > 0)
            CHECK(strcmp(list.files[i - 1].name, f->name) < 0, "not sorted at %s", f->name);
    }
    const struct eng_file *sys = eng_file_list_find(&list, "ibdata1");
    CHECK(sys && sys->kind == ENG_FILE_SYSTEM && sys->space_id == 0 && sys->size >= (12u << 20),
          "ibdata1 missing or wrong");
    const struct eng_file *orphan = eng_file_list_find(&list, "ibs_d1/orphan.ibd");
    CHECK(orphan && orphan->space_id == 777 && orphan->kind == ENG_FILE_IBD,
          "orphan .ibd missing or space id %u", orphan ? orphan->space_id : 0);
    /* system + 11 datadir tablespaces + remote + orphan */
    CHECK(list.count == 14, "%zu InnoDB files, expected 14", list.count);
    check_innodb_against_information_schema(root, &list, info->datadir, remote_dir);
    eng_file_list_free(&list);
}

static void test_discover_other(const struct eng_server_info *info)
{
    struct eng_file_list list = {0};
    struct ibs_err err;

    int rc = eng_discover_other(info, &list, &err);
    CHECK(rc == 0, "discover other: %s", err.msg);
    const char *expected[] = {
        "aria_log_control", "aria_log.00000001", "ibs_d1/db.opt", "ibs_d2/db.opt", "ibs_d1/red.frm",
        "ibs_d1/cmp.frm", "ibs_d1/dyn.frm", "ibs_d1/zip.frm", "ibs_d1/part.frm", "ibs_d1/part.par",
        "ibs_d2/remote.frm", "ibs_d2/my.frm", "ibs_d2/my.MYD", "ibs_d2/my.MYI", "ibs_d2/my.TRG",
        "ibs_d2/my_bi.TRN", "ibs_d2/ar.frm", "ibs_d2/ar.MAD", "ibs_d2/ar.MAI", "ibs_d2/cs.frm",
        "ibs_d2/cs.CSV", "ibs_d2/cs.CSM", "mysql/db.frm", "mysql/db.MAD", "mysql/db.MAI",
        "mysql/general_log.CSV", "mysql/innodb_table_stats.frm", "performance_schema/db.opt",
    };
    for (size_t i = 0; i < sizeof(expected) / sizeof(expected[0]); i++) {
        const struct eng_file *f = eng_file_list_find(&list, expected[i]);
        CHECK(f != NULL, "%s not discovered", expected[i]);
        if (f)
            CHECK(f->kind == ENG_FILE_OTHER && f->space_id == 0, "%s: kind %d", expected[i], f->kind);
    }
    for (size_t i = 0; i < list.count; i++) {
        const char *n = list.files[i].name;
        const char *base = strrchr(n, '/') ? strrchr(n, '/') + 1 : n;
        CHECK(strstr(n, ".ibd") == NULL && strncmp(base, "ib", 2) != 0 && strstr(n, "mysql-bin") == NULL &&
                  strstr(n, "#sql") == NULL && strcmp(n, "ddl_recovery.log") != 0 &&
                  strcmp(n, "multi-master.info") != 0 && strcmp(n, "mysql_upgrade_info") != 0,
              "%s should not be copied whole", n);
        struct stat st;
        CHECK(stat(list.files[i].path, &st) == 0 && (uint64_t)st.st_size == list.files[i].size,
              "%s: size %llu", n, (unsigned long long)list.files[i].size);
    }
    eng_file_list_free(&list);

    /* A datadir that cannot be read is an I/O error naming it. */
    struct eng_server_info bad = *info;
    snprintf(bad.datadir, sizeof(bad.datadir), "%s", "/nonexistent/ibstream-datadir");
    rc = eng_discover_other(&bad, &list, &err);
    CHECK(rc == IBS_E_IO && strstr(err.msg, bad.datadir) != NULL, "missing datadir gave %d: %s", rc,
          err.msg);
    eng_file_list_free(&list);
}

int main(void)
{
    char remote_dir[PATH_MAX];
    struct eng_server_info info;
    struct ibs_err err;

    ibs_log_configure(IBS_LOG_WARN, IBS_LOG_TEXT, NULL);
    snprintf(remote_dir, sizeof(remote_dir), "%s/remote", env("IBS_TEST_TMPDIR"));
    if (mkdir(remote_dir, 0777) != 0 || chmod(remote_dir, 0777) != 0) {
        fprintf(stderr, "FAIL: cannot create %s\n", remote_dir);
        return 1;
    }

    struct eng_server *root = connect_as("root", NULL);
    /* Discovery runs as the backup account, with the backup privileges. */
    struct eng_server *s = connect_as(env("IBS_TEST_MYSQL_USER"), env("IBS_TEST_MYSQL_PASSWORD"));
    if (eng_server_info(s, &info, &err)) {
        fprintf(stderr, "FAIL: info: %s\n", err.msg);
        return 1;
    }
    setup(root, remote_dir);
    plant_files(info.datadir);

    test_discover_innodb(root, s, &info, remote_dir);
    test_discover_other(&info);

    eng_server_close(s);
    eng_server_close(root);
    ibs_log_forget_secrets();
    mysql_library_end();
    if (failures) {
        fprintf(stderr, "engine_server_discover: %d check(s) failed\n", failures);
        return 1;
    }
    printf("engine_server_discover: all checks passed\n");
    return 0;
}
