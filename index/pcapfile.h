/*
 * Reading classic pcap savefiles (libpcap's sf-pcap.c format): the 24-byte file
 * header and 16-byte record headers, in either byte order, micro- or
 * nanosecond timestamps. Included by index.h; pure, no syscalls.
 *
 * The bytes come from files anybody may have written, so, as ring/block.h does
 * for the kernel's blocks, every length is checked before it is used: a record
 * whose caplen is larger than any snap length libpcap accepts, or that runs
 * past the bytes we have, stops the walk and is reported, never followed.
 */
#ifndef RINGCAP_INDEX_PCAPFILE_H
#define RINGCAP_INDEX_PCAPFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define PCAP_FILE_HEADER_BYTES 24u
#define PCAP_REC_HEADER_BYTES 16u
/* libpcap's MAXIMUM_SNAPLEN: it refuses records with a larger caplen. */
#define PCAP_MAX_CAPLEN 262144u

#define PCAP_MAGIC_US 0xa1b2c3d4u
#define PCAP_MAGIC_NS 0xa1b23c4du

#define LINKTYPE_NULL 0u
#define LINKTYPE_ETHERNET 1u
#define LINKTYPE_RAW 101u
#define LINKTYPE_LOOP 108u
#define LINKTYPE_LINUX_SLL 113u
#define LINKTYPE_IPV4 228u
#define LINKTYPE_IPV6 229u
#define LINKTYPE_LINUX_SLL2 276u

struct pcap_file_info {
	bool swapped;       /* written on a host of the other byte order */
	bool nano;          /* ts_frac in nanoseconds, else microseconds */
	uint32_t snaplen;
	uint32_t linktype;  /* LINKTYPE_* (the low 16 bits of the field) */
};

struct pcap_rec {
	uint32_t ts_sec, ts_frac, caplen, len;
};

enum pcap_rec_status {
	PCAP_REC_OK,
	PCAP_REC_SHORT,     /* fewer bytes than the header or its caplen: torn (or read more) */
	PCAP_REC_BAD,       /* the header lies: caplen too large, or all zero (preallocated) */
};

static inline uint32_t pcap_u32(const uint8_t *p, bool swapped)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return swapped ? __builtin_bswap32(v) : v;
}

/* 0, or -1 if `h` is not a classic pcap header (pcapng, anything else). */
static inline int pcap_file_header_parse(const uint8_t h[PCAP_FILE_HEADER_BYTES], struct pcap_file_info *fi)
{
	uint32_t magic = pcap_u32(h, false);

	if (magic == PCAP_MAGIC_US || magic == PCAP_MAGIC_NS)
		fi->swapped = false;
	else if (magic == __builtin_bswap32(PCAP_MAGIC_US) || magic == __builtin_bswap32(PCAP_MAGIC_NS))
		fi->swapped = true;
	else
		return -1;
	magic = pcap_u32(h, fi->swapped);
	fi->nano = magic == PCAP_MAGIC_NS;
	fi->snaplen = pcap_u32(h + 16, fi->swapped);
	fi->linktype = pcap_u32(h + 20, fi->swapped) & 0xffffu;
	return 0;
}

/* Decode the record at `p`, of which `avail` bytes are at hand. */
static inline enum pcap_rec_status pcap_rec_parse(const struct pcap_file_info *fi, const uint8_t *p,
						  size_t avail, struct pcap_rec *r)
{
	if (avail < PCAP_REC_HEADER_BYTES)
		return PCAP_REC_SHORT;
	r->ts_sec = pcap_u32(p, fi->swapped);
	r->ts_frac = pcap_u32(p + 4, fi->swapped);
	r->caplen = pcap_u32(p + 8, fi->swapped);
	r->len = pcap_u32(p + 12, fi->swapped);
	if (r->caplen > PCAP_MAX_CAPLEN)
		return PCAP_REC_BAD;
	if (!r->ts_sec && !r->ts_frac && !r->caplen && !r->len)
		return PCAP_REC_BAD;
	if (avail - PCAP_REC_HEADER_BYTES < r->caplen)
		return PCAP_REC_SHORT;
	return PCAP_REC_OK;
}

static inline uint64_t pcap_ts_ns(const struct pcap_file_info *fi, uint32_t sec, uint32_t frac)
{
	return (uint64_t)sec * 1000000000ull + (fi->nano ? (uint64_t)frac : (uint64_t)frac * 1000ull);
}

/* Walk the whole records in buf[0, len); `base` is the file offset of buf[0]. */
struct pcap_rec_iter {
	const struct pcap_file_info *fi;
	const uint8_t *buf;
	size_t len;
	size_t off;                 /* next record */
	uint64_t base;
	enum pcap_rec_status stop;  /* why the walk ended (OK: ran out exactly at len) */
};

static inline void pcap_rec_iter_init(struct pcap_rec_iter *it, const struct pcap_file_info *fi,
				      const uint8_t *buf, size_t len, uint64_t base)
{
	it->fi = fi;
	it->buf = buf;
	it->len = len;
	it->off = 0;
	it->base = base;
	it->stop = PCAP_REC_OK;
}

/* Next record into *r, its bytes at *data and its file offset at *file_off;
 * false when the bytes end or a header lies (it->stop says which). */
static inline bool pcap_rec_iter_next(struct pcap_rec_iter *it, struct pcap_rec *r, const uint8_t **data,
				      uint64_t *file_off)
{
	enum pcap_rec_status s;

	if (it->stop != PCAP_REC_OK || it->off >= it->len)
		return false;
	s = pcap_rec_parse(it->fi, it->buf + it->off, it->len - it->off, r);
	if (s != PCAP_REC_OK) {
		it->stop = s;
		return false;
	}
	*data = it->buf + it->off + PCAP_REC_HEADER_BYTES;
	*file_off = it->base + it->off;
	it->off += PCAP_REC_HEADER_BYTES + r->caplen;
	return true;
}

#endif
