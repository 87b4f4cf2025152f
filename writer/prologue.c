/*
 * The bytes around a file's records, made once per writer: pcap's 24-byte
 * header, or pcapng's Section Header Block and one Interface Description Block
 * per interface (the prologue every file of the capture begins with), and for
 * pcapng the Interface Statistics Blocks that end each file closed whole (the
 * tail). The encoders are format/format.h's; what is the writer's is what goes
 * into them.
 */
#include <errno.h>
#include <stdio.h>
#include <sys/utsname.h>
#include <time.h>

#include "writer/writer_impl.h"

static bool is_pcapng(const struct writer *w)
{
	return w->cfg.format == WRITER_PCAPNG;
}

/* The configured interfaces, or one from the file-wide link type and snap
 * length when the caller named none. */
static unsigned ifaces(const struct writer *w, const struct writer_iface **out,
		       struct writer_iface *dflt)
{
	if (w->cfg.nifaces) {
		*out = w->cfg.ifaces;
		return w->cfg.nifaces;
	}
	*dflt = (struct writer_iface){ .linktype = w->cfg.linktype, .snaplen = w->cfg.snaplen };
	*out = dflt;
	return 1;
}

uint32_t writer_iface_linktype(const struct writer *w, unsigned iface)
{
	uint32_t lt = w->cfg.nifaces ? w->cfg.ifaces[iface].linktype : w->cfg.linktype;

	return lt ? lt : LINKTYPE_ETHERNET;
}

/* SHB then IDBs into out (room bytes; 0 sizes them). */
static size_t encode_pcapng_prologue(const struct writer *w, uint8_t *out, size_t room)
{
	const struct writer_iface *ifs;
	struct writer_iface one;
	unsigned n = ifaces(w, &ifs, &one);
	struct utsname u;
	char os[2 * sizeof(u.release) + 2] = "";
	struct pcapng_shb_opts sec = { .hardware = w->cfg.hardware, .userappl = w->cfg.userappl };
	size_t len;

	if (uname(&u) == 0) {
		snprintf(os, sizeof(os), "%s %s", u.sysname, u.release);
		sec.os = os;
	}
	len = pcapng_shb_encode(out, room, &sec);
	for (unsigned i = 0; i < n; i++) {
		const struct pcapng_idb d = {
			.linktype = writer_iface_linktype(w, i),
			.snaplen = ifs[i].snaplen ? ifs[i].snaplen : w->cfg.snaplen,
			.name = ifs[i].name,
			.description = ifs[i].description,
			.nano = w->cfg.nano,
		};

		len += pcapng_idb_encode(len <= room ? out + len : NULL, len <= room ? room - len : 0,
					 &d);
	}
	return len;
}

/* The wall clock in the files' time unit. */
static uint64_t now_unit(const struct writer *w)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return w->cfg.nano ? (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec
			   : (uint64_t)ts.tv_sec * 1000000ull + (uint64_t)ts.tv_nsec / 1000;
}

int writer_make_prologue(struct writer *w)
{
	const struct writer_iface *ifs;
	struct writer_iface one;
	size_t len;

	if (!is_pcapng(w)) {
		w->prologue_len = PCAP_FILE_HEADER_LEN;
		w->prologue = xcalloc(1, PCAP_FILE_HEADER_LEN);
		pcap_file_header_encode(w->prologue, w->cfg.snaplen, w->cfg.nano,
					w->cfg.linktype ? w->cfg.linktype : LINKTYPE_ETHERNET);
		return 0;
	}
	len = encode_pcapng_prologue(w, NULL, 0);
	w->tail_max = w->cfg.iface_stats ? ifaces(w, &ifs, &one) * PCAPNG_ISB_MAX_LEN : 0;
	/* A file's first chunk holds its prologue; its last, its tail. */
	if (len + w->tail_max > w->cfg.chunk_size) {
		log_err("pcapng: %zu bytes of interface descriptions and statistics do not fit a "
			"%u-byte chunk", len + w->tail_max, w->cfg.chunk_size);
		return -EINVAL;
	}
	w->prologue = xcalloc(1, len);
	w->prologue_len = (uint32_t)encode_pcapng_prologue(w, w->prologue, len);
	w->tail = w->tail_max ? xcalloc(1, w->tail_max) : NULL;
	w->opened_unit = now_unit(w);
	return 0;
}

void writer_free_prologue(struct writer *w)
{
	xfree(w->prologue);
	xfree(w->tail);
	w->prologue = w->tail = NULL;
}

uint32_t writer_encode_tail(struct writer *w, uint8_t *out)
{
	const struct writer_iface *ifs;
	struct writer_iface one;
	unsigned n;
	uint64_t now;
	uint32_t len = 0;

	if (!w->tail_max)
		return 0;
	n = ifaces(w, &ifs, &one);
	now = now_unit(w);
	for (unsigned i = 0; i < n; i++) {
		struct pcapng_isb s = { .iface = i, .ts = now, .start = w->opened_unit, .end = now };

		if (w->cfg.iface_stats(w->cfg.hook_ctx, i, &s.recv, &s.drop) < 0)
			continue;
		len += (uint32_t)pcapng_isb_encode(out + len, w->tail_max - len, &s);
	}
	return len;
}

uint64_t writer_records_bytes(const struct writer *w, const struct pkt_view *pkts, unsigned n)
{
	const uint32_t snap = w->cfg.snaplen;
	uint64_t bytes = 0;

	if (is_pcapng(w)) {
		for (unsigned i = 0; i < n; i++)
			bytes += pcapng_epb_bytes(&pkts[i], snap);
	} else {
		for (unsigned i = 0; i < n; i++)
			bytes += PCAP_RECORD_HEADER_LEN + pcap_record_caplen(&pkts[i], snap);
	}
	return bytes;
}
