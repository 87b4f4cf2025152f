#!/usr/bin/env bash
# ringcap-read over a writer-made .zst (ringcap-replay feeds ringcap's writer
# with --compress) whose middle frame is corrupt: every frame states its
# content size, so the frames after the bad one still decode; the index scan
# goes on at the first record boundary after it. ringcap-read returns the
# records before and after the bad frame (all of the stream's records but
# those that touch the bad frame's bytes, as zstdcat of the whole file made
# them before the damage), says the damage in one line naming the file and
# the compressed offset, and exits 0. Sends nothing: no namespaces needed.
source "$(dirname "$0")/../lib/testbed.sh"
need_cmd tcpdump
need_cmd python3
need_cmd zstd
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
recs() { tcpdump -nn -tt -x -r "$1" 2>/dev/null; }

mkdir "$dir/d"
"$BUILD/ringcap-replay" --handler writer --frames 600 --packets 8000 --compress zstd --payload text \
	--writer pwrite -w "$dir/d/t.pcap" >"$dir/replay.json" || fail "ringcap-replay failed"
[ -f "$dir/d/t.pcap.zst" ] || fail "no t.pcap.zst: $(ls -la "$dir/d")"
zstdcat "$dir/d/t.pcap.zst" >"$dir/full.pcap" || fail "zstdcat of the whole file"
rm -f "$dir/d/".*.ridx
coff=$(python3 "$(dirname "$0")/../lib/zst_corrupt.py" "$dir/d/t.pcap.zst" "$dir/full.pcap" \
	"$dir/want.pcap") || fail "could not corrupt a middle frame"
zstd -q -t "$dir/d/t.pcap.zst" 2>/dev/null && fail "the corrupt frame still decodes"

timeout -k 2 30 "$BUILD/ringcap-read" -w "$dir/got.pcap" "$dir/d" 2>"$dir/err" ||
	fail "ringcap-read: exit $?: $(cat "$dir/err")"
[ "$(grep -c "t.pcap.zst: .*at compressed offset $coff\b" "$dir/err")" -eq 1 ] ||
	fail "not one line naming the file and offset $coff: $(cat "$dir/err")"
recs "$dir/want.pcap" >"$dir/want"
recs "$dir/got.pcap" >"$dir/got"
all=$(pcap_count "$dir/full.pcap") || fail "full: $all"
want=$(pcap_count "$dir/want.pcap") || fail "oracle: $want"
got=$(pcap_count "$dir/got.pcap") || fail "read: $got"
[ "$want" -lt "$all" ] && [ "$want" -gt $((all / 2)) ] || fail "oracle: $want of $all records"
cmp -s "$dir/want" "$dir/got" ||
	fail "read $got records, want $want of $all: $(diff "$dir/want" "$dir/got" | head -3 | cut -c1-120)"
echo "ok: a corrupt middle frame at $coff: $got of $all records read, before and after it"

# the index built over the gap is saved and taken again as it is
timeout -k 2 30 "$BUILD/ringcap-read" --stats -w "$dir/again.pcap" "$dir/d" 2>"$dir/err2" ||
	fail "second read: exit $?: $(cat "$dir/err2")"
grep -q "^indexes_loaded 1" "$dir/err2" || fail "the index was not taken again: $(cat "$dir/err2")"
recs "$dir/again.pcap" | cmp -s - "$dir/want" || fail "the second read differs"
echo "ok: the index over the gap is taken again, the same records read"
