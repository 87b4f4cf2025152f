#!/usr/bin/env python3
"""pcap_dups.py FILE: how many records of a classic pcap file repeat an
earlier record byte for byte (the frame, not the record header). The tests'
generators stamp every frame with a unique index, so any repeat is a record
written twice. Prints the count; exit 1 on a file that is not a pcap."""
import struct
import sys


def main(path):
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        sys.exit("short file")
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        end = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        end = ">"
    else:
        sys.exit("not a pcap file")
    seen, dups, off = set(), 0, 24
    while off + 16 <= len(data):
        caplen = struct.unpack_from(end + "I", data, off + 8)[0]
        frame = data[off + 16:off + 16 + caplen]
        off += 16 + caplen
        if frame in seen:
            dups += 1
        else:
            seen.add(frame)
    print(dups)


if __name__ == "__main__":
    main(sys.argv[1])
