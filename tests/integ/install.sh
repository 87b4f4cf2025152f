#!/usr/bin/env bash
# make install DESTDIR=... PREFIX=/usr: the layout (no bench program or test
# tool: those come with make install-bench, checked too), the unit's contract
# (its config file, user, capabilities, no -Z), `systemd-analyze verify` with no
# complaint, the sysusers entry creating the user offline, the default
# PREFIX=/usr/local, and the installed binary running.
#
# systemd-analyze verify needs no running systemd, but it checks that
# ExecStart's program exists on this machine: the check runs on a copy of the
# installed unit whose ExecStart points at the DESTDIR binary (named for an
# instance, ringcap@eth1.service); --man=no because the man page is not
# installed here. verify exits 0 even on unknown keys, so any output fails.
set -u
cd "$(dirname "$0")/../.." || exit 1
source tests/lib/testbed.sh
BUILD=${BUILD:-build}
need_cmd systemd-analyze

tmp=$(mktemp -d /tmp/ringcap-install.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
root=$tmp/root
# make -r: the tree is built; without its built-in rules make does not search
# them for every .d file it includes (seconds per call, nothing to remake).

make -r -s install DESTDIR="$root" PREFIX=/usr BUILD="$BUILD" SANITIZE="${RINGCAP_SANITIZE:-}" >"$tmp/make.log" 2>&1 ||
	fail "make install failed: $(tail -5 "$tmp/make.log")"

want=(
	"755 usr/sbin/ringcap"
	"755 usr/libexec/ringcap/ringcap-upload"
	"755 usr/bin/ringcap-read"
	"644 usr/share/man/man1/ringcap-read.1"
	"644 usr/share/man/man8/ringcap.8"
	"644 usr/share/man/man8/ringcap-upload.8"
	"644 usr/lib/systemd/system/ringcap@.service"
	"644 usr/lib/sysusers.d/ringcap.conf"
	"644 etc/ringcap/example.conf"
)
for w in "${want[@]}"; do
	mode=${w%% *} f=${w#* }
	[ -f "$root/$f" ] || fail "missing $f"
	[ "$(stat -c %a "$root/$f")" = "$mode" ] || fail "$f has mode $(stat -c %a "$root/$f"), want $mode"
done
libexec=$(cd "$root/usr/libexec/ringcap" && echo *)
[ "$libexec" = ringcap-upload ] || fail "make install put more than ringcap-upload in libexec: $libexec"
extra=$(cd "$root" && find . -type f | sed 's|^\./||' | grep -v -e '^usr/libexec/ringcap/ringcap-upload$' \
	-e '^usr/sbin/ringcap$' -e '^usr/bin/ringcap-read$' -e '^usr/share/man/man1/ringcap-read.1$' \
	-e '^usr/share/man/man8/ringcap[a-z-]*.8$' -e '^usr/lib/systemd/system/ringcap@.service$' \
	-e '^usr/lib/sysusers.d/ringcap.conf$' -e '^etc/ringcap/example.conf$')
[ -z "$extra" ] || fail "unexpected files installed: $extra"
echo "ok: layout"

# The bench programs and tools: every one built, in libexec, and nothing else.
make -r -s install-bench DESTDIR="$tmp/bench" PREFIX=/usr BUILD="$BUILD" SANITIZE="${RINGCAP_SANITIZE:-}" \
	>"$tmp/make-bench.log" 2>&1 || fail "make install-bench failed: $(tail -5 "$tmp/make-bench.log")"
n=0
for b in "$BUILD"/ringcap-* "$BUILD"/arp-*; do
	[ -x "$b" ] && [ -f "$b" ] || continue
	case $(basename "$b") in ringcap-read) continue ;; esac # a user's program: bin, not libexec
	[ -x "$tmp/bench/usr/libexec/ringcap/$(basename "$b")" ] || fail "bench tool $(basename "$b") not installed"
	n=$((n + 1))
done
[ -x "$tmp/bench/usr/libexec/ringcap/ringcap-gen" ] || fail "install-bench: no ringcap-gen"
extra=$(cd "$tmp/bench" && find . -type f | sed 's|^\./||' | grep -v '^usr/libexec/ringcap/')
[ -z "$extra" ] || fail "install-bench installed more than bench tools: $extra"
echo "ok: install-bench ($n programs)"

"$root/usr/sbin/ringcap" --version >/dev/null || fail "the installed ringcap does not run"

unit=$root/usr/lib/systemd/system/ringcap@.service
grep -qx 'ExecStart=/usr/sbin/ringcap -i %i $RINGCAP_OPTS' "$unit" || fail "ExecStart: $(grep ExecStart= "$unit")"
grep -qx 'EnvironmentFile=/etc/ringcap/%i.conf' "$unit" || fail "EnvironmentFile"
grep -qx 'User=ringcap' "$unit" || fail "User"
for k in AmbientCapabilities CapabilityBoundingSet; do
	grep -qx "$k=CAP_NET_RAW CAP_NET_ADMIN CAP_IPC_LOCK" "$unit" || fail "$k: $(grep "^$k=" "$unit")"
done
for k in Type=notify NotifyAccess=main WatchdogSec=30s NoNewPrivileges=yes ProtectSystem=strict ProtectHome=yes PrivateTmp=yes Restart=on-failure \
	RestartPreventExitStatus=2 BindsTo=sys-subsystem-net-devices-%i.device StartLimitBurst=5 \
	'RestrictAddressFamilies=AF_PACKET AF_UNIX AF_INET AF_INET6 AF_NETLINK' 'StateDirectory=ringcap/%i'; do
	grep -qx "$k" "$unit" || fail "unit lacks $k"
done
opts=$(sed -n 's/^RINGCAP_OPTS="\(.*\)"$/\1/p' "$root/etc/ringcap/example.conf")
[ -n "$opts" ] || fail "example.conf sets no RINGCAP_OPTS"
[[ " $opts " != *" -Z "* ]] || fail "example.conf passes -Z although the unit runs as ringcap"
[[ " $opts " != *" -i "* ]] || fail "example.conf passes -i although the unit passes -i %i"
[[ $opts != *eth[0-9]* ]] || fail "example.conf names an interface: $opts"
echo "ok: unit contract"

mkdir -p "$tmp/verify" "$tmp/broken"
sed "s|^ExecStart=/usr/sbin/ringcap|ExecStart=$root/usr/sbin/ringcap|" "$unit" >"$tmp/verify/ringcap@eth1.service"
out=$(systemd-analyze verify --man=no "$tmp/verify/ringcap@eth1.service" 2>&1)
rc=$?
[ $rc -eq 0 ] && [ -z "$out" ] || fail "systemd-analyze verify (exit $rc): $out"
# the same check sees a broken unit: it can fail
sed 's/^Restart=on-failure/Restart=sometimes/' "$tmp/verify/ringcap@eth1.service" >"$tmp/broken/ringcap@eth1.service"
out=$(systemd-analyze verify --man=no "$tmp/broken/ringcap@eth1.service" 2>&1)
[ -n "$out" ] || fail "systemd-analyze verify did not notice a bad Restart="
echo "ok: systemd-analyze verify"
systemd-analyze security --offline=yes "$tmp/verify/ringcap@eth1.service" 2>/dev/null | tail -n 1

if command -v systemd-sysusers >/dev/null; then
	systemd-sysusers --root="$root" >/dev/null 2>&1 || fail "systemd-sysusers --root failed"
	grep -q '^ringcap:x:[0-9]*:[0-9]*:.*:/var/lib/ringcap:' "$root/etc/passwd" ||
		fail "sysusers made no user ringcap: $(cat "$root/etc/passwd" 2>/dev/null)"
	echo "ok: sysusers creates ringcap"
fi

# default PREFIX: the unit and the sample follow it; the config stays in /etc
make -r -s install DESTDIR="$tmp/local" BUILD="$BUILD" SANITIZE="${RINGCAP_SANITIZE:-}" >"$tmp/make2.log" 2>&1 || fail "make install (default PREFIX) failed"
grep -qx 'ExecStart=/usr/local/sbin/ringcap -i %i $RINGCAP_OPTS' "$tmp/local/usr/local/lib/systemd/system/ringcap@.service" ||
	fail "default PREFIX: $(grep ExecStart= "$tmp/local/usr/local/lib/systemd/system/ringcap@.service")"
[ -f "$tmp/local/etc/ringcap/example.conf" ] && [ -x "$tmp/local/usr/local/libexec/ringcap/ringcap-upload" ] ||
	fail "default PREFIX layout"
grep -q '/usr/local/libexec/ringcap/ringcap-upload' "$tmp/local/etc/ringcap/example.conf" ||
	fail "example.conf does not name the installed ringcap-upload"
echo "ok: PREFIX=/usr/local"
