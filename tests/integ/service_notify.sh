#!/usr/bin/env bash
# The service manager's notifications (Type=notify, sd_notify(3)'s protocol):
# a listener plays systemd's part on a unix datagram socket. READY=1 comes
# once, and only when the capture file exists (and after -Z dropped
# privileges: the socket was reached before); STATUS= lines name the
# interface and the counters; WATCHDOG=1 comes at half of WATCHDOG_USEC (at
# least 2 within 2 s for WATCHDOG_USEC=1s), not when WATCHDOG_PID names
# another process; STOPPING=1 comes last, after a SIGTERM. An abstract socket
# ('@name') works the same. Without NOTIFY_SOCKET nothing is sent and the
# capture runs as before.
source "$(dirname "$0")/../lib/testbed.sh"
need_root
need_cmd python3
testbed_start service_notify
LISTEN=$(dirname "$0")/../lib/notify_listen.py

# run_notified NAME SOCKET WATCHDOG_PID_MODE [ringcap args...]: ringcap for
# about 3 s with NOTIFY_SOCKET=SOCKET and WATCHDOG_USEC=1s, then SIGTERM.
# WATCHDOG_PID is ringcap's own pid ("self") or another ("other").
run_notified() {
	local name=$1 sock=$2 pidmode=$3; shift 3
	in_b python3 "$LISTEN" "$sock" "$TMP/$name.msgs" "$TMP/$name.pcap" 6 &
	local lpid=$!
	for _ in $(seq 50); do [ -s "$TMP/$name.msgs" ] && break; sleep 0.05; done
	[ -s "$TMP/$name.msgs" ] || fail "$name: the listener did not start"
	# sh's pid is ringcap's: sh execs ip netns exec, which execs ringcap.
	NOTIFY_SOCKET=$sock WATCHDOG_USEC=1000000 MODE=$pidmode \
		sh -c 'if [ "$MODE" = self ]; then WATCHDOG_PID=$$; else WATCHDOG_PID=1; fi
		       export WATCHDOG_PID; exec "$@"' sh \
		ip netns exec "$NS_B" "$BUILD/ringcap" -i "$IF_B" -w "$TMP/$name.pcap" "$@" \
		2>"$TMP/$name.log" &
	RC_PID=$!
	sleep 3
	kill -TERM "$RC_PID"
	wait "$RC_PID"
	RC_STATUS=$?
	RC_PID=
	# ringcap has exited, so its datagrams are all queued: once the listener
	# has written STOPPING=1, a moment more and it may go (it would run 6 s)
	for _ in $(seq 50); do grep -q 'STOPPING=1' "$TMP/$name.msgs" && break; sleep 0.1; done
	sleep 0.3
	kill "$lpid" 2>/dev/null
	wait "$lpid"
	[ "$RC_STATUS" -eq 0 ] || fail "$name: exit $RC_STATUS: $(cat "$TMP/$name.log")"
	sed -i 1d "$TMP/$name.msgs" # "listening"
}

# the message lines of NAME's datagrams: count those whose text is exactly $2
count() { awk -v m="$2" '{ t = $0; sub(/^[^ ]+ [01] /, "", t) } t == m { n++ } END { print n + 0 }' "$TMP/$1.msgs"; }

check_run() {
	local name=$1 want_wd=$2 msgs=$TMP/$1.msgs
	[ "$(count "$name" READY=1)" -eq 1 ] || fail "$name: want one READY=1: $(cat "$msgs")"
	grep -q '^[0-9.]* 1 READY=1$' "$msgs" || fail "$name: READY=1 before the file existed: $(cat "$msgs")"
	[ "$(head -n 1 "$msgs" | cut -d' ' -f3-)" = READY=1 ] || fail "$name: READY=1 is not first: $(cat "$msgs")"
	[ "$(tail -n 1 "$msgs" | cut -d' ' -f3-)" = STOPPING=1 ] || fail "$name: STOPPING=1 is not last: $(cat "$msgs")"
	[ "$(count "$name" STOPPING=1)" -eq 1 ] || fail "$name: want one STOPPING=1: $(cat "$msgs")"
	grep -q "STATUS=capturing on $IF_B: [0-9]* packets/s, [0-9]* captured, 1 files, 0 dropped by kernel, 0 dropped by interface\$" \
		"$msgs" || fail "$name: no STATUS= line: $(cat "$msgs")"
	local wd ready
	wd=$(count "$name" WATCHDOG=1)
	if [ "$want_wd" = yes ]; then
		# in the 2 s after READY=1: at least 2 (every 0.5 s asked)
		ready=$(awk '$3 == "READY=1" { print $1 }' "$msgs")
		in2=$(awk -v r="$ready" '$3 == "WATCHDOG=1" && $1 <= r + 2 { n++ } END { print n + 0 }' "$msgs")
		[ "$in2" -ge 2 ] || fail "$name: $in2 WATCHDOG=1 within 2 s of READY=1: $(cat "$msgs")"
	else
		[ "$wd" -eq 0 ] || fail "$name: WATCHDOG_PID names another process, yet $wd WATCHDOG=1"
	fi
	echo "ok: $name: READY=1 once the file existed, $(count "$name" STOPPING=1) STOPPING=1 last," \
		"$(grep -c STATUS= "$msgs") STATUS=, $wd WATCHDOG=1"
}

chmod 755 "$TMP"
# A socket only root may reach: -Z nobody still notifies (connected before the drop).
mkdir -m 700 "$TMP/run"
run_notified path "$TMP/run/notify" self -Z nobody --stats-interval 1
check_run path yes
run_notified abstract "@ringcap-test-notify-$$" other --stats-interval 1
check_run abstract no

# Without NOTIFY_SOCKET: nothing sent, capture as before.
in_b python3 "$LISTEN" "$TMP/run/quiet" "$TMP/quiet.msgs" "$TMP/quiet.pcap" 3 &
lpid=$!
for _ in $(seq 50); do [ -s "$TMP/quiet.msgs" ] && break; sleep 0.05; done
ringcap_start "$TMP/quiet.log" -i "$IF_B" -w "$TMP/quiet.pcap" --stats-interval 1 ||
	fail "start: $(cat "$TMP/quiet.log")"
sleep 1.5
ringcap_stop
# what ringcap sent is queued by now: a moment for the listener to write it
sleep 0.3
kill "$lpid" 2>/dev/null
wait "$lpid"
[ "$RC_STATUS" -eq 0 ] || fail "quiet: exit $RC_STATUS"
[ "$(cat "$TMP/quiet.msgs")" = listening ] || fail "datagrams without NOTIFY_SOCKET: $(cat "$TMP/quiet.msgs")"
echo "ok: no datagram without NOTIFY_SOCKET"
exit 0
