/* CRC-32C and CRC-32 (see hash.h).
 *
 * Both are reflected CRCs computed by slicing-by-8 tables; CRC-32C also has an
 * SSE4.2 path that runs three independent crc32 instruction streams over three
 * lanes of a block (the instruction has a latency of 3 cycles and a throughput
 * of 1, so one stream leaves two thirds of the unit idle) and joins the lane
 * results with precomputed "append n zero bytes" operators, after Mark Adler's
 * crc32c.c. The register arithmetic here never inverts; the public functions
 * invert on entry and exit as zlib and MariaDB's my_crc32c do. */
#include "io/hash.h"

#include <pthread.h>
#include <string.h>

#if defined(__x86_64__)
#include <nmmintrin.h>
#define IO_CRC_X86 1
#endif

#define CRC32C_POLY 0x82F63B78u /* Castagnoli, reflected */
#define CRC32_POLY 0xEDB88320u  /* IEEE 802.3 / zlib, reflected */

/* Lane lengths of the interleaved hardware loop: long lanes for bulk data, short
 * ones for the tail of a buffer too small for three long lanes. */
#define CRC32C_LONG 8192
#define CRC32C_SHORT 256

static pthread_once_t crc_once = PTHREAD_ONCE_INIT;
static uint32_t crc32c_table[8][256]; /* written once under crc_once, then read-only */
static uint32_t crc32_table[8][256];
static uint32_t crc32c_long_shift[4][256];
static uint32_t crc32c_short_shift[4][256];
static bool crc32c_hw;

static void slice8_tables(uint32_t table[8][256], uint32_t poly)
{
    for (uint32_t n = 0; n < 256; n++) {
        uint32_t crc = n;
        for (int k = 0; k < 8; k++)
            crc = crc & 1 ? (crc >> 1) ^ poly : crc >> 1;
        table[0][n] = crc;
    }
    for (uint32_t n = 0; n < 256; n++) {
        uint32_t crc = table[0][n];
        for (int k = 1; k < 8; k++) {
            crc = table[0][crc & 0xff] ^ (crc >> 8);
            table[k][n] = crc;
        }
    }
}

/* GF(2) 32x32 matrix (one column per input bit) times a vector. */
static uint32_t gf2_times(const uint32_t mat[32], uint32_t vec)
{
    uint32_t sum = 0;
    for (int i = 0; vec != 0; i++, vec >>= 1)
        if (vec & 1)
            sum ^= mat[i];
    return sum;
}

/* out = a after b (both are powers of one operator, so the order is free). */
static void gf2_compose(uint32_t out[32], const uint32_t a[32], const uint32_t b[32])
{
    uint32_t tmp[32];
    for (int n = 0; n < 32; n++)
        tmp[n] = gf2_times(a, b[n]);
    memcpy(out, tmp, sizeof(tmp));
}

/* Table form of the operator that feeds len zero bytes through the CRC-32C
 * register: shift[k][b] is its image of the byte b placed at byte k. */
static void crc32c_shift_table(uint32_t shift[4][256], size_t len)
{
    uint32_t op[32], power[32];

    /* One zero bit: shift right, folding the polynomial in for a set bit 0. */
    power[0] = CRC32C_POLY;
    for (int n = 1; n < 32; n++)
        power[n] = 1u << (n - 1);
    for (int i = 0; i < 3; i++) /* 2, 4, then 8 bits: one zero byte */
        gf2_compose(power, power, power);

    for (int n = 0; n < 32; n++)
        op[n] = 1u << n;
    for (; len != 0; len >>= 1) {
        if (len & 1)
            gf2_compose(op, power, op);
        gf2_compose(power, power, power);
    }
    for (int k = 0; k < 4; k++)
        for (uint32_t b = 0; b < 256; b++)
            shift[k][b] = gf2_times(op, b << (8 * k));
}

static uint32_t crc32c_shift(const uint32_t shift[4][256], uint32_t crc)
{
    return shift[0][crc & 0xff] ^ shift[1][(crc >> 8) & 0xff] ^ shift[2][(crc >> 16) & 0xff] ^
           shift[3][crc >> 24];
}

static void crc_init(void)
{
    slice8_tables(crc32c_table, CRC32C_POLY);
    slice8_tables(crc32_table, CRC32_POLY);
    crc32c_shift_table(crc32c_long_shift, CRC32C_LONG);
    crc32c_shift_table(crc32c_short_shift, CRC32C_SHORT);
#ifdef IO_CRC_X86
    __builtin_cpu_init();
    crc32c_hw = __builtin_cpu_supports("sse4.2");
#endif
}

static uint64_t load_le64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

/* Slicing-by-8 on the bare register (no inversion). */
static uint32_t slice8(const uint32_t table[8][256], uint32_t crc, const unsigned char *p,
                       size_t len)
{
    while (len >= 8) {
        uint64_t word = load_le64(p) ^ crc;
        crc = table[7][word & 0xff] ^ table[6][(word >> 8) & 0xff] ^ table[5][(word >> 16) & 0xff] ^
              table[4][(word >> 24) & 0xff] ^ table[3][(word >> 32) & 0xff] ^
              table[2][(word >> 40) & 0xff] ^ table[1][(word >> 48) & 0xff] ^ table[0][word >> 56];
        p += 8;
        len -= 8;
    }
    while (len--)
        crc = table[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
    return crc;
}

#ifdef IO_CRC_X86
/* Runs the three lanes of lane bytes each at p through the crc32 instruction
 * in parallel and joins them; returns the register after 3 * lane bytes. */
__attribute__((target("sse4.2"))) static uint64_t
crc32c_hw_lanes(uint64_t crc0, const unsigned char *p, size_t lane, const uint32_t shift[4][256])
{
    uint64_t crc1 = 0, crc2 = 0;
    const unsigned char *end = p + lane;
    uint64_t w0, w1, w2;

    while (p < end) {
        memcpy(&w0, p, 8);
        memcpy(&w1, p + lane, 8);
        memcpy(&w2, p + 2 * lane, 8);
        crc0 = _mm_crc32_u64(crc0, w0);
        crc1 = _mm_crc32_u64(crc1, w1);
        crc2 = _mm_crc32_u64(crc2, w2);
        p += 8;
    }
    crc0 = crc32c_shift(shift, (uint32_t)crc0) ^ crc1;
    return crc32c_shift(shift, (uint32_t)crc0) ^ crc2;
}

__attribute__((target("sse4.2"))) static uint32_t crc32c_hw_run(uint32_t reg,
                                                                const unsigned char *p, size_t len)
{
    uint64_t crc = reg;

    /* Byte steps up to 8-byte alignment keep the word loads aligned. */
    while (len > 0 && ((uintptr_t)p & 7) != 0) {
        crc = _mm_crc32_u8((uint32_t)crc, *p++);
        len--;
    }
    while (len >= 3 * CRC32C_LONG) {
        crc = crc32c_hw_lanes(crc, p, CRC32C_LONG, crc32c_long_shift);
        p += 3 * CRC32C_LONG;
        len -= 3 * CRC32C_LONG;
    }
    while (len >= 3 * CRC32C_SHORT) {
        crc = crc32c_hw_lanes(crc, p, CRC32C_SHORT, crc32c_short_shift);
        p += 3 * CRC32C_SHORT;
        len -= 3 * CRC32C_SHORT;
    }
    while (len >= 8) {
        uint64_t word;
        memcpy(&word, p, 8);
        crc = _mm_crc32_u64(crc, word);
        p += 8;
        len -= 8;
    }
    while (len > 0) {
        crc = _mm_crc32_u8((uint32_t)crc, *p++);
        len--;
    }
    return (uint32_t)crc;
}
#endif

uint32_t io_crc32c_sw(uint32_t crc, const void *data, size_t len)
{
    pthread_once(&crc_once, crc_init);
    return ~slice8(crc32c_table, ~crc, data, len);
}

uint32_t io_crc32c(uint32_t crc, const void *data, size_t len)
{
    pthread_once(&crc_once, crc_init);
#ifdef IO_CRC_X86
    if (crc32c_hw)
        return ~crc32c_hw_run(~crc, data, len);
#endif
    return ~slice8(crc32c_table, ~crc, data, len);
}

bool io_crc32c_hw_available(void)
{
    pthread_once(&crc_once, crc_init);
    return crc32c_hw;
}

uint32_t io_crc32(uint32_t crc, const void *data, size_t len)
{
    pthread_once(&crc_once, crc_init);
    return ~slice8(crc32_table, ~crc, data, len);
}
