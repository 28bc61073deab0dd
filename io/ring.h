/* File I/O through io_uring (liburing) for the page copier and for restore.
 *
 * A ring has queue_depth request slots. Callers queue reads and writes of
 * their own buffers at file offsets, each with a tag of their choosing, and
 * reap completions in any order. The ring finishes each request before
 * reporting it: a short read or write is resubmitted for the remainder,
 * -EAGAIN and -EINTR are retried, and a read that meets end of file completes
 * with the bytes it got. One ring is used by one thread at a time.
 *
 * O_DIRECT: buffers, lengths and offsets must then be aligned to the file's
 * logical block size (4096 is always enough); io_bufpool gives such buffers. */
#ifndef IBS_IO_RING_H
#define IBS_IO_RING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

/* Granularity of the zero test in io_ring_write_sparse. */
#define IO_RING_SPARSE_BLOCK 4096

struct io_ring;

/* A finished request, as reaped by io_ring_reap. */
struct io_completion {
    uint64_t tag;    /* as given when queued */
    int fd;          /* as given */
    void *buf;       /* as given; the buffer is the caller's again */
    size_t len;      /* bytes requested */
    uint64_t offset; /* file offset requested */
    size_t done;     /* bytes transferred; for a read less than len only at end
                      * of file; for a sparse write, bytes written or skipped */
    int error;       /* 0, or the errno that ended the request (done tells how
                      * far it got) */
    bool write;      /* a write (plain or sparse) rather than a read */
};

/* Creates a ring of queue_depth slots (1..4096). Returns NULL with err set:
 * IBS_E_USAGE for a bad depth, IBS_E_IO when the kernel refuses io_uring (the
 * message says why: too old, disabled by kernel.io_uring_disabled or by a
 * seccomp profile, or RLIMIT_MEMLOCK too low). */
struct io_ring *io_ring_new(unsigned queue_depth, struct ibs_err *err);

/* Slots in total, and slots holding a request not yet reaped. A request may be
 * queued while io_ring_inflight(ring) < io_ring_depth(ring). */
unsigned io_ring_depth(const struct io_ring *ring);
unsigned io_ring_inflight(const struct io_ring *ring);

/* Queues a read of len bytes at offset of fd into buf. buf must stay valid and
 * untouched until the request is reaped. Returns 0, or IBS_E_USAGE when every
 * slot is busy (reap first) or len is 0. The request reaches the kernel at the
 * next io_ring_submit or io_ring_reap. */
int io_ring_read(struct io_ring *ring, int fd, void *buf, size_t len, uint64_t offset, uint64_t tag,
                 struct ibs_err *err);

/* Queues a write of len bytes from buf at offset of fd; like io_ring_read. */
int io_ring_write(struct io_ring *ring, int fd, const void *buf, size_t len, uint64_t offset,
                  uint64_t tag, struct ibs_err *err);

/* Like io_ring_write, but IO_RING_SPARSE_BLOCK-sized blocks of buf (counted
 * from buf) that are all zeros are not written, so a new file keeps holes
 * there. The file's size is then not extended over trailing zeros: set it
 * with io_file_set_size. Runs of data are written one after the other, still
 * in one slot. */
int io_ring_write_sparse(struct io_ring *ring, int fd, const void *buf, size_t len, uint64_t offset,
                         uint64_t tag, struct ibs_err *err);

/* Hands queued requests to the kernel without waiting. Returns 0 or IBS_E_IO. */
int io_ring_submit(struct io_ring *ring, struct ibs_err *err);

/* Submits what is queued, then collects finished requests into out (room for
 * max), waiting until at least min have finished (min is capped at the number
 * in flight; 0 never waits). Stores the count in *n_out. Per-request failures
 * are reported in io_completion.error, not here. Returns 0, or IBS_E_IO when
 * the ring itself fails. */
int io_ring_reap(struct io_ring *ring, struct io_completion *out, unsigned max, unsigned min,
                 unsigned *n_out, struct ibs_err *err);

/* Synchronous helpers on an idle ring (no request in flight, else IBS_E_USAGE):
 * read or write exactly len bytes at offset. A read that meets end of file
 * first fails with IBS_E_IO saying how many bytes there were. Failures of the
 * system call give IBS_E_IO, or IBS_E_NOSPACE for ENOSPC/EDQUOT. */
int io_ring_read_full(struct io_ring *ring, int fd, void *buf, size_t len, uint64_t offset,
                      struct ibs_err *err);
int io_ring_write_full(struct io_ring *ring, int fd, const void *buf, size_t len, uint64_t offset,
                       struct ibs_err *err);

/* Waits for every request still in flight (discarding their completions: the
 * kernel may be writing into their buffers until then), then releases the
 * ring. NULL is a no-op. */
void io_ring_free(struct io_ring *ring);

/* Opens path with flags (O_RDONLY, O_WRONLY|O_CREAT, ...; O_CLOEXEC is added;
 * created files get mode 0660 less the umask) and O_DIRECT when the file
 * system supports it, falling back to buffered I/O when it refuses O_DIRECT
 * with EINVAL (tmpfs before Linux 6.6, some FUSE and network file systems).
 * *direct tells which was used. Returns the descriptor, or -1 with err set
 * (IBS_E_NOTFOUND for a missing file, IBS_E_IO otherwise), naming path. */
int io_file_open_direct(const char *path, int flags, bool *direct, struct ibs_err *err);

/* Sets the size of fd (ftruncate): extends with a hole or cuts. path only
 * names the file in messages. Returns 0, IBS_E_NOSPACE or IBS_E_IO. */
int io_file_set_size(int fd, uint64_t size, const char *path, struct ibs_err *err);

/* Flushes fd's data and metadata to stable storage (fsync). */
int io_file_sync(int fd, const char *path, struct ibs_err *err);

/* The ibs_code for a failed file system call's errno: IBS_E_NOSPACE for
 * ENOSPC and EDQUOT, IBS_E_NOTFOUND for ENOENT, IBS_E_IO otherwise. */
enum ibs_code io_errno_code(int errnum);

#endif
