#!/usr/bin/env bash
# Capture and ARP answering together: `ringcap -i IF --arp POOL -w FILE udp`.
#
# While A sends exactly COUNT UDP frames (ringcap-gen at 3000 frames/s, so the
# rest happens meanwhile), pings B (ICMP, not UDP) and arpings pool addresses
# (ARP, not UDP), ringcap in B must
#   - write exactly the UDP frames it received, and nothing else: the kernel
#     filter was widened to admit the pool's ARP requests, the file must not
#     show it (tcpdump -r FILE 'not udp' is empty; every frame is the
#     generator's; file = "packets captured"; captured + kernel drops = COUNT);
#   - answer every arping (reply from B's MAC), and count the replies.
# A control run without --arp shows the ARP requests then go unanswered.
#
#   BUILD=build bash tests/integ/arp_capture.sh       (root; 0 pass, 1 fail, 77 skip)
set -u
# shellcheck source-path=SCRIPTDIR source=../lib/testbed.sh
source "$(dirname "$0")/../lib/testbed.sh"

BUILD=${BUILD:-build}
RINGCAP=$BUILD/ringcap
GEN=$BUILD/ringcap-gen
COUNT=3000
POOL=198.18.2.0/24
ASK=(198.18.2.1 198.18.2.100 198.18.2.254)

need_root
need_cmd arping
need_cmd tcpdump
[ -x "$RINGCAP" ] || fail "no $RINGCAP (set BUILD)"
[ -x "$GEN" ] || fail "no $GEN (set BUILD)"

testbed_start arp_capture
in_a ip route add 198.18.2.0/24 dev "$IF_A" || fail "route in A"

# ip netns exec execs ringcap, so RC_PID is ringcap itself (tests/lib/testbed.sh).
start_ringcap() { # log args...
	local log=$1; shift
	ringcap_start "$log" -i "$IF_B" "$@" || fail "ringcap did not start: $(cat "$log")"
}
stop_ringcap() {
	ringcap_stop
	[ "$RC_STATUS" -eq 0 ] || fail "ringcap exited $RC_STATUS"
}

# --- capture + answer ------------------------------------------------------------
start_ringcap "$TMP/rc.log" --arp "$POOL" -w "$TMP/cap.pcap" udp
in_a "$GEN" -i "$IF_A" -n "$COUNT" -r 3000 --duration 20 2>"$TMP/gen.err" &
gen_pid=$!
answered=0
for addr in "${ASK[@]}"; do
	out=$(in_a arping -c 1 -w 10 -I "$IF_A" "$addr" 2>&1) || fail "arping $addr during capture: $out"
	grep -qi "reply from $addr \[$MAC_B\]" <<<"$out" || fail "arping $addr: not from $MAC_B: $out"
	answered=$((answered + 1))
done
in_a ping -c 3 -i 0.2 -W 1 "$IP_B" >/dev/null || fail "ping $IP_B"
wait "$gen_pid" || fail "ringcap-gen exited $?: $(cat "$TMP/gen.err")"
grep -q "^sent $COUNT frames " "$TMP/gen.err" || fail "ringcap-gen: $(cat "$TMP/gen.err")"
wait_accounted "$TMP/rc.log" "$COUNT" || true
stop_ringcap
cat "$TMP/rc.log"
echo "ok: $answered arpings answered with $MAC_B during the capture"

total=$(tcpdump -r "$TMP/cap.pcap" -nn 2>/dev/null | wc -l)
not_udp=$(tcpdump -r "$TMP/cap.pcap" -nn 'not udp' 2>/dev/null | wc -l)
from_gen=$(tcpdump -r "$TMP/cap.pcap" -nn "udp and ether src $MAC_A and dst port 9" 2>/dev/null | wc -l)
echo "file: $total frames, $not_udp not UDP, $from_gen UDP from the generator"
[ "$not_udp" -eq 0 ] || { tcpdump -r "$TMP/cap.pcap" -nn 'not udp' 2>/dev/null | head -5; fail "$not_udp frames in the file do not match 'udp'"; }
# Every generator frame is in the file or in the kernel's drop count. Drops
# happen only when ringcap stalls: with --arp its 1 ms blocks make the 64 MiB
# ring hold just 64 ms of sparse traffic (a busy shared disk can stall longer).
captured=$(counter "$TMP/rc.log" "packets captured")
dropped=$(counter "$TMP/rc.log" "packets dropped by kernel")
[ "$total" -eq "$captured" ] || fail "the file holds $total frames, ringcap says $captured captured"
[ "$from_gen" -eq "$total" ] || fail "only $from_gen of the $total frames are the generator's"
[ $((captured + dropped)) -eq "$COUNT" ] ||
	fail "captured $captured + dropped $dropped != $COUNT frames sent"
[ "$dropped" -eq 0 ] || echo "note: the kernel dropped $dropped of $COUNT frames (ringcap stalled)"
sent=$(counter "$TMP/rc.log" "ARP replies sent")
{ [ -n "$sent" ] && [ "$sent" -ge "$answered" ]; } || fail "ringcap counted '$sent' replies, want >= $answered"
echo "ok: the file holds exactly the $captured UDP frames received ($COUNT sent, $dropped dropped); ringcap counted $sent ARP replies"

# --- control: without --arp the same requests go unanswered -------------------------
start_ringcap "$TMP/ctl.log" -w "$TMP/ctl.pcap" udp
in_a arping -c 1 -w 1 -I "$IF_A" "${ASK[0]}" >"$TMP/ctl.out" 2>&1 &&
	fail "without --arp, ${ASK[0]} was answered: $(cat "$TMP/ctl.out")"
stop_ringcap
grep -q "ARP" "$TMP/ctl.log" && fail "ARP counters printed without --arp: $(cat "$TMP/ctl.log")"
echo "ok: control: without --arp nobody answers ${ASK[0]}"
exit 0
