#!/usr/bin/env bash
# -c N with two workers and the merge: exactly N frames are sent, then
# nothing. The N-th record is appended by the merger after the workers have
# pushed their last block; ringcap must still end by itself (no further block
# comes to wake it), exit 0 and leave exactly N records.
source "$(dirname "$0")/../lib/testbed.sh"
need_root
need_cmd tcpdump
testbed_start capture_count_quiet
dir=$TMP

N=500
ringcap_start "$dir/c.log" -i "$IF_B" -w "$dir/c.pcap" -T 2 --workers fixed --fanout hash \
	-c $N ether src "$MAC_A" || fail "start: $(cat "$dir/c.log")"
in_a "$BUILD/ringcap-gen" -i "$IF_A" -n $N -s 100 --flows 16 -r 5000 -q || fail "generator failed"
# Judged by the exit, not by how soon: 10 s of silence is plenty.
for _ in $(seq 100); do kill -0 "$RC_PID" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$RC_PID" 2>/dev/null; then
	ringcap_stop
	fail "-c $N: still running 10 s after the last of $N frames: $(cat "$dir/c.log")"
fi
wait "$RC_PID"; rc=$?; RC_PID=
[ $rc -eq 0 ] || fail "exit $rc: $(cat "$dir/c.log")"
n=$(pcap_count "$dir/c.pcap") || fail "libpcap: $n"
[ "$n" -eq $N ] || fail "file holds $n records, want $N: $(cat "$dir/c.log")"
[ "$(counter "$dir/c.log" "packets captured")" = $N ] || fail "report: $(cat "$dir/c.log")"
echo "ok: -T 2 --workers fixed -c $N ended by itself with $N records"
