/*
 * A closed chunk's postings encoded (index.h, "Postings"): per key, in key
 * order, the delta-varint offsets of the records that carry it; a key every
 * keyed record carries shares one dense list, and a key that one flow's
 * records alone carry takes that flow's list, encoded once.
 */
#include <stdlib.h>
#include <string.h>

#include "index/post_build_impl.h"
#include "util/util.h"

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
