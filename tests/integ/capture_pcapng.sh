#!/usr/bin/env bash
# pcapng output, checked with the ecosystem's tools only:
#  - -w t.pcapng (the name picks the format) --time-precision nano: tshark
#    reads as many packets as ringcap captured, capinfos says pcapng with
#    nanosecond resolution and one interface named IFACE with its statistics
#    (an ISB at close), tcpdump -r reads them, editcap and mergecap take it;
#  - the index ringcap wrote beside t.pcapng and the -C files: ringcap-read
#    loads each as fresh (builds none), and --reindex rebuilds the same bytes;
#  - --format pcap -w x.pcapng writes pcap (the user's word wins);
#  - -C rotation: every file read alone by tshark (each starts with its SHB
#    and IDB and ends with an ISB) and together they hold every frame sent;
#  - SIGKILL in a 1514-byte flood: tshark reads whole blocks, every one a
#    frame of the generator, at most one torn block at the end;
#  - -w - --format pcapng into a pipe: tshark -r - reads every packet;
#  - ringcap-replay --handler writer --format pcapng writes a pcapng file.
source "$(dirname "$0")/../lib/testbed.sh"
need_root
need_cmd tshark capinfos tcpdump editcap mergecap
testbed_start capture_pcapng
dir=$(mktemp -d /var/tmp/capture_pcapng.XXXXXX)   # a disk file system: O_DIRECT applies
TB_EXTRA_CLEANUP="rm -rf $dir"

# Packets capinfos counts in FILE (the same wiretap library as tshark, a
# fraction of its start-up time).
cap_count() { capinfos -c -M "$1" 2>/dev/null | awk '/Number of packets/ { print $NF }'; }

# Packets tshark reads from FILE; fails the test on any complaint.
ng_count() { # FILE WHAT
	local err n
	n=$(tshark -r "$1" -T fields -e frame.number 2>"$dir/ts.err" | wc -l)
	err=$(grep -v "Running as user \"root\"" "$dir/ts.err")
	[ -z "$err" ] || fail "$2: tshark: $err"
	echo "$n"
}

# --- one file, the name picks pcapng
N=3000
ringcap_start "$dir/a.log" -i "$IF_B" -w "$dir/t.pcapng" -T 2 --time-precision nano \
	ether src "$MAC_A" || fail "start: $(cat "$dir/a.log")"
in_a "$BUILD/ringcap-gen" -i "$IF_A" -n $N -s 300 --flows 8 -r 30000 -q
wait_captured "$dir/a.log" $N 10 || true
ringcap_stop
[ "$RC_STATUS" -eq 0 ] || fail "exit $RC_STATUS: $(cat "$dir/a.log")"
captured=$(counter "$dir/a.log" "packets captured")
n=$(ng_count "$dir/t.pcapng" "t.pcapng") || exit 1
[ "$n" -eq "$captured" ] && [ "$n" -gt 0 ] || fail "tshark reads $n packets, ringcap captured $captured"
info=$(capinfos -t -a -I "$dir/t.pcapng" 2>&1)
echo "$info" | grep -Eq 'File type: +Wireshark/\.\.\. - pcapng' || fail "capinfos: not pcapng: $info"
echo "$info" | grep -Eq 'Time precision = nanoseconds \(9\)$' || fail "capinfos: not nanoseconds: $info"
echo "$info" | grep -Eq "Name = $IF_B\$" || fail "capinfos: no interface named $IF_B: $info"
echo "$info" | grep -Eq 'Number of stat entries = 1$' || fail "capinfos: no ISB: $info"
[ "$(tcpdump -r "$dir/t.pcapng" -nn -q 2>/dev/null | wc -l)" -eq "$n" ] || fail "tcpdump -r reads another count"
editcap -F pcapng "$dir/t.pcapng" "$dir/e.pcapng" 2>"$dir/ed.err" || fail "editcap: $(cat "$dir/ed.err")"
[ "$(cap_count "$dir/e.pcapng")" = "$n" ] || fail "editcap's copy holds another count"
mergecap -w "$dir/m.pcapng" "$dir/t.pcapng" "$dir/e.pcapng" 2>"$dir/mc.err" ||
	fail "mergecap: $(cat "$dir/mc.err")"
[ "$(cap_count "$dir/m.pcapng")" = $((2 * n)) ] || fail "mergecap's file holds another count"
echo "ok: t.pcapng: $n packets (ringcap captured $captured); pcapng, nanoseconds, interface $IF_B, ISB; tcpdump, editcap, mergecap agree"

# --- ringcap's index of it: taken as fresh, and what a rebuild makes
readstat() { awk -v k="$1" '$1 == k { print $2 }' "$dir/rs"; }
"$BUILD/ringcap-read" --stats -w /dev/null "$dir/t.pcapng" 2>"$dir/rs" || fail "ringcap-read: $(cat "$dir/rs")"
[ "$(readstat indexes_loaded)" = 1 ] && [ "$(readstat indexes_built)" = 0 ] ||
	fail "ringcap-read did not take ringcap's index of t.pcapng as fresh: $(cat "$dir/rs")"
cp "$dir/.t.pcapng.ridx" "$dir/ringcap.ridx"
"$BUILD/ringcap-read" --reindex -w /dev/null "$dir/t.pcapng" || fail "ringcap-read --reindex"
cmp "$dir/ringcap.ridx" "$dir/.t.pcapng.ridx" || fail "ringcap's index of t.pcapng is not the one ringcap-read builds"
echo "ok: t.pcapng's index: loaded as fresh, the same bytes as ringcap-read --reindex builds"

# --- --format pcap wins over the name
ringcap_start "$dir/p.log" -i "$IF_B" -w "$dir/p.pcapng" -T 1 --format pcap -c 5 \
	ether src "$MAC_A" || fail "start: $(cat "$dir/p.log")"
in_a "$BUILD/ringcap-gen" -i "$IF_A" -n 20 -s 100 -r 10000 -q
wait "$RC_PID"; RC_PID=
capinfos -t "$dir/p.pcapng" 2>&1 | grep -Eq 'File type: +Wireshark/tcpdump/\.\.\. - pcap$' ||
	fail "--format pcap -w p.pcapng: $(capinfos -t "$dir/p.pcapng" 2>&1)"
echo "ok: --format pcap -w p.pcapng writes pcap"

# --- -C rotation: every file whole on its own, together every frame once
N=2500
ringcap_start "$dir/c.log" -i "$IF_B" -w "$dir/c.pcapng" -C 1 -T 2 ether src "$MAC_A" ||
	fail "start -C: $(cat "$dir/c.log")"
in_a "$BUILD/ringcap-gen" -i "$IF_A" -n $N -s 1000 --flows 16 -r 30000 -q
wait_captured "$dir/c.log" $N 10 || true
ringcap_stop
[ "$RC_STATUS" -eq 0 ] || fail "-C exit $RC_STATUS: $(cat "$dir/c.log")"
captured=$(counter "$dir/c.log" "packets captured")
files=("$dir"/c.pcapng*)
[ ${#files[@]} -ge 3 ] || fail "-C 1 made ${#files[@]} files from 2.5 MB"
total=0
for f in "${files[@]}"; do
	n=$(ng_count "$f" "$f") || exit 1
	[ "$n" -gt 0 ] || fail "$f holds no packet"
	head -c 4 "$f" | od -An -tx1 | grep -q '0a 0d 0d 0a' || fail "$f does not start with an SHB"
	capinfos -I "$f" 2>&1 | grep -Eq 'Number of stat entries = 1$' || fail "$f: no ISB: $(capinfos -I "$f" 2>&1)"
	total=$((total + n))
done
[ "$total" -eq "$captured" ] || fail "-C: the files hold $total, ringcap captured $captured"
"$BUILD/ringcap-read" --stats -w /dev/null "${files[@]}" 2>"$dir/rs" || fail "ringcap-read -C files: $(cat "$dir/rs")"
[ "$(readstat indexes_loaded)" = ${#files[@]} ] && [ "$(readstat indexes_built)" = 0 ] ||
	fail "ringcap-read did not take the -C files' indexes as fresh: $(cat "$dir/rs")"
echo "ok: -C 1: ${#files[@]} files, each read alone, $total packets in all, each with its index"

# --- SIGKILL mid-flood: whole blocks, at most one torn at the end
ringcap_start "$dir/k.log" -i "$IF_B" -w "$dir/k.pcapng" -T 2 ether src "$MAC_A" ||
	fail "start kill: $(cat "$dir/k.log")"
ip netns exec "$NS_A" "$BUILD/ringcap-gen" -i "$IF_A" -n 200000 -s 1514 --flows 8 \
	-r 60000 -q --duration 6 2>/dev/null &
gen=$!
for _ in $(seq 100); do
	[ "$(stat -c %s "$dir/k.pcapng" 2>/dev/null || echo 0)" -ge $((3 << 20)) ] && break
	sleep 0.05
done
kill -KILL "$RC_PID"; wait "$RC_PID" 2>/dev/null; RC_PID=
kill "$gen" 2>/dev/null; wait "$gen" 2>/dev/null
# no packet but the generator's whole 1514-byte frames
bogus=$(tshark -r "$dir/k.pcapng" -Y 'frame.cap_len != 1514 || frame.len != 1514 || !(udp contains "RCG1")' \
	-T fields -e frame.number 2>"$dir/k.err")
errs=$(grep -v -e "appears to have been cut short in the middle of a packet" -e "Running as user" "$dir/k.err")
[ -z "$errs" ] || fail "after SIGKILL: tshark: $errs"
[ -z "$bogus" ] || fail "after SIGKILL: packets other than the frames sent: $(echo "$bogus" | head -n 3)"
n=$(cap_count "$dir/k.pcapng")
[ "${n:-0}" -gt 0 ] || fail "after SIGKILL: no packet survived"
echo "ok: SIGKILL mid-flood: tshark reads $n whole 1514-byte packets"

# --- -w - into a pipe, tshark at its other end
mkfifo "$dir/fifo"
tshark -r "$dir/fifo" -T fields -e frame.number >"$dir/s.txt" 2>"$dir/s.err" &
ts=$!
ip netns exec "$NS_B" "$BUILD/ringcap" -i "$IF_B" -w - --format pcapng -T 1 -c 400 \
	ether src "$MAC_A" 2>"$dir/s.log" >"$dir/fifo" &
RC_PID=$!
for _ in $(seq 200); do grep -qs "listening on" "$dir/s.log" && break; sleep 0.05; done
in_a "$BUILD/ringcap-gen" -i "$IF_A" -n 600 -s 200 -r 20000 -q
wait "$RC_PID"; RC_STATUS=$?; RC_PID=
wait "$ts" || fail "tshark -r - failed: $(cat "$dir/s.err")"
[ "$RC_STATUS" -eq 0 ] || fail "-w -: exit $RC_STATUS: $(cat "$dir/s.log")"
n=$(wc -l <"$dir/s.txt")
[ -z "$(grep -v "Running as user" "$dir/s.err")" ] && [ "$n" -eq 400 ] || fail "-w - | tshark -r -: $n packets: $(cat "$dir/s.err")"
echo "ok: -w - --format pcapng | tshark -r -: 400 packets"

# --- the bench's writer handler in pcapng (what the pcap/pcapng comparison runs)
"$BUILD/ringcap-replay" --handler writer --format pcapng --frames 100 --packets 3001 \
	-w "$dir/r.pcapng" >"$dir/r.json" || fail "ringcap-replay --format pcapng failed"
[ "$(cap_count "$dir/r.pcapng")" = 3001 ] || fail "ringcap-replay's pcapng: $(capinfos "$dir/r.pcapng" 2>&1)"
grep -q '"format":"pcapng"' "$dir/r.json" || fail "ringcap-replay's line: $(cat "$dir/r.json")"
echo "ok: ringcap-replay --handler writer --format pcapng: 3001 packets"
