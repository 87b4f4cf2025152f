#!/usr/bin/env bash
# Signals: SIGUSR1 prints the counter lines and the capture goes on (the
# packets sent after it are in the file too); SIGHUP (no rotation), SIGUSR2
# and SIGQUIT end the capture like SIGTERM: exit 0, a valid file holding every
# packet sent. Control: the file after SIGUSR1 holds both bursts.
source "$(dirname "$0")/../lib/testbed.sh"
need_root
need_cmd tcpdump
testbed_start capture_signals

# SIGUSR1 one at a time, each time waiting for its report (one more
# "received by filter" line), until the report says N captured; at most 30 s.
# Counts the signals in USR1_SENT.
USR1_SENT=0
usr1_until() { # LOG N
	local reports n
	for _ in $(seq 300); do
		reports=$(grep -c "packets received by filter" "$1")
		kill -USR1 "$RC_PID" 2>/dev/null || return 1
		USR1_SENT=$((USR1_SENT + 1))
		for _ in $(seq 300); do
			[ "$(grep -c "packets received by filter" "$1")" -gt "$reports" ] && break
			sleep 0.1
		done
		[ "$(grep -c "packets received by filter" "$1")" -gt "$reports" ] || return 1
		n=$(counter "$1" "packets captured")
		[ "$n" -ge "$2" ] && return 0
	done
	return 1
}
gen() { in_a "$BUILD/ringcap-gen" -i "$IF_A" -n "$1" -s 200 --flows 4 -r 20000 -q --duration 10; }

ringcap_start "$TMP/u.log" -i "$IF_B" -w "$TMP/u.pcap" -T 2 || fail "start: $(cat "$TMP/u.log")"
gen 1000
usr1_until "$TMP/u.log" 1000 || true
kill -0 "$RC_PID" 2>/dev/null || fail "SIGUSR1 ended the capture: $(cat "$TMP/u.log")"
grep -q "packets received by filter" "$TMP/u.log" || fail "SIGUSR1 printed nothing: $(cat "$TMP/u.log")"
got=$(counter "$TMP/u.log" "packets received by filter")
[ "$got" -ge 1000 ] || fail "SIGUSR1: received $got, 1000 were sent"
gen 500
usr1_until "$TMP/u.log" 1500 || true
ringcap_stop
[ "$RC_STATUS" -eq 0 ] || fail "exit $RC_STATUS: $(cat "$TMP/u.log")"
n=$(pcap_count "$TMP/u.pcap") || fail "$n"
[ "$n" -eq 1500 ] || fail "after SIGUSR1 the file holds $n records, 1500 were sent"
# one report per SIGUSR1, and the exit report
[ "$(grep -c "packets received by filter" "$TMP/u.log")" -eq $((USR1_SENT + 1)) ] ||
	fail "want the report $((USR1_SENT + 1)) times ($USR1_SENT SIGUSR1 and the exit): $(cat "$TMP/u.log")"
echo "ok: SIGUSR1 printed the counters, the capture went on ($n records)"

for sig in HUP USR2 QUIT; do
	ringcap_start "$TMP/$sig.log" -i "$IF_B" -w "$TMP/$sig.pcap" -T 2 || fail "start: $(cat "$TMP/$sig.log")"
	gen 700
	wait_captured "$TMP/$sig.log" 700 30 || true
	kill -"$sig" "$RC_PID"; wait "$RC_PID"; rc=$?; RC_PID=
	[ $rc -eq 0 ] || fail "SIG$sig: exit $rc: $(cat "$TMP/$sig.log")"
	n=$(pcap_count "$TMP/$sig.pcap") || fail "SIG$sig: $n"
	[ "$n" -eq 700 ] || fail "SIG$sig: $n records, 700 were sent"
	[ "$(counter "$TMP/$sig.log" "packets captured")" -eq 700 ] || fail "SIG$sig: $(cat "$TMP/$sig.log")"
	echo "ok: SIG$sig ends the capture with a valid file of $n records"
done
