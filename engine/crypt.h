/* Client-side encryption of what ibstream stores (docs/security.md).
 *
 * Keys: the *repository key* (32 bytes) comes from --encryption-key-file:
 * 32 raw bytes, or a passphrase stretched with PBKDF2-HMAC-SHA256 and the
 * salt and iteration count recorded in ibstream.repo. Every backup encrypts
 * with its own *data key*, HKDF-SHA256(repository key, info "ibstream data
 * key v1" + backup id). ibstream.repo records the key id (a SHA-256
 * fingerprint of the repository key), never the key.
 *
 * Frames: AES-256-GCM after compression; the payload is
 *   nonce (12) | ciphertext of (XXH3-64 of the raw bytes, LE u64 | payload) | tag (16)
 * with the 48-byte header (flag ENG_FRAME_F_AES256GCM, stored length including
 * nonce and tag, XXH3 field zero) as associated data. Nonces are 96 random bits
 * from OpenSSL's CSPRNG: uniqueness never depends on ids, worker numbering or
 * retries, and with one key per backup (at most 2^32 frames) random nonces stay
 * within NIST SP 800-38D's bound.
 *
 * Manifests: an envelope "IBSE", version 1, 3 zero bytes, nonce, ciphertext,
 * tag; associated data the backup id.
 *
 * The repository's key is process state, set once when a command opens the
 * repository (eng_crypt_repo_setup) and read by every thread afterwards. */
#ifndef IBS_ENGINE_CRYPT_H
#define IBS_ENGINE_CRYPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "engine/frame.h"

#define ENG_CRYPT_KEY_LEN 32
#define ENG_CRYPT_NONCE_LEN 12
#define ENG_CRYPT_TAG_LEN 16
#define ENG_CRYPT_SALT_LEN 16
#define ENG_CRYPT_KEY_ID_LEN 16 /* hex digits */
/* OWASP's 2023 figure for PBKDF2-HMAC-SHA256: about 0.3 s on a current core. */
#define ENG_CRYPT_PBKDF2_ITERATIONS 600000u
#define ENG_CRYPT_ENVELOPE_MAGIC "IBSE"
#define ENG_CRYPT_ENVELOPE_HEADER 8

struct io_codec;
struct store;

struct eng_crypt_key {
    uint8_t bytes[ENG_CRYPT_KEY_LEN];
};

/* What ibstream.repo says about encryption. */
struct eng_crypt_params {
    bool encrypted;
    char key_id[ENG_CRYPT_KEY_ID_LEN + 1];
    bool passphrase;          /* the key file holds a passphrase: PBKDF2 with salt */
    uint8_t salt[ENG_CRYPT_SALT_LEN];
    unsigned iterations;
};

/* --- primitives (crypt_aead.c, crypt_key.c) --- */

/* Overwrites k (OPENSSL_cleanse). */
void eng_crypt_key_clear(struct eng_crypt_key *k);

/* 96 random bits from OpenSSL's CSPRNG. */
int eng_crypt_nonce(uint8_t nonce[ENG_CRYPT_NONCE_LEN], struct ibs_err *err);

/* AES-256-GCM over buf in place; tag receives the 16-byte tag. */
int eng_crypt_seal(const struct eng_crypt_key *k, const uint8_t nonce[ENG_CRYPT_NONCE_LEN],
                   const void *aad, size_t aad_len, uint8_t *buf, size_t len,
                   uint8_t tag[ENG_CRYPT_TAG_LEN], struct ibs_err *err);

/* Decrypts buf in place and checks tag. IBS_E_INTEGRITY "failed authentication:
 * wrong key or tampered data" when it does not verify (buf is then garbage). */
int eng_crypt_open(const struct eng_crypt_key *k, const uint8_t nonce[ENG_CRYPT_NONCE_LEN],
                   const void *aad, size_t aad_len, uint8_t *buf, size_t len,
                   const uint8_t tag[ENG_CRYPT_TAG_LEN], struct ibs_err *err);

int eng_crypt_pbkdf2(const void *pass, size_t pass_len, const uint8_t *salt, size_t salt_len,
                     unsigned iterations, struct eng_crypt_key *out, struct ibs_err *err);

/* HKDF-SHA256 (EVP_PKEY_HKDF), no salt, info = label + id. */
int eng_crypt_hkdf(const struct eng_crypt_key *ikm, const char *label, const char *id,
                   struct eng_crypt_key *out, struct ibs_err *err);

/* The first 16 hex digits of SHA-256("ibstream key id v1" | key). */
void eng_crypt_key_id(const struct eng_crypt_key *k, char out[ENG_CRYPT_KEY_ID_LEN + 1]);

/* Reads the key file (at most cap bytes) after checking that it is a regular
 * file owned by the running user with mode 0400 or 0600. IBS_E_USAGE otherwise. */
int eng_crypt_read_key_file(const char *path, uint8_t *buf, size_t cap, size_t *len,
                            struct ibs_err *err);

/* The repository key from the key file's bytes: exactly 32 bytes are the key,
 * anything else is a passphrase (one trailing newline dropped) for PBKDF2 with
 * p's salt and iterations. p->passphrase is set to which it was. */
int eng_crypt_derive_repo_key(const uint8_t *file, size_t len, struct eng_crypt_params *p,
                              struct eng_crypt_key *out, struct ibs_err *err);

/* --- repository (crypt_repo.c) --- */

/* Reads ibstream.repo and sets the process's repository key:
 *   - encrypted repository, no key_file: IBS_E_USAGE "this repository is
 *     encrypted: give --encryption-key-file";
 *   - encrypted, a key whose id differs: IBS_E_USAGE naming both ids;
 *   - key_file on a repository without a marker: the key is set, and the
 *     first backup writes the marker (eng_crypt_marker_fields);
 *   - key_file on an unencrypted repository with a marker: IBS_E_USAGE.
 * key_file NULL on an unencrypted repository changes nothing. */
int eng_crypt_repo_setup(struct store *store, const char *key_file, struct ibs_err *err);

/* Sets (p != NULL) or forgets (p == NULL) the process's repository key. */
void eng_crypt_repo_set(const struct eng_crypt_key *key, const struct eng_crypt_params *p);

/* Whether the process's repository is encrypted. */
bool eng_crypt_repo_active(void);

/* JSON members to add to a new ibstream.repo (starting with ','), empty when
 * not encrypted. */
void eng_crypt_marker_fields(char *buf, size_t size);

/* Parses the "encryption" member of ibstream.repo's text into p (p->encrypted
 * false when absent). IBS_E_INTEGRITY on a malformed member. */
int eng_crypt_marker_parse(const char *text, size_t len, struct eng_crypt_params *p,
                           struct ibs_err *err);

/* The data key of backup id under the process's repository key. */
int eng_crypt_data_key(const char *id, struct eng_crypt_key *out, struct ibs_err *err);

/* --- frames (crypt_frame.c) --- */

/* Like eng_frame_encode, then encrypts with key when key is not NULL. out_cap
 * must be eng_frame_bound(raw_len), which includes ENG_FRAME_CRYPT_OVERHEAD.
 * h->xxh3 is the raw bytes' hash (for the manifest) even though the stored
 * header holds zero. */
int eng_crypt_frame_encode(struct io_codec *codec, const struct eng_crypt_key *key,
                           struct eng_frame_header *h, const void *raw, size_t raw_len,
                           uint8_t *out, size_t out_cap, size_t *out_len, struct ibs_err *err);

/* Decodes a frame with key: checks the tag with the header as associated data,
 * decrypts the payload *in place* (frame is the caller's scratch), decompresses
 * and checks the XXH3. h is filled as eng_frame_decode does (stored_len is the
 * stored length, xxh3 the hidden hash). A plaintext frame is refused when key
 * is given, and an encrypted one when it is not. */
int eng_crypt_frame_open(struct io_codec *codec, const struct eng_crypt_key *key,
                         uint8_t *frame, size_t len, struct eng_frame_header *h, void *raw,
                         size_t raw_cap, struct ibs_err *err);

/* eng_crypt_frame_open with the data key of the backup whose object
 * ("backups/<id>/...") holds the frame, under the process's repository key;
 * without one, the plain eng_frame_decode. */
int eng_crypt_frame_decode(struct io_codec *codec, const char *object_key, uint8_t *frame,
                           size_t len, struct eng_frame_header *h, void *raw, size_t raw_cap,
                           struct ibs_err *err);

/* --- manifests (crypt_manifest.c) --- */

/* Replaces *data (malloc'd, *len bytes) with its envelope under backup id's
 * data key when the repository is encrypted; no change otherwise. */
int eng_crypt_manifest_seal(const char *id, char **data, size_t *len, struct ibs_err *err);

/* The reverse: replaces an envelope in *data by the manifest text. An envelope
 * without a key, or a plaintext manifest in an encrypted repository, fails. */
int eng_crypt_manifest_open(const char *id, void **data, size_t *len, struct ibs_err *err);

#endif
