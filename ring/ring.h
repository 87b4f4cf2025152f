/*
 * ring — one AF_PACKET socket with a TPACKET_V3 RX ring, its filter, its fanout
 * membership and its statistics; plus the V3 block iterator and the cBPF
 * filter compiler (the only code that includes <pcap.h>).
 *
 * Threading: a struct ring is owned by one worker thread for blocks, and by the
 * main thread for statistics (ring_stats_update) and the end of capture
 * (ring_stop_receiving). With several workers the time-order merge also reads
 * a ring (merge/merge.c): the blocks workers hand it, and a peek at the next
 * block's first timestamp (block_peek_first_ns) while the kernel may still be
 * filling it; it gives blocks back in ring order on the worker's behalf.
 */
#ifndef RINGCAP_RING_H
#define RINGCAP_RING_H

#include <linux/filter.h>
#include <linux/if_packet.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "format/format.h"
#include "ring/block.h"

/* ---------------------------------------------------------------- filter.c */

#define FILTER_ERR_LEN 256

/* A compiled classic BPF program in the kernel's format. Owns `prog.filter`. */
struct filter {
	struct sock_fprog prog;
};

/*
 * Compile a tcpdump expression for Ethernet with libpcap (pcap_open_dead +
 * pcap_compile: no privileges, no device). An empty or NULL expression gives a
 * program that accepts everything; the program's return value is `snaplen`, so
 * the kernel truncates for us. On error returns -EINVAL and puts libpcap's
 * message in `err`.
 */
int filter_compile(struct filter *f, const char *expr, unsigned snaplen, char *err, size_t errlen);
/* The same for the frames of another link type (a LINKTYPE_* value of the
 * savefile format, e.g. LINKTYPE_ETHERNET, LINKTYPE_RAW, or a file's). */
int filter_compile_link(struct filter *f, unsigned linktype, const char *expr, unsigned snaplen,
			char *err, size_t errlen);
void filter_free(struct filter *f);

/* -Q: the packets of which direction the capture keeps. */
enum filter_direction {
	FILTER_DIR_INOUT,  /* both (the default) */
	FILTER_DIR_IN,     /* those the interface received */
	FILTER_DIR_OUT,    /* those it sent (pkttype PACKET_OUTGOING) */
};
/* Put a test of the kernel's pkttype in front of f's program, so the kernel
 * keeps only the packets of `dir` (nothing changes for FILTER_DIR_INOUT). The
 * program then reads an ancillary field: attach it to a socket, filter_match
 * cannot run it. 0, or -E2BIG when it would pass BPF_MAXINSNS. */
int filter_set_direction(struct filter *f, enum filter_direction dir);
/* libpcap's short name of a LINKTYPE_* value ("EN10MB", "RAW"); NULL for 0
 * or a type it does not know. */
const char *filter_linktype_name(unsigned linktype);
/* Run the program in user space over one frame; true if it accepts. */
bool filter_match(const struct filter *f, const uint8_t *frame, uint32_t caplen, uint32_t wirelen);

/* ------------------------------------------------------------------ ring.c */

/* An interface as set-up found it: looked up once, by main, and handed to every
 * socket opened on it (ring_open, txring_open, the ARP responder). */
struct iface {
	char name[16];             /* IFNAMSIZ */
	int index;
	uint8_t mac[6];
	unsigned mtu;
	unsigned short type;       /* ARPHRD_*: decides the file's link type */
	unsigned linktype;         /* LINKTYPE_* for that type, 0 when ringcap has none */
	bool loopback;             /* every packet passes twice: out and back in */
	bool carrier;              /* IFF_RUNNING at lookup: frames can leave now */
	bool up;                   /* IFF_UP at lookup */
};

/* Look `ifname` up (index, MAC, MTU, hardware type). 0, or -ENODEV (unknown or
 * a name too long), -ENETDOWN (administratively down: *out is filled all the
 * same, for a listing), another -errno. Logs nothing: the caller names the
 * interface in its own one line. */
int iface_lookup(const char *ifname, struct iface *out);

struct ring_config {
	const struct iface *iface;
	uint32_t block_size;       /* bytes, power of two, >= page size */
	uint32_t block_nr;
	uint32_t frame_size;       /* V3 ignores it for RX, but tpacket_req3 wants it */
	uint32_t block_timeout_ms; /* 0: let the kernel derive it */
	const struct filter *filter;
	uint16_t fanout_mode;      /* PACKET_FANOUT_* | flags; ignored without fanout */
	bool fanout;
	int fanout_id;             /* -1: ask the kernel for a unique id (first member) */
	bool promisc;              /* PACKET_MR_PROMISC while the socket lives */
	bool ignore_outgoing;      /* PACKET_IGNORE_OUTGOING: only what the interface receives */
	uint16_t iface_index;      /* which of the capture's interfaces (0: the first -i) */
};

struct ring_stats {
	uint64_t packets;   /* tp_packets: passed the filter, includes drops */
	uint64_t drops;     /* tp_drops */
	uint64_t freeze_q;  /* tp_freeze_q_cnt: times the queue froze on a user-owned block */
};

struct ring {
	int fd;
	int ifindex;
	uint8_t *map;
	size_t map_len;
	uint32_t block_size;
	uint32_t block_nr;
	uint32_t cur;           /* next block to take, in ring order */
	int fanout_id;          /* group id after joining, -1 if none */
	bool down;              /* the interface went down: watch for it going away */
	uint16_t iface_index;   /* ring_config's: walks stamp it on each packet */
	struct ring_stats stats; /* 64-bit accumulation of PACKET_STATISTICS */
};

/*
 * Open, filter, map, bind and (optionally) join the fanout group, in the order
 * the kernel needs. Returns 0 or -errno; on failure logs one line naming the
 * call and the interface, and leaves `r` closed. Blocks only in set-up syscalls.
 */
int ring_open(struct ring *r, const struct ring_config *cfg);
/* Safe on a half-built or zeroed ring. */
void ring_close(struct ring *r);
/* Let no new packet in: a reject-all filter replaces the capture filter, so
 * what is in the ring and PACKET_STATISTICS stop changing (only packets that
 * pass the filter are counted). Any thread; 0 or -errno. */
int ring_stop_receiving(struct ring *r);
/* Packets in the ring not yet given back: those of every retired block from
 * r->cur on, and those the kernel has put so far in the block it is filling.
 * Exact once ring_stop_receiving has taken effect. Owner thread. */
uint64_t ring_pending(const struct ring *r);
/* Read PACKET_STATISTICS (which the kernel zeroes on read) and add to r->stats.
 * The only place those counters are read. Returns 0 or -errno. */
int ring_stats_update(struct ring *r);
/* Wait up to timeout_ms for the current block to become ours. 0 (a block may
 * be ready, or the time is up, or the interface went down: it may come up
 * again), -ENODEV when the interface is gone for good, -EBADF for a closed
 * socket, another -errno for any other socket error. Worker thread. */
int ring_wait(struct ring *r, int timeout_ms);

static inline struct tpacket_block_desc *ring_block(const struct ring *r, uint32_t i)
{
	return (struct tpacket_block_desc *)(r->map + (size_t)i * r->block_size);
}

/* Acquire: the packet bytes the kernel wrote are visible once we see USER. */
static inline struct tpacket_block_desc *ring_take(const struct ring *r)
{
	struct tpacket_block_desc *b = ring_block(r, r->cur);

	if (__atomic_load_n(&b->hdr.bh1.block_status, __ATOMIC_ACQUIRE) & TP_STATUS_USER)
		return b;
	return NULL;
}

/* Release: our reads of the block are done before the kernel may refill it.
 * Blocks go back strictly in ring order (the kernel waits for this exact one).
 * Any thread that owns the block (the worker, or the merge it handed it to). */
static inline void ring_release_block(struct tpacket_block_desc *b)
{
	/* The kernel zeroes it when it opens the block again; until then a
	 * stale count would make ring_pending() and the merge's look at the
	 * next block count old packets. */
	__atomic_store_n(&b->hdr.bh1.num_pkts, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&b->hdr.bh1.block_status, TP_STATUS_KERNEL, __ATOMIC_RELEASE);
}

/* Move on to the next block in ring order (the current one was given back,
 * or handed to its new owner, who gives it back with ring_release_block). */
static inline void ring_advance(struct ring *r)
{
	r->cur = (r->cur + 1 == r->block_nr) ? 0 : r->cur + 1;
}

static inline void ring_give_back(struct ring *r, struct tpacket_block_desc *b)
{
	ring_release_block(b);
	ring_advance(r);
}

/* -------------------------------------------------------------- fanout.c */

/*
 * The elastic pool's fanout group (PACKET_FANOUT_CBPF): a classic BPF program
 * chooses the member of every packet, and is replaced while the capture runs
 * to change how many members receive. Members are numbered in the order they
 * joined. How a program spreads packets over members 0..active-1:
 */
enum fanout_steer {
	FANOUT_STEER_HASH,  /* a symmetric hash of IP addresses and ports (--fanout hash) */
	FANOUT_STEER_LB,    /* the kernel's per-packet random number (--fanout lb) */
	FANOUT_STEER_CPU,   /* the CPU the packet arrived on (--fanout cpu) */
	FANOUT_STEER_QM,    /* the receive queue (--fanout qm) */
};

#define FANOUT_PROG_MAX 96 /* the hash program takes 66 */

/* The program sending each packet to one of members 0..active-1 (active <=
 * 1: all to member 0) into prog[FANOUT_PROG_MAX]; returns its length. Pure. */
unsigned fanout_prog_build(struct sock_filter *prog, enum fanout_steer how, unsigned active);
/* PACKET_FANOUT_DATA on r's socket, a member of a PACKET_FANOUT_CBPF group:
 * the whole group steers by the new program. The kernel waits for a grace
 * period before it returns: no packet reaches a member the program excludes
 * after that. Main's thread (a setsockopt like ring_stop_receiving); blocks
 * for the grace period. 0 or -errno (logs nothing). */
int ring_fanout_steer(struct ring *r, enum fanout_steer how, unsigned active);
/* Blocks of the ring the user holds now (retired, not given back: taken by
 * its worker or held by the merge), counted from each block's status. Any
 * thread: for the elastic pool's look at how full a ring is. */
uint32_t ring_user_blocks(const struct ring *r);

/* ---------------------------------------------------------------- v2ring.c */

/*
 * One AF_PACKET socket with a TPACKET_V2 RX ring: per-frame status, so a
 * packet is the reader's as soon as the kernel has written it (a V3 block waits
 * for its retire timeout). For traffic that wants an answer at once (ARP, NDP);
 * libpcap uses V2 for immediate mode for the same reason. No fanout.
 *
 * Threading: one reader thread takes and releases frames; any thread may call
 * v2ring_stop_receiving; stats are read by one thread (the kernel zeroes them).
 */
struct v2ring_config {
	const struct iface *iface;
	const struct filter *filter; /* attached before bind; NULL: everything */
	uint32_t frame_size;         /* multiple of 16; the block holds whole frames */
	uint32_t frame_nr;
	uint32_t block_size;         /* a power of two >= frame_size; 0: the smallest */
	bool ignore_outgoing;        /* PACKET_IGNORE_OUTGOING: not our own sends */
	bool allmulti;               /* PACKET_MR_ALLMULTI while the socket lives */
};

struct v2ring {
	int fd;
	uint8_t *map;
	size_t map_len;
	uint32_t frame_size;
	uint32_t frame_nr;
	uint32_t frames_per_block;
	uint32_t block_size;
	uint32_t cur;                /* next frame to take, in ring order */
	struct ring_stats stats;     /* 64-bit accumulation of PACKET_STATISTICS */
};

/* socket(protocol 0) → filter → PACKET_VERSION V2 → ignore outgoing → RX ring
 * (halved on ENOMEM) → mmap → bind(ETH_P_ALL) → allmulti. 0 or -errno, one
 * line logged naming the call and the interface; `r` closed on failure. */
int v2ring_open(struct v2ring *r, const struct v2ring_config *cfg);
/* Safe on a zeroed or half-built ring, and twice. */
void v2ring_close(struct v2ring *r);
/* A reject-all filter: nothing new is queued (the drain can end). */
int v2ring_stop_receiving(struct v2ring *r);
/* Add PACKET_STATISTICS (zeroed by the kernel on read) to r->stats. */
int v2ring_stats_update(struct v2ring *r);
/* After POLLERR: read and clear the socket's error (ENETDOWN and such); the
 * error, 0, or -errno. */
int v2ring_take_error(struct v2ring *r);

static inline struct tpacket2_hdr *v2ring_frame_hdr(const struct v2ring *r, uint32_t i)
{
	uint32_t block = i / r->frames_per_block, in = i % r->frames_per_block;

	return (struct tpacket2_hdr *)(r->map + (size_t)block * r->block_size +
				       (size_t)in * r->frame_size);
}

/* The current frame if the kernel has handed it over (acquire: its bytes are
 * visible), else NULL. The view's bytes stay valid until v2ring_release. A
 * header whose offsets point outside its frame gives a view with caplen 0. */
static inline struct tpacket2_hdr *v2ring_take(const struct v2ring *r, struct pkt_view *p)
{
	struct tpacket2_hdr *h = v2ring_frame_hdr(r, r->cur);
	uint32_t st = __atomic_load_n(&h->tp_status, __ATOMIC_ACQUIRE);

	if (!(st & TP_STATUS_USER))
		return NULL;
	p->data = (const uint8_t *)h + h->tp_mac;
	p->caplen = h->tp_snaplen;
	p->len = h->tp_len;
	if (h->tp_mac < sizeof(*h) || h->tp_mac > r->frame_size ||
	    h->tp_snaplen > r->frame_size - h->tp_mac || h->tp_snaplen > h->tp_len) {
		p->data = (const uint8_t *)h;
		p->caplen = 0;
	}
	p->sec = h->tp_sec;
	p->nsec = h->tp_nsec;
	p->vlan = (st & TP_STATUS_VLAN_VALID) != 0;
	p->vlan_tci = h->tp_vlan_tci;
	p->vlan_tpid = (st & TP_STATUS_VLAN_TPID_VALID) ? h->tp_vlan_tpid : 0x8100;
	return h;
}

/* True if the current frame is the reader's: a peek, for a reader that
 * polls the ring instead of sleeping (no view, no barrier beyond the load). */
static inline bool v2ring_ready(const struct v2ring *r)
{
	const struct tpacket2_hdr *h = v2ring_frame_hdr(r, r->cur);

	return (__atomic_load_n(&h->tp_status, __ATOMIC_ACQUIRE) & TP_STATUS_USER) != 0;
}

/* Release: our reads are done before the kernel may refill the frame. */
static inline void v2ring_release(struct v2ring *r, struct tpacket2_hdr *h)
{
	__atomic_store_n(&h->tp_status, TP_STATUS_KERNEL, __ATOMIC_RELEASE);
	r->cur = r->cur + 1 == r->frame_nr ? 0 : r->cur + 1;
}

#endif
