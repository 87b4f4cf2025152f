#!/usr/bin/env bash
# Time order: with several workers every file's records are in non-decreasing
# timestamp order (capinfos -o: "Strict time order: True"), each packet once.
# 20,000 frames in 64 flows spread over 2 workers by the fanout hash, into one
# file and into files rotated at 1 MB, and over 4 workers (more than the CPUs:
# workers push while another runs the merge) into one file; all of them are
# there, and no packet had to be written out of order.
source "$(dirname "$0")/../lib/testbed.sh"
need_root
need_cmd tcpdump
need_cmd capinfos
testbed_start capture_order
N=20000

for mode in single rotated four; do
	args=(-w "$TMP/$mode.pcap" -T 2 --workers fixed)
	[ $mode = rotated ] && args+=(-C 1)
	[ $mode = four ] && args=(-w "$TMP/$mode.pcap" -T 4 --workers fixed)
	ringcap_start "$TMP/$mode.log" -i "$IF_B" "${args[@]}" || fail "start: $(cat "$TMP/$mode.log")"
	in_a "$BUILD/ringcap-gen" -i "$IF_A" -n $N -s 300 --flows 64 -r 40000 -q --duration 20
	wait_accounted "$TMP/$mode.log" $N || true
	ringcap_stop
	[ "$RC_STATUS" -eq 0 ] || fail "$mode: exit $RC_STATUS: $(cat "$TMP/$mode.log")"
	total=0
	for f in "$TMP/$mode".pcap*; do
		order=$(capinfos -o "$f" | sed -n 's/^Strict time order: *//p')
		[ "$order" = True ] || fail "$mode: $f is not in time order ($order)"
		n=$(pcap_count "$f") || fail "$f: $n"
		total=$((total + n))
	done
	captured=$(counter "$TMP/$mode.log" "packets captured")
	dropped=$(counter "$TMP/$mode.log" "packets dropped by kernel")
	[ "$total" -eq "$captured" ] && [ $((captured + dropped)) -le $N ] && [ "$captured" -gt 0 ] ||
		fail "$mode: $total records, $captured captured, $dropped dropped, $N sent"
	grep -q "out of time order" "$TMP/$mode.log" && fail "$mode: $(cat "$TMP/$mode.log")"
	[ $mode = four ] && ! grep -q "4 workers" "$TMP/$mode.log" && fail "four: not 4 workers: $(head -3 "$TMP/$mode.log")"
	echo "ok: $mode: $total records in $(ls "$TMP/$mode".pcap* | wc -l) file(s), strict time order"
done
