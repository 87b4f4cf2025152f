/*
 * Scanning a pcapng file into a builder: big sequential reads walked with
 * format/'s bounded block iterator, the section (byte order, interfaces)
 * carried from one read to the next, a block cut by a read's end read again
 * from its start (the buffer grown for a block longer than it), packets whose
 * bodies lie counted and skipped, and framing that lies skipped up to the
 * next offset where two blocks in a row frame right.
 */
#include <errno.h>
#include <string.h>

#include "index/index.h"
#include "util/util.h"

#define SCAN_BUF (4u << 20)

/* Could a block start at p: a known type and a framing that holds, and the
 * block after it framing too (or cut by the bytes' end: the walk that goes on
 * from here tells)? Used only to find our footing again after bytes that lie. */
static bool frames_at(const struct pcapng_section *sec, const uint8_t *p, size_t avail)
{
	struct pcapng_block b;
	struct pcapng_shb shb;
	enum format_status st;
	bool swapped = sec->swapped;

	if (pcapng_shb_head_parse(p, avail, &shb) == FORMAT_OK)
		swapped = shb.swapped;
	else if (!sec->valid)
		return false;
	st = pcapng_block_parse(p, avail, swapped, &b);
	if (st == FORMAT_LIED || avail < 8)
		return false;
	switch (b.type) {
	case PCAPNG_BT_SHB: case PCAPNG_BT_IDB: case PCAPNG_BT_SPB: case PCAPNG_BT_NRB:
	case PCAPNG_BT_ISB: case PCAPNG_BT_EPB: case PCAPNG_BT_DSB:
		break;
	default:
		return false;
	}
	if (st == FORMAT_SHORT || avail == b.total_len)
		return true;
	p += b.total_len;
	avail -= b.total_len;
	if (avail >= 4 && pcap_u32(p, false) == PCAPNG_BT_SHB)
		return pcapng_shb_head_parse(p, avail, &shb) != FORMAT_LIED;
	return pcapng_block_parse(p, avail, swapped, &b) != FORMAT_LIED;
}

/* The first offset after `from` in buf[0, len) (4-byte steps) where blocks
 * may frame again, or 0 when none does. */
static size_t resync(const struct pcapng_section *sec, const uint8_t *buf, size_t len, size_t from)
{
	for (size_t at = from + 4; at + 8 <= len; at += 4)
		if (frames_at(sec, buf + at, len - at))
			return at;
	return 0;
}

/* Feed one walked block to the builder. */
static int feed(struct index_builder *b, const struct pcapng_iter *it, const struct pcapng_rec *r)
{
	const uint8_t *head = it->buf + (r->off - it->base);

	if (r->block_type == PCAPNG_BT_SHB || r->block_type == PCAPNG_BT_IDB)
		return index_builder_add_sblock(b, r->off, r->block_len, r->block_type);
	return index_builder_add_block(b, r->off, r->block_len, head, r->ts_ns, r->ifc->linktype, r->pkt.data,
				       r->pkt.caplen);
}

static void count_bad(struct index_scan_result *res, uint64_t n, uint64_t at)
{
	if (n && !res->bad_blocks)
		res->bad_at = at;
	res->bad_blocks += n;
}

int index_scan_pcapng(const struct index_src *src, struct index_builder *b, uint64_t file_size,
		      struct index_scan_result *res)
{
	struct pcapng_section *sec = xcalloc(1, sizeof(*sec));
	size_t cap = SCAN_BUF;
	uint8_t *buf = xcalloc(1, cap);
	uint64_t pos = 0;
	bool lost = false;          /* inside bytes that lie, looking for footing */
	bool cut = false;           /* the last block is cut by the end */
	int ret = 0;

	memset(res, 0, sizeof(*res));
	while (pos < file_size) {
		size_t want = file_size - pos < cap ? (size_t)(file_size - pos) : cap;
		struct pcapng_iter it;
		struct pcapng_rec r;
		ssize_t n = index_src_pread(src, buf, want, pos);

		if (n < 0) {
			ret = (int)n;
			goto out_free;
		}
		res->bytes_read += (uint64_t)n;
		if (n == 0)
			break; /* the file shrank under us */
		pcapng_iter_init(&it, sec, buf, (size_t)n, pos);
		while (pcapng_iter_next(&it, &r)) {
			ret = feed(b, &it, &r);
			if (ret)
				goto out_free;
			res->records += r.block_type == PCAPNG_BT_EPB || r.block_type == PCAPNG_BT_SPB;
		}
		count_bad(res, it.bad, it.first_bad_off);
		pos += it.off;
		index_builder_advance(b, pos);
		if (it.stop == FORMAT_LIED) {
			size_t at = resync(sec, buf, (size_t)n, it.off);

			if (!lost)
				count_bad(res, 1, pos);
			index_builder_break(b);
			if (!at && (size_t)n - it.off <= 8)
				break; /* nothing left to find footing in */
			/* the walk goes on where blocks frame again, or, when none
			 * do in this read, near its end (the next read looks on) */
			lost = !at;
			pos += (at ? at : ((size_t)n - 4) & ~(size_t)3) - it.off;
			continue;
		}
		lost = false;
		if (it.stop != FORMAT_SHORT)
			continue;
		if ((size_t)n < want) {
			cut = true;
			break; /* cut by the file's end */
		}
		if (it.off == 0) {
			if (it.need <= cap)
				break; /* cannot be: a whole read holds it */
			/* one block longer than the buffer: grow it to the block */
			cap = it.need;
			buf = xrealloc(buf, cap, 1);
		}
	}
	/* a stream of unknown length ends where its bytes do: torn only when
	 * a block is cut there */
	if (pos < file_size && (file_size != UINT64_MAX || cut)) {
		res->torn = true;
		res->torn_at = pos;
	}
out_free:
	xfree(buf);
	xfree(sec);
	return ret;
}
