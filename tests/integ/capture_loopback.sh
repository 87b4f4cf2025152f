#!/usr/bin/env bash
# Loopback: every packet passes lo twice (out, then back in); ringcap stores
# it once, as libpcap does. 5 pings give 5 requests and 5 replies: 10 records.
source "$(dirname "$0")/../lib/testbed.sh"
need_root
need_cmd tcpdump
need_cmd ping
testbed_start capture_loopback

ringcap_start "$TMP/l.log" -i lo -w "$TMP/l.pcap" -T 2 || fail "start: $(cat "$TMP/l.log")"
in_b ping -c 5 -i 0.05 -W 10 -q 127.0.0.1 >/dev/null || fail "ping on lo"
wait_captured "$TMP/l.log" 10 30 || true
ringcap_stop
[ "$RC_STATUS" -eq 0 ] || fail "exit $RC_STATUS: $(cat "$TMP/l.log")"
req=$(tcpdump -r "$TMP/l.pcap" -nn 'icmp[icmptype] = icmp-echo' 2>/dev/null | wc -l)
rep=$(tcpdump -r "$TMP/l.pcap" -nn 'icmp[icmptype] = icmp-echoreply' 2>/dev/null | wc -l)
[ "$req" -eq 5 ] && [ "$rep" -eq 5 ] || fail "lo: $req echo requests and $rep replies stored, want 5 and 5"
echo "ok: lo stores each packet once ($req requests, $rep replies)"
