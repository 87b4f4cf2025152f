#!/usr/bin/env bash
# Files and their names:
#  - SIGHUP with -C starts the next file: SIGHUP twice gives three files, and
#    every packet is in exactly one of them (three bursts of distinct sizes);
#  - a next file that cannot be created (its name is too long: ENAMETOOLONG)
#    stops the capture with exit 1 and one line naming that file, and the
#    current file keeps every record appended (as many as reported, frames
#    0..K-1 in order);
#  - a symbolic link planted at the -w name is refused at start (exit 2, one
#    line, nothing created through it); a link, a FIFO and a directory planted
#    at later -C names are skipped, one line each, never followed or opened,
#    and the capture goes on into the names after them, losing nothing;
#  - messages name the file on disk (-W's FILE0), not the -w template.
source "$(dirname "$0")/../lib/testbed.sh"
need_root
need_cmd tcpdump
need_cmd tshark
testbed_start capture_files

# The generator's frame indices in FILE, one a line, in file order.
gen_indices() {
	tshark -r "$1" -T fields -e udp.payload 2>/dev/null |
		while read -r p; do [ "${p:0:8}" = 52434731 ] && echo $((16#${p:8:16})); done
}

gen() { in_a "$BUILD/ringcap-gen" -i "$IF_A" -n "$1" -s "$2" --flows 4 -r 20000 -q --duration 10; }

# Three bursts of 300 frames (200, 300, 400 bytes) with a SIGHUP between: each
# burst past the rings before the SIGHUP, each SIGHUP handled before the next
# burst (wait_captured's SIGUSR1 comes after it, and main takes SIGHUP first).
three_bursts() { # LOG
	for want in 300 600; do
		gen 300 $((want / 3 + 100))
		wait_captured "$1" $want || fail "$1: $want packets not captured: $(cat "$1")"
		kill -HUP "$RC_PID"
		wait_captured "$1" $want || fail "$1: no counters after SIGHUP"
	done
	gen 300 400
	wait_captured "$1" 900 || fail "$1: 900 packets not captured"
}

# SIGHUP twice: three files.
ringcap_start "$TMP/h.log" -i "$IF_B" -w "$TMP/h.pcap" -C 100 -T 2 || fail "start: $(cat "$TMP/h.log")"
three_bursts "$TMP/h.log"
kill -0 "$RC_PID" 2>/dev/null || fail "SIGHUP with -C ended the capture: $(cat "$TMP/h.log")"
ringcap_stop
[ "$RC_STATUS" -eq 0 ] || fail "SIGHUP: exit $RC_STATUS: $(cat "$TMP/h.log")"
names=$(cd "$TMP" && ls h.pcap* | tr '\n' ' ')
[ "$names" = "h.pcap h.pcap1 h.pcap2 " ] || fail "SIGHUP twice made: $names"
size=200
for f in h.pcap h.pcap1 h.pcap2; do
	n=$(pcap_count "$TMP/$f") || fail "$f: $n"
	lens=$(tshark -r "$TMP/$f" -T fields -e frame.len 2>/dev/null | sort | uniq -c | awk '{ print $2 "x" $1 }')
	[ "$lens" = "${size}x300" ] || fail "$f holds $lens, want the 300 frames of $size bytes"
	size=$((size + 100))
done
echo "ok: SIGHUP twice made $names, each burst in exactly one file"

# SIGHUP with a -G name coarser than a second: the next name is the current
# file's, so the current file goes on (one line says so) and nothing is lost
# to O_TRUNC: the one file holds all three bursts.
ringcap_start "$TMP/g.log" -i "$IF_B" -w "$TMP/g-%Y.pcap" -G 3600 -T 2 || fail "start: $(cat "$TMP/g.log")"
three_bursts "$TMP/g.log"
ringcap_stop
[ "$RC_STATUS" -eq 0 ] || fail "SIGHUP, same name: exit $RC_STATUS: $(cat "$TMP/g.log")"
g=$(ls "$TMP"/g-*.pcap)
[ "$(echo "$g" | wc -l)" -eq 1 ] || fail "SIGHUP, same name: files $g"
[ "$(grep -c "the next file would have the same name" "$TMP/g.log")" -eq 1 ] ||
	fail "SIGHUP, same name: want one line: $(cat "$TMP/g.log"; ls -la "$TMP")"
lens=$(tshark -r "$g" -T fields -e frame.len 2>/dev/null | sort | uniq -c | awk '{ print $2 "x" $1 }' | tr '\n' ' ')
[ "$lens" = "200x300 300x300 400x300 " ] || fail "SIGHUP, same name: $g holds $lens"
echo "ok: SIGHUP onto the same -G name keeps writing one file with every burst"

# The next file cannot be created: its name is one byte longer than a name
# may be (the first, r...r.pcap, is 255 bytes; the next adds a 1).
r=$TMP/$(printf 'r%.0s' $(seq 250)).pcap
ringcap_start "$TMP/r.log" -i "$IF_B" -w "$r" -C 1 -T 1 --no-index || fail "start: $(cat "$TMP/r.log")"
gen 3000 1000
for _ in $(seq 300); do kill -0 "$RC_PID" 2>/dev/null || break; sleep 0.1; done
kill -0 "$RC_PID" 2>/dev/null && { ringcap_stop; fail "still running after the next file failed"; }
wait "$RC_PID"; rc=$?; RC_PID=
cat "$TMP/r.log"
[ $rc -eq 1 ] || fail "failed rotation: exit $rc, want 1"
[ "$(grep -c "cannot create the next file ${r}1: File name too long" "$TMP/r.log")" -eq 1 ] ||
	fail "want one line naming ${r}1 and why: $(cat "$TMP/r.log")"
kept=$(counter "$TMP/r.log" "packets captured")
n=$(pcap_count "$r") || fail "r.pcap: $n"
[ "$n" -eq "$kept" ] || fail "r.pcap holds $n records, the report says $kept"
[ "$n" -ge 500 ] || fail "r.pcap kept only $n records of its 1 MB"
[ "$(stat -c %s "$r")" -le 1000000 ] || fail "r.pcap passed 1 MB"
# the generator's indices ("RCG1" + 64-bit index after the UDP header): 0..n-1 in order
gen_indices "$r" >"$TMP/r.idx"
seq 0 $((n - 1)) | cmp -s - "$TMP/r.idx" || fail "r.pcap does not hold frames 0..$((n - 1)) in order"
echo "ok: failed rotation kept all $n records in r.pcap, exit 1, one line"

# A symbolic link at the -w name: refused, not followed.
ln -s "$TMP/target" "$TMP/s.pcap"
ip netns exec "$NS_B" "$BUILD/ringcap" -i "$IF_B" -w "$TMP/s.pcap" --duration 2 2>"$TMP/s.log"; rc=$?
[ $rc -eq 2 ] || fail "symlink at -w: exit $rc: $(cat "$TMP/s.log")"
[ "$(wc -l <"$TMP/s.log")" -eq 1 ] && grep -q "$TMP/s.pcap" "$TMP/s.log" || fail "symlink: $(cat "$TMP/s.log")"
[ ! -e "$TMP/target" ] || fail "symlink at -w was followed"
echo "ok: symlink at -w refused: $(cat "$TMP/s.log")"

# With -W the first file is FILE0: the message names it.
ln -s "$TMP/target" "$TMP/w.pcap0"
ip netns exec "$NS_B" "$BUILD/ringcap" -i "$IF_B" -w "$TMP/w.pcap" -C 1 -W 3 --duration 2 2>"$TMP/w.log"; rc=$?
[ $rc -eq 2 ] && grep -q "'$TMP/w.pcap0'" "$TMP/w.log" && [ ! -e "$TMP/target" ] ||
	fail "symlink at FILE0: exit $rc: $(cat "$TMP/w.log")"
echo "ok: symlink at FILE0 refused, named: $(cat "$TMP/w.log")"

# A symbolic link, a FIFO and a directory at the next -C names: each skipped
# with one line, none followed or opened; the capture goes on into l.pcap4
# and after, and every packet is in l.pcap or those.
# (Planted once the capture runs: at start it would number on after them.)
ringcap_start "$TMP/l.log" -i "$IF_B" -w "$TMP/l.pcap" -C 1 -T 1 || fail "start: $(cat "$TMP/l.log")"
ln -s "$TMP/target" "$TMP/l.pcap1"
mkfifo "$TMP/l.pcap2"
mkdir "$TMP/l.pcap3"
gen 3000 1000
wait_captured "$TMP/l.log" 3000 || fail "planted names: 3000 packets not captured: $(cat "$TMP/l.log")"
kill -0 "$RC_PID" 2>/dev/null || fail "planted names ended the capture: $(cat "$TMP/l.log")"
ringcap_stop
cat "$TMP/l.log"
[ "$RC_STATUS" -eq 0 ] || fail "planted names: exit $RC_STATUS"
for what in "l.pcap1 exists and is not a regular file (a symbolic link)" \
	"l.pcap2 exists and is not a regular file (a FIFO)" \
	"l.pcap3 exists and is not a regular file (a directory)"; do
	[ "$(grep -c "$what: skipped, not followed" "$TMP/l.log")" -eq 1 ] || fail "want one line: $what"
done
[ ! -e "$TMP/target" ] || fail "the symlink at l.pcap1 was followed"
[ -L "$TMP/l.pcap1" ] && [ -p "$TMP/l.pcap2" ] && [ -d "$TMP/l.pcap3" ] && [ -z "$(ls -A "$TMP/l.pcap3")" ] ||
	fail "a planted name was changed"
[ -f "$TMP/l.pcap4" ] || fail "no l.pcap4 after the planted names: $(ls "$TMP")"
sum=0
for f in "$TMP/l.pcap" "$TMP"/l.pcap[4-9]*; do
	n=$(pcap_count "$f") || fail "$f: $n"
	sum=$((sum + n))
done
[ "$sum" -eq 3000 ] && [ "$sum" -eq "$(counter "$TMP/l.log" "packets captured")" ] ||
	fail "the files hold $sum records, want 3000"
echo "ok: a link, a FIFO and a directory at l.pcap1..3 skipped; $sum records in l.pcap, l.pcap4 and after"
