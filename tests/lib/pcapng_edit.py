#!/usr/bin/env python3
"""Rewrite a little-endian pcapng (as mergecap and editcap write it) for tests.

  pcapng_edit.py IN OUT [--name ID=NAME]... [--corrupt-epb N] [--lie-epb N]
                 [--cut N]

--name gives interface ID (its number in the section) the option if_name
NAME; --corrupt-epb N makes EPB number N (from 0) claim a caplen past its block
(a block whose body lies: readers skip it); --lie-epb N makes its total
length lie (framing: readers stop or look for the next block); --cut N cuts
the file N bytes before its end. Options the IDB had are kept, but if_name,
which is replaced. Standard library only.
"""
import argparse, struct

def opts(body):
    out, i = [], 0
    while i + 4 <= len(body):
        code, ln = struct.unpack_from('<HH', body, i)
        if code == 0:
            break
        out.append((code, body[i + 4:i + 4 + ln]))
        i += 4 + ((ln + 3) & ~3)
    return out

def enc_opts(lst):
    b = b''
    for code, val in lst:
        b += struct.pack('<HH', code, len(val)) + val + b'\0' * ((4 - len(val) % 4) % 4)
    return b + struct.pack('<HH', 0, 0)

def block(t, body):
    return struct.pack('<II', t, len(body) + 12) + body + struct.pack('<I', len(body) + 12)

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('inp'); ap.add_argument('out')
    ap.add_argument('--name', action='append', default=[])
    ap.add_argument('--corrupt-epb', type=int, default=-1)
    ap.add_argument('--lie-epb', type=int, default=-1)
    ap.add_argument('--cut', type=int, default=0)
    a = ap.parse_args()
    names = {int(k): v.encode() for k, v in (n.split('=', 1) for n in a.name)}
    data = open(a.inp, 'rb').read()
    out, i, idb, epb = bytearray(), 0, 0, 0
    while i + 12 <= len(data):
        t, ln = struct.unpack_from('<II', data, i)
        body = data[i + 8:i + ln - 4]
        if t == 0x0A0D0D0A:
            idb = 0
        elif t == 1:
            lst = [o for o in opts(body[8:]) if o[0] != 2]
            if idb in names:
                lst.insert(0, (2, names[idb]))
            body = body[:8] + enc_opts(lst)
            idb += 1
        elif t == 6:
            if epb == a.corrupt_epb:
                body = body[:12] + struct.pack('<I', len(body) + 100) + body[16:]
            b = block(t, body)
            if epb == a.lie_epb:
                b = b[:4] + struct.pack('<I', len(b) + 6) + b[8:]
            out += b
            epb += 1
            i += ln
            continue
        out += block(t, body)
        i += ln
    if a.cut:
        out = out[:-a.cut]
    open(a.out, 'wb').write(out)

main()
