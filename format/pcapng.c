/*
 * pcapng, read: blocks framed and bounded, the SHB, IDB, EPB and SPB parsed,
 * a walk that keeps the section's byte order and interfaces, and the probe.
 * Modelled on libpcap's sf-pcapng.c (its bounds, its defaults: if_tsresol
 * 10^-6, SPB of interface 0 with caplen min(len, snaplen)); encoders live
 * elsewhere.
 */
#include "format/format.h"

static uint16_t u16_at(const uint8_t *p, bool swapped)
{
	uint16_t v;

	memcpy(&v, p, sizeof(v));
	return swapped ? __builtin_bswap16(v) : v;
}

static uint64_t u64_at(const uint8_t *p, bool swapped)
{
	return (uint64_t)pcap_u32(p, swapped) | (uint64_t)pcap_u32(p + 4, swapped) << 32;
}

enum format_status pcapng_block_parse(const uint8_t *p, size_t avail, bool swapped, struct pcapng_block *b)
{
	if (avail < 8)
		return FORMAT_SHORT;
	b->type = pcap_u32(p, swapped);
	b->total_len = pcap_u32(p + 4, swapped);
	b->body = NULL;
	b->body_len = 0;
	if (b->total_len < PCAPNG_BLOCK_MIN || b->total_len % 4 || b->total_len > PCAPNG_BLOCK_MAX)
		return FORMAT_LIED;
	if (avail < b->total_len)
		return FORMAT_SHORT;
	if (pcap_u32(p + b->total_len - 4, swapped) != b->total_len)
		return FORMAT_LIED;
	b->body = p + 8;
	b->body_len = b->total_len - PCAPNG_BLOCK_MIN;
	return FORMAT_OK;
}

enum format_status pcapng_shb_head_parse(const uint8_t *p, size_t avail, struct pcapng_shb *s)
{
	struct pcapng_shb out;
	uint32_t bom;

	if (avail < 4)
		return FORMAT_SHORT;
	if (pcap_u32(p, false) != PCAPNG_BT_SHB)
		return FORMAT_FOREIGN;
	if (avail < 12)
		return FORMAT_SHORT;
	bom = pcap_u32(p + 8, false);
	if (bom == PCAPNG_BYTE_ORDER_MAGIC)
		out.swapped = false;
	else if (bom == __builtin_bswap32(PCAPNG_BYTE_ORDER_MAGIC))
		out.swapped = true;
	else
		return FORMAT_LIED;
	out.total_len = pcap_u32(p + 4, out.swapped);
	if (out.total_len < PCAPNG_SHB_MIN || out.total_len % 4 || out.total_len > PCAPNG_BLOCK_MAX)
		return FORMAT_LIED;
	if (avail < PCAPNG_SHB_HEAD_LEN)
		return FORMAT_SHORT;
	out.major = u16_at(p + 12, out.swapped);
	out.minor = u16_at(p + 14, out.swapped);
	out.section_len = (int64_t)u64_at(p + 16, out.swapped);
	if (out.major != PCAPNG_VERSION_MAJOR)
		return FORMAT_LIED;
	*s = out;
	return FORMAT_OK;
}

enum format_status pcapng_shb_parse(const uint8_t *p, size_t avail, struct pcapng_shb *s)
{
	struct pcapng_block b;
	struct pcapng_shb out;
	enum format_status st = pcapng_shb_head_parse(p, avail, &out);

	if (st != FORMAT_OK)
		return st;
	st = pcapng_block_parse(p, avail, out.swapped, &b);
	if (st != FORMAT_OK)
		return st;
	*s = out;
	return FORMAT_OK;
}

/* The options in body[off, len): calls fn for each until opt_endofopt or
 * the end. false if one overruns the body. */
struct opt {
	uint16_t code, len;
	const uint8_t *val;
};

static bool next_opt(const uint8_t *body, uint32_t len, uint32_t *off, bool swapped, struct opt *o)
{
	uint32_t padded;

	if (*off + 4 > len)
		return false;
	o->code = u16_at(body + *off, swapped);
	o->len = u16_at(body + *off + 2, swapped);
	padded = ((uint32_t)o->len + 3u) & ~3u;
	if (padded > len - *off - 4)
		return false;
	o->val = body + *off + 4;
	*off += 4 + padded;
	return true;
}

/* Are the options from `off` well formed up to opt_endofopt or the body's end? */
static bool opts_hold(const uint8_t *body, uint32_t len, uint32_t off, bool swapped)
{
	struct opt o;

	while (off < len) {
		if (!next_opt(body, len, &off, swapped, &o))
			return false;
		if (o.code == PCAPNG_OPT_ENDOFOPT)
			break;
	}
	return true;
}

enum format_status pcapng_idb_parse(const struct pcapng_block *b, bool swapped, struct pcapng_iface *ifc)
{
	struct pcapng_iface f = { .tsres_exp = 6, .usable = true };
	uint32_t off = 8;
	struct opt o;

	if (b->body_len < 8 || !opts_hold(b->body, b->body_len, off, swapped))
		return FORMAT_LIED;
	f.linktype = u16_at(b->body, swapped);
	f.snaplen = pcap_u32(b->body + 4, swapped);
	while (off < b->body_len && next_opt(b->body, b->body_len, &off, swapped, &o) &&
	       o.code != PCAPNG_OPT_ENDOFOPT) {
		if (o.code == PCAPNG_IF_NAME) {
			size_t n = o.len < PCAPNG_IFNAME_MAX - 1 ? o.len : PCAPNG_IFNAME_MAX - 1;

			memcpy(f.name, o.val, n);
			f.name[n] = 0;
			f.name[strnlen(f.name, n)] = 0;
		} else if (o.code == PCAPNG_IF_TSRESOL && o.len == 1) {
			f.tsres_pow2 = o.val[0] & 0x80;
			f.tsres_exp = o.val[0] & 0x7f;
			if (f.tsres_pow2 ? f.tsres_exp > 63 : f.tsres_exp > 19)
				return FORMAT_LIED;
		} else if (o.code == PCAPNG_IF_TSOFFSET && o.len == 8) {
			f.tsoffset_s = (int64_t)u64_at(o.val, swapped);
		}
	}
	*ifc = f;
	return FORMAT_OK;
}

uint64_t pcapng_ts_ns(const struct pcapng_iface *ifc, uint64_t ts)
{
	static const uint64_t pow10[] = { 1ull, 10ull, 100ull, 1000ull, 10000ull, 100000ull, 1000000ull,
					  10000000ull, 100000000ull, 1000000000ull, 10000000000ull };
	unsigned __int128 ns;
	__int128 with_offset;

	if (ifc->tsres_pow2)
		ns = ((unsigned __int128)ts * 1000000000u) >> ifc->tsres_exp;
	else if (ifc->tsres_exp <= 9)
		ns = (unsigned __int128)ts * pow10[9 - ifc->tsres_exp];
	else if (ifc->tsres_exp - 9 <= 10)
		ns = ts / pow10[ifc->tsres_exp - 9];
	else
		ns = ts / pow10[10] / pow10[ifc->tsres_exp - 19];
	with_offset = (__int128)ns + (__int128)ifc->tsoffset_s * 1000000000;
	if (with_offset < 0)
		return 0;
	return with_offset > (__int128)UINT64_MAX ? UINT64_MAX : (uint64_t)with_offset;
}

enum format_status pcapng_epb_parse(const struct pcapng_block *b, bool swapped, struct pcapng_pkt *p)
{
	struct pcapng_pkt out = { 0 };
	uint32_t off;
	struct opt o;

	if (b->body_len < 20)
		return FORMAT_LIED;
	out.iface = pcap_u32(b->body, swapped);
	out.ts = (uint64_t)pcap_u32(b->body + 4, swapped) << 32 | pcap_u32(b->body + 8, swapped);
	out.caplen = pcap_u32(b->body + 12, swapped);
	out.len = pcap_u32(b->body + 16, swapped);
	if (out.caplen > PCAP_SNAPLEN_MAX || out.caplen > b->body_len - 20)
		return FORMAT_LIED;
	out.data = b->body + 20;
	off = 20 + ((out.caplen + 3u) & ~3u);
	if (opts_hold(b->body, b->body_len, off, swapped))
		while (off < b->body_len && next_opt(b->body, b->body_len, &off, swapped, &o) &&
		       o.code != PCAPNG_OPT_ENDOFOPT)
			if (o.code == PCAPNG_EPB_FLAGS && o.len == 4)
				out.flags = pcap_u32(o.val, swapped);
	*p = out;
	return FORMAT_OK;
}

enum format_status pcapng_spb_parse(const struct pcapng_block *b, bool swapped, uint32_t snaplen,
				    struct pcapng_pkt *p)
{
	struct pcapng_pkt out = { 0 };

	if (b->body_len < 4)
		return FORMAT_LIED;
	out.len = pcap_u32(b->body, swapped);
	out.caplen = snaplen && snaplen < out.len ? snaplen : out.len;
	if (out.caplen > PCAP_SNAPLEN_MAX || out.caplen > b->body_len - 4)
		return FORMAT_LIED;
	out.data = b->body + 4;
	*p = out;
	return FORMAT_OK;
}

enum format_status pcapng_section_take(struct pcapng_section *sec, const uint8_t *p, size_t avail)
{
	struct pcapng_shb shb;
	struct pcapng_block b;
	enum format_status st;

	st = pcapng_shb_parse(p, avail, &shb);
	if (st == FORMAT_OK) {
		sec->valid = true;
		sec->swapped = shb.swapped;
		sec->nifaces = 0;
		return FORMAT_OK;
	}
	if (st != FORMAT_FOREIGN) {
		sec->valid = false;
		return st;
	}
	if (!sec->valid)
		return FORMAT_LIED;
	st = pcapng_block_parse(p, avail, sec->swapped, &b);
	if (st != FORMAT_OK)
		return st;
	if (b.type != PCAPNG_BT_IDB)
		return FORMAT_OK;
	if (sec->nifaces < PCAPNG_MAX_IFACES) {
		struct pcapng_iface *ifc = &sec->iface[sec->nifaces];

		if (pcapng_idb_parse(&b, sec->swapped, ifc) != FORMAT_OK) {
			memset(ifc, 0, sizeof(*ifc));
			st = FORMAT_LIED;
		}
	} else {
		st = FORMAT_LIED;
	}
	sec->nifaces++;
	return st;
}

void pcapng_iter_init(struct pcapng_iter *it, struct pcapng_section *sec, const uint8_t *buf, size_t len,
		      uint64_t base)
{
	memset(it, 0, sizeof(*it));
	it->sec = sec;
	it->buf = buf;
	it->len = len;
	it->base = base;
}

static void count_bad(struct pcapng_iter *it)
{
	if (!it->bad++)
		it->first_bad_off = it->base + it->off;
}

/* A packet block's packet, or false (counted) when it lies or its interface
 * is unknown or unusable. */
static bool packet_of(struct pcapng_iter *it, const struct pcapng_block *b, struct pcapng_rec *r)
{
	const struct pcapng_section *sec = it->sec;
	enum format_status st;

	if (b->type == PCAPNG_BT_EPB) {
		st = pcapng_epb_parse(b, sec->swapped, &r->pkt);
	} else {
		if (!sec->nifaces || !sec->iface[0].usable)
			return false;
		st = pcapng_spb_parse(b, sec->swapped, sec->iface[0].snaplen, &r->pkt);
	}
	if (st != FORMAT_OK || r->pkt.iface >= sec->nifaces || r->pkt.iface >= PCAPNG_MAX_IFACES ||
	    !sec->iface[r->pkt.iface].usable)
		return false;
	r->ifc = &sec->iface[r->pkt.iface];
	r->ts_ns = pcapng_ts_ns(r->ifc, r->pkt.ts);
	return true;
}

bool pcapng_iter_next(struct pcapng_iter *it, struct pcapng_rec *r)
{
	while (it->stop == FORMAT_OK && it->off < it->len) {
		const uint8_t *p = it->buf + it->off;
		size_t avail = it->len - it->off;
		struct pcapng_block b;
		enum format_status st;
		bool shb = avail >= 4 && pcap_u32(p, false) == PCAPNG_BT_SHB;

		if (shb) {
			struct pcapng_shb s;

			st = pcapng_shb_parse(p, avail, &s);
			if (st == FORMAT_SHORT && avail >= 12) /* its byte-order magic held */
				it->need = pcap_u32(p + 4, pcap_u32(p + 8, false) != PCAPNG_BYTE_ORDER_MAGIC);
			if (st == FORMAT_OK)
				st = pcapng_block_parse(p, avail, s.swapped, &b);
		} else if (!it->sec->valid) {
			st = avail < 4 ? FORMAT_SHORT : FORMAT_LIED; /* a section starts with its SHB */
		} else {
			st = pcapng_block_parse(p, avail, it->sec->swapped, &b);
			if (st == FORMAT_SHORT && avail >= 8)
				it->need = b.total_len;
		}
		if (st != FORMAT_OK) {
			it->stop = st;
			return false;
		}
		memset(r, 0, sizeof(*r));
		r->off = it->base + it->off;
		r->block_len = b.total_len;
		r->block_type = shb ? PCAPNG_BT_SHB : b.type;
		if (shb || b.type == PCAPNG_BT_IDB) {
			if (pcapng_section_take(it->sec, p, avail) != FORMAT_OK)
				count_bad(it);
			it->off += b.total_len;
			return true;
		}
		if (b.type == PCAPNG_BT_EPB || b.type == PCAPNG_BT_SPB) {
			bool ok = packet_of(it, &b, r);

			if (!ok)
				count_bad(it);
			it->off += b.total_len;
			if (ok)
				return true;
			continue;
		}
		it->off += b.total_len; /* NRB, ISB, DSB, custom, unknown */
	}
	return false;
}

/* An SHB's fixed part (the whole block need not be at hand: its options may
 * pass FORMAT_PROBE_LEN), then the first packet's time and link type when the
 * bytes hold it. */
static enum format_status pcapng_probe(const uint8_t *buf, size_t len, struct format_probe *out)
{
	struct pcapng_section sec = { 0 };
	struct pcapng_iter it;
	struct pcapng_rec r;
	struct pcapng_shb shb;
	enum format_status st = pcapng_shb_head_parse(buf, len, &shb);

	if (st != FORMAT_OK)
		return st;
	out->kind = &format_pcapng;
	out->linktype = 0;
	out->first_ts_ns = 0;
	pcapng_iter_init(&it, &sec, buf, len, 0);
	while (pcapng_iter_next(&it, &r)) {
		if (r.block_type == PCAPNG_BT_IDB && sec.nifaces == 1 && sec.iface[0].usable)
			out->linktype = sec.iface[0].linktype;
		if (r.block_type == PCAPNG_BT_EPB || r.block_type == PCAPNG_BT_SPB) {
			out->linktype = r.ifc->linktype;
			out->first_ts_ns = r.block_type == PCAPNG_BT_EPB ? r.ts_ns : 0;
			break;
		}
	}
	return FORMAT_OK;
}

const struct format_kind format_pcapng = {
	.name = "pcapng",
	.probe = pcapng_probe,
};
