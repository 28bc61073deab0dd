/* Mini-transactions of the 10.8+ redo log: framing (record lengths, end byte,
 * nonce, CRC-32C) and the decoding of every record into a struct redo_rec.
 * Formats: storage/innobase/include/mtr0types.h, include/mtr0log.h,
 * log/log0recv.cc (log_parse_start(), recv_sys_t::parse_tail(), log_parse_file()). */
#ifndef IBS_REDO_MTR_H
#define IBS_REDO_MTR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "redo/log.h"

/* recv_sys_t::MTR_SIZE_MAX (log0recv.h): larger mtrs are treated as end of log. */
#define REDO_MTR_SIZE_MAX (1u << 20)

/* ---- variable-length integers (mlog_decode_varint(), log0recv.cc) ---- */

#define REDO_VARINT_MIN_2BYTE 0x80u
#define REDO_VARINT_MIN_3BYTE (REDO_VARINT_MIN_2BYTE + (1u << 14))
#define REDO_VARINT_MIN_4BYTE (REDO_VARINT_MIN_3BYTE + (1u << 21))
#define REDO_VARINT_MIN_5BYTE (REDO_VARINT_MIN_4BYTE + (1u << 28))
#define REDO_VARINT_ERROR 0xFFFFFFFFu

/* Encoded length implied by the first byte: 1 + its leading one bits (1..9). */
static inline unsigned redo_varint_len(uint8_t first)
{
    return first == 0xff ? 9 : (unsigned)__builtin_clz((unsigned)(uint8_t)~first) - 23;
}

/* Decodes the varint at p (the caller guarantees redo_varint_len(*p) bytes, at
 * most 5 are read); REDO_VARINT_ERROR for 0xF1..0xFF or a 5-byte overflow. */
static inline uint32_t redo_varint_decode(const uint8_t *p)
{
    uint32_t i = p[0];
    if (i < 0x80)
        return i;
    if (i < 0xc0)
        return REDO_VARINT_MIN_2BYTE + ((i & 0x3f) << 8 | p[1]);
    if (i < 0xe0)
        return REDO_VARINT_MIN_3BYTE + ((i & 0x1f) << 16 | (uint32_t)p[1] << 8 | p[2]);
    if (i < 0xf0)
        return REDO_VARINT_MIN_4BYTE +
               ((i & 0x0f) << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]);
    if (i == 0xf0) {
        uint32_t v = redo_mach_read_4(p + 1);
        if (v <= ~REDO_VARINT_MIN_5BYTE)
            return REDO_VARINT_MIN_5BYTE + v;
    }
    return REDO_VARINT_ERROR;
}

/* Encodes v (mlog_encode_varint(), mtr0log.h); returns the bytes written (1..5). */
size_t redo_varint_encode(uint8_t *out, uint32_t v);

/* ---- framing ---- */

enum redo_mtr_status {
    REDO_MTR_OK,        /* a complete, valid mtr of mtr->len bytes */
    REDO_MTR_END,       /* no valid mtr here (end of log); mtr->end_reason says why */
    REDO_MTR_NEED_MORE, /* the window ends inside the mtr: read more and retry */
};

enum redo_mtr_end_reason {
    REDO_END_NONE,
    REDO_END_MARKER,   /* first byte 0 or 1: nothing written here yet */
    REDO_END_TOO_LONG, /* the records exceed 1 MiB, or a length is undecodable */
    REDO_END_SEQUENCE, /* end byte from another lap of the circular file */
    REDO_END_CRC,      /* checksum mismatch: torn or stale data */
};

struct redo_mtr {
    uint64_t lsn;         /* LSN of the first byte */
    uint32_t len;         /* total bytes: records, end byte, [nonce], CRC */
    uint32_t records_len; /* bytes of records; the end byte is at lsn + records_len */
    enum redo_mtr_end_reason end_reason;
};

/* Validates the mtr that starts at buf (LSN lsn) as log_parse_start() does:
 * walks record lengths (1 MiB cap), checks the end byte against the sequence
 * bit at its LSN, then CRC-32C over the records (+ nonce). buf holds len
 * contiguous log bytes (the caller linearises the circular wrap). No allocation. */
enum redo_mtr_status redo_mtr_scan(const struct redo_log_geom *geom, const uint8_t *buf, size_t len,
                                   uint64_t lsn, struct redo_mtr *mtr);

/* Offset of the end byte within the mtr's bytes (a backup log stores it as 1). */
static inline size_t redo_mtr_end_byte_offset(const struct redo_mtr *mtr)
{
    return mtr->records_len;
}

/* Name of an end reason for messages. */
const char *redo_mtr_end_reason_name(enum redo_mtr_end_reason reason);

/* ---- records ---- */

/* Record types: page records (first byte & 0x70) and file records (& 0xF0). */
enum redo_rec_type {
    REDO_FREE_PAGE = 0x00,
    REDO_INIT_PAGE = 0x10,
    REDO_EXTENDED = 0x20,
    REDO_WRITE = 0x30,
    REDO_MEMSET = 0x40,
    REDO_MEMMOVE = 0x50,
    REDO_RESERVED = 0x60,
    REDO_OPTION = 0x70,
    REDO_FILE_CREATE = 0x80,
    REDO_FILE_DELETE = 0x90,
    REDO_FILE_RENAME = 0xA0,
    REDO_FILE_MODIFY = 0xB0,
    REDO_FILE_CHECKPOINT = 0xF0,
};

/* EXTENDED subtypes (mrec_ext_t, mtr0types.h). */
enum redo_ext_type {
    REDO_EXT_INIT_ROW_FORMAT_REDUNDANT = 0,
    REDO_EXT_INIT_ROW_FORMAT_DYNAMIC = 1,
    REDO_EXT_UNDO_INIT = 2,
    REDO_EXT_UNDO_APPEND = 3,
    REDO_EXT_INSERT_HEAP_REDUNDANT = 4,
    REDO_EXT_INSERT_REUSE_REDUNDANT = 5,
    REDO_EXT_INSERT_HEAP_DYNAMIC = 6,
    REDO_EXT_INSERT_REUSE_DYNAMIC = 7,
    REDO_EXT_DELETE_ROW_FORMAT_REDUNDANT = 8,
    REDO_EXT_DELETE_ROW_FORMAT_DYNAMIC = 9,
    REDO_EXT_TRIM_PAGES = 10,
};

/* The FIL_PAGE_TYPE offset: the current offset after INIT_PAGE and EXTENDED. */
#define REDO_OFFSET_AFTER_INIT 24
/* "No same-page record may follow" (after FREE_PAGE and TRIM_PAGES). */
#define REDO_OFFSET_NONE 1

/* redo_rec_next() assigns every field one by one: a new field must be set there. */
struct redo_rec {
    enum redo_rec_type type;
    bool same_page;     /* page record without its own page id */
    bool padding;       /* a FILE_CHECKPOINT padding/dummy record: ignore */
    uint32_t space_id;  /* for same-page records: of the previous record */
    uint32_t page_no;   /* TRIM_PAGES: the new size in pages */
    uint64_t lsn;       /* LSN of the record's first byte */
    const uint8_t *rec; /* the whole record (first byte ...) */
    uint32_t rec_len;
    const uint8_t *payload; /* after length bytes and page id */
    uint32_t payload_len;

    /* WRITE, MEMSET, MEMMOVE: resolved absolute target offset and length;
     * data = the written bytes (WRITE) or the fill pattern (MEMSET). */
    uint32_t offset;
    uint32_t len;
    uint32_t src; /* MEMMOVE: absolute source offset */
    const uint8_t *data;
    uint32_t data_len;

    uint8_t subtype; /* EXTENDED: enum redo_ext_type; OPTION: its subtype byte */
    /* EXTENDED insert/delete fields (§2.6); literal bytes in data/data_len. */
    uint32_t prev, shift, enc_hdr, hdr_c, data_c, hdr_size, data_size;

    /* FILE_*: names (not NUL-terminated); FILE_RENAME: new_name too. */
    const char *name;
    uint32_t name_len;
    const char *new_name;
    uint32_t new_name_len;
    uint64_t checkpoint_lsn; /* FILE_CHECKPOINT */
};

/* Walks the records of one validated mtr. */
struct redo_rec_iter {
    const uint8_t *pos, *end; /* end = the end byte */
    uint64_t lsn;             /* of pos */
    uint32_t page_size;       /* innodb_page_size, bounds offsets */
    uint32_t space_id, page_no;
    uint32_t last_offset; /* the "current offset" of §2.4 */
    bool got_page_op;
};

/* Starts iterating the records of mtr whose bytes are at buf. page_size is the
 * instance's innodb_page_size (4096..65536). Encrypted formats are refused with
 * IBS_E_REDO "encrypted redo log is not supported yet". */
int redo_rec_iter_init(struct redo_rec_iter *it, const struct redo_mtr *mtr, const uint8_t *buf,
                       enum redo_log_format format, uint32_t page_size, struct ibs_err *err);

/* Continues decoding page records kept apart from their mtr (redo/recv.c
 * stores the records of one page as the log has them): len bytes at buf, the
 * first one for page space_id:page_no with the "current offset" last_offset
 * (§2.4), same-page records included. lsn is the record's mini-transaction, for
 * messages. Records are checked against the largest page size: they were
 * checked against the instance's when they were collected, and decode the same. */
void redo_rec_iter_resume(struct redo_rec_iter *it, const uint8_t *buf, size_t len,
                          uint32_t space_id, uint32_t page_no, uint32_t last_offset, uint64_t lsn);

/* True while records remain. */
static inline bool redo_rec_iter_more(const struct redo_rec_iter *it)
{
    return it->pos < it->end;
}

/* Decodes the next record into rec (pointers into the mtr's bytes). A corrupt
 * record is IBS_E_REDO naming its LSN, page and the reason; the iterator is
 * then finished. redo_rec_frame() then redo_rec_decode(). */
int redo_rec_next(struct redo_rec_iter *it, struct redo_rec *rec, struct ibs_err *err);

/* The two halves of redo_rec_next(), for a reader that needs few records in
 * full (the pre-scan): redo_rec_frame() reads the next record's type, length
 * and page id into rec (type, same_page, padding, space_id, page_no, lsn, rec,
 * rec_len, payload, payload_len; the rest zero) and moves past it;
 * redo_rec_decode() then decodes and checks the rest of that record. A record
 * framed and not decoded leaves the "current offset" of §2.4 unknown: the
 * same-page WRITE, MEMSET and MEMMOVE records that follow it (same page) must
 * not be decoded either. */
int redo_rec_frame(struct redo_rec_iter *it, struct redo_rec *rec, struct ibs_err *err);
int redo_rec_decode(struct redo_rec_iter *it, struct redo_rec *rec, struct ibs_err *err);

/* Name of a record type ("WRITE", "FILE_MODIFY", ...) and of an EXTENDED subtype. */
const char *redo_rec_type_name(enum redo_rec_type type);
const char *redo_ext_type_name(unsigned subtype);

#endif
