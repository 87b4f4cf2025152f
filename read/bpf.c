/*
 * The expression, compiled by libpcap for the inputs' link type and run on each
 * record in user space. The only file of read/ that includes <pcap.h> (ring/
 * has its own compiler, for Ethernet sockets). pcap_open_dead takes a DLT_
 * value while files carry LINKTYPE_ values; they differ for raw IP only among
 * the types we meet (LINKTYPE_RAW 101 is DLT_RAW).
 */
#include <errno.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>

#include "read/read.h"
#include "util/util.h"

struct read_filter {
	struct bpf_program prog;
	bool all;
};

int read_filter_compile(struct read_filter **out, uint32_t linktype, uint32_t snaplen, const char *expr,
			char *err, size_t errlen)
{
	struct read_filter *f = xcalloc(1, sizeof(*f));
	int dlt = linktype == LINKTYPE_RAW ? DLT_RAW : (int)linktype;
	pcap_t *dead;
	int ret = 0;

	if (!expr || !*expr) {
		f->all = true;
		*out = f;
		return 0;
	}
	dead = pcap_open_dead(dlt, (int)(snaplen ? snaplen : PCAP_MAX_CAPLEN));
	if (!dead) {
		snprintf(err, errlen, "pcap_open_dead failed");
		ret = -ENOMEM;
		goto out_free;
	}
	if (pcap_compile(dead, &f->prog, expr, 1, PCAP_NETMASK_UNKNOWN) < 0) {
		snprintf(err, errlen, "%s", pcap_geterr(dead));
		ret = -EINVAL;
	}
	pcap_close(dead);
	if (!ret) {
		*out = f;
		return 0;
	}
out_free:
	xfree(f);
	return ret;
}

bool read_filter_match(const struct read_filter *f, const uint8_t *frame, uint32_t caplen, uint32_t len)
{
	struct pcap_pkthdr h = { .caplen = caplen, .len = len };

	if (f->all)
		return true;
	return pcap_offline_filter(&f->prog, &h, frame) != 0;
}

void read_filter_free(struct read_filter *f)
{
	if (!f)
		return;
	if (!f->all)
		pcap_freecode(&f->prog);
	xfree(f);
}
