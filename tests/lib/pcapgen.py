#!/usr/bin/env python3
"""Write a classic pcap with known timestamps and addresses, for ringcap-read's tests.

  pcapgen.py OUT --start SEC --count N [--step-us U] [--seed S] [--nano] [--swap]
             [--shuffle K] [--hosts H] [--run R] [--net4 A] [--size MIN:MAX]
             [--linktype ethernet|raw] [--torn]

Record i has time start + i*step (then, with --shuffle K, records are shuffled
inside consecutive runs of K, so the file is out of order). Frames: Ethernet
(or raw IP) carrying IPv4 UDP 198.18.X.Y -> 198.19.0.1, every 5th IPv6
2001:2::X -> 2001:2::ffff, every 7th behind an 802.1Q tag (an IPv4 one from
198.18.X.2, a host seen only behind tags), every 11th an ARP request. The source host changes every R records among H hosts, so a host's
records are clustered in time. --torn cuts the last record in half.

--mixed instead interleaves H hosts packet by packet (record i from host i % H)
with traffic that exercises the postings: IPv4 TCP, UDP and ICMP, IPv6 TCP and
UDP and ICMPv6, ports from a few services and many clients, every 7th frame
behind an 802.1Q tag, every 11th ARP, every 13th cut by the snaplen (caplen
under len, some before their ports), every 17th an IPv4 fragment past the
first, every 19th IPv6 behind a fragment header, every 23rd a non-IP frame;
port 22 is the first host's (198.18.0.1, 2001:2::1) alone.
Standard library only.
"""
import argparse, random, struct

def ipv4(src, dst, payload):
    tot = 20 + 8 + len(payload)
    h = struct.pack('!BBHHHBBH4s4s', 0x45, 0, tot, 0, 0x4000, 64, 17, 0, src, dst)
    udp = struct.pack('!HHHH', 1024, 9, 8 + len(payload), 0)
    return h + udp + payload

def ipv6(src, dst, payload):
    h = struct.pack('!IHBB16s16s', 6 << 28, 8 + len(payload), 17, 64, src, dst)
    return h + struct.pack('!HHHH', 1024, 9, 8 + len(payload), 0) + payload

def l4(proto, sport, dport, payload):
    if proto == 6:
        return struct.pack('!HHIIBBHHH', sport, dport, 1, 0, 0x50, 0x18, 512, 0, 0) + payload
    if proto == 17:
        return struct.pack('!HHHH', sport, dport, 8 + len(payload), 0) + payload
    return struct.pack('!BBHI', 8, 0, 0, sport) + payload

def mixed_frame(i, hosts, size):
    """Record i of --mixed: (frame, caplen)."""
    host = i % hosts
    pay = bytes([(i + k) & 0xff for k in range(max(0, size - 80))]) + struct.pack('!I', i)
    proto = (6, 17, 1)[i % 3]
    sport = 1024 + (i * 7919) % 20000
    dport = (53, 80, 443, 8080, 5000 + i % 9)[(i // 3) % 5]
    if host == 0:
        dport = 22  # the first host's service alone: `port 22` meets no other host
    eth = b'\x02\x52\x43\x00\x00\x02\x02\x52\x43\x00\x00\x01'
    if i % 7 == 0:
        eth += struct.pack('!HH', 0x8100, 100 + host % 4)
    if i % 23 == 0:
        return eth + struct.pack('!H', 0x88b5) + pay, None
    if i % 11 == 0:
        arp = struct.pack('!HHBBH6s4s6s4s', 1, 0x0800, 6, 4, 1, b'\x02\0\0\0\0\x01',
                          bytes([198, 18, host // 250, host % 250 + 1]), b'\0' * 6, bytes([198, 19, 0, 1]))
        return eth + struct.pack('!H', 0x0806) + arp + b'\0' * 18, None
    if i % 5 == 0:
        nh = (6, 17, 58)[i % 3]
        src = bytes.fromhex('2001000200000000000000000000') + struct.pack('!H', host + 1)
        dst = bytes.fromhex('2001000200000000000000000001') + struct.pack('!H', dport)
        body = l4(nh if nh != 58 else 1, sport, dport, pay)
        if i % 19 == 0:
            body = struct.pack('!BBHI', nh, 0, 0, i) + body
            nh = 44
        pkt = struct.pack('!IHBB16s16s', 6 << 28, len(body), nh, 64, src, dst) + body
        et = 0x86dd
    else:
        body = l4(proto, sport, dport, pay)
        frag = 0x0010 if i % 17 == 0 else 0x4000
        src = bytes([198, 18, host // 250, host % 250 + 1])
        dst = bytes([198, 19, 0, 1 + dport % 3])
        pkt = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(body), i & 0xffff, frag, 64, proto, 0, src, dst) + body
        et = 0x0800
    frame = eth + struct.pack('!H', et) + pkt
    if i % 13 == 0:
        return frame, (30 + i % 40 if i % 2 else 60)
    return frame, None

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('out')
    ap.add_argument('--start', type=float, required=True)
    ap.add_argument('--count', type=int, required=True)
    ap.add_argument('--step-us', type=int, default=1000)
    ap.add_argument('--seed', type=int, default=1)
    ap.add_argument('--nano', action='store_true')
    ap.add_argument('--swap', action='store_true')
    ap.add_argument('--shuffle', type=int, default=0)
    ap.add_argument('--hosts', type=int, default=8)
    ap.add_argument('--run', type=int, default=500)
    ap.add_argument('--net4', type=int, default=0, help='third octet base of the source hosts')
    ap.add_argument('--size', default='60:1514')
    ap.add_argument('--linktype', default='ethernet')
    ap.add_argument('--torn', action='store_true')
    ap.add_argument('--mixed', action='store_true')
    a = ap.parse_args()
    rnd = random.Random(a.seed)
    lo, hi = (int(x) for x in a.size.split(':'))
    start_ns = int(round(a.start * 1e9))
    recs = []
    for i in range(a.count):
        t = start_ns + i * a.step_us * 1000
        host = (i // a.run) % a.hosts
        size = rnd.randint(lo, hi)
        if a.mixed:
            recs.append((t,) + mixed_frame(i, a.hosts, size))
            continue
        pay = bytes([(i + k) & 0xff for k in range(max(0, size - 62))]) + struct.pack('!I', i)
        if i % 5 == 0:
            pkt, et = ipv6(bytes.fromhex('20010002000000000000000000000000')[:14] + struct.pack('!H', host + 1),
                           bytes.fromhex('2001000200000000000000000000ffff'), pay), 0x86dd
        elif i % 11 == 0 and a.linktype == 'ethernet':
            pkt = struct.pack('!HHBBH6s4s6s4s', 1, 0x0800, 6, 4, 1, b'\x02\0\0\0\0\x01',
                              bytes([198, 18, a.net4 + host, 1]), b'\0' * 6, bytes([198, 19, 0, 1])) + b'\0' * 18
            et = 0x0806
        else:
            # behind a tag (every 7th frame) the source is .2: a host seen only in tagged frames
            last = 2 if i % 7 == 0 else 1
            pkt, et = ipv4(bytes([198, 18, a.net4 + host, last]), bytes([198, 19, 0, 1]), pay), 0x0800
        if a.linktype == 'ethernet':
            eth = b'\x02\x52\x43\x00\x00\x02\x02\x52\x43\x00\x00\x01'
            if i % 7 == 0:
                eth += struct.pack('!HH', 0x8100, 100 + host)
            frame = eth + struct.pack('!H', et) + pkt
        else:
            frame = pkt
        recs.append((t, frame, None))
    if a.shuffle > 1:
        for k in range(0, len(recs), a.shuffle):
            part = recs[k:k + a.shuffle]
            rnd.shuffle(part)
            recs[k:k + a.shuffle] = part
    e = '>' if a.swap else '<'
    magic = 0xa1b23c4d if a.nano else 0xa1b2c3d4
    lt = 1 if a.linktype == 'ethernet' else 101
    out = bytearray(struct.pack(e + 'IHHiIII', magic, 2, 4, 0, 0, 262144, lt))
    for t, frame, caplen in recs:
        sec, ns = divmod(t, 10**9)
        frac = ns if a.nano else ns // 1000
        cut = frame[:caplen] if caplen is not None else frame
        out += struct.pack(e + 'IIII', sec, frac, len(cut), len(frame)) + cut
    if a.torn:
        out = out[:len(out) - len(recs[-1][1]) // 2]
    with open(a.out, 'wb') as f:
        f.write(out)

main()
