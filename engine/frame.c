/* Frame header encoding and validation (see frame.h). */
#include "engine/frame.h"

#include <string.h>

#include "io/codec.h"
#include "io/hash.h"

static void put_u32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get_u64(const uint8_t *p)
{
    return (uint64_t)get_u32(p) | (uint64_t)get_u32(p + 4) << 32;
}

void eng_frame_header_write(const struct eng_frame_header *h, uint8_t out[ENG_FRAME_HEADER_SIZE])
{
    memset(out, 0, ENG_FRAME_HEADER_SIZE);
    put_u32(out, ENG_FRAME_MAGIC);
    out[4] = ENG_FRAME_VERSION;
    out[5] = (uint8_t)h->kind;
    out[6] = (uint8_t)h->codec;
    out[7] = h->flags;
    put_u32(out + 8, h->file_id);
    put_u32(out + 12, h->raw_len);
    put_u32(out + 16, h->stored_len);
    put_u32(out + 20, h->page_size);
    put_u64(out + 24, h->offset);
    put_u64(out + 32, h->xxh3);
    put_u32(out + 44, io_crc32c(0, out, 44));
}

int eng_frame_header_read(const uint8_t *in, size_t len, struct eng_frame_header *h,
                          struct ibs_err *err)
{
    if (len < ENG_FRAME_HEADER_SIZE)
        return ibs_err_set(err, IBS_E_INTEGRITY, "frame header truncated: %zu of %d bytes", len,
                           ENG_FRAME_HEADER_SIZE);
    if (get_u32(in) != ENG_FRAME_MAGIC)
        return ibs_err_set(err, IBS_E_INTEGRITY, "not a frame: bad magic 0x%08x", get_u32(in));
    uint32_t stored_crc = get_u32(in + 44);
    uint32_t crc = io_crc32c(0, in, 44);
    if (crc != stored_crc)
        return ibs_err_set(err, IBS_E_INTEGRITY,
                           "frame header checksum mismatch (stored 0x%08x, computed 0x%08x)",
                           stored_crc, crc);
    if (in[4] != ENG_FRAME_VERSION)
        return ibs_err_set(err, IBS_E_INTEGRITY,
                           "frame format version %u is not supported (this ibstream reads %d)",
                           in[4], ENG_FRAME_VERSION);
    h->kind = (enum eng_frame_kind)in[5];
    h->codec = (enum eng_frame_codec)in[6];
    h->flags = in[7];
    h->file_id = get_u32(in + 8);
    h->raw_len = get_u32(in + 12);
    h->stored_len = get_u32(in + 16);
    h->page_size = get_u32(in + 20);
    h->offset = get_u64(in + 24);
    h->xxh3 = get_u64(in + 32);
    if (h->kind != ENG_FRAME_FILE && h->kind != ENG_FRAME_REDO && h->kind != ENG_FRAME_PAGES)
        return ibs_err_set(err, IBS_E_INTEGRITY, "unknown frame kind %u", in[5]);
    if (h->codec != ENG_CODEC_NONE && h->codec != ENG_CODEC_ZSTD)
        return ibs_err_set(err, IBS_E_INTEGRITY, "unknown frame codec %u", in[6]);
    if (h->flags & ~ENG_FRAME_F_AES256GCM)
        return ibs_err_set(err, IBS_E_INTEGRITY, "unknown frame flags 0x%02x", in[7]);
    uint32_t extra = h->flags ? ENG_FRAME_CRYPT_OVERHEAD : 0;
    if (h->raw_len > ENG_FRAME_MAX_RAW ||
        h->stored_len > io_codec_bound(ENG_FRAME_MAX_RAW) + extra || h->stored_len < extra)
        return ibs_err_set(err, IBS_E_INTEGRITY, "frame lengths out of range (raw %u, stored %u)",
                           h->raw_len, h->stored_len);
    if (h->codec == ENG_CODEC_NONE && h->stored_len - extra != h->raw_len)
        return ibs_err_set(err, IBS_E_INTEGRITY,
                           "uncompressed frame with stored length %u != raw length %u",
                           h->stored_len, h->raw_len);
    return 0;
}

size_t eng_frame_bound(size_t raw_len)
{
    return ENG_FRAME_HEADER_SIZE + io_codec_bound(raw_len) + ENG_FRAME_CRYPT_OVERHEAD;
}

int eng_frame_encode(struct io_codec *codec, struct eng_frame_header *h, const void *raw,
                     size_t raw_len, uint8_t *out, size_t out_cap, size_t *out_len,
                     struct ibs_err *err)
{
    size_t stored = 0;
    int rc;

    if (raw_len > ENG_FRAME_MAX_RAW)
        return ibs_err_set(err, IBS_E_INTERNAL, "frame of %zu bytes exceeds the %u-byte limit",
                           raw_len, ENG_FRAME_MAX_RAW);
    if (out_cap < ENG_FRAME_HEADER_SIZE + io_codec_bound(raw_len))
        return ibs_err_set(err, IBS_E_INTERNAL, "frame buffer of %zu bytes is too small",
                           out_cap);
    h->raw_len = (uint32_t)raw_len;
    h->xxh3 = io_xxh3_64(raw, raw_len);
    h->codec = ENG_CODEC_NONE;
    h->flags = 0;
    if (codec && raw_len > 0) {
        rc = io_codec_compress(codec, raw, raw_len, out + ENG_FRAME_HEADER_SIZE,
                               out_cap - ENG_FRAME_HEADER_SIZE, &stored, err);
        if (rc)
            return rc;
        if (stored < raw_len)
            h->codec = ENG_CODEC_ZSTD;
    }
    if (h->codec == ENG_CODEC_NONE) {
        memcpy(out + ENG_FRAME_HEADER_SIZE, raw, raw_len);
        stored = raw_len;
    }
    h->stored_len = (uint32_t)stored;
    eng_frame_header_write(h, out);
    *out_len = ENG_FRAME_HEADER_SIZE + stored;
    return 0;
}

int eng_frame_decode(struct io_codec *codec, const uint8_t *frame, size_t len,
                     struct eng_frame_header *h, void *raw, size_t raw_cap, struct ibs_err *err)
{
    int rc = eng_frame_header_read(frame, len, h, err);
    if (rc)
        return rc;
    if (len - ENG_FRAME_HEADER_SIZE < h->stored_len)
        return ibs_err_set(err, IBS_E_INTEGRITY, "frame payload truncated: %zu of %u bytes",
                           len - ENG_FRAME_HEADER_SIZE, h->stored_len);
    if (h->flags & ENG_FRAME_F_AES256GCM)
        return ibs_err_set(err, IBS_E_USAGE,
                           "this repository is encrypted: give --encryption-key-file");
    return eng_frame_decode_payload(codec, h, frame + ENG_FRAME_HEADER_SIZE, raw, raw_cap, err);
}

int eng_frame_decode_payload(struct io_codec *codec, const struct eng_frame_header *h,
                             const uint8_t *payload, void *raw, size_t raw_cap,
                             struct ibs_err *err)
{
    int rc;
    if (raw_cap < h->raw_len)
        return ibs_err_set(err, IBS_E_INTERNAL, "frame of %u raw bytes exceeds the buffer",
                           h->raw_len);
    if (h->codec == ENG_CODEC_ZSTD) {
        if (!codec)
            return ibs_err_set(err, IBS_E_INTERNAL, "no codec to decompress a zstd frame");
        rc = io_codec_decompress(codec, payload, h->stored_len, raw, h->raw_len, err);
        if (rc)
            return ibs_err_wrap(err, "frame payload");
    } else {
        memcpy(raw, payload, h->raw_len);
    }
    uint64_t actual = io_xxh3_64(raw, h->raw_len);
    if (actual != h->xxh3)
        return ibs_err_set(err, IBS_E_INTEGRITY,
                           "frame content hash mismatch (stored xxh3 %016llx, computed %016llx)",
                           (unsigned long long)h->xxh3, (unsigned long long)actual);
    return 0;
}
