/* The pcap handler: one writer_append per block (one worker), or per batch as
 * the time-order merge's sink (several workers: whichever thread runs the merge's
 * walk calls it, one at a time).
 * Either way one thread at a time appends, as writer.h requires. The kernel filter is
 * the user's expression alone, so every packet delivered goes to the file.
 * Without a writer (several interfaces counted, no file) it counts instead. */
#include <string.h>

#include "workers/workers.h"
#include "writer/writer.h"

/* Per interface: one counter update per run of packets of one interface
 * (the merge hands over runs; a block is one interface's). */
static void count_ifaces(struct pcap_handler *h, const struct pkt_view *pkts, unsigned n)
{
	for (unsigned i = 0, j; i < n; i = j) {
		unsigned k = pkts[i].iface;

		for (j = i + 1; j < n && pkts[j].iface == k; j++)
			;
		if (k < h->niface)
			worker_count(&h->iface_written[k], j - i);
	}
}

static bool handler_full(const struct pcap_handler *h)
{
	if (h->writer)
		return writer_full(h->writer);
	return h->max && __atomic_load_n(&h->written, __ATOMIC_RELAXED) >= h->max;
}

int pcap_handler_write(void *ctx, const struct pkt_view *pkts, unsigned n)
{
	struct pcap_handler *h = ctx;
	unsigned took = n;
	int ret;

	if (!n)
		return 0;
	if (h->writer) {
		ret = writer_append(h->writer, pkts, n);
		if (ret < 0)
			return ret;
		took = (unsigned)ret;
	} else if (h->max && h->written + n > h->max) {
		took = h->written < h->max ? (unsigned)(h->max - h->written) : 0;
	}
	if (h->iface_written)
		count_ifaces(h, pkts, took);
	/* main reads it for SIGUSR1's report while we run: one writer, relaxed */
	__atomic_store_n(&h->written, h->written + took, __ATOMIC_RELAXED);
	return handler_full(h) ? 1 : 0;
}

static int pcap_on_block(void *ctx, const struct pkt_view *pkts, unsigned n)
{
	int ret = pcap_handler_write(ctx, pkts, n);

	return ret < 0 ? ret : 0;
}

static bool pcap_done(void *ctx)
{
	return handler_full(ctx);
}

const struct handler_ops pcap_handler_ops = {
	.name = "pcap",
	.on_block = pcap_on_block,
	.done = pcap_done,
};

void pcap_handler_init_sink(struct pcap_handler *h, struct writer *wr)
{
	memset(h, 0, sizeof(*h));
	h->writer = wr;
}

int pcap_handler_init(struct pcap_handler *h, struct worker *w, struct writer *wr)
{
	pcap_handler_init_sink(h, wr);
	return worker_add_handler(w, &pcap_handler_ops, h);
}
