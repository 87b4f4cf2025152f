#!/usr/bin/env bash
# --on-full wait: a full disk does not end the capture. On a small tmpfs that
# another file fills, the files are closed at their last whole record, one
# line says so and the capture goes on, counting what it cannot write; once
# that file is deleted, writing resumes in a new file. At the end (exit 0)
# every file reads back whole with libpcap and capinfos, the files hold
# exactly the records "packets captured" reports, and every packet received
# is in a file, counted as not written, dropped or left in the ring. One
# worker (no merge) and two (the merge's sink), each with io_uring and pwrite.
source "$(dirname "$0")/../lib/testbed.sh"
need_root
need_cmd tcpdump
need_cmd capinfos
need_cmd jq
testbed_start on-full
mnt=$(mktemp -d)
TB_EXTRA_CLEANUP="umount $mnt; rmdir $mnt"
mount -t tmpfs -o size=12m tmpfs "$mnt" || skip "cannot mount a small tmpfs"

# wait_log LOG TEXT SECONDS: until LOG holds TEXT (or ringcap ended).
wait_log() {
	for _ in $(seq $(($3 * 10))); do
		grep -qF "$2" "$1" && return 0
		kill -0 "$RC_PID" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

for threads in 1 2; do
	for writer in uring pwrite; do
		t="$threads workers, $writer"
		rm -rf "${mnt:?}"/* "${mnt:?}"/.[!.]*
		log=$TMP/rc.$threads.$writer.log
		# 9 MiB of someone else's data: 3 MiB left for the capture
		dd if=/dev/zero of="$mnt/other" bs=1M count=9 status=none || fail "filler"
		ringcap_start "$log" -i "$IF_B" -w "$mnt/cap.pcap" -C 1 --on-full wait \
			-T $threads --workers fixed --writer $writer --staging 8m -B 4096 \
			--stats-json "$TMP/stats.json" || { cat "$log"; fail "$t: start"; }
		# 7.5 MB at 10,000 frames/s: the 3 MiB fill within the first second
		in_a "$BUILD/ringcap-gen" -i "$IF_A" -n 5000 -s 1514 -r 10000 -q --duration 10
		wait_log "$log" "(--on-full wait)" 5 || { cat "$log"; fail "$t: no line for the full disk"; }
		kill -0 "$RC_PID" 2>/dev/null || { cat "$log"; fail "$t: ringcap ended on a full disk"; }
		rm -f "$mnt/other"
		wait_log "$log" "there is room again" 5 || { cat "$log"; fail "$t: writing did not resume"; }
		resumed=$(sed -n 's/^ringcap: warning: \(.*\): there is room again.*/\1/p' "$log" | tail -n1)
		# less than the 9 MiB now free: these fit
		in_a "$BUILD/ringcap-gen" -i "$IF_A" -n 2000 -s 1514 -r 10000 -q --duration 10
		sleep 0.5
		ringcap_stop
		cat "$log"
		[ "$RC_STATUS" -eq 0 ] || fail "$t: exit $RC_STATUS, want 0"

		captured=$(counter "$log" "packets captured")
		received=$(counter "$log" "packets received by filter")
		dropped=$(counter "$log" "packets dropped by kernel")
		left=$(counter "$log" "packets left in the ring"); left=${left:-0}
		unwritten=$(counter "$log" "packets not written")
		[ -n "$unwritten" ] && [ "$unwritten" -gt 0 ] || fail "$t: no packets counted as not written"
		sum=0
		for f in "$mnt"/cap.pcap*; do
			n=$(pcap_count "$f") || fail "$t: libpcap complains about $f: $n"
			capinfos -c "$f" >/dev/null 2>&1 || fail "$t: capinfos refuses $f"
			sum=$((sum + n))
		done
		[ "$sum" -eq "$captured" ] || fail "$t: the files hold $sum records, report says $captured"
		[ $((captured + unwritten + dropped + left)) -eq "$received" ] ||
			fail "$t: $captured captured + $unwritten not written + $dropped dropped + $left left != $received received"
		[ -n "$resumed" ] && [ -f "$resumed" ] || fail "$t: no file named where writing resumed"
		n=$(pcap_count "$resumed")
		[ "$n" -gt 0 ] || fail "$t: the file writing resumed in ($resumed) has no record"
		[ "$(jq -r .unwritten_packets "$TMP/stats.json")" -eq "$unwritten" ] ||
			fail "$t: --stats-json unwritten_packets differs from the counter line"
		[ "$(jq -r .disk_full_events "$TMP/stats.json")" -ge 1 ] || fail "$t: disk_full_events < 1"
		echo "ok: $t: $captured in files ($sum), $unwritten not written, $dropped dropped, resumed in $resumed ($n records)"
	done
done

# Bad input: --on-full needs files, and only stop|wait.
out=$("$BUILD/ringcap" -i lo -w - --on-full wait 2>&1); rc=$?
[ $rc -eq 2 ] || fail "-w - with --on-full wait: exit $rc, want 2"
out=$("$BUILD/ringcap" -i lo -w "$TMP/x.pcap" --on-full later 2>&1); rc=$?
[ $rc -eq 2 ] && [[ $out == *later* ]] || fail "--on-full later: exit $rc: $out"
[ ! -e "$TMP/x.pcap" ] || fail "--on-full later created the file"
echo "ok: bad --on-full refused"
