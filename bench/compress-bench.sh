#!/usr/bin/env bash
# compress-bench.sh — what --compress zstd:L costs and gives, level by payload,
# with no network: bench/ringcap-replay --handler writer feeds ringcap's writer
# from memory (one appending thread, as the worker or the merger), once plain
# and once per level, for each payload (random: incompressible; text: HTTP-like
# lines; pattern: the replay's default bytes). bench-report.py prints the table:
# the file's ratio, the share of chunks stored raw (the pool was behind), CPU
# per packet of the whole process, the compressor's share of it (above the plain
# run of the same payload) and GB/s of stream one core compresses.
#
# The compressor, not the feed, is measured: the appending thread only copies
# (the plain run says how little that costs), --threads compressing threads
# (default: one per CPU) take the chunks, and GB/s per core comes from CPU time,
# not from the wall clock, so it does not depend on how many threads ran. A chunk
# the pool had no time for is stored raw and costs next to nothing: the raw
# share is in the table, the per-core figure counts only the compressed chunks,
# and the "zstd ratio" column is the ratio of those chunks alone.
# Every run is bounded by --packets; each file is removed after its run.
# Exit status: 0 done, 1 a run failed, 2 bad arguments.
set -u -o pipefail

PROG=compress-bench
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
FRAME=1514 PACKETS=700000 LEVELS=1,3,9 PAYLOADS=random,text THREADS=$(nproc) DIR=/var/tmp BUILD=$ROOT/build

die() { echo "$PROG: $*" >&2; exit 1; }
usage() {
	cat <<EOF
usage: compress-bench.sh [--frames BYTES] [--packets N] [--levels 1,3,9]
       [--payloads random,text] [--threads N] [--dir DIR] [--build DIR]

Runs ringcap-replay --handler writer plain and with --compress zstd:L for each
level and payload, --packets frames each (default 700000 of 1514 B, about 1 GB
of stream), and prints level x payload: ratio, raw chunks, CPU ns per packet,
the compressor's ns per packet and GB/s per core.

  --frames BYTES    frame size, 60..9000 (default 1514)
  --packets N       frames per run, 1000..100000000 (default 700000)
  --levels LIST     zstd levels, 1..19 (default 1,3,9)
  --payloads LIST   random, text, pattern (default random,text)
  --threads N       --compress-threads, 1..8 (default: the CPUs, $(nproc))
  --dir DIR         where the files go, removed after each run (default /var/tmp)
  --build DIR       ringcap binaries (default $ROOT/build)
example:
  bash bench/compress-bench.sh --levels 1,3,9,19 --payloads random,text
EOF
}
# shellcheck source=opts.sh disable=SC1091
. "$HERE/opts.sh"
bench_opts FRAME=--frames PACKETS=--packets LEVELS=--levels PAYLOADS=--payloads THREADS=--threads DIR=--dir \
	BUILD=--build -- "$@"
in_range "$FRAME" 60 9000 || bench_bad "frame size" "$FRAME" "expected 60..9000"
in_range "$PACKETS" 1000 100000000 || bench_bad "packet count" "$PACKETS" "expected 1000..100000000"
in_range "$THREADS" 1 8 || bench_bad "thread count" "$THREADS" "expected 1..8"
IFS=, read -r -a LEVEL_LIST <<<"$LEVELS,"
IFS=, read -r -a PAYLOAD_LIST <<<"$PAYLOADS,"
[ ${#LEVEL_LIST[@]} -gt 0 ] || bench_bad levels "$LEVELS" "expected 1..19, comma-separated"
[ ${#PAYLOAD_LIST[@]} -gt 0 ] || bench_bad payloads "$PAYLOADS" "expected random, text or pattern"
for l in "${LEVEL_LIST[@]}"; do in_range "$l" 1 19 || bench_bad level "$l" "expected 1..19"; done
for p in "${PAYLOAD_LIST[@]}"; do
	case $p in random|text|pattern) ;; *) bench_bad payload "$p" "expected random, text or pattern" ;; esac
done
[ -d "$DIR" ] && [ -w "$DIR" ] || bench_bad dir "$DIR" "not a writable directory"
REPLAY=$BUILD/ringcap-replay
[ -x "$REPLAY" ] || die "$REPLAY not found: run 'make'"

WORK=$(mktemp -d "/tmp/$PROG.XXXXXX") || die "mktemp failed"
FILE=$(cd "$DIR" && pwd)/$PROG.$$.pcap
trap 'rm -rf "$WORK"; rm -f "$FILE" "$FILE.zst"' EXIT
trap 'exit 130' INT TERM

runs=() n=0
for p in "${PAYLOAD_LIST[@]}"; do
	for l in 0 "${LEVEL_LIST[@]}"; do
		n=$((n + 1))
		args=(--handler writer --frames "$FRAME" --packets "$PACKETS" --payload "$p" -w "$FILE")
		[ "$l" = 0 ] || args+=(--compress "zstd:$l" --compress-threads "$THREADS")
		echo "$PROG: ringcap-replay ${args[*]}" >&2
		"$REPLAY" "${args[@]}" >"$WORK/$n.json" 2>"$WORK/$n.err" ||
			die "ringcap-replay failed: $(tail -n1 "$WORK/$n.err")"
		rm -f "$FILE" "$FILE.zst"
		runs+=("$p:$l:$WORK/$n.json")
	done
done
echo "ringcap-replay --handler writer --frames $FRAME --packets $PACKETS --compress-threads $THREADS" \
	"on $(nproc) CPUs, to $DIR"
"${PYTHON:-python3}" "$HERE/bench-report.py" compress "${runs[@]}"
