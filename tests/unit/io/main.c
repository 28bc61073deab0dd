/* Runs every group of the io/ unit test. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "io_tests.h"

void io_test_random_bytes(uint64_t *state, void *buf, size_t len)
{
    unsigned char *p = buf;
    for (size_t i = 0; i < len; i++) {
        *state ^= *state >> 12;
        *state ^= *state << 25;
        *state ^= *state >> 27;
        p[i] = (unsigned char)((*state * 0x2545F4914F6CDD1DULL) >> 56);
    }
}

int main(void)
{
    int failed = 0;
    failed += io_test_hash();
    failed += io_test_codec();
    failed += io_test_bufpool();
    failed += io_test_queue();
    failed += io_test_ring();
    failed += io_test_throttle();
    return failed == 0 ? 0 : 1;
}
