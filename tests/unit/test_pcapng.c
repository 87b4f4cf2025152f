/*
 * format/pcapng.c: golden blocks laid out by hand in both byte orders (SHB,
 * IDBs with if_name and if_tsresol 10^-6 by default, 10^-9 and 2^-20, EPB
 * with flags, SPB cut by its snaplen, NRB, ISB and a custom block skipped),
 * several sections in one file, blocks that lie about their framing (the
 * walk stops there) or their bodies (counted and skipped), every cut length,
 * the probe, and 200,000 mutated files walked right before a PROT_NONE page;
 * the index of such a file (version 4): its records, chunks with gaps, its
 * SHBs and IDBs listed, a round trip, and a list that lies refused.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "format/format.h"
#include "index/index.h"
#include "unit.h"

/* A file laid out by hand, in the byte order of the section being written. */
struct ng {
	uint8_t b[4096];
	size_t n, block;
	bool swap;
};

static void w32(struct ng *w, uint32_t v)
{
	if (w->swap)
		v = __builtin_bswap32(v);
	memcpy(w->b + w->n, &v, 4);
	w->n += 4;
}

static void w16(struct ng *w, uint16_t v)
{
	if (w->swap)
		v = __builtin_bswap16(v);
	memcpy(w->b + w->n, &v, 2);
	w->n += 2;
}

static void wbytes(struct ng *w, const void *p, size_t len)
{
	if (len)
		memcpy(w->b + w->n, p, len);
	w->n += len;
	while (w->n % 4)
		w->b[w->n++] = 0;
}

static void begin(struct ng *w, uint32_t type)
{
	w->block = w->n;
	w32(w, type);
	w32(w, 0); /* total length, set by end() */
}

static void end(struct ng *w)
{
	uint32_t total = (uint32_t)(w->n + 4 - w->block), v = w->swap ? __builtin_bswap32(total) : total;

	memcpy(w->b + w->block + 4, &v, 4);
	w32(w, total);
}

static void opt(struct ng *w, uint16_t code, const void *val, uint16_t len)
{
	w16(w, code);
	w16(w, len);
	wbytes(w, val, len);
}

static void shb(struct ng *w, bool swap)
{
	w->swap = swap;
	begin(w, PCAPNG_BT_SHB);
	w32(w, PCAPNG_BYTE_ORDER_MAGIC);
	w16(w, 1);
	w16(w, 0);
	w32(w, 0xffffffffu); /* section length -1: not said */
	w32(w, 0xffffffffu);
	opt(w, PCAPNG_SHB_USERAPPL, "unit", 4);
	opt(w, PCAPNG_OPT_ENDOFOPT, NULL, 0);
	end(w);
}

static void idb(struct ng *w, uint16_t link, uint32_t snaplen, const char *name, int tsresol)
{
	begin(w, PCAPNG_BT_IDB);
	w16(w, link);
	w16(w, 0);
	w32(w, snaplen);
	if (name)
		opt(w, PCAPNG_IF_NAME, name, (uint16_t)strlen(name));
	if (tsresol >= 0) {
		uint8_t r = (uint8_t)tsresol;

		opt(w, PCAPNG_IF_TSRESOL, &r, 1);
	}
	opt(w, PCAPNG_OPT_ENDOFOPT, NULL, 0);
	end(w);
}

static void epb(struct ng *w, uint32_t iface, uint64_t ts, const uint8_t *data, uint32_t caplen, uint32_t len,
		int flags)
{
	begin(w, PCAPNG_BT_EPB);
	w32(w, iface);
	w32(w, (uint32_t)(ts >> 32));
	w32(w, (uint32_t)ts);
	w32(w, caplen);
	w32(w, len);
	wbytes(w, data, caplen);
	if (flags >= 0) {
		uint32_t f = w->swap ? __builtin_bswap32((uint32_t)flags) : (uint32_t)flags;

		opt(w, PCAPNG_EPB_FLAGS, &f, 4);
		opt(w, PCAPNG_OPT_ENDOFOPT, NULL, 0);
	}
	end(w);
}

static void spb(struct ng *w, const uint8_t *data, uint32_t len, uint32_t stored)
{
	begin(w, PCAPNG_BT_SPB);
	w32(w, len);
	wbytes(w, data, stored);
	end(w);
}

static void other(struct ng *w, uint32_t type, size_t body)
{
	static const uint8_t junk[64] = { 1, 2, 3, 4, 5, 6, 7, 8 };

	begin(w, type);
	wbytes(w, junk, body);
	end(w);
}

static uint8_t frame[200];

/* Section 1 (swap1): eth0 Ethernet (10^-6), tun0 RAW (10^-9), two EPBs, an
 * NRB, an ISB, a custom block, an SPB cut to eth0's snaplen 64. Section 2
 * (swap2): wlan RAW at 2^-20, one EPB. Offsets of the packet blocks in off[]. */
static void golden(struct ng *w, bool swap1, bool swap2, size_t off[5], size_t ends[4])
{
	memset(w, 0, sizeof(*w));
	for (size_t i = 0; i < sizeof(frame); i++)
		frame[i] = (uint8_t)(i * 7 + 1);
	shb(w, swap1);
	idb(w, LINKTYPE_ETHERNET, 64, "eth0", -1);
	idb(w, LINKTYPE_RAW, 0, "tun0", 9);
	off[0] = w->n;
	epb(w, 0, 1764597600123456ull, frame, 60, 60, -1);
	ends[0] = w->n;
	other(w, PCAPNG_BT_NRB, 16);
	off[1] = w->n;
	epb(w, 1, 1764597600987654321ull, frame + 1, 41, 1500, 2); /* outbound */
	ends[1] = w->n;
	other(w, PCAPNG_BT_ISB, 24);
	other(w, 0x00000bad, 12); /* custom */
	off[2] = w->n;
	spb(w, frame, 100, 64);
	ends[2] = w->n;
	shb(w, swap2);
	idb(w, LINKTYPE_RAW, 65535, "wlan0", 0x80 | 20);
	off[3] = w->n;
	/* 2^-20 s units: 1764597600.5 s */
	epb(w, 0, (1764597600ull << 20) + (1u << 19), frame + 2, 28, 28, 1);
	off[4] = ends[3] = w->n;
}

static void test_golden_both_orders(void)
{
	static struct pcapng_section sec;
	struct unit_guarded g;

	unit_guarded_open(&g, 2);
	for (int o = 0; o < 4; o++) {
		bool s1 = o & 1, s2 = o & 2;
		struct pcapng_iter it;
		struct pcapng_rec r[16];
		struct pcapng_iface ifc[16];
		struct format_probe p;
		size_t off[5], ends[4], n = 0, pk[8], np = 0;
		struct ng w;
		const uint8_t *at;

		golden(&w, s1, s2, off, ends);
		at = unit_guarded_put(&g, w.b, w.n);
		memset(&sec, 0, sizeof(sec));
		pcapng_iter_init(&it, &sec, at, w.n, 1000);
		while (n < 16 && pcapng_iter_next(&it, &r[n])) {
			if (r[n].block_type == PCAPNG_BT_EPB || r[n].block_type == PCAPNG_BT_SPB) {
				ifc[n] = *r[n].ifc; /* the next section reuses its slot */
				r[n].ifc = &ifc[n];
				pk[np++] = n;
			}
			n++;
		}
		CHECK(it.stop == FORMAT_OK && it.off == w.n && !it.bad, "order %d: stop %d at %zu, bad %llu", o,
		      it.stop, it.off, (unsigned long long)it.bad);
		/* SHB IDB IDB EPB EPB SPB SHB IDB EPB */
		CHECK_EQ(n, 9);
		CHECK_EQ(np, 4);
		if (np != 4)
			continue;
		CHECK(r[0].block_type == PCAPNG_BT_SHB && r[1].block_type == PCAPNG_BT_IDB &&
			      r[6].block_type == PCAPNG_BT_SHB && r[7].block_type == PCAPNG_BT_IDB,
		      "order %d: structure blocks", o);
		for (int i = 0; i < 4; i++)
			CHECK(r[pk[i]].off == 1000 + off[i] && r[pk[i]].block_len == ends[i] - off[i], "order %d: packet %d at %llu", o, i,
			      (unsigned long long)r[pk[i]].off);
		/* eth0, microseconds by default */
		CHECK(r[pk[0]].ifc && !strcmp(r[pk[0]].ifc->name, "eth0") &&
			      r[pk[0]].ifc->linktype == LINKTYPE_ETHERNET && r[pk[0]].ifc->snaplen == 64,
		      "order %d: eth0", o);
		CHECK_EQ(r[pk[0]].ts_ns, 1764597600123456000ull);
		CHECK(r[pk[0]].pkt.caplen == 60 && r[pk[0]].pkt.len == 60 && r[pk[0]].pkt.flags == 0 &&
			      !memcmp(r[pk[0]].pkt.data, frame, 60),
		      "order %d: eth0 packet", o);
		/* tun0, nanoseconds, outbound */
		CHECK(!strcmp(r[pk[1]].ifc->name, "tun0") && r[pk[1]].ifc->linktype == LINKTYPE_RAW &&
			      r[pk[1]].pkt.iface == 1,
		      "order %d: tun0", o);
		CHECK_EQ(r[pk[1]].ts_ns, 1764597600987654321ull);
		CHECK(r[pk[1]].pkt.caplen == 41 && r[pk[1]].pkt.len == 1500 && r[pk[1]].pkt.flags == 2 &&
			      !memcmp(r[pk[1]].pkt.data, frame + 1, 41),
		      "order %d: tun0 packet", o);
		/* SPB: interface 0, caplen min(len, snaplen), no time */
		CHECK(r[pk[2]].block_type == PCAPNG_BT_SPB && r[pk[2]].pkt.iface == 0 && r[pk[2]].pkt.len == 100 &&
			      r[pk[2]].pkt.caplen == 64 && !memcmp(r[pk[2]].pkt.data, frame, 64) &&
			      r[pk[2]].ts_ns == 0,
		      "order %d: SPB", o);
		/* second section: interfaces count from 0 again, 2^-20 s */
		CHECK(!strcmp(r[pk[3]].ifc->name, "wlan0") && r[pk[3]].ifc->tsres_pow2 &&
			      r[pk[3]].ifc->tsres_exp == 20 && sec.nifaces == 1 && sec.swapped == s2,
		      "order %d: second section", o);
		CHECK_EQ(r[pk[3]].ts_ns, 1764597600500000000ull);
		CHECK(r[pk[3]].pkt.caplen == 28 && r[pk[3]].pkt.flags == 1, "order %d: wlan0 packet", o);
		/* the probe: the first packet's link type and time */
		CHECK_EQ(format_probe(at, w.n, &p), FORMAT_OK);
		CHECK(p.kind == &format_pcapng && p.linktype == LINKTYPE_ETHERNET &&
			      p.first_ts_ns == 1764597600123456000ull,
		      "order %d: probe", o);
		/* only the first bytes of a big SHB: still pcapng */
		CHECK(format_probe(at, PCAPNG_SHB_HEAD_LEN, &p) == FORMAT_OK &&
			      format_probe(at, PCAPNG_SHB_HEAD_LEN - 1, &p) == FORMAT_SHORT && p.kind == &format_pcapng &&
			      p.first_ts_ns == 0,
		      "order %d: probe of the SHB's fixed part", o);
	}
	munmap(g.map, g.maplen);
}

static void test_tsresol(void)
{
	struct pcapng_iface us = { .tsres_exp = 6 }, ns = { .tsres_exp = 9 }, p20 = { .tsres_pow2 = true, .tsres_exp = 20 };
	struct pcapng_iface ps = { .tsres_exp = 12 }, s1 = { .tsres_exp = 0, .tsoffset_s = -10 };

	CHECK_EQ(pcapng_ts_ns(&us, 1500000), 1500000000ull);
	CHECK_EQ(pcapng_ts_ns(&ns, 1234567891), 1234567891ull);
	CHECK_EQ(pcapng_ts_ns(&p20, 3u << 19), 1500000000ull);
	CHECK_EQ(pcapng_ts_ns(&p20, 1), 953ull); /* 10^9 / 2^20, rounded down */
	CHECK_EQ(pcapng_ts_ns(&ps, 1234567891234ull), 1234567891ull);
	CHECK_EQ(pcapng_ts_ns(&s1, 100), 90000000000ull);
	CHECK_EQ(pcapng_ts_ns(&s1, 5), 0ull); /* before the epoch: 0 */
	CHECK_EQ(pcapng_ts_ns(&ns, UINT64_MAX), UINT64_MAX);
	CHECK_EQ(pcapng_ts_ns(&us, UINT64_MAX), UINT64_MAX); /* saturates */
}

/* Overwrite the u32 at `at` of a golden file (section 1's order). */
static void poke(struct ng *w, size_t at, uint32_t v)
{
	if (w->swap)
		v = __builtin_bswap32(v);
	memcpy(w->b + at, &v, 4);
}

/* Walk w; the packets found, *stop and *bad. */
static unsigned walk(struct ng *w, enum format_status *stop, uint64_t *bad, uint64_t *stop_off)
{
	static struct pcapng_section sec;
	struct pcapng_iter it;
	struct pcapng_rec r;
	unsigned n = 0;

	memset(&sec, 0, sizeof(sec));
	pcapng_iter_init(&it, &sec, w->b, w->n, 0);
	while (pcapng_iter_next(&it, &r))
		n += r.block_type == PCAPNG_BT_EPB || r.block_type == PCAPNG_BT_SPB;
	*stop = it.stop;
	*bad = it.bad;
	*stop_off = it.off;
	return n;
}

static void test_lies(void)
{
	static const uint32_t framing[] = { 0, 8, 11, 13, 16, 62, PCAPNG_BLOCK_MAX + 4, 0xfffffffcu };
	enum format_status st;
	uint64_t bad, at;
	size_t off[5], ends[4];
	struct ng w;

	for (int s = 0; s < 2; s++) {
		golden(&w, s, s, off, ends);
		CHECK_EQ(walk(&w, &st, &bad, &at), 4);
		/* a packet block's total length that lies: the walk stops right there */
		for (size_t i = 0; i < sizeof(framing) / sizeof(framing[0]); i++) {
			golden(&w, s, s, off, ends);
			poke(&w, off[1] + 4, framing[i]);
			CHECK(walk(&w, &st, &bad, &at) == 1 && st == FORMAT_LIED && at == off[1],
			      "swap %d: total length %u: stop %d at %llu", s, framing[i], st, (unsigned long long)at);
		}
		/* the trailing copy differs */
		golden(&w, s, s, off, ends);
		poke(&w, ends[1] - 4, 0x40);
		CHECK(walk(&w, &st, &bad, &at) == 1 && st == FORMAT_LIED && at == off[1], "swap %d: trailer", s);
		/* an EPB whose caplen overruns its body: counted and skipped, the rest read */
		golden(&w, s, s, off, ends);
		poke(&w, off[1] + 20, 4000);
		CHECK(walk(&w, &st, &bad, &at) == 3 && st == FORMAT_OK && bad == 1, "swap %d: caplen", s);
		/* an EPB of an interface no IDB described */
		golden(&w, s, s, off, ends);
		poke(&w, off[0] + 8, 2);
		CHECK(walk(&w, &st, &bad, &at) == 3 && st == FORMAT_OK && bad == 1, "swap %d: interface", s);
		/* an SPB whose length says more than it holds, with no snaplen to cut it */
		golden(&w, s, s, off, ends);
		poke(&w, off[2] + 8, 100000);
		CHECK(walk(&w, &st, &bad, &at) == 4, "swap %d: SPB cut by snaplen 64 is whole", s);
		/* a byte-order magic of neither order, a version 2 section: lies */
		golden(&w, s, s, off, ends);
		poke(&w, 8, 0x11223344u);
		CHECK(walk(&w, &st, &bad, &at) == 0 && st == FORMAT_LIED && at == 0, "swap %d: bom", s);
		golden(&w, s, s, off, ends);
		w.b[12] = s ? 0 : 2;
		w.b[13] = s ? 2 : 0;
		CHECK(walk(&w, &st, &bad, &at) == 0 && st == FORMAT_LIED, "swap %d: version", s);
		/* no SHB first */
		golden(&w, s, s, off, ends);
		memmove(w.b, w.b + off[0], w.n - off[0]);
		w.n -= off[0];
		CHECK(walk(&w, &st, &bad, &at) == 0 && st == FORMAT_LIED && at == 0, "swap %d: no SHB", s);
		/* an IDB with an option that overruns it: unusable, its packets skipped,
		 * the next interface keeps its id */
		golden(&w, s, s, off, ends);
		{
			uint32_t shb_len;
			size_t idb0;

			memcpy(&shb_len, w.b + 4, 4);
			idb0 = w.swap ? __builtin_bswap32(shb_len) : shb_len;
			/* the high byte of if_name's length (body offset 10) */
			w.b[idb0 + 8 + 10 + (w.swap ? 0 : 1)] = 0x7f;
			CHECK(walk(&w, &st, &bad, &at) == 2 && st == FORMAT_OK && bad == 3,
			      "swap %d: IDB that lies: %llu bad", s, (unsigned long long)bad);
		}
	}
}

/* Every cut: the packets whose blocks are whole, then FORMAT_SHORT with the
 * cut block's length (or FORMAT_OK exactly at a block's end). */
static void test_every_cut(void)
{
	static struct pcapng_section sec;
	struct unit_guarded g;
	size_t off[5], ends[4];
	struct ng w;

	unit_guarded_open(&g, 2);
	golden(&w, true, false, off, ends);
	for (size_t len = 0; len <= w.n; len++) {
		const uint8_t *at = unit_guarded_put(&g, w.b, len);
		struct pcapng_iter it;
		struct pcapng_rec r;
		unsigned n = 0, want = 0;

		memset(&sec, 0, sizeof(sec));
		pcapng_iter_init(&it, &sec, at, len, 0);
		while (pcapng_iter_next(&it, &r))
			n += r.block_type == PCAPNG_BT_EPB || r.block_type == PCAPNG_BT_SPB;
		for (int i = 0; i < 4; i++)
			want += ends[i] <= len;
		CHECK(n == want, "cut %zu: %u packets, want %u", len, n, want);
		CHECK(it.stop == (it.off == len ? FORMAT_OK : FORMAT_SHORT), "cut %zu: stop %d", len, it.stop);
		if (it.stop == FORMAT_SHORT && len - it.off >= 12)
			CHECK(it.need > len - it.off, "cut %zu: need %u", len, it.need);
	}
	munmap(g.map, g.maplen);
}

/* Random bytes changed, inserted lengths, random cuts, right before the
 * guard page: the walk never reads past the bytes, and what it yields lies
 * inside them. */
static void test_mutated(void)
{
	static struct pcapng_section sec;
	uint64_t seed = 0x9e3779b97f4a7c15ull;
	unsigned yielded = 0, lied = 0, cut = 0;
	struct unit_guarded g;
	size_t off[5], ends[4];
	struct ng base, w;

	unit_guarded_open(&g, 2);
	golden(&base, false, true, off, ends);
	for (int n = 0; n < 200000; n++) {
		size_t len;
		const uint8_t *at;
		struct pcapng_iter it;
		struct pcapng_rec r;
		int k = 1 + (int)(unit_rnd(&seed) % 6);

		w = base;
		while (k--) {
			size_t pos = unit_rnd(&seed) % w.n;
			uint64_t x = unit_rnd(&seed);

			switch (x % 4) {
			case 0:
				w.b[pos] = (uint8_t)(x >> 8);
				break;
			case 1: /* a length-looking value on a word */
				pos &= ~(size_t)3;
				memcpy(w.b + pos, (uint32_t[]){ (uint32_t)(x >> 8) % 512 }, 4);
				break;
			case 2:
				w.b[pos] ^= (uint8_t)(1u << ((x >> 8) % 8));
				break;
			default:
				memcpy(w.b + (pos & ~(size_t)3), (uint32_t[]){ 0xffffffffu }, 4);
				break;
			}
		}
		len = unit_rnd(&seed) % 4 ? w.n : unit_rnd(&seed) % (w.n + 1);
		at = unit_guarded_put(&g, w.b, len);
		memset(&sec, 0, sizeof(sec));
		pcapng_iter_init(&it, &sec, at, len, 0);
		while (pcapng_iter_next(&it, &r)) {
			CHECK(r.off + r.block_len <= len, "case %d: block past the bytes", n);
			if (r.block_type == PCAPNG_BT_EPB || r.block_type == PCAPNG_BT_SPB) {
				CHECK(r.pkt.data >= at && r.pkt.data + r.pkt.caplen <= at + r.off + r.block_len &&
					      r.ifc && r.ifc->usable && r.pkt.caplen <= PCAP_SNAPLEN_MAX,
				      "case %d: packet outside its block", n);
				yielded++;
			}
		}
		CHECK(it.off <= len, "case %d: walked past the end", n);
		lied += it.stop == FORMAT_LIED;
		cut += it.stop == FORMAT_SHORT;
		{
			struct format_probe p;

			format_probe(at, len < FORMAT_PROBE_LEN ? len : FORMAT_PROBE_LEN, &p);
		}
	}
	printf("mutated: %u packets yielded, %u walks stopped by a lie, %u by a cut\n", yielded, lied, cut);
	CHECK(yielded > 100000 && lied > 1000 && cut > 1000, "the mutations did not cover the cases");
	munmap(g.map, g.maplen);
}

static void fix_crc(uint8_t *buf, size_t len)
{
	uint32_t c = index_crc32(0, buf, len - 8);

	for (int i = 0; i < 4; i++)
		buf[len - 8 + i] = (uint8_t)(c >> (8 * i));
}

static void test_index(void)
{
	char path[] = "/tmp/test_pcapng.XXXXXX", ixpath[64];
	struct index_refresh_result res;
	struct index ix, back;
	size_t off[5], ends[4], len;
	uint8_t *buf;
	struct ng w;
	int fd;

	golden(&w, false, true, off, ends);
	fd = mkstemp(path);
	if (fd < 0 || write(fd, w.b, w.n) != (ssize_t)w.n) {
		perror("temporary file");
		exit(1);
	}
	for (uint32_t chunk = 1; chunk <= INDEX_CHUNK_BYTES_DEFAULT; chunk += INDEX_CHUNK_BYTES_DEFAULT - 1) {
		CHECK_EQ(index_refresh(path, fd, true, chunk, &ix, &res), 0);
		CHECK(ix.pcapng && ix.records == 4 && res.scan.records == 4 && !res.scan.torn &&
			      !res.scan.bad_blocks && ix.good_end == w.n,
		      "chunk %u: records %llu, good end %llu", chunk, (unsigned long long)ix.records,
		      (unsigned long long)ix.good_end);
		/* SHB, IDB, IDB, SHB, IDB */
		CHECK(ix.nsblocks == 5 && ix.sblocks[0].off == 0 && ix.sblocks[0].type == PCAPNG_BT_SHB &&
			      ix.sblocks[3].type == PCAPNG_BT_SHB && ix.sblocks[4].type == PCAPNG_BT_IDB &&
			      ix.sblocks[4].off + ix.sblocks[4].len == off[3],
		      "chunk %u: %u structure blocks", chunk, ix.nsblocks);
		/* a chunk per record: they start at the packet blocks, gaps between */
		CHECK(ix.nchunks == (chunk == 1 ? 4u : 1u), "chunk %u: %u chunks", chunk, ix.nchunks);
		for (uint32_t i = 0; chunk == 1 && i < ix.nchunks && i < 4; i++)
			CHECK(ix.chunks[i].off == off[i] && ix.chunks[i].end == ends[i] && ix.chunks[i].records == 1,
			      "chunk %u at %llu", i, (unsigned long long)ix.chunks[i].off);
		CHECK(ix.first_ns == 0 && ix.last_ns == 1764597600987654321ull, "times"); /* the SPB has none */
		len = index_serialized_len(&ix);
		buf = calloc(1, len);
		index_serialize(&ix, buf);
		CHECK(buf[8] == INDEX_VERSION_PCAPNG, "version %u", buf[8]);
		CHECK_EQ(index_parse(buf, len, &back), 0);
		CHECK(back.pcapng && back.nsblocks == 5 && back.nchunks == ix.nchunks &&
			      !memcmp(back.sblocks, ix.sblocks, 5 * sizeof(*ix.sblocks)),
		      "round trip");
		index_free(&back);
		/* the list of SHBs and IDBs that lies: refused */
		buf[len - 8 - INDEX_SBLOCK_LEN * 5 + 12] = 1; /* the first is an IDB */
		fix_crc(buf, len);
		CHECK_EQ(index_parse(buf, len, &back), -EBADMSG);
		free(buf);
		index_free(&ix);
	}
	/* loaded as it is the second time */
	CHECK(index_refresh(path, fd, false, 0, &ix, &res) == 0 && res.loaded && ix.pcapng && ix.nsblocks == 5,
	      "loaded");
	index_free(&ix);
	close(fd);
	if (!index_path_for(path, ixpath, sizeof(ixpath)))
		unlink(ixpath);
	unlink(path);
}

int main(void)
{
	test_golden_both_orders();
	test_tsresol();
	test_lies();
	test_every_cut();
	test_mutated();
	test_index();
	return unit_exit("test_pcapng");
}
