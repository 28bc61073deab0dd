/* ib_logfile0 header block and checkpoint blocks: validation as
 * recv_sys_t::find_checkpoint() (log/log0recv.cc) does it, and writers matching
 * log_t::header_write() (log/log0log.cc), log_t::write_checkpoint()
 * (buf/buf0flu.cc) and mariabackup's log_hdr_init() (extra/mariabackup/xtrabackup.cc). */
#include "redo/log.h"
#include "redo/mtr.h"

#include <stdio.h>
#include <string.h>

const char *redo_log_format_name(enum redo_log_format format)
{
    switch (format) {
    case REDO_FORMAT_10_8:
        return "10.8";
    case REDO_FORMAT_ENC_10_8:
        return "10.8 encrypted";
    case REDO_FORMAT_ENC_11:
        return "11 encrypted";
    }
    return "?";
}

/* Names of the formats the server itself can only upgrade from (log0log.h). */
static const char *old_format_name(uint32_t id)
{
    switch (id) {
    case 0:
        return "3.23";
    case 1:
    case 0x80000001u:
        return "10.2";
    case 103:
    case 0x80000000u | 103:
        return "10.3";
    case 104:
    case 0x80000000u | 104:
        return "10.4";
    case REDO_LOG_FORMAT_10_5:
    case 0x80000000u | REDO_LOG_FORMAT_10_5:
        return "10.5";
    }
    return NULL;
}

static bool all_zero(const uint8_t *p, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (p[i])
            return false;
    return true;
}

int redo_log_header_parse(const uint8_t *block, size_t len, struct redo_log_header *hdr,
                          struct ibs_err *err)
{
    if (len < REDO_LOG_HEADER_SIZE)
        return ibs_err_set(err, IBS_E_REDO, "ib_logfile0: header block truncated (%zu bytes)", len);

    uint32_t id = redo_mach_read_4(block + LOG_HEADER_FORMAT);
    if (id != REDO_LOG_FORMAT_10_8 && id != REDO_LOG_FORMAT_ENC_11) {
        const char *old = old_format_name(id);
        if (old)
            return ibs_err_set(err, IBS_E_REDO,
                               "ib_logfile0: redo log format %s (0x%08x) is not supported; "
                               "MariaDB 10.8 or newer is required",
                               old, id);
        return ibs_err_set(err, IBS_E_REDO,
                           "ib_logfile0: unknown redo log format 0x%08x; "
                           "MariaDB 10.8 or newer is required",
                           id);
    }
    if (redo_mach_read_4(block + LOG_HEADER_CRC) != redo_crc32c(0, block, LOG_HEADER_CRC))
        return ibs_err_set(err, IBS_E_REDO, "ib_logfile0: header block checksum mismatch");
    if (redo_mach_read_4(block + 4))
        return ibs_err_set(err, IBS_E_REDO, "ib_logfile0: invalid header block (bytes 4..7 not 0)");

    memset(hdr, 0, sizeof(*hdr));
    hdr->first_lsn = redo_mach_read_8(block + LOG_HEADER_START_LSN);
    if (hdr->first_lsn < REDO_LOG_START_OFFSET)
        return ibs_err_set(err, IBS_E_REDO, "ib_logfile0: first LSN %llu is below %d",
                           (unsigned long long)hdr->first_lsn, REDO_LOG_START_OFFSET);
    memcpy(hdr->creator, block + LOG_HEADER_CREATOR, LOG_HEADER_CREATOR_LEN);

    /* log_crypt_read_header() (log/log0crypt.cc): key id, key version, crypt_msg, nonce. */
    const uint8_t *crypt = block + LOG_HEADER_CRYPT;
    uint32_t key_id = redo_mach_read_4(crypt);
    if (id == REDO_LOG_FORMAT_ENC_11 || key_id) {
        if (key_id != 1)
            return ibs_err_set(err, IBS_E_REDO,
                               "ib_logfile0: encrypted redo log with key id %u (expected 1)",
                               key_id);
        hdr->format = id == REDO_LOG_FORMAT_ENC_11 ? REDO_FORMAT_ENC_11 : REDO_FORMAT_ENC_10_8;
        hdr->key_id = key_id;
        hdr->key_version = redo_mach_read_4(crypt + 4);
        memcpy(hdr->crypt_msg, crypt + 8, sizeof(hdr->crypt_msg));
        memcpy(hdr->crypt_nonce, crypt + 24, sizeof(hdr->crypt_nonce));
    } else {
        hdr->format = REDO_FORMAT_10_8;
    }
    return 0;
}

int redo_log_checkpoint_parse(const uint8_t *block, uint64_t first_lsn,
                              struct redo_checkpoint *ckpt, struct ibs_err *err)
{
    uint64_t lsn = redo_mach_read_8(block);
    uint64_t end_lsn = redo_mach_read_8(block + 8);

    if (redo_mach_read_4(block + 60) != redo_crc32c(0, block, 60))
        return ibs_err_set(err, IBS_E_REDO, "checkpoint block checksum mismatch");
    if (!all_zero(block + 16, 44))
        return ibs_err_set(err, IBS_E_REDO, "checkpoint block at LSN %llu: bytes 16..59 not zero",
                           (unsigned long long)lsn);
    if (lsn < first_lsn)
        return ibs_err_set(err, IBS_E_REDO,
                           "checkpoint LSN %llu is before the log's first LSN %llu",
                           (unsigned long long)lsn, (unsigned long long)first_lsn);
    if (end_lsn < lsn)
        return ibs_err_set(err, IBS_E_REDO, "checkpoint LSN %llu has end LSN %llu before it",
                           (unsigned long long)lsn, (unsigned long long)end_lsn);
    ckpt->checkpoint_lsn = lsn;
    ckpt->end_lsn = end_lsn;
    ckpt->block = 0;
    return 0;
}

int redo_log_find_checkpoint(const uint8_t *file, size_t len, uint64_t first_lsn,
                             struct redo_checkpoint *ckpt, struct ibs_err *err)
{
    static const size_t offsets[2] = {REDO_LOG_CHECKPOINT_1, REDO_LOG_CHECKPOINT_2};
    char why[2][256];
    bool found = false;

    if (len < REDO_LOG_CHECKPOINT_2 + REDO_LOG_CHECKPOINT_SIZE)
        return ibs_err_set(err, IBS_E_REDO, "ib_logfile0: checkpoint blocks truncated (%zu bytes)",
                           len);
    for (int i = 0; i < 2; i++) {
        struct redo_checkpoint c;
        struct ibs_err e;
        why[i][0] = 0;
        if (redo_log_checkpoint_parse(file + offsets[i], first_lsn, &c, &e)) {
            snprintf(why[i], sizeof(why[i]), "%.200s", e.msg);
            continue;
        }
        /* `>=`: on a tie the second block examined wins, as in find_checkpoint(). */
        if (!found || c.checkpoint_lsn >= ckpt->checkpoint_lsn) {
            *ckpt = c;
            ckpt->block = i + 1;
            found = true;
        }
    }
    if (!found)
        return ibs_err_set(err, IBS_E_REDO,
                           "ib_logfile0: no valid checkpoint (block 1: %s; block 2: %s)", why[0],
                           why[1]);
    return 0;
}

int redo_log_geom_init(struct redo_log_geom *geom, const struct redo_log_header *hdr,
                       uint64_t file_size, struct ibs_err *err)
{
    if (file_size < REDO_LOG_MIN_FILE_SIZE)
        return ibs_err_set(err, IBS_E_REDO, "ib_logfile0: %llu bytes is too small (at least %d)",
                           (unsigned long long)file_size, REDO_LOG_MIN_FILE_SIZE);
    geom->first_lsn = hdr->first_lsn;
    geom->capacity = file_size - REDO_LOG_START_OFFSET;
    geom->format = hdr->format;
    return 0;
}

void redo_log_header_init(struct redo_log_header *hdr, uint64_t first_lsn, const char *creator)
{
    memset(hdr, 0, sizeof(*hdr));
    hdr->format = REDO_FORMAT_10_8;
    hdr->first_lsn = first_lsn;
    snprintf(hdr->creator, sizeof(hdr->creator), "%s", creator ? creator : "");
}

void redo_log_header_write(const struct redo_log_header *hdr, uint8_t block[REDO_LOG_HEADER_SIZE])
{
    memset(block, 0, REDO_LOG_HEADER_SIZE);
    redo_mach_write_4(block + LOG_HEADER_FORMAT, hdr->format == REDO_FORMAT_ENC_11
                                                     ? REDO_LOG_FORMAT_ENC_11
                                                     : REDO_LOG_FORMAT_10_8);
    redo_mach_write_8(block + LOG_HEADER_START_LSN, hdr->first_lsn);
    memcpy(block + LOG_HEADER_CREATOR, hdr->creator, strnlen(hdr->creator, LOG_HEADER_CREATOR_LEN));
    if (redo_log_format_encrypted(hdr->format)) {
        uint8_t *crypt = block + LOG_HEADER_CRYPT;
        redo_mach_write_4(crypt, hdr->key_id);
        redo_mach_write_4(crypt + 4, hdr->key_version);
        memcpy(crypt + 8, hdr->crypt_msg, sizeof(hdr->crypt_msg));
        memcpy(crypt + 24, hdr->crypt_nonce, sizeof(hdr->crypt_nonce));
    }
    redo_mach_write_4(block + LOG_HEADER_CRC, redo_crc32c(0, block, LOG_HEADER_CRC));
}

void redo_log_checkpoint_write(uint64_t checkpoint_lsn, uint64_t end_lsn,
                               uint8_t block[REDO_LOG_CHECKPOINT_SIZE])
{
    memset(block, 0, REDO_LOG_CHECKPOINT_SIZE);
    redo_mach_write_8(block, checkpoint_lsn);
    redo_mach_write_8(block + 8, end_lsn);
    redo_mach_write_4(block + 60, redo_crc32c(0, block, 60));
}

void redo_log_write_file_start(const struct redo_log_header *hdr, uint64_t checkpoint_lsn,
                               uint64_t end_lsn, uint8_t area[REDO_LOG_START_OFFSET])
{
    memset(area, 0, REDO_LOG_START_OFFSET);
    redo_log_header_write(hdr, area);
    redo_log_checkpoint_write(checkpoint_lsn, end_lsn, area + REDO_LOG_CHECKPOINT_1);
}

void redo_log_file_checkpoint_mtr(uint64_t checkpoint_lsn,
                                  uint8_t mtr[REDO_FILE_CHECKPOINT_MTR_SIZE])
{
    /* FILE_CHECKPOINT | 10 bytes: space id 0, page 0, 8-byte LSN (mtr_t::commit_files()). */
    mtr[0] = 0xF0 | 10;
    mtr[1] = 0;
    mtr[2] = 0;
    redo_mach_write_8(mtr + 3, checkpoint_lsn);
    mtr[11] = 1;
    redo_mach_write_4(mtr + 12, redo_crc32c(0, mtr, 11));
}

size_t redo_log_file_modify_mtr(uint32_t space_id, const char *name, uint8_t *out, size_t cap)
{
    uint8_t ids[6];
    size_t id_len = redo_varint_encode(ids, space_id);
    ids[id_len++] = 0; /* page 0 */
    size_t name_len = strlen(name);
    size_t rest = id_len + name_len; /* after the type byte and any length bytes */
    uint8_t len[5];
    size_t len_len = 0;
    if (rest > 15) {
        /* Long form (mtr_t::log_write()): the varint v gives a total of 16 + v
         * bytes; v counts its own bytes, so try 1 then 2 of them. */
        size_t v = 1 + 1 + rest - 16;
        len_len = redo_varint_encode(len, (uint32_t)v);
        if (len_len != 1) {
            v = 1 + 2 + rest - 16;
            len_len = redo_varint_encode(len, (uint32_t)v);
        }
    }
    size_t total = 1 + len_len + rest;
    if (total + 5 > cap || len_len > 2)
        return 0;
    out[0] = (uint8_t)(0xB0 | (len_len ? 0 : rest));
    memcpy(out + 1, len, len_len);
    memcpy(out + 1 + len_len, ids, id_len);
    memcpy(out + 1 + len_len + id_len, name, name_len);
    out[total] = 1;
    redo_mach_write_4(out + total + 1, redo_crc32c(0, out, total));
    return total + 5;
}

void redo_log_write_prepared(uint64_t end_lsn, const char *creator,
                             uint8_t file[REDO_PREPARED_LOG_SIZE])
{
    struct redo_log_header hdr;
    uint64_t lsn = end_lsn - REDO_FILE_CHECKPOINT_MTR_SIZE;

    redo_log_header_init(&hdr, lsn, creator);
    redo_log_write_file_start(&hdr, lsn, lsn, file);
    redo_log_file_checkpoint_mtr(lsn, file + REDO_LOG_START_OFFSET);
}
