/*
 * A captured packet as a pcap record or a pcapng Enhanced Packet Block: the
 * bytes of the formats are format/format.h's; what is the writer's is how a
 * packet from the ring becomes a record (the VLAN tag the device stripped
 * put back, as libpcap does; the cut at snaplen). Pure: no state, no syscalls, any thread.
 *
 * Inline because it runs once per packet in the writer's copy loop
 * (measured: an out-of-line call costs more than the copy of a short packet).
 */
#ifndef RINGCAP_WRITER_PCAP_H
#define RINGCAP_WRITER_PCAP_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "format/format.h"
#include "ring/block.h"

#define VLAN_TAG_LEN 4

/* Bytes the packet takes in the file: record header plus data, with the VLAN
 * tag the device stripped put back (as libpcap does), cut at snaplen. */
static inline uint32_t pcap_record_caplen(const struct pkt_view *p, uint32_t snaplen)
{
	uint32_t caplen = p->caplen;

	if (p->vlan && caplen >= 12)
		caplen += VLAN_TAG_LEN;
	return caplen < snaplen ? caplen : snaplen;
}

/* Copy a packet's bytes. Most captured packets are short, and a call into
 * libc's memmove for each costs more than the copy: up to 128 bytes move in
 * 16-byte steps, the last step overlapping the one before instead of running
 * past the end (the bytes after the record may belong to another worker). */
static inline void copy_packet_bytes(uint8_t *d, const uint8_t *s, uint32_t n)
{
	if (n > 128) {
		memcpy(d, s, n);
	} else if (n >= 16) {
		for (uint32_t i = 0; i + 16 < n; i += 16)
			memcpy(d + i, s + i, 16);
		memcpy(d + n - 16, s + n - 16, 16);
	} else if (n >= 8) {
		memcpy(d, s, 8);
		memcpy(d + n - 8, s + n - 8, 8);
	} else {
		for (uint32_t i = 0; i < n; i++)
			d[i] = s[i];
	}
}

/* The length on the wire as the file says it: with the VLAN tag put back. */
static inline uint32_t pkt_record_len(const struct pkt_view *p)
{
	return p->len + (p->vlan && p->caplen >= 12 ? VLAN_TAG_LEN : 0);
}

/* pkt_record_copy of a packet whose 802.1Q tag the device moved into
 * tp_vlan_tci: the tag put back after the MAC addresses. Rare, and kept out
 * of line so that the common copy inlines into the writer's loop. */
__attribute__((noinline, cold, unused)) static void pkt_record_copy_vlan(uint8_t *d, const struct pkt_view *p,
									uint32_t caplen)
{
	uint8_t tag[VLAN_TAG_LEN] = { p->vlan_tpid >> 8, p->vlan_tpid & 0xff, p->vlan_tci >> 8,
				      p->vlan_tci & 0xff };
	uint32_t rest = caplen > 12 ? caplen - 12 : 0;

	memcpy(d, p->data, caplen < 12 ? caplen : 12);
	if (rest) {
		uint32_t t = rest < VLAN_TAG_LEN ? rest : VLAN_TAG_LEN;
		memcpy(d + 12, tag, t);
		if (rest > t)
			memcpy(d + 12 + t, p->data + 12, rest - t);
	}
}

/* The packet's `caplen` bytes (pcap_record_caplen's) at d: the 802.1Q tag the
 * device moved into tp_vlan_tci put back after the MAC addresses. */
static inline void pkt_record_copy(uint8_t *d, const struct pkt_view *p, uint32_t caplen)
{
	if (__builtin_expect(p->vlan && p->caplen >= 12, 0))
		pkt_record_copy_vlan(d, p, caplen);
	else
		copy_packet_bytes(d, p->data, caplen);
}

/* Encode one record (header + data) into `out`, which has room for
 * PCAP_RECORD_HEADER_LEN + pcap_record_caplen() bytes. Returns bytes written. */
static inline uint32_t pcap_record_encode(uint8_t *out, const struct pkt_view *p, uint32_t snaplen, bool nano)
{
	uint32_t caplen = pcap_record_caplen(p, snaplen);

	pcap_record_header_encode(out, p->sec, nano ? p->nsec : p->nsec / 1000, caplen,
				  pkt_record_len(p));
	pkt_record_copy(out + PCAP_RECORD_HEADER_LEN, p, caplen);
	return PCAP_RECORD_HEADER_LEN + caplen;
}

/* ---- pcapng: the same packet as an Enhanced Packet Block ---- */

/* Bytes the packet's EPB takes (format.h: pcapng_epb_len). */
static inline uint32_t pcapng_epb_bytes(const struct pkt_view *p, uint32_t snaplen)
{
	return pcapng_epb_len(pcap_record_caplen(p, snaplen), p->dir);
}

/* Encode the packet's EPB into `out` (room for pcapng_epb_bytes): interface
 * p->iface, flags from p->dir (none when not known), the time in the
 * interface's resolution (nano: if_tsresol 9, else 6). Returns bytes written. */
static inline uint32_t pcapng_epb_encode(uint8_t *out, const struct pkt_view *p, uint32_t snaplen, bool nano)
{
	uint32_t caplen = pcap_record_caplen(p, snaplen);
	uint32_t total = pcapng_epb_len(caplen, p->dir);
	uint64_t ts = nano ? (uint64_t)p->sec * 1000000000u + p->nsec
			   : (uint64_t)p->sec * 1000000u + p->nsec / 1000;

	pcapng_epb_header_encode(out, total, p->iface, ts, caplen, pkt_record_len(p));
	pkt_record_copy(out + PCAPNG_EPB_HEADER_LEN, p, caplen);
	pcapng_epb_trailer_encode(out + PCAPNG_EPB_HEADER_LEN + caplen, caplen, p->dir, total);
	return total;
}

#endif
