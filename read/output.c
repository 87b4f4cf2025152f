/* The pcap or pcapng written out (format/format.h's headers and block
 * numbers): host byte order; pcap with a micro- or nanosecond magic, pcapng
 * with one SHB, an IDB per interface just before its first packet (if_name,
 * if_tsresol 10^-9) and an EPB per packet. Records are gathered in a 1 MiB
 * buffer and written with write(2) (a pipe or a file). The pcapng encoders
 * here are ringcap-read's own, small and local. */
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

static void put(struct pcap_out *o, const void *p, size_t n)
{
	if (!n)
		return;
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

/* ------------------------------------------------------------- pcapng */

static void put32(struct pcap_out *o, uint32_t v)
{
	put(o, &v, 4);
}

static void put16(struct pcap_out *o, uint16_t v)
{
	put(o, &v, 2);
}

/* An option: code, length, value padded to 4 bytes. */
static void put_opt(struct pcap_out *o, uint16_t code, const void *val, uint16_t len)
{
	static const uint8_t pad[4];

	put16(o, code);
	put16(o, len);
	put(o, val, len);
	put(o, pad, (4u - len % 4u) % 4u);
}

static uint32_t opt_len(uint32_t len)
{
	return 4 + ((len + 3u) & ~3u);
}

int pcapng_out_open(struct pcap_out **out, int fd, const struct read_ifaces *ifaces)
{
	static const char appl[] = "ringcap-read";
	struct pcap_out *o = xcalloc(1, sizeof(*o));
	uint32_t total = PCAPNG_SHB_MIN + opt_len(sizeof(appl) - 1) + 4;

	o->fd = fd;
	o->ng = true;
	o->nano = true;
	o->ifaces = ifaces;
	put32(o, PCAPNG_BT_SHB);
	put32(o, total);
	put32(o, PCAPNG_BYTE_ORDER_MAGIC);
	put16(o, PCAPNG_VERSION_MAJOR);
	put16(o, PCAPNG_VERSION_MINOR);
	put32(o, 0xffffffffu); /* section length: not said */
	put32(o, 0xffffffffu);
	put_opt(o, PCAPNG_SHB_USERAPPL, appl, sizeof(appl) - 1);
	put_opt(o, PCAPNG_OPT_ENDOFOPT, NULL, 0);
	put32(o, total);
	*out = o;
	return 0;
}

/* The IDB of interface `iface`, written now: its number in the output. */
static uint32_t idb(struct pcap_out *o, uint32_t iface)
{
	const struct read_iface *f = &o->ifaces->v[iface];
	uint32_t name_len = (uint32_t)strlen(f->name), total = 20 + opt_len(1) + 4;
	const uint8_t nanoseconds = 9;

	if (name_len)
		total += opt_len(name_len);
	put32(o, PCAPNG_BT_IDB);
	put32(o, total);
	put16(o, (uint16_t)f->linktype);
	put16(o, 0);
	put32(o, f->snaplen);
	if (name_len)
		put_opt(o, PCAPNG_IF_NAME, f->name, (uint16_t)name_len);
	put_opt(o, PCAPNG_IF_TSRESOL, &nanoseconds, 1);
	put_opt(o, PCAPNG_OPT_ENDOFOPT, NULL, 0);
	put32(o, total);
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
	static const uint8_t pad[4];
	uint32_t padded = (caplen + 3u) & ~3u, id;
	uint32_t total = PCAPNG_EPB_MIN + padded + (flags ? opt_len(4) + 4 : 0);

	if (iface >= o->ifaces->n)
		return -EINVAL;
	id = iface < o->ng_cap && o->ng_id[iface] ? o->ng_id[iface] - 1 : idb(o, iface);
	put32(o, PCAPNG_BT_EPB);
	put32(o, total);
	put32(o, id);
	put32(o, (uint32_t)(ts_ns >> 32));
	put32(o, (uint32_t)ts_ns);
	put32(o, caplen);
	put32(o, len);
	if (caplen > OUT_BUF - o->used)
		flush(o);
	put(o, data, caplen);
	put(o, pad, padded - caplen);
	if (flags) {
		put_opt(o, PCAPNG_EPB_FLAGS, &flags, 4);
		put_opt(o, PCAPNG_OPT_ENDOFOPT, NULL, 0);
	}
	put32(o, total);
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
