#!/usr/bin/env bash
# Bad input: one clear line naming the bad value, exit status 2, and no file
# created. Control case: the same command with the value fixed succeeds.
source "$(dirname "$0")/../lib/testbed.sh"
need_root
testbed_up || fail "testbed"
dir=$(mktemp -d); TB_EXTRA_CLEANUP="rm -rf $dir"
chmod 755 "$dir"
out="$dir/out.pcap"

expect_bad() { # NEEDLE CMD... : exit 2, one stderr line containing NEEDLE, no file
	local needle=$1; shift
	rm -f "$out"
	"$@" >"$dir/stdout" 2>"$dir/stderr"
	local rc=$?
	[ $rc -eq 2 ] || fail "exit $rc (want 2) for: $* :: $(cat "$dir/stderr")"
	[ "$(wc -l <"$dir/stderr")" -eq 1 ] || fail "want one line for: $* :: $(cat "$dir/stderr")"
	grep -qF -- "$needle" "$dir/stderr" || fail "message does not name '$needle': $(cat "$dir/stderr")"
	[ -e "$out" ] && fail "file created for: $*"
	echo "ok: $(cat "$dir/stderr")"
}

RC=(ip netns exec "$NS_B" "$BUILD/ringcap")
expect_bad nosuch0 "${RC[@]}" -i nosuch0 -w "$out"
ip -n "$NS_B" link add dn7 type veth peer name dn8 || fail "cannot make a down link"
expect_bad "'dn7': interface is down" "${RC[@]}" -i dn7 -w "$out"
expect_bad "udp port banana" "${RC[@]}" -i "$IF_B" -w "$out" udp port banana
expect_bad "tcp and" "${RC[@]}" -i "$IF_B" -w "$out" tcp and
expect_bad /nonexistent/dir/x.pcap "${RC[@]}" -i "$IF_B" -w /nonexistent/dir/x.pcap
expect_bad "$dir" "${RC[@]}" -i "$IF_B" -w "$dir"            # a directory
# a newline in a name cannot forge a line of its own: it comes out as \n
expect_bad '/nonexistent/x\nringcap: 0 packets dropped' "${RC[@]}" -i "$IF_B" \
	-w $'/nonexistent/x\nringcap: 0 packets dropped'
expect_bad abc "${RC[@]}" -i "$IF_B" -w "$out" -c abc
expect_bad 0 "${RC[@]}" -i "$IF_B" -w "$out" -c 0
expect_bad 10q "${RC[@]}" -i "$IF_B" -w "$out" -B 10q
expect_bad 100k "${RC[@]}" -i "$IF_B" -w "$out" --block-size 100k
expect_bad 300000 "${RC[@]}" -i "$IF_B" -w "$out" -s 300000
expect_bad -5 "${RC[@]}" -i "$IF_B" -w "$out" -s -5
expect_bad 2x "${RC[@]}" -i "$IF_B" -w "$out" --duration 2x
expect_bad banana "${RC[@]}" -i "$IF_B" -w "$out" --fanout banana
expect_bad 65 "${RC[@]}" -i "$IF_B" -w "$out" -T 65
expect_bad "-i" "${RC[@]}" -w "$out"
expect_bad "'$out': it is the capture file" "${RC[@]}" -i "$IF_B" -w "$out" --stats-json "$out"
expect_bad "it is the capture file" "${RC[@]}" -i "$IF_B" -w "$out" --stats-json "$dir/./out.pcap"
if id nobody >/dev/null 2>&1; then # $dir is root's, 0755: nobody cannot create the next files
	expect_bad "bad user 'nobody': cannot create the next files" "${RC[@]}" -i "$IF_B" -w "$out" -Z nobody -C 1
	expect_bad "bad user 'nobody'" "${RC[@]}" -i "$IF_B" -w "$out" -Z nobody -G 5
fi
# not root: an unprivileged user cannot open packet sockets
if command -v setpriv >/dev/null; then
	expect_bad "needs root" ip netns exec "$NS_B" setpriv --reuid=65534 --regid=65534 --clear-groups \
		"$BUILD/ringcap" -i "$IF_B" -w "$out"
fi

# Control: the same shape of command with good values works and makes the file.
"${RC[@]}" -i "$IF_B" -w "$out" --duration 0.3 -c 5 udp port 53 2>"$dir/stderr" ||
	fail "good command failed: $(cat "$dir/stderr")"
[ -s "$out" ] || fail "good command made no file"
echo "ok: control run"
