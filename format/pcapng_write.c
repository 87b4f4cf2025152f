/*
 * pcapng as ringcap writes it (format.h: "pcapng (encode)"): the Section
 * Header, Interface Description and Interface Statistics Blocks, each sized
 * first and written only when it fits; the Enhanced Packet Block is inline in
 * format.h (once per packet). Below them, the little of reading that writing
 * needs: where a file's prologue (SHB and IDBs) ends, so that a restart can
 * tell a file with packets from one without, and a probe of the SHB and the
 * first IDB for format_probe. The full reader of pcapng is not here.
 */
#include "format/format.h"

/* A block being laid out: bytes are written only while they fit in `room`,
 * `len` counts them all the same. Each encoder runs once to size its block
 * and, when it fits, again to write it: a block is written whole or not at
 * all. */
struct emit {
	uint8_t *out;
	size_t room;
	size_t len;
};

static void put(struct emit *e, const void *p, size_t n)
{
	if (e->len + n <= e->room)
		memcpy(e->out + e->len, p, n);
	e->len += n;
}

static void put32(struct emit *e, uint32_t v)
{
	put(e, &v, 4);
}

static void put_opt_head(struct emit *e, uint16_t code, uint16_t len)
{
	const uint16_t h[2] = { code, len };

	put(e, h, sizeof(h));
}

/* An option whose value is `n` bytes at p, zero-padded to 4. */
static void put_opt(struct emit *e, uint16_t code, const void *p, size_t n)
{
	static const uint8_t zeros[4];

	put_opt_head(e, code, (uint16_t)n);
	put(e, p, n);
	put(e, zeros, pcapng_pad4((uint32_t)n) - n);
}

/* A string option, left out when s is NULL or empty; the length field is
 * 16 bits, so a longer string is cut. */
static bool put_str(struct emit *e, uint16_t code, const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (!n)
		return false;
	put_opt(e, code, s, n > 0xfffc ? 0xfffc : n);
	return true;
}

/* A 64-bit timestamp option, high 32 bits first (as in an EPB). */
static void put_ts(struct emit *e, uint16_t code, uint64_t ts)
{
	const uint32_t v[2] = { (uint32_t)(ts >> 32), (uint32_t)ts };

	put_opt(e, code, v, sizeof(v));
}

static void put_end_of_options(struct emit *e, bool any)
{
	if (any)
		put_opt_head(e, PCAPNG_OPT_ENDOFOPT, 0);
}

/* The block's total length, at its second word and after its last byte. */
static size_t finish(struct emit *e)
{
	uint32_t total = (uint32_t)(e->len + PCAPNG_TRAILER_LEN);

	put32(e, total);
	if (e->len <= e->room)
		memcpy(e->out + 4, &total, 4);
	return e->len;
}

/* Size the block, then write it when it fits in room. */
#define ENCODE(body, out, room, arg)                                       \
	do {                                                               \
		struct emit size_ = { NULL, 0, 0 }, e_ = { (out), (room), 0 }; \
		size_t need_ = body(&size_, arg);                          \
		if (need_ <= (room))                                       \
			body(&e_, arg);                                    \
		return need_;                                              \
	} while (0)

static size_t shb(struct emit *e, const struct pcapng_shb_opts *s)
{
	const uint16_t version[2] = { PCAPNG_VERSION_MAJOR, PCAPNG_VERSION_MINOR };
	const int64_t section_len = -1;
	bool any = false;

	put32(e, PCAPNG_BT_SHB);
	put32(e, 0); /* total, by finish() */
	put32(e, PCAPNG_BYTE_ORDER_MAGIC);
	put(e, version, sizeof(version));
	put(e, &section_len, sizeof(section_len));
	any |= put_str(e, PCAPNG_SHB_HARDWARE, s->hardware);
	any |= put_str(e, PCAPNG_SHB_OS, s->os);
	any |= put_str(e, PCAPNG_SHB_USERAPPL, s->userappl);
	put_end_of_options(e, any);
	return finish(e);
}

size_t pcapng_shb_encode(uint8_t *out, size_t room, const struct pcapng_shb_opts *s)
{
	ENCODE(shb, out, room, s);
}

static size_t idb(struct emit *e, const struct pcapng_idb *d)
{
	const uint16_t link_reserved[2] = { (uint16_t)d->linktype, 0 };
	const uint8_t tsresol = d->nano ? PCAPNG_TSRESOL_NANO : PCAPNG_TSRESOL_MICRO;

	put32(e, PCAPNG_BT_IDB);
	put32(e, 0);
	put(e, link_reserved, sizeof(link_reserved));
	put32(e, d->snaplen);
	put_str(e, PCAPNG_IF_NAME, d->name);
	put_str(e, PCAPNG_IF_DESCRIPTION, d->description);
	put_opt(e, PCAPNG_IF_TSRESOL, &tsresol, 1);
	put_end_of_options(e, true);
	return finish(e);
}

size_t pcapng_idb_encode(uint8_t *out, size_t room, const struct pcapng_idb *d)
{
	ENCODE(idb, out, room, d);
}

static size_t isb(struct emit *e, const struct pcapng_isb *s)
{
	put32(e, PCAPNG_BT_ISB);
	put32(e, 0);
	put32(e, s->iface);
	put32(e, (uint32_t)(s->ts >> 32));
	put32(e, (uint32_t)s->ts);
	if (s->start)
		put_ts(e, PCAPNG_ISB_STARTTIME, s->start);
	if (s->end)
		put_ts(e, PCAPNG_ISB_ENDTIME, s->end);
	put_opt(e, PCAPNG_ISB_IFRECV, &s->recv, 8);
	put_opt(e, PCAPNG_ISB_IFDROP, &s->drop, 8);
	put_end_of_options(e, true);
	return finish(e);
}

size_t pcapng_isb_encode(uint8_t *out, size_t room, const struct pcapng_isb *s)
{
	ENCODE(isb, out, room, s);
}

/* ------------------------------------------------------------ reading back */

/* Byte order from the SHB at buf (12 bytes at hand): FORMAT_OK and *swapped,
 * or FORMAT_FOREIGN. */
static enum format_status shb_order(const uint8_t *buf, bool *swapped)
{
	uint32_t magic;

	if (pcap_u32(buf, false) != PCAPNG_BT_SHB)
		return FORMAT_FOREIGN;
	magic = pcap_u32(buf + 8, false);
	if (magic == PCAPNG_BYTE_ORDER_MAGIC)
		*swapped = false;
	else if (magic == __builtin_bswap32(PCAPNG_BYTE_ORDER_MAGIC))
		*swapped = true;
	else
		return FORMAT_FOREIGN;
	return FORMAT_OK;
}

enum format_status pcapng_prologue_end(const uint8_t *buf, size_t len, size_t *end)
{
	enum format_status s;
	size_t off = 0;
	bool swapped;

	*end = 0;
	if (len < 4 || pcap_u32(buf, false) != PCAPNG_BT_SHB)
		return len < 4 ? FORMAT_SHORT : FORMAT_FOREIGN;
	if (len < 12)
		return FORMAT_SHORT;
	s = shb_order(buf, &swapped);
	if (s != FORMAT_OK)
		return s;
	while (len - off >= 8) {
		uint32_t type = pcap_u32(buf + off, swapped);
		uint32_t blen = pcap_u32(buf + off + 4, swapped);

		/* an ISB holds no packet either: an empty capture's file is
		 * SHB, IDB, ISB */
		if (type != PCAPNG_BT_SHB && type != PCAPNG_BT_IDB && type != PCAPNG_BT_ISB)
			break;
		if (blen < 12 || blen % 4) {
			*end = off;
			return FORMAT_LIED;
		}
		if (blen > len - off)
			break; /* not whole in buf */
		off += blen;
	}
	*end = off;
	return FORMAT_OK;
}
