#!/usr/bin/env python3
"""zst_corrupt.py FILE.zst FULL.pcap WANT.pcap: corrupt one middle frame of a
zstd file of independent frames with content sizes (what ringcap --compress
writes), in place, so that it no longer decodes (its first compressed
block's literals section claims a Huffman table from an earlier block, which
a frame's first block never has), and write WANT.pcap: the records of
FULL.pcap (the file's stream before the damage) that lie wholly outside the
corrupt frame's uncompressed range. Prints the frame's compressed offset.
Exit 1 when no middle frame starts with a compressed block."""
import struct
import sys


def frames(buf):
    """(coff, uoff, ulen, first block's content offset, its type) per frame."""
    out, off, u = [], 0, 0
    while off < len(buf):
        assert struct.unpack_from("<I", buf, off)[0] == 0xFD2FB528, "not a zstd frame"
        fhd = buf[off + 4]
        fcs_flag, single, dict_id = fhd >> 6, (fhd >> 5) & 1, [0, 1, 2, 4][fhd & 3]
        fcs_len = (1 << fcs_flag) if fcs_flag else single
        pos = off + 4 + 1 + (not single) + dict_id
        ulen = int.from_bytes(buf[pos:pos + fcs_len], "little") + (256 if fcs_len == 2 else 0)
        pos += fcs_len
        first = None
        while True:
            bh = int.from_bytes(buf[pos:pos + 3], "little")
            btype = (bh >> 1) & 3
            if first is None:
                first = (pos + 3, btype)
            pos += 3 + (1 if btype == 1 else bh >> 3)
            if bh & 1:
                break
        if fhd & 4:
            pos += 4
        out.append((off, u, ulen) + first)
        off, u = pos, u + ulen
    return out


def main(zpath, full, want):
    buf = bytearray(open(zpath, "rb").read())
    fr = frames(buf)
    mids = [f for f in fr[1:-1] if f[4] == 2]
    if not mids:
        sys.exit("no middle frame starts with a compressed block")
    coff, uoff, ulen, content, _ = mids[len(mids) // 2]
    buf[content] = 0xFF  # Treeless literals: no earlier Huffman table to use
    open(zpath, "wb").write(buf)
    data = open(full, "rb").read()
    assert data[:4] == b"\xd4\xc3\xb2\xa1", "not a little-endian pcap"
    out, off = [data[:24]], 24
    while off + 16 <= len(data):
        caplen = struct.unpack_from("<I", data, off + 8)[0]
        end = off + 16 + caplen
        if end > len(data):
            break
        if end <= uoff or off >= uoff + ulen:
            out.append(data[off:end])
        off = end
    open(want, "wb").write(b"".join(out))
    print(coff)


if __name__ == "__main__":
    main(*sys.argv[1:4])
