/*
 * A chunk's postings block (format in index.h, "Postings"): checked once when
 * the index is parsed, so a lookup can walk it without a second guess; a
 * lookup gathers the offsets of every key in a value range, and the wild
 * records, into one sorted list.
 */
#include <errno.h>
#include <string.h>

#include "index/index.h"
#include "util/util.h"

int index_key_len(unsigned type)
{
	static const int len[] = { 0, 0, 4, 16, 2, 1 };

	return type < sizeof(len) / sizeof(len[0]) ? len[type] : -1;
}

/* LEB128 at *p below end: false if it runs off or past 10 bytes. */
static bool get_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
	uint64_t x = 0;

	for (int shift = 0; shift < 70 && *p < end; shift += 7) {
		uint8_t b = *(*p)++;

		if (shift == 63 && b > 1)
			return false;
		x |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			*v = x;
			return true;
		}
	}
	return false;
}

struct key_hdr {
	unsigned type;
	const uint8_t *value;
	uint64_t n;
	const uint8_t *offs, *offs_end;
};

/* The key at *p; false if it does not fit. */
static bool next_key(const uint8_t **p, const uint8_t *end, struct key_hdr *k)
{
	uint64_t bytes;
	int vlen;

	if (*p >= end)
		return false;
	k->type = *(*p)++;
	vlen = index_key_len(k->type);
	if (vlen < 0 || end - *p < vlen)
		return false;
	k->value = *p;
	*p += vlen;
	if (!get_varint(p, end, &k->n) || !get_varint(p, end, &bytes) || bytes > (uint64_t)(end - *p))
		return false;
	k->offs = *p;
	k->offs_end = *p + bytes;
	*p += bytes;
	return true;
}

/* Before in key order: type, then value bytes (one type has one length). */
static int key_cmp(const struct key_hdr *a, const struct key_hdr *b)
{
	if (a->type != b->type)
		return a->type < b->type ? -1 : 1;
	return memcmp(a->value, b->value, (size_t)index_key_len(a->type));
}

int index_postings_check(const uint8_t *blk, size_t len, uint64_t span, uint32_t records, uint32_t nkeys)
{
	const uint8_t *p = blk, *end = blk + len;
	struct key_hdr k, prev = { 0 };
	uint32_t keys = 0;

	while (p < end) {
		const uint8_t *q;
		uint64_t at = 0;

		if (!next_key(&p, end, &k) || !k.n || k.n > records || ++keys > nkeys)
			return -EBADMSG;
		if (keys > 1 && key_cmp(&prev, &k) >= 0)
			return -EBADMSG;
		q = k.offs;
		for (uint64_t i = 0; i < k.n; i++) {
			uint64_t d;

			if (!get_varint(&q, k.offs_end, &d) || (i && !d) || d >= span - at)
				return -EBADMSG;
			at += d;
		}
		if (q != k.offs_end)
			return -EBADMSG;
		prev = k;
	}
	return keys == nkeys ? 0 : -EBADMSG;
}

/* Merge the offsets of key `k` into the sorted list `o` (tmp: scratch). */
static void merge_key(const struct key_hdr *k, struct index_offs *o, struct index_offs *tmp)
{
	const uint8_t *q = k->offs;
	uint64_t at = 0, d;
	size_t i = 0, need = o->n + (size_t)k->n;

	if (tmp->cap < need) {
		tmp->v = xrealloc(tmp->v, need, sizeof(*tmp->v));
		tmp->cap = need;
	}
	tmp->n = 0;
	for (uint64_t j = 0; j < k->n && get_varint(&q, k->offs_end, &d); j++) {
		at += d;
		while (i < o->n && o->v[i] < at)
			tmp->v[tmp->n++] = o->v[i++];
		if (i < o->n && o->v[i] == at)
			i++;
		tmp->v[tmp->n++] = at;
	}
	while (i < o->n)
		tmp->v[tmp->n++] = o->v[i++];
	struct index_offs t = *o;
	*o = *tmp;
	*tmp = t;
}

void index_chunk_lookup(const struct index *ix, const struct index_chunk *c, unsigned type, const uint8_t *lo,
			const uint8_t *hi, struct index_offs *out)
{
	const uint8_t *p = ix->post + c->post_off, *end = p + c->post_len;
	size_t vlen = (size_t)index_key_len(type);
	struct index_offs tmp = { 0 };
	bool l4 = type == INDEX_KEY_PORT || type == INDEX_KEY_PROTO;
	struct key_hdr k;

	out->n = 0;
	while (next_key(&p, end, &k)) {
		if (k.type == INDEX_KEY_WILD || (k.type == INDEX_KEY_WILD_L4 && l4) ||
		    (k.type == type && memcmp(k.value, lo, vlen) >= 0 && memcmp(k.value, hi, vlen) <= 0))
			merge_key(&k, out, &tmp);
		else if (k.type > type)
			break;
	}
	xfree(tmp.v);
}
