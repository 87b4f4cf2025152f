#!/usr/bin/env bash
# Two link types in one pcapng, rotated: a tun interface (raw IP, no
# link-layer header; tests/lib/tunsend.py creates tun0 in namespace B and
# writes 2,000 UDP packets of 200 B of payload into it) and the testbed's
# veth (Ethernet; 2,000 frames of 400 B from ringcap-gen) captured at the
# same time by `ringcap -i tun0 -i B -w c.pcapng -C 1`. Every file starts with
# an SHB and the same two IDBs (RAW named tun0, EN10MB named B) and ends with
# one ISB per interface; tshark reads each alone without a complaint, its
# frames of interface 0 raw IP of 228 B, of interface 1 Ethernet of 400 B;
# the files hold exactly 2,000 of each, what ringcap captured in all.
source "$(dirname "$0")/../lib/testbed.sh"
need_root
need_cmd tshark
need_cmd python3
[ -c /dev/net/tun ] || skip "no /dev/net/tun"
testbed_start capture_tap_tun
LIB=$(dirname "$0")/../lib
N=2000

in_b python3 "$LIB/tunsend.py" $N "$TMP/ready" "$TMP/go" "$TMP/done" --size 200 &
py=$!
TB_EXTRA_CLEANUP="touch $TMP/done; wait $py 2>/dev/null"
for _ in $(seq 100); do [ -e "$TMP/ready" ] && break; sleep 0.05; done
[ -e "$TMP/ready" ] || fail "tun0 was not created"
ringcap_start "$TMP/c.log" -i tun0 -i "$IF_B" -w "$TMP/c.pcapng" -C 1 udp and dst port 9 ||
	fail "start: $(cat "$TMP/c.log")"
touch "$TMP/go"
in_a "$BUILD/ringcap-gen" -i "$IF_A" -n $N -s 400 -q || fail "generator"
for _ in $(seq 200); do [ -e "$TMP/ready.sent" ] && break; sleep 0.05; done
[ -e "$TMP/ready.sent" ] || fail "the tun helper did not write its packets"
wait_captured "$TMP/c.log" $((2 * N)) 10 || true
ringcap_stop
touch "$TMP/done"
wait $py || fail "the tun helper failed"
[ "$RC_STATUS" -eq 0 ] || fail "exit $RC_STATUS: $(cat "$TMP/c.log")"
captured=$(counter "$TMP/c.log" "packets captured")

files=("$TMP"/c.pcapng*)
[ ${#files[@]} -ge 2 ] || fail "-C 1 made ${#files[@]} file(s) from 1.4 MB"
want_idbs="0 SHB
1 IDB 0 linktype=101 name=tun0
2 IDB 1 linktype=1 name=$IF_B"
: >"$TMP/all"
for f in "${files[@]}"; do
	python3 "$LIB/pcapng_blocks.py" "$f" >"$TMP/blocks" || fail "$f: $(cat "$TMP/blocks")"
	[ "$(head -n 3 "$TMP/blocks")" = "$want_idbs" ] || fail "$f does not start SHB, IDB tun0, IDB $IF_B: $(head -n 4 "$TMP/blocks")"
	[ "$(grep -c ' ISB ' "$TMP/blocks")" -eq 2 ] && ! grep -q torn "$TMP/blocks" ||
		fail "$f: not one ISB per interface, or torn: $(cat "$TMP/blocks")"
	# tshark alone on the file; the frame layer is what is checked
	tshark -r "$f" --disable-protocol eth,ip -T fields -e frame.interface_id -e frame.interface_name \
		-e frame.encap_type -e frame.len >"$TMP/f" 2>"$TMP/ts.err"
	rc=$?
	err=$(grep -v "Running as user" "$TMP/ts.err")
	[ $rc -eq 0 ] && [ -z "$err" ] || fail "tshark -r $f: exit $rc: $err"
	[ -s "$TMP/f" ] || fail "$f holds no packet"
	cat "$TMP/f" >>"$TMP/all"
done
per_if=$(sort "$TMP/all" | uniq -c | awk '{ print $2, $3, $4, $5, $1 }' | tr '\n' ';')
[ "$per_if" = "0 tun0 7 228 $N;1 $IF_B 1 400 $N;" ] ||
	fail "tshark over the files (interface, name, encapsulation, length, count): '$per_if'"
[ "$captured" -eq $((2 * N)) ] || fail "ringcap captured $captured, the files hold $((2 * N))"
echo "ok: -C 1, ${#files[@]} files: each SHB + IDB tun0 (RAW) + IDB $IF_B (EN10MB) ... 2 ISBs, read alone by tshark"
echo "ok: $N raw IP packets of 228 B on tun0, $N Ethernet frames of 400 B on $IF_B, $captured captured"
