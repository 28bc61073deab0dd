/* Credentials, region and endpoint resolution in the AWS CLI's order. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "s3/s3.h"
#include "s3/s3_config.h"
#include "tests/unit/s3/test_s3.h"

static char dir[64];
static char creds_path[128];
static char config_path[128];

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/test_s3_config.XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    snprintf(creds_path, sizeof(creds_path), "%s/credentials", dir);
    snprintf(config_path, sizeof(config_path), "%s/config", dir);
    write_file(creds_path, "[default]\naws_access_key_id = AKIDDEFAULT\n"
                           "aws_secret_access_key = secretdefault\n\n"
                           "[prod]\naws_access_key_id=AKIDPROD\naws_secret_access_key=secretprod\n"
                           "aws_session_token=tokenprod\n");
    write_file(config_path, "[default]\nregion = us-west-2\n\n"
                            "[profile prod]\nregion = eu-west-3\n"
                            "endpoint_url = http://127.0.0.1:9000\n"
                            "s3 =\n  addressing_style = path\n");
    setenv("AWS_SHARED_CREDENTIALS_FILE", creds_path, 1);
    setenv("AWS_CONFIG_FILE", config_path, 1);
    static const char *const cleared[] = {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
                                          "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_REGION",
                                          "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL",
                                          "AWS_ENDPOINT_URL_S3"};
    for (size_t i = 0; i < sizeof(cleared) / sizeof(cleared[0]); i++)
        unsetenv(cleared[i]);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    unlink(creds_path);
    unlink(config_path);
    rmdir(dir);
    return 0;
}

static void test_config_default_profile(void **state)
{
    (void)state;
    struct s3_config cfg;
    struct ibs_err err;
    struct store_opts opts = {.url = "s3://b"};
    assert_int_equal(s3_config_resolve(&opts, &cfg, &err), 0);
    assert_string_equal(cfg.access_key, "AKIDDEFAULT");
    assert_string_equal(cfg.secret_key, "secretdefault");
    assert_null(cfg.session_token);
    assert_string_equal(cfg.region, "us-west-2");
    assert_null(cfg.endpoint);
    char want[256];
    snprintf(want, sizeof(want), "profile 'default' in %s", creds_path);
    assert_string_equal(cfg.source, want);
    s3_config_clear(&cfg);
}

static void test_config_named_profile(void **state)
{
    (void)state;
    struct s3_config cfg;
    struct ibs_err err;
    struct store_opts opts = {.url = "s3://b"};
    setenv("AWS_PROFILE", "prod", 1);
    assert_int_equal(s3_config_resolve(&opts, &cfg, &err), 0);
    unsetenv("AWS_PROFILE");
    assert_string_equal(cfg.access_key, "AKIDPROD");
    assert_string_equal(cfg.session_token, "tokenprod");
    assert_string_equal(cfg.region, "eu-west-3");
    assert_string_equal(cfg.endpoint, "http://127.0.0.1:9000");
    s3_config_clear(&cfg);

    /* The options' profile wins over AWS_PROFILE; the environment's region over the file. */
    setenv("AWS_PROFILE", "default", 1);
    setenv("AWS_REGION", "ap-south-1", 1);
    opts.profile = "prod";
    assert_int_equal(s3_config_resolve(&opts, &cfg, &err), 0);
    unsetenv("AWS_PROFILE");
    unsetenv("AWS_REGION");
    assert_string_equal(cfg.access_key, "AKIDPROD");
    assert_string_equal(cfg.region, "ap-south-1");
    s3_config_clear(&cfg);
}

static void test_config_order(void **state)
{
    (void)state;
    struct ibs_err err;
    char source[512];
    struct store_opts opts = {.url = "s3://b"};

    /* The environment beats the files; explicit options beat the environment. */
    setenv("AWS_ACCESS_KEY_ID", "AKIDENV", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "secretenv", 1);
    assert_int_equal(s3_credentials_source(&opts, source, sizeof(source), &err), 0);
    assert_string_equal(source, "environment");
    opts.access_key = "AKIDOPT";
    opts.secret_key = "secretopt";
    assert_int_equal(s3_credentials_source(&opts, source, sizeof(source), &err), 0);
    assert_string_equal(source, "explicit options");
    unsetenv("AWS_ACCESS_KEY_ID");
    unsetenv("AWS_SECRET_ACCESS_KEY");

    /* Half a key pair in the options is a usage error. */
    opts.secret_key = NULL;
    assert_int_equal(s3_credentials_source(&opts, source, sizeof(source), &err), IBS_E_USAGE);

    /* Endpoint: the service-specific variable beats the global one. */
    struct s3_config cfg;
    struct store_opts plain = {.url = "s3://b"};
    setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1", 1);
    setenv("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:2", 1);
    assert_int_equal(s3_config_resolve(&plain, &cfg, &err), 0);
    assert_string_equal(cfg.endpoint, "http://127.0.0.1:2");
    s3_config_clear(&cfg);
    unsetenv("AWS_ENDPOINT_URL");
    unsetenv("AWS_ENDPOINT_URL_S3");
}

static void test_config_missing(void **state)
{
    (void)state;
    struct ibs_err err;
    char source[512];
    struct store_opts opts = {.url = "s3://b", .profile = "nosuch"};
    int rc = s3_credentials_source(&opts, source, sizeof(source), &err);
    assert_int_equal(rc, IBS_E_USAGE);
    assert_non_null(strstr(err.msg, "no credentials"));
    assert_non_null(strstr(err.msg, "AWS_ACCESS_KEY_ID"));
    assert_non_null(strstr(err.msg, creds_path));
    assert_non_null(strstr(err.msg, config_path));
    assert_non_null(strstr(err.msg, "'nosuch'"));
}

const struct CMUnitTest s3_config_tests[] = {
    cmocka_unit_test(test_config_default_profile),
    cmocka_unit_test(test_config_named_profile),
    cmocka_unit_test(test_config_order),
    cmocka_unit_test(test_config_missing),
};
const size_t s3_config_tests_count = sizeof(s3_config_tests) / sizeof(s3_config_tests[0]);

int s3_config_setup(void **state)
{
    return setup(state);
}

int s3_config_teardown(void **state)
{
    return teardown(state);
}
