/* The groups of test_s3, one per source file. */
#ifndef IBS_TEST_S3_H
#define IBS_TEST_S3_H

#include <stddef.h>

struct CMUnitTest;
extern const struct CMUnitTest sigv4_tests[];
extern const size_t sigv4_tests_count;
extern const struct CMUnitTest s3_misc_tests[];
extern const size_t s3_misc_tests_count;

#endif
