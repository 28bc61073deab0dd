/* Part-size arithmetic at S3's multipart limits (5 MiB..5 GiB per part,
 * 10,000 parts): https://docs.aws.amazon.com/AmazonS3/latest/userguide/qfacts.html */
#include "s3/store.h"

#define MIB (1ull << 20)

static uint64_t round_up_mib(uint64_t n)
{
    if (n > UINT64_MAX - (MIB - 1))
        return UINT64_MAX & ~(MIB - 1);
    return (n + MIB - 1) & ~(MIB - 1);
}

uint64_t store_part_size_for(uint64_t expected_size, uint64_t part_size_floor)
{
    /* ceil(expected / 10,000) without overflow. */
    uint64_t needed = expected_size / STORE_S3_MAX_PARTS + (expected_size % STORE_S3_MAX_PARTS != 0);
    uint64_t size = round_up_mib(needed);
    uint64_t floor = round_up_mib(part_size_floor);

    if (size < floor)
        size = floor;
    if (size < STORE_S3_MIN_PART_SIZE)
        size = STORE_S3_MIN_PART_SIZE;
    if (size > STORE_S3_MAX_PART_SIZE)
        size = STORE_S3_MAX_PART_SIZE;
    return size;
}
