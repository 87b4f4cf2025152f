#!/usr/bin/env python3
"""Walk a pcapng file's blocks and say what the tests check, one line each.

  pcapng_blocks.py FILE

Prints every block but EPBs, numbered by its place in the file (from 0):
  N SHB
  N IDB IFACE linktype=L name=NAME        (name "-" when no if_name)
  N ISB IFACE recv=R drop=D               ("-" for a counter it lacks)
  N OTHER TYPE
then one line per interface that has EPBs, "EPB IFACE COUNT", and last
"torn BYTES" when the file ends inside a block (a capture killed while
writing). Exit 1, naming the offset, when a block's framing lies (total
lengths that differ, are not a multiple of 4 or run short); interfaces are
numbered within their section, as readers do. Standard library only.
"""
import struct, sys


def opts(body, fmt):
    out, i = {}, 0
    while i + 4 <= len(body):
        code, ln = struct.unpack_from(fmt + 'HH', body, i)
        if code == 0:
            break
        out[code] = body[i + 4:i + 4 + ln]
        i += 4 + ((ln + 3) & ~3)
    return out


def main():
    data = open(sys.argv[1], 'rb').read()
    off, n, fmt, nif, epbs = 0, 0, '<', 0, {}
    while off < len(data):
        if len(data) - off < 12:
            break
        btype = struct.unpack_from('<I', data, off)[0]
        if btype == 0x0A0D0D0A:
            fmt = '<' if data[off + 8:off + 12] == b'\x4d\x3c\x2b\x1a' else '>'
            nif = 0
        blen = struct.unpack_from(fmt + 'I', data, off + 4)[0]
        if blen < 12 or blen % 4:
            sys.exit('block at offset %d: total length %d lies' % (off, blen))
        if off + blen > len(data):
            break
        if struct.unpack_from(fmt + 'I', data, off + blen - 4)[0] != blen:
            sys.exit('block at offset %d: its two total lengths differ' % off)
        btype = struct.unpack_from(fmt + 'I', data, off)[0]
        body = data[off + 8:off + blen - 4]
        if btype == 6:
            iface = struct.unpack_from(fmt + 'I', body, 0)[0]
            epbs[iface] = epbs.get(iface, 0) + 1
        elif btype == 0x0A0D0D0A:
            print(n, 'SHB')
        elif btype == 1:
            o = opts(body[8:], fmt)
            name = o.get(2, b'-').rstrip(b'\0').decode(errors='replace')
            print(n, 'IDB', nif, 'linktype=%d' % struct.unpack_from(fmt + 'H', body, 0)[0], 'name=' + name)
            nif += 1
        elif btype == 5:
            o = opts(body[12:], fmt)
            cnt = lambda c: str(struct.unpack(fmt + 'Q', o[c])[0]) if c in o else '-'
            print(n, 'ISB', struct.unpack_from(fmt + 'I', body, 0)[0], 'recv=' + cnt(4), 'drop=' + cnt(5))
        else:
            print(n, 'OTHER', btype)
        off += blen
        n += 1
    for iface in sorted(epbs):
        print('EPB', iface, epbs[iface])
    if off < len(data):
        print('torn', len(data) - off)


main()
