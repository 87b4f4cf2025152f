/*
 * The incremental index builder. Records come in file order; the open chunk
 * keeps its addresses in two small open-addressing hash sets (one IPv4, one
 * IPv6) that are sorted into the index's arrays when the chunk closes. A set
 * that fills up marks the chunk "any address" and stops collecting.
 *
 * Each record's link layer is walked once (index_frame_keys); its postings go
 * to post_build.c, whose flow cache also tells when a record's addresses may
 * be new to the summary (records of a flow already seen in the chunk skip the
 * sets). Too many keys mark the chunk "no postings".
 *
 * The writer hands its records in batches (index_builder_add_records): the
 * keys of a few records are walked and their flow cache slots asked for
 * before the first of them is added, and the fields of the whole index are
 * set once per batch.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "index/index_impl.h"
#include "index/post_build.h"
#include "util/util.h"

#define SET4_SLOTS (2 * INDEX_MAX_ADDR4) /* power of two, at most half full */
#define SET6_SLOTS (2 * INDEX_MAX_ADDR6)

/* What an index's growing arrays hold room for: they grow by doubling (a
 * file's thousands of chunks would otherwise copy them once each). */
struct index_caps {
	size_t post, addr4, addr6, chunks;
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
	struct post_build *pb;      /* the open chunk's postings */
	struct post_scratch scratch;
	struct index_caps caps;     /* elements allocated at ix's arrays */
	bool without_postings;      /* every new chunk "no postings" */
};

static void set_clear(struct index_builder *b)
{
	memset(b->set4, 0, sizeof(b->set4));
	memset(b->used6, 0, sizeof(b->used6));
	b->has_zero4 = false;
	post_build_reset(b->pb);
}

static void no_postings(struct index_builder *b)
{
	b->cur.flags |= INDEX_CHUNK_NO_POSTINGS;
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
	for (i = index_hash32(a) & (SET4_SLOTS - 1); b->set4[i]; i = (i + 1) & (SET4_SLOTS - 1))
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
	for (i = index_hash32(h ^ a[0] ^ (uint32_t)a[7] << 8) & (SET6_SLOTS - 1); b->used6[i];
	     i = (i + 1) & (SET6_SLOTS - 1))
		if (!memcmp(b->set6[i], a, 16))
			return;
	b->used6[i] = true;
	memcpy(b->set6[i], a, 16);
	if (++b->cur.n6 > INDEX_MAX_ADDR6)
		chunk_any(b);
}

/* The addresses of a record whose flow is new to the open chunk (a record
 * of a flow seen before in it has the same ones). */
static void summary_add(struct index_builder *b, const struct frame_keys *fk)
{
	if (b->cur.flags & INDEX_CHUNK_ANY_ADDR)
		return;
	if (!fk->addrs_ok) {
		chunk_any(b);
		return;
	}
	for (unsigned i = 0; i < fk->a.n4 && !(b->cur.flags & INDEX_CHUNK_ANY_ADDR); i++)
		set_add4(b, fk->a.a4[i]);
	for (unsigned i = 0; i < fk->a.n6 && !(b->cur.flags & INDEX_CHUNK_ANY_ADDR); i++)
		set_add6(b, fk->a.a6[i]);
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
static void emit_open_chunk(const struct index_builder *b, struct index *dst, struct index_caps *caps,
			    struct post_scratch *scratch)
{
	struct index_chunk c = b->cur;
	uint32_t k;

	c.a4 = dst->naddr4;
	c.a6 = dst->naddr6;
	if (!(c.flags & INDEX_CHUNK_ANY_ADDR)) {
		dst->addr4 = index_grow(dst->addr4, &caps->addr4, dst->naddr4 + c.n4, sizeof(*dst->addr4));
		k = dst->naddr4;
		if (b->has_zero4)
			dst->addr4[k++] = 0;
		for (uint32_t i = 0; i < SET4_SLOTS; i++)
			if (b->set4[i])
				dst->addr4[k++] = b->set4[i];
		qsort(dst->addr4 + dst->naddr4, c.n4, sizeof(uint32_t), cmp_u32);
		dst->naddr4 += c.n4;

		dst->addr6 = index_grow(dst->addr6, &caps->addr6, dst->naddr6 + c.n6, sizeof(*dst->addr6));
		k = dst->naddr6;
		for (uint32_t i = 0; i < SET6_SLOTS; i++)
			if (b->used6[i])
				memcpy(dst->addr6[k++], b->set6[i], 16);
		qsort(dst->addr6 + dst->naddr6, c.n6, 16, cmp_a6);
		dst->naddr6 += c.n6;
	}
	post_build_encode(b->pb, scratch, dst, &caps->post, &c);
	dst->chunks = index_grow(dst->chunks, &caps->chunks, dst->nchunks + 1, sizeof(*dst->chunks));
	dst->chunks[dst->nchunks++] = c;
}

static void close_chunk(struct index_builder *b)
{
	if (!b->open)
		return;
	emit_open_chunk(b, &b->ix, &b->caps, &b->scratch);
	b->open = false;
	set_clear(b);
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
	b->pb = post_build_new();
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
	b->caps = (struct index_caps){ .post = b->ix.npost ? b->ix.npost : 1, /* as index_parse allocated them */
				       .addr4 = b->ix.naddr4, .addr6 = b->ix.naddr6, .chunks = b->ix.nchunks };
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
	if (!(last->flags & INDEX_CHUNK_NO_POSTINGS) &&
	    post_build_reload(b->pb, b->ix.post + last->post_off, last->post_len) & POST_FULL)
		no_postings(b);
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

/* The chunk and postings work of one record at `off` (its end at `end`)
 * whose keys are *fk (their flow *pf): the fields of the whole index
 * (counts, times, last record) are the callers', once per record or once
 * per batch. */
static inline __attribute__((always_inline)) void add_keyed(struct index_builder *b, uint64_t off, uint64_t end,
							  uint64_t ns, const struct frame_keys *fk,
							  const struct post_flow *pf)
{
	uint64_t rel;
	unsigned got;

	if (b->open && b->cur.end - b->cur.off >= b->ix.chunk_bytes)
		close_chunk(b);
	if (!b->open) {
		memset(&b->cur, 0, sizeof(b->cur));
		b->cur.off = off;
		b->cur.min_ns = UINT64_MAX;
		if (b->without_postings)
			b->cur.flags |= INDEX_CHUNK_NO_POSTINGS;
		b->open = true;
	}
	b->cur.end = end;
	b->cur.records++;
	b->cur.min_ns = ns < b->cur.min_ns ? ns : b->cur.min_ns;
	b->cur.max_ns = ns > b->cur.max_ns ? ns : b->cur.max_ns;
	rel = off - b->cur.off;
	if (rel >= UINT32_MAX) /* a chunk over 4 GiB: offsets do not fit */
		no_postings(b);
	got = post_build_add_flow(b->pb, (uint32_t)rel, fk, pf, !(b->cur.flags & INDEX_CHUNK_NO_POSTINGS));
	if (got & POST_FULL)
		no_postings(b);
	if (got & POST_NEW_FLOW)
		summary_add(b, fk);
}

/* The whole index's fields after `n` records, the last at `last_off`, the
 * earliest and latest of them at lo and hi ns. */
static void note_records(struct index_builder *b, uint64_t n, uint64_t lo, uint64_t hi, uint64_t last_off,
			 uint32_t last_caplen)
{
	if (!b->ix.records && !b->ix.nchunks)
		b->ix.first_ns = b->ix.last_ns = lo;
	b->ix.first_ns = lo < b->ix.first_ns ? lo : b->ix.first_ns;
	b->ix.last_ns = hi > b->ix.last_ns ? hi : b->ix.last_ns;
	b->ix.records += n;
	b->ix.last_rec_off = last_off;
	b->ix.last_caplen = last_caplen;
	b->end = b->ix.good_end = b->cur.end;
}

int index_builder_add_view(struct index_builder *b, uint64_t file_offset, uint32_t ts_sec,
			   uint32_t ts_frac, uint32_t caplen, const uint8_t *frame, uint32_t frame_len)
{
	uint64_t ns = pcap_ts_ns(&b->fi, ts_sec, ts_frac);
	struct frame_keys fk;
	struct post_flow pf;

	if (file_offset != b->end || caplen > PCAP_SNAPLEN_MAX)
		return -EINVAL;
	index_frame_keys(b->fi.linktype, frame, frame_len, &fk);
	post_build_flow(b->pb, &fk, &pf, NULL);
	add_keyed(b, file_offset, file_offset + PCAP_RECORD_HEADER_LEN + caplen, ns, &fk, &pf);
	note_records(b, 1, ns, ns, file_offset, caplen);
	b->ix.last_ts_sec = ts_sec;
	b->ix.last_ts_frac = ts_frac;
	return 0;
}

/* Records a batch walks ahead of adding them: their frames read and their
 * flow cache slots asked for together, not each in turn. */
#define BATCH_AHEAD 16

int index_builder_add_records(struct index_builder *b, uint64_t off, const struct index_rec *r, unsigned n)
{
	const bool pcapng = b->ix.pcapng;
	struct frame_keys fk[BATCH_AHEAD];
	struct post_flow pf[BATCH_AHEAD];
	uint64_t lo = UINT64_MAX, hi = 0, at = off, last_off = off;
	unsigned i = 0;
	int ret = 0;

	if (pcapng ? off < b->end || !b->ix.nsblocks : off != b->end)
		return -EINVAL;
	while (i < n && !ret) {
		unsigned k = n - i < BATCH_AHEAD ? n - i : BATCH_AHEAD, j;

		for (j = 0; j < k; j++) {
			const struct index_rec *x = &r[i + j];

			if (x->caplen > PCAP_SNAPLEN_MAX || (pcapng && x->len < x->caplen)) {
				ret = -EINVAL;
				break;
			}
			index_frame_keys(pcapng ? x->linktype : b->fi.linktype, x->frame, x->frame_len, &fk[j]);
			post_build_flow(b->pb, &fk[j], &pf[j], j ? &pf[j - 1] : NULL);
		}
		k = j;
		for (j = 0; j < k; j++, i++) {
			uint64_t ns = pcap_ts_ns(&b->fi, r[i].ts_sec, r[i].ts_frac);
			uint32_t len = pcapng ? r[i].len : PCAP_RECORD_HEADER_LEN + r[i].caplen;

			add_keyed(b, at, at + len, ns, &fk[j], &pf[j]);
			lo = ns < lo ? ns : lo;
			hi = ns > hi ? ns : hi;
			last_off = at;
			at += len;
		}
	}
	if (!i)
		return ret;
	note_records(b, i, lo, hi, last_off, r[i - 1].caplen);
	if (pcapng) { /* a packet block's first 8 bytes, as pcapng does (index.h) */
		b->ix.last_ts_sec = PCAPNG_BT_EPB;
		b->ix.last_ts_frac = r[i - 1].len;
	} else {
		b->ix.last_ts_sec = r[i - 1].ts_sec;
		b->ix.last_ts_frac = r[i - 1].ts_frac;
	}
	return ret;
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
	struct index_caps caps;

	*ix = b->ix;
	ix->chunks = dup_array(b->ix.chunks, b->ix.nchunks, sizeof(*ix->chunks));
	ix->addr4 = dup_array(b->ix.addr4, b->ix.naddr4, sizeof(*ix->addr4));
	ix->addr6 = dup_array(b->ix.addr6, b->ix.naddr6, sizeof(*ix->addr6));
	ix->post = dup_array(b->ix.post, b->ix.npost, 1);
	ix->sblocks = dup_array(b->ix.sblocks, b->ix.nsblocks, sizeof(*ix->sblocks));
	caps = (struct index_caps){ .post = b->ix.npost ? b->ix.npost : 1, .addr4 = b->ix.naddr4,
				    .addr6 = b->ix.naddr6, .chunks = b->ix.nchunks }; /* as dup_array made them */
	if (b->open) {
		struct post_scratch scratch = { 0 };

		emit_open_chunk(b, ix, &caps, &scratch);
		post_scratch_free(&scratch);
	}
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
	post_build_free(b->pb);
	post_scratch_free(&b->scratch);
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
