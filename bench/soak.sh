#!/usr/bin/env bash
# soak.sh — ringcap left running: memory, descriptors, drops and the retention
# limit over a bounded run with rotation on a small file system.
#
#   bash bench/soak.sh [--build DIR] [--out DIR] [--minutes M] [--rate FPS] [--size BYTES]
#                      [--rotate S] [--fs-mb MB] [--max-total SIZE] [--every S]
#
# Two namespaces joined by a veth pair (tests/lib/testbed.sh, 198.18.0.0/15, removed on
# exit). ringcap in B writes to a tmpfs of --fs-mb MB (default 256) with -G --rotate
# (default 5 s), --max-total (default 96m), two workers and --stats-interval 1; from A,
# ringcap-gen sends --rate frames/s (default 10000) of --size bytes (default 512) for
# --minutes (default 3) and stops by itself. Every --every seconds (default 2) it
# samples ringcap's RSS (/proc/PID/status VmRSS), open descriptors (/proc/PID/fd),
# kernel drops and files deleted (--stats-json), the capture's bytes on the tmpfs and
# the files there. At the end: every file left is read by tcpdump (valid, no error),
# the limit held in every sample, and the figures are written to OUT/soak.csv with a
# plot OUT/soak.png (gnuplot) and a summary line on stdout:
#   {"minutes":..,"samples":..,"rss_kb_first":..,"rss_kb_max":..,"rss_kb_last":..,
#    "fds_min":..,"fds_max":..,"drops":..,"files_deleted":..,"max_bytes_on_fs":..,
#    "limit_bytes":..,"files_left":..,"files_valid":..}
# Exit 0 when memory and descriptors stayed flat (last RSS within 10% + 4 MiB of the
# first sample after warm-up, descriptors within +4), no drops, every file valid and
# the limit held; 1 otherwise; 2 for bad arguments. Root. One bench at a time.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
BUILD=$ROOT/build OUT=/tmp/ringcap-soak MINUTES=3 RATE=10000 SIZE=512 ROTATE=5
FS_MB=256 MAX_TOTAL=96m EVERY=2

bad() { echo "soak: bad $1 '$2': $3" >&2; exit 2; }
while [ $# -gt 0 ]; do
	case $1 in
	--build) BUILD=$2 ;; --out) OUT=$2 ;; --minutes) MINUTES=$2 ;; --rate) RATE=$2 ;;
	--size) SIZE=$2 ;; --rotate) ROTATE=$2 ;; --fs-mb) FS_MB=$2 ;; --max-total) MAX_TOTAL=$2 ;;
	--every) EVERY=$2 ;;
	-h|--help) sed -n '2,25p' "$0"; exit 0 ;;
	*) bad option "$1" "see --help" ;;
	esac
	shift 2 || bad option "$1" "needs a value"
done
for v in MINUTES RATE SIZE ROTATE FS_MB EVERY; do
	[[ ${!v} =~ ^[1-9][0-9]*$ ]] || bad "--${v,,}" "${!v}" "expected a whole number >= 1"
done
[ "$(id -u)" -eq 0 ] || { echo "soak: needs root (namespaces, mount)" >&2; exit 2; }
for b in ringcap ringcap-gen; do [ -x "$BUILD/$b" ] || bad build "$BUILD" "no $b there"; done
case $MAX_TOTAL in *[kK]) lim=$(( ${MAX_TOTAL%?} * 1024 )) ;; *[mM]) lim=$(( ${MAX_TOTAL%?} * 1048576 )) ;;
	*[gG]) lim=$(( ${MAX_TOTAL%?} * 1073741824 )) ;; *) lim=$MAX_TOTAL ;; esac
[[ $lim =~ ^[0-9]+$ ]] && [ "$lim" -gt 0 ] || bad --max-total "$MAX_TOTAL" "expected a size like 96m"

# shellcheck source=../tests/lib/testbed.sh
source "$ROOT/tests/lib/testbed.sh"
mkdir -p "$OUT" || exit 2
testbed_start ringcap-soak
mnt=$TMP/fs
mkdir -p "$mnt"
mount -t tmpfs -o size=${FS_MB}m tmpfs "$mnt" || { echo "soak: cannot mount a tmpfs" >&2; exit 1; }
TB_EXTRA_CLEANUP="umount '$mnt' 2>/dev/null"

secs=$((MINUTES * 60))
ringcap_start "$TMP/rc.log" -i "$IF_B" -w "$mnt/soak-%Y%m%d-%H%M%S.pcap" -G "$ROTATE" \
	--max-total "$MAX_TOTAL" -T 2 --stats-interval 1 --stats-json "$TMP/stats.json" ||
	{ echo "soak: ringcap did not start: $(cat "$TMP/rc.log")" >&2; exit 1; }
pkts=$((RATE * secs))
ip netns exec "$NS_A" "$BUILD/ringcap-gen" -i "$IF_A" -n "$pkts" -s "$SIZE" --flows 64 -r "$RATE" \
	-q --duration $((secs + 30)) >/dev/null 2>&1 &
gen=$!

echo "t,rss_kb,fds,drops,files_deleted,bytes_on_fs,files" >"$OUT/soak.csv"
t0=$SECONDS
while kill -0 "$gen" 2>/dev/null && [ $((SECONDS - t0)) -le $((secs + 30)) ]; do
	sleep "$EVERY"
	rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$RC_PID/status" 2>/dev/null) || break
	fds=$(ls "/proc/$RC_PID/fd" 2>/dev/null | wc -l)
	drops=$(jq -r '.dropped // 0' "$TMP/stats.json" 2>/dev/null || echo 0)
	deleted=$(jq -r '.retention_files_deleted // 0' "$TMP/stats.json" 2>/dev/null || echo 0)
	bytes=$(du -cb "$mnt"/soak-*.pcap 2>/dev/null | tail -1 | cut -f1)
	files=$(ls "$mnt"/soak-*.pcap 2>/dev/null | wc -l)
	echo "$((SECONDS - t0)),$rss,$fds,$drops,$deleted,${bytes:-0},$files" >>"$OUT/soak.csv"
done
wait "$gen" 2>/dev/null
sleep 1
ringcap_stop
cp "$TMP/rc.log" "$OUT/ringcap.log"

valid=0 left=0
for f in "$mnt"/soak-*.pcap; do
	[ -e "$f" ] || continue
	left=$((left + 1))
	err=$(tcpdump -r "$f" -nn -q 2>&1 >/dev/null | grep -v '^reading from file')
	[ -z "$err" ] && valid=$((valid + 1))
done

if command -v gnuplot >/dev/null; then
	gnuplot <<GP 2>/dev/null
set terminal pngcairo size 1000,600 noenhanced
set output "$OUT/soak.png"
set datafile separator ","
set key top left
set xlabel "seconds"
set ylabel "RSS MiB / descriptors / files"
set y2label "capture bytes on the file system (MiB)"
set y2tics
set title "ringcap soak: $(uname -r), $(nproc) CPUs, $(date -u +%F), ${RATE}/s x ${SIZE} B, -G ${ROTATE}, --max-total ${MAX_TOTAL}"
plot "$OUT/soak.csv" every ::1 using 1:(\$2/1024) with linespoints title "RSS MiB", \
     "" every ::1 using 1:3 with linespoints title "open descriptors", \
     "" every ::1 using 1:7 with linespoints title "files on the file system", \
     "" every ::1 using 1:(\$6/1048576) axes x1y2 with lines title "capture MiB (limit $MAX_TOTAL)"
GP
fi

awk -F, -v lim="$lim" -v left="$left" -v valid="$valid" -v minutes="$MINUTES" -v out="$OUT" '
	NR == 1 { next }
	{ n++; if (n == 2) rss0 = $2; if ($2 > rmax) rmax = $2; rlast = $2
	  if (n == 1 || $3 < fmin) fmin = $3; if ($3 > fmax) fmax = $3
	  d = $4; del = $5; if ($6 > bmax) bmax = $6 }
	END {
		if (n < 3) { print "soak: too few samples" > "/dev/stderr"; exit 1 }
		printf "{\"minutes\":%d,\"samples\":%d,\"rss_kb_first\":%d,\"rss_kb_max\":%d,\"rss_kb_last\":%d,\"fds_min\":%d,\"fds_max\":%d,\"drops\":%d,\"files_deleted\":%d,\"max_bytes_on_fs\":%d,\"limit_bytes\":%d,\"files_left\":%d,\"files_valid\":%d}\n", minutes, n, rss0, rmax, rlast, fmin, fmax, d, del, bmax, lim, left, valid
		ok = rlast <= rss0 * 1.1 + 4096 && fmax <= fmin + 4 && d == 0 && left == valid && bmax <= lim
		exit ok ? 0 : 1
	}' "$OUT/soak.csv"
