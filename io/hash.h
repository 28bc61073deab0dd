/* Checksums and hashes of io/: XXH3-64 for ibstream's own frames, CRC-32C
 * (InnoDB page and redo checksums, MariaDB's my_crc32c) and zlib's CRC-32
 * (xbstream chunks). All functions are thread-safe and never fail. */
#ifndef IBS_IO_HASH_H
#define IBS_IO_HASH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

/* XXH3 64-bit hash (seed 0) of len bytes at data; data may be NULL if len is 0.
 * Equals libxxhash's XXH3_64bits(data, len). */
uint64_t io_xxh3_64(const void *data, size_t len);

/* Streaming XXH3-64: feeding the bytes in any number of pieces gives the same
 * digest as io_xxh3_64 over their concatenation. One state per thread at a time. */
struct io_xxh3;

/* Returns a new state, already reset, or NULL with err set (IBS_E_INTERNAL) when
 * memory runs out. Free it with io_xxh3_free. */
struct io_xxh3 *io_xxh3_new(struct ibs_err *err);

/* Starts a new hash, forgetting what was fed before. */
void io_xxh3_reset(struct io_xxh3 *state);

/* Feeds len bytes at data (NULL allowed when len is 0). */
void io_xxh3_update(struct io_xxh3 *state, const void *data, size_t len);

/* The hash of everything fed since the last reset; the state is unchanged, so
 * more data may follow. */
uint64_t io_xxh3_digest(const struct io_xxh3 *state);

/* Releases state; NULL is a no-op. */
void io_xxh3_free(struct io_xxh3 *state);

/* CRC-32C (Castagnoli, reflected polynomial 0x82F63B78) with the semantics of
 * MariaDB's my_crc32c(crc, buf, len): the initial and final inversion happen
 * inside, so calls chain: io_crc32c(io_crc32c(0, a, n), b, m) equals the CRC of
 * a followed by b. Start with crc 0. io_crc32c(0, "123456789", 9) == 0xE3069283.
 * Uses the SSE4.2 crc32 instruction when the CPU has it, else io_crc32c_sw. */
uint32_t io_crc32c(uint32_t crc, const void *data, size_t len);

/* The portable table-driven (slicing-by-8) CRC-32C; same results as io_crc32c. */
uint32_t io_crc32c_sw(uint32_t crc, const void *data, size_t len);

/* True when io_crc32c runs on the CPU's crc32 instruction. */
bool io_crc32c_hw_available(void);

/* zlib's CRC-32 (reflected polynomial 0xEDB88320), chaining like zlib's
 * crc32(crc, buf, len): start with 0. io_crc32(0, "123456789", 9) == 0xCBF43926. */
uint32_t io_crc32(uint32_t crc, const void *data, size_t len);

#endif
