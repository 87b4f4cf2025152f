/*
 * index_builder_add_records (the writer's batch path) against the one-record
 * paths: over crafted records (Ethernet, LINUX_SLL and RAW; IPv4 TCP, UDP and
 * ICMP; IPv6, with and without an extension header; ARP; up to five VLAN
 * tags; a 60-byte IPv4 header behind four tags; caplens cut anywhere; a
 * thousand flows), added in batches of several sizes, the index is byte for
 * byte the one index_builder_add (pcap) or index_builder_add_block (pcapng)
 * makes, with small chunks so that many chunks close inside a batch. The
 * batch is given only each frame's first INDEX_FRAME_KEYS_SPAN bytes. A
 * record over PCAP_SNAPLEN_MAX ends a batch with -EINVAL, the records before
 * it in.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "index/index.h"
#include "tests/unit/unit.h"

#define NREC 6000
#define FRAME_MAX 200
#define CHUNK 4096

struct rec {
	uint8_t f[FRAME_MAX];
	uint32_t caplen;
	uint32_t sec, nsec;
	uint32_t linktype;        /* pcapng: its interface's */
	uint16_t iface;
};

static struct rec recs[NREC];

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* An IP packet at `net` (version 4 or 6) of flow `flow`; its end. */
static uint32_t ip_at(uint8_t *f, uint32_t net, unsigned version, unsigned flow, uint64_t r)
{
	static const uint8_t protos[] = { 6, 17, 1, 132, 0, 44 };
	uint8_t proto = protos[r % sizeof(protos)];

	if (version == 4) {
		unsigned ihl = r >> 8 & 1 ? 15 : 5;

		f[net] = (uint8_t)(0x40 | ihl);
		f[net + 6] = r >> 9 & 7 ? 0 : 0x20; /* now and then a fragment */
		f[net + 9] = proto;
		f[net + 12] = 198;
		f[net + 13] = 18;
		put16(f + net + 14, (uint16_t)flow);
		f[net + 16] = 198;
		f[net + 17] = 19;
		f[net + 19] = (uint8_t)(r >> 16);
		put16(f + net + 4 * ihl, (uint16_t)(1024 + flow));
		put16(f + net + 4 * ihl + 2, (uint16_t)(r >> 24 & 3 ? 80 : 53));
		return net + 4 * ihl + 8;
	}
	f[net] = 0x60;
	f[net + 6] = proto;
	f[net + 8] = 0x20;
	f[net + 9] = 0x01;
	f[net + 10] = 0x00;
	f[net + 11] = 0x02;
	put16(f + net + 22, (uint16_t)flow);
	f[net + 24] = 0x20;
	f[net + 25] = 0x01;
	f[net + 39] = (uint8_t)(r >> 16);
	put16(f + net + 40, (uint16_t)(1024 + flow));
	put16(f + net + 42, 443);
	return net + 48;
}

/* Record i of link type `lt`: a kind, a flow and a cut from the generator. */
static void craft(struct rec *x, uint32_t lt, uint64_t *rnd, unsigned i)
{
	uint64_t r = unit_rnd(rnd);
	unsigned kind = r % 8, flow = (unsigned)(r >> 32) % 1000, tags = 0;
	uint32_t type_off = 12, end;

	memset(x->f, 0, sizeof(x->f));
	x->linktype = lt;
	x->sec = 1700000000u + i / 1000;
	x->nsec = (uint32_t)(r >> 40) % 1000000000u;
	if (lt == LINKTYPE_RAW) {
		end = ip_at(x->f, 0, kind % 2 ? 6 : 4, flow, r >> 3);
		goto cut;
	}
	if (lt == LINKTYPE_LINUX_SLL)
		type_off = 14;
	memset(x->f, 0x02, type_off);
	if (kind == 5) /* tagged, a few times over the most the keys follow */
		tags = 1 + (unsigned)(r >> 5) % 5;
	for (unsigned t = 0; t < tags; t++, type_off += 4) {
		put16(x->f + type_off, t % 2 ? 0x88a8 : 0x8100);
		put16(x->f + type_off + 2, (uint16_t)(100 + t));
	}
	switch (kind) {
	case 0:
	case 1:
	case 5:
		put16(x->f + type_off, 0x0800);
		end = ip_at(x->f, type_off + 2, 4, flow, r >> 3);
		break;
	case 2:
	case 3:
		put16(x->f + type_off, 0x86dd);
		end = ip_at(x->f, type_off + 2, 6, flow, r >> 3);
		break;
	case 4: /* ARP: sender and target at libpcap's offsets */
		put16(x->f + type_off, 0x0806);
		x->f[type_off + 2 + 14] = 198;
		x->f[type_off + 2 + 15] = 18;
		put16(x->f + type_off + 2 + 16, (uint16_t)flow);
		x->f[type_off + 2 + 24] = 198;
		x->f[type_off + 2 + 25] = 19;
		end = type_off + 2 + 28;
		break;
	default: /* not IP */
		put16(x->f + type_off, 0x88cc);
		end = type_off + 40;
		break;
	}
cut:
	x->caplen = end + (uint32_t)(r >> 50) % 64; /* a payload: past INDEX_FRAME_KEYS_SPAN at times */
	if (r >> 20 & 1) /* cut anywhere, the link header included */
		x->caplen = (uint32_t)(r >> 44) % (x->caplen + 1);
}

static size_t serialized(const struct index_builder *b, uint8_t **out)
{
	struct index ix;
	size_t len;

	CHECK_EQ(index_builder_snapshot(b, 0, 0, &ix), 0);
	len = index_serialized_len(&ix);
	*out = malloc(len);
	index_serialize(&ix, *out);
	index_free(&ix);
	return len;
}

static void check_same(const struct index_builder *a, const struct index_builder *b, const char *what)
{
	uint8_t *x, *y;
	size_t lx = serialized(a, &x), ly = serialized(b, &y);

	CHECK(lx == ly && !memcmp(x, y, lx), "%s: the batch index (%zu bytes) differs from one by one (%zu)",
	      what, ly, lx);
	free(x);
	free(y);
}

static void to_batch(const struct rec *x, uint32_t len, struct index_rec *r)
{
	*r = (struct index_rec){
		.frame = x->f,
		.frame_len = x->caplen < INDEX_FRAME_KEYS_SPAN ? x->caplen : INDEX_FRAME_KEYS_SPAN,
		.caplen = x->caplen,
		.len = len,
		.linktype = x->linktype,
		.ts_sec = x->sec,
	};
}

/* Batch k's length. */
static unsigned batch_len(unsigned k)
{
	static const unsigned sizes[] = { 1, 7, 64, 200 };

	return sizes[k % 4];
}

/* The NREC records r into `many` from `off`, in batches of 1, 7, 64 and 200
 * in turn; then the same index as `one`'s (both freed). */
static void add_in_batches(struct index_builder *one, struct index_builder *many, uint64_t off,
			   const struct index_rec *r, const char *what)
{
	for (unsigned i = 0, k = 0; i < NREC; k++) {
		unsigned n = NREC - i < batch_len(k) ? NREC - i : batch_len(k);

		CHECK_EQ(index_builder_add_records(many, off, r + i, n), 0);
		i += n;
		off = index_builder_end(many);
	}
	CHECK_EQ(index_builder_end(many), index_builder_end(one));
	check_same(one, many, what);
	index_builder_free(one);
	index_builder_free(many);
}

static void test_pcap(uint32_t lt, bool nano, bool postings)
{
	uint8_t hdr[PCAP_FILE_HEADER_LEN];
	struct index_builder *one, *many;
	struct index_rec *r = calloc(NREC, sizeof(*r));
	uint64_t rnd = 7 + lt, off = PCAP_FILE_HEADER_LEN;
	char what[64];

	snprintf(what, sizeof(what), "pcap, link type %u%s%s", lt, nano ? ", ns" : "",
		 postings ? "" : ", no postings");
	pcap_file_header_encode(hdr, PCAP_SNAPLEN_MAX, nano, lt);
	CHECK_EQ(index_builder_new(&one, hdr, CHUNK), 0);
	CHECK_EQ(index_builder_new(&many, hdr, CHUNK), 0);
	if (!postings) {
		index_builder_without_postings(one);
		index_builder_without_postings(many);
	}
	for (unsigned i = 0; i < NREC; i++) {
		struct rec *x = &recs[i];
		uint32_t frac;

		craft(x, lt, &rnd, i);
		frac = nano ? x->nsec : x->nsec / 1000;
		CHECK_EQ(index_builder_add(one, off, x->sec, frac, x->f, x->caplen), 0);
		to_batch(x, 0, &r[i]);
		r[i].ts_frac = frac;
		off += PCAP_RECORD_HEADER_LEN + x->caplen;
	}
	add_in_batches(one, many, PCAP_FILE_HEADER_LEN, r, what);
	free(r);
}

/* An SHB and one IDB per link type, as the writer's prologue; its length. */
static uint32_t prologue(uint8_t *out, size_t room, struct index_builder *a, struct index_builder *b,
			 const uint32_t *lts, unsigned nlt)
{
	struct pcapng_shb_opts sec = { .userappl = "test" };
	uint32_t off = (uint32_t)pcapng_shb_encode(out, room, &sec);

	CHECK_EQ(index_builder_add_sblock(a, 0, off, PCAPNG_BT_SHB), 0);
	CHECK_EQ(index_builder_add_sblock(b, 0, off, PCAPNG_BT_SHB), 0);
	for (unsigned i = 0; i < nlt; i++) {
		struct pcapng_idb d = { .linktype = lts[i], .snaplen = PCAP_SNAPLEN_MAX, .nano = true };
		uint32_t len = (uint32_t)pcapng_idb_encode(out + off, room - off, &d);

		CHECK_EQ(index_builder_add_sblock(a, off, len, PCAPNG_BT_IDB), 0);
		CHECK_EQ(index_builder_add_sblock(b, off, len, PCAPNG_BT_IDB), 0);
		off += len;
	}
	return off;
}

static void test_pcapng(void)
{
	static const uint32_t lts[] = { LINKTYPE_ETHERNET, LINKTYPE_LINUX_SLL, LINKTYPE_RAW };
	uint8_t shb[4096];
	struct index_builder *one, *many;
	struct index_rec *r = calloc(NREC, sizeof(*r));
	uint64_t rnd = 99, off, start;

	pcapng_shb_encode(shb, sizeof(shb), &(struct pcapng_shb_opts){ .userappl = "test" });
	CHECK_EQ(index_builder_new_pcapng(&one, shb, CHUNK), 0);
	CHECK_EQ(index_builder_new_pcapng(&many, shb, CHUNK), 0);
	start = off = prologue(shb, sizeof(shb), one, many, lts, 3);
	for (unsigned i = 0; i < NREC; i++) {
		struct rec *x = &recs[i];
		uint32_t len, head[2];

		craft(x, lts[i % 3 ? 0 : i % 2 + 1], &rnd, i);
		len = pcapng_epb_len(x->caplen, i % 3 ? 0 : 1);
		head[0] = PCAPNG_BT_EPB;
		head[1] = len;
		CHECK_EQ(index_builder_add_block(one, off, len, (const uint8_t *)head,
						 (uint64_t)x->sec * 1000000000u + x->nsec, x->linktype, x->f,
						 x->caplen),
			 0);
		to_batch(x, len, &r[i]);
		r[i].ts_frac = x->nsec;
		off += len;
	}
	add_in_batches(one, many, start, r, "pcapng");
	free(r);
}

/* A record the builder refuses ends the batch; those before it are in. */
static void test_refused(void)
{
	uint8_t hdr[PCAP_FILE_HEADER_LEN];
	struct index_builder *one, *many;
	struct index_rec r[10];
	uint64_t rnd = 3, off = PCAP_FILE_HEADER_LEN;

	pcap_file_header_encode(hdr, PCAP_SNAPLEN_MAX, false, LINKTYPE_ETHERNET);
	CHECK_EQ(index_builder_new(&one, hdr, CHUNK), 0);
	CHECK_EQ(index_builder_new(&many, hdr, CHUNK), 0);
	for (unsigned i = 0; i < 10; i++) {
		craft(&recs[i], LINKTYPE_ETHERNET, &rnd, i);
		to_batch(&recs[i], 0, &r[i]);
		r[i].ts_frac = recs[i].nsec / 1000;
		if (i < 6)
			CHECK_EQ(index_builder_add(one, off, recs[i].sec, r[i].ts_frac, recs[i].f, recs[i].caplen), 0);
		off += PCAP_RECORD_HEADER_LEN + recs[i].caplen;
	}
	r[6].caplen = PCAP_SNAPLEN_MAX + 1;
	CHECK_EQ(index_builder_add_records(many, PCAP_FILE_HEADER_LEN, r, 10), -EINVAL);
	CHECK_EQ(index_builder_end(many), index_builder_end(one));
	check_same(one, many, "refused");
	CHECK_EQ(index_builder_add_records(many, PCAP_FILE_HEADER_LEN, r, 1), -EINVAL); /* not at the end */
	index_builder_free(one);
	index_builder_free(many);
}

int main(void)
{
	static const uint32_t lts[] = { LINKTYPE_ETHERNET, LINKTYPE_LINUX_SLL, LINKTYPE_RAW };

	for (unsigned i = 0; i < 3; i++)
		test_pcap(lts[i], i == 1, true);
	test_pcap(LINKTYPE_ETHERNET, false, false);
	test_pcapng();
	test_refused();
	return unit_exit("test_index_batch");
}
