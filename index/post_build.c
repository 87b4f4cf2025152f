/*
 * The open chunk's postings (see post_build.h for the shape). The tables that
 * map a key to its number are stamped with the chunk's generation instead of
 * cleared, so a new chunk costs nothing per slot: clearing half a megabyte of
 * tables every thousand records would cost more than the records.
 */
#include <stdlib.h>
#include <string.h>

#include "index/post_build_impl.h"
#include "util/util.h"


static void reset_tables(struct post_build *pb)
{
	memset(pb->slot, 0, sizeof(pb->slot));
	memset(pb->a4, 0, sizeof(pb->a4));
	memset(pb->port, 0, sizeof(pb->port));
	memset(pb->proto, 0, sizeof(pb->proto));
	for (uint32_t i = 0; i < FLOW_SLOTS; i++)
		pb->flows[i].gen = 0;
}

void post_build_reset(struct post_build *pb)
{
	if (!++pb->gen) { /* wrapped: the stamps of old could match again */
		reset_tables(pb);
		pb->gen = 1;
	}
	pb->last = NULL;
	pb->nkeys = 0;
	pb->ntup = 1; /* tup[0] stays: the records with no key */
	pb->ntkey = 0;
	pb->nrec = 0;
}

struct post_build *post_build_new(void)
{
	struct post_build *pb = xcalloc(1, sizeof(*pb));

	pb->tup_cap = 1024;
	pb->tup = xcalloc(pb->tup_cap, sizeof(*pb->tup)); /* tup[0]: no key */
	post_build_reset(pb);
	return pb;
}

void post_build_free(struct post_build *pb)
{
	if (!pb)
		return;
	xfree(pb->tup);
	xfree(pb->tkey);
	xfree(pb->rec);
	xfree(pb);
}

/* ----------------------------------------------------------- key numbers */

/* A new key: its number, or UINT32_MAX when there are too many. */
static uint32_t new_key(struct post_build *pb, const struct pkey *k)
{
	if (pb->nkeys == INDEX_MAX_KEYS)
		return UINT32_MAX;
	pb->keys[pb->nkeys] = *k;
	return pb->nkeys++;
}

/* A port or protocol: by value in a table, not hashed. */
static uint32_t key_small(struct post_build *pb, unsigned type, uint16_t value)
{
	struct key_slot *s = type == INDEX_KEY_PROTO ? &pb->proto[value & 0xff] : &pb->port[value];
	struct pkey k = { .type = type };

	if (s->gen == pb->gen)
		return s->key;
	if (type == INDEX_KEY_PROTO) {
		k.v[0] = (uint8_t)value;
	} else {
		k.v[0] = (uint8_t)(value >> 8);
		k.v[1] = (uint8_t)value;
	}
	s->key = new_key(pb, &k);
	if (s->key != UINT32_MAX)
		s->gen = pb->gen;
	return s->key;
}

/* An IPv4 address (a number, a.b.c.d = a<<24|...). */
static uint32_t key_addr4(struct post_build *pb, uint32_t a)
{
	struct pkey k = { .type = INDEX_KEY_ADDR4 };
	uint32_t i;

	for (i = index_hash32(a) & (KEY_SLOTS - 1); pb->a4[i].gen == pb->gen; i = (i + 1) & (KEY_SLOTS - 1))
		if (pb->a4[i].val == a)
			return pb->a4[i].key;
	k.v[0] = (uint8_t)(a >> 24);
	k.v[1] = (uint8_t)(a >> 16);
	k.v[2] = (uint8_t)(a >> 8);
	k.v[3] = (uint8_t)a;
	k.type = INDEX_KEY_ADDR4;
	pb->a4[i].key = new_key(pb, &k);
	if (pb->a4[i].key == UINT32_MAX)
		return UINT32_MAX;
	pb->a4[i].val = a;
	pb->a4[i].gen = pb->gen;
	return pb->a4[i].key;
}

/* Any other key (IPv6, wild), hashed whole. */
static uint32_t key_hashed(struct post_build *pb, const struct pkey *k)
{
	uint64_t x = k->q[0] ^ (k->q[1] * 0x9e3779b97f4a7c15ull) ^ k->type;
	uint32_t i, n;

	for (i = index_hash32((uint32_t)x ^ (uint32_t)(x >> 32)) & (KEY_SLOTS - 1); pb->slot[i].gen == pb->gen;
	     i = (i + 1) & (KEY_SLOTS - 1)) {
		const struct pkey *o = &pb->keys[pb->slot[i].key];

		if (o->q[0] == k->q[0] && o->q[1] == k->q[1] && o->type == k->type)
			return pb->slot[i].key;
	}
	n = new_key(pb, k);
	if (n == UINT32_MAX)
		return UINT32_MAX;
	pb->slot[i].key = n;
	pb->slot[i].gen = pb->gen;
	return n;
}

/* A key of any type, from its encoded value (a reloaded block). */
static uint32_t key_of(struct post_build *pb, const struct pkey *k)
{
	switch (k->type) {
	case INDEX_KEY_PORT:
		return key_small(pb, k->type, (uint16_t)(k->v[0] << 8 | k->v[1]));
	case INDEX_KEY_PROTO:
		return key_small(pb, k->type, k->v[0]);
	case INDEX_KEY_ADDR4:
		return key_addr4(pb, (uint32_t)k->v[0] << 24 | (uint32_t)k->v[1] << 16 | (uint32_t)k->v[2] << 8 |
					     k->v[3]);
	default:
		return key_hashed(pb, k);
	}
}

/* ---------------------------------------------------------------- tuples */

/* The table slots where the IPv4 addresses, protocol and ports of *fk are
 * looked up, asked for together: a new chunk finds them in cold memory (one
 * per flow and key), and in turn each would wait alone. */
static void prefetch_keys(const struct post_build *pb, const struct frame_keys *fk)
{
	for (unsigned i = 0; i < fk->a.n4; i++)
		__builtin_prefetch(&pb->a4[index_hash32(fk->a.a4[i]) & (KEY_SLOTS - 1)]);
	if (fk->l4.has_proto)
		__builtin_prefetch(&pb->proto[fk->l4.proto]);
	for (unsigned i = 0; i < fk->l4.nports; i++)
		__builtin_prefetch(&pb->port[fk->l4.port[i]]);
}

/* Keep a tuple of `n` distinct key numbers: its number. */
static uint32_t tuple_push(struct post_build *pb, const uint32_t *keys, uint32_t n)
{
	pb->tkey = index_grow(pb->tkey, &pb->tkey_cap, pb->ntkey + n, sizeof(*pb->tkey));
	memcpy(pb->tkey + pb->ntkey, keys, n * sizeof(*keys));
	pb->tup = index_grow(pb->tup, &pb->tup_cap, pb->ntup + 1, sizeof(*pb->tup));
	pb->tup[pb->ntup] = (struct tuple){ .first = (uint32_t)pb->ntkey, .n = n };
	pb->ntkey += n;
	return (uint32_t)pb->ntup++;
}

/* Add key number `k` to keys[*n] unless it is there (src == dst). */
static void tuple_put(uint32_t *keys, uint32_t *n, uint32_t k)
{
	for (uint32_t i = 0; i < *n; i++)
		if (keys[i] == k)
			return;
	keys[(*n)++] = k;
}

/* The tuple of keys *fk (see index.h, "Postings"): 0 for none, UINT32_MAX
 * when a key does not fit. */
static uint32_t tuple_of(struct post_build *pb, const struct frame_keys *fk)
{
	uint32_t keys[TUPLE_MAX_KEYS], n = 0, k = 0;
	struct pkey key = { .type = INDEX_KEY_WILD };

	if (!fk->addrs_ok) {
		k = key_hashed(pb, &key);
		tuple_put(keys, &n, k);
		goto done;
	}
	prefetch_keys(pb, fk);
	if (!fk->l4_ok) {
		key.type = INDEX_KEY_WILD_L4;
		k = key_hashed(pb, &key);
		tuple_put(keys, &n, k);
	}
	for (unsigned i = 0; i < fk->a.n4 && k != UINT32_MAX; i++) {
		k = key_addr4(pb, fk->a.a4[i]);
		tuple_put(keys, &n, k);
	}
	key.type = INDEX_KEY_ADDR6;
	for (unsigned i = 0; i < fk->a.n6 && k != UINT32_MAX; i++) {
		memcpy(key.v, fk->a.a6[i], 16);
		k = key_hashed(pb, &key);
		tuple_put(keys, &n, k);
	}
	if (fk->l4.has_proto && k != UINT32_MAX) {
		k = key_small(pb, INDEX_KEY_PROTO, fk->l4.proto);
		tuple_put(keys, &n, k);
	}
	for (unsigned i = 0; i < fk->l4.nports && k != UINT32_MAX; i++) {
		k = key_small(pb, INDEX_KEY_PORT, fk->l4.port[i]);
		tuple_put(keys, &n, k);
	}
done:
	if (k == UINT32_MAX)
		return UINT32_MAX;
	return n ? tuple_push(pb, keys, n) : 0;
}

/* *fk packed for the cache; false when it does not fit (never, for the
 * link layers index_frame_keys walks: at most two addresses of one kind). */
static bool flow_of(const struct frame_keys *fk, struct post_flow *f)
{
	const struct frame_addrs *a = &fk->a;

	if (a->n4 + a->n6 > 2 || (a->n4 && a->n6))
		return false;
	f->q[0] = f->q[1] = f->q[2] = f->q[3] = 0;
	if (a->n6) {
		memcpy(&f->q[0], a->a6[0], 16);
		if (a->n6 > 1)
			memcpy(&f->q[2], a->a6[1], 16);
	} else {
		f->q[0] = a->n4 ? a->a4[0] : 0;
		f->q[1] = a->n4 > 1 ? a->a4[1] : 0;
	}
	f->q[4] = (uint64_t)fk->l4.port[0] | (uint64_t)fk->l4.port[1] << 16 | (uint64_t)fk->l4.proto << 32 |
		  (uint64_t)a->n4 << 40 | (uint64_t)a->n6 << 44 | (uint64_t)fk->l4.nports << 48 |
		  (uint64_t)fk->l4.has_proto << 52 | (uint64_t)fk->addrs_ok << 53 | (uint64_t)fk->l4_ok << 54;
	return true;
}

static uint32_t flow_hash(const uint64_t q[5])
{
	uint64_t x = (q[0] ^ q[2]) * 0x9e3779b97f4a7c15ull ^ (q[1] ^ q[3]) * 0xc2b2ae3d27d4eb4full ^
		     q[4] * 0x165667b19e3779f9ull;

	return (uint32_t)((x ^ x >> 29) * 0xbf58476d1ce4e5b9ull >> (64 - FLOW_BITS));
}

static bool flow_eq(const uint64_t x[5], const uint64_t y[5])
{
	return !((x[0] ^ y[0]) | (x[1] ^ y[1]) | (x[2] ^ y[2]) | (x[3] ^ y[3]) | (x[4] ^ y[4]));
}

static unsigned full(struct post_build *pb)
{
	pb->nrec = 0;
	return POST_FULL;
}

/* Once per record: inline in the caller (only the rare growth calls out). */
static inline void keep(struct post_build *pb, uint32_t rel, uint32_t t)
{
	if (!t)
		return; /* no key: in no list */
	pb->rec = index_grow(pb->rec, &pb->rec_cap, pb->nrec + 1, sizeof(*pb->rec));
	pb->rec[pb->nrec++] = (struct post_rec){ rel, t };
	pb->tup[t].count++;
}

void post_build_flow(const struct post_build *pb, const struct frame_keys *fk, struct post_flow *pf,
		     const struct post_flow *prev)
{
	const struct flow_slot *s;

	pf->ok = flow_of(fk, pf);
	if (!pf->ok)
		return;
	if (prev && prev->ok && flow_eq(prev->q, pf->q)) {
		pf->slot = prev->slot; /* a run of one flow: hashed and asked for once */
		return;
	}
	pf->slot = flow_hash(pf->q);
	s = &pb->flows[pf->slot];
	__builtin_prefetch(s); /* a slot may straddle two lines */
	__builtin_prefetch((const uint8_t *)(s + 1) - 1);
}

unsigned post_build_add_flow(struct post_build *pb, uint32_t rel, const struct frame_keys *fk,
			     const struct post_flow *pf, bool postings)
{
	struct flow_slot *s;
	uint32_t t;

	if (!pf->ok) {
		t = postings ? tuple_of(pb, fk) : 0;
		if (t == UINT32_MAX)
			return full(pb) | POST_NEW_FLOW;
		keep(pb, rel, t);
		return POST_NEW_FLOW;
	}
	s = pb->last;
	if (!s || !flow_eq(s->q, pf->q) || s->gen != pb->gen)
		s = pb->last = &pb->flows[pf->slot];
	if (s->gen == pb->gen && flow_eq(s->q, pf->q)) {
		if (postings)
			keep(pb, rel, s->tup);
		return 0;
	}
	t = postings ? tuple_of(pb, fk) : 0;
	if (t == UINT32_MAX)
		return full(pb) | POST_NEW_FLOW;
	memcpy(s->q, pf->q, sizeof(s->q));
	s->gen = pb->gen; /* postings stay off for the rest of a chunk once off */
	s->tup = t;
	keep(pb, rel, t);
	return POST_NEW_FLOW;
}

unsigned post_build_add(struct post_build *pb, uint32_t rel, const struct frame_keys *fk, bool postings)
{
	struct post_flow pf;

	post_build_flow(pb, fk, &pf, NULL);
	return post_build_add_flow(pb, rel, fk, &pf, postings);
}

/* ---------------------------------------------------------------- reload */

/* A varint of a block index_parse checked (or post_build_encode wrote). */
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

static int cmp_rec(const void *a, const void *b)
{
	const struct post_rec *x = a, *y = b;

	if (x->rel != y->rel)
		return x->rel < y->rel ? -1 : 1;
	return x->tup < y->tup ? -1 : x->tup > y->tup;
}

/* Read back key by key as (offset, key number) pairs, sorted by offset; each
 * record's keys become its own tuple (a resumed chunk is rare and small). */
unsigned post_build_reload(struct post_build *pb, const uint8_t *blk, uint32_t len)
{
	const uint8_t *p = blk, *end = blk + len;
	struct post_rec *pairs = NULL;
	size_t npairs = 0, cap = 0;
	uint32_t keys[TUPLE_MAX_KEYS];
	unsigned ret = 0;

	while (p < end) {
		struct pkey k = { .type = *p++ };
		int vlen = index_key_len(k.type);
		uint64_t n, bytes, at = 0;
		uint32_t num;

		memcpy(k.v, p, (size_t)vlen);
		p += vlen;
		p = get_varint_trusted(p, &n);
		p = get_varint_trusted(p, &bytes);
		num = key_of(pb, &k);
		if (num == UINT32_MAX) {
			ret = full(pb);
			goto out_free;
		}
		pairs = index_grow(pairs, &cap, npairs + n, sizeof(*pairs));
		for (uint64_t i = 0; i < n; i++) {
			uint64_t d;

			p = get_varint_trusted(p, &d);
			at += d;
			pairs[npairs++] = (struct post_rec){ (uint32_t)at, num };
		}
	}
	if (npairs)
		qsort(pairs, npairs, sizeof(*pairs), cmp_rec);
	for (size_t i = 0, j; i < npairs; i = j) {
		uint32_t n = 0;

		for (j = i; j < npairs && pairs[j].rel == pairs[i].rel; j++)
			if (n < TUPLE_MAX_KEYS)
				keys[n++] = pairs[j].tup;
		keep(pb, pairs[i].rel, tuple_push(pb, keys, n));
	}
out_free:
	xfree(pairs);
	return ret;
}
