/* CRC-32C for redo/ (log header, checkpoint and mini-transaction checksums).
 * A private copy until io/hash.h's io_crc32c is built in the tree; then this
 * file becomes a one-line forwarder. Semantics of my_crc32c (mysys/crc32/). */
#include "redo/log.h"

static uint32_t crc32c_table[8][256];
static int crc32c_ready;

static void crc32c_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = c & 1 ? (c >> 1) ^ 0x82F63B78u : c >> 1;
        crc32c_table[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; i++)
        for (int t = 1; t < 8; t++)
            crc32c_table[t][i] =
                (crc32c_table[t - 1][i] >> 8) ^ crc32c_table[0][crc32c_table[t - 1][i] & 0xff];
    __atomic_store_n(&crc32c_ready, 1, __ATOMIC_RELEASE);
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) static uint32_t crc32c_hw(uint32_t c, const uint8_t *p,
                                                             size_t len)
{
    uint64_t c64 = c;
    for (; len && ((uintptr_t)p & 7); len--)
        c64 = __builtin_ia32_crc32qi((uint32_t)c64, *p++);
    for (; len >= 8; len -= 8, p += 8) {
        uint64_t w;
        __builtin_memcpy(&w, p, 8);
        c64 = __builtin_ia32_crc32di(c64, w);
    }
    for (; len; len--)
        c64 = __builtin_ia32_crc32qi((uint32_t)c64, *p++);
    return (uint32_t)c64;
}
#endif

static uint32_t crc32c_sw(uint32_t c, const uint8_t *p, size_t len)
{
    if (!__atomic_load_n(&crc32c_ready, __ATOMIC_ACQUIRE))
        crc32c_init(); /* idempotent: racing threads compute the same table */
    for (; len >= 8; len -= 8, p += 8) {
        c ^= (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
        c = crc32c_table[7][c & 0xff] ^ crc32c_table[6][(c >> 8) & 0xff] ^
            crc32c_table[5][(c >> 16) & 0xff] ^ crc32c_table[4][c >> 24] ^
            crc32c_table[3][p[4]] ^ crc32c_table[2][p[5]] ^ crc32c_table[1][p[6]] ^
            crc32c_table[0][p[7]];
    }
    for (; len; len--)
        c = (c >> 8) ^ crc32c_table[0][(c ^ *p++) & 0xff];
    return c;
}

uint32_t redo_crc32c(uint32_t crc, const void *data, size_t len)
{
    const uint8_t *p = data;
    uint32_t c = ~crc;
#if defined(__x86_64__)
    if (__builtin_cpu_supports("sse4.2"))
        return ~crc32c_hw(c, p, len);
#endif
    return ~crc32c_sw(c, p, len);
}
