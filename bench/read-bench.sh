#!/usr/bin/env bash
# read-bench.sh — what ringcap-read's index buys on an archive written by ringcap's own writer.
#
#   bash bench/read-bench.sh [--gb TOTAL] [--dir DIR] [--file-gb G] [--frames BYTES]
#                            [--rate FPS] [--flows N] [--flow-run FRAMES] [--build DIR]
#                            [--index-chunk SIZE] [--mixed] [--no-drop-caches] [--keep]
#
# The archive. bench/ringcap-replay drives the real worker and writer (staging slots,
# io_uring, O_DIRECT) over TPACKET_V3 blocks; it writes one file per run and does not
# rotate, so the archive is a series of runs named as ringcap -C names them (arch.pcap,
# arch.pcap1, ...), --file-gb each (default 1), --gb in all (default 20). Frames are
# --frames bytes (default 1514) of IPv4/UDP from 198.18.0.1+F, the flow F changing every
# --flow-run frames (default 2000) among --flows sources (default 100): each host is
# ~1/flows of the packets, in runs, as hosts come and go. The filler is paced at --rate
# frames/s (default 200000) so timestamps (CLOCK_MONOTONIC, as replay stamps them)
# advance evenly; frames the writer could not take are dropped, which only thins a run.
# With --mixed the files come from tests/lib/pcapgen.py --mixed instead: --flows hosts
# interleaved packet by packet (--flow-run is ignored), TCP/UDP/ICMP over IPv4 and IPv6
# with a few services' ports and many clients', tags, ARP, fragments, cut records.
#
# Measured (one JSON line each on stdout, a summary on stderr):
#   index     ringcap-read --reindex [--index-chunk SIZE, default 1m] over the archive
#             with an empty window: seconds, index bytes as a share of the archive
#   window    a window holding ~0.5% of the packets (from where half of them have passed,
#             by the indexes' chunk tables): ringcap-read's bytes read
#             (its own count, and /proc/self/io rchar and read_bytes) against the
#             window's bytes plus the index bytes; its seconds against
#             mergecap -w - FILES | editcap -A -B - - | tcpdump -r - -w -
#             on the same archive, and the two record counts (they must agree)
#   host      host 198.18.0.(1 + flows/2): bytes read as a share of the archive, and
#             against the matching records plus the index bytes
#   port      (--mixed) udp dst port 443: bytes read as a share of the archive
#   never     (--mixed) host 198.18.0.(1 + flows/2) and port 22 (the first host's
#             alone): bytes read against the index bytes
#   check     each filter's answer (host; with --mixed port and never too) against
#             mergecap -w - FILES | tcpdump -r - -w - FILTER, one pass feeding them all:
#             the same records byte for byte, in the same order (exit 1 otherwise)
# With root, the page cache is dropped (sync; echo 3 > /proc/sys/vm/drop_caches) before
# each timed read so it measures the disk, unless --no-drop-caches; the JSON says which.
# The archive is removed at the end unless --keep. Exit 0, 1 on failure, 2 bad arguments.
set -u -o pipefail

GB=20 DIR=/var/tmp/ringcap-read-bench FILE_GB=1 FRAMES=1514 RATE=200000 FLOWS=100 RUN=2000
BUILD=build DROP=1 KEEP=0 CHUNK=1m MIXED=0
die() { echo "read-bench: $*" >&2; exit 2; }
num() { [[ $2 =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "bad $1 '$2': expected a number"; }
while [ $# -gt 0 ]; do
	case $1 in
	--gb) num --gb "${2:-}"; GB=$2; shift 2 ;;
	--dir) [ -n "${2:-}" ] || die "--dir needs a directory"; DIR=$2; shift 2 ;;
	--file-gb) num --file-gb "${2:-}"; FILE_GB=$2; shift 2 ;;
	--frames) num --frames "${2:-}"; FRAMES=$2; shift 2 ;;
	--rate) num --rate "${2:-}"; RATE=$2; shift 2 ;;
	--flows) num --flows "${2:-}"; FLOWS=$2; shift 2 ;;
	--flow-run) num --flow-run "${2:-}"; RUN=$2; shift 2 ;;
	--build) BUILD=$2; shift 2 ;;
	--index-chunk) [[ ${2:-} =~ ^[0-9]+[kmg]?$ ]] || die "bad --index-chunk '${2:-}'"; CHUNK=$2; shift 2 ;;
	--mixed) MIXED=1; shift ;;
	--no-drop-caches) DROP=0; shift ;;
	--keep) KEEP=1; shift ;;
	-h|--help) sed -n '2,30p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) die "bad argument '$1' (see --help)" ;;
	esac
done
R=$BUILD/ringcap-read REPLAY=$BUILD/ringcap-replay
[ -x "$R" ] && [ -x "$REPLAY" ] || die "build first: no $R or $REPLAY"
for c in mergecap editcap tcpdump capinfos python3; do command -v $c >/dev/null || die "$c not installed"; done
[ "$(id -u)" -eq 0 ] && [ -w /proc/sys/vm/drop_caches ] || DROP=0

mkdir -p "$DIR" || die "cannot create $DIR"
arch=$DIR/arch.pcap
need=$(python3 -c "print(int($GB * 1.05e9))")
avail=$(df -B1 --output=avail "$DIR" | tail -1)
[ "$avail" -gt "$need" ] || die "$DIR has $avail bytes free, the archive needs ~$need"
[ "$KEEP" -eq 1 ] || trap 'rm -f "$DIR"/arch.pcap* "$DIR"/.arch.pcap*.ridx "$DIR"/out-*.pcap "$DIR"/pipe-*.pcap "$DIR"/fifo-* "$DIR"/*.stats "$DIR"/replay.json; rmdir "$DIR" 2>/dev/null' EXIT

drop() { [ "$DROP" -eq 1 ] && sync && echo 3 >/proc/sys/vm/drop_caches; }
stat_of() { awk -v k="$2" '$1 == k { print $2 }' "$1"; }
now() { date +%s.%N; }
# Records in a pcap file, as capinfos counts them (tcpdump's text can take
# two lines for one packet)
records_in() { capinfos -M -c "$1" | awk '/^Number of packets/ { print $NF }'; }
fsec() { python3 -c "print(f'{$2 - $1:.3f}')"; }

# ---- the archive
per_file=$(python3 -c "print(int($FILE_GB * 1e9 / ($FRAMES + 16)))")
nfiles=$(python3 -c "import math; print(max(1, math.ceil($GB / $FILE_GB)))")
echo "read-bench: writing $nfiles files of $per_file frames ($FRAMES B) to $DIR" >&2
first=0
for ((i = 0; i < nfiles; i++)); do
	name=$arch; [ $i -gt 0 ] && name=$arch$i
	if [ "$MIXED" -eq 1 ]; then
		python3 "$(dirname "$0")/../tests/lib/pcapgen.py" "$name" --mixed --hosts "$FLOWS" \
			--start $((1764597600 + i * 3600)) --count "$per_file" --step-us 5 --seed $((i + 1)) \
			--size "$FRAMES:$FRAMES" || { echo "read-bench: pcapgen.py failed" >&2; exit 1; }
	else
		"$REPLAY" --handler pcap --frames "$FRAMES" --rate "$RATE" --packets "$per_file" \
			--flows "$FLOWS" --flow-run "$RUN" --first-index $first -w "$name" >"$DIR/replay.json" ||
			{ echo "read-bench: ringcap-replay failed" >&2; exit 1; }
	fi
	first=$((first + per_file))
done
files=("$arch"*)
arch_bytes=$(du -cb "${files[@]}" | tail -1 | cut -f1)

# ---- index build
drop
"$R" --reindex --index-chunk "$CHUNK" --stats --until @0 -w /dev/null "${files[@]}" 2>"$DIR/index.stats" || exit 1
idx_bytes=$(du -cb "$DIR"/.arch.pcap*.ridx | tail -1 | cut -f1)
records=$(python3 - "$DIR" <<'EOF'
import glob, struct, sys
n = 0
for p in glob.glob(sys.argv[1] + '/.arch.pcap*.ridx'):
    n += struct.unpack_from('<Q', open(p, 'rb').read(), 96)[0]
print(n)
EOF
)
read -r lo hi < <(python3 - "$DIR" <<'EOF'
import glob, struct, sys
lo, hi = None, None
for p in glob.glob(sys.argv[1] + '/.arch.pcap*.ridx'):
    b = open(p, 'rb').read()
    f, l = struct.unpack_from('<QQ', b, 104)
    lo = f if lo is None else min(lo, f)
    hi = l if hi is None else max(hi, l)
print(lo, hi)
EOF
)
printf '{"arm":"index","index_chunk":"%s","archive_bytes":%s,"files":%s,"records":%s,"index_bytes":%s,"index_share":%s,"seconds":%s,"bytes_read":%s,"caches_dropped":%s}\n' \
	"$CHUNK" "$arch_bytes" "${#files[@]}" "$records" "$idx_bytes" \
	"$(python3 -c "print(f'{$idx_bytes / $arch_bytes:.6f}')")" "$(stat_of "$DIR/index.stats" seconds)" \
	"$(stat_of "$DIR/index.stats" bytes_read)" "$([ $DROP -eq 1 ] && echo true || echo false)"

# ---- a window of ~0.5% of the packets, from the middle on: the time where half the
# records (by the indexes' chunk tables) have passed, to where 50.5% have
read -r a b < <(python3 - "$DIR" <<'EOF'
import glob, struct, sys
chunks = []
for p in glob.glob(sys.argv[1] + '/.arch.pcap*.ridx'):
    b = open(p, 'rb').read()
    hlen, n = struct.unpack_from('<I', b, 12)[0], struct.unpack_from('<I', b, 124)[0]
    clen = 64 if struct.unpack_from('<I', b, 8)[0] >= 3 else 48
    for i in range(n):
        off, end, mn, mx, rec = struct.unpack_from('<QQQQI', b, hlen + clen * i)
        chunks.append((mn, mx, rec))
chunks.sort()
total = sum(r for _, _, r in chunks)
acc, a, b = 0, None, None
# inside a chunk's time range, not on its edge: a window as a user would give it
for mn, mx, rec in chunks:
    if a is None and acc >= total * 0.5:
        a = mn + (mx - mn) * 37 // 100
    if b is None and acc >= total * 0.505:
        b = mn + (mx - mn) * 37 // 100
    acc += rec
fmt = lambda t: f'{t // 10**9}.{t % 10**9:09d}'
print(fmt(a), fmt(b))
EOF
)
drop
"$R" --stats --since "@$a" --until "@$b" -w "$DIR/out-read.pcap" "${files[@]}" 2>"$DIR/window.stats" || exit 1
win_bytes=$(( $(stat -c %s "$DIR/out-read.pcap") - 24 ))
win_records=$(stat_of "$DIR/window.stats" records_written)
drop
t0=$(now)
mergecap -w - "${files[@]}" | editcap -A "$a" -B "$b" - - | tcpdump -r - -w "$DIR/out-pipe.pcap" 2>/dev/null
t1=$(now)
pipe_records=$(records_in "$DIR/out-pipe.pcap")
printf '{"arm":"window","since":"@%s","until":"@%s","records":%s,"share_of_records":%s,"window_bytes":%s,"index_bytes":%s,"bytes_read":%s,"proc_rchar":%s,"proc_read_bytes":%s,"read_over_window_plus_index":%s,"seconds":%s,"pipeline_seconds":%s,"pipeline_records":%s,"caches_dropped":%s}\n' \
	"$a" "$b" "$win_records" "$(python3 -c "print(f'{$win_records / $records:.5f}')")" "$win_bytes" "$idx_bytes" \
	"$(stat_of "$DIR/window.stats" bytes_read)" "$(stat_of "$DIR/window.stats" proc_rchar)" \
	"$(stat_of "$DIR/window.stats" proc_read_bytes)" \
	"$(python3 -c "print(f'{$(stat_of "$DIR/window.stats" proc_rchar) / ($win_bytes + $idx_bytes):.3f}')")" \
	"$(stat_of "$DIR/window.stats" seconds)" "$(fsec "$t0" "$t1")" "$pipe_records" \
	"$([ $DROP -eq 1 ] && echo true || echo false)"
[ "$pipe_records" -eq "$win_records" ] || { echo "read-bench: ringcap-read wrote $win_records records, the pipeline $pipe_records" >&2; exit 1; }

# ---- one host, ~1/flows of the packets
host=198.18.0.$((1 + FLOWS / 2))
drop
"$R" --stats -w "$DIR/out-host.pcap" "${files[@]}" host "$host" 2>"$DIR/host.stats" || exit 1
hr=$(stat_of "$DIR/host.stats" records_written)
hb=$(( $(stat -c %s "$DIR/out-host.pcap") - 24 ))
printf '{"arm":"host","host":"%s","records":%s,"share_of_records":%s,"record_bytes":%s,"index_bytes":%s,"bytes_read":%s,"proc_rchar":%s,"proc_read_bytes":%s,"share_of_archive_read":%s,"read_over_records_plus_index":%s,"chunks":%s,"chunks_skipped_addr":%s,"chunks_by_postings":%s,"seconds":%s,"caches_dropped":%s}\n' \
	"$host" "$hr" "$(python3 -c "print(f'{$hr / $records:.5f}')")" "$hb" "$idx_bytes" \
	"$(stat_of "$DIR/host.stats" bytes_read)" \
	"$(stat_of "$DIR/host.stats" proc_rchar)" "$(stat_of "$DIR/host.stats" proc_read_bytes)" \
	"$(python3 -c "print(f'{$(stat_of "$DIR/host.stats" bytes_read) / $arch_bytes:.5f}')")" \
	"$(python3 -c "print(f'{$(stat_of "$DIR/host.stats" bytes_read) / ($hb + $idx_bytes):.3f}')")" \
	"$(stat_of "$DIR/host.stats" chunks)" "$(stat_of "$DIR/host.stats" chunks_skipped_addr)" \
	"$(stat_of "$DIR/host.stats" chunks_by_postings)" \
	"$(stat_of "$DIR/host.stats" seconds)" "$([ $DROP -eq 1 ] && echo true || echo false)"

if [ "$MIXED" -eq 1 ]; then
	# ---- a port: udp dst port 443, ~1/15 of the packets
	drop
	"$R" --stats -w "$DIR/out-port.pcap" "${files[@]}" udp dst port 443 2>"$DIR/port.stats" || exit 1
	printf '{"arm":"port","filter":"udp dst port 443","records":%s,"bytes_read":%s,"share_of_archive_read":%s,"seconds":%s,"caches_dropped":%s}\n' \
		"$(stat_of "$DIR/port.stats" records_written)" "$(stat_of "$DIR/port.stats" bytes_read)" \
		"$(python3 -c "print(f'{$(stat_of "$DIR/port.stats" bytes_read) / $arch_bytes:.5f}')")" \
		"$(stat_of "$DIR/port.stats" seconds)" "$([ $DROP -eq 1 ] && echo true || echo false)"
	# ---- a host and a port that never meet
	drop
	"$R" --stats -w "$DIR/out-never.pcap" "${files[@]}" host "$host" and port 22 2>"$DIR/never.stats" || exit 1
	printf '{"arm":"never","filter":"host %s and port 22","records":%s,"bytes_read":%s,"index_bytes":%s,"read_over_index":%s,"seconds":%s,"caches_dropped":%s}\n' \
		"$host" "$(stat_of "$DIR/never.stats" records_written)" "$(stat_of "$DIR/never.stats" bytes_read)" \
		"$idx_bytes" "$(python3 -c "print(f'{$(stat_of "$DIR/never.stats" bytes_read) / $idx_bytes:.3f}')")" \
		"$(stat_of "$DIR/never.stats" seconds)" "$([ $DROP -eq 1 ] && echo true || echo false)"
fi

# ---- the answers against mergecap | tcpdump: one pass over the archive feeds
# one tcpdump per filter (through FIFOs); each of ringcap-read's outputs must
# hold the same records, byte for byte (the 24-byte file headers aside), in
# the same order
filters=("host $host") outs=(host)
[ "$MIXED" -eq 1 ] && filters+=("udp dst port 443" "host $host and port 22") outs+=(port never)
pids=() fifos=()
for ((i = 0; i < ${#filters[@]}; i++)); do
	mkfifo "$DIR/fifo-${outs[i]}" || die "cannot make a FIFO in $DIR"
	fifos+=("$DIR/fifo-${outs[i]}")
	tcpdump -r "$DIR/fifo-${outs[i]}" -w "$DIR/pipe-${outs[i]}.pcap" "${filters[i]}" 2>/dev/null &
	pids+=($!)
done
mergecap -w - "${files[@]}" | tee "${fifos[@]}" >/dev/null
for p in "${pids[@]}"; do wait "$p"; done
rm -f "${fifos[@]}"
for ((i = 0; i < ${#filters[@]}; i++)); do
	mine=$(tail -c +25 "$DIR/out-${outs[i]}.pcap" | sha256sum | cut -c1-16)
	theirs=$(tail -c +25 "$DIR/pipe-${outs[i]}.pcap" | sha256sum | cut -c1-16)
	n=$(records_in "$DIR/pipe-${outs[i]}.pcap")
	printf '{"arm":"check","filter":"%s","pipeline_records":%s,"same_records":%s}\n' "${filters[i]}" "$n" \
		"$([ "$mine" = "$theirs" ] && echo true || echo false)"
	[ "$mine" = "$theirs" ] || { echo "read-bench: '${filters[i]}': ringcap-read's records differ from mergecap | tcpdump's" >&2; exit 1; }
done
