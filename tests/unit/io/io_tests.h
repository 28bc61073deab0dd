/* The groups of the io/ unit test; main.c runs them all. Each returns the
 * number of failed tests. */
#ifndef IBS_TESTS_IO_TESTS_H
#define IBS_TESTS_IO_TESTS_H

#include <stddef.h>
#include <stdint.h>

int io_test_hash(void);
int io_test_codec(void);
int io_test_bufpool(void);
int io_test_queue(void);
int io_test_ring(void);
int io_test_throttle(void);

/* Fills buf with len pseudo-random bytes from *state (xorshift64*, repeatable). */
void io_test_random_bytes(uint64_t *state, void *buf, size_t len);

#endif
