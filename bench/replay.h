/*
 * What the programs that play the kernel in memory share (bench/ringcap-replay,
 * bench/ringcap-merge): af_packet.c's TPACKET_V3 geometry, the template frame
 * they fill blocks with, and the writer they drive with its options.
 *
 * Threading: any thread; nothing here keeps state.
 */
#ifndef RINGCAP_BENCH_REPLAY_H
#define RINGCAP_BENCH_REPLAY_H

#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <stdbool.h>
#include <stdint.h>

#include "util/opt.h"
#include "util/util.h"
#include "writer/writer.h"

/* af_packet.c's V3 geometry, for a 14-byte link header and no PACKET_RESERVE. */
#define V3_ALIGN     8
#define BLK_HDR_LEN  ALIGN_UP((uint32_t)sizeof(struct tpacket_block_desc), V3_ALIGN)
#define MAC_OFF      (ALIGN_UP((uint32_t)(TPACKET3_HDRLEN + 16), TPACKET_ALIGNMENT) - ETH_HLEN)
#define SEQ_OFF      42      /* after Ethernet + IPv4 + UDP headers: the frame's index */

/* A V3 packet header as tpacket_rcv() writes it: frame of len bytes at
 * MAC_OFF, no VLAN tag, no hash; the next header `next` bytes on (0: last). */
static inline void replay_v3_hdr(struct tpacket3_hdr *h, uint32_t next, uint64_t ts_ns, uint32_t len)
{
	h->tp_next_offset = next;
	/* The merge peeks at the first timestamp of a block still being filled
	 * (block_peek_first_ns, relaxed loads): a hint, stored the same way. */
	__atomic_store_n(&h->tp_sec, (uint32_t)(ts_ns / 1000000000ull), __ATOMIC_RELAXED);
	__atomic_store_n(&h->tp_nsec, (uint32_t)(ts_ns % 1000000000ull), __ATOMIC_RELAXED);
	h->tp_snaplen = len;
	h->tp_len = len;
	h->tp_status = TP_STATUS_USER;
	h->tp_mac = MAC_OFF;
	h->tp_net = MAC_OFF + ETH_HLEN;
	h->hv1.tp_rxhash = 0;
	h->hv1.tp_vlan_tci = 0;
	h->hv1.tp_vlan_tpid = 0;
}

/* The writer as ringcap opens it, from the options below. */
struct replay_writer {
	const char *path;
	int backend;            /* enum writer_backend */
	bool direct;
	bool index;             /* the writer builds ringcap-read's index */
	bool no_index_postings; /* without its postings (--no-index-postings) */
	bool index_postings;    /* --index-postings: the default, accepted */
	uint64_t staging;
	int compress_level;     /* --compress zstd[:LEVEL]; 0: none */
	unsigned compress_threads;
};

/* --compress's value into a struct replay_writer (OPT_CUSTOM). */
const char *replay_parse_compress(const char *arg, void *field);

/* In enum writer_backend's order. */
extern const char *const replay_backend_choices[];

/* -w, --writer, --no-direct, --staging, --compress and --compress-threads,
 * for a struct opt table. */
#define REPLAY_WRITER_OPTS(w)                                                                  \
	{ .name = "write", .letter = 'w', .type = OPT_STRING, .field = &(w)->path,              \
	  .arg = "FILE", .help = "the writer's file (default /dev/null)" },                      \
	{ .name = "writer", .type = OPT_CHOICE, OPT_INT(&(w)->backend),                          \
	  .choices = replay_backend_choices, .what = "writer", .why = "expected uring or pwrite", \
	  .arg = "uring|pwrite", .help = "the writer's backend (default uring)" },               \
	{ .name = "no-direct", .type = OPT_CLEAR, .field = &(w)->direct,                        \
	  .help = "through the page cache instead of O_DIRECT" },                               \
	{ .name = "staging", .type = OPT_SIZE, OPT_INT(&(w)->staging), .min = 4ull << 20,       \
	  .max = 1ull << 34, .flags = OPT_WHOLE_MIB, .what = "staging size",                    \
	  .why = "expected whole MiB, 4m..16g", .arg = "SIZE",                                  \
	  .help = "writer staging memory (default 64m, as ringcap)" },                          \
	{ .name = "compress", .type = OPT_CUSTOM, .field = (w), .parse = replay_parse_compress,  \
	  .what = "compression", .arg = "zstd[:L]",                                             \
	  .help = "the writer compresses, as ringcap --compress (FILE.zst)" },                  \
	{ .name = "compress-threads", .type = OPT_U64, OPT_INT(&(w)->compress_threads),         \
	  .min = 1, .max = 8, .what = "compression threads", .why = "expected 1..8", .arg = "N", \
	  .help = "with --compress: the pool's threads (default 1)" }

/* --block-size, a power of two as ringcap's blocks are (default 1m). */
#define REPLAY_BLOCK_SIZE_OPT(field)                                                           \
	{ .name = "block-size", .type = OPT_SIZE, OPT_INT(field), .min = 64 << 10,             \
	  .max = 64 << 20, .flags = OPT_POW2, .what = "block size",                             \
	  .why = "expected a power of two, 64k..64m", .arg = "SIZE",                            \
	  .help = "as ringcap (default 1m)" }

/* The defaults of those options: /dev/null, io_uring, O_DIRECT, 64 MiB, no
 * compression (one thread when asked for). */
#define REPLAY_WRITER_DEFAULTS                                                                 \
	{ .path = "/dev/null", .backend = WRITER_URING, .direct = true, .staging = 64ull << 20, \
	  .compress_threads = 1 }

struct writer_config replay_writer_config(const struct replay_writer *w);

/* opt_parse_or_exit, and exit 2 with one line on a word that is no option. */
void replay_parse_options(const struct opt_prog *prog, int argc, char **argv);

/* Exit 2 with one line unless the ring holds min_blocks blocks and a frame
 * fits a block. */
void replay_check_geometry(uint64_t ring_bytes, uint32_t block_size, uint32_t frame,
			   uint32_t min_blocks);

/* Ethernet / IPv4 / UDP, 198.18.0.1 -> 198.18.0.2 (IPv4 checksum left 0: no
 * one here checks it), padded with a pattern from SEQ_OFF on. */
void replay_frame(uint8_t *f, uint32_t len);

#endif
