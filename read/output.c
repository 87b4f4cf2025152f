/* The pcap written out (format/format.h's headers): host byte order, micro-
 * or nanosecond magic, records gathered in a 1 MiB buffer and written with
 * write(2) (a pipe or a file). */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "read/read.h"
#include "util/util.h"

#define OUT_BUF (1u << 20)

struct pcap_out {
	int fd;
	bool nano;
	int error;
	size_t used;
	uint8_t buf[OUT_BUF];
};

static int flush(struct pcap_out *o)
{
	if (!o->error && o->used)
		o->error = write_full(o->fd, o->buf, o->used);
	o->used = 0;
	return o->error;
}

static void put(struct pcap_out *o, const void *p, size_t n)
{
	if (o->used + n > OUT_BUF)
		flush(o);
	memcpy(o->buf + o->used, p, n);
	o->used += n;
}

int pcap_out_open(struct pcap_out **out, int fd, uint32_t linktype, uint32_t snaplen, bool nano)
{
	struct pcap_out *o = xcalloc(1, sizeof(*o));
	uint8_t h[PCAP_FILE_HEADER_LEN];

	pcap_file_header_encode(h, snaplen, nano, linktype);
	o->fd = fd;
	o->nano = nano;
	put(o, h, sizeof(h));
	*out = o;
	return 0;
}

int pcap_out_record(struct pcap_out *o, uint64_t ts_ns, uint32_t caplen, uint32_t len, const uint8_t *data)
{
	uint8_t h[PCAP_RECORD_HEADER_LEN];
	uint64_t ns = ts_ns % 1000000000ull;

	if (o->error)
		return o->error;
	pcap_record_header_encode(h, (uint32_t)(ts_ns / 1000000000ull), (uint32_t)(o->nano ? ns : ns / 1000),
				  caplen, len);
	put(o, h, sizeof(h));
	if (caplen > OUT_BUF - o->used)
		flush(o);
	put(o, data, caplen);
	return o->error;
}

int pcap_out_close(struct pcap_out *o)
{
	int ret = flush(o);

	xfree(o);
	return ret;
}
