#!/usr/bin/env bash
# ringcap-read in a capture folder others can write to. An index copied from
# another file beside one of the same size and mtime (touch -r) is not
# trusted: a window holding 300 packets returns all 300. An index whose
# chunks lie (a time range, an address summary) is caught by the first record
# that contradicts it, said once, and the file scanned: nothing is dropped.
# A FIFO named like an index, or given as an input, is named and skipped, not
# waited on (every run under `timeout`); so is a link given as an input.
# Sends nothing: no namespaces needed.
source "$(dirname "$0")/../lib/testbed.sh"
need_cmd tcpdump
need_cmd python3
R=$BUILD/ringcap-read
GEN="python3 $(dirname "$0")/../lib/pcapgen.py"
RIDX="python3 $(dirname "$0")/../lib/ridx.py"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
T0=1764597600
count() { tcpdump -r "$1" -nn "${@:2}" 2>/dev/null | wc -l; }
run() { timeout -k 2 30 "$R" "$@"; } # a hang is a failure, not a stuck suite

# --- another file's index, copied beside a file of the same size and mtime
mkdir "$dir/copy"
$GEN "$dir/copy/a.pcap" --start $T0 --count 300 --seed 5 --net4 0
$GEN "$dir/copy/b.pcap" --start $((T0 + 3600)) --count 300 --seed 5 --net4 8
[ "$(stat -c %s "$dir/copy/a.pcap")" -eq "$(stat -c %s "$dir/copy/b.pcap")" ] || fail "a and b differ in size"
run "$dir/copy/a.pcap" >/dev/null 2>&1 || fail "indexing a"
cp "$dir/copy/.a.pcap.ridx" "$dir/copy/.b.pcap.ridx"
touch -r "$dir/copy/a.pcap" "$dir/copy/b.pcap"
run --stats --since @$((T0 + 3600)) --until @$((T0 + 3601)) -w "$dir/out.pcap" "$dir/copy/b.pcap" \
	2>"$dir/err" || fail "copied index: exit $?: $(cat "$dir/err")"
[ "$(count "$dir/out.pcap")" -eq 300 ] || fail "copied index: $(count "$dir/out.pcap") of 300 packets"
grep -q "^indexes_built 1" "$dir/err" || fail "copied index taken as b's: $(cat "$dir/err")"
echo "ok: another file's index copied beside b (same size, touch -r): rebuilt, 300 of 300 packets"

# --- a lying chunk: its time range
mkdir "$dir/lie"
$GEN "$dir/lie/t.pcap" --start $T0 --count 2000 --seed 6
run --index-chunk 64k "$dir/lie/t.pcap" >/dev/null 2>&1 || fail "indexing t"
ix=$dir/lie/.t.pcap.ridx
[ "$($RIDX "$ix" chunks | wc -l)" -ge 6 ] || fail "want 6 chunks or more: $($RIDX "$ix" chunks)"
# chunk 1 claims one instant (its first), chunk 2 a time before the window
min1=$($RIDX "$ix" chunks | awk '$1 == 1 { print $4 }')
$RIDX "$ix" time 1 "$min1" "$min1"
$RIDX "$ix" time 2 $(((T0 - 100) * 1000000000)) $(((T0 - 99) * 1000000000))
run --stats --since @$T0 -w "$dir/out.pcap" "$dir/lie/t.pcap" 2>"$dir/err" || fail "time lie: exit $?"
[ "$(count "$dir/out.pcap")" -eq 2000 ] || fail "time lie: $(count "$dir/out.pcap") of 2000 packets: $(cat "$dir/err")"
[ "$(grep -c "t.pcap: record at offset [0-9]* contradicts its index" "$dir/err")" -eq 1 ] ||
	fail "time lie not said once: $(cat "$dir/err")"
capinfos -o "$dir/out.pcap" | grep -q "Strict time order: *True" || fail "time lie: not in time order"
echo "ok: a chunk whose time range lies: said once, the file scanned, 2000 of 2000 packets in order"

# --- a lying chunk: its address summary. Chunk 1 forgets one of its sources,
# chunk 2 the destination every IPv4 packet has (a query for it skips chunk 2)
run --reindex --index-chunk 64k "$dir/lie/t.pcap" >/dev/null 2>&1 || fail "reindexing t"
dst=198.19.0.1
src1=$($RIDX "$ix" addrs4 1 | grep -v "^$dst\$" | head -1)
[ -n "$src1" ] || fail "chunk 1 has no other address"
$RIDX "$ix" drop4 1 "$src1"
$RIDX "$ix" drop4 2 "$dst"
want=$(count "$dir/lie/t.pcap" host $dst)
run --stats -w "$dir/out.pcap" "$dir/lie/t.pcap" host $dst 2>"$dir/err" || fail "address lie: exit $?"
[ "$(count "$dir/out.pcap")" -eq "$want" ] ||
	fail "address lie: $(count "$dir/out.pcap") of $want packets: $(cat "$dir/err")"
[ "$(grep -c "t.pcap: record at offset [0-9]* contradicts its index" "$dir/err")" -eq 1 ] ||
	fail "address lie not said once: $(cat "$dir/err")"
# the index was rebuilt and saved: the next run trusts it, says nothing
run --stats -w "$dir/out2.pcap" "$dir/lie/t.pcap" host $dst 2>"$dir/err" || fail "after: exit $?"
grep -q contradicts "$dir/err" && fail "the rebuilt index still lies: $(cat "$dir/err")"
cmp -s "$dir/out.pcap" "$dir/out2.pcap" || fail "the second run differs"
echo "ok: a chunk whose address summary lies: said once, the file scanned, $want of $want packets"

# --- a FIFO named like an index, and as an input; a link as an input
mkdir "$dir/fifo"
$GEN "$dir/fifo/f.pcap" --start $T0 --count 100 --seed 7
mkfifo "$dir/fifo/.f.pcap.ridx" "$dir/in.fifo" "$dir/fifo/g.pcap"
ln -s "$dir/fifo/f.pcap" "$dir/link.pcap"
run --stats -w "$dir/out.pcap" "$dir/fifo/f.pcap" 2>"$dir/err"
rc=$?
[ $rc -eq 0 ] || fail "FIFO as index: exit $rc (124: it waited on the FIFO): $(cat "$dir/err")"
[ "$(count "$dir/out.pcap")" -eq 100 ] || fail "FIFO as index: $(count "$dir/out.pcap") of 100"
[ "$(grep -c "f.pcap: its index's name holds no regular file" "$dir/err")" -eq 1 ] ||
	fail "FIFO as index not named: $(cat "$dir/err")"
[ -f "$dir/fifo/.f.pcap.ridx" ] && [ ! -p "$dir/fifo/.f.pcap.ridx" ] || fail "the FIFO index was not replaced"
echo "ok: a FIFO at the index's name: named, not waited on, replaced by an index"

rm "$dir/fifo/.f.pcap.ridx"
run -w "$dir/out.pcap" "$dir/fifo/f.pcap" "$dir/in.fifo" "$dir/link.pcap" -- 2>"$dir/err"
rc=$?
[ $rc -eq 0 ] || fail "FIFO as input: exit $rc (124: it waited on the FIFO): $(cat "$dir/err")"
[ "$(count "$dir/out.pcap")" -eq 100 ] || fail "FIFO as input: $(count "$dir/out.pcap") of 100"
grep -q "'$dir/in.fifo' is not a regular file" "$dir/err" || fail "FIFO input not named: $(cat "$dir/err")"
grep -q "'$dir/link.pcap' is not a regular file" "$dir/err" || fail "link input not named: $(cat "$dir/err")"
[ "$(wc -l <"$dir/err")" -eq 2 ] || fail "one line each: $(cat "$dir/err")"
run -w "$dir/out.pcap" "$dir/fifo" 2>"$dir/err" || fail "FIFO in a folder: exit $?: $(cat "$dir/err")"
[ "$(count "$dir/out.pcap")" -eq 100 ] || fail "FIFO in a folder: $(count "$dir/out.pcap") of 100"
grep -q "g.pcap' is not a regular file" "$dir/err" || fail "FIFO in a folder not named: $(cat "$dir/err")"
echo "ok: a FIFO or a link as an input, a FIFO in a folder: named once, skipped, not waited on"
