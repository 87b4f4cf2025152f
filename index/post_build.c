/*
 * The open chunk's postings (see post_build.h for the shape). The tables that
 * map a key to its number are stamped with the chunk's generation instead of
 * cleared, so a new chunk costs nothing per slot: clearing half a megabyte of
 * tables every thousand records would cost more than the records.
 */
#include <stdlib.h>
#include <string.h>

#include "index/post_build.h"
#include "util/util.h"

#define KEY_SLOTS (2 * INDEX_MAX_KEYS)  /* power of two, at most half full */
#define FLOW_SLOTS 4096u                /* the flow cache, direct-mapped */
#define FLOW_BITS 12
/* A record's keys at most: wild protocol, 8 IPv4 and 4 IPv6 addresses, the
 * protocol, two ports. */
#define TUPLE_MAX_KEYS 16

struct pkey {
	union {
		uint8_t v[16];    /* the value, network order, zero past its length */
		uint64_t q[2];
	};
	uint32_t type;
};

struct flow_slot {
	uint64_t q[5];            /* struct post_flow's */
	uint32_t gen;             /* valid in the chunk of this generation */
	uint32_t tup;
};

struct key_slot {
	uint32_t val;             /* IPv4 table: the address */
	uint32_t key;             /* key number */
	uint32_t gen;             /* occupied in the chunk of this generation */
};

/* A set of key numbers that records of the open chunk carry. */
struct tuple {
	uint32_t first, n;        /* its keys: tkey[first .. first + n) */
	uint32_t count;           /* records kept with it */
};

struct post_rec {
	uint32_t rel, tup;
};

struct post_build {
	uint32_t gen;
	uint32_t nkeys;
	struct pkey keys[INDEX_MAX_KEYS];
	struct key_slot slot[KEY_SLOTS];  /* IPv6 and wild keys, hashed */
	struct key_slot a4[KEY_SLOTS];    /* IPv4 addresses, hashed as numbers */
	struct key_slot port[65536];      /* by value */
	struct key_slot proto[256];
	struct flow_slot flows[FLOW_SLOTS];
	struct flow_slot *last;           /* the previous record's slot: runs of a flow skip the hash */
	struct tuple *tup;                /* tup[0]: no key (not kept) */
	size_t ntup, tup_cap;
	uint32_t *tkey;
	size_t ntkey, tkey_cap;
	struct post_rec *rec;
	size_t nrec, rec_cap;
};

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

/* -------------------------------------------------------------- encoding */

static void put_varint(uint8_t **p, uint64_t v)
{
	while (v >= 0x80) {
		*(*p)++ = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	*(*p)++ = (uint8_t)v;
}

/* qsort's comparison needs the keys: sort numbers by them through a context. */
static int cmp_key_r(const void *a, const void *b, void *ctx)
{
	const struct pkey *keys = ctx;
	const struct pkey *x = &keys[*(const uint32_t *)a], *y = &keys[*(const uint32_t *)b];

	if (x->type != y->type)
		return x->type < y->type ? -1 : 1;
	return memcmp(x->v, y->v, sizeof(x->v));
}

void post_scratch_free(struct post_scratch *s)
{
	xfree(s->count);
	xfree(s->at);
	xfree(s->bucket);
	xfree(s->order);
	xfree(s->dense);
	xfree(s->tmp);
	xfree(s->owner);
	xfree(s->skey);
	xfree(s->sspan);
	xfree(s->group);
	xfree(s->gat);
	xfree(s->tenc);
	xfree(s->toff);
	xfree(s->tlen);
	memset(s, 0, sizeof(*s));
}

/* Every kept record's offset, delta-encoded: the list of a key that every
 * keyed record carries. */
static size_t encode_dense(const struct post_build *pb, struct post_scratch *s)
{
	uint8_t *q;
	uint32_t prev = 0;

	s->dense = index_grow(s->dense, &s->dense_cap, pb->nrec * 5 + 1, 1);
	q = s->dense;
	for (size_t i = 0; i < pb->nrec; i++) {
		put_varint(&q, pb->rec[i].rel - prev);
		prev = pb->rec[i].rel;
	}
	return (size_t)(q - s->dense);
}

/* Does key k carry other records than every one (dense) and the records of
 * one tuple (owned)? Those are bucketed key by key. */
static bool key_shared(const struct post_scratch *s, uint32_t k, uint32_t nrec)
{
	return s->count[k] != nrec && s->owner[k] == UINT32_MAX;
}

/*
 * One pass over the records puts each one's offset where its keys' lists
 * are made from. A key held by one tuple alone (a flow's own address or
 * port: the common case) lists exactly that tuple's records, so the records
 * are grouped by tuple once and each group encoded once for all the keys it
 * owns. The keys of several tuples are bucketed key by key: key k's offsets
 * are bucket[at[k] - count[k] .. at[k]) afterwards. Each tuple's shared
 * keys are listed first, so the pass neither looks a key up nor branches on
 * it.
 */
static void group_records(const struct post_build *pb, struct post_scratch *s, size_t shared)
{
	const uint32_t nrec = (uint32_t)pb->nrec;
	uint32_t sum = 0, m = 0;

	s->bucket = index_grow(s->bucket, &s->bucket_cap, shared + 1, sizeof(*s->bucket));
	s->skey = index_grow(s->skey, &s->skey_cap, pb->ntkey + 1, sizeof(*s->skey));
	s->sspan = index_grow(s->sspan, &s->sspan_cap, pb->ntup + 1, sizeof(*s->sspan));
	s->group = index_grow(s->group, &s->group_cap, pb->nrec + 1, sizeof(*s->group));
	for (uint32_t k = 0; k < pb->nkeys; k++) {
		s->at[k] = sum;
		sum += key_shared(s, k, nrec) ? s->count[k] : 0;
	}
	s->sspan[0] = s->sspan[1] = 0; /* tuple 0: no key */
	for (size_t t = 1; t < pb->ntup; t++) {
		for (uint32_t j = 0; j < pb->tup[t].n; j++) {
			uint32_t k = pb->tkey[pb->tup[t].first + j];

			if (key_shared(s, k, nrec))
				s->skey[m++] = k;
		}
		s->sspan[t + 1] = m;
	}
	sum = 0; /* gat[t] was set to 0 for a tuple that owns a key */
	for (size_t t = 0; t < pb->ntup; t++) {
		if (s->gat[t] == UINT32_MAX)
			continue;
		s->gat[t] = sum;
		sum += pb->tup[t].count;
	}
	for (size_t i = 0; i < pb->nrec; i++) {
		const uint32_t t = pb->rec[i].tup, rel = pb->rec[i].rel;

		if (s->gat[t] != UINT32_MAX)
			s->group[s->gat[t]++] = rel;
		for (uint32_t j = s->sspan[t]; j < s->sspan[t + 1]; j++)
			s->bucket[s->at[s->skey[j]]++] = rel;
	}
}

/* Each group varint-encoded (gat[t] is past its end). */
static void encode_groups(const struct post_build *pb, struct post_scratch *s)
{
	uint8_t *q;

	s->tenc = index_grow(s->tenc, &s->tenc_cap, pb->nrec * 5 + 1, 1);
	q = s->tenc;
	for (size_t t = 0; t < pb->ntup; t++) {
		uint32_t prev = 0;

		if (s->gat[t] == UINT32_MAX)
			continue;
		s->toff[t] = (uint32_t)(q - s->tenc);
		for (uint32_t i = s->gat[t] - pb->tup[t].count; i < s->gat[t]; i++) {
			put_varint(&q, s->group[i] - prev);
			prev = s->group[i];
		}
		s->tlen[t] = (uint32_t)(q - s->tenc) - s->toff[t];
	}
}

/* count[k]: records with key k; owner[k]: its one tuple. */
static void count_keys(const struct post_build *pb, struct post_scratch *s)
{
	if (s->keys_cap < pb->nkeys) {
		s->count = index_grow(s->count, &s->keys_cap, pb->nkeys, sizeof(*s->count));
		s->at = xrealloc(s->at, s->keys_cap, sizeof(*s->at));
	}
	s->owner = index_grow(s->owner, &s->owner_cap, pb->nkeys, sizeof(*s->owner));
	memset(s->count, 0, pb->nkeys * sizeof(*s->count));
	memset(s->owner, 0, pb->nkeys * sizeof(*s->owner));
	for (size_t t = 1; t < pb->ntup; t++) {
		if (!pb->tup[t].count)
			continue;
		for (uint32_t j = 0; j < pb->tup[t].n; j++) {
			uint32_t k = pb->tkey[pb->tup[t].first + j];

			s->count[k] += pb->tup[t].count;
			s->owner[k] = s->owner[k] ? UINT32_MAX : (uint32_t)t;
		}
	}
}

void post_build_encode(const struct post_build *pb, struct post_scratch *s, struct index *dst, size_t *cap,
		       struct index_chunk *c)
{
	const uint32_t nrec = (uint32_t)pb->nrec;
	size_t total = 0, shared = 0, dense_len = 0, bound;
	bool any_dense = false, any_owned = false;
	uint8_t *p;

	c->post_off = dst->npost;
	c->post_len = c->nkeys = 0;
	if (c->flags & INDEX_CHUNK_NO_POSTINGS || !pb->nkeys)
		return;
	count_keys(pb, s);
	s->gat = index_grow(s->gat, &s->gat_cap, pb->ntup, sizeof(*s->gat));
	s->toff = index_grow(s->toff, &s->toff_cap, pb->ntup, sizeof(*s->toff));
	s->tlen = index_grow(s->tlen, &s->tlen_cap, pb->ntup, sizeof(*s->tlen));
	memset(s->gat, 0xff, pb->ntup * sizeof(*s->gat));
	for (uint32_t k = 0; k < pb->nkeys; k++) {
		total += s->count[k];
		if (s->count[k] == nrec) {
			any_dense = true;
		} else if (s->owner[k] != UINT32_MAX) {
			if (s->count[k]) {
				s->gat[s->owner[k]] = 0;
				any_owned = true;
			}
		} else {
			shared += s->count[k];
		}
	}
	if (any_dense)
		dense_len = encode_dense(pb, s);
	if (shared || any_owned)
		group_records(pb, s, shared);
	if (any_owned)
		encode_groups(pb, s);
	s->order = index_grow(s->order, &s->order_cap, pb->nkeys, sizeof(*s->order));
	for (uint32_t k = 0; k < pb->nkeys; k++)
		s->order[k] = k;
	qsort_r(s->order, pb->nkeys, sizeof(*s->order), cmp_key_r, (void *)pb->keys);

	bound = (size_t)pb->nkeys * 40 + total * 5;
	if (*cap < dst->npost + bound) {
		*cap = 2 * *cap > dst->npost + bound ? 2 * *cap : dst->npost + bound;
		dst->post = xrealloc(dst->post, *cap, 1);
	}
	s->tmp = index_grow(s->tmp, &s->tmp_cap, pb->nrec * 5 + 1, 1);
	p = dst->post + dst->npost;
	for (uint32_t j = 0; j < pb->nkeys; j++) {
		uint32_t k = s->order[j];
		const struct pkey *key = &pb->keys[k];
		const uint8_t *offs = s->dense;
		size_t len = dense_len;

		if (!s->count[k])
			continue; /* a key of a reloaded record that did not fit */
		if (s->count[k] != nrec && s->owner[k] != UINT32_MAX) {
			offs = s->tenc + s->toff[s->owner[k]];
			len = s->tlen[s->owner[k]];
		} else if (s->count[k] != nrec) {
			uint8_t *q = s->tmp;
			uint32_t prev = 0;

			for (uint32_t i = s->at[k] - s->count[k]; i < s->at[k]; i++) {
				put_varint(&q, s->bucket[i] - prev);
				prev = s->bucket[i];
			}
			offs = s->tmp;
			len = (size_t)(q - s->tmp);
		}
		*p++ = (uint8_t)key->type;
		memcpy(p, key->v, (size_t)index_key_len(key->type));
		p += index_key_len(key->type);
		put_varint(&p, s->count[k]);
		put_varint(&p, len);
		memcpy(p, offs, len);
		p += len;
		c->nkeys++;
	}
	c->post_len = (uint32_t)(p - (dst->post + dst->npost));
	dst->npost += c->post_len;
}
