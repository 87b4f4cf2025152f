#!/usr/bin/env bash
# -D: in a namespace holding lo, one end of a veth pair (up) and a tun (down),
# every interface is listed once, numbered from 1, with the link type ringcap
# writes for it and its state; the exit status is 0 and nothing is created.
source "$(dirname "$0")/../lib/testbed.sh"
need_root
testbed_start cli_list_interfaces
TUN=tn$TB_ID
ip -n "$NS_B" tuntap add dev "$TUN" mode tun || skip "no tun device"

cd "$TMP" || fail "cd"
in_b "$BUILD/ringcap" -D >list.txt 2>err.txt || fail "ringcap -D: exit $?: $(cat err.txt)"
cat list.txt
[ ! -s err.txt ] || fail "ringcap -D wrote on stderr: $(cat err.txt)"
[ "$(ls -A | sort | tr '\n' ' ')" = "err.txt list.txt " ] || fail "ringcap -D created files: $(ls -A)"

want=$(ip -n "$NS_B" -o link show | wc -l)
[ "$(wc -l <list.txt)" -eq "$want" ] || fail "$(wc -l <list.txt) lines for $want interfaces"
seq 1 "$want" | sed 's/$/./' >want_numbers.txt
sed -E 's/^([0-9]+\.).*/\1/' list.txt | cmp -s - want_numbers.txt || fail "not numbered 1..$want"
expect() { # NAME "[LINKTYPE, STATE...]"
	grep -qxF -- "$(grep -F ".$1 " list.txt | head -1 | cut -d. -f1).$1 $2" list.txt ||
		fail "no line '$1 $2'"
}
expect lo "[EN10MB, up, loopback]"
expect "$IF_B" "[EN10MB, up]"
expect "$TUN" "[RAW, down]"
ip -n "$NS_B" link set "$IF_B" down
in_b "$BUILD/ringcap" -D >list.txt 2>err.txt || fail "ringcap -D: exit $?"
expect "$IF_B" "[EN10MB, down]"
echo "ok: $want interfaces listed with their link types and states"
