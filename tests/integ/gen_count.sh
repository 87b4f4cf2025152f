#!/usr/bin/env bash
# ringcap-gen sends exactly what it says, byte for byte.
#
# A tcpdump on the peer (inbound frames from the generator's MAC only, so the
# peer's own ARP/ICMP answers and anything else in the namespaces stay out)
# must hold exactly the 5000 frames of a --mix run at 60 and 1514 bytes, and
# they must equal, in order and byte for byte, the frames the generator wrote
# with --write-pcap. tshark must find no bad checksum and nothing malformed.
# Control cases that must fail: an unknown interface and a 10-byte frame size
# exit 2 with one line naming the bad value.
#
#   BUILD=build bash tests/integ/gen_count.sh       (root; 0 pass, 1 fail, 77 skip)
set -u
# shellcheck source-path=SCRIPTDIR source=../lib/testbed.sh
source "$(dirname "$0")/../lib/testbed.sh"

BUILD=${BUILD:-build}
GEN=$BUILD/ringcap-gen
COUNT=5000
GEN_MAC=02:52:43:47:00:01	# locally administered: only the generator uses it

need_root
need_cmd tcpdump
need_cmd tshark
[ -x "$GEN" ] || fail "no $GEN (set BUILD)"

TD_PID=
# shellcheck disable=SC2317  # run by testbed.sh's EXIT trap
cleanup() {
	[ -n "$TD_PID" ] && kill "$TD_PID" 2>/dev/null
}
TB_EXTRA_CLEANUP=cleanup
testbed_start gen_count

# --- control cases: bad values exit 2 with one line naming them -------------
expect_usage_error() { # needle args...
	local needle=$1 rc lines; shift
	in_a "$GEN" "$@" >"$TMP/ctl.out" 2>"$TMP/ctl.err"
	rc=$?
	lines=$(wc -l <"$TMP/ctl.err")
	[ "$rc" -eq 2 ] || fail "ringcap-gen $* exited $rc, want 2"
	[ "$lines" -eq 1 ] || fail "ringcap-gen $* printed $lines lines on stderr, want 1"
	grep -qw -- "$needle" "$TMP/ctl.err" ||
		fail "ringcap-gen $* error does not name '$needle': $(cat "$TMP/ctl.err")"
	echo "ok: $* -> exit 2: $(cat "$TMP/ctl.err")"
}
expect_usage_error nonexistent0 -i nonexistent0 -n 1
expect_usage_error 10 -i "$IF_A" -n 1 -s 10

# --- default source MAC is the interface's; --json counts -------------------
in_a "$GEN" -i "$IF_A" -n 3 --json -w "$TMP/one.pcap" >"$TMP/one.json" 2>"$TMP/one.err" ||
	fail "3-frame run exited $?: $(cat "$TMP/one.json" "$TMP/one.err")"
grep -q '"sent":3,"errors":0,' "$TMP/one.json" || fail "--json: $(cat "$TMP/one.json")"
src=$(tcpdump -r "$TMP/one.pcap" -nn -e 2>/dev/null | awk '{ print $2 }' | sort -u)
[ "$src" = "$MAC_A" ] || fail "default source MAC is '$src', want $MAC_A"
echo "ok: default source MAC $MAC_A, --json $(cat "$TMP/one.json")"

# --- the capture ------------------------------------------------------------
# ip netns exec execs tcpdump, so $! is tcpdump itself. -Z root: it writes into
# our root-only folder; -B 131072: small buffers drop bursts (no -U or immediate
# mode either: per-packet wake-ups and writes made tcpdump drop under ASan).
ip netns exec "$NS_B" tcpdump -i "$IF_B" -Q in -nn -Z root -B 131072 \
	-w "$TMP/peer.pcap" "ether src $GEN_MAC" 2>"$TMP/tcpdump.err" &
TD_PID=$!
for _ in $(seq 100); do
	grep -q "listening on" "$TMP/tcpdump.err" && break
	kill -0 "$TD_PID" 2>/dev/null || fail "tcpdump died: $(cat "$TMP/tcpdump.err")"
	sleep 0.1
done
grep -q "listening on" "$TMP/tcpdump.err" || fail "tcpdump never started listening"

in_a "$GEN" -i "$IF_A" -n "$COUNT" --mix --sizes 60,1514 -r 20000 --src-mac "$GEN_MAC" \
	--duration 20 --write-pcap "$TMP/gen.pcap" 2>"$TMP/gen.err"
rc=$?
cat "$TMP/gen.err"
[ "$rc" -eq 0 ] || fail "ringcap-gen exited $rc"
grep -q "^sent $COUNT frames " "$TMP/gen.err" || fail "ringcap-gen did not report $COUNT sent"

# Until the peer's kernel has passed all COUNT frames to tcpdump's socket
# (SIGUSR1: tcpdump prints its counters on one line; at most 30 s), then stop
# it. Frames in a block libpcap has not handed over yet are lost at SIGINT:
# tcpdump's own "packets captured" says how many it wrote.
for _ in $(seq 300); do
	kill -USR1 "$TD_PID" 2>/dev/null || break
	sleep 0.1
	n=$(sed -n 's/.* \([0-9]*\) packets\{0,1\} received by filter.*/\1/p' "$TMP/tcpdump.err" | tail -n 1)
	[ "${n:-0}" -ge "$COUNT" ] && break
done
kill -INT "$TD_PID"
wait "$TD_PID"
TD_PID=
cat "$TMP/tcpdump.err"

# --- the checks ---------------------------------------------------------------
count_frames() { tcpdump -r "$1" -nn 2>/dev/null | wc -l; }
n_gen=$(count_frames "$TMP/gen.pcap")
n_peer=$(count_frames "$TMP/peer.pcap")
echo "frames: --write-pcap $n_gen, peer capture $n_peer"
[ "$n_gen" -eq "$COUNT" ] || fail "--write-pcap holds $n_gen frames, want $COUNT"
# The peer's kernel saw exactly COUNT frames from the generator's MAC (tcpdump's
# "received by filter"); tcpdump itself may still drop some on a loaded machine.
# The exit report: one counter a line, the number first.
seen=$(awk '/^[0-9]+ packets? received by filter/ { print $1 }' "$TMP/tcpdump.err")
dropped=$(awk '/^[0-9]+ packets? dropped by kernel/ { print $1 }' "$TMP/tcpdump.err")
td_captured=$(awk '/^[0-9]+ packets? captured/ { print $1 }' "$TMP/tcpdump.err")
[ "$seen" -eq "$COUNT" ] || fail "the peer's kernel saw $seen frames, want $COUNT"
[ "$n_peer" -eq "$td_captured" ] ||
	fail "the peer's file holds $n_peer frames, tcpdump says it captured $td_captured"

# one line per frame, no timestamps: depends only on the bytes
pcap_hexlines "$TMP/gen.pcap" >"$TMP/gen.txt"
pcap_hexlines "$TMP/peer.pcap" >"$TMP/peer.txt"
if [ "$dropped" -eq 0 ]; then
	# In order, none dropped: the first n_peer frames sent, byte for byte (the
	# rest were still in a block tcpdump had not been handed at SIGINT).
	[ "$n_peer" -gt 0 ] || fail "peer captured no frame"
	if ! head -n "$n_peer" "$TMP/gen.txt" | cmp -s - "$TMP/peer.txt"; then
		diff <(head -n "$n_peer" "$TMP/gen.txt") "$TMP/peer.txt" | head -n 5 | cut -c1-160
		fail "peer's frames are not the first $n_peer of --write-pcap's"
	fi
	echo "ok: the peer's $n_peer frames are the first $n_peer of the generator's $COUNT, byte for byte"
else
	# tcpdump dropped some: what it kept must still be the generator's frames
	extra=$(sort "$TMP/peer.txt" | comm -13 <(sort "$TMP/gen.txt") - | wc -l)
	[ "$extra" -eq 0 ] || fail "$extra captured frames were never sent"
	echo "ok: the peer's kernel saw $seen; tcpdump kept $n_peer (dropped $dropped), all sent frames"
fi

bad=$(tshark -r "$TMP/gen.pcap" -o ip.check_checksum:TRUE -o udp.check_checksum:TRUE \
	-o tcp.check_checksum:TRUE -Y '_ws.malformed || _ws.expert.severity >= "error" ||
	ip.checksum.status != 1 || udp.checksum.status != 1 || tcp.checksum.status != 1 ||
	icmp.checksum.status != 1' 2>/dev/null | wc -l)
[ "$bad" -eq 0 ] || fail "tshark finds $bad malformed or bad-checksum frames"
kinds=$(tshark -r "$TMP/gen.pcap" -T fields -e _ws.col.Protocol 2>/dev/null | sort | uniq -c | xargs)
echo "ok: tshark finds no bad checksum or malformed frame ($kinds)"
exit 0
