#!/usr/bin/env bash
# ringcap --arp answers a tagged request with the request's tag and TPID, an
# untagged one untagged, and keeps @VID pools to their VLAN.
#
# This kernel has no 8021q module: A's requests are crafted with the tag in the
# frame (tests/lib/l2send.py, a raw packet socket). B's kernel takes the tag
# off into the packet's metadata before any packet socket sees it (veth or
# not: __netif_receive_skb_core), so ringcap reads it from tp_vlan_tci and
# puts it back in its reply; tcpdump -e on A shows what came back.
# Pools: 198.18.2.0/24 (any VLAN), 198.18.5.0/24@7 (VLAN 7 only),
# 198.18.6.0/24@0 (untagged only).
#   untagged                 -> 198.18.2.10 answered untagged
#   802.1Q VID 7, PCP 3      -> 198.18.2.11 answered 802.1Q VID 7 PCP 3
#   802.1ad VID 100          -> 198.18.2.12 answered 802.1ad VID 100
#   802.1Q VID 7             -> 198.18.5.13 answered; untagged .5.14 and VID 8 .5.15 not
#   untagged                 -> 198.18.6.16 answered; VID 7 .6.17 not
#   two tags (802.1ad 100 + 802.1Q 7) -> 198.18.2.18 not answered
# ringcap's counters: 5 requests, 4 other VLAN.
#
#   BUILD=build bash tests/integ/arp_vlan.sh       (root; 0 pass, 1 fail, 77 skip)
set -u
# shellcheck source-path=SCRIPTDIR source=../lib/testbed.sh
source "$(dirname "$0")/../lib/testbed.sh"

BUILD=${BUILD:-build}
need_root
need_l2send
[ -x "$BUILD/ringcap" ] || fail "no $BUILD/ringcap (set BUILD)"

testbed_start arp_vlan

ringcap_start "$TMP/rc.log" -i "$IF_B" --arp 198.18.2.0/24 --arp 198.18.5.0/24@7 \
	--arp 198.18.6.0/24@0 --stats-json "$TMP/rc.json" || fail "ringcap did not start: $(cat "$TMP/rc.log")"
peer_capture_start peer arp or vlan || fail "tcpdump on A"

send() { in_a python3 "$L2SEND" "$IF_A" arp "$@" || fail "l2send $*"; }
send 198.18.2.10
send 198.18.2.11 --tag 8100:7:3
send 198.18.2.12 --tag 88a8:100
send 198.18.5.13 --tag 8100:7
send 198.18.5.14
send 198.18.5.15 --tag 8100:8
send 198.18.6.16
send 198.18.6.17 --tag 8100:7
# two tags: 802.1ad outside, 802.1Q inside
in_a python3 - "$IF_A" <<'PY' || fail "double-tagged send"
import socket, struct, sys
iface = sys.argv[1]
src = bytes.fromhex(open('/sys/class/net/%s/address' % iface).read().strip().replace(':', ''))
arp = struct.pack('!HHBBH', 1, 0x0800, 6, 4, 1) + src + socket.inet_aton('198.18.0.1') + \
      b'\0' * 6 + socket.inet_aton('198.18.2.18')
f = b'\xff' * 6 + src + struct.pack('!HHHH', 0x88a8, 100, 0x8100, 7) + b'\x08\x06' + arp
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((iface, 0))
s.send(f + b'\0' * 4)
PY
peer_capture_stop 5 "Reply"
ringcap_stop
[ "$RC_STATUS" -eq 0 ] || fail "ringcap exited $RC_STATUS: $(cat "$TMP/rc.log")"
tcpdump -r "$TMP/peer.pcap" -e -nn 2>/dev/null | grep Reply >"$TMP/replies.txt"
cat "$TMP/replies.txt"

# expect_reply IP PATTERN: exactly one reply for IP, and it matches PATTERN.
expect_reply() {
	local ip=$1 pat=$2 line n
	n=$(grep -c "Reply $ip is-at" "$TMP/replies.txt")
	[ "$n" -eq 1 ] || fail "$n replies for $ip, want 1"
	line=$(grep "Reply $ip is-at" "$TMP/replies.txt")
	grep -qE -- "$pat" <<<"$line" || fail "reply for $ip: '$line' does not match '$pat'"
	grep -qi "is-at $MAC_B" <<<"$line" || fail "reply for $ip not with B's MAC: $line"
	echo "ok: $ip: ethertype${line#*ethertype}"
}
expect_none() {
	grep -q "Reply $1 is-at" "$TMP/replies.txt" && fail "$1 answered: $(grep "Reply $1 " "$TMP/replies.txt")"
	echo "ok: $1 not answered ($2)"
}
expect_reply 198.18.2.10 "ethertype ARP \(0x0806\), length 60: Reply"
expect_reply 198.18.2.11 "ethertype 802\.1Q \(0x8100\), length 64: vlan 7, p 3, ethertype ARP"
expect_reply 198.18.2.12 "ethertype 802\.1Q-QinQ \(0x88a8\), length 64: vlan 100, p 0, ethertype ARP"
expect_reply 198.18.5.13 "ethertype 802\.1Q \(0x8100\), length 64: vlan 7, p 0, ethertype ARP"
expect_none 198.18.5.14 "@7 pool, untagged"
expect_none 198.18.5.15 "@7 pool, VLAN 8"
expect_reply 198.18.6.16 "ethertype ARP \(0x0806\), length 60: Reply"
expect_none 198.18.6.17 "@0 pool, VLAN 7"
expect_none 198.18.2.18 "two tags"
[ "$(wc -l <"$TMP/replies.txt")" -eq 5 ] || fail "$(wc -l <"$TMP/replies.txt") replies, want 5"

cat "$TMP/rc.log"
grep -q '"requests_answered": 5,' "$TMP/rc.json" || fail "requests: $(grep '"arp"' "$TMP/rc.json")"
grep -q '"other_vlan": 4}' "$TMP/rc.json" || fail "other_vlan: $(grep '"arp"' "$TMP/rc.json")"
echo "ok: counters: 5 requests answered, 4 ignored for their VLAN"
exit 0
