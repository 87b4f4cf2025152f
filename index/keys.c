/*
 * The IP protocol and ports of a frame, for the postings. As with the
 * addresses (addr.c), a posting list must hold every record a libpcap test
 * could match, so this reads where libpcap's generated code reads: IPv4 byte 9
 * whatever the version nibble says, ports after the header length IHL gives
 * when the fragment offset is 0, the IPv6 next header as it stands (an
 * extension header, which some libpcap versions look behind, makes the record
 * "wild": it is read for every query). Pure; reads only inside caplen.
 */
#include <string.h>

#include "index/index.h"

#define MAX_TAGS 4

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static bool has_ports(uint8_t proto)
{
	return proto == 6 || proto == 17 || proto == 132; /* TCP, UDP, SCTP */
}

static bool inside(uint32_t caplen, uint32_t off, uint32_t len)
{
	return off <= caplen && caplen - off >= len;
}

static void ports_at(struct frame_l4 *k, const uint8_t *f, uint32_t caplen, uint32_t off)
{
	for (int i = 0; i < 2; i++, off += 2)
		if (inside(caplen, off, 2))
			k->port[k->nports++] = be16(f + off);
}

static void ipv4_l4(struct frame_l4 *k, const uint8_t *f, uint32_t caplen, uint32_t net)
{
	if (!inside(caplen, net, 10))
		return;
	k->has_proto = true;
	k->proto = f[net + 9];
	if (!has_ports(k->proto) || !inside(caplen, net, 8) || (be16(f + net + 6) & 0x1fff))
		return;
	ports_at(k, f, caplen, net + 4u * (f[net] & 0xfu));
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

/* False for an extension header: the protocol is behind it. */
static bool ipv6_l4(struct frame_l4 *k, const uint8_t *f, uint32_t caplen, uint32_t net)
{
	if (!inside(caplen, net, 7))
		return true;
	if (is_ext6(f[net + 6]))
		return false;
	k->has_proto = true;
	k->proto = f[net + 6];
	if (has_ports(k->proto))
		ports_at(k, f, caplen, net + 40);
	return true;
}

static bool after_ethertype(struct frame_l4 *k, const uint8_t *f, uint32_t caplen, uint32_t type_off)
{
	for (int level = 0; level <= MAX_TAGS; level++, type_off += 4) {
		uint16_t type;

		if (!inside(caplen, type_off, 2))
			return true;
		type = be16(f + type_off);
		if (type == 0x0800) {
			ipv4_l4(k, f, caplen, type_off + 2);
			return true;
		}
		if (type == 0x86dd)
			return ipv6_l4(k, f, caplen, type_off + 2);
		if (type != 0x8100 && type != 0x88a8 && type != 0x9100)
			return true;
	}
	return false;
}

static bool by_nibble(struct frame_l4 *k, const uint8_t *f, uint32_t caplen, uint32_t net)
{
	if (net >= caplen)
		return true;
	if (f[net] >> 4 == 4)
		ipv4_l4(k, f, caplen, net);
	else if (f[net] >> 4 == 6)
		return ipv6_l4(k, f, caplen, net);
	return true;
}

bool index_frame_l4(uint32_t linktype, const uint8_t *frame, uint32_t caplen, struct frame_l4 *out)
{
	memset(out, 0, sizeof(*out));
	switch (linktype) {
	case LINKTYPE_ETHERNET:
		return after_ethertype(out, frame, caplen, 12);
	case LINKTYPE_LINUX_SLL:
		return after_ethertype(out, frame, caplen, 14);
	case LINKTYPE_LINUX_SLL2:
		if (caplen < 2)
			return true;
		if (be16(frame) == 0x0800) {
			ipv4_l4(out, frame, caplen, 20);
			return true;
		}
		if (be16(frame) == 0x86dd)
			return ipv6_l4(out, frame, caplen, 20);
		return true;
	case LINKTYPE_RAW:
	case 12:
	case 14:
		return by_nibble(out, frame, caplen, 0);
	case LINKTYPE_IPV4:
		ipv4_l4(out, frame, caplen, 0);
		return true;
	case LINKTYPE_IPV6:
		return ipv6_l4(out, frame, caplen, 0);
	case LINKTYPE_NULL:
	case LINKTYPE_LOOP:
		if (index_loopback_ip(frame, caplen) == 4)
			ipv4_l4(out, frame, caplen, 4);
		else if (index_loopback_ip(frame, caplen) == 6)
			return ipv6_l4(out, frame, caplen, 4);
		return true;
	default:
		return false;
	}
}
