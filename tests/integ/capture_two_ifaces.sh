#!/usr/bin/env bash
# A tap's two directions: two veth pairs into one namespace, 3,000 frames of
# 200 B on the first and 2,000 of 300 B on the second at the same time. Two
# counting captures (no -w) run at once, `-i B1,B2 -T 1` (two merge inputs)
# and `-i B1 ... -i B2 -T 2` (two fanout groups of two): each reports
# exactly 3,000 and 2,000 per interface (exit lines, --stats-json,
# --stats-prom checked by promtool) with captured + dropped + left = received
# per interface and in all, and a banner naming both. Refused at start
# (exit 2, one line, no file): an interface given twice, a missing one,
# `any`, and several interfaces with --format pcap.
source "$(dirname "$0")/../lib/testbed.sh"
need_root
need_cmd jq
testbed_start capture_two_ifaces

testbed_pair2 || fail "second veth pair"

# Only the generators' frames count: UDP to port 9 (first pair) or 7 (second).
filter='udp and (dst port 9 or dst port 7)'
start() { # NAME ringcap-args...: counting, stats files $TMP/NAME.{json,prom}
	local name=$1; shift
	ip netns exec "$NS_B" "$BUILD/ringcap" "$@" --stats-json "$TMP/$name.json" \
		--stats-prom "$TMP/$name.prom" $filter 2>"$TMP/$name.log" &
	eval "PID_$name=$!"
	wait_listening "$TMP/$name.log" $! || fail "ringcap $name did not start: $(cat "$TMP/$name.log")"
}
start list -i "$IF_B,$IF_B2" -T 1
start twice -i "$IF_B" -T 2 -i "$IF_B2"
TB_EXTRA_CLEANUP="kill -INT $PID_list $PID_twice 2>/dev/null"
grep -q "listening on $IF_B (link-type EN10MB (Ethernet)), $IF_B2 (link-type" "$TMP/list.log" ||
	fail "banner: $(cat "$TMP/list.log")"

in_a "$BUILD/ringcap-gen" -i "$IF_A" -n 3000 -s 200 --dst-port 9 -q & g1=$!
in_a "$BUILD/ringcap-gen" -i "$IF_A2" -n 2000 -s 300 --dst-port 7 --src-ip 198.18.1.1 \
	--dst-ip 198.18.1.2 -q & g2=$!
wait $g1 || fail "generator 1"
wait $g2 || fail "generator 2"

check() { # NAME
	local log=$TMP/$1.log json=$TMP/$1.json prom=$TMP/$1.prom k name want got out
	grep -q "^interface $IF_B: 3000 captured, 3000 received by filter, 0 dropped by kernel" "$log" &&
		grep -q "^interface $IF_B2: 2000 captured, 2000 received by filter" "$log" ||
		fail "$1: per-interface exit lines: $(cat "$log")"
	[ "$(counter "$log" "packets captured")" -eq 5000 ] || fail "$1: total: $(cat "$log")"
	[ "$(jq -r .interface "$json")" = "$IF_B,$IF_B2" ] || fail "$1: JSON interface: $(cat "$json")"
	for k in 0 1; do
		name=$(jq -r ".interfaces[$k].name" "$json")
		want=$((k ? 2000 : 3000))
		[ "$name" = "$([ $k = 0 ] && echo "$IF_B" || echo "$IF_B2")" ] || fail "$1: name $k: $name"
		got=$(jq ".interfaces[$k].captured" "$json")
		[ "$got" -eq "$want" ] || fail "$1: $name captured $got, want $want: $(cat "$json")"
		# captured + dropped + left = received, per interface
		[ "$(jq ".interfaces[$k] | .captured + .dropped + .left_in_ring - .received" "$json")" -eq 0 ] ||
			fail "$1: $name does not add up: $(cat "$json")"
		grep -q "^ringcap_iface_packets_captured_total{interface=\"$name\"} $want\$" "$prom" ||
			fail "$1: Prometheus row of $name: $(grep iface_packets_captured "$prom")"
	done
	[ "$(jq '.captured + .dropped + .left_in_ring - .received' "$json")" -eq 0 ] &&
		[ "$(jq .captured "$json")" -eq 5000 ] || fail "$1: totals: $(cat "$json")"
	if command -v promtool >/dev/null; then
		out=$(promtool check metrics <"$prom" 2>&1) && [ -z "$out" ] || fail "$1: promtool: $out"
	fi
	echo "ok: $1: $IF_B 3000, $IF_B2 2000 captured; JSON, Prometheus and exit lines add up"
}
for name in list twice; do
	pid=PID_$name
	RC_PID=${!pid} wait_captured "$TMP/$name.log" 5000 20 || true
	kill -INT "${!pid}"
	wait "${!pid}" || fail "ringcap $name: exit $?: $(cat "$TMP/$name.log")"
	check "$name"
done
RC_PID=

# Refused at start: exit 2, one line naming the value, nothing created.
expect_exit2 "$IF_B" -i "$IF_B"                     # -i B -w f -i B
expect_exit2 "2 interfaces need pcapng" -i "$IF_B2" --format pcap   # -i B -w f -i B2
expect_exit2 "any" -i any
refused() { # NEEDLE ringcap-args... (no -w): exit 2, one line, no stats file
	local needle=$1 rc; shift
	rm -f "$TMP/bad.json"
	ip netns exec "$NS_B" "$BUILD/ringcap" "$@" --stats-json "$TMP/bad.json" 2>"$TMP/ctl.err"
	rc=$?
	[ $rc -eq 2 ] && [ "$(wc -l <"$TMP/ctl.err")" -eq 1 ] && grep -qF -- "$needle" "$TMP/ctl.err" ||
		fail "ringcap $*: exit $rc: $(cat "$TMP/ctl.err")"
	[ -e "$TMP/bad.json" ] && fail "ringcap $*: created its stats file"
	echo "ok: $* -> exit 2: $(cat "$TMP/ctl.err")"
}
refused "nosuch$TB_ID" -i "$IF_B,nosuch$TB_ID"
refused "$IF_B2" -i "$IF_B2" -i "$IF_B,$IF_B2"
exit 0
