/* Hashes: published vectors, chaining, streaming, and the SSE4.2 CRC-32C
 * against the table-driven one on random unaligned buffers. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "io/hash.h"
#include "io_tests.h"

static const char check[] = "123456789";

static void test_crc32c_vectors(void **state)
{
    unsigned char buf[32];

    assert_int_equal(io_crc32c(0, check, 9), 0xE3069283u);
    assert_int_equal(io_crc32c_sw(0, check, 9), 0xE3069283u);
    assert_int_equal(io_crc32c(0, NULL, 0), 0);
    assert_int_equal(io_crc32c(0x12345678u, NULL, 0), 0x12345678u);
    /* RFC 3720 (iSCSI) B.4 vectors. */
    memset(buf, 0, sizeof(buf));
    assert_int_equal(io_crc32c(0, buf, 32), 0x8A9136AAu);
    assert_int_equal(io_crc32c_sw(0, buf, 32), 0x8A9136AAu);
    memset(buf, 0xff, sizeof(buf));
    assert_int_equal(io_crc32c(0, buf, 32), 0x62A8AB43u);
    for (int i = 0; i < 32; i++)
        buf[i] = (unsigned char)i;
    assert_int_equal(io_crc32c(0, buf, 32), 0x46DD794Eu);
    assert_int_equal(io_crc32c_sw(0, buf, 32), 0x46DD794Eu);
    for (int i = 0; i < 32; i++)
        buf[i] = (unsigned char)(31 - i);
    assert_int_equal(io_crc32c(0, buf, 32), 0x113FDB5Cu);
}

static void test_crc32_vectors(void **state)
{
    assert_int_equal(io_crc32(0, check, 9), 0xCBF43926u);
    assert_int_equal(io_crc32(0, NULL, 0), 0);
    assert_int_equal(io_crc32(0, "a", 1), 0xE8B7BE43u);
    assert_int_equal(io_crc32(0, "The quick brown fox jumps over the lazy dog", 43), 0x414FA339u);
    /* Chaining like zlib's crc32(). */
    assert_int_equal(io_crc32(io_crc32(0, check, 4), check + 4, 5), 0xCBF43926u);
}

static void test_crc32c_chains(void **state)
{
    uint64_t seed = 42;
    size_t len = 100000;
    unsigned char *buf = malloc(len);
    assert_non_null(buf);
    io_test_random_bytes(&seed, buf, len);
    uint32_t whole = io_crc32c(0, buf, len);
    static const size_t cuts[] = {0, 1, 7, 8, 767, 768, 24575, 24576, 24577, 50000, 99999};
    for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
        uint32_t crc = io_crc32c(0, buf, cuts[i]);
        assert_int_equal(io_crc32c(crc, buf + cuts[i], len - cuts[i]), whole);
        crc = io_crc32c_sw(0, buf, cuts[i]);
        assert_int_equal(io_crc32c_sw(crc, buf + cuts[i], len - cuts[i]), whole);
    }
    free(buf);
}

/* Every length up to a few lanes and a spread of larger ones, at every
 * alignment mod 8, with random start values: the hardware path (three lanes,
 * long and short, and the byte/word tails) must equal the table path. */
static void test_crc32c_hw_equals_sw(void **state)
{
    uint64_t seed = 0x9E3779B97F4A7C15ULL;
    size_t cap = 3 * 8192 * 4 + 64;
    unsigned char *buf = malloc(cap);
    assert_non_null(buf);
    io_test_random_bytes(&seed, buf, cap);
    if (!io_crc32c_hw_available())
        print_message("crc32c: no SSE4.2 on this CPU; comparing the table path with itself\n");

    for (size_t len = 0; len <= 2000; len++) {
        size_t off = len % 8;
        uint32_t start = (uint32_t)(len * 2654435761u);
        assert_int_equal(io_crc32c(start, buf + off, len), io_crc32c_sw(start, buf + off, len));
    }
    for (int round = 0; round < 200; round++) {
        uint64_t r;
        io_test_random_bytes(&seed, &r, sizeof(r));
        size_t off = r % 8;
        size_t len = (size_t)(r >> 8) % (cap - 8);
        uint32_t start = (uint32_t)(r >> 32);
        assert_int_equal(io_crc32c(start, buf + off, len), io_crc32c_sw(start, buf + off, len));
    }
    static const size_t edges[] = {24575, 24576, 24577, 24576 + 767, 24576 + 768, 49152, 98304};
    for (size_t i = 0; i < sizeof(edges) / sizeof(edges[0]); i++)
        for (size_t off = 0; off < 8; off++)
            assert_int_equal(io_crc32c(0, buf + off, edges[i]),
                             io_crc32c_sw(0, buf + off, edges[i]));

    /* A flipped bit anywhere changes the CRC. */
    uint32_t before = io_crc32c(0, buf, 30000);
    buf[12345] ^= 0x10;
    assert_int_not_equal(io_crc32c(0, buf, 30000), before);
    free(buf);
}

static void test_xxh3(void **state)
{
    struct ibs_err err;
    assert_true(io_xxh3_64(NULL, 0) == 0x2D06800538D394C2ULL);
    assert_true(io_xxh3_64("", 0) == 0x2D06800538D394C2ULL);

    uint64_t seed = 7;
    size_t len = 70000;
    unsigned char *buf = malloc(len);
    assert_non_null(buf);
    io_test_random_bytes(&seed, buf, len);
    uint64_t whole = io_xxh3_64(buf, len);

    struct io_xxh3 *xxh = io_xxh3_new(&err);
    assert_non_null(xxh);
    assert_true(io_xxh3_digest(xxh) == 0x2D06800538D394C2ULL);
    for (size_t step = 1; step < 5000; step = step * 3 + 1) {
        io_xxh3_reset(xxh);
        for (size_t pos = 0; pos < len; pos += step)
            io_xxh3_update(xxh, buf + pos, pos + step <= len ? step : len - pos);
        assert_true(io_xxh3_digest(xxh) == whole);
    }
    io_xxh3_update(xxh, NULL, 0);
    assert_true(io_xxh3_digest(xxh) == whole);
    buf[0] ^= 1;
    assert_true(io_xxh3_64(buf, len) != whole);
    io_xxh3_free(xxh);
    io_xxh3_free(NULL);
    free(buf);
}

int io_test_hash(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc32c_vectors), cmocka_unit_test(test_crc32_vectors),
        cmocka_unit_test(test_crc32c_chains),  cmocka_unit_test(test_crc32c_hw_equals_sw),
        cmocka_unit_test(test_xxh3),
    };
    return cmocka_run_group_tests_name("io_hash", tests, NULL, NULL);
}
