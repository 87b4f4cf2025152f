/* Every kind of capture file ringcap writes, for readers that take any. */
#include "format/format.h"

static const struct format_kind *const kinds[] = {
	&format_pcap,
	&format_pcapng,
};

enum format_status format_probe(const uint8_t *buf, size_t len, struct format_probe *out)
{
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		enum format_status s = kinds[i]->probe(buf, len, out);

		if (s != FORMAT_FOREIGN)
			return s;
	}
	return FORMAT_FOREIGN;
}
