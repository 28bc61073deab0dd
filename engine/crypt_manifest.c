/* The manifest envelope (see crypt.h): magic, version, nonce, ciphertext, tag,
 * with the backup id as associated data so a manifest cannot be passed off as
 * another backup's. */
#include "engine/crypt.h"

#include <stdlib.h>
#include <string.h>

#define ENVELOPE_VERSION 1
#define ENVELOPE_OVERHEAD (ENG_CRYPT_ENVELOPE_HEADER + ENG_CRYPT_NONCE_LEN + ENG_CRYPT_TAG_LEN)

static bool is_envelope(const void *data, size_t len)
{
    return len >= 4 && memcmp(data, ENG_CRYPT_ENVELOPE_MAGIC, 4) == 0;
}

int eng_crypt_manifest_seal(const char *id, char **data, size_t *len, struct ibs_err *err)
{
    if (!eng_crypt_repo_active())
        return 0;
    uint8_t *env = malloc(*len + ENVELOPE_OVERHEAD);
    if (!env)
        return ibs_err_set(err, IBS_E_INTERNAL, "out of memory");
    struct eng_crypt_key key;
    uint8_t *nonce = env + ENG_CRYPT_ENVELOPE_HEADER;
    uint8_t *body = nonce + ENG_CRYPT_NONCE_LEN;
    memcpy(env, ENG_CRYPT_ENVELOPE_MAGIC, 4);
    env[4] = ENVELOPE_VERSION;
    env[5] = env[6] = env[7] = 0;
    memcpy(body, *data, *len);
    int rc = eng_crypt_data_key(id, &key, err);
    if (!rc)
        rc = eng_crypt_nonce(nonce, err);
    if (!rc)
        rc = eng_crypt_seal(&key, nonce, id, strlen(id), body, *len, body + *len, err);
    eng_crypt_key_clear(&key);
    if (rc) {
        free(env);
        return ibs_err_wrap(err, "encrypting the manifest of backup %s", id);
    }
    free(*data);
    *data = (char *)env;
    *len += ENVELOPE_OVERHEAD;
    return 0;
}

int eng_crypt_manifest_open(const char *id, void **data, size_t *len, struct ibs_err *err)
{
    bool active = eng_crypt_repo_active();
    if (!is_envelope(*data, *len)) {
        if (active)
            return ibs_err_set(err, IBS_E_INTEGRITY,
                               "manifest is not encrypted in an encrypted repository: tampered "
                               "data");
        return 0;
    }
    if (!active)
        return ibs_err_set(err, IBS_E_USAGE,
                           "this repository is encrypted: give --encryption-key-file");
    uint8_t *env = *data;
    if (*len < ENVELOPE_OVERHEAD || env[4] != ENVELOPE_VERSION || env[5] || env[6] || env[7])
        return ibs_err_set(err, IBS_E_INTEGRITY, "manifest envelope is malformed");
    size_t body_len = *len - ENVELOPE_OVERHEAD;
    uint8_t *nonce = env + ENG_CRYPT_ENVELOPE_HEADER;
    uint8_t *body = nonce + ENG_CRYPT_NONCE_LEN;
    struct eng_crypt_key key;
    int rc = eng_crypt_data_key(id, &key, err);
    if (!rc)
        rc = eng_crypt_open(&key, nonce, id, strlen(id), body, body_len, body + body_len, err);
    eng_crypt_key_clear(&key);
    if (rc)
        return rc == IBS_E_INTEGRITY
                   ? ibs_err_set(err, IBS_E_INTEGRITY,
                                 "manifest failed authentication: wrong key or tampered data")
                   : rc;
    memmove(env, body, body_len);
    *len = body_len;
    return 0;
}
