#!/usr/bin/env bash
# Promiscuous mode: capturing with -w puts the interface into promiscuous mode
# (its promiscuity counter, `ip -d link`, goes up by one per capture socket)
# while ringcap runs and the kernel takes it back when ringcap exits; with -p,
# and when ringcap only answers ARP, the counter does not move. veth delivers
# frames for other MACs anyway, so only the counter can show this.
source "$(dirname "$0")/../lib/testbed.sh"
need_root
testbed_start capture_promisc

promiscuity() { ip -n "$NS_B" -d link show "$IF_B" | sed -n 's/.*promiscuity \([0-9]*\).*/\1/p'; }

before=$(promiscuity)
[ -n "$before" ] || fail "no promiscuity counter in: $(ip -n "$NS_B" -d link show "$IF_B")"

ringcap_start "$TMP/a.log" -i "$IF_B" -w "$TMP/a.pcap" -T 2 || fail "start: $(cat "$TMP/a.log")"
during=$(promiscuity)
ringcap_stop
after=$(promiscuity)
[ "$RC_STATUS" -eq 0 ] || fail "exit $RC_STATUS: $(cat "$TMP/a.log")"
[ "$during" -eq $((before + 2)) ] || fail "2 workers: promiscuity $before -> $during while capturing"
[ "$after" -eq "$before" ] || fail "promiscuity $after after exit, $before before"
echo "ok: promiscuity $before -> $during -> $after"

ringcap_start "$TMP/p.log" -i "$IF_B" -w "$TMP/p.pcap" -T 2 -p || fail "start -p: $(cat "$TMP/p.log")"
during=$(promiscuity)
ringcap_stop
[ "$during" -eq "$before" ] || fail "-p: promiscuity $before -> $during"
echo "ok: -p leaves it at $during"

ringcap_start "$TMP/r.log" -i "$IF_B" --arp 198.18.2.0/24 -T 1 || fail "start --arp: $(cat "$TMP/r.log")"
during=$(promiscuity)
ringcap_stop
[ "$during" -eq "$before" ] || fail "--arp alone: promiscuity $before -> $during"
echo "ok: ARP answering alone leaves it at $during"

# the kernel undoes it even when ringcap cannot: SIGKILL
ringcap_start "$TMP/k.log" -i "$IF_B" -w "$TMP/k.pcap" -T 1 || fail "start: $(cat "$TMP/k.log")"
kill -KILL "$RC_PID"; wait "$RC_PID" 2>/dev/null; RC_PID=
after=$(promiscuity)
[ "$after" -eq "$before" ] || fail "after SIGKILL: promiscuity $after, $before before"
echo "ok: after SIGKILL back to $after"
