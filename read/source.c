/*
 * One input file (opened and its bytes read by open.c): its index, the
 * chunks a query leaves, and the chunk reads. A chunk is read whole with pread (its range comes from the
 * index), walked with the bounds-checked record iterator, and only the records
 * inside the window that the filter accepts are kept; if they are a small part
 * of the chunk they are copied out and the chunk's bytes freed.
 *
 * A compressed file (zstd, gzip: what a -z command leaves) is read through
 * zfile/ as the pcap inside it: every offset here, the index's too, is one of
 * the uncompressed stream; the chunks are read in file order, as a stream
 * wants them.
 *
 * The index is a claim about the file, and anyone who can write the folder
 * can make it lie. Every record read is checked against its chunk's entry;
 * the first that contradicts it has the index rebuilt from the file and the
 * chunks chosen again (records of the chunks read before are not taken twice:
 * their ranges are kept in `done`).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "read/read_impl.h"
#include "util/util.h"

/* The chunks the window and the addresses leave, and future[]. Counts into
 * *st when given. */
static void select_chunks(struct read_source *s, const struct read_query *q, struct read_stats *st)
{
	uint64_t min = UINT64_MAX;

	xfree(s->sel);
	xfree(s->future);
	s->sel = xcalloc(s->ix.nchunks + 1, sizeof(*s->sel));
	s->future = xcalloc(s->ix.nchunks + 1, sizeof(*s->future));
	s->nsel = s->next = 0;
	for (uint32_t i = 0; i < s->ix.nchunks; i++) {
		const struct index_chunk *c = &s->ix.chunks[i];
		bool time_out = c->max_ns < q->since_ns || c->min_ns >= q->until_ns;
		bool addr_out = !time_out && !addr_query_may_match(q->addrs, &s->ix, c);

		if (st) {
			st->chunks++;
			st->chunks_skipped_time += time_out;
			st->chunks_skipped_addr += addr_out;
		}
		if (!time_out && !addr_out)
			s->sel[s->nsel++] = i;
	}
	s->future[s->nsel] = UINT64_MAX;
	for (uint32_t i = s->nsel; i-- > 0;) {
		uint64_t m = s->ix.chunks[s->sel[i]].min_ns;

		min = m < min ? m : min;
		s->future[i] = min;
	}
}

/* The run's interface table, or the source's own when the query has none. */
static struct read_ifaces *ifaces_of(struct read_source *s, const struct read_query *q)
{
	return q->ifaces ? q->ifaces : &s->own_ifaces;
}

/* index_refresh on the attached file, its outcome counted and reported; the
 * file's interfaces added to the run's. */
static int refresh(struct read_source *s, bool force, const struct read_query *q, struct read_stats *st)
{
	struct read_ifaces *t = ifaces_of(s, q);
	struct index_refresh_result res;
	int ret;

	ret = index_refresh_src(s->path, &(struct index_src){ .fd = s->fd, .pread = s->z ? zfile_pread_hook : NULL,
							       .resume = s->z ? zfile_resume_hook : NULL, .ctx = s->z },
				force, q->chunk_bytes, &s->ix, &res);
	st->bytes_read += res.bytes_read;
	if (res.refused)
		log_warn("%s: its index's name holds no regular file (a link, a FIFO...): ignored", s->path);
	if (res.corrupt)
		log_warn("%s: its index is corrupt: rebuilt from the file", s->path);
	if (ret)
		return ret;
	if (res.scan.bad_blocks)
		log_warn("%s: %llu pcapng block(s) or region(s) that lie were skipped, the first at offset %llu",
			 s->path, (unsigned long long)res.scan.bad_blocks, (unsigned long long)res.scan.bad_at);
	st->indexes_loaded += res.loaded;
	st->indexes_built += res.built;
	st->indexes_extended += res.extended;
	st->indexes_in_memory += !res.loaded && !res.saved;
	if (s->ix.pcapng != s->pcapng)
		return -ESTALE; /* the file changed kind since it was opened */
	if (s->pcapng)
		return read_source_load_sblocks(s, t);
	s->gid = read_ifaces_id(t, "", s->fi.linktype, s->fi.snaplen, s->fi.nano);
	s->nifaces = 1;
	return 0;
}

int read_source_prepare(struct read_source *s, bool force, const struct read_query *q, struct read_stats *st)
{
	int ret;

	ret = read_source_attach(s);
	if (ret)
		return ret;
	ret = refresh(s, force, q, st);
	if (ret)
		goto out_detach;
	/* (a compressed file's size is not its stream's: zfile/ said where
	 * it is corrupt or cut short) */
	if (!s->z && s->ix.good_end < s->ix.file_size)
		log_warn("%s: record at offset %llu is torn or corrupt (the file is %llu bytes): reading up to it",
			 s->path, (unsigned long long)s->ix.good_end, (unsigned long long)s->ix.file_size);
	select_chunks(s, q, st);
out_detach:
	/* the merge opens it again when it reaches the file's first chunk */
	read_source_detach(s);
	return ret;
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

/* Does this record contradict its chunk's entry: a time outside its range, or
 * an address its summary does not hold? */
static bool record_lies(const struct read_source *s, const struct index_chunk *c, uint64_t ts,
			uint32_t linktype, const uint8_t *data, uint32_t caplen)
{
	struct frame_addrs fa;

	if (ts < c->min_ns || ts > c->max_ns)
		return true;
	if (c->flags & INDEX_CHUNK_ANY_ADDR)
		return false;
	if (!index_frame_addrs(linktype, data, caplen, &fa))
		return true;
	for (unsigned i = 0; i < fa.n4; i++)
		if (!index_chunk_may_have4(&s->ix, c, fa.a4[i], fa.a4[i]))
			return true;
	for (unsigned i = 0; i < fa.n6; i++)
		if (!index_chunk_may_have6(&s->ix, c, fa.a6[i], fa.a6[i]))
			return true;
	return false;
}

/* Was the record at `off` taken already, from a chunk read before a rescan? */
static bool already_taken(const struct read_source *s, uint64_t off)
{
	uint32_t l = 0, h = s->ndone;

	while (l < h) { /* the first range that ends past off */
		uint32_t m = l + (h - l) / 2;

		if (s->done[m].end <= off)
			l = m + 1;
		else
			h = m;
	}
	return l < s->ndone && s->done[l].off <= off;
}

/* Does the query take this record: inside the window, of a selected
 * interface, not taken before a rescan, and matched by the filter? */
static bool wanted(struct read_source *s, const struct read_query *q, const struct wrec *r)
{
	const struct read_ifaces *t = ifaces_of(s, q);

	return r->ts >= q->since_ns && r->ts < q->until_ns && r->iface < t->n && t->v[r->iface].selected &&
	       !(s->ndone && already_taken(s, r->off)) &&
	       read_filter_match_link(q->filter, r->linktype, r->data, r->caplen, r->len);
}

static void add_done(struct read_source *s, uint64_t off, uint64_t end)
{
	if (end <= off)
		return;
	s->done = xrealloc(s->done, s->ndone + 1, sizeof(*s->done));
	s->done[s->ndone++] = (struct done_range){ off, end };
}

/* The index lied: rebuild it from the file and choose again among the chunks
 * (the records of those read so far are not taken twice). */
static void rescan(struct read_source *s, const struct read_query *q, struct read_stats *st, uint64_t at)
{
	int ret;

	log_warn("%s: record at offset %llu contradicts its index: rebuilding the index and scanning the file",
		 s->path, (unsigned long long)at);
	s->rescanned = true;
	index_free(&s->ix);
	ret = refresh(s, true, q, st);
	if (ret) {
		log_warn("%s: cannot rebuild its index (%s): the rest of the file is skipped", s->path,
			 strerror(-ret));
		s->next = s->nsel = 0;
		return;
	}
	select_chunks(s, q, NULL);
}

/* Whole chunk `c`, record after record. */
static void load_whole(struct read_source *s, const struct read_query *q, struct read_stats *st,
		       const struct index_chunk *c, uint64_t *held)
{
	/* `c` is not used past a rescan, which frees the index it points into */
	size_t len = (size_t)(c->end - c->off), kept_bytes = 0, nrec = c->records;
	struct chunk_buf *cb = xcalloc(1, sizeof(*cb));
	struct walk w;
	struct wrec r;
	uint64_t lie_at = 0;
	uint32_t seen = 0;
	size_t walked;
	bool short_read = false, lied = false;
	ssize_t n;

	cb->data = xcalloc(1, len);
	cb->recs = xcalloc(c->records, sizeof(*cb->recs));
	n = read_source_pread(s, cb->data, len, c->off);
	if (n > 0)
		st->bytes_read += (uint64_t)n;
	if (n != (ssize_t)len) {
		log_warn("%s: shorter than its index says (chunk at offset %llu): the rest of the file is skipped",
			 s->path, (unsigned long long)c->off);
		s->next = s->nsel;
		short_read = true;
		len = n > 0 ? (size_t)n : 0;
	}
	walk_init(&w, s, ifaces_of(s, q), cb->data, len, c->off);
	while (seen < c->records && walk_next(&w, &r)) {
		struct rec *k;

		seen++;
		st->records_scanned++;
		if (!s->rescanned && !lied && record_lies(s, c, r.ts, r.linktype, r.data, r.caplen)) {
			lied = true;
			lie_at = r.off;
		}
		if (!wanted(s, q, &r))
			continue;
		k = &cb->recs[cb->live++];
		*k = (struct rec){ .ts = r.ts, .seq = r.off, .caplen = r.caplen, .len = r.len, .iface = r.iface,
				   .flags = r.flags, .data = r.data, .cb = cb };
		kept_bytes += r.caplen;
	}
	walked = walk_off(&w);
	walk_done(&w);
	if (!short_read && (seen != c->records || walked != len) && !lied) {
		lied = true;
		lie_at = c->off + walked;
	}
	if (!s->rescanned)
		add_done(s, c->off, c->off + walked);
	if (lied && !s->rescanned) {
		rescan(s, q, st, lie_at);
	} else if (lied) {
		log_warn("%s: record at offset %llu does not match the index: the rest of the file is skipped",
			 s->path, (unsigned long long)lie_at);
		s->next = s->nsel;
	}
	if (!cb->live) {
		chunk_buf_free(cb);
		return;
	}
	cb->bytes = len + nrec * sizeof(struct rec);
	if (kept_bytes < len / 4)
		compact(cb, kept_bytes);
	*held += cb->bytes;
	for (uint32_t i = 0; i < cb->live; i++)
		heap_push(s, &cb->recs[i]);
}

/* ------------------------------------------- reading a chunk's postings */

/* Bytes between two wanted records below which one read takes both. */
#define RUN_GAP 4096u

/* Where the records are being read: one run of the chunk at a time. */
struct run {
	uint8_t *buf;
	size_t cap;
	uint64_t start, end;       /* chunk-relative range in buf */
	uint8_t *rec;              /* a record that did not fit the run, read alone */
	size_t rec_cap;
};

static void reserve(uint8_t **p, size_t *cap, size_t need)
{
	if (*cap < need) {
		*cap = need;
		*p = xrealloc(*p, need, 1);
	}
}

/* pread `len` bytes at chunk-relative `rel` into *p: 0, or -EIO when short. */
static int read_at(struct read_source *s, const struct index_chunk *c, struct read_stats *st, uint8_t *p,
		   size_t len, uint64_t rel)
{
	ssize_t n = read_source_pread(s, p, len, c->off + rel);

	if (n > 0)
		st->bytes_read += (uint64_t)n;
	return n == (ssize_t)len ? 0 : -EIO;
}

/* The record at chunk-relative `rel`, parsed into *r (its bytes in the run or
 * in run->rec). 0, -EBADMSG (it is no record of this chunk) or -EIO (short). */
static int record_at(struct read_source *s, const struct index_chunk *c, struct read_stats *st, struct run *run,
		     struct walk *w, uint64_t rel, struct wrec *r)
{
	uint64_t span = c->end - c->off, size;
	uint32_t head = walk_head_len(w);
	const uint8_t *h;
	int ret;

	if (rel + head > span)
		return -EBADMSG;
	walk_seek(w, c->off + rel);
	if (rel + head <= run->end) {
		h = run->buf + (rel - run->start);
	} else {
		reserve(&run->rec, &run->rec_cap, head);
		ret = read_at(s, c, st, run->rec, head, rel);
		if (ret)
			return ret;
		h = run->rec;
	}
	size = walk_size(w, h);
	if (!size || size > span - rel)
		return -EBADMSG;
	if (rel + size <= run->end)
		return walk_parse_at(w, run->buf + (rel - run->start), (size_t)size, c->off + rel, r);
	/* longer than the run guessed: read it alone */
	reserve(&run->rec, &run->rec_cap, (size_t)size);
	ret = read_at(s, c, st, run->rec, (size_t)size, rel);
	if (ret)
		return ret;
	return walk_parse_at(w, run->rec, (size_t)size, c->off + rel, r);
}

/*
 * The records of chunk `c` at `offs` (chunk-relative, sorted), read in runs:
 * nearby records share one read, each run as long as the chunk's mean record
 * guesses; a record longer than that is read alone. A named offset that is
 * not a record of this chunk (overlapping the one before, a header that
 * lies, a record that contradicts the chunk's entry, keys the query could
 * not leave)
 * makes the index a liar, as in load_whole.
 */
static void load_postings(struct read_source *s, const struct read_query *q, struct read_stats *st,
			  const struct index_chunk *c, const struct index_offs *offs, uint64_t *held)
{
	uint64_t span = c->end - c->off, mean = span / c->records, prev_end = 0, lie_at = 0;
	uint64_t tail = PCAP_RECORD_HEADER_LEN + (mean < 64 ? 128 : mean > 32768 ? 65536 : 2 * mean);
	struct chunk_buf *cb = xcalloc(1, sizeof(*cb));
	size_t *at = xcalloc(offs->n + 1, sizeof(*at)), used = 0, cap = 0;
	struct run run = { 0 };
	bool lied = false, short_read = false;
	struct walk w;

	st->chunks_by_postings++;
	walk_init(&w, s, ifaces_of(s, q), NULL, 0, c->off);
	cb->recs = xcalloc(offs->n + 1, sizeof(*cb->recs));
	for (size_t i = 0, j; i < offs->n && !lied && !short_read; i = j) {
		run.start = offs->v[i];
		run.end = run.start + tail < span ? run.start + tail : span;
		for (j = i + 1; j < offs->n && offs->v[j] <= run.end + RUN_GAP; j++)
			run.end = offs->v[j] + tail < span ? offs->v[j] + tail : span;
		reserve(&run.buf, &run.cap, (size_t)(run.end - run.start));
		if (read_at(s, c, st, run.buf, (size_t)(run.end - run.start), run.start)) {
			short_read = true;
			break;
		}
		for (size_t k = i; k < j; k++) {
			uint64_t rel = offs->v[k];
			struct wrec r;
			int ret = rel < prev_end ? -EBADMSG : record_at(s, c, st, &run, &w, rel, &r);

			if (ret == -EIO) {
				short_read = true;
				break;
			}
			if (ret || (!s->rescanned && (record_lies(s, c, r.ts, r.linktype, r.data, r.caplen) ||
						      !post_query_record_may(q->post, r.linktype, r.data, r.caplen)))) {
				lied = true;
				lie_at = c->off + rel;
				break;
			}
			prev_end = rel + r.size;
			st->records_scanned++;
			if (!wanted(s, q, &r))
				continue;
			reserve(&cb->data, &cap, used + r.caplen + 1);
			memcpy(cb->data + used, r.data, r.caplen);
			at[cb->live] = used;
			cb->recs[cb->live++] = (struct rec){ .ts = r.ts, .seq = c->off + rel, .caplen = r.caplen,
							     .len = r.len, .iface = r.iface, .flags = r.flags,
							     .cb = cb };
			used += r.caplen;
		}
	}
	walk_done(&w);
	xfree(run.buf);
	xfree(run.rec);
	if (short_read) {
		log_warn("%s: shorter than its index says (chunk at offset %llu): the rest of the file is skipped",
			 s->path, (unsigned long long)c->off);
		s->next = s->nsel;
	} else if (lied && !s->rescanned) {
		/* nothing of this chunk is kept: the new index chooses it again */
		cb->live = 0;
		rescan(s, q, st, lie_at);
	} else if (lied) {
		log_warn("%s: record at offset %llu does not match the index: the rest of the file is skipped",
			 s->path, (unsigned long long)lie_at);
		s->next = s->nsel;
	} else if (!s->rescanned) {
		add_done(s, c->off, c->end);
	}
	for (uint32_t i = 0; i < cb->live; i++)
		cb->recs[i].data = cb->data + at[i];
	xfree(at);
	if (!cb->live) {
		chunk_buf_free(cb);
		return;
	}
	cb->bytes = used + cb->live * sizeof(struct rec);
	*held += cb->bytes;
	for (uint32_t i = 0; i < cb->live; i++)
		heap_push(s, &cb->recs[i]);
}

void read_source_load_next(struct read_source *s, const struct read_query *q, struct read_stats *st,
			   uint64_t *held)
{
	const struct index_chunk *c = &s->ix.chunks[s->sel[s->next++]];
	struct index_offs offs = { 0 };

	if (!s->opened) {
		s->opened = true;
		st->files_opened++;
	}
	if (post_query_chunk(q->post, &s->ix, c, &offs))
		load_postings(s, q, st, c, &offs, held);
	else
		load_whole(s, q, st, c, held);
	xfree(offs.v);
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
	xfree(s->done);
	read_source_free_sblocks(s);
	read_ifaces_free(&s->own_ifaces);
	index_free(&s->ix);
	read_source_detach(s);
	xfree(s->path);
	xfree(s);
}
