# Sourced by integration tests and benches: a two-host testbed in network namespaces.
#
#   testbed_up            creates namespaces $NS_A and $NS_B joined by veth $IF_A <-> $IF_B,
#                         $IP_A/24 on A and $IP_B/24 on B (198.18.0.0/15 only), both links up,
#                         and installs an EXIT trap that removes them whatever happens.
#   in_a CMD... / in_b CMD...   run a command inside A or B.
#
# Names carry the caller's pid so tests may run side by side. Traffic never leaves
# the two namespaces: nothing here touches eth0 or the root namespace's routes.

TB_ID=${TB_ID:-$$}
NS_A=rca$TB_ID
NS_B=rcb$TB_ID
IF_A=va$TB_ID
IF_B=vb$TB_ID
IP_A=${IP_A:-198.18.0.1}
IP_B=${IP_B:-198.18.0.2}

testbed_down() {
	ip netns del "$NS_A" 2>/dev/null
	ip netns del "$NS_B" 2>/dev/null
	return 0
}

testbed_up() {
	trap 'testbed_down; ${TB_EXTRA_CLEANUP:-true}' EXIT
	trap 'exit 130' INT TERM
	ip netns add "$NS_A" || return 1
	ip netns add "$NS_B" || return 1
	ip link add "$IF_A" netns "$NS_A" type veth peer name "$IF_B" netns "$NS_B" || return 1
	ip -n "$NS_A" addr add "$IP_A/24" dev "$IF_A" || return 1
	ip -n "$NS_B" addr add "$IP_B/24" dev "$IF_B" || return 1
	ip -n "$NS_A" link set lo up
	ip -n "$NS_B" link set lo up
	ip -n "$NS_A" link set "$IF_A" up || return 1
	ip -n "$NS_B" link set "$IF_B" up || return 1
	# IPv6 DAD and router solicitations would add frames nobody asked for.
	ip netns exec "$NS_A" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 2>/dev/null
	ip netns exec "$NS_B" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 2>/dev/null
	MAC_A=$(cat "/sys/class/net/$IF_A/address" 2>/dev/null || ip netns exec "$NS_A" cat "/sys/class/net/$IF_A/address")
	MAC_B=$(ip netns exec "$NS_B" cat "/sys/class/net/$IF_B/address")
	export NS_A NS_B IF_A IF_B IP_A IP_B MAC_A MAC_B
}

in_a() { ip netns exec "$NS_A" "$@"; }
in_b() { ip netns exec "$NS_B" "$@"; }

# Test verdicts, kernel-selftest style: 0 pass, 1 fail, 77 skip.
fail() { echo "FAIL: $*" >&2; exit 1; }
skip() { echo "SKIP: $*" >&2; exit 77; }
need_root() { [ "$(id -u)" -eq 0 ] || skip "needs root"; }
need_cmd() { command -v "$1" >/dev/null 2>&1 || skip "$1 not installed"; }
