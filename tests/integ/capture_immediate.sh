#!/usr/bin/env bash
# --immediate-mode: a lone packet is in the file long before a block timeout
# would hand it over. Two captures in turn with --block-timeout 1000 and -U,
# the second with --immediate-mode (which overrides the timeout): 300 ms
# after one frame is sent, libpcap reads that frame from the immediate
# capture's file and nothing from the other's, whose block waits for its
# timer. At the end both files hold the frame.
source "$(dirname "$0")/../lib/testbed.sh"
need_root
need_cmd tcpdump
testbed_start capture_immediate

# One capture with --block-timeout 1000 and ARGS, started just before its one
# frame is sent, so the ring's first timer is about a second away: the file as
# libpcap reads it 300 ms after the frame, and at the end.
run() { # NAME ringcap-args...
	local name=$1; shift
	ringcap_start "$TMP/$name.log" -i "$IF_B" -w "$TMP/$name.pcap" -T 1 --block-timeout 1000 \
		"$@" || fail "ringcap $name did not start: $(cat "$TMP/$name.log")"
	in_a "$BUILD/ringcap-gen" -i "$IF_A" -n 1 -w "$TMP/$name.ref.pcap" -q || fail "generator"
	sleep 0.3
	pcap_hexlines "$TMP/$name.pcap" >"$TMP/$name.early.hex"
	ringcap_stop
	[ "$RC_STATUS" -eq 0 ] || fail "ringcap $name: exit $RC_STATUS"
	pcap_hexlines "$TMP/$name.ref.pcap" >"$TMP/$name.want.hex"
	pcap_hexlines "$TMP/$name.pcap" >"$TMP/$name.end.hex"
	cmp -s "$TMP/$name.want.hex" "$TMP/$name.end.hex" ||
		fail "$name: the frame is not in the file at the end"
}
run timeout -U
[ ! -s "$TMP/timeout.early.hex" ] ||
	fail "control: the frame was in the file before its 1000 ms block timeout (test meaningless)"
run immediate --immediate-mode
cmp -s "$TMP/immediate.want.hex" "$TMP/immediate.early.hex" ||
	fail "--immediate-mode: after 300 ms the file holds $(wc -l <"$TMP/immediate.early.hex") frames, not the one sent"
echo "ok: the lone frame was in the --immediate-mode file after 300 ms, in the other only at the end"
