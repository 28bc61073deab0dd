/* CRC-32C for redo/ (log header, checkpoint and mini-transaction checksums):
 * io/'s implementation, which has my_crc32c's semantics (mysys/crc32/). */
#include "io/hash.h"
#include "redo/log.h"

uint32_t redo_crc32c(uint32_t crc, const void *data, size_t len)
{
    return io_crc32c(crc, data, len);
}
