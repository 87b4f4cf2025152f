/* The pcap savefile: its file header both ways, and its probe. The record
 * header is inline in format.h (once per packet). */
#include "format/format.h"

void pcap_file_header_encode(uint8_t out[PCAP_FILE_HEADER_LEN], uint32_t snaplen, bool nano,
			     uint32_t linktype)
{
	const uint32_t magic = nano ? PCAP_MAGIC_NANO : PCAP_MAGIC_MICRO;
	const uint16_t version[2] = { PCAP_FILE_VERSION_MAJOR, PCAP_FILE_VERSION_MINOR };
	const uint32_t zone_sigfigs_snap_link[4] = { 0, 0, snaplen, linktype };

	memcpy(out, &magic, 4);
	memcpy(out + 4, version, 4);
	memcpy(out + 8, zone_sigfigs_snap_link, 16);
}

static uint16_t u16_at(const uint8_t *p, bool swapped)
{
	uint16_t v;

	memcpy(&v, p, sizeof(v));
	return swapped ? __builtin_bswap16(v) : v;
}

enum format_status pcap_file_header_parse(const uint8_t *buf, size_t len, struct pcap_file_info *fi)
{
	struct pcap_file_info f;
	uint32_t magic;

	if (len < 4)
		return FORMAT_SHORT;
	magic = pcap_u32(buf, false);
	if (magic == PCAP_MAGIC_MICRO || magic == PCAP_MAGIC_NANO)
		f.swapped = false;
	else if (magic == __builtin_bswap32(PCAP_MAGIC_MICRO) || magic == __builtin_bswap32(PCAP_MAGIC_NANO))
		f.swapped = true;
	else
		return FORMAT_FOREIGN;
	if (len < PCAP_FILE_HEADER_LEN)
		return FORMAT_SHORT;
	f.nano = pcap_u32(buf, f.swapped) == PCAP_MAGIC_NANO;
	f.version_major = u16_at(buf + 4, f.swapped);
	f.version_minor = u16_at(buf + 6, f.swapped);
	f.snaplen = pcap_u32(buf + 16, f.swapped);
	/* the upper 16 bits carry FCS length flags (pcap-savefile(5)) */
	f.linktype = pcap_u32(buf + 20, f.swapped) & 0xffffu;
	if (f.version_major != PCAP_FILE_VERSION_MAJOR)
		return FORMAT_LIED;
	*fi = f;
	return FORMAT_OK;
}

static enum format_status pcap_probe(const uint8_t *buf, size_t len, struct format_probe *out)
{
	struct pcap_file_info fi;
	struct pcap_rec r;
	enum format_status s = pcap_file_header_parse(buf, len, &fi);

	if (s != FORMAT_OK)
		return s;
	out->kind = &format_pcap;
	out->linktype = fi.linktype;
	out->first_ts_ns = 0;
	if (pcap_rec_header_parse(&fi, buf + PCAP_FILE_HEADER_LEN, len - PCAP_FILE_HEADER_LEN, &r) ==
	    PCAP_REC_OK)
		out->first_ts_ns = pcap_ts_ns(&fi, r.ts_sec, r.ts_frac);
	return FORMAT_OK;
}

const struct format_kind format_pcap = {
	.name = "pcap",
	.probe = pcap_probe,
};
