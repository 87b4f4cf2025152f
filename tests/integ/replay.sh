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
#   - bench/ringcap-merge, 2, 4 and 8 in-memory rings through the real
#     time-order merge and writer: the merge and the writer account for every
#     packet (emitted = written = offered, none out of order), and every packet
#     of every input is in the file once, in time order: packet g went to input
#     g mod N stamped T0 + g us carrying g at byte 42, so the indices read
#     0..N-1 in file order and the timestamps never go back; small blocks in a
#     4-block ring and a count that leaves the last round part-filled, so rings
#     wrap and the merge's queues fill;
#   - bad arguments (both programs): exit 2 and one line naming the value.
# No privileges and no network needed.
source "$(dirname "$0")/../lib/testbed.sh"
need_cmd tcpdump
need_cmd jq
RP=$BUILD/ringcap-replay RM=$BUILD/ringcap-merge
[ -x "$RP" ] || fail "$RP not built"
[ -x "$RM" ] || fail "$RM not built"
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

# 5. the merge ceiling program: 2, 4 and 8 inputs
N=30011
for n in 2 4 8; do
	"$RM" --inputs "$n" --frames 100 --packets $N --block-size 64k --ring 256k --staging 4m \
		-w "$dir/m$n.pcap" >"$dir/m$n.json" || fail "$n inputs: ringcap-merge failed"
	cat "$dir/m$n.json"
	for k in emitted written; do
		[ "$(jq .$k "$dir/m$n.json")" = $N ] || fail "$n inputs: $k is $(jq .$k "$dir/m$n.json"), want $N"
	done
	[ "$(jq .out_of_order "$dir/m$n.json")" = 0 ] || fail "$n inputs: packets out of order"
	[ "$(jq .file_bytes "$dir/m$n.json")" = "$(stat -c %s "$dir/m$n.pcap")" ] ||
		fail "$n inputs: file_bytes is not the file's size"
	c=$(pcap_count "$dir/m$n.pcap") || fail "$n inputs: libpcap complains: $c"
	[ "$c" = $N ] || fail "$n inputs: the file holds $c records, want $N"
	pcap_hexlines "$dir/m$n.pcap" >"$dir/m$n.hex"
	awk 'length($0) != 200 { print "record " NR " is " length($0) / 2 " bytes"; exit 1 }' "$dir/m$n.hex" ||
		fail "$n inputs: a record is not 100 bytes"
	cut -c85-100 "$dir/m$n.hex" >"$dir/idx$n.hex"
	awk '{ printf "%016x\n", NR - 1 }' "$dir/m$n.hex" | cmp -s - "$dir/idx$n.hex" ||
		fail "$n inputs: the indices are not 0..$((N - 1)) in file order (a packet lost, repeated or out of order)"
	tcpdump -r "$dir/m$n.pcap" -nn -tt -q 2>/dev/null | awk '
		{ split($1, t, "."); us = t[1] * 1000000 + t[2]; if (NR > 1 && us < last) { print "record " NR " goes back in time"; exit 1 } last = us }' ||
		fail "$n inputs: the timestamps go back"
	echo "ok: $n inputs, $N packets, each once, in time order"
done

# 6. bad arguments
for args in "RP --frames 59" "RP --rate fast" "RP --handler nope" "RP --block-size 100k" "RP --cpu 4096" \
	"RM --inputs 0" "RM --inputs 65" "RM --frames 59" "RM --ring 100k" "RM --writer nope"; do
	name=${args%% *} args=${args#* }
	prog=${!name}
	# shellcheck disable=SC2086 # one word per option on purpose
	out=$("$prog" $args 2>&1 >/dev/null); rc=$?
	[ $rc = 2 ] || fail "'$args': exit $rc, want 2"
	[ "$(printf '%s\n' "$out" | wc -l)" = 1 ] || fail "'$args': not one line: $out"
	v=${args#* }
	[[ $out == *"'$v'"* ]] || fail "'$args': the error does not name '$v': $out"
done
echo "ok: bad arguments"
