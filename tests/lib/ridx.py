#!/usr/bin/env python3
"""Make a ringcap-read index (.NAME.ridx, format version 2 of index/index.h) lie,
for the tests that check a lying index is caught. The result is a valid index
file (counts, header range and checksum recomputed, identity kept): only its
claims about the capture file are false.

  ridx.py INDEX chunks                       print: i off end min_ns max_ns records flags n4 n6
  ridx.py INDEX time I MIN_NS MAX_NS         chunk I claims [MIN_NS, MAX_NS]
  ridx.py INDEX drop4 I A.B.C.D              chunk I's summary loses an IPv4 address
  ridx.py INDEX addrs4 I                     print chunk I's IPv4 addresses
Standard library only.
"""
import socket, struct, sys, zlib

HDR, CHUNK = 176, 48

def load(path):
    b = open(path, 'rb').read()
    assert b[:8] == b'RCAPIDX\n' and struct.unpack_from('<I', b, 8)[0] == 2, 'not a version 2 index'
    nchunks, n4, n6 = struct.unpack_from('<III', b, 124)
    chunks, a4, a6 = [], [], []
    for i in range(nchunks):
        chunks.append(list(struct.unpack_from('<QQQQIIII', b, HDR + i * CHUNK)))
    p4 = HDR + nchunks * CHUNK
    p6 = p4 + n4 * 4
    for c in chunks:
        a4.append([struct.unpack_from('<I', b, p4 + 4 * k)[0] for k in range(c[6])])
        p4 += 4 * c[6]
        a6.append([b[p6 + 16 * k:p6 + 16 * k + 16] for k in range(c[7])])
        p6 += 16 * c[7]
    return bytearray(b[:HDR]), chunks, a4, a6

def save(path, hdr, chunks, a4, a6):
    for c, x4, x6 in zip(chunks, a4, a6):
        c[6], c[7] = len(x4), len(x6)
    struct.pack_into('<II', hdr, 128, sum(map(len, a4)), sum(map(len, a6)))
    struct.pack_into('<QQ', hdr, 104, min(c[2] for c in chunks), max(c[3] for c in chunks))
    body = b''.join(struct.pack('<QQQQIIII', *c) for c in chunks)
    body += b''.join(struct.pack('<I', a) for x in a4 for a in x)
    body += b''.join(a for x in a6 for a in x)
    total = HDR + len(body) + 8
    struct.pack_into('<Q', hdr, 16, total)
    out = bytes(hdr) + body
    out += struct.pack('<I', zlib.crc32(out) & 0xffffffff) + b'IEND'
    with open(path, 'wb') as f:
        f.write(out)

def main():
    path, cmd = sys.argv[1], sys.argv[2]
    hdr, chunks, a4, a6 = load(path)
    if cmd == 'chunks':
        for i, c in enumerate(chunks):
            print(i, *c)
        return
    i = int(sys.argv[3])
    if cmd == 'addrs4':
        for a in a4[i]:
            print(socket.inet_ntoa(struct.pack('!I', a)))
        return
    if cmd == 'time':
        chunks[i][2], chunks[i][3] = int(sys.argv[4]), int(sys.argv[5])
    elif cmd == 'drop4':
        a = struct.unpack('!I', socket.inet_aton(sys.argv[4]))[0]
        assert a in a4[i], 'address not in the summary'
        a4[i].remove(a)
    else:
        sys.exit('unknown command ' + cmd)
    save(path, hdr, chunks, a4, a6)

main()
