/* Unit tests of engine/server and engine/discover without a server: path
 * resolution, option files, innodb_data_file_path, the file-name rules, the
 * file list, and the datadir scan (on a temporary directory). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/discover.h"
#include "engine/server.h"

static void resolves(const char *base, const char *dir, const char *expected)
{
    char out[256];
    struct ibs_err err;
    assert_int_equal(eng_path_resolve(base, dir, out, sizeof(out), &err), 0);
    assert_string_equal(out, expected);
}

static void test_path_resolve(void **state)
{
    resolves("/var/lib/mysql/", NULL, "/var/lib/mysql");
    resolves("/var/lib/mysql/", "", "/var/lib/mysql");
    resolves("/var/lib/mysql/", "./", "/var/lib/mysql");
    resolves("/var/lib/mysql", ".", "/var/lib/mysql");
    resolves("/var/lib/mysql", "undo/", "/var/lib/mysql/undo");
    resolves("/var/lib/mysql", "./logs//redo/", "/var/lib/mysql/logs/redo");
    resolves("/var/lib/mysql", "/srv/undo/", "/srv/undo");
    resolves("/var/lib/mysql", "/", "/");
    resolves("/", NULL, "/");

    char small[8];
    struct ibs_err err;
    assert_int_equal(eng_path_resolve("/var/lib/mysql", NULL, small, sizeof(small), &err),
                     IBS_E_INTERNAL);
}

static char *write_temp(const char *text)
{
    char *path = strdup("/tmp/ibs-unit-cnf.XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    return path;
}

static void test_optfile(void **state)
{
    char *path = write_temp("# comment\n"
                            "[mysqld]\nuser=mysql\nport=1\n"
                            "[client]\nuser=backup\npassword=\"p#ss \\\"w\"\nport = 3307\n"
                            "skip-ssl\n; other comment\n!includedir /etc/mysql/conf.d/\n"
                            "[ibstream]\nhost = 127.0.0.1 # trailing\nsocket='/run/x.sock'\n"
                            "[mariadb-dump]\nuser=other\n");
    struct eng_optfile f;
    struct ibs_err err;

    assert_int_equal(eng_optfile_read(path, &f, &err), 0);
    assert_string_equal(f.user, "backup");
    assert_string_equal(f.password, "p#ss \"w");
    assert_int_equal(f.port, 3307);
    assert_string_equal(f.host, "127.0.0.1");
    assert_string_equal(f.socket, "/run/x.sock");
    eng_optfile_free(&f);
    unlink(path);
    free(path);

    path = write_temp("[client]\nport=http\n");
    assert_int_equal(eng_optfile_read(path, &f, &err), IBS_E_USAGE);
    assert_non_null(strstr(err.msg, "line 2"));
    unlink(path);
    free(path);

    assert_int_equal(eng_optfile_read("/nonexistent/x.cnf", &f, &err), IBS_E_USAGE);
    assert_non_null(strstr(err.msg, "/nonexistent/x.cnf"));
}

static void test_data_file_path(void **state)
{
    struct eng_data_file *files;
    size_t n;
    struct ibs_err err;

    assert_int_equal(eng_parse_data_file_path("ibdata1:12M:autoextend", &files, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_string_equal(files[0].path, "ibdata1");
    assert_int_equal(files[0].size, 12u << 20);
    assert_true(files[0].autoextend);
    assert_int_equal(files[0].max_size, 0);
    free(files);

    assert_int_equal(eng_parse_data_file_path("ibdata1:1G;/srv/ib/ibdata2:512K;ibdata3:100000:autoextend:max:2G",
                                              &files, &n, &err), 0);
    assert_int_equal(n, 3);
    assert_string_equal(files[0].path, "ibdata1");
    assert_int_equal(files[0].size, 1ull << 30);
    assert_false(files[0].autoextend);
    assert_string_equal(files[1].path, "/srv/ib/ibdata2");
    assert_int_equal(files[1].size, 512u << 10);
    assert_string_equal(files[2].path, "ibdata3");
    assert_int_equal(files[2].size, 100000);
    assert_true(files[2].autoextend);
    assert_int_equal(files[2].max_size, 2ull << 30);
    free(files);

    assert_int_equal(eng_parse_data_file_path("/dev/sdb:10Gnewraw", &files, &n, &err), 0);
    assert_true(files[0].raw);
    assert_int_equal(files[0].size, 10ull << 30);
    free(files);

    const char *bad[] = {"", "ibdata1", "ibdata1:", ":12M", "ibdata1:12X", "ibdata1:12M:autoextend;ibdata2:1M",
                         "ibdata1:12M:max:1G", "ibdata1:0M"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        files = (void *)1;
        assert_int_equal(eng_parse_data_file_path(bad[i], &files, &n, &err), IBS_E_SERVER);
        assert_null(files);
        assert_int_equal(n, 0);
    }
}

static void test_name_rules(void **state)
{
    const char *wanted[] = {"t.frm", "t.MYD", "t.MYI", "t.MAD", "t.MAI", "t.CSV", "t.CSM", "t.ARZ",
                            "t.ARM", "t.MRG", "t.TRG", "trg1.TRN", "db.opt", "t.par", "t.isl"};
    for (size_t i = 0; i < sizeof(wanted) / sizeof(wanted[0]); i++)
        assert_true(eng_other_file_wanted(wanted[i]));
    const char *unwanted[] = {"t.ibd", "#sql-1a2b_3.frm", "#sql-alter-1-2.MYD", "t.frm~", "frm", ".frm",
                              "t.myd", "ib_logfile0", "t.TMD", "t.BAK"};
    for (size_t i = 0; i < sizeof(unwanted) / sizeof(unwanted[0]); i++)
        assert_false(eng_other_file_wanted(unwanted[i]));

    assert_true(eng_top_file_wanted("aria_log_control"));
    assert_true(eng_top_file_wanted("aria_log.00000001"));
    const char *top_unwanted[] = {"aria_log.1", "aria_log.0000000x", "ib_logfile0", "ibtmp1", "ibdata1",
                                  "mysql-bin.000001", "mysql-bin.index", "relay-bin.000002", "x.pid",
                                  "x.err", "mysqld.sock", "ib_buffer_pool", "ddl_recovery.log",
                                  "multi-master.info", "t.frm"};
    for (size_t i = 0; i < sizeof(top_unwanted) / sizeof(top_unwanted[0]); i++)
        assert_false(eng_top_file_wanted(top_unwanted[i]));

    assert_true(eng_database_dir_wanted("mysql"));
    assert_true(eng_database_dir_wanted("my@002ddb"));
    assert_false(eng_database_dir_wanted("lost+found"));
    assert_false(eng_database_dir_wanted("#rocksdb"));
    assert_false(eng_database_dir_wanted(".snapshot"));

    assert_true(eng_ibd_file_wanted("t.ibd"));
    assert_true(eng_ibd_file_wanted("t#P#p0.ibd"));
    assert_true(eng_ibd_file_wanted("t#P#p0#SP#sp1.ibd"));
    assert_false(eng_ibd_file_wanted("#sql-alter-1-2.ibd"));
    assert_false(eng_ibd_file_wanted("#sql-ib123.ibd"));
    assert_false(eng_ibd_file_wanted("ibtmp1"));
    assert_false(eng_ibd_file_wanted("t.frm"));

    assert_string_equal(eng_name_in_datadir("/d/data", "/d/data/db/t.ibd"), "db/t.ibd");
    assert_string_equal(eng_name_in_datadir("/d/data/", "/d/data/ibdata1"), "ibdata1");
    assert_null(eng_name_in_datadir("/d/data", "/d/data2/t.ibd"));
    assert_null(eng_name_in_datadir("/d/data", "/d/data"));
    assert_null(eng_name_in_datadir("/d/data", "/srv/remote/db/t.ibd"));
}

static void test_file_list(void **state)
{
    struct eng_file_list list = {0};
    struct ibs_err err;
    char name[32];

    for (int i = 99; i >= 0; i--) {
        snprintf(name, sizeof(name), "db/t%02d.ibd", i);
        assert_int_equal(eng_file_list_add(&list, "/x", name, ENG_FILE_IBD, (uint32_t)i, 16384, &err), 0);
    }
    assert_int_equal(list.count, 100);
    eng_file_list_sort(&list);
    assert_string_equal(list.files[0].name, "db/t00.ibd");
    assert_string_equal(list.files[99].name, "db/t99.ibd");
    const struct eng_file *f = eng_file_list_find(&list, "db/t42.ibd");
    assert_non_null(f);
    assert_int_equal(f->space_id, 42);
    assert_null(eng_file_list_find(&list, "db/t100.ibd"));
    eng_file_list_free(&list);
    assert_int_equal(list.count, 0);
    eng_file_list_free(&list);
    eng_file_list_free(NULL);
}

static void touch(const char *dir, const char *name)
{
    char path[1200];
    int n = snprintf(path, sizeof(path), "%s/%s", dir, name);
    assert_true(n > 0 && (size_t)n < sizeof(path));
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("x", f);
    fclose(f);
}

/* eng_discover_other on a fake datadir: what is copied and what is not. */
static void test_discover_other_fake_datadir(void **state)
{
    char dir[] = "/tmp/ibs-unit-datadir.XXXXXX";
    char sub[600];
    struct eng_server_info info;
    struct eng_file_list list = {0};
    struct ibs_err err;

    assert_non_null(mkdtemp(dir));
    memset(&info, 0, sizeof(info));
    snprintf(info.datadir, sizeof(info.datadir), "%s", dir);
    snprintf(info.undo_dir, sizeof(info.undo_dir), "%s", dir);
    snprintf(info.log_dir, sizeof(info.log_dir), "%s", dir);
    snprintf(info.data_home_dir, sizeof(info.data_home_dir), "%s", dir);
    info.log_bin = true;
    snprintf(info.log_bin_basename, sizeof(info.log_bin_basename), "%s/binlogs/mysql-bin", dir);

    const char *top[] = {"aria_log_control", "aria_log.00000001", "ib_logfile0", "ibdata1", "ibtmp1",
                         "mysql-bin.000001", "ib_buffer_pool", "x.pid", "ddl_recovery.log"};
    for (size_t i = 0; i < sizeof(top) / sizeof(top[0]); i++)
        touch(dir, top[i]);
    snprintf(sub, sizeof(sub), "%s/db1", dir);
    mkdir(sub, 0700);
    const char *db1[] = {"db.opt", "t.frm", "t.ibd", "m.MYD", "m.MYI", "m.frm", "#sql-1.frm"};
    for (size_t i = 0; i < sizeof(db1) / sizeof(db1[0]); i++)
        touch(sub, db1[i]);
    snprintf(sub, sizeof(sub), "%s/db1/nested", dir);
    mkdir(sub, 0700);
    touch(sub, "n.frm");
    snprintf(sub, sizeof(sub), "%s/binlogs", dir);
    mkdir(sub, 0700);
    touch(sub, "x.frm");
    snprintf(sub, sizeof(sub), "%s/lost+found", dir);
    mkdir(sub, 0700);
    touch(sub, "y.frm");

    assert_int_equal(eng_discover_other(&info, &list, &err), 0);
    const char *expected[] = {"aria_log.00000001", "aria_log_control", "db1/db.opt", "db1/m.MYD",
                              "db1/m.MYI", "db1/m.frm", "db1/t.frm"};
    assert_int_equal(list.count, sizeof(expected) / sizeof(expected[0]));
    for (size_t i = 0; i < list.count; i++) {
        assert_string_equal(list.files[i].name, expected[i]);
        assert_int_equal(list.files[i].kind, ENG_FILE_OTHER);
        assert_int_equal(list.files[i].size, 1);
        assert_int_equal(strncmp(list.files[i].path, dir, strlen(dir)), 0);
    }
    eng_file_list_free(&list);

    /* A missing datadir is an I/O error naming it. */
    snprintf(info.datadir, sizeof(info.datadir), "%s/missing", dir);
    assert_int_equal(eng_discover_other(&info, &list, &err), IBS_E_IO);
    assert_non_null(strstr(err.msg, info.datadir));

    char cmd[700];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_path_resolve),
        cmocka_unit_test(test_optfile),
        cmocka_unit_test(test_data_file_path),
        cmocka_unit_test(test_name_rules),
        cmocka_unit_test(test_file_list),
        cmocka_unit_test(test_discover_other_fake_datadir),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
