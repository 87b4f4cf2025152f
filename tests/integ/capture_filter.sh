#!/usr/bin/env bash
# A filter that keeps only part of the traffic: the file holds exactly that
# part (the oracle is libpcap applying the same expression to the frames sent).
source "$(dirname "$0")/../lib/testbed.sh"
need_root
need_cmd tcpdump
testbed_up || fail "testbed"
dir=$(mktemp -d); TB_EXTRA_CLEANUP="rm -rf $dir"

N=12000
EXPR="ether src $MAC_A and (tcp or icmp)"
ringcap_start "$dir/rc.log" -i "$IF_B" -w "$dir/cap.pcap" -T 2 $EXPR || fail "ringcap did not start"
in_a "$BUILD/ringcap-gen" -i "$IF_A" -n $N --mix --sizes 60,1514 --flows 16 -r 40000 \
	--duration 20 -w "$dir/ref.pcap" -q || fail "generator failed"
sleep 0.3
ringcap_stop
cat "$dir/rc.log"
[ "$RC_STATUS" -eq 0 ] || fail "ringcap exit $RC_STATUS"

pcap_hexlines "$dir/ref.pcap" $EXPR | sort >"$dir/want.hex"
pcap_hexlines "$dir/cap.pcap" | sort >"$dir/got.hex"
want=$(wc -l <"$dir/want.hex")
[ "$want" -gt 0 ] && [ "$want" -lt $N ] || fail "oracle selects $want of $N: test is meaningless"
cmp -s "$dir/want.hex" "$dir/got.hex" ||
	fail "file holds $(wc -l <"$dir/got.hex") frames, the expression selects $want (or bytes differ)"
[ "$(counter "$dir/rc.log" "packets received by filter")" -eq "$want" ] ||
	fail "kernel counted a different number of filtered packets"
echo "ok: $want of $N frames selected, exactly"
