/* The MariaDB 10.8+ redo log file ib_logfile0: its header block, the two
 * checkpoint blocks, the mapping between LSNs and file offsets, and writers for
 * the header area of a backup's or a prepared directory's ib_logfile0.
 * Layout facts: storage/innobase/include/log0log.h, log/log0log.cc,
 * log/log0recv.cc (recv_sys_t::find_checkpoint()), buf/buf0flu.cc
 * (log_t::write_checkpoint()), extra/mariabackup/xtrabackup.cc (log_hdr_init()). */
#ifndef IBS_REDO_LOG_H
#define IBS_REDO_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

/* File layout (log_t::CHECKPOINT_1, CHECKPOINT_2, START_OFFSET in log0log.h). */
#define REDO_LOG_HEADER_SIZE 512
#define REDO_LOG_CHECKPOINT_1 4096
#define REDO_LOG_CHECKPOINT_2 8192
#define REDO_LOG_CHECKPOINT_SIZE 64
#define REDO_LOG_START_OFFSET 12288
/* The smallest valid file: the header area and one FILE_CHECKPOINT mtr. */
#define REDO_LOG_MIN_FILE_SIZE (REDO_LOG_START_OFFSET + 16)

/* Header block fields. */
#define LOG_HEADER_FORMAT 0
#define LOG_HEADER_START_LSN 8
#define LOG_HEADER_CREATOR 16
#define LOG_HEADER_CREATOR_LEN 32
#define LOG_HEADER_CRYPT 48 /* key id 4, key version 4, crypt_msg 16, nonce 4 */
#define LOG_HEADER_CRC 508

/* On-disk format identifiers (log_t::FORMAT_* in log0log.h). */
#define REDO_LOG_FORMAT_10_8 0x50687973u   /* "Phys" */
#define REDO_LOG_FORMAT_ENC_11 0xF09F979Du /* U+1F5DD in UTF-8 */
#define REDO_LOG_FORMAT_10_5 0x50485953u   /* "PHYS", refused */

enum redo_log_format {
    REDO_FORMAT_10_8,     /* unencrypted */
    REDO_FORMAT_ENC_10_8, /* 0x50687973 with a key id in the header: legacy encryption */
    REDO_FORMAT_ENC_11,   /* MDEV-36024 encryption */
};

struct redo_log_header {
    enum redo_log_format format;
    uint64_t first_lsn;                       /* LSN of file offset 12288 */
    char creator[LOG_HEADER_CREATOR_LEN + 1]; /* NUL-terminated copy */
    uint32_t key_id;                          /* encrypted formats only, else 0 */
    uint32_t key_version;
    uint8_t crypt_msg[16];
    uint8_t crypt_nonce[4];
};

struct redo_checkpoint {
    uint64_t checkpoint_lsn; /* where reading the log starts */
    uint64_t end_lsn;        /* where the FILE_CHECKPOINT group starts */
    int block;               /* 1 or 2: which block held it */
};

/* Where LSNs live in the circular body of one ib_logfile0. */
struct redo_log_geom {
    uint64_t first_lsn;
    uint64_t capacity; /* file size - 12288 */
    enum redo_log_format format;
};

/* True for the encrypted formats (their mtrs carry an 8-byte nonce). */
static inline bool redo_log_format_encrypted(enum redo_log_format format)
{
    return format != REDO_FORMAT_10_8;
}

/* Name of a format for messages: "10.8", "10.8 encrypted", "11 encrypted". */
const char *redo_log_format_name(enum redo_log_format format);

/* Parses and validates the header block (len >= 512 bytes from file offset 0).
 * Older formats are refused naming the format ("MariaDB 10.8 or newer is
 * required"); a bad CRC, non-zero reserved bytes or first_lsn < 12288 are
 * IBS_E_REDO too. */
int redo_log_header_parse(const uint8_t *block, size_t len, struct redo_log_header *hdr,
                          struct ibs_err *err);

/* Validates one checkpoint block (64 bytes) as find_checkpoint() does: CRC, bytes
 * 16..59 zero, checkpoint_lsn >= first_lsn, end_lsn >= checkpoint_lsn. */
int redo_log_checkpoint_parse(const uint8_t *block, uint64_t first_lsn,
                              struct redo_checkpoint *ckpt, struct ibs_err *err);

/* Picks the latest valid checkpoint from the first len >= 8256 bytes of the file
 * (block 2 wins a tie). IBS_E_REDO "no valid checkpoint" if neither is valid. */
int redo_log_find_checkpoint(const uint8_t *file, size_t len, uint64_t first_lsn,
                             struct redo_checkpoint *ckpt, struct ibs_err *err);

/* Fills geom for a file of file_size bytes; IBS_E_REDO if the file is too small. */
int redo_log_geom_init(struct redo_log_geom *geom, const struct redo_log_header *hdr,
                       uint64_t file_size, struct ibs_err *err);

/* File offset of lsn (lsn >= first_lsn): log_t::calc_lsn_offset(). */
static inline uint64_t redo_log_offset(const struct redo_log_geom *geom, uint64_t lsn)
{
    return REDO_LOG_START_OFFSET + (lsn - geom->first_lsn) % geom->capacity;
}

/* The value the end-of-mtr byte must have at lsn: 1 on even laps, 0 on odd ones
 * (log_t::get_sequence_bit()). */
static inline uint8_t redo_log_sequence_bit(const struct redo_log_geom *geom, uint64_t lsn)
{
    return (uint8_t)(((lsn - geom->first_lsn) / geom->capacity) & 1) ^ 1;
}

/* Fills hdr for an unencrypted FORMAT_10_8 log whose offset 12288 is first_lsn.
 * creator is truncated to 32 bytes; a creator starting with "Backup " tells the
 * server it starts on a restored backup (find_checkpoint()). */
void redo_log_header_init(struct redo_log_header *hdr, uint64_t first_lsn, const char *creator);

/* Writes the 512-byte header block for hdr (format, first_lsn, creator, the
 * encryption fields for encrypted formats, CRC-32C). An ENC_10_8 header is
 * written with the on-disk id 0x50687973 and its key id, as the server does. */
void redo_log_header_write(const struct redo_log_header *hdr, uint8_t block[REDO_LOG_HEADER_SIZE]);

/* Writes a 64-byte checkpoint block. */
void redo_log_checkpoint_write(uint64_t checkpoint_lsn, uint64_t end_lsn,
                               uint8_t block[REDO_LOG_CHECKPOINT_SIZE]);

/* Writes the 12288-byte header area of a backup log as mariabackup does
 * (§5.2/§5.5): header block for hdr, checkpoint block 1 = (checkpoint_lsn,
 * end_lsn), block 2 and all padding zero. For the raw layout hdr->first_lsn is
 * the checkpoint LSN and the copied mtrs follow at offset 12288 with each end
 * byte set to 1 (redo_mtr_end_byte_offset()). */
void redo_log_write_file_start(const struct redo_log_header *hdr, uint64_t checkpoint_lsn,
                               uint64_t end_lsn, uint8_t area[REDO_LOG_START_OFFSET]);

/* The 16-byte unencrypted FILE_CHECKPOINT(checkpoint_lsn) mtr with end byte 1:
 * `FA 00 00 <lsn BE8> 01 <CRC-32C of the first 11 bytes>`. */
#define REDO_FILE_CHECKPOINT_MTR_SIZE 16
void redo_log_file_checkpoint_mtr(uint64_t checkpoint_lsn,
                                  uint8_t mtr[REDO_FILE_CHECKPOINT_MTR_SIZE]);

/* A FILE_MODIFY(space_id, name) mtr with end byte 1, as the server writes
 * one per modified tablespace in a checkpoint's group (fil_names_write()):
 * `B0|len [len bytes] <space varint> 00 <name> 01 <CRC-32C>`. name is the
 * server's spelling ("./db/t.ibd", or absolute). Returns its length, or 0
 * when it does not fit in cap bytes. */
size_t redo_log_file_modify_mtr(uint32_t space_id, const char *name, uint8_t *out, size_t cap);

/* The complete ib_logfile0 that prepare leaves behind (§5.11): 12304 bytes,
 * header with first_lsn = end_lsn - 16, checkpoint block 1 = (that, that), then
 * FILE_CHECKPOINT(that), so the log ends exactly at end_lsn (the end of the
 * applied log). end_lsn must be >= 12288 + 16. */
#define REDO_PREPARED_LOG_SIZE (REDO_LOG_START_OFFSET + REDO_FILE_CHECKPOINT_MTR_SIZE)
void redo_log_write_prepared(uint64_t end_lsn, const char *creator,
                             uint8_t file[REDO_PREPARED_LOG_SIZE]);

/* CRC-32C with my_crc32c semantics (chaining, start with 0). */
uint32_t redo_crc32c(uint32_t crc, const void *data, size_t len);

/* Big-endian field access, as mach_read_from_N()/mach_write_to_N() (mach0data.inl). */
static inline uint32_t redo_mach_read_2(const uint8_t *b)
{
    return (uint32_t)b[0] << 8 | b[1];
}
static inline uint32_t redo_mach_read_4(const uint8_t *b)
{
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}
static inline uint64_t redo_mach_read_8(const uint8_t *b)
{
    return (uint64_t)redo_mach_read_4(b) << 32 | redo_mach_read_4(b + 4);
}
static inline void redo_mach_write_2(uint8_t *b, uint32_t v)
{
    b[0] = (uint8_t)(v >> 8);
    b[1] = (uint8_t)v;
}
static inline void redo_mach_write_4(uint8_t *b, uint32_t v)
{
    b[0] = (uint8_t)(v >> 24);
    b[1] = (uint8_t)(v >> 16);
    b[2] = (uint8_t)(v >> 8);
    b[3] = (uint8_t)v;
}
static inline void redo_mach_write_8(uint8_t *b, uint64_t v)
{
    redo_mach_write_4(b, (uint32_t)(v >> 32));
    redo_mach_write_4(b + 4, (uint32_t)v);
}

#endif
