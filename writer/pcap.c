/* The pcap file header; the rest of the format is inline in pcap.h. */
#include "writer/pcap.h"

void pcap_file_header_encode(uint8_t out[PCAP_FILE_HEADER_LEN], uint32_t snaplen, bool nano,
			     uint32_t linktype)
{
	struct pcap_file_header_v24 h = {
		.magic = nano ? PCAP_MAGIC_NANO : PCAP_MAGIC_MICRO,
		.version_major = 2,
		.version_minor = 4,
		.snaplen = snaplen,
		.linktype = linktype ? linktype : PCAP_LINKTYPE_ETHERNET,
	};

	memcpy(out, &h, sizeof(h));
}
