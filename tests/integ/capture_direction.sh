#!/usr/bin/env bash
# -Q: traffic both ways on one veth end, 300 frames in from the peer (UDP to
# port 9) and 200 out of the capture side (UDP to port 7). Three captures at
# once: -Q in holds exactly the 300, -Q out exactly the 200, -Q inout all 500;
# the kernel counts only what each keeps. -Q inout runs two workers (the
# direction test in front of each fanout socket's filter, the merge after).
source "$(dirname "$0")/../lib/testbed.sh"
need_root
need_cmd tcpdump
testbed_start capture_direction

start() { # NAME ringcap-args...
	local name=$1; shift
	ip netns exec "$NS_B" "$BUILD/ringcap" -i "$IF_B" -w "$TMP/$name.pcap" -T 1 "$@" udp \
		2>"$TMP/$name.log" &
	eval "PID_$name=$!"
	for _ in $(seq 600); do
		grep -qs "listening on" "$TMP/$name.log" && return 0
		sleep 0.05
	done
	fail "ringcap $name did not start: $(cat "$TMP/$name.log")"
}
start in -Q in
start out --direction out
start inout -Q inout -T 2 --workers fixed
TB_EXTRA_CLEANUP="kill -INT $PID_in $PID_out $PID_inout 2>/dev/null"

in_a "$BUILD/ringcap-gen" -i "$IF_A" -n 300 --dst-port 9 -q || fail "generator in"
in_b "$BUILD/ringcap-gen" -i "$IF_B" -n 200 --dst-port 7 --src-ip "$IP_B" --dst-ip "$IP_A" -q ||
	fail "generator out"
declare -A want=([in]=300 [out]=200 [inout]=500)
for name in in out inout; do
	pid=PID_$name
	RC_PID=${!pid} wait_captured "$TMP/$name.log" "${want[$name]}" 30 || true
	kill -INT "${!pid}"
	wait "${!pid}" || fail "ringcap -Q $name: exit $?"
	cat "$TMP/$name.log"
done

# the banner says the direction given, and "1 worker" for one
grep -q "; 1 worker, .*; direction in$" "$TMP/in.log" || fail "-Q in banner: $(head -1 "$TMP/in.log")"
grep -q "; direction out$" "$TMP/out.log" || fail "--direction out banner: $(head -1 "$TMP/out.log")"
grep -q "; 2 workers, " "$TMP/inout.log" || fail "-T 2 banner: $(head -1 "$TMP/inout.log")"

check() { # NAME PORT9 PORT7
	local n9 n7 all
	n9=$(tcpdump -r "$TMP/$1.pcap" -nn 'udp dst port 9' 2>/dev/null | wc -l)
	n7=$(tcpdump -r "$TMP/$1.pcap" -nn 'udp dst port 7' 2>/dev/null | wc -l)
	all=$(pcap_count "$TMP/$1.pcap")
	[ "$n9" -eq "$2" ] && [ "$n7" -eq "$3" ] && [ "$all" -eq $(($2 + $3)) ] ||
		fail "-Q $1: $n9 in, $n7 out, $all in all; want $2 in, $3 out"
	[ "$(counter "$TMP/$1.log" "packets received by filter")" -eq $(($2 + $3)) ] ||
		fail "-Q $1: the kernel filter passed other than $(($2 + $3))"
	echo "ok: -Q $1: $n9 received, $n7 sent"
}
check in 300 0
check out 0 200
check inout 300 200
