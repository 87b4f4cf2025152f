#!/usr/bin/env bash
# The one test runner: unit binaries (no privileges) then integration scripts (root, netns).
# Each test runs under a time limit; exit 0 pass, 77 skip, anything else fail.
# Ends with the line "N passed, N failed, N skipped" and exits non-zero on any failure.
#   tests/run.sh BUILD_DIR [NAME_FILTER]
# RINGCAP_SANITIZE (set by make test SANITIZE=...) tells tests which sanitizer the
# build has, so one that cannot run under it can skip with its reason.
set -u
BUILD=${1:-build}
FILTER=${2:-}
RINGCAP_SANITIZE=${RINGCAP_SANITIZE:-}
export BUILD RINGCAP_SANITIZE
tsan=false
case $RINGCAP_SANITIZE in *thread*) tsan=true ;; esac
BUILD=$(cd "$BUILD" && pwd) || { echo "run.sh: no build dir '$1'"; exit 2; }
cd "$(dirname "$0")/.." || exit 2

pass=0 failed=0 skipped=0 failures=()
log_dir=$(mktemp -d /tmp/ringcap-tests.XXXXXX)

run_one() { # name limit_seconds cmd...
	local name=$1 limit=$2; shift 2
	[ -n "$FILTER" ] && [[ $name != *$FILTER* ]] && return
	local t0=$SECONDS log="$log_dir/${name//\//_}.log" tsan_log="$log_dir/${name//\//_}.tsan"
	# Under ThreadSanitizer every process a test starts (ringcap in a
	# namespace too, whose stderr the test keeps) writes its reports to
	# tsan_log.PID: any such file fails the test, whatever it exited with.
	if $tsan; then
		TSAN_OPTIONS="log_path=$tsan_log second_deadlock_stack=1 ${TSAN_OPTIONS:-}" \
			timeout -k 5 "$limit" "$@" >"$log" 2>&1
	else
		timeout -k 5 "$limit" "$@" >"$log" 2>&1
	fi
	local rc=$?
	if compgen -G "$tsan_log.*" >/dev/null; then
		grep -h -A3 'WARNING: ThreadSanitizer' "$tsan_log".* | head -n 40 >>"$log"
		echo "ThreadSanitizer: $(cat "$tsan_log".* | grep -c "WARNING: ThreadSanitizer") report(s)" >>"$log"
		rc=1
	fi
	local dt=$((SECONDS - t0))
	case $rc in
	0) pass=$((pass + 1)); printf 'PASS  %-34s %3ds\n' "$name" "$dt" ;;
	77) skipped=$((skipped + 1)); printf 'SKIP  %-34s %3ds  %s\n' "$name" "$dt" "$(tail -n1 "$log")" ;;
	*) failed=$((failed + 1)); failures+=("$name")
	   [ $rc -eq 124 ] && echo "(timed out after ${limit}s)" >>"$log"
	   printf 'FAIL  %-34s %3ds  (exit %d)\n' "$name" "$dt" "$rc"
	   sed 's/^/      | /' "$log" | tail -n 40 ;;
	esac
}

for t in "$BUILD"/tests/*; do
	[ -x "$t" ] && [ -f "$t" ] || continue
	run_one "unit/$(basename "$t")" 60 "$t"
done
for t in tests/integ/*.sh; do
	[ -f "$t" ] || continue
	run_one "integ/$(basename "$t" .sh)" 240 bash "$t"
done

rm -rf "$log_dir"
echo "$pass passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
