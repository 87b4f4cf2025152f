#!/usr/bin/env bash
# ringcap-read over more files than it may hold open. 2,000 small pcaps that
# follow one another in time, read under `ulimit -n 256`: every packet comes
# out, once, in time order (capinfos, tcpdump), and nothing is refused for
# want of descriptors. Then 300 files whose times interleave (every file
# overlaps every other) under `ulimit -n 64`: files are closed and opened
# again as the merge goes, and the output is still complete and in order.
# Sends nothing: no namespaces needed.
source "$(dirname "$0")/../lib/testbed.sh"
need_cmd tcpdump
need_cmd capinfos
need_cmd python3
R=$BUILD/ringcap-read
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
T0=1764597600

# gen DIR FILES RECORDS INTERLEAVE: FILES pcaps of RECORDS records of 1000
# bytes, each carrying its number (file * RECORDS + record) at byte 60. In a
# row: file k's records are at T0 + k*10ms + j*1us. Interleaved: record j of
# file k is at T0 + (j*FILES + k) us, so every file spans the whole time.
gen() {
	python3 - "$@" <<'EOF'
import struct, sys
d, files, recs, inter = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4] == '1'
t0 = 1764597600 * 10**6
for k in range(files):
    out = bytearray(struct.pack('<IHHiIII', 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
    for j in range(recs):
        us = t0 + ((j * files + k) if inter else (k * 10000 + j))
        frame = bytearray(1000)
        frame[12:14] = b'\x08\x00'
        frame[14] = 0x45
        frame[26:30] = bytes([198, 18, k % 250, 1])
        frame[30:34] = bytes([198, 19, 0, 1])
        frame[60:64] = struct.pack('!I', k * recs + j)
        out += struct.pack('<IIII', us // 10**6, us % 10**6, len(frame), len(frame)) + frame
    with open('%s/f%05d.pcap' % (d, k), 'wb') as f:
        f.write(out)
EOF
}

# check NAME OUT N: N records, numbers 0..N-1 each once, in strict time order
check() {
	local name=$1 out=$2 n=$3
	[ "$(capinfos -c -M "$out" | awk '/Number of packets/ {print $NF}')" -eq "$n" ] ||
		fail "$name: $(capinfos -c -M "$out" | awk '/Number of packets/ {print $NF}') packets, want $n"
	capinfos -o "$out" | grep -q "Strict time order: *True" || fail "$name: not in time order"
	# the record's number: bytes 60..63 of the frame (tcpdump -x prints 16 bytes a line)
	tcpdump -r "$out" -nn -xx 2>/dev/null | awk '/^\t0x0030:/ { print $8 $9 }' | sort >"$dir/got"
	seq 0 $((n - 1)) | xargs printf '%08x\n' | sort >"$dir/want"
	cmp -s "$dir/got" "$dir/want" ||
		fail "$name: the records are not 0..$((n - 1)), each once"
}

mkdir "$dir/row"
gen "$dir/row" 2000 3 0
(ulimit -n 256 && exec "$R" --stats -w "$dir/row.pcap" "$dir/row") 2>"$dir/err" ||
	fail "2,000 files under ulimit -n 256: exit $?: $(grep -v '^[a-z_]* [0-9.-]*$' "$dir/err" | head -3)"
grep -v '^[a-z_]* [0-9.-]*$' "$dir/err" && fail "2,000 files: unexpected messages"
grep -q "^files_opened 2000$" "$dir/err" || fail "2,000 files: $(grep files_ "$dir/err")"
check "2,000 files in a row" "$dir/row.pcap" 6000
# a second run loads the 2,000 indexes it saved
(ulimit -n 256 && exec "$R" --stats -w "$dir/row2.pcap" "$dir/row") 2>"$dir/err" || fail "second run: exit $?"
grep -q "^indexes_loaded 2000$" "$dir/err" || fail "second run: $(grep indexes_ "$dir/err")"
cmp -s "$dir/row.pcap" "$dir/row2.pcap" || fail "second run differs"
echo "ok: 2,000 files under ulimit -n 256: 6,000 records, each once, in time order"

mkdir "$dir/mix"
gen "$dir/mix" 300 12 1
(ulimit -n 64 && exec "$R" --index-chunk 4k -w "$dir/mix.pcap" "$dir/mix") 2>"$dir/err" ||
	fail "300 overlapping files under ulimit -n 64: exit $?: $(head -3 "$dir/err")"
[ -s "$dir/err" ] && fail "300 overlapping files: unexpected messages: $(head -3 "$dir/err")"
check "300 overlapping files" "$dir/mix.pcap" 3600
echo "ok: 300 files overlapping in time (3 chunks each) under ulimit -n 64: 3,600 records, each once, in order"
