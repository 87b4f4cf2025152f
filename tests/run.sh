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

# Runs a test and leaves its exit status and wall time in $log_dir/NAME.rc:
# what report prints from. Unit tests run two at a time through it.
run_test() { # name limit_seconds cmd...
	local name=$1 limit=$2; shift 2
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
	[ $rc -eq 124 ] && echo "(timed out after ${limit}s)" >>"$log"
	echo "$rc $((SECONDS - t0))" >"$log_dir/${name//\//_}.rc"
}

# The verdict line of a test run_test has run, and the counts.
report() { # name
	local name=$1 log="$log_dir/${1//\//_}.log" rc dt
	read -r rc dt <"$log_dir/${name//\//_}.rc" || { rc=1 dt=0; }
	case $rc in
	0) pass=$((pass + 1)); printf 'PASS  %-34s %3ds\n' "$name" "$dt" ;;
	77) skipped=$((skipped + 1)); printf 'SKIP  %-34s %3ds  %s\n' "$name" "$dt" "$(tail -n1 "$log")" ;;
	*) failed=$((failed + 1)); failures+=("$name")
	   printf 'FAIL  %-34s %3ds  (exit %d)\n' "$name" "$dt" "$rc"
	   sed 's/^/      | /' "$log" | tail -n 40 ;;
	esac
}

run_one() { # name limit_seconds cmd...
	[ -n "$FILTER" ] && [[ $1 != *$FILTER* ]] && return
	run_test "$@"
	report "$1"
}

# Unit tests use no network and no fixed paths: two at a time, reported in
# order as each finishes (test i is waited for before test i+2 starts).
units=() pids=()
for t in "$BUILD"/tests/*; do
	[ -x "$t" ] && [ -f "$t" ] || continue
	name="unit/$(basename "$t")"
	[ -n "$FILTER" ] && [[ $name != *$FILTER* ]] && continue
	units+=("$name")
done
for ((i = 0; i < ${#units[@]} + 1; i++)); do
	if [ $i -lt ${#units[@]} ]; then
		run_test "${units[i]}" 60 "$BUILD/tests/${units[i]#unit/}" &
		pids[i]=$!
	fi
	[ $i -ge 1 ] || continue
	wait "${pids[i - 1]}"
	report "${units[i - 1]}"
done
for t in tests/integ/*.sh; do
	[ -f "$t" ] || continue
	run_one "integ/$(basename "$t" .sh)" 240 bash "$t"
done

rm -rf "$log_dir"
echo "$pass passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
