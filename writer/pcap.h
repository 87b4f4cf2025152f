/*
 * The pcap savefile format (libpcap's sf-pcap.c), all of it: host byte order,
 * the magic tells readers the order and whether timestamps are micro- or
 * nanoseconds. Pure: no state, no syscalls, any thread.
 *
 * The per-record encoders are inline because they run once per packet in the
 * writer's copy loop (measured: an out-of-line call costs more than the copy
 * of a short packet).
 */
#ifndef RINGCAP_WRITER_PCAP_H
#define RINGCAP_WRITER_PCAP_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "ring/block.h"

#define PCAP_MAGIC_MICRO 0xa1b2c3d4u
#define PCAP_MAGIC_NANO  0xa1b23c4du
#define PCAP_LINKTYPE_ETHERNET 1
#define PCAP_FILE_HEADER_LEN 24
/* libpcap's MAXIMUM_SNAPLEN: the largest snapshot length ringcap writes */
#define PCAP_SNAPLEN_MAX 262144u
#define PCAP_RECORD_HEADER_LEN 16
#define VLAN_TAG_LEN 4

struct pcap_file_header_v24 {
	uint32_t magic;
	uint16_t version_major;
	uint16_t version_minor;
	int32_t thiszone;
	uint32_t sigfigs;
	uint32_t snaplen;
	uint32_t linktype;
};

_Static_assert(sizeof(struct pcap_file_header_v24) == PCAP_FILE_HEADER_LEN, "file header");

struct pcap_record_header {
	uint32_t ts_sec;
	uint32_t ts_frac;
	uint32_t caplen;
	uint32_t len;
};

_Static_assert(sizeof(struct pcap_record_header) == PCAP_RECORD_HEADER_LEN, "record header");

/* The 24-byte file header, version 2.4, for LINKTYPE_* `linktype` (0: Ethernet). */
void pcap_file_header_encode(uint8_t out[PCAP_FILE_HEADER_LEN], uint32_t snaplen, bool nano,
			     uint32_t linktype);

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

/* Encode one record (header + data) into `out`, which has room for
 * PCAP_RECORD_HEADER_LEN + pcap_record_caplen() bytes. Returns bytes written. */
static inline uint32_t pcap_record_encode(uint8_t *out, const struct pkt_view *p, uint32_t snaplen, bool nano)
{
	struct pcap_record_header h;
	uint32_t caplen = pcap_record_caplen(p, snaplen);
	uint8_t *d = out + sizeof(h);

	h.ts_sec = p->sec;
	h.ts_frac = nano ? p->nsec : p->nsec / 1000;
	h.caplen = caplen;
	h.len = p->len + (p->vlan && p->caplen >= 12 ? VLAN_TAG_LEN : 0);
	memcpy(out, &h, sizeof(h));

	if (p->vlan && p->caplen >= 12) {
		/* Put back the 802.1Q tag the device moved into tp_vlan_tci. */
		uint8_t tag[VLAN_TAG_LEN] = { p->vlan_tpid >> 8, p->vlan_tpid & 0xff,
					      p->vlan_tci >> 8, p->vlan_tci & 0xff };
		uint32_t rest = caplen > 12 ? caplen - 12 : 0;

		memcpy(d, p->data, caplen < 12 ? caplen : 12);
		if (rest) {
			uint32_t t = rest < VLAN_TAG_LEN ? rest : VLAN_TAG_LEN;
			memcpy(d + 12, tag, t);
			if (rest > t)
				memcpy(d + 12 + t, p->data + 12, rest - t);
		}
	} else {
		copy_packet_bytes(d, p->data, caplen);
	}
	return (uint32_t)sizeof(h) + caplen;
}

#endif
