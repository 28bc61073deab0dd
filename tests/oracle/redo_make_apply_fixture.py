#!/usr/bin/env python3
"""Build the apply fixture of the redo unit test from a raw backup and its
prepared copy (see redo_oracle.sh).

Usage: redo_make_apply_fixture.py <raw-dir> <prepared-dir> <pages-list> <out-dir>

<pages-list> is what redo_oracle wrote with REDO_ORACLE_PAGES set: the pages it
recovered identically to mariadb-backup --prepare ("space page file ps flags").
Writes apply_log.bin.zst (the raw ib_logfile0) and apply_pages.bin.zst: for each
page, big-endian space, page, flags, physical size, then the page as in the
raw backup and as mariadb-backup --prepare wrote it."""
import os, struct, subprocess, sys

raw, prep, lst, out = sys.argv[1:5]
blob = bytearray()
n = 0
for line in open(lst):
    sid, pno, rel, ps, flags = line.split()
    sid, pno, ps, flags = int(sid), int(pno), int(ps), int(flags)
    def page(d):
        with open(os.path.join(d, rel), 'rb') as f:
            f.seek(pno * ps)
            b = f.read(ps)
        return b + bytes(ps - len(b))
    blob += struct.pack('>IIII', sid, pno, flags, ps) + page(raw) + page(prep)
    n += 1
open(os.path.join(out, 'apply_pages.bin'), 'wb').write(blob)
subprocess.run(['cp', os.path.join(raw, 'ib_logfile0'), os.path.join(out, 'apply_log.bin')], check=True)
for name in ('apply_pages.bin', 'apply_log.bin'):
    subprocess.run(['zstd', '-19', '-q', '-f', '--rm', os.path.join(out, name)], check=True)
print(n, 'pages')
