#!/usr/bin/env python3
"""Compare the InnoDB tablespace files of two data directories page by page.

Used by the prepare oracle tests: the same raw backup prepared by
`mariabackup --prepare` (REFERENCE) and by `ibstream prepare` (CANDIDATE) must
hold the same bytes in every page of every tablespace file (ibdata*, undo*,
*.ibd). Prints, per file and in total, the pages compared, equal and
different, and for each differing page which fields differ, so a failure
tells where to look. Exits 1 if any page differs beyond what --allow lets
through, or a tablespace file exists on one side only.

  pagecmp.py [--allow RULE]... [--label NAME] REFERENCE CANDIDATE

--allow freed-page --freed-log LOGFILE
                accepts a difference on a page whose last record in LOGFILE
                (the ib_logfile0 of the raw layout both were prepared from) is
                FREE_PAGE: the page is free at the end LSN, so its bytes are
                never read again. Recovery writes no page for FREE_PAGE and
                keeps what an earlier batch wrote, so the bytes of such a page
                depend on where each tool ended its batches (--use-memory):
                mariabackup leaves the copied bytes or those of its batch,
                ibstream those of its own. With one batch on both sides these
                pages are equal too, and the tests check that.
--allow page-compressed
                accepts a reference page stored compressed (PAGE_COMPRESSED=1
                tablespace: mariabackup recompresses every page it writes)
                when, decompressed (zlib, reference §4.9), it is byte for byte
                the candidate's page: ibstream writes pages of page_compressed
                tablespaces uncompressed, which InnoDB reads as it reads any
                page that did not compress well (§3.5).
Without --allow every byte of every page must be equal.

The physical page size of each file comes from its page 0 (FSP_SPACE_FLAGS:
ROW_FORMAT=COMPRESSED tablespaces have 1K..8K pages), else from
innodb_page_size in backup-my.cnf.
"""
import argparse
import os
import zlib
import re
import struct
import sys

FIL_PAGE_OFFSET = 4
FIL_PAGE_LSN = 16
FIL_PAGE_TYPE = 24
FIL_PAGE_FILE_FLUSH_LSN = 26
FIL_PAGE_SPACE_ID = 34
FIL_PAGE_DATA = 38
FSP_SPACE_FLAGS = FIL_PAGE_DATA + 16

TYPE_NAMES = {
    0: "ALLOCATED", 2: "UNDO_LOG", 3: "INODE", 4: "IBUF_FREE_LIST", 5: "IBUF_BITMAP",
    6: "SYS", 7: "TRX_SYS", 8: "FSP_HDR", 9: "XDES", 10: "BLOB", 11: "ZBLOB",
    12: "ZBLOB2", 13: "UNKNOWN", 17855: "INDEX", 17854: "RTREE", 17853: "INSTANT",
    34354: "PAGE_COMPRESSED", 37401: "PAGE_COMPRESSED_ENCRYPTED", 15: "ENCRYPTED",
}


def is_tablespace(name):
    return (re.fullmatch(r"ibdata\d+", name) or re.fullmatch(r"undo\d{3}", name)
            or name.endswith(".ibd"))


def tablespaces(root):
    out = {}
    for d, _, files in os.walk(root):
        for f in files:
            if is_tablespace(f):
                path = os.path.join(d, f)
                out[os.path.relpath(path, root)] = path
    return out


def server_page_size(root):
    try:
        with open(os.path.join(root, "backup-my.cnf")) as f:
            m = re.search(r"^innodb_page_size=(\d+)", f.read(), re.M)
            if m:
                return int(m.group(1))
    except OSError:
        pass
    return 16384


def physical_page_size(path, logical):
    """From FSP_SPACE_FLAGS of page 0 (fsp0types.h), else the server's size."""
    with open(path, "rb") as f:
        head = f.read(FSP_SPACE_FLAGS + 4)
    if len(head) < FSP_SPACE_FLAGS + 4 or re.search(r"ibdata([2-9]|\d\d)$", path):
        return logical
    flags = struct.unpack(">I", head[FSP_SPACE_FLAGS:FSP_SPACE_FLAGS + 4])[0]
    if flags & 0x10:  # full_crc32: no ROW_FORMAT=COMPRESSED
        ssize = flags & 0xF
        return 512 << ssize if ssize else logical
    zip_ssize = (flags >> 1) & 0xF
    if zip_ssize:
        return 512 << zip_ssize
    return logical


def varint(b, o):
    """mlog_decode_varint() (reference §2.3)."""
    i = b[o]
    if i < 0x80:
        return i, 1
    if i < 0xC0:
        return 0x80 + ((i & 0x3F) << 8 | b[o + 1]), 2
    if i < 0xE0:
        return 0x4080 + ((i & 0x1F) << 16 | b[o + 1] << 8 | b[o + 2]), 3
    if i < 0xF0:
        return 0x204080 + ((i & 0x0F) << 24 | b[o + 1] << 16 | b[o + 2] << 8 | b[o + 3]), 4
    return 0x10204080 + struct.unpack_from(">I", b, o + 1)[0], 5


def freed_at_end(path):
    """(space, page) whose last record in the backup log at path is FREE_PAGE.

    Walks the backup log from its checkpoint (§1.3, §2.1-2.4): a record's
    first byte holds the type (0x70), the same-page flag (0x80) and the
    length (0x0f, 0 = a varint follows); the first records of an mtr with
    0x80 set are file records; the mtr ends at a byte <= 1, then 4 CRC bytes.
    The backup log was validated by both prepares; this only classifies."""
    with open(path, "rb") as f:
        log = f.read()
    first = struct.unpack_from(">Q", log, 8)[0]
    ckpt = max(struct.unpack_from(">Q", log, 4096)[0], struct.unpack_from(">Q", log, 8192)[0])
    p = 12288 + ckpt - first
    last = {}
    while p < len(log) and log[p] > 1:
        cur, got = None, False
        while log[p] > 1:
            b = log[p]
            n = b & 0x0F
            p += 1
            if n == 0:
                v, k = varint(log, p)
                n, p = v + 15 - k, p + k
            if not (b & 0x80):
                got = True
                sp, k = varint(log, p)
                pg, _ = varint(log, p + k)
                cur = (sp, pg)
            if got and cur is not None:
                last[cur] = b & 0x70
            p += n
        p += 5
    return {k for k, t in last.items() if t == 0x00}


def crc32c(data):
    """CRC-32C (Castagnoli), bitwise over a table: full_crc32 page checksums."""
    table = crc32c.table
    crc = 0xFFFFFFFF
    for byte in data:
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


crc32c.table = []
for _n in range(256):
    _c = _n
    for _ in range(8):
        _c = (_c >> 1) ^ 0x82F63B78 if _c & 1 else _c >> 1
    crc32c.table.append(_c)


def decompress(page, ps):
    """The logical page inside a page_compressed page (§4.9), or None.

    A full_crc32 image is compressed before the server computes the page's
    checksum, so the inflated page carries a stale CRC at ps - 4: it gets the
    CRC-32C of bytes [0, ps - 4), as the server computes it when it reads the
    page back."""
    try:
        if page[24] == 0x80:  # full_crc32: stream at 26, size = (type & 0xff) * 256
            size = page[25] << 8
            out = zlib.decompressobj().decompress(bytes(page[26:size - 4]))
            if len(out) == ps:
                out = out[:ps - 4] + struct.pack(">I", crc32c(out[:ps - 4]))
        elif struct.unpack(">I", page[0:4])[0] == 0xDEADBEEF and \
                struct.unpack(">H", page[24:26])[0] == 34354:  # legacy, unencrypted
            length = struct.unpack(">H", page[38:40])[0]
            out = zlib.decompressobj().decompress(bytes(page[40:40 + length]))
        else:
            return None
    except zlib.error:
        return None
    return out if len(out) == ps else None


def fields(a, b, ps):
    """Names of the page fields where a and b differ."""
    regions = [
        ("checksum", 0, 4), ("page_no", 4, 8), ("prev/next", 8, 16),
        ("page_lsn", 16, 24), ("type", 24, 26), ("flush_lsn", 26, 34),
        ("space_id", 34, 38), ("trailer", ps - 8, ps),
    ]
    out = []
    covered = set()
    for name, lo, hi in regions:
        covered.update(range(lo, hi))
        if a[lo:hi] != b[lo:hi]:
            out.append(name)
    body = [i for i in range(38, ps - 8) if a[i] != b[i]]
    if body:
        out.append("body[%d bytes, %d..%d]" % (len(body), body[0], body[-1]))
    return out


def lsn(p):
    return struct.unpack(">Q", p[FIL_PAGE_LSN:FIL_PAGE_LSN + 8])[0]


def ptype(p):
    t = struct.unpack(">H", p[FIL_PAGE_TYPE:FIL_PAGE_TYPE + 2])[0]
    return TYPE_NAMES.get(t, str(t))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--allow", action="append", default=[], choices=["freed-page", "page-compressed"])
    ap.add_argument("--freed-log", help="ib_logfile0 of the raw layout: tells which pages end freed")
    ap.add_argument("--label", default="")
    ap.add_argument("--show", type=int, default=20, help="differing pages to describe")
    ap.add_argument("reference")
    ap.add_argument("candidate")
    a = ap.parse_args()

    if "freed-page" in a.allow and not a.freed_log:
        ap.error("--allow freed-page needs --freed-log LOGFILE")
    freed = freed_at_end(a.freed_log) if "freed-page" in a.allow else set()
    logical = server_page_size(a.reference)
    ref, cand = tablespaces(a.reference), tablespaces(a.candidate)
    problems = 0
    for name in sorted(set(ref) ^ set(cand)):
        side = "reference" if name in ref else "candidate"
        print("pagecmp: %s exists only in the %s" % (name, side))
        problems += 1

    total = equal = differ = allowed = decompressed = 0
    shown = 0
    for name in sorted(set(ref) & set(cand)):
        ps = physical_page_size(ref[name], logical)
        with open(ref[name], "rb") as fr, open(cand[name], "rb") as fc:
            r, c = fr.read(), fc.read()
        if len(r) != len(c):
            print("pagecmp: %s: size %d in the reference, %d in the candidate"
                  % (name, len(r), len(c)))
            problems += 1
        n = min(len(r), len(c)) // ps
        f_equal = f_differ = 0
        with open(ref[name], "rb") as f0:
            head = f0.read(FSP_SPACE_FLAGS)
        space = struct.unpack(">I", head[FIL_PAGE_SPACE_ID:FIL_PAGE_SPACE_ID + 4])[0] \
            if len(head) >= 38 and not re.search(r"ibdata([2-9]|\d\d)$", name) else 0
        for i in range(n):
            pr, pc = r[i * ps:(i + 1) * ps], c[i * ps:(i + 1) * ps]
            if pr == pc:
                f_equal += 1
                continue
            if (space, i) in freed:
                allowed += 1
                continue
            if "page-compressed" in a.allow and decompress(pr, ps) == pc:
                decompressed += 1
                continue
            f_differ += 1
            if shown < a.show:
                shown += 1
                print("pagecmp: %s page %d (%s/%s, lsn %d/%d): %s"
                      % (name, i, ptype(pr), ptype(pc), lsn(pr), lsn(pc),
                         ", ".join(fields(pr, pc, ps))))
        total += n
        equal += f_equal
        differ += f_differ
        if f_differ:
            print("pagecmp: %s: %d pages, %d equal, %d different"
                  % (name, n, f_equal, f_differ))
    problems += differ
    print("pagecmp%s: %d files, %d pages compared, %d equal, %d different%s"
          % (" " + a.label if a.label else "", len(set(ref) & set(cand)), total, equal, differ,
             ", %d more differ on pages freed at the end (allowed)" % allowed
             if "freed-page" in a.allow else "")
          + (", %d more equal once the reference is decompressed (page_compressed)" % decompressed
             if "page-compressed" in a.allow else ""))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
