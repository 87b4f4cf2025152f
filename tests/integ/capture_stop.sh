#!/usr/bin/env bash
# Ways a capture ends: -c N writes exactly N records and exits 0 by itself;
# --duration ends it by itself; SIGTERM ends it with a valid file. Also the
# nanosecond magic and a snaplen that cuts packets.
source "$(dirname "$0")/../lib/testbed.sh"
need_root
need_cmd tcpdump
testbed_up || fail "testbed"
dir=$(mktemp -d); TB_EXTRA_CLEANUP="rm -rf $dir"

# -c: exits on its own after exactly 1000 of the 5000 frames, with -T 2.
ringcap_start "$dir/c.log" -i "$IF_B" -w "$dir/c.pcap" -T 2 -c 1000 || fail "start"
in_a "$BUILD/ringcap-gen" -i "$IF_A" -n 5000 -s 100 --flows 8 -r 20000 -q --duration 10
for _ in $(seq 300); do kill -0 "$RC_PID" 2>/dev/null || break; sleep 0.1; done
kill -0 "$RC_PID" 2>/dev/null && fail "-c 1000 did not end the capture"
wait "$RC_PID"; rc=$?
[ $rc -eq 0 ] || fail "-c exit $rc: $(cat "$dir/c.log")"
[ "$(pcap_count "$dir/c.pcap")" = 1000 ] || fail "-c 1000 wrote $(pcap_count "$dir/c.pcap")"
[ "$(counter "$dir/c.log" "packets captured")" = 1000 ] || fail "reported $(cat "$dir/c.log")"
echo "ok: -c 1000"

# --duration, nano, snaplen 100
# (--duration 3: the 200 frames go out within it once ringcap listens, even
# on a loaded machine; that it ends by itself, not when, is the check)
t0=$(date +%s%N)
ringcap_start "$dir/d.log" -i "$IF_B" -w "$dir/d.pcap" --duration 3 \
	--time-precision nano -s 100 || fail "start: $(cat "$dir/d.log")"
pid=$RC_PID
in_a "$BUILD/ringcap-gen" -i "$IF_A" -n 200 -s 1000 -r 2000 -q
wait $pid || fail "--duration exit $?: $(cat "$dir/d.log")"
RC_PID=
dt=$(( ($(date +%s%N) - t0) / 1000000 ))
[ $dt -lt 30000 ] || fail "--duration 3 did not end it by itself ($dt ms)"
magic=$(od -An -tx4 -N4 "$dir/d.pcap" | tr -d ' ')
[ "$magic" = a1b23c4d ] || fail "nano magic is $magic"
snap=$(od -An -tu4 -j16 -N4 "$dir/d.pcap" | tr -d ' ')
[ "$snap" = 100 ] || fail "header snaplen $snap"
n=$(tcpdump -r "$dir/d.pcap" -nn 2>/dev/null | grep -c "length 958")
[ "$n" = 200 ] || fail "want 200 UDP records of wire length 1000: got $n"
caps=$(tshark -r "$dir/d.pcap" -T fields -e frame.cap_len 2>/dev/null | sort -u)
[ "$caps" = 100 ] || fail "caplen not cut at 100: $caps"
echo "ok: --duration 3 ended it by itself ($dt ms), nano, snaplen"

# SIGTERM
ringcap_start "$dir/t.log" -i "$IF_B" -w "$dir/t.pcap" || fail "start"
in_a "$BUILD/ringcap-gen" -i "$IF_A" -n 300 -s 200 -r 10000 -q
wait_captured "$dir/t.log" 300 30 || true
kill -TERM "$RC_PID"; wait "$RC_PID"; rc=$?
[ $rc -eq 0 ] || fail "SIGTERM exit $rc"
n=$(pcap_count "$dir/t.pcap") || fail "SIGTERM file: $n"
[ "$n" -eq "$(counter "$dir/t.log" "packets captured")" ] && [ "$n" -gt 0 ] || fail "SIGTERM file: $n records: $(cat "$dir/t.log")"
echo "ok: SIGTERM"

# -Z: after set-up the capture runs as an ordinary user and still captures;
# later files (-C) are created as that user.
user=nobody
id "$user" >/dev/null 2>&1 || skip "no user $user"
chmod 1777 "$dir"
ringcap_start "$dir/z.log" -i "$IF_B" -w "$dir/z.pcap" -Z "$user" -C 1 || fail "-Z start: $(cat "$dir/z.log")"
runs_as=$(ps -o user= -p "$RC_PID" | tr -d ' ')
[ "$runs_as" = "$user" ] || fail "-Z $user: runs as '$runs_as'"
in_a "$BUILD/ringcap-gen" -i "$IF_A" -n 3000 -s 1000 -r 20000 -q
wait_accounted "$dir/z.log" 3000 30 || true
ringcap_stop
[ "$RC_STATUS" -eq 0 ] || fail "-Z exit $RC_STATUS: $(cat "$dir/z.log")"
# the kernel's statistics stay readable after the drop: what it received is
# what was captured or dropped (drops under a loaded machine are counted, not lost)
received=$(counter "$dir/z.log" "packets received by filter")
captured=$(counter "$dir/z.log" "packets captured")
dropped=$(counter "$dir/z.log" "packets dropped by kernel")
[ "${received:-0}" -ge 3000 ] || fail "-Z: statistics unreadable: $(cat "$dir/z.log")"
[ $((captured + dropped)) -eq "$received" ] || fail "-Z: captured $captured + dropped $dropped != received $received"
[ "$(stat -c %U "$dir/z.pcap1")" = "$user" ] || fail "-Z: a later file is owned by $(stat -c %U "$dir/z.pcap1")"
n=0; for f in "$dir"/z.pcap*; do c=$(pcap_count "$f") || fail "$f: $c"; n=$((n + c)); done
[ "$n" -eq "$captured" ] || fail "-Z: $n records, captured $captured"
ip netns exec "$NS_B" "$BUILD/ringcap" -i "$IF_B" -w "$dir/y.pcap" -Z nosuchuser9 2>"$dir/y.log"
rc=$?
[ $rc -eq 2 ] && grep -q nosuchuser9 "$dir/y.log" && [ ! -e "$dir/y.pcap" ] || fail "-Z nosuchuser9: exit $rc $(cat "$dir/y.log")"
echo "ok: -Z $user ($n records, later files owned by $user)"
