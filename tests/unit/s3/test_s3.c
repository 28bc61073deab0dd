/* Unit tests of the S3 driver: SigV4 vectors (test_sigv4.c), part-size
 * arithmetic (here), credentials resolution (test_s3_config.c) and the request
 * engine against a scripted loopback HTTP server (test_s3_http.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "s3/store.h"
#include "tests/unit/s3/test_s3.h"

#define MIB (1ull << 20)
#define GIB (1ull << 30)

static void test_part_size_limits(void **state)
{
    (void)state;
    /* Small objects get S3's 5 MiB minimum, or the floor when larger. */
    assert_int_equal(store_part_size_for(0, 0), 5 * MIB);
    assert_int_equal(store_part_size_for(1, 0), 5 * MIB);
    assert_int_equal(store_part_size_for(100 * GIB, 16 * MIB), 16 * MIB);
    /* A floor that is not a multiple of 1 MiB is rounded up. */
    assert_int_equal(store_part_size_for(0, 16 * MIB + 1), 17 * MIB);
    /* Exactly 10,000 parts of 5 MiB still fit; one byte more needs 6 MiB parts. */
    assert_int_equal(store_part_size_for(10000 * 5 * MIB, 0), 5 * MIB);
    assert_int_equal(store_part_size_for(10000 * 5 * MIB + 1, 0), 6 * MIB);
    /* 1 TiB: ceil(2^40 / 10,000) = 109,951,163 bytes -> 105 MiB. */
    assert_int_equal(store_part_size_for(1ull << 40, 0), 105 * MIB);
    /* 5 TiB, S3's largest object: 525 MiB parts; 10,000 of them hold it. */
    uint64_t ps = store_part_size_for(STORE_S3_MAX_OBJECT_SIZE, 16 * MIB);
    assert_int_equal(ps, 525 * MIB);
    assert_true(ps * STORE_S3_MAX_PARTS >= STORE_S3_MAX_OBJECT_SIZE);
    assert_true((ps - MIB) * STORE_S3_MAX_PARTS < STORE_S3_MAX_OBJECT_SIZE);
    /* Beyond what S3 can hold: capped at 5 GiB per part. */
    assert_int_equal(store_part_size_for(UINT64_MAX, 0), 5 * GIB);
    assert_int_equal(store_part_size_for(0, 6 * GIB), 5 * GIB);
    assert_int_equal(store_part_size_for(0, UINT64_MAX), 5 * GIB);
}

int main(void)
{
    int failed = 0;
    failed += _cmocka_run_group_tests("sigv4", sigv4_tests, sigv4_tests_count, NULL, NULL);
    const struct CMUnitTest misc[] = {
        cmocka_unit_test(test_part_size_limits),
    };
    failed += cmocka_run_group_tests_name("s3_misc", misc, NULL, NULL);
    failed += _cmocka_run_group_tests("s3_config", s3_config_tests, s3_config_tests_count,
                                      s3_config_setup, s3_config_teardown);
    failed += _cmocka_run_group_tests("s3_http", s3_http_tests, s3_http_tests_count, NULL, NULL);
    return failed ? 1 : 0;
}
