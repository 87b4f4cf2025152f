#!/usr/bin/env bash
# Retention of the writer's own compressed files: with --compress zstd -C 1
# --max-total 3m the files are t.pcap.zst, t.pcap1.zst, ... (each with its
# index .t.pcapN.zst.ridx). Frames of random bytes (zstd cannot shrink them)
# fill about six files; retention must delete the oldest .zst files with their
# indexes and keep the total within the bound, never calling one of them "not
# a capture file". A second run in the same place adopts what the first left
# and deletes it first. What is kept decodes with zstd and reads in tshark.
source "$(dirname "$0")/../lib/testbed.sh"
need_root
need_cmd zstd
need_cmd python3
testbed_start capture_retention_zstd
LIMIT=$((3 * 1024 * 1024))
# A file may pass its -C size by a chunk; one such beyond the bound is allowed.
SLACK=$((1024 * 1024 + 300000))

# N frames of 1400 bytes, random after the Ethernet header, at most 2000 a
# second: retention keeps room for half a second of the rate (1.4 MB), under
# the limit. Bounded: N frames, then it ends.
send() {
	in_a python3 -c '
import os, socket, sys, time
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((sys.argv[1], 0))
hdr = b"\xff" * 6 + b"\x02\x00\x00\x00\x00\x01" + b"\x88\xb5"
t0 = time.monotonic()
for i in range(int(sys.argv[2])):
    s.send(hdr + os.urandom(1386))
    ahead = t0 + i / 2000 - time.monotonic()
    if ahead > 0.005:
        time.sleep(ahead)
' "$IF_A" "$1" || fail "sender failed"
}

run() { # LOG FRAMES
	ringcap_start "$1" -i "$IF_B" -w "$TMP/d/t.pcap" -T 1 --compress zstd -C 1 --max-total 3m \
		ether proto 0x88b5 || fail "start: $(cat "$1")"
	send "$2"
	wait_captured "$1" "$2" 10 || true
	ringcap_stop
	[ "$RC_STATUS" -eq 0 ] || fail "exit $RC_STATUS: $(tail -n 20 "$1")"
	if grep -q "never deleted" "$1"; then
		fail "a compressed file of the capture was refused: $(grep "never deleted" "$1")"
	fi
}

# What is on disk: within the bound, every index beside its file, every file
# a whole zstd stream of a pcap that tshark reads to its end.
check_kept() { # WHAT
	local total f n
	total=$(du -cb "$TMP"/d/t.pcap*.zst "$TMP"/d/.t.pcap*.ridx | tail -1 | cut -f1)
	[ "$total" -le $((LIMIT + SLACK)) ] || fail "$1: $total bytes kept: $(ls -la "$TMP/d")"
	for f in "$TMP"/d/.t.pcap*.zst.ridx; do
		n=${f##*/.}
		[ -e "$TMP/d/${n%.ridx}" ] || fail "$1: index $f left without its file"
	done
	for f in "$TMP"/d/t.pcap*.zst; do
		zstd -q -t "$f" || fail "$1: $f is not a whole zstd stream"
		zstd -q -d -c "$f" >"$TMP/x.pcap" || fail "$1: zstd -d $f"
		if command -v tshark >/dev/null; then
			tshark -r "$TMP/x.pcap" -T fields -e frame.number >/dev/null 2>"$TMP/ts.err" ||
				fail "$1: tshark on $f: $(cat "$TMP/ts.err")"
		fi
	done
}

mkdir "$TMP/d"
run "$TMP/a.log" 3200
deleted=$(grep -c "retention: deleted $TMP/d/t.pcap[0-9]*\.zst " "$TMP/a.log")
[ "$deleted" -ge 2 ] || fail "first run deleted $deleted .zst files: $(tail -n 20 "$TMP/a.log")"
grep -q "retention: deleted $TMP/d/t.pcap.zst .*and 1 -z product" "$TMP/a.log" ||
	fail "the first file did not go first, with its index: $(grep retention "$TMP/a.log")"
check_kept "first run"
left=$(cd "$TMP/d" && ls t.pcap*.zst)
echo "ok: first run: $deleted .zst files deleted, kept: $(echo $left)"

run "$TMP/b.log" 1800
# Oldest first: the first run's files (adopted) go before any of the second's.
oldest=$(echo "$left" | sort -V | head -1)
first=$(grep -m1 "retention: deleted" "$TMP/b.log")
case $first in
*" $TMP/d/${oldest%.zst} "* | *" $TMP/d/$oldest "*) ;;
*) fail "the second run did not delete the first run's $oldest first: $(grep retention "$TMP/b.log")" ;;
esac
for f in $left; do
	[ -e "$TMP/d/$f" ] || continue
	grep -q "retention: deleted $TMP/d/t.pcap[0-9]*\.zst " "$TMP/b.log" &&
		fail "a new file was deleted while the first run's $f was kept: $(grep retention "$TMP/b.log")"
done
check_kept "second run"
echo "ok: second run: the first run's files adopted and deleted first; within the bound"
