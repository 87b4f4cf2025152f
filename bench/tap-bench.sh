#!/usr/bin/env bash
# tap-bench.sh — a tap's two directions at the generators' ceiling: does one
# ringcap keep every frame of two interfaces into one pcapng file?
#
# Two veth pairs into one capture namespace (tests/lib/testbed.sh's pair and a
# second one, 198.18.0.0/15 only), removed on exit or interrupt. A run without
# capture first (the two generators alone: the machine's CPU without ringcap),
# then `ringcap -i B1 -i B2 -w FILE.pcapng` (its defaults otherwise) while two
# ringcap-gen send --packets frames each, flat out, at the same time, one pinned
# to each of the first two CPUs. Per interface: sent (the generator's count),
# captured, dropped by the kernel, dropped by the interface (--stats-json), and
# the records of that interface in the file (its Enhanced Packet Blocks walked by
# bench-report.py; capinfos counts them all too when installed); then whether
# every frame was kept, and the whole machine's busy CPU (/proc/stat) per frame
# with the capture, without it, and the difference. Flat out, the generators
# spin: the difference then understates the capture's kernel work (it displaces
# sending), so read it as a floor, and the kept counts as the result.
# Every loop is bounded: each generator by its count and --seconds, ringcap by
# SIGINT once the generators are done (SIGKILL 20 s later). Needs root.
# Exit status: 0 every frame kept, 3 frames were lost (the table says where),
# 1 the set-up or a run failed, 2 bad arguments.
set -u -o pipefail

PROG=tap-bench
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
FRAME=1514 PACKETS=1000000 SECONDS_MAX=120 BUILD=$ROOT/build DISK=/var/tmp

die() { echo "$PROG: $*" >&2; exit 1; }
say() { echo "$PROG: $*" >&2; }
usage() {
	cat <<EOF
usage: tap-bench.sh [--frames BYTES] [--packets N] [--seconds S] [--disk DIR] [--build DIR]

Two veth pairs into one namespace; a generator on each, flat out, --packets
frames each (default 1000000 of 1514 B); ringcap -i B1 -i B2 -w DIR/FILE.pcapng;
a table per interface: sent, captured, dropped, in the file, and whether every
frame was kept. The file is removed at the end.

  --frames BYTES   frame size, 60..1514 (default 1514)
  --packets N      frames per generator, 1000..100000000 (default 1000000)
  --seconds S      the most a generator may take, 5..3600 (default 120)
  --disk DIR       where the capture file goes (default /var/tmp)
  --build DIR      ringcap binaries (default $ROOT/build)
example:
  sudo bash bench/tap-bench.sh --frames 1514 --packets 2000000
EOF
}
# shellcheck source=opts.sh disable=SC1091
. "$HERE/opts.sh"
bench_opts FRAME=--frames PACKETS=--packets SECONDS_MAX=--seconds DISK=--disk BUILD=--build -- "$@"
in_range "$FRAME" 60 1514 || bench_bad "frame size" "$FRAME" "expected 60..1514"
in_range "$PACKETS" 1000 100000000 || bench_bad "packet count" "$PACKETS" "expected 1000..100000000"
in_range "$SECONDS_MAX" 5 3600 || bench_bad "seconds" "$SECONDS_MAX" "expected 5..3600"
[ -d "$DISK" ] && [ -w "$DISK" ] || bench_bad "disk path" "$DISK" "not a writable directory"
[ "$(id -u)" -eq 0 ] || die "needs root (it creates network namespaces)"
for b in ringcap ringcap-gen; do [ -x "$BUILD/$b" ] || die "$BUILD/$b not found: run 'make'"; done
NCPU=$(nproc)
DISK=$(cd "$DISK" && pwd)

# shellcheck source=../tests/lib/testbed.sh disable=SC1091
. "$ROOT/tests/lib/testbed.sh"
WORK='' FILE=$DISK/$PROG.$$.pcapng CAP_PID='' GEN_PIDS=()
cleanup() {
	local p
	for p in "${GEN_PIDS[@]}"; do kill "$p" 2>/dev/null; done
	[ -n "$CAP_PID" ] && kill -KILL "$CAP_PID" 2>/dev/null
	rm -f "$FILE" "${FILE%/*}/.${FILE##*/}.ridx"
	[ -n "$WORK" ] && rm -rf "$WORK"
	return 0
}
# shellcheck disable=SC2034 # run by testbed.sh's EXIT trap, also on interrupt
TB_EXTRA_CLEANUP=cleanup
WORK=$(mktemp -d "/tmp/$PROG.XXXXXX") || die "mktemp failed"
testbed_up || die "cannot build the testbed"
IF_A2=vc$TB_ID IF_B2=vd$TB_ID
ip link add "$IF_A2" netns "$NS_A" type veth peer name "$IF_B2" netns "$NS_B" &&
	ip -n "$NS_A" addr add 198.18.1.1/24 dev "$IF_A2" && ip -n "$NS_B" addr add 198.18.1.2/24 dev "$IF_B2" &&
	ip -n "$NS_A" link set "$IF_A2" up && ip -n "$NS_B" link set "$IF_B2" up || die "cannot make the second pair"
in_a ethtool -K "$IF_A2" gso off tso off gro off >/dev/null 2>&1
in_b ethtool -K "$IF_B2" gso off tso off gro off >/dev/null 2>&1
say "testbed: $NS_A/{$IF_A,$IF_A2} -> $NS_B/{$IF_B,$IF_B2}"

# Both generators at once, flat out; each prints one JSON line.
generate() { # OUT-PREFIX
	local rc=0 p
	GEN_PIDS=()
	ip netns exec "$NS_A" "$BUILD/ringcap-gen" -i "$IF_A" -n "$PACKETS" -s "$FRAME" -r max --bypass --flows 256 \
		--cpu 0 --duration "$SECONDS_MAX" --dst-port 9 --json >"$1.1" 2>"$1.err" &
	GEN_PIDS+=($!)
	ip netns exec "$NS_A" "$BUILD/ringcap-gen" -i "$IF_A2" -n "$PACKETS" -s "$FRAME" -r max --bypass --flows 256 \
		--cpu $((NCPU > 1 ? 1 : 0)) --duration "$SECONDS_MAX" --dst-port 7 --src-ip 198.18.1.1 \
		--dst-ip 198.18.1.2 --json >"$1.2" 2>>"$1.err" &
	GEN_PIDS+=($!)
	for p in "${GEN_PIDS[@]}"; do wait "$p" || rc=$?; done
	GEN_PIDS=()
	return $rc
}

say "the generators alone, $PACKETS frames of $FRAME B each"
cp /proc/stat "$WORK/none0"
generate "$WORK/none" || die "generators failed: $(tail -n1 "$WORK/none.err")"
cp /proc/stat "$WORK/none1"

say "ringcap -i $IF_B -i $IF_B2 -w $FILE"
ip netns exec "$NS_B" "$BUILD/ringcap" -i "$IF_B" -i "$IF_B2" -w "$FILE" --stats-json "$WORK/stats.json" \
	'udp and (dst port 9 or dst port 7)' 2>"$WORK/ringcap.err" &
CAP_PID=$! # ip netns exec execs: the capture's own pid
for ((i = 0; i < 300; i++)); do
	grep -q "listening on" "$WORK/ringcap.err" 2>/dev/null && break
	kill -0 "$CAP_PID" 2>/dev/null || die "ringcap did not start: $(tail -n1 "$WORK/ringcap.err")"
	sleep 0.1
done
grep -q "listening on" "$WORK/ringcap.err" || die "ringcap did not start in 30 s"
cp /proc/stat "$WORK/cap0"
generate "$WORK/gen" || say "a generator failed: $(tail -n1 "$WORK/gen.err")"
cp /proc/stat "$WORK/cap1"
sleep 0.5 # the last blocks retire on their timeout
kill -INT "$CAP_PID"
for ((i = 0; i < 200; i++)); do kill -0 "$CAP_PID" 2>/dev/null || break; sleep 0.1; done
kill -KILL "$CAP_PID" 2>/dev/null && say "ringcap did not stop in 20 s after SIGINT"
wait "$CAP_PID"
rc=$? CAP_PID=''
[ $rc -eq 0 ] || say "ringcap exit $rc: $(tail -n1 "$WORK/ringcap.err")"
capinfos=''
command -v capinfos >/dev/null && capinfos=$(capinfos -M -c -T -r "$FILE" 2>/dev/null | cut -f2)
"${PYTHON:-python3}" "$HERE/bench-report.py" tap "$FILE" "$WORK/stats.json" "$IF_B,$IF_B2" \
	"$WORK/gen.1,$WORK/gen.2" "$WORK/none0" "$WORK/none1" "$WORK/cap0" "$WORK/cap1" "$capinfos" "$rc"
