#!/usr/bin/env bash
# Crash safety: SIGKILL in the middle of a 1514-byte flood (ringcap gets no
# chance to close anything). The file is still a header and whole records,
# with at most one torn record at its end: tcpdump, capinfos and tshark read
# it with no bogus record (no zero-filled record, every record a 1514-byte
# frame of the generator), and its size is 24 + the sum of (16 + caplen) over
# the records read, plus less than one record. Twice: io_uring (O_DIRECT) and
# pwrite; and once more while a live flush has just written a partial chunk.
source "$(dirname "$0")/../lib/testbed.sh"
need_root
need_cmd tcpdump
need_cmd tshark
need_cmd capinfos
testbed_start capture_crash
dir=$(mktemp -d /var/tmp/capture_crash.XXXXXX)   # a disk file system: O_DIRECT applies
TB_EXTRA_CLEANUP="rm -rf $dir"

check_crashed_file() { # FILE WHAT
	local f=$1 what=$2 errs n caps lens sum size torn
	errs=$(tcpdump -r "$f" -nn -q 2>&1 >/dev/null | grep -v '^reading from file' |
		grep -Ev 'truncated dump file; tried to read [0-9]+ (captured|header) bytes, only got')
	[ -z "$errs" ] || fail "$what: tcpdump: $errs"
	n=$(tcpdump -r "$f" -nn -q 2>/dev/null | wc -l)
	[ "$n" -gt 0 ] || fail "$what: no record survived the kill"
	caps=$(tshark -r "$f" -T fields -e frame.cap_len 2>/dev/null)
	[ "$(echo "$caps" | wc -l)" -eq "$n" ] || fail "$what: tshark reads $(echo "$caps" | wc -l), tcpdump $n"
	lens=$(tshark -r "$f" -T fields -e frame.len 2>/dev/null | sort -u)
	[ "$(echo "$caps" | sort -u)" = 1514 ] && [ "$lens" = 1514 ] ||
		fail "$what: records other than the 1514-byte frames sent (caplen $(echo "$caps" | sort -u | tr '\n' ' '), len $lens)"
	# every record is one of the generator's frames: its marker and index
	[ "$(tshark -r "$f" -Y 'udp contains "RCG1"' 2>/dev/null | wc -l)" -eq "$n" ] ||
		fail "$what: records without the generator's marker"
	capinfos -c -M "$f" 2>&1 | grep -Eq "Number of packets: +$n$" ||
		fail "$what: capinfos: $(capinfos -c -M "$f" 2>&1 | tail -n 3)"
	sum=$((24 + n * (16 + 1514)))
	size=$(stat -c %s "$f")
	torn=$((size - sum))
	[ $torn -ge 0 ] && [ $torn -lt $((16 + 1514)) ] ||
		fail "$what: size $size, records end at $sum ($torn bytes more)"
	echo "ok: $what: $n whole records, $torn bytes of a torn last record, size $size"
}

# Until FILE holds at least BYTES (at most 30 s; it returns as soon as it does).
wait_size() { # FILE BYTES
	for _ in $(seq 300); do
		[ "$(stat -c %s "$1" 2>/dev/null || echo 0)" -ge "$2" ] && return 0
		sleep 0.1
	done
	return 1
}

crash_run() { # NAME ringcap-args...
	local name=$1; shift
	ringcap_start "$dir/$name.log" -i "$IF_B" -w "$dir/$name.pcap" -T 2 "$@" ||
		fail "$name: start: $(cat "$dir/$name.log")"
	# ip netns exec itself, not in_a: a function run with & is a subshell,
	# and $! must be the generator, so that the kill below stops the flood
	ip netns exec "$NS_A" "$BUILD/ringcap-gen" -i "$IF_A" -n 400000 -s 1514 --flows 8 \
		-r 60000 -q --duration 8 2>/dev/null &
	local gen=$!
	# mid-flood: once some records are on disk (the flood lasts longer)
	wait_size "$dir/$name.pcap" $((24 + 64 * 1530)) || true
	kill -KILL "$RC_PID"; wait "$RC_PID" 2>/dev/null; RC_PID=
	kill "$gen" 2>/dev/null; wait "$gen" 2>/dev/null
	check_crashed_file "$dir/$name.pcap" "$name"
}

crash_run uring --writer uring
crash_run pwrite --writer pwrite

# A quiet capture after a burst: the live flush wrote the records of a
# partial chunk through the buffered descriptor; SIGKILL then leaves exactly
# those records, no torn one, no padding.
ringcap_start "$dir/q.log" -i "$IF_B" -w "$dir/q.pcap" -T 2 --flush-interval 100 ||
	fail "quiet: start: $(cat "$dir/q.log")"
in_a "$BUILD/ringcap-gen" -i "$IF_A" -n 1000 -s 1514 --flows 8 -r 20000 -q --duration 8
wait_size "$dir/q.pcap" $((24 + 1000 * 1530)) || true
kill -KILL "$RC_PID"; wait "$RC_PID" 2>/dev/null; RC_PID=
size=$(stat -c %s "$dir/q.pcap")
[ "$size" -eq $((24 + 1000 * 1530)) ] || fail "quiet: size $size after SIGKILL, want $((24 + 1000 * 1530))"
check_crashed_file "$dir/q.pcap" quiet
