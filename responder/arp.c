/*
 * ARP answering for address pools (RFC 826 over Ethernet): the IPv4 pools,
 * their lookup, the reply and the gratuitous ARP of --arp-announce.
 *
 * Answered: requests (op 1) for IPv4 over Ethernet (htype 1, ptype 0x0800,
 * hlen 6, plen 4) sent to broadcast or to our MAC, whose target lies in a pool
 * for the request's VLAN, including probes (RFC 5227, sender 0.0.0.0): the
 * pools are ours, and answering a probe is how a VM that tries to claim one of
 * our addresses learns it is taken — the Linux kernel answers probes for its
 * own addresses the same way.
 * Never answered, each under a counter of its own: targets outside every pool
 * or in another VLAN's; replies and other opcodes; gratuitous ARP (sender ==
 * target); frames from our own MAC; truncated or mis-sized ARP headers; frames
 * to another host's MAC; senders whose MAC (Ethernet or ARP) is multicast,
 * broadcast or zero, or whose IP is multicast, broadcast, loopback or in
 * 0.0.0.0/8 other than a probe's 0.0.0.0; targets that are no host's address
 * (0.0.0.0/8, 127/8, multicast, 240/4 with the broadcast address), even
 * inside a pool as wide as 0.0.0.0/0.
 *
 * The reply rewrites the request: Ethernet destination = the requester's
 * hardware address (ARP sender), source = our MAC, the request's VLAN tag;
 * op 2; sender = our MAC and the requested address; target = the requester's
 * hardware and protocol addresses. Zero-padded to the 60-byte Ethernet
 * minimum (64 with a tag).
 */
#include <errno.h>
#include <string.h>

#include "responder/responder.h"
#include "responder/frame.h"

static const uint8_t BROADCAST[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

int arp_parse_pool(const char *s, struct arp_pool_range *r)
{
	char buf[64];
	char *sep;
	uint32_t a, b;
	uint64_t len;
	int vid;

	if (strlen(s) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, s);
	if (split_vid(buf, &vid))
		return -EINVAL;
	if ((sep = strchr(buf, '-'))) {
		*sep = '\0';
		if (parse_ipv4(buf, &a) || parse_ipv4(sep + 1, &b))
			return -EINVAL;
		if (a > b)
			return -ERANGE;
	} else if ((sep = strchr(buf, '/'))) {
		*sep = '\0';
		if (parse_ipv4(buf, &a) || parse_u64(sep + 1, 0, 32, &len))
			return -EINVAL;
		if (len == 0) {
			if (a)
				return -ERANGE;
			b = UINT32_MAX;
		} else {
			uint32_t mask = len == 32 ? UINT32_MAX : ~(UINT32_MAX >> len);
			if (a & ~mask)
				return -ERANGE; /* host bits set: 10.1.2.3/24 */
			b = a | ~mask;
		}
	} else {
		if (parse_ipv4(buf, &a))
			return -EINVAL;
		b = a;
	}
	r->first = a;
	r->last = b;
	r->vid = vid;
	return 0;
}

static bool any_pool_holds(const struct arp_responder *r, uint32_t ip)
{
	unsigned lo = 0, hi = r->npools;

	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;

		if (ip < r->pools[mid].first)
			hi = mid;
		else if (ip > r->pools[mid].last)
			lo = mid + 1;
		else
			return true;
	}
	return false;
}

/* 1: in a pool for `vid`; -1: only in pools of other VLANs; 0: in none. */
static int pool_lookup(const struct arp_responder *r, uint32_t ip, unsigned vid)
{
	int other = 0;

	if (any_pool_holds(r, ip))
		return 1;
	for (unsigned i = 0; i < r->nvpools; i++) {
		if (ip < r->vpools[i].first || ip > r->vpools[i].last)
			continue;
		if ((unsigned)r->vpools[i].vid == vid)
			return 1;
		other = -1;
	}
	return other;
}

bool arp_in_pools(const struct arp_responder *r, uint32_t ip, unsigned vid)
{
	return pool_lookup(r, ip, vid) == 1;
}

/* The address a request may come from: a host's, or a probe's 0.0.0.0. */
static bool ipv4_may_send(uint32_t ip)
{
	return ip == 0 || ipv4_is_host(ip);
}

uint32_t arp_build_reply(const struct arp_responder *r, const struct pkt_view *p,
			 uint8_t reply[ARP_REPLY_MAX], struct responder_counters *c)
{
	const uint8_t *f = p->data, *arp;
	struct l2 l;
	uint32_t spa, tpa, n;
	int in;

	if (!l2_parse(p, &l) || l.type != ETH_TYPE_ARP)
		return 0; /* not ARP: none of our business */
	c->arp_received++;
	arp = f + l.off;
	if (p->caplen < l.off + 28 || get16(arp) != 1 || get16(arp + 2) != 0x0800 ||
	    arp[4] != 6 || arp[5] != 4) {
		c->arp_ign_malformed++;
		return 0;
	}
	if (get16(arp + 6) != 1) {
		c->arp_ign_not_request++;
		return 0;
	}
	if (!memcmp(f + 6, r->mac, 6) || !memcmp(arp + 8, r->mac, 6) ||
	    !memcmp(f + 6, r->iface.mac, 6)) {
		c->arp_ign_own++;
		return 0;
	}
	if (memcmp(f, BROADCAST, 6) && memcmp(f, r->mac, 6) && memcmp(f, r->iface.mac, 6)) {
		c->arp_ign_not_for_us++; /* a unicast request for another host */
		return 0;
	}
	spa = get32(arp + 14);
	tpa = get32(arp + 24);
	if (!mac_is_unicast(f + 6) || !mac_is_unicast(arp + 8) || !ipv4_may_send(spa)) {
		c->arp_ign_bad_sender++;
		return 0;
	}
	if (l.two_tags) {
		c->arp_ign_vlan++;
		return 0;
	}
	in = pool_lookup(r, tpa, l2_vid(&l));
	if (in == 0) {
		c->arp_ign_out_of_pool++;
		return 0;
	}
	if (!ipv4_is_host(tpa)) {
		c->arp_ign_bad_target++;
		return 0;
	}
	if (in < 0) {
		c->arp_ign_vlan++;
		return 0;
	}
	if (spa == tpa) {
		c->arp_ign_gratuitous++;
		return 0;
	}
	c->arp_answered++;
	if (spa == 0)
		c->arp_probes++;

	memset(reply, 0, ARP_REPLY_MAX);
	n = l2_put(reply, arp + 8, r->mac, &l, ETH_TYPE_ARP); /* to the requester's sha */
	memcpy(reply + n, arp, 6);           /* htype, ptype, hlen, plen as asked */
	reply[n + 6] = 0, reply[n + 7] = 2;  /* op: reply */
	memcpy(reply + n + 8, r->mac, 6);    /* sender: us, the requested address */
	memcpy(reply + n + 14, arp + 24, 4);
	memcpy(reply + n + 18, arp + 8, 6);  /* target: the requester */
	memcpy(reply + n + 24, arp + 14, 4);
	return ARP_REPLY_LEN + n - 14;       /* padded: 60, or 64 with a tag */
}

uint32_t arp_build_announce(const struct arp_responder *r, uint32_t addr, unsigned vid,
			    uint8_t out[ARP_REPLY_MAX])
{
	struct l2 l = { .tagged = vid > 0, .tpid = ETH_TYPE_8021Q, .tci = (uint16_t)vid };
	uint32_t n;

	memset(out, 0, ARP_REPLY_MAX);
	n = l2_put(out, BROADCAST, r->mac, &l, ETH_TYPE_ARP);
	put16(out + n, 1);
	put16(out + n + 2, 0x0800);
	out[n + 4] = 6, out[n + 5] = 4;
	put16(out + n + 6, 1);               /* a request, as Linux sends gratuitous ARP */
	memcpy(out + n + 8, r->mac, 6);
	for (int i = 0; i < 4; i++)
		out[n + 14 + i] = out[n + 24 + i] = (uint8_t)(addr >> (24 - 8 * i));
	return ARP_REPLY_LEN + n - 14;
}
