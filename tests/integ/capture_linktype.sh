#!/usr/bin/env bash
# Link type in the file: on a tun interface (no link-layer header) the file's
# header says LINKTYPE_RAW (101), so tcpdump decodes the records as IP. A
# python3 helper in namespace B (tests/lib/tunsend.py) creates tun0, brings it
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

in_b python3 "$(dirname "$0")/../lib/tunsend.py" $N "$TMP/ready" "$TMP/go" "$TMP/done" &
py=$!
for _ in $(seq 600); do [ -e "$TMP/ready" ] && break; sleep 0.05; done
[ -e "$TMP/ready" ] || fail "tun0 was not created"
ringcap_start "$TMP/t.log" -i tun0 -w "$TMP/t.pcap" -T 1 udp port 9 || fail "start: $(cat "$TMP/t.log")"
grep -q "link-type RAW" "$TMP/t.log" || fail "banner: $(cat "$TMP/t.log")"
touch "$TMP/go"
for _ in $(seq 600); do [ -e "$TMP/ready.sent" ] && break; sleep 0.05; done
wait_captured "$TMP/t.log" $N 30 || true
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
wait_captured "$TMP/e.log" 10 30 || true
ringcap_stop
lt=$(od -An -tu4 -j20 -N4 "$TMP/e.pcap" | tr -d ' ')
[ "$lt" = 1 ] || fail "veth file link type $lt, want 1"
echo "ok: veth file is Ethernet (1)"
