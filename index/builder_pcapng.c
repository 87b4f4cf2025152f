/*
 * The builder of a pcapng file's index: a pcap builder whose records are
 * packet blocks. Each is added through index_builder_add_view (the per-packet
 * key path is the same), its link type and time put where that path reads
 * them (a nanosecond pcap_file_info), then its range and last-record fields
 * set as a block's; the SHBs and IDBs are listed (index.h, "pcapng").
 */
#include <errno.h>
#include <string.h>

#include "index/index_impl.h"
#include "util/util.h"

int index_builder_new_pcapng(struct index_builder **out, const uint8_t shb[PCAP_FILE_HEADER_LEN],
			     uint32_t chunk_bytes)
{
	uint8_t nano[PCAP_FILE_HEADER_LEN];
	struct index_builder_parts p;
	struct index_builder *b;
	int ret;

	if (!index_is_pcapng_head(shb))
		return -EINVAL;
	pcap_file_header_encode(nano, PCAP_SNAPLEN_MAX, true, LINKTYPE_ETHERNET);
	ret = index_builder_new(&b, nano, chunk_bytes);
	if (ret)
		return ret;
	index_builder_parts(b, &p);
	memcpy(p.ix->pcap_header, shb, PCAP_FILE_HEADER_LEN);
	p.ix->pcapng = true;
	p.ix->good_end = *p.end = 0;
	*out = b;
	return 0;
}

int index_builder_add_sblock(struct index_builder *b, uint64_t off, uint32_t len, uint32_t type)
{
	struct index_builder_parts p;

	index_builder_parts(b, &p);
	if (!p.ix->pcapng || off < *p.end || (type != PCAPNG_BT_SHB && type != PCAPNG_BT_IDB) ||
	    (!p.ix->nsblocks && (off || type != PCAPNG_BT_SHB)))
		return -EINVAL;
	if (p.ix->nsblocks >= INDEX_SBLOCKS_MAX)
		return -E2BIG;
	p.ix->sblocks = xrealloc(p.ix->sblocks, p.ix->nsblocks + 1, sizeof(*p.ix->sblocks));
	p.ix->sblocks[p.ix->nsblocks++] = (struct index_sblock){ off, len, type };
	*p.end = p.ix->good_end = off + len;
	return 0;
}

int index_builder_add_block(struct index_builder *b, uint64_t off, uint32_t len, const uint8_t head8[8],
			    uint64_t ts_ns, uint32_t linktype, const uint8_t *frame, uint32_t caplen)
{
	struct index_builder_parts p;
	uint32_t raw[2];
	int ret;

	index_builder_parts(b, &p);
	if (!p.ix->pcapng || off < *p.end || !p.ix->nsblocks)
		return -EINVAL;
	if (ts_ns / 1000000000ull > UINT32_MAX) /* past 2106: the latest a pcap-shaped time holds */
		ts_ns = (uint64_t)UINT32_MAX * 1000000000ull + 999999999ull;
	p.fi->linktype = linktype;
	*p.end = off;
	ret = index_builder_add_view(b, off, (uint32_t)(ts_ns / 1000000000ull), (uint32_t)(ts_ns % 1000000000ull),
				     caplen, frame, caplen);
	if (ret)
		return ret;
	memcpy(raw, head8, sizeof(raw));
	p.cur->end = *p.end = p.ix->good_end = off + len;
	p.ix->last_ts_sec = raw[0];
	p.ix->last_ts_frac = raw[1];
	return 0;
}

void index_builder_advance(struct index_builder *b, uint64_t end)
{
	struct index_builder_parts p;

	index_builder_parts(b, &p);
	if (end > *p.end)
		*p.end = p.ix->good_end = end;
}
