/*
 * The TPACKET_V3 block iterator (ring/block.h) over hand-built blocks laid out
 * the way af_packet.c lays them out (prb_fill_curr_block / prb_close_block):
 * a 48-byte block descriptor, optional private area, then packets whose headers
 * sit at 8-aligned offsets, tp_mac = TPACKET_ALIGN(TPACKET3_HDRLEN + 16) - 14,
 * tp_next_offset = ALIGN(tp_mac + tp_snaplen, 8), 0 on the last packet, and
 * blk_len = end of the last packet.
 *
 * The block sits between two PROT_NONE guard pages, its last byte right before
 * the second one, so any read outside it kills the process. Each lying block is
 * walked in a forked child so a crash is reported per case instead of ending
 * the test.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ring/ring.h"
#include "unit.h"

#define BLOCK_SIZE (4u * 4096u)
#define BLK_HDR_LEN 48u /* ALIGN(sizeof(struct tpacket_block_desc), 8) */
#define V3_ALIGN(x) (((x) + 7u) & ~7u)
#define MAC_OFF (TPACKET_ALIGN(TPACKET3_HDRLEN + 16) - 14) /* 82, as the kernel */
#define MAXPKTS 64
#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static uint8_t *block; /* BLOCK_SIZE bytes, guard page on each side */
static long page;

struct want {
	uint32_t off; /* of the tpacket3_hdr */
	uint32_t caplen, len, sec, nsec;
	uint16_t tci, tpid;
	bool vlan;
	uint8_t dir;  /* PKT_DIR_*: from the sockaddr_ll's sll_pkttype */
};

struct builder {
	uint32_t off;   /* where the next packet header goes */
	uint32_t prev;  /* offset of the last packet header, 0 if none */
	unsigned n;
	struct want w[MAXPKTS];
};

static struct tpacket_block_desc *desc(void)
{
	return (struct tpacket_block_desc *)block;
}

static struct tpacket3_hdr *hdr_at(uint32_t off)
{
	return (struct tpacket3_hdr *)(block + off);
}

static void map_block(void)
{
	uint8_t *m;

	page = sysconf(_SC_PAGESIZE);
	m = mmap(NULL, BLOCK_SIZE + 2 * (size_t)page, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED || mprotect(m, (size_t)page, PROT_NONE) ||
	    mprotect(m + page + BLOCK_SIZE, (size_t)page, PROT_NONE)) {
		perror("mmap");
		exit(1);
	}
	block = m + page;
}

static void b_init(struct builder *b, uint32_t priv)
{
	struct tpacket_hdr_v1 *h = &desc()->hdr.bh1;

	memset(block, 0x5a, BLOCK_SIZE); /* not zero: stale bytes of an earlier fill */
	memset(b, 0, sizeof(*b));
	desc()->version = TPACKET_V3;
	desc()->offset_to_priv = BLK_HDR_LEN;
	h->block_status = TP_STATUS_USER;
	h->num_pkts = 0;
	h->offset_to_first_pkt = BLK_HDR_LEN + V3_ALIGN(priv);
	h->blk_len = BLK_HDR_LEN + V3_ALIGN(priv);
	h->seq_num = 7;
	b->off = h->offset_to_first_pkt;
}

/* Append a packet of `caplen` bytes (wire length `len`); false if it would not fit. */
static bool b_add(struct builder *b, uint32_t caplen, uint32_t len, bool vlan, uint16_t tci,
		  uint16_t tpid)
{
	struct tpacket_hdr_v1 *bh = &desc()->hdr.bh1;
	uint32_t total = V3_ALIGN(MAC_OFF + caplen);
	struct tpacket3_hdr *h;
	struct want *w;

	if (b->n == MAXPKTS || b->off + total > BLOCK_SIZE)
		return false;
	h = hdr_at(b->off);
	memset(h, 0, sizeof(*h));
	h->tp_next_offset = total;
	h->tp_sec = 1700000000u + b->n;
	h->tp_nsec = 1000u * b->n + 17u;
	h->tp_snaplen = caplen;
	h->tp_len = len;
	h->tp_status = TP_STATUS_USER;
	h->tp_mac = MAC_OFF;
	h->tp_net = MAC_OFF + 14;
	h->hv1.tp_rxhash = 0xdeadbeef;
	/* the sockaddr_ll af_packet.c puts after the header: every third
	 * packet is one the interface sent */
	((struct sockaddr_ll *)((uint8_t *)h + TPACKET_ALIGN(sizeof(*h))))->sll_pkttype =
		b->n % 3 == 1 ? PACKET_OUTGOING : b->n % 3 ? PACKET_BROADCAST : PACKET_HOST;
	if (vlan) {
		h->tp_status |= TP_STATUS_VLAN_VALID;
		h->hv1.tp_vlan_tci = tci;
		if (tpid) {
			h->tp_status |= TP_STATUS_VLAN_TPID_VALID;
			h->hv1.tp_vlan_tpid = tpid;
		}
	}
	for (uint32_t i = 0; i < caplen; i++)
		block[b->off + MAC_OFF + i] = (uint8_t)(b->n + i);

	w = &b->w[b->n];
	w->off = b->off;
	w->caplen = caplen;
	w->len = len;
	w->sec = h->tp_sec;
	w->nsec = h->tp_nsec;
	w->vlan = vlan;
	w->tci = vlan ? tci : 0;
	w->tpid = vlan ? (tpid ? tpid : 0x8100) : 0;
	w->dir = b->n % 3 == 1 ? PKT_DIR_OUT : PKT_DIR_IN;

	if (b->n)
		hdr_at(b->prev)->tp_next_offset = b->off - b->prev;
	h->tp_next_offset = 0; /* prb_close_block: the last packet has none */
	b->prev = b->off;
	b->off += total;
	b->n++;
	bh->num_pkts = b->n;
	bh->blk_len += total;
	return true;
}

/* A typical block: three packets, one with a VLAN tag and one cut by snaplen. */
static void b_three(struct builder *b)
{
	b_init(b, 0);
	b_add(b, 60, 60, false, 0, 0);
	b_add(b, 1514, 1514, true, 0x0064, 0);
	b_add(b, 200, 1514, true, 0x2abc, 0x88a8);
}

/* Every packet the iterator yields must lie inside the block. */
static bool inside(const struct pkt_view *p)
{
	uintptr_t lo = (uintptr_t)block, hi = lo + BLOCK_SIZE, d = (uintptr_t)p->data;

	return d >= lo && d <= hi && p->caplen <= hi - d;
}

struct walk {
	unsigned n;
	bool lied, outside;
	struct pkt_view p[MAXPKTS + 1];
};

/* The interface the walks stamp on every packet. */
#define WALK_IFACE 3

static void walk(struct walk *r, uint32_t block_size)
{
	struct block_iter it;
	struct pkt_view p;

	memset(r, 0, sizeof(*r));
	block_iter_init(&it, desc(), block_size);
	it.iface = WALK_IFACE;
	while (block_iter_next(&it, &p)) {
		if (!inside(&p))
			r->outside = true;
		if (r->n <= MAXPKTS)
			r->p[r->n] = p;
		if (++r->n > 100000)
			break; /* a walk that never ends is a failure too */
	}
	r->lied = it.lied;
	/* once it has said no, it keeps saying no */
	if (block_iter_next(&it, &p))
		r->n += 1000000;
}

/* The first `n` yielded packets are exactly the builder's first `n`. */
static void check_prefix(const char *what, const struct walk *r, const struct builder *b,
			 unsigned n)
{
	for (unsigned i = 0; i < n && i < r->n && i < b->n; i++) {
		const struct pkt_view *p = &r->p[i];
		const struct want *w = &b->w[i];

		CHECK(p->data == block + w->off + MAC_OFF, "%s: pkt %u data at +%td, want +%u",
		      what, i, p->data - block, (unsigned)(w->off + MAC_OFF));
		CHECK(p->caplen == w->caplen, "%s: pkt %u caplen %u want %u", what, i, p->caplen,
		      w->caplen);
		CHECK(p->len == w->len, "%s: pkt %u len %u want %u", what, i, p->len, w->len);
		CHECK(p->sec == w->sec && p->nsec == w->nsec, "%s: pkt %u time %u.%u want %u.%u",
		      what, i, p->sec, p->nsec, w->sec, w->nsec);
		CHECK(p->vlan == w->vlan, "%s: pkt %u vlan %d want %d", what, i, p->vlan, w->vlan);
		if (w->vlan)
			CHECK(p->vlan_tci == w->tci && p->vlan_tpid == w->tpid,
			      "%s: pkt %u tci/tpid %04x/%04x want %04x/%04x", what, i, p->vlan_tci,
			      p->vlan_tpid, w->tci, w->tpid);
		CHECK(p->data[0] == (uint8_t)i && p->data[p->caplen - 1] == (uint8_t)(i + p->caplen - 1),
		      "%s: pkt %u bytes are not the packet's", what, i);
		CHECK(p->dir == w->dir && p->iface == WALK_IFACE, "%s: pkt %u dir %u iface %u, want "
		      "%u %u", what, i, p->dir, p->iface, w->dir, WALK_IFACE);
	}
}

static void test_valid(void)
{
	struct builder b;
	struct walk r;
	unsigned n;

	b_three(&b);
	walk(&r, BLOCK_SIZE);
	CHECK(r.n == 3 && !r.lied && !r.outside, "three: n %u lied %d outside %d", r.n, r.lied,
	      r.outside);
	check_prefix("three", &r, &b, 3);
	/* a header that leaves no room for the sockaddr_ll: direction unknown */
	hdr_at(b.w[1].off)->tp_mac = (uint16_t)BLOCK_PKTTYPE_OFF;
	walk(&r, BLOCK_SIZE);
	CHECK(r.n == 3 && r.p[1].dir == PKT_DIR_UNKNOWN && r.p[0].dir == PKT_DIR_IN &&
	      r.p[2].dir == PKT_DIR_IN, "no room for sll_pkttype: n %u dirs %u %u %u", r.n,
	      r.p[0].dir, r.p[1].dir, r.p[2].dir);
	hdr_at(b.w[1].off)->tp_mac = (uint16_t)BLOCK_PKTTYPE_OFF + 1;
	walk(&r, BLOCK_SIZE);
	CHECK(r.n == 3 && r.p[1].dir == PKT_DIR_OUT, "room for sll_pkttype: dir %u", r.p[1].dir);
	b_three(&b);

	/* with a private area, and with blk_len 0 (size from the mapping) */
	b_init(&b, 24);
	b_add(&b, 42, 42, false, 0, 0);
	b_add(&b, 64, 64, true, 1, 0x8100);
	walk(&r, BLOCK_SIZE);
	CHECK(r.n == 2 && !r.lied, "priv: n %u lied %d", r.n, r.lied);
	check_prefix("priv", &r, &b, 2);
	desc()->hdr.bh1.blk_len = 0;
	walk(&r, BLOCK_SIZE);
	CHECK(r.n == 2 && !r.lied, "blk_len 0: n %u lied %d", r.n, r.lied);

	/* fill the block to its last byte: the last packet ends at BLOCK_SIZE */
	b_init(&b, 0);
	while (b_add(&b, 1400, 1400, false, 0, 0))
		;
	n = b.n;
	{
		uint32_t room = BLOCK_SIZE - b.off;
		if (room >= MAC_OFF)
			b_add(&b, room - MAC_OFF, room - MAC_OFF + 5, false, 0, 0);
	}
	CHECK(b.off == BLOCK_SIZE, "builder did not fill the block (%u)", b.off);
	walk(&r, BLOCK_SIZE);
	CHECK(r.n == b.n && r.n > n && !r.lied && !r.outside, "full: n %u of %u lied %d", r.n,
	      b.n, r.lied);
	check_prefix("full", &r, &b, b.n);

	/* many small packets */
	b_init(&b, 0);
	while (b_add(&b, 14, 60, b.n % 3 == 0, (uint16_t)b.n, 0))
		;
	walk(&r, BLOCK_SIZE);
	CHECK(r.n == b.n && !r.lied, "small: n %u of %u lied %d", r.n, b.n, r.lied);
	check_prefix("small", &r, &b, b.n);

	/* zero-length capture (snaplen 0 sockets exist) */
	b_init(&b, 0);
	b_add(&b, 0, 60, false, 0, 0);
	walk(&r, BLOCK_SIZE);
	CHECK(r.n == 1 && !r.lied && r.p[0].caplen == 0, "caplen 0: n %u lied %d", r.n, r.lied);

	/* empty block: none, and not a lie — whatever the offset says */
	b_init(&b, 0);
	walk(&r, BLOCK_SIZE);
	CHECK(r.n == 0 && !r.lied, "empty: n %u lied %d", r.n, r.lied);
	desc()->hdr.bh1.offset_to_first_pkt = 0xffffffff;
	walk(&r, BLOCK_SIZE);
	CHECK(r.n == 0 && !r.lied, "empty, wild offset: n %u lied %d", r.n, r.lied);
}

/* ---- lying blocks ---- */

struct lie {
	const char *name;
	void (*make)(struct builder *b);
	unsigned max_yield; /* packets that may be yielded before the lie */
	bool must_lie;
};

static void lie_snaplen_past_end(struct builder *b)
{
	struct tpacket3_hdr *h;

	b_three(b);
	h = hdr_at(b->w[2].off);
	h->tp_snaplen = BLOCK_SIZE - b->w[2].off - MAC_OFF + 1; /* one byte past the block */
	h->tp_len = h->tp_snaplen;
	desc()->hdr.bh1.blk_len = 0;
}

static void lie_snaplen_huge(struct builder *b)
{
	b_three(b);
	hdr_at(b->w[0].off)->tp_snaplen = 0xfffffff0u;
	hdr_at(b->w[0].off)->tp_len = 0xffffffffu;
}

static void lie_snaplen_past_blk_len(struct builder *b)
{
	struct tpacket3_hdr *h;

	b_three(b);
	h = hdr_at(b->w[2].off);
	h->tp_snaplen += 64; /* inside the mapping, but past what blk_len says was filled */
	h->tp_len += 64;
}

static void lie_mac_past_end(struct builder *b)
{
	b_three(b);
	hdr_at(b->w[2].off)->tp_mac = 0xffff;
	desc()->hdr.bh1.blk_len = 0;
}

static void lie_mac_inside_header(struct builder *b)
{
	b_three(b);
	hdr_at(b->w[1].off)->tp_mac = 8; /* "data" over the header itself */
}

static void lie_next_backwards(struct builder *b)
{
	b_three(b);
	hdr_at(b->w[1].off)->tp_next_offset = (uint32_t)-(int32_t)(b->w[1].off - b->w[0].off);
}

static void lie_next_beyond(struct builder *b)
{
	b_three(b);
	hdr_at(b->w[1].off)->tp_next_offset = BLOCK_SIZE;
	desc()->hdr.bh1.blk_len = 0;
}

static void lie_next_to_end(struct builder *b)
{
	b_three(b);
	desc()->hdr.bh1.blk_len = 0;
	hdr_at(b->w[1].off)->tp_next_offset = BLOCK_SIZE - b->w[1].off - 8; /* 8 bytes left */
}

static void lie_next_into_data(struct builder *b)
{
	b_three(b);
	hdr_at(b->w[0].off)->tp_next_offset = (MAC_OFF + 60 - 4) & ~3u; /* inside pkt 0's bytes */
}

static void lie_next_into_header(struct builder *b)
{
	b_three(b);
	hdr_at(b->w[0].off)->tp_next_offset = 16;
}

static void lie_next_unaligned(struct builder *b)
{
	/* a plausible header, but at an offset no kernel uses (not 4-aligned) */
	b_three(b);
	hdr_at(b->w[0].off)->tp_next_offset += 2;
	memmove(block + b->w[1].off + 2, block + b->w[1].off, sizeof(struct tpacket3_hdr));
}

static void lie_first_past_end(struct builder *b)
{
	b_three(b);
	desc()->hdr.bh1.offset_to_first_pkt = BLOCK_SIZE;
	desc()->hdr.bh1.blk_len = 0;
}

static void lie_first_header_crosses_end(struct builder *b)
{
	b_three(b);
	desc()->hdr.bh1.offset_to_first_pkt = BLOCK_SIZE - 16;
	desc()->hdr.bh1.blk_len = 0;
}

static void lie_first_huge(struct builder *b)
{
	b_three(b);
	desc()->hdr.bh1.offset_to_first_pkt = 0xfffffff8u;
}

static void lie_first_in_desc(struct builder *b)
{
	b_three(b);
	desc()->hdr.bh1.offset_to_first_pkt = 8;
}

static void lie_num_pkts_more(struct builder *b)
{
	b_three(b);
	desc()->hdr.bh1.num_pkts = 5; /* the third still has next_offset 0 */
}

static void lie_num_pkts_huge(struct builder *b)
{
	b_three(b);
	desc()->hdr.bh1.num_pkts = 0xffffffffu;
}

static void lie_snaplen_over_len(struct builder *b)
{
	b_three(b);
	hdr_at(b->w[1].off)->tp_len = hdr_at(b->w[1].off)->tp_snaplen - 1;
}

static void lie_blk_len_over_size(struct builder *b)
{
	b_three(b);
	desc()->hdr.bh1.blk_len = BLOCK_SIZE + 4096;
}

static void lie_blk_len_tiny(struct builder *b)
{
	/* blk_len smaller than one packet header: a block that claims to end
	 * before its first packet even starts */
	b_three(b);
	desc()->hdr.bh1.blk_len = 40;
}

static void lie_blk_len_tiny_wild(struct builder *b)
{
	/* the same, with the packets' own lengths pointing out of the block */
	b_three(b);
	desc()->hdr.bh1.blk_len = 40;
	hdr_at(b->w[0].off)->tp_snaplen = 100000;
	hdr_at(b->w[0].off)->tp_len = 100000;
	hdr_at(b->w[0].off)->tp_next_offset = V3_ALIGN(MAC_OFF + 100000);
}

static void lie_blk_len_short(struct builder *b)
{
	b_three(b);
	desc()->hdr.bh1.blk_len = b->w[1].off + 60; /* ends inside packet 1 */
}

static const struct lie lies[] = {
	{ "tp_snaplen runs past the block end", lie_snaplen_past_end, 2, true },
	{ "tp_snaplen 0xfffffff0", lie_snaplen_huge, 0, true },
	{ "tp_snaplen runs past blk_len", lie_snaplen_past_blk_len, 2, true },
	{ "tp_mac past the end", lie_mac_past_end, 2, true },
	{ "tp_mac inside the packet header", lie_mac_inside_header, 1, true },
	{ "tp_next_offset backwards", lie_next_backwards, 1, true },
	{ "tp_next_offset beyond the block", lie_next_beyond, 1, true },
	{ "tp_next_offset to 8 bytes before the end", lie_next_to_end, 2, true },
	{ "tp_next_offset inside the previous packet's data", lie_next_into_data, 0, true },
	{ "tp_next_offset inside the packet header", lie_next_into_header, 0, true },
	{ "tp_next_offset not aligned", lie_next_unaligned, 1, true },
	{ "offset_to_first_pkt past the end", lie_first_past_end, 0, true },
	{ "offset_to_first_pkt: header crosses the end", lie_first_header_crosses_end, 0, true },
	{ "offset_to_first_pkt 0xfffffff8", lie_first_huge, 0, true },
	{ "offset_to_first_pkt inside the block descriptor", lie_first_in_desc, 0, true },
	{ "num_pkts 5, 3 there (next_offset 0 in the middle)", lie_num_pkts_more, 3, true },
	{ "num_pkts 0xffffffff", lie_num_pkts_huge, 3, true },
	{ "tp_snaplen > tp_len", lie_snaplen_over_len, 1, true },
	{ "blk_len > block size", lie_blk_len_over_size, 3, true },
	{ "blk_len 40 (< one packet header)", lie_blk_len_tiny, 0, true },
	{ "blk_len 40, packet lengths out of the block", lie_blk_len_tiny_wild, 0, true },
	{ "blk_len ends inside packet 1", lie_blk_len_short, 1, true },
};

/* In a child: build, walk, check. Exit 0 ok, 1 failed, a signal = overread. */
static int run_lie(const struct lie *l)
{
	struct builder b;
	struct walk r;

	l->make(&b);
	walk(&r, BLOCK_SIZE);
	CHECK(!r.outside, "%s: yielded a packet outside the block", l->name);
	CHECK(r.n <= l->max_yield, "%s: yielded %u packets, at most %u expected", l->name, r.n,
	      l->max_yield);
	if (l->must_lie)
		CHECK(r.lied, "%s: it.lied not set (yielded %u)", l->name, r.n);
	check_prefix(l->name, &r, &b, r.n < l->max_yield ? r.n : l->max_yield);
	return unit_failures ? 1 : 0;
}

static int lie_child(const void *arg)
{
	return run_lie(arg);
}

/* ---- fuzz-ish: random header mutations of a valid block ---- */

static uint64_t rng_state;

static uint64_t rnd(void)
{
	return unit_rnd(&rng_state);
}

/* Shared with the parent: the iteration and block descriptor a crash happened on. */
struct fuzz_where {
	unsigned iter;
	struct tpacket_hdr_v1 bh1;
};
static volatile struct fuzz_where *fuzz_at;

static uint32_t interesting32(void)
{
	static const uint32_t v[] = { 0, 1, 2, 3, 4, 8, 12, 40, 47, 48, 49, 82, 96,
				      BLOCK_SIZE - 48, BLOCK_SIZE - 1, BLOCK_SIZE, BLOCK_SIZE + 1,
				      2 * BLOCK_SIZE, 0x7fffffff, 0x80000000u, 0xfffffff8u,
				      0xfffffffcu, 0xffffffffu };

	if (rnd() % 4 == 0)
		return (uint32_t)rnd();
	return v[rnd() % ARRAY_LEN(v)];
}

static int fuzz_child(const void *arg)
{
	static uint8_t valid[BLOCK_SIZE];
	uint32_t hdr_offs[MAXPKTS + 1];
	unsigned nh = 0, yielded = 0, lied = 0;
	struct builder b;
	struct walk r;

	(void)arg;
	b_init(&b, 0);
	for (unsigned i = 0; i < 12; i++)
		b_add(&b, 40 + 97 * i, 40 + 97 * i + (i & 1) * 100, i % 4 == 1, (uint16_t)i,
		      i % 8 == 1 ? 0x88a8 : 0);
	memcpy(valid, block, BLOCK_SIZE);
	hdr_offs[nh++] = 0;
	for (unsigned i = 0; i < b.n; i++)
		hdr_offs[nh++] = b.w[i].off;

	rng_state = 0x9e3779b97f4a7c15ull;
	for (unsigned it = 0; it < 10000; it++) {
		unsigned muts = 1 + (unsigned)(rnd() % 6);

		memcpy(block, valid, BLOCK_SIZE);
		for (unsigned m = 0; m < muts; m++) {
			uint32_t h = hdr_offs[rnd() % nh];
			uint32_t pos = h + (uint32_t)(rnd() % 48);

			if (rnd() % 2) {
				block[pos] = (uint8_t)rnd();
			} else {
				uint32_t v = interesting32();
				pos &= ~3u;
				memcpy(block + pos, &v, 4);
			}
		}
		fuzz_at->iter = it;
		memcpy((void *)&fuzz_at->bh1, &desc()->hdr.bh1, sizeof(fuzz_at->bh1));
		walk(&r, BLOCK_SIZE);
		CHECK(!r.outside, "fuzz iteration %u: a packet outside the block", it);
		CHECK(r.n <= desc()->hdr.bh1.num_pkts, "fuzz iteration %u: %u packets, num_pkts %u",
		      it, r.n, desc()->hdr.bh1.num_pkts);
		yielded += r.n;
		lied += r.lied;
		if (unit_failures > 5)
			break;
	}
	fprintf(stderr, "fuzz: %u packets yielded, %u walks stopped by a lie\n", yielded, lied);
	/* the mutations must actually exercise the checks */
	CHECK(lied > 1000 && yielded > 10000, "fuzz: too tame (%u lies, %u packets)", lied,
	      yielded);
	return unit_failures ? 1 : 0;
}

static void test_fuzz(void)
{
	int before = unit_failures;

	fuzz_at = mmap(NULL, sizeof(*fuzz_at), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
		       -1, 0);
	if (fuzz_at == MAP_FAILED) {
		perror("mmap");
		exit(1);
	}
	unit_in_child("fuzz", fuzz_child, NULL, "read outside the block");
	if (unit_failures != before)
		fprintf(stderr,
			"fuzz: last iteration walked: %u (num_pkts %u offset_to_first_pkt %u "
			"blk_len %u)\n",
			fuzz_at->iter, fuzz_at->bh1.num_pkts, fuzz_at->bh1.offset_to_first_pkt,
			fuzz_at->bh1.blk_len);
}

int main(void)
{
	map_block();
	test_valid();
	for (size_t i = 0; i < ARRAY_LEN(lies); i++)
		unit_in_child(lies[i].name, lie_child, &lies[i], "read outside the block");
	test_fuzz();
	return unit_exit("test_block_iter");
}
