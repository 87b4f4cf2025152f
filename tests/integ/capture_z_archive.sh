#!/usr/bin/env bash
# README's unattended recipe, bounded: -G 1 --max-total -z 'zstd -q --rm'.
# What -z leaves (FILE.zst, the writer's index .FILE.ridx beside it) is part
# of the archive: retention counts the .zst files and deletes them, oldest
# first, to hold the limit, with their indexes (no index is left without its
# file); ringcap-read reads the folder of .zst files as zstdcat | tcpdump
# reads them. Then a -z that fails its first run on each file is tried again
# (z_retried in the exit lines and the JSON), and every file is kept.
source "$(dirname "$0")/../lib/testbed.sh"
need_root
need_cmd tcpdump
need_cmd zstd
testbed_start capture_z_archive
d=$TMP/arch
mkdir -p "$d"
chmod 777 "$d"
LIMIT=$((1024 * 1024))

ringcap_start "$TMP/r.log" -i "$IF_B" -w "$d/t-%H%M%S.pcap" -G 1 --max-total 1m \
	-z 'zstd -q --rm' || fail "start: $(cat "$TMP/r.log")"
# frames zstd cannot shrink: random payloads, 400 a second for 4 s, bounded
in_a python3 - "$IF_A" <<'PY'
import os, socket, sys, time
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((sys.argv[1], 0))
hdr = b'\xff' * 6 + b'\x02\x00\x00\x00\x00\x01' + b'\x88\xb5'
for i in range(1600):
    s.send(hdr + os.urandom(986))
    if i % 40 == 39:
        time.sleep(0.1)
PY
sleep 1
ringcap_stop
tail -n 6 "$TMP/r.log"
[ "$RC_STATUS" -eq 0 ] || fail "exit $RC_STATUS"
ls -la "$d"
grep -q "retention: deleted .*-z product" "$TMP/r.log" ||
	fail "retention deleted no .zst: $(grep retention "$TMP/r.log")"
grep -q "cannot meet --max-total" "$TMP/r.log" && fail "retention said it cannot meet the limit"
used=$(find "$d" -type f -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }')
# the last file may still have gone to zstd after the last retention look
last=$(find "$d" -type f -name 't-*.pcap*' -printf '%s\n' | sort -n | tail -1)
[ "$used" -le $((LIMIT + ${last:-0})) ] || fail "the folder holds $used bytes, over $LIMIT + $last"
for ix in "$d"/.*.ridx; do
	[ -e "$ix" ] || continue
	base=$(basename "$ix" .ridx)
	base=${base#.}
	[ -e "$d/$base" ] || [ -e "$d/$base.zst" ] || fail "orphan index $ix"
done
n_zst=$(find "$d" -name 't-*.pcap.zst' | wc -l)
[ "$n_zst" -ge 1 ] || fail "no .zst left"
echo "ok: --max-total 1m with -z 'zstd -q --rm': $used bytes left in $n_zst .zst files, .zst deleted by retention, no orphan index"

# ringcap-read over the folder, against zstdcat | tcpdump
for f in $(ls "$d"/t-*.pcap.zst | sort); do zstdcat "$f" | tcpdump -nn -tt -r - 2>/dev/null; done |
	sort >"$TMP/want"
timeout 30 "$BUILD/ringcap-read" "$d" 2>"$TMP/read.err" | tcpdump -nn -tt -r - 2>/dev/null | sort >"$TMP/got"
[ -s "$TMP/want" ] || fail "zstdcat read nothing"
cmp -s "$TMP/want" "$TMP/got" || fail "ringcap-read differs from zstdcat | tcpdump: $(wc -l <"$TMP/want") vs $(wc -l <"$TMP/got") lines; $(cat "$TMP/read.err")"
echo "ok: ringcap-read $d gives the $(wc -l <"$TMP/got") records zstdcat | tcpdump gives"

# a -z that fails its first run on each file: retried, counted, files kept
d2=$TMP/retry
mkdir -p "$d2"
chmod 777 "$d2"
ringcap_start "$TMP/z.log" -i "$IF_B" -w "$d2/r-%H%M%S.pcap" -G 1 --stats-json "$TMP/s.json" \
	-z 'f() { [ -e "$1.tried" ] && exit 0; : > "$1.tried"; exit 3; }; f' || fail "start: $(cat "$TMP/z.log")"
in_a "$BUILD/ringcap-gen" -i "$IF_A" -n 1200 -s 200 -r 1000 -q
ringcap_stop
tail -n 4 "$TMP/z.log"
[ "$RC_STATUS" -eq 0 ] || fail "exit $RC_STATUS"
files=$(find "$d2" -name 'r-*.pcap' | wc -l)
failed=$(grep -c "failed, exit 3" "$TMP/z.log")
[ "$files" -ge 2 ] || fail "$files files"
[ "$failed" -eq "$files" ] || fail "$failed failure lines for $files files"
grep -q "^$files -z runs failed (z_failed 0 files never done, z_retried $files runs)" "$TMP/z.log" ||
	fail "exit line: $(grep -- '-z runs' "$TMP/z.log")"
grep -q "\"z_retried\": $files" "$TMP/s.json" || fail "JSON: $(grep z_ "$TMP/s.json")"
[ "$(find "$d2" -name 'r-*.pcap.tried' | wc -l)" -eq "$files" ] || fail "not every file was tried"
echo "ok: a -z failing once per file: $failed failures logged, $files retries, every file kept"
