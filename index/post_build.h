/*
 * The open chunk's postings as the builder collects them (index/builder.c's
 * helper, not part of index.h; format in index.h, "Postings").
 *
 * Per record the work is one hash of the record's keys (addresses, protocol,
 * ports, as index_frame_keys gives them) into a small per-chunk flow cache
 * and one 8-byte append: records of one flow share a "tuple", the set of key
 * numbers they carry, resolved once per chunk. The per-key lists are made
 * when the chunk closes: each key's count from its tuples', a key every
 * keyed record carries (common: the protocol, one busy host) takes the
 * records' offsets encoded once, the others are bucketed by key.
 *
 * Threads: a post_build belongs to its builder's thread. Nothing blocks.
 */
#ifndef RINGCAP_INDEX_POST_BUILD_H
#define RINGCAP_INDEX_POST_BUILD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "index/index.h"
#include "util/util.h"

struct post_build;

/* A 32-bit mix for the builder's open-addressing tables. */
static inline uint32_t index_hash32(uint32_t v)
{
	v ^= v >> 16;
	v *= 0x7feb352du;
	v ^= v >> 15;
	v *= 0x846ca68bu;
	return v ^ (v >> 16);
}

/* Make room for `need` elements of `size` bytes at *p (capacity *cap, grown
 * by doubling): the new pointer, never NULL (as xrealloc's). */
static inline void *index_grow(void *p, size_t *cap, size_t need, size_t size)
{
	if (need <= *cap && p)
		return p;
	*cap = need > 2 * *cap ? need : 2 * *cap;
	return xrealloc(p, *cap, size);
}

/* What post_build_add and post_build_reload report. */
#define POST_NEW_FLOW 1u  /* keys the cache did not know: add their addresses to the summary */
#define POST_FULL 2u      /* over INDEX_MAX_KEYS keys: the chunk has no postings */

/* Scratch memory for post_build_encode, grown as needed and reused. */
struct post_scratch {
	uint32_t *count, *at;
	size_t keys_cap;
	uint32_t *bucket;
	size_t bucket_cap;
	uint32_t *order;
	size_t order_cap;
	uint8_t *dense, *tmp;
	size_t dense_cap, tmp_cap;
	uint32_t *owner;          /* per key: the one tuple that holds it, 0 none, UINT32_MAX several */
	size_t owner_cap;
	uint32_t *skey;           /* each tuple's keys held by other tuples too, not every record's */
	size_t skey_cap;
	uint32_t *sspan;          /* tuple t's: skey[sspan[t] .. sspan[t + 1]) */
	size_t sspan_cap;
	uint32_t *group;          /* the offsets of the records of each tuple that owns a key, by tuple */
	size_t group_cap;
	uint32_t *gat;            /* per tuple: its run in group (UINT32_MAX: none) */
	size_t gat_cap;
	uint8_t *tenc;            /* those runs varint-encoded */
	size_t tenc_cap;
	uint32_t *toff;           /* per tuple: its encoded run at tenc[toff[t] .. toff[t] + tlen[t]) */
	uint32_t *tlen;
	size_t toff_cap, tlen_cap;
};

struct post_build *post_build_new(void);
void post_build_free(struct post_build *pb);
/* A new chunk: no key, flow or record. */
void post_build_reset(struct post_build *pb);
/*
 * The record at `rel` (bytes from the chunk's first record; records come in
 * file order) carries the keys *fk. With `postings` false only the flow cache
 * is looked at (the summary still learns new flows) and nothing is kept.
 * POST_FULL: the keys did not fit; the records kept so far are dropped.
 */
unsigned post_build_add(struct post_build *pb, uint32_t rel, const struct frame_keys *fk, bool postings);

/* A record's keys as the flow cache compares them, and where it looks: made
 * ahead of post_build_add_flow (a batch's records all first), so the cache
 * line it reads is asked for early (a miss there is the per-record path's
 * longest wait). */
struct post_flow {
	uint64_t q[5];            /* up to two addresses, then ports, protocol, counts, flags */
	uint32_t slot;            /* its slot in the cache */
	bool ok;                  /* false: keys the cache does not hold (never, for the
				   * link layers index_frame_keys walks) */
};

/* *pf for the keys *fk, its cache slot prefetched; `prev` (may be NULL) the
 * record's before, whose slot a record of the same flow takes as it is.
 * Changes nothing. */
void post_build_flow(const struct post_build *pb, const struct frame_keys *fk, struct post_flow *pf,
		     const struct post_flow *prev);
/* post_build_add for keys whose *pf post_build_flow made (at any time since
 * post_build_new: a slot does not depend on the chunk). */
unsigned post_build_add_flow(struct post_build *pb, uint32_t rel, const struct frame_keys *fk,
			     const struct post_flow *pf, bool postings);
/* Take a chunk's encoded postings block (checked by index_parse, or written
 * here) back in, before any record is added. 0 or POST_FULL. */
unsigned post_build_reload(struct post_build *pb, const uint8_t *blk, uint32_t len);
/*
 * Append the open chunk's postings block to dst->post (*cap bytes allocated
 * there, grown by doubling) and set c's post_off, post_len and nkeys. A
 * chunk flagged INDEX_CHUNK_NO_POSTINGS gets an empty block. The builder is
 * unchanged.
 */
void post_build_encode(const struct post_build *pb, struct post_scratch *s, struct index *dst, size_t *cap,
		       struct index_chunk *c);
void post_scratch_free(struct post_scratch *s);

#endif
