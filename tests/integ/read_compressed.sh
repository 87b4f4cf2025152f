#!/usr/bin/env bash
# ringcap-read over what a -z command leaves: a folder of .zst and .gz files
# (zstd -q --rm, gzip, one zstd frame per piece) reads as the same records as
# `zstdcat | tcpdump -r -` and `zcat | tcpdump -r -`, in time order, with an
# index beside each compressed file (taken again on the next run). A .zst cut
# short is one line naming the file and the compressed offset; the records
# before it are read. Sends nothing: no namespaces needed.
source "$(dirname "$0")/../lib/testbed.sh"
need_cmd tcpdump
need_cmd python3
need_cmd zstd
need_cmd gzip
R=$BUILD/ringcap-read
GEN="python3 $(dirname "$0")/../lib/pcapgen.py"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
T0=1764597600
run() { timeout -k 2 30 "$R" "$@"; }
recs() { tcpdump -nn -tt -x -r "${1:--}" 2>/dev/null; }

mkdir "$dir/d"
$GEN "$dir/d/t-1.pcap" --start $T0 --count 3000 --seed 1
$GEN "$dir/d/t-2.pcap" --start $((T0 + 10)) --count 3000 --seed 2
$GEN "$dir/d/t-3.pcap" --start $((T0 + 20)) --count 3000 --seed 3
# the oracle, from the plain files, before they are compressed
{ recs "$dir/d/t-1.pcap"; recs "$dir/d/t-2.pcap"; recs "$dir/d/t-3.pcap"; } >"$dir/want"
zstd -q --rm "$dir/d/t-1.pcap"
gzip "$dir/d/t-2.pcap"
# many frames, each with its content size (as the writer's own chunks)
split -b 65536 "$dir/d/t-3.pcap" "$dir/piece."
for p in "$dir"/piece.*; do zstd -q -c "$p"; done >"$dir/d/t-3.pcap.zst"
rm "$dir/d/t-3.pcap" "$dir"/piece.*
{ zstdcat "$dir/d/t-1.pcap.zst" | recs; zcat "$dir/d/t-2.pcap.gz" | recs; zstdcat "$dir/d/t-3.pcap.zst" | recs; } \
	>"$dir/tools"
cmp -s "$dir/want" "$dir/tools" || fail "zstdcat/zcat disagree with the plain files"

run --stats -w "$dir/out.pcap" "$dir/d" 2>"$dir/err" || fail "ringcap-read: exit $?: $(cat "$dir/err")"
recs "$dir/out.pcap" >"$dir/got"
cmp -s "$dir/want" "$dir/got" || fail "records differ from zstdcat/zcat | tcpdump: $(diff "$dir/want" "$dir/got" | head -3)"
grep -q "^indexes_built 3" "$dir/err" || fail "not three indexes built: $(cat "$dir/err")"
for f in t-1.pcap.zst t-2.pcap.gz t-3.pcap.zst; do
	[ -f "$dir/d/.$f.ridx" ] || fail "no index beside $f"
done
echo "ok: a folder of .zst (one frame, 46 frames) and .gz reads as zstdcat/zcat | tcpdump: $(wc -l <"$dir/got") lines"

# the indexes are taken on the next run; a window reads only its part
run --stats --since @$((T0 + 10)) --until @$((T0 + 11)) -w "$dir/win.pcap" "$dir/d" 2>"$dir/err" ||
	fail "window: exit $?"
grep -q "^indexes_loaded 3" "$dir/err" || fail "indexes not loaded: $(cat "$dir/err")"
n=$(tcpdump -r "$dir/win.pcap" 2>/dev/null | wc -l)
want=$(zcat "$dir/d/t-2.pcap.gz" | tcpdump -r - 2>/dev/null "" | wc -l)
[ "$n" -eq 1000 ] || fail "window: $n packets, expected 1000 (of $want in t-2)"
echo "ok: indexes loaded again; a one-second window gives its 1000 packets"

# a .zst cut short: one line with the file and the compressed offset, the
# records before it read
mkdir "$dir/cut"
head -c $(($(stat -c %s "$dir/d/t-3.pcap.zst") / 2)) "$dir/d/t-3.pcap.zst" >"$dir/cut/c.pcap.zst"
run -w "$dir/cut.pcap" "$dir/cut" 2>"$dir/err" || fail "cut: exit $?: $(cat "$dir/err")"
[ "$(grep -c "c.pcap.zst: .*at compressed offset [0-9]" "$dir/err")" -eq 1 ] ||
	fail "cut: not one line naming the file and offset: $(cat "$dir/err")"
n=$(tcpdump -r "$dir/cut.pcap" 2>/dev/null | wc -l)
zstdcat "$dir/cut/c.pcap.zst" 2>/dev/null | tcpdump -r - 2>/dev/null | wc -l >"$dir/n"
[ "$n" -gt 1000 ] && [ "$n" -eq "$(cat "$dir/n")" ] ||
	fail "cut: $n records read, zstdcat | tcpdump reads $(cat "$dir/n")"
echo "ok: a .zst cut in half: $(cat "$dir/err" | head -1 | sed 's/.*: //'); $n records read, as zstdcat"
