#!/usr/bin/env bash
# bench_smoke — a short run of bench/ringcap-bench checks the bench itself:
#   - the generator sent exactly N frames in every run;
#   - every arm accounts for what was offered: |offered - kept - drops| <= 1% of
#     offered (frames can be lost before any socket, at the veth backlog: the
#     bench records /proc/net/softnet_stat's drop delta per run, shown on failure);
#     and for the arms that own their socket, the kernel's tp_packets == offered;
#   - runs.csv and bench.json parse and hold a row for every arm asked for;
#   - a peer tool that is missing is reported as "not installed", with no numbers:
#     the bench runs with a PATH that lacks netsniff-ng;
#   - the namespaces and the capture files are gone afterwards.
# Root (namespaces). About 15 s here; the bench's own bounds keep it under 90 s.
# Exit 0 pass, 1 fail, 77 skip.
set -u
cd "$(dirname "$0")/../.." || exit 1
# shellcheck disable=SC1091
. tests/lib/testbed.sh
need_root

BUILD=${BUILD:-build}
N=20000
ARMS=(recvfrom v3 ringcap)
for b in ringcap-arm ringcap-gen ringcap; do
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
	--packets $N --repeat 1 --methods recvfrom,v3,ringcap,netsniff-ng \
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
	case $arm in recvfrom|v3)
		[ "$kpk" = "$offered" ] || {
			echo "FAIL: $arm: kernel saw $kpk frames, offered $offered" >&2
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

[ $errors -eq 0 ] || fail "$errors check(s) failed"
echo "PASS: bench accounts for every frame of every arm (tolerance 1%), reports the missing tool"
