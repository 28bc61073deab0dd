/* The error convention: codes, messages and context wrapping (see err.h). */
#include "common/err.h"

#include <stdio.h>
#include <string.h>

/* Appends text to the NUL-terminated buf of size bytes, truncating. */
static void append(char *buf, size_t size, const char *text)
{
    size_t used = strlen(buf);
    size_t room = size - 1 - used;
    size_t len = strlen(text);
    if (len > room)
        len = room;
    memcpy(buf + used, text, len);
    buf[used + len] = '\0';
}

void ibs_err_clear(struct ibs_err *err)
{
    err->code = IBS_OK;
    err->sys_errno = 0;
    err->msg[0] = '\0';
}

int ibs_err_vset(struct ibs_err *err, enum ibs_code code, const char *fmt, va_list ap)
{
    err->code = code;
    err->sys_errno = 0;
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    return code;
}

int ibs_err_set(struct ibs_err *err, enum ibs_code code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    ibs_err_vset(err, code, fmt, ap);
    va_end(ap);
    return code;
}

int ibs_err_sys(struct ibs_err *err, enum ibs_code code, int errnum, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    ibs_err_vset(err, code, fmt, ap);
    va_end(ap);
    append(err->msg, sizeof(err->msg), ": ");
    append(err->msg, sizeof(err->msg), strerror(errnum));
    err->sys_errno = errnum;
    return code;
}

int ibs_err_wrap(struct ibs_err *err, const char *fmt, ...)
{
    char joined[IBS_ERR_MSG_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(joined, sizeof(joined), fmt, ap);
    va_end(ap);
    append(joined, sizeof(joined), ": ");
    append(joined, sizeof(joined), err->msg);
    memcpy(err->msg, joined, sizeof(err->msg));
    if (err->code == IBS_OK)
        err->code = IBS_E_INTERNAL;
    return err->code;
}

const char *ibs_code_name(enum ibs_code code)
{
    switch (code) {
    case IBS_OK: return "ok";
    case IBS_E_INTERNAL: return "internal";
    case IBS_E_USAGE: return "usage";
    case IBS_E_CONNECT: return "connection";
    case IBS_E_SERVER: return "server";
    case IBS_E_STORAGE: return "storage";
    case IBS_E_INTEGRITY: return "integrity";
    case IBS_E_LOCKED: return "locked";
    case IBS_E_INTERRUPTED: return "interrupted";
    case IBS_E_IO: return "io";
    case IBS_E_NOSPACE: return "no-space";
    case IBS_E_NOTFOUND: return "not-found";
    case IBS_E_REDO: return "redo";
    }
    return "unknown";
}
