#!/usr/bin/env bash
# Live files, counted by the generator's frame indices ("RCG1" + a 64-bit index
# after the UDP header), with generous time bounds only:
#  - --flush-interval 1000 (the default): at ~200 frames/s (a 1 MiB chunk would
#    take 20 s to fill: what shows the frames is the flush), a reader of the live
#    file (tshark -r while ringcap runs) finds every frame captured more than
#    1.5 s before it read (by the frames' own timestamps), and reads the file
#    without an error;
#  - -U: every frame captured more than 0.5 s before;
#  - -w - | tcpdump -r -: the stream shows the frames while ringcap runs, and
#    at the end holds each frame exactly once; with two workers flooding, the
#    stream is a valid pcap holding exactly what ringcap reports, each record a
#    frame that was sent, none twice;
#  - the reader going away (SIGPIPE/EPIPE) ends the capture with one line, exit 0;
#  - -w - with -C is refused (exit 2).
source "$(dirname "$0")/../lib/testbed.sh"
need_root
need_cmd tcpdump
need_cmd tshark
testbed_start capture_live
RATE=200

# FILE's frames as "capture-time udp-payload" lines: tshark reads each file
# once (FILE.fields), as the checks read the final file several times.
frame_fields() {
	[ -e "$1.fields" ] ||
		tshark -r "$1" -T fields -e frame.time_epoch -e udp.payload 2>/dev/null >"$1.fields"
	cat "$1.fields"
}

# The generator's frame indices in FILE, one a line, in file order.
gen_indices() {
	frame_fields "$1" |
		while read -r _ p; do [ "${p:0:8}" = 52434731 ] && echo $((16#${p:8:16})); done
}

# The live copy SNAP, read at READ_AT (real time), holds every frame whose
# capture time (in FINAL, the file at the end) is more than BOUND seconds
# before the read. The frames' own timestamps say when each was there to be
# written, so a generator that falls behind its pace on a loaded machine moves
# the due set with it instead of failing the check.
#   check_live WHAT FINAL READ_AT BOUND SNAP_INDICES_FILE
check_live() {
	local what=$1 f=$2 at=$3 bound=$4 idx=$5 due
	frame_fields "$f" |
		awk -v lim="$at" -v b="$bound" '$1 < lim - b && substr($2, 1, 8) == "52434731" { print $2 }' |
		while read -r p; do echo $((16#${p:8:16})); done | sort -n >"$TMP/due"
	due=$(wc -l <"$TMP/due")
	[ "$due" -ge 50 ] || fail "$what: read too early to say anything ($due frames due)"
	sort -n "$idx" | comm -23 "$TMP/due" - >"$TMP/missing"
	[ ! -s "$TMP/missing" ] ||
		fail "$what: $(wc -l <"$TMP/missing") of the $due frames captured over ${bound}s before the read are not in the live file (first $(head -n1 "$TMP/missing"))"
	echo "ok: $what: all $due frames captured over ${bound}s before the read are in the live file ($(wc -l <"$idx") read)"
}

# A live file read twice while ringcap runs.
live_run() { # WHAT BOUND ringcap-args...
	local what=$1 bound=$2; shift 2
	rm -f "$TMP/live.pcap" "$TMP"/*.fields
	# one worker: what is measured is the writer's flush, not the time-order
	# merge of several workers (which has its own latency)
	ringcap_start "$TMP/live.log" -i "$IF_B" -w "$TMP/live.pcap" -T 1 "$@" ||
		fail "$what: start: $(cat "$TMP/live.log")"
	in_a "$BUILD/ringcap-gen" -i "$IF_A" -n 800 -s 200 --flows 4 -r $RATE -q --duration 12 &
	local gen=$!
	local at=() n=0
	# read 2.5 s and 3.5 s in: 200 and more frames due even after a slow start
	for t in 2.5 1; do
		sleep "$t"
		local errs
		at[n]=$(date +%s.%N)
		cp "$TMP/live.pcap" "$TMP/snap$n.pcap"
		errs=$(tcpdump -r "$TMP/snap$n.pcap" -nn -q 2>&1 >/dev/null | grep -v '^reading from file')
		[ -z "$errs" ] || fail "$what: reading the live file: $errs"
		gen_indices "$TMP/snap$n.pcap" >"$TMP/snap$n.idx"
		n=$((n + 1))
	done
	wait $gen
	wait_captured "$TMP/live.log" 800 30 || true
	ringcap_stop
	[ "$RC_STATUS" -eq 0 ] || fail "$what: exit $RC_STATUS: $(cat "$TMP/live.log")"
	[ "$(gen_indices "$TMP/live.pcap" | sort -n | uniq | wc -l)" -eq 800 ] &&
		[ "$(pcap_count "$TMP/live.pcap")" -eq 800 ] || fail "$what: final file: $(pcap_count "$TMP/live.pcap") records; $(cat "$TMP/live.log")"
	for ((k = 0; k < n; k++)); do
		check_live "$what" "$TMP/live.pcap" "${at[k]}" "$bound" "$TMP/snap$k.idx"
	done
}

live_run "--flush-interval 1000" 1.5
live_run "-U" 0.5 -U --flush-interval 0

# Control: with flushing off the live file shows nothing of a quiet capture.
ringcap_start "$TMP/off.log" -i "$IF_B" -w "$TMP/off.pcap" --flush-interval 0 || fail "start"
in_a "$BUILD/ringcap-gen" -i "$IF_A" -n 200 -s 200 -r 1000 -q
sleep 1.5
[ "$(stat -c %s "$TMP/off.pcap")" -eq 0 ] || fail "--flush-interval 0 wrote $(stat -c %s "$TMP/off.pcap") bytes of a partial chunk"
ringcap_stop
[ "$(pcap_count "$TMP/off.pcap")" -eq 200 ] || fail "--flush-interval 0: final file"
echo "ok: --flush-interval 0: nothing partial written until the end"

# -w - | tcpdump -r -: live through a pipe, each frame exactly once.
mkfifo "$TMP/fifo"
tcpdump -r "$TMP/fifo" -U -w "$TMP/copy.pcap" 2>"$TMP/td.log" &
td=$!
ip netns exec "$NS_B" "$BUILD/ringcap" -i "$IF_B" -w - -T 1 -U 2>"$TMP/st.log" >"$TMP/fifo" &
RC_PID=$!
for _ in $(seq 600); do grep -qs "listening on" "$TMP/st.log" && break; sleep 0.05; done
in_a "$BUILD/ringcap-gen" -i "$IF_A" -n 500 -s 200 -r $RATE -q --duration 12 &
gen=$!
sleep 2
at=$(date +%s.%N)
cp "$TMP/copy.pcap" "$TMP/csnap.pcap"
gen_indices "$TMP/csnap.pcap" >"$TMP/csnap.idx"
wait $gen
wait_captured "$TMP/st.log" 500 30 || true
ringcap_stop
wait $td || fail "tcpdump -r - failed: $(cat "$TMP/td.log")"
[ "$RC_STATUS" -eq 0 ] || fail "-w -: exit $RC_STATUS: $(cat "$TMP/st.log")"
gen_indices "$TMP/copy.pcap" >"$TMP/copy.idx"
seq 0 499 | cmp -s - "$TMP/copy.idx" || fail "-w -: the stream does not hold frames 0..499 once each, in order"
check_live "-w - | tcpdump -r -" "$TMP/copy.pcap" "$at" 1.0 "$TMP/csnap.idx"
echo "ok: -w - | tcpdump -r -: frames 0..499 exactly once, in order"

# Two workers flooding into a pipe: chunks completed concurrently, written in order.
cat "$TMP/fifo" >"$TMP/flood.pcap" &
cat_pid=$!
ip netns exec "$NS_B" "$BUILD/ringcap" -i "$IF_B" -w - -T 2 --workers fixed 2>"$TMP/fl.log" >"$TMP/fifo" &
RC_PID=$!
for _ in $(seq 600); do grep -qs "listening on" "$TMP/fl.log" && break; sleep 0.05; done
in_a "$BUILD/ringcap-gen" -i "$IF_A" -n 30000 -s 1000 --flows 16 -r 30000 -q --duration 10 -w "$TMP/ref.pcap"
wait_accounted "$TMP/fl.log" 30000 30 || true
ringcap_stop
wait $cat_pid
[ "$RC_STATUS" -eq 0 ] || fail "flood -w -: exit $RC_STATUS: $(cat "$TMP/fl.log")"
n=$(pcap_count "$TMP/flood.pcap") || fail "flood stream: $n"
[ "$n" -eq "$(counter "$TMP/fl.log" "packets captured")" ] || fail "flood stream holds $n: $(cat "$TMP/fl.log")"
pcap_hexlines "$TMP/flood.pcap" "ether src $MAC_A" | sort >"$TMP/got.hex"
pcap_hexlines "$TMP/ref.pcap" | sort >"$TMP/want.hex"
# each record is a frame that was sent, none twice; what the kernel dropped
# under a loaded machine is counted, not in the stream
[ -z "$(comm -23 "$TMP/got.hex" "$TMP/want.hex")" ] || fail "flood stream: records that were not sent, or sent once and written twice"
captured=$(counter "$TMP/fl.log" "packets captured") dropped=$(counter "$TMP/fl.log" "packets dropped by kernel")
[ "$(wc -l <"$TMP/got.hex")" -eq "$captured" ] && [ $((captured + dropped)) -ge 30000 ] ||
	fail "flood stream: $(wc -l <"$TMP/got.hex") of the sent frames, captured $captured, dropped $dropped"
echo "ok: -w - with 2 workers: $n records, each a frame sent, once ($dropped dropped)"

# The reader goes away: one line, exit 0.
head -c 300000 "$TMP/fifo" >/dev/null &
ip netns exec "$NS_B" "$BUILD/ringcap" -i "$IF_B" -w - -T 2 --duration 8 2>"$TMP/pipe.log" >"$TMP/fifo" &
RC_PID=$!
for _ in $(seq 600); do grep -qs "listening on" "$TMP/pipe.log" && break; sleep 0.05; done
in_a "$BUILD/ringcap-gen" -i "$IF_A" -n 20000 -s 1000 -r 20000 -q --duration 5
wait "$RC_PID"; rc=$?; RC_PID=
[ $rc -eq 0 ] || fail "reader gone: exit $rc: $(cat "$TMP/pipe.log")"
[ "$(grep -c "standard output closed by its reader" "$TMP/pipe.log")" -eq 1 ] || fail "reader gone: $(cat "$TMP/pipe.log")"
[ "$(grep -c '^ringcap:' "$TMP/pipe.log")" -eq 2 ] || fail "reader gone: not one line: $(cat "$TMP/pipe.log")"
echo "ok: reader gone: $(grep closed "$TMP/pipe.log")"

ip netns exec "$NS_B" "$BUILD/ringcap" -i "$IF_B" -w - -C 1 2>"$TMP/bad.log"; rc=$?
[ $rc -eq 2 ] && [ "$(wc -l <"$TMP/bad.log")" -eq 1 ] || fail "-w - -C 1: exit $rc: $(cat "$TMP/bad.log")"
echo "ok: -w - -C 1 refused: $(cat "$TMP/bad.log")"
