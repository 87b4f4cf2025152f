#!/usr/bin/env bash
# --max-total holds for what the files occupy, not only for their sizes: the
# writer reserves space ahead of its writes (fallocate, KEEP_SIZE), which no
# file size shows, so the reservation is sized to the limit. With -G 1 (no
# -C: nothing else bounds the reservation) and --max-total 8m on a tmpfs,
# while about 10 MB go by, the blocks the folder holds (du, allocated) never
# pass 8 MiB plus one bounded step (the reservation, 1 MiB here, and one more
# for what lands between two retention looks), and retention deleted files.
source "$(dirname "$0")/../lib/testbed.sh"
need_root
need_cmd tcpdump
testbed_start capture_retention_blocks
mnt=$(mktemp -d)
TB_EXTRA_CLEANUP="umount $mnt; rmdir $mnt"
# larger than a 256 MiB reservation: the file system would not refuse one
mount -t tmpfs -o size=600m tmpfs "$mnt" || skip "cannot mount a tmpfs"
LIMIT=$((8 * 1024 * 1024)) STEP=$((1024 * 1024))

ringcap_start "$TMP/r.log" -i "$IF_B" -w "$mnt/r-%s.pcap" -G 1 -T 1 --max-total 8m ||
	fail "start: $(cat "$TMP/r.log")"
in_a "$BUILD/ringcap-gen" -i "$IF_A" -n 10000 -s 1000 --flows 4 -r 2500 -q --duration 10 &
gen=$!
most=0
while kill -0 $gen 2>/dev/null; do
	used=$(du -s --block-size=1 "$mnt" | cut -f1)
	[ "$used" -gt "$most" ] && most=$used
	sleep 0.1
done
wait $gen
sleep 0.5
used=$(du -s --block-size=1 "$mnt" | cut -f1)
[ "$used" -gt "$most" ] && most=$used
ringcap_stop
tail -n 8 "$TMP/r.log"
[ "$RC_STATUS" -eq 0 ] || fail "exit $RC_STATUS"
deleted=$(grep -c "retention: deleted" "$TMP/r.log")
[ "$deleted" -ge 1 ] || fail "retention deleted nothing: $(ls -la "$mnt")"
[ "$most" -le $((LIMIT + 2 * STEP)) ] ||
	fail "the folder held $most bytes of blocks, more than $LIMIT + 2 x $STEP"
echo "ok: at most $most bytes allocated under --max-total 8m; $deleted files deleted"
