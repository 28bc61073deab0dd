/* Unit tests for the command line: option layering (default < config file <
 * environment < command line), config sections, sizes, and password scrubbing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tools/cli.h"
#include "tools/options.h"

static const int test_options[] = {OPT_HELP,          OPT_CONFIG, OPT_REPO, OPT_USER,
                                   OPT_PASSWORD,      OPT_S3_PART_SIZE, OPT_S3_NO_VERIFY_TLS,
                                   OPT_S3_SECRET_KEY, -1};

static char config_path[] = "/tmp/ibstream-cli-test.XXXXXX";

static int write_config(void **state)
{
    int fd = mkstemp(config_path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fputs("# comment\n[ibstream]\nrepo = s3://from-config/all\nuser = cfguser\n"
          "s3-part-size = 32M\ns3-secret-key = cfgsecret1234\n"
          "[backup]\nrepo = s3://from-config/backup\n[restore]\nuser = restoreuser\n",
          f);
    fclose(f);
    unsetenv("IBSTREAM_REPO");
    unsetenv("IBSTREAM_USER");
    unsetenv("IBSTREAM_CONFIG");
    return 0;
}

static int remove_config(void **state)
{
    unlink(config_path);
    return 0;
}

/* Runs opts_load on a writable copy of args. */
static int load(struct opts *o, const char *command, char **args, int *first,
                struct ibs_err *err)
{
    int argc = 0;
    while (args[argc])
        argc++;
    return opts_load(o, command, test_options, argc, args, first, err);
}

static void test_defaults_config_env_cli_precedence(void **state)
{
    struct opts o;
    struct ibs_err err;
    int first;
    char cfg_arg[64];
    snprintf(cfg_arg, sizeof(cfg_arg), "--config=%s", config_path);

    char *a1[] = {"backup", cfg_arg, NULL};
    assert_int_equal(load(&o, "backup", a1, &first, &err), 0);
    /* [backup] beats [ibstream] for the backup command */
    assert_string_equal(opts_str(&o, OPT_REPO), "s3://from-config/backup");
    assert_int_equal(o.source[OPT_REPO], SRC_CONFIG);
    assert_string_equal(opts_str(&o, OPT_USER), "cfguser");
    uint64_t part;
    assert_int_equal(opts_size(&o, OPT_S3_PART_SIZE, &part, &err), 0);
    assert_int_equal(part, 32ull << 20);
    opts_free(&o);

    char *a2[] = {"list", cfg_arg, NULL};
    assert_int_equal(load(&o, "list", a2, &first, &err), 0);
    assert_string_equal(opts_str(&o, OPT_REPO), "s3://from-config/all");
    opts_free(&o);

    setenv("IBSTREAM_REPO", "/from/env", 1);
    char *a3[] = {"backup", cfg_arg, NULL};
    assert_int_equal(load(&o, "backup", a3, &first, &err), 0);
    assert_string_equal(opts_str(&o, OPT_REPO), "/from/env");
    assert_int_equal(o.source[OPT_REPO], SRC_ENV);
    opts_free(&o);

    char repo_arg[] = "--repo=/from/cli";
    char *a4[] = {"backup", cfg_arg, repo_arg, "positional", NULL};
    assert_int_equal(load(&o, "backup", a4, &first, &err), 0);
    assert_string_equal(opts_str(&o, OPT_REPO), "/from/cli");
    assert_int_equal(o.source[OPT_REPO], SRC_CLI);
    assert_string_equal(a4[first], "positional");
    opts_free(&o);
    unsetenv("IBSTREAM_REPO");
}

static void test_builtin_default_without_config(void **state)
{
    struct opts o;
    struct ibs_err err;
    int first;
    setenv("IBSTREAM_CONFIG", "/nonexistent/ibstream.conf", 1);
    char *a[] = {"backup", NULL};
    /* a config file named explicitly must exist */
    assert_int_equal(load(&o, "backup", a, &first, &err), IBS_E_USAGE);
    assert_non_null(strstr(err.msg, "/nonexistent/ibstream.conf"));
    opts_free(&o);
    unsetenv("IBSTREAM_CONFIG");
}

static void test_unknown_option_and_missing_value(void **state)
{
    struct opts o;
    struct ibs_err err;
    int first;
    char *a[] = {"backup", "--no-such-thing", NULL};
    assert_int_equal(load(&o, "backup", a, &first, &err), IBS_E_USAGE);
    assert_non_null(strstr(err.msg, "unknown option '--no-such-thing'"));
    opts_free(&o);
    char *b[] = {"backup", "--repo", NULL};
    assert_int_equal(load(&o, "backup", b, &first, &err), IBS_E_USAGE);
    assert_non_null(strstr(err.msg, "needs a value"));
    opts_free(&o);
}

static void test_unknown_config_key_is_an_error(void **state)
{
    char path[] = "/tmp/ibstream-cli-bad.XXXXXX";
    int fd = mkstemp(path);
    assert_true(write(fd, "[ibstream]\nrepo = x\nrepoo = y\n", 30) == 30);
    close(fd);
    char cfg_arg[64];
    snprintf(cfg_arg, sizeof(cfg_arg), "--config=%s", path);
    struct opts o;
    struct ibs_err err;
    int first;
    char *a[] = {"backup", cfg_arg, NULL};
    assert_int_equal(load(&o, "backup", a, &first, &err), IBS_E_USAGE);
    assert_non_null(strstr(err.msg, ": [ibstream] unknown option 'repoo'"));
    opts_free(&o);
    unlink(path);
}

static void test_password_is_scrubbed_from_argv(void **state)
{
    struct opts o;
    struct ibs_err err;
    int first;
    char pw[] = "--password=hunter22";
    char *a[] = {"backup", pw, NULL};
    assert_int_equal(load(&o, "backup", a, &first, &err), 0);
    assert_string_equal(opts_str(&o, OPT_PASSWORD), "hunter22");
    assert_string_equal(pw, "--password=xxxxxxxx");
    opts_free(&o);

    char bare[] = "--password";
    char *b[] = {"backup", bare, NULL};
    assert_int_equal(load(&o, "backup", b, &first, &err), 0);
    assert_true(o.password_prompt);
    assert_null(opts_str(&o, OPT_PASSWORD));
    opts_free(&o);
}

static void test_flags_and_sizes(void **state)
{
    uint64_t v;
    assert_int_equal(opts_parse_size("16M", &v), 0);
    assert_int_equal(v, 16ull << 20);
    assert_int_equal(opts_parse_size("5GiB", &v), 0);
    assert_int_equal(v, 5ull << 30);
    assert_int_equal(opts_parse_size("512", &v), 0);
    assert_int_equal(v, 512);
    assert_int_equal(opts_parse_size("12X", &v), -1);
    assert_int_equal(opts_parse_size("-1", &v), -1);
    assert_int_equal(opts_parse_size("99999999999T", &v), -1);

    struct opts o;
    struct ibs_err err;
    int first;
    char *a[] = {"backup", "--s3-no-verify-tls", NULL};
    assert_int_equal(load(&o, "backup", a, &first, &err), 0);
    assert_true(opts_bool(&o, OPT_S3_NO_VERIFY_TLS));
    opts_free(&o);
}

static void test_env_names(void **state)
{
    char buf[64];
    opts_env_name("s3-part-size", buf, sizeof(buf));
    assert_string_equal(buf, "IBSTREAM_S3_PART_SIZE");
}

static void test_command_table(void **state)
{
    assert_non_null(cli_find("help"));
    assert_non_null(cli_find("version"));
    assert_null(cli_find("bakup"));
    /* every command's option list is terminated and names real options */
    for (const struct cli_cmd *const *c = cli_commands; *c; c++) {
        int n = 0;
        for (const int *a = (*c)->options; *a >= 0; a++, n++)
            assert_true(*a < OPT__COUNT);
        assert_true(n < OPT__COUNT);
        assert_non_null((*c)->run);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_defaults_config_env_cli_precedence, write_config,
                                        remove_config),
        cmocka_unit_test(test_builtin_default_without_config),
        cmocka_unit_test(test_unknown_option_and_missing_value),
        cmocka_unit_test(test_unknown_config_key_is_an_error),
        cmocka_unit_test(test_password_is_scrubbed_from_argv),
        cmocka_unit_test(test_flags_and_sizes),
        cmocka_unit_test(test_env_names),
        cmocka_unit_test(test_command_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
