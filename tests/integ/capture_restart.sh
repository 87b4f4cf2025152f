#!/usr/bin/env bash
# A restart (the service's Restart=on-failure after a crash) never truncates
# what the last run wrote:
#  - -C: after SIGKILL the same command numbers on after the highest existing
#    name, says so in one line, and every file of the first run keeps its
#    bytes (checksums); the records of both runs add up to what was sent;
#  - -C -W: it goes on after the newest name of the ring (by mtime), so the
#    other names keep their bytes;
#  - a plain -w name, and a -G name within the same period, that hold records
#    are refused at start (exit 2, one line naming the file), unchanged; a
#    header-only file is reused.
source "$(dirname "$0")/../lib/testbed.sh"
need_root
need_cmd tcpdump
need_cmd md5sum
testbed_start capture_restart

gen() { in_a "$BUILD/ringcap-gen" -i "$IF_A" -n "$1" -s 1000 --flows 4 -r 5000 -q --duration 10; }
# Records in FILE; a crash may leave one torn record at a file's end.
records() { tcpdump -r "$1" -nn -q 2>/dev/null | wc -l; }
# "Start, send N, wait until the writer has them and a live flush wrote them, SIGKILL."
run_and_kill() { # LOG N ringcap-args...
	local log=$1 n=$2; shift 2
	ringcap_start "$log" -i "$IF_B" --flush-interval 100 "$@" || fail "start: $(cat "$log")"
	gen "$n"
	wait_captured "$log" "$n" || fail "$n packets not captured: $(cat "$log")"
	sleep 1
	kill -KILL "$RC_PID"; wait "$RC_PID" 2>/dev/null; RC_PID=
}
run_and_stop() { # LOG N ringcap-args...
	local log=$1 n=$2; shift 2
	ringcap_start "$log" -i "$IF_B" --flush-interval 100 "$@" || fail "start: $(cat "$log")"
	gen "$n"
	wait_captured "$log" "$n" || fail "$n packets not captured: $(cat "$log")"
	ringcap_stop
	[ "$RC_STATUS" -eq 0 ] || fail "exit $RC_STATUS: $(cat "$log")"
}

# -C 1: 3000 frames of 1000 bytes make c.pcap .. c.pcap3; SIGKILL; again.
run_and_kill "$TMP/c1.log" 3000 -w "$TMP/c.pcap" -C 1 -T 2
(cd "$TMP" && ls c.pcap*) | sort -V >"$TMP/c.first"
(cd "$TMP" && md5sum c.pcap*) >"$TMP/c.md5"
last=$(tail -n1 "$TMP/c.first")
[ "$last" = c.pcap3 ] || fail "-C: the first run made $(tr '\n' ' ' <"$TMP/c.first")"
n1=0
for f in $(cat "$TMP/c.first"); do n1=$((n1 + $(records "$TMP/$f"))); done
[ "$n1" -eq 3000 ] || fail "-C: the first run's files hold $n1 records, want 3000"
run_and_stop "$TMP/c2.log" 2000 -w "$TMP/c.pcap" -C 1 -T 2
cat "$TMP/c2.log"
[ "$(grep -c "holds records from an earlier run" "$TMP/c2.log")" -eq 1 ] &&
	grep -qF "$TMP/c.pcap3 holds records from an earlier run: continuing at $TMP/c.pcap4" "$TMP/c2.log" ||
	fail "-C: want one line saying where the capture continues"
(cd "$TMP" && md5sum --quiet -c c.md5) || fail "-C: a file of the first run changed"
(cd "$TMP" && ls c.pcap*) | sort -V | grep -vxF -f "$TMP/c.first" >"$TMP/c.second"
[ "$(head -n1 "$TMP/c.second")" = c.pcap4 ] || fail "-C: the second run wrote $(tr '\n' ' ' <"$TMP/c.second")"
n2=0
for f in $(cat "$TMP/c.second"); do n2=$((n2 + $(records "$TMP/$f"))); done
# the last counters are the exit report's (SIGUSR1 printed earlier ones)
[ "$n2" -eq "$(awk '/ packets captured$/ { v = $1 } END { print v }' "$TMP/c2.log")" ] &&
	[ "$n2" -eq 2000 ] ||
	fail "-C: the second run's files hold $n2 records, want 2000"
echo "ok: -C restart: $n1 records kept in $(tr '\n' ' ' <"$TMP/c.first"), $n2 more in $(tr '\n' ' ' <"$TMP/c.second")"

# -C 1 -W 3: 1500 frames fill w.pcap0 and go on in w.pcap1 (or, when blocks
# come unevenly full, w.pcap2: rotation is at a block's boundary); the restart
# goes on in the name after the newest, and every other file keeps its bytes.
run_and_kill "$TMP/w1.log" 1500 -w "$TMP/w.pcap" -C 1 -W 3 -T 1
last=$(cd "$TMP" && ls w.pcap[0-2] | sort | tail -n1); last=${last#w.pcap}
[ "$last" -ge 1 ] || fail "-W: the first run made $(ls "$TMP")"
next=$(((last + 1) % 3))
(cd "$TMP" && md5sum $(ls w.pcap[0-2] | grep -vx "w.pcap$next")) >"$TMP/w.md5"
run_and_stop "$TMP/w2.log" 300 -w "$TMP/w.pcap" -C 1 -W 3 -T 1
grep -qF "$TMP/w.pcap$last holds records from an earlier run: continuing at $TMP/w.pcap$next" "$TMP/w2.log" ||
	fail "-W: no line: $(cat "$TMP/w2.log")"
(cd "$TMP" && md5sum --quiet -c w.md5) || fail "-W: a file of the first run changed"
[ "$(records "$TMP/w.pcap$next")" -eq 300 ] ||
	fail "-W: w.pcap$next holds $(records "$TMP/w.pcap$next") records, want 300"
echo "ok: -W restart went on in w.pcap$next; $(tr '\n' ' ' <"$TMP/w.md5" | awk '{ for (i = 2; i <= NF; i += 2) printf "%s ", $i }')kept"

# A plain -w name and a -G name that hold records: refused, unchanged.
refused() { # WHAT FILE ringcap-args...
	local what=$1 file=$2 rc sum; shift 2
	sum=$(md5sum <"$file")
	ip netns exec "$NS_B" "$BUILD/ringcap" -i "$IF_B" --duration 2 "$@" 2>"$TMP/r.err"; rc=$?
	[ "$rc" -eq 2 ] && [ "$(wc -l <"$TMP/r.err")" -eq 1 ] && grep -qF "$file holds records" "$TMP/r.err" ||
		fail "$what: exit $rc: $(cat "$TMP/r.err")"
	[ "$(md5sum <"$file")" = "$sum" ] || fail "$what: $file changed"
	echo "ok: $what refused: $(cat "$TMP/r.err")"
}
run_and_stop "$TMP/p1.log" 100 -w "$TMP/p.pcap"
refused "plain -w" "$TMP/p.pcap" -w "$TMP/p.pcap"
run_and_stop "$TMP/g1.log" 100 -w "$TMP/g-%Y.pcap" -G 3600
refused "-G" "$(ls "$TMP"/g-*.pcap)" -w "$TMP/g-%Y.pcap" -G 3600

# A header-only file is no earlier run's data: reused.
head -c 24 "$TMP/p.pcap" >"$TMP/h.pcap"
run_and_stop "$TMP/h.log" 100 -w "$TMP/h.pcap"
[ "$(records "$TMP/h.pcap")" -eq 100 ] || fail "header-only h.pcap not reused: $(cat "$TMP/h.log")"
echo "ok: a header-only file is reused"
