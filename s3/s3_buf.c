/* Growable byte buffer (see s3_buf.h). */
#include "s3/s3_buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void s3_buf_init(struct s3_buf *b)
{
    memset(b, 0, sizeof(*b));
}

void s3_buf_free(struct s3_buf *b)
{
    free(b->data);
    s3_buf_init(b);
}

void s3_buf_reset(struct s3_buf *b)
{
    b->len = 0;
    b->oom = false;
    if (b->data)
        b->data[0] = '\0';
}

static bool reserve(struct s3_buf *b, size_t extra)
{
    if (b->oom)
        return false;
    if (b->len + extra + 1 <= b->cap)
        return true;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra + 1)
        cap *= 2;
    char *data = realloc(b->data, cap);
    if (!data) {
        b->oom = true;
        return false;
    }
    b->data = data;
    b->cap = cap;
    return true;
}

void s3_buf_append(struct s3_buf *b, const void *data, size_t len)
{
    if (!reserve(b, len))
        return;
    if (len)
        memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
}

void s3_buf_puts(struct s3_buf *b, const char *s)
{
    s3_buf_append(b, s, strlen(s));
}

void s3_buf_printf(struct s3_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || !reserve(b, (size_t)n))
        return;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

const char *s3_buf_str(const struct s3_buf *b)
{
    return b->data ? b->data : "";
}
