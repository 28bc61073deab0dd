/* Repository and server connection set-up from options (see repo_open.h). */
#include "tools/repo_open.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "common/log.h"
#include "engine/crypt.h"

int cli_repo_opts(const struct opts *o, struct store_opts *out, struct ibs_err *err)
{
    struct store_opts so;
    memset(&so, 0, sizeof(so));
    so.url = opts_str(o, OPT_REPO);
    if (!so.url)
        return ibs_err_set(err, IBS_E_USAGE,
                           "no repository: give --repo s3://bucket/prefix or --repo /path "
                           "(or IBSTREAM_REPO, or repo= in the config file)");
    so.endpoint = opts_str(o, OPT_S3_ENDPOINT);
    so.region = opts_str(o, OPT_S3_REGION);
    so.profile = opts_str(o, OPT_S3_PROFILE);
    so.access_key = opts_str(o, OPT_S3_ACCESS_KEY);
    so.secret_key = opts_str(o, OPT_S3_SECRET_KEY);
    so.ca_file = opts_str(o, OPT_S3_CA_FILE);
    so.no_verify_tls = opts_bool(o, OPT_S3_NO_VERIFY_TLS);
    /* Turning TLS verification off must be a visible choice made for this run,
     * never one inherited from an environment or a forgotten config file. */
    if (so.no_verify_tls && o->source[OPT_S3_NO_VERIFY_TLS] != SRC_CLI)
        return ibs_err_set(err, IBS_E_USAGE,
                           "s3-no-verify-tls is accepted only on the command line, not from "
                           "the environment (IBSTREAM_S3_NO_VERIFY_TLS) or a config file: "
                           "remove it there");
    so.sse = opts_str(o, OPT_S3_SSE);
    so.sse_kms_key_id = opts_str(o, OPT_S3_SSE_KMS_KEY_ID);
    so.sse_c_key_file = opts_str(o, OPT_S3_SSE_C_KEY_FILE);
    so.storage_class = opts_str(o, OPT_S3_STORAGE_CLASS);
    so.debug = opts_bool(o, OPT_DEBUG_S3);
    int rc = opts_size(o, OPT_S3_PART_SIZE, &so.part_size, err);
    if (!rc)
        rc = opts_uint(o, OPT_S3_PARTS_IN_FLIGHT, &so.parts_in_flight, err);
    if (!rc)
        rc = opts_uint(o, OPT_S3_RETRIES, &so.retries, err);
    if (rc)
        return rc;
    if (so.part_size < STORE_S3_MIN_PART_SIZE || so.part_size > STORE_S3_MAX_PART_SIZE)
        return ibs_err_set(err, IBS_E_USAGE, "--s3-part-size must be between 5M and 5G");
    if (so.parts_in_flight == 0)
        return ibs_err_set(err, IBS_E_USAGE, "--s3-parts-in-flight must be at least 1");
    *out = so;
    return 0;
}

int cli_open_repo(const struct opts *o, struct store **out, struct ibs_err *err)
{
    struct store_opts so;
    int rc = cli_repo_opts(o, &so, err);
    if (!rc)
        rc = store_open(&so, out, err);
    if (!rc && (rc = eng_crypt_repo_setup(*out, opts_str(o, OPT_ENCRYPTION_KEY_FILE), err))) {
        store_close(*out);
        *out = NULL;
    }
    return rc;
}

static int ask_password(char *buf, size_t size, struct ibs_err *err)
{
    FILE *tty = fopen("/dev/tty", "r+");
    if (!tty)
        return ibs_err_set(err, IBS_E_USAGE,
                           "--password without a value needs a terminal to ask on; put the "
                           "password in an option file ([client] password=...) instead");
    struct termios old, quiet;
    fputs("Enter password: ", tty);
    fflush(tty);
    tcgetattr(fileno(tty), &old);
    quiet = old;
    quiet.c_lflag &= ~(tcflag_t)ECHO;
    tcsetattr(fileno(tty), TCSAFLUSH, &quiet);
    char *got = fgets(buf, (int)size, tty);
    tcsetattr(fileno(tty), TCSAFLUSH, &old);
    fputs("\n", tty);
    fclose(tty);
    if (!got)
        return ibs_err_set(err, IBS_E_USAGE, "no password was entered");
    buf[strcspn(buf, "\r\n")] = '\0';
    ibs_log_add_secret(buf);
    return 0;
}

int cli_conn_opts(struct opts *o, struct eng_conn_opts *conn, char *password_buf, size_t size,
                  struct ibs_err *err)
{
    memset(conn, 0, sizeof(*conn));
    conn->host = opts_str(o, OPT_HOST);
    conn->socket = opts_str(o, OPT_SOCKET);
    conn->user = opts_str(o, OPT_USER);
    conn->password = opts_str(o, OPT_PASSWORD);
    conn->defaults_file = opts_str(o, OPT_DEFAULTS_FILE);
    conn->defaults_extra_file = opts_str(o, OPT_DEFAULTS_EXTRA_FILE);
    if (opts_str(o, OPT_PORT)) {
        unsigned port;
        int rc = opts_uint(o, OPT_PORT, &port, err);
        if (rc)
            return rc;
        if (port == 0 || port > 65535)
            return ibs_err_set(err, IBS_E_USAGE, "--port must be between 1 and 65535");
        conn->port = port;
    }
    if (o->password_prompt) {
        int rc = ask_password(password_buf, size, err);
        if (rc)
            return rc;
        conn->password = password_buf;
    }
    return 0;
}
