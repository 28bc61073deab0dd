/* Fuzz target: a stored frame as restore and verify read it from a pack:
 * eng_frame_header_read() then eng_frame_decode() with a zstd codec. A frame
 * that decodes is encoded again and must decode to the same bytes.
 *
 * Input: one mode byte, then the frame bytes.
 *   bit 0  write the header's CRC-32C before decoding, so mutated headers get
 *          past the header check and reach the length checks, zstd and XXH3
 * Encrypted frames (engine/crypt_frame.c) are not decrypted here: without a
 * key eng_frame_decode() refuses them. */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "engine/frame.h"
#include "fuzz_common.h"
#include "io/codec.h"
#include "io/hash.h"

/* Raw buffers are sized to the header's raw_len up to this; larger frames are
 * given this much and must be refused for it. */
#define RAW_CAP_MAX (1u << 20)

static struct io_codec *codec;

static void put_u32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ibs_err err;
    if (!codec) {
        codec = io_codec_new(1, &err);
        FUZZ_CHECK(codec);
    }
    if (size < 1)
        return 0;
    const uint8_t mode = data[0];
    size_t len = size - 1;
    uint8_t *frame = malloc(len ? len : 1);
    FUZZ_CHECK(frame);
    memcpy(frame, data + 1, len);
    if ((mode & 1) && len >= ENG_FRAME_HEADER_SIZE)
        put_u32(frame + 44, io_crc32c(0, frame, 44));

    struct eng_frame_header h;
    int rc = eng_frame_header_read(frame, len, &h, &err);
    if (rc) {
        FUZZ_CHECK(rc == IBS_E_INTEGRITY && (int)err.code == rc && err.msg[0]);
        free(frame);
        return 0;
    }
    FUZZ_CHECK(h.raw_len <= ENG_FRAME_MAX_RAW);
    size_t cap = h.raw_len > RAW_CAP_MAX ? RAW_CAP_MAX : h.raw_len;
    uint8_t *raw = malloc(cap ? cap : 1);
    FUZZ_CHECK(raw);
    struct eng_frame_header d;
    rc = eng_frame_decode(codec, frame, len, &d, raw, cap, &err);
    if (rc) {
        FUZZ_CHECK((int)err.code == rc && err.msg[0]);
        /* An encrypted frame (flag AES256GCM) read without a key is a usage
         * error: the key file is missing (engine/crypt.h). */
        FUZZ_CHECK(rc == IBS_E_INTEGRITY || (rc == IBS_E_INTERNAL && h.raw_len > cap) ||
                   (rc == IBS_E_USAGE && (h.flags & ENG_FRAME_F_AES256GCM)));
    } else {
        FUZZ_CHECK(h.raw_len <= cap);
        FUZZ_CHECK((size_t)ENG_FRAME_HEADER_SIZE + d.stored_len <= len);
        FUZZ_CHECK(io_xxh3_64(raw, d.raw_len) == d.xxh3);
        /* Round trip: what decoded encodes to a frame that decodes the same. */
        struct eng_frame_header e = {.kind = d.kind, .file_id = d.file_id,
                                     .offset = d.offset, .page_size = d.page_size};
        size_t bound = eng_frame_bound(d.raw_len), out_len;
        uint8_t *out = malloc(bound);
        uint8_t *again = malloc(d.raw_len ? d.raw_len : 1);
        FUZZ_CHECK(out && again);
        FUZZ_CHECK(eng_frame_encode(codec, &e, raw, d.raw_len, out, bound, &out_len, &err) == 0);
        struct eng_frame_header f;
        FUZZ_CHECK(eng_frame_decode(codec, out, out_len, &f, again, d.raw_len, &err) == 0);
        FUZZ_CHECK(f.raw_len == d.raw_len && f.xxh3 == d.xxh3 && f.kind == d.kind);
        FUZZ_CHECK(memcmp(raw, again, d.raw_len) == 0);
        free(again);
        free(out);
    }
    free(raw);
    free(frame);
    return 0;
}
