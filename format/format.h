/*
 * format — the capture file format, in one place: the numbers of the pcap
 * savefile (libpcap's sf-pcap.c) and of the link types, its file and record
 * headers encoded and parsed, a probe that tells a file of ours from anything
 * else, and the names tcpdump gives rotated files (-C, -G, -W), both composed
 * (the writer) and matched (retention).
 *
 * Kinds of file. Each kind of file is one source file here (pcap.c,
 * pcapng_write.c for what ringcap writes of pcapng) with its encoders and parsers, plus one entry in the table of format.c that lets code
 * which does not care which kind a file is (retention) recognise it through
 * format_probe. pcapng is read by pcapng.c (its probe is format_pcapng); a
 * compressed-chunk kind is one more file beside them and one more entry in
 * that table.
 *
 * Untrusted bytes. The parsers read files anybody may have written, so, as
 * ring/block.h does for the kernel's blocks, they take the buffer's length,
 * check every length before using it and never read past the buffer: a header
 * that lies stops the parse and is reported (FORMAT_LIED, PCAP_REC_BAD), it
 * is never followed.
 *
 * Threads: everything here is pure (no state; no syscalls but the time zone
 * file localtime_r may read once) and may be called from any thread. The per-record
 * functions are inline: the writer encodes, and the index scans, one record
 * per packet. Nothing here allocates but the matcher (its regex), which
 * rotation_matcher_free releases.
 */
#ifndef RINGCAP_FORMAT_H
#define RINGCAP_FORMAT_H

#include <limits.h>
#include <regex.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

/* ------------------------------------------------------------ link types */

/* The savefile link types (tcpdump.org/linktypes.html) that ringcap writes
 * or reads. libpcap's DLT_ values equal these but for LINKTYPE_RAW. */
#define LINKTYPE_NULL 0u         /* BSD loopback: 4-byte host-order family */
#define LINKTYPE_ETHERNET 1u
#define LINKTYPE_RAW 101u        /* raw IPv4/IPv6, no link-layer header */
#define LINKTYPE_LOOP 108u       /* OpenBSD loopback: network-order family */
#define LINKTYPE_LINUX_SLL 113u  /* Linux cooked capture v1 */
#define LINKTYPE_IPV4 228u
#define LINKTYPE_IPV6 229u
#define LINKTYPE_LINUX_SLL2 276u /* Linux cooked capture v2 */

/* -------------------------------------------------------- pcap (pcap.c) */

/*
 * The file: a 24-byte header, then records of a 16-byte header and caplen
 * bytes. ringcap writes host byte order, version 2.4; the magic tells readers
 * the byte order and whether ts_frac counts micro- or nanoseconds.
 *
 *   header: magic u32, version_major u16, version_minor u16, thiszone i32,
 *           sigfigs u32, snaplen u32, linktype u32
 *   record: ts_sec u32, ts_frac u32, caplen u32, len u32, caplen bytes
 */
#define PCAP_MAGIC_MICRO 0xa1b2c3d4u
#define PCAP_MAGIC_NANO 0xa1b23c4du
/* not PCAP_VERSION_*: <pcap/pcap.h> defines those (ring/filter.c includes both) */
#define PCAP_FILE_VERSION_MAJOR 2u
#define PCAP_FILE_VERSION_MINOR 4u
#define PCAP_FILE_HEADER_LEN 24u
#define PCAP_RECORD_HEADER_LEN 16u
/* libpcap's MAXIMUM_SNAPLEN: the largest snap length ringcap writes, and the
 * largest caplen a record may claim (libpcap refuses larger ones). */
#define PCAP_SNAPLEN_MAX 262144u

/* Why a parse stopped. FORMAT_OK is 0, so `if (parse(...))` means "not usable". */
enum format_status {
	FORMAT_OK = 0,
	FORMAT_SHORT,    /* fewer bytes than the header needs */
	FORMAT_FOREIGN,  /* not this kind of file (no magic of ours) */
	FORMAT_LIED,     /* the magic is ours, a field is impossible */
};

/* The 24-byte file header, version 2.4, host byte order, for link type
 * `linktype` as given (LINKTYPE_NULL is 0: callers with a default apply it). */
void pcap_file_header_encode(uint8_t out[PCAP_FILE_HEADER_LEN], uint32_t snaplen, bool nano,
			     uint32_t linktype);

struct pcap_file_info {
	bool swapped;       /* written on a host of the other byte order */
	bool nano;          /* ts_frac in nanoseconds, else microseconds */
	uint16_t version_major, version_minor;
	uint32_t snaplen;
	uint32_t linktype;  /* LINKTYPE_* (the low 16 bits of the field) */
};

/*
 * The file header in buf[0, len): either byte order, either magic. FORMAT_OK,
 * FORMAT_SHORT (len < 24), FORMAT_FOREIGN (pcapng, anything else) or
 * FORMAT_LIED (a major version other than 2, which libpcap refuses too).
 * Reads at most 24 bytes; *fi is set only on FORMAT_OK.
 */
enum format_status pcap_file_header_parse(const uint8_t *buf, size_t len, struct pcap_file_info *fi);

static inline uint32_t pcap_u32(const uint8_t *p, bool swapped)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return swapped ? __builtin_bswap32(v) : v;
}

/* One record header, host byte order: the writer's and ringcap-read's. */
static inline void pcap_record_header_encode(uint8_t out[PCAP_RECORD_HEADER_LEN], uint32_t ts_sec,
					     uint32_t ts_frac, uint32_t caplen, uint32_t len)
{
	const uint32_t h[4] = { ts_sec, ts_frac, caplen, len };

	memcpy(out, h, sizeof(h));
}

struct pcap_rec {
	uint32_t ts_sec, ts_frac, caplen, len;
};

enum pcap_rec_status {
	PCAP_REC_OK,
	PCAP_REC_SHORT,     /* fewer bytes than the header or its caplen: torn (or read more) */
	PCAP_REC_BAD,       /* the header lies: caplen too large, or all zero (preallocated) */
};

/* The record header at `p`, of which `avail` bytes are at hand; its data are
 * not looked at (a reader that only wants the time). */
static inline enum pcap_rec_status pcap_rec_header_parse(const struct pcap_file_info *fi, const uint8_t *p,
							 size_t avail, struct pcap_rec *r)
{
	if (avail < PCAP_RECORD_HEADER_LEN)
		return PCAP_REC_SHORT;
	r->ts_sec = pcap_u32(p, fi->swapped);
	r->ts_frac = pcap_u32(p + 4, fi->swapped);
	r->caplen = pcap_u32(p + 8, fi->swapped);
	r->len = pcap_u32(p + 12, fi->swapped);
	if (r->caplen > PCAP_SNAPLEN_MAX)
		return PCAP_REC_BAD;
	if (!r->ts_sec && !r->ts_frac && !r->caplen && !r->len)
		return PCAP_REC_BAD;
	return PCAP_REC_OK;
}

/* The whole record at `p` (header and caplen bytes), `avail` bytes at hand. */
static inline enum pcap_rec_status pcap_rec_parse(const struct pcap_file_info *fi, const uint8_t *p,
						  size_t avail, struct pcap_rec *r)
{
	enum pcap_rec_status s = pcap_rec_header_parse(fi, p, avail, r);

	if (s != PCAP_REC_OK)
		return s;
	if (avail - PCAP_RECORD_HEADER_LEN < r->caplen)
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
	*data = it->buf + it->off + PCAP_RECORD_HEADER_LEN;
	*file_off = it->base + it->off;
	it->off += PCAP_RECORD_HEADER_LEN + r->caplen;
	return true;
}

/* ------------------------------------------------------------ pcapng */

/*
 * pcapng (draft-ietf-opsawg-pcapng): a file is one or more sections, each a
 * Section Header Block, then Interface Description Blocks, then packets
 * (Enhanced / Simple Packet Blocks) and other blocks. Every block is
 *   type u32, total_length u32, body, total_length u32 (a multiple of 4),
 * in the byte order the section's byte-order magic says.
 */
#define PCAPNG_BT_SHB 0x0A0D0D0Au   /* the same in either byte order */
#define PCAPNG_BT_IDB 0x00000001u
#define PCAPNG_BT_SPB 0x00000003u
#define PCAPNG_BT_NRB 0x00000004u
#define PCAPNG_BT_ISB 0x00000005u
#define PCAPNG_BT_EPB 0x00000006u
#define PCAPNG_BT_DSB 0x0000000Au
#define PCAPNG_BYTE_ORDER_MAGIC 0x1A2B3C4Du
#define PCAPNG_VERSION_MAJOR 1u
#define PCAPNG_VERSION_MINOR 0u
/* Options: code u16, length u16, value padded to 4; opt_endofopt ends them. */
#define PCAPNG_OPT_ENDOFOPT 0u
#define PCAPNG_OPT_COMMENT 1u
#define PCAPNG_SHB_HARDWARE 2u
#define PCAPNG_SHB_OS 3u
#define PCAPNG_SHB_USERAPPL 4u
#define PCAPNG_IF_NAME 2u
#define PCAPNG_IF_DESCRIPTION 3u
#define PCAPNG_IF_TSRESOL 9u
#define PCAPNG_EPB_FLAGS 2u
#define PCAPNG_EPB_DROPCOUNT 4u
#define PCAPNG_ISB_STARTTIME 2u
#define PCAPNG_ISB_ENDTIME 3u
#define PCAPNG_ISB_IFRECV 4u
#define PCAPNG_ISB_IFDROP 5u
#define PCAPNG_ISB_FILTERACCEPT 6u
#define PCAPNG_ISB_OSDROP 7u
#define PCAPNG_ISB_USRDELIV 8u

/* ---------------------------------------------- pcapng (parse) (pcapng.c) */

/*
 * Reading pcapng, as libpcap's sf-pcapng.c does, bounded like the pcap
 * parsers above: every function takes the bytes at hand and never reads past
 * them. A block's framing lies when its total length is under 12, not a
 * multiple of 4, over PCAPNG_BLOCK_MAX, or differs from the copy at its end:
 * nothing after it can be found, so a walk stops there (FORMAT_LIED). A block
 * whose framing holds but whose body lies (an EPB whose caplen overruns it, a
 * packet of an interface no IDB described, an IDB whose options overrun) is
 * counted and skipped. NRB, ISB, DSB, custom and unknown blocks are skipped.
 *
 * The byte order is the section's: each Section Header Block's byte-order
 * magic sets it, and a new section forgets the interfaces of the one before
 * (interface ids count from 0 in each section).
 */
#define PCAPNG_BLOCK_MIN 12u          /* type, total length, total length */
#define PCAPNG_SHB_MIN 28u            /* + byte-order magic, version, section length */
#define PCAPNG_EPB_MIN 32u
#define PCAPNG_SPB_MIN 16u
/* libpcap's bound on a block it reads (INITIAL_MAX_BLOCKSIZE). */
#define PCAPNG_BLOCK_MAX (16u << 20)
/* Interfaces a section may describe; an IDB past these is counted and its
 * packets skipped. */
#define PCAPNG_MAX_IFACES 256u
#define PCAPNG_IFNAME_MAX 64u          /* if_name kept, NUL included */
#define PCAPNG_IF_TSOFFSET 14u

/* A block's framing: its body is `body_len` bytes at `body`. */
struct pcapng_block {
	uint32_t type, total_len;
	const uint8_t *body;
	uint32_t body_len;
};

/* The block at p, `avail` bytes at hand, in the section's byte order:
 * FORMAT_OK, FORMAT_SHORT (fewer than 8 bytes, or than its total length; *b
 * then has its type and total length) or FORMAT_LIED (see above). */
enum format_status pcapng_block_parse(const uint8_t *p, size_t avail, bool swapped, struct pcapng_block *b);

struct pcapng_shb {
	bool swapped;             /* written on a host of the other byte order */
	uint16_t major, minor;
	int64_t section_len;      /* -1: not said */
	uint32_t total_len;
};

/* The fixed part of a Section Header Block (PCAPNG_SHB_HEAD_LEN bytes:
 * type, total length, byte-order magic, version, section length), the rest
 * not looked at: what a probe or an index compares. FORMAT_FOREIGN,
 * FORMAT_SHORT or FORMAT_LIED as below (the total length is checked for its
 * bounds only). */
#define PCAPNG_SHB_HEAD_LEN 24u
enum format_status pcapng_shb_head_parse(const uint8_t *p, size_t avail, struct pcapng_shb *s);
/* A Section Header Block at p: FORMAT_FOREIGN (not one), FORMAT_SHORT,
 * FORMAT_LIED (a byte-order magic of neither order, a major version other
 * than 1, framing that lies). Reads at most `avail` bytes. */
enum format_status pcapng_shb_parse(const uint8_t *p, size_t avail, struct pcapng_shb *s);

/* One interface of a section, from its IDB. */
struct pcapng_iface {
	uint32_t linktype;        /* LINKTYPE_* */
	uint32_t snaplen;         /* 0: none */
	bool tsres_pow2;          /* if_tsresol: units of 2^-exp s, else 10^-exp s */
	uint8_t tsres_exp;        /* 6 (microseconds) when the IDB does not say */
	int64_t tsoffset_s;       /* if_tsoffset: seconds added to every time */
	char name[PCAPNG_IFNAME_MAX];  /* if_name, cut to fit; "" when none */
	bool usable;              /* false: its IDB lied, its packets are skipped */
};

/* An IDB's body: FORMAT_OK, or FORMAT_LIED (a body under 8 bytes, an option
 * that overruns it, a resolution finer than 10^-19 or 2^-63 s). */
enum format_status pcapng_idb_parse(const struct pcapng_block *b, bool swapped, struct pcapng_iface *ifc);
/* A time in the interface's units as ns since the epoch (saturating). Pure. */
uint64_t pcapng_ts_ns(const struct pcapng_iface *ifc, uint64_t ts);

/* A packet of an EPB or SPB. */
struct pcapng_pkt {
	uint32_t iface;           /* id in its section */
	uint64_t ts;              /* in the interface's units (SPB: 0, none) */
	uint32_t caplen, len;
	uint32_t flags;           /* epb_flags (direction in bits 0-1), 0 when none */
	const uint8_t *data;      /* caplen bytes, inside the block */
};

/* An EPB's body: FORMAT_OK or FORMAT_LIED (a body under 20 bytes, a caplen
 * over PCAP_SNAPLEN_MAX or past the body). Options that overrun are ignored. */
enum format_status pcapng_epb_parse(const struct pcapng_block *b, bool swapped, struct pcapng_pkt *p);
/* An SPB's body (interface 0, whose snaplen is given: 0 none): caplen is
 * min(len, snaplen). FORMAT_OK or FORMAT_LIED (the packet overruns the body). */
enum format_status pcapng_spb_parse(const struct pcapng_block *b, bool swapped, uint32_t snaplen,
				    struct pcapng_pkt *p);

/* What a walk knows of the section it is in. Large (the interface table):
 * a caller keeps it off the stack of a hot path. */
struct pcapng_section {
	bool valid;               /* an SHB was seen */
	bool swapped;
	uint32_t nifaces;         /* IDBs seen in the section (may pass PCAPNG_MAX_IFACES) */
	struct pcapng_iface iface[PCAPNG_MAX_IFACES];
};

/* Take one SHB or IDB (a block the walk saw, or one an index remembers) into
 * the section: an SHB starts a new one, an IDB adds an interface (one that
 * lies is added unusable, so the ids after it stay right). Other blocks are
 * ignored. FORMAT_OK, or the parse's status for an SHB that cannot be used
 * (the section is then invalid). Pure. */
enum format_status pcapng_section_take(struct pcapng_section *sec, const uint8_t *p, size_t avail);

/* A packet a walk found. */
struct pcapng_rec {
	uint64_t off;             /* file offset of its block */
	uint32_t block_len;
	uint32_t block_type;      /* PCAPNG_BT_EPB, _SPB, or _SHB, _IDB */
	const struct pcapng_iface *ifc;  /* in the section: valid until the walk
					  * takes the next SHB or IDB */
	struct pcapng_pkt pkt;
	uint64_t ts_ns;
};

/*
 * Walk the whole blocks in buf[0, len); `base` is the file offset of buf[0].
 * The section state is the caller's and outlives the walk (a walk over the
 * next read goes on with it). The walk takes SHBs and IDBs into it, yields
 * packets, skips other blocks, counts and skips packets that lie; it stops at
 * the end of the bytes (FORMAT_OK: exactly at len; FORMAT_SHORT: a block cut
 * there, `need` its total length) or at framing that lies or a first block
 * that is no SHB (FORMAT_LIED).
 */
struct pcapng_iter {
	struct pcapng_section *sec;
	const uint8_t *buf;
	size_t len, off;          /* off: the next block */
	uint64_t base;
	enum format_status stop;
	uint32_t need;            /* with FORMAT_SHORT: the cut block's total length (0: unknown) */
	uint64_t bad;             /* packets and IDBs counted and skipped */
	uint64_t first_bad_off;   /* file offset of the first of them */
};

void pcapng_iter_init(struct pcapng_iter *it, struct pcapng_section *sec, const uint8_t *buf, size_t len,
		      uint64_t base);
/* Next packet, SHB or IDB into *r (r->block_type says which; an SHB or IDB
 * has no pkt, ifc or ts_ns: it was taken into the section, and is yielded for
 * a caller that remembers where the sections and interfaces are: the index);
 * false when the walk stopped (it->stop says why). */
bool pcapng_iter_next(struct pcapng_iter *it, struct pcapng_rec *r);
/* ------------------------------------------ pcapng (encode: pcapng_write.c) */

/*
 * What ringcap writes: host byte order, one section per file: a Section Header
 * Block, one Interface Description Block per capture interface (interface id
 * = its place among them, 0 first), then an Enhanced Packet Block per packet
 * and, when the file is closed, an Interface Statistics Block per interface.
 * ringcap-read's output is made of the same encoders: an SHB, then each IDB
 * just before its interface's first EPB, no ISB. Options are written only when they say something and end with
 * opt_endofopt; a block without options has none, not even that.
 *
 *   EPB: type u32, total u32, interface u32, ts_high u32, ts_low u32,
 *        caplen u32, len u32, caplen bytes zero-padded to 4,
 *        [epb_flags (2, 4): u32 (direction in bits 0-1), opt_endofopt], total u32
 *
 * Timestamps count units of the interface's if_tsresol (10^-9 s or 10^-6 s)
 * since 1970, split into the high and the low 32 bits.
 *
 * The block encoders below take `room` bytes at `out` and return the bytes
 * the block takes; they write only when it fits (so a call with room 0 sizes
 * a block).
 */
#define PCAPNG_EPB_HEADER_LEN 28u    /* type .. len, before the data */
#define PCAPNG_EPB_FLAGS_LEN 12u     /* epb_flags and opt_endofopt */
#define PCAPNG_TRAILER_LEN 4u        /* the total length again */
#define PCAPNG_TSRESOL_MICRO 6u
#define PCAPNG_TSRESOL_NANO 9u
/* An ISB with every option ringcap writes: 24 bytes of block, four 12-byte
 * options, opt_endofopt. */
#define PCAPNG_ISB_MAX_LEN 76u

static inline uint32_t pcapng_pad4(uint32_t n)
{
	return (n + 3u) & ~3u;
}

/* The bytes of the EPB of a packet of `caplen` captured bytes; flags is its
 * epb_flags word (the writer's: a PKT_DIR_* of ring/block.h, the direction
 * bits; ringcap-read's: the word its input had): 0 writes no option. */
static inline uint32_t pcapng_epb_len(uint32_t caplen, uint32_t flags)
{
	return PCAPNG_EPB_HEADER_LEN + pcapng_pad4(caplen) + (flags ? PCAPNG_EPB_FLAGS_LEN : 0) +
	       PCAPNG_TRAILER_LEN;
}

/* Two host-order u32 as the u64 that stores them in this order. The EPB
 * encoders store their fields from registers, 8 bytes at a time, in address
 * order: fields built in an array or struct on the stack and copied out were
 * read back with wider loads than the stores that wrote them, and each such
 * load waited for its stores to retire (a failed store-to-load forward:
 * measured, most of the EPB's extra cost over a pcap record). */
static inline uint64_t pcapng_u32_pair(uint32_t first, uint32_t second)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	return first | (uint64_t)second << 32;
#else
	return (uint64_t)first << 32 | second;
#endif
}

static inline void pcapng_put64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, sizeof(v));
}

/* The EPB's fixed part, before the data: `total` is pcapng_epb_len's. */
static inline void pcapng_epb_header_encode(uint8_t out[PCAPNG_EPB_HEADER_LEN], uint32_t total,
					    uint32_t iface, uint64_t ts, uint32_t caplen, uint32_t len)
{
	pcapng_put64(out, pcapng_u32_pair(PCAPNG_BT_EPB, total));
	pcapng_put64(out + 8, pcapng_u32_pair(iface, (uint32_t)(ts >> 32)));
	pcapng_put64(out + 16, pcapng_u32_pair((uint32_t)ts, caplen));
	memcpy(out + 24, &len, sizeof(len));
}

/* What follows the data at `after` (the first byte past caplen): the padding
 * (zeros), epb_flags when flags is not 0 (as given), the total length. */
static inline void pcapng_epb_trailer_encode(uint8_t *after, uint32_t caplen, uint32_t flags,
					     uint32_t total)
{
	const uint32_t zero = 0;
	uint8_t *p = after + (pcapng_pad4(caplen) - caplen);

	memcpy(after, &zero, 4); /* the padding; within the block: the trailer follows */
	if (flags) {
		/* epb_flags: code and length (u16 each, a constant word), the u32
		 * value; then opt_endofopt (code 0, length 0: a zero word) */
		const uint16_t code_len[2] = { PCAPNG_EPB_FLAGS, 4 };
		uint32_t head;

		memcpy(&head, code_len, sizeof(head));
		pcapng_put64(p, pcapng_u32_pair(head, flags));
		pcapng_put64(p + 8, pcapng_u32_pair(PCAPNG_OPT_ENDOFOPT, total));
	} else {
		memcpy(p, &total, 4);
	}
}

/* The SHB's options; each NULL or "" is left out. */
struct pcapng_shb_opts {
	const char *hardware;   /* shb_hardware: the CPU model, or uname's machine */
	const char *os;         /* shb_os: "Linux 6.1.0" */
	const char *userappl;   /* shb_userappl: "ringcap 0.1.0" */
};

/* Version 1.0, section length -1 (not known: the file is written as a stream). */
size_t pcapng_shb_encode(uint8_t *out, size_t room, const struct pcapng_shb_opts *s);

struct pcapng_idb {
	uint32_t linktype;      /* LINKTYPE_* (the field is 16 bits) */
	uint32_t snaplen;
	const char *name;       /* if_name; NULL or "": none */
	const char *description; /* if_description; NULL or "": none */
	bool nano;              /* if_tsresol 9, else 6 (always written) */
};

size_t pcapng_idb_encode(uint8_t *out, size_t room, const struct pcapng_idb *d);

struct pcapng_isb {
	uint32_t iface;
	uint64_t ts;            /* when the counts were taken, in the IDB's units */
	uint64_t recv, drop;    /* isb_ifrecv, isb_ifdrop */
	uint64_t start, end;    /* isb_starttime / isb_endtime; 0: left out */
};

size_t pcapng_isb_encode(uint8_t *out, size_t room, const struct pcapng_isb *s);

/*
 * The end of a pcapng file's prologue in buf[0, len) (the file's first
 * bytes): past its leading blocks that hold no packet (Section Header,
 * Interface Description and Interface Statistics Blocks), as far as they
 * are whole in buf. FORMAT_FOREIGN when buf is no pcapng
 * (FORMAT_SHORT: fewer than 12 bytes); FORMAT_LIED when a length is
 * impossible (then *end is where the walk stopped). A file with more bytes
 * than *end holds other blocks (packets) or a torn one. Reads no more than
 * len bytes.
 */
enum format_status pcapng_prologue_end(const uint8_t *buf, size_t len, size_t *end);

/* ------------------------------------------------- any kind (format.c) */

/* Bytes from a file's start that format_probe needs to see its first record. */
#define FORMAT_PROBE_LEN 512u

/* What a probe learnt from a file's first bytes. */
struct format_probe {
	const struct format_kind *kind;
	uint32_t linktype;
	uint64_t first_ts_ns;   /* the first record's time; 0: no whole record header */
};

/* One kind of capture file. */
struct format_kind {
	const char *name;       /* "pcap" */
	/* Recognise buf[0, len) as the start of a file of this kind: FORMAT_OK
	 * (and *out filled), FORMAT_FOREIGN when it is not one, FORMAT_SHORT or
	 * FORMAT_LIED when it is one but cannot be used. */
	enum format_status (*probe)(const uint8_t *buf, size_t len, struct format_probe *out);
};

extern const struct format_kind format_pcap;
extern const struct format_kind format_pcapng;

/* Try every kind ringcap writes: the first answer other than FORMAT_FOREIGN,
 * else FORMAT_FOREIGN. Pass up to FORMAT_PROBE_LEN bytes of the file's start. */
enum format_status format_probe(const uint8_t *buf, size_t len, struct format_probe *out);

/* ------------------------------------------- rotation names (names.c) */

/*
 * How a capture names its files, as tcpdump does:
 *   -G: the -w name is a strftime format, expanded when each file opens;
 *   -C: FILE, FILE1, FILE2, ... (nothing appended to the first);
 *   -C -W N: FILE0 .. FILE(N-1), zero-padded to N-1's digits, reused in a ring;
 *   -G -W N without -C: nothing appended (-W only bounds how many).
 */
struct rotation_names {
	const char *path;      /* -w; strftime conversions in its last component with -G */
	bool strftime;         /* -G */
	bool numbered;         /* -C */
	unsigned max_files;    /* -W; 0: none */
};

/* Digits of the -C -W suffix: those of max_files - 1 (1 for 0..10 files). */
unsigned rotation_digits(unsigned max_files);

/* The name of file number `index` (0 first) opened at `when` (local time,
 * for -G), in out. 0 or -ENAMETOOLONG (also when strftime makes nothing). */
int rotation_name(const struct rotation_names *n, unsigned index, time_t when, char *out, size_t len);

/* The names a capture's files can take, as a regular expression over the
 * names in the pattern's directory (-G conversions become the characters
 * their output can hold: %Y four digits, %m two, ...). */
struct rotation_matcher {
	char dir[PATH_MAX];   /* the pattern's directory, "." when none */
	regex_t re;           /* anchored, over the last component */
	bool compiled;
};

/* 0, -EOPNOTSUPP (a conversion in the directory part), -EINVAL (a
 * conversion with no fixed shape, a bad pattern), -ENAMETOOLONG. */
int rotation_matcher_compile(struct rotation_matcher *m, const struct rotation_names *p);
/* Is `name` (a last component, no directory) one of the capture's files? */
bool rotation_matcher_match(const struct rotation_matcher *m, const char *name);
/* Safe on a zeroed or failed matcher, and twice. */
void rotation_matcher_free(struct rotation_matcher *m);

#endif
