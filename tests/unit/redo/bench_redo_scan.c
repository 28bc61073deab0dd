/* Throughput of redo_mtr_scan over real mini-transactions (the live_tail.bin
 * fixture repeated): bench_redo_scan [MiB, default 256]. Prints MB/s. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "redo_test.h"

int run_log_tests(void)
{
    return 0;
}
int run_mtr_tests(void)
{
    return 0;
}
int run_apply_tests(void)
{
    return 0;
}

int main(int argc, char **argv)
{
    size_t want = (size_t)(argc > 1 ? atoi(argv[1]) : 256) << 20;
    size_t len;
    uint8_t *tail = fixture_read("live_tail.bin", &len);
    struct redo_log_geom lg = {.first_lsn = fixture_live("first_lsn"),
                               .capacity = fixture_live("file_size") - REDO_LOG_START_OFFSET};
    uint64_t lsn = fixture_live("checkpoint_lsn");
    size_t mtr_bytes = (size_t)(fixture_live("log_end_lsn") - lsn);
    (void)lg;

    /* Copy whole mtrs (lap 0 of a huge log: every end byte is 1). */
    uint8_t *buf = malloc(want + mtr_bytes);
    size_t n = 0;
    while (n < want) {
        memcpy(buf + n, tail, mtr_bytes);
        n += mtr_bytes;
    }
    struct redo_log_geom g = {.first_lsn = 12288, .capacity = 1ull << 50};
    struct redo_mtr m;
    struct timespec t0, t1;
    size_t p = 0, mtrs = 0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    while (p < n && redo_mtr_scan(&g, buf + p, n - p, 12288 + p, &m) == REDO_MTR_OK) {
        p += m.len;
        mtrs++;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    printf("%zu mtrs, %.1f MiB in %.3f s: %.0f MB/s\n", mtrs, (double)p / (1 << 20), s,
           (double)p / s / 1e6);
    free(buf);
    free(tail);
    return p == n ? 0 : 1;
}
