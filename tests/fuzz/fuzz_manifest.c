/* Fuzz target: a manifest as list, verify and restore read it from the
 * repository: eng_manifest_parse() on any bytes. A manifest that parses is
 * serialised, parsed again and serialised again: both JSON texts must match. */
#include <stdint.h>
#include <string.h>

#include "engine/manifest.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct eng_manifest m, again;
    struct ibs_err err;
    char *json = NULL, *json2 = NULL;
    size_t len = 0, len2 = 0;

    /* An exact-size copy without a terminator: the parser takes a length. */
    char *text = malloc(size ? size : 1);
    FUZZ_CHECK(text);
    memcpy(text, data, size);
    eng_manifest_init(&m);
    int rc = eng_manifest_parse(text, size, &m, &err);
    if (rc) {
        FUZZ_CHECK(rc == IBS_E_INTEGRITY && (int)err.code == rc && err.msg[0]);
        eng_manifest_free(&m);
        free(text);
        return 0;
    }
    FUZZ_CHECK(eng_manifest_to_json(&m, &json, &len, &err) == 0);
    FUZZ_CHECK(json && strlen(json) == len);
    eng_manifest_init(&again);
    if (eng_manifest_parse(json, len, &again, &err)) {
        fprintf(stderr, "serialised manifest does not parse again: %s\n", err.msg);
        abort();
    }
    FUZZ_CHECK(eng_manifest_to_json(&again, &json2, &len2, &err) == 0);
    FUZZ_CHECK(len == len2 && memcmp(json, json2, len) == 0);
    free(json2);
    free(json);
    eng_manifest_free(&again);
    eng_manifest_free(&m);
    free(text);
    return 0;
}
