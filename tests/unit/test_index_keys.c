/*
 * The builder's one walk of a frame (index_frame_keys) and the postings and
 * summaries it makes, against a slow reference: the two separate walks the
 * index had before (addresses; protocol and ports), kept here as they were,
 * and a per-record key list built from them with no cache and no encoding.
 *
 * Frames: every link type the index parses (Ethernet with 0..5 tags of each
 * tag type, LINUX_SLL the same, LINUX_SLL2 with and without a tag type, RAW
 * and its aliases 12 and 14, IPV4, IPV6, NULL and LOOP in both byte orders,
 * and one it does not), carrying IPv4 (TCP, UDP, SCTP, ICMP, a fragment, a
 * first fragment, options), IPv6 (UDP, TCP, extension headers), ARP, RARP and
 * not-IP, each cut at every length; then each mutated at random. For every
 * one the walk must equal the reference, and an index built over all of them
 * (in small chunks and large, many flows so the builder's flow cache evicts,
 * resumed halfway) must list for each record exactly the keys the reference
 * gives it and summarise exactly its addresses.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "index/index.h"
#include "tests/unit/unit.h"

/* ------------------------------------------------ the reference walks */

static uint16_t rbe16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t rbe32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void ref_add4(struct frame_addrs *a, const uint8_t *frame, uint32_t caplen, uint32_t off)
{
	if (off <= caplen && caplen - off >= 4 && a->n4 < 8)
		a->a4[a->n4++] = rbe32(frame + off);
}

static void ref_add6(struct frame_addrs *a, const uint8_t *frame, uint32_t caplen, uint32_t off)
{
	if (off <= caplen && caplen - off >= 16 && a->n6 < 4)
		memcpy(a->a6[a->n6++], frame + off, 16);
}

static void ref_ipv4_at(struct frame_addrs *a, const uint8_t *f, uint32_t caplen, uint32_t net)
{
	ref_add4(a, f, caplen, net + 12);
	ref_add4(a, f, caplen, net + 16);
}

static void ref_ipv6_at(struct frame_addrs *a, const uint8_t *f, uint32_t caplen, uint32_t net)
{
	ref_add6(a, f, caplen, net + 8);
	ref_add6(a, f, caplen, net + 24);
}

static bool ref_is_tag(uint16_t type)
{
	return type == 0x8100 || type == 0x88a8 || type == 0x9100;
}

static bool ref_addrs_eth(struct frame_addrs *a, const uint8_t *f, uint32_t caplen, uint32_t type_off)
{
	for (int level = 0; level <= 4; level++, type_off += 4) {
		uint32_t net = type_off + 2;
		uint16_t type;

		if (type_off > caplen || caplen - type_off < 2)
			return true;
		type = rbe16(f + type_off);
		if (type == 0x0800) {
			ref_ipv4_at(a, f, caplen, net);
			return true;
		}
		if (type == 0x86dd) {
			ref_ipv6_at(a, f, caplen, net);
			return true;
		}
		if (type == 0x0806 || type == 0x8035) {
			ref_add4(a, f, caplen, net + 14);
			ref_add4(a, f, caplen, net + 24);
			return true;
		}
		if (!ref_is_tag(type))
			return true;
	}
	return false;
}

static void ref_raw_ip(struct frame_addrs *a, const uint8_t *f, uint32_t caplen, uint32_t net)
{
	if (net >= caplen)
		return;
	if (f[net] >> 4 == 4)
		ref_ipv4_at(a, f, caplen, net);
	else if (f[net] >> 4 == 6)
		ref_ipv6_at(a, f, caplen, net);
}

static bool ref_addrs(uint32_t linktype, const uint8_t *frame, uint32_t caplen, struct frame_addrs *out)
{
	out->n4 = out->n6 = 0;
	switch (linktype) {
	case LINKTYPE_ETHERNET:
		return ref_addrs_eth(out, frame, caplen, 12);
	case LINKTYPE_LINUX_SLL:
		return ref_addrs_eth(out, frame, caplen, 14);
	case LINKTYPE_LINUX_SLL2:
		if (caplen >= 2) {
			uint16_t type = rbe16(frame);

			if (type == 0x0800)
				ref_ipv4_at(out, frame, caplen, 20);
			else if (type == 0x86dd)
				ref_ipv6_at(out, frame, caplen, 20);
			else if (type == 0x0806 || type == 0x8035) {
				ref_add4(out, frame, caplen, 20 + 14);
				ref_add4(out, frame, caplen, 20 + 24);
			} else if (ref_is_tag(type)) {
				return false;
			}
		}
		return true;
	case LINKTYPE_RAW:
	case 12:
	case 14:
		ref_raw_ip(out, frame, caplen, 0);
		return true;
	case LINKTYPE_IPV4:
		ref_ipv4_at(out, frame, caplen, 0);
		return true;
	case LINKTYPE_IPV6:
		ref_ipv6_at(out, frame, caplen, 0);
		return true;
	case LINKTYPE_NULL:
	case LINKTYPE_LOOP:
		if (index_loopback_ip(frame, caplen) == 4)
			ref_ipv4_at(out, frame, caplen, 4);
		else if (index_loopback_ip(frame, caplen) == 6)
			ref_ipv6_at(out, frame, caplen, 4);
		return true;
	default:
		return false;
	}
}

static bool ref_has_ports(uint8_t proto)
{
	return proto == 6 || proto == 17 || proto == 132;
}

static bool ref_inside(uint32_t caplen, uint32_t off, uint32_t len)
{
	return off <= caplen && caplen - off >= len;
}

static void ref_ports_at(struct frame_l4 *k, const uint8_t *f, uint32_t caplen, uint32_t off)
{
	for (int i = 0; i < 2; i++, off += 2)
		if (ref_inside(caplen, off, 2))
			k->port[k->nports++] = rbe16(f + off);
}

static void ref_ipv4_l4(struct frame_l4 *k, const uint8_t *f, uint32_t caplen, uint32_t net)
{
	if (!ref_inside(caplen, net, 10))
		return;
	k->has_proto = true;
	k->proto = f[net + 9];
	if (!ref_has_ports(k->proto) || !ref_inside(caplen, net, 8) || (rbe16(f + net + 6) & 0x1fff))
		return;
	ref_ports_at(k, f, caplen, net + 4u * (f[net] & 0xfu));
}

static bool ref_is_ext6(uint8_t nh)
{
	return nh == 0 || nh == 43 || nh == 44 || nh == 50 || nh == 51 || nh == 60 || nh == 135 || nh == 139 ||
	       nh == 140 || nh == 253 || nh == 254;
}

static bool ref_ipv6_l4(struct frame_l4 *k, const uint8_t *f, uint32_t caplen, uint32_t net)
{
	if (!ref_inside(caplen, net, 7))
		return true;
	if (ref_is_ext6(f[net + 6]))
		return false;
	k->has_proto = true;
	k->proto = f[net + 6];
	if (ref_has_ports(k->proto))
		ref_ports_at(k, f, caplen, net + 40);
	return true;
}

static bool ref_l4_eth(struct frame_l4 *k, const uint8_t *f, uint32_t caplen, uint32_t type_off)
{
	for (int level = 0; level <= 4; level++, type_off += 4) {
		uint16_t type;

		if (!ref_inside(caplen, type_off, 2))
			return true;
		type = rbe16(f + type_off);
		if (type == 0x0800) {
			ref_ipv4_l4(k, f, caplen, type_off + 2);
			return true;
		}
		if (type == 0x86dd)
			return ref_ipv6_l4(k, f, caplen, type_off + 2);
		if (!ref_is_tag(type))
			return true;
	}
	return false;
}

static bool ref_by_nibble(struct frame_l4 *k, const uint8_t *f, uint32_t caplen, uint32_t net)
{
	if (net >= caplen)
		return true;
	if (f[net] >> 4 == 4)
		ref_ipv4_l4(k, f, caplen, net);
	else if (f[net] >> 4 == 6)
		return ref_ipv6_l4(k, f, caplen, net);
	return true;
}

static bool ref_l4(uint32_t linktype, const uint8_t *frame, uint32_t caplen, struct frame_l4 *out)
{
	memset(out, 0, sizeof(*out));
	switch (linktype) {
	case LINKTYPE_ETHERNET:
		return ref_l4_eth(out, frame, caplen, 12);
	case LINKTYPE_LINUX_SLL:
		return ref_l4_eth(out, frame, caplen, 14);
	case LINKTYPE_LINUX_SLL2:
		if (caplen < 2)
			return true;
		if (rbe16(frame) == 0x0800) {
			ref_ipv4_l4(out, frame, caplen, 20);
			return true;
		}
		if (rbe16(frame) == 0x86dd)
			return ref_ipv6_l4(out, frame, caplen, 20);
		return true;
	case LINKTYPE_RAW:
	case 12:
	case 14:
		return ref_by_nibble(out, frame, caplen, 0);
	case LINKTYPE_IPV4:
		ref_ipv4_l4(out, frame, caplen, 0);
		return true;
	case LINKTYPE_IPV6:
		return ref_ipv6_l4(out, frame, caplen, 0);
	case LINKTYPE_NULL:
	case LINKTYPE_LOOP:
		if (index_loopback_ip(frame, caplen) == 4)
			ref_ipv4_l4(out, frame, caplen, 4);
		else if (index_loopback_ip(frame, caplen) == 6)
			return ref_ipv6_l4(out, frame, caplen, 4);
		return true;
	default:
		return false;
	}
}

/* --------------------------------------------------- a record's keys */

struct rkey {
	uint8_t type;
	uint8_t v[16];
};

#define MAX_RKEYS 16

struct rkeys {
	unsigned n;
	struct rkey k[MAX_RKEYS];
	bool addrs_ok;
	struct frame_addrs a;
};

static int cmp_rkey(const void *x, const void *y)
{
	const struct rkey *a = x, *b = y;

	if (a->type != b->type)
		return a->type < b->type ? -1 : 1;
	return memcmp(a->v, b->v, 16);
}

static void put_key(struct rkeys *r, unsigned type, const void *v)
{
	struct rkey k = { .type = (uint8_t)type };

	memcpy(k.v, v, (size_t)index_key_len(type));
	for (unsigned i = 0; i < r->n; i++)
		if (!cmp_rkey(&r->k[i], &k))
			return;
	r->k[r->n++] = k;
}

/* The keys of a record (index.h, "Postings"), sorted, from the reference walks. */
static void ref_keys(uint32_t linktype, const uint8_t *f, uint32_t caplen, struct rkeys *r)
{
	struct frame_l4 l4;
	bool l4_ok;

	memset(r, 0, sizeof(*r));
	r->addrs_ok = ref_addrs(linktype, f, caplen, &r->a);
	l4_ok = ref_l4(linktype, f, caplen, &l4);
	if (!r->addrs_ok) {
		put_key(r, INDEX_KEY_WILD, "");
		return;
	}
	if (!l4_ok)
		put_key(r, INDEX_KEY_WILD_L4, "");
	for (unsigned i = 0; i < r->a.n4; i++) {
		uint8_t v[4] = { (uint8_t)(r->a.a4[i] >> 24), (uint8_t)(r->a.a4[i] >> 16), (uint8_t)(r->a.a4[i] >> 8),
				 (uint8_t)r->a.a4[i] };

		put_key(r, INDEX_KEY_ADDR4, v);
	}
	for (unsigned i = 0; i < r->a.n6; i++)
		put_key(r, INDEX_KEY_ADDR6, r->a.a6[i]);
	if (l4.has_proto)
		put_key(r, INDEX_KEY_PROTO, &l4.proto);
	for (unsigned i = 0; i < l4.nports; i++) {
		uint8_t v[2] = { (uint8_t)(l4.port[i] >> 8), (uint8_t)l4.port[i] };

		put_key(r, INDEX_KEY_PORT, v);
	}
	qsort(r->k, r->n, sizeof(r->k[0]), cmp_rkey);
}

/* ------------------------------------------------------------ frames */

struct frame {
	uint8_t f[160];
	uint32_t len;
};

static struct frame *frames;
static size_t nframes, frames_cap;
static uint32_t *frame_link;

static void push(uint32_t linktype, const uint8_t *f, uint32_t len)
{
	if (nframes == frames_cap) {
		frames_cap = frames_cap ? 2 * frames_cap : 1024;
		frames = realloc(frames, frames_cap * sizeof(*frames));
		frame_link = realloc(frame_link, frames_cap * sizeof(*frame_link));
		if (!frames || !frame_link)
			abort();
	}
	memset(frames[nframes].f, 0, sizeof(frames[nframes].f));
	memcpy(frames[nframes].f, f, len);
	frames[nframes].len = len;
	frame_link[nframes++] = linktype;
}

enum l3 { V4_TCP, V4_UDP, V4_SCTP, V4_ICMP, V4_FRAG, V4_FIRST_FRAG, V4_OPTIONS, V4_NIBBLE6, V6_UDP, V6_TCP,
	  V6_HOP, V6_FRAG, V6_ICMP, ARP, RARP, NOT_IP, L3_KINDS };

/* The network layer of kind `k` at p (its ethertype in *type): its length. */
static uint32_t l3(uint8_t *p, enum l3 k, uint16_t *type, uint8_t seed)
{
	static const uint8_t proto4[] = { 6, 17, 132, 1, 17, 17, 6, 17 };
	uint32_t ihl;

	memset(p, 0, 100);
	if (k <= V4_NIBBLE6) {
		*type = 0x0800;
		ihl = k == V4_OPTIONS ? 24 : 20;
		p[0] = (uint8_t)((k == V4_NIBBLE6 ? 0x60 : 0x40) | ihl / 4);
		p[6] = k == V4_FRAG ? 0x00 : k == V4_FIRST_FRAG ? 0x20 : 0x40; /* MF, DF */
		p[7] = k == V4_FRAG ? 0x10 : 0;
		p[8] = 64;
		p[9] = proto4[k];
		memcpy(p + 12, (uint8_t[]){ 198, 18, seed, 1, 198, 19, 0, (uint8_t)(seed + 2) }, 8);
		memcpy(p + ihl, (uint8_t[]){ 0x04, seed, 0x01, 0xbb, 0, 0, 0, 0 }, 8);
		return ihl + 8 + 4;
	}
	if (k <= V6_ICMP) {
		static const uint8_t nh[] = { 17, 6, 0, 44, 58 };

		*type = 0x86dd;
		p[0] = 0x60;
		p[6] = nh[k - V6_UDP];
		p[7] = 64;
		p[8] = 0x20;
		p[9] = 0x01;
		p[10] = 0x00;
		p[11] = 0x02;
		p[23] = seed;
		p[24] = 0x20;
		p[25] = 0x01;
		p[39] = (uint8_t)(seed + 1);
		memcpy(p + 40, (uint8_t[]){ 0x80, seed, 0x00, 0x35, 0, 8, 0, 0 }, 8);
		return 48;
	}
	if (k == ARP || k == RARP) {
		*type = k == ARP ? 0x0806 : 0x8035;
		memcpy(p, (uint8_t[]){ 0, 1, 8, 0, 6, 4, 0, 1 }, 8);
		memcpy(p + 14, (uint8_t[]){ 198, 18, 7, seed }, 4);
		memcpy(p + 24, (uint8_t[]){ 198, 18, 8, seed }, 4);
		return 28;
	}
	*type = 0x88cc;
	p[0] = 0x02;
	return 16;
}

/* Frame kind k behind each link layer, whole and cut at every length. */
static void push_cuts(uint32_t linktype, const uint8_t *f, uint32_t len)
{
	for (uint32_t cut = 0; cut <= len; cut++)
		push(linktype, f, cut);
}

static void craft(void)
{
	static const uint16_t tags[] = { 0x8100, 0x88a8, 0x9100 };
	static const uint32_t fam[] = { 2, 10, 24, 28, 30, 7 };
	uint8_t f[160], *p;
	uint16_t type;
	uint32_t n;

	for (unsigned k = 0; k < L3_KINDS; k++) {
		uint8_t seed = (uint8_t)(k * 3 + 1);

		/* Ethernet and LINUX_SLL, behind 0..5 tags of each kind */
		for (unsigned sll = 0; sll < 2; sll++)
			for (unsigned t = 0; t < 3; t++)
				for (unsigned ntags = 0; ntags <= 5; ntags++) {
					uint32_t at = sll ? 14 : 12;

					if (!ntags && t)
						continue;
					memset(f, 0, sizeof(f));
					memset(f, 0x02, at);
					for (unsigned i = 0; i < ntags; i++, at += 4) {
						f[at] = (uint8_t)(tags[t] >> 8);
						f[at + 1] = (uint8_t)tags[t];
						f[at + 3] = (uint8_t)(10 + i);
					}
					n = l3(f + at + 2, (enum l3)k, &type, seed);
					f[at] = (uint8_t)(type >> 8);
					f[at + 1] = (uint8_t)type;
					push_cuts(sll ? LINKTYPE_LINUX_SLL : LINKTYPE_ETHERNET, f, at + 2 + n);
				}
		/* LINUX_SLL2: the protocol first, a tag type there too */
		memset(f, 0, sizeof(f));
		n = l3(f + 20, (enum l3)k, &type, seed);
		f[0] = (uint8_t)(type >> 8);
		f[1] = (uint8_t)type;
		push_cuts(LINKTYPE_LINUX_SLL2, f, 20 + n);
		f[0] = 0x81;
		f[1] = 0x00;
		push(LINKTYPE_LINUX_SLL2, f, 20 + n);
		/* no link layer, and the loopbacks */
		p = f + 4;
		n = l3(p, (enum l3)k, &type, seed);
		if (type == 0x0800 || type == 0x86dd) {
			push_cuts(LINKTYPE_RAW, p, n);
			push(12, p, n);
			push(14, p, n);
			push_cuts(type == 0x0800 ? LINKTYPE_IPV4 : LINKTYPE_IPV6, p, n);
			for (unsigned i = 0; i < 6; i++) {
				uint32_t be = __builtin_bswap32(fam[i]);

				memcpy(f, &fam[i], 4);
				push_cuts(LINKTYPE_NULL, f, 4 + n);
				memcpy(f, &be, 4);
				push_cuts(LINKTYPE_LOOP, f, 4 + n);
				push(LINKTYPE_NULL, f, 4 + n);
			}
		}
		push(147, f, 4 + n); /* LINKTYPE_USER0: not parsed */
	}
}

/* Random bytes flipped in copies of every frame (the same seed each run). */
static void mutate(void)
{
	uint64_t s = 0x9e3779b97f4a7c15ull;
	size_t n = nframes;

	for (size_t i = 0; i < n; i++) {
		struct frame m = frames[i];

		if (!m.len)
			continue;
		for (int j = 0; j < 3; j++)
			m.f[unit_rnd(&s) % m.len] = (uint8_t)unit_rnd(&s);
		push(frame_link[i], m.f, m.len);
	}
}

/* ------------------------------------------------------------- checks */

static void test_walk(void)
{
	for (size_t i = 0; i < nframes; i++) {
		const struct frame *fr = &frames[i];
		struct frame_addrs a, a2;
		struct frame_l4 l4, l42;
		struct frame_keys k;
		bool ok = ref_addrs(frame_link[i], fr->f, fr->len, &a);
		bool l4_ok = ref_l4(frame_link[i], fr->f, fr->len, &l4);
		bool got = index_frame_keys(frame_link[i], fr->f, fr->len, &k);

		CHECK(got == ok && k.addrs_ok == ok && k.l4_ok == l4_ok, "frame %zu (link %u, %u bytes): ok %d/%d, l4 %d/%d",
		      i, frame_link[i], fr->len, got, ok, k.l4_ok, l4_ok);
		CHECK(k.a.n4 == a.n4 && k.a.n6 == a.n6 && !memcmp(k.a.a4, a.a4, a.n4 * 4) &&
		      !memcmp(k.a.a6, a.a6, a.n6 * 16), "frame %zu: addresses", i);
		CHECK(!memcmp(&k.l4, &l4, sizeof(l4)), "frame %zu: protocol or ports", i);
		/* and the two that remain public */
		CHECK(index_frame_addrs(frame_link[i], fr->f, fr->len, &a2) == ok && a2.n4 == a.n4 && a2.n6 == a.n6,
		      "frame %zu: index_frame_addrs", i);
		CHECK(index_frame_l4(frame_link[i], fr->f, fr->len, &l42) == l4_ok && !memcmp(&l42, &l4, sizeof(l4)),
		      "frame %zu: index_frame_l4", i);
	}
}

static uint64_t get_varint(const uint8_t **p)
{
	uint64_t x = 0;

	for (int shift = 0;; shift += 7) {
		uint8_t b = *(*p)++;

		x |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			return x;
	}
}

struct build {
	struct index ix;
	uint64_t *off;            /* each record's offset */
	size_t n;
	uint32_t linktype;
};

/* The records of `idx` (frame numbers) of one link type through a builder
 * in chunks of `chunk_bytes`, resumed from a parsed snapshot after `resume_at`
 * records (0: never), then through the bytes as a reader gets them. */
static void build(struct build *out, uint32_t linktype, const size_t *idx, size_t n, uint32_t chunk_bytes,
		  size_t resume_at)
{
	uint8_t hdr[PCAP_FILE_HEADER_LEN], *buf;
	struct index_builder *b;
	struct index ix;
	uint64_t off = PCAP_FILE_HEADER_LEN;
	size_t len;

	pcap_file_header_encode(hdr, 262144, false, linktype);
	CHECK(index_builder_new(&b, hdr, chunk_bytes) == 0, "builder");
	out->off = calloc(n + 1, sizeof(*out->off));
	out->n = n;
	out->linktype = linktype;
	for (size_t i = 0; i < n; i++) {
		const struct frame *fr = &frames[idx[i]];

		if (resume_at && i == resume_at) {
			CHECK(index_builder_snapshot(b, off, 1, &ix) == 0, "snapshot");
			index_builder_free(b);
			CHECK(index_builder_resume(&b, &ix) == 0, "resume");
		}
		out->off[i] = off;
		CHECK(index_builder_add(b, off, (uint32_t)i, 0, fr->f, fr->len) == 0, "add %zu", i);
		off += PCAP_RECORD_HEADER_LEN + fr->len;
	}
	CHECK(index_builder_snapshot(b, off, 1, &ix) == 0, "snapshot");
	index_builder_free(b);
	len = index_serialized_len(&ix);
	buf = malloc(len);
	index_serialize(&ix, buf);
	CHECK(index_parse(buf, len, &out->ix) == 0, "parse back");
	free(buf);
	index_free(&ix);
}

static int cmp_u32(const void *x, const void *y)
{
	uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;

	return a < b ? -1 : a > b;
}

static int cmp_a6(const void *x, const void *y)
{
	return memcmp(x, y, 16);
}

/* Each record's keys as the postings list them, and each chunk's summary,
 * against the reference. Returns the chunks without postings. */
static unsigned check_build(const struct build *bd, const size_t *idx, const char *what)
{
	const struct index *ix = &bd->ix;
	struct rkeys *got = calloc(bd->n, sizeof(*got)), want;
	unsigned no_post = 0;
	size_t r = 0;

	for (uint32_t c = 0; c < ix->nchunks; c++) {
		const struct index_chunk *ch = &ix->chunks[c];
		const uint8_t *p = ix->post + ch->post_off, *end = p + ch->post_len;
		size_t first = r, last;
		uint32_t *a4 = malloc(sizeof(uint32_t) * (ch->records * 2 + 1));
		uint8_t(*a6)[16] = malloc(16 * (ch->records * 2 + 1));
		uint32_t n4 = 0, n6 = 0, u4 = 0, u6 = 0;
		bool any = false;

		while (r < bd->n && bd->off[r] < ch->end)
			r++;
		last = r;
		CHECK(last - first == ch->records, "%s: chunk %u records", what, c);
		no_post += !!(ch->flags & INDEX_CHUNK_NO_POSTINGS);
		while (p < end) {
			struct rkey k = { .type = *p++ };
			int vlen = index_key_len(k.type);
			uint64_t n, at = 0;
			size_t j = first;

			memcpy(k.v, p, (size_t)vlen);
			p += vlen;
			n = get_varint(&p);
			get_varint(&p);
			for (uint64_t i = 0; i < n; i++) {
				at += get_varint(&p);
				while (j < last && bd->off[j] - ch->off < at)
					j++;
				CHECK(j < last && bd->off[j] - ch->off == at, "%s: offset %llu is no record", what,
				      (unsigned long long)at);
				if (j < last && got[j].n < MAX_RKEYS)
					got[j].k[got[j].n++] = k;
			}
		}
		for (size_t i = first; i < last; i++) {
			ref_keys(bd->linktype, frames[idx[i]].f, frames[idx[i]].len, &want);
			if (!(ch->flags & INDEX_CHUNK_NO_POSTINGS)) {
				qsort(got[i].k, got[i].n, sizeof(got[i].k[0]), cmp_rkey);
				CHECK(got[i].n == want.n && !memcmp(got[i].k, want.k, want.n * sizeof(want.k[0])),
				      "%s: record %zu (frame %zu, link %u, %u bytes): %u keys listed, %u carried", what,
				      i, idx[i], bd->linktype, frames[idx[i]].len, got[i].n, want.n);
			}
			any |= !want.addrs_ok;
			for (unsigned j = 0; j < want.a.n4; j++)
				a4[n4++] = want.a.a4[j];
			for (unsigned j = 0; j < want.a.n6; j++)
				memcpy(a6[n6++], want.a.a6[j], 16);
		}
		qsort(a4, n4, 4, cmp_u32);
		qsort(a6, n6, 16, cmp_a6);
		for (uint32_t j = 0; j < n4; j++)
			if (!j || a4[j] != a4[u4 - 1])
				a4[u4++] = a4[j];
		for (uint32_t j = 0; j < n6; j++)
			if (!j || memcmp(a6[j], a6[u6 - 1], 16))
				memcpy(a6[u6++], a6[j], 16);
		any |= u4 > INDEX_MAX_ADDR4 || u6 > INDEX_MAX_ADDR6;
		CHECK(!!(ch->flags & INDEX_CHUNK_ANY_ADDR) == any, "%s: chunk %u any-address %u, want %d", what, c,
		      ch->flags, any);
		if (!any)
			CHECK(ch->n4 == u4 && ch->n6 == u6 && !memcmp(ix->addr4 + ch->a4, a4, u4 * 4) &&
			      !memcmp(ix->addr6 + ch->a6, a6, u6 * 16), "%s: chunk %u summary: %u/%u %u/%u", what, c,
			      ch->n4, u4, ch->n6, u6);
		free(a4);
		free(a6);
	}
	CHECK(r == bd->n, "%s: %zu of %zu records in chunks", what, r, bd->n);
	free(got);
	return no_post;
}

static void free_build(struct build *bd)
{
	index_free(&bd->ix);
	free(bd->off);
}

/* Every crafted frame, by link type, in small chunks and in one, and resumed. */
static void test_postings(void)
{
	static const uint32_t links[] = { LINKTYPE_ETHERNET, LINKTYPE_LINUX_SLL, LINKTYPE_LINUX_SLL2, LINKTYPE_RAW, 12,
					  14, LINKTYPE_IPV4, LINKTYPE_IPV6, LINKTYPE_NULL, LINKTYPE_LOOP, 147 };
	size_t *idx = calloc(nframes, sizeof(*idx));

	for (size_t l = 0; l < sizeof(links) / sizeof(links[0]); l++) {
		static const uint32_t chunks[] = { 256, 256, 0 };
		size_t n = 0;
		char what[64];

		for (size_t i = 0; i < nframes; i++)
			if (frame_link[i] == links[l])
				idx[n++] = i;
		CHECK(n > 0, "link %u: frames", links[l]);
		for (size_t c = 0; c < 3; c++) {
			bool resume = c == 1; /* small chunks, resumed halfway */
			struct build bd;

			snprintf(what, sizeof(what), "link %u, chunks of %u%s", links[l], chunks[c],
				 resume ? ", resumed" : "");
			build(&bd, links[l], idx, n, chunks[c], resume ? n / 2 + 1 : 0);
			CHECK(check_build(&bd, idx, what) == 0, "%s: a chunk without postings", what);
			free_build(&bd);
		}
	}
	free(idx);
}

/* Many flows in one chunk: more than the builder's flow cache holds, each
 * flow's records apart; then more keys than a chunk's postings hold. */
static void test_many_flows(void)
{
	uint64_t s = 42;
	size_t first = nframes, n = 20000, *idx = calloc(n, sizeof(*idx));
	uint8_t f[64];
	struct build bd;

	memset(f, 0, sizeof(f));
	f[12] = 0x08;
	f[14] = 0x45;
	f[23] = 17;
	for (size_t i = 0; i < n; i++) {
		uint32_t src = (uint32_t)(unit_rnd(&s) % 6000), dport = (uint32_t)(unit_rnd(&s) % 3);

		f[26] = 198;
		f[27] = 18;
		f[28] = (uint8_t)(src >> 8);
		f[29] = (uint8_t)src;
		f[30] = 198;
		f[31] = 19;
		f[33] = (uint8_t)(unit_rnd(&s) % 4);
		f[34] = (uint8_t)(src >> 8);
		f[35] = (uint8_t)src;
		f[37] = (uint8_t)(53 + dport);
		push(LINKTYPE_ETHERNET, f, i % 7 ? 42 : 36); /* some cut before the ports */
		idx[i] = first + i;
	}
	build(&bd, LINKTYPE_ETHERNET, idx, n, 1u << 22, 0);
	CHECK(bd.ix.nchunks == 1, "one chunk: %u", bd.ix.nchunks);
	CHECK(check_build(&bd, idx, "many flows") == 0, "many flows: no postings");
	free_build(&bd);
	build(&bd, LINKTYPE_ETHERNET, idx, n, 1u << 22, n / 3);
	CHECK(check_build(&bd, idx, "many flows, resumed") == 0, "many flows, resumed: no postings");
	free_build(&bd);

	/* two ports per record: over INDEX_MAX_KEYS keys, the chunk is read whole */
	for (size_t i = 0; i < n; i++) {
		f[34] = (uint8_t)(i >> 8);
		f[35] = (uint8_t)i;
		f[36] = (uint8_t)((i + n) >> 8);
		f[37] = (uint8_t)(i + n);
		push(LINKTYPE_ETHERNET, f, 42);
		idx[i] = first + n + i;
	}
	build(&bd, LINKTYPE_ETHERNET, idx, n, 1u << 22, 0);
	CHECK(check_build(&bd, idx, "too many keys") == 1, "too many keys: postings kept");
	free_build(&bd);
	free(idx);
}

int main(void)
{
	craft();
	mutate();
	test_walk();
	test_postings();
	test_many_flows();
	free(frames);
	free(frame_link);
	return unit_exit("test_index_keys");
}
