/*
 * What the writer tells others, each at one documented point and never under
 * w->lock (writer.h: Hooks): the index learns an append's records from the
 * appending thread once they are staged, and a closed file's index is written
 * and cfg.file_closed called by the thread that closed it.
 *
 * A pcapng file's index is fed what ringcap-read's walk of the file would
 * feed it (index/index.h, "pcapng"), so the two are the same index: the SHB
 * and IDBs of the prologue, each EPB as it lies in staging (its first bytes,
 * its time in ns, its interface's link type, its frame as written, the VLAN
 * tag put back), and at close the ISBs past the last EPB (good end).
 */
#include <errno.h>
#include <string.h>

#include "index/index.h"
#include "writer/writer_impl.h"

/* A file's SHB and IDBs, as blocks of w->prologue. 0 or -EINVAL. */
static int index_prologue(const struct writer *w, struct index_builder *ix)
{
	struct pcapng_block b;
	int ret = 0;

	for (uint32_t off = 0; !ret && off < w->prologue_len; off += b.total_len) {
		if (pcapng_block_parse(w->prologue + off, w->prologue_len - off, false, &b))
			return -EINVAL;
		ret = index_builder_add_sblock(ix, off, b.total_len, b.type);
	}
	return ret;
}

void writer_hook_opened(struct writer *w, struct out_file *f)
{
	int ret;

	if (!w->cfg.index || !f->regular)
		return;
	if (w->cfg.format == WRITER_PCAPNG) {
		ret = index_builder_new_pcapng(&f->ix, w->prologue, 0);
		if (!ret && (ret = index_prologue(w, f->ix))) {
			index_builder_free(f->ix);
			f->ix = NULL;
		}
	} else {
		ret = index_builder_new(&f->ix, w->prologue, 0);
	}
	if (ret)
		f->ix = NULL; /* no index is no error: ringcap-read builds it */
	else if (!w->cfg.index_postings)
		index_builder_without_postings(f->ix);
}

/* The n EPBs staged at stream offset `off`, read back from staging: the
 * bytes the file will hold. 0, or the builder's refusal. */
static int index_epbs(struct writer *w, struct out_file *f, uint64_t off, unsigned n)
{
	const uint8_t *p = w->area + off % w->area_len; /* mapped twice: contiguous */
	uint64_t at = off - f->base;

	for (unsigned i = 0; i < n; i++) {
		uint32_t h[PCAPNG_EPB_HEADER_LEN / 4]; /* type, total, iface, ts high, low, caplen, len */
		uint64_t ts;
		int ret;

		memcpy(h, p, sizeof(h));
		ts = (uint64_t)h[3] << 32 | h[4];
		ret = index_builder_add_block(f->ix, at, h[1], p, w->cfg.nano ? ts : ts * 1000u,
					      writer_iface_linktype(w, h[2]), p + PCAPNG_EPB_HEADER_LEN, h[5]);
		if (ret)
			return ret;
		at += h[1];
		p += h[1];
	}
	return 0;
}

/* pcap: the records from the packets themselves (the frame as the ring holds
 * it; index_builder_add_view). 0, or the builder's refusal. */
static int index_records(struct writer *w, struct out_file *f, uint64_t off, const struct pkt_view *pkts,
			 unsigned n)
{
	uint64_t at = off - f->base;

	for (unsigned i = 0; i < n; i++) {
		const struct pkt_view *p = &pkts[i];
		uint32_t caplen = pcap_record_caplen(p, w->cfg.snaplen);
		int ret = index_builder_add_view(f->ix, at, p->sec, w->cfg.nano ? p->nsec : p->nsec / 1000,
						 caplen, p->data, p->caplen < caplen ? p->caplen : caplen);

		if (ret)
			return ret;
		at += PCAP_RECORD_HEADER_LEN + caplen;
	}
	return 0;
}

/* `off` is the stream offset of the first record. A record the builder
 * refuses ends the index of that file: better none than a wrong one. */
void writer_hook_staged(struct writer *w, struct out_file *f, uint64_t off,
			const struct pkt_view *pkts, unsigned n)
{
	int ret;

	if (!f->ix)
		return;
	ret = w->cfg.format == WRITER_PCAPNG ? index_epbs(w, f, off, n) : index_records(w, f, off, pkts, n);
	if (ret) {
		index_builder_free(f->ix);
		f->ix = NULL;
	}
}

/* The index is written only for a file that kept every record the builder
 * saw (an error that cut the file short leaves it to ringcap-read to index).
 * A pcapng file closed whole ends with its ISBs: the walk's good end is the
 * file's end (index_builder_advance; nothing for pcap). */
void writer_hook_closed(struct writer *w, struct out_file *f, uint64_t size, int error)
{
	if (f->ix) {
		int ret = 0;

		if (!error) {
			index_builder_advance(f->ix, f->close_at - f->base);
			ret = writer_compressed(w) ? index_builder_write_compressed(f->ix, f->path)
						   : index_builder_write(f->ix, f->path);
		}
		if (ret)
			log_warn("%s: its index was not written: %s", f->path, strerror(-ret));
		index_builder_free(f->ix);
		f->ix = NULL;
	}
	if (w->cfg.file_closed)
		w->cfg.file_closed(w->cfg.hook_ctx, f->path, size, error);
}
