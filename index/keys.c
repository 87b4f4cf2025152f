/*
 * The keys of a frame, in one walk of its link layer: the addresses a libpcap
 * `host` or `net` test could compare (the chunk summary and the address
 * postings), its IP protocol and TCP/UDP/SCTP ports (the other postings).
 *
 * A summary or a posting list must hold every record a libpcap test could
 * match, so this reads the bytes where libpcap's generated code looks, not
 * where a careful parser would: an Ethernet type 0x0800 means IPv4 addresses
 * at +12 and +16 and the protocol at +9 whatever the version nibble says, ARP
 * and RARP addresses at the fixed offsets +14 and +24 that libpcap assumes,
 * ports after the header length IHL gives when the fragment offset is 0, the
 * IPv6 next header as it stands (an extension header, which some libpcap
 * versions look behind, makes the protocol and ports unknown: "wild"). Behind
 * 802.1Q/802.1ad tags each level is read too (what `vlan and host X` sees).
 *
 * The builder calls this once per record, so it is one pass with no second
 * look at the link layer. Pure; reads only inside caplen, and never past
 * INDEX_FRAME_KEYS_SPAN bytes (four tags after a cooked header's 14 bytes,
 * a 60-byte IPv4 header, then the ports end at byte 96): a caller may give
 * a record's first bytes alone (test_index_batch holds this).
 */
#include <string.h>

#include "index/index.h"

#define ETHERTYPE_IPV4 0x0800u
#define ETHERTYPE_ARP 0x0806u
#define ETHERTYPE_RARP 0x8035u
#define ETHERTYPE_IPV6 0x86ddu
#define MAX_TAGS 4

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static bool inside(uint32_t caplen, uint32_t off, uint32_t len)
{
	return off <= caplen && caplen - off >= len;
}

static bool has_ports(uint8_t proto)
{
	return proto == 6 || proto == 17 || proto == 132; /* TCP, UDP, SCTP */
}

static bool is_tag(uint16_t type)
{
	return type == 0x8100 || type == 0x88a8 || type == 0x9100;
}

static bool is_ext6(uint8_t nh)
{
	switch (nh) {
	case 0: case 43: case 44: case 50: case 51: case 60: case 135: case 139: case 140: case 253: case 254:
		return true;
	default:
		return false;
	}
}

static void add4(struct frame_keys *k, const uint8_t *f, uint32_t caplen, uint32_t off)
{
	if (inside(caplen, off, 4) && k->a.n4 < 8)
		k->a.a4[k->a.n4++] = be32(f + off);
}

static void add6(struct frame_keys *k, const uint8_t *f, uint32_t caplen, uint32_t off)
{
	if (inside(caplen, off, 16) && k->a.n6 < 4)
		memcpy(k->a.a6[k->a.n6++], f + off, 16);
}

/* The ports at `off` (a frame's only transport header: nports is 0 here),
 * counted in a register: through *k each store would wait on the one before. */
static void ports_at(struct frame_keys *k, const uint8_t *f, uint32_t caplen, uint32_t off)
{
	unsigned n = 0;

	if (inside(caplen, off, 2)) {
		k->l4.port[n++] = be16(f + off);
		if (inside(caplen, off + 2, 2))
			k->l4.port[n++] = be16(f + off + 2);
	}
	k->l4.nports = n;
}

static void ipv4_at(struct frame_keys *k, const uint8_t *f, uint32_t caplen, uint32_t net)
{
	uint8_t proto;

	add4(k, f, caplen, net + 12);
	add4(k, f, caplen, net + 16);
	if (!inside(caplen, net, 10))
		return;
	proto = f[net + 9];
	k->l4.has_proto = true;
	k->l4.proto = proto;
	if (has_ports(proto) && !(be16(f + net + 6) & 0x1fff))
		ports_at(k, f, caplen, net + 4u * (f[net] & 0xfu));
}

static void ipv6_at(struct frame_keys *k, const uint8_t *f, uint32_t caplen, uint32_t net)
{
	add6(k, f, caplen, net + 8);
	add6(k, f, caplen, net + 24);
	if (!inside(caplen, net, 7))
		return;
	if (is_ext6(f[net + 6])) {
		k->l4_ok = false; /* the protocol is behind it */
		return;
	}
	k->l4.has_proto = true;
	k->l4.proto = f[net + 6];
	if (has_ports(f[net + 6]))
		ports_at(k, f, caplen, net + 40);
}

static void arp_at(struct frame_keys *k, const uint8_t *f, uint32_t caplen, uint32_t net)
{
	add4(k, f, caplen, net + 14);
	add4(k, f, caplen, net + 24);
}

/* The network layer after an ethertype at `type_off`, through VLAN tags. More
 * tags than we follow (`vlan and vlan and ...` could still look deeper) leave
 * every key unknown. */
static void after_ethertype(struct frame_keys *k, const uint8_t *f, uint32_t caplen, uint32_t type_off)
{
	for (int level = 0; level <= MAX_TAGS; level++, type_off += 4) {
		uint32_t net = type_off + 2;
		uint16_t type;

		if (!inside(caplen, type_off, 2))
			return;
		type = be16(f + type_off);
		switch (type) {
		case ETHERTYPE_IPV4:
			ipv4_at(k, f, caplen, net);
			return;
		case ETHERTYPE_IPV6:
			ipv6_at(k, f, caplen, net);
			return;
		case ETHERTYPE_ARP:
		case ETHERTYPE_RARP:
			arp_at(k, f, caplen, net);
			return;
		default:
			if (is_tag(type))
				continue; /* a tag: the next ethertype is 4 bytes on */
			return;
		}
	}
	k->addrs_ok = k->l4_ok = false;
}

/* By the version nibble, as libpcap does for raw IP link types. */
static void raw_ip(struct frame_keys *k, const uint8_t *f, uint32_t caplen, uint32_t net)
{
	if (net >= caplen)
		return;
	if (f[net] >> 4 == 4)
		ipv4_at(k, f, caplen, net);
	else if (f[net] >> 4 == 6)
		ipv6_at(k, f, caplen, net);
}

int index_loopback_ip(const uint8_t *frame, uint32_t caplen)
{
	static const uint32_t inet6[4] = { 10, 24, 28, 30 };
	uint32_t fam, swapped;

	if (caplen < 4)
		return 0;
	memcpy(&fam, frame, 4);
	swapped = __builtin_bswap32(fam);
	if (fam == 2 || swapped == 2)
		return 4;
	for (int i = 0; i < 4; i++)
		if (fam == inet6[i] || swapped == inet6[i])
			return 6;
	return 0;
}

bool index_frame_keys(uint32_t linktype, const uint8_t *frame, uint32_t caplen, struct frame_keys *out)
{
	out->a.n4 = out->a.n6 = 0;
	memset(&out->l4, 0, sizeof(out->l4));
	out->addrs_ok = out->l4_ok = true;
	switch (linktype) {
	case LINKTYPE_ETHERNET:
		after_ethertype(out, frame, caplen, 12);
		break;
	case LINKTYPE_LINUX_SLL:
		after_ethertype(out, frame, caplen, 14);
		break;
	case LINKTYPE_LINUX_SLL2:
		/* protocol first, payload after the 20-byte header */
		if (caplen >= 2) {
			uint16_t type = be16(frame);

			if (type == ETHERTYPE_IPV4)
				ipv4_at(out, frame, caplen, 20);
			else if (type == ETHERTYPE_IPV6)
				ipv6_at(out, frame, caplen, 20);
			else if (type == ETHERTYPE_ARP || type == ETHERTYPE_RARP)
				arp_at(out, frame, caplen, 20);
			else if (is_tag(type))
				out->addrs_ok = false; /* tags in a cooked header: not followed */
		}
		break;
	case LINKTYPE_RAW:
	case 12: /* DLT_RAW as some systems write it */
	case 14:
		raw_ip(out, frame, caplen, 0);
		break;
	case LINKTYPE_IPV4: /* every frame is IPv4 (libpcap checks no nibble) */
		ipv4_at(out, frame, caplen, 0);
		break;
	case LINKTYPE_IPV6:
		ipv6_at(out, frame, caplen, 0);
		break;
	case LINKTYPE_NULL:
	case LINKTYPE_LOOP:
		switch (index_loopback_ip(frame, caplen)) {
		case 4:
			ipv4_at(out, frame, caplen, 4);
			break;
		case 6:
			ipv6_at(out, frame, caplen, 4);
			break;
		}
		break;
	default:
		out->addrs_ok = out->l4_ok = false;
	}
	return out->addrs_ok;
}

bool index_frame_addrs(uint32_t linktype, const uint8_t *frame, uint32_t caplen, struct frame_addrs *out)
{
	struct frame_keys k;
	bool ok = index_frame_keys(linktype, frame, caplen, &k);

	*out = k.a;
	return ok;
}

bool index_frame_l4(uint32_t linktype, const uint8_t *frame, uint32_t caplen, struct frame_l4 *out)
{
	struct frame_keys k;

	index_frame_keys(linktype, frame, caplen, &k);
	*out = k.l4;
	return k.l4_ok;
}
