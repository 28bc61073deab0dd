/* bench_s3_stream: the store API's throughput, for bench/s3-throughput.
 *   bench_s3_stream put URL KEY < file      streaming writer (multipart)
 *   bench_s3_stream get URL KEY > file      parallel ranged GETs of 8 MiB
 * Endpoint from BENCH_S3_ENDPOINT (else the AWS variables); BENCH_PART_MB and
 * BENCH_PARTS_IN_FLIGHT set the part size and parallelism. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "s3/store.h"

#define MIB (1u << 20)

static int put(struct store *s, const char *key, struct ibs_err *err)
{
    struct store_writer *w;
    size_t size = 4 * MIB;
    char *buf = malloc(size);
    int rc = buf ? store_writer_open(s, key, &w, err) : ibs_err_set(err, IBS_E_INTERNAL, "oom");
    if (rc) {
        free(buf);
        return rc;
    }
    for (;;) {
        ssize_t n = read(STDIN_FILENO, buf, size);
        if (n < 0) {
            store_writer_abort(w);
            free(buf);
            return ibs_err_sys(err, IBS_E_IO, errno, "bench_s3_stream: read stdin");
        }
        if (n == 0)
            break;
        rc = store_writer_write(w, buf, (size_t)n, err);
        if (rc) {
            store_writer_abort(w);
            free(buf);
            return rc;
        }
    }
    free(buf);
    return store_writer_commit(w, err);
}

static int get(struct store *s, const char *key, unsigned parallel, struct ibs_err *err)
{
    struct store_stat st;
    const size_t chunk = 8 * MIB;
    int rc = store_head(s, key, &st, err);
    if (rc)
        return rc;
    struct store_range *ranges = calloc(parallel, sizeof(*ranges));
    char *buf = malloc(chunk * parallel);
    if (!ranges || !buf) {
        free(ranges);
        free(buf);
        return ibs_err_set(err, IBS_E_INTERNAL, "bench_s3_stream: out of memory");
    }
    for (uint64_t off = 0; off < st.size && !rc;) {
        size_t n = 0;
        uint64_t batch_start = off;
        for (; n < parallel && off < st.size; n++) {
            size_t len = st.size - off < chunk ? (size_t)(st.size - off) : chunk;
            ranges[n] = (struct store_range){key, off, len, buf + (off - batch_start)};
            off += len;
        }
        rc = store_get_ranges(s, ranges, n, err);
        size_t total = (size_t)(off - batch_start);
        for (size_t done = 0; !rc && done < total;) {
            ssize_t w = write(STDOUT_FILENO, buf + done, total - done);
            if (w < 0)
                rc = ibs_err_sys(err, IBS_E_IO, errno, "bench_s3_stream: write stdout");
            else
                done += (size_t)w;
        }
    }
    free(ranges);
    free(buf);
    return rc;
}

int main(int argc, char **argv)
{
    struct ibs_err err;
    struct store *s;
    if (argc != 4 || (strcmp(argv[1], "put") != 0 && strcmp(argv[1], "get") != 0)) {
        fprintf(stderr, "usage: bench_s3_stream put|get s3://bucket/prefix KEY\n");
        return 2;
    }
    const char *part_mb = getenv("BENCH_PART_MB");
    struct store_opts opts = {
        .url = argv[2],
        .endpoint = getenv("BENCH_S3_ENDPOINT"),
        .part_size = part_mb ? strtoull(part_mb, NULL, 10) * MIB : 0,
        .parts_in_flight = getenv("BENCH_PARTS_IN_FLIGHT")
                               ? (unsigned)strtoul(getenv("BENCH_PARTS_IN_FLIGHT"), NULL, 10)
                               : 0,
        .debug = getenv("BENCH_DEBUG") != NULL,
    };
    ibs_err_clear(&err);
    int rc = store_open(&opts, &s, &err);
    if (!rc) {
        unsigned parallel = opts.parts_in_flight ? opts.parts_in_flight
                                                 : STORE_DEFAULT_PARTS_IN_FLIGHT;
        rc = strcmp(argv[1], "put") == 0 ? put(s, argv[3], &err) : get(s, argv[3], parallel, &err);
        store_close(s);
    }
    if (rc)
        fprintf(stderr, "bench_s3_stream: %s\n", err.msg);
    return rc ? 1 : 0;
}
