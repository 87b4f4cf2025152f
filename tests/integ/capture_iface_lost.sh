#!/usr/bin/env bash
# The interface goes away: when it is deleted, ringcap writes what it has,
# closes a valid file, says in one line that the interface disappeared, and
# exits 1, promptly and without spinning. Down and up again is survived: the
# packets sent after it came back are in the file too.
source "$(dirname "$0")/../lib/testbed.sh"
need_root
need_cmd tcpdump
testbed_start capture_iface_lost

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; } # utime + stime
# The link's state as B sees it (UP, DOWN, LOWERLAYERDOWN), until it is WANT (at most 30 s).
link_state_is() { # WANT
	for _ in $(seq 300); do
		ip -n "$NS_B" link show "$IF_B" | grep -q "state $1 " && return 0
		sleep 0.1
	done
	return 1
}
gen() { in_a "$BUILD/ringcap-gen" -i "$IF_A" -n "$1" -s 300 --flows 4 -r 20000 -q --duration 10; }

# down and up
ringcap_start "$TMP/d.log" -i "$IF_B" -w "$TMP/d.pcap" -T 2 || fail "start: $(cat "$TMP/d.log")"
gen 400
wait_captured "$TMP/d.log" 400 30 || fail "400 sent, not captured before the link went down: $(cat "$TMP/d.log")"
ip -n "$NS_B" link set "$IF_B" down
link_state_is DOWN || fail "the link did not go down"
# No busy loop while it is down: a spinning thread burns ~100 ticks a second.
t0=$(cpu_ticks "$RC_PID")
sleep 1
ticks=$(( $(cpu_ticks "$RC_PID") - t0 ))
kill -0 "$RC_PID" 2>/dev/null || fail "the interface going down ended the capture: $(cat "$TMP/d.log")"
[ "$ticks" -lt 30 ] || fail "while the interface was down ringcap used $ticks ticks in 1 s"
ip -n "$NS_B" link set "$IF_B" up
link_state_is UP || fail "the link did not come up again"
gen 300
wait_captured "$TMP/d.log" 700 30 || true
ringcap_stop
[ "$RC_STATUS" -eq 0 ] || fail "down/up: exit $RC_STATUS: $(cat "$TMP/d.log")"
n=$(pcap_count "$TMP/d.pcap") || fail "$n"
[ "$n" -eq 700 ] || fail "down/up: $n records, 700 were sent (400 before, 300 after)"
echo "ok: down and up survived, $n records, $ticks CPU ticks in 1 s while down"

# deleted
ringcap_start "$TMP/x.log" -i "$IF_B" -w "$TMP/x.pcap" -T 2 || fail "start: $(cat "$TMP/x.log")"
gen 500
wait_captured "$TMP/x.log" 500 30 || fail "500 sent, not captured: $(cat "$TMP/x.log")"
ip -n "$NS_B" link del "$IF_B"
for _ in $(seq 300); do kill -0 "$RC_PID" 2>/dev/null || break; sleep 0.1; done
kill -0 "$RC_PID" 2>/dev/null && fail "still running 30 s after the interface was deleted"
wait "$RC_PID"; rc=$?; RC_PID=
[ $rc -eq 1 ] || fail "deleted interface: exit $rc (want 1): $(cat "$TMP/x.log")"
grep -q "$IF_B: the interface disappeared" "$TMP/x.log" || fail "no message: $(cat "$TMP/x.log")"
[ "$(grep -c disappeared "$TMP/x.log")" -eq 1 ] || fail "said more than once: $(cat "$TMP/x.log")"
n=$(pcap_count "$TMP/x.pcap") || fail "$n"
[ "$n" -eq 500 ] || fail "deleted interface: $n records, 500 were sent"
echo "ok: deleted interface: exit 1, one line, valid file of $n records"
