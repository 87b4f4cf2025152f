#!/usr/bin/env bash
# No packet lost silently: SIGTERM in the middle of a flood, and the exit
# report must add up, packets captured + dropped by kernel + left in the ring
# = received by filter, with the file holding exactly the captured count. At
# the end ringcap lets no new packet into its rings, so the drain can empty
# them; what it could not drain in time is counted, not forgotten.
source "$(dirname "$0")/../lib/testbed.sh"
need_root
need_cmd tcpdump
testbed_start capture_accounting

for workers in 1 2; do
	log=$TMP/t$workers.log pcap=$TMP/t$workers.pcap
	ringcap_start "$log" -i "$IF_B" -w "$pcap" -T $workers --workers fixed -B 4096 || fail "start: $(cat "$log")"
	# ip netns exec execs the generator: $! is its pid, so the SIGINT below
	# stops it at once (a subshell running in_a would wait out --duration)
	ip netns exec "$NS_A" "$BUILD/ringcap-gen" -i "$IF_A" -n 3000000 -s 60 --flows 16 -q --duration 8 &
	gen=$!
	wait_captured "$log" 100000 30 || true # mid-flood: the generator sends 3,000,000
	kill -TERM "$RC_PID"; wait "$RC_PID"; rc=$?; RC_PID=
	kill -INT "$gen" 2>/dev/null; wait "$gen" 2>/dev/null
	[ $rc -eq 0 ] || fail "exit $rc: $(cat "$log")"
	captured=$(counter "$log" "packets captured")
	received=$(counter "$log" "packets received by filter")
	dropped=$(counter "$log" "packets dropped by kernel")
	left=$(counter "$log" "packets left in the ring"); left=${left:-0}
	[ "$received" -gt 0 ] || fail "nothing received: $(cat "$log")"
	[ $((captured + dropped + left)) -eq "$received" ] ||
		fail "-T $workers: $captured captured + $dropped dropped + $left left != $received received"
	n=$(pcap_count "$pcap") || fail "$n"
	[ "$n" -eq "$captured" ] || fail "-T $workers: the file holds $n records, $captured reported"
	# every frame the generator sends is unique (its index): a record written
	# twice (a block taken again while the merge still held it) shows here
	dups=$(python3 "$(dirname "$0")/../lib/pcap_dups.py" "$pcap") || fail "pcap_dups: $dups"
	[ "$dups" -eq 0 ] || fail "-T $workers: $dups records written more than once"
	echo "ok: -T $workers: $captured captured + $dropped dropped + $left left = $received received"
done
