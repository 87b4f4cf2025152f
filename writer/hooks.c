/*
 * What the writer tells others, each at one documented point and never under
 * w->lock (writer.h: Hooks): the index learns an append's records from the
 * appending thread once they are staged, and a closed file's index is written
 * and cfg.file_closed called by the thread that closed it.
 */
#include <string.h>

#include "index/index.h"
#include "writer/writer_impl.h"

/* `off` is the stream offset of the first record. A record the builder
 * refuses ends the index of that file: better none than a wrong one. */
void writer_hook_staged(struct writer *w, struct out_file *f, uint64_t off,
			const struct pkt_view *pkts, unsigned n)
{
	uint64_t at = off - f->base;

	for (unsigned i = 0; f->ix && i < n; i++) {
		const struct pkt_view *p = &pkts[i];
		uint32_t caplen = pcap_record_caplen(p, w->cfg.snaplen);

		if (index_builder_add_view(f->ix, at, p->sec, w->cfg.nano ? p->nsec : p->nsec / 1000,
					   caplen, p->data, p->caplen < caplen ? p->caplen : caplen)) {
			index_builder_free(f->ix);
			f->ix = NULL;
		}
		at += PCAP_RECORD_HEADER_LEN + caplen;
	}
}

/* The index is written only for a file that kept every record the builder
 * saw (an error that cut the file short leaves it to ringcap-read to index). */
void writer_hook_closed(struct writer *w, struct out_file *f, uint64_t size, int error)
{
	if (f->ix) {
		int ret = error ? 0
			  : writer_compressed(w) ? index_builder_write_compressed(f->ix, f->path)
						 : index_builder_write(f->ix, f->path);

		if (ret)
			log_warn("%s: its index was not written: %s", f->path, strerror(-ret));
		index_builder_free(f->ix);
		f->ix = NULL;
	}
	if (w->cfg.file_closed)
		w->cfg.file_closed(w->cfg.hook_ctx, f->path, size, error);
}
