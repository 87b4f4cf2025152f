#!/usr/bin/env bash
# bench/ringcap-replay drives ringcap's real worker and writer with V3 blocks a
# thread writes the way the kernel does. Its figures are only worth reading if
# the pipeline it drives is right, so check, with libpcap (tcpdump -r):
#   - paced well within reach: kept + dropped = offered, and the file holds
#     exactly the kept frames, each once, in order (one worker), byte for byte
#     as the template (rising indices at byte 42). Whether a starved consumer
#     drops at this rate is the machine's business and the bench's question,
#     not this test's: it checks what the pipeline did with what it took;
#   - flat out: kept + dropped = offered, and the file holds exactly "kept";
#   - the bare counting loop accounts for every frame too;
#   - the writer fed from memory by one thread (the bench's writer line): the
#     file holds every record, of the size asked, and the bytes it reports;
#   - bad arguments: exit 2 and one line naming the value.
# No privileges and no network needed.
source "$(dirname "$0")/../lib/testbed.sh"
need_cmd tcpdump
need_cmd jq
RP=$BUILD/ringcap-replay
[ -x "$RP" ] || fail "$RP not built"
# tmpfs: the check is the file's content, and a shared disk's stalls would
# make the paced run drop (the bench measures the disk, not this test)
dir=$(mktemp -d -p /dev/shm 2>/dev/null || mktemp -d)
trap 'rm -rf "$dir"' EXIT

# 1. paced: 20,000 frames of 1514 bytes at 20,000/s (slow enough for a
#    sanitizer build) through 256 KiB blocks,
#    so the ring wraps (a 16 MiB ring of 64 blocks holds ~10,400 frames).
"$RP" --handler pcap --frames 1514 --packets 20000 --rate 20000 --block-size 256k \
	--ring 16m --staging 8m -w "$dir/paced.pcap" >"$dir/paced.json" || fail "paced run failed"
cat "$dir/paced.json"
[ "$(jq .offered "$dir/paced.json")" = 20000 ] || fail "offered is not 20000"
kept=$(jq .kept "$dir/paced.json") dropped=$(jq .dropped "$dir/paced.json")
[ $((kept + dropped)) = 20000 ] || fail "kept $kept + dropped $dropped != 20000"
[ "$kept" -gt 0 ] || fail "kept nothing"
n=$(pcap_count "$dir/paced.pcap") || fail "libpcap complains: $n"
[ "$n" = "$kept" ] || fail "file holds $n records, report says $kept"
# every record is 1514 bytes; byte 42..49 is the index, in order
pcap_hexlines "$dir/paced.pcap" >"$dir/paced.hex"
awk '{ if (length($0) != 3028) { print "record " NR " is " length($0) / 2 " bytes"; exit 1 } }' \
	"$dir/paced.hex" || fail "a record has the wrong length"
# the indices rise (each frame once, in order); with nothing dropped they are
# exactly 0..19999
# (16 hex digits, fixed width: string order is numeric order; 19999 = 4e1f)
cut -c85-100 "$dir/paced.hex" | awk '{ v = "" $0; if ((NR > 1 && v <= last) || v > "0000000000004e1f") exit 1;
	last = v }' || fail "frame indices do not rise within 0..19999"
if [ "$dropped" = 0 ]; then
	cut -c85-100 "$dir/paced.hex" >"$dir/idx.hex"
	awk '{ printf "%016x\n", NR - 1 }' "$dir/paced.hex" | cmp -s - "$dir/idx.hex" ||
		fail "frame indices are not 0..19999 in order"
fi
# apart from the index, every frame is the same template
u=$(awk '{ print substr($0, 1, 84) substr($0, 101) }' "$dir/paced.hex" | sort -u | wc -l)
[ "$u" = 1 ] || fail "$u different frame bodies, want 1"
echo "ok: paced, $kept of 20000 frames kept ($dropped dropped), each once, in order"

# 2. flat out, small frames: whatever the worker cannot take is counted
"$RP" --handler pcap --frames 60 --packets 300000 -w "$dir/max.pcap" >"$dir/max.json" ||
	fail "flat-out run failed"
cat "$dir/max.json"
kept=$(jq .kept "$dir/max.json") dropped=$(jq .dropped "$dir/max.json")
[ $((kept + dropped)) = 300000 ] || fail "kept $kept + dropped $dropped != 300000"
n=$(pcap_count "$dir/max.pcap") || fail "libpcap complains: $n"
[ "$n" = "$kept" ] || fail "file holds $n records, report says $kept"
echo "ok: flat out, kept $kept + dropped $dropped = offered"

# 3. the bare loop
"$RP" --handler count --packets 100000 --rate 200000 >"$dir/count.json" || fail "count run failed"
cat "$dir/count.json"
[ "$(jq .kept "$dir/count.json")" = 100000 ] || fail "bare loop kept $(jq .kept "$dir/count.json")"
echo "ok: bare loop counted every frame"

# 4. the writer alone, one appending thread: 30,001 records of 100 bytes
"$RP" --handler writer --frames 100 --packets 30001 -w "$dir/writer.pcap" \
	>"$dir/writer.json" || fail "writer run failed"
cat "$dir/writer.json"
[ "$(jq .packets "$dir/writer.json")" = 30001 ] || fail "writer handler wrote $(jq .packets "$dir/writer.json") packets"
[ "$(jq .bytes "$dir/writer.json")" = "$(stat -c %s "$dir/writer.pcap")" ] || fail "bytes is not the file's size"
n=$(pcap_count "$dir/writer.pcap") || fail "libpcap complains: $n"
[ "$n" = 30001 ] || fail "file holds $n records, want 30001"
pcap_hexlines "$dir/writer.pcap" | awk 'length($0) != 200 { exit 1 }' || fail "a record is not 100 bytes"
echo "ok: writer handler, 30001 records"

# 5. bad arguments
for args in "--frames 59" "--rate fast" "--handler nope" "--block-size 100k" "--cpu 4096"; do
	# shellcheck disable=SC2086 # one word per option on purpose
	out=$("$RP" $args 2>&1 >/dev/null); rc=$?
	[ $rc = 2 ] || fail "'$args': exit $rc, want 2"
	[ "$(printf '%s\n' "$out" | wc -l)" = 1 ] || fail "'$args': not one line: $out"
	v=${args#* }
	[[ $out == *"'$v'"* ]] || fail "'$args': the error does not name '$v': $out"
done
echo "ok: bad arguments"
