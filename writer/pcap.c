/* The pcap savefile format (libpcap's sf-pcap.c): host byte order, the magic
 * tells readers the order and whether timestamps are micro- or nanoseconds. */
#include <string.h>

#include "writer/writer.h"

struct pcap_file_header_v24 {
	uint32_t magic;
	uint16_t version_major;
	uint16_t version_minor;
	int32_t thiszone;
	uint32_t sigfigs;
	uint32_t snaplen;
	uint32_t linktype;
};

struct pcap_record_header {
	uint32_t ts_sec;
	uint32_t ts_frac;
	uint32_t caplen;
	uint32_t len;
};

_Static_assert(sizeof(struct pcap_file_header_v24) == PCAP_FILE_HEADER_LEN, "file header");
_Static_assert(sizeof(struct pcap_record_header) == PCAP_RECORD_HEADER_LEN, "record header");

void pcap_file_header_encode(uint8_t out[PCAP_FILE_HEADER_LEN], uint32_t snaplen, bool nano)
{
	struct pcap_file_header_v24 h = {
		.magic = nano ? PCAP_MAGIC_NANO : PCAP_MAGIC_MICRO,
		.version_major = 2,
		.version_minor = 4,
		.snaplen = snaplen,
		.linktype = PCAP_LINKTYPE_ETHERNET,
	};

	memcpy(out, &h, sizeof(h));
}

uint32_t pcap_record_encode(uint8_t *out, const struct pkt_view *p, uint32_t snaplen, bool nano)
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
		memcpy(d, p->data, caplen);
	}
	return (uint32_t)sizeof(h) + caplen;
}
