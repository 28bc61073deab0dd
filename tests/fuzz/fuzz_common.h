/* Shared by the fuzz targets: a check that stays on in every build type (a
 * broken invariant is a crash libFuzzer records, like a sanitizer report). */
#ifndef IBS_FUZZ_COMMON_H
#define IBS_FUZZ_COMMON_H

#include <stdio.h>
#include <stdlib.h>

#define FUZZ_CHECK(cond)                                                                     \
    do {                                                                                     \
        if (!(cond)) {                                                                       \
            fprintf(stderr, "%s:%d: invariant broken: %s\n", __FILE__, __LINE__, #cond);     \
            abort();                                                                         \
        }                                                                                    \
    } while (0)

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

#endif
