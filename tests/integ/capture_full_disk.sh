#!/usr/bin/env bash
# A full disk: ringcap stops by itself with a clear error and a non-zero exit,
# and the file keeps every whole record written before the disk filled:
# libpcap reads it without complaint and holds as many records as reported.
source "$(dirname "$0")/../lib/testbed.sh"
need_root
need_cmd tcpdump
testbed_up || fail "testbed"
mnt=$(mktemp -d)
TB_EXTRA_CLEANUP="umount $mnt; rmdir $mnt"
mount -t tmpfs -o size=3m tmpfs "$mnt" || skip "cannot mount a small tmpfs"

for writer in uring pwrite; do
	rm -f "$mnt"/*
	ringcap_start "$mnt/../rc.$writer.log" -i "$IF_B" -w "$mnt/cap.pcap" --writer $writer \
		--staging 8m || fail "start"
	in_a "$BUILD/ringcap-gen" -i "$IF_A" -n 6000 -s 1514 -r 20000 -q --duration 10
	for _ in $(seq 50); do kill -0 "$RC_PID" 2>/dev/null || break; sleep 0.1; done
	if kill -0 "$RC_PID" 2>/dev/null; then
		ringcap_stop
		fail "$writer: still running after the disk filled"
	fi
	wait "$RC_PID"; rc=$?
	log="$mnt/../rc.$writer.log"
	cat "$log"
	[ $rc -eq 1 ] || fail "$writer: exit $rc, want 1"
	grep -q "No space left on device" "$log" || fail "$writer: no clear error"
	kept=$(counter "$log" "packets captured")
	n=$(pcap_count "$mnt/cap.pcap") || fail "$writer: libpcap complains: $n"
	[ "$n" -eq "$kept" ] || fail "$writer: file has $n records, report says $kept"
	[ "$n" -gt 1000 ] || fail "$writer: only $n records kept of a 3 MiB disk"
	echo "ok: $writer kept $n records"
done
rm -f "$mnt"/../rc.*.log
