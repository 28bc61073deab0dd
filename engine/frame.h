/* Frames: the unit ibstream stores. A frame is a 48-byte self-describing header
 * followed by its payload (usually one zstd frame). A pack object is frames
 * back to back, so a pack can be read without its manifest, and any frame can
 * be fetched with one ranged GET and restored on its own.
 *
 * Header (little-endian):
 *   0  u32 magic "IBSF"          24 u64 offset: byte offset in the file, or LSN for redo
 *   4  u8  format version (1)    32 u64 XXH3-64 of the raw (uncompressed) bytes
 *   5  u8  kind (enum eng_frame_kind)   40 u32 reserved, zero
 *   6  u8  codec (0 none, 1 zstd)       44 u32 CRC-32C of bytes 0..43
 *   7  u8  flags: ENG_FRAME_F_AES256GCM (engine/crypt.h), else zero
 *   8  u32 file id (index in the manifest's file list; 0 for redo)
 *  12  u32 raw length
 *  16  u32 stored length (payload bytes that follow the header)
 *  20  u32 page size for page frames, else 0 */
#ifndef IBS_ENGINE_FRAME_H
#define IBS_ENGINE_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

#define ENG_FRAME_HEADER_SIZE 48
#define ENG_FRAME_MAGIC 0x46534249u /* "IBSF" read as little-endian u32 */
#define ENG_FRAME_VERSION 1
/* Largest raw payload of one frame; bounds every buffer that holds one. */
#define ENG_FRAME_MAX_RAW (16u << 20)
/* Most pages one page frame holds (a 16 MiB chunk of 1 KiB compressed pages). */
#define ENG_FRAME_PAGES_MAX 16384u

enum eng_frame_kind {
    ENG_FRAME_FILE = 1,  /* contiguous bytes of a data file at `offset` */
    ENG_FRAME_REDO = 2,  /* contiguous mini-transactions starting at LSN `offset` */
    ENG_FRAME_PAGES = 3, /* changed pages of an incremental: (u32 BE page index in the
                          * file, page bytes) pairs; page_size says how long a page is */
};

enum eng_frame_codec { ENG_CODEC_NONE = 0, ENG_CODEC_ZSTD = 1 };

/* The payload is encrypted (engine/crypt.h): nonce, ciphertext of (XXH3, codec
 * output), tag; the header's XXH3 field is zero. */
#define ENG_FRAME_F_AES256GCM 0x01u
/* Bytes encryption adds to a payload: nonce, hidden XXH3, tag. */
#define ENG_FRAME_CRYPT_OVERHEAD (12u + 8u + 16u)

struct eng_frame_header {
    enum eng_frame_kind kind;
    enum eng_frame_codec codec;
    uint8_t flags; /* ENG_FRAME_F_* */
    uint32_t file_id;
    uint32_t raw_len;
    uint32_t stored_len;
    uint32_t page_size;
    uint64_t offset;
    uint64_t xxh3;
};

/* Serialises h into out (48 bytes) with its CRC. */
void eng_frame_header_write(const struct eng_frame_header *h, uint8_t out[ENG_FRAME_HEADER_SIZE]);

/* Parses and checks a header: magic, version, CRC, known kind and codec,
 * lengths within ENG_FRAME_MAX_RAW (stored_len may exceed raw_len slightly for
 * incompressible data, up to the codec's bound). IBS_E_INTEGRITY otherwise,
 * with the reason. */
int eng_frame_header_read(const uint8_t *in, size_t len, struct eng_frame_header *h,
                          struct ibs_err *err);



struct io_codec;

/* Bytes an encoded frame of raw_len bytes may need, encrypted or not. */
size_t eng_frame_bound(size_t raw_len);

/* Builds a frame from raw bytes: XXH3 of raw, zstd compression with codec (the
 * raw bytes are stored instead when compression does not make them smaller;
 * codec NULL stores raw), header from h's kind, file_id, offset and page_size.
 * out must hold eng_frame_bound(raw_len) bytes; *out_len is the frame's size.
 * h is completed with the lengths, codec and hash. */
int eng_frame_encode(struct io_codec *codec, struct eng_frame_header *h, const void *raw,
                     size_t raw_len, uint8_t *out, size_t out_cap, size_t *out_len,
                     struct ibs_err *err);

/* Checks and decodes a whole frame (header and payload, len bytes) into raw
 * (raw_cap >= the header's raw_len), verifying the XXH3 of the result.
 * IBS_E_INTEGRITY on any mismatch, naming what differed. */
int eng_frame_decode(struct io_codec *codec, const uint8_t *frame, size_t len,
                     struct eng_frame_header *h, void *raw, size_t raw_cap, struct ibs_err *err);

/* Decodes a plaintext payload of h->stored_len bytes that h describes into raw
 * and checks h->xxh3 (eng_frame_decode's second half; engine/crypt_frame.c). */
int eng_frame_decode_payload(struct io_codec *codec, const struct eng_frame_header *h,
                             const uint8_t *payload, void *raw, size_t raw_cap,
                             struct ibs_err *err);
#endif
