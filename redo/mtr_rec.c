/* Decoding the records of one validated mini-transaction, with the checks of
 * recv_sys_t::parse_tail() and log_parse_file() (log/log0recv.cc) and the
 * EXTENDED field limits of log_phys_t::apply(). Pure: pointers into the mtr. */
#include "redo/mtr.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Tablespace ids from here on are not redo-logged (SRV_SPACE_ID_UPPER_BOUND). */
#define SRV_SPACE_ID_UPPER_BOUND 0xFFFFFFF0u
/* FILE_CHECKPOINT padding payloads may be this long (UNIV_PAGE_SIZE_MAX). */
#define FILE_CHECKPOINT_PAD_MAX 65536u

size_t redo_varint_encode(uint8_t *out, uint32_t v)
{
    if (v < REDO_VARINT_MIN_2BYTE) {
        out[0] = (uint8_t)v;
        return 1;
    }
    if (v < REDO_VARINT_MIN_3BYTE) {
        v -= REDO_VARINT_MIN_2BYTE;
        out[0] = (uint8_t)(0x80 | v >> 8);
        out[1] = (uint8_t)v;
        return 2;
    }
    if (v < REDO_VARINT_MIN_4BYTE) {
        v -= REDO_VARINT_MIN_3BYTE;
        out[0] = (uint8_t)(0xc0 | v >> 16);
        out[1] = (uint8_t)(v >> 8);
        out[2] = (uint8_t)v;
        return 3;
    }
    if (v < REDO_VARINT_MIN_5BYTE) {
        v -= REDO_VARINT_MIN_4BYTE;
        out[0] = (uint8_t)(0xe0 | v >> 24);
        out[1] = (uint8_t)(v >> 16);
        out[2] = (uint8_t)(v >> 8);
        out[3] = (uint8_t)v;
        return 4;
    }
    out[0] = 0xf0;
    redo_mach_write_4(out + 1, v - REDO_VARINT_MIN_5BYTE);
    return 5;
}

const char *redo_rec_type_name(enum redo_rec_type type)
{
    switch (type) {
    case REDO_FREE_PAGE:
        return "FREE_PAGE";
    case REDO_INIT_PAGE:
        return "INIT_PAGE";
    case REDO_EXTENDED:
        return "EXTENDED";
    case REDO_WRITE:
        return "WRITE";
    case REDO_MEMSET:
        return "MEMSET";
    case REDO_MEMMOVE:
        return "MEMMOVE";
    case REDO_RESERVED:
        return "RESERVED";
    case REDO_OPTION:
        return "OPTION";
    case REDO_FILE_CREATE:
        return "FILE_CREATE";
    case REDO_FILE_DELETE:
        return "FILE_DELETE";
    case REDO_FILE_RENAME:
        return "FILE_RENAME";
    case REDO_FILE_MODIFY:
        return "FILE_MODIFY";
    case REDO_FILE_CHECKPOINT:
        return "FILE_CHECKPOINT";
    }
    return "?";
}

const char *redo_ext_type_name(unsigned subtype)
{
    static const char *const names[] = {
        "INIT_ROW_FORMAT_REDUNDANT",
        "INIT_ROW_FORMAT_DYNAMIC",
        "UNDO_INIT",
        "UNDO_APPEND",
        "INSERT_HEAP_REDUNDANT",
        "INSERT_REUSE_REDUNDANT",
        "INSERT_HEAP_DYNAMIC",
        "INSERT_REUSE_DYNAMIC",
        "DELETE_ROW_FORMAT_REDUNDANT",
        "DELETE_ROW_FORMAT_DYNAMIC",
        "TRIM_PAGES",
    };
    return subtype < sizeof(names) / sizeof(names[0]) ? names[subtype] : "?";
}

int redo_rec_iter_init(struct redo_rec_iter *it, const struct redo_mtr *mtr, const uint8_t *buf,
                       enum redo_log_format format, uint32_t page_size, struct ibs_err *err)
{
    memset(it, 0, sizeof(*it));
    it->pos = it->end = buf;
    if (redo_log_format_encrypted(format))
        return ibs_err_set(err, IBS_E_REDO,
                           "mini-transaction at LSN %llu: encrypted redo log is not supported yet",
                           (unsigned long long)mtr->lsn);
    if (page_size < 4096 || page_size > 65536 || (page_size & (page_size - 1)))
        return ibs_err_set(err, IBS_E_INTERNAL, "redo: invalid page size %u", page_size);
    it->end = buf + mtr->records_len;
    it->lsn = mtr->lsn;
    it->page_size = page_size;
    return 0;
}

void redo_rec_iter_resume(struct redo_rec_iter *it, const uint8_t *buf, size_t len,
                          uint32_t space_id, uint32_t page_no, uint32_t last_offset, uint64_t lsn)
{
    it->pos = buf;
    it->end = buf + len;
    it->lsn = lsn;
    it->page_size = 65536; /* UNIV_PAGE_SIZE_MAX */
    it->space_id = space_id;
    it->page_no = page_no;
    it->last_offset = last_offset;
    it->got_page_op = true; /* a record with bit 7 set is a same-page record */
}

/* A corrupt record: report it and finish the iteration. */
__attribute__((format(printf, 4, 5))) static int corrupt(struct redo_rec_iter *it,
                                                         const struct redo_rec *rec,
                                                         struct ibs_err *err, const char *fmt, ...)
{
    char why[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof(why), fmt, ap);
    va_end(ap);
    it->pos = it->end;
    if (rec->type < REDO_FILE_CREATE && (!rec->same_page || it->got_page_op))
        return ibs_err_set(err, IBS_E_REDO, "redo record %s at LSN %llu (page %u:%u): %s",
                           redo_rec_type_name(rec->type), (unsigned long long)rec->lsn,
                           rec->space_id, rec->page_no, why);
    return ibs_err_set(err, IBS_E_REDO, "redo record %s at LSN %llu: %s",
                       redo_rec_type_name(rec->type), (unsigned long long)rec->lsn, why);
}

/* Reads a varint field of at most max_len bytes from [*p, end); the field must
 * leave at least `leave` bytes after it. */
static inline __attribute__((always_inline)) bool
read_field(const uint8_t **p, const uint8_t *end, unsigned max_len, size_t leave, uint32_t *v)
{
    if (*p >= end)
        return false;
    unsigned ll = redo_varint_len(**p);
    if (ll > max_len || (size_t)(end - *p) < ll + leave)
        return false;
    *v = redo_varint_decode(*p);
    if (*v == REDO_VARINT_ERROR)
        return false;
    *p += ll;
    return true;
}

static bool ends_with_ibd(const uint8_t *name, size_t len)
{
    return len >= 4 && !memcmp(name + len - 4, ".ibd", 4);
}

static int decode_file(struct redo_rec_iter *it, struct redo_rec *rec, struct ibs_err *err)
{
    const uint8_t *l = rec->payload;
    uint32_t rlen = rec->payload_len;

    if (!rlen) {
        /* `F2 00 00`: FILE_CHECKPOINT with space 0, page 0, no payload. */
        if (rec->type == REDO_FILE_CHECKPOINT && !rec->space_id && !rec->page_no &&
            rec->rec[0] == 0xF2) {
            rec->padding = true;
            return 0;
        }
        return corrupt(it, rec, err, "empty file record");
    }
    if (rec->page_no)
        return corrupt(it, rec, err, "page number %u in a file record", rec->page_no);

    switch (rec->type) {
    case REDO_FILE_CHECKPOINT:
        /* Must be the last record of its mtr. */
        if (rec->space_id || l + rlen != it->end)
            return corrupt(it, rec, err, "FILE_CHECKPOINT not last in its mini-transaction");
        if (rlen != 8) {
            if (rlen > FILE_CHECKPOINT_PAD_MAX)
                return corrupt(it, rec, err, "FILE_CHECKPOINT payload of %u bytes", rlen);
            for (uint32_t i = 0; i < rlen; i++)
                if (l[i])
                    return corrupt(it, rec, err, "FILE_CHECKPOINT payload of %u bytes", rlen);
            rec->padding = true;
            return 0;
        }
        rec->checkpoint_lsn = redo_mach_read_8(l);
        rec->padding = rec->checkpoint_lsn == 0;
        return 0;
    case REDO_FILE_CREATE:
    case REDO_FILE_DELETE:
    case REDO_FILE_RENAME:
    case REDO_FILE_MODIFY: {
        if (!rec->space_id)
            return corrupt(it, rec, err, "file record for the system tablespace");
        const uint8_t *nul = memchr(l, 0, rlen);
        if ((nul == NULL) == (rec->type == REDO_FILE_RENAME))
            return corrupt(it, rec, err,
                           nul ? "NUL byte in the file name" : "FILE_RENAME without a new name");
        const uint8_t *name_end = nul ? nul : l + rlen;
        if (!ends_with_ibd(l, (size_t)(name_end - l)))
            return corrupt(it, rec, err, "file name does not end in .ibd");
        rec->name = (const char *)l;
        rec->name_len = (uint32_t)(name_end - l);
        if (nul) {
            const uint8_t *n2 = nul + 1;
            size_t n2len = (size_t)(l + rlen - n2);
            if (memchr(n2, 0, n2len) || !ends_with_ibd(n2, n2len))
                return corrupt(it, rec, err, "bad new file name in FILE_RENAME");
            rec->new_name = (const char *)n2;
            rec->new_name_len = (uint32_t)n2len;
        }
        return 0;
    }
    default:
        return corrupt(it, rec, err, "unknown file record type 0x%02x", rec->rec[0] & 0xf0);
    }
}

static int decode_extended(struct redo_rec_iter *it, struct redo_rec *rec, struct ibs_err *err)
{
    const uint8_t *l = rec->payload, *end = l + rec->payload_len;
    uint32_t rlen = rec->payload_len;

    if (!rlen)
        return corrupt(it, rec, err, "EXTENDED without subtype");
    rec->subtype = *l++;
    switch (rec->subtype) {
    case REDO_EXT_INIT_ROW_FORMAT_REDUNDANT:
    case REDO_EXT_INIT_ROW_FORMAT_DYNAMIC:
    case REDO_EXT_UNDO_INIT:
        if (rlen != 1)
            return corrupt(it, rec, err, "%s with %u payload bytes",
                           redo_ext_type_name(rec->subtype), rlen - 1);
        break;
    case REDO_EXT_TRIM_PAGES:
        if (rlen != 1)
            return corrupt(it, rec, err, "TRIM_PAGES with %u payload bytes", rlen - 1);
        /* The next record must not be same-page; page_no is the new size. */
        it->last_offset = REDO_OFFSET_NONE;
        return 0;
    case REDO_EXT_UNDO_APPEND:
        if (rlen <= 3)
            return corrupt(it, rec, err, "UNDO_APPEND of %u bytes", rlen - 1);
        rec->data = l;
        rec->data_len = rlen - 1;
        break;
    case REDO_EXT_INSERT_HEAP_REDUNDANT:
    case REDO_EXT_INSERT_REUSE_REDUNDANT:
    case REDO_EXT_INSERT_HEAP_DYNAMIC:
    case REDO_EXT_INSERT_REUSE_DYNAMIC: {
        bool dynamic = rec->subtype & 2;
        if (!read_field(&l, end, 3, 1, &rec->prev))
            goto bad_fields;
        if (rec->subtype == REDO_EXT_INSERT_REUSE_DYNAMIC &&
            !read_field(&l, end, 3, 1, &rec->shift))
            goto bad_fields;
        if (!read_field(&l, end, dynamic ? 3 : 2, 1, &rec->enc_hdr) ||
            !read_field(&l, end, 2, 1, &rec->hdr_c) ||
            !read_field(&l, end, dynamic ? 3 : 2, 0, &rec->data_c))
            goto bad_fields;
        rec->data = l;
        rec->data_len = (uint32_t)(end - l);
        break;
    }
    case REDO_EXT_DELETE_ROW_FORMAT_REDUNDANT:
        if (rlen < 2 || rlen > 4 || redo_varint_len(*l) != rlen - 1 ||
            !read_field(&l, end, 3, 0, &rec->prev))
            goto bad_fields;
        break;
    case REDO_EXT_DELETE_ROW_FORMAT_DYNAMIC:
        if (!read_field(&l, end, 3, 1, &rec->prev) || !read_field(&l, end, 2, 1, &rec->hdr_size) ||
            l >= end || redo_varint_len(*l) != (size_t)(end - l) ||
            !read_field(&l, end, 3, 0, &rec->data_size))
            goto bad_fields;
        break;
    default:
        return corrupt(it, rec, err, "unknown EXTENDED subtype %u", rec->subtype);
    }
    it->last_offset = REDO_OFFSET_AFTER_INIT;
    return 0;
bad_fields:
    return corrupt(it, rec, err, "malformed %s fields", redo_ext_type_name(rec->subtype));
}

/* WRITE, MEMSET, MEMMOVE: offsets relative to the current offset (§2.4). */
static int decode_write(struct redo_rec_iter *it, struct redo_rec *rec, struct ibs_err *err)
{
    const uint8_t *l = rec->payload, *end = l + rec->payload_len;
    const uint32_t ps = it->page_size;
    uint32_t off, len;

    if (it->last_offset == REDO_OFFSET_NONE)
        return corrupt(it, rec, err, "same-page record after FREE_PAGE or TRIM_PAGES");
    if (!read_field(&l, end, 3, 1, &off))
        return corrupt(it, rec, err, "malformed offset");
    if (off >= ps || it->last_offset + off < 8 || it->last_offset + off >= ps)
        return corrupt(it, rec, err, "offset %u+%u outside the page", it->last_offset, off);
    rec->offset = it->last_offset + off;

    if (rec->type == REDO_WRITE) {
        rec->data = l;
        rec->data_len = rec->len = (uint32_t)(end - l);
        if (rec->offset + rec->len > ps)
            return corrupt(it, rec, err, "%u bytes at offset %u beyond the page", rec->len,
                           rec->offset);
    } else {
        if (!read_field(&l, end, 3, 0, &len))
            return corrupt(it, rec, err, "malformed length");
        if (rec->offset + len > ps)
            return corrupt(it, rec, err, "%u bytes at offset %u beyond the page", len, rec->offset);
        rec->len = len;
        if (rec->type == REDO_MEMSET) {
            rec->data = l;
            rec->data_len = (uint32_t)(end - l);
            if (!rec->data_len || rec->data_len > len)
                return corrupt(it, rec, err, "fill pattern of %u bytes for %u bytes", rec->data_len,
                               len);
        } else {
            uint32_t s;
            if (l >= end || redo_varint_len(*l) != (size_t)(end - l) ||
                !read_field(&l, end, 3, 0, &s))
                return corrupt(it, rec, err, "malformed source");
            /* Sign in the least significant bit, never 0 (mtr_t::memmove()). */
            int64_t src =
                s & 1 ? (int64_t)rec->offset - (s >> 1) - 1 : (int64_t)rec->offset + (s >> 1) + 1;
            if (src < 8 || src + len > ps)
                return corrupt(it, rec, err, "source offset %lld outside the page", (long long)src);
            rec->src = (uint32_t)src;
        }
    }
    it->last_offset = rec->offset + rec->len;
    return 0;
}

static int decode_page(struct redo_rec_iter *it, struct redo_rec *rec, struct ibs_err *err)
{
    switch (rec->type) {
    case REDO_FREE_PAGE:
    case REDO_INIT_PAGE:
        if (rec->same_page)
            return corrupt(it, rec, err, "%s without a page id", redo_rec_type_name(rec->type));
        if (rec->payload_len)
            return corrupt(it, rec, err, "%u unexpected payload bytes", rec->payload_len);
        it->last_offset = rec->type == REDO_FREE_PAGE ? REDO_OFFSET_NONE : REDO_OFFSET_AFTER_INIT;
        return 0;
    case REDO_EXTENDED:
        return decode_extended(it, rec, err);
    case REDO_WRITE:
    case REDO_MEMSET:
    case REDO_MEMMOVE:
        return decode_write(it, rec, err);
    case REDO_OPTION:
        /* Optional (OPT_PAGE_CHECKSUM in debug builds): may be ignored. */
        rec->subtype = rec->payload_len ? rec->payload[0] : 0xff;
        rec->data = rec->payload_len ? rec->payload + 1 : NULL;
        rec->data_len = rec->payload_len ? rec->payload_len - 1 : 0;
        return 0;
    default:
        return corrupt(it, rec, err, "unknown log record");
    }
}

int redo_rec_frame(struct redo_rec_iter *it, struct redo_rec *rec, struct ibs_err *err)
{
    const uint8_t *start = it->pos, *l = start;
    uint8_t b = *l++;
    uint32_t rlen = b & 0xf;

    /* Field by field: a memset of the whole struct compiles to `rep stos`,
     * which cost a third of this function (it runs for every record). */
    rec->same_page = rec->padding = false;
    rec->space_id = it->space_id;
    rec->page_no = it->page_no;
    rec->lsn = it->lsn;
    rec->rec = start;
    rec->rec_len = 0;
    rec->payload = NULL;
    rec->payload_len = 0;
    rec->offset = rec->len = rec->src = 0;
    rec->data = NULL;
    rec->data_len = 0;
    rec->subtype = 0;
    rec->prev = rec->shift = rec->enc_hdr = rec->hdr_c = rec->data_c = 0;
    rec->hdr_size = rec->data_size = 0;
    rec->name = rec->new_name = NULL;
    rec->name_len = rec->new_name_len = 0;
    rec->checkpoint_lsn = 0;
    /* File record types only where no page record preceded in this mtr (§2.1). */
    bool file_rec = (b & 0x80) && !it->got_page_op;
    rec->type = file_rec ? (enum redo_rec_type)(b & 0xf0) : (enum redo_rec_type)(b & 0x70);
    rec->same_page = (b & 0x80) && it->got_page_op;

    /* Lengths were checked by redo_mtr_scan(); still never read past the end. */
    if (!rlen) {
        unsigned ll = l < it->end ? redo_varint_len(*l) : 9;
        uint32_t v =
            ll <= 5 && (size_t)(it->end - l) >= ll ? redo_varint_decode(l) : REDO_VARINT_ERROR;
        if (v == REDO_VARINT_ERROR)
            return corrupt(it, rec, err, "bad record length");
        l += ll;
        rlen = v + 15 - ll;
    }
    if ((size_t)(it->end - l) < rlen)
        return corrupt(it, rec, err, "record of %u bytes runs past the mini-transaction", rlen);
    rec->rec_len = (uint32_t)(l - start) + rlen;
    it->pos = l + rlen;
    it->lsn += rec->rec_len;

    if (rec->type == REDO_RESERVED && !file_rec)
        return corrupt(it, rec, err, "unknown log record");

    const uint8_t *end = l + rlen;
    if (!rec->same_page) {
        uint32_t space_id, page_no;
        unsigned idlen = rlen ? redo_varint_len(*l) : 9;
        if (idlen > 5 || idlen >= rlen) {
            /* `F1 00`: FILE_CHECKPOINT padding with only a 1-byte space id. */
            if (rlen == 1 && !*l && b == 0xF1) {
                rec->padding = true;
                rec->payload = end;
                return 0;
            }
            return corrupt(it, rec, err, "malformed page id");
        }
        space_id = redo_varint_decode(l);
        l += idlen;
        idlen = redo_varint_len(*l);
        if (space_id == REDO_VARINT_ERROR || idlen > 5 || idlen > (size_t)(end - l))
            return corrupt(it, rec, err, "malformed page id");
        page_no = redo_varint_decode(l);
        if (page_no == REDO_VARINT_ERROR)
            return corrupt(it, rec, err, "malformed page id");
        l += idlen;
        rec->space_id = space_id;
        rec->page_no = page_no;
        if (!file_rec) {
            if (space_id >= SRV_SPACE_ID_UPPER_BOUND)
                return corrupt(it, rec, err, "invalid tablespace id");
            it->space_id = space_id;
            it->page_no = page_no;
            it->last_offset = 0;
            it->got_page_op = true;
        }
    }
    rec->payload = l;
    rec->payload_len = (uint32_t)(end - l);
    return 0;
}

int redo_rec_decode(struct redo_rec_iter *it, struct redo_rec *rec, struct ibs_err *err)
{
    if (rec->padding)
        return 0;
    if (rec->type >= REDO_FILE_CREATE)
        return decode_file(it, rec, err);
    if (rec->rec_len > it->page_size)
        return corrupt(it, rec, err, "record longer than a page");
    return decode_page(it, rec, err);
}

int redo_rec_next(struct redo_rec_iter *it, struct redo_rec *rec, struct ibs_err *err)
{
    int rc = redo_rec_frame(it, rec, err);
    return rc ? rc : redo_rec_decode(it, rec, err);
}
