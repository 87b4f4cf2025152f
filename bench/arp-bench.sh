#!/usr/bin/env bash
# arp-bench.sh — the --arp section of ringcap-bench: four ARP responders, one flood.
#
#   bash bench/arp-bench.sh [--build DIR] [--out DIR] [--packets N] [--rates LIST]
#                           [--arms LIST] [--mix I:O:B]
#
# What one run is. Two network namespaces joined by a veth pair (tests/lib/testbed.sh,
# 198.18.0.0/15 only, removed on exit or interrupt). The responder under test answers
# in B for the pool 198.18.16.0/22 (1024 addresses: farpd must be warmed up address
# by address and handles no more in reasonable time). From A, bench/arp-flood (pinned
# to CPU 0, PACKET_TX_RING with QDISC_BYPASS) sends exactly --packets frames at each rate
# of --rates ("max" is the generator's ceiling): in cycles of I:O:B (--mix, default
# 4:1:2), I ARP requests walking the pool, O requests walking 198.18.40.0/24 (outside
# it) and B bulk UDP frames of 512 bytes to a MAC nobody owns. arp-flood receives the
# replies on A with a TPACKET_V3 ring and matches each to its request by target
# address (latency = the kernel's receive timestamp of the reply minus the time the
# request was handed to the kernel): what the peer really gets, whoever sent it.
#
# Arms (--arms, default all, in this order):
#   classic   tools/arp-classic: one AF_PACKET socket, classic BPF filter, one
#             recvfrom() + one sendto() per request (the baseline). Pinned to CPU 1.
#   ringcap   ringcap -i IF --arp POOL, default settings: its responder thread
#             (a TPACKET_V2 RX ring, woken per request when idle, drained in
#             batches under a flood, checked for 50 us after each batch before
#             sleeping while a flood lasts; replies through a TX ring, one
#             send() per batch; SCHED_FIFO priority 10), placed by the scheduler.
#   ringcap1  the same under taskset -c 1: the thread runs on CPU 1, as
#             arp-classic does.
#   ringcap-nort  default placement, --arp-priority 0: normal scheduling, to
#             show what the real-time priority buys.
#   ringcap1-nobusy  as ringcap1 with --arp-busy-poll 0: the thread sleeps
#             whenever its ring is empty, also under a flood, to show what
#             busy-polling buys (each sleep costs the sender's CPU a wake-up).
#   farpd     Debian's farpd, pinned to CPU 1. It answers an address only after its
#             own two probes for it go unanswered, so every pool address is warmed
#             up first, once for all rates (one request each at 500/s, 5 s for its
#             probes, a second request each, whose answers are reported in the
#             note); one farpd serves all rates; it sends its replies to the
#             broadcast address (Linux takes those in; iputils arping does not), and
#             arp-flood counts them. It answers more slowly than the flood comes
#             back to an address, so its answers are matched to newer requests
#             than theirs: its latencies are lower bounds.
#   proxy     the kernel's proxy ARP in B: ip_forward=1, proxy_arp=1 and
#             proxy_delay=0 on B's veth, the pool routed through a second veth pair
#             inside B. It runs in softirq on the sender's CPU (veth).
#
# Rates: frames/s, "max" (the generator's ceiling), or "proxy": the frames/s
# the proxy arm's generator reached at "max" in this same run (the proxy arm at
# max then runs first), so every arm is offered what the kernel kept up with.
# "lone" is no flood: iputils arping sends --lone N requests (default 20), one
# at a time, to one pool address; p50/p99/max are arping's own round trips.
#
# Reported per arm x rate (table on stdout, arp.csv and arp.json in --out):
#   fps          frames per second the generator really sent (all kinds)
#   in / out     in-pool and out-of-pool requests offered
#   answered     in-pool requests answered (unique), and as % of offered
#   wrong        replies for out-of-pool addresses, or from a MAC other than B's
#   dup          replies that matched no outstanding request
#   kdrops       the kernel's drops for the responder's socket(s) (PACKET_STATISTICS:
#                ringcap's --stats-json, arp-classic's own); n/a for farpd (inside
#                libpcap) and the kernel (no socket)
#   sent         replies the responder says it sent (n/a for farpd and the kernel)
#   replies/s    replies received over the span first request .. last reply
#   p50/p99/max  reply latency in microseconds, measured on the peer
#   ambiguous    (CSV/JSON) answers matched while several requests for the same
#                address were outstanding: their latency is a best guess
#
# Every load loop is bounded: arp-flood by --packets and --duration 20 s, each
# warm-up by its packet count, each responder by SIGINT/SIGTERM (then SIGKILL).
# Needs root. Exit status: 0 done, 1 failure, 2 bad arguments.
set -u -o pipefail

PROG=arp-bench
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)

BUILD=$ROOT/build
OUT=./bench-out
PACKETS=200000
RATES=max,20000
ARMS=classic,ringcap,ringcap1,ringcap1-nobusy,ringcap-nort,farpd,proxy
MIX=4:1:2
LONE=20
PROXY_PPS=
ALL_ARMS=(classic ringcap ringcap1 ringcap1-nobusy ringcap-nort farpd proxy)

POOL_CIDR=198.18.16.0/22
POOL_RANGE=198.18.16.0-198.18.19.255
POOL_SIZE=1024
OUT_RANGE=198.18.40.0-198.18.40.255
GEN_CPU=0
RESP_CPU=1
FLOOD_SECONDS=20

die() { echo "$PROG: $*" >&2; exit 1; }
bad() { echo "$PROG: bad $1 '$2': $3" >&2; exit 2; }
say() { echo "$PROG: $*" >&2; }

usage() {
	cat <<EOF
usage: $PROG [--build DIR] [--out DIR] [--packets N] [--rates LIST] [--arms LIST]
                 [--mix I:O:B] [--lone N]

Floods ARP requests (in-pool, out-of-pool, bulk UDP) at each rate at each responder
(arp-classic, ringcap --arp, farpd, kernel proxy ARP) and reports answered, wrong,
kernel drops, replies/s and latency p50/p99 measured on the requesting peer.

  --build DIR    binaries (default $ROOT/build)
  --out DIR      results: arp.csv, arp.json (default ./bench-out)
  --packets N    frames per run, all kinds (default 200000)
  --rates LIST   frames/s, max, proxy (the proxy arm's ceiling in this run) or
                 lone (arping, one request at a time) (default max,20000)
  --arms LIST    any of: ${ALL_ARMS[*]} (default all)
  --mix I:O:B    in-pool : out-of-pool : bulk frames per cycle (default 4:1:2)
  --lone N       requests per arm for the lone rate (default 20)
example:
  bash bench/arp-bench.sh --packets 100000 --rates max,20000 --arms classic,ringcap
EOF
}

is_uint() { [[ $1 =~ ^[0-9]+$ ]] && [ ${#1} -le 9 ]; }

parse_args() {
	while [ $# -gt 0 ]; do
		local opt=$1 val=${2-}
		case $opt in
		-h | --help) usage; exit 0 ;;
		--build | --out | --packets | --rates | --arms | --mix | --lone)
			[ $# -ge 2 ] || bad option "$opt" "needs a value"
			shift 2 ;;
		*) bad option "$opt" "see --help" ;;
		esac
		case $opt in
		--build) BUILD=$val ;;
		--out) OUT=$val ;;
		--packets)
			{ is_uint "$val" && [ "$val" -ge 1 ] && [ "$val" -le 10000000 ]; } ||
				bad packets "$val" "expected 1..10000000"
			PACKETS=$val ;;
		--rates)
			local r
			for r in ${val//,/ }; do
				[ "$r" = max ] || [ "$r" = proxy ] || [ "$r" = lone ] ||
					{ is_uint "$r" && [ "$r" -ge 1 ]; } ||
					bad rate "$r" "expected frames/s >= 1, max, proxy or lone"
			done
			[ -n "${val//,/}" ] || bad rates "$val" "empty list"
			RATES=$val ;;
		--arms)
			local a
			for a in ${val//,/ }; do
				[[ " ${ALL_ARMS[*]} " == *" $a "* ]] || bad arm "$a" "expected one of: ${ALL_ARMS[*]}"
			done
			[ -n "${val//,/}" ] || bad arms "$val" "empty list"
			ARMS=$val ;;
		--lone)
			{ is_uint "$val" && [ "$val" -ge 1 ] && [ "$val" -le 1000 ]; } ||
				bad lone "$val" "expected 1..1000 requests"
			LONE=$val ;;
		--mix)
			{ [[ $val =~ ^[0-9]{1,4}:[0-9]{1,4}:[0-9]{1,4}$ ]] && [[ $val != 0:* ]]; } ||
				bad mix "$val" "expected I:O:B with I >= 1"
			MIX=$val ;;
		esac
	done
}

jget() { # key file -> the number after "key": (first match)
	sed -n 's/.*"'"$1"'"[[:space:]]*:[[:space:]]*\(-\{0,1\}[0-9.]*\).*/\1/p' "$2" 2>/dev/null | head -n1
}

# ------------------------------------------------------------ responders

RESP_PID=
wait_ready() { # log what
	for _ in $(seq 100); do
		grep -q "listening on" "$1" && return 0
		kill -0 "$RESP_PID" 2>/dev/null || { say "$2 died: $(tail -n2 "$1")"; return 1; }
		sleep 0.1
	done
	say "$2 never became ready: $(tail -n2 "$1")"
	return 1
}

# Stop the responder: SIGINT (ringcap, arp-classic count and exit), then SIGTERM,
# then SIGKILL (farpd ignores both here). Bounded: about 3 s.
stop_resp() {
	local pid=$RESP_PID sig
	RESP_PID=
	[ -n "$pid" ] || return 0
	for sig in INT TERM KILL; do
		kill -"$sig" "$pid" 2>/dev/null || break
		for _ in $(seq 10); do
			kill -0 "$pid" 2>/dev/null || break 2
			sleep 0.1
		done
	done
	{ wait "$pid"; } 2>/dev/null
	return 0
}

proxy_on() {
	in_b ip link add "$PX_A" type veth peer name "$PX_B" || return 1
	in_b ip link set "$PX_A" up && in_b ip link set "$PX_B" up || return 1
	in_b ip route add "$POOL_CIDR" dev "$PX_A" || return 1
	in_b sysctl -qw net.ipv4.ip_forward=1 "net.ipv4.conf.$IF_B.proxy_arp=1" \
		"net.ipv4.neigh.$IF_B.proxy_delay=0" >/dev/null || return 1
}
proxy_off() {
	in_b sysctl -qw "net.ipv4.conf.$IF_B.proxy_arp=0" net.ipv4.ip_forward=0 >/dev/null 2>&1
	in_b ip link del "$PX_A" 2>/dev/null
	return 0
}

# start_arm ARM: the responder runs when this returns 0.
start_arm() {
	local arm=$1 log=$WORK/$1.log
	case $arm in
	classic)
		# ip netns exec and taskset exec, so $! is the responder itself.
		ip netns exec "$NS_B" taskset -c "$RESP_CPU" "$BUILD/arp-classic" -i "$IF_B" \
			--arp "$POOL_CIDR" --json >"$WORK/classic.json" 2>"$log" &
		RESP_PID=$!
		wait_ready "$log" arp-classic ;;
	ringcap)
		ip netns exec "$NS_B" "$BUILD/ringcap" -i "$IF_B" --arp "$POOL_CIDR" \
			--stats-json "$WORK/ringcap.json" 2>"$log" &
		RESP_PID=$!
		wait_ready "$log" ringcap ;;
	ringcap1)
		ip netns exec "$NS_B" taskset -c "$RESP_CPU" "$BUILD/ringcap" -i "$IF_B" \
			--arp "$POOL_CIDR" --stats-json "$WORK/ringcap1.json" 2>"$log" &
		RESP_PID=$!
		wait_ready "$log" ringcap ;;
	ringcap1-nobusy)
		ip netns exec "$NS_B" taskset -c "$RESP_CPU" "$BUILD/ringcap" -i "$IF_B" \
			--arp "$POOL_CIDR" --arp-busy-poll 0 --stats-json "$WORK/ringcap1-nobusy.json" 2>"$log" &
		RESP_PID=$!
		wait_ready "$log" ringcap ;;
	ringcap-nort)
		ip netns exec "$NS_B" "$BUILD/ringcap" -i "$IF_B" --arp "$POOL_CIDR" --arp-priority 0 \
			--stats-json "$WORK/ringcap-nort.json" 2>"$log" &
		RESP_PID=$!
		wait_ready "$log" ringcap ;;
	farpd)
		# One farpd for all rates (stopped by main): warming it up is slow.
		[ -n "$RESP_PID" ] && kill -0 "$RESP_PID" 2>/dev/null && return 0
		ip netns exec "$NS_B" taskset -c "$RESP_CPU" farpd -d -i "$IF_B" "$POOL_CIDR" \
			>"$log" 2>&1 &
		RESP_PID=$!
		disown "$RESP_PID"	# it ends by SIGKILL: no "Killed" line from bash
		wait_ready "$log" farpd || return 1
		farpd_warm_up ;;
	proxy)
		proxy_on || { proxy_off; say "proxy ARP set-up failed"; return 1; } ;;
	esac
}

stop_arm() {
	case $1 in
	farpd) sleep 2 ;;	# its late replies must not land in the next run
	proxy) proxy_off ;;
	*) stop_resp ;;
	esac
	return 0
}

# farpd claims an address only after its own probes for it go unanswered: one
# request per pool address, time for its two probes, then a second request per
# address whose answers tell how warm it is. Slowly: farpd handles a few hundred
# requests a second here and loses the rest in its capture buffer.
FARPD_WARM=
farpd_warm_up() {
	in_a "$BUILD/arp-flood" -i "$IF_A" -n "$POOL_SIZE" -r 500 --arp-in "$POOL_RANGE" \
		--wait 100 --duration 10 -q >/dev/null 2>&1
	sleep 5
	in_a "$BUILD/arp-flood" -i "$IF_A" -n "$POOL_SIZE" -r 500 --arp-in "$POOL_RANGE" \
		--wait 2000 --duration 10 -q >"$WORK/warm.json" 2>/dev/null
	FARPD_WARM="$(jget answered_in "$WORK/warm.json")/$POOL_SIZE"
	say "farpd warm-up: $FARPD_WARM pool addresses answered on the second pass"
}

# ------------------------------------------------------------ one run

CSV_HEAD="arm,rate,packets,fps,offered_in,offered_out,bulk,replies,broadcast_replies,answered,answered_pct,wrong,dup,ambiguous,kernel_drops,responder_sent,replies_per_s,lat_p50_us,lat_p99_us,lat_max_us,peer_rx_drops,status,note"

run_one() { # arm rate
	local arm=$1 rate=$2 flood=$WORK/flood.json wait_ms=1000 note="" status=ok
	local drops=n/a sent=n/a
	rm -f "$flood" "$WORK/$arm.json"
	[ "$arm" = farpd ] && ! command -v farpd >/dev/null && {
		row "$arm" "$rate" "" "not installed" "farpd not installed"; return 0; }
	say "$arm at $rate frames/s: $PACKETS frames"
	if ! start_arm "$arm"; then
		stop_arm "$arm"
		row "$arm" "$rate" "" "failed" "responder did not start"
		return 0
	fi
	[ "$arm" = farpd ] && { wait_ms=3000
		note="warm-up $FARPD_WARM answered; replies broadcast; latency a lower bound"; }
	if [ "$rate" = lone ]; then
		lone_run "$arm"
		stop_arm "$arm"
		return 0
	fi
	local r=$rate
	if [ "$rate" = proxy ]; then
		r=$PROXY_PPS
		note="${note:+$note; }offered $r fps (the proxy arm's ceiling)"
	fi
	in_a "$BUILD/arp-flood" -i "$IF_A" -n "$PACKETS" -r "$r" --arp-in "$POOL_RANGE" \
		--arp-out "$OUT_RANGE" --mix "$MIX" --bulk-size 512 --expect-mac "$MAC_B" --bypass \
		--cpu "$GEN_CPU" --duration "$FLOOD_SECONDS" --wait "$wait_ms" -q \
		>"$flood" 2>"$WORK/flood.err"
	[ -s "$flood" ] || { status=failed; note="arp-flood: $(tail -n1 "$WORK/flood.err")"; }
	stop_arm "$arm"
	case $arm in
	classic) drops=$(jget dropped "$WORK/classic.json"); sent=$(jget replies "$WORK/classic.json") ;;
	ringcap | ringcap1 | ringcap1-nobusy | ringcap-nort)
		drops=$(jget kernel_drops "$WORK/$arm.json"); sent=$(jget replies_sent "$WORK/$arm.json")
		# Replies ringcap built but did not get out: TX ring full, or still
		# refused by the device when it stopped.
		local reqs full
		reqs=$(jget requests_answered "$WORK/$arm.json"); full=$(jget tx_ring_full "$WORK/$arm.json")
		[ -n "$full" ] && [ "$full" != 0 ] && note="$note; TX ring full $full"
		[ -n "$reqs" ] && [ -n "$sent" ] && [ -n "$full" ] &&
			[ $((reqs - sent - full)) -gt 0 ] && note="$note; $((reqs - sent - full)) unsent at exit" ;;
	esac
	[ -n "$drops" ] || drops=n/a
	[ -n "$sent" ] || sent=n/a
	row "$arm" "$rate" "$flood" "$status" "$note" "$drops" "$sent"
}

# lone_run ARM: arping's round trips to one pool address, as one row.
lone_run() {
	local arm=$1 out times n p50='' p99='' max='' ans
	# One arping per request (its -i takes whole seconds): each waits for
	# its reply or 1 s, so requests never overlap.
	out=$(for _ in $(seq "$LONE"); do in_a arping -c 1 -w 1 -I "$IF_A" 198.18.16.77 2>&1; done)
	times=$(sed -n 's/.*reply from .* \([0-9.]*\)ms$/\1/p' <<<"$out" | sort -g)
	n=$(grep -c . <<<"$times")
	[ -n "$times" ] || n=0
	if [ "$n" -gt 0 ]; then
		p50=$(awk -v n="$n" 'NR == int((n + 1) / 2) { printf "%.1f", $1 * 1000 }' <<<"$times")
		p99=$(awk -v n="$n" 'NR == (int(n * 0.99 + 0.999) < 1 ? 1 : int(n * 0.99 + 0.999)) { printf "%.1f", $1 * 1000 }' <<<"$times")
		max=$(tail -n1 <<<"$times" | awk '{ printf "%.1f", $1 * 1000 }')
	fi
	ans=$n
	echo "$arm,lone,$LONE,,$LONE,0,0,$n,,$ans,$(awk -v a="$n" -v o="$LONE" 'BEGIN { printf "%.1f", 100 * a / o }'),,,,n/a,n/a,,$p50,$p99,$max,,ok,\"arping round trips\"" >>"$CSV"
	local sep=""
	[ -s "$JSON_ROWS" ] && sep=","$'\n'
	printf '%s  {"arm":"%s","rate":"lone","packets":%s,"answered":%s,"lat_p50_us":%s,"lat_p99_us":%s,"lat_max_us":%s,"status":"ok","note":"arping round trips"}' \
		"$sep" "$arm" "$LONE" "$n" "$(jnum "$p50")" "$(jnum "$p99")" "$(jnum "$max")" >>"$JSON_ROWS"
}

# row arm rate flood-json status note [drops sent]: one CSV line and one JSON object.
row() {
	local arm=$1 rate=$2 f=$3 status=$4 note=$5 drops=${6:-n/a} sent=${7:-n/a}
	local k v vals=() pct=
	for k in send_pps offered_in offered_out bulk replies broadcast_replies answered_in; do
		v=$([ -n "$f" ] && jget "$k" "$f"); vals+=("$v")
	done
	if [ -n "${vals[1]}" ] && [ "${vals[1]}" -gt 0 ] 2>/dev/null; then
		pct=$(awk -v a="${vals[6]}" -v o="${vals[1]}" 'BEGIN { printf "%.1f", 100 * a / o }')
	fi
	for k in wrong dup_replies ambiguous; do
		v=$([ -n "$f" ] && jget "$k" "$f"); vals+=("$v")
	done
	local rps p50 p99 max rxd sep=""
	[ -s "$JSON_ROWS" ] && sep=","$'\n'
	rps=$([ -n "$f" ] && jget replies_per_s "$f")
	p50=$([ -n "$f" ] && jget lat_us_p50 "$f")
	p99=$([ -n "$f" ] && jget lat_us_p99 "$f")
	max=$([ -n "$f" ] && jget lat_us_max "$f")
	rxd=$([ -n "$f" ] && jget rx_drops "$f")
	[ "$p50" = "-1.0" ] && p50='' p99='' max=''
	echo "$arm,$rate,$PACKETS,${vals[0]},${vals[1]},${vals[2]},${vals[3]},${vals[4]},${vals[5]},${vals[6]},$pct,${vals[7]},${vals[8]},${vals[9]},$drops,$sent,$rps,$p50,$p99,$max,$rxd,$status,\"$note\"" >>"$CSV"
	{
		printf '%s  {' "$sep"
		printf '"arm":"%s","rate":"%s","packets":%s,"fps":%s,"offered_in":%s,"offered_out":%s,' \
			"$arm" "$rate" "$PACKETS" "$(jnum "${vals[0]}")" "$(jnum "${vals[1]}")" "$(jnum "${vals[2]}")"
		printf '"bulk":%s,"replies":%s,"broadcast_replies":%s,"answered":%s,"answered_pct":%s,' \
			"$(jnum "${vals[3]}")" "$(jnum "${vals[4]}")" "$(jnum "${vals[5]}")" "$(jnum "${vals[6]}")" "$(jnum "$pct")"
		printf '"wrong":%s,"dup":%s,"ambiguous":%s,"kernel_drops":%s,"responder_sent":%s,' \
			"$(jnum "${vals[7]}")" "$(jnum "${vals[8]}")" "$(jnum "${vals[9]}")" "$(jnum "$drops")" "$(jnum "$sent")"
		printf '"replies_per_s":%s,"lat_p50_us":%s,"lat_p99_us":%s,"lat_max_us":%s,' \
			"$(jnum "$rps")" "$(jnum "$p50")" "$(jnum "$p99")" "$(jnum "$max")"
		printf '"peer_rx_drops":%s,"status":"%s","note":"%s"}' "$(jnum "$rxd")" "$status" "$note"
	} >>"$JSON_ROWS"
}
jnum() { [[ ${1-} =~ ^-?[0-9]+(\.[0-9]+)?$ ]] && echo "$1" || echo null; }

print_table() {
	echo
	echo "ARP responders under one flood: pool $POOL_CIDR ($POOL_SIZE addresses), out-of-pool $OUT_RANGE,"
	echo "mix $MIX (in:out:bulk), $PACKETS frames per run; generator on CPU $GEN_CPU; latency measured on the peer"
	# Grouped by rate, in --rates order, arms in --arms order.
	local shown=$RATES
	[[ ",$RATES," == *,proxy,* && ",$RATES," != *,max,* ]] && shown=max,$RATES
	awk -F, -v rates="$shown" 'NR > 1 {
		note = $23; for (i = 24; i <= NF; i++) note = note "," $i; gsub(/"/, "", note)
		ans = $10 == "" ? "-" : sprintf("%s (%s%%)", $10, $11)
		line[NR] = sprintf("%-12s %7s %8s %8s %7s %17s %6s %6s %7s %8s %10s %9s %9s %9s  %s%s",
			$1, $2, d($4), d($5), d($6), ans, d($12), d($13), d($15), d($16), d($17),
			d($18), d($19), d($20), $22, note == "" ? "" : ": " note)
		rate[NR] = $2
	}
	END {
		printf "%-12s %7s %8s %8s %7s %17s %6s %6s %7s %8s %10s %9s %9s %9s  %s\n",
			"arm", "rate", "fps", "in", "out", "answered", "wrong", "dup", "kdrops",
			"sent", "replies/s", "p50 us", "p99 us", "max us", "status/note"
		n = split(rates, r, ",")
		for (k = 1; k <= n; k++)
			for (i = 2; i <= NR; i++)
				if (rate[i] == r[k]) print line[i]
	}
	function d(x) { return x == "" ? "-" : x }' "$CSV"
}

# ------------------------------------------------------------ main

main() {
	parse_args "$@"
	[ "$(id -u)" -eq 0 ] || die "needs root (network namespaces)"
	local b
	for b in ringcap arp-classic arp-flood; do
		[ -x "$BUILD/$b" ] || die "no $BUILD/$b (run make, or give --build)"
	done
	BUILD=$(cd "$BUILD" && pwd)
	mkdir -p "$OUT" || die "cannot create $OUT"
	OUT=$(cd "$OUT" && pwd)
	WORK=$(mktemp -d /tmp/arp-bench.XXXXXX) || die "mktemp"
	CSV=$OUT/arp.csv
	JSON_ROWS=$WORK/rows.json
	: >"$JSON_ROWS"
	echo "$CSV_HEAD" >"$CSV"

	# Our own testbed, never the caller's: a name of our own.
	# shellcheck disable=SC2034 # read by testbed.sh
	TB_ID=arp$$
	PX_A=pxa$$
	PX_B=pxb$$
	# shellcheck source=../tests/lib/testbed.sh disable=SC1091
	. "$ROOT/tests/lib/testbed.sh"
	# shellcheck disable=SC2034 # read by testbed.sh's EXIT trap
	TB_EXTRA_CLEANUP=cleanup
	testbed_up || die "cannot build the testbed"
	say "testbed: $NS_A/$IF_A ($IP_A) <-> $NS_B/$IF_B ($IP_B), B's MAC $MAC_B"

	# The proxy arm's ceiling first, when another rate refers to it.
	local rate arm proxy_done=
	if [[ ",$RATES," == *,proxy,* ]]; then
		run_one proxy max
		PROXY_PPS=$(awk -F, '$1 == "proxy" && $2 == "max" { printf "%d", $4 }' "$CSV")
		{ [ -n "$PROXY_PPS" ] && [ "$PROXY_PPS" -gt 0 ]; } || die "the proxy arm reached no rate"
		say "proxy arm's ceiling: $PROXY_PPS frames/s"
		proxy_done=1
	fi
	# Arm by arm, so farpd is started and warmed up once for all rates.
	for arm in ${ARMS//,/ }; do
		for rate in ${RATES//,/ }; do
			[ "$arm/$rate" = proxy/max ] && [ -n "$proxy_done" ] && continue
			run_one "$arm" "$rate"
		done
		[ "$arm" = farpd ] && stop_resp
	done

	{
		printf '{\n"bench":"arp","pool":"%s","out_of_pool":"%s","mix":"%s","packets":%s,\n' \
			"$POOL_CIDR" "$OUT_RANGE" "$MIX" "$PACKETS"
		printf '"kernel":"%s","cpus":%s,\n"runs":[\n' "$(uname -r)" "$(nproc)"
		cat "$JSON_ROWS"
		printf '\n]}\n'
	} >"$OUT/arp.json"
	print_table
	say "results: $CSV, $OUT/arp.json"
}

# shellcheck disable=SC2317 # run by testbed.sh's EXIT trap
cleanup() {
	stop_resp
	[ -n "${PX_A-}" ] && ip netns exec "$NS_B" ip link del "$PX_A" 2>/dev/null
	[ -n "${WORK-}" ] && rm -rf "$WORK"
	return 0
}

main "$@"
