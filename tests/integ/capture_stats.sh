#!/usr/bin/env bash
# Counters while it runs: --stats-interval prints a line on stderr every
# interval; --stats-json and --stats-prom are rewritten atomically at each
# interval and at exit. The JSON parses (jq) mid-run and at exit for an
# interface whose name holds a quote and a backslash, and names it exactly;
# promtool accepts the metrics file; counters grow between two readings. An
# unwritable stats path is refused at start: exit 2, one line, no capture
# file.
source "$(dirname "$0")/../lib/testbed.sh"
need_root
need_cmd jq
testbed_start capture_stats
chmod 755 "$TMP"

odd='q"\z'
ip -n "$NS_B" link add "$odd" type veth peer name "sp$$" || fail "cannot make an interface named $odd"
ip -n "$NS_B" link set "$odd" up && ip -n "$NS_B" link set "sp$$" up

ringcap_start "$TMP/s.log" -i "$odd" -w "$TMP/s.pcap" -T 2 --stats-interval 1 \
	--stats-json "$TMP/s.json" --stats-prom "$TMP/s.prom" || fail "start: $(cat "$TMP/s.log")"
send() { ip netns exec "$NS_B" "$BUILD/ringcap-gen" -i "sp$$" -n "$1" -s 100 --flows 4 -r 5000 -q --duration 10; }
send 500
for _ in $(seq 40); do [ -s "$TMP/s.json" ] && break; sleep 0.1; done
name=$(jq -r .interface "$TMP/s.json") || fail "mid-run JSON does not parse: $(cat "$TMP/s.json")"
[ "$name" = "$odd" ] || fail "interface in JSON: '$name', want '$odd'"
r1=$(jq .received "$TMP/s.json")
if command -v promtool >/dev/null; then
	out=$(promtool check metrics <"$TMP/s.prom" 2>&1) || fail "promtool: $out"
	[ -z "$out" ] || fail "promtool: $out"
	grep -q '^ringcap_packets_received_total{interface="q\\"\\\\z"}' "$TMP/s.prom" ||
		fail "no escaped interface label: $(head -5 "$TMP/s.prom")"
	echo "ok: promtool check metrics accepts the file"
else
	echo "note: promtool not installed, metrics file not checked"
fi
send 700
sleep 2.2
r2=$(jq .received "$TMP/s.json") || fail "second JSON reading"
[ "$r2" -gt "$r1" ] || fail "received did not grow between intervals: $r1 then $r2"
ringcap_stop
[ "$RC_STATUS" -eq 0 ] || fail "exit $RC_STATUS: $(cat "$TMP/s.log")"
lines=$(grep -c "^ringcap: [0-9.]* s: .* packets/s" "$TMP/s.log")
[ "$lines" -ge 2 ] || fail "want interval lines on stderr: $(cat "$TMP/s.log")"
[ "$(jq .captured "$TMP/s.json")" -eq 1200 ] || fail "final JSON: $(cat "$TMP/s.json")"
[ "$(jq -r .interface "$TMP/s.json")" = "$odd" ] || fail "final JSON interface"
ls -A "$TMP" | grep -q '^\.s\.\(json\|prom\)' && fail "a temporary stats file was left: $(ls -A "$TMP")"
echo "ok: $lines interval lines, JSON mid-run ($r1, $r2) and at exit (1200 captured), interface '$odd'"

# refused at start: nothing created
for bad in /nonexistent/dir/s.json "$TMP"; do
	rm -f "$TMP/x.pcap"
	ip netns exec "$NS_B" "$BUILD/ringcap" -i "$IF_B" -w "$TMP/x.pcap" --stats-json "$bad" 2>"$TMP/x.log"
	rc=$?
	[ $rc -eq 2 ] || fail "--stats-json $bad: exit $rc: $(cat "$TMP/x.log")"
	[ "$(wc -l <"$TMP/x.log")" -eq 1 ] && grep -qF "'$bad'" "$TMP/x.log" || fail "message: $(cat "$TMP/x.log")"
	[ -e "$TMP/x.pcap" ] && fail "--stats-json $bad: the capture file was created"
	echo "ok: $(cat "$TMP/x.log")"
done
