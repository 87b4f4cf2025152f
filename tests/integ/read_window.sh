#!/usr/bin/env bash
# ringcap-read against the ecosystem's own pipeline. Capture files with known
# timestamps and addresses (198.18.0.0/15, 2001:2::/48) in ringcap's rotation
# names: overlapping in time (interleaved across files), shuffled inside each
# file (out of order), one nanosecond and big-endian, one made by tcpdump, one
# with a torn last record. For each window and expression, ringcap-read's
# output must hold exactly the records of
#   mergecap -w - FILES | editcap -A START -B STOP - - | tcpdump -r - EXPR
# (a multiset: tcpdump -tt -xx lines, sorted) and be in time order (capinfos
# -o). Address queries must skip chunks (--stats); bad input exits 2 with one
# line and creates nothing. Sends nothing: no namespaces needed.
source "$(dirname "$0")/../lib/testbed.sh"
need_cmd tcpdump
need_cmd mergecap
need_cmd editcap
need_cmd capinfos
need_cmd python3
R=$BUILD/ringcap-read
GEN="python3 $(dirname "$0")/../lib/pcapgen.py"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cap=$dir/cap; ref=$dir/ref
mkdir -p "$cap" "$ref"

# editcap's window on this version: -A inclusive, -B exclusive (checked here,
# since the comparison relies on it)
$GEN "$dir/sem.pcap" --start 1764597600 --count 10 --step-us 1000
n=$(editcap -A 1764597600.002 -B 1764597600.005 "$dir/sem.pcap" - | tcpdump -r - -nn -tt 2>/dev/null |
	awk '{print $1}' | tr '\n' ' ')
[ "$n" = "1764597600.002000 1764597600.003000 1764597600.004000 " ] || fail "editcap -A/-B semantics: $n"

T0=1764597600
# -C names: c.pcap, c.pcap1, c.pcap2, c.pcap3; each ~4 MB (4 index chunks), 2.5 s of
# traffic starting 2 s after the one before: neighbours overlap for 0.5 s.
$GEN "$cap/c.pcap"  --start $T0       --count 5000 --step-us 500 --shuffle 40 --net4 0 --seed 1
$GEN "$cap/c.pcap1" --start $((T0+2)).0001 --count 5000 --step-us 500 --shuffle 300 --net4 8 --seed 2 --nano --swap
$GEN "$dir/t.pcap"  --start $((T0+4)).0002 --count 5000 --step-us 500 --net4 16 --seed 3
tcpdump -r "$dir/t.pcap" -w "$cap/c.pcap2" 2>/dev/null || fail "tcpdump could not rewrite a file"
$GEN "$cap/c.pcap3" --start $((T0+6)).0003 --count 5000 --step-us 500 --shuffle 7 --net4 24 --seed 4 --torn
# the reference side reads the torn file's whole records (mergecap stops at the tear)
for f in c.pcap c.pcap1 c.pcap2; do cp "$cap/$f" "$ref/$f"; done
tcpdump -r "$cap/c.pcap3" -w "$ref/c.pcap3" 2>/dev/null
[ "$(tcpdump -r "$ref/c.pcap3" 2>/dev/null | wc -l)" -eq 4999 ] || fail "torn copy"

lines() { # FILE-or-- [expr...]: one line per record, time and bytes, sorted
	local f=$1; shift
	tcpdump -r "$f" -nn -tt --time-stamp-precision=nano -xx "$@" 2>/dev/null | awk '
		/^\t0x[0-9a-f]+:/ { sub(/^\t0x[0-9a-f]+:[ ]+/, ""); gsub(/ /, ""); cur = cur $0; next }
		{ if (started) print cur; cur = $1 " "; started = 1 }
		END { if (started) print cur }' | sort
}
want() { # START STOP [expr...] (START/STOP epoch seconds, "" for open)
	local a=$1 b=$2; shift 2
	local args=()
	[ -n "$a" ] && args+=(-A "$a")
	[ -n "$b" ] && args+=(-B "$b")
	mergecap -w - "$ref"/c.pcap* 2>/dev/null | editcap "${args[@]}" - - | lines - "$@"
}
stat_of() { awk -v k="$1" '$1 == k { print $2 }' "$dir/stats"; }

# check NAME START STOP [expr...]: ringcap-read --since @START --until @STOP equals the pipeline
check() {
	local name=$1 a=$2 b=$3; shift 3
	local args=()
	[ -n "$a" ] && args+=(--since "@$a")
	[ -n "$b" ] && args+=(--until "@$b")
	"$R" --stats "${args[@]}" -w "$dir/out.pcap" "$cap" "$@" 2>"$dir/stats" ||
		fail "$name: exit $?: $(cat "$dir/stats")"
	lines "$dir/out.pcap" >"$dir/got"
	want "$a" "$b" "$@" >"$dir/want"
	cmp -s "$dir/got" "$dir/want" ||
		fail "$name: $(wc -l <"$dir/got") records, the pipeline has $(wc -l <"$dir/want"); first difference: $(diff "$dir/got" "$dir/want" | head -3)"
	capinfos -o "$dir/out.pcap" | grep -q "Strict time order: *True" || fail "$name: not in time order"
	[ "$(stat_of records_written)" -eq "$(wc -l <"$dir/want")" ] || fail "$name: records_written"
	echo "ok: $name: $(wc -l <"$dir/want") records, chunks skipped by time $(stat_of chunks_skipped_time), by address $(stat_of chunks_skipped_addr)"
}

# first run: every index built (and the torn record reported once, by name and offset)
check "everything, indexes built" "" ""
[ "$(stat_of indexes_built)" -eq 4 ] || fail "indexes built: $(stat_of indexes_built)"
torn_size=$(stat -c %s "$cap/c.pcap3")
grep -c "c.pcap3: record at offset [0-9]* is torn" "$dir/stats" | grep -qx 1 || fail "no torn warning: $(cat "$dir/stats")"
good=$(stat -c %s "$ref/c.pcap3")
grep -q "offset $good is torn" "$dir/stats" || fail "torn warning names the wrong offset (whole records end at $good of $torn_size)"
[ -f "$cap/.c.pcap.ridx" ] || fail "no index beside c.pcap"
[ "$(capinfos -c -M "$dir/out.pcap" | awk '/Number of packets/ {print $NF}')" -eq 19999 ] || fail "count"
capinfos -t "$dir/out.pcap" | grep -q nanosecond || fail "output not nanosecond with a nanosecond input"

check "everything, indexes loaded" "" ""
[ "$(stat_of indexes_loaded)" -eq 4 ] && [ "$(stat_of indexes_built)" -eq 0 ] || fail "second run rebuilt"

check "inside one file" $((T0)).3 $((T0+1)).1
[ "$(stat_of files_opened)" -eq 1 ] || fail "inside one file: opened $(stat_of files_opened) files"
[ "$(stat_of chunks_skipped_time)" -gt 8 ] || fail "inside one file: time skipped too little"
check "across a rotation boundary" $((T0+1)).9 $((T0+2)).75
check "across three files" $((T0+2)).3 $((T0+6)).2
check "at the first record" $T0 $T0.0001
[ "$(stat_of records_written)" -eq 1 ] || fail "the first record alone"
# c.pcap3's last whole record (4998 of 0..4999) is at T0+6.0003+4998*0.0005
check "at the last record" $((T0+8)).4993 $((T0+9))
[ "$(stat_of records_written)" -eq 1 ] || fail "the last record alone"
check "up to the last record (exclusive)" $((T0+8)) $((T0+8)).4993
[ "$(stat_of records_written)" -eq 998 ] || fail "up to the last record: $(stat_of records_written)"
check "host in a window, skips chunks" $((T0+2)) $((T0+5)) host 198.18.9.1
[ "$(stat_of chunks_skipped_addr)" -gt 0 ] || fail "host query skipped no chunk"
check "host anywhere" "" "" src host 198.18.17.1 and udp
[ "$(stat_of chunks_skipped_addr)" -gt 5 ] || fail "host anywhere skipped $(stat_of chunks_skipped_addr)"
[ "$(stat_of bytes_read)" -lt $(( $(du -cb "$cap"/c.pcap* | tail -1 | cut -f1) / 2 )) ] ||
	fail "host query read $(stat_of bytes_read) bytes"
# options before, between and after the paths and the expression: one parse;
# after "--" they are the expression's words
"$R" -w "$dir/order1.pcap" -c 50 "$cap" src host 198.18.17.1 and udp ||
	fail "options first: exit $?"
"$R" "$cap" src host 198.18.17.1 -c 50 and udp -w "$dir/order2.pcap" 2>"$dir/err" ||
	fail "options among the words: exit $?: $(cat "$dir/err")"
[ "$(capinfos -c -M "$dir/order1.pcap" | awk '/Number of packets/ {print $NF}')" -eq 50 ] ||
	fail "options first: not 50 records"
cmp -s "$dir/order1.pcap" "$dir/order2.pcap" || fail "options among the words: another result"
"$R" "$cap" -- src host 198.18.17.1 and udp -c 50 -w "$dir/order3.pcap" 2>"$dir/err" >/dev/null
rc=$?
[ $rc -eq 2 ] && grep -qF -- "udp -c 50 -w" "$dir/err" && [ ! -e "$dir/order3.pcap" ] ||
	fail "options after --: exit $rc: $(cat "$dir/err")"
echo "ok: options among the words are options; after -- they are the expression's"
check "ipv6 host" "" "" host 2001:2::3
check "ipv6 net and more" $((T0+1)) $((T0+7)) net 2001:2::/48 and not vlan
check "arp for a host (not skipped wrongly)" "" "" arp and host 198.18.26.1
check "or: no address skipping" "" "" host 198.18.1.1 or host 198.18.25.1
[ "$(stat_of chunks_skipped_addr)" -eq 0 ] || fail "'or' used the address summary"
check "not: no address skipping" $((T0+3)) $((T0+4)) not host 198.18.9.1
[ "$(stat_of chunks_skipped_addr)" -eq 0 ] || fail "'not' used the address summary"
check "vlan and host" "" "" vlan and host 198.18.2.1
check "a host seen only behind a tag" "" "" vlan and host 198.18.10.2
[ "$(stat_of records_written)" -gt 0 ] && [ "$(stat_of chunks_skipped_addr)" -gt 0 ] || fail "tagged host"
check "expression only" "" "" udp and greater 1000
check "after -- " $((T0+5)) $((T0+6)) -- ip6

# empty window: a valid pcap of its header only, exit 0
"$R" --since @$((T0-100)) --until @$((T0-50)) -w "$dir/empty.pcap" "$cap" || fail "empty window exit $?"
[ "$(stat -c %s "$dir/empty.pcap")" -eq 24 ] || fail "empty window: $(stat -c %s "$dir/empty.pcap") bytes"
[ "$(pcap_count "$dir/empty.pcap")" = 0 ] || fail "empty window not a valid empty pcap"
"$R" "$cap" host 198.18.200.1 | tcpdump -r - -nn 2>/dev/null | wc -l | grep -qx 0 || fail "no match"
echo "ok: empty window and no match give a header-only pcap"

# standard output, -c, the relative form, RFC 3339
"$R" -c 7 --since 2025-12-01T15:00:02+01:00 --until -1s "$cap" | lines - >"$dir/got"
want $((T0+2)) "" | sort -k1,1n | head -7 | sort >"$dir/want"
cmp -s "$dir/got" "$dir/want" || fail "-c 7 to standard output: $(diff "$dir/got" "$dir/want" | head -3)"
echo "ok: -c 7, RFC 3339 with an offset, relative --until, standard output"

# index lifecycle: one removed is rebuilt, --reindex rebuilds all, a corrupt one is rebuilt
rm "$cap/.c.pcap1.ridx"
check "one index removed" $((T0+2)) $((T0+3))
[ "$(stat_of indexes_built)" -eq 1 ] && [ "$(stat_of indexes_loaded)" -eq 3 ] || fail "rebuilt $(stat_of indexes_built)"
printf 'garbage' | dd of="$cap/.c.pcap2.ridx" bs=1 seek=300 conv=notrunc 2>/dev/null
check "corrupt index" $((T0+4)) $((T0+5))
[ "$(stat_of indexes_built)" -eq 1 ] || fail "corrupt index not rebuilt"
"$R" --reindex --stats "$cap" >/dev/null 2>"$dir/stats"
[ "$(stat_of indexes_built)" -eq 4 ] || fail "--reindex built $(stat_of indexes_built)"
echo "ok: removed, corrupt and --reindex'd indexes rebuilt"

# a file that grows: indexed when torn, then extended by its tail only
$GEN "$dir/big.pcap" --start $((T0+20)) --count 3000 --step-us 700 --net4 40 --seed 9
mkdir "$dir/grow"
head -c 1000000 "$dir/big.pcap" >"$dir/grow/g.pcap"
"$R" --stats "$dir/grow" 2>"$dir/stats" | lines - >"$dir/got"
[ "$(stat_of indexes_built)" -eq 1 ] || fail "grow: first index"
cat "$dir/big.pcap" >"$dir/grow/g.pcap"
"$R" --stats "$dir/grow" 2>"$dir/stats" | lines - >"$dir/got"
lines "$dir/big.pcap" >"$dir/want"
[ "$(stat_of indexes_extended)" -eq 1 ] || fail "grown file not extended: $(cat "$dir/stats")"
[ "$(stat_of bytes_read)" -lt $(( $(stat -c %s "$dir/big.pcap") * 2 - 500000 )) ] || fail "extension reread the file"
cmp -s "$dir/got" "$dir/want" || fail "grown file's records"
echo "ok: a grown file's index is extended, not rebuilt"

# a directory where no index can be written: kept in memory, same records.
# Root writes through permissions, so the directory is made immutable instead.
rm -f "$dir/grow/.g.pcap.ridx"
if chattr +i "$dir/grow" 2>/dev/null; then
	trap 'chattr -i "$dir/grow" 2>/dev/null; rm -rf "$dir"' EXIT
	"$R" --stats "$dir/grow" 2>"$dir/stats" | lines - >"$dir/got"
	chattr -i "$dir/grow"
	cmp -s "$dir/got" "$dir/want" || fail "in-memory index: records"
	[ "$(stat_of indexes_in_memory)" -eq 1 ] && [ ! -e "$dir/grow/.g.pcap.ridx" ] ||
		fail "unwritable directory: in memory $(stat_of indexes_in_memory)"
	echo "ok: an index that cannot be written is kept in memory"
else
	echo "note: chattr +i not supported here; the in-memory index case is not run"
fi

# bad input: exit 2, one line naming the value, no output file
bad() { # WHAT NEEDLE args...
	local what=$1 needle=$2; shift 2
	rm -f "$dir/never.pcap"
	"$R" -w "$dir/never.pcap" "$@" 2>"$dir/err" >/dev/null
	local rc=$?
	[ $rc -eq 2 ] || fail "$what: exit $rc"
	[ "$(wc -l <"$dir/err")" -eq 1 ] || fail "$what: $(wc -l <"$dir/err") lines: $(cat "$dir/err")"
	grep -qF -- "$needle" "$dir/err" || fail "$what: '$(cat "$dir/err")' does not name '$needle'"
	[ ! -e "$dir/never.pcap" ] || fail "$what: left an output file"
	echo "ok: $what: $(cat "$dir/err")"
}
bad "bad --since" "2026-13-01T00:00:00Z" --since 2026-13-01T00:00:00Z "$cap"
bad "bad --until" "-15q" --until -15q "$cap"
bad "unreadable path" "$dir/nope/c.pcap" "$dir/nope/c.pcap"
bad "missing path before --" "nope.pcap" "$cap" nope.pcap -- host 198.18.0.1
bad "no paths" "no capture files" host 198.18.0.1
bad "not a pcap" "$dir/stats" "$dir/stats"
$GEN "$dir/raw.pcap" --start $T0 --count 10 --linktype raw
bad "mixed link types" "mixed link types" "$cap/c.pcap" "$dir/raw.pcap"
bad "bad expression" "hots 198.18.0.1" "$cap" hots 198.18.0.1
bad "bad count" "'0'" -c 0 "$cap"
bad "unknown option" "--bogus" "$cap" --bogus
bad "a value missing" "--buffer': needs a value" "$cap" --buffer
echo "all ok"
