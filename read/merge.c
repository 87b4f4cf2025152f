/*
 * The k-way merge. Each source has a key: the time of its oldest held record
 * if no unread chunk of it can hold an older one (an "emit" key), else the
 * smallest timestamp of its unread chunks (a "load" key: read the next chunk
 * first). A heap of sources by key gives the next thing to do: write the
 * oldest record of all, or read the chunk that might hold an older one. So
 * records come out in time order across files and within a file, holding only
 * the chunks whose time ranges overlap.
 *
 * Files are opened only to read a chunk: on the first load of a file, and
 * closed after its last. Those whose time ranges overlap are open together, up
 * to a budget (a folder of ten thousand files must not need ten thousand
 * descriptors); past it the open file needed last is closed for a while.
 */
#include <errno.h>
#include <string.h>
#include <sys/resource.h>

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

/* The sources whose file is open, at most `max`. */
struct open_set {
	unsigned *src;
	unsigned n, max;
};

unsigned read_open_budget(void)
{
	struct rlimit rl;
	uint64_t cur;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		return 16;
	cur = rl.rlim_cur == RLIM_INFINITY ? UINT64_MAX : (uint64_t)rl.rlim_cur;
	if (cur <= 40)
		return cur >= 8 ? (unsigned)(cur / 4) : 1;
	return cur - 32 > 4096 ? 4096 : (unsigned)(cur - 32);
}

static void open_set_remove(struct open_set *o, unsigned at)
{
	o->src[at] = o->src[--o->n];
}

/* Open source `i`'s file, closing the open one whose next chunk comes last
 * if the set is full. 0 or -errno. */
static int open_set_attach(struct open_set *o, struct read_source **src, unsigned i)
{
	int ret;

	if (src[i]->fd >= 0)
		return 0;
	if (o->n == o->max) {
		unsigned victim = 0;
		uint64_t latest = 0;

		for (unsigned k = 0; k < o->n; k++) {
			const struct read_source *s = src[o->src[k]];
			uint64_t next = s->next < s->nsel ? s->future[s->next] : UINT64_MAX;

			if (next >= latest) {
				latest = next;
				victim = k;
			}
		}
		read_source_detach(src[o->src[victim]]);
		open_set_remove(o, victim);
	}
	ret = read_source_attach(src[i]);
	if (ret)
		return ret;
	o->src[o->n++] = i;
	return 0;
}

/* Source `i` has no chunk left to read: give its descriptor back. */
static void open_set_detach(struct open_set *o, struct read_source **src, unsigned i)
{
	for (unsigned k = 0; k < o->n; k++)
		if (o->src[k] == i) {
			read_source_detach(src[i]);
			open_set_remove(o, k);
			return;
		}
}

/* Read source `i`'s next chosen chunk, its file opened for it; a file that
 * cannot be opened again loses its unread chunks, with a warning. */
static void load(struct open_set *o, struct read_source **src, unsigned i, const struct read_query *q,
		 struct read_stats *st, uint64_t *held)
{
	struct read_source *s = src[i];
	int ret = open_set_attach(o, src, i);

	if (ret) {
		log_warn("%s: cannot open it again (%s): its unread records are skipped", s->path,
			 strerror(-ret));
		s->next = s->nsel;
		return;
	}
	read_source_load_next(s, q, st, held);
	if (s->next >= s->nsel)
		open_set_detach(o, src, i);
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
	struct open_set os = { .max = q->max_open ? q->max_open : read_open_budget() };
	uint64_t held = 0, last_ts = 0;
	int ret = 0;

	os.src = xcalloc(os.max, sizeof(*os.src));

	for (unsigned i = 0; i < n; i++) {
		struct item it = { .src = i };

		if (source_key(src[i], false, &it))
			sheap_push(&h, it);
	}
	while (h.n && !(limit && st->records_written >= limit)) {
		struct item it = sheap_pop(&h);
		struct read_source *s = src[it.src];

		if (it.load) {
			load(&os, src, it.src, q, st, &held);
		} else {
			struct rec *r = read_source_pop(s);

			if (r->ts < last_ts)
				st->out_of_order++;
			last_ts = r->ts;
			ret = pcap_out_packet(out, r->iface, r->flags, r->ts, r->caplen, r->len, r->data);
			read_rec_release(r, &held);
			if (ret)
				break;
			st->records_written++;
		}
		if (source_key(s, held > mem_limit, &it))
			sheap_push(&h, it);
	}
	for (unsigned k = 0; k < os.n; k++)
		read_source_detach(src[os.src[k]]);
	xfree(os.src);
	xfree(h.a);
	return ret;
}
