#!/usr/bin/env python3
"""Make a ringcap-read index (.NAME.ridx, format version 3 of index/index.h) lie,
for the tests that check a lying index is caught. The result is a valid index
file (counts, header range and checksum recomputed, identity kept): only its
claims about the capture file are false.

  ridx.py INDEX chunks                       print: i off end min_ns max_ns records flags n4 n6
  ridx.py INDEX time I MIN_NS MAX_NS         chunk I claims [MIN_NS, MAX_NS]
  ridx.py INDEX drop4 I A.B.C.D              chunk I's summary loses an IPv4 address
  ridx.py INDEX addrs4 I                     print chunk I's IPv4 addresses
  ridx.py INDEX keys I                       print chunk I's postings: type value-hex offsets...
  ridx.py INDEX claim I TYPE HEX OFF         chunk I's key (TYPE, value HEX) claims the
                                             record at chunk offset OFF too
  ridx.py INDEX postings                     print: start length of the postings section
Standard library only.
"""
import socket, struct, sys, zlib

HDR, CHUNK, CFMT = 176, 64, '<QQQQIIIIQII'
KEYLEN = {0: 0, 1: 0, 2: 4, 3: 16, 4: 2, 5: 1}

def varint(b, p):
    x = s = 0
    while True:
        c = b[p]; p += 1
        x |= (c & 0x7f) << s; s += 7
        if not c & 0x80:
            return x, p

def enc(v):
    out = bytearray()
    while v >= 0x80:
        out.append(v & 0x7f | 0x80); v >>= 7
    out.append(v)
    return bytes(out)

def decode(blk):
    keys, p = [], 0
    while p < len(blk):
        t = blk[p]; p += 1
        v = bytes(blk[p:p + KEYLEN[t]]); p += KEYLEN[t]
        n, p = varint(blk, p)
        _, p = varint(blk, p)
        offs, at = [], 0
        for _ in range(n):
            d, p = varint(blk, p); at += d; offs.append(at)
        keys.append([t, v, offs])
    return keys

def encode(keys):
    out = b''
    for t, v, offs in sorted(keys, key=lambda k: (k[0], k[1])):
        offs = sorted(set(offs))
        body = b''.join(enc(o - p) for o, p in zip(offs, [0] + offs[:-1]))
        out += bytes([t]) + v + enc(len(offs)) + enc(len(body)) + body
    return out

def load(path):
    b = open(path, 'rb').read()
    assert b[:8] == b'RCAPIDX\n' and struct.unpack_from('<I', b, 8)[0] == 3, 'not a version 3 index'
    nchunks, n4, n6 = struct.unpack_from('<III', b, 124)
    chunks, a4, a6, post = [], [], [], []
    for i in range(nchunks):
        chunks.append(list(struct.unpack_from(CFMT, b, HDR + i * CHUNK)))
    p4 = HDR + nchunks * CHUNK
    p6 = p4 + n4 * 4
    pp = p6 + n6 * 16
    for c in chunks:
        a4.append([struct.unpack_from('<I', b, p4 + 4 * k)[0] for k in range(c[6])])
        p4 += 4 * c[6]
        a6.append([b[p6 + 16 * k:p6 + 16 * k + 16] for k in range(c[7])])
        p6 += 16 * c[7]
        post.append(decode(b[pp + c[8]:pp + c[8] + c[9]]))
    return bytearray(b[:HDR]), chunks, a4, a6, post

def save(path, hdr, chunks, a4, a6, post):
    blocks, at = [], 0
    for c, x4, x6, k in zip(chunks, a4, a6, post):
        c[6], c[7] = len(x4), len(x6)
        blk = encode(k)
        c[8], c[9], c[10] = at, len(blk), len(k)
        at += len(blk)
        blocks.append(blk)
    struct.pack_into('<II', hdr, 128, sum(map(len, a4)), sum(map(len, a6)))
    struct.pack_into('<Q', hdr, 136, at)
    struct.pack_into('<QQ', hdr, 104, min(c[2] for c in chunks), max(c[3] for c in chunks))
    body = b''.join(struct.pack(CFMT, *c) for c in chunks)
    body += b''.join(struct.pack('<I', a) for x in a4 for a in x)
    body += b''.join(a for x in a6 for a in x)
    body += b''.join(blocks)
    total = HDR + len(body) + 8
    struct.pack_into('<Q', hdr, 16, total)
    out = bytes(hdr) + body
    out += struct.pack('<I', zlib.crc32(out) & 0xffffffff) + b'IEND'
    with open(path, 'wb') as f:
        f.write(out)

def main():
    path, cmd = sys.argv[1], sys.argv[2]
    hdr, chunks, a4, a6, post = load(path)
    if cmd == 'chunks':
        for i, c in enumerate(chunks):
            print(i, *c[:8])
        return
    if cmd == 'postings':
        nchunks, n4, n6 = struct.unpack_from('<III', hdr, 124)
        print(HDR + nchunks * CHUNK + n4 * 4 + n6 * 16, struct.unpack_from('<Q', hdr, 136)[0])
        return
    i = int(sys.argv[3])
    if cmd == 'addrs4':
        for a in a4[i]:
            print(socket.inet_ntoa(struct.pack('!I', a)))
        return
    if cmd == 'keys':
        for t, v, offs in post[i]:
            print(t, v.hex() or '-', *offs)
        return
    if cmd == 'time':
        chunks[i][2], chunks[i][3] = int(sys.argv[4]), int(sys.argv[5])
    elif cmd == 'drop4':
        a = struct.unpack('!I', socket.inet_aton(sys.argv[4]))[0]
        assert a in a4[i], 'address not in the summary'
        a4[i].remove(a)
    elif cmd == 'claim':
        t, v, off = int(sys.argv[4]), bytes.fromhex(sys.argv[5]), int(sys.argv[6])
        for k in post[i]:
            if k[0] == t and k[1] == v:
                k[2].append(off)
                break
        else:
            post[i].append([t, v, [off]])
    else:
        sys.exit('unknown command ' + cmd)
    save(path, hdr, chunks, a4, a6, post)

main()
