#!/usr/bin/env bash
# Rotation, the tcpdump way: -C splits by size into FILE, FILE1, ...; -W with -C
# reuses FILE0..FILE(W-1); -G splits by time with strftime names; -G with -W
# stops after W files. Every file is a valid pcap, and together they hold
# every frame exactly once.
source "$(dirname "$0")/../lib/testbed.sh"
need_root
need_cmd tcpdump
testbed_up || fail "testbed"
dir=$(mktemp -d); TB_EXTRA_CLEANUP="rm -rf $dir"

# -C 1: 1,000,000 bytes per file; 6000 frames of 1000 bytes make ~6 MB.
N=6000
ringcap_start "$dir/c.log" -i "$IF_B" -w "$dir/c.pcap" -C 1 -T 2 ether src "$MAC_A" || fail "start"
in_a "$BUILD/ringcap-gen" -i "$IF_A" -n $N -s 1000 --flows 16 -r 20000 -q -w "$dir/ref.pcap"
sleep 0.3
ringcap_stop
[ "$RC_STATUS" -eq 0 ] || fail "-C exit $RC_STATUS: $(cat "$dir/c.log")"
files=("$dir"/c.pcap*)
[ ${#files[@]} -ge 5 ] || fail "-C 1 made ${#files[@]} files from 6 MB"
total=0
for f in "${files[@]}"; do
	n=$(pcap_count "$f") || fail "$f: $n"
	[ "$n" -gt 0 ] || fail "$f holds no record"
	size=$(stat -c %s "$f")
	[ "$size" -le 1100000 ] || fail "$f is $size bytes with -C 1"
	total=$((total + n))
	pcap_hexlines "$f"
done | sort >"$dir/got.hex"
pcap_hexlines "$dir/ref.pcap" | sort >"$dir/want.hex"
cmp -s "$dir/got.hex" "$dir/want.hex" || fail "the files together do not hold exactly the frames sent"
[ -e "$dir/c.pcap1" ] || fail "no FILE1 name"
echo "ok: -C 1 made ${#files[@]} files holding all $N frames"

# -C 1 -W 3: three names, reused
ringcap_start "$dir/w.log" -i "$IF_B" -w "$dir/w.pcap" -C 1 -W 3 || fail "start"
in_a "$BUILD/ringcap-gen" -i "$IF_A" -n $N -s 1000 -r 20000 -q
sleep 0.3
ringcap_stop
[ "$RC_STATUS" -eq 0 ] || fail "-W exit $RC_STATUS"
names=$(cd "$dir" && ls w.pcap* | tr '\n' ' ')
[ "$names" = "w.pcap0 w.pcap1 w.pcap2 " ] || fail "-C 1 -W 3 names: $names"
for f in "$dir"/w.pcap*; do n=$(pcap_count "$f") || fail "$f: $n"; done
echo "ok: -W 3 kept $names"

# -G 1 -W 2 with a strftime name: stops by itself after two files. The
# generator runs first (ip netns exec itself: $! must be the generator), so
# traffic flows over both seconds however slowly ringcap starts.
ip netns exec "$NS_A" "$BUILD/ringcap-gen" -i "$IF_A" -n 30000 -s 200 -r 1000 -q \
	--duration 30 2>/dev/null &
gen=$!
ringcap_start "$dir/g.log" -i "$IF_B" -w "$dir/g-%H%M%S.pcap" -G 1 -W 2 --duration 8 ||
	fail "-G start: $(cat "$dir/g.log")"
wait "$RC_PID"; rc=$?; RC_PID=
kill $gen 2>/dev/null; wait $gen 2>/dev/null
[ $rc -eq 0 ] || fail "-G exit $rc: $(cat "$dir/g.log")"
gfiles=("$dir"/g-*.pcap)
[ ${#gfiles[@]} -eq 2 ] || fail "-G 1 -W 2 made ${#gfiles[@]} files"
total=0
for f in "${gfiles[@]}"; do
	[[ $(basename "$f") =~ ^g-[0-9]{6}\.pcap$ ]] || fail "strftime name $(basename "$f")"
	n=$(pcap_count "$f") || fail "$f: $n"
	[ "$n" -gt 0 ] || fail "$f holds no record"
	total=$((total + n))
done
captured=$(counter "$dir/g.log" "packets captured")
[ "$total" -eq "$captured" ] || fail "-G: the files hold $total records, the report says $captured captured"
echo "ok: -G 1 -W 2: $(basename "${gfiles[0]}") $(basename "${gfiles[1]}")"
