/* The zstd block codec (see codec.h). */
#include "io/codec.h"

#include <stdlib.h>
#include <zstd.h>
#include <zstd_errors.h>

struct io_codec {
    ZSTD_CCtx *cctx;
    ZSTD_DCtx *dctx;
    int level;
};

int io_codec_min_level(void)
{
    return ZSTD_minCLevel();
}

struct io_codec *io_codec_new(int level, struct ibs_err *err)
{
    struct io_codec *codec = NULL;

    if (level < ZSTD_minCLevel() || level > IO_CODEC_MAX_LEVEL) {
        ibs_err_set(err, IBS_E_USAGE,
                    "zstd: compression level %d is out of range; use %d (fastest) to %d", level,
                    ZSTD_minCLevel(), IO_CODEC_MAX_LEVEL);
        return NULL;
    }
    codec = calloc(1, sizeof(*codec));
    if (codec == NULL)
        goto oom;
    codec->level = level;
    codec->cctx = ZSTD_createCCtx();
    codec->dctx = ZSTD_createDCtx();
    if (codec->cctx == NULL || codec->dctx == NULL)
        goto oom;
    /* The frame header must carry the raw size so decompression can check it;
     * integrity of the content is XXH3's job, so zstd's checksum is off. */
    if (ZSTD_isError(ZSTD_CCtx_setParameter(codec->cctx, ZSTD_c_compressionLevel, level)) ||
        ZSTD_isError(ZSTD_CCtx_setParameter(codec->cctx, ZSTD_c_contentSizeFlag, 1)) ||
        ZSTD_isError(ZSTD_CCtx_setParameter(codec->cctx, ZSTD_c_checksumFlag, 0))) {
        ibs_err_set(err, IBS_E_INTERNAL, "zstd: cannot set compression level %d", level);
        io_codec_free(codec);
        return NULL;
    }
    /* Level 1 with a hash table of 2^15 entries instead of 2^14: InnoDB pages
     * compressed as independent 1 MiB frames lose the history a stream
     * compressor keeps, and the larger table wins it back. On 128 MiB of a
     * sysbench table: 58.59 MB against 58.67 MB (zstd -1 on the whole
     * stream: 58.64 MB), for about 10% more compression CPU. */
    if (level == 1 && ZSTD_isError(ZSTD_CCtx_setParameter(codec->cctx, ZSTD_c_hashLog, 15))) {
        ibs_err_set(err, IBS_E_INTERNAL, "zstd: cannot set the hash table size");
        io_codec_free(codec);
        return NULL;
    }
    return codec;
oom:
    io_codec_free(codec);
    ibs_err_set(err, IBS_E_INTERNAL, "zstd: out of memory for a codec context");
    return NULL;
}

int io_codec_level(const struct io_codec *codec)
{
    return codec->level;
}

size_t io_codec_bound(size_t src_len)
{
    return ZSTD_compressBound(src_len);
}

int io_codec_compress(struct io_codec *codec, const void *src, size_t src_len, void *dst,
                      size_t dst_cap, size_t *out_len, struct ibs_err *err)
{
    size_t rc = ZSTD_compress2(codec->cctx, dst, dst_cap, src, src_len);

    if (ZSTD_isError(rc)) {
        /* A failed call can leave the context mid-frame; start clean next time. */
        ZSTD_CCtx_reset(codec->cctx, ZSTD_reset_session_only);
        if (ZSTD_getErrorCode(rc) == ZSTD_error_dstSize_tooSmall)
            return ibs_err_set(err, IBS_E_USAGE,
                               "zstd: compressing %zu bytes: output buffer of %zu bytes is too "
                               "small; size it with io_codec_bound (%zu)",
                               src_len, dst_cap, io_codec_bound(src_len));
        return ibs_err_set(err, IBS_E_INTERNAL, "zstd: compressing %zu bytes: %s", src_len,
                           ZSTD_getErrorName(rc));
    }
    *out_len = rc;
    return 0;
}

int io_codec_decompress(struct io_codec *codec, const void *src, size_t src_len, void *dst,
                        size_t expected_len, struct ibs_err *err)
{
    unsigned long long content = ZSTD_getFrameContentSize(src, src_len);
    size_t rc;

    if (content == ZSTD_CONTENTSIZE_ERROR)
        return ibs_err_set(err, IBS_E_INTEGRITY,
                           "zstd: frame of %zu bytes is corrupt: no valid frame header", src_len);
    if (content != ZSTD_CONTENTSIZE_UNKNOWN && content != expected_len)
        return ibs_err_set(err, IBS_E_INTEGRITY,
                           "zstd: frame holds %llu bytes but %zu were expected", content,
                           expected_len);
    rc = ZSTD_decompressDCtx(codec->dctx, dst, expected_len, src, src_len);
    if (ZSTD_isError(rc)) {
        ZSTD_DCtx_reset(codec->dctx, ZSTD_reset_session_only);
        return ibs_err_set(err, IBS_E_INTEGRITY,
                           "zstd: frame of %zu bytes (expected %zu raw bytes) is corrupt: %s",
                           src_len, expected_len, ZSTD_getErrorName(rc));
    }
    if (rc != expected_len)
        return ibs_err_set(err, IBS_E_INTEGRITY,
                           "zstd: frame decompressed to %zu bytes but %zu were expected", rc,
                           expected_len);
    return 0;
}

void io_codec_free(struct io_codec *codec)
{
    if (codec == NULL)
        return;
    ZSTD_freeCCtx(codec->cctx);
    ZSTD_freeDCtx(codec->dctx);
    free(codec);
}
