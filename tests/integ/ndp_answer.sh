#!/usr/bin/env bash
# ringcap --ndp answers Neighbor Solicitations for IPv6 pools as B's kernel
# answers for an address it owns, byte for byte.
#
# The testbed turns IPv6 off; this test turns it on for its two veths only
# (no DAD: addresses added nodad). A owns 2001:2::1 and routes 2001:2:0:1::/64
# and 2001:2:0:7::/64 out of its veth; B owns 2001:2::2. ringcap in B answers
# 2001:2:0:1::/64 (any VLAN) and 2001:2:0:7::/64@7.
#   - ndisc6 from A for the first and last pool address and one inside gets
#     B's MAC; for 2001:2:0:2::1 (outside) nothing;
#   - ping -6 to a pool address fills A's `ip -6 neigh` with B's MAC;
#   - byte for byte against the kernel: for each kind of solicitation (to the
#     solicited-node group with a source link-layer option, as ndisc6 and the
#     kernel send; unicast to the target and B's MAC; DAD from ::), A solicits
#     B's own 2001:2::2 (the kernel answers) and a pool address (ringcap
#     answers), tcpdump on A keeps both NAs, and the kernel's, with its target
#     address replaced by the pool address in the IPv6 source and the target
#     field and its checksum recomputed, must equal ringcap's in every byte
#     (Ethernet addresses, IPv6 header with traffic class, flow label and hop
#     limit, flags, options); ringcap's checksum is also checked by tcpdump -vv;
#   - tagged: an NS for 2001:2:0:7::5 on VLAN 7 is answered on VLAN 7, the same
#     untagged or on VLAN 8 is not;
#   - a bad checksum, a DAD probe with a source link-layer option, a
#     multicast source: not answered, counted by reason; hop limit 64: not
#     answered (the kernel prefilter keeps it out, so it is not counted);
#   - a pool holding B's 2001:2::2 is refused at start (exit 2);
#   - a /120 (2001:2:0:9::100/120) and one address (2001:2:0:a::77): ndisc6
#     for their edges is answered, for the addresses beside them not, and the
#     kernel prefilter admits only the four in-pool solicitations;
#   - --arp-announce: one unsolicited NA per pool address to ff02::1 on A.
#
#   BUILD=build bash tests/integ/ndp_answer.sh       (root; 0 pass, 1 fail, 77 skip)
set -u
# shellcheck source-path=SCRIPTDIR source=../lib/testbed.sh
source "$(dirname "$0")/../lib/testbed.sh"

BUILD=${BUILD:-build}
RINGCAP=$BUILD/ringcap
need_root
need_l2send
need_cmd ndisc6
need_cmd jq
[ -x "$RINGCAP" ] || fail "no $RINGCAP (set BUILD)"

testbed_start ndp_answer
in_a sysctl -qw "net.ipv6.conf.$IF_A.disable_ipv6=0" "net.ipv6.conf.$IF_A.accept_dad=0" || fail "IPv6 on A"
in_b sysctl -qw "net.ipv6.conf.$IF_B.disable_ipv6=0" "net.ipv6.conf.$IF_B.accept_dad=0" || fail "IPv6 on B"
in_a ip -6 addr add 2001:2::1/64 dev "$IF_A" nodad || fail "address on A"
in_b ip -6 addr add 2001:2::2/64 dev "$IF_B" nodad || fail "address on B"
in_a ip -6 route add 2001:2:0:1::/64 dev "$IF_A" || fail "route on A"
in_a ip -6 route add 2001:2:0:2::/64 dev "$IF_A" || fail "route on A"

# --- a pool holding B's own address is refused ----------------------------------
in_b "$RINGCAP" -i "$IF_B" --ndp 2001:2::/64 >"$TMP/own.out" 2>"$TMP/own.err"
rc=$?
{ [ "$rc" -eq 2 ] && [ "$(wc -l <"$TMP/own.err")" -eq 1 ] && grep -q "2001:2::2" "$TMP/own.err"; } ||
	fail "--ndp 2001:2::/64: exit $rc: $(cat "$TMP/own.err")"
echo "ok: $(cat "$TMP/own.err")"

ringcap_start "$TMP/rc.log" -i "$IF_B" --ndp 2001:2:0:1::/64 --ndp 2001:2:0:7::/64@7 \
	--stats-json "$TMP/rc.json" || fail "ringcap did not start: $(cat "$TMP/rc.log")"
peer_capture_start ndp icmp6 or vlan || fail "tcpdump on A"

# --- ndisc6 and ping -6 ------------------------------------------------------------
for t in 2001:2:0:1:: 2001:2:0:1::5 2001:2:0:1:ffff:ffff:ffff:ffff; do
	out=$(in_a ndisc6 -1 -r 5 -w 2000 "$t" "$IF_A" 2>&1) || fail "ndisc6 $t: $out"
	grep -qi "Target link-layer address: $MAC_B" <<<"$out" || fail "ndisc6 $t: $out"
	echo "ok: ndisc6 $t -> $MAC_B"
done
out=$(in_a ndisc6 -1 -r 1 -w 500 2001:2:0:2::1 "$IF_A" 2>&1) && fail "ndisc6 outside answered: $out"
echo "ok: ndisc6 2001:2:0:2::1 (outside): no answer"
in_a ping -6 -c 1 -W 1 2001:2:0:1::77 >/dev/null 2>&1	# no echo reply: nobody owns it
# the answer may land after ping gave up: look for up to 10 s
for _ in $(seq 100); do
	neigh=$(in_a ip -6 neigh show 2001:2:0:1::77 dev "$IF_A")
	grep -qi "lladdr $MAC_B" <<<"$neigh" && break
	sleep 0.1
done
grep -qi "lladdr $MAC_B" <<<"$neigh" || fail "A's neighbour entry: '$neigh'"
echo "ok: ping -6 filled A's neighbour table: $neigh"

# --- the same solicitations to the kernel (2001:2::2) and to ringcap -----------------
ns() { in_a python3 "$L2SEND" "$IF_A" ns "$@" || fail "l2send ns $*"; }
ns 2001:2::2                                       # kernel, solicited-node
ns 2001:2:0:1::10                                  # ringcap
ns 2001:2::2 --ip-dst 2001:2::2 --dst "$MAC_B"     # kernel, unicast
ns 2001:2:0:1::11 --ip-dst 2001:2:0:1::11 --dst "$MAC_B"
ns 2001:2::2 --ip-src ::                           # kernel, DAD
ns 2001:2:0:1::12 --ip-src ::
# --- VLANs, malformed, safety ---------------------------------------------------------
ns 2001:2:0:7::5 --tag 8100:7
ns 2001:2:0:7::6
ns 2001:2:0:7::7 --tag 8100:8
ns 2001:2:0:1::20 --hlim 64
ns 2001:2:0:1::21 --bad-csum
ns 2001:2:0:1::22 --ip-src :: --slla 02:00:00:00:00:01
in_a python3 "$L2SEND" "$IF_A" ns 2001:2:0:1::22 --ip-src :: >/dev/null # a proper DAD for ::22: control
ns 2001:2:0:1::23 --ip-src ff02::1
# at least: 3 ndisc6 and 1 ping -6 answers, 3 the kernel's, 3 ringcap's, the
# VLAN 7 one and the DAD control's
peer_capture_stop 12 "neighbor advertisement"
ringcap_stop
[ "$RC_STATUS" -eq 0 ] || fail "ringcap exited $RC_STATUS: $(cat "$TMP/rc.log")"
cat "$TMP/rc.log"

python3 - "$TMP/ndp.pcap" <<'PY' || fail "NA comparison"
import ipaddress, struct, sys
data = open(sys.argv[1], 'rb').read()
magic = struct.unpack('<I', data[:4])[0]
end = '<' if magic in (0xa1b2c3d4, 0xa1b23c4d) else '>'
off, nas = 24, []
while off + 16 <= len(data):
    _, _, incl, _ = struct.unpack(end + 'IIII', data[off:off + 16])
    f = data[off + 16:off + 16 + incl]
    off += 16 + incl
    l2 = 14
    while f[l2 - 2:l2] in (b'\x81\x00', b'\x88\xa8'):
        l2 += 4
    if f[l2 - 2:l2] == b'\x86\xdd' and f[l2 + 6] == 58 and f[l2 + 40] == 136:
        nas.append((l2, f))
def tgt(n):
    l2, f = n
    return str(ipaddress.IPv6Address(f[l2 + 48:l2 + 64]))
def dst(n):
    l2, f = n
    return str(ipaddress.IPv6Address(f[l2 + 24:l2 + 40]))
def csum(src, dst, msg):
    d = src + dst + struct.pack('!I3xB', len(msg), 58) + msg
    d += b'\0' * (len(d) % 2)
    s = sum(struct.unpack('!%dH' % (len(d) // 2), d))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff
def valid(n):
    l2, f = n
    plen = struct.unpack('!H', f[l2 + 4:l2 + 6])[0]
    return csum(f[l2 + 8:l2 + 24], f[l2 + 24:l2 + 40], f[l2 + 40:l2 + 40 + plen]) == 0
def substitute(n, new):
    l2, f = n
    plen = struct.unpack('!H', f[l2 + 4:l2 + 6])[0]
    b = bytearray(f[:l2 + 40 + plen])
    a = ipaddress.IPv6Address(new).packed
    b[l2 + 8:l2 + 24] = a          # IPv6 source: the target
    b[l2 + 48:l2 + 64] = a         # ICMPv6 target field
    b[l2 + 42:l2 + 44] = b'\0\0'
    c = csum(bytes(b[l2 + 8:l2 + 24]), bytes(b[l2 + 24:l2 + 40]), bytes(b[l2 + 40:]))
    b[l2 + 42:l2 + 44] = struct.pack('!H', c)
    return bytes(b)
seen = {}
for n in nas:
    seen.setdefault((tgt(n), dst(n)), []).append(n)
bad = 0
for kind, k, r in (('solicited-node', '2001:2::2', '2001:2:0:1::10'),
                   ('unicast', '2001:2::2', '2001:2:0:1::11'),
                   ('DAD', '2001:2::2', '2001:2:0:1::12')):
    d = 'ff02::1' if kind == 'DAD' else '2001:2::1'
    ks = [n for n in seen.get((k, d), [])]
    rs = seen.get((r, d), [])
    if len(ks) < 1 or len(rs) != 1:
        print('FAIL: %s: %d kernel NAs, %d ringcap NAs (want >=1 and 1)' % (kind, len(ks), len(rs)))
        bad += 1
        continue
    # in the order sent: the solicited-node NS was answered first, the
    # unicast one second, both to 2001:2::1
    want = substitute(ks[0] if kind == 'solicited-node' else ks[-1], r)
    l2, got = rs[0]
    got = got[:len(want)]
    if got != want or not valid(rs[0]):
        print('FAIL: %s: ringcap %s\n      kernel  %s' % (kind, got.hex(), want.hex()))
        bad += 1
    else:
        print('ok: %s NA equals the kernel\'s byte for byte (%d bytes): %s' % (kind, len(got), got.hex()))
# tagged
vl = [n for n in nas if tgt(n).startswith('2001:2:0:7:')]
if len(vl) != 1 or tgt(vl[0]) != '2001:2:0:7::5' or vl[0][1][12:16] != b'\x81\x00\x00\x07':
    print('FAIL: VLAN pool NAs: %s' % [(tgt(n), n[1][12:16].hex()) for n in vl]); bad += 1
else:
    print('ok: 2001:2:0:7::5 on VLAN 7 answered on VLAN 7; untagged and VLAN 8 not')
for t in ('2001:2:0:1::20', '2001:2:0:1::21', '2001:2:0:1::23'):
    if any(tgt(n) == t for n in nas):
        print('FAIL: %s answered' % t); bad += 1
if len([n for n in nas if tgt(n) == '2001:2:0:1::22']) != 1:
    print('FAIL: DAD control for ::22 not answered exactly once'); bad += 1
sys.exit(1 if bad else 0)
PY
echo "ok: hop limit 64, bad checksum, multicast source not answered; DAD with SLLA not, proper DAD yes"
tcpdump -r "$TMP/ndp.pcap" -nn -vv "ip6 src 2001:2:0:1::10" 2>/dev/null | grep -q "bad icmp6 cksum" &&
	fail "tcpdump finds ringcap's checksum bad"
for kv in malformed=2 bad_sender=1 other_vlan=2; do
	jq -e ".ndp.ignored.${kv%=*} == ${kv#*=}" "$TMP/rc.json" >/dev/null ||
		fail "stats: want ndp.ignored.$kv in $(grep '"ndp"' "$TMP/rc.json")"
done
echo "ok: counted: 2 malformed, 1 bad sender, 2 other VLAN"
# every NS taken is answered or ignored; every advert built was sent; the
# socket's frames are the NSs taken plus the kernel's drops (no ARP pool here)
jq -e '.ndp.solicitations_received == .ndp.solicitations_answered + (.ndp.ignored | add) and
	.ndp.adverts_sent == .ndp.solicitations_answered and .ndp.solicitations_answered > 0 and
	.arp.requests_received == 0 and .arp.replies_sent == 0 and
	.responder.frames_received == .ndp.solicitations_received + .responder.kernel_drops' \
	"$TMP/rc.json" >/dev/null ||
	fail "stats do not add up: $(grep -E '"(arp|ndp|responder)"' "$TMP/rc.json")"
echo "ok: NDP received = answered + ignored, adverts sent = answered, no ARP counted"

# --- pools of other shapes: a /120 and one address ----------------------------------
# Their kernel prefilter has words that are zero or whole: each must still admit
# exactly the pool (no mask that libpcap's optimizer turns into a dead test).
ringcap_start "$TMP/rc3.log" -i "$IF_B" --ndp 2001:2:0:9::100/120 --ndp 2001:2:0:a::77 \
	--stats-json "$TMP/rc3.json" || fail "ringcap did not start: $(cat "$TMP/rc3.log")"
for t in 2001:2:0:9::100 2001:2:0:9::1ff 2001:2:0:9::123 2001:2:0:a::77; do
	out=$(in_a ndisc6 -1 -r 5 -w 2000 "$t" "$IF_A" 2>&1) || fail "ndisc6 $t: $out"
	grep -qi "Target link-layer address: $MAC_B" <<<"$out" || fail "ndisc6 $t: $out"
	echo "ok: ndisc6 $t -> $MAC_B"
done
for t in 2001:2:0:9::ff 2001:2:0:9::200 2001:2:0:a::76 2001:2:0:a::78; do
	out=$(in_a ndisc6 -1 -r 1 -w 300 "$t" "$IF_A" 2>&1) && fail "ndisc6 $t (outside) answered: $out"
done
ringcap_stop
[ "$RC_STATUS" -eq 0 ] || fail "ringcap exited $RC_STATUS: $(cat "$TMP/rc3.log")"
# (at least 4: ndisc6 asks again if an answer is slow; none refused in user space)
jq -e '.ndp.solicitations_answered >= 4 and .ndp.adverts_sent == .ndp.solicitations_answered and
	.ndp.solicitations_received == .ndp.solicitations_answered' "$TMP/rc3.json" >/dev/null ||
	fail "/120 and one address: $(grep '"ndp"' "$TMP/rc3.json")"
echo "ok: a /120 and a single-address pool answered, their neighbours not even admitted"

# --- announcements ------------------------------------------------------------------
peer_capture_start announce icmp6 or vlan || fail "tcpdump on A"
ringcap_start "$TMP/rc2.log" -i "$IF_B" --ndp 2001:2:0:9::1-2001:2:0:9::3 --arp-announce ||
	fail "ringcap did not start: $(cat "$TMP/rc2.log")"
peer_capture_stop 3 "neighbor advertisement"
ringcap_stop
tcpdump -r "$TMP/announce.pcap" -nn -vv 2>/dev/null >"$TMP/ann.txt"
for i in 1 2 3; do
	grep -A2 "2001:2:0:9::$i > ff02::1: .*neighbor advertisement" "$TMP/ann.txt" |
		grep -q "tgt is 2001:2:0:9::$i, Flags \[override\]" ||
		fail "no unsolicited NA for 2001:2:0:9::$i: $(cat "$TMP/ann.txt")"
done
grep -q "3 announcements queued" "$TMP/rc2.log" || fail "announcements: $(cat "$TMP/rc2.log")"
echo "ok: 3 unsolicited NAs (override, to ff02::1) seen on A"
exit 0
