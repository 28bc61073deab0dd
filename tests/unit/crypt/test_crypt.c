/* Unit tests of engine/crypt*: encrypted frames round trip and fail
 * authentication when a header byte, a payload byte or the tag changes or the
 * key is another; nonces differ from frame to frame; PBKDF2 and HKDF match
 * published or independently computed values; key files with loose modes are
 * refused; manifests are sealed to their backup id; the repository marker's
 * encryption member survives a round trip. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "engine/crypt.h"
#include "engine/frame.h"
#include "io/codec.h"
#include "io/hash.h"

#define RAW_LEN 65536

struct fixture {
    struct io_codec *codec;
    struct eng_crypt_key key;
    uint8_t raw[RAW_LEN];
    uint8_t *frame;
    size_t cap;
    uint8_t out[RAW_LEN];
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    struct ibs_err err;
    assert_non_null(f);
    f->codec = io_codec_new(3, &err);
    assert_non_null(f->codec);
    for (size_t i = 0; i < RAW_LEN; i++)
        f->raw[i] = (uint8_t)("secret row payload "[i % 19]);
    for (size_t i = 0; i < ENG_CRYPT_KEY_LEN; i++)
        f->key.bytes[i] = (uint8_t)(i * 7 + 1);
    f->cap = eng_frame_bound(RAW_LEN);
    f->frame = malloc(f->cap);
    assert_non_null(f->frame);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    io_codec_free(f->codec);
    free(f->frame);
    free(f);
    eng_crypt_repo_set(NULL, NULL);
    return 0;
}

static size_t encode(struct fixture *f, struct io_codec *codec, const struct eng_crypt_key *key)
{
    struct eng_frame_header h = {.kind = ENG_FRAME_FILE, .file_id = 3, .offset = 1u << 20};
    size_t len = 0;
    struct ibs_err err;
    assert_int_equal(eng_crypt_frame_encode(codec, key, &h, f->raw, RAW_LEN, f->frame, f->cap,
                                            &len, &err),
                     0);
    assert_int_equal(h.xxh3, io_xxh3_64(f->raw, RAW_LEN));
    return len;
}

static int decode(struct fixture *f, size_t len, const struct eng_crypt_key *key,
                  struct ibs_err *err)
{
    struct eng_frame_header h;
    memset(f->out, 0, sizeof(f->out));
    int rc = eng_crypt_frame_open(f->codec, key, f->frame, len, &h, f->out, RAW_LEN, err);
    if (!rc) {
        assert_int_equal(h.xxh3, io_xxh3_64(f->raw, RAW_LEN));
        assert_int_equal(h.stored_len + ENG_FRAME_HEADER_SIZE, len);
    }
    return rc;
}

static bool contains(const uint8_t *hay, size_t n, const char *needle)
{
    size_t k = strlen(needle);
    for (size_t i = 0; i + k <= n; i++)
        if (memcmp(hay + i, needle, k) == 0)
            return true;
    return false;
}

static void test_round_trip(void **state)
{
    struct fixture *f = *state;
    struct ibs_err err;
    /* zstd-compressed and stored-raw payloads */
    for (int c = 0; c < 2; c++) {
        size_t len = encode(f, c ? NULL : f->codec, &f->key);
        struct eng_frame_header h;
        assert_int_equal(eng_frame_header_read(f->frame, len, &h, &err), 0);
        assert_int_equal(h.flags, ENG_FRAME_F_AES256GCM);
        assert_int_equal(h.xxh3, 0); /* the plaintext's hash is not visible */
        assert_false(contains(f->frame, len, "secret row"));
        assert_int_equal(decode(f, len, &f->key, &err), 0);
        assert_memory_equal(f->out, f->raw, RAW_LEN);
    }
}

static void expect_auth_failure(struct fixture *f, size_t len, const struct eng_crypt_key *key)
{
    struct ibs_err err;
    assert_int_equal(decode(f, len, key, &err), IBS_E_INTEGRITY);
    assert_non_null(strstr(err.msg, "frame failed authentication: wrong key or tampered data"));
}

static void test_tamper(void **state)
{
    struct fixture *f = *state;
    /* a header field, with the header CRC made right again: only the AEAD sees it */
    size_t len = encode(f, f->codec, &f->key);
    struct eng_frame_header h;
    struct ibs_err err;
    assert_int_equal(eng_frame_header_read(f->frame, len, &h, &err), 0);
    h.offset += 16384;
    eng_frame_header_write(&h, f->frame);
    expect_auth_failure(f, len, &f->key);

    size_t spots[] = {ENG_FRAME_HEADER_SIZE + 3,        /* nonce */
                      ENG_FRAME_HEADER_SIZE + 12 + 2,   /* hidden hash */
                      ENG_FRAME_HEADER_SIZE + 40,       /* payload */
                      0};                               /* tag, set below */
    for (size_t i = 0; i < 4; i++) {
        len = encode(f, f->codec, &f->key);
        size_t at = spots[i] ? spots[i] : len - 5;
        f->frame[at] ^= 0x01;
        expect_auth_failure(f, len, &f->key);
    }
}

static void test_wrong_key_and_mode(void **state)
{
    struct fixture *f = *state;
    struct eng_crypt_key other = f->key;
    struct ibs_err err;
    other.bytes[31] ^= 0x80;
    size_t len = encode(f, f->codec, &f->key);
    expect_auth_failure(f, len, &other);

    /* an encrypted frame read without a key */
    len = encode(f, f->codec, &f->key);
    assert_int_equal(decode(f, len, NULL, &err), IBS_E_USAGE);
    assert_non_null(strstr(err.msg, "this repository is encrypted: give --encryption-key-file"));

    /* a plaintext frame where encrypted ones are expected */
    len = encode(f, f->codec, NULL);
    assert_int_equal(decode(f, len, &f->key, &err), IBS_E_INTEGRITY);
    assert_int_equal(decode(f, len, NULL, &err), 0);
    assert_memory_equal(f->out, f->raw, RAW_LEN);
}

static int cmp_nonce(const void *a, const void *b)
{
    return memcmp(a, b, ENG_CRYPT_NONCE_LEN);
}

static void test_nonce_unique(void **state)
{
    struct fixture *f = *state;
    enum { N = 2000 };
    uint8_t(*nonces)[ENG_CRYPT_NONCE_LEN] = calloc(N, ENG_CRYPT_NONCE_LEN);
    assert_non_null(nonces);
    for (int i = 0; i < N; i++) { /* the same bytes every time */
        size_t len = encode(f, f->codec, &f->key);
        assert_true(len > ENG_FRAME_HEADER_SIZE + ENG_CRYPT_NONCE_LEN);
        memcpy(nonces[i], f->frame + ENG_FRAME_HEADER_SIZE, ENG_CRYPT_NONCE_LEN);
    }
    qsort(nonces, N, ENG_CRYPT_NONCE_LEN, cmp_nonce);
    for (int i = 1; i < N; i++)
        assert_true(memcmp(nonces[i - 1], nonces[i], ENG_CRYPT_NONCE_LEN) != 0);
    free(nonces);
}

static void hex(const uint8_t *in, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", in[i]);
}

static void test_kdf_vectors(void **state)
{
    (void)state;
    struct eng_crypt_key k, k2, ikm;
    struct ibs_err err;
    char text[2 * ENG_CRYPT_KEY_LEN + 1];
    /* RFC 7914 section 11: PBKDF2-HMAC-SHA256("passwd", "salt", 1), first 32 bytes */
    assert_int_equal(eng_crypt_pbkdf2("passwd", 6, (const uint8_t *)"salt", 4, 1, &k, &err), 0);
    hex(k.bytes, 32, text);
    assert_string_equal(text, "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc");

    /* HKDF-SHA256 without salt: PRK = HMAC(0^32, IKM), OKM = HMAC(PRK, info | 0x01) */
    memset(ikm.bytes, 0x0b, sizeof(ikm.bytes));
    assert_int_equal(eng_crypt_hkdf(&ikm, "label", "20260101-000000F", &k, &err), 0);
    uint8_t zeros[32] = {0}, prk[32], okm[32];
    unsigned n = 0;
    HMAC(EVP_sha256(), zeros, 32, ikm.bytes, 32, prk, &n);
    uint8_t info[64];
    size_t il = 0;
    memcpy(info, "label", 5), il = 5;
    info[il++] = 0;
    memcpy(info + il, "20260101-000000F", 16), il += 16;
    info[il++] = 1;
    HMAC(EVP_sha256(), prk, 32, info, il, okm, &n);
    assert_memory_equal(k.bytes, okm, 32);
    /* one key per backup */
    assert_int_equal(eng_crypt_hkdf(&ikm, "label", "20260101-000001F", &k2, &err), 0);
    assert_memory_not_equal(k.bytes, k2.bytes, 32);

    /* key id: SHA-256 of label and key, never the key itself */
    char id[ENG_CRYPT_KEY_ID_LEN + 1];
    eng_crypt_key_id(&ikm, id);
    assert_int_equal(strlen(id), ENG_CRYPT_KEY_ID_LEN);
    uint8_t md[32];
    uint8_t msg[19 + 32];
    memcpy(msg, "ibstream key id v1", 19);
    memcpy(msg + 19, ikm.bytes, 32);
    EVP_Digest(msg, sizeof(msg), md, &n, EVP_sha256(), NULL);
    hex(md, 8, text);
    assert_string_equal(id, text);
    eng_crypt_key_clear(&k);
    assert_memory_equal(k.bytes, zeros, 32);
}

static void write_file(const char *path, const char *data, size_t len, mode_t mode)
{
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    assert_int_equal(fwrite(data, 1, len, fp), len);
    fclose(fp);
    assert_int_equal(chmod(path, mode), 0);
}

static void test_key_file(void **state)
{
    (void)state;
    char dir[] = "/tmp/ibs-crypt-test.XXXXXX", path[64];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/key", dir);
    uint8_t buf[128];
    size_t len;
    struct ibs_err err;
    write_file(path, "correct horse battery staple\n", 29, 0644);
    assert_int_equal(eng_crypt_read_key_file(path, buf, sizeof(buf), &len, &err), IBS_E_USAGE);
    assert_non_null(strstr(err.msg, "mode 0644"));
    assert_int_equal(chmod(path, 0640), 0);
    assert_int_equal(eng_crypt_read_key_file(path, buf, sizeof(buf), &len, &err), IBS_E_USAGE);
    assert_int_equal(chmod(path, 0400), 0);
    assert_int_equal(eng_crypt_read_key_file(path, buf, sizeof(buf), &len, &err), 0);
    assert_int_equal(len, 29);

    /* passphrase -> PBKDF2 with the salt; the newline is not part of it */
    struct eng_crypt_params p = {.iterations = 1000};
    struct eng_crypt_key a, b;
    memset(p.salt, 0x5a, sizeof(p.salt));
    assert_int_equal(eng_crypt_derive_repo_key(buf, len, &p, &a, &err), 0);
    assert_true(p.passphrase);
    assert_int_equal(eng_crypt_derive_repo_key(buf, len - 1, &p, &b, &err), 0);
    assert_memory_equal(a.bytes, b.bytes, 32);
    /* 32 bytes are the key itself */
    assert_int_equal(eng_crypt_derive_repo_key((const uint8_t *)"0123456789abcdef0123456789abcdef",
                                               32, &p, &a, &err),
                     0);
    assert_false(p.passphrase);
    assert_memory_equal(a.bytes, "0123456789abcdef0123456789abcdef", 32);
    assert_int_equal(eng_crypt_derive_repo_key((const uint8_t *)"short\n", 6, &p, &a, &err),
                     IBS_E_USAGE);
    unlink(path);
    assert_int_equal(eng_crypt_read_key_file(path, buf, sizeof(buf), &len, &err), IBS_E_USAGE);
    rmdir(dir);
}

static void test_manifest_and_marker(void **state)
{
    struct fixture *f = *state;
    struct ibs_err err;
    const char *json = "{\"id\":\"20260101-000000F\",\"note\":\"secret row\"}";
    char *data = strdup(json);
    size_t len = strlen(json);

    /* not encrypted: unchanged both ways */
    assert_int_equal(eng_crypt_manifest_seal("20260101-000000F", &data, &len, &err), 0);
    assert_int_equal(len, strlen(json));

    struct eng_crypt_params p = {.iterations = 600000, .passphrase = true};
    memset(p.salt, 0xa5, sizeof(p.salt));
    eng_crypt_key_id(&f->key, p.key_id);
    eng_crypt_repo_set(&f->key, &p);
    assert_true(eng_crypt_repo_active());
    assert_int_equal(eng_crypt_manifest_seal("20260101-000000F", &data, &len, &err), 0);
    assert_false(contains((uint8_t *)data, len, "secret row"));
    char *copy = malloc(len);
    size_t copy_len = len;
    memcpy(copy, data, len);
    /* sealed to its id: the same envelope under another id fails */
    assert_int_equal(eng_crypt_manifest_open("20260101-000001F", (void **)&copy, &copy_len, &err),
                     IBS_E_INTEGRITY);
    assert_non_null(strstr(err.msg, "wrong key or tampered data"));
    assert_int_equal(eng_crypt_manifest_open("20260101-000000F", (void **)&data, &len, &err), 0);
    assert_int_equal(len, strlen(json));
    assert_memory_equal(data, json, len);
    /* a plaintext manifest in an encrypted repository */
    assert_int_equal(eng_crypt_manifest_open("20260101-000000F", (void **)&data, &len, &err),
                     IBS_E_INTEGRITY);

    /* the marker member */
    char fields[512], marker[640];
    eng_crypt_marker_fields(fields, sizeof(fields));
    assert_null(strstr(fields, "01080f16")); /* the key's hex is not there */
    snprintf(marker, sizeof(marker), "{\"format\":1,\"created\":1%s}", fields);
    struct eng_crypt_params q;
    assert_int_equal(eng_crypt_marker_parse(marker, strlen(marker), &q, &err), 0);
    assert_true(q.encrypted);
    assert_true(q.passphrase);
    assert_string_equal(q.key_id, p.key_id);
    assert_int_equal(q.iterations, 600000);
    assert_memory_equal(q.salt, p.salt, sizeof(p.salt));

    /* an envelope without the key */
    eng_crypt_repo_set(NULL, NULL);
    memcpy(copy, "IBSE", 4);
    assert_int_equal(eng_crypt_manifest_open("20260101-000000F", (void **)&copy, &copy_len, &err),
                     IBS_E_USAGE);
    assert_non_null(strstr(err.msg, "this repository is encrypted: give --encryption-key-file"));
    assert_int_equal(eng_crypt_marker_parse("{\"format\":1}", 12, &q, &err), 0);
    assert_false(q.encrypted);
    const char *bad = "{\"encryption\":{\"cipher\":\"rot13\"}}";
    assert_int_equal(eng_crypt_marker_parse(bad, strlen(bad), &q, &err), IBS_E_INTEGRITY);
    free(copy);
    free(data);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tamper, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_key_and_mode, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nonce_unique, setup, teardown),
        cmocka_unit_test(test_kdf_vectors),
        cmocka_unit_test(test_key_file),
        cmocka_unit_test_setup_teardown(test_manifest_and_marker, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
