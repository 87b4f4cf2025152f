#!/usr/bin/env bash
# The shipped service starts: `make install DESTDIR=...`, then the installed
# ringcap@.service's ExecStart with the installed example.conf unchanged, run
# the way systemd would run it for the instance ringcap@IFACE: its
# EnvironmentFile's RINGCAP_OPTS split at white space, %i the interface, a
# user of its own (a numeric uid no account has, as the unit's User= is a
# system user this machine need not have), the unit's ambient and bounding
# capabilities, no_new_privs, LimitMEMLOCK, UMask, and its WorkingDirectory
# made as StateDirectory= makes it (owned by the user, StateDirectoryMode).
# setpriv and prlimit play systemd's part. It captures while a peer sends
# 5000 frames, exits 0 on SIGTERM, and leaves a capture file every reader takes,
# holding exactly what it says it captured, JSON counters that agree, and a
# Prometheus file that promtool accepts.
#
# Each setting is read from the installed files, so a unit or config that
# changes is run as changed; a line of the config this test cannot read as
# systemd would fails the test instead of being guessed at.
source "$(dirname "$0")/../lib/testbed.sh"
need_root
need_cmd setpriv
need_cmd prlimit
need_cmd capinfos
need_cmd jq
need_cmd promtool
BUILD=$(cd "${BUILD:-build}" && pwd) || fail "no build directory"
testbed_start service_run
chmod 755 "$TMP"
root=$TMP/root

# -r: the tree is built, and make's built-in rules cost seconds a call here
make -r -s install DESTDIR="$root" PREFIX=/usr BUILD="$BUILD" SANITIZE="${RINGCAP_SANITIZE:-}" >"$TMP/make.log" 2>&1 ||
	fail "make install failed: $(tail -5 "$TMP/make.log")"
unit=$root/usr/lib/systemd/system/ringcap@.service
conf=$root/etc/ringcap/example.conf
key() { sed -n "s/^$1=//p" "$unit" | tail -n 1; }

# EnvironmentFile: KEY=VALUE or KEY="VALUE" lines, comments, blank lines.
opts=
while IFS= read -r line; do
	case $line in
	'' | '#'*) ;;
	RINGCAP_OPTS=\"*\") opts=${line#RINGCAP_OPTS=\"}; opts=${opts%\"} ;;
	RINGCAP_OPTS=*) opts=${line#RINGCAP_OPTS=} ;;
	*) fail "example.conf: a line this test cannot read as systemd would: $line" ;;
	esac
done <"$conf"
[ -n "$opts" ] || fail "example.conf sets no RINGCAP_OPTS"
case $opts in *\\* | *\'* | *\"*) fail "RINGCAP_OPTS holds quotes or escapes systemd would not split as this test does: $opts" ;; esac

# ExecStart: specifiers, then $RINGCAP_OPTS split at white space.
exec_line=$(key ExecStart)
[ -n "$exec_line" ] || fail "the unit has no ExecStart"
read -r -a words <<<"$exec_line"
cmd=()
for w in "${words[@]}"; do
	case $w in
	'$RINGCAP_OPTS') read -r -a o <<<"$opts"; cmd+=("${o[@]}") ;;
	*'$'*) fail "ExecStart uses a variable this test does not set: $w" ;;
	*) cmd+=("${w//%i/$IF_B}") ;;
	esac
done
[ "${cmd[0]}" = /usr/sbin/ringcap ] || fail "ExecStart runs ${cmd[0]}, want /usr/sbin/ringcap"
cmd[0]=$root/usr/sbin/ringcap

# The unit's process: user, capabilities, limits, umask, working directory.
[ "$(key User)" = ringcap ] || fail "User=$(key User)"
uid=64000
while getent passwd "$uid" >/dev/null || getent group "$uid" >/dev/null; do uid=$((uid + 1)); done
caps=$(key AmbientCapabilities | tr 'A-Z' 'a-z' | sed 's/cap_/+/g; s/ /,/g')
[ "$(key CapabilityBoundingSet | tr 'A-Z' 'a-z' | sed 's/cap_/+/g; s/ /,/g')" = "$caps" ] ||
	fail "bounding set and ambient capabilities differ; this test runs both as one"
[ "$(key NoNewPrivileges)" = yes ] || fail "NoNewPrivileges=$(key NoNewPrivileges)"
memlock=$(key LimitMEMLOCK); [ "$memlock" = infinity ] && memlock=unlimited
umask_=$(key UMask)
workdir=$(key WorkingDirectory)
[ "$workdir" = '%S/ringcap/%i' ] && [ "$(key StateDirectory)" = 'ringcap/%i' ] ||
	fail "WorkingDirectory=$workdir StateDirectory=$(key StateDirectory): not the state directory"
state=$TMP/state/ringcap/$IF_B
install -d -m "$(key StateDirectoryMode)" -o "$uid" -g "$uid" "$state" || fail "state directory"
# LimitMEMLOCK needs CAP_SYS_RESOURCE, which a container may not have;
# CAP_IPC_LOCK (the unit's) lets ringcap lock its rings past any limit anyway.
limit=(prlimit --memlock="$memlock:$memlock")
"${limit[@]}" true 2>/dev/null || { limit=(); memlock="$(ulimit -l) (cannot raise it here)"; }
echo "ok: ${cmd[*]#"$root"}  (uid $uid, caps $caps, memlock $memlock, umask $umask_)"

ip netns exec "$NS_B" "${limit[@]}" \
	setpriv --reuid="$uid" --regid="$uid" --clear-groups --inh-caps="-all,$caps" \
	--ambient-caps="-all,$caps" --bounding-set="-all,$caps" --no-new-privs -- \
	env -i -C "$state" sh -c 'umask "$0"; exec "$@"' "$umask_" "${cmd[@]}" \
	>"$TMP/out.log" 2>"$TMP/rc.log" &
RC_PID=$!
for _ in $(seq 100); do
	compgen -G "$state/cap-*.pcap" >/dev/null && break
	kill -0 "$RC_PID" 2>/dev/null || break
	sleep 0.05
done
kill -0 "$RC_PID" 2>/dev/null || { wait "$RC_PID"; fail "the service exited $? at start: $(cat "$TMP/rc.log")"; }
compgen -G "$state/cap-*.pcap" >/dev/null || fail "no capture file in the working directory: $(cat "$TMP/rc.log")"

N=5000 # 1 s at 5,000 frames/s, stopped by the generator itself
in_a "$BUILD/ringcap-gen" -i "$IF_A" -n $N -s 200 --flows 8 -r 5000 --duration 20 -q || fail "generator failed"
wait_captured "$TMP/rc.log" $N 10 || true
kill -TERM "$RC_PID"
wait "$RC_PID"
rc=$?
RC_PID=
cat "$TMP/rc.log"
[ $rc -eq 0 ] || fail "the service exited $rc on SIGTERM: $(cat "$TMP/rc.log")"

captured=$(counter "$TMP/rc.log" "packets captured")
dropped=$(counter "$TMP/rc.log" "packets dropped by kernel")
[ -n "$captured" ] && [ "$((captured + dropped))" -ge $N ] ||
	fail "captured $captured + dropped $dropped < $N sent"
files=("$state"/cap-*.pcap)
total=0
for f in "${files[@]}"; do
	[ "$(stat -c %u "$f")" = "$uid" ] || fail "$f is not the service user's"
	[ "$(stat -c %a "$f")" = 640 ] || fail "$f has mode $(stat -c %a "$f") (UMask $umask_)"
	n=$(pcap_count "$f") || fail "libpcap: $n"
	capinfos "$f" >/dev/null 2>&1 || fail "capinfos rejects $f"
	total=$((total + n))
done
[ "$total" -eq "$captured" ] || fail "the files hold $total records, ringcap says $captured"
[ "$(jq .captured "$state/stats.json")" -eq "$captured" ] || fail "stats.json: $(cat "$state/stats.json")"
out=$(promtool check metrics <"$state/stats.prom" 2>&1) && [ -z "$out" ] || fail "promtool: $out"
grep -q "^ringcap_packets_received_total{interface=\"$IF_B\"}" "$state/stats.prom" ||
	fail "stats.prom does not name $IF_B: $(head -3 "$state/stats.prom")"
echo "ok: as the unit runs it: exit 0 on SIGTERM, ${#files[@]} file(s) with $total records = captured, JSON and Prometheus files"

# The unit grants no CAP_SYS_NICE and sets RestrictRealtime=: the ARP
# responder's SCHED_FIFO is refused there, and ringcap must still start,
# answer at normal priority, and say once how to get real-time answers.
rm -f "$state"/cap-*.pcap*
ip netns exec "$NS_B" "${limit[@]}" \
	setpriv --reuid="$uid" --regid="$uid" --clear-groups --inh-caps="-all,$caps" \
	--ambient-caps="-all,$caps" --bounding-set="-all,$caps" --no-new-privs -- \
	env -i -C "$state" sh -c 'umask "$0"; exec "$@"' "$umask_" \
	"${cmd[0]}" --arp 198.18.0.77 --duration 1 "${cmd[@]:1}" >"$TMP/out.log" 2>"$TMP/arp.log"
rc=$?
[ $rc -eq 0 ] || fail "with --arp as the unit runs it: exit $rc: $(cat "$TMP/arp.log")"
[ "$(grep -c 'no SCHED_FIFO' "$TMP/arp.log")" -eq 1 ] && grep -q 'RestrictRealtime=no' "$TMP/arp.log" ||
	fail "with --arp as the unit runs it, want one line on SCHED_FIFO naming RestrictRealtime: $(cat "$TMP/arp.log")"
echo "ok: --arp as the unit runs it: exit 0, $(grep 'no SCHED_FIFO' "$TMP/arp.log")"
