/* Opening the repository (--repo and the --s3-* options) and connecting to
 * the server (--host ... --defaults-file), shared by the commands. */
#ifndef IBS_TOOLS_REPO_OPEN_H
#define IBS_TOOLS_REPO_OPEN_H

#include "common/err.h"
#include "engine/server.h"
#include "s3/store.h"
#include "tools/options.h"

/* The options every command that touches a repository takes, -1 terminated
 * in the command's own list; REPO_OPTIONS expands to them. */
#define REPO_OPTIONS                                                                          \
    OPT_REPO, OPT_S3_ENDPOINT, OPT_S3_REGION, OPT_S3_PROFILE, OPT_S3_ACCESS_KEY,              \
        OPT_S3_SECRET_KEY, OPT_S3_CA_FILE, OPT_S3_NO_VERIFY_TLS, OPT_S3_SSE,                  \
        OPT_S3_SSE_KMS_KEY_ID, OPT_S3_SSE_C_KEY_FILE, OPT_S3_STORAGE_CLASS, OPT_S3_PART_SIZE, \
        OPT_S3_PARTS_IN_FLIGHT, OPT_S3_RETRIES, OPT_DEBUG_S3, OPT_ENCRYPTION_KEY_FILE
#define CONNECTION_OPTIONS                                                                    \
    OPT_HOST, OPT_PORT, OPT_SOCKET, OPT_USER, OPT_PASSWORD, OPT_DEFAULTS_FILE,                \
        OPT_DEFAULTS_EXTRA_FILE
#define COMMON_OPTIONS OPT_HELP, OPT_CONFIG, OPT_LOG_LEVEL, OPT_LOG_FORMAT, OPT_QUIET

/* The store options the repository options give (strings point into o).
 * IBS_E_USAGE when --repo is missing or a value is out of range. */
int cli_repo_opts(const struct opts *o, struct store_opts *out, struct ibs_err *err);

/* Opens the store --repo names and sets up its encryption key from
 * --encryption-key-file (engine/crypt.h). IBS_E_USAGE when --repo is missing,
 * or the repository is encrypted and the key is missing or another. */
int cli_open_repo(const struct opts *o, struct store **out, struct ibs_err *err);

/* Fills conn from the connection options; asks for the password on the
 * terminal when --password was given without a value. password_buf holds it. */
int cli_conn_opts(struct opts *o, struct eng_conn_opts *conn, char *password_buf, size_t size,
                  struct ibs_err *err);

#endif
