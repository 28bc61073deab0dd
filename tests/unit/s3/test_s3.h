/* The groups of test_s3, one per source file. */
#ifndef IBS_TEST_S3_H
#define IBS_TEST_S3_H

#include <stddef.h>

struct CMUnitTest;
extern const struct CMUnitTest sigv4_tests[];
extern const size_t sigv4_tests_count;

extern const struct CMUnitTest s3_config_tests[];
extern const size_t s3_config_tests_count;
int s3_config_setup(void **state);
int s3_config_teardown(void **state);
extern const struct CMUnitTest s3_http_tests[];
extern const size_t s3_http_tests_count;

#endif
