/* AES-256-GCM sealing and opening in place, and nonces (see crypt.h). */
#include "engine/crypt.h"

#include <limits.h>
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

void eng_crypt_key_clear(struct eng_crypt_key *k)
{
    if (k)
        OPENSSL_cleanse(k->bytes, sizeof(k->bytes));
}

int eng_crypt_nonce(uint8_t nonce[ENG_CRYPT_NONCE_LEN], struct ibs_err *err)
{
    if (RAND_bytes(nonce, ENG_CRYPT_NONCE_LEN) != 1)
        return ibs_err_set(err, IBS_E_INTERNAL,
                           "OpenSSL's random generator failed: cannot make a nonce");
    return 0;
}

/* One GCM pass; EVP accepts the same buffer as input and output. */
static int gcm(bool enc, const struct eng_crypt_key *k, const uint8_t *nonce, const void *aad,
               size_t aad_len, uint8_t *buf, size_t len, uint8_t *tag)
{
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int ok = ctx != NULL && aad_len <= INT_MAX;
    int out = 0;
    ok = ok && EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL, enc) == 1;
    ok = ok && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, ENG_CRYPT_NONCE_LEN, NULL) == 1;
    ok = ok && EVP_CipherInit_ex(ctx, NULL, NULL, k->bytes, nonce, enc) == 1;
    ok = ok && (aad_len == 0 || EVP_CipherUpdate(ctx, NULL, &out, aad, (int)aad_len) == 1);
    /* Frames are at most a few MiB; still, feed in pieces an int can count. */
    for (size_t at = 0; ok && at < len;) {
        size_t piece = len - at < (1u << 30) ? len - at : (1u << 30);
        ok = EVP_CipherUpdate(ctx, buf + at, &out, buf + at, (int)piece) == 1;
        at += piece;
    }
    if (ok && !enc)
        ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, ENG_CRYPT_TAG_LEN, tag) == 1;
    ok = ok && EVP_CipherFinal_ex(ctx, buf + len, &out) == 1;
    if (ok && enc)
        ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, ENG_CRYPT_TAG_LEN, tag) == 1;
    EVP_CIPHER_CTX_free(ctx); /* clears the key schedule */
    return ok;
}

int eng_crypt_seal(const struct eng_crypt_key *k, const uint8_t nonce[ENG_CRYPT_NONCE_LEN],
                   const void *aad, size_t aad_len, uint8_t *buf, size_t len,
                   uint8_t tag[ENG_CRYPT_TAG_LEN], struct ibs_err *err)
{
    if (!gcm(true, k, nonce, aad, aad_len, buf, len, tag))
        return ibs_err_set(err, IBS_E_INTERNAL, "AES-256-GCM encryption failed in OpenSSL");
    return 0;
}

int eng_crypt_open(const struct eng_crypt_key *k, const uint8_t nonce[ENG_CRYPT_NONCE_LEN],
                   const void *aad, size_t aad_len, uint8_t *buf, size_t len,
                   const uint8_t tag[ENG_CRYPT_TAG_LEN], struct ibs_err *err)
{
    uint8_t t[ENG_CRYPT_TAG_LEN];
    memcpy(t, tag, sizeof(t));
    if (!gcm(false, k, nonce, aad, aad_len, buf, len, t))
        return ibs_err_set(err, IBS_E_INTEGRITY,
                           "failed authentication: wrong key or tampered data");
    return 0;
}
