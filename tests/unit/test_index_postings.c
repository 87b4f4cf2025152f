/*
 * The postings: an index built over crafted records (IPv4 and IPv6; TCP, UDP,
 * ICMP; behind a tag; ARP; not IP; cut by the snaplen before the ports and
 * before the protocol; an IPv4 fragment; IPv6 behind a fragment header; more
 * tags than followed), saved and parsed back, lists for each key exactly the
 * records that carry it (and the "wild" ones, which every lookup returns);
 * and the postings query intersects for `and`, unites for `or`, and reads a
 * chunk whole for what it cannot decide.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "index/index.h"
#include "read/read.h"
#include "tests/unit/unit.h"

#define NREC 12

struct want_key {
	unsigned type;
	uint8_t v[16];
};

struct crafted {
	uint8_t f[256];
	uint32_t len, caplen;
	bool wild, wild_l4;
	unsigned nkeys;
	struct want_key k[6];
};

static struct crafted rec[NREC];
static uint64_t rec_off[NREC];

static void key(struct crafted *r, unsigned type, const void *v)
{
	r->k[r->nkeys].type = type;
	memcpy(r->k[r->nkeys].v, v, (size_t)index_key_len(type));
	r->nkeys++;
}

static uint32_t eth(uint8_t *f, unsigned tags, uint16_t type)
{
	uint32_t at = 12;

	memset(f, 0x02, 12);
	for (unsigned i = 0; i < tags; i++, at += 4) {
		f[at] = 0x81;
		f[at + 1] = 0x00;
		f[at + 2] = 0;
		f[at + 3] = (uint8_t)(100 + i);
	}
	f[at] = (uint8_t)(type >> 8);
	f[at + 1] = (uint8_t)type;
	return at + 2;
}

/* IPv4 src 10.0.0.S -> 10.0.0.D, protocol P, ports (if any), frag offset. */
static void ip4(struct crafted *r, unsigned tags, uint8_t s, uint8_t d, uint8_t p, uint16_t sp, uint16_t dp,
		uint16_t frag)
{
	uint32_t n = eth(r->f, tags, 0x0800);
	uint8_t *h = r->f + n, a[4] = { 10, 0, 0, s }, b[4] = { 10, 0, 0, d }, pb[2];

	h[0] = 0x45;
	h[6] = (uint8_t)(frag >> 8);
	h[7] = (uint8_t)frag;
	h[8] = 64;
	h[9] = p;
	memcpy(h + 12, a, 4);
	memcpy(h + 16, b, 4);
	h[20] = (uint8_t)(sp >> 8);
	h[21] = (uint8_t)sp;
	h[22] = (uint8_t)(dp >> 8);
	h[23] = (uint8_t)dp;
	r->len = r->caplen = n + 40;
	key(r, INDEX_KEY_ADDR4, a);
	key(r, INDEX_KEY_ADDR4, b);
	key(r, INDEX_KEY_PROTO, &p);
	if ((p == 6 || p == 17) && !(frag & 0x1fff)) {
		pb[0] = (uint8_t)(sp >> 8), pb[1] = (uint8_t)sp;
		key(r, INDEX_KEY_PORT, pb);
		pb[0] = (uint8_t)(dp >> 8), pb[1] = (uint8_t)dp;
		key(r, INDEX_KEY_PORT, pb);
	}
}

static void ip6(struct crafted *r, uint8_t s, uint8_t d, uint8_t nh, uint16_t sp, uint16_t dp)
{
	uint32_t n = eth(r->f, 0, 0x86dd);
	uint8_t *h = r->f + n, a[16] = { 0x20, 0x01, 0, 2 }, b[16] = { 0x20, 0x01, 0, 2 }, pb[2];

	a[15] = s;
	b[15] = d;
	h[0] = 0x60;
	h[6] = nh;
	h[7] = 64;
	memcpy(h + 8, a, 16);
	memcpy(h + 24, b, 16);
	h[40] = (uint8_t)(sp >> 8);
	h[41] = (uint8_t)sp;
	h[42] = (uint8_t)(dp >> 8);
	h[43] = (uint8_t)dp;
	r->len = r->caplen = n + 60;
	key(r, INDEX_KEY_ADDR6, a);
	key(r, INDEX_KEY_ADDR6, b);
	if (nh == 44) {
		r->wild_l4 = true;
		return;
	}
	key(r, INDEX_KEY_PROTO, &nh);
	pb[0] = (uint8_t)(sp >> 8), pb[1] = (uint8_t)sp;
	key(r, INDEX_KEY_PORT, pb);
	pb[0] = (uint8_t)(dp >> 8), pb[1] = (uint8_t)dp;
	key(r, INDEX_KEY_PORT, pb);
}

static void craft(void)
{
	static const uint8_t sender[4] = { 10, 0, 0, 9 }, target[4] = { 10, 0, 0, 1 };
	struct crafted *r;
	uint32_t n;

	ip4(&rec[0], 0, 1, 2, 6, 1000, 80, 0x4000);
	ip4(&rec[1], 0, 3, 1, 17, 53, 2000, 0);
	ip4(&rec[2], 0, 2, 3, 1, 0, 0, 0);
	ip6(&rec[3], 1, 2, 6, 443, 3000);
	ip4(&rec[4], 1, 4, 1, 17, 5000, 53, 0); /* behind a tag */
	r = &rec[5]; /* ARP request: its addresses, no protocol or port */
	n = eth(r->f, 0, 0x0806);
	memcpy(r->f + n + 14, sender, 4);
	memcpy(r->f + n + 24, target, 4);
	r->len = r->caplen = n + 28;
	key(r, INDEX_KEY_ADDR4, sender);
	key(r, INDEX_KEY_ADDR4, target);
	r = &rec[6]; /* not IP: no key at all */
	r->len = r->caplen = eth(r->f, 0, 0x88b5) + 30;
	ip4(&rec[7], 0, 5, 6, 6, 1111, 2222, 0); /* cut after the protocol, before the ports */
	rec[7].caplen = 14 + 20 + 1;
	rec[7].nkeys = 3;
	ip4(&rec[8], 0, 7, 8, 17, 1, 2, 0); /* cut before the protocol: nothing */
	rec[8].caplen = 14 + 5;
	rec[8].nkeys = 0;
	ip4(&rec[9], 0, 1, 3, 17, 77, 88, 0x0010); /* a fragment past the first: no ports */
	ip6(&rec[10], 3, 4, 44, 5, 6);           /* behind a fragment header: any port, protocol */
	r = &rec[11];                            /* five tags: more than followed, wild */
	ip4(r, 5, 1, 2, 6, 1, 2, 0);
	r->wild = true;
}

static bool carries(const struct crafted *r, unsigned type, const uint8_t *lo, const uint8_t *hi)
{
	size_t len = (size_t)index_key_len(type);

	if (r->wild || (r->wild_l4 && (type == INDEX_KEY_PORT || type == INDEX_KEY_PROTO)))
		return true;
	for (unsigned i = 0; i < r->nkeys; i++)
		if (r->k[i].type == type && memcmp(r->k[i].v, lo, len) >= 0 && memcmp(r->k[i].v, hi, len) <= 0)
			return true;
	return false;
}

/* The offsets a lookup of (type, [lo, hi]) gives over every chunk, against
 * the records that carry such a key. */
static void check_lookup(const struct index *ix, unsigned type, const uint8_t *lo, const uint8_t *hi,
			 const char *what)
{
	struct index_offs o = { 0 };
	bool got[NREC] = { false };

	for (uint32_t c = 0; c < ix->nchunks; c++) {
		index_chunk_lookup(ix, &ix->chunks[c], type, lo, hi, &o);
		for (size_t i = 0; i < o.n; i++) {
			uint64_t off = ix->chunks[c].off + o.v[i];
			int r = -1;

			for (int k = 0; k < NREC; k++)
				if (rec_off[k] == off)
					r = k;
			CHECK(r >= 0, "%s: offset %llu is no record", what, (unsigned long long)off);
			CHECK(i == 0 || o.v[i] > o.v[i - 1], "%s: offsets out of order", what);
			if (r >= 0)
				got[r] = true;
		}
	}
	for (int k = 0; k < NREC; k++)
		CHECK(got[k] == carries(&rec[k], type, lo, hi), "%s: record %d %s", what, k,
		      got[k] ? "listed, carries no such key" : "carries the key, not listed");
	free(o.v);
}

static struct index build_index(uint32_t chunk_bytes)
{
	uint8_t hdr[PCAP_FILE_HEADER_LEN], *buf;
	struct index_builder *b;
	struct index ix, back;
	uint64_t off = PCAP_FILE_HEADER_LEN;
	size_t len;

	pcap_file_header_encode(hdr, 65535, false, LINKTYPE_ETHERNET);
	CHECK(index_builder_new(&b, hdr, chunk_bytes) == 0, "builder");
	for (int i = 0; i < NREC; i++) {
		rec_off[i] = off;
		CHECK(index_builder_add(b, off, 1000 + (uint32_t)i, 0, rec[i].f, rec[i].caplen) == 0, "add %d", i);
		off += PCAP_RECORD_HEADER_LEN + rec[i].caplen;
	}
	CHECK(index_builder_snapshot(b, off, 1, &ix) == 0, "snapshot");
	index_builder_free(b);
	/* through the bytes, as a reader gets it */
	len = index_serialized_len(&ix);
	buf = malloc(len);
	index_serialize(&ix, buf);
	CHECK(index_parse(buf, len, &back) == 0, "parse back");
	free(buf);
	index_free(&ix);
	return back;
}

static void test_keys(uint32_t chunk_bytes)
{
	struct index ix = build_index(chunk_bytes);
	uint8_t lo[16], hi[16];
	char what[64];

	/* every key of every record, alone */
	for (int k = 0; k < NREC; k++)
		for (unsigned i = 0; i < rec[k].nkeys; i++) {
			snprintf(what, sizeof(what), "chunks of %u, record %d key %u", chunk_bytes, k, i);
			check_lookup(&ix, rec[k].k[i].type, rec[k].k[i].v, rec[k].k[i].v, what);
		}
	/* whole ranges: a record with no key of a type is in no list of it */
	memset(lo, 0, sizeof(lo));
	memset(hi, 0xff, sizeof(hi));
	for (unsigned t = INDEX_KEY_ADDR4; t <= INDEX_KEY_PROTO; t++) {
		snprintf(what, sizeof(what), "chunks of %u, every key of type %u", chunk_bytes, t);
		check_lookup(&ix, t, lo, hi, what);
	}
	/* values no record carries: the wild records alone */
	lo[0] = hi[0] = 0x7f;
	lo[1] = hi[1] = 0x7f;
	check_lookup(&ix, INDEX_KEY_PORT, lo, hi, "port 32639");
	index_free(&ix);
}

/* Offsets over all chunks of what post_query_chunk leaves; false if a chunk
 * is read whole. */
static bool query(const struct index *ix, const char *expr, bool want[NREC])
{
	struct post_query q;
	struct index_offs o = { 0 };
	bool decided = true;

	memset(want, 0, NREC * sizeof(bool));
	post_query_parse(expr, &q);
	for (uint32_t c = 0; c < ix->nchunks; c++) {
		if (!post_query_chunk(&q, ix, &ix->chunks[c], &o)) {
			decided = false;
			continue;
		}
		for (size_t i = 0; i < o.n; i++)
			for (int k = 0; k < NREC; k++)
				if (rec_off[k] == ix->chunks[c].off + o.v[i])
					want[k] = true;
	}
	free(o.v);
	return decided;
}

static void test_query(void)
{
	struct index ix = build_index(0);
	bool got[NREC];

	/* wild records (11) are in every answer, wild-protocol ones (10) in
	 * every answer about ports and protocols */
	CHECK(query(&ix, "host 10.0.0.1", got) && got[0] && got[1] && got[4] && got[5] && got[9] && !got[2] &&
	      !got[3] && !got[10] && got[11], "host");
	CHECK(query(&ix, "port 53", got) && got[1] && got[4] && !got[0] && !got[9] && got[10], "port");
	CHECK(query(&ix, "udp and host 10.0.0.1", got) && got[1] && got[4] && got[9] && !got[0] && !got[5],
	      "and intersects");
	CHECK(query(&ix, "host 10.0.0.1 and port 80", got) && got[0] && !got[1] && !got[4] && !got[10],
	      "host and port");
	CHECK(query(&ix, "icmp or tcp port 443", got) && got[2] && got[3] && !got[0] && !got[1], "or unites");
	CHECK(query(&ix, "(host 10.0.0.2 or host 10.0.0.4) and udp", got) && got[4] && !got[0] && !got[2],
	      "parentheses");
	/* one protocol key for IPv4 and IPv6: the filter tells them apart */
	CHECK(query(&ix, "ip6 proto 6", got) && got[3] && got[0] && !got[2], "ip6 proto");
	CHECK(query(&ix, "portrange 2000-2222", got) && got[1] && !got[7] && !got[3], "portrange");
	CHECK(query(&ix, "host 10.0.0.1 and not tcp", got) && got[0] && got[1], "not is every record");
	CHECK(!query(&ix, "not host 10.0.0.1", got), "not alone: read whole");
	CHECK(!query(&ix, "host 10.0.0.1 or len > 100", got), "or with what it cannot decide: read whole");
	CHECK(query(&ix, "len > 100 and port 53", got) && got[1] && !got[0], "and with what it cannot decide");
	CHECK(!query(&ix, "vlan and port 53", got), "vlan moves the offsets: read whole");
	CHECK(!query(&ix, "host 10.0.0.1 and (port 53", got), "unbalanced: read whole");
	CHECK(!query(&ix, "", got), "no expression: read whole");
	index_free(&ix);
}

int main(void)
{
	craft();
	test_keys(0);
	test_keys(64); /* a chunk per record or two */
	test_query();
	return unit_exit("test_index_postings");
}
