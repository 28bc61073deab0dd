/* Key material: the key file, PBKDF2, HKDF and key ids (see crypt.h). */
#include "engine/crypt.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int eng_crypt_pbkdf2(const void *pass, size_t pass_len, const uint8_t *salt, size_t salt_len,
                     unsigned iterations, struct eng_crypt_key *out, struct ibs_err *err)
{
    if (iterations == 0 || iterations > 100000000u || pass_len > INT32_MAX)
        return ibs_err_set(err, IBS_E_USAGE, "PBKDF2 iteration count %u is out of range",
                           iterations);
    if (PKCS5_PBKDF2_HMAC(pass, (int)pass_len, salt, (int)salt_len, (int)iterations,
                          EVP_sha256(), ENG_CRYPT_KEY_LEN, out->bytes) != 1)
        return ibs_err_set(err, IBS_E_INTERNAL, "PBKDF2-HMAC-SHA256 failed in OpenSSL");
    return 0;
}

int eng_crypt_hkdf(const struct eng_crypt_key *ikm, const char *label, const char *id,
                   struct eng_crypt_key *out, struct ibs_err *err)
{
    unsigned char info[512];
    size_t llen = strlen(label), ilen = strlen(id);
    if (llen + 1 + ilen > sizeof(info))
        return ibs_err_set(err, IBS_E_INTERNAL, "HKDF info for '%s' is too long", id);
    /* A NUL between label and id keeps (label, id) pairs unambiguous. */
    memcpy(info, label, llen);
    info[llen] = 0;
    memcpy(info + llen + 1, id, ilen);
    size_t outlen = ENG_CRYPT_KEY_LEN;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, NULL);
    int ok = ctx != NULL && EVP_PKEY_derive_init(ctx) == 1 &&
             EVP_PKEY_CTX_set_hkdf_md(ctx, EVP_sha256()) == 1 &&
             EVP_PKEY_CTX_set1_hkdf_key(ctx, ikm->bytes, ENG_CRYPT_KEY_LEN) == 1 &&
             EVP_PKEY_CTX_add1_hkdf_info(ctx, info, (int)(llen + 1 + ilen)) == 1 &&
             EVP_PKEY_derive(ctx, out->bytes, &outlen) == 1 && outlen == ENG_CRYPT_KEY_LEN;
    EVP_PKEY_CTX_free(ctx);
    if (!ok)
        return ibs_err_set(err, IBS_E_INTERNAL, "HKDF-SHA256 failed in OpenSSL");
    return 0;
}

void eng_crypt_key_id(const struct eng_crypt_key *k, char out[ENG_CRYPT_KEY_ID_LEN + 1])
{
    static const char label[] = "ibstream key id v1";
    uint8_t md[SHA256_DIGEST_LENGTH];
    unsigned mdlen = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 &&
             EVP_DigestUpdate(ctx, label, sizeof(label)) == 1 &&
             EVP_DigestUpdate(ctx, k->bytes, ENG_CRYPT_KEY_LEN) == 1 &&
             EVP_DigestFinal_ex(ctx, md, &mdlen) == 1;
    EVP_MD_CTX_free(ctx);
    if (!ok)
        memset(md, 0, sizeof(md)); /* shows as a mismatching id, never as the key */
    for (int i = 0; i < ENG_CRYPT_KEY_ID_LEN / 2; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}

int eng_crypt_read_key_file(const char *path, uint8_t *buf, size_t cap, size_t *len,
                            struct ibs_err *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return ibs_err_sys(err, IBS_E_USAGE, errno, "encryption key file %s", path);
    struct stat st;
    int rc = 0;
    if (fstat(fd, &st) != 0) {
        rc = ibs_err_sys(err, IBS_E_USAGE, errno, "encryption key file %s", path);
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        rc = ibs_err_set(err, IBS_E_USAGE, "encryption key file %s is not a regular file", path);
        goto out;
    }
    if (st.st_uid != geteuid()) {
        rc = ibs_err_set(err, IBS_E_USAGE,
                         "encryption key file %s is owned by uid %u, not by the user running "
                         "ibstream (uid %u): chown it",
                         path, (unsigned)st.st_uid, (unsigned)geteuid());
        goto out;
    }
    mode_t perm = st.st_mode & 07777;
    if (perm != 0400 && perm != 0600) {
        rc = ibs_err_set(err, IBS_E_USAGE,
                         "encryption key file %s has mode %04o: others could read the key; "
                         "chmod 600 it",
                         path, (unsigned)perm);
        goto out;
    }
    size_t got = 0;
    for (;;) {
        ssize_t n = read(fd, buf + got, cap - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = ibs_err_sys(err, IBS_E_USAGE, errno, "reading encryption key file %s", path);
            goto out;
        }
        if (n == 0)
            break;
        got += (size_t)n;
        if (got == cap) {
            rc = ibs_err_set(err, IBS_E_USAGE,
                             "encryption key file %s is larger than %zu bytes: it should hold "
                             "32 random bytes or a passphrase",
                             path, cap - 1);
            goto out;
        }
    }
    if (got == 0)
        rc = ibs_err_set(err, IBS_E_USAGE, "encryption key file %s is empty", path);
    *len = got;
out:
    close(fd);
    return rc;
}

int eng_crypt_derive_repo_key(const uint8_t *file, size_t len, struct eng_crypt_params *p,
                              struct eng_crypt_key *out, struct ibs_err *err)
{
    if (len == ENG_CRYPT_KEY_LEN) {
        memcpy(out->bytes, file, ENG_CRYPT_KEY_LEN);
        p->passphrase = false;
        return 0;
    }
    size_t n = len;
    if (n > 0 && file[n - 1] == '\n')
        n--;
    if (n > 0 && file[n - 1] == '\r')
        n--;
    if (n < 12)
        return ibs_err_set(err, IBS_E_USAGE,
                           "the encryption key file holds %zu bytes: give 32 random bytes "
                           "(head -c 32 /dev/urandom) or a passphrase of at least 12 characters",
                           len);
    p->passphrase = true;
    return eng_crypt_pbkdf2(file, n, p->salt, sizeof(p->salt), p->iterations, out, err);
}
