#!/usr/bin/env bash
# bench_smoke — a short run of bench/ringcap-bench checks the bench itself:
#   - the generator sent exactly N frames in every run;
#   - every arm accounts for what was offered: |offered - kept - drops| <= 1% of
#     offered (frames can be lost before any socket, at the veth backlog: the
#     bench records /proc/net/softnet_stat's drop delta per run, shown on failure);
#     and for the arms that own their socket, the kernel's tp_packets == offered;
#     the file-writing arm (ringcap-disk-1cpu) wrote as many records as it kept;
#   - runs.csv and bench.json parse and hold a row for every arm asked for;
#   - a peer tool that is missing is reported as "not installed", with no numbers:
#     the bench runs with a PATH that lacks netsniff-ng;
#   - the namespaces and the capture files are gone afterwards;
#   - the "none" arm (the generator alone) runs and sent N frames; every arm's
#     whole-machine CPU fields (bench.jsonl, runs.csv, the tables) are numbers,
#     and machine_ns_per_pkt = its machine_ns_per_pkt_raw - the none run's, the
#     raw figure being machine_ns / offered;
#   - --rates disk50 offers 50% of the disk line measured in that run, in pcap
#     records of the frame size per second (the label stays disk50), a bad diskNN
#     is one line and exit 2, and with no disk line those runs fail, no other rate;
#   - bench.jsonl holds one JSON line per arm run with the counts; report.md names
#     the command and the machine, marks --quick CPU figures, and report.html
#     embeds every plot as a data URI; --quick measures no disk or writer line;
#   - --cpu-budget 10,100 with --rps: a row per budget and arm, each accounting
#     for what was offered, the report and bench.json say RPS on, and the cgroup
#     is gone afterwards, also when the bench is stopped (SIGTERM) mid-run.
# Root (namespaces). About 30 s here; the bench's own bounds keep it under 90 s.
# Exit 0 pass, 1 fail, 77 skip.
set -u
cd "$(dirname "$0")/../.." || exit 1
# shellcheck disable=SC1091
. tests/lib/testbed.sh
need_root

BUILD=${BUILD:-build}
N=20000
ARMS=(recvfrom v3 ringcap ringcap-disk-1cpu)
for b in ringcap-arm ringcap-gen ringcap ringcap-disk; do
	[ -x "$BUILD/$b" ] || skip "$BUILD/$b not built"
done

tmp=$(mktemp -d /tmp/bench-smoke.XXXXXX) || fail "mktemp"
disk=$(mktemp -d /var/tmp/bench-smoke.XXXXXX) || fail "mktemp in /var/tmp"
cleanup() { rm -rf "$tmp" "$disk"; }
trap cleanup EXIT

# A PATH with everything the original has, except netsniff-ng.
mkdir -p "$tmp/bin"
IFS=: read -r -a dirs <<<"$PATH"
for d in "${dirs[@]}"; do
	[ -d "$d" ] || continue
	for f in "$d"/*; do
		n=${f##*/}
		[ "$n" = netsniff-ng ] && continue
		[ -x "$f" ] && [ ! -e "$tmp/bin/$n" ] && ln -s "$f" "$tmp/bin/$n"
	done
done
PATH=$tmp/bin command -v netsniff-ng >/dev/null && fail "could not hide netsniff-ng"

t0=$SECONDS
PATH=$tmp/bin timeout -k 5 85 bash bench/ringcap-bench --quick --frames 60 --rates 100000 \
	--packets $N --repeat 1 --methods recvfrom,v3,ringcap,ringcap-disk-1cpu,netsniff-ng,none \
	--build "$BUILD" --disk "$disk" --out "$tmp/out" >"$tmp/stdout" 2>"$tmp/stderr"
rc=$?
echo "bench: exit $rc in $((SECONDS - t0)) s"
cat "$tmp/stdout"
[ $rc -eq 0 ] || { tail -n 20 "$tmp/stderr"; fail "ringcap-bench exited $rc"; }

# The testbed it built is gone.
ns=$(sed -n 's/.*testbed: \(rca[0-9]*\)\/.*/\1/p' "$tmp/stderr")
[ -n "$ns" ] || fail "no testbed line in the bench's progress output"
ip netns list | grep -qw -e "$ns" -e "${ns/rca/rcb}" && fail "namespace $ns left behind"
ls "$disk"/ringcap-bench.* >/dev/null 2>&1 && fail "capture files left in $disk"

csv=$tmp/out/runs.csv
[ -s "$csv" ] || fail "no runs.csv"
# Every row has as many fields as the header.
awk -F, 'NR == 1 { n = NF; next } NF != n { print "row " NR " has " NF " fields, header " n; bad = 1 }
	END { exit bad }' "$csv" || fail "runs.csv does not parse"

col() { # arm column -> value
	awk -F, -v a="$1" -v k="$2" 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
		$c["arm"] == a { print $c[k]; exit }' "$csv"
}
errors=0
for arm in "${ARMS[@]}"; do
	status=$(col "$arm" status)
	if [ "$status" != ok ]; then
		echo "FAIL: $arm: status '$status': $(col "$arm" note)" >&2
		errors=$((errors + 1)); continue
	fi
	offered=$(col "$arm" offered) kept=$(col "$arm" kept) drops=$(col "$arm" drops)
	kpk=$(col "$arm" kernel_packets) backlog=$(col "$arm" backlog_drops)
	echo "$arm: offered $offered kept $kept drops $drops kernel_packets $kpk backlog_drops $backlog"
	if [ "$offered" != $N ]; then
		echo "FAIL: $arm: the generator sent $offered frames, not $N" >&2
		errors=$((errors + 1)); continue
	fi
	gap=$((offered - kept - drops))
	if [ "${gap#-}" -gt $((N / 100)) ]; then
		echo "FAIL: $arm: offered $offered != kept $kept + drops $drops (gap $gap > 1%);" \
			"softnet backlog drops in that run: $backlog" >&2
		errors=$((errors + 1))
	fi
	case $arm in
	recvfrom|v3)
		[ "$kpk" = "$offered" ] || {
			echo "FAIL: $arm: kernel saw $kpk frames, offered $offered" >&2
			errors=$((errors + 1)); } ;;
	ringcap-disk-1cpu) # the file it wrote, counted from its size before the bench removed it
		[ "$(col "$arm" file_packets)" = "$kept" ] || {
			echo "FAIL: $arm: its file held '$(col "$arm" file_packets)' records, kept $kept" >&2
			errors=$((errors + 1)); } ;;
	esac
	cpu=$(col "$arm" cpu_ns_per_pkt)
	[ -n "$cpu" ] || { echo "FAIL: $arm: no CPU figure" >&2; errors=$((errors + 1)); }
done

# The missing tool: reported, with no numbers at all.
status=$(col netsniff-ng status)
[ "$status" = "not installed" ] || { echo "FAIL: netsniff-ng status '$status'" >&2; errors=$((errors + 1)); }
[ -z "$(col netsniff-ng kept)$(col netsniff-ng cpu_ns_per_pkt)" ] ||
	{ echo "FAIL: numbers for a tool that is not installed" >&2; errors=$((errors + 1)); }
grep -q 'netsniff-ng *not installed' "$tmp/stdout" ||
	{ echo "FAIL: the table does not say netsniff-ng is not installed" >&2; errors=$((errors + 1)); }

# bench.json: valid JSON with every arm, checked by a parser nobody here wrote.
json=$tmp/out/bench.json
if command -v jq >/dev/null; then
	for arm in "${ARMS[@]}" netsniff-ng; do
		n=$(jq --arg a "$arm" '[.runs[] | select(.arm == $a)] | length' "$json") ||
			fail "bench.json does not parse (jq)"
		[ "$n" -ge 1 ] || { echo "FAIL: bench.json has no run for $arm" >&2; errors=$((errors + 1)); }
	done
	[ "$(jq -r '.runs[] | select(.arm == "netsniff-ng") | .status' "$json")" = "not installed" ] ||
		{ echo "FAIL: bench.json does not say netsniff-ng is not installed" >&2; errors=$((errors + 1)); }
elif command -v python3 >/dev/null; then
	python3 - "$json" "${ARMS[@]}" netsniff-ng <<'EOF' || errors=$((errors + 1))
import json, sys
d = json.load(open(sys.argv[1]))
arms = {r["arm"] for r in d["runs"]}
missing = [a for a in sys.argv[2:] if a not in arms]
if missing:
    sys.exit("FAIL: bench.json has no run for " + ",".join(missing))
EOF
else
	skip "neither jq nor python3 to parse bench.json"
fi

# One JSON line per arm run, with the counts, in bench.jsonl (jq reads it).
log=$tmp/out/bench.jsonl
n=$(jq -s '[.[] | select(.type == "run" and .status == "ok" and (.offered | type) == "number"
	and (.kept | type) == "number" and (.drops | type) == "number" and (.cpu_ns_per_pkt | type) == "number"
	and (.backlog_drops | type) == "number" and .rep == 1 and .frame == 60 and .rate == "100000")] | length' "$log") ||
	fail "bench.jsonl does not parse (jq)"
[ "$n" = ${#ARMS[@]} ] || { echo "FAIL: bench.jsonl has $n complete run lines, want ${#ARMS[@]}" >&2; errors=$((errors + 1)); }

# Whole-machine CPU: the none run (first of its turn, whatever --methods says)
# is the baseline; every arm's figure is its raw one less the none run's.
jq -s -e '[.[] | select(.type == "run" and .status == "ok")] | .[0].arm == "none"' "$log" >/dev/null ||
	{ echo "FAIL: the none arm did not run first" >&2; errors=$((errors + 1)); }
nr=$(jq -s -c '[.[] | select(.type == "run" and .arm == "none")][0] // {}' "$log")
echo "none: $nr"
if ! jq -e --argjson n $N '.status == "ok" and .offered == $n and (.machine_ns | type) == "number"
	and (.machine_ns_per_pkt_raw | type) == "number" and .machine_ns_per_pkt == null and .kept == null
	and ((.machine_ns / .offered - .machine_ns_per_pkt_raw) | fabs) <= 0.06' <<<"$nr" >/dev/null; then
	echo "FAIL: the none run is not ok with $N offered, its whole-machine figures and nothing kept: $nr" >&2
	errors=$((errors + 1))
fi
for arm in "${ARMS[@]}"; do
	r=$(jq -s -c --arg a "$arm" '[.[] | select(.type == "run" and .arm == $a)][0]
		| {machine_ns, machine_ns_per_pkt_raw, machine_ns_per_pkt, offered}' "$log")
	echo "$arm: $r"
	jq -e --argjson none "$nr" '(.machine_ns | type) == "number" and (.machine_ns_per_pkt_raw | type) == "number"
		and (.machine_ns_per_pkt | type) == "number"
		and ((.machine_ns / .offered - .machine_ns_per_pkt_raw) | fabs) <= 0.06
		and ((.machine_ns_per_pkt - (.machine_ns_per_pkt_raw - $none.machine_ns_per_pkt_raw)) | fabs) <= 0.11' \
		<<<"$r" >/dev/null ||
		{ echo "FAIL: $arm: whole-machine figures missing or not raw - the none run's: $r" >&2
		  errors=$((errors + 1)); }
	[ -n "$(col "$arm" machine_ns_per_pkt)" ] && [ -n "$(col "$arm" machine_ns_per_pkt_raw)" ] ||
		{ echo "FAIL: $arm: runs.csv lacks the whole-machine columns" >&2; errors=$((errors + 1)); }
done
[ "$(col none offered)" = $N ] && [ -n "$(col none machine_ns_per_pkt_raw)" ] ||
	{ echo "FAIL: runs.csv has no none row with its raw whole-machine figure" >&2; errors=$((errors + 1)); }
grep -q "machine ns/pkt" "$tmp/stdout" || { echo "FAIL: the table has no whole-machine column" >&2; errors=$((errors + 1)); }
for f in "$tmp/out/report.md" "$tmp/out/report.html"; do
	grep -q "machine ns/pkt" "$f" && grep -q "above the generator alone" "$f" ||
		{ echo "FAIL: ${f##*/} has no whole-machine column or finding" >&2; errors=$((errors + 1)); }
done

# The report: the command, the machine, --quick marked, images embedded.
md=$tmp/out/report.md html=$tmp/out/report.html
[ -s "$md" ] && [ -s "$html" ] || fail "no report.md or report.html in $tmp/out"
for want in "bench/ringcap-bench --quick --frames 60 --rates 100000 --packets $N" "$(uname -r)" \
	"$(nproc) CPUs" "$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)" "too short to compare" \
	"RPS off" "What this shows"; do
	grep -qF -- "$want" "$md" || { echo "FAIL: report.md does not say '$want'" >&2; errors=$((errors + 1)); }
done
# --quick measured no writer line and no disk line (no diskNN rate asked for one).
[ "$(jq -s -r '[.[] | select(.type == "writer" or .type == "disk") | .skipped] | join(" ")' "$log")" = "--quick --quick" ] ||
	{ echo "FAIL: --quick ran a disk or writer line: $(jq -c 'select(.type == "disk" or .type == "writer")' "$log")" >&2
	  errors=$((errors + 1)); }
grep -qF "too short to compare" "$tmp/stdout" || { echo "FAIL: the table does not mark --quick CPU figures" >&2; errors=$((errors + 1)); }
if command -v gnuplot >/dev/null; then
	pngs=$(ls "$tmp/out"/*.png 2>/dev/null | wc -l)
	imgs=$(grep -o "src='data:image/png;base64,[A-Za-z0-9+/=]*'" "$html" | wc -l)
	{ [ "$pngs" -ge 1 ] && [ "$imgs" = "$pngs" ]; } ||
		{ echo "FAIL: report.html embeds $imgs images, $pngs plots made" >&2; errors=$((errors + 1)); }
	grep -q "<img[^>]* src='[^d]" "$html" && { echo "FAIL: report.html links an image instead of embedding it" >&2; errors=$((errors + 1)); }
fi

# CPU budgets 10% and 100% with RPS on: a row per budget and arm, every frame
# accounted for, RPS on said, the cgroup made for the run gone afterwards.
timeout -k 5 60 bash bench/ringcap-bench --frames 60 --rates 50000 --packets 10000 --repeat 1 \
	--cpu-budget 10,100 --rps --methods recvfrom,v3 --build "$BUILD" --disk "$disk" --out "$tmp/out5" \
	>"$tmp/stdout5" 2>"$tmp/stderr5" || { tail -n 20 "$tmp/stderr5"; fail "ringcap-bench --cpu-budget failed"; }
cg=$(sed -n 's/.*cgroup: \(\/[^ ]*\) (.*/\1/p' "$tmp/stderr5")
[ -n "$cg" ] || fail "no cgroup line in the bench's progress output"
[ -e "$cg" ] && { echo "FAIL: cgroup $cg left behind" >&2; errors=$((errors + 1)); }
json=$tmp/out5/bench.json
for b in 10 100; do
	for arm in recvfrom v3; do
		r=$(jq -r --arg a "$arm" --argjson b $b '.runs[] | select(.arm == $a and .budget == $b) |
			"\(.status) \(.offered) \(.kept) \(.drops) \(.rps)"' "$json")
		read -r status offered kept drops rps <<<"$r"
		echo "budget $b%, $arm: $r"
		if [ "$status" != ok ] || [ "$offered" != 10000 ] || [ "$rps" != true ]; then
			echo "FAIL: budget $b% $arm: '$r' (want ok, 10000 offered, rps true)" >&2; errors=$((errors + 1))
		elif gap=$((offered - kept - drops)) && [ "${gap#-}" -gt 100 ]; then
			echo "FAIL: budget $b% $arm: offered $offered != kept $kept + drops $drops" >&2; errors=$((errors + 1))
		fi
	done
done
[ "$(jq .config.rps "$json")" = true ] && grep -q "RPS on" "$tmp/out5/report.md" && grep -q "RPS on" "$tmp/stdout5" ||
	{ echo "FAIL: bench.json, report.md or the table does not say RPS on" >&2; errors=$((errors + 1)); }
grep -q "^| 60 | 50000 | 10% | recvfrom |" "$tmp/out5/report.md" ||
	{ echo "FAIL: report.md has no row for recvfrom at a 10% budget" >&2; errors=$((errors + 1)); }
if command -v gnuplot >/dev/null; then
	grep -q "src='data:image/png;base64," "$tmp/out5/report.html" && [ -s "$tmp/out5/kept-vs-budget-60B-50000.png" ] ||
		{ echo "FAIL: no kept-vs-budget plot in the report" >&2; errors=$((errors + 1)); }
fi
# Stopped mid-run: the cgroup and the namespaces go all the same.
bash bench/ringcap-bench --frames 60 --rates 20000 --packets 100000 --repeat 1 --cpu-budget 20 --methods v3 \
	--build "$BUILD" --disk "$disk" --out "$tmp/out6" >/dev/null 2>"$tmp/stderr6" &
bpid=$!
for _ in $(seq 100); do grep -q '\[1/1\]' "$tmp/stderr6" && break; sleep 0.1; done
sleep 1
kill -TERM $bpid
wait $bpid
cg=$(sed -n 's/.*cgroup: \(\/[^ ]*\) (.*/\1/p' "$tmp/stderr6")
ns=$(sed -n 's/.*testbed: \(rca[0-9]*\)\/.*/\1/p' "$tmp/stderr6")
if [ -z "$cg" ] || [ -e "$cg" ] || [ -z "$ns" ] || ip netns list | grep -qw -e "$ns" -e "${ns/rca/rcb}"; then
	echo "FAIL: after SIGTERM: cgroup '$cg' or namespace '$ns' left behind (or never made)" >&2
	errors=$((errors + 1))
fi

# Two generators (--gen-cpus 0,1): their frames add up to exactly N, and every
# CSV row still parses (ringcap's CPU note names both CPUs).
if [ "$(nproc)" -ge 2 ]; then
	timeout -k 5 60 bash bench/ringcap-bench --frames 60 --rates 100000 --packets $N --repeat 1 \
		--methods v3,ringcap --gen-cpus 0,1 --build "$BUILD" --disk "$disk" --out "$tmp/out2" \
		>"$tmp/stdout2" 2>"$tmp/stderr2" ||
		{ tail -n 20 "$tmp/stderr2"; fail "ringcap-bench --gen-cpus 0,1 failed"; }
	csv=$tmp/out2/runs.csv
	awk -F, 'NR == 1 { n = NF; next } NF != n { bad = 1 } END { exit bad }' "$csv" ||
		{ echo "FAIL: --gen-cpus 0,1: runs.csv does not parse" >&2; errors=$((errors + 1)); }
	for arm in v3 ringcap; do
		offered=$(col "$arm" offered) kept=$(col "$arm" kept) drops=$(col "$arm" drops)
		echo "$arm, two generators: offered $offered kept $kept drops $drops"
		[ "$offered" = $N ] && [ $((kept + drops)) -eq $N ] ||
			{ echo "FAIL: two generators: $arm offered $offered, kept $kept + drops $drops, not $N" >&2
			  errors=$((errors + 1)); }
	done
	grep -q 'one on each of CPUs 0,1' "$tmp/stdout2" ||
		{ echo "FAIL: the table does not say where the two generators ran" >&2; errors=$((errors + 1)); }
fi

# diskNN. A bad token: exit 2 and one line naming it.
for r in disk0 diskx; do
	msg=$(bash bench/ringcap-bench --rates "$r" 2>&1 >/dev/null)
	rc=$?
	{ [ $rc -eq 2 ] && [ "$(printf '%s\n' "$msg" | wc -l)" -eq 1 ] && [[ $msg == *"'$r'"* ]]; } ||
		{ echo "FAIL: --rates $r: exit $rc, '$msg' (want exit 2, one line naming it)" >&2
		  errors=$((errors + 1)); }
done
# disk50 at 1514 B: floor(0.5 x bytes/seconds of the disk line / (1514 + 16)),
# and the generator held it (it was not run flat out).
timeout -k 5 60 bash bench/ringcap-bench --quick --frames 1514 --rates disk50 --methods v3 \
	--packets 5000 --build "$BUILD" --disk "$disk" --out "$tmp/out3" >"$tmp/stdout3" 2>"$tmp/stderr3" ||
	{ tail -n 20 "$tmp/stderr3"; fail "ringcap-bench --rates disk50 failed"; }
csv=$tmp/out3/runs.csv json=$tmp/out3/bench.json
pps=$(col v3 rate_pps)
want=$(jq -r '"\(.disk.bytes) \(.disk.seconds)"' "$json" |
	awk '$1 > 0 && $2 > 0 { printf "%.0f", int(50 * $1 / $2 / 100 / 1530) }')
echo "disk50 at 1514 B: $pps frames/s (disk line $(jq -c .disk "$json"): want $want);" \
	"offered $(col v3 offered_mpps) Mpps"
if [ "$(col v3 rate)" != disk50 ] || [ "$(col v3 status)" != ok ]; then
	echo "FAIL: disk50: rate '$(col v3 rate)', status '$(col v3 status)': $(col v3 note)" >&2
	errors=$((errors + 1))
elif ! [[ $pps =~ ^[1-9][0-9]*$ && $want =~ ^[0-9]+$ ]] || [ $((pps - want)) -gt 1 ] ||
	[ $((want - pps)) -gt 1 ]; then
	echo "FAIL: disk50 resolved to '$pps' frames/s, the disk line gives '$want'" >&2
	errors=$((errors + 1))
elif [ "$(jq '.rates_resolved[] | select(.rate == "disk50") | .pps' "$json")" != "$pps" ] ||
	! grep -q "^disk50 at 1514 B = $pps frames/s" "$tmp/stdout3"; then
	echo "FAIL: disk50 = $pps frames/s is not in bench.json's rates_resolved or under the table" >&2
	errors=$((errors + 1))
elif ! awk -v o="$(col v3 offered_mpps)" -v p="$pps" 'BEGIN { exit !(o > 0 && o * 1e6 <= p * 1.25) }'; then
	echo "FAIL: disk50: the generator offered $(col v3 offered_mpps) Mpps, asked $pps frames/s" >&2
	errors=$((errors + 1))
fi
# No disk line (a build without ringcap-disk): the disk50 run fails and says why.
mkdir "$tmp/nodisk" && ln -s "$(cd "$BUILD" && pwd)"/ringcap-arm "$(cd "$BUILD" && pwd)"/ringcap-gen "$tmp/nodisk/"
timeout -k 5 60 bash bench/ringcap-bench --quick --rates disk50 --methods v3 --packets 1000 \
	--build "$tmp/nodisk" --disk "$disk" --out "$tmp/out4" >"$tmp/stdout4" 2>"$tmp/stderr4"
rc=$? csv=$tmp/out4/runs.csv
if [ $rc -ne 1 ] || [ "$(col v3 status)" != failed ] || [ -n "$(col v3 offered)" ] ||
	[[ $(col v3 note) != *"no disk line"* ]] || ! grep -q 'no disk line' "$tmp/stderr4"; then
	echo "FAIL: disk50 with no disk line: exit $rc, status '$(col v3 status)', note '$(col v3 note)'" >&2
	errors=$((errors + 1))
fi
for f in "$tmp/stderr3" "$tmp/stderr4"; do
	ns=$(sed -n 's/.*testbed: \(rca[0-9]*\)\/.*/\1/p' "$f")
	[ -n "$ns" ] && ip netns list | grep -qw -e "$ns" -e "${ns/rca/rcb}" && fail "namespace $ns left behind"
done

[ $errors -eq 0 ] || fail "$errors check(s) failed"
echo "PASS: bench accounts for every frame of every arm (tolerance 1%), reports the missing tool, resolves diskNN," \
	"limits CPU per budget and removes its cgroup, says RPS on, writes the report"
