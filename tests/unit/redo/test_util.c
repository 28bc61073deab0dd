/* Fixture loading and mtr building for the redo unit tests. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "redo_test.h"

uint8_t *fixture_read(const char *name, size_t *len)
{
    const char *dir = getenv("IBS_TEST_FIXTURES");
    char path[4096];
    snprintf(path, sizeof(path), "%s/redo/%s", dir ? dir : "tests/fixtures", name);
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "cannot open fixture %s\n", path);
        abort();
    }
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *buf = malloc(size ? (size_t)size : 1);
    if (!buf || fread(buf, 1, (size_t)size, f) != (size_t)size)
        abort();
    fclose(f);
    *len = (size_t)size;
    return buf;
}

uint64_t fixture_live(const char *key)
{
    size_t len;
    char *text = (char *)fixture_read("live.txt", &len);
    char *copy = malloc(len + 1);
    memcpy(copy, text, len);
    copy[len] = 0;
    free(text);
    size_t klen = strlen(key);
    for (char *line = strtok(copy, "\n"); line; line = strtok(NULL, "\n"))
        if (!strncmp(line, key, klen) && line[klen] == ' ') {
            uint64_t v = strtoull(line + klen + 1, NULL, 10);
            free(copy);
            return v;
        }
    fprintf(stderr, "live.txt has no %s\n", key);
    abort();
}

size_t mtr_finish(uint8_t *buf, size_t n)
{
    buf[n] = 1;
    redo_mach_write_4(buf + n + 1, redo_crc32c(0, buf, n));
    return n + 5;
}

struct redo_log_geom geom_lap0(void)
{
    struct redo_log_geom g = {
        .first_lsn = 12288, .capacity = 1ull << 40, .format = REDO_FORMAT_10_8};
    return g;
}

/* Builds one record: first byte type|len (long form when needed), page id
 * unless same, payload. Returns its length. */
size_t put_rec(uint8_t *out, uint8_t type, bool same, uint32_t space, uint32_t page,
               const uint8_t *payload, size_t plen)
{
    uint8_t body[256];
    size_t n = 0;
    if (!same) {
        n += redo_varint_encode(body + n, space);
        n += redo_varint_encode(body + n, page);
    }
    if (plen)
        memcpy(body + n, payload, plen);
    n += plen;
    size_t o = 0;
    if (n <= 15) {
        out[o++] = (uint8_t)(type | (same ? 0x80 : 0) | n);
    } else {
        out[o++] = (uint8_t)(type | (same ? 0x80 : 0));
        /* total = 1 + ll + n = 16 + v, so v = n + ll - 15 */
        uint8_t tmp[5];
        size_t ll = redo_varint_encode(tmp, (uint32_t)(n - 15 + 1));
        if (ll != 1)
            ll = redo_varint_encode(tmp, (uint32_t)(n - 15 + ll));
        memcpy(out + o, tmp, ll);
        o += ll;
    }
    memcpy(out + o, body, n);
    return o + n;
}
