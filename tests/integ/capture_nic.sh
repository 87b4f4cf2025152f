#!/usr/bin/env bash
# What the interface says. Drops: frames longer than B's MTU sent from A (a
# larger MTU) are dropped by veth before any socket sees them and counted in
# B's rx_dropped (ip -s link shows it move by exactly the number sent); the
# exit line "N packets dropped by interface", --stats-json's if_dropped and
# --stats-prom's ringcap_interface_drops_total report exactly that delta, and
# drops from before the start are not counted. Offloads: with TSO and GSO on
# (veth's default), one warning names them; none after ethtool -K turns them
# off.
source "$(dirname "$0")/../lib/testbed.sh"
need_root
need_cmd jq
need_cmd python3
need_cmd ethtool
testbed_start capture_nic

ip -n "$NS_A" link set "$IF_A" mtu 9000 || fail "mtu"
# veth's defaults (the testbed turns them off): GRO off, GSO and TSO on
in_b ethtool -K "$IF_B" gso on tso on gro off || fail "ethtool -K on"
# N frames of 2000 bytes from A; veth refuses each one (ENOBUFS), counting it.
oversize() {
	in_a python3 -c '
import errno, socket, sys
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((sys.argv[1], 0))
frame = b"\xff" * 6 + b"\x02\x00\x00\x00\x00\x01" + b"\x88\xb5" + bytes(1986)
for _ in range(int(sys.argv[2])):
    try:
        s.send(frame)
    except OSError as e:
        if e.errno != errno.ENOBUFS:
            raise' "$IF_A" "$1" || fail "sending oversize frames"
}
rx_dropped() { in_b ip -s -j link show "$IF_B" | jq '.[0].stats64.rx.dropped'; }

oversize 3 # before the start: not ringcap's
before=$(rx_dropped)
ringcap_start "$TMP/c.log" -i "$IF_B" -w "$TMP/c.pcap" --stats-json "$TMP/c.json" \
	--stats-prom "$TMP/c.prom" || fail "start: $(cat "$TMP/c.log")"
oversize 11
in_a "$BUILD/ringcap-gen" -i "$IF_A" -n 5 -s 100 -q || fail "ringcap-gen"
after=$(rx_dropped)
[ $((after - before)) -eq 11 ] || fail "rx_dropped moved by $((after - before)), want 11"
sleep 0.5
ringcap_stop
[ "$RC_STATUS" -eq 0 ] || fail "exit $RC_STATUS: $(cat "$TMP/c.log")"
grep -qx "11 packets dropped by interface" "$TMP/c.log" || fail "exit lines: $(cat "$TMP/c.log")"
grep -qx "5 packets captured" "$TMP/c.log" || fail "captured: $(cat "$TMP/c.log")"
[ "$(jq .if_dropped "$TMP/c.json")" = 11 ] || fail "JSON: $(cat "$TMP/c.json")"
grep -qx 'ringcap_interface_drops_total{interface="'"$IF_B"'"} 11' "$TMP/c.prom" ||
	fail "Prometheus: $(grep interface_drops "$TMP/c.prom")"
if command -v promtool >/dev/null; then
	out=$(promtool check metrics <"$TMP/c.prom" 2>&1) || fail "promtool: $out"
	[ -z "$out" ] || fail "promtool: $out"
fi
echo "ok: 11 interface drops (ip -s link: $before -> $after) in the exit line, JSON and Prometheus"

n=$(grep -c "warning: $IF_B: offloads on" "$TMP/c.log")
[ "$n" -eq 1 ] || fail "want one offload warning, got $n: $(cat "$TMP/c.log")"
line=$(grep "offloads on" "$TMP/c.log")
[[ $line == *"(GSO, TSO)"* ]] || fail "offloads named: $line"
echo "ok: $line"
in_b ethtool -K "$IF_B" gso off tso off gro off || fail "ethtool -K"
ringcap_start "$TMP/d.log" -i "$IF_B" -w "$TMP/d.pcap" || fail "start: $(cat "$TMP/d.log")"
ringcap_stop
grep -q "offloads" "$TMP/d.log" && fail "offloads off, still a warning: $(cat "$TMP/d.log")"
grep -q "dropped by interface" "$TMP/d.log" && fail "no drops, still the line: $(cat "$TMP/d.log")"
echo "ok: no warning with the offloads off, no interface drops line without drops"
exit 0
