#!/usr/bin/env python3
"""Send hand-made ARP requests and Neighbor Solicitations from a raw packet socket.

  l2send.py IFACE arp TPA [--spa IP] [--sha MAC] [--src MAC] [--dst MAC]
                          [--tag TPID:VID[:PCP]] [--op N]
  l2send.py IFACE ns TARGET [--ip-src IP6] [--ip-dst IP6] [--src MAC] [--dst MAC]
                          [--slla MAC|none] [--hlim N] [--code N] [--tag TPID:VID[:PCP]]
                          [--bad-csum]

Each call sends one frame (--count N: N copies), with the tag in the frame
(this kernel has no 8021q module, so no VLAN device can add it). Defaults are a
well-formed request from IFACE's MAC: ARP to broadcast with sender 198.18.0.1;
NS from 2001:2::1 to the target's solicited-node group (Ethernet 33:33:ff:..)
with a source link-layer option and a correct checksum. Standard library only.
"""
import argparse, ipaddress, socket, struct


def mac(s):
    return bytes.fromhex(s.replace(':', ''))


def tag_bytes(spec):
    if not spec:
        return b''
    parts = spec.split(':')
    tpid, vid = int(parts[0], 16), int(parts[1])
    pcp = int(parts[2]) if len(parts) > 2 else 0
    return struct.pack('!HH', tpid, pcp << 13 | vid)


def csum(src, dst, msg):
    data = src + dst + struct.pack('!I3xB', len(msg), 58) + msg
    if len(data) % 2:
        data += b'\0'
    s = sum(struct.unpack('!%dH' % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('iface')
    ap.add_argument('kind', choices=['arp', 'ns'])
    ap.add_argument('target')
    ap.add_argument('--spa', default='198.18.0.1')
    ap.add_argument('--sha')
    ap.add_argument('--src')
    ap.add_argument('--dst')
    ap.add_argument('--tag')
    ap.add_argument('--op', type=int, default=1)
    ap.add_argument('--ip-src', default='2001:2::1')
    ap.add_argument('--ip-dst')
    ap.add_argument('--slla')
    ap.add_argument('--hlim', type=int, default=255)
    ap.add_argument('--code', type=int, default=0)
    ap.add_argument('--count', type=int, default=1)
    ap.add_argument('--bad-csum', action='store_true')
    a = ap.parse_args()

    with open('/sys/class/net/%s/address' % a.iface) as f:
        own = mac(f.read().strip())
    src = mac(a.src) if a.src else own
    if a.kind == 'arp':
        sha = mac(a.sha) if a.sha else src
        dst = mac(a.dst) if a.dst else b'\xff' * 6
        body = struct.pack('!HHBBH', 1, 0x0800, 6, 4, a.op) + sha + \
            socket.inet_aton(a.spa) + b'\0' * 6 + socket.inet_aton(a.target)
        frame = dst + src + tag_bytes(a.tag) + b'\x08\x06' + body
    else:
        t = ipaddress.IPv6Address(a.target).packed
        sol = ipaddress.IPv6Address('ff02::1:ff00:0').packed[:13] + t[13:]
        ipdst = ipaddress.IPv6Address(a.ip_dst).packed if a.ip_dst else sol
        ipsrc = ipaddress.IPv6Address(a.ip_src).packed
        dst = mac(a.dst) if a.dst else b'\x33\x33' + ipdst[12:]
        opt = b''
        # default: with the option, except from :: (DAD); --slla forces it
        if a.slla not in (None, 'none') or (a.slla is None and a.ip_src != '::'):
            opt = b'\x01\x01' + (mac(a.slla) if a.slla else src)
        msg = struct.pack('!BBHI', 135, a.code, 0, 0) + t + opt
        msg = msg[:2] + struct.pack('!H', csum(ipsrc, ipdst, msg) ^ a.bad_csum) + msg[4:]
        ip = struct.pack('!IHBB', 6 << 28, len(msg), 58, a.hlim) + ipsrc + ipdst
        frame = dst + src + tag_bytes(a.tag) + b'\x86\xdd' + ip + msg
    frame += b'\0' * max(0, 60 + len(tag_bytes(a.tag)) - len(frame))
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((a.iface, 0))
    for _ in range(a.count):
        s.send(frame)


if __name__ == '__main__':
    main()
