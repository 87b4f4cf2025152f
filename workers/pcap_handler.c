/* The pcap handler: one writer_append per block (one worker), or per batch as
 * the time-order merge's sink (several workers: the merger thread calls it).
 * Either way one thread appends, as writer.h requires. The kernel filter is
 * the user's expression alone, so every packet delivered goes to the file. */
#include <string.h>

#include "workers/workers.h"
#include "writer/writer.h"

int pcap_handler_write(void *ctx, const struct pkt_view *pkts, unsigned n)
{
	struct pcap_handler *h = ctx;
	int ret;

	if (!n)
		return 0;
	ret = writer_append(h->writer, pkts, n);
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
