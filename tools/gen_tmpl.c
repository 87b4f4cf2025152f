/*
 * ringcap-gen's frame templates: one per (protocol, size) pair, built before
 * sending, with each payload phase's checksum contribution; frame_fill
 * (gen.h) makes a frame from one. How frames look is written at the top of
 * ringcap-gen.c.
 */
#include <linux/if_ether.h>
#include <net/if_arp.h>
#include <netinet/in.h>
#include <string.h>

#include "tools/gen.h"
#include "util/util.h"

static const enum proto mix_protos[] = {
	PROTO_UDP4, PROTO_TCP4, PROTO_ICMP4, PROTO_ARP, PROTO_UDP6, PROTO_VLAN_UDP4,
};

/* The payload pattern: frame k uses bytes [k mod 256, k mod 256 + len). Steps
 * of 0x9d within each 256-byte run, so it can never spell the marker. */
void pattern_fill(uint8_t *p, size_t len)
{
	for (size_t j = 0; j < len; j++)
		p[j] = (uint8_t)(0x5a + 0x9d * j + 0x3b * (j >> 8));
}

/* ------------------------------------------------------------ templates */

static void tmpl_build_arp(struct tmpl *t, const struct opts *o)
{
	uint16_t l3 = put_eth(t->hdr, o->dst_mac, o->src_mac, ETH_P_ARP, -1);

	put_arp(t->hdr + l3, ARPOP_REQUEST, o->src_mac, o->src_ip, o->dst_ip);
	t->len = t->hdr_len = ARP_LEN;	/* the rest of hdr is the zero padding */
	t->l3 = l3;
	t->arp_tpa = l3 + 24;
}

/* The L4 header at t->l4; returns its length. */
static uint16_t tmpl_put_l4(struct tmpl *t, enum proto proto, const struct opts *o, uint16_t l4_len)
{
	uint8_t *p = t->hdr + t->l4;

	switch (proto) {
	case PROTO_TCP4:
		put16(p, SPORT_BASE);
		put16(p + 2, o->dst_port);
		put32(p + 4, 1);		/* seq */
		put32(p + 8, 1);		/* ack */
		p[12] = 5 << 4;			/* data offset: 20 bytes */
		p[13] = 0x12;			/* SYN+ACK */
		put16(p + 14, 65535);	/* window */
		t->sport = t->l4;
		t->l4_csum = t->l4 + 16;	/* urgent pointer stays 0 */
		return 20;
	case PROTO_ICMP4:
		p[0] = 8;			/* echo request */
		put16(p + 4, ICMP_ID);
		t->icmp_seq = t->l4 + 6;
		t->l4_csum = t->l4 + 2;
		return 8;
	default:
		put16(p, SPORT_BASE);
		put16(p + 2, o->dst_port);
		put16(p + 4, l4_len);
		t->sport = t->l4;
		t->l4_csum = t->l4 + 6;
		t->udp = true;
		return 8;
	}
}

static void tmpl_build(struct tmpl *t, enum proto proto, unsigned size, const struct opts *o,
		       const uint8_t *pattern)
{
	uint8_t ipproto = proto == PROTO_TCP4 ? IPPROTO_TCP :
			  proto == PROTO_ICMP4 ? IPPROTO_ICMP : IPPROTO_UDP;
	uint16_t l4_len;

	memset(t, 0, sizeof(*t));
	if (proto == PROTO_ARP) {
		tmpl_build_arp(t, o);
		return;
	}
	if (proto == PROTO_UDP6 && size < UDP6_MIN)
		size = UDP6_MIN;
	t->len = (uint16_t)size;
	t->l3 = put_eth(t->hdr, o->dst_mac, o->src_mac, proto == PROTO_UDP6 ? ETH_P_IPV6 : ETH_P_IP,
			proto == PROTO_VLAN_UDP4 ? VLAN_VID : -1);
	if (proto == PROTO_UDP6) {
		t->l4 = t->l3 + 40;
		l4_len = t->len - t->l4;
		put_ipv6(t->hdr + t->l3, IPPROTO_UDP, l4_len, o->src_ip, o->dst_ip);
		t->pseudo_off = t->l3 + 8;
		t->pseudo_len = 32;
		t->src_low = t->l3 + 23;
	} else {
		t->l4 = t->l3 + 20;
		l4_len = t->len - t->l4;
		put_ipv4(t->hdr + t->l3, ipproto, t->len - t->l3, 0x4000 /* DF */, o->src_ip,
			 o->dst_ip);
		t->ip4_csum = t->l3 + 10;
		t->src_low = t->l3 + 15;
		if (proto != PROTO_ICMP4) {	/* ICMP has no pseudo-header */
			t->pseudo_off = t->l3 + 12;
			t->pseudo_len = 8;
		}
	}
	if (t->pseudo_len)
		t->pseudo_rest = ipproto + l4_len;
	t->pay_off = t->l4 + tmpl_put_l4(t, proto, o, l4_len);
	if (t->len - t->pay_off >= MARK_LEN) {
		memcpy(t->hdr + t->pay_off, MARKER, 4);
		t->seq_off = t->pay_off + 4;
		t->pay_off += MARK_LEN;
	}
	t->hdr_len = t->pay_off;
	t->pay_len = t->len - t->pay_off;
	/* The header run is even, so the pattern's words line up on its own. */
	for (unsigned ph = 0; ph < PHASES; ph++)
		t->pay_sum[ph] = csum_add(0, pattern + ph, t->pay_len);
}


unsigned tmpl_nprotos(const struct opts *o)
{
	return o->mix ? ARRAY_SIZE(mix_protos) : 1;
}

struct tmpl *tmpls_build(const struct opts *o, unsigned nprotos, const uint8_t *pattern)
{
	struct tmpl *t = xcalloc((size_t)nprotos * o->nsizes, sizeof(*t));

	for (unsigned p = 0; p < nprotos; p++) {
		enum proto proto = o->arp_flood ? PROTO_ARP : o->mix ? mix_protos[p] : PROTO_UDP4;

		for (unsigned i = 0; i < o->nsizes; i++)
			tmpl_build(&t[p * o->nsizes + i], proto, o->sizes[i], o, pattern);
	}
	return t;
}

/* Source address low byte per flow: counting up from --src-ip's, skipping .0,
 * .255 and --dst-ip's, which the peer's stack would drop as martian. */
uint8_t *flow_lows(const struct opts *o)
{
	uint8_t *t = xcalloc(o->flows, 1);
	unsigned low = o->src_ip & 0xff;
	bool same24 = (o->src_ip >> 8) == (o->dst_ip >> 8);

	t[0] = (uint8_t)low;
	for (uint32_t f = 1; f < o->flows; f++) {
		do
			low = (low + 1) & 0xff;
		while (low == 0 || low == 255 || (same24 && low == (o->dst_ip & 0xff)));
		t[f] = (uint8_t)low;
	}
	return t;
}


unsigned max_frame_len(const struct opts *o)
{
	unsigned m = o->mix ? UDP6_MIN : ARP_LEN;

	for (unsigned i = 0; i < o->nsizes; i++)
		if (o->sizes[i] > m)
			m = o->sizes[i];
	return m;
}
