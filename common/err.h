/* The one error convention of ibstream.
 *
 * A fallible function returns int: 0 on success, otherwise the ibs_code of the
 * failure, and fills the caller's struct ibs_err with that code and a one-line
 * message naming the object and the cause. Callers add context as the error
 * rises (ibs_err_wrap) and the command line prints it once and exits with the
 * code, so every code below is also a documented exit status. */
#ifndef IBS_COMMON_ERR_H
#define IBS_COMMON_ERR_H

#include <stdarg.h>

enum ibs_code {
    IBS_OK = 0,
    IBS_E_INTERNAL = 1,    /* a bug or an unexpected condition */
    IBS_E_USAGE = 2,       /* bad command line, option value or config file */
    IBS_E_CONNECT = 3,     /* cannot connect or authenticate to the MariaDB server */
    IBS_E_SERVER = 4,      /* the server refused or lacks something (version, privileges) */
    IBS_E_STORAGE = 5,     /* the repository (S3 or directory) failed or refused */
    IBS_E_INTEGRITY = 6,   /* a checksum, a frame or a manifest does not verify */
    IBS_E_LOCKED = 7,      /* another process holds the repository lock */
    IBS_E_INTERRUPTED = 8, /* SIGINT/SIGTERM */
    IBS_E_IO = 9,          /* local file I/O (datadir, restore target) */
    IBS_E_NOSPACE = 10,    /* not enough space on the restore target */
    IBS_E_NOTFOUND = 11,   /* the named backup, object or file does not exist */
    IBS_E_REDO = 12,       /* the redo log was overwritten or cannot be parsed */
};

#define IBS_ERR_MSG_MAX 1024

struct ibs_err {
    enum ibs_code code;
    int sys_errno; /* errno of the underlying system call, 0 if none */
    char msg[IBS_ERR_MSG_MAX];
};

/* Empties err (code IBS_OK, empty message). */
void ibs_err_clear(struct ibs_err *err);

/* Sets code and message; returns code so a caller can `return ibs_err_set(...)`. */
int ibs_err_set(struct ibs_err *err, enum ibs_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Like ibs_err_set, appending ": <strerror(errnum)>" and remembering errnum. */
int ibs_err_sys(struct ibs_err *err, enum ibs_code code, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Prefixes the message with "<context>: " keeping the code; returns the code. */
int ibs_err_wrap(struct ibs_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

int ibs_err_vset(struct ibs_err *err, enum ibs_code code, const char *fmt, va_list ap);

/* Short stable name of a code ("storage", "integrity", ...), for logs and JSON. */
const char *ibs_code_name(enum ibs_code code);

#endif
