/* bench_redo_tail LOGFILE REPO_DIR: copies the log of a (stopped) server's
 * ib_logfile0 from its checkpoint to the end of its valid mini-transactions
 * with the backup's redo tailer into a local repository, and prints the
 * bytes and MB/s. The log is read from the page cache, as a tailer reading
 * right behind the server does; the figure is what the tailer sustains:
 * validating, compressing, framing and storing. */
#include <fcntl.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "engine/redo_tail.h"
#include "redo/log.h"
#include "redo/mtr.h"
#include "s3/store.h"

/* The end of the valid log, by scanning it once (not timed). */
static int find_end(const char *path, uint64_t *end_lsn, struct ibs_err *err)
{
    int fd = open(path, O_RDONLY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0)
        return ibs_err_set(err, IBS_E_IO, "cannot open %s", path);
    uint8_t *buf = malloc((size_t)st.st_size);
    size_t done = 0;
    while (buf && done < (size_t)st.st_size) {
        ssize_t got = pread(fd, buf + done, (size_t)st.st_size - done, (off_t)done);
        if (got <= 0)
            break;
        done += (size_t)got;
    }
    close(fd);
    if (!buf || done != (size_t)st.st_size) {
        free(buf);
        return ibs_err_set(err, IBS_E_IO, "cannot read %s", path);
    }
    struct redo_log_header hdr;
    struct redo_checkpoint ckpt;
    struct redo_log_geom geom;
    int rc = redo_log_header_parse(buf, (size_t)st.st_size, &hdr, err);
    if (!rc)
        rc = redo_log_find_checkpoint(buf, (size_t)st.st_size, hdr.first_lsn, &ckpt, err);
    if (!rc)
        rc = redo_log_geom_init(&geom, &hdr, (uint64_t)st.st_size, err);
    if (rc) {
        free(buf);
        return rc;
    }
    /* Linearise the circular body from the checkpoint on. */
    uint8_t *lin = malloc(geom.capacity);
    uint64_t off = redo_log_offset(&geom, ckpt.checkpoint_lsn);
    uint64_t first = (uint64_t)st.st_size - off;
    memcpy(lin, buf + off, first);
    memcpy(lin + first, buf + REDO_LOG_START_OFFSET, geom.capacity - first);
    uint64_t lsn = ckpt.checkpoint_lsn, pos = 0;
    for (;;) {
        struct redo_mtr m;
        if (redo_mtr_scan(&geom, lin + pos, geom.capacity - pos, lsn, &m) != REDO_MTR_OK)
            break;
        pos += m.len;
        lsn += m.len;
    }
    *end_lsn = lsn;
    free(lin);
    free(buf);
    return 0;
}

int main(int argc, char **argv)
{
    struct ibs_err err;
    struct store *store = NULL;
    struct eng_redo_tail *tail = NULL;
    struct eng_redo_tail_info info;
    atomic_bool cancel = false;
    uint64_t end = 0;

    if (argc != 3) {
        fprintf(stderr, "usage: bench_redo_tail LOGFILE REPO_DIR\n");
        return 2;
    }
    if (find_end(argv[1], &end, &err) != 0)
        goto fail;
    struct store_opts so = {.url = argv[2]};
    if (store_open(&so, &store, &err) != 0)
        goto fail;
    struct eng_redo_tail_opts topts = {.log_path = argv[1],
                                       .store = store,
                                       .prefix = "bench/redo",
                                       .compress_level = getenv("LEVEL") ? atoi(getenv("LEVEL")) : 1,
                                       .page_size = 16384,
                                       .cancel = &cancel};
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (eng_redo_tail_start(&topts, &tail, &info, &err) != 0)
        goto fail;
    eng_redo_tail_set_durable(tail, end);
    struct eng_frame_list frames = {0};
    struct eng_pack_ref *packs = NULL;
    size_t pack_count = 0;
    uint64_t copied_to = 0;
    if (eng_redo_tail_finish(tail, end, 600000, &frames, &packs, &pack_count, &copied_to, &err))
        goto fail;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    uint64_t bytes = copied_to - info.checkpoint_lsn, stored = 0;
    for (size_t i = 0; i < pack_count; i++)
        stored += packs[i].size;
    printf("redo copied: %" PRIu64 " bytes (LSN %" PRIu64 "..%" PRIu64 ") in %.3f s = %.1f MB/s, "
           "stored %" PRIu64 " bytes in %zu frames\n",
           bytes, info.checkpoint_lsn, copied_to, secs, (double)bytes / 1e6 / secs, stored,
           frames.count);
    for (size_t i = 0; i < pack_count; i++)
        free(packs[i].key);
    free(packs);
    eng_frame_list_free(&frames);
    store_close(store);
    return 0;
fail:
    fprintf(stderr, "bench_redo_tail: %s\n", err.msg);
    store_close(store);
    return 1;
}
