#!/usr/bin/env bash
# ringcap writes ringcap-read's index beside every file it closes
# (DIR/.NAME.ridx): with -C rotation and two workers, every file has one when
# ringcap exits, ringcap-read takes each as fresh (it builds none), its answer
# to a host query equals tcpdump's over the same files, and the index lets it
# skip chunks that cannot hold the host; with --no-index-postings it holds
# no per-packet postings, by default ringcap-read reads a host's records by them.
# --no-index writes none.
source "$(dirname "$0")/../lib/testbed.sh"
need_root
need_cmd tcpdump
testbed_start capture_index

ringcap_start "$TMP/i.log" -i "$IF_B" -w "$TMP/i.pcap" -T 2 -C 1 --no-index-postings || fail "start: $(cat "$TMP/i.log")"
# 64 sources in runs of 500 frames: a host is in few of the 1 MiB chunks
for k in $(seq 0 15); do
	in_a "$BUILD/ringcap-gen" -i "$IF_A" -n 500 -s 1000 --src-ip "198.18.1.$((k + 1))" -r 40000 -q --duration 10
done
wait_captured "$TMP/i.log" 8000 30 || true
ringcap_stop
[ "$RC_STATUS" -eq 0 ] || fail "exit $RC_STATUS: $(cat "$TMP/i.log")"
files=("$TMP"/i.pcap*)
[ ${#files[@]} -ge 5 ] || fail "want several rotated files, got ${#files[@]}"
for f in "${files[@]}"; do
	[ -s "$TMP/.$(basename "$f").ridx" ] || fail "no index beside $f: $(ls -A "$TMP")"
done
"$BUILD/ringcap-read" --stats "${files[@]}" host 198.18.1.7 >"$TMP/out.pcap" 2>"$TMP/stats" ||
	fail "ringcap-read: $(cat "$TMP/stats")"
stat() { awk -v k="$1" '$1 == k { print $2 }' "$TMP/stats"; }
[ "$(stat indexes_built)" = 0 ] && [ "$(stat indexes_loaded)" = ${#files[@]} ] ||
	fail "ringcap-read did not take ringcap's indexes as fresh: $(cat "$TMP/stats")"
[ "$(stat chunks_skipped_addr)" -gt 0 ] || fail "no chunk skipped for the host: $(cat "$TMP/stats")"
[ "$(stat chunks_by_postings)" = 0 ] || fail "postings written with --no-index-postings: $(cat "$TMP/stats")"
want=$(for f in "${files[@]}"; do tcpdump -r "$f" -nn 'host 198.18.1.7' 2>/dev/null; done | wc -l)
got=$(tcpdump -r "$TMP/out.pcap" -nn 2>/dev/null | wc -l)
[ "$want" -gt 0 ] && [ "$want" -le 500 ] && [ "$got" -eq "$want" ] || fail "host query: ringcap-read $got, tcpdump $want, sent 500"
echo "ok: ${#files[@]} files, each with its index, all loaded as fresh; host query $got records, $(stat chunks_skipped_addr) of $(stat chunks) chunks skipped"

# by default the index lists each host's records, and ringcap-read reads
# just those; the answer is still tcpdump's
ringcap_start "$TMP/p.log" -i "$IF_B" -w "$TMP/p.pcap" -T 1 || fail "start: $(cat "$TMP/p.log")"
for k in 0 1 2 3; do
	in_a "$BUILD/ringcap-gen" -i "$IF_A" -n 500 -s 1000 --src-ip "198.18.1.$((k + 1))" -r 40000 -q --duration 10
done
wait_captured "$TMP/p.log" 2000 30 || true
ringcap_stop
[ "$RC_STATUS" -eq 0 ] || fail "postings: exit $RC_STATUS: $(cat "$TMP/p.log")"
"$BUILD/ringcap-read" --stats "$TMP/p.pcap" host 198.18.1.2 >"$TMP/p.out" 2>"$TMP/stats" ||
	fail "ringcap-read: $(cat "$TMP/stats")"
[ "$(stat indexes_built)" = 0 ] && [ "$(stat chunks_by_postings)" -gt 0 ] ||
	fail "postings: ringcap-read used no postings of ringcap's index: $(cat "$TMP/stats")"
want=$(tcpdump -r "$TMP/p.pcap" -nn 'host 198.18.1.2' 2>/dev/null | wc -l)
got=$(tcpdump -r "$TMP/p.out" -nn 2>/dev/null | wc -l)
[ "$want" -gt 0 ] && [ "$got" -eq "$want" ] || fail "postings host query: ringcap-read $got, tcpdump $want"
echo "ok: postings by default: $(stat chunks_by_postings) chunks read by their postings, $got records as tcpdump"

ringcap_start "$TMP/n.log" -i "$IF_B" -w "$TMP/n.pcap" -T 1 --no-index || fail "start: $(cat "$TMP/n.log")"
in_a "$BUILD/ringcap-gen" -i "$IF_A" -n 100 -s 200 -r 10000 -q
sleep 0.2
ringcap_stop
[ -e "$TMP/.n.pcap.ridx" ] && fail "--no-index wrote an index"
echo "ok: --no-index writes none"
