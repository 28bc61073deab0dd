/* Shared helpers of the redo unit tests. */
#ifndef IBS_TEST_REDO_H
#define IBS_TEST_REDO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "redo/log.h"
#include "redo/mtr.h"

/* Reads tests/fixtures/redo/<name> (IBS_TEST_FIXTURES) into a malloc'd buffer;
 * aborts the test program if it cannot. */
uint8_t *fixture_read(const char *name, size_t *len);
/* Value of `key` in tests/fixtures/redo/live.txt. */
uint64_t fixture_live(const char *key);
/* Appends end byte 1 and the CRC-32C to n record bytes at buf; returns the mtr length. */
size_t mtr_finish(uint8_t *buf, size_t n);
/* Builds one record: type | length (long form when needed), the page id unless
 * same, the payload. Returns its length. */
size_t put_rec(uint8_t *out, uint8_t type, bool same, uint32_t space, uint32_t page,
               const uint8_t *payload, size_t plen);
/* A geometry whose lap 0 covers every LSN used by the hand-built tests. */
struct redo_log_geom geom_lap0(void);

int run_log_tests(void);
int run_mtr_tests(void);
int run_apply_tests(void);

#endif
