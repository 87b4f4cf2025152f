#!/usr/bin/env bash
# -F FILE: the expression comes from a file (a '#' comment in it, as tcpdump
# allows): of UDP to port 9 and UDP to port 7, the file holds exactly the port
# 9 frames. A missing or unreadable filter file, or -F with an expression on
# the command line as well: one line naming the file, exit 2, no -w file.
source "$(dirname "$0")/../lib/testbed.sh"
need_root
need_cmd tcpdump
testbed_start capture_filter_file

printf '# only the discard port\nudp port 9 # not 7\n' >"$TMP/udp9.filter"
ringcap_start "$TMP/rc.log" -i "$IF_B" -w "$TMP/cap.pcap" -T 1 -F "$TMP/udp9.filter" ||
	fail "ringcap did not start: $(cat "$TMP/rc.log")"
in_a "$BUILD/ringcap-gen" -i "$IF_A" -n 300 --dst-port 9 -w "$TMP/ref9.pcap" -q || fail "generator"
in_a "$BUILD/ringcap-gen" -i "$IF_A" -n 200 --dst-port 7 -q || fail "generator"
sleep 0.3
ringcap_stop
cat "$TMP/rc.log"
[ "$RC_STATUS" -eq 0 ] || fail "ringcap exit $RC_STATUS"
pcap_hexlines "$TMP/ref9.pcap" | sort >"$TMP/want.hex"
pcap_hexlines "$TMP/cap.pcap" | sort >"$TMP/got.hex"
[ "$(wc -l <"$TMP/want.hex")" -eq 300 ] || fail "reference holds $(wc -l <"$TMP/want.hex") frames"
cmp -s "$TMP/want.hex" "$TMP/got.hex" ||
	fail "file holds $(wc -l <"$TMP/got.hex") frames, want the 300 sent to port 9"
[ "$(counter "$TMP/rc.log" "packets received by filter")" -eq 300 ] ||
	fail "the kernel filter passed other than 300"
echo "ok: -F kept the 300 frames to port 9 of 500"

bad() { # NEEDLE ringcap-args...
	local needle=$1; shift
	rm -f "$TMP/bad.pcap"
	in_b "$BUILD/ringcap" -i "$IF_B" -w "$TMP/bad.pcap" "$@" 2>"$TMP/bad.err"
	local rc=$?
	[ "$rc" -eq 2 ] || fail "ringcap $*: exit $rc, want 2"
	[ "$(wc -l <"$TMP/bad.err")" -eq 1 ] || fail "ringcap $*: not one line: $(cat "$TMP/bad.err")"
	grep -qF -- "$needle" "$TMP/bad.err" || fail "ringcap $*: does not name $needle"
	[ -e "$TMP/bad.pcap" ] && fail "ringcap $* created its -w file"
	echo "ok: $* -> exit 2: $(cat "$TMP/bad.err")"
}
bad "$TMP/none.filter" -F "$TMP/none.filter"
mkdir "$TMP/dir.filter"
bad "$TMP/dir.filter" -F "$TMP/dir.filter"
bad "$TMP/udp9.filter" -F "$TMP/udp9.filter" tcp
printf 'udp port\n' >"$TMP/broken.filter"
bad "udp port" -F "$TMP/broken.filter"
