/* Unit tests for common/: the error convention and the redacting logger. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/log.h"

static int failing_open(struct ibs_err *err)
{
    return ibs_err_sys(err, IBS_E_IO, ENOENT, "open %s", "/data/ibdata1");
}

static void test_err_set_returns_code_and_message(void **state)
{
    struct ibs_err err;
    ibs_err_clear(&err);
    assert_int_equal(err.code, IBS_OK);
    assert_int_equal(ibs_err_set(&err, IBS_E_STORAGE, "PUT %s: %d", "k", 503), IBS_E_STORAGE);
    assert_int_equal(err.code, IBS_E_STORAGE);
    assert_string_equal(err.msg, "PUT k: 503");
}

static void test_err_sys_appends_strerror(void **state)
{
    struct ibs_err err;
    assert_int_equal(failing_open(&err), IBS_E_IO);
    assert_int_equal(err.sys_errno, ENOENT);
    assert_string_equal(err.msg, "open /data/ibdata1: No such file or directory");
}

static void test_err_wrap_adds_context_keeps_code(void **state)
{
    struct ibs_err err;
    failing_open(&err);
    assert_int_equal(ibs_err_wrap(&err, "backup %s", "B1"), IBS_E_IO);
    assert_int_equal(ibs_err_wrap(&err, "copy"), IBS_E_IO);
    assert_string_equal(err.msg, "copy: backup B1: open /data/ibdata1: No such file or directory");
}

static void test_err_truncates_long_messages(void **state)
{
    struct ibs_err err;
    char big[3000];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    ibs_err_set(&err, IBS_E_INTERNAL, "%s", big);
    assert_int_equal(strlen(err.msg), IBS_ERR_MSG_MAX - 1);
    ibs_err_wrap(&err, "ctx");
    assert_int_equal(strlen(err.msg), IBS_ERR_MSG_MAX - 1);
    assert_memory_equal(err.msg, "ctx: xxx", 8);
}

static void test_code_names_are_distinct(void **state)
{
    for (int a = IBS_OK; a <= IBS_E_REDO; a++)
        for (int b = a + 1; b <= IBS_E_REDO; b++)
            assert_string_not_equal(ibs_code_name(a), ibs_code_name(b));
    assert_string_equal(ibs_code_name(IBS_E_INTEGRITY), "integrity");
}

static void test_redact_registered_secret(void **state)
{
    char out[256];
    ibs_log_add_secret("wJalrXUtnFEMI/K7MDENG");
    ibs_log_redact("secret wJalrXUtnFEMI/K7MDENG twice wJalrXUtnFEMI/K7MDENG.", out, sizeof(out));
    assert_string_equal(out, "secret *** twice ***.");
    ibs_log_forget_secrets();
    ibs_log_redact("wJalrXUtnFEMI/K7MDENG", out, sizeof(out));
    assert_string_equal(out, "wJalrXUtnFEMI/K7MDENG");
}

static void test_redact_secret_fields(void **state)
{
    char out[512];
    ibs_log_redact("GET /k?X-Amz-Signature=abcdef0123&x=1 password=hunter22 Signature=ff00aa", out,
                   sizeof(out));
    assert_string_equal(out, "GET /k?X-Amz-Signature=***&x=1 password=*** Signature=***");
    ibs_log_redact("password=ab end", out, sizeof(out));
    assert_string_equal(out, "password=** end");
}

static void test_redact_truncates_safely(void **state)
{
    char out[8];
    ibs_log_redact("0123456789abcdef", out, sizeof(out));
    assert_string_equal(out, "0123456");
}

static char *capture_log(enum ibs_log_format format, void (*emit)(void))
{
    char *buf = NULL;
    size_t size = 0;
    FILE *mem = open_memstream(&buf, &size);
    assert_non_null(mem);
    ibs_log_configure(IBS_LOG_INFO, format, mem);
    emit();
    ibs_log_configure(IBS_LOG_INFO, IBS_LOG_TEXT, NULL);
    fclose(mem);
    return buf;
}

static void emit_lines(void)
{
    ibs_log_add_secret("s3cr3t-token");
    IBS_DEBUG("test", "hidden debug line");
    IBS_INFO("s3", "token s3cr3t-token \"quoted\"");
    IBS_ERROR("backup", "failed");
    ibs_log_forget_secrets();
}

static void test_log_text_filters_and_redacts(void **state)
{
    char *text = capture_log(IBS_LOG_TEXT, emit_lines);
    assert_null(strstr(text, "hidden debug line"));
    assert_null(strstr(text, "s3cr3t-token"));
    assert_non_null(strstr(text, "info  s3: token *** \"quoted\"\n"));
    assert_non_null(strstr(text, "error backup: failed\n"));
    /* an ISO 8601 UTC timestamp starts each line */
    assert_true(text[4] == '-' && text[10] == 'T' && strchr(text, 'Z') != NULL);
    free(text);
}

static void test_log_json_lines(void **state)
{
    char *json = capture_log(IBS_LOG_JSON, emit_lines);
    assert_non_null(strstr(json, "\"level\":\"info\",\"component\":\"s3\",\"msg\":\"token *** "
                                 "\\\"quoted\\\"\"}\n"));
    assert_non_null(strstr(json, "\"level\":\"error\""));
    assert_null(strstr(json, "s3cr3t-token"));
    free(json);
}

static void test_log_parse_names(void **state)
{
    enum ibs_log_level level;
    enum ibs_log_format format;
    assert_int_equal(ibs_log_level_parse("WARN", &level), 0);
    assert_int_equal(level, IBS_LOG_WARN);
    assert_int_equal(ibs_log_level_parse("loud", &level), -1);
    assert_int_equal(ibs_log_format_parse("json", &format), 0);
    assert_int_equal(format, IBS_LOG_JSON);
    assert_int_equal(ibs_log_format_parse("xml", &format), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_err_set_returns_code_and_message),
        cmocka_unit_test(test_err_sys_appends_strerror),
        cmocka_unit_test(test_err_wrap_adds_context_keeps_code),
        cmocka_unit_test(test_err_truncates_long_messages),
        cmocka_unit_test(test_code_names_are_distinct),
        cmocka_unit_test(test_redact_registered_secret),
        cmocka_unit_test(test_redact_secret_fields),
        cmocka_unit_test(test_redact_truncates_safely),
        cmocka_unit_test(test_log_text_filters_and_redacts),
        cmocka_unit_test(test_log_json_lines),
        cmocka_unit_test(test_log_parse_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
