/* Encrypted frames (see crypt.h for the layout and why nonces are random). */
#include "engine/crypt.h"

#include <string.h>

#include "engine/repo.h"

static void put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_u64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

#define HIDDEN_HASH 8
#define SHIFT (ENG_CRYPT_NONCE_LEN + HIDDEN_HASH)

int eng_crypt_frame_encode(struct io_codec *codec, const struct eng_crypt_key *key,
                           struct eng_frame_header *h, const void *raw, size_t raw_len,
                           uint8_t *out, size_t out_cap, size_t *out_len, struct ibs_err *err)
{
    if (!key)
        return eng_frame_encode(codec, h, raw, raw_len, out, out_cap, out_len, err);
    if (out_cap < eng_frame_bound(raw_len))
        return ibs_err_set(err, IBS_E_INTERNAL, "frame buffer of %zu bytes is too small",
                           out_cap);
    /* Encode SHIFT bytes further on, so the codec's output lands where the
     * encrypted layout wants it: header | nonce | hash | payload | tag. */
    size_t plain_len;
    int rc = eng_frame_encode(codec, h, raw, raw_len, out + SHIFT, out_cap - SHIFT, &plain_len,
                              err);
    if (rc)
        return rc;
    size_t payload = plain_len - ENG_FRAME_HEADER_SIZE;
    uint8_t *nonce = out + ENG_FRAME_HEADER_SIZE;
    uint8_t *body = nonce + ENG_CRYPT_NONCE_LEN;
    uint8_t *tag = body + HIDDEN_HASH + payload;
    uint64_t xxh3 = h->xxh3;
    if ((rc = eng_crypt_nonce(nonce, err)) != 0)
        return rc;
    put_u64(body, xxh3);
    h->flags = ENG_FRAME_F_AES256GCM;
    h->stored_len = (uint32_t)(payload + ENG_FRAME_CRYPT_OVERHEAD);
    h->xxh3 = 0; /* a hash of the plaintext would let a reader confirm a guess */
    eng_frame_header_write(h, out);
    rc = eng_crypt_seal(key, nonce, out, ENG_FRAME_HEADER_SIZE, body, HIDDEN_HASH + payload, tag,
                        err);
    h->xxh3 = xxh3;
    if (rc)
        return rc;
    *out_len = ENG_FRAME_HEADER_SIZE + h->stored_len;
    return 0;
}

int eng_crypt_frame_open(struct io_codec *codec, const struct eng_crypt_key *key,
                         uint8_t *frame, size_t len, struct eng_frame_header *h, void *raw,
                         size_t raw_cap, struct ibs_err *err)
{
    if (!key)
        return eng_frame_decode(codec, frame, len, h, raw, raw_cap, err);
    int rc = eng_frame_header_read(frame, len, h, err);
    if (rc)
        return rc;
    if (!(h->flags & ENG_FRAME_F_AES256GCM))
        return ibs_err_set(err, IBS_E_INTEGRITY,
                           "frame is not encrypted in an encrypted repository: tampered data");
    if (len - ENG_FRAME_HEADER_SIZE < h->stored_len)
        return ibs_err_set(err, IBS_E_INTEGRITY, "frame payload truncated: %zu of %u bytes",
                           len - ENG_FRAME_HEADER_SIZE, h->stored_len);
    uint8_t *nonce = frame + ENG_FRAME_HEADER_SIZE;
    uint8_t *body = nonce + ENG_CRYPT_NONCE_LEN;
    size_t body_len = h->stored_len - ENG_CRYPT_NONCE_LEN - ENG_CRYPT_TAG_LEN;
    rc = eng_crypt_open(key, nonce, frame, ENG_FRAME_HEADER_SIZE, body, body_len,
                        body + body_len, err);
    if (rc)
        return ibs_err_set(err, IBS_E_INTEGRITY,
                           "frame failed authentication: wrong key or tampered data");
    struct eng_frame_header plain = *h;
    plain.xxh3 = get_u64(body);
    plain.stored_len = (uint32_t)(body_len - HIDDEN_HASH);
    rc = eng_frame_decode_payload(codec, &plain, body + HIDDEN_HASH, raw, raw_cap, err);
    h->xxh3 = plain.xxh3;
    return rc;
}

int eng_crypt_frame_decode(struct io_codec *codec, const char *object_key, uint8_t *frame,
                           size_t len, struct eng_frame_header *h, void *raw, size_t raw_cap,
                           struct ibs_err *err)
{
    if (!eng_crypt_repo_active())
        return eng_frame_decode(codec, frame, len, h, raw, raw_cap, err);
    /* The object's key names its backup: backups/<id>/data.NNNN. */
    const char *id = object_key + strlen(ENG_BACKUPS_DIR "/");
    const char *slash = strchr(id, '/');
    char backup[128];
    if (strncmp(object_key, ENG_BACKUPS_DIR "/", strlen(ENG_BACKUPS_DIR "/")) != 0 || !slash ||
        (size_t)(slash - id) >= sizeof(backup) || slash == id)
        return ibs_err_set(err, IBS_E_INTERNAL, "object %s is not in a backup", object_key);
    memcpy(backup, id, (size_t)(slash - id));
    backup[slash - id] = '\0';
    struct eng_crypt_key key;
    int rc = eng_crypt_data_key(backup, &key, err);
    if (!rc)
        rc = eng_crypt_frame_open(codec, &key, frame, len, h, raw, raw_cap, err);
    eng_crypt_key_clear(&key);
    return rc;
}
