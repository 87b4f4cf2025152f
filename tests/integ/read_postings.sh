#!/usr/bin/env bash
# ringcap-read's postings on interleaved mixed traffic (300 hosts packet by
# packet; TCP, UDP, ICMP, IPv6, tags, ARP, cut records, fragments, non-IP):
# host, port, proto, and, or and not queries over a window give exactly the
# records tcpdump gives for the same filter and window; a selective query
# reads a small part of the file, an `and` of a host and a port that never
# meet reads little more than the index. A postings section with bytes
# flipped is said corrupt and rebuilt; one re-signed that names a record for
# a key it does not carry is caught, said once, and the file scanned: the
# answer stays tcpdump's. Sends nothing: no namespaces needed.
source "$(dirname "$0")/../lib/testbed.sh"
need_cmd tcpdump
need_cmd python3
R=$BUILD/ringcap-read
GEN="python3 $(dirname "$0")/../lib/pcapgen.py"
RIDX="python3 $(dirname "$0")/../lib/ridx.py"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
T0=1764597600
run() { timeout -k 2 60 "$R" "$@"; }
stat_of() { awk -v k="$1" '$1 == k { print $2 }' "$dir/err"; }

# Records of pcap A (whole) against those of pcap B inside [SINCE, UNTIL):
# the same (time, caplen, len, bytes) multiset, or a line saying how not.
same() {
	python3 - "$@" <<'PY'
import struct, sys
def recs(path, lo=None, hi=None):
    b = open(path, 'rb').read()
    magic = struct.unpack_from('<I', b)[0]
    e = '<' if magic in (0xa1b2c3d4, 0xa1b23c4d) else '>'
    nano = struct.unpack_from(e + 'I', b)[0] == 0xa1b23c4d
    out, p = [], 24
    while p + 16 <= len(b):
        s, f, cl, ln = struct.unpack_from(e + 'IIII', b, p)
        ns = s * 10**9 + (f if nano else f * 1000)
        if (lo is None or ns >= lo) and (hi is None or ns < hi):
            out.append((ns, cl, ln, b[p + 16:p + 16 + cl]))
        p += 16 + cl
    return sorted(out)
got = recs(sys.argv[1])
want = recs(sys.argv[2], int(sys.argv[3]) * 10**9, int(sys.argv[4]) * 10**9)
if got != want:
    sys.exit('%d records, want %d' % (len(got), len(want)))
PY
}

$GEN "$dir/m.pcap" --start $T0 --count 30000 --step-us 200 --mixed --hosts 300 --seed 11
size=$(stat -c %s "$dir/m.pcap")
run --index-chunk 64k "$dir/m.pcap" >/dev/null 2>"$dir/err" || fail "indexing: $(cat "$dir/err")"
ix_bytes=$(stat -c %s "$dir/.m.pcap.ridx")
since=$((T0 + 1)) until=$((T0 + 5))

check() { # FILTER...
	run --stats --since @$since --until @$until -w "$dir/out.pcap" "$dir/m.pcap" "$@" 2>"$dir/err" ||
		fail "'$*': exit $?: $(cat "$dir/err")"
	tcpdump -r "$dir/m.pcap" -w "$dir/want.pcap" "$@" 2>/dev/null || fail "tcpdump '$*'"
	why=$(same "$dir/out.pcap" "$dir/want.pcap" $since $until 2>&1) || fail "'$*': $why"
	grep -q "contradicts\|corrupt" "$dir/err" && fail "'$*': $(cat "$dir/err")"
	echo "ok: '$*': $(stat_of records_written) records as tcpdump, $(stat_of bytes_read) of $size bytes read"
}
check host 198.18.0.7
check src host 198.18.1.20
check host 2001:2::b
check port 53
check udp dst port 443
check tcp
check icmp or icmp6
check ip6 proto 44
check portrange 5000-5004
check host 198.18.0.7 and port 80
check host 198.18.0.9 or port 5003
check "(tcp or icmp) and host 198.18.0.9"
check host 198.18.0.9 and not tcp
check not port 53
check net 198.18.1.0/24 and udp
check arp
check vlan and port 53
check len '>' 1000 and port 53

# a host is 1/300 of the records: little more than the index is read
run --stats --since @$since --until @$until -w "$dir/out.pcap" "$dir/m.pcap" host 198.18.0.7 2>"$dir/err"
[ "$(stat_of chunks_by_postings)" -gt 0 ] || fail "host: no chunk read by its postings: $(cat "$dir/err")"
[ "$(stat_of bytes_read)" -lt $((size / 10)) ] || fail "host: read $(stat_of bytes_read) of $size bytes"
# a host and a port that never meet (the host sends no port 80): the index
# alone, and the capture file's header and both ends (its identity)
run --stats -w "$dir/out.pcap" "$dir/m.pcap" host 198.18.0.7 and port 80 2>"$dir/err"
[ "$(stat_of records_written)" -eq 0 ] || fail "host and port: $(stat_of records_written) records"
[ "$(stat_of bytes_read)" -le $((ix_bytes + 3 * 4096)) ] ||
	fail "host and port: read $(stat_of bytes_read) bytes, the index is $ix_bytes"
echo "ok: host reads $(stat_of bytes_read) bytes or fewer; host-and-port-never-met reads the index ($ix_bytes) alone"

# --- corrupt postings: bytes flipped (the checksum then fails): said, rebuilt
read -r pstart plen < <($RIDX "$dir/.m.pcap.ridx" postings)
cp "$dir/.m.pcap.ridx" "$dir/good.ridx"
for k in $(seq 0 15); do
	at=$((pstart + (plen * k + 7) / 16))
	cp "$dir/good.ridx" "$dir/.m.pcap.ridx"
	printf '\xa5' | dd of="$dir/.m.pcap.ridx" bs=1 seek=$at conv=notrunc 2>/dev/null
	run --stats --since @$since --until @$until -w "$dir/out.pcap" "$dir/m.pcap" host 198.18.0.7 or port 53 \
		2>"$dir/err" || fail "flip at $at: exit $?"
	tcpdump -r "$dir/m.pcap" -w "$dir/want.pcap" host 198.18.0.7 or port 53 2>/dev/null
	why=$(same "$dir/out.pcap" "$dir/want.pcap" $since $until 2>&1) || fail "flip at $at: $why"
	[ "$(grep -c "m.pcap: its index is corrupt" "$dir/err")" -eq 1 ] || fail "flip at $at not said once: $(cat "$dir/err")"
	[ "$(stat_of indexes_built)" -eq 1 ] || fail "flip at $at: not rebuilt"
done
echo "ok: 16 flipped postings bytes: each said once, rebuilt, the answer tcpdump's"

# --- lying postings, re-signed: chunk 2's key for port 53 names a record of
# another port; chunk 3's names an offset inside a record
cp "$dir/good.ridx" "$dir/.m.pcap.ridx"
other=$($RIDX "$dir/.m.pcap.ridx" keys 2 | awk '$1 == 4 && $2 == "01bb" { print $3 }')
[ -n "$other" ] || fail "chunk 2 has no port 443 record"
$RIDX "$dir/.m.pcap.ridx" claim 2 4 0035 "$other"
first=$($RIDX "$dir/.m.pcap.ridx" keys 3 | awk '$1 == 4 && $2 == "0035" { print $3 }')
$RIDX "$dir/.m.pcap.ridx" claim 3 4 0035 $((first + 20))
for lie in 1 2; do
	run --stats -w "$dir/out.pcap" "$dir/m.pcap" port 53 2>"$dir/err" || fail "lie: exit $?"
	tcpdump -r "$dir/m.pcap" -w "$dir/want.pcap" port 53 2>/dev/null
	why=$(same "$dir/out.pcap" "$dir/want.pcap" 0 4000000000 2>&1) || fail "lying postings ($lie): $why"
	if [ $lie -eq 1 ]; then
		[ "$(grep -c "m.pcap: record at offset [0-9]* contradicts its index" "$dir/err")" -eq 1 ] ||
			fail "lying postings not said once: $(cat "$dir/err")"
		$RIDX "$dir/.m.pcap.ridx" claim 3 4 0035 $((first + 20)) # the rebuilt index, made to lie again
	fi
done
echo "ok: postings that name the wrong records: said once, the file scanned, the answer tcpdump's"
