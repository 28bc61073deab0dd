/* The zstd block codec: round trips, level checks, and corrupt or mis-sized
 * frames reported as integrity errors. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "io/codec.h"
#include "io_tests.h"

struct codec_fixture {
    struct io_codec *codec;
    unsigned char *raw, *frame, *out;
    size_t raw_len, frame_cap;
};

static int setup(void **state)
{
    struct ibs_err err;
    struct codec_fixture *f = calloc(1, sizeof(*f));
    if (f == NULL)
        return -1;
    f->raw_len = 1 << 20;
    f->frame_cap = io_codec_bound(f->raw_len);
    f->codec = io_codec_new(3, &err);
    f->raw = malloc(f->raw_len);
    f->frame = malloc(f->frame_cap);
    f->out = malloc(f->raw_len + 16);
    *state = f;
    return f->codec && f->raw && f->frame && f->out ? 0 : -1;
}

static int teardown(void **state)
{
    struct codec_fixture *f = *state;
    io_codec_free(f->codec);
    free(f->raw);
    free(f->frame);
    free(f->out);
    free(f);
    return 0;
}

static void round_trip(struct codec_fixture *f, size_t len, size_t *frame_len)
{
    struct ibs_err err;
    ibs_err_clear(&err);
    assert_int_equal(
        io_codec_compress(f->codec, f->raw, len, f->frame, f->frame_cap, frame_len, &err), 0);
    assert_true(*frame_len <= io_codec_bound(len));
    memset(f->out, 0xAA, len);
    assert_int_equal(io_codec_decompress(f->codec, f->frame, *frame_len, f->out, len, &err), 0);
    assert_memory_equal(f->out, f->raw, len);
}

static void test_round_trips(void **state)
{
    struct codec_fixture *f = *state;
    uint64_t seed = 1;
    size_t frame_len;

    /* Incompressible: random bytes grow a little, never beyond the bound. */
    io_test_random_bytes(&seed, f->raw, f->raw_len);
    round_trip(f, f->raw_len, &frame_len);
    assert_true(frame_len >= f->raw_len);

    /* Compressible: pages of mostly zeros with a little text. */
    memset(f->raw, 0, f->raw_len);
    for (size_t i = 0; i < f->raw_len; i += 16384)
        memcpy(f->raw + i, "infimum\0supremum", 16);
    round_trip(f, f->raw_len, &frame_len);
    assert_true(frame_len < f->raw_len / 100);

    /* Empty and tiny blocks. */
    round_trip(f, 0, &frame_len);
    assert_true(frame_len > 0);
    round_trip(f, 1, &frame_len);
    for (size_t len = 2; len < 70000; len = len * 5 + 3)
        round_trip(f, len, &frame_len);
}

static void test_levels(void **state)
{
    struct ibs_err err;
    static const int good[] = {-5, 0, 1, 19};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        struct io_codec *codec = io_codec_new(good[i], &err);
        assert_non_null(codec);
        assert_int_equal(io_codec_level(codec), good[i]);
        io_codec_free(codec);
    }
    struct io_codec *fastest = io_codec_new(io_codec_min_level(), &err);
    assert_non_null(fastest);
    io_codec_free(fastest);

    ibs_err_clear(&err);
    assert_null(io_codec_new(20, &err));
    assert_int_equal(err.code, IBS_E_USAGE);
    assert_non_null(strstr(err.msg, "20"));
    ibs_err_clear(&err);
    assert_null(io_codec_new(io_codec_min_level() - 1, &err));
    assert_int_equal(err.code, IBS_E_USAGE);
    io_codec_free(NULL);
}

static void test_level_changes_output(void **state)
{
    struct codec_fixture *f = *state;
    struct ibs_err err;
    size_t fast_len, best_len;
    struct io_codec *fast = io_codec_new(-50, &err);
    struct io_codec *best = io_codec_new(19, &err);
    assert_non_null(fast);
    assert_non_null(best);
    for (size_t i = 0; i < 262144; i++)
        f->raw[i] = (unsigned char)"abcdefghij"[(i * i / 7) % 10];
    assert_int_equal(
        io_codec_compress(fast, f->raw, 262144, f->frame, f->frame_cap, &fast_len, &err), 0);
    unsigned char *other = malloc(f->frame_cap);
    assert_non_null(other);
    assert_int_equal(io_codec_compress(best, f->raw, 262144, other, f->frame_cap, &best_len, &err),
                     0);
    assert_true(best_len < fast_len);
    /* Either frame decodes with any codec. */
    assert_int_equal(io_codec_decompress(best, f->frame, fast_len, f->out, 262144, &err), 0);
    assert_memory_equal(f->out, f->raw, 262144);
    assert_int_equal(io_codec_decompress(fast, other, best_len, f->out, 262144, &err), 0);
    assert_memory_equal(f->out, f->raw, 262144);
    free(other);
    io_codec_free(fast);
    io_codec_free(best);
}

static void test_small_output(void **state)
{
    struct codec_fixture *f = *state;
    struct ibs_err err;
    size_t frame_len = 12345;
    uint64_t seed = 5;
    io_test_random_bytes(&seed, f->raw, 100000);
    ibs_err_clear(&err);
    assert_int_equal(io_codec_compress(f->codec, f->raw, 100000, f->frame, 50000, &frame_len, &err),
                     IBS_E_USAGE);
    assert_int_equal(frame_len, 12345);
    assert_non_null(strstr(err.msg, "io_codec_bound"));
    /* The codec is still usable after the failure. */
    round_trip(f, 100000, &frame_len);
}

static void test_corruption_detected(void **state)
{
    struct codec_fixture *f = *state;
    struct ibs_err err;
    size_t len = 200000, frame_len;
    uint64_t seed = 9;

    for (size_t i = 0; i < len; i++)
        f->raw[i] = (unsigned char)(i % 251 < 40 ? i : 0);
    io_test_random_bytes(&seed, f->raw + 1000, 3000);
    round_trip(f, len, &frame_len);

    /* Wrong expected sizes, both ways. */
    ibs_err_clear(&err);
    assert_int_equal(io_codec_decompress(f->codec, f->frame, frame_len, f->out, len - 1, &err),
                     IBS_E_INTEGRITY);
    assert_non_null(strstr(err.msg, "expected"));
    assert_int_equal(io_codec_decompress(f->codec, f->frame, frame_len, f->out, len + 1, &err),
                     IBS_E_INTEGRITY);

    /* Truncated frames, down to nothing. */
    static const size_t cuts[] = {0, 1, 4, 8, 20};
    for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
        ibs_err_clear(&err);
        assert_int_equal(io_codec_decompress(f->codec, f->frame, cuts[i], f->out, len, &err),
                         IBS_E_INTEGRITY);
    }
    assert_int_equal(io_codec_decompress(f->codec, f->frame, frame_len - 1, f->out, len, &err),
                     IBS_E_INTEGRITY);

    /* A bad magic number. */
    f->frame[0] ^= 0xff;
    ibs_err_clear(&err);
    assert_int_equal(io_codec_decompress(f->codec, f->frame, frame_len, f->out, len, &err),
                     IBS_E_INTEGRITY);
    assert_non_null(strstr(err.msg, "corrupt"));
    f->frame[0] ^= 0xff;

    /* Trailing garbage after the frame. */
    f->frame[frame_len] = 0x5a;
    assert_int_equal(io_codec_decompress(f->codec, f->frame, frame_len + 1, f->out, len, &err),
                     IBS_E_INTEGRITY);

    /* Damage in the body: zstd either fails or (without its own checksum) may
     * decode different bytes, which XXH3 of the raw block catches upstream; it
     * must never succeed with the original bytes on every flip and must never
     * overrun dst. */
    int detected = 0;
    for (size_t pos = 20; pos < frame_len; pos += frame_len / 64 + 1) {
        f->frame[pos] ^= 0x41;
        int rc = io_codec_decompress(f->codec, f->frame, frame_len, f->out, len, &err);
        if (rc != 0) {
            assert_int_equal(rc, IBS_E_INTEGRITY);
            detected++;
        } else if (memcmp(f->out, f->raw, len) != 0) {
            detected++;
        }
        f->frame[pos] ^= 0x41;
    }
    assert_true(detected > 0);

    /* After all those failures the codec still decodes the intact frame. */
    assert_int_equal(io_codec_decompress(f->codec, f->frame, frame_len, f->out, len, &err), 0);
    assert_memory_equal(f->out, f->raw, len);
}

int io_test_codec(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trips),          cmocka_unit_test(test_levels),
        cmocka_unit_test(test_level_changes_output), cmocka_unit_test(test_small_output),
        cmocka_unit_test(test_corruption_detected),
    };
    return cmocka_run_group_tests_name("io_codec", tests, setup, teardown);
}
