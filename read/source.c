/*
 * One input file: its header, its index, the chunks a query leaves, and the
 * chunk reads. A chunk is read whole with pread (its range comes from the
 * index), walked with the bounds-checked record iterator, and only the records
 * inside the window that the filter accepts are kept; if they are a small part
 * of the chunk they are copied out and the chunk's bytes freed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "read/read_impl.h"
#include "util/util.h"

int read_source_open(struct read_source **out, const char *path)
{
	struct read_source *s;
	uint8_t hdr[PCAP_FILE_HEADER_LEN];
	struct stat st;
	ssize_t n;
	int ret;

	s = xcalloc(1, sizeof(*s));
	s->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (s->fd < 0) {
		ret = -errno;
		goto out_free;
	}
	if (fstat(s->fd, &st)) {
		ret = -errno;
		goto out_close;
	}
	if (!S_ISREG(st.st_mode)) {
		ret = -EINVAL;
		goto out_close;
	}
	n = pread(s->fd, hdr, sizeof(hdr), 0);
	if (n < 0) {
		ret = -errno;
		goto out_close;
	}
	if (n != (ssize_t)sizeof(hdr) || pcap_file_header_parse(hdr, sizeof(hdr), &s->fi)) {
		ret = -EINVAL;
		goto out_close;
	}
	s->size = (uint64_t)st.st_size;
	s->path = strdup(path);
	if (!s->path)
		abort();
	*out = s;
	return 0;
out_close:
	close(s->fd);
out_free:
	xfree(s);
	return ret;
}

const struct pcap_file_info *read_source_info(const struct read_source *s)
{
	return &s->fi;
}

int read_source_prepare(struct read_source *s, bool force, const struct read_query *q, struct read_stats *st)
{
	struct index_refresh_result res;
	uint64_t min = UINT64_MAX;
	int ret;

	ret = index_refresh(s->path, s->fd, force, q->chunk_bytes, &s->ix, &res);
	st->bytes_read += res.bytes_read;
	if (ret)
		return ret;
	st->indexes_loaded += res.loaded;
	st->indexes_built += res.built;
	st->indexes_extended += res.extended;
	st->indexes_in_memory += !res.loaded && !res.saved;
	if (s->ix.good_end < s->ix.file_size)
		log_warn("%s: record at offset %llu is torn or corrupt (the file is %llu bytes): reading up to it",
			 s->path, (unsigned long long)s->ix.good_end, (unsigned long long)s->ix.file_size);

	s->sel = xcalloc(s->ix.nchunks + 1, sizeof(*s->sel));
	s->future = xcalloc(s->ix.nchunks + 1, sizeof(*s->future));
	for (uint32_t i = 0; i < s->ix.nchunks; i++) {
		const struct index_chunk *c = &s->ix.chunks[i];

		st->chunks++;
		if (c->max_ns < q->since_ns || c->min_ns >= q->until_ns)
			st->chunks_skipped_time++;
		else if (!addr_query_may_match(q->addrs, &s->ix, c))
			st->chunks_skipped_addr++;
		else
			s->sel[s->nsel++] = i;
	}
	s->future[s->nsel] = UINT64_MAX;
	if (!s->nsel) { /* nothing to read here: give the descriptor back */
		close(s->fd);
		s->fd = -1;
	}
	for (uint32_t i = s->nsel; i-- > 0;) {
		uint64_t m = s->ix.chunks[s->sel[i]].min_ns;

		min = m < min ? m : min;
		s->future[i] = min;
	}
	return 0;
}

/* ------------------------------------------------------ the record heap */

static bool rec_before(const struct rec *a, const struct rec *b)
{
	return a->ts < b->ts || (a->ts == b->ts && a->seq < b->seq);
}

static void heap_push(struct read_source *s, struct rec *r)
{
	uint32_t i;

	if (s->nheap == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 1024;
		s->heap = xrealloc(s->heap, s->cap, sizeof(*s->heap));
	}
	for (i = s->nheap++; i; ) {
		uint32_t up = (i - 1) / 2;

		if (!rec_before(r, s->heap[up]))
			break;
		s->heap[i] = s->heap[up];
		i = up;
	}
	s->heap[i] = r;
}

struct rec *read_source_pop(struct read_source *s)
{
	struct rec *top, *last;
	uint32_t i = 0;

	if (!s->nheap)
		return NULL;
	top = s->heap[0];
	last = s->heap[--s->nheap];
	for (;;) {
		uint32_t c = 2 * i + 1;

		if (c >= s->nheap)
			break;
		if (c + 1 < s->nheap && rec_before(s->heap[c + 1], s->heap[c]))
			c++;
		if (!rec_before(s->heap[c], last))
			break;
		s->heap[i] = s->heap[c];
		i = c;
	}
	if (s->nheap)
		s->heap[i] = last;
	return top;
}

static void chunk_buf_free(struct chunk_buf *cb)
{
	xfree(cb->recs);
	xfree(cb->data);
	xfree(cb);
}

void read_rec_release(struct rec *r, uint64_t *held)
{
	struct chunk_buf *cb = r->cb;

	if (--cb->live)
		return;
	*held -= cb->bytes;
	chunk_buf_free(cb);
}

/* ------------------------------------------------------ reading a chunk */

/* Few records kept from a big chunk: copy them into a buffer of their own. */
static void compact(struct chunk_buf *cb, size_t kept_bytes)
{
	uint8_t *data = xcalloc(1, kept_bytes ? kept_bytes : 1);
	size_t at = 0;

	for (uint32_t i = 0; i < cb->live; i++) {
		memcpy(data + at, cb->recs[i].data, cb->recs[i].caplen);
		cb->recs[i].data = data + at;
		at += cb->recs[i].caplen;
	}
	xfree(cb->data);
	cb->data = data;
	cb->recs = xrealloc(cb->recs, cb->live, sizeof(*cb->recs)); /* not on the heap yet */
	for (uint32_t i = 0; i < cb->live; i++)
		cb->recs[i].cb = cb;
	cb->bytes = kept_bytes + cb->live * sizeof(struct rec);
}

void read_source_load_next(struct read_source *s, const struct read_query *q, struct read_stats *st,
			   uint64_t *held)
{
	const struct index_chunk *c = &s->ix.chunks[s->sel[s->next++]];
	size_t len = (size_t)(c->end - c->off), kept_bytes = 0;
	struct chunk_buf *cb = xcalloc(1, sizeof(*cb));
	struct pcap_rec_iter it;
	struct pcap_rec r;
	const uint8_t *data;
	uint64_t off;
	uint32_t seen = 0;
	bool short_read = false;
	ssize_t n;

	if (!s->opened) {
		s->opened = true;
		st->files_opened++;
	}
	cb->data = xcalloc(1, len);
	cb->recs = xcalloc(c->records, sizeof(*cb->recs));
	n = index_pread_full(s->fd, cb->data, len, c->off);
	if (n > 0)
		st->bytes_read += (uint64_t)n;
	if (n != (ssize_t)len) {
		log_warn("%s: shorter than its index says (chunk at offset %llu): the rest of the file is skipped",
			 s->path, (unsigned long long)c->off);
		s->next = s->nsel;
		short_read = true;
		len = n > 0 ? (size_t)n : 0;
	}
	pcap_rec_iter_init(&it, &s->fi, cb->data, len, c->off);
	while (seen < c->records && pcap_rec_iter_next(&it, &r, &data, &off)) {
		uint64_t ts = pcap_ts_ns(&s->fi, r.ts_sec, r.ts_frac);
		struct rec *k;

		seen++;
		st->records_scanned++;
		if (ts < q->since_ns || ts >= q->until_ns ||
		    !read_filter_match(q->filter, data, r.caplen, r.len))
			continue;
		k = &cb->recs[cb->live++];
		*k = (struct rec){ .ts = ts, .seq = off, .caplen = r.caplen, .len = r.len, .data = data, .cb = cb };
		kept_bytes += r.caplen;
	}
	if (!short_read && (seen != c->records || it.off != len)) {
		log_warn("%s: record at offset %llu does not match the index: the rest of the file is skipped"
			 " (--reindex rebuilds it)", s->path, (unsigned long long)(c->off + it.off));
		s->next = s->nsel;
	}
	if (!cb->live) {
		chunk_buf_free(cb);
		return;
	}
	cb->bytes = len + c->records * sizeof(struct rec);
	if (kept_bytes < len / 4)
		compact(cb, kept_bytes);
	*held += cb->bytes;
	for (uint32_t i = 0; i < cb->live; i++)
		heap_push(s, &cb->recs[i]);
}

void read_source_free(struct read_source *s)
{
	struct rec *r;
	uint64_t held = UINT64_MAX / 2;

	if (!s)
		return;
	while ((r = read_source_pop(s)))
		read_rec_release(r, &held);
	free(s->heap);
	xfree(s->sel);
	xfree(s->future);
	index_free(&s->ix);
	if (s->fd >= 0)
		close(s->fd);
	free(s->path);
	xfree(s);
}
