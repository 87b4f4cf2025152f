#!/usr/bin/env bash
# ringcap --arp sends the same replies as the classic responder, byte for byte.
#
# The oracle is tools/arp-classic: one AF_PACKET socket, a classic BPF filter,
# one recvfrom() and one sendto() per request (the classic user-space responder
# people ran before). The same fixed stream of frames from A (bench/arp-flood, 400
# frames at 2000/s: in-pool and out-of-pool requests, bulk UDP, and every 10th
# frame a special: a probe, a gratuitous request, an ARP reply, hlen 8, 41
# bytes) is answered once by arp-classic and once by ringcap in B. tcpdump in A
# records the replies that arrive; the two recordings, timestamps stripped and
# sorted (order may differ), must be the same bytes, as a multiset. Each must
# also hold one reply per in-pool request and probe and nothing else, per
# arp-flood's own matching.
#
#   BUILD=build bash tests/integ/arp_vs_classic.sh       (root; 0 pass, 1 fail, 77 skip)
set -u
# shellcheck source-path=SCRIPTDIR source=../lib/testbed.sh
source "$(dirname "$0")/../lib/testbed.sh"

BUILD=${BUILD:-build}
POOLS=(--arp 198.18.2.0/26 --arp 198.18.3.10-198.18.3.20)
FLOOD=(-n 400 -r 2000 --arp-in 198.18.2.0-198.18.2.63 --arp-out 198.18.3.0-198.18.3.9
       --mix 3:1:1 --specials 10 --duration 10 --wait 5000)

need_root
need_cmd tcpdump
for b in ringcap arp-classic arp-flood; do
	[ -x "$BUILD/$b" ] || fail "no $BUILD/$b (set BUILD)"
done

RESP_PID=''
TD_PID=''
# shellcheck disable=SC2317  # run by testbed.sh's EXIT trap
cleanup() {
	[ -n "$TD_PID" ] && kill -INT "$TD_PID" 2>/dev/null
	[ -n "$RESP_PID" ] && kill -INT "$RESP_PID" 2>/dev/null
	wait 2>/dev/null
}
TB_EXTRA_CLEANUP=cleanup
testbed_start arp_vs_classic

wait_listening() { # pid log what
	for _ in $(seq 300); do
		grep -q "listening on" "$2" && return 0
		kill -0 "$1" 2>/dev/null || fail "$3 died: $(cat "$2")"
		sleep 0.1
	done
	fail "$3 never started listening: $(cat "$2")"
}

# One run: responder NAME in B, tcpdump in A, the stream, both stopped.
run_arm() { # name responder-args...
	local name=$1 rc; shift
	# ip netns exec execs the program, so $! is the program and gets SIGINT.
	ip netns exec "$NS_B" "$@" 2>"$TMP/$name.log" &
	RESP_PID=$!
	wait_listening "$RESP_PID" "$TMP/$name.log" "$name"
	# -s 1600 -B 8192: thousands of ring slots (their size follows the
	# snapshot length), so a tcpdump short of CPU drops no reply
	ip netns exec "$NS_A" tcpdump -i "$IF_A" -Q in -nn -U --immediate-mode -s 1600 -B 8192 -Z root \
		-w "$TMP/$name.pcap" 'arp[6:2] = 2' 2>"$TMP/$name.td" &
	TD_PID=$!
	wait_listening "$TD_PID" "$TMP/$name.td" "tcpdump"
	in_a "$BUILD/arp-flood" -i "$IF_A" "${FLOOD[@]}" --expect-mac "$MAC_B" -q \
		>"$TMP/$name.json" || fail "arp-flood ($name) exited $?"
	# tcpdump writes each reply as it comes: wait until its file holds one per
	# in-pool request and probe (at most 30 s), so that none is cut off.
	local want=$(($(jget offered_in "$TMP/$name.json") + $(jget probes "$TMP/$name.json")))
	for _ in $(seq 150); do
		[ "$(tcpdump -r "$TMP/$name.pcap" -nn -q 2>/dev/null | wc -l)" -ge "$want" ] && break
		sleep 0.2
	done
	kill -INT "$TD_PID"; wait "$TD_PID"; TD_PID=
	kill -INT "$RESP_PID"; wait "$RESP_PID"; rc=$?; RESP_PID=
	[ "$rc" -eq 0 ] || fail "$name exited $rc: $(cat "$TMP/$name.log")"
	cat "$TMP/$name.log" "$TMP/$name.td" "$TMP/$name.json"
	# One line per frame: the decode and the hex, no timestamp; sorted.
	tcpdump -r "$TMP/$name.pcap" -t -nn -xx 2>/dev/null |
		awk '/^[^ \t]/ { if (p != "") print p; p = $0; next } { p = p " " $0 }
		     END { if (p != "") print p }' | sort >"$TMP/$name.txt"
}
jget() { sed -n "s/.*\"$1\":\([0-9]*\).*/\1/p" "$2"; }

run_arm classic "$BUILD/arp-classic" -i "$IF_B" "${POOLS[@]}"
run_arm ringcap "$BUILD/ringcap" -i "$IF_B" "${POOLS[@]}"

for arm in classic ringcap; do
	j=$TMP/$arm.json
	in=$(jget offered_in "$j") probes=$(jget probes "$j") got=$(wc -l <"$TMP/$arm.txt")
	[ "$(jget sent "$j")" = 400 ] || fail "$arm: arp-flood sent $(jget sent "$j") of 400"
	{ [ "$in" -gt 0 ] && [ "$probes" -gt 0 ]; } || fail "$arm: the stream has no in-pool requests or probes"
	[ "$(jget answered_in "$j")" = "$in" ] || fail "$arm: $(jget answered_in "$j") of $in in-pool requests answered"
	[ "$(jget probe_replies "$j")" = "$probes" ] || fail "$arm: $(jget probe_replies "$j") of $probes probes answered"
	{ [ "$(jget wrong "$j")" = 0 ] && [ "$(jget dup_replies "$j")" = 0 ]; } || fail "$arm: wrong or duplicate replies"
	[ "$got" -eq $((in + probes)) ] || fail "$arm: tcpdump saw $got replies, want $((in + probes))"
	echo "ok: $arm answered $in in-pool requests and $probes probes, nothing else ($got replies)"
done

if ! cmp -s "$TMP/classic.txt" "$TMP/ringcap.txt"; then
	diff "$TMP/classic.txt" "$TMP/ringcap.txt" | head -n 10
	fail "ringcap's replies differ from arp-classic's"
fi
echo "ok: ringcap's $(wc -l <"$TMP/ringcap.txt") replies equal arp-classic's, byte for byte (sorted)"
exit 0
