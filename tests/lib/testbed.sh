# Sourced by integration tests and benches: a two-host testbed in network namespaces.
#
#   testbed_up            creates namespaces $NS_A and $NS_B joined by veth $IF_A <-> $IF_B,
#                         $IP_A/24 on A and $IP_B/24 on B (198.18.0.0/15 only), both links up,
#                         and installs an EXIT trap that removes them whatever happens.
#   testbed_start NAME    a scratch folder $TMP (/tmp/NAME.XXXXXX) and testbed_up; the
#                         EXIT trap removes both. Extra clean-up: set TB_EXTRA_CLEANUP.
#   testbed_pair2         a second veth pair, $IF_A2 (198.18.1.1/24) <-> $IF_B2 (198.18.1.2/24).
#   in_a CMD... / in_b CMD...   run a command inside A or B.
#
# Names carry the caller's pid so tests may run side by side. Traffic never leaves
# the two namespaces: nothing here touches eth0 or the root namespace's routes.

TB_ID=${TB_ID:-$$}
NS_A=rca$TB_ID
NS_B=rcb$TB_ID
IF_A=va$TB_ID
IF_B=vb$TB_ID
IP_A=${IP_A:-198.18.0.1}
IP_B=${IP_B:-198.18.0.2}

testbed_down() {
	# a ringcap that a failing test left running goes first
	[ -n "${RC_PID:-}" ] && kill -INT "$RC_PID" 2>/dev/null && wait "$RC_PID" 2>/dev/null
	[ -n "${TD_PID:-}" ] && kill "$TD_PID" 2>/dev/null
	ip netns del "$NS_A" 2>/dev/null
	ip netns del "$NS_B" 2>/dev/null
	return 0
}

testbed_up() {
	trap 'testbed_down; eval "${TB_EXTRA_CLEANUP:-true}"; [ -z "${TB_TMP:-}" ] || rm -rf "$TB_TMP"' EXIT
	trap 'exit 130' INT TERM
	ip netns add "$NS_A" || return 1
	ip netns add "$NS_B" || return 1
	ip link add "$IF_A" netns "$NS_A" type veth peer name "$IF_B" netns "$NS_B" || return 1
	ip -n "$NS_A" addr add "$IP_A/24" dev "$IF_A" || return 1
	ip -n "$NS_B" addr add "$IP_B/24" dev "$IF_B" || return 1
	ip -n "$NS_A" link set lo up
	ip -n "$NS_B" link set lo up
	ip -n "$NS_A" link set "$IF_A" up || return 1
	ip -n "$NS_B" link set "$IF_B" up || return 1
	# IPv6 DAD and router solicitations would add frames nobody asked for.
	ip netns exec "$NS_A" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 2>/dev/null
	ip netns exec "$NS_B" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 2>/dev/null
	# Segmentation offloads (veth has TSO and GSO on) would have the stack
	# hand the capture packets no wire carries, and ringcap warn about it.
	ip netns exec "$NS_A" ethtool -K "$IF_A" gso off tso off gro off >/dev/null 2>&1
	ip netns exec "$NS_B" ethtool -K "$IF_B" gso off tso off gro off >/dev/null 2>&1
	MAC_A=$(cat "/sys/class/net/$IF_A/address" 2>/dev/null || ip netns exec "$NS_A" cat "/sys/class/net/$IF_A/address")
	MAC_B=$(ip netns exec "$NS_B" cat "/sys/class/net/$IF_B/address")
	export NS_A NS_B IF_A IF_B IP_A IP_B MAC_A MAC_B
}

# A second veth pair between the two namespaces, removed with them:
# $IF_A2 198.18.1.1/24 in A <-> $IF_B2 198.18.1.2/24 in B, up, offloads off.
testbed_pair2() {
	IF_A2=vc$TB_ID
	IF_B2=vd$TB_ID
	ip link add "$IF_A2" netns "$NS_A" type veth peer name "$IF_B2" netns "$NS_B" || return 1
	ip -n "$NS_A" addr add 198.18.1.1/24 dev "$IF_A2" && ip -n "$NS_B" addr add 198.18.1.2/24 dev "$IF_B2" &&
		ip -n "$NS_A" link set "$IF_A2" up && ip -n "$NS_B" link set "$IF_B2" up || return 1
	ip netns exec "$NS_A" ethtool -K "$IF_A2" gso off tso off gro off >/dev/null 2>&1
	ip netns exec "$NS_B" ethtool -K "$IF_B2" gso off tso off gro off >/dev/null 2>&1
	export IF_A2 IF_B2
}

testbed_start() {
	TMP=$(mktemp -d "/tmp/$1.XXXXXX") || fail "mktemp"
	TB_TMP=$TMP
	RC_PID=
	testbed_up || fail "testbed_up"
}

in_a() { ip netns exec "$NS_A" "$@"; }
in_b() { ip netns exec "$NS_B" "$@"; }

# Test verdicts, kernel-selftest style: 0 pass, 1 fail, 77 skip.
fail() { echo "FAIL: $*" >&2; exit 1; }
skip() { echo "SKIP: $*" >&2; exit 77; }
need_root() { [ "$(id -u)" -eq 0 ] || skip "needs root"; }
need_cmd() { # CMD...: skip unless every one is installed
	local c
	for c in "$@"; do command -v "$c" >/dev/null 2>&1 || skip "$c not installed"; done
}
# Crafted frames from a raw socket (tests/lib/l2send.py), their answers read
# with tcpdump: sets L2SEND.
need_l2send() {
	need_cmd python3
	need_cmd tcpdump
	L2SEND=$(dirname "${BASH_SOURCE[0]}")/l2send.py
}

# One line per packet: its bytes in hex, no timestamp. Sorted output of two
# files compares packet multisets, independent of order across workers.
#   pcap_hexlines FILE [tcpdump filter...]
pcap_hexlines() {
	local f=$1; shift
	tcpdump -r "$f" -nn -t -xx "$@" 2>/dev/null | awk '
		/^\t0x[0-9a-f]+:/ { sub(/^\t0x[0-9a-f]+:[ ]+/, ""); gsub(/ /, ""); cur = cur $0; next }
		{ if (started) print cur; cur = ""; started = 1 }
		END { if (started) print cur }'
}

# Count of records libpcap reads from FILE (tcpdump -r), "ERR" if it complains.
pcap_count() {
	local out
	out=$(tcpdump -r "$1" -nn -q 2>&1 >/dev/null | grep -v '^reading from file') && true
	if [ -n "$out" ]; then echo "ERR: $out"; return 1; fi
	tcpdump -r "$1" -nn -q 2>/dev/null | wc -l
}

# Start ringcap in namespace B in the background; sets RC_PID, waits until it
# listens (returns as soon as it does; the 30 s bound is for a slow sanitizer
# build on a loaded machine). ip netns exec execs, so RC_PID is ringcap itself
# and SIGINT reaches it.
#   ringcap_start LOGFILE ringcap-args...
ringcap_start() {
	local log=$1; shift
	ip netns exec "$NS_B" "$BUILD/ringcap" "$@" 2>"$log" &
	RC_PID=$!
	wait_listening "$log" "$RC_PID"
}

# Until LOG shows ringcap's banner (30 s at most); 1 if it never does or
# PID (when given) ended first.
wait_listening() { # LOG [PID]
	for _ in $(seq 600); do
		grep -qs "listening on" "$1" && return 0
		[ -z "${2:-}" ] || kill -0 "$2" 2>/dev/null || return 1
		sleep 0.05
	done
	return 1
}

# SIGINT ringcap and wait for it; sets RC_STATUS.
ringcap_stop() {
	kill -INT "$RC_PID" 2>/dev/null
	wait "$RC_PID"
	RC_STATUS=$?
	RC_PID=
}

# tcpdump on A's veth into $TMP/NAME.pcap until peer_capture_stop; sets TD_PID
# and TD_FILE. --immediate-mode: libpcap hands each packet over as it comes
# (not a block up to a second late), -U: tcpdump writes it out at once. Its
# ring slots are sized by the snapshot length: -s 1600 (a whole frame, tags
# too) and -B 8192 give thousands, so a tcpdump that waits for the CPU on a
# loaded machine drops nothing.
#   peer_capture_start NAME [tcpdump filter...]
peer_capture_start() {
	local name=$1; shift
	TD_FILE=$TMP/$name.pcap
	ip netns exec "$NS_A" tcpdump -i "$IF_A" -nn --immediate-mode -U -s 1600 -B 8192 -w "$TD_FILE" "$@" \
		2>"$TMP/$name.td" &
	TD_PID=$!
	for _ in $(seq 300); do grep -q "listening on" "$TMP/$name.td" && return 0; sleep 0.1; done
	return 1
}
# Stop tcpdump (it flushes). With N, first wait until its file holds N
# packets whose `tcpdump -e -nn` line matches the extended regex PATTERN (any
# packet without one), for at most 30 s: it returns as soon as they are
# there, and the caller's own checks decide. Without N, give the last
# answers a second.
#   peer_capture_stop [N [PATTERN]]
peer_capture_stop() {
	if [ -n "${1:-}" ]; then
		for _ in $(seq 150); do
			[ "$(tcpdump -r "$TD_FILE" -e -nn 2>/dev/null | grep -cE -- "${2:-.}")" -ge "$1" ] &&
				break
			sleep 0.2
		done
	else
		sleep 1
	fi
	kill "$TD_PID" 2>/dev/null; wait "$TD_PID" 2>/dev/null; TD_PID=
}

# ringcap in B with ARGS must exit 2 with one line on stderr holding NEEDLE,
# and create no -w file.   expect_exit2 NEEDLE ARGS...
expect_exit2() {
	local needle=$1 rc lines; shift
	rm -f "$TMP/bad.pcap"
	ip netns exec "$NS_B" "$BUILD/ringcap" -i "$IF_B" -w "$TMP/bad.pcap" "$@" >"$TMP/ctl.out" 2>"$TMP/ctl.err"
	rc=$?
	lines=$(wc -l <"$TMP/ctl.err")
	[ "$rc" -eq 2 ] || fail "ringcap $* exited $rc, want 2"
	[ "$lines" -eq 1 ] || fail "ringcap $* printed $lines lines on stderr, want 1: $(cat "$TMP/ctl.err")"
	grep -qF -- "$needle" "$TMP/ctl.err" || fail "ringcap $*: does not name $needle: $(cat "$TMP/ctl.err")"
	[ -e "$TMP/bad.pcap" ] && fail "ringcap $* created its -w file"
	echo "ok: $* -> exit 2: $(cat "$TMP/ctl.err")"
}

# Ask ringcap for its counters (SIGUSR1) until "packets captured" (handed to
# the writer) reaches N, for at most SECONDS (10): the packets sent so far are
# past the rings. A signal sent just before (SIGHUP) is handled first: main
# takes pending signals lowest number first. 1 if it never got there.
wait_captured() { # LOG N [SECONDS]
	local n
	for _ in $(seq $((${3:-10} * 10))); do
		kill -USR1 "$RC_PID" 2>/dev/null || return 1
		sleep 0.1
		n=$(awk '/ packets captured$/ { v = $1 } END { print v + 0 }' "$1")
		[ "$n" -ge "$2" ] && return 0
	done
	return 1
}

# Like wait_captured, until captured + dropped by kernel reaches N (at most
# SECONDS, 30): every frame sent so far is accounted for, captured or counted
# as a drop. 1 if it never got there; callers go on (|| true) and check the
# accounting of the exit report.
wait_accounted() { # LOG N [SECONDS]
	local n
	for _ in $(seq $((${3:-30} * 10))); do
		kill -USR1 "$RC_PID" 2>/dev/null || return 1
		sleep 0.1
		n=$(awk '/ packets captured$/ { c = $1 } / packets dropped by kernel$/ { d = $1 }
			END { print c + d }' "$1")
		[ "$n" -ge "$2" ] && return 0
	done
	return 1
}

# The number before a counter line of ringcap's exit report: the last such
# line, as reports asked for with SIGUSR1 (wait_captured) come before it.
counter() { # LOG "packets captured"
	awk -v k="$2" 'index($0, k) { v = $1 } END { print v }' "$1"
}
