/* Direct writes of one upload file of the local driver (s3/local_writer.c):
 * aligned buffers of LOCAL_WRITE_BUF bytes, written with O_DIRECT through an
 * io_uring ring while the next buffers fill, so a writer never waits for the
 * disk unless all LOCAL_DIRECT_BUFS are in flight. Where io_uring is refused
 * the writes are synchronous; where the file system refuses a direct write
 * (EINVAL), O_DIRECT is cleared on the file and the buffer written through
 * the page cache. Private to s3/local*.c. */
#ifndef IBS_S3_LOCAL_DIRECT_H
#define IBS_S3_LOCAL_DIRECT_H

#include <stdint.h>

#include "common/err.h"

/* Buffers per file: one filling, the others in flight. */
#define LOCAL_DIRECT_BUFS 4
/* Alignment of direct writes (memory, offset, length): the largest logical
 * block size of common devices. */
#define LOCAL_DIRECT_ALIGN 4096u

struct local_direct;

/* For fd (opened with O_DIRECT). Only the first buffer is allocated here;
 * the ring and the others come with the first write, so a small object costs
 * one buffer. NULL when memory runs out. */
struct local_direct *local_direct_new(int fd);

/* The buffer to fill: LOCAL_WRITE_BUF bytes, aligned. */
unsigned char *local_direct_buffer(struct local_direct *d);

/* Writes the whole current buffer at offset (a multiple of LOCAL_WRITE_BUF)
 * and makes the next one current, waiting until it is free. A failure of an
 * earlier write is returned here or by drain (path names the file in it). */
int local_direct_write(struct local_direct *d, uint64_t offset, const char *path,
                       struct ibs_err *err);

/* Waits for every write in flight; returns the first failure. */
int local_direct_drain(struct local_direct *d, const char *path, struct ibs_err *err);

/* Waits for what is in flight and frees everything; NULL is a no-op. */
void local_direct_free(struct local_direct *d);

#endif
