#!/usr/bin/env bash
# ringcap --arp answers real clients for several disjoint pools, and only them.
#
# ringcap runs in B with three pools: a CIDR block, a range and one address.
# From A (which routes 198.18.2.0/24, .3.0/24 and .4.0/24 straight out of its
# veth, so its kernel ARPs for them itself):
#   - iputils arping to the first and last address of every pool, and to some
#     inside, gets a reply carrying B's MAC;
#   - arping to the address just below and just above every pool gets nothing;
#   - ping to a pool address fills A's neighbour table with B's MAC (the echo
#     itself goes unanswered: nobody owns the address), ping just outside a
#     pool leaves the entry without a MAC;
#   - ringcap's exit counters and --stats-json show the replies;
#   - with --arp-mac 02:aa:bb:cc:dd:ee the replies carry that MAC.
# Control cases: an inverted range, a /33, a word and a short MAC exit 2 with
# one line naming the bad value, and create no -w file.
#
#   BUILD=build bash tests/integ/arp_answer.sh       (root; 0 pass, 1 fail, 77 skip)
set -u
# shellcheck source-path=SCRIPTDIR source=../lib/testbed.sh
source "$(dirname "$0")/../lib/testbed.sh"

BUILD=${BUILD:-build}
RINGCAP=$BUILD/ringcap
POOLS=(--arp 198.18.2.0/24 --arp 198.18.3.10-198.18.3.20 --arp 198.18.4.7)
INSIDE=(198.18.2.0 198.18.2.1 198.18.2.128 198.18.2.255 198.18.3.10 198.18.3.15 198.18.3.20 198.18.4.7)
OUTSIDE=(198.18.1.255 198.18.3.0 198.18.3.9 198.18.3.21 198.18.4.6 198.18.4.8)
ARP_MAC=02:aa:bb:cc:dd:ee

need_root
need_cmd arping
need_cmd ping
[ -x "$RINGCAP" ] || fail "no $RINGCAP (set BUILD)"

testbed_start arp_answer
for net in 198.18.1.0/24 198.18.2.0/24 198.18.3.0/24 198.18.4.0/24; do
	in_a ip route add "$net" dev "$IF_A" || fail "route $net in A"
done

# --- control cases: bad values exit 2, one line naming them, no file ----------
expect_usage_error() { # needle args...: exit 2, one line naming 'needle', no file
	local needle=$1; shift
	expect_exit2 "'$needle'" "$@"
}
expect_usage_error 198.18.1.10-198.18.1.1 --arp 198.18.1.10-198.18.1.1
expect_usage_error 198.18.1.0/33 --arp 198.18.1.0/33
expect_usage_error banana --arp banana
expect_usage_error 02:aa:bb --arp 198.18.2.0/24 --arp-mac 02:aa:bb
expect_usage_error 198.18.2.1/24 --arp 198.18.2.1/24

# --- start / stop ---------------------------------------------------------------
# ip netns exec execs ringcap, so RC_PID is ringcap itself (tests/lib/testbed.sh).
start_ringcap() { # log args...
	local log=$1; shift
	ringcap_start "$log" -i "$IF_B" "$@" || fail "ringcap did not start: $(cat "$log")"
}
stop_ringcap() {
	ringcap_stop
	[ "$RC_STATUS" -eq 0 ] || fail "ringcap exited $RC_STATUS"
}

# arping ADDR MAC: exactly one reply, from MAC (iputils prints it in capitals).
expect_reply() {
	local addr=$1 mac=${2^^} out
	out=$(in_a arping -c 1 -w 10 -I "$IF_A" "$addr" 2>&1) || fail "arping $addr: no reply: $out"
	grep -q "reply from $addr \[$mac\]" <<<"$out" || fail "arping $addr: not from $mac: $out"
	grep -q "Received 1 response" <<<"$out" || fail "arping $addr: $out"
}
# All addresses at once (arping waits out its -w on each): no reply for any.
expect_no_reply() {
	local addr pids=() i=0
	for addr in "$@"; do
		in_a arping -c 1 -w 1 -I "$IF_A" "$addr" >"$TMP/neg.$i" 2>&1 &
		pids+=($!)
		i=$((i + 1))
	done
	i=0
	for addr in "$@"; do
		wait "${pids[$i]}" && fail "arping $addr (outside every pool) got a reply: $(cat "$TMP/neg.$i")"
		grep -q "Received 0 response" "$TMP/neg.$i" || fail "arping $addr: $(cat "$TMP/neg.$i")"
		i=$((i + 1))
	done
}
counter() { # log "text" -> the number in front of it
	awk -v t="$2" 'index($0, t) { print $1; exit }' "$1"
}

# --- answers with B's own MAC -------------------------------------------------------
start_ringcap "$TMP/rc1.log" "${POOLS[@]}" --stats-json "$TMP/rc1.json"
for addr in "${INSIDE[@]}"; do
	expect_reply "$addr" "$MAC_B"
done
echo "ok: ${#INSIDE[@]} in-pool addresses (every pool edge) answered with $MAC_B"
expect_no_reply "${OUTSIDE[@]}"
echo "ok: ${#OUTSIDE[@]} addresses just outside the pools not answered"

in_a ping -c 1 -W 1 198.18.2.77 >/dev/null 2>&1	# the echo goes unanswered; the ARP does not
in_a ping -c 1 -W 1 198.18.3.21 >/dev/null 2>&1
# the answer may land after ping gave up: look for up to 10 s
for _ in $(seq 100); do
	neigh=$(ip -n "$NS_A" neigh show 198.18.2.77 dev "$IF_A")
	grep -qi "lladdr $MAC_B" <<<"$neigh" && break
	sleep 0.1
done
grep -qi "lladdr $MAC_B" <<<"$neigh" || fail "A's neighbour entry for 198.18.2.77: '$neigh', want lladdr $MAC_B"
neigh_out=$(ip -n "$NS_A" neigh show 198.18.3.21 dev "$IF_A")
grep -q lladdr <<<"$neigh_out" && fail "A resolved 198.18.3.21 (outside): '$neigh_out'"
echo "ok: ping filled A's neighbour table: $neigh; outside: '$neigh_out'"
stop_ringcap
cat "$TMP/rc1.log"

want=$((${#INSIDE[@]} + 1))
sent=$(counter "$TMP/rc1.log" "ARP replies sent")
reqs=$(counter "$TMP/rc1.log" "ARP requests answered")
lost=$(counter "$TMP/rc1.log" "answers lost")
{ [ -n "$sent" ] && [ "$sent" -ge "$want" ]; } || fail "ringcap says '$sent' replies sent, want >= $want"
[ "$reqs" = "$sent" ] || fail "ringcap: $reqs requests but $sent replies"
[ "$lost" = 0 ] || fail "ringcap lost $lost replies"
jq -e ".arp.requests_answered == $reqs and .arp.replies_sent == $sent" "$TMP/rc1.json" >/dev/null ||
	fail "--stats-json disagrees: $(grep arp "$TMP/rc1.json")"
jq -e '.arp.requests_received == .arp.requests_answered + (.arp.ignored | add) and
	.ndp.adverts_sent == 0' "$TMP/rc1.json" >/dev/null ||
	fail "--stats-json does not add up: $(grep -E '"(arp|ndp)"' "$TMP/rc1.json")"
echo "ok: counters: $reqs requests, $sent replies (>= $want), --stats-json agrees"

# --- answers with --arp-mac -----------------------------------------------------------
start_ringcap "$TMP/rc2.log" "${POOLS[@]}" --arp-mac "$ARP_MAC"
expect_reply 198.18.2.9 "$ARP_MAC"
expect_reply 198.18.3.20 "$ARP_MAC"
stop_ringcap
[ "$(counter "$TMP/rc2.log" "ARP replies sent")" -ge 2 ] || fail "--arp-mac run: $(cat "$TMP/rc2.log")"
echo "ok: --arp-mac $ARP_MAC: replies carry it"

# --- a snaplen smaller than an ARP request still answers --------------------------------
start_ringcap "$TMP/rc3.log" "${POOLS[@]}" -s 20 -w "$TMP/s20.pcap"
expect_reply 198.18.2.9 "$MAC_B"
stop_ringcap
grep -q " 0 malformed" "$TMP/rc3.log" || fail "-s 20 cut requests: $(cat "$TMP/rc3.log")"
echo "ok: -s 20 still answers"
exit 0
