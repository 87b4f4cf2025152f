/* The pcap handler: one writer_append per block. When the kernel filter also
 * admits packets only another handler wants (ARP requests for the pools), the
 * user's own expression is run here so the file holds exactly what it says. */
#include <string.h>

#include "workers/workers.h"
#include "writer/writer.h"

int pcap_handler_write(void *ctx, const struct pkt_view *pkts, unsigned n)
{
	struct pcap_handler *h = ctx;
	const struct pkt_view *keep = pkts;
	int ret;

	if (h->filter) {
		unsigned k = 0;

		for (unsigned i = 0; i < n; i++)
			if (filter_match(h->filter, pkts[i].data, pkts[i].caplen, pkts[i].len))
				h->scratch[k++] = pkts[i];
		h->filtered_out += n - k;
		keep = h->scratch;
		n = k;
	}
	if (!n)
		return 0;
	ret = writer_append(h->writer, keep, n);
	if (ret < 0)
		return ret;
	/* main reads it for SIGUSR1's report while we run: one writer, relaxed */
	__atomic_store_n(&h->written, h->written + (unsigned)ret, __ATOMIC_RELAXED);
	return writer_full(h->writer) ? 1 : 0;
}

static int pcap_on_block(void *ctx, const struct pkt_view *pkts, unsigned n)
{
	int ret = pcap_handler_write(ctx, pkts, n);

	return ret < 0 ? ret : 0;
}

static bool pcap_done(void *ctx)
{
	const struct pcap_handler *h = ctx;

	return writer_full(h->writer);
}

const struct handler_ops pcap_handler_ops = {
	.name = "pcap",
	.on_block = pcap_on_block,
	.done = pcap_done,
};

int pcap_handler_init_sink(struct pcap_handler *h, unsigned max, struct writer *wr,
			   const struct filter *filter)
{
	memset(h, 0, sizeof(*h));
	h->writer = wr;
	if (filter) {
		h->filter = filter;
		h->scratch = xcalloc(max, sizeof(*h->scratch));
	}
	return 0;
}

int pcap_handler_init(struct pcap_handler *h, struct worker *w, struct writer *wr,
		      const struct filter *filter)
{
	pcap_handler_init_sink(h, w->pkts_cap, wr, filter);
	return worker_add_handler(w, &pcap_handler_ops, h);
}

void pcap_handler_fini(struct pcap_handler *h)
{
	xfree(h->scratch);
	h->scratch = NULL;
}
