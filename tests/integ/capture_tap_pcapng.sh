#!/usr/bin/env bash
# A tap's two directions into one pcapng, end to end: two veth pairs into one
# namespace, 30,000 frames of 200 B on the first and 20,000 of 300 B on the
# second at the same time, `ringcap -i B1 -i B2 -w t.pcapng`. Checked with
# the ecosystem's tools: tshark counts exactly 30,000 on interface 0, all
# 200 B, and 20,000 on interface 1, all 300 B, in non-decreasing time order
# across the file; capinfos reads pcapng with two interfaces named B1 and B2
# whose statistics (ISBs) count at least what was captured; tcpdump -r reads
# 50,000; editcap and mergecap take it. ringcap-read on that file: a time
# window with `udp and dst port 7` is tshark's answer over the same window
# (times and lengths), `-i B1` is B1's 30,000 records. Several interfaces
# with -w x.pcap write pcapng (the --format pcap refusal is
# capture_two_ifaces'). SIGKILL mid-flood on both: tshark reads the file
# without a complaint but a torn last packet.
source "$(dirname "$0")/../lib/testbed.sh"
need_root
need_cmd tshark capinfos tcpdump editcap mergecap
testbed_start capture_tap_pcapng
dir=$TMP
LIB=$(dirname "$0")/../lib

testbed_pair2 || fail "second veth pair"

# Only the generators' frames count: UDP to port 9 (first pair) or 7 (second).
filter='udp and (dst port 9 or dst port 7)'
# (ip netns exec execs: G1 and G2 are the generators themselves, for kill)
gen_both() { # N1 SIZE1 N2 SIZE2 [ringcap-gen args...]: both generators at once, in the background
	local n1=$1 s1=$2 n2=$3 s2=$4; shift 4
	ip netns exec "$NS_A" "$BUILD/ringcap-gen" -i "$IF_A" -n "$n1" -s "$s1" --dst-port 9 -q "$@" &
	G1=$!
	ip netns exec "$NS_A" "$BUILD/ringcap-gen" -i "$IF_A2" -n "$n2" -s "$s2" --dst-port 7 \
		--src-ip 198.18.1.1 --dst-ip 198.18.1.2 -q "$@" &
	G2=$!
}
# tshark's complaints in ERRFILE but the root warning (and what SKIP matches)
ts_errs() { grep -v -e "Running as user" ${2:+-e "$2"} "$1"; }

# --- the two directions, one pcapng
ringcap_start "$dir/t.log" -i "$IF_B" -i "$IF_B2" -w "$dir/t.pcapng" $filter ||
	fail "start: $(cat "$dir/t.log")"
gen_both 30000 200 20000 300
wait $G1 || fail "generator 1"
wait $G2 || fail "generator 2"
wait_captured "$dir/t.log" 50000 10 || true
ringcap_stop
[ "$RC_STATUS" -eq 0 ] || fail "exit $RC_STATUS: $(cat "$dir/t.log")"
# (the frame layer only: what the checks read, at a fraction of the cost)
tshark -r "$dir/t.pcapng" --disable-protocol eth -T fields -e frame.interface_id -e frame.len \
	-e frame.time_epoch >"$dir/t.fields" 2>"$dir/ts.err"
[ -z "$(ts_errs "$dir/ts.err")" ] || fail "tshark: $(cat "$dir/ts.err")"
per_if=$(awk -F'\t' '{ n[$1 "/" $2]++ } END { for (k in n) print k, n[k] }' "$dir/t.fields" | sort | tr '\n' ' ')
[ "$per_if" = "0/200 30000 1/300 20000 " ] ||
	fail "tshark per interface/length: '$per_if', want 0/200 30000 1/300 20000; $(grep -i interface "$dir/t.log")"
# time order: fixed-width epoch strings compare as numbers do
out=$(awk -F'\t' 'NR > 1 && $3 < prev { print NR ": " $3 " after " prev; exit } { prev = $3 }' "$dir/t.fields")
[ -z "$out" ] || fail "time goes back at frame $out"
echo "ok: tshark: interface 0 30000 x 200 B, interface 1 20000 x 300 B, in time order"

info=$(capinfos -t -I "$dir/t.pcapng" 2>&1)
echo "$info" | grep -Eq 'File type: +Wireshark/\.\.\. - pcapng' || fail "capinfos: not pcapng: $info"
echo "$info" | grep -Eq 'Number of interfaces in file: 2$' || fail "capinfos: not 2 interfaces: $info"
echo "$info" | grep -Eq "Name = $IF_B\$" && echo "$info" | grep -Eq "Name = $IF_B2\$" ||
	fail "capinfos: interfaces not named $IF_B and $IF_B2: $info"
# the blocks themselves: SHB, an Ethernet IDB named for each -i in order, at
# the end an ISB per interface whose received count covers what was captured
python3 "$LIB/pcapng_blocks.py" "$dir/t.pcapng" >"$dir/blocks" || fail "block walk: $(cat "$dir/blocks")"
want="0 SHB
1 IDB 0 linktype=1 name=$IF_B
2 IDB 1 linktype=1 name=$IF_B2"
[ "$(head -n 3 "$dir/blocks")" = "$want" ] || fail "prologue: $(head -n 5 "$dir/blocks")"
awk -v a=30000 -v b=20000 '$2 == "ISB" { sub("recv=", "", $4); if ($4 >= ($3 == 0 ? a : b)) ok[$3] = 1 }
	END { exit !(ok[0] && ok[1]) }' "$dir/blocks" || fail "ISBs: $(grep -e ISB -e torn "$dir/blocks")"
grep -q torn "$dir/blocks" && fail "a torn block after a clean stop"
[ "$(tcpdump -r "$dir/t.pcapng" -nn -q 2>/dev/null | wc -l)" -eq 50000 ] || fail "tcpdump -r reads another count"
# what ringcap-read's expression below takes: interface 1's frames, no other
[ "$(tcpdump -r "$dir/t.pcapng" -nn -q udp and dst port 7 2>/dev/null | wc -l)" -eq 20000 ] ||
	fail "tcpdump: udp and dst port 7 is not interface 1's 20000 frames"
editcap -F pcapng "$dir/t.pcapng" "$dir/e.pcapng" 2>"$dir/ed.err" || fail "editcap: $(cat "$dir/ed.err")"
mergecap -w "$dir/m.pcapng" "$dir/t.pcapng" "$dir/e.pcapng" 2>"$dir/mc.err" ||
	fail "mergecap: $(cat "$dir/mc.err")"
[ "$(capinfos -c -M "$dir/m.pcapng" | awk '/Number of packets/ { print $NF }')" = 100000 ] ||
	fail "mergecap of the file and editcap's copy: $(capinfos -c -M "$dir/m.pcapng" 2>&1)"
echo "ok: capinfos: pcapng, 2 interfaces named $IF_B, $IF_B2; ISBs $(grep ISB "$dir/blocks" | cut -d' ' -f3- | tr '\n' ' ')"
echo "ok: tcpdump -r reads 50000; editcap and mergecap take it"

# --- ringcap-read over the same file: a window and an expression, as tshark sees them
# (tshark's times to the microsecond ringcap wrote; tcpdump reads the outputs,
# a fraction of tshark's start-up time). dst port 7 is interface 1's frames
# (tcpdump counted them above).
td_fields() { # FILE: "epoch<TAB>frame length" per record, as tshark's fields
	tcpdump -r "$1" -nn -tt -e 2>/dev/null |
		sed -nE 's/^([0-9]+\.[0-9]{6}) .*, length ([0-9]+): .*/\1\t\2/p'
}
a=$(sed -n 10000p "$dir/t.fields" | cut -f3) b=$(sed -n 40000p "$dir/t.fields" | cut -f3)
"$BUILD/ringcap-read" --since "@$a" --until "@$b" -w "$dir/w.out" "$dir/t.pcapng" udp and dst port 7 ||
	fail "ringcap-read window: exit $?"
td_fields "$dir/w.out" >"$dir/got" || fail "tcpdump cannot read ringcap-read's output"
awk -F'\t' -v a="$a" -v b="$b" '$3 >= a && $3 < b && $1 == 1 { print substr($3, 1, 17) "\t" $2 }' \
	"$dir/t.fields" >"$dir/want"
[ -s "$dir/want" ] && cmp -s "$dir/got" "$dir/want" ||
	fail "window [$a, $b) udp and dst port 7: ringcap-read $(wc -l <"$dir/got"), tshark $(wc -l <"$dir/want"): $(diff "$dir/got" "$dir/want" | head -n 3)"
echo "ok: ringcap-read --since @$a --until @$b udp and dst port 7: $(wc -l <"$dir/got") records, tshark's"
"$BUILD/ringcap-read" -i "$IF_B" -w "$dir/a.out" "$dir/t.pcapng" || fail "ringcap-read -i: exit $?"
td_fields "$dir/a.out" >"$dir/got" || fail "tcpdump cannot read ringcap-read -i's output"
awk -F'\t' '$1 == 0 { print substr($3, 1, 17) "\t" $2 }' "$dir/t.fields" >"$dir/want"
cmp -s "$dir/got" "$dir/want" ||
	fail "ringcap-read -i $IF_B: $(wc -l <"$dir/got") records, interface 0 has $(wc -l <"$dir/want")"
echo "ok: ringcap-read -i $IF_B: interface 0's 30000 records, nothing else"

# --- several interfaces and a .pcap name: pcapng all the same
ringcap_start "$dir/p.log" -i "$IF_B" -i "$IF_B2" -w "$dir/x.pcap" $filter ||
	fail "start -w x.pcap: $(cat "$dir/p.log")"
gen_both 10 100 10 100
wait $G1 $G2
wait_captured "$dir/p.log" 20 10 || true
ringcap_stop
[ "$RC_STATUS" -eq 0 ] || fail "-w x.pcap: exit $RC_STATUS: $(cat "$dir/p.log")"
capinfos -t "$dir/x.pcap" 2>&1 | grep -Eq 'File type: +Wireshark/\.\.\. - pcapng' ||
	fail "-i A -i B -w x.pcap: $(capinfos -t "$dir/x.pcap" 2>&1)"
echo "ok: -i $IF_B -i $IF_B2 -w x.pcap writes pcapng"

# --- SIGKILL mid-flood on both: whole blocks, at most a torn last one
ringcap_start "$dir/k.log" -i "$IF_B" -i "$IF_B2" -w "$dir/k.pcapng" $filter ||
	fail "start kill: $(cat "$dir/k.log")"
gen_both 100000 1514 100000 1000 -r 10000 --duration 5
for _ in $(seq 100); do
	[ "$(stat -c %s "$dir/k.pcapng" 2>/dev/null || echo 0)" -ge $((512 << 10)) ] && break
	sleep 0.05
done
sleep 0.1   # both generators under way: the kill lands while both interfaces are written
kill -KILL "$RC_PID"; wait "$RC_PID" 2>/dev/null; RC_PID=
kill "$G1" "$G2" 2>/dev/null; wait "$G1" "$G2" 2>/dev/null   # ends with the signal
tshark -r "$dir/k.pcapng" --disable-protocol eth -T fields -e frame.interface_id -e frame.len >"$dir/k.fields" 2>"$dir/k.err"
rc=$?
errs=$(ts_errs "$dir/k.err" "appears to have been cut short in the middle of a packet")
[ -z "$errs" ] || fail "after SIGKILL: tshark: $errs"
python3 "$LIB/pcapng_blocks.py" "$dir/k.pcapng" >"$dir/k.blocks" || fail "after SIGKILL: $(cat "$dir/k.blocks")"
if grep -q "cut short" "$dir/k.err"; then
	grep -q '^torn' "$dir/k.blocks" || fail "tshark says cut short, yet every block is whole"
else
	[ "$rc" -eq 0 ] || fail "after SIGKILL: tshark exit $rc"
fi
bad=$(awk -F'\t' '!($1 == 0 && $2 == 1514) && !($1 == 1 && $2 == 1000)' "$dir/k.fields" | head -n 3)
[ -z "$bad" ] || fail "after SIGKILL: frames nobody sent: $bad"
[ "$(cut -f1 "$dir/k.fields" | sort -u | tr '\n' ' ')" = "0 1 " ] ||
	fail "after SIGKILL: not both interfaces: $(grep EPB "$dir/k.blocks")"
echo "ok: SIGKILL mid-flood: tshark reads $(wc -l <"$dir/k.fields") whole packets of both interfaces ($(grep -c '^torn' "$dir/k.blocks") torn block)"
exit 0
