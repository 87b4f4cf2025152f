#!/usr/bin/env bash
# --compress zstd on a veth: the file is FILE.zst, zstd's own tools decode it
# to a pcap that tcpdump and capinfos read with exactly the packets ringcap
# says it captured, and its index lies beside FILE.zst; -w - is the same
# stream of frames on standard output; with -C every .zst
# is a stream of its own that decodes alone; after SIGKILL mid-flood the
# file's whole frames (walked by their headers, the torn tail left out)
# decode to whole generator frames.
source "$(dirname "$0")/../lib/testbed.sh"
need_root
need_cmd tcpdump
need_cmd capinfos
need_cmd zstd
need_cmd python3
testbed_start capture_compress
dir=$TMP

# The length of the whole frames at the start of a zstd file (RFC 8878:
# frame header, then blocks until the last one); a torn frame is left out.
whole_frames() { # FILE
	python3 - "$1" <<'EOF'
import sys
b = open(sys.argv[1], 'rb').read()
off = good = 0
while off + 6 <= len(b):
    if int.from_bytes(b[off:off + 4], 'little') != 0xFD2FB528:
        break
    fhd = b[off + 4]
    single = fhd >> 5 & 1
    fcs = [single, 2, 4, 8][fhd >> 6]
    p = off + 5 + (not single) + [0, 1, 2, 4][fhd & 3] + fcs
    last = False
    while not last and p + 3 <= len(b):
        h = int.from_bytes(b[p:p + 3], 'little')
        last, kind, size = h & 1, h >> 1 & 3, h >> 3
        p += 3 + (1 if kind == 1 else size)
    if not last or p > len(b):
        break
    off = good = p
print(good)
EOF
}

# Send N generator frames (GEN-ARGS added), stop ringcap once it accounted for
# them, and set `captured` from its exit lines.
send_and_stop() { # LOG N GEN-ARGS...
	local log=$1 n=$2; shift 2
	in_a "$BUILD/ringcap-gen" -i "$IF_A" -n "$n" --flows 8 --duration 8 -q "$@" ||
		fail "generator"
	wait_accounted "$log" "$n" 5 || true
	ringcap_stop
	[ "$RC_STATUS" -eq 0 ] || fail "exit $RC_STATUS: $(cat "$log")"
	captured=$(counter "$log" "packets captured")
}

# Records in a zstd stream, decoded by zstd's own tool.
zst_records() { # FILE
	zstdcat "$1" | tcpdump -r - -nn 2>/dev/null | wc -l
}

# 1. One file: every packet captured is in the decoded stream.
ringcap_start "$dir/a.log" -i "$IF_B" -w "$dir/t.pcap" -T 1 --compress zstd \
	--stats-json "$dir/a.json" ether src "$MAC_A" || fail "start: $(cat "$dir/a.log")"
send_and_stop "$dir/a.log" 20000 --mix --sizes 60,590,1514 -r 50000
[ -e "$dir/t.pcap" ] && fail "the plain name was written too"
[ -s "$dir/t.pcap.zst" ] || fail "no t.pcap.zst"
[ "$captured" -gt 0 ] || fail "nothing captured"
zstd -q -t "$dir/t.pcap.zst" || fail "zstd -t refuses the closed file"
n=$(zst_records "$dir/t.pcap.zst")
[ "$n" -eq "$captured" ] || fail "decoded stream holds $n records, ringcap captured $captured"
zstdcat "$dir/t.pcap.zst" >"$dir/t.dec.pcap"
capinfos -c -M "$dir/t.dec.pcap" | grep -Eq "Number of packets: +$captured$" ||
	fail "capinfos: $(capinfos -c -M "$dir/t.dec.pcap" 2>&1 | tail -n 2)"
[ -s "$dir/.t.pcap.zst.ridx" ] || fail "no index beside t.pcap.zst"
grep -q "chunks compressed" "$dir/a.log" || fail "no compression line: $(cat "$dir/a.log")"
in_size=$(stat -c %s "$dir/t.dec.pcap")
grep -Eq "\"compress_bytes_in\": *$in_size," "$dir/a.json" ||
	fail "stats: compress_bytes_in is not $in_size: $(grep compress "$dir/a.json")"
out_size=$(stat -c %s "$dir/t.pcap.zst")
grep -Eq "\"compress_bytes_out\": *$out_size," "$dir/a.json" ||
	fail "stats: compress_bytes_out is not $out_size"
grep -Eq "\"bytes_written\": *$out_size," "$dir/a.json" ||
	fail "stats: bytes_written is not the compressed size $out_size"
echo "ok: one file, $captured packets, $in_size bytes in $out_size"

# 2. -w -: a stream of frames on standard output.
ringcap_start "$dir/s.log" -i "$IF_B" -w - -T 1 --compress zstd ether src "$MAC_A" \
	>"$dir/s.zst" || fail "start -w -: $(cat "$dir/s.log")"
send_and_stop "$dir/s.log" 2000 -s 590 -r 40000
n=$(zst_records "$dir/s.zst")
[ "$n" -eq "$captured" ] || fail "-w -: the stream holds $n records, captured $captured"
echo "ok: -w -, $n packets"

# 3. -C: each file decodes alone, and together they hold every packet.
ringcap_start "$dir/c.log" -i "$IF_B" -w "$dir/r.pcap" -T 1 --compress zstd:3 \
	--compress-threads 2 -C 1m ether src "$MAC_A" || fail "start -C: $(cat "$dir/c.log")"
send_and_stop "$dir/c.log" 3000 -s 1514 -r 30000
total=0 files=0
for f in "$dir"/r.pcap*.zst; do
	zstd -q -t "$f" || fail "$f: zstd -t"
	k=$(zst_records "$f")
	[ "$k" -gt 0 ] || fail "$f decodes to no record"
	total=$((total + k)) files=$((files + 1))
done
[ "$files" -ge 3 ] || fail "-C 1m made $files files"
[ "$total" -eq "$captured" ] || fail "-C: the files hold $total records, captured $captured"
echo "ok: -C, $files files, $total packets"

# 4. SIGKILL mid-flood: whole frames decode to whole 1514-byte generator frames.
ringcap_start "$dir/k.log" -i "$IF_B" -w "$dir/k.pcap" -T 1 --compress zstd \
	--flush-interval 100 ether src "$MAC_A" || fail "start kill: $(cat "$dir/k.log")"
ip netns exec "$NS_A" "$BUILD/ringcap-gen" -i "$IF_A" -n 200000 -s 1514 --flows 8 -r 40000 \
	-q --duration 6 2>/dev/null &
gen=$!
for _ in $(seq 100); do
	[ "$(stat -c %s "$dir/k.pcap.zst" 2>/dev/null || echo 0)" -ge 400000 ] && break
	sleep 0.05
done
kill -KILL "$RC_PID"; wait "$RC_PID" 2>/dev/null; RC_PID=
kill "$gen" 2>/dev/null; wait "$gen" 2>/dev/null
good=$(whole_frames "$dir/k.pcap.zst")
[ "$good" -gt 0 ] || fail "no whole frame after SIGKILL"
head -c "$good" "$dir/k.pcap.zst" | zstd -q -d -c >"$dir/k.dec.pcap" ||
	fail "the whole frames do not decode"
errs=$(tcpdump -r "$dir/k.dec.pcap" -nn -q 2>&1 >/dev/null | grep -v '^reading from file' |
	grep -Ev 'truncated dump file; tried to read [0-9]+ (captured|header) bytes, only got')
[ -z "$errs" ] || fail "after SIGKILL: tcpdump: $errs"
n=$(tcpdump -r "$dir/k.dec.pcap" -nn 2>/dev/null | wc -l)
[ "$n" -gt 0 ] || fail "after SIGKILL: no record"
lens=$(tcpdump -r "$dir/k.dec.pcap" -nn -e 2>/dev/null | grep -o 'length [0-9]*:' | sort -u)
[ "$lens" = "length 1514:" ] || fail "after SIGKILL: records other than the frames sent: $lens"
size=$(stat -c %s "$dir/k.dec.pcap")
torn=$((size - 24 - n * 1530))
[ $torn -ge 0 ] && [ $torn -lt 1530 ] || fail "after SIGKILL: $size bytes for $n records"
echo "ok: SIGKILL, $good bytes of whole frames, $n whole records ($torn bytes torn)"
