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

--allow RULE names a difference the caller documented and accepts:
  freed-page    a page the reference left as it was in the backup (the log
                freed it: FREE_PAGE, no write back) and the candidate did too;
                never needed so far, kept for the DROP/DELETE workloads.
Without --allow every byte must be equal.

The physical page size of each file comes from its page 0 (FSP_SPACE_FLAGS:
ROW_FORMAT=COMPRESSED tablespaces have 1K..8K pages), else from
innodb_page_size in backup-my.cnf.
"""
import argparse
import os
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
    ap.add_argument("--allow", action="append", default=[], choices=["freed-page"])
    ap.add_argument("--label", default="")
    ap.add_argument("--show", type=int, default=20, help="differing pages to describe")
    ap.add_argument("reference")
    ap.add_argument("candidate")
    a = ap.parse_args()

    logical = server_page_size(a.reference)
    ref, cand = tablespaces(a.reference), tablespaces(a.candidate)
    problems = 0
    for name in sorted(set(ref) ^ set(cand)):
        side = "reference" if name in ref else "candidate"
        print("pagecmp: %s exists only in the %s" % (name, side))
        problems += 1

    total = equal = differ = 0
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
        for i in range(n):
            pr, pc = r[i * ps:(i + 1) * ps], c[i * ps:(i + 1) * ps]
            if pr == pc:
                f_equal += 1
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
    print("pagecmp%s: %d files, %d pages compared, %d equal, %d different"
          % (" " + a.label if a.label else "", len(set(ref) & set(cand)), total, equal, differ))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
