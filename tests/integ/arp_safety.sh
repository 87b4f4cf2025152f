#!/usr/bin/env bash
# What ringcap --arp must never answer, seen from the peer, and its start-up
# refusals; then --arp-announce.
#
# Start-up (exit 2, one line naming the value, no -w file): --arp-mac
# broadcast, multicast or all-zero; a pool holding B's own address
# (198.18.0.2) unless --arp-allow-own.
# Requests (crafted in A by tests/lib/l2send.py) to ringcap answering
# 0.0.0.0/0 (with --arp-allow-own: it holds B's address), each for its own
# target so tcpdump on A tells them apart:
#   unicast to another host's MAC                         -> not answered (not for us)
#   source MAC multicast / zero, sender MAC broadcast / zero / multicast,
#   sender IP 224.0.0.1, 255.255.255.255, 127.0.0.1, 0.1.2.3 -> not answered (bad sender)
#   targets 0.0.0.0, 255.255.255.255, 224.0.0.1, 127.0.0.1, 0.0.0.9 -> not answered (bad target)
#   controls: unicast to B's MAC, and a probe (sender 0.0.0.0) -> answered
# The exit counters: 2 requests, 1 not for us, 9 bad sender, 5 bad target.
# --arp-announce: one gratuitous ARP per pool address on A (198.18.7.0-9
# untagged, 198.18.8.1@7 tagged VLAN 7), counted.
#
#   BUILD=build bash tests/integ/arp_safety.sh       (root; 0 pass, 1 fail, 77 skip)
set -u
# shellcheck source-path=SCRIPTDIR source=../lib/testbed.sh
source "$(dirname "$0")/../lib/testbed.sh"

BUILD=${BUILD:-build}
RINGCAP=$BUILD/ringcap
need_root
need_l2send
[ -x "$RINGCAP" ] || fail "no $RINGCAP (set BUILD)"

testbed_start arp_safety

expect_exit2 "'ff:ff:ff:ff:ff:ff'" --arp 198.18.2.0/24 --arp-mac ff:ff:ff:ff:ff:ff
expect_exit2 "'01:00:5e:00:00:01'" --arp 198.18.2.0/24 --arp-mac 01:00:5e:00:00:01
expect_exit2 "'00:00:00:00:00:00'" --arp 198.18.2.0/24 --arp-mac 00:00:00:00:00:00
expect_exit2 "198.18.0.2" --arp 198.18.0.0/24
expect_exit2 "198.18.0.2" --arp 198.18.2.0/24 --arp 0.0.0.0/0

# --- requests never answered ----------------------------------------------------
ringcap_start "$TMP/rc.log" -i "$IF_B" --arp 0.0.0.0/0 --arp-allow-own --stats-json "$TMP/rc.json" ||
	fail "ringcap did not start: $(cat "$TMP/rc.log")"
peer_capture_start safety arp or vlan || fail "tcpdump on A"
send() { in_a python3 "$L2SEND" "$IF_A" arp "$@" || fail "l2send $*"; }
send 198.18.2.20 --dst 02:00:00:00:00:99
send 198.18.2.21 --dst "$MAC_B"
send 198.18.2.22 --src 01:00:5e:00:00:01
send 198.18.2.23 --src 00:00:00:00:00:00
send 198.18.2.24 --sha ff:ff:ff:ff:ff:ff
send 198.18.2.25 --sha 00:00:00:00:00:00
send 198.18.2.26 --sha 01:00:5e:00:00:07
send 198.18.2.27 --spa 224.0.0.1
send 198.18.2.28 --spa 255.255.255.255
send 198.18.2.29 --spa 127.0.0.1
send 198.18.2.30 --spa 0.1.2.3
send 198.18.2.31 --spa 0.0.0.0
send 0.0.0.0
send 255.255.255.255
send 224.0.0.1
send 127.0.0.1
send 0.0.0.9
peer_capture_stop 2 "Reply"	# the controls' answers
ringcap_stop
[ "$RC_STATUS" -eq 0 ] || fail "ringcap exited $RC_STATUS: $(cat "$TMP/rc.log")"
tcpdump -r "$TMP/safety.pcap" -e -nn 2>/dev/null | grep Reply >"$TMP/replies.txt"
cat "$TMP/replies.txt"
for ip in 198.18.2.21 198.18.2.31; do
	[ "$(grep -c "Reply $ip is-at" "$TMP/replies.txt")" -eq 1 ] || fail "control $ip not answered once"
done
[ "$(wc -l <"$TMP/replies.txt")" -eq 2 ] || fail "$(wc -l <"$TMP/replies.txt") replies, want 2 (the controls)"
echo "ok: only the two controls were answered"
cat "$TMP/rc.log"
for kv in '"requests_answered": 2,' '"not_for_us": 1,' '"bad_sender": 9,' '"bad_target": 5,'; do
	grep -qF "$kv" "$TMP/rc.json" || fail "stats: want $kv in $(grep '"arp"' "$TMP/rc.json")"
done
echo "ok: counted: 2 answered, 1 not for us, 9 bad senders, 5 bad targets"

# --- announcements --------------------------------------------------------------
peer_capture_start announce arp or vlan || fail "tcpdump on A"
ringcap_start "$TMP/rc2.log" -i "$IF_B" --arp 198.18.7.0-198.18.7.9 --arp 198.18.8.1@7 \
	--arp-announce --announce-rate 200 --stats-json "$TMP/rc2.json" ||
	fail "ringcap did not start: $(cat "$TMP/rc2.log")"
peer_capture_stop 11 "$MAC_B > ff:ff:ff:ff:ff:ff"
ringcap_stop
tcpdump -r "$TMP/announce.pcap" -e -nn 2>/dev/null >"$TMP/ann.txt"
cat "$TMP/ann.txt"
for i in $(seq 0 9); do
	grep -qE "^.* ethertype ARP \(0x0806\), length 60: (Request who-has 198\.18\.7\.$i tell 198\.18\.7\.$i|Announcement 198\.18\.7\.$i)," "$TMP/ann.txt" ||
		fail "no gratuitous ARP for 198.18.7.$i"
done
grep -qE "vlan 7, p 0, ethertype ARP \(0x0806\), (Request who-has 198\.18\.8\.1 tell 198\.18\.8\.1|Announcement 198\.18\.8\.1)," "$TMP/ann.txt" ||
	fail "no gratuitous ARP for 198.18.8.1 on VLAN 7"
[ "$(grep -c "$MAC_B > ff:ff:ff:ff:ff:ff" "$TMP/ann.txt")" -eq 11 ] || fail "not 11 announcements from B"
grep -q '"announcements_queued": 11,' "$TMP/rc2.json" || fail "announced: $(grep '"arp"' "$TMP/rc2.json")"
echo "ok: 11 gratuitous ARPs seen on A (one tagged VLAN 7), 11 counted"
exit 0
