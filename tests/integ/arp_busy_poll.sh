#!/usr/bin/env bash
# --arp-busy-poll: under a flood the responder thread checks its ring for a
# while before sleeping; idle, it sleeps and wakes per request. Checked by
# content and accounting, never by time:
#   - idle: the thread (named ringcap-arp) is asleep (state S) whenever looked
#     at, and each lone arping is answered and costs it at least one wake-up
#     (voluntary_ctxt_switches grows by one or more per request), with no
#     busy-poll window opened;
#   - a flood at the generator's ceiling (bench/arp-flood, 20,000 frames, in-
#     and out-of-pool requests and bulk frames): no reply wrong, requests
#     answered, and every frame accounted for: the responder's frames received
#     equal those it took plus the kernel's drops, its replies equal its
#     answered requests (at least those the generator saw), the generator's
#     answers plus its own drops do not exceed the requests it offered; and
#     busy-poll windows were opened (and caught requests). At this rate
#     frames may be dropped and late replies look like duplicates to the
#     generator (it tracks ~2k outstanding requests): exactly-once answering
#     is proven at a paced rate by arp_vs_classic;
#   - after the flood the thread is asleep again and still answers arping;
#   - control: --arp-busy-poll 0 answers the same flood completely and opens
#     no window, with the same accounting; 1001 and "soon" exit 2 naming the value.
#
#   BUILD=build bash tests/integ/arp_busy_poll.sh       (root; 0 pass, 1 fail, 77 skip)
set -u
# shellcheck source-path=SCRIPTDIR source=../lib/testbed.sh
source "$(dirname "$0")/../lib/testbed.sh"

BUILD=${BUILD:-build}
POOL=198.18.16.0/24
FLOOD=(-n 20000 -r max --arp-in 198.18.16.0-198.18.16.255 --arp-out 198.18.17.0-198.18.17.63
       --mix 4:1:1 --bypass --duration 10 --wait 1000 -q)
LONE=5

need_root
need_cmd arping
for b in ringcap arp-flood; do
	[ -x "$BUILD/$b" ] || fail "no $BUILD/$b (set BUILD)"
done
testbed_start arp_busy_poll
in_a ip route add 198.18.16.0/24 dev "$IF_A" || fail "route in A"

expect_exit2 "'1001'" --arp "$POOL" --arp-busy-poll 1001
expect_exit2 "'soon'" --arp "$POOL" --arp-busy-poll soon

# Generator and responder on different CPUs when there are two, as in the bench.
PIN=()
GEN_PIN=()
if [ "$(nproc)" -ge 2 ]; then PIN=(--arp-cpu 1); GEN_PIN=(--cpu 0); fi

responder_tid() { # the responder thread of RC_PID
	local t
	for t in /proc/"$RC_PID"/task/*; do
		[ "$(cat "$t/comm" 2>/dev/null)" = ringcap-arp ] && { basename "$t"; return 0; }
	done
	return 1
}
state() { awk '{ print $3 }' "/proc/$RC_PID/task/$TID/stat"; }
wakeups() { awk '/^voluntary_ctxt_switches/ { print $2 }' "/proc/$RC_PID/task/$TID/status"; }

# Asleep at each of 5 looks (a spinning thread is R); bounded: first wait up
# to 10 s for a window that may still be open to close.
expect_asleep() { # what
	local i
	for _ in $(seq 100); do [ "$(state)" = S ] && break; sleep 0.1; done
	for i in 1 2 3 4 5; do
		[ "$(state)" = S ] || fail "$1: responder thread in state $(state) at look $i, want S (asleep)"
		sleep 0.1
	done
	echo "ok: $1: responder thread asleep at 5 of 5 looks"
}

# LONE single arpings, each answered and each waking the thread.
expect_lone() { # what
	local w0 w1 got=0
	w0=$(wakeups)
	for _ in $(seq "$LONE"); do
		in_a arping -c 1 -w 10 -I "$IF_A" 198.18.16.77 >"$TMP/arping.out" 2>&1 &&
			grep -q "reply from" "$TMP/arping.out" && got=$((got + 1))
	done
	w1=$(wakeups)
	[ "$got" -eq "$LONE" ] || fail "$1: $got of $LONE arpings answered"
	[ $((w1 - w0)) -ge "$LONE" ] || fail "$1: $LONE requests woke the thread $((w1 - w0)) times"
	echo "ok: $1: $LONE arpings answered, $((w1 - w0)) wake-ups"
}

flood() { # name: arp-flood into $TMP/NAME.json; requests answered, none wrong
	local j=$TMP/$1.json in ans drops
	in_a "$BUILD/arp-flood" -i "$IF_A" "${FLOOD[@]}" "${GEN_PIN[@]}" --expect-mac "$MAC_B" \
		>"$j" || fail "arp-flood ($1) exited $?"
	in=$(jget offered_in "$j")
	ans=$(jget answered_in "$j")
	drops=$(jget rx_drops "$j")
	[ "$(jget sent "$j")" = 20000 ] || fail "$1: arp-flood sent $(jget sent "$j") of 20000"
	[ "$in" -gt 0 ] || fail "$1: no in-pool requests offered"
	[ "$(jget wrong "$j")" = 0 ] || fail "$1: $(jget wrong "$j") wrong replies"
	[ "$ans" -gt 0 ] || fail "$1: none of $in in-pool requests answered"
	[ $((ans + drops)) -le "$in" ] ||
		fail "$1: $ans answered + $drops dropped at the generator > $in offered"
	echo "ok: $1: $ans of $in in-pool requests answered ($drops replies dropped at the generator), none wrong"
	FLOOD_ANS=$ans
}
# The responder's accounting in LOG's last report: every frame that passed its
# filter was taken from the ring or counted as a kernel drop; one reply sent
# per request answered, and at least WANT requests answered.
responder_accounts() { # what LOG WANT
	local rx taken kdrops reqs sent
	rx=$(awk '/responder frames received by filter/ { v = $1 } END { print v }' "$2")
	kdrops=$(awk '/responder frames received by filter/ { v = $7 } END { print v }' "$2")
	taken=$(counter "$2" "ARP requests received by filter")
	reqs=$(counter "$2" "ARP requests answered")
	sent=$(counter "$2" "ARP replies sent")
	[ -n "$rx" ] && [ -n "$kdrops" ] && [ -n "$taken" ] && [ -n "$reqs" ] && [ -n "$sent" ] ||
		fail "$1: responder counters missing: $(cat "$2")"
	[ "$rx" -eq $((taken + kdrops)) ] ||
		fail "$1: responder received $rx frames, took $taken + kernel dropped $kdrops"
	[ "$sent" = "$reqs" ] || fail "$1: $sent replies sent for $reqs requests answered"
	[ "$reqs" -ge "$3" ] || fail "$1: $reqs requests answered, the peer saw $3 answered"
	echo "ok: $1: $rx frames = $taken taken + $kdrops kernel drops; $reqs requests, $sent replies"
}
jget() { sed -n "s/.*\"$1\":\([0-9]*\).*/\1/p" "$2"; }

# --- busy-poll on (the default window) ------------------------------------------
ringcap_start "$TMP/on.log" -i "$IF_B" --arp "$POOL" "${PIN[@]}" ||
	fail "ringcap did not start: $(cat "$TMP/on.log")"
TID=$(responder_tid) || fail "no thread named ringcap-arp in ringcap $RC_PID"
expect_asleep "idle"
expect_lone "idle"
# SIGUSR1: the counters so far, on stderr; lone requests open no window.
kill -USR1 "$RC_PID"
for _ in $(seq 100); do grep -q "busy-poll windows" "$TMP/on.log" && break; sleep 0.1; done
idle_windows=$(counter "$TMP/on.log" "busy-poll windows")
[ "$idle_windows" = 0 ] || fail "idle: $idle_windows busy-poll windows for lone requests, want 0"
echo "ok: idle: no busy-poll window opened"
flood on
expect_asleep "after the flood"
expect_lone "after the flood"
ringcap_stop
[ "$RC_STATUS" -eq 0 ] || fail "ringcap exited $RC_STATUS: $(cat "$TMP/on.log")"
cat "$TMP/on.log"
# Each lone arping was answered: at least one request each, twice over.
responder_accounts on "$TMP/on.log" $((FLOOD_ANS + 2 * LONE))
windows=$(counter "$TMP/on.log" "busy-poll windows")
caught=$(awk '/busy-poll windows/ { c = $4 } END { print c }' "$TMP/on.log")
{ [ -n "$windows" ] && [ "$windows" -gt 0 ]; } || fail "on: no busy-poll window under the flood"
{ [ -n "$caught" ] && [ "$caught" -le "$windows" ]; } || fail "on: $caught of $windows windows caught"
echo "ok: on: $windows busy-poll windows, $caught caught a request"

# --- control: busy-poll off ------------------------------------------------------
ringcap_start "$TMP/off.log" -i "$IF_B" --arp "$POOL" "${PIN[@]}" --arp-busy-poll 0 \
	--stats-json "$TMP/off-stats.json" ||
	fail "ringcap did not start: $(cat "$TMP/off.log")"
flood off
ringcap_stop
[ "$RC_STATUS" -eq 0 ] || fail "ringcap exited $RC_STATUS: $(cat "$TMP/off.log")"
off_windows=$(sed -n 's/.*"busy_poll_windows":[[:space:]]*\([0-9]*\).*/\1/p' "$TMP/off-stats.json")
[ "$off_windows" = 0 ] || fail "off: busy_poll_windows '$off_windows' in --stats-json, want 0"
responder_accounts off "$TMP/off.log" "$FLOOD_ANS"
echo "ok: off: no busy-poll window"
exit 0
