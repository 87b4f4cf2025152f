/*
 * ARP answering for address pools (RFC 826 over Ethernet), the pools and the
 * responder's shared state.
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
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "responder/responder.h"
#include "responder/frame.h"

static const uint8_t BROADCAST[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

static int cmp_pool(const void *a, const void *b)
{
	const struct arp_pool_range *x = a, *y = b;

	return x->first < y->first ? -1 : x->first > y->first;
}

struct arp_responder *arp_responder_new(const struct iface *iface,
					const struct arp_pool_range *pools, unsigned npools,
					const struct ndp_pool_range *ndp, unsigned nndp,
					const uint8_t *mac)
{
	struct arp_responder *r = xcalloc(1, sizeof(*r));
	unsigned n = 0;

	r->iface = *iface;
	memcpy(r->mac, mac ? mac : iface->mac, 6);

	/* Any-VLAN pools sorted and merged, so a lookup is one binary search;
	 * pools of one VLAN are few and looked through in turn. */
	r->pools = xcalloc(npools + 1, sizeof(*r->pools));
	r->vpools = xcalloc(npools + 1, sizeof(*r->vpools));
	for (unsigned i = 0; i < npools; i++) {
		if (pools[i].vid == ARP_VID_ANY)
			r->pools[r->npools++] = pools[i];
		else
			r->vpools[r->nvpools++] = pools[i];
	}
	qsort(r->pools, r->npools, sizeof(*r->pools), cmp_pool);
	for (unsigned i = 0; i < r->npools; i++) {
		if (n && (uint64_t)r->pools[n - 1].last + 1 >= r->pools[i].first) {
			if (r->pools[i].last > r->pools[n - 1].last)
				r->pools[n - 1].last = r->pools[i].last;
		} else {
			r->pools[n++] = r->pools[i];
		}
	}
	r->npools = n;
	r->ndp = xcalloc(nndp + 1, sizeof(*r->ndp));
	if (nndp)
		memcpy(r->ndp, ndp, nndp * sizeof(*ndp));
	r->nndp = nndp;
	return r;
}

void arp_responder_free(struct arp_responder *r)
{
	if (!r)
		return;
	xfree(r->pools);
	xfree(r->vpools);
	xfree(r->ndp);
	xfree(r);
}

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

bool mac_is_unicast(const uint8_t mac[6])
{
	return !(mac[0] & 1) && !mac_is_zero(mac);
}

/* The address a request may come from: a host's, or a probe's 0.0.0.0. */
static bool ipv4_may_send(uint32_t ip)
{
	return ip == 0 || ipv4_is_host(ip);
}

static void fmt_ipv4(uint32_t ip, char out[INET_ADDRSTRLEN])
{
	struct in_addr a = { htonl(ip) };

	inet_ntop(AF_INET, &a, out, INET_ADDRSTRLEN);
}

int arp_check_own_addresses(const struct arp_responder *r, char *msg, size_t msglen)
{
	struct ifaddrs *ifa, *i;
	int ret = 0;

	if (getifaddrs(&ifa) < 0)
		return -errno;
	for (i = ifa; i && !ret; i = i->ifa_next) {
		char a[INET6_ADDRSTRLEN];

		if (!i->ifa_addr || strcmp(i->ifa_name, r->iface.name))
			continue;
		if (i->ifa_addr->sa_family == AF_INET) {
			uint32_t ip = ntohl(((struct sockaddr_in *)(void *)i->ifa_addr)->sin_addr.s_addr);
			bool held = any_pool_holds(r, ip);

			for (unsigned k = 0; k < r->nvpools; k++)
				held = held || (ip >= r->vpools[k].first && ip <= r->vpools[k].last);
			if (!held)
				continue;
			fmt_ipv4(ip, a);
			snprintf(msg, msglen, "bad ARP pool: it holds %s, an address of %s (the kernel "
				 "answers for it too); give --arp-allow-own to answer anyway",
				 a, r->iface.name);
			ret = -EADDRINUSE;
		} else if (i->ifa_addr->sa_family == AF_INET6) {
			const uint8_t *ip = ((struct sockaddr_in6 *)(void *)i->ifa_addr)->sin6_addr.s6_addr;
			bool held = false;

			for (unsigned k = 0; k < r->nndp; k++)
				held = held || (memcmp(ip, r->ndp[k].first, 16) >= 0 &&
						memcmp(ip, r->ndp[k].last, 16) <= 0);
			if (!held)
				continue;
			inet_ntop(AF_INET6, ip, a, sizeof(a));
			snprintf(msg, msglen, "bad NDP pool: it holds %s, an address of %s (the kernel "
				 "answers for it too); give --arp-allow-own to answer anyway",
				 a, r->iface.name);
			ret = -EADDRINUSE;
		}
	}
	freeifaddrs(ifa);
	return ret;
}

/* Append with bounds; the buffer is sized for the worst case by the caller. */
static char *cat(char *p, const char *end, const char *s)
{
	size_t n = strlen(s);

	if (p + n >= end)
		return p;
	memcpy(p, s, n + 1);
	return p + n;
}

/* The prefix bits the addresses of [first, last] share, as ip6[OFF:4] tests. */
static void ndp_prefix_terms(const struct ndp_pool_range *q, char *out, size_t outlen)
{
	unsigned bits = 0;
	char *p = out, *end = out + outlen;

	while (bits < 128 && ((q->first[bits / 8] ^ q->last[bits / 8]) & (0x80 >> (bits % 8))) == 0)
		bits++;
	p = cat(p, end, "ip6[40] = 135");
	for (unsigned w = 0; w < 4 && bits > w * 32; w++) {
		unsigned take = bits - w * 32 >= 32 ? 32 : bits - w * 32;
		uint32_t mask = take == 32 ? UINT32_MAX : ~(UINT32_MAX >> take);
		char t[80];

		snprintf(t, sizeof(t), " and ip6[%u:4] & 0x%08x = 0x%08x", 48 + 4 * w, mask,
			 get32(q->first + 4 * w) & mask);
		p = cat(p, end, t);
	}
}

char *arp_kernel_expression(const struct arp_responder *r)
{
	/* "arp[..]" offsets count from the ARP header; compare as unsigned. */
	static const char arp_head[] = "(arp and arp[0:2] = 1 and arp[2:2] = 0x0800 and "
				       "arp[4] = 6 and arp[5] = 4 and arp[6:2] = 1 and (";
	static const char ndp_head[] = "(ip6 and ip6[6] = 58 and ip6[7] = 255 and ip6[41] = 0 and (";
	size_t len = 2 * (sizeof(arp_head) + sizeof(ndp_head) +
			  (r->npools + r->nvpools) * 64 + r->nndp * 200) + 64;
	char *cond = xcalloc(1, len), *s = xcalloc(1, 2 * len + 32);
	char *p = cond, *end = cond + len;
	unsigned k = 0;

	if (r->npools + r->nvpools) {
		p = cat(p, end, arp_head);
		for (unsigned i = 0; i < r->npools + r->nvpools; i++) {
			const struct arp_pool_range *q =
				arp_pool_at(r, i);
			char t[80];

			snprintf(t, sizeof(t), "%s(arp[24:4] >= 0x%08x and arp[24:4] <= 0x%08x)",
				 k++ ? " or " : "", q->first, q->last);
			p = cat(p, end, t);
		}
		p = cat(p, end, "))");
	}
	if (r->nndp) {
		if (p != cond)
			p = cat(p, end, " or ");
		p = cat(p, end, ndp_head);
		for (unsigned i = 0; i < r->nndp; i++) {
			char t[200];

			ndp_prefix_terms(&r->ndp[i], t, sizeof(t));
			p = cat(p, end, i ? " or (" : "(");
			p = cat(p, end, t);
			p = cat(p, end, ")");
		}
		p = cat(p, end, "))");
	}
	/* Untagged (or the tag already taken off by the kernel), or behind
	 * one tag in the frame: `vlan` moves every later offset by 4. */
	snprintf(s, 2 * len + 32, "(%s) or (vlan and (%s))", cond, cond);
	xfree(cond);
	return s;
}

uint32_t arp_build_reply(const struct arp_responder *r, const struct pkt_view *p,
			 uint8_t reply[ARP_REPLY_MAX], struct arp_counters *c)
{
	const uint8_t *f = p->data, *arp;
	struct l2 l;
	uint32_t spa, tpa, n;
	int in;

	if (!l2_parse(p, &l) || l.type != ETH_TYPE_ARP)
		return 0; /* not ARP: none of our business */
	arp = f + l.off;
	if (p->caplen < l.off + 28 || get16(arp) != 1 || get16(arp + 2) != 0x0800 ||
	    arp[4] != 6 || arp[5] != 4) {
		c->ign_malformed++;
		return 0;
	}
	if (get16(arp + 6) != 1) {
		c->ign_not_request++;
		return 0;
	}
	if (!memcmp(f + 6, r->mac, 6) || !memcmp(arp + 8, r->mac, 6) ||
	    !memcmp(f + 6, r->iface.mac, 6)) {
		c->ign_own++;
		return 0;
	}
	if (memcmp(f, BROADCAST, 6) && memcmp(f, r->mac, 6) && memcmp(f, r->iface.mac, 6)) {
		c->ign_not_for_us++; /* a unicast request for another host */
		return 0;
	}
	spa = get32(arp + 14);
	tpa = get32(arp + 24);
	if (!mac_is_unicast(f + 6) || !mac_is_unicast(arp + 8) || !ipv4_may_send(spa)) {
		c->ign_bad_sender++;
		return 0;
	}
	if (l.two_tags) {
		c->ign_vlan++;
		return 0;
	}
	in = pool_lookup(r, tpa, l2_vid(&l));
	if (in == 0) {
		c->ign_out_of_pool++;
		return 0;
	}
	if (!ipv4_is_host(tpa)) {
		c->ign_bad_target++;
		return 0;
	}
	if (in < 0) {
		c->ign_vlan++;
		return 0;
	}
	if (spa == tpa) {
		c->ign_gratuitous++;
		return 0;
	}
	c->requests++;
	if (spa == 0)
		c->probes++;

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

uint32_t arp_answer(const struct arp_responder *r, const struct pkt_view *p,
		    uint8_t reply[ARP_REPLY_MAX], struct arp_counters *c)
{
	struct l2 l;

	if (!l2_parse(p, &l))
		return 0;
	if (l.type == ETH_TYPE_ARP)
		return arp_build_reply(r, p, reply, c);
	if (l.type == ETH_TYPE_IPV6 && r->nndp)
		return ndp_build_advert(r, p, reply, c);
	return 0;
}
