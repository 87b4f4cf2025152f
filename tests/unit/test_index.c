/*
 * index/: the builder on hand-made records (chunks, time ranges, address
 * summaries, "any address" chunks), the file format's round trip, resuming a
 * builder (a grown file) giving the same bytes as one pass, and index_parse on
 * corrupt input: every truncation, every single-bit flip, and 20,000 random
 * mutations whose checksum was fixed up so only the structural checks stand
 * between them and the reader; the bytes sit right before a PROT_NONE page so
 * a read past them kills the test.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "index/index.h"
#include "unit.h"
#include "util/util.h"

#define NREC 600

static uint8_t file_hdr[PCAP_FILE_HEADER_LEN];

static void make_file_hdr(uint32_t linktype)
{
	uint32_t h[6] = { PCAP_MAGIC_MICRO, 2u | 4u << 16, 0, 0, 262144, linktype };

	memcpy(file_hdr, h, sizeof(h));
}

/* Ethernet + IPv4 198.18.src.1 -> 198.19.0.1, `len` bytes. */
static uint32_t frame4(uint8_t *f, uint8_t src3, uint32_t len)
{
	memset(f, 0, len);
	f[12] = 0x08;
	f[13] = 0x00;
	f[14] = 0x45;
	f[14 + 12] = 198, f[14 + 13] = 18, f[14 + 14] = src3, f[14 + 15] = 1;
	f[14 + 16] = 198, f[14 + 17] = 19, f[14 + 18] = 0, f[14 + 19] = 1;
	return len;
}

/* Ethernet, 802.1ad + 802.1Q tags, IPv6 2001:2::src -> 2001:2::ffff. */
static uint32_t frame6_qinq(uint8_t *f, uint8_t src)
{
	uint32_t len = 14 + 8 + 40 + 8;
	uint8_t *ip = f + 22;

	memset(f, 0, len);
	f[12] = 0x88, f[13] = 0xa8, f[16] = 0x81, f[17] = 0x00, f[20] = 0x86, f[21] = 0xdd;
	ip[0] = 0x60;
	ip[8] = 0x20, ip[9] = 0x01, ip[11] = 0x02, ip[23] = src;
	ip[24] = 0x20, ip[25] = 0x01, ip[27] = 0x02, ip[38] = 0xff, ip[39] = 0xff;
	return len;
}

struct rec_plan {
	uint64_t off;
	uint32_t sec, usec, caplen;
	uint8_t frame[256];
};

static struct rec_plan plan[NREC];

/* Records laid out as in a file: contiguous from offset 24. Host changes every
 * 100 records; every 10th is IPv6 behind two tags; times step 1 ms with every
 * 50th record 30 ms late (out of order). */
static void make_plan(void)
{
	uint64_t off = PCAP_FILE_HEADER_LEN;

	for (int i = 0; i < NREC; i++) {
		struct rec_plan *p = &plan[i];
		uint64_t us = 1000ull * (uint64_t)i + (i % 50 == 49 ? 30000u : 0u);

		p->off = off;
		p->sec = 1764597600u + (uint32_t)(us / 1000000);
		p->usec = (uint32_t)(us % 1000000);
		p->caplen = i % 10 == 9 ? frame6_qinq(p->frame, (uint8_t)(i / 100 + 1))
					: frame4(p->frame, (uint8_t)(i / 100), 60 + (uint32_t)(i % 7) * 20);
		off += PCAP_RECORD_HEADER_LEN + p->caplen;
	}
}

static struct index_builder *build(uint32_t chunk_bytes, int from, int to, struct index_builder *b)
{
	if (!b)
		CHECK(index_builder_new(&b, file_hdr, chunk_bytes) == 0, "builder_new");
	for (int i = from; i < to; i++)
		CHECK(index_builder_add(b, plan[i].off, plan[i].sec, plan[i].usec, plan[i].frame,
					plan[i].caplen) == 0, "add %d", i);
	return b;
}

static uint64_t ns_of(int i)
{
	return (uint64_t)plan[i].sec * 1000000000ull + plan[i].usec * 1000ull;
}

static void test_builder(void)
{
	struct index_builder *b;
	struct index ix;
	uint64_t records = 0;
	uint8_t tmp[256];

	make_file_hdr(LINKTYPE_ETHERNET);
	b = build(8192, 0, NREC, NULL);
	/* refused: a gap, an overlap, a lying caplen; nothing changes */
	CHECK_EQ(index_builder_add(b, index_builder_end(b) + 1, 1, 0, tmp, 60), -EINVAL);
	CHECK_EQ(index_builder_add(b, plan[NREC - 1].off, 1, 0, tmp, 60), -EINVAL);
	CHECK_EQ(index_builder_add(b, index_builder_end(b), 1, 0, tmp, PCAP_SNAPLEN_MAX + 1), -EINVAL);
	CHECK(index_builder_snapshot(b, 1000000, 5, &ix) == 0, "snapshot");
	CHECK_EQ(ix.records, NREC);
	CHECK(ix.nchunks > 5, "only %u chunks of 8 KiB", ix.nchunks);
	CHECK_EQ(ix.good_end, plan[NREC - 1].off + PCAP_RECORD_HEADER_LEN + plan[NREC - 1].caplen);
	CHECK_EQ(ix.last_rec_off, plan[NREC - 1].off);
	CHECK_EQ(ix.first_ns, ns_of(0));
	CHECK_EQ(ix.last_ns, ns_of(NREC - 1)); /* the last record is 30 ms late: the largest */
	for (uint32_t c = 0; c < ix.nchunks; c++) {
		const struct index_chunk *k = &ix.chunks[c];
		uint64_t mn = UINT64_MAX, mx = 0;
		bool host[8] = { false }, host6[8] = { false };
		uint32_t n4 = 0, n6 = 0;

		CHECK(k->end - k->off >= 8192 || c == ix.nchunks - 1, "chunk %u is %llu bytes", c,
		      (unsigned long long)(k->end - k->off));
		for (int i = 0; i < NREC; i++) {
			if (plan[i].off < k->off || plan[i].off >= k->end)
				continue;
			mn = ns_of(i) < mn ? ns_of(i) : mn;
			mx = ns_of(i) > mx ? ns_of(i) : mx;
			if (i % 10 == 9)
				host6[i / 100 + 1] = true;
			else
				host[i / 100] = true;
			records++;
		}
		CHECK(k->min_ns == mn && k->max_ns == mx, "chunk %u times", c);
		CHECK(!(k->flags & INDEX_CHUNK_ANY_ADDR), "chunk %u has no summary", c);
		for (int h = 0; h < 8; h++) {
			uint32_t a = 198u << 24 | 18u << 16 | (uint32_t)h << 8 | 1u;
			uint8_t a6[16] = { 0x20, 0x01, 0, 0x02 };

			a6[15] = (uint8_t)h;
			CHECK(index_chunk_may_have4(&ix, k, a, a) == host[h], "chunk %u host %d", c, h);
			CHECK(index_chunk_may_have6(&ix, k, a6, a6) == host6[h], "chunk %u host6 %d", c, h);
			n4 += host[h];
			n6 += host6[h];
		}
		/* every chunk has the destinations; the net of them all */
		CHECK(index_chunk_may_have4(&ix, k, 198u << 24 | 19u << 16 | 1, 198u << 24 | 19u << 16 | 1),
		      "chunk %u dst", c);
		CHECK(index_chunk_may_have4(&ix, k, 198u << 24 | 18u << 16, 198u << 24 | 19u << 16 | 0xffff),
		      "chunk %u net", c);
		CHECK(!index_chunk_may_have4(&ix, k, 10u << 24, 11u << 24), "chunk %u 10/8", c);
		CHECK_EQ(k->n4, n4 + 1);
		CHECK_EQ(k->n6, n6 ? n6 + 1 : 0);
	}
	CHECK_EQ(records, NREC);
	index_free(&ix);
	index_builder_free(b);

	/* a link type without a parser: every chunk "any address" */
	make_file_hdr(147); /* LINKTYPE_USER0 */
	b = build(8192, 0, 50, NULL);
	CHECK(index_builder_snapshot(b, 0, 0, &ix) == 0, "snapshot");
	CHECK(ix.nchunks >= 1 && (ix.chunks[0].flags & INDEX_CHUNK_ANY_ADDR), "user0 summary");
	CHECK(index_chunk_may_have4(&ix, &ix.chunks[0], 1, 1), "any address may have anything");
	index_free(&ix);
	index_builder_free(b);

	/* more distinct addresses than a summary holds: "any address" */
	make_file_hdr(LINKTYPE_ETHERNET);
	CHECK(index_builder_new(&b, file_hdr, 1u << 30) == 0, "new");
	for (uint32_t i = 0; i < INDEX_MAX_ADDR4 + 10; i++) {
		uint8_t f[60];
		uint64_t off = index_builder_end(b);

		frame4(f, 0, 60);
		f[26 + 2] = (uint8_t)(i >> 8);
		f[26 + 3] = (uint8_t)i;
		CHECK(index_builder_add(b, off, 1, i, f, 60) == 0, "add");
	}
	CHECK(index_builder_snapshot(b, 0, 0, &ix) == 0, "snapshot");
	CHECK(ix.nchunks == 1 && (ix.chunks[0].flags & INDEX_CHUNK_ANY_ADDR) && ix.naddr4 == 0,
	      "overflow: chunks %u flags %u addrs %u", ix.nchunks, ix.nchunks ? ix.chunks[0].flags : 0,
	      ix.naddr4);
	index_free(&ix);
	index_builder_free(b);
}

static uint8_t *serialize(const struct index *ix, size_t *len)
{
	uint8_t *buf;

	*len = index_serialized_len(ix);
	buf = malloc(*len);
	index_serialize(ix, buf);
	return buf;
}

/* A copy of `len` bytes ending right before a PROT_NONE page. */
static uint8_t *guarded(const uint8_t *src, size_t len, void **map, size_t *maplen)
{
	long page = sysconf(_SC_PAGESIZE);
	size_t room = ALIGN_UP(len, (size_t)page);
	uint8_t *m;

	*maplen = room + (size_t)page;
	m = mmap(NULL, *maplen, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED || mprotect(m + room, (size_t)page, PROT_NONE)) {
		perror("mmap");
		exit(1);
	}
	*map = m;
	memcpy(m + room - len, src, len);
	return m + room - len;
}

static void fix_crc(uint8_t *buf, size_t len)
{
	uint32_t crc;

	if (len < INDEX_HEADER_LEN + INDEX_TRAILER_LEN)
		return;
	crc = index_crc32(0, buf, len - 8);
	for (int i = 0; i < 4; i++)
		buf[len - 8 + i] = (uint8_t)(crc >> (8 * i));
}

/* What a parsed index must satisfy however it was mutated. */
static void check_consistent(const struct index *ix)
{
	uint64_t pos = PCAP_FILE_HEADER_LEN;

	for (uint32_t c = 0; c < ix->nchunks; c++) {
		const struct index_chunk *k = &ix->chunks[c];

		CHECK(k->off == pos && k->end > k->off && k->end <= ix->good_end, "accepted a bad chunk %u", c);
		CHECK((uint64_t)k->a4 + k->n4 <= ix->naddr4 && (uint64_t)k->a6 + k->n6 <= ix->naddr6,
		      "accepted bad address counts");
		pos = k->end;
	}
	CHECK(ix->good_end <= ix->file_size, "accepted good_end past the file");
}

static void test_format(void)
{
	struct index_builder *b, *r;
	struct index ix, back, half;
	uint8_t *buf, *buf2, *g;
	size_t len, len2, maplen;
	void *map;
	unsigned accepted = 0;

	make_file_hdr(LINKTYPE_ETHERNET);
	b = build(4096, 0, NREC, NULL);
	CHECK(index_builder_snapshot(b, 123456789, 987654321, &ix) == 0, "snapshot");
	ix.file_dev = 0x0102030405060708ull;
	ix.file_ino = 0x1112131415161718ull;
	ix.file_ctime_ns = 0x2122232425262728ll;
	ix.file_head_crc = 0x31323334u;
	ix.file_tail_crc = 0x41424344u;
	buf = serialize(&ix, &len);
	CHECK(!memcmp(buf, INDEX_MAGIC, 8) && buf[8] == 3 && buf[9] == 0, "magic, version 3 little-endian");
	CHECK(buf[144] == 0x08 && buf[151] == 0x01 && buf[152] == 0x18 && buf[160] == 0x28 && buf[168] == 0x34 &&
	      buf[172] == 0x44, "identity at 144..175, little-endian");
	CHECK(index_parse(buf, len, &back) == 0, "round trip parse");
	CHECK(back.file_dev == ix.file_dev && back.file_ino == ix.file_ino &&
	      back.file_ctime_ns == ix.file_ctime_ns && back.file_head_crc == ix.file_head_crc &&
	      back.file_tail_crc == ix.file_tail_crc, "round trip identity");
	CHECK(back.file_size == 123456789 && back.file_mtime_ns == 987654321 && back.records == NREC &&
	      back.nchunks == ix.nchunks && back.naddr4 == ix.naddr4 && back.naddr6 == ix.naddr6 &&
	      back.good_end == ix.good_end && back.first_ns == ix.first_ns && back.last_ns == ix.last_ns &&
	      !memcmp(back.pcap_header, file_hdr, sizeof(file_hdr)), "round trip fields");
	for (uint32_t c = 0; c < ix.nchunks && c < back.nchunks; c++)
		CHECK(!memcmp(&ix.chunks[c], &back.chunks[c], sizeof(ix.chunks[c])), "chunk %u differs", c);
	CHECK(!memcmp(ix.addr4, back.addr4, ix.naddr4 * 4) && !memcmp(ix.addr6, back.addr6, ix.naddr6 * 16),
	      "addresses differ");
	index_free(&back);

	/* resume: half the records, saved and parsed back, then the rest, gives
	 * the same index as one pass (a file that grew is extended, not rebuilt) */
	b = build(4096, 0, NREC, (index_builder_free(b), NULL));
	r = build(4096, 0, NREC / 2 + 3, NULL);
	CHECK(index_builder_snapshot(r, 1, 1, &half) == 0, "snapshot half");
	index_builder_free(r);
	CHECK(index_builder_resume(&r, &half) == 0, "resume");
	build(4096, NREC / 2 + 3, NREC, r);
	CHECK(index_builder_snapshot(r, 123456789, 987654321, &back) == 0, "snapshot resumed");
	back.file_dev = ix.file_dev;
	back.file_ino = ix.file_ino;
	back.file_ctime_ns = ix.file_ctime_ns;
	back.file_head_crc = ix.file_head_crc;
	back.file_tail_crc = ix.file_tail_crc;
	buf2 = serialize(&back, &len2);
	CHECK(len2 == len && !memcmp(buf, buf2, len), "resumed index differs from one pass (%zu vs %zu bytes)",
	      len2, len);
	free(buf2);
	index_free(&back);
	index_builder_free(r);
	index_builder_free(b);

	/* another version (1 named its file by size and mtime alone, 2 had no
	 * postings): refused as such */
	buf[8] = 1;
	fix_crc(buf, len);
	CHECK_EQ(index_parse(buf, len, &back), -ENOTSUP);
	buf[8] = 2;
	fix_crc(buf, len);
	CHECK_EQ(index_parse(buf, len, &back), -ENOTSUP);
	buf[8] = 5;
	fix_crc(buf, len);
	CHECK_EQ(index_parse(buf, len, &back), -ENOTSUP);
	/* version 4 is a pcapng file's: with a pcap header it does not add up */
	buf[8] = 4;
	fix_crc(buf, len);
	CHECK_EQ(index_parse(buf, len, &back), -EBADMSG);
	buf[8] = 3;
	fix_crc(buf, len);

	/* every truncation */
	for (size_t l = 0; l < len; l++) {
		g = guarded(buf, l, &map, &maplen);
		CHECK(index_parse(g, l, &back) != 0, "truncated to %zu accepted", l);
		munmap(map, maplen);
	}
	/* every single-bit flip: the checksum or a check catches it */
	g = guarded(buf, len, &map, &maplen);
	for (size_t i = 0; i < len; i++) {
		for (int bit = 0; bit < 8; bit += 3) {
			g[i] ^= (uint8_t)(1u << bit);
			CHECK(index_parse(g, len, &back) != 0, "bit %d of byte %zu flipped: accepted", bit, i);
			g[i] ^= (uint8_t)(1u << bit);
		}
	}
	/* mutations with the checksum fixed up: structure alone must hold */
	srand(7);
	for (int n = 0; n < 20000; n++) {
		memcpy(g, buf, len);
		for (int k = 0; k < 1 + n % 4; k++) {
			size_t at = (size_t)rand() % (len - 8);
			static const uint32_t lies[] = { 0, 1, 0xffffffffu, 0x7fffffffu, 24, 4096, 1u << 31 };

			if (rand() & 1) {
				g[at] = (uint8_t)rand();
			} else {
				at &= ~(size_t)3;
				uint32_t v = lies[(unsigned)rand() % (sizeof(lies) / sizeof(lies[0]))];
				memcpy(g + at, &v, at + 4 <= len - 8 ? 4 : 0);
			}
		}
		fix_crc(g, len);
		if (index_parse(g, len, &back) == 0) {
			accepted++;
			check_consistent(&back);
			index_free(&back);
		}
	}
	fprintf(stderr, "mutations with a good checksum accepted: %u of 20000 (harmless fields)\n", accepted);
	CHECK(accepted < 20000, "every mutation accepted: the structural checks do nothing");
	munmap(map, maplen);
	free(buf);
	index_free(&ix);
}

static void test_frame_addrs(void)
{
	struct frame_addrs a;
	uint8_t f[128];
	uint32_t len;

	len = frame4(f, 5, 60);
	CHECK(index_frame_addrs(LINKTYPE_ETHERNET, f, len, &a) && a.n4 == 2 && a.n6 == 0, "ipv4");
	CHECK_EQ(a.a4[0], 198u << 24 | 18u << 16 | 5u << 8 | 1u);
	/* cut inside the destination address: only the source */
	CHECK(index_frame_addrs(LINKTYPE_ETHERNET, f, 14 + 18, &a) && a.n4 == 1, "cut ipv4: %u", a.n4);
	CHECK(index_frame_addrs(LINKTYPE_ETHERNET, f, 13, &a) && a.n4 == 0, "cut ethertype");
	len = frame6_qinq(f, 9);
	CHECK(index_frame_addrs(LINKTYPE_ETHERNET, f, len, &a) && a.n6 == 2 && a.a6[0][15] == 9, "qinq ipv6");
	/* ARP: sender and target at libpcap's fixed offsets */
	memset(f, 0, sizeof(f));
	f[12] = 0x08, f[13] = 0x06;
	f[14 + 14] = 198, f[14 + 15] = 18, f[14 + 16] = 7, f[14 + 17] = 7;
	f[14 + 24] = 198, f[14 + 25] = 19;
	CHECK(index_frame_addrs(LINKTYPE_ETHERNET, f, 42, &a) && a.n4 == 2 && a.a4[0] == (198u << 24 | 18u << 16 | 7u << 8 | 7u),
	      "arp");
	/* raw IPv4, by the version nibble; IPV6 link type */
	len = frame4(f, 3, 60);
	CHECK(index_frame_addrs(LINKTYPE_RAW, f + 14, len - 14, &a) && a.n4 == 2, "raw v4");
	f[14] = 0x65;
	CHECK(index_frame_addrs(LINKTYPE_RAW, f + 14, 40, &a) && a.n4 == 0 && a.n6 == 2, "raw v6 nibble");
	/* Linux cooked: protocol at 14 */
	memset(f, 0, sizeof(f));
	f[14] = 0x08;
	f[16 + 12] = 198, f[16 + 13] = 18;
	CHECK(index_frame_addrs(LINKTYPE_LINUX_SLL, f, 60, &a) && a.n4 == 2 && a.a4[0] == (198u << 24 | 18u << 16),
	      "sll");
	/* loopback, AF_INET in either byte order */
	memset(f, 0, sizeof(f));
	f[0] = 2;
	f[4] = 0x45;
	CHECK(index_frame_addrs(LINKTYPE_NULL, f, 24, &a) && a.n4 == 2, "null");
	f[0] = 0, f[3] = 2;
	CHECK(index_frame_addrs(LINKTYPE_LOOP, f, 24, &a) && a.n4 == 2, "loop");
	CHECK(!index_frame_addrs(147, f, 24, &a), "user0 has no parser");
	/* five tags: more than followed, so no summary rather than a wrong one */
	memset(f, 0, sizeof(f));
	for (int t = 0; t < 5; t++)
		f[12 + 4 * t] = 0x81;
	f[32] = 0x08;
	CHECK(!index_frame_addrs(LINKTYPE_ETHERNET, f, 80, &a), "five tags");
	f[28] = 0x08, f[29] = 0x00; /* four tags, then IPv4 */
	CHECK(index_frame_addrs(LINKTYPE_ETHERNET, f, 80, &a) && a.n4 == 2, "four tags");
}

int main(void)
{
	make_plan();
	test_builder();
	test_format();
	test_frame_addrs();
	return unit_exit("test_index");
}
