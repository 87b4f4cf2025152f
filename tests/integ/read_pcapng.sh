#!/usr/bin/env bash
# ringcap-read on pcapng against the ecosystem's tools. Two pcap files of
# other link types (Ethernet; raw IP in nanoseconds) made into one pcapng of
# two interfaces by mergecap, named eth0 and tun0 (tests/lib/pcapng_edit.py).
# For a window and an expression ringcap-read's records must be exactly
#   editcap -A START -B STOP X.pcap - | tcpdump -r - -w - EXPR
# for each interface's source file, as tshark reads both (time, lengths and
# an MD5 of the bytes of each frame, by interface), its output a pcapng of
# both interfaces that tshark and capinfos read; -i
# and "ifname NAME and" take one interface's records (a pcap); pcap and
# pcapng inputs mix; --format pcap with two link types is refused; a pcapng
# with a block whose body lies, one whose framing lies and a torn end is read
# around them, each named by file and offset. Sends nothing.
source "$(dirname "$0")/../lib/testbed.sh"
need_cmd tcpdump
need_cmd tshark
need_cmd mergecap
need_cmd editcap
need_cmd capinfos
need_cmd python3
R=$BUILD/ringcap-read
GEN="python3 $(dirname "$0")/../lib/pcapgen.py"
EDIT="python3 $(dirname "$0")/../lib/pcapng_edit.py"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
T0=1764597600

$GEN "$dir/eth.pcap" --start $T0 --count 3000 --step-us 700 --seed 1
$GEN "$dir/tun.pcap" --start $T0.0003 --count 2000 --step-us 900 --linktype raw --seed 2 --net4 8 --nano
mergecap -F pcapng -w "$dir/m.pcapng" "$dir/eth.pcap" "$dir/tun.pcap" || fail "mergecap"
$EDIT "$dir/m.pcapng" "$dir/two.pcapng" --name 0=eth0 --name 1=tun0 || fail "pcapng_edit"
editcap -F pcapng "$dir/eth.pcap" "$dir/eth.pcapng" || fail "editcap -F pcapng"
mkdir "$dir/in"
cp "$dir/two.pcapng" "$dir/in/"

lines() { # FILE-or-- [expr...]: one line per record, time and bytes, sorted
	local f=$1; shift
	tcpdump -r "$f" -nn -tt --time-stamp-precision=nano -xx "$@" 2>/dev/null | awk '
		/^\t0x[0-9a-f]+:/ { sub(/^\t0x[0-9a-f]+:[ ]+/, ""); gsub(/ /, ""); cur = cur $0; next }
		{ if (started) print cur; cur = $1 " "; started = 1 }
		END { if (started) print cur }' | sort
}
# tshark's view of a file's frames: interface, time, lengths, MD5 of the bytes
frames() { # FILE
	tshark -r "$1" -o frame.generate_md5_hash:TRUE -T fields -e frame.interface_name -e frame.encap_type \
		-e frame.time_epoch -e frame.len -e frame.cap_len -e frame.md5_hash 2>/dev/null
}
want() { # PCAP START STOP [expr...]: the source's frames tcpdump takes in the window
	local f=$1 a=$2 b=$3; shift 3
	editcap -F nsecpcap -A "$a" -B "$b" "$f" - | tcpdump --time-stamp-precision=nano -r - -w - "$@" 2>/dev/null >"$dir/want.pcap"
	frames "$dir/want.pcap" | cut -f3- | sort
}
# the frames of one interface (a name or an encapsulation number) of our output
got() { # FRAMES-FILE COLUMN VALUE
	awk -F'\t' -v c="$2" -v v="$3" '$c == v' "$1" | cut -f3- | sort
}
same() { # NAME GOT WANT
	cmp -s "$2" "$3" ||
		fail "$1: $(wc -l <"$2") records, tcpdump has $(wc -l <"$3"); first difference: $(diff "$2" "$3" | head -3 | cut -c1-160)"
	echo "ok: $1: $(wc -l <"$3") records"
}

# a window and an expression over the two-interface pcapng: pcapng out
A=$T0.4 B=$((T0+1)).3
"$R" --since @$A --until @$B -w "$dir/out.pcapng" "$dir/in" udp and not host 198.18.0.1 ||
	fail "two interfaces: exit $?"
capinfos "$dir/out.pcapng" >"$dir/ci" || fail "capinfos cannot read the output"
grep -q "Number of interfaces in file: 2" "$dir/ci" && grep -q "Name = eth0" "$dir/ci" &&
	grep -q "Name = tun0" "$dir/ci" && grep -q "Strict time order: *True" "$dir/ci" ||
	fail "output: $(cat "$dir/ci")"
frames "$dir/out.pcapng" >"$dir/frames"
got "$dir/frames" 1 eth0 >"$dir/got"
want "$dir/eth.pcap" $A $B udp and not host 198.18.0.1 >"$dir/want"
same "eth0 in a window" "$dir/got" "$dir/want"
got "$dir/frames" 1 tun0 >"$dir/got"
want "$dir/tun.pcap" $A $B udp and not host 198.18.0.1 >"$dir/want"
same "tun0 (nanoseconds) in a window" "$dir/got" "$dir/want"
[ "$(wc -l <"$dir/frames")" -eq "$(capinfos -c -M "$dir/out.pcapng" | awk '/Number of packets/ {print $NF}')" ] ||
	fail "tshark and capinfos disagree"

# -i tun0: one interface, one link type: a pcap; "ifname eth0 and" the same
# way (tcpdump -xx lines of both sides)
"$R" -i tun0 --since @$A --until @$B -w "$dir/tun0.pcap" "$dir/in" host 198.18.8.1 || fail "-i: exit $?"
lines "$dir/tun0.pcap" >"$dir/got"
editcap -F nsecpcap -A $A -B $B "$dir/tun.pcap" - | lines - host 198.18.8.1 >"$dir/want"
same "-i tun0" "$dir/got" "$dir/want"
[ -s "$dir/want" ] || fail "-i tun0: nothing to compare"
"$R" --until @$B -w "$dir/eth0.pcap" "$dir/in" ifname eth0 and ip6 || fail "ifname: exit $?"
lines "$dir/eth0.pcap" >"$dir/got"
editcap -B $B "$dir/eth.pcap" - | lines - ip6 >"$dir/want"
same "ifname eth0 and ip6" "$dir/got" "$dir/want"
"$R" -i eth0,tun0 -c 10 "$dir/in" >"$dir/both" || fail "-i eth0,tun0: exit $?"
capinfos "$dir/both" | grep -q "Number of interfaces in file: 2" || fail "-i eth0,tun0: not both interfaces"

# pcap and pcapng inputs mixed: eth.pcapng (Ethernet) and tun.pcap (raw)
"$R" --since @$A --until @$B -w "$dir/mix.pcapng" "$dir/eth.pcapng" "$dir/tun.pcap" tcp or icmp or udp ||
	fail "mixed: exit $?"
frames "$dir/mix.pcapng" >"$dir/frames"
got "$dir/frames" 2 1 >"$dir/got"
want "$dir/eth.pcap" $A $B tcp or icmp or udp >"$dir/want"
same "mixed inputs: the pcapng's" "$dir/got" "$dir/want"
got "$dir/frames" 2 7 >"$dir/got"
want "$dir/tun.pcap" $A $B tcp or icmp or udp >"$dir/want"
same "mixed inputs: the pcap's" "$dir/got" "$dir/want"

# several sections in one file (pcapng files one after the other), each with
# its own interface 0; a host query read through the index's postings
editcap -F pcapng "$dir/tun.pcap" "$dir/tun.pcapng" || fail "editcap -F pcapng"
cat "$dir/eth.pcapng" "$dir/tun.pcapng" "$dir/eth.pcapng" >"$dir/sections.pcapng"
"$R" --stats -w "$dir/sec.out" "$dir/sections.pcapng" host 198.18.8.1 2>"$dir/stats" ||
	fail "sections: exit $?"
lines "$dir/sec.out" >"$dir/got"
editcap -F nsecpcap "$dir/tun.pcap" - | lines - host 198.18.8.1 >"$dir/want"
same "three sections, a host" "$dir/got" "$dir/want"
awk '$1 == "chunks_by_postings" && $2 > 0 { ok = 1 } END { exit !ok }' "$dir/stats" ||
	fail "sections: no chunk read by its postings"

# --format pcap with two link types: refused, one line, nothing created
"$R" --format pcap -w "$dir/never" "$dir/in" 2>"$dir/err"
rc=$?
[ $rc -eq 2 ] && [ "$(wc -l <"$dir/err")" -eq 1 ] && grep -q "link types" "$dir/err" && [ ! -e "$dir/never" ] ||
	fail "--format pcap: exit $rc: $(cat "$dir/err")"
echo "ok: --format pcap refused: $(cat "$dir/err")"

# a corrupt pcapng: EPB 100's caplen lies, EPB 2000's total length lies, the
# last block is torn. Every other record is read; each fault named once.
mkdir "$dir/bad"
$EDIT "$dir/two.pcapng" "$dir/bad/b.pcapng" --name 0=eth0 --name 1=tun0 --corrupt-epb 100 --lie-epb 2000 --cut 10
"$R" --stats -w "$dir/bad.pcapng" "$dir/bad" 2>"$dir/err" || fail "corrupt: exit $?: $(cat "$dir/err")"
grep -E "b.pcapng: 2 pcapng block\(s\) or region\(s\) that lie were skipped, the first at offset [0-9]+" "$dir/err" >/dev/null ||
	fail "corrupt: no line for the blocks that lie: $(cat "$dir/err")"
grep -E "b.pcapng: record at offset [0-9]+ is torn" "$dir/err" >/dev/null || fail "corrupt: no torn line: $(cat "$dir/err")"
n=$(capinfos -c -M "$dir/bad.pcapng" | awk '/Number of packets/ {print $NF}')
[ "$n" -eq 4997 ] || fail "corrupt: $n records read, want 5000 - 3"
echo "ok: a corrupt pcapng: $n records; $(grep -c "b.pcapng" "$dir/err") lines name it"
"$R" -w "$dir/bad2.pcapng" "$dir/bad" 2>"$dir/err" || fail "corrupt, index loaded: exit $?"
cmp -s "$dir/bad.pcapng" "$dir/bad2.pcapng" || fail "corrupt, index loaded: another result"
echo "all ok"
