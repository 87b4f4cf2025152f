#!/usr/bin/env bash
# Link type in the file: on a tun interface (no link-layer header) the file's
# header says LINKTYPE_RAW (101), so tcpdump decodes the records as IP. A
# python3 helper (standard library only) in namespace B creates tun0, brings it
# up with 198.18.2.1/24 and writes N IPv4/UDP packets into it; the kernel
# receives them on tun0 and ringcap sees exactly those N. Control: on the veth
# the header says Ethernet (1).
source "$(dirname "$0")/../lib/testbed.sh"
need_root
need_cmd tcpdump
need_cmd python3
[ -c /dev/net/tun ] || skip "no /dev/net/tun"
testbed_start capture_linktype
N=37

cat >"$TMP/tun.py" <<'EOF'
import fcntl, os, struct, subprocess, sys, time
n, ready, go, done = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
TUNSETIFF, IFF_TUN, IFF_NO_PI = 0x400454ca, 0x0001, 0x1000
fd = os.open("/dev/net/tun", os.O_RDWR)
fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", b"tun0", IFF_TUN | IFF_NO_PI))
subprocess.check_call(["ip", "addr", "add", "198.18.2.1/24", "dev", "tun0"])
subprocess.check_call(["ip", "link", "set", "tun0", "up"])
open(ready, "w").close()
for _ in range(200):                      # wait (bounded) for ringcap to listen
    if os.path.exists(go):
        break
    time.sleep(0.05)

def csum(b):
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xffff)
    return ~(s + (s >> 16)) & 0xffff

for i in range(n):
    payload = b"RCG1" + struct.pack("!Q", i) + bytes(20)
    udp = struct.pack("!HHHH", 40000, 9, 8 + len(payload), 0) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), i, 0, 64, 17, 0,
                     bytes([198, 18, 2, 2]), bytes([198, 18, 2, 1]))
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    os.write(fd, ip + udp)
open(ready + ".sent", "w").close()
for _ in range(200):                      # keep tun0 until ringcap has stopped
    if os.path.exists(done):
        break
    time.sleep(0.05)
EOF

in_b python3 "$TMP/tun.py" $N "$TMP/ready" "$TMP/go" "$TMP/done" &
py=$!
for _ in $(seq 100); do [ -e "$TMP/ready" ] && break; sleep 0.05; done
[ -e "$TMP/ready" ] || fail "tun0 was not created"
ringcap_start "$TMP/t.log" -i tun0 -w "$TMP/t.pcap" -T 1 udp port 9 || fail "start: $(cat "$TMP/t.log")"
grep -q "link-type RAW" "$TMP/t.log" || fail "banner: $(cat "$TMP/t.log")"
touch "$TMP/go"
for _ in $(seq 100); do [ -e "$TMP/ready.sent" ] && break; sleep 0.05; done
sleep 0.3
ringcap_stop
touch "$TMP/done"
wait $py || fail "the tun helper failed"
[ "$RC_STATUS" -eq 0 ] || fail "exit $RC_STATUS: $(cat "$TMP/t.log")"
lt=$(od -An -tu4 -j20 -N4 "$TMP/t.pcap" | tr -d ' ')
[ "$lt" = 101 ] || fail "link type in the header is $lt, want 101 (RAW)"
tcpdump -r "$TMP/t.pcap" -nn 2>&1 | head -n 2 | grep -q "link-type RAW" ||
	fail "tcpdump does not see RAW: $(tcpdump -r "$TMP/t.pcap" -nn 2>&1 | head -n 2)"
n=$(tcpdump -r "$TMP/t.pcap" -nn 'ip and src 198.18.2.2 and dst 198.18.2.1 and udp dst port 9' 2>/dev/null | grep -c "UDP, length 32")
[ "$n" -eq $N ] || fail "tcpdump decoded $n IPv4/UDP records, $N were written into tun0"
[ "$(pcap_count "$TMP/t.pcap")" -eq $N ] || fail "file holds $(pcap_count "$TMP/t.pcap") records, want $N"
echo "ok: tun0 file is RAW (101), $n of $N packets decoded as IP"

# Control: Ethernet on the veth.
ringcap_start "$TMP/e.log" -i "$IF_B" -w "$TMP/e.pcap" -T 1 || fail "start: $(cat "$TMP/e.log")"
in_a "$BUILD/ringcap-gen" -i "$IF_A" -n 10 -s 100 -r 1000 -q
sleep 0.3
ringcap_stop
lt=$(od -An -tu4 -j20 -N4 "$TMP/e.pcap" | tr -d ' ')
[ "$lt" = 1 ] || fail "veth file link type $lt, want 1"
echo "ok: veth file is Ethernet (1)"
