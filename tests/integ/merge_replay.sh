#!/usr/bin/env bash
# bench/ringcap-merge feeds 2, 4 and 8 in-memory TPACKET_V3 rings through
# ringcap's real time-order merge and writer. Its packets-per-second figure is
# only worth reading if every packet it feeds comes out, so check, with libpcap
# (tcpdump -r), for 2, 4 and 8 inputs:
#   - the merge and the writer account for every packet (emitted = written =
#     offered, none out of order) and the file holds exactly that many records,
#     each of the frame size asked;
#   - every packet of every input is in the file once, in time order: packet g
#     went to input g mod N stamped T0 + g us, carrying g at byte 42, so the
#     indices read 0..N-1 in file order and the timestamps never go back;
#   - small blocks in a 4-block ring, and a count that leaves the last round
#     part-filled, so rings wrap and the merge's queue fills;
#   - bad arguments: exit 2 and one line naming the value.
# No privileges and no network needed.
source "$(dirname "$0")/../lib/testbed.sh"
need_cmd tcpdump
need_cmd jq
RM=$BUILD/ringcap-merge
[ -x "$RM" ] || fail "$RM not built"
# tmpfs: the check is the file's content, not the disk
dir=$(mktemp -d -p /dev/shm 2>/dev/null || mktemp -d)
trap 'rm -rf "$dir"' EXIT

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

for args in "--inputs 0" "--inputs 65" "--frames 59" "--ring 100k" "--writer nope"; do
	# shellcheck disable=SC2086 # one word per option on purpose
	out=$("$RM" $args 2>&1 >/dev/null); rc=$?
	[ $rc = 2 ] || fail "'$args': exit $rc, want 2"
	[ "$(printf '%s\n' "$out" | wc -l)" = 1 ] || fail "'$args': not one line: $out"
	v=${args#* }
	[[ $out == *"'$v'"* ]] || fail "'$args': the error does not name '$v': $out"
done
echo "ok: bad arguments"
echo "PASS: the merge ceiling program accounts for every packet of 2, 4 and 8 inputs, in time order"
