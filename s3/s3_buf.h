/* A growable byte buffer, always NUL-terminated, for building request strings
 * and collecting response bodies. Private to s3/. */
#ifndef IBS_S3_BUF_H
#define IBS_S3_BUF_H

#include <stdbool.h>
#include <stddef.h>

struct s3_buf {
    char *data; /* NULL until the first append; always NUL-terminated after */
    size_t len;
    size_t cap;
    bool oom; /* an append failed: the content is truncated */
};

void s3_buf_init(struct s3_buf *b);
void s3_buf_free(struct s3_buf *b);
void s3_buf_reset(struct s3_buf *b); /* keeps the allocation */
void s3_buf_append(struct s3_buf *b, const void *data, size_t len);
void s3_buf_puts(struct s3_buf *b, const char *s);
void s3_buf_printf(struct s3_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The content, "" for an empty buffer. */
const char *s3_buf_str(const struct s3_buf *b);

#endif
