/* The server session: connecting the way MariaDB's clients do, and running
 * statements and one-value queries on the connection (see server.h). */
#include "engine/server.h"

#include <errno.h>
#include <mysql.h>
#include <mysqld_error.h>
#include <errmsg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"

struct eng_server {
    MYSQL *mysql;
};

/* libmariadb's built-in defaults, used only to name the target in messages. */
#define ENG_DEFAULT_SOCKET "/run/mysqld/mysqld.sock"
#define ENG_DEFAULT_PORT 3306u

void *eng_server_handle(struct eng_server *s)
{
    return s->mysql;
}

int eng_server_sql_error(struct eng_server *s, const char *what, struct ibs_err *err)
{
    unsigned errnum = mysql_errno(s->mysql);
    enum ibs_code code = IBS_E_SERVER;

    if (errnum == CR_SERVER_GONE_ERROR || errnum == CR_SERVER_LOST || errnum == CR_CONNECTION_ERROR)
        code = IBS_E_CONNECT;
    return ibs_err_set(err, code, "%s: %s (error %u)", what, mysql_error(s->mysql), errnum);
}

/* Option files named explicitly must exist: libmariadb silently skips an
 * unreadable one, which would turn a typo into "access denied". */
static int check_readable(const char *what, const char *path, struct ibs_err *err)
{
    if (path && access(path, R_OK) != 0)
        return ibs_err_sys(err, IBS_E_USAGE, errno,
                           "%s %s cannot be read: check the path and its permissions", what, path);
    return 0;
}

/* "the server at /run/mysqld/mysqld.sock" or "127.0.0.1:3306", as libmariadb
 * would pick it: a socket for localhost (or no host), TCP otherwise. */
static void describe_target(MYSQL *mysql, const char *host, const char *socket_path, unsigned port,
                            char *buf, size_t size)
{
    /* The options read from option files, straight from the handle:
     * mysql_get_optionv() does not implement MARIADB_OPT_UNIXSOCKET and
     * would replace the connect error with "not implemented". */
    const char *opt_host = mysql->options.host, *opt_socket = mysql->options.unix_socket;
    unsigned opt_port = mysql->options.port;

    if (!host)
        host = opt_host;
    if (!socket_path)
        socket_path = opt_socket;
    if (!port)
        port = opt_port;
    if (!host || !*host || strcmp(host, "localhost") == 0)
        snprintf(buf, size, "%s", socket_path && *socket_path ? socket_path : ENG_DEFAULT_SOCKET);
    else
        snprintf(buf, size, "%s:%u", host, port ? port : ENG_DEFAULT_PORT);
}

/* The account as the server names it in its message ("'x'@'localhost'"),
 * else as we asked for it. */
static void describe_account(MYSQL *mysql, const char *user, char *buf, size_t size)
{
    const char *msg = mysql_error(mysql);
    const char *start = strstr(msg, "user '");
    const char *opt_user = NULL;

    if (start) {
        start += strlen("user ");
        const char *end = strstr(start, "'@'");
        if (end)
            end = strchr(end + 3, '\'');
        if (end) {
            snprintf(buf, size, "%.*s", (int)(end - start + 1), start);
            return;
        }
    }
    mysql_get_optionv(mysql, MARIADB_OPT_USER, &opt_user);
    if (!user)
        user = opt_user;
    snprintf(buf, size, "'%s'@'localhost'", user && *user ? user : "(login name)");
}

static int connect_error(MYSQL *mysql, const char *host, const char *socket_path, unsigned port,
                         const char *user, struct ibs_err *err)
{
    unsigned errnum = mysql_errno(mysql);
    char target[4200];
    char account[600];

    switch (errnum) {
    case ER_ACCESS_DENIED_ERROR:
    case ER_ACCESS_DENIED_NO_PASSWORD_ERROR:
    case ER_DBACCESS_DENIED_ERROR:
        describe_account(mysql, user, account, sizeof(account));
        return ibs_err_set(err, IBS_E_CONNECT,
                           "access denied for user %s: check --user/--password or the [client] "
                           "group of your option file", account);
    case CR_CONNECTION_ERROR:
    case CR_CONN_HOST_ERROR:
    case CR_UNKNOWN_HOST:
    case CR_SERVER_LOST:
    case CR_SERVER_GONE_ERROR:
    case CR_IPSOCK_ERROR:
    case CR_SOCKET_CREATE_ERROR:
        describe_target(mysql, host, socket_path, port, target, sizeof(target));
        return ibs_err_set(err, IBS_E_CONNECT,
                           "cannot connect to MariaDB at %s: %s; is the server running? check "
                           "--socket or --host/--port", target, mysql_error(mysql));
    default:
        describe_target(mysql, host, socket_path, port, target, sizeof(target));
        return ibs_err_set(err, IBS_E_CONNECT, "cannot connect to MariaDB at %s: %s (error %u)",
                           target, mysql_error(mysql), errnum);
    }
}

/* Values from the extra option file fill what the caller left unset; they
 * are passed to mysql_real_connect() so they win over the usual files, which
 * libmariadb reads inside it. */
static const char *pick(const char *explicit_value, const char *extra_value)
{
    return explicit_value ? explicit_value : extra_value;
}

int eng_server_connect(const struct eng_conn_opts *opts, struct eng_server **out, struct ibs_err *err)
{
    struct eng_optfile extra = {0};
    struct eng_server *s = NULL;
    int rc;

    *out = NULL;
    rc = check_readable("option file", opts->defaults_file, err);
    if (rc)
        goto out;
    if (opts->defaults_extra_file) {
        rc = eng_optfile_read(opts->defaults_extra_file, &extra, err);
        if (rc)
            goto out;
    }

    s = calloc(1, sizeof(*s));
    if (!s) {
        rc = ibs_err_set(err, IBS_E_INTERNAL, "server: out of memory");
        goto out;
    }
    s->mysql = mysql_init(NULL);
    if (!s->mysql) {
        rc = ibs_err_set(err, IBS_E_INTERNAL, "server: mysql_init failed (out of memory)");
        goto out;
    }

    /* "" means the usual files; a path means that file alone. */
    mysql_optionsv(s->mysql, MYSQL_READ_DEFAULT_FILE, opts->defaults_file ? opts->defaults_file : "");
    mysql_optionsv(s->mysql, MYSQL_READ_DEFAULT_GROUP, "ibstream");
    /* A backup's statements can wait on locks for long: keep only a connect
     * timeout, so BACKUP STAGE BLOCK_DDL may wait as long as the server lets it. */
    unsigned connect_timeout = 10;
    mysql_optionsv(s->mysql, MYSQL_OPT_CONNECT_TIMEOUT, &connect_timeout);

    const char *host = pick(opts->host, extra.host);
    const char *socket_path = pick(opts->socket, extra.socket);
    const char *user = pick(opts->user, extra.user);
    const char *password = pick(opts->password, extra.password);
    unsigned port = opts->port ? opts->port : extra.port;

    if (password)
        ibs_log_add_secret(password);
    if (!mysql_real_connect(s->mysql, host, user, password, NULL, port, socket_path, 0)) {
        rc = connect_error(s->mysql, host, socket_path, port, user, err);
        goto out;
    }
    /* The password of an option file too must never reach a log. */
    const char *used_password = NULL;
    mysql_get_optionv(s->mysql, MARIADB_OPT_PASSWORD, &used_password);
    if (used_password)
        ibs_log_add_secret(used_password);

    IBS_INFO("server", "connected to MariaDB %s (%s)", mysql_get_server_info(s->mysql),
             mysql_get_host_info(s->mysql));
    *out = s;
    s = NULL;
    rc = 0;
out:
    eng_server_close(s);
    eng_optfile_free(&extra);
    return rc;
}

void eng_server_close(struct eng_server *s)
{
    if (!s)
        return;
    if (s->mysql)
        mysql_close(s->mysql);
    free(s);
}

int eng_server_exec(struct eng_server *s, const char *sql, struct ibs_err *err)
{
    if (mysql_real_query(s->mysql, sql, strlen(sql)) != 0)
        return eng_server_sql_error(s, sql, err);
    /* Drain every result so the connection is ready for the next statement. */
    do {
        MYSQL_RES *res = mysql_store_result(s->mysql);
        if (res)
            mysql_free_result(res);
        else if (mysql_field_count(s->mysql) != 0)
            return eng_server_sql_error(s, sql, err);
    } while (mysql_next_result(s->mysql) == 0);
    if (mysql_errno(s->mysql))
        return eng_server_sql_error(s, sql, err);
    return 0;
}

int eng_server_query_value(struct eng_server *s, const char *sql, char *buf, size_t size,
                           struct ibs_err *err)
{
    MYSQL_RES *res = NULL;
    MYSQL_ROW row;
    unsigned long *lengths;
    int rc;

    if (mysql_real_query(s->mysql, sql, strlen(sql)) != 0)
        return eng_server_sql_error(s, sql, err);
    res = mysql_store_result(s->mysql);
    if (!res) {
        if (mysql_field_count(s->mysql) != 0)
            return eng_server_sql_error(s, sql, err);
        return ibs_err_set(err, IBS_E_INTERNAL, "%s: the statement returned no result set", sql);
    }
    row = mysql_fetch_row(res);
    if (!row) {
        rc = ibs_err_set(err, IBS_E_NOTFOUND, "%s: no row", sql);
        goto out;
    }
    lengths = mysql_fetch_lengths(res);
    size_t len = row[0] ? lengths[0] : 0;
    if (len >= size) {
        rc = ibs_err_set(err, IBS_E_SERVER, "%s: value of %zu bytes does not fit in %zu", sql, len, size);
        goto out;
    }
    if (len)
        memcpy(buf, row[0], len);
    buf[len] = '\0';
    rc = 0;
out:
    mysql_free_result(res);
    return rc;
}
