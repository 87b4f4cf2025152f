#!/usr/bin/env bash
# The elastic pool (--workers elastic -T 2): one socket receives at start;
# with every worker made slow (RINGCAP_TEST_WORKER_SLEEP_US: 1 ms of sleep per
# packet, about 1000 packets/s at most) 2 s of 1500/s add the second,
# which then receives its share; after a short quiet spell
# (RINGCAP_TEST_ELASTIC_MS) it is retired and receives nothing more while a
# trickle (20 packets/s: the worker 2% busy, no reason to grow) goes to the
# one left, appending without the merge. Each change
# is one line; the file is in strict time order (tshark's timestamps), each
# record once, and captured + dropped + left = received, exactly, = sent.
source "$(dirname "$0")/../lib/testbed.sh"
need_root
need_cmd tshark
need_cmd python3
testbed_start capture_elastic
export RINGCAP_TEST_WORKER_SLEEP_US=1000 RINGCAP_TEST_ELASTIC_MS=300,200
N1=3000 N2=10

# A per-worker figure of the stats file: its workers lines, by id.
worker_field() { # FILE ID NAME
	sed -n "s/.*\"id\": $2,.*\"$3\": \([0-9]*\).*/\1/p" "$1"
}
wait_log() { # PATTERN: at most 5 s
	for _ in $(seq 50); do grep -q "$1" "$TMP/rc.log" && return 0; sleep 0.1; done
	return 1
}

ringcap_start "$TMP/rc.log" -i "$IF_B" -w "$TMP/e.pcap" --workers elastic -T 2 \
	--stats-json "$TMP/s.json" --stats-interval 1 ||
	fail "start: $(cat "$TMP/rc.log")"
grep -q "2 workers (elastic, 1 receiving)" "$TMP/rc.log" || fail "start line: $(cat "$TMP/rc.log")"

in_a "$BUILD/ringcap-gen" -i "$IF_A" -n $N1 -s 200 --flows 64 -r 1500 -q
wait_log "workers: 1 → 2" || fail "no grow: $(cat "$TMP/rc.log")"
wait_log "workers: 2 → 1" || fail "no shrink: $(cat "$TMP/rc.log")"
in_a "$BUILD/ringcap-gen" -i "$IF_A" -n $N2 -s 300 --flows 64 -r 20 -q
wait_accounted "$TMP/rc.log" $((N1 + N2)) 10 || true
ringcap_stop
[ "$RC_STATUS" -eq 0 ] || fail "exit $RC_STATUS: $(cat "$TMP/rc.log")"
cat "$TMP/rc.log" >&2

[ "$(grep -c "workers: 1 → 2" "$TMP/rc.log")" -eq 1 ] || fail "want one grow line"
[ "$(grep -c "workers: 2 → 1" "$TMP/rc.log")" -eq 1 ] || fail "want one shrink line"
# Ring 1 got its share while active, and nothing once retired: its worker
# sleeps, so a packet reaching it then would stay unread (left in the ring):
# what it received is what it walked or the kernel dropped.
r1=$(worker_field "$TMP/s.json" 1 received)
[ "${r1:-0}" -gt 0 ] || fail "ring 1 received nothing while active: $(cat "$TMP/s.json")"
took=$(($(worker_field "$TMP/s.json" 1 packets) + $(worker_field "$TMP/s.json" 1 dropped)))
[ "$took" -eq "$r1" ] && grep -q '"left_in_ring": 0,' "$TMP/s.json" ||
	fail "retired ring 1 received more than its worker took: $(cat "$TMP/s.json")"
grep -q '"workers_added": 1,' "$TMP/s.json" && grep -q '"workers_retired": 1,' "$TMP/s.json" &&
	grep -q '"workers_active": 1,' "$TMP/s.json" || fail "counters: $(cat "$TMP/s.json")"
grep -q "2 workers receiving (1 added, 0 retired)" "$TMP/rc.log" || fail "interval line"

captured=$(counter "$TMP/rc.log" "packets captured")
received=$(counter "$TMP/rc.log" "packets received by filter")
dropped=$(counter "$TMP/rc.log" "packets dropped by kernel")
left=$(counter "$TMP/rc.log" "packets left in the ring")
[ $((captured + dropped + ${left:-0})) -eq "$received" ] && [ "$received" -eq $((N1 + N2)) ] ||
	fail "$captured captured + $dropped dropped + ${left:-0} left, $received received, $((N1 + N2)) sent"
n=$(pcap_count "$TMP/e.pcap") || fail "$n"
[ "$n" -eq "$captured" ] || fail "the file holds $n records, $captured reported"
dups=$(python3 "$(dirname "$0")/../lib/pcap_dups.py" "$TMP/e.pcap") || fail "pcap_dups: $dups"
[ "$dups" -eq 0 ] || fail "$dups records written more than once"
# both bursts are in the file, the second after the first
[ "$(tshark -r "$TMP/e.pcap" -Y "frame.len == 300" 2>/dev/null | wc -l)" -gt 0 ] ||
	fail "nothing of the second burst"
bad=$(tshark -r "$TMP/e.pcap" -T fields -e frame.time_epoch 2>/dev/null |
	awk 'NR > 1 && $1 < prev { bad++ } { prev = $1 } END { print bad + 0 }')
[ "$bad" -eq 0 ] || fail "$bad records older than the one before"
grep -q "out of time order" "$TMP/rc.log" && fail "out of order: $(cat "$TMP/rc.log")"
echo "ok: grow and shrink; $captured captured + $dropped dropped + ${left:-0} left = $received received; strict time order"
