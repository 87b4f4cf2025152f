#!/usr/bin/env bash
# A full disk: ringcap stops by itself with a clear error and a non-zero exit,
# and the file keeps every whole record written before the disk filled:
# libpcap reads it without complaint and holds as many records as reported.
# Nothing goes uncounted: what was staged past the last whole record on disk,
# and what came after the error, is "not written", so captured + not written
# + dropped + left in the ring = received, exactly. One worker and two (the
# merge), each with io_uring and pwrite.
source "$(dirname "$0")/../lib/testbed.sh"
need_root
need_cmd tcpdump
testbed_up || fail "testbed"
mnt=$(mktemp -d)
TB_EXTRA_CLEANUP="umount $mnt; rmdir $mnt"
mount -t tmpfs -o size=3m tmpfs "$mnt" || skip "cannot mount a small tmpfs"

for run in 1:uring 1:pwrite 2:uring 2:pwrite; do
	threads=${run%%:*} writer=${run#*:}
	rm -f "$mnt"/* "$mnt"/.[!.]*
	ringcap_start "$mnt/../rc.$writer.log" -i "$IF_B" -w "$mnt/cap.pcap" --writer $writer \
		-T "$threads" --workers fixed --staging 8m || fail "start"
	in_a "$BUILD/ringcap-gen" -i "$IF_A" -n 6000 -s 1514 -r 20000 -q --duration 10
	for _ in $(seq 50); do kill -0 "$RC_PID" 2>/dev/null || break; sleep 0.1; done
	if kill -0 "$RC_PID" 2>/dev/null; then
		ringcap_stop
		fail "$writer: still running after the disk filled"
	fi
	wait "$RC_PID"; rc=$?
	log="$mnt/../rc.$writer.log"
	cat "$log"
	[ $rc -eq 1 ] || fail "$threads workers, $writer: exit $rc, want 1"
	grep -q "No space left on device" "$log" || fail "$writer: no clear error"
	kept=$(counter "$log" "packets captured")
	n=$(pcap_count "$mnt/cap.pcap") || fail "$writer: libpcap complains: $n"
	[ "$n" -eq "$kept" ] || fail "$writer: file has $n records, report says $kept"
	[ "$n" -gt 1000 ] || fail "$writer: only $n records kept of a 3 MiB disk"
	received=$(counter "$log" "packets received by filter")
	dropped=$(counter "$log" "packets dropped by kernel")
	left=$(counter "$log" "packets left in the ring"); left=${left:-0}
	unwritten=$(counter "$log" "packets not written"); unwritten=${unwritten:-0}
	[ $((kept + unwritten + dropped + left)) -eq "$received" ] ||
		fail "$threads workers, $writer: $kept captured + $unwritten not written + $dropped dropped + $left left != $received received"
	echo "ok: $threads workers, $writer kept $n records; $unwritten not written, $dropped dropped, $left left, $received received"
done
rm -f "$mnt"/../rc.*.log
