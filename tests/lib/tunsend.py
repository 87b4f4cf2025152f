#!/usr/bin/env python3
"""Create tun0 in the current network namespace and write IPv4/UDP packets into it.

  tunsend.py N READY GO DONE [--size BYTES] [--rate PPS]

Creates tun0 (IFF_TUN, no packet information), gives it 198.18.2.1/24, brings
it up and creates the file READY. Waits (bounded, 10 s) for the file GO, then
writes N packets 198.18.2.2:40000 -> 198.18.2.1:9, each with BYTES of UDP
payload (default 32: "RCG1", the sequence number, zeros), at most PPS packets
a second (default 0: as fast as it can); creates READY.sent. Keeps tun0 until
the file DONE appears (bounded, 10 s): the interface goes with the process.
The kernel receives the packets on tun0 as if a peer had sent them.
Standard library only.
"""
import argparse, fcntl, os, struct, subprocess, time

TUNSETIFF, IFF_TUN, IFF_NO_PI = 0x400454ca, 0x0001, 0x1000


def csum(b):
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xffff)
    return ~(s + (s >> 16)) & 0xffff


def wait_for(path):
    for _ in range(200):                  # bounded: 10 s
        if os.path.exists(path):
            return
        time.sleep(0.05)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("n", type=int)
    ap.add_argument("ready")
    ap.add_argument("go")
    ap.add_argument("done")
    ap.add_argument("--size", type=int, default=32)
    ap.add_argument("--rate", type=int, default=0)
    a = ap.parse_args()
    if a.size < 12 or a.size % 2 or a.size > 1400:
        ap.error("--size: an even number of bytes, 12..1400")
    fd = os.open("/dev/net/tun", os.O_RDWR)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", b"tun0", IFF_TUN | IFF_NO_PI))
    subprocess.check_call(["ip", "addr", "add", "198.18.2.1/24", "dev", "tun0"])
    subprocess.check_call(["ip", "link", "set", "tun0", "up"])
    open(a.ready, "w").close()
    wait_for(a.go)
    t0 = time.monotonic()
    for i in range(a.n):
        payload = b"RCG1" + struct.pack("!Q", i) + bytes(a.size - 12)
        udp = struct.pack("!HHHH", 40000, 9, 8 + len(payload), 0) + payload
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), i & 0xffff, 0, 64, 17, 0,
                         bytes([198, 18, 2, 2]), bytes([198, 18, 2, 1]))
        ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
        os.write(fd, ip + udp)
        if a.rate and i % 16 == 15:
            ahead = t0 + (i + 1) / a.rate - time.monotonic()
            if ahead > 0:
                time.sleep(ahead)
    open(a.ready + ".sent", "w").close()
    wait_for(a.done)


main()
