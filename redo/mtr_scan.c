/* Mini-transaction framing: find where one mtr ends and whether it is valid,
 * exactly as log_parse_start() (log/log0recv.cc) decides. This is the hot loop
 * of the redo tailer, so it only reads length fields and the CRC. */
#include "redo/mtr.h"

const char *redo_mtr_end_reason_name(enum redo_mtr_end_reason reason)
{
    switch (reason) {
    case REDO_END_NONE:
        return "none";
    case REDO_END_MARKER:
        return "end marker";
    case REDO_END_TOO_LONG:
        return "mini-transaction longer than 1 MiB";
    case REDO_END_SEQUENCE:
        return "sequence bit of another lap";
    case REDO_END_CRC:
        return "checksum mismatch";
    }
    return "?";
}

static enum redo_mtr_status scan_end(struct redo_mtr *mtr, enum redo_mtr_end_reason reason)
{
    mtr->end_reason = reason;
    return REDO_MTR_END;
}

enum redo_mtr_status redo_mtr_scan(const struct redo_log_geom *geom, const uint8_t *buf, size_t len,
                                   uint64_t lsn, struct redo_mtr *mtr)
{
    const size_t nonce = redo_log_format_encrypted(geom->format) ? 8 : 0;
    size_t p = 0;
    uint32_t total_len = 0;

    mtr->lsn = lsn;
    mtr->len = 0;
    mtr->records_len = 0;
    mtr->end_reason = REDO_END_NONE;

    if (!len)
        return REDO_MTR_NEED_MORE;
    if (buf[0] <= 1) /* an empty mtr is never written */
        return scan_end(mtr, REDO_END_MARKER);

    /* total_len counts the record bytes after each first byte, as the server does. */
    for (;;) {
        if (p >= len)
            return REDO_MTR_NEED_MORE;
        if (total_len >= REDO_MTR_SIZE_MAX)
            return scan_end(mtr, REDO_END_TOO_LONG);
        uint8_t b = buf[p];
        if (b <= 1)
            break;
        uint32_t rlen = b & 0xf;
        p++;
        if (!rlen) {
            if (p >= len)
                return REDO_MTR_NEED_MORE;
            unsigned ll = redo_varint_len(buf[p]);
            if (len - p < ll)
                return REDO_MTR_NEED_MORE;
            uint32_t addlen = ll > 5 ? REDO_VARINT_ERROR : redo_varint_decode(buf + p);
            if (addlen >= REDO_MTR_SIZE_MAX)
                return scan_end(mtr, REDO_END_TOO_LONG);
            rlen = addlen + 15;
        }
        total_len += rlen;
        if (len - p < rlen)
            return REDO_MTR_NEED_MORE;
        p += rlen;
    }

    if (buf[p] != redo_log_sequence_bit(geom, lsn + p))
        return scan_end(mtr, REDO_END_SEQUENCE);
    if (len - p < 5 + nonce)
        return REDO_MTR_NEED_MORE;

    uint32_t crc = redo_crc32c(0, buf, p);
    if (nonce)
        crc = redo_crc32c(crc, buf + p + 1, nonce);
    if (crc != redo_mach_read_4(buf + p + 1 + nonce))
        return scan_end(mtr, REDO_END_CRC);

    mtr->records_len = (uint32_t)p;
    mtr->len = (uint32_t)(p + 1 + nonce + 4);
    return REDO_MTR_OK;
}
