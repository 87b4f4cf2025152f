/*
 * The addresses a libpcap `host` or `net` test could compare in a frame. The
 * summary must hold every one of them (a chunk is skipped only when none of
 * its frames can match), so this reads the bytes where libpcap's generated
 * code looks, not where a careful parser would: an Ethernet type 0x0800 means
 * IPv4 addresses at +12 and +16 whatever the version nibble says, ARP and RARP
 * addresses at the fixed offsets +14 and +24 that libpcap assumes. Behind
 * 802.1Q/802.1ad tags each level is read too (what `vlan and host X` sees).
 * Pure; reads only inside caplen.
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

static void add4(struct frame_addrs *a, const uint8_t *frame, uint32_t caplen, uint32_t off)
{
	if (off <= caplen && caplen - off >= 4 && a->n4 < 8)
		a->a4[a->n4++] = be32(frame + off);
}

static void add6(struct frame_addrs *a, const uint8_t *frame, uint32_t caplen, uint32_t off)
{
	if (off <= caplen && caplen - off >= 16 && a->n6 < 4)
		memcpy(a->a6[a->n6++], frame + off, 16);
}

static void ipv4_at(struct frame_addrs *a, const uint8_t *f, uint32_t caplen, uint32_t net)
{
	add4(a, f, caplen, net + 12);
	add4(a, f, caplen, net + 16);
}

static void ipv6_at(struct frame_addrs *a, const uint8_t *f, uint32_t caplen, uint32_t net)
{
	add6(a, f, caplen, net + 8);
	add6(a, f, caplen, net + 24);
}

static bool is_tag(uint16_t type)
{
	return type == 0x8100 || type == 0x88a8 || type == 0x9100;
}

/* The network layer after an ethertype at `type_off`, through VLAN tags. False
 * when there are more tags than we follow (`vlan and vlan and ...` could still
 * look deeper): the chunk then gets no summary. */
static bool after_ethertype(struct frame_addrs *a, const uint8_t *f, uint32_t caplen, uint32_t type_off)
{
	for (int level = 0; level <= MAX_TAGS; level++, type_off += 4) {
		uint32_t net = type_off + 2;
		uint16_t type;

		if (type_off > caplen || caplen - type_off < 2)
			return true;
		type = be16(f + type_off);
		switch (type) {
		case ETHERTYPE_IPV4:
			ipv4_at(a, f, caplen, net);
			return true;
		case ETHERTYPE_IPV6:
			ipv6_at(a, f, caplen, net);
			return true;
		case ETHERTYPE_ARP:
		case ETHERTYPE_RARP:
			add4(a, f, caplen, net + 14);
			add4(a, f, caplen, net + 24);
			return true;
		default:
			if (is_tag(type))
				continue; /* a tag: the next ethertype is 4 bytes on */
			return true;
		}
	}
	return false;
}

/* By the version nibble, as libpcap does for raw IP link types. */
static void raw_ip(struct frame_addrs *a, const uint8_t *f, uint32_t caplen, uint32_t net)
{
	if (net >= caplen)
		return;
	if (f[net] >> 4 == 4)
		ipv4_at(a, f, caplen, net);
	else if (f[net] >> 4 == 6)
		ipv6_at(a, f, caplen, net);
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

bool index_frame_addrs(uint32_t linktype, const uint8_t *frame, uint32_t caplen, struct frame_addrs *out)
{
	out->n4 = out->n6 = 0;
	switch (linktype) {
	case LINKTYPE_ETHERNET:
		return after_ethertype(out, frame, caplen, 12);
	case LINKTYPE_LINUX_SLL:
		return after_ethertype(out, frame, caplen, 14);
	case LINKTYPE_LINUX_SLL2:
		/* protocol first, payload after the 20-byte header */
		if (caplen >= 2) {
			uint16_t type = be16(frame);

			if (type == ETHERTYPE_IPV4)
				ipv4_at(out, frame, caplen, 20);
			else if (type == ETHERTYPE_IPV6)
				ipv6_at(out, frame, caplen, 20);
			else if (type == ETHERTYPE_ARP || type == ETHERTYPE_RARP) {
				add4(out, frame, caplen, 20 + 14);
				add4(out, frame, caplen, 20 + 24);
			} else if (is_tag(type)) {
				return false; /* tags in a cooked header: not followed */
			}
		}
		return true;
	case LINKTYPE_RAW:
	case 12: /* DLT_RAW as some systems write it */
	case 14:
		raw_ip(out, frame, caplen, 0);
		return true;
	case LINKTYPE_IPV4: /* every frame is IPv4 (libpcap checks no nibble) */
		ipv4_at(out, frame, caplen, 0);
		return true;
	case LINKTYPE_IPV6:
		ipv6_at(out, frame, caplen, 0);
		return true;
	case LINKTYPE_NULL:
	case LINKTYPE_LOOP:
		if (index_loopback_ip(frame, caplen) == 4)
			ipv4_at(out, frame, caplen, 4);
		else if (index_loopback_ip(frame, caplen) == 6)
			ipv6_at(out, frame, caplen, 4);
		return true;
	default:
		return false;
	}
}
