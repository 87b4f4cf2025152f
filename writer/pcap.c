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

_Static_assert(sizeof(struct pcap_file_header_v24) == PCAP_FILE_HEADER_LEN, "file header");

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
