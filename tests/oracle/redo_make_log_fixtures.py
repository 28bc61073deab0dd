#!/usr/bin/env python3
"""Cut small redo-log fixtures out of a live server's ib_logfile0.

Usage: redo_make_log_fixtures.py <ib_logfile0> <out-dir>

Writes live_head.bin (the 12288-byte header area), live_tail.bin (the log from
the latest checkpoint to just past the end of the log), live_wrap.bin (the last
16 KiB of the file followed by the first 16 KiB of the circular body: the
mini-transaction that straddles the physical end) and live.txt (LSNs and counts
that the unit test checks). Framing is re-checked here independently of the C
code (CRC-32C, sequence bit), so the expected values are not circular."""
import os, struct, sys

def crc32c(data, crc=0):
    crc ^= 0xffffffff
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
    return crc ^ 0xffffffff

def varint(b, o):
    i = b[o]
    if i < 0x80: return i, 1
    if i < 0xc0: return 0x80 + ((i & 0x3f) << 8 | b[o+1]), 2
    if i < 0xe0: return 0x4080 + ((i & 0x1f) << 16 | b[o+1] << 8 | b[o+2]), 3
    raise ValueError

START = 12288
log = open(sys.argv[1], 'rb').read()
out = sys.argv[2]
cap = len(log) - START
first = struct.unpack_from('>Q', log, 8)[0]
ckpts = [struct.unpack_from('>QQ', log, o) for o in (4096, 8192)
         if crc32c(log[o:o+60]) == struct.unpack_from('>I', log, o + 60)[0]]
ckpt, end_lsn = max(ckpts)

def off(lsn): return START + (lsn - first) % cap
def seq(lsn): return 0 if ((lsn - first) // cap) & 1 else 1
def rd(lsn, n):
    o, r = off(lsn), b''
    while n:
        k = min(n, len(log) - o); r += log[o:o+k]; n -= k; o = START
    return r

def scan(lsn):
    """Length of the valid mtr at lsn, or 0."""
    buf = rd(lsn, 1 << 20)
    if buf[0] <= 1: return 0
    p = 0
    while buf[p] > 1:
        n = buf[p] & 15; p += 1
        if not n:
            v, k = varint(buf, p); n = v + 15
        p += n
    if buf[p] != seq(lsn + p): return 0
    if crc32c(buf[:p]) != struct.unpack_from('>I', buf, p + 1)[0]: return 0
    return p + 5

lsn, n = ckpt, 0
while True:
    m = scan(lsn)
    if not m: break
    lsn += m; n += 1
open(os.path.join(out, 'live_head.bin'), 'wb').write(log[:START])
open(os.path.join(out, 'live_tail.bin'), 'wb').write(rd(ckpt, lsn - ckpt + 64))

# The lap boundary before the current end: find an mtr start in the last 16 KiB
# of the file from which valid mtrs chain across the physical end.
lap_start = lsn - (lsn - first) % cap          # LSN at offset START in this lap
slice_lsn = lap_start - 16384
wrap_first = wrap_n = 0
for cand in range(slice_lsn, lap_start):
    l, k = cand, 0
    try:
        while l < lap_start + 8192:
            m = scan(l)
            if not m: break
            l += m; k += 1
    except (ValueError, IndexError):
        continue
    if l >= lap_start + 8192 and k >= 3:
        wrap_first = cand; break
l = wrap_first
while l < lap_start + 8192:
    l += scan(l); wrap_n += 1
open(os.path.join(out, 'live_wrap.bin'), 'wb').write(log[-16384:] + log[START:START + 16384])
with open(os.path.join(out, 'live.txt'), 'w') as f:
    f.write(f'file_size {len(log)}\nfirst_lsn {first}\ncheckpoint_lsn {ckpt}\nend_lsn {end_lsn}\n'
            f'log_end_lsn {lsn}\nmtrs {n}\nwrap_slice_lsn {slice_lsn}\n'
            f'wrap_first_mtr_lsn {wrap_first}\nwrap_mtrs_to {l}\nwrap_mtrs {wrap_n}\n')
print(open(os.path.join(out, 'live.txt')).read())
