/*
 * NDP answering for IPv6 pools (the pools, their lookup, the advert and the
 * unsolicited NA of --arp-announce): Neighbor Solicitations in, solicited Neighbor
 * Advertisements out (RFC 4861), as the Linux kernel answers for an address
 * it holds (net/ipv6/ndisc.c, ndisc_recv_ns / ndisc_send_na), for a host (no
 * Router flag):
 *
 *   NS to the solicited-node group (address resolution): NA to the soliciting
 *     host (Ethernet: its source link-layer option, else the frame's source),
 *     flags Solicited and Override, with our target link-layer address option;
 *   NS to the target itself (unicast, reachability): Solicited only, no option,
 *     as the kernel does (it includes the option and Override only when the
 *     solicitation was multicast);
 *   DAD (source ::): to ff02::1, Override, no Solicited, with the option.
 *
 * IPv6 header: traffic class and flow label 0, hop limit 255, source the
 * target, next header 58. Validity (RFC 4861 7.1.1), each failure counted as
 * malformed: hop limit 255, a correct checksum, code 0, ICMP length >= 24, a
 * target that is not multicast, options of non-zero length inside the
 * message (a source link-layer option of exactly 8 bytes), and with source ::
 * a solicited-node destination and no source link-layer option. Beyond that:
 * sent to the target's solicited-node group or the target (and to the
 * matching Ethernet multicast or our MAC), from a unicast link-layer and a
 * source that is neither multicast nor loopback.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "responder/responder.h"
#include "responder/frame.h"

#define ICMP6_NS 135
#define ICMP6_NA 136
#define NDP_OPT_SLLA 1
#define NDP_OPT_TLLA 2
#define NA_FLAG_SOLICITED 0x40
#define NA_FLAG_OVERRIDE 0x20

static const uint8_t ALL_NODES[16] = { 0xff, 0x02, [15] = 1 };
static const uint8_t ALL_NODES_MAC[6] = { 0x33, 0x33, 0, 0, 0, 1 };
static const uint8_t LOOPBACK6[16] = { [15] = 1 };
static const uint8_t ANY6[16];

int ndp_parse_pool(const char *s, struct ndp_pool_range *r)
{
	char buf[128];
	char *sep;
	uint64_t len;

	if (strlen(s) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, s);
	if (split_vid(buf, &r->vid))
		return -EINVAL;
	if ((sep = strchr(buf, '-'))) {
		*sep = '\0';
		if (inet_pton(AF_INET6, buf, r->first) != 1 ||
		    inet_pton(AF_INET6, sep + 1, r->last) != 1)
			return -EINVAL;
		if (memcmp(r->first, r->last, 16) > 0)
			return -ERANGE;
		return 0;
	}
	len = 128;
	if ((sep = strchr(buf, '/'))) {
		*sep = '\0';
		if (parse_u64(sep + 1, 0, 128, &len))
			return -EINVAL;
	}
	if (inet_pton(AF_INET6, buf, r->first) != 1)
		return -EINVAL;
	memcpy(r->last, r->first, 16);
	for (unsigned bit = (unsigned)len; bit < 128; bit++) {
		uint8_t m = (uint8_t)(0x80 >> (bit % 8));

		if (r->first[bit / 8] & m)
			return -ERANGE; /* host bits set: 2001:2::1/64 */
		r->last[bit / 8] |= m;
	}
	return 0;
}

/* 1 in a pool for vid, -1 only in other VLANs' pools, 0 in none. */
static int ndp_lookup(const struct arp_responder *r, const uint8_t ip[16], unsigned vid)
{
	int other = 0;

	for (unsigned i = 0; i < r->nndp; i++) {
		const struct ndp_pool_range *q = &r->ndp[i];

		if (memcmp(ip, q->first, 16) < 0 || memcmp(ip, q->last, 16) > 0)
			continue;
		if (q->vid == ARP_VID_ANY || (unsigned)q->vid == vid)
			return 1;
		other = -1;
	}
	return other;
}

/* The ICMPv6 checksum over the pseudo-header and `len` bytes of message: 0
 * when a message with its checksum field filled in is intact. */
static uint16_t icmp6_sum(const uint8_t src[16], const uint8_t dst[16], const uint8_t *msg,
			  uint32_t len)
{
	uint64_t sum = 0;

	for (unsigned i = 0; i < 16; i += 2)
		sum += get16(src + i) + get16(dst + i);
	sum += (len >> 16) + (len & 0xffff) + 58;
	for (uint32_t i = 0; i + 1 < len; i += 2)
		sum += get16(msg + i);
	if (len & 1)
		sum += (uint32_t)msg[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static bool is_solicited_node_of(const uint8_t dst[16], const uint8_t target[16])
{
	static const uint8_t prefix[13] = { 0xff, 0x02, [11] = 1, [12] = 0xff };

	return !memcmp(dst, prefix, 13) && !memcmp(dst + 13, target + 13, 3);
}

/* The NA: IPv6 header and ICMPv6 message after the link layer at out + n. */
static uint32_t put_na(uint8_t *out, uint32_t n, const uint8_t src[16], const uint8_t dst[16],
		       uint8_t flags, const uint8_t *tlla)
{
	uint8_t *ip = out + n, *icmp = ip + 40;
	uint32_t mlen = tlla ? 32 : 24;

	memset(ip, 0, 40 + mlen);
	ip[0] = 0x60;
	put16(ip + 4, (uint16_t)mlen);
	ip[6] = 58;
	ip[7] = 255;
	memcpy(ip + 8, src, 16);
	memcpy(ip + 24, dst, 16);
	icmp[0] = ICMP6_NA;
	icmp[4] = flags;
	memcpy(icmp + 8, src, 16);
	if (tlla) {
		icmp[24] = NDP_OPT_TLLA;
		icmp[25] = 1;
		memcpy(icmp + 26, tlla, 6);
	}
	put16(icmp + 2, icmp6_sum(src, dst, icmp, mlen));
	return n + 40 + mlen;
}

/* Options of an NS from icmp + 24 to icmp + mlen: false when one lies; the
 * source link-layer option (if any) into *slla. */
static bool ns_options(const uint8_t *icmp, uint32_t mlen, const uint8_t **slla)
{
	*slla = NULL;
	for (uint32_t off = 24; off < mlen;) {
		uint32_t olen;

		if (mlen - off < 2)
			return false;
		olen = (uint32_t)icmp[off + 1] * 8;
		if (!olen || olen > mlen - off)
			return false;
		if (icmp[off] == NDP_OPT_SLLA) {
			if (olen != 8)
				return false;
			*slla = icmp + off + 2;
		}
		off += olen;
	}
	return true;
}

uint32_t ndp_build_advert(const struct arp_responder *r, const struct pkt_view *p,
			  uint8_t reply[ARP_REPLY_MAX], struct responder_counters *c)
{
	const uint8_t *f = p->data, *ip, *icmp, *src, *dst, *target, *slla;
	uint32_t avail, mlen, n;
	struct l2 l;
	bool dad, multicast_dst;
	int in;

	if (!l2_parse(p, &l) || l.type != ETH_TYPE_IPV6)
		return 0;
	ip = f + l.off;
	avail = p->caplen - l.off;
	if (avail < 42 || (ip[0] >> 4) != 6 || ip[6] != 58 || ip[40] != ICMP6_NS)
		return 0; /* not a Neighbor Solicitation */
	c->ndp_received++;
	icmp = ip + 40;
	mlen = get16(ip + 4);
	src = ip + 8;
	dst = ip + 24;
	target = icmp + 8;
	if (mlen < 24 || mlen > avail - 40 ||
	    ip[7] != 255 || icmp[1] != 0 || icmp6_sum(src, dst, icmp, mlen) != 0 ||
	    target[0] == 0xff || !ns_options(icmp, mlen, &slla)) {
		c->ndp_ign_malformed++;
		return 0;
	}
	dad = !memcmp(src, ANY6, 16);
	if (dad && (!is_solicited_node_of(dst, target) || slla)) {
		c->ndp_ign_malformed++;
		return 0;
	}
	if (!memcmp(f + 6, r->mac, 6) || !memcmp(f + 6, r->iface.mac, 6)) {
		c->ndp_ign_own++;
		return 0;
	}
	if (!mac_is_unicast(f + 6) || (slla && !mac_is_unicast(slla)) || src[0] == 0xff ||
	    !memcmp(src, LOOPBACK6, 16)) {
		c->ndp_ign_bad_sender++;
		return 0;
	}
	multicast_dst = dst[0] == 0xff;
	if (multicast_dst ? !is_solicited_node_of(dst, target) ||
				    f[0] != 0x33 || f[1] != 0x33 || memcmp(f + 2, dst + 12, 4)
			  : memcmp(dst, target, 16) ||
				    (memcmp(f, r->mac, 6) && memcmp(f, r->iface.mac, 6))) {
		c->ndp_ign_not_for_us++;
		return 0;
	}
	if (l.two_tags) {
		c->ndp_ign_vlan++;
		return 0;
	}
	in = ndp_lookup(r, target, l2_vid(&l));
	if (in <= 0) {
		if (in < 0)
			c->ndp_ign_vlan++;
		else
			c->ndp_ign_out_of_pool++;
		return 0;
	}
	c->ndp_answered++;
	memset(reply, 0, ARP_REPLY_MAX);
	if (dad) {
		c->ndp_dad++;
		n = l2_put(reply, ALL_NODES_MAC, r->mac, &l, ETH_TYPE_IPV6);
		return put_na(reply, n, target, ALL_NODES, NA_FLAG_OVERRIDE, r->mac);
	}
	n = l2_put(reply, slla ? slla : f + 6, r->mac, &l, ETH_TYPE_IPV6);
	if (multicast_dst)
		return put_na(reply, n, target, src, NA_FLAG_SOLICITED | NA_FLAG_OVERRIDE, r->mac);
	return put_na(reply, n, target, src, NA_FLAG_SOLICITED, NULL);
}

uint32_t ndp_build_announce(const struct arp_responder *r, const uint8_t addr[16], unsigned vid,
			    uint8_t out[ARP_REPLY_MAX])
{
	struct l2 l = { .tagged = vid > 0, .tpid = ETH_TYPE_8021Q, .tci = (uint16_t)vid };
	uint32_t n;

	memset(out, 0, ARP_REPLY_MAX);
	n = l2_put(out, ALL_NODES_MAC, r->mac, &l, ETH_TYPE_IPV6);
	return put_na(out, n, addr, ALL_NODES, NA_FLAG_OVERRIDE, r->mac);
}

bool ndp_pool_nth(const struct ndp_pool_range *q, uint64_t off, uint8_t out[16])
{
	unsigned carry = 0;

	memcpy(out, q->first, 16);
	for (int i = 15; i >= 0; i--) {
		unsigned v = out[i] + (unsigned)(off & 0xff) + carry;

		out[i] = (uint8_t)v;
		carry = v >> 8;
		off >>= 8;
	}
	return !carry && memcmp(out, q->last, 16) <= 0;
}
