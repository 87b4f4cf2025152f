#!/usr/bin/env bash
# The main job on a self-made testbed: two network namespaces joined by a veth
# pair (198.18.0.0/15), a bounded burst from the project's generator on one
# end, ringcap capturing on the other to a pcap file; prints ringcap's counters
# and the first lines of `tcpdump -r` on the file, then removes the testbed.
#   scripts/demo.sh [BUILD_DIR]
set -u
BUILD=${1:-build}
BUILD=$(cd "$BUILD" && pwd) || exit 2
export BUILD
source "$(dirname "$0")/../tests/lib/testbed.sh"
[ "$(id -u)" -eq 0 ] || { echo "demo: run as root (namespaces, packet sockets)" >&2; exit 2; }
testbed_up || { echo "demo: cannot build the testbed" >&2; exit 1; }
dir=$(mktemp -d); TB_EXTRA_CLEANUP="rm -rf $dir"
out="$dir/demo.pcap"

echo "testbed: $NS_A/$IF_A ($IP_A) <-> $NS_B/$IF_B ($IP_B)"
ringcap_start "$dir/ringcap.log" -i "$IF_B" -w "$out" -T 2 --stats-json "$dir/stats.json" ||
	{ cat "$dir/ringcap.log"; exit 1; }
head -n1 "$dir/ringcap.log"
echo "sending 100000 mixed frames (60..1514 bytes, 64 flows) at 200000 frames/s"
in_a "$BUILD/ringcap-gen" -i "$IF_A" -n 100000 --mix --sizes 60,590,1514 --flows 64 -r 200000 \
	--duration 20
sleep 0.3
ringcap_stop
echo "--- ringcap (exit $RC_STATUS):"
tail -n +2 "$dir/ringcap.log"
echo "--- tcpdump -r $(basename "$out") | head:"
tcpdump -nn -r "$out" 2>/dev/null | head -n 12
echo "--- $(tcpdump -nn -r "$out" 2>/dev/null | wc -l) records in the file ($(stat -c %s "$out") bytes)"
exit "$RC_STATUS"
