/*
 * The k-way merge. Each source has a key: the time of its oldest held record
 * if no unread chunk of it can hold an older one (an "emit" key), else the
 * smallest timestamp of its unread chunks (a "load" key: read the next chunk
 * first). A heap of sources by key gives the next thing to do: write the
 * oldest record of all, or read the chunk that might hold an older one. So
 * records come out in time order across files and within a file, holding only
 * the chunks whose time ranges overlap.
 */
#include <stdlib.h>

#include "read/read_impl.h"
#include "util/util.h"

struct item {
	uint64_t key;
	unsigned src;
	bool load;
};

struct sheap {
	struct item *a;
	unsigned n;
};

static bool item_before(const struct item *x, const struct item *y)
{
	if (x->key != y->key)
		return x->key < y->key;
	return x->src < y->src;
}

static void sheap_push(struct sheap *h, struct item it)
{
	unsigned i;

	for (i = h->n++; i; ) {
		unsigned up = (i - 1) / 2;

		if (!item_before(&it, &h->a[up]))
			break;
		h->a[i] = h->a[up];
		i = up;
	}
	h->a[i] = it;
}

static struct item sheap_pop(struct sheap *h)
{
	struct item top = h->a[0], last = h->a[--h->n];
	unsigned i = 0;

	for (;;) {
		unsigned c = 2 * i + 1;

		if (c >= h->n)
			break;
		if (c + 1 < h->n && item_before(&h->a[c + 1], &h->a[c]))
			c++;
		if (!item_before(&h->a[c], &last))
			break;
		h->a[i] = h->a[c];
		i = c;
	}
	if (h->n)
		h->a[i] = last;
	return top;
}

/* The source's key; false when it has nothing left. */
static bool source_key(const struct read_source *s, bool mem_over, struct item *it)
{
	uint64_t future = s->next < s->nsel ? s->future[s->next] : UINT64_MAX;

	if (s->nheap && (s->heap[0]->ts <= future || mem_over)) {
		it->key = s->heap[0]->ts;
		it->load = false;
		return true;
	}
	if (s->next < s->nsel) {
		it->key = future;
		it->load = true;
		return true;
	}
	return false;
}

int read_merge(struct read_source **src, unsigned n, const struct read_query *q, struct pcap_out *out,
	       uint64_t limit, uint64_t mem_limit, struct read_stats *st)
{
	struct sheap h = { .a = xcalloc(n ? n : 1, sizeof(struct item)) };
	uint64_t held = 0, last_ts = 0;
	int ret = 0;

	for (unsigned i = 0; i < n; i++) {
		struct item it = { .src = i };

		if (source_key(src[i], false, &it))
			sheap_push(&h, it);
	}
	while (h.n && !(limit && st->records_written >= limit)) {
		struct item it = sheap_pop(&h);
		struct read_source *s = src[it.src];

		if (it.load) {
			read_source_load_next(s, q, st, &held);
		} else {
			struct rec *r = read_source_pop(s);

			if (r->ts < last_ts)
				st->out_of_order++;
			last_ts = r->ts;
			ret = pcap_out_record(out, r->ts, r->caplen, r->len, r->data);
			read_rec_release(r, &held);
			if (ret)
				break;
			st->records_written++;
		}
		if (source_key(s, held > mem_limit, &it))
			sheap_push(&h, it);
	}
	xfree(h.a);
	return ret;
}
