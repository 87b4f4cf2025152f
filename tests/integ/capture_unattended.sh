#!/usr/bin/env bash
# Unattended: -z runs its command once per closed file, on its final size,
# never on the file being written; a failing command is logged while capture
# goes on, and run again on its file (once here: it succeeds then); --max-total and --min-free keep their limits on a
# small tmpfs over many rotations by deleting this capture's oldest files
# (with their indexes), never a file that is not the capture's, and the
# newest files stay, every one valid.
source "$(dirname "$0")/../lib/testbed.sh"
need_root
need_cmd tcpdump
testbed_start capture_unattended
mnt=$TMP/mnt
mkdir -p "$mnt"
mount -t tmpfs -o size=48m tmpfs "$mnt" || skip "cannot mount a tmpfs"
# Unmount before the trap's rm -rf of $TMP, or it would empty the mount: a
# -z child may still hold it busy, so retry (at most 10 s), then detach it
# lazily; if it is still mounted after that, leave $TMP be.
# shellcheck disable=SC2317  # run by testbed.sh's EXIT trap
unmount_mnt() {
	for _ in $(seq 100); do
		mountpoint -q "$mnt" || return 0
		umount "$mnt" 2>/dev/null && return 0
		sleep 0.1
	done
	umount -l "$mnt" 2>/dev/null
	mountpoint -q "$mnt" && TB_TMP=
	return 0
}
TB_EXTRA_CLEANUP=unmount_mnt

gen() { in_a "$BUILD/ringcap-gen" -i "$IF_A" -n "$1" -s 1000 --flows 8 -r "${2:-20000}" -q --duration 20; }

# -z: a script that records the file and its size when it runs
cat >"$TMP/z.sh" <<'Z'
#!/bin/sh
echo "$1 $(stat -c %s "$1")" >>"$(dirname "$0")/z.log"
d=$(dirname "$0")
case "$1" in *pcap2) [ -e "$d/failed-once" ] || { : >"$d/failed-once"; exit 3; } ;; esac
Z
chmod +x "$TMP/z.sh"
ringcap_start "$TMP/z.out" -i "$IF_B" -w "$TMP/z.pcap" -T 1 -C 1 -z "$TMP/z.sh" ||
	fail "start: $(cat "$TMP/z.out")"
gen 5000
wait_captured "$TMP/z.out" 5000 30 || true
ringcap_stop
[ "$RC_STATUS" -eq 0 ] || fail "-z: exit $RC_STATUS: $(cat "$TMP/z.out")"
nfiles=$(ls "$TMP"/z.pcap* | wc -l)
[ "$(wc -l <"$TMP/z.log")" -eq $((nfiles + 1)) ] ||
	fail "-z ran $(wc -l <"$TMP/z.log") times for $nfiles files and one retry: $(cat "$TMP/z.log")"
[ "$(awk '{print $1}' "$TMP/z.log" | sort -u | wc -l)" -eq "$nfiles" ] || fail "-z missed a file: $(cat "$TMP/z.log")"
[ "$(grep -c "z.pcap2 " "$TMP/z.log")" -eq 2 ] || fail "the failing -z was not run again once: $(cat "$TMP/z.log")"
grep -q "z_retried 1 runs" "$TMP/z.out" || fail "no retry counted: $(grep -- '-z runs' "$TMP/z.out")"
while read -r f size; do
	[ "$(stat -c %s "$f")" -eq "$size" ] || fail "-z saw $f at $size bytes, final $(stat -c %s "$f")"
done <"$TMP/z.log"
grep -q "z.pcap2.*3\|status 3\|exit 3" "$TMP/z.out" || fail "the failing -z command was not logged: $(cat "$TMP/z.out")"
n=0; for f in "$TMP"/z.pcap*; do c=$(pcap_count "$f") || fail "$f: $c"; n=$((n + c)); done
[ "$n" -eq 5000 ] || fail "-z: files hold $n of 5000"
echo "ok: -z ran once on each of $nfiles files at its final size; a failing one was logged and run again; 5000 records"

# --max-total on the tmpfs, with a file that is not ours beside
echo keep >"$mnt/notes.txt"
ringcap_start "$TMP/m.out" -i "$IF_B" -w "$mnt/m.pcap" -T 2 -C 2 --max-total 16m ||
	fail "start: $(cat "$TMP/m.out")"
gen 30000 10000
sleep 0.5
ringcap_stop
[ "$RC_STATUS" -eq 0 ] || fail "--max-total: exit $RC_STATUS: $(cat "$TMP/m.out")"
[ -f "$mnt/notes.txt" ] || fail "--max-total deleted a file that is not the capture's"
total=$(du -cb "$mnt"/m.pcap* | tail -1 | cut -f1)
deleted=$(grep -c "retention: deleted" "$TMP/m.out")
[ "$deleted" -gt 0 ] || fail "--max-total deleted nothing ($total bytes): $(cat "$TMP/m.out")"
[ "$total" -le $((16 * 1024 * 1024 + 2 * 1000 * 1000)) ] || fail "--max-total 16m: $total bytes left"
[ "$(ls "$mnt"/m.pcap* | wc -l)" -ge 3 ] || fail "--max-total 16m kept too little: $(ls -l "$mnt")"
for f in "$mnt"/m.pcap*; do c=$(pcap_count "$f") || fail "$f: $c"; done
last_seq=$(ls "$mnt"/m.pcap* | sed 's/.*m\.pcap//' | sort -n | tail -1)
[ -e "$mnt/m.pcap$last_seq" ] || fail "the newest file is gone"
for f in "$mnt"/m.pcap*; do [ -e "$mnt/.$(basename "$f").ridx" ] || fail "index of $f missing"; done
ls -A "$mnt" | grep '\.ridx$' | while read -r i; do
	p=${i#.}; p=${p%.ridx}; [ -e "$mnt/$p" ] || fail "index $i outlived its file"
done || exit 1
echo "ok: --max-total 16m: $deleted files deleted, $total bytes left, the newest and notes.txt kept, all valid"
rm -f "$mnt"/m.pcap* "$mnt"/.m.pcap*

# --min-free on the same 48 MB tmpfs
ringcap_start "$TMP/f.out" -i "$IF_B" -w "$mnt/f.pcap" -T 1 -C 2 --min-free 30m ||
	fail "start: $(cat "$TMP/f.out")"
gen 40000 10000
sleep 0.5
ringcap_stop
[ "$RC_STATUS" -eq 0 ] || fail "--min-free: exit $RC_STATUS: $(cat "$TMP/f.out")"
free=$(df -B1 --output=avail "$mnt" | tail -1 | tr -d ' ')
[ "$(grep -c "retention: deleted" "$TMP/f.out")" -gt 0 ] || fail "--min-free deleted nothing: $(cat "$TMP/f.out")"
[ "$free" -ge $((30 * 1024 * 1024 - 2 * 1000 * 1000)) ] || fail "--min-free 30m: $free bytes free"
[ "$(ls "$mnt"/f.pcap* | wc -l)" -ge 3 ] || fail "--min-free 30m kept too little: $(ls -l "$mnt")"
[ -f "$mnt/notes.txt" ] || fail "--min-free deleted a file that is not the capture's"
for f in "$mnt"/f.pcap*; do c=$(pcap_count "$f") || fail "$f: $c"; done
echo "ok: --min-free 30m: $free bytes free at the end, notes.txt kept, every file valid"
