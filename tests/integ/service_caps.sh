#!/usr/bin/env bash
# What ringcap@.service gives ringcap is enough to capture: an unprivileged
# user (nobody) with only CAP_NET_RAW, CAP_NET_ADMIN and CAP_IPC_LOCK as
# ambient capabilities, the same bounding set and no_new_privs (setpriv plays
# systemd's part) captures every frame the peer sends, into a directory of
# its own, with 2 workers in a fanout group and locked rings. Control: the
# same user without CAP_NET_RAW is refused with exit 2 and creates no file.
source "$(dirname "$0")/../lib/testbed.sh"
need_root
need_cmd setpriv
need_cmd tcpdump
testbed_up || fail "testbed"
dir=$(mktemp -d /tmp/ringcap-caps.XXXXXX); TB_EXTRA_CLEANUP="rm -rf $dir"
chown 65534:65534 "$dir"
N=2000

# The unit's sandbox for the capture itself. An array, not a function: a
# function started with & is a subshell, and $! would not be ringcap (ip netns
# exec and setpriv both exec, so here it is).
sandbox() { # CAPS
	SANDBOX=(ip netns exec "$NS_B" setpriv --reuid=65534 --regid=65534 --clear-groups
		--inh-caps="-all,$1" --ambient-caps="-all,$1" --bounding-set="-all,$1"
		--no-new-privs -- "$BUILD/ringcap")
}

sandbox +net_raw,+net_admin,+ipc_lock
"${SANDBOX[@]}" -i "$IF_B" -w "$dir/cap.pcap" -T 2 ether src "$MAC_A" 2>"$dir/rc.log" &
RC_PID=$!
for _ in $(seq 100); do
	grep -q "listening on" "$dir/rc.log" && break
	kill -0 "$RC_PID" 2>/dev/null || break
	sleep 0.05
done
grep -q "listening on" "$dir/rc.log" || fail "ringcap did not start as the service user: $(cat "$dir/rc.log")"
# CAP_NET_ADMIN 12, CAP_NET_RAW 13, CAP_IPC_LOCK 14: nothing else, effective
grep -qx $'CapEff:\t0000000000007000' "/proc/$RC_PID/status" ||
	fail "capabilities of the capture: $(grep ^Cap "/proc/$RC_PID/status")"
grep -q $'^Uid:\t65534\t65534\t65534\t65534' "/proc/$RC_PID/status" || fail "ringcap does not run as nobody"

in_a "$BUILD/ringcap-gen" -i "$IF_A" -n $N --sizes 60,1514 --flows 16 -r 20000 --duration 20 -q ||
	fail "generator failed"
sleep 0.3
ringcap_stop
cat "$dir/rc.log"
[ "$RC_STATUS" -eq 0 ] || fail "ringcap exit $RC_STATUS as the service user"
captured=$(counter "$dir/rc.log" "packets captured")
dropped=$(counter "$dir/rc.log" "packets dropped by kernel")
[ "$((captured + dropped))" -eq $N ] || fail "captured $captured + dropped $dropped != $N"
n=$(pcap_count "$dir/cap.pcap") || fail "libpcap: $n"
[ "$n" -eq "$captured" ] || fail "file holds $n, ringcap says $captured"
[ "$(stat -c %u "$dir/cap.pcap")" = 65534 ] || fail "the file is not the service user's"
echo "ok: as nobody with the unit's three capabilities: $captured of $N captured ($dropped dropped)"

# control: without CAP_NET_RAW the same start is refused, nothing created
sandbox +net_admin,+ipc_lock
"${SANDBOX[@]}" -i "$IF_B" -w "$dir/no.pcap" -T 2 2>"$dir/no.log"
rc=$?
[ $rc -eq 2 ] || fail "without CAP_NET_RAW: exit $rc, want 2: $(cat "$dir/no.log")"
[ ! -e "$dir/no.pcap" ] || fail "without CAP_NET_RAW a file was created"
echo "ok: without CAP_NET_RAW: exit 2, $(head -n1 "$dir/no.log")"
