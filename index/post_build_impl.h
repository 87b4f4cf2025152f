/*
 * The open chunk's postings builder inside (post_build.h is its interface):
 * its tables and record lists, shared by the building and reloading
 * (post_build.c) and the encoding at a chunk's close (post_encode.c). Private
 * to index/.
 */
#ifndef RINGCAP_INDEX_POST_BUILD_IMPL_H
#define RINGCAP_INDEX_POST_BUILD_IMPL_H

#include "index/post_build.h"

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

#endif
