#!/usr/bin/env python3
"""Compare the InnoDB tablespace files (ibdata*, undo*, */*.ibd) of two data
directories page by page; used by incremental_oracle.sh to hold the chain
ibstream restores and prepares against the same chain prepared by mariabackup
from the delta layout.

  incremental_pagecmp.py REFERENCE CANDIDATE

Every byte of every page must be equal, the page checksums and page LSNs
included, and both sides must hold the same tablespace files. Pages past
the end of the shorter file are compared with zeros (a page InnoDB never
wrote reads as zeros either way). Prints one summary line
"pagecmp: N files, P pages compared, D differ" and, for each differing page,
its number, type and LSN on both sides. Exits 1 on any difference."""
import os
import re
import struct
import sys

TS = re.compile(r"^(ibdata\d+|undo\d+|.+\.ibd)$")


def tablespaces(root):
    out = set()
    for dirpath, dirnames, files in os.walk(root):
        rel = os.path.relpath(dirpath, root)
        if rel.count(os.sep) > 0 and rel != ".":
            continue  # data files live at most one directory deep
        for f in files:
            if TS.match(f):
                out.add(os.path.normpath(os.path.join(rel, f)))
    return out


def page_size(path, default):
    with open(path, "rb") as fh:
        p0 = fh.read(64)
    if len(p0) < 58:
        return default
    flags = struct.unpack(">I", p0[54:58])[0]
    if flags & 0x10:  # full_crc32: logical size bits 0..3
        ssize = flags & 0xF
        return (512 << ssize) if ssize else default
    zip_ssize = (flags >> 1) & 0xF
    return (512 << zip_ssize) if zip_ssize else default


def server_page_size(root):
    try:
        for line in open(os.path.join(root, "backup-my.cnf")):
            if line.startswith("innodb_page_size="):
                return int(line.split("=")[1])
    except OSError:
        pass
    return 16384


def main():
    ref, cand = sys.argv[1], sys.argv[2]
    a, b = tablespaces(ref), tablespaces(cand)
    bad = 0
    for name in sorted(a ^ b):
        print(f"  {name}: only in {'reference' if name in a else 'candidate'}")
        bad += 1
    default = server_page_size(ref)
    pages = differ = 0
    for name in sorted(a & b):
        pa, pb = os.path.join(ref, name), os.path.join(cand, name)
        ps = page_size(pa, default)
        with open(pa, "rb") as fa, open(pb, "rb") as fb:
            da, db = fa.read(), fb.read()
        n = max(len(da), len(db)) // ps
        for i in range(n):
            x = da[i * ps:(i + 1) * ps].ljust(ps, b"\0")
            y = db[i * ps:(i + 1) * ps].ljust(ps, b"\0")
            pages += 1
            if x != y:
                differ += 1
                if differ <= 20:
                    t = lambda p: struct.unpack(">H", p[24:26])[0]
                    l = lambda p: struct.unpack(">Q", p[16:24])[0]
                    print(f"  {name} page {i}: type {t(x)}/{t(y)} lsn {l(x)}/{l(y)}")
    print(f"pagecmp: {len(a & b)} files, {pages} pages compared, {differ} differ, "
          f"{bad} files on one side only")
    return 1 if differ or bad or pages == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
