/*
 * What the writer tells others, each at one documented point and never under
 * w->lock (writer.h: Hooks): the index learns an append's records from the
 * appending thread once they are staged, and a closed file's index is written
 * and cfg.file_closed called by the thread that closed it.
 *
 * A pcapng file's index is fed what ringcap-read's walk of the file would
 * feed it (index/index.h, "pcapng"), so the two are the same index: the SHB
 * and IDBs of the prologue, each EPB as the encoder made it from its packet
 * (its length, its time in ns, its interface's link type, its frame as
 * written, the VLAN tag put back: index_fill), and at close the ISBs past the
 * last EPB (good end).
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

/* Records handed to the builder at a time (a stack batch). */
#define INDEX_BATCH 64

/* The records of n packets as the encoder made them (writer/pcap.h): the
 * caplen and block length it gave each, the time in the file's unit (pcapng:
 * in ns, as the interface's resolution leaves it), and the frame as the file
 * holds it. That is the packet's own bytes, but for a VLAN tag the device
 * stripped: the writer puts it back, so the frame's first bytes are rebuilt
 * with it at `head` (the keys read no further: INDEX_FRAME_KEYS_SPAN). */
static void index_fill(const struct writer *w, const struct pkt_view *pkts, unsigned n, struct index_rec *r,
		       uint8_t (*head)[INDEX_FRAME_KEYS_SPAN])
{
	const uint32_t snap = w->cfg.snaplen;
	const bool pcapng = w->cfg.format == WRITER_PCAPNG, nano = w->cfg.nano;
	/* one interface (the common case): its link type once, not per packet */
	const uint32_t lt = w->cfg.nifaces > 1 ? 0 : writer_iface_linktype(w, 0);

	for (unsigned i = 0; i < n; i++) {
		const struct pkt_view *p = &pkts[i];
		uint32_t caplen = pcap_record_caplen(p, snap);

		r[i].caplen = caplen;
		r[i].ts_sec = p->sec;
		if (pcapng) {
			r[i].len = pcapng_epb_bytes(p, snap); /* the encoder's own length */
			r[i].linktype = lt ? lt : writer_iface_linktype(w, p->iface);
			r[i].ts_frac = nano ? p->nsec : p->nsec / 1000 * 1000;
		} else {
			r[i].ts_frac = nano ? p->nsec : p->nsec / 1000;
		}
		if (p->vlan && p->caplen >= 12) {
			r[i].frame_len = caplen < INDEX_FRAME_KEYS_SPAN ? caplen : INDEX_FRAME_KEYS_SPAN;
			pkt_record_copy(head[i], p, r[i].frame_len);
			r[i].frame = head[i];
		} else {
			r[i].frame = p->data;
			r[i].frame_len = caplen;
		}
	}
}

/* The n records staged at stream offset `off`, in batches. 0, or the
 * builder's refusal. */
static int index_records(struct writer *w, struct out_file *f, uint64_t off, const struct pkt_view *pkts,
			 unsigned n)
{
	struct index_rec r[INDEX_BATCH];
	uint8_t head[INDEX_BATCH][INDEX_FRAME_KEYS_SPAN];
	uint64_t at = off - f->base;

	for (unsigned i = 0; i < n; i += INDEX_BATCH) {
		unsigned k = n - i < INDEX_BATCH ? n - i : INDEX_BATCH;
		int ret;

		index_fill(w, pkts + i, k, r, head);
		ret = index_builder_add_records(f->ix, at, r, k);
		if (ret)
			return ret;
		at = index_builder_end(f->ix);
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
	ret = index_records(w, f, off, pkts, n);
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
