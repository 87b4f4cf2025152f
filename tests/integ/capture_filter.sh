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
pcap_hexlines "$dir/ref.pcap" $EXPR | sort >"$dir/want.hex"
want=$(wc -l <"$dir/want.hex")
[ "$want" -gt 0 ] && [ "$want" -lt $N ] || fail "oracle selects $want of $N: test is meaningless"
wait_accounted "$dir/rc.log" "$want" || true
ringcap_stop
cat "$dir/rc.log"
[ "$RC_STATUS" -eq 0 ] || fail "ringcap exit $RC_STATUS"

pcap_hexlines "$dir/cap.pcap" | sort >"$dir/got.hex"
captured=$(counter "$dir/rc.log" "packets captured") received=$(counter "$dir/rc.log" "packets received by filter")
dropped=$(counter "$dir/rc.log" "packets dropped by kernel") left=$(counter "$dir/rc.log" "packets left in the ring")
left=${left:-0}
# every frame in the file is one the expression selects, none twice, as many
# as reported; the kernel's filter admitted no more than the expression selects
[ -z "$(comm -23 "$dir/got.hex" "$dir/want.hex")" ] || fail "the file holds frames the expression does not select (or bytes differ)"
[ "$(wc -l <"$dir/got.hex")" -eq "$captured" ] || fail "file holds $(wc -l <"$dir/got.hex") frames, $captured captured"
[ $((captured + dropped + left)) -eq "$received" ] && [ "$received" -le "$want" ] ||
	fail "captured $captured + dropped $dropped + left $left, received $received, selected $want"
if [ $((dropped + left)) -eq 0 ] && [ "$received" -eq "$want" ]; then
	cmp -s "$dir/want.hex" "$dir/got.hex" || fail "file holds $(wc -l <"$dir/got.hex") frames, the expression selects $want"
	echo "ok: $want of $N frames selected, exactly"
else
	echo "ok: $captured of the $want selected frames kept, none other ($dropped dropped, $left left, $((want - received)) not received on a loaded machine)"
fi
