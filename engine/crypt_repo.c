/* The repository's encryption state: ibstream.repo's "encryption" member and
 * the process's repository key (see crypt.h). */
#include "engine/crypt.h"

#include <json-c/json.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "engine/repo.h"
#include "s3/store.h"

#define DATA_KEY_LABEL "ibstream data key v1"
#define KDF_NONE "none"
#define KDF_PBKDF2 "pbkdf2-sha256"
#define CIPHER "aes-256-gcm"
/* A key file larger than this is not a key or a passphrase. */
#define KEY_FILE_MAX 4096

/* Set once by the command before any worker starts, then only read. */
static struct {
    bool active;
    struct eng_crypt_key key;
    struct eng_crypt_params params;
} repo;

static void forget_key(void)
{
    eng_crypt_repo_set(NULL, NULL);
}

void eng_crypt_repo_set(const struct eng_crypt_key *key, const struct eng_crypt_params *p)
{
    static bool registered;
    OPENSSL_cleanse(&repo, sizeof(repo));
    if (!key || !p)
        return;
    if (!registered && atexit(forget_key) == 0)
        registered = true;
    repo.key = *key;
    repo.params = *p;
    repo.params.encrypted = true;
    repo.active = true;
}

bool eng_crypt_repo_active(void)
{
    return repo.active;
}

int eng_crypt_data_key(const char *id, struct eng_crypt_key *out, struct ibs_err *err)
{
    if (!repo.active)
        return ibs_err_set(err, IBS_E_USAGE,
                           "this repository is encrypted: give --encryption-key-file");
    return eng_crypt_hkdf(&repo.key, DATA_KEY_LABEL, id, out, err);
}

static void hex(const uint8_t *in, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        snprintf(out + 2 * i, 3, "%02x", in[i]);
}

static int unhex(const char *in, uint8_t *out, size_t n)
{
    if (strlen(in) != 2 * n)
        return -1;
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        if (sscanf(in + 2 * i, "%2x", &v) != 1)
            return -1;
        out[i] = (uint8_t)v;
    }
    return 0;
}

void eng_crypt_marker_fields(char *buf, size_t size)
{
    if (!repo.active) {
        if (size)
            buf[0] = '\0';
        return;
    }
    char salt[2 * ENG_CRYPT_SALT_LEN + 1];
    hex(repo.params.salt, ENG_CRYPT_SALT_LEN, salt);
    snprintf(buf, size,
             ",\"encryption\":{\"cipher\":\"%s\",\"key_id\":\"%s\",\"kdf\":\"%s\","
             "\"salt\":\"%s\",\"iterations\":%u}",
             CIPHER, repo.params.key_id, repo.params.passphrase ? KDF_PBKDF2 : KDF_NONE, salt,
             repo.params.iterations);
}

static const char *member_str(json_object *o, const char *name)
{
    json_object *v;
    if (!json_object_object_get_ex(o, name, &v) || !json_object_is_type(v, json_type_string))
        return NULL;
    return json_object_get_string(v);
}

int eng_crypt_marker_parse(const char *text, size_t len, struct eng_crypt_params *p,
                           struct ibs_err *err)
{
    memset(p, 0, sizeof(*p));
    json_tokener *tok = json_tokener_new();
    if (!tok)
        return ibs_err_set(err, IBS_E_INTERNAL, "out of memory");
    json_object *root = len <= INT32_MAX ? json_tokener_parse_ex(tok, text, (int)len) : NULL;
    json_tokener_free(tok);
    int rc = 0;
    json_object *enc, *it;
    if (!root || !json_object_is_type(root, json_type_object)) {
        rc = ibs_err_set(err, IBS_E_INTEGRITY, "%s is not JSON", ENG_REPO_MARKER);
        goto out;
    }
    if (!json_object_object_get_ex(root, "encryption", &enc))
        goto out;
    const char *cipher = member_str(enc, "cipher"), *id = member_str(enc, "key_id"),
               *kdf = member_str(enc, "kdf"), *salt = member_str(enc, "salt");
    bool iter_ok = json_object_object_get_ex(enc, "iterations", &it) &&
                   json_object_is_type(it, json_type_int) && json_object_get_int64(it) > 0 &&
                   json_object_get_int64(it) <= 100000000;
    if (!cipher || strcmp(cipher, CIPHER) != 0 || !id || strlen(id) != ENG_CRYPT_KEY_ID_LEN ||
        !kdf || (strcmp(kdf, KDF_NONE) != 0 && strcmp(kdf, KDF_PBKDF2) != 0) || !salt ||
        unhex(salt, p->salt, ENG_CRYPT_SALT_LEN) != 0 || !iter_ok) {
        rc = ibs_err_set(err, IBS_E_INTEGRITY,
                         "%s: the \"encryption\" member is malformed or names a cipher this "
                         "ibstream does not know",
                         ENG_REPO_MARKER);
        goto out;
    }
    p->encrypted = true;
    memcpy(p->key_id, id, ENG_CRYPT_KEY_ID_LEN + 1);
    p->passphrase = strcmp(kdf, KDF_PBKDF2) == 0;
    p->iterations = (unsigned)json_object_get_int64(it);
out:
    json_object_put(root);
    return rc;
}

/* What ibstream.repo says; *exists false when there is none yet. */
static int read_marker(struct store *store, struct eng_crypt_params *p, bool *exists,
                       struct ibs_err *err)
{
    void *data = NULL;
    size_t len = 0;
    memset(p, 0, sizeof(*p));
    *exists = false;
    int rc = store_get(store, ENG_REPO_MARKER, &data, &len, err);
    if (rc == IBS_E_NOTFOUND)
        return 0;
    if (rc)
        return rc;
    *exists = true;
    rc = eng_crypt_marker_parse(data, len, p, err);
    free(data);
    return rc ? ibs_err_wrap(err, "%s", store_url(store)) : 0;
}

int eng_crypt_repo_setup(struct store *store, const char *key_file, struct ibs_err *err)
{
    struct eng_crypt_params p;
    bool exists;
    eng_crypt_repo_set(NULL, NULL);
    int rc = read_marker(store, &p, &exists, err);
    if (rc)
        return rc;
    if (!key_file) {
        if (p.encrypted)
            return ibs_err_set(err, IBS_E_USAGE,
                               "this repository is encrypted: give --encryption-key-file "
                               "(the repository's key id is %s)",
                               p.key_id);
        return 0;
    }
    if (exists && !p.encrypted)
        return ibs_err_set(err, IBS_E_USAGE,
                           "repository %s is not encrypted and encryption cannot be added to "
                           "it: give --encryption-key-file only with a new, empty repository",
                           store_url(store));
    if (!exists) {
        p.iterations = ENG_CRYPT_PBKDF2_ITERATIONS;
        if (RAND_bytes(p.salt, sizeof(p.salt)) != 1)
            return ibs_err_set(err, IBS_E_INTERNAL, "OpenSSL's random generator failed");
    }
    uint8_t *file = OPENSSL_secure_malloc(KEY_FILE_MAX + 1);
    if (!file)
        return ibs_err_set(err, IBS_E_INTERNAL, "out of memory");
    size_t len = 0;
    struct eng_crypt_key key;
    char id[ENG_CRYPT_KEY_ID_LEN + 1];
    rc = eng_crypt_read_key_file(key_file, file, KEY_FILE_MAX + 1, &len, err);
    if (!rc) {
        if (len != ENG_CRYPT_KEY_LEN && len < KEY_FILE_MAX) {
            /* A printable passphrase can show up in a message: mask it. */
            file[len] = '\0';
            file[strcspn((char *)file, "\r\n")] = '\0';
            ibs_log_add_secret((const char *)file);
        }
        rc = eng_crypt_derive_repo_key(file, len, &p, &key, err);
    }
    OPENSSL_secure_clear_free(file, KEY_FILE_MAX + 1);
    if (rc)
        return ibs_err_wrap(err, "--encryption-key-file %s", key_file);
    eng_crypt_key_id(&key, id);
    if (exists && strcmp(id, p.key_id) != 0) {
        eng_crypt_key_clear(&key);
        return ibs_err_set(err, IBS_E_USAGE,
                           "this repository is encrypted with key %s; the key file gives %s "
                           "(%s): give the repository's key file",
                           p.key_id, id, key_file);
    }
    memcpy(p.key_id, id, sizeof(id));
    eng_crypt_repo_set(&key, &p);
    eng_crypt_key_clear(&key);
    IBS_DEBUG("crypt", "repository key %s (%s)", id, p.passphrase ? "passphrase" : "raw key");
    return 0;
}
