/* The server session of the backup engine: one libmariadb connection to the
 * MariaDB server being backed up, the variables a backup needs, the privilege
 * check, BACKUP STAGE, the LSNs and the binlog position.
 *
 * A struct eng_server is one connection and is not thread-safe: a thread that
 * polls the LSN while another runs the stages opens its own connection. */
#ifndef IBS_ENGINE_SERVER_H
#define IBS_ENGINE_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

/* How to reach the server. Every field may be NULL/0: the option files and
 * libmariadb's defaults fill in what is missing. */
struct eng_conn_opts {
    const char *host;
    unsigned port;
    const char *socket;
    const char *user;
    const char *password;
    const char *defaults_file;       /* read instead of the usual option files */
    const char *defaults_extra_file; /* read after them; its values win over theirs */
};

struct eng_server; /* one connection */

/* Connects the way MariaDB's clients do. Option files: defaults_file if set,
 * else the usual files (/etc/my.cnf, /etc/mysql/my.cnf, ~/.my.cnf, ...), groups
 * [client], [client-server], [client-mariadb] and [ibstream]; then
 * defaults_extra_file (groups [client] and [ibstream]: user, password, host,
 * port, socket). Explicit values in opts win over every file. The password is
 * registered with the logger as a secret.
 * Errors: IBS_E_CONNECT with a one-line message naming the cause and the fix
 * (access denied, cannot connect); IBS_E_USAGE if an option file named in
 * opts cannot be read. On success *out is
 * owned by the caller (eng_server_close). */
int eng_server_connect(const struct eng_conn_opts *opts, struct eng_server **out, struct ibs_err *err);

/* Closes the connection; NULL is a no-op. */
void eng_server_close(struct eng_server *s);

struct eng_server_info {
    char version[64];          /* "10.11.19-MariaDB-0+deb12u1" */
    unsigned long version_id;  /* 101119 */
    char hostname[256];
    unsigned server_id;
    char datadir[4096];        /* absolute, trailing '/' removed */
    uint32_t page_size;        /* innodb_page_size */
    char data_home_dir[4096];  /* innodb_data_home_dir resolved (datadir if empty) */
    char data_file_path[1024]; /* innodb_data_file_path as set, "ibdata1:12M:autoextend" */
    char undo_dir[4096];       /* innodb_undo_directory resolved */
    unsigned undo_tablespaces;
    char log_dir[4096];        /* innodb_log_group_home_dir resolved */
    uint64_t log_file_size;
    bool log_bin;
    char log_bin_basename[4096]; /* "" when log_bin is off */
    bool encrypt_log;            /* innodb_encrypt_log */
    bool encrypt_tables;         /* innodb_encrypt_tables != OFF */
    char checksum_algorithm[32];
};

/* Reads the variables above. Refuses servers older than 10.8 (IBS_E_SERVER:
 * their redo log format is not the one ibstream reads). Relative directories
 * are resolved against datadir as the server does. */
int eng_server_info(struct eng_server *s, struct eng_server_info *info, struct ibs_err *err);

/* Checks that the connected account holds the global privileges a backup
 * needs: RELOAD (BACKUP STAGE, FLUSH ... ENGINE LOGS), PROCESS
 * (information_schema.INNODB_SYS_*, SHOW ENGINE INNODB STATUS) and BINLOG
 * MONITOR (SHOW MASTER STATUS; REPLICATION CLIENT is its older name). Fails
 * with IBS_E_SERVER listing every missing privilege and the GRANT statement
 * that adds them. */
int eng_server_check_privileges(struct eng_server *s, struct ibs_err *err);

/* Names one privilege that eng_server_check_privileges() requires; i from 0,
 * NULL past the end (for docs and tests). */
const char *eng_server_required_privilege(size_t i);

enum eng_backup_stage {
    ENG_STAGE_START,
    ENG_STAGE_FLUSH,
    ENG_STAGE_BLOCK_DDL,
    ENG_STAGE_BLOCK_COMMIT,
    ENG_STAGE_END,
};

/* "START", "FLUSH", "BLOCK_DDL", "BLOCK_COMMIT", "END". */
const char *eng_backup_stage_name(enum eng_backup_stage stage);

/* Runs BACKUP STAGE <stage> and logs how long the statement took. The stages
 * must be run in order on one connection; closing it ends the backup. */
int eng_server_backup_stage(struct eng_server *s, enum eng_backup_stage stage, struct ibs_err *err);

/* Innodb_lsn_current and Innodb_lsn_last_checkpoint from SHOW GLOBAL STATUS.
 * One round trip; cheap enough to call ten times a second. */
int eng_server_lsn(struct eng_server *s, uint64_t *current_lsn, uint64_t *checkpoint_lsn,
                   struct ibs_err *err);

/* Innodb_lsn_flushed: the server's log is written and synced up to here. */
int eng_server_lsn_flushed(struct eng_server *s, uint64_t *flushed_lsn, struct ibs_err *err);

struct eng_binlog_pos {
    bool enabled;   /* false: binary logging is off, the rest is empty */
    char file[512]; /* "mysql-bin.000001" */
    uint64_t position;
    char gtid[4096]; /* @@gtid_binlog_pos, "" if no GTID was logged yet */
};

/* SHOW MASTER STATUS and @@gtid_binlog_pos; call under BLOCK_COMMIT so the
 * position matches the data. */
int eng_server_binlog_pos(struct eng_server *s, struct eng_binlog_pos *pos, struct ibs_err *err);

/* Runs one statement and discards any result. */
int eng_server_exec(struct eng_server *s, const char *sql, struct ibs_err *err);

/* Runs a query and copies the first column of its first row into buf
 * (NUL-terminated; SQL NULL gives ""). IBS_E_NOTFOUND if there is no row,
 * IBS_E_SERVER if buf is too small. */
int eng_server_query_value(struct eng_server *s, const char *sql, char *buf, size_t size,
                           struct ibs_err *err);

/* The underlying libmariadb handle (MYSQL *), for queries this module does not
 * wrap (discovery). Owned by s. */
void *eng_server_handle(struct eng_server *s);

/* Fills err from the connection's last error: "<what>: <server message>
 * (error N)", code IBS_E_SERVER (IBS_E_CONNECT if the connection was lost).
 * Returns the code. */
int eng_server_sql_error(struct eng_server *s, const char *what, struct ibs_err *err);

/* Values of one option file for the groups a client reads ([client],
 * [client-server], [client-mariadb], [ibstream]); later lines win. Strings are
 * owned by the struct (eng_optfile_free). */
struct eng_optfile {
    char *host;
    char *socket;
    char *user;
    char *password;
    unsigned port;
};

/* Reads path (option-file syntax: [group], key=value, quotes, '#'/';'
 * comments, '-' or '_' in keys, !include/!includedir lines ignored).
 * IBS_E_USAGE naming the file if it cannot be read. */
int eng_optfile_read(const char *path, struct eng_optfile *out, struct ibs_err *err);
void eng_optfile_free(struct eng_optfile *f);

/* Resolves dir against base the way the server does: "" or "." is base, an
 * absolute dir stays, a relative one is base/dir; "./" and "//" are collapsed
 * and a trailing '/' is removed (except for "/"). 0, or IBS_E_INTERNAL if the
 * result does not fit. */
int eng_path_resolve(const char *base, const char *dir, char *out, size_t size, struct ibs_err *err);

#endif
