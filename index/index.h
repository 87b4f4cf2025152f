/*
 * index — a small side file beside each pcap capture file that lets a reader
 * jump to a time window and skip the parts of the file that cannot hold a host
 * it looks for, without reading the capture.
 *
 * The index of FILE is DIR/.NAME.ridx (hidden, next to it). It is cut into
 * chunks: a chunk is a run of whole records that starts a new chunk once it
 * holds `chunk_bytes` of the file (1 MiB by default). For each chunk it keeps
 * the file range, the smallest and largest timestamp, the record count and a
 * summary of the IPv4 and IPv6 addresses in it (a sorted set; a chunk with more
 * distinct addresses than the caps below, or of a link type we cannot parse, is
 * marked "any address" and is never skipped for an address).
 *
 * Each chunk also carries postings (version 3): for every key one of its
 * records carries (an address, a TCP/UDP/SCTP port, an IP protocol) the
 * offsets of exactly those records, so a reader reads only the records a
 * filter can match (see "Postings" below).
 *
 * File format, version 3. Every integer is little-endian whatever the host.
 *
 *   header, 176 bytes
 *      0  8  magic "RCAPIDX\n"
 *      8  4  version (3); a reader refuses any other and rebuilds (a version 1
 *            index, which named its file by size and mtime alone, and a
 *            version 2 one, which had no postings, are rebuilt)
 *     12  4  header length (176)
 *     16  8  total length of the index file, trailer included
 *     24  8  capture file size when indexed     } with 144..175 the file's
 *     32  8  capture file mtime, ns             } identity (see below)
 *     40  8  good end: offset past the last whole record indexed
 *     48  8  offset of the last whole record (0 if none)
 *     56  4  its ts_sec, 60 4 its ts_frac, 64 4 its caplen (as in the file):
 *            a file that grew is extended only if this record is unchanged
 *     68  4  bits 24..31 flags: INDEX_F_COMPRESSED, the capture file is
 *            compressed (ringcap's --compress zstd frames, or a -z's zstd or
 *            gzip): every offset here (good end, last record, chunk ranges,
 *            postings) is one in its uncompressed stream, while size, mtime
 *            and 144..175 are those of the compressed file on disk; other
 *            flag bits are 0. Bits 0..23: 0 (pcapng: see version 4)
 *     72 24  the capture file's pcap header, as in the file
 *     96  8  records
 *    104  8  first (smallest) timestamp, ns since the epoch
 *    112  8  last (largest) timestamp, ns
 *    120  4  chunk bytes (the target the builder used)
 *    124  4  chunks
 *    128  4  IPv4 addresses in all chunk summaries
 *    132  4  IPv6 addresses in all chunk summaries
 *    136  8  postings bytes (all chunks' postings blocks)
 *    144  8  capture file's device (st_dev)     } which file the index
 *    152  8  capture file's inode               } describes: another file
 *    160  8  capture file's change time, ns     } (a copy beside it, a file
 *    168  4  CRC-32 of its first n bytes        } replaced under its name)
 *    172  4  CRC-32 of its last n bytes         } does not match
 *            (n = min(size at 24, INDEX_DIGEST_BYTES = 4096))
 *   chunk table: `chunks` entries of 64 bytes
 *      0  8  file offset of the chunk's first record    (chunks are contiguous:
 *      8  8  file offset past its last record            one's end is the next's
 *     16  8  smallest timestamp, ns                      start; the last ends at
 *     24  8  largest timestamp, ns                       good end)
 *     32  4  records
 *     36  4  flags: bit 0 "any address" (no usable summary), bit 1 "no
 *            postings" (too many keys: the chunk is read whole)
 *     40  4  IPv4 addresses in its summary
 *     44  4  IPv6 addresses in its summary
 *     48  8  offset of its postings block in the postings section
 *     56  4  length of its postings block (0 with "no postings")
 *     60  4  keys in its postings block
 *   IPv4 summaries: 4 bytes each (the address as a number, a.b.c.d = a<<24|...),
 *            chunk after chunk, strictly ascending within a chunk
 *   IPv6 summaries: 16 bytes each (network order), the same way
 *   postings section: the chunks' postings blocks, chunk after chunk, each
 *            where its entry says (they tile the section)
 *   trailer: 4 bytes CRC-32 (IEEE, as zlib's crc32) of every byte before it,
 *            then "IEND"
 *
 * Postings. A chunk's block is its keys, strictly ascending by (type, value
 * bytes), each:
 *      1 byte   type: 0 "wild", 1 "wild protocol", 2 IPv4 address, 3 IPv6
 *               address, 4 port, 5 IP protocol
 *      value    wild, wild protocol: none; IPv4: 4 bytes, IPv6: 16, port: 2,
 *               protocol: 1 (network order)
 *      varint   n, records that carry the key (at least 1)
 *      varint   bytes of the offsets that follow
 *      n varints: the first record's offset from the chunk's first record,
 *               then each next one's distance from the one before (> 0)
 * A varint is LEB128: 7 bits a byte, low first, high bit "more", at most 10
 * bytes. A record is in key K's list if K is among: the addresses
 * index_frame_addrs finds in it; the IP protocol (IPv4 byte 9, or the IPv6
 * next header when it is not an extension header); the TCP/UDP/SCTP source
 * and destination ports of an unfragmented IPv4 or an IPv6 packet (as far as
 * caplen holds them). "Wild" lists the records whose keys cannot be told
 * (more tags than followed, a link type not parsed): a reader takes them as
 * carrying every key. "Wild protocol" lists those whose addresses are listed
 * but whose protocol and ports cannot be told (an IPv6 extension header): a
 * reader takes them as carrying every port and protocol. A record with no key
 * (not IP) is in no list. Offsets are record starts inside the chunk.
 *
 * pcapng, version 4. The index of a pcapng file is the same but for:
 *      8  4  version 4 (a pcap file's index stays version 3)
 *     68  4  bits 0..23 structure blocks (n): its SHBs and IDBs, listed after the
 *            postings section so a reader can rebuild the byte order and the
 *            interfaces in force at any chunk's start
 *     72 24  the file's first 24 bytes: its SHB's fixed part
 *     56  4, 60 4: the first 8 bytes of the last packet block as in the file
 *            (type and total length), 64 4 its caplen
 *   A "record" is a packet block (EPB or SPB); its offset is the block's. A
 *   chunk runs from its first packet block to the end of its last: other
 *   blocks (SHB, IDB, NRB, ISB, custom) may lie inside or between chunks, so
 *   a chunk's start is not the previous one's end. Good end is past the last
 *   whole block walked. After the postings section:
 *   structure table: n entries of 16 bytes, ascending by offset, the first
 *            at offset 0 and an SHB
 *      0  8  block offset
 *      8  4  block total length
 *     12  4  block type (PCAPNG_BT_SHB or PCAPNG_BT_IDB)
 *   A pcapng file that grew is indexed again whole (no extension).
 *
 * A file whose length, magic, version, counts, ranges, order, postings or
 * checksum does not add up is rejected (index_parse) and rebuilt by the
 * reader.
 *
 * Identity. An index is taken as it is only for the file it was built from:
 * the same device, inode, size, mtime and change time (which no one can set
 * back) and the same first and last 4 KiB. A file that only grew keeps its
 * index if device, inode, header, the last indexed record and the CRC-32s of
 * the first and last 4 KiB of its old size still hold; the new tail is then
 * indexed. Anything else is rebuilt.
 *
 * Threads and blocking: nothing here keeps global state; an index or a builder
 * belongs to one thread at a time. index_parse, index_frame_addrs and the
 * builder's add are pure (no syscalls). index_load, index_save, the builder's
 * write and index_scan block on file I/O.
 *
 * Ownership: struct index owns its arrays (index_free). A builder copies what
 * it keeps from the frames it is given; the caller keeps the frame.
 */
#ifndef RINGCAP_INDEX_H
#define RINGCAP_INDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "format/format.h"

#define INDEX_MAGIC "RCAPIDX\n"
#define INDEX_VERSION 3u
#define INDEX_VERSION_PCAPNG 4u
#define INDEX_SBLOCK_LEN 16u
#define INDEX_HEADER_LEN 176u
#define INDEX_CHUNK_LEN 64u
#define INDEX_TRAILER_LEN 8u
#define INDEX_CHUNK_BYTES_DEFAULT (1u << 20)
/* Distinct addresses a chunk summary holds before it gives up ("any address"). */
#define INDEX_MAX_ADDR4 4096u
#define INDEX_MAX_ADDR6 1024u
/* Distinct keys a chunk's postings hold before it gives up ("no postings"). */
#define INDEX_MAX_KEYS 32768u
/* Bytes at each end of the capture file whose CRC-32 ties an index to it. */
#define INDEX_DIGEST_BYTES 4096u

#define INDEX_CHUNK_ANY_ADDR 1u
#define INDEX_CHUNK_NO_POSTINGS 2u

/* Postings key types (see "Postings"). */
enum index_key_type {
	INDEX_KEY_WILD = 0,       /* records whose keys cannot be told */
	INDEX_KEY_WILD_L4 = 1,    /* records whose protocol and ports cannot be told */
	INDEX_KEY_ADDR4 = 2,
	INDEX_KEY_ADDR6 = 3,
	INDEX_KEY_PORT = 4,
	INDEX_KEY_PROTO = 5,
};

struct index_chunk {
	uint64_t off, end;        /* file range of whole records */
	uint64_t min_ns, max_ns;
	uint32_t records;
	uint32_t flags;           /* INDEX_CHUNK_* */
	uint32_t n4, n6;          /* addresses in this chunk's summary */
	uint32_t a4, a6;          /* first of them in index.addr4 / index.addr6 (not stored) */
	uint64_t post_off;        /* its postings block in index.post */
	uint32_t post_len, nkeys;
};

/* An SHB or IDB of a pcapng file (see "pcapng, version 4"). */
struct index_sblock {
	uint64_t off;
	uint32_t len, type;
};

/* The header's word at offset 68: flags above, the structure count below. */
#define INDEX_F_COMPRESSED (1u << 24)
#define INDEX_FLAGS_MASK 0xff000000u
#define INDEX_SBLOCKS_MAX 0x00ffffffu

struct index {
	uint32_t flags;           /* INDEX_F_* */
	bool pcapng;              /* version 4: pcap_header holds the SHB's fixed part */
	uint32_t nsblocks;        /* at most INDEX_SBLOCKS_MAX */
	struct index_sblock *sblocks;  /* SHBs and IDBs, in file order */
	uint64_t file_size;
	int64_t file_mtime_ns;
	int64_t file_ctime_ns;
	uint64_t file_dev, file_ino;
	uint32_t file_head_crc, file_tail_crc;  /* first and last INDEX_DIGEST_BYTES */
	uint64_t good_end;
	uint64_t last_rec_off;
	uint32_t last_ts_sec, last_ts_frac, last_caplen;
	uint8_t pcap_header[PCAP_FILE_HEADER_LEN];
	uint64_t records;
	uint64_t first_ns, last_ns;
	uint32_t chunk_bytes;
	uint32_t nchunks;
	uint32_t naddr4, naddr6;
	struct index_chunk *chunks;
	uint32_t *addr4;
	uint8_t (*addr6)[16];
	uint64_t npost;           /* postings bytes */
	uint8_t *post;
};

void index_free(struct index *ix);

/* Bytes index_serialize needs for `ix`. */
size_t index_serialized_len(const struct index *ix);
/* Encode into `out` (index_serialized_len bytes). Pure. */
void index_serialize(const struct index *ix, uint8_t *out);
/*
 * Decode and check an index file's bytes. Pure and bounds-checked: a length,
 * count or offset that lies is detected, never followed. 0, -EBADMSG (corrupt:
 * bad magic, length, checksum, counts or order) or -ENOTSUP (another version).
 * On success *ix owns new arrays; on failure it is zeroed.
 */
int index_parse(const uint8_t *buf, size_t len, struct index *ix);

/* Are these a file's first 24 bytes the fixed part of a pcapng SHB? Pure. */
bool index_is_pcapng_head(const uint8_t head[PCAP_FILE_HEADER_LEN]);
/* Read and parse a file; -errno from open/read or index_parse, or -ENOTSUP
 * when `path` is not a regular file (a symbolic link is not followed, a FIFO
 * not waited on). Blocks. */
int index_load(const char *path, struct index *ix);
/* Write atomically: a new temporary beside `path` made with mkostemp (never an
 * existing name, never through a link), fsync-free, renamed over `path` (a
 * link there is replaced, not followed). 0 or -errno. */
int index_save(const struct index *ix, const char *path);
/* Stamp `ix` with the identity of the regular file open at `fd`: size, mtime,
 * change time, device, inode and the CRC-32s of its first and last
 * INDEX_DIGEST_BYTES. Adds the bytes read to *bytes_read (may be NULL).
 * Blocks. 0, -ENOTSUP (not a regular file) or -errno. */
int index_identify(int fd, struct index *ix, uint64_t *bytes_read);
/* CRC-32 of the `len` bytes of `fd` at `off`. 0, -EIO (the file is shorter)
 * or -errno. Blocks. */
int index_crc_range(int fd, uint64_t off, uint64_t len, uint32_t *crc);
/* DIR/.NAME.ridx for DIR/NAME, into out (size outlen). 0 or -ENAMETOOLONG. */
int index_path_for(const char *capture_path, char *out, size_t outlen);

/* May any address of chunk `c` lie in [lo, hi] (IPv4, as numbers)? True for an
 * "any address" chunk. Binary search over its sorted summary. */
bool index_chunk_may_have4(const struct index *ix, const struct index_chunk *c, uint32_t lo, uint32_t hi);
bool index_chunk_may_have6(const struct index *ix, const struct index_chunk *c, const uint8_t lo[16],
			   const uint8_t hi[16]);

/* ------------------------------------------------------------- addresses */

struct frame_addrs {
	unsigned n4, n6;
	uint32_t a4[8];
	uint8_t a6[4][16];
};

/*
 * The IPv4/IPv6 addresses a libpcap `host`/`net` test could compare in this
 * frame: IPv4 source and destination, ARP/RARP sender and target (at the fixed
 * offsets libpcap reads), IPv6 source and destination; behind up to four
 * 802.1Q/802.1ad tags too. Link types: Ethernet, LINUX_SLL, LINUX_SLL2, RAW,
 * IPV4, IPV6, NULL and LOOP. Only bytes inside caplen are read. Returns false
 * for a link type it cannot parse, or a frame with more tags than it follows
 * (the chunk then has no usable summary).
 */
bool index_frame_addrs(uint32_t linktype, const uint8_t *frame, uint32_t caplen,
		       struct frame_addrs *out);
/* BSD loopback (LINKTYPE_NULL, LOOP): the IP version its 4-byte address
 * family names, in either byte order (the writer's for NULL, network order
 * for LOOP; AF_INET6 differs between systems: 10, 24, 28, 30), or 0. Pure. */
int index_loopback_ip(const uint8_t *frame, uint32_t caplen);

/* ------------------------------------------------------------------ keys */

/* A frame's IP protocol and TCP/UDP/SCTP ports, as the postings key them. */
struct frame_l4 {
	bool has_proto;
	uint8_t proto;
	unsigned nports;
	uint16_t port[2];         /* source, destination (those caplen holds) */
};

/*
 * The protocol and ports a libpcap `proto`, `tcp`, `port`, `portrange` test
 * could see in this frame: behind the same link layers and tags as
 * index_frame_addrs, IPv4 byte 9 (ports only with fragment offset 0, after the
 * header length IHL says), the IPv6 next header (ports after the fixed 40
 * bytes). A frame that is not IP has none. Returns false ("wild": any key may
 * match) for a link type it cannot parse, more tags than it follows, or an
 * IPv6 extension header. Pure; reads only inside caplen.
 */
bool index_frame_l4(uint32_t linktype, const uint8_t *frame, uint32_t caplen, struct frame_l4 *out);

/* Both of the above from one walk of the link layer (what the builder runs
 * per record). */
struct frame_keys {
	struct frame_addrs a;
	struct frame_l4 l4;
	bool addrs_ok;            /* index_frame_addrs' answer */
	bool l4_ok;               /* index_frame_l4's answer */
};

/* Fills *out as index_frame_addrs and index_frame_l4 would; returns addrs_ok.
 * Pure; reads only inside caplen. */
bool index_frame_keys(uint32_t linktype, const uint8_t *frame, uint32_t caplen, struct frame_keys *out);

/* -------------------------------------------------------------- postings */

/* Record offsets, sorted and distinct; owned by whoever made it (xfree v). */
struct index_offs {
	uint64_t *v;
	size_t n, cap;
};

/* Value bytes of a key type: 0 (wild, wild protocol), 4, 16, 2, 1; -1 for an
 * unknown type. */
int index_key_len(unsigned type);
/*
 * Check a chunk's postings block: keys strictly ascending, counts and lengths
 * that add up, varints that end, offsets ascending and below `span` (the
 * chunk's bytes), at most `records` per key, `nkeys` keys. Pure. 0 or -EBADMSG.
 */
int index_postings_check(const uint8_t *blk, size_t len, uint64_t span, uint32_t records, uint32_t nkeys);
/*
 * The records of chunk `c` that carry a key of `type` whose value lies in
 * [lo, hi] (index_key_len(type) bytes, network order), and its wild records
 * (and for a port or protocol, its wild-protocol ones):
 * their offsets from the chunk's first record, sorted and distinct, into *out
 * (replaced). The block was checked by index_parse. Pure.
 */
void index_chunk_lookup(const struct index *ix, const struct index_chunk *c, unsigned type, const uint8_t *lo,
			const uint8_t *hi, struct index_offs *out);

/* --------------------------------------------------------------- builder */

/*
 * The incremental builder. A reader feeds it every record of a file it scans;
 * ringcap's writer can feed it every record it writes and call
 * index_builder_write() from time to time (after a rotation, at close) so the
 * index of a live file stays current.
 *
 *   index_builder_new(&b, pcap_header, 0);      // once per capture file
 *   for each record:  index_builder_add(b, offset_of_its_16_byte_header,
 *                                       ts_sec, ts_frac, frame, caplen);
 *   index_builder_write(b, capture_path);       // any time; atomic
 *   index_builder_free(b);
 *
 * Records must be added in file order; their timestamps need not be ordered.
 * Not thread-safe: one thread (or a caller's lock) per builder. The builder
 * never does I/O except in index_builder_write.
 */
struct index_builder;

/* `pcap_header`: the file's 24-byte header as written (it gives the link type,
 * precision and byte order). chunk_bytes 0: INDEX_CHUNK_BYTES_DEFAULT.
 * 0, -EINVAL (not a pcap header) or -ENOMEM. */
int index_builder_new(struct index_builder **out, const uint8_t pcap_header[PCAP_FILE_HEADER_LEN],
		      uint32_t chunk_bytes);
/* From the next chunk on, no postings: each chunk is marked "no postings"
 * (ringcap-read reads it whole, as a version 2 chunk) and the per-record key
 * work is skipped (ringcap --no-index-postings). */
void index_builder_without_postings(struct index_builder *b);
/* Continue an existing index (a file that grew): takes over `ix` (which is
 * zeroed) and goes on after its good end. 0, -ENOMEM, or -EINVAL for a
 * pcapng file's index (never extended). */
int index_builder_resume(struct index_builder **out, struct index *ix);
/*
 * One record whose 16-byte header starts at `file_offset` and whose `caplen`
 * bytes follow it. Records are contiguous: the first starts right after the
 * file header, each next one where the previous ended; any other offset, or a
 * caplen over PCAP_SNAPLEN_MAX, is refused with -EINVAL and nothing changes.
 */
int index_builder_add(struct index_builder *b, uint64_t file_offset, uint32_t ts_sec, uint32_t ts_frac,
		      const uint8_t *frame, uint32_t caplen);
/* The same for a record of which only the first `frame_len` bytes are at
 * hand, at `frame` (at least min(caplen, INDEX_FRAME_KEYS_SPAN) of them:
 * the keys read no further): `caplen` is the record's. */
int index_builder_add_view(struct index_builder *b, uint64_t file_offset, uint32_t ts_sec,
			   uint32_t ts_frac, uint32_t caplen, const uint8_t *frame, uint32_t frame_len);
/* One record of a batch (index_builder_add_records). */
struct index_rec {
	const uint8_t *frame;     /* the record's first frame_len bytes as the file holds them */
	uint32_t frame_len;       /* at least min(caplen, INDEX_FRAME_KEYS_SPAN) */
	uint32_t caplen;          /* the record's */
	uint32_t len;             /* pcapng: the packet block's total length (pcap: unread) */
	uint32_t linktype;        /* pcapng: its interface's (pcap: unread, the header's) */
	uint32_t ts_sec;          /* pcap: as in the record header; pcapng: the block's */
	uint32_t ts_frac;         /*   time as seconds and nanoseconds */
};
/* index_frame_keys reads no byte of a frame past this many (four tags behind
 * a cooked header, a 60-byte IPv4 header, the ports: 96), so a record's first
 * bytes stand for it whole. */
#define INDEX_FRAME_KEYS_SPAN 128u
/*
 * `n` records in file order, the first at `off`, each next one where the one
 * before ends: what n calls of index_builder_add (pcap) or
 * index_builder_add_block (pcapng; each an EPB) would make of them, in one
 * call (the writer's path: per-record work stays in index/). 0, or -EINVAL
 * for a first offset the builder cannot take or a record over
 * PCAP_SNAPLEN_MAX: the records before the refused one are in.
 */
int index_builder_add_records(struct index_builder *b, uint64_t off, const struct index_rec *r, unsigned n);
/* The index so far (the open chunk included, the builder unchanged), stamped
 * with the capture file's size and mtime. *ix owns new arrays. 0 or -ENOMEM. */
int index_builder_snapshot(const struct index_builder *b, uint64_t file_size, int64_t mtime_ns,
			   struct index *ix);
/* Snapshot stamped with the identity of capture_path (index_identify; opened
 * without following a link), saved atomically to the index path of
 * capture_path. Call it once the records added are in the file (a reader then
 * takes the index as fresh); -EINVAL if the file is shorter than them.
 * Blocks. 0 or -errno. */
int index_builder_write(const struct index_builder *b, const char *capture_path);
/* The same for a compressed capture file (INDEX_F_COMPRESSED): the records
 * added are in its decompressed stream, so its size on disk is not checked
 * against them. Blocks. 0 or -errno. */
int index_builder_write_compressed(const struct index_builder *b, const char *capture_path);
/* Offset past the last record added. */
uint64_t index_builder_end(const struct index_builder *b);
void index_builder_free(struct index_builder *b);

/*
 * pcapng. A builder of a pcapng file is fed every block a walk of the file
 * finds (format/format.h's pcapng_iter), in file order; records are its
 * packet blocks, each with the time, link type and frame the walk made of it.
 *
 *   index_builder_new_pcapng(&b, first_24_bytes, 0);
 *   for each SHB or IDB:  index_builder_add_sblock(b, off, len, type);
 *   for each EPB or SPB:  index_builder_add_block(b, off, len, head8, ts_ns,
 *                                                 linktype, frame, caplen);
 *   past other blocks:    index_builder_advance(b, end);
 *   after bytes that lie: index_builder_break(b);
 */
/* `shb`: the file's first 24 bytes (an SHB's fixed part). 0 or -EINVAL. */
int index_builder_new_pcapng(struct index_builder **out, const uint8_t shb[PCAP_FILE_HEADER_LEN],
			     uint32_t chunk_bytes);
/* An SHB or IDB at `off` (at or past the end of what was added). 0 or -EINVAL. */
int index_builder_add_sblock(struct index_builder *b, uint64_t off, uint32_t len, uint32_t type);
/* A packet block at `off` (at or past the end of what was added), `len` bytes
 * long, whose first 8 bytes as in the file are head8; its time in ns, its
 * interface's link type, its caplen bytes at `frame`. 0 or -EINVAL (an offset
 * before the end, a caplen over PCAP_SNAPLEN_MAX). */
int index_builder_add_block(struct index_builder *b, uint64_t off, uint32_t len, const uint8_t head8[8],
			    uint64_t ts_ns, uint32_t linktype, const uint8_t *frame, uint32_t caplen);
/* Bytes up to `end` were walked (blocks that hold no record): good end moves
 * there. A pcap builder's too, after index_builder_break: a compressed
 * file's region that does not decode was skipped (index_scan_src). */
void index_builder_advance(struct index_builder *b, uint64_t end);
/* The open chunk ends here: the bytes after it and before the next record do
 * not walk (a region that lies was skipped). */
void index_builder_break(struct index_builder *b);

/* ------------------------------------------------------------------ scan */

/*
 * Where the scan and the refresh read a capture file's bytes: the file open
 * at `fd` itself (pread NULL), or a decompressing source (zfile/, the file at
 * `fd` compressed): offsets are then those of the uncompressed stream, while
 * the index's identity (size, times, device, inode, both ends' CRC-32s) is
 * that of the compressed file at `fd`, and a file that changed is rebuilt,
 * never extended. `pread` returns up to `len` bytes, fewer only at the
 * stream's end, or -errno; it blocks.
 */
struct index_src {
	int fd;
	ssize_t (*pread)(void *ctx, uint8_t *buf, size_t len, uint64_t off);
	void *ctx;
	/* Optional, with `pread`: a read came back short at `off` because a
	 * region there does not decode (a corrupt frame); the offset where the
	 * stream reads again after it, or UINT64_MAX (the stream ends there).
	 * Blocks. */
	uint64_t (*resume)(void *ctx, uint64_t off);
};

/* pread from `src` until `len` bytes or the end: bytes read, or -errno. Blocks. */
ssize_t index_src_pread(const struct index_src *src, uint8_t *buf, size_t len, uint64_t off);

struct index_scan_result {
	uint64_t bytes_read;
	uint64_t records;
	bool torn;                /* stopped before the file's end */
	uint64_t torn_at;         /* offset of the record that is torn or lies */
	/* pcapng: packet blocks or IDBs whose bodies lie, and regions whose
	 * framing lies, skipped (the walk went on after them) */
	uint64_t bad_blocks;
	uint64_t bad_at;          /* offset of the first */
	/* pcap from a source with `resume`: regions that did not decode,
	 * skipped (the walk went on at the first record boundary after each:
	 * a plausible record header followed by another) */
	uint64_t gaps;
	uint64_t gap_at;          /* offset of the first */
};

/*
 * Read records of the open capture file `fd` from `from` (a record boundary)
 * up to `file_size`, feeding them to `b`. Stops at the last whole record:
 * a torn last record or a header that lies (caplen over PCAP_SNAPLEN_MAX or past
 * the end of the file, or an all-zero header: preallocated space) is reported in
 * *res, not followed. Blocks on reads. 0, -ENOMEM or -errno from pread.
 */
int index_scan(int fd, struct index_builder *b, uint64_t from, uint64_t file_size,
	       struct index_scan_result *res);
/* The same from any source; `file_size` UINT64_MAX: up to the stream's end
 * (a compressed file, whose uncompressed length is not known before). A
 * region the source says does not decode (src->resume) ends the open chunk
 * (index_builder_break); the records after it are indexed from the first
 * record boundary past it. */
int index_scan_src(const struct index_src *src, struct index_builder *b, uint64_t from, uint64_t file_size,
		   struct index_scan_result *res);

/*
 * The same for a pcapng file (index_builder_new_pcapng), from its start: its
 * blocks walked (format/format.h), a block cut by a read's end read again
 * whole (up to PCAPNG_BLOCK_MAX). A packet block whose body lies is counted
 * and skipped; framing that lies is counted and skipped too, the walk going on
 * at the next offset where two blocks frame right (the open chunk ends there).
 * A block cut by the file's end is reported as torn. `file_size` UINT64_MAX:
 * up to the stream's end (a compressed file). Blocks. 0, -ENOMEM or -errno
 * from pread.
 */
int index_scan_pcapng(const struct index_src *src, struct index_builder *b, uint64_t file_size,
		      struct index_scan_result *res);

/* pread until `len` bytes or the end of the file: bytes read, or -errno. Blocks. */
ssize_t index_pread_full(int fd, uint8_t *buf, size_t len, uint64_t off);

/* --------------------------------------------------------------- refresh */

struct index_refresh_result {
	bool refused;             /* the index's name held no regular file (a link,
				   * a FIFO...): ignored, and replaced if saved */
	bool corrupt;             /* the index on disk did not parse (a checksum,
				   * count or order that does not add up): rebuilt */
	bool loaded;              /* the index on disk was fresh */
	bool extended;            /* the file grew: only its new tail was read */
	bool built;               /* (re)built from the whole file */
	bool saved;               /* written beside the file */
	int save_error;           /* why not (-EACCES, -EROFS...): kept in memory */
	uint64_t bytes_read;      /* capture and index bytes read */
	struct index_scan_result scan;
};

/*
 * An index for the capture file open at `fd` (whose name is capture_path) that
 * matches the file as it is now (see "Identity" above): loaded if it is this
 * file's and fresh, extended if the file grew,
 * rebuilt otherwise (or always with `force`), then saved atomically beside it
 * unless it was loaded as is. A corrupt, truncated or other-version index is
 * rebuilt. A new index gets chunks of `chunk_bytes` (0: the default); an
 * extended one keeps its own. A pcapng file is walked as pcapng (never
 * extended). Blocks on I/O. 0, -EINVAL (neither pcap nor pcapng) or -errno
 * from reads; a failure to save is not an error (see save_error).
 */
int index_refresh(const char *capture_path, int fd, bool force, uint32_t chunk_bytes, struct index *ix,
		  struct index_refresh_result *res);
/* The same from any source (a compressed file: its index at
 * index_path_for(capture_path), offsets in the uncompressed stream). */
int index_refresh_src(const char *capture_path, const struct index_src *src, bool force, uint32_t chunk_bytes,
		      struct index *ix, struct index_refresh_result *res);

/* ---------------------------------------------------------------- crc32 */
uint32_t index_crc32(uint32_t crc, const uint8_t *p, size_t n);

#endif
