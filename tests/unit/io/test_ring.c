/* io_uring file I/O: pieced reads compared with pread, end of file, plain and
 * sparse writes, O_DIRECT opening, and misuse and failure reporting. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/bufpool.h"
#include "io/ring.h"
#include "io_tests.h"

struct ring_fixture {
    char dir[64];
    char path[128];
    unsigned char *data; /* the content of path */
    size_t size;
};

#define FILE_SIZE (3 * 1024 * 1024 + 1234) /* ends mid-block, like no InnoDB file */

static int setup(void **state)
{
    struct ring_fixture *f = calloc(1, sizeof(*f));
    uint64_t seed = 0xfeedULL;
    if (f == NULL)
        return -1;
    *state = f;
    strcpy(f->dir, "/tmp/ibs-io-test-XXXXXX");
    if (mkdtemp(f->dir) == NULL)
        return -1;
    snprintf(f->path, sizeof(f->path), "%s/data.ibd", f->dir);
    f->size = FILE_SIZE;
    f->data = malloc(f->size);
    if (f->data == NULL)
        return -1;
    io_test_random_bytes(&seed, f->data, f->size);
    int fd = open(f->path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0)
        return -1;
    ssize_t n = pwrite(fd, f->data, f->size, 0);
    close(fd);
    return n == (ssize_t)f->size ? 0 : -1;
}

static int teardown(void **state)
{
    struct ring_fixture *f = *state;
    char other[160];
    unlink(f->path);
    snprintf(other, sizeof(other), "%s/out", f->dir);
    unlink(other);
    rmdir(f->dir);
    free(f->data);
    free(f);
    return 0;
}

/* Reads the whole file in piece-sized requests, keeping the ring full, and
 * checks every piece against the file's bytes. */
static void read_in_pieces(struct ring_fixture *f, int fd, size_t piece, unsigned depth)
{
    struct ibs_err err;
    struct io_ring *ring = io_ring_new(depth, &err);
    assert_non_null(ring);
    struct io_bufpool *pool = io_bufpool_new(depth, piece, 0, &err);
    assert_non_null(pool);
    struct io_completion done[8];
    uint64_t next = 0;
    size_t total = 0, pieces = 0;
    unsigned n;

    while (next < f->size || io_ring_inflight(ring) > 0) {
        while (next < f->size && io_ring_inflight(ring) < io_ring_depth(ring)) {
            void *buf = io_bufpool_try_get(pool);
            assert_non_null(buf);
            assert_int_equal(io_ring_read(ring, fd, buf, piece, next, next / piece, &err), 0);
            next += piece;
        }
        assert_int_equal(io_ring_reap(ring, done, 8, 1, &n, &err), 0);
        assert_true(n >= 1);
        for (unsigned i = 0; i < n; i++) {
            struct io_completion *c = &done[i];
            assert_int_equal(c->error, 0);
            assert_false(c->write);
            assert_int_equal(c->fd, fd);
            assert_int_equal(c->len, piece);
            assert_int_equal(c->offset, c->tag * piece);
            size_t expect = f->size - c->offset < piece ? f->size - c->offset : piece;
            assert_int_equal(c->done, expect); /* short only at end of file */
            assert_memory_equal(c->buf, f->data + c->offset, expect);
            total += c->done;
            pieces++;
            io_bufpool_put(pool, c->buf);
        }
    }
    assert_int_equal(total, f->size);
    assert_int_equal(pieces, (f->size + piece - 1) / piece);
    io_ring_free(ring);
    io_bufpool_free(pool);
}

static void test_direct_reads_in_pieces(void **state)
{
    struct ring_fixture *f = *state;
    struct ibs_err err;
    bool direct = false;
    int fd = io_file_open_direct(f->path, O_RDONLY, &direct, &err);
    assert_true(fd >= 0);
    /* *direct says what the descriptor really has. */
    assert_int_equal((fcntl(fd, F_GETFL) & O_DIRECT) != 0, direct);
    if (!direct)
        print_message("ring: %s refuses O_DIRECT; reading buffered\n", f->dir);
    read_in_pieces(f, fd, 1 << 20, 4);
    read_in_pieces(f, fd, 65536, 8);
    read_in_pieces(f, fd, 4096, 1);
    close(fd);
}

static void test_buffered_unaligned_reads(void **state)
{
    struct ring_fixture *f = *state;
    struct ibs_err err;
    int fd = open(f->path, O_RDONLY);
    assert_true(fd >= 0);
    read_in_pieces(f, fd, 100003, 3);
    read_in_pieces(f, fd, 777, 8);

    /* A read entirely past the end completes with 0 bytes and no error. */
    struct io_ring *ring = io_ring_new(2, &err);
    assert_non_null(ring);
    unsigned char buf[512];
    struct io_completion c;
    unsigned n;
    assert_int_equal(io_ring_read(ring, fd, buf, sizeof(buf), f->size + 4096, 7, &err), 0);
    assert_int_equal(io_ring_reap(ring, &c, 1, 1, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_int_equal(c.tag, 7);
    assert_int_equal(c.done, 0);
    assert_int_equal(c.error, 0);

    /* Synchronous helper: exact reads succeed, a read across the end fails
     * and says how much there was. */
    assert_int_equal(io_ring_read_full(ring, fd, buf, 300, 12345, &err), 0);
    assert_memory_equal(buf, f->data + 12345, 300);
    ibs_err_clear(&err);
    assert_int_equal(io_ring_read_full(ring, fd, buf, 512, f->size - 100, &err), IBS_E_IO);
    assert_non_null(strstr(err.msg, "after 100 bytes"));
    io_ring_free(ring);
    close(fd);
}

static void test_two_files_interleaved(void **state)
{
    struct ring_fixture *f = *state;
    struct ibs_err err;
    int fd_a = open(f->path, O_RDONLY), fd_b = open(f->path, O_RDONLY);
    assert_true(fd_a >= 0 && fd_b >= 0);
    struct io_ring *ring = io_ring_new(16, &err);
    assert_non_null(ring);
    unsigned char *bufs = malloc(16 * 4096);
    assert_non_null(bufs);
    for (unsigned i = 0; i < 16; i++) {
        int fd = i % 2 ? fd_b : fd_a;
        uint64_t offset = (uint64_t)(15 - i) * 200000 + i;
        assert_int_equal(io_ring_read(ring, fd, bufs + i * 4096, 4096, offset, i, &err), 0);
    }
    ibs_err_clear(&err);
    assert_int_equal(io_ring_read(ring, fd_a, bufs, 4096, 0, 99, &err), IBS_E_USAGE);
    assert_non_null(strstr(err.msg, "reap"));
    assert_int_equal(io_ring_submit(ring, &err), 0);

    struct io_completion done[16];
    unsigned got = 0, n;
    bool seen[16] = {false};
    while (got < 16) {
        assert_int_equal(io_ring_reap(ring, done + got, 16 - got, 1, &n, &err), 0);
        got += n;
    }
    for (unsigned i = 0; i < 16; i++) {
        unsigned t = (unsigned)done[i].tag;
        assert_true(t < 16 && !seen[t]);
        seen[t] = true;
        assert_int_equal(done[i].fd, t % 2 ? fd_b : fd_a);
        assert_ptr_equal(done[i].buf, bufs + t * 4096);
        assert_int_equal(done[i].done, 4096);
        assert_memory_equal(done[i].buf, f->data + done[i].offset, 4096);
    }
    assert_int_equal(io_ring_inflight(ring), 0);
    /* Nothing in flight: a non-waiting reap returns nothing, a waiting one too. */
    assert_int_equal(io_ring_reap(ring, done, 16, 0, &n, &err), 0);
    assert_int_equal(n, 0);
    assert_int_equal(io_ring_reap(ring, done, 16, 5, &n, &err), 0);
    assert_int_equal(n, 0);
    free(bufs);
    io_ring_free(ring);
    close(fd_a);
    close(fd_b);
}

static void test_writes_and_sparse_holes(void **state)
{
    struct ring_fixture *f = *state;
    struct ibs_err err;
    char out[160];
    bool direct;
    const size_t len = 64 * 4096 + 1000;
    uint64_t seed = 3;
    struct stat st;

    snprintf(out, sizeof(out), "%s/out", f->dir);
    int fd = io_file_open_direct(out, O_RDWR | O_CREAT | O_EXCL, &direct, &err);
    assert_true(fd >= 0);
    assert_int_equal((fcntl(fd, F_GETFL) & O_DIRECT) != 0, direct);
    struct io_bufpool *pool = io_bufpool_new(1, len, 0, &err);
    assert_non_null(pool);
    unsigned char *buf = io_bufpool_get(pool);
    memset(buf, 0, len);
    /* Data in blocks 0, 20-21 and the partial tail; a block with one byte set
     * at its end (block 40) is data too. */
    io_test_random_bytes(&seed, buf, 4096);
    io_test_random_bytes(&seed, buf + 20 * 4096, 2 * 4096);
    buf[41 * 4096 - 1] = 1;
    io_test_random_bytes(&seed, buf + 64 * 4096, 1000);

    struct io_ring *ring = io_ring_new(4, &err);
    assert_non_null(ring);
    struct io_completion c;
    unsigned n;
    /* The tail is not block-aligned: O_DIRECT would refuse it, so write it
     * through a second, buffered descriptor as restore would. */
    assert_int_equal(io_ring_write_sparse(ring, fd, buf, 64 * 4096, 0, 1, &err), 0);
    assert_int_equal(io_ring_reap(ring, &c, 1, 1, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_int_equal(c.error, 0);
    assert_true(c.write);
    assert_int_equal(c.done, 64 * 4096);
    int tail_fd = open(out, O_WRONLY);
    assert_true(tail_fd >= 0);
    assert_int_equal(io_ring_write_full(ring, tail_fd, buf + 64 * 4096, 1000, 64 * 4096, &err), 0);
    close(tail_fd);

    /* An all-zero sparse write completes without touching the file. */
    assert_int_equal(io_ring_write_sparse(ring, fd, buf + 4096, 8 * 4096, 1 << 20, 2, &err), 0);
    assert_int_equal(io_ring_reap(ring, &c, 1, 1, &n, &err), 0);
    assert_int_equal(c.tag, 2);
    assert_int_equal(c.done, 8 * 4096);
    assert_int_equal(c.error, 0);
    assert_int_equal(fstat(fd, &st), 0);
    assert_int_equal(st.st_size, len);

    /* Trailing zeros are not written: the size comes from io_file_set_size. */
    assert_int_equal(io_file_set_size(fd, 2 * len, out, &err), 0);
    assert_int_equal(io_file_sync(fd, out, &err), 0);
    assert_int_equal(fstat(fd, &st), 0);
    assert_int_equal(st.st_size, 2 * len);

    /* Content: what was written, zeros in the holes and beyond. */
    unsigned char *back = calloc(1, 2 * len);
    assert_non_null(back);
    int check = open(out, O_RDONLY);
    assert_true(check >= 0);
    assert_int_equal(pread(check, back, 2 * len, 0), (ssize_t)(2 * len));
    assert_memory_equal(back, buf, len);
    for (size_t i = len; i < 2 * len; i++)
        assert_int_equal(back[i], 0);

    /* Holes: at most the data blocks are allocated, and the zero blocks after
     * block 0 are a hole where the file system reports holes. */
    assert_true((uint64_t)st.st_blocks * 512 < 16 * 4096);
    off_t hole = lseek(check, 0, SEEK_HOLE);
    if (hole >= 0 && hole < (off_t)st.st_size) {
        assert_int_equal(hole, 4096);
        assert_int_equal(lseek(check, 4096, SEEK_DATA), 20 * 4096);
    } else {
        print_message("ring: %s does not report holes; checked st_blocks only\n", f->dir);
    }
    close(check);
    free(back);

    io_ring_free(ring);
    io_bufpool_put(pool, buf);
    io_bufpool_free(pool);
    close(fd);
}

static void test_failures_reported(void **state)
{
    struct ring_fixture *f = *state;
    struct ibs_err err;
    bool direct = true;
    unsigned char buf[4096];
    struct io_completion c;
    unsigned n;

    ibs_err_clear(&err);
    assert_null(io_ring_new(0, &err));
    assert_int_equal(err.code, IBS_E_USAGE);
    ibs_err_clear(&err);
    assert_null(io_ring_new(100000, &err));
    assert_int_equal(err.code, IBS_E_USAGE);

    ibs_err_clear(&err);
    char missing[160];
    snprintf(missing, sizeof(missing), "%s/missing.ibd", f->dir);
    assert_int_equal(io_file_open_direct(missing, O_RDONLY, &direct, &err), -1);
    assert_int_equal(err.code, IBS_E_NOTFOUND);
    assert_int_equal(err.sys_errno, ENOENT);
    assert_non_null(strstr(err.msg, "missing.ibd"));

    struct io_ring *ring = io_ring_new(2, &err);
    assert_non_null(ring);
    ibs_err_clear(&err);
    assert_int_equal(io_ring_read(ring, 0, buf, 0, 0, 0, &err), IBS_E_USAGE);

    /* The kernel's refusal arrives in the completion, with the errno. */
    int ro = open(f->path, O_RDONLY);
    assert_true(ro >= 0);
    assert_int_equal(io_ring_write(ring, ro, buf, sizeof(buf), 0, 5, &err), 0);
    assert_int_equal(io_ring_reap(ring, &c, 1, 1, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_int_equal(c.tag, 5);
    assert_int_equal(c.error, EBADF);
    assert_int_equal(c.done, 0);
    ibs_err_clear(&err);
    assert_int_equal(io_ring_write_full(ring, ro, buf, sizeof(buf), 0, &err), IBS_E_IO);
    assert_int_equal(err.sys_errno, EBADF);

    /* Synchronous helpers refuse a busy ring. */
    assert_int_equal(io_ring_read(ring, ro, buf, 100, 0, 1, &err), 0);
    ibs_err_clear(&err);
    assert_int_equal(io_ring_read_full(ring, ro, buf, 100, 0, &err), IBS_E_USAGE);
    assert_int_equal(io_ring_inflight(ring), 1);
    /* Freeing with a request in flight waits for it (ASan would see a leak or
     * a late write otherwise). */
    io_ring_free(ring);
    io_ring_free(NULL);
    close(ro);

    ibs_err_clear(&err);
    assert_int_equal(io_file_set_size(-1, 10, "nothing", &err), IBS_E_IO);
    assert_non_null(strstr(err.msg, "nothing"));
    assert_int_equal(io_errno_code(ENOSPC), IBS_E_NOSPACE);
    assert_int_equal(io_errno_code(EDQUOT), IBS_E_NOSPACE);
    assert_int_equal(io_errno_code(EIO), IBS_E_IO);
}

int io_test_ring(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_direct_reads_in_pieces),
        cmocka_unit_test(test_buffered_unaligned_reads),
        cmocka_unit_test(test_two_files_interleaved),
        cmocka_unit_test(test_writes_and_sparse_holes),
        cmocka_unit_test(test_failures_reported),
    };
    return cmocka_run_group_tests_name("io_ring", tests, setup, teardown);
}
