/* Writes the generated part of the committed seed corpora (run by hand after
 * a format change: build-fz/make_seeds tests/fixtures/redo tests/fuzz/corpus):
 *   corpus/redo/   windows of real mini-transactions: the live log tail, and
 *                  from the apply fixture one window per record type/subtype
 *                  first seen, each as scanned (mode 0) and re-framed (mode 1)
 *   corpus/frame/  frames encoded by eng_frame_encode(): zstd and stored, each
 *                  kind, empty, plus header-only and truncated variants */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zstd.h>

#include "engine/frame.h"
#include "io/codec.h"
#include "redo/log.h"
#include "redo/mtr.h"

static const char *out_dir;

static void write_seed(const char *kind, const char *name, uint8_t mode, const void *data,
                       size_t len)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s/%s", out_dir, kind, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(&mode, 1, 1, f) != 1 || (len && fwrite(data, 1, len, f) != len) || fclose(f)) {
        perror(path);
        exit(1);
    }
}

static uint8_t *read_file(const char *dir, const char *name, size_t *len)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        exit(1);
    }
    fseek(f, 0, SEEK_END);
    *len = (size_t)ftell(f);
    rewind(f);
    uint8_t *b = malloc(*len);
    if (!b || fread(b, 1, *len, f) != *len)
        exit(1);
    fclose(f);
    return b;
}

static void redo_seeds(const char *fixtures)
{
    size_t len, clen;
    struct redo_mtr m;
    /* The live tail starts at LSN 27503243 of a 4 MiB log: the fuzz target's geometry. */
    uint8_t *tail = read_file(fixtures, "live_tail.bin", &len);
    struct redo_log_geom g = {.first_lsn = 12288, .capacity = 4194304 - 12288,
                              .format = REDO_FORMAT_10_8};
    static const unsigned counts[] = {1, 2, 5, 20, 1000};
    for (unsigned c = 0; c < sizeof(counts) / sizeof(counts[0]); c++) {
        size_t p = 0;
        uint64_t lsn = 27503243;
        for (unsigned i = 0; i < counts[c]; i++) {
            if (redo_mtr_scan(&g, tail + p, len - p, lsn, &m) != REDO_MTR_OK)
                break;
            p += m.len;
            lsn += m.len;
        }
        char name[64];
        snprintf(name, sizeof(name), "live-%u", counts[c]);
        write_seed("redo", name, 0, tail, p);
        snprintf(name, sizeof(name), "live-%u-reframe", counts[c]);
        write_seed("redo", name, 1, tail, p);
    }
    free(tail);

    /* The apply fixture: a backup's ib_logfile0 (end bytes 1, valid on even laps). */
    uint8_t *z = read_file(fixtures, "apply_log.bin.zst", &clen);
    unsigned long long n = ZSTD_getFrameContentSize(z, clen);
    uint8_t *log = malloc(n);
    if (ZSTD_decompress(log, n, z, clen) != n)
        exit(1);
    struct redo_log_header hdr;
    struct redo_checkpoint ck;
    struct ibs_err err;
    if (redo_log_header_parse(log, n, &hdr, &err) ||
        redo_log_find_checkpoint(log, n, hdr.first_lsn, &ck, &err) ||
        redo_log_geom_init(&g, &hdr, n, &err)) {
        fprintf(stderr, "apply fixture: %s\n", err.msg);
        exit(1);
    }
    bool seen[256] = {false};
    uint64_t lsn = ck.checkpoint_lsn;
    size_t pos = redo_log_offset(&g, lsn);
    unsigned written = 0;
    while (redo_mtr_scan(&g, log + pos, n - pos, lsn, &m) == REDO_MTR_OK) {
        struct redo_rec_iter it;
        struct redo_rec r;
        bool fresh = false;
        if (redo_rec_iter_init(&it, &m, log + pos, g.format, 16384, &err))
            exit(1);
        while (redo_rec_iter_more(&it) && !redo_rec_next(&it, &r, &err)) {
            unsigned key = r.type == REDO_EXTENDED ? 0x100 - 16 + r.subtype
                           : r.type == REDO_OPTION ? 0x70 + (r.subtype & 0xf)
                                                   : (unsigned)r.type | r.same_page;
            if (!seen[key & 0xff])
                fresh = seen[key & 0xff] = true;
        }
        if (fresh) {
            /* This mtr and the next two. */
            size_t end = pos + m.len;
            uint64_t l2 = lsn + m.len;
            struct redo_mtr m2;
            for (int k = 0; k < 2 && redo_mtr_scan(&g, log + end, n - end, l2, &m2) == REDO_MTR_OK;
                 k++) {
                end += m2.len;
                l2 += m2.len;
            }
            char name[64];
            snprintf(name, sizeof(name), "backup-%02u", written);
            write_seed("redo", name, 0, log + pos, end - pos);
            snprintf(name, sizeof(name), "backup-%02u-reframe", written);
            write_seed("redo", name, 1, log + pos, end - pos);
            written++;
        }
        pos += m.len;
        lsn += m.len;
    }
    printf("redo: %u windows from the apply fixture\n", written);
    free(log);
    free(z);
}

static void frame_seed(struct io_codec *codec, const char *name, enum eng_frame_kind kind,
                       uint32_t page_size, const void *raw, size_t raw_len)
{
    struct eng_frame_header h = {.kind = kind, .file_id = 3, .offset = 16384,
                                 .page_size = page_size};
    struct ibs_err err;
    size_t cap = eng_frame_bound(raw_len), len;
    uint8_t *out = malloc(cap);
    if (eng_frame_encode(codec, &h, raw, raw_len, out, cap, &len, &err)) {
        fprintf(stderr, "%s: %s\n", name, err.msg);
        exit(1);
    }
    char n2[64];
    write_seed("frame", name, 0, out, len);
    snprintf(n2, sizeof(n2), "%s-crcfix", name);
    write_seed("frame", n2, 1, out, len);
    if (len > ENG_FRAME_HEADER_SIZE + 1) {
        snprintf(n2, sizeof(n2), "%s-truncated", name);
        write_seed("frame", n2, 0, out, len - 1);
    }
    free(out);
}

static void frame_seeds(const char *fixtures)
{
    struct ibs_err err;
    struct io_codec *codec = io_codec_new(3, &err);
    size_t len;
    uint8_t *tail = read_file(fixtures, "live_tail.bin", &len);
    uint8_t *zeros = calloc(1, 16384);
    uint8_t noise[4096];
    uint32_t x = 12345;
    for (size_t i = 0; i < sizeof(noise); i++) {
        x = x * 1103515245 + 12345;
        noise[i] = (uint8_t)(x >> 16);
    }
    /* Two incremental page entries: (u32 BE page number, 4 KiB page). */
    uint8_t pages[2 * (4 + 4096)];
    memset(pages, 0, sizeof(pages));
    pages[3] = 7;
    memcpy(pages + 4, noise, 4096);
    pages[4 + 4096 + 3] = 9;
    frame_seed(codec, "file-zeros-zstd", ENG_FRAME_FILE, 0, zeros, 16384);
    frame_seed(codec, "file-noise-stored", ENG_FRAME_FILE, 0, noise, sizeof(noise));
    frame_seed(codec, "redo-live-zstd", ENG_FRAME_REDO, 0, tail, 2048);
    frame_seed(codec, "pages-4k", ENG_FRAME_PAGES, 4096, pages, sizeof(pages));
    frame_seed(codec, "empty", ENG_FRAME_FILE, 0, zeros, 0);
    frame_seed(codec, "file-text-zstd", ENG_FRAME_FILE, 0, "ibstream ibstream ibstream!", 27);
    free(zeros);
    free(tail);
    io_codec_free(codec);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: make_seeds FIXTURES_REDO_DIR CORPUS_DIR\n");
        return 2;
    }
    out_dir = argv[2];
    redo_seeds(argv[1]);
    frame_seeds(argv[1]);
    return 0;
}
