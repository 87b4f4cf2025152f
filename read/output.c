/* The pcap or pcapng written out, in host byte order, every header and block
 * made by format/format.h's encoders: pcap with a micro- or nanosecond magic;
 * pcapng with one SHB (shb_userappl "ringcap-read"), an IDB per interface
 * just before its first packet (if_name, if_tsresol 10^-9) and an EPB per
 * packet (with the epb_flags its input had). Records are gathered in a 1 MiB
 * buffer and written with write(2) (a pipe or a file). */
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
	bool ng;
	const struct read_ifaces *ifaces;
	uint32_t *ng_id;           /* ng_id[iface]: its IDB's number + 1, 0: not written yet */
	uint32_t ng_ids, ng_cap;   /* IDBs written, entries of ng_id */
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

/* Room for `n` bytes (at most OUT_BUF) at the buffer's end, flushed first
 * when it has less: where to encode them. The caller adds n to used. */
static uint8_t *room(struct pcap_out *o, size_t n)
{
	if (o->used + n > OUT_BUF)
		flush(o);
	return o->buf + o->used;
}

int pcap_out_open(struct pcap_out **out, int fd, uint32_t linktype, uint32_t snaplen, bool nano)
{
	struct pcap_out *o = xcalloc(1, sizeof(*o));

	o->fd = fd;
	o->nano = nano;
	pcap_file_header_encode(room(o, PCAP_FILE_HEADER_LEN), snaplen, nano, linktype);
	o->used += PCAP_FILE_HEADER_LEN;
	*out = o;
	return 0;
}

/* A record's caplen is at most PCAP_SNAPLEN_MAX (the parsers refuse more),
 * so a record or an EPB fits the buffer. */
int pcap_out_record(struct pcap_out *o, uint64_t ts_ns, uint32_t caplen, uint32_t len, const uint8_t *data)
{
	uint64_t ns = ts_ns % 1000000000ull;
	uint8_t *p;

	if (o->error)
		return o->error;
	if (caplen > PCAP_SNAPLEN_MAX)
		return -EINVAL;
	p = room(o, PCAP_RECORD_HEADER_LEN + caplen);
	pcap_record_header_encode(p, (uint32_t)(ts_ns / 1000000000ull), (uint32_t)(o->nano ? ns : ns / 1000),
				  caplen, len);
	memcpy(p + PCAP_RECORD_HEADER_LEN, data, caplen);
	o->used += PCAP_RECORD_HEADER_LEN + caplen;
	return o->error;
}

/* ------------------------------------------------------------- pcapng */

int pcapng_out_open(struct pcap_out **out, int fd, const struct read_ifaces *ifaces)
{
	const struct pcapng_shb_opts shb = { .userappl = "ringcap-read" };
	struct pcap_out *o = xcalloc(1, sizeof(*o));
	size_t n = pcapng_shb_encode(NULL, 0, &shb);

	o->fd = fd;
	o->ng = true;
	o->nano = true;
	o->ifaces = ifaces;
	o->used += pcapng_shb_encode(room(o, n), n, &shb);
	*out = o;
	return 0;
}

/* The IDB of interface `iface`, written now: its number in the output. */
static uint32_t idb(struct pcap_out *o, uint32_t iface)
{
	const struct read_iface *f = &o->ifaces->v[iface];
	const struct pcapng_idb d = { .linktype = f->linktype, .snaplen = f->snaplen, .name = f->name,
				      .nano = true };
	size_t n = pcapng_idb_encode(NULL, 0, &d);

	o->used += pcapng_idb_encode(room(o, n), n, &d);
	if (iface >= o->ng_cap) {
		uint32_t cap = iface + 16;

		o->ng_id = xrealloc(o->ng_id, cap, sizeof(*o->ng_id));
		memset(o->ng_id + o->ng_cap, 0, (cap - o->ng_cap) * sizeof(*o->ng_id));
		o->ng_cap = cap;
	}
	o->ng_id[iface] = ++o->ng_ids;
	return o->ng_ids - 1;
}

static int epb(struct pcap_out *o, uint32_t iface, uint32_t flags, uint64_t ts_ns, uint32_t caplen, uint32_t len,
	       const uint8_t *data)
{
	uint32_t total = pcapng_epb_len(caplen, flags), id;
	uint8_t *p;

	if (iface >= o->ifaces->n || caplen > PCAP_SNAPLEN_MAX)
		return -EINVAL;
	id = iface < o->ng_cap && o->ng_id[iface] ? o->ng_id[iface] - 1 : idb(o, iface);
	p = room(o, total);
	pcapng_epb_header_encode(p, total, id, ts_ns, caplen, len);
	memcpy(p + PCAPNG_EPB_HEADER_LEN, data, caplen);
	pcapng_epb_trailer_encode(p + PCAPNG_EPB_HEADER_LEN + caplen, caplen, flags, total);
	o->used += total;
	return o->error;
}

int pcap_out_packet(struct pcap_out *o, uint32_t iface, uint32_t flags, uint64_t ts_ns, uint32_t caplen,
		    uint32_t len, const uint8_t *data)
{
	if (o->error)
		return o->error;
	if (o->ng)
		return epb(o, iface, flags, ts_ns, caplen, len, data);
	return pcap_out_record(o, ts_ns, caplen, len, data);
}

int pcap_out_close(struct pcap_out *o)
{
	int ret = flush(o);

	xfree(o->ng_id);
	xfree(o);
	return ret;
}
