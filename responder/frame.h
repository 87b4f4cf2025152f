/*
 * Private to responder/: byte access and the link layer of a request and of its
 * answer (at most one VLAN tag, in the frame or in the ring's metadata), and
 * the small pool and address rules core.c, arp.c, ndp.c, prefilter.c and
 * service.c share.
 */
#ifndef RINGCAP_RESPONDER_FRAME_H
#define RINGCAP_RESPONDER_FRAME_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "responder/responder.h"
#include "ring/ring.h"
#include "util/util.h"

#define ETH_TYPE_ARP 0x0806
#define ETH_TYPE_IPV6 0x86dd
#define ETH_TYPE_8021Q 0x8100
#define ETH_TYPE_8021AD 0x88a8
#define ETH_TYPE_QINQ_OLD 0x9100

static inline uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline bool is_tpid(uint16_t t)
{
	return t == ETH_TYPE_8021Q || t == ETH_TYPE_8021AD || t == ETH_TYPE_QINQ_OLD;
}

/* A request's link layer. */
struct l2 {
	bool tagged;
	uint16_t tpid;
	uint16_t tci;      /* PCP, DEI and VID as they came: answered unchanged */
	uint16_t type;     /* the ethertype after the tag */
	uint32_t off;      /* where the payload starts in the frame */
	bool two_tags;     /* more than one tag: not answered */
};

/* false when the frame is too short for an Ethernet header (and its tag). */
static inline bool l2_parse(const struct pkt_view *p, struct l2 *l)
{
	memset(l, 0, sizeof(*l));
	if (p->caplen < 14)
		return false;
	l->type = get16(p->data + 12);
	l->off = 14;
	if (p->vlan) {
		l->tagged = true;
		l->tpid = p->vlan_tpid;
		l->tci = p->vlan_tci;
	}
	if (is_tpid(l->type)) {
		if (p->caplen < 18)
			return false;
		if (l->tagged) {
			l->two_tags = true;
		} else {
			l->tagged = true;
			l->tpid = l->type;
			l->tci = get16(p->data + 14);
		}
		l->type = get16(p->data + 16);
		l->off = 18;
		if (is_tpid(l->type) && p->caplen >= 22) {
			/* look behind it, so the frame is counted where it belongs */
			l->two_tags = true;
			l->type = get16(p->data + 20);
			l->off = 22;
		}
	}
	return true;
}

static inline unsigned l2_vid(const struct l2 *l)
{
	return l->tagged ? l->tci & 0x0fff : 0;
}

/* The answer's Ethernet header, tagged like the request; returns its length. */
static inline uint32_t l2_put(uint8_t *out, const uint8_t dst[6], const uint8_t src[6],
			      const struct l2 *l, uint16_t type)
{
	uint32_t n = 12;

	memcpy(out, dst, 6);
	memcpy(out + 6, src, 6);
	if (l->tagged) {
		put16(out + 12, l->tpid);
		put16(out + 14, l->tci);
		n = 16;
	}
	put16(out + n, type);
	return n + 2;
}

/* False for what no host has: this network (0/8), loopback, multicast,
 * class E and the limited broadcast address. */
static inline bool ipv4_is_host(uint32_t ip)
{
	uint8_t top = (uint8_t)(ip >> 24);

	return top != 0 && top != 127 && top < 224;
}

/* A pool's "...@VID" off the end of buf (ARP_VID_ANY without); 0, or -EINVAL. */
static inline int split_vid(char *buf, int *vid)
{
	char *at = strchr(buf, '@');
	uint64_t v;

	*vid = ARP_VID_ANY;
	if (!at)
		return 0;
	*at = '\0';
	if (parse_u64(at + 1, 0, 4094, &v))
		return -EINVAL;
	*vid = (int)v;
	return 0;
}

/* Pool i of all the IPv4 pools: the untagged-or-any ones, then the VLAN ones. */
static inline const struct arp_pool_range *arp_pool_at(const struct arp_responder *r, unsigned i)
{
	return i < r->npools ? &r->pools[i] : &r->vpools[i - r->npools];
}

static inline bool mac_is_zero(const uint8_t m[6])
{
	return !(m[0] | m[1] | m[2] | m[3] | m[4] | m[5]);
}

/* The address `off` into NDP pool q, if it is inside; false past its end
 * (ndp.c; the announcements walk the pools with it). */
bool ndp_pool_nth(const struct ndp_pool_range *q, uint64_t off, uint8_t out[16]);

#endif
