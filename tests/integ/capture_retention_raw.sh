#!/usr/bin/env bash
# Retention on a raw-IP capture: on a tun device the files are LINKTYPE_RAW
# (101), and --max-total must count and delete them like Ethernet ones. With
# -C 1 --max-total 4m and about 10 MB of IPv4/UDP written into tun0 (the
# helper tests/lib/tunsend.py, in namespace B), retention deletes the oldest
# files, the capture's files stay within 4 MiB (plus the one file -C lets the
# current file grow past its reservation), none is left uncounted, and every
# kept file is a RAW savefile that tcpdump and capinfos read to its end.
source "$(dirname "$0")/../lib/testbed.sh"
need_root
need_cmd tcpdump
need_cmd python3
[ -c /dev/net/tun ] || skip "no /dev/net/tun"
testbed_start capture_retention_raw
# 1400-byte IP packets: 9.8 MB in files of 1 MB. Not faster: retention keeps
# room for half a second of the capture's rate, which must stay well under
# the limit for files to be left at all.
N=7000 SIZE=1372 RATE=1000
LIMIT=$((4 * 1024 * 1024))

in_b python3 "$(dirname "$0")/../lib/tunsend.py" $N "$TMP/ready" "$TMP/go" "$TMP/done" \
	--size $SIZE --rate $RATE &
py=$!
for _ in $(seq 100); do [ -e "$TMP/ready" ] && break; sleep 0.05; done
[ -e "$TMP/ready" ] || fail "tun0 was not created"
ringcap_start "$TMP/r.log" -i tun0 -w "$TMP/r.pcap" -T 1 -C 1 --max-total 4m udp port 9 ||
	fail "start: $(cat "$TMP/r.log")"
grep -q "link-type RAW" "$TMP/r.log" || fail "banner: $(cat "$TMP/r.log")"
touch "$TMP/go"
for _ in $(seq 600); do [ -e "$TMP/ready.sent" ] && break; sleep 0.05; done
[ -e "$TMP/ready.sent" ] || fail "the tun helper did not finish sending"
sleep 0.5
ringcap_stop
touch "$TMP/done"
wait $py || fail "the tun helper failed"
[ "$RC_STATUS" -eq 0 ] || fail "exit $RC_STATUS: $(tail -n 20 "$TMP/r.log")"

files=$(ls "$TMP"/r.pcap* | wc -l)
total=$(du -cb "$TMP"/r.pcap* | tail -1 | cut -f1)
deleted=$(grep -c "retention: deleted" "$TMP/r.log")
[ "$deleted" -gt 0 ] || fail "nothing deleted ($files files, $total bytes): $(tail -n 20 "$TMP/r.log")"
if grep -q "never deleted" "$TMP/r.log"; then
	fail "a file of the capture was not accounted for: $(grep "never deleted" "$TMP/r.log")"
fi
[ "$total" -le $((LIMIT + 1000000)) ] ||
	fail "--max-total 4m: $files files, $total bytes left: $(ls -l "$TMP"/r.pcap*)"
[ "$files" -ge 3 ] || fail "--max-total 4m kept too little: $(ls -l "$TMP"/r.pcap*)"
last_seq=$(ls "$TMP"/r.pcap* | sed 's/.*r\.pcap//' | sort -n | tail -1)
[ "$last_seq" -ge $((files + deleted - 1)) ] || fail "the newest files are gone: $(ls "$TMP"/r.pcap*)"
records=0
for f in "$TMP"/r.pcap*; do
	lt=$(od -An -tu4 -j20 -N4 "$f" | tr -d ' ')
	[ "$lt" = 101 ] || fail "$f: link type $lt, want 101 (RAW)"
	c=$(pcap_count "$f") || fail "$f: $c"
	[ "$c" -gt 0 ] || fail "$f holds no record"
	if command -v capinfos >/dev/null 2>&1; then
		capinfos -c "$f" >"$TMP/ci" 2>&1 || fail "capinfos $f: $(cat "$TMP/ci")"
		grep -q "Number of packets: *$c\b" "$TMP/ci" || fail "capinfos $f: $(cat "$TMP/ci"), tcpdump $c"
	fi
	records=$((records + c))
done
echo "ok: RAW capture, $deleted files deleted, $files kept with $records records in $total bytes (limit $LIMIT)"
