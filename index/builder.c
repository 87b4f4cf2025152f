/*
 * The incremental index builder. Records come in file order; the open chunk
 * keeps its addresses in two small open-addressing hash sets (one IPv4, one
 * IPv6) that are sorted into the index's arrays when the chunk closes. A set
 * that fills up marks the chunk "any address" and stops collecting.
 *
 * Its postings: a hash of the chunk's keys, and per record one (key, offset)
 * entry per key it carries, appended as records come (nothing else per
 * packet); when the chunk closes the entries are bucketed by key and encoded
 * (postings_encode). Too many keys mark the chunk "no postings".
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "index/index_impl.h"
#include "util/util.h"

#define SET4_SLOTS (2 * INDEX_MAX_ADDR4) /* power of two, at most half full */
#define SET6_SLOTS (2 * INDEX_MAX_ADDR6)
#define KEY_SLOTS (2 * INDEX_MAX_KEYS)

struct pkey {
	union {
		uint8_t v[16];    /* the value, network order, zero past its length */
		uint64_t q[2];
	};
	uint32_t type;
};

/* One key a record carries: the key's number in the open chunk, the record's
 * offset from the chunk's first record. */
struct post_ent {
	uint32_t key, rel;
};

/* The open chunk's postings. */
struct post_set {
	struct pkey keys[INDEX_MAX_KEYS];
	uint32_t last[INDEX_MAX_KEYS];  /* 1 + offset of the last record added to it */
	uint32_t count[INDEX_MAX_KEYS];
	uint32_t slot[KEY_SLOTS];       /* key number + 1, 0 free */
	/* ports and protocols by value, no hashing: key number + 1 where
	 * port_gen matches gen (so a new chunk clears nothing) */
	uint32_t port_key[65536], port_gen[65536], gen;
	uint32_t proto_key[256];
	/* IPv4 addresses, hashed as numbers: key number + 1 (0 free) */
	uint32_t a4_val[KEY_SLOTS], a4_key[KEY_SLOTS];
	uint32_t nkeys;
	struct post_ent *ent;
	size_t nent, cap;
};

struct index_builder {
	struct pcap_file_info fi;
	struct index ix;            /* closed chunks */
	uint64_t end;               /* past the last record added */
	bool open;
	struct index_chunk cur;     /* the open chunk (n4/n6 count its sets) */
	uint32_t set4[SET4_SLOTS];  /* 0 marks a free slot; 0.0.0.0 is has_zero4 */
	bool used6[SET6_SLOTS];
	uint8_t set6[SET6_SLOTS][16];
	bool has_zero4;
	struct post_set ps;
	size_t post_cap;            /* bytes allocated at ix.post */
	bool without_postings;      /* every new chunk "no postings" */
};

static uint32_t hash32(uint32_t v)
{
	v ^= v >> 16;
	v *= 0x7feb352du;
	v ^= v >> 15;
	v *= 0x846ca68bu;
	return v ^ (v >> 16);
}

static void set_clear(struct index_builder *b)
{
	memset(b->set4, 0, sizeof(b->set4));
	memset(b->used6, 0, sizeof(b->used6));
	b->has_zero4 = false;
	memset(b->ps.slot, 0, sizeof(b->ps.slot));
	memset(b->ps.proto_key, 0, sizeof(b->ps.proto_key));
	memset(b->ps.a4_key, 0, sizeof(b->ps.a4_key));
	if (!++b->ps.gen) { /* wrapped: the stamps of old could match again */
		memset(b->ps.port_gen, 0, sizeof(b->ps.port_gen));
		b->ps.gen = 1;
	}
	b->ps.nkeys = 0;
	b->ps.nent = 0;
}

static void no_postings(struct index_builder *b)
{
	b->cur.flags |= INDEX_CHUNK_NO_POSTINGS;
	b->ps.nent = 0;
}

/* A new key in the open chunk: its number, or UINT32_MAX when there are too
 * many (the chunk then has no postings). */
static uint32_t new_key(struct index_builder *b, const struct pkey *k)
{
	struct post_set *ps = &b->ps;
	uint32_t n;

	if (ps->nkeys == INDEX_MAX_KEYS) {
		no_postings(b);
		return UINT32_MAX;
	}
	n = ps->nkeys++;
	ps->keys[n] = *k;
	ps->last[n] = 0;
	ps->count[n] = 0;
	return n;
}

static void post_n(struct index_builder *b, uint32_t n, uint32_t rel);

/* A port or protocol: by value in a table, not hashed. */
static void post_small(struct index_builder *b, unsigned type, uint16_t value, uint32_t rel)
{
	struct post_set *ps = &b->ps;
	struct pkey k = { .type = type };
	uint32_t n;

	if (type == INDEX_KEY_PROTO && ps->proto_key[value & 0xff]) {
		n = ps->proto_key[value & 0xff] - 1;
	} else if (type == INDEX_KEY_PORT && ps->port_gen[value] == ps->gen) {
		n = ps->port_key[value] - 1;
	} else {
		if (type == INDEX_KEY_PROTO) {
			k.v[0] = (uint8_t)value;
		} else {
			k.v[0] = (uint8_t)(value >> 8);
			k.v[1] = (uint8_t)value;
		}
		n = new_key(b, &k);
		if (n == UINT32_MAX)
			return;
		if (type == INDEX_KEY_PROTO) {
			ps->proto_key[value & 0xff] = n + 1;
		} else {
			ps->port_key[value] = n + 1;
			ps->port_gen[value] = ps->gen;
		}
	}
	post_n(b, n, rel);
}

/* An IPv4 address (a number, a.b.c.d = a<<24|...). */
static void post_addr4(struct index_builder *b, uint32_t a, uint32_t rel)
{
	struct post_set *ps = &b->ps;
	struct pkey k = { .type = INDEX_KEY_ADDR4 };
	uint32_t i, n;

	for (i = hash32(a) & (KEY_SLOTS - 1); ps->a4_key[i]; i = (i + 1) & (KEY_SLOTS - 1))
		if (ps->a4_val[i] == a) {
			post_n(b, ps->a4_key[i] - 1, rel);
			return;
		}
	k.v[0] = (uint8_t)(a >> 24);
	k.v[1] = (uint8_t)(a >> 16);
	k.v[2] = (uint8_t)(a >> 8);
	k.v[3] = (uint8_t)a;
	n = new_key(b, &k);
	if (n == UINT32_MAX)
		return;
	ps->a4_val[i] = a;
	ps->a4_key[i] = n + 1;
	post_n(b, n, rel);
}

/* Record at `rel` carries key `k`. Called for every key of every record:
 * the key is compared as two words and its type, with no call. */
static void post_add(struct index_builder *b, const struct pkey *k, uint32_t rel)
{
	struct post_set *ps = &b->ps;
	uint64_t x = k->q[0] ^ (k->q[1] * 0x9e3779b97f4a7c15ull) ^ k->type;
	uint32_t h = hash32((uint32_t)x ^ (uint32_t)(x >> 32)), i, n;

	for (i = h & (KEY_SLOTS - 1); ps->slot[i]; i = (i + 1) & (KEY_SLOTS - 1)) {
		const struct pkey *o = &ps->keys[ps->slot[i] - 1];

		if (o->q[0] == k->q[0] && o->q[1] == k->q[1] && o->type == k->type) {
			n = ps->slot[i] - 1;
			goto found;
		}
	}
	n = new_key(b, k);
	if (n == UINT32_MAX)
		return;
	ps->slot[i] = n + 1;
found:
	post_n(b, n, rel);
}

/* Key number `n` of the open chunk is carried by the record at `rel`. */
static void post_n(struct index_builder *b, uint32_t n, uint32_t rel)
{
	struct post_set *ps = &b->ps;

	if (ps->last[n] == rel + 1)
		return; /* the same key twice in one record (src == dst) */
	ps->last[n] = rel + 1;
	ps->count[n]++;
	if (ps->nent == ps->cap) {
		ps->cap = ps->cap ? 2 * ps->cap : 4096;
		ps->ent = xrealloc(ps->ent, ps->cap, sizeof(*ps->ent));
	}
	ps->ent[ps->nent++] = (struct post_ent){ n, rel };
}

/* The keys of one record of the open chunk (see index.h, "Postings"). */
static void post_record(struct index_builder *b, uint64_t file_offset, bool addrs_ok,
			const struct frame_addrs *fa, const uint8_t *frame, uint32_t frame_len)
{
	uint64_t rel64 = file_offset - b->cur.off;
	uint32_t rel = (uint32_t)rel64;
	struct frame_l4 l4;
	struct pkey k = { .type = INDEX_KEY_WILD };

	if (rel64 >= UINT32_MAX) { /* a chunk over 4 GiB: offsets do not fit */
		no_postings(b);
		return;
	}
	if (!addrs_ok) {
		post_add(b, &k, rel);
		return;
	}
	if (!index_frame_l4(b->fi.linktype, frame, frame_len, &l4)) {
		k.type = INDEX_KEY_WILD_L4;
		post_add(b, &k, rel);
	}
	for (unsigned i = 0; i < fa->n4; i++)
		post_addr4(b, fa->a4[i], rel);
	k.type = INDEX_KEY_ADDR6;
	for (unsigned i = 0; i < fa->n6; i++) {
		memcpy(k.v, fa->a6[i], 16);
		post_add(b, &k, rel);
	}
	if (l4.has_proto)
		post_small(b, INDEX_KEY_PROTO, l4.proto, rel);
	for (unsigned i = 0; i < l4.nports; i++)
		post_small(b, INDEX_KEY_PORT, l4.port[i], rel);
}

/* A varint of a block index_parse checked (or this builder wrote). */
static const uint8_t *get_varint_trusted(const uint8_t *p, uint64_t *v)
{
	uint64_t x = 0;

	for (int shift = 0;; shift += 7) {
		x |= (uint64_t)(*p & 0x7f) << shift;
		if (!(*p++ & 0x80))
			break;
	}
	*v = x;
	return p;
}

static void put_varint(uint8_t **p, uint64_t v)
{
	while (v >= 0x80) {
		*(*p)++ = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	*(*p)++ = (uint8_t)v;
}

/* A key and its number in the open chunk, to sort the keys into order. */
struct numbered_key {
	struct pkey k;
	uint32_t n;
};

static int cmp_key(const void *a, const void *b)
{
	const struct pkey *x = a, *y = b;

	if (x->type != y->type)
		return x->type < y->type ? -1 : 1;
	return memcmp(x->v, y->v, sizeof(x->v));
}

/* Encode the open chunk's postings at the end of dst->post (*cap bytes
 * allocated there, grown by doubling: a file's postings are megabytes, and
 * copying them at every chunk would cost more than building them); sets c's
 * postings fields. */
static void postings_encode(const struct post_set *ps, struct index *dst, size_t *cap, struct index_chunk *c)
{
	struct numbered_key *order;
	uint32_t *start, *rel, *fill;
	size_t bound = (size_t)ps->nkeys * 40 + ps->nent * 5;
	uint8_t *p, *tmp;

	c->post_off = dst->npost;
	c->post_len = c->nkeys = 0;
	if (c->flags & INDEX_CHUNK_NO_POSTINGS || !ps->nkeys)
		return;
	/* the entries bucketed by key (counting sort: each key's entries stay
	 * in record order), the keys sorted */
	start = xcalloc(ps->nkeys + 1, sizeof(*start));
	rel = xcalloc(ps->nent + 1, sizeof(*rel));
	for (uint32_t k = 0; k < ps->nkeys; k++)
		start[k + 1] = start[k] + ps->count[k];
	fill = xcalloc(ps->nkeys + 1, sizeof(*fill));
	memcpy(fill, start, ps->nkeys * sizeof(*fill));
	for (size_t i = 0; i < ps->nent; i++)
		rel[fill[ps->ent[i].key]++] = ps->ent[i].rel;
	xfree(fill);
	order = xcalloc(ps->nkeys, sizeof(*order));
	for (uint32_t k = 0; k < ps->nkeys; k++)
		order[k] = (struct numbered_key){ ps->keys[k], k };
	qsort(order, ps->nkeys, sizeof(*order), cmp_key);
	if (*cap < dst->npost + bound) {
		*cap = 2 * *cap > dst->npost + bound ? 2 * *cap : dst->npost + bound;
		dst->post = xrealloc(dst->post, *cap, 1);
	}
	p = dst->post + dst->npost;
	tmp = xcalloc(1, (size_t)ps->nent * 5 + 1);
	for (uint32_t j = 0; j < ps->nkeys; j++) {
		uint32_t k = order[j].n;
		const struct pkey *key = &ps->keys[k];
		uint8_t *q = tmp;
		uint32_t prev = 0;

		for (uint32_t i = start[k]; i < start[k + 1]; i++) {
			put_varint(&q, rel[i] - prev);
			prev = rel[i];
		}
		*p++ = key->type;
		memcpy(p, key->v, (size_t)index_key_len(key->type));
		p += index_key_len(key->type);
		put_varint(&p, ps->count[k]);
		put_varint(&p, (uint64_t)(q - tmp));
		memcpy(p, tmp, (size_t)(q - tmp));
		p += q - tmp;
	}
	c->nkeys = ps->nkeys;
	c->post_len = (uint32_t)(p - (dst->post + dst->npost));
	dst->npost += c->post_len;
	xfree(tmp);
	xfree(start);
	xfree(rel);
	xfree(order);
}

static void chunk_any(struct index_builder *b)
{
	b->cur.flags |= INDEX_CHUNK_ANY_ADDR;
	b->cur.n4 = b->cur.n6 = 0;
}

static void set_add4(struct index_builder *b, uint32_t a)
{
	uint32_t i;

	if (!a) {
		b->cur.n4 += !b->has_zero4;
		b->has_zero4 = true;
		goto check;
	}
	for (i = hash32(a) & (SET4_SLOTS - 1); b->set4[i]; i = (i + 1) & (SET4_SLOTS - 1))
		if (b->set4[i] == a)
			return;
	b->set4[i] = a;
	b->cur.n4++;
check:
	if (b->cur.n4 > INDEX_MAX_ADDR4)
		chunk_any(b);
}

static void set_add6(struct index_builder *b, const uint8_t *a)
{
	uint32_t h, i;

	memcpy(&h, a + 12, 4);
	for (i = hash32(h ^ a[0] ^ (uint32_t)a[7] << 8) & (SET6_SLOTS - 1); b->used6[i];
	     i = (i + 1) & (SET6_SLOTS - 1))
		if (!memcmp(b->set6[i], a, 16))
			return;
	b->used6[i] = true;
	memcpy(b->set6[i], a, 16);
	if (++b->cur.n6 > INDEX_MAX_ADDR6)
		chunk_any(b);
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static int cmp_a6(const void *a, const void *b)
{
	return memcmp(a, b, 16);
}

/* Append the open chunk, its sets sorted, to `dst` (the builder's own index
 * when it closes, a snapshot's copy otherwise). */
static void emit_open_chunk(const struct index_builder *b, struct index *dst, size_t *post_cap)
{
	struct index_chunk c = b->cur;
	uint32_t k;

	c.a4 = dst->naddr4;
	c.a6 = dst->naddr6;
	if (!(c.flags & INDEX_CHUNK_ANY_ADDR)) {
		dst->addr4 = xrealloc(dst->addr4, dst->naddr4 + c.n4, sizeof(*dst->addr4));
		k = dst->naddr4;
		if (b->has_zero4)
			dst->addr4[k++] = 0;
		for (uint32_t i = 0; i < SET4_SLOTS; i++)
			if (b->set4[i])
				dst->addr4[k++] = b->set4[i];
		qsort(dst->addr4 + dst->naddr4, c.n4, sizeof(uint32_t), cmp_u32);
		dst->naddr4 += c.n4;

		dst->addr6 = xrealloc(dst->addr6, dst->naddr6 + c.n6, sizeof(*dst->addr6));
		k = dst->naddr6;
		for (uint32_t i = 0; i < SET6_SLOTS; i++)
			if (b->used6[i])
				memcpy(dst->addr6[k++], b->set6[i], 16);
		qsort(dst->addr6 + dst->naddr6, c.n6, 16, cmp_a6);
		dst->naddr6 += c.n6;
	}
	postings_encode(&b->ps, dst, post_cap, &c);
	dst->chunks = xrealloc(dst->chunks, dst->nchunks + 1, sizeof(*dst->chunks));
	dst->chunks[dst->nchunks++] = c;
}

static void close_chunk(struct index_builder *b)
{
	if (!b->open)
		return;
	emit_open_chunk(b, &b->ix, &b->post_cap);
	b->open = false;
	set_clear(b);
}

/* Take chunk `c`'s postings back into the open chunk's set (a resumed file).
 * Entries come key by key; a key's count and last offset come out right, and
 * the encoder buckets entries by key, so their order does not matter. */
static void postings_reload(struct index_builder *b, const struct index_chunk *c)
{
	const uint8_t *p = b->ix.post + c->post_off, *end = p + c->post_len;

	if (c->flags & INDEX_CHUNK_NO_POSTINGS)
		return;
	while (p < end) {
		unsigned type = *p++;
		int vlen = index_key_len(type);
		struct pkey k = { .type = type };
		uint64_t n, bytes, at = 0;

		memcpy(k.v, p, (size_t)vlen);
		p += vlen;
		p = get_varint_trusted(p, &n);
		p = get_varint_trusted(p, &bytes);
		for (uint64_t i = 0; i < n; i++) {
			uint64_t d;

			p = get_varint_trusted(p, &d);
			at += d;
			if (type == INDEX_KEY_PORT)
				post_small(b, type, (uint16_t)(k.v[0] << 8 | k.v[1]), (uint32_t)at);
			else if (type == INDEX_KEY_PROTO)
				post_small(b, type, k.v[0], (uint32_t)at);
			else if (type == INDEX_KEY_ADDR4)
				post_addr4(b, (uint32_t)k.v[0] << 24 | (uint32_t)k.v[1] << 16 | (uint32_t)k.v[2] << 8 | k.v[3],
					   (uint32_t)at);
			else
				post_add(b, &k, (uint32_t)at);
		}
	}
}

int index_builder_new(struct index_builder **out, const uint8_t pcap_header[PCAP_FILE_HEADER_LEN],
		      uint32_t chunk_bytes)
{
	struct index_builder *b;
	struct pcap_file_info fi;

	if (pcap_file_header_parse(pcap_header, PCAP_FILE_HEADER_LEN, &fi))
		return -EINVAL;
	b = xcalloc(1, sizeof(*b));
	b->fi = fi;
	memcpy(b->ix.pcap_header, pcap_header, PCAP_FILE_HEADER_LEN);
	b->ix.chunk_bytes = chunk_bytes ? chunk_bytes : INDEX_CHUNK_BYTES_DEFAULT;
	b->ps.gen = 1; /* port_gen starts all 0: no port of this chunk yet */
	b->ix.good_end = PCAP_FILE_HEADER_LEN;
	b->end = PCAP_FILE_HEADER_LEN;
	*out = b;
	return 0;
}

int index_builder_resume(struct index_builder **out, struct index *ix)
{
	struct index_builder *b;
	struct index_chunk *last;
	int ret;

	ret = index_builder_new(&b, ix->pcap_header, ix->chunk_bytes);
	if (ret)
		return ret;
	b->ix = *ix;
	b->post_cap = b->ix.npost ? b->ix.npost : 1; /* as index_parse allocated it */
	memset(ix, 0, sizeof(*ix));
	b->end = b->ix.good_end;
	if (!b->ix.nchunks)
		goto done;
	/* Reopen a last chunk that has room left, so a file that grows a little
	 * at a time does not get a chunk per growth. */
	last = &b->ix.chunks[b->ix.nchunks - 1];
	if (last->flags & INDEX_CHUNK_ANY_ADDR || last->end - last->off >= b->ix.chunk_bytes)
		goto done;
	b->cur = *last;
	b->cur.n4 = b->cur.n6 = 0;
	b->open = true;
	for (uint32_t i = 0; i < last->n4; i++)
		set_add4(b, b->ix.addr4[last->a4 + i]);
	for (uint32_t i = 0; i < last->n6; i++)
		set_add6(b, b->ix.addr6[last->a6 + i]);
	postings_reload(b, last);
	b->ix.naddr4 -= last->n4;
	b->ix.naddr6 -= last->n6;
	b->ix.npost = last->post_off;
	b->ix.nchunks--;
done:
	*out = b;
	return 0;
}

int index_builder_add(struct index_builder *b, uint64_t file_offset, uint32_t ts_sec, uint32_t ts_frac,
		      const uint8_t *frame, uint32_t caplen)
{
	return index_builder_add_view(b, file_offset, ts_sec, ts_frac, caplen, frame, caplen);
}

void index_builder_without_postings(struct index_builder *b)
{
	b->without_postings = true;
}

int index_builder_add_view(struct index_builder *b, uint64_t file_offset, uint32_t ts_sec,
			   uint32_t ts_frac, uint32_t caplen, const uint8_t *frame, uint32_t frame_len)
{
	uint64_t ns = pcap_ts_ns(&b->fi, ts_sec, ts_frac);
	struct frame_addrs fa;
	bool addrs_ok;

	if (file_offset != b->end || caplen > PCAP_SNAPLEN_MAX)
		return -EINVAL;
	if (b->open && b->cur.end - b->cur.off >= b->ix.chunk_bytes)
		close_chunk(b);
	if (!b->open) {
		memset(&b->cur, 0, sizeof(b->cur));
		b->cur.off = file_offset;
		b->cur.min_ns = UINT64_MAX;
		if (b->without_postings)
			b->cur.flags |= INDEX_CHUNK_NO_POSTINGS;
		b->open = true;
	}
	b->cur.end = file_offset + PCAP_RECORD_HEADER_LEN + caplen;
	b->cur.records++;
	b->cur.min_ns = ns < b->cur.min_ns ? ns : b->cur.min_ns;
	b->cur.max_ns = ns > b->cur.max_ns ? ns : b->cur.max_ns;
	addrs_ok = index_frame_addrs(b->fi.linktype, frame, frame_len, &fa);
	if (!(b->cur.flags & INDEX_CHUNK_NO_POSTINGS))
		post_record(b, file_offset, addrs_ok, &fa, frame, frame_len);
	if (!(b->cur.flags & INDEX_CHUNK_ANY_ADDR)) {
		if (!addrs_ok)
			chunk_any(b);
		for (unsigned i = 0; i < fa.n4 && !(b->cur.flags & INDEX_CHUNK_ANY_ADDR); i++)
			set_add4(b, fa.a4[i]);
		for (unsigned i = 0; i < fa.n6 && !(b->cur.flags & INDEX_CHUNK_ANY_ADDR); i++)
			set_add6(b, fa.a6[i]);
	}
	if (!b->ix.records && !b->ix.nchunks)
		b->ix.first_ns = b->ix.last_ns = ns;
	b->ix.first_ns = ns < b->ix.first_ns ? ns : b->ix.first_ns;
	b->ix.last_ns = ns > b->ix.last_ns ? ns : b->ix.last_ns;
	b->ix.records++;
	b->ix.last_rec_off = file_offset;
	b->ix.last_ts_sec = ts_sec;
	b->ix.last_ts_frac = ts_frac;
	b->ix.last_caplen = caplen;
	b->end = b->ix.good_end = b->cur.end;
	return 0;
}

static void *dup_array(const void *p, size_t n, size_t size)
{
	void *q = xcalloc(n ? n : 1, size);

	if (n)
		memcpy(q, p, n * size);
	return q;
}

int index_builder_snapshot(const struct index_builder *b, uint64_t file_size, int64_t mtime_ns,
			   struct index *ix)
{
	size_t post_cap;

	*ix = b->ix;
	ix->chunks = dup_array(b->ix.chunks, b->ix.nchunks, sizeof(*ix->chunks));
	ix->addr4 = dup_array(b->ix.addr4, b->ix.naddr4, sizeof(*ix->addr4));
	ix->addr6 = dup_array(b->ix.addr6, b->ix.naddr6, sizeof(*ix->addr6));
	ix->post = dup_array(b->ix.post, b->ix.npost, 1);
	ix->sblocks = dup_array(b->ix.sblocks, b->ix.nsblocks, sizeof(*ix->sblocks));
	post_cap = b->ix.npost ? b->ix.npost : 1;
	if (b->open)
		emit_open_chunk(b, ix, &post_cap);
	ix->file_size = file_size;
	ix->file_mtime_ns = mtime_ns;
	return 0;
}

static int builder_write(const struct index_builder *b, const char *capture_path,
			 bool compressed)
{
	char path[4096];
	struct index ix;
	int fd, ret;

	ret = index_path_for(capture_path, path, sizeof(path));
	if (ret)
		return ret;
	fd = open(capture_path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ret = index_builder_snapshot(b, 0, 0, &ix);
	if (ret)
		goto out_close;
	ret = index_identify(fd, &ix, NULL);
	if (!ret && !compressed && ix.file_size < b->end)
		ret = -EINVAL; /* the file is shorter than what was added */
	if (compressed)
		ix.flags |= INDEX_F_COMPRESSED;
	if (!ret)
		ret = index_save(&ix, path);
	index_free(&ix);
out_close:
	close(fd);
	return ret;
}

int index_builder_write(const struct index_builder *b, const char *capture_path)
{
	return builder_write(b, capture_path, false);
}

int index_builder_write_compressed(const struct index_builder *b, const char *capture_path)
{
	return builder_write(b, capture_path, true);
}

uint64_t index_builder_end(const struct index_builder *b)
{
	return b->end;
}

void index_builder_free(struct index_builder *b)
{
	if (!b)
		return;
	index_free(&b->ix);
	xfree(b->ps.ent);
	xfree(b);
}

/* The fields the pcapng builder (builder_pcapng.c) sets around the record
 * path above (index_impl.h). */
void index_builder_parts(struct index_builder *b, struct index_builder_parts *p)
{
	*p = (struct index_builder_parts){ .ix = &b->ix, .end = &b->end, .cur = &b->cur, .fi = &b->fi };
}

void index_builder_break(struct index_builder *b)
{
	close_chunk(b);
}
