/* Block codec: each block becomes one independent zstd frame, so any block of a
 * backup can be decompressed alone. A codec holds one compression and one
 * decompression context; it is used by one thread at a time (give each
 * compressor worker its own). */
#ifndef IBS_IO_CODEC_H
#define IBS_IO_CODEC_H

#include <stddef.h>

#include "common/err.h"

/* Highest accepted level; the lowest is zstd's fastest negative level
 * (io_codec_min_level()). Level 0 means zstd's default (3). */
#define IO_CODEC_MAX_LEVEL 19

struct io_codec;

/* The lowest level io_codec_new accepts (ZSTD_minCLevel(), e.g. -131072). */
int io_codec_min_level(void);

/* Creates a codec compressing at level. Returns NULL with err set:
 * IBS_E_USAGE when level is outside [io_codec_min_level(), IO_CODEC_MAX_LEVEL],
 * IBS_E_INTERNAL when memory runs out. Free with io_codec_free. */
struct io_codec *io_codec_new(int level, struct ibs_err *err);

/* The level the codec compresses at. */
int io_codec_level(const struct io_codec *codec);

/* Worst-case compressed size of src_len bytes: a dst of this capacity never
 * makes io_codec_compress fail for lack of room. */
size_t io_codec_bound(size_t src_len);

/* Compresses src_len bytes at src (NULL allowed when 0) into one zstd frame at
 * dst (capacity dst_cap, ideally io_codec_bound(src_len)) and stores its length
 * in *out_len. The frame records src_len, which io_codec_decompress checks.
 * Returns 0, or IBS_E_USAGE when dst_cap is too small, IBS_E_INTERNAL on any
 * other zstd failure. dst is the caller's; nothing is retained. */
int io_codec_compress(struct io_codec *codec, const void *src, size_t src_len, void *dst,
                      size_t dst_cap, size_t *out_len, struct ibs_err *err);

/* Decompresses the src_len bytes of one frame at src into dst, which must hold
 * exactly expected_len bytes. Returns 0 when the frame is intact and holds
 * exactly expected_len bytes; IBS_E_INTEGRITY when it is corrupt, truncated or of
 * another size (dst's content is then undefined). zstd's own frame checksum is
 * not used: callers verify the raw bytes with XXH3 (see hash.h). */
int io_codec_decompress(struct io_codec *codec, const void *src, size_t src_len, void *dst,
                        size_t expected_len, struct ibs_err *err);

/* Releases codec; NULL is a no-op. */
void io_codec_free(struct io_codec *codec);

#endif
