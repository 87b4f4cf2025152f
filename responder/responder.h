/*
 * responder — answering ARP (IPv4) and NDP (IPv6 Neighbor Solicitation) for address
 * pools, apart from the capture pipeline.
 *
 *   AF_PACKET socket, TPACKET_V2 RX ring ──► responder thread ──► TX ring
 *   (ring/ring.h v2ring: per-frame status,   (its own; wakes per    (ring/txring.h:
 *    kernel prefilter: requests for a pool,   packet when idle,      one send() per
 *    tagged or not)                           drains in batches)     batch)
 *
 * The parts, each file calling only those listed before it:
 *   - frame.h (private): bytes, the link layer of a request and its answer,
 *     the small address rules both protocols share;
 *   - core.c: the shared state (pools, MAC, interface), read-only after
 *     set-up, and the checks made on it at start;
 *   - arp.c, ndp.c: each protocol's pools and answering, pure:
 *     arp_build_reply and ndp_build_advert decide on one frame and build the
 *     answer (the unit tests and tools/arp-classic use them as they are);
 *   - prefilter.c: the kernel prefilter's text for both protocols;
 *   - service.c: neighbour answering (neighbour_answer picks the protocol),
 *     the socket pair and the thread, announcements (gratuitous ARP /
 *     unsolicited NA) and the counters' report; busy.c its busy-poll
 *     bookkeeping.
 *
 * VLANs: a request tagged 802.1Q or 802.1ad, in the frame or taken off by the
 * kernel into tp_vlan_tci (Linux always does that for the outer tag before
 * packet sockets see a frame, on veth too), is answered with the same TPID and
 * TCI in the frame; more than one tag is not answered.
 */
#ifndef RINGCAP_RESPONDER_H
#define RINGCAP_RESPONDER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "ring/ring.h"
#include "ring/txring.h"
#include "stats/stats.h"
#include "util/util.h"

#define ARP_FRAME_LEN 42   /* Ethernet + ARP for IPv4 over Ethernet */
#define ARP_REPLY_LEN 60   /* an untagged reply, padded to the Ethernet minimum */
#define ARP_REPLY_MAX 128  /* room for any answer: tagged ARP (64), tagged NA (90) */
#define MAX_ARP_POOLS 64
#define MAX_NDP_POOLS 64
#define ARP_VID_ANY (-1)   /* a pool without @VID: any VLAN, and untagged */

/* A pool of IPv4 addresses answered for. */
struct arp_pool_range {
	uint32_t first; /* host order, inclusive */
	uint32_t last;
	int vid;        /* ARP_VID_ANY, 0 (untagged only) or 1..4094 */
};

/* A pool of IPv6 addresses (network order, inclusive). */
struct ndp_pool_range {
	uint8_t first[16];
	uint8_t last[16];
	int vid;
};

/* "A-B", "A/len" or "A", then optionally "@VID" (0..4094) into a range; 0,
 * -EINVAL (not an address, range, block or VLAN) or -ERANGE (inverted range,
 * host bits set in a CIDR block). Pure. */
int arp_parse_pool(const char *s, struct arp_pool_range *r);
/* The same for IPv6: "PREFIX/len", "A-B" or "A", optionally "@VID". */
int ndp_parse_pool(const char *s, struct ndp_pool_range *r);

/* The neighbour responder's shared state (ARP and NDP pools, our MAC).
 * Read-only after arp_responder_new: shared by the service thread and main. */
struct arp_responder {
	struct arp_pool_range *pools;  /* any-VLAN pools: sorted, merged */
	unsigned npools;
	struct arp_pool_range *vpools; /* pools limited to one VLAN (or untagged) */
	unsigned nvpools;
	struct ndp_pool_range *ndp;
	unsigned nndp;
	uint8_t mac[6];
	struct iface iface;
};

/* Written by the service thread only; main reads the copy it publishes
 * (arp_service_counters). Each protocol's requests received (frames of it
 * the thread took from the ring) = answered + ignored, the ignored by
 * reason. */
struct responder_counters {
	/* ARP */
	uint64_t arp_received;        /* ARP frames taken from the ring */
	uint64_t arp_answered;        /* requests a reply was built for */
	uint64_t arp_probes;          /* of those: probes (sender 0.0.0.0) */
	uint64_t arp_replies_sent;    /* replies the kernel took */
	uint64_t arp_ign_out_of_pool; /* target outside every pool */
	uint64_t arp_ign_not_request; /* ARP replies and other opcodes */
	uint64_t arp_ign_gratuitous;  /* sender address == target address */
	uint64_t arp_ign_own;         /* sent by our own MAC */
	uint64_t arp_ign_malformed;   /* not IPv4-over-Ethernet, or truncated */
	uint64_t arp_ign_not_for_us;  /* Ethernet destination neither broadcast nor our MAC */
	uint64_t arp_ign_bad_sender;  /* source or sender MAC multicast/broadcast/zero; sender
				       * IP multicast, broadcast, loopback or 0.0.0.0/8 (but
				       * 0.0.0.0) */
	uint64_t arp_ign_bad_target;  /* target 0.0.0.0/8, loopback, multicast, 240/4, broadcast */
	uint64_t arp_ign_vlan;        /* in a pool of another VLAN, or more than one tag */
	/* NDP */
	uint64_t ndp_received;        /* Neighbor Solicitations taken from the ring */
	uint64_t ndp_answered;        /* NSs an advert was built for */
	uint64_t ndp_dad;             /* of those: DAD (source ::), answered to ff02::1 */
	uint64_t ndp_adverts_sent;    /* solicited Neighbor Advertisements the kernel took */
	uint64_t ndp_ign_out_of_pool;
	uint64_t ndp_ign_malformed;   /* RFC 4861 7.1.1: hop limit, checksum, code, length,
				       * options, :: source with a source link-layer option */
	uint64_t ndp_ign_not_for_us;  /* not to the target's solicited-node group or the target
				       * itself, or not to its MAC or ours */
	uint64_t ndp_ign_bad_sender;  /* Ethernet or link-layer source not unicast, IP source
				       * multicast or loopback */
	uint64_t ndp_ign_own;         /* sent by our own MAC */
	uint64_t ndp_ign_vlan;
	/* both */
	uint64_t announced;           /* announcements queued (--arp-announce) */
	uint64_t announcements_sent;  /* of those: taken by the kernel */
	uint64_t tx_full;             /* answers and announcements lost: no free TX frame */
	uint64_t busy_windows;        /* times the thread spun on the ring instead of sleeping */
	uint64_t busy_caught;         /* of those: a request came within the window */
} __attribute__((aligned(CACHELINE)));

/* Build the shared state; `mac` NULL means the interface's own. Set-up phase;
 * cannot fail (the interface was looked up by the caller). NDP pools may be
 * none (ndp NULL, nndp 0). */
struct arp_responder *arp_responder_new(const struct iface *iface,
					const struct arp_pool_range *pools, unsigned npools,
					const struct ndp_pool_range *ndp, unsigned nndp,
					const uint8_t *mac);
void arp_responder_free(struct arp_responder *r);

/* True if `ip` (host order) lies in a pool that answers on VLAN `vid` (0:
 * untagged). Pure. */
bool arp_in_pools(const struct arp_responder *r, uint32_t ip, unsigned vid);

/* A unicast MAC: not multicast (which includes broadcast), not all zero. */
bool mac_is_unicast(const uint8_t mac[6]);

/*
 * Pools holding one of the interface's own addresses (IPv4 and, for NDP
 * pools, IPv6, from getifaddrs): the kernel answers for those itself, so a
 * second answer with another MAC would follow. 0 when none; -EADDRINUSE with
 * one line in `msg` naming the pool and the address. Set-up phase.
 */
int arp_check_own_addresses(const struct arp_responder *r, char *msg, size_t msglen);

/*
 * The tcpdump expression for the responder's kernel prefilter: ARP requests
 * (Ethernet, IPv4, hlen 6, plen 4, op 1) with a target in a pool, and, with
 * NDP pools, ICMPv6 Neighbor Solicitations (next header 58, hop limit 255,
 * type 135, code 0) whose target lies in a pool; each also behind one
 * in-frame VLAN tag (libpcap's `vlan` with pcap_open_dead tests the frame for
 * TPID 0x8100, 0x88a8 and 0x9100). A tag the kernel took off is not in the
 * frame the filter sees, so the untagged test admits those. User space checks
 * everything again. Caller frees.
 */
char *neighbour_prefilter(const struct arp_responder *r);

/*
 * Decide on one frame and, if it deserves an answer, build it in `reply`.
 * Return the answer's length (0: none). Count the outcome in *c. Pure.
 *   arp_build_reply: ARP requests (other frames: 0, uncounted);
 *   ndp_build_advert: Neighbor Solicitations (other frames: 0, uncounted);
 *   neighbour_answer: whichever applies (in service.c).
 */
uint32_t arp_build_reply(const struct arp_responder *r, const struct pkt_view *p,
			 uint8_t reply[ARP_REPLY_MAX], struct responder_counters *c);
uint32_t ndp_build_advert(const struct arp_responder *r, const struct pkt_view *p,
			  uint8_t reply[ARP_REPLY_MAX], struct responder_counters *c);
uint32_t neighbour_answer(const struct arp_responder *r, const struct pkt_view *p,
			  uint8_t reply[ARP_REPLY_MAX], struct responder_counters *c);

/* Announcements: a gratuitous ARP request (sender = target = addr, to
 * broadcast) and an unsolicited NA (to ff02::1, Override, no Solicited, with
 * our link-layer address), tagged when vid > 0. Return the length. Pure. */
uint32_t arp_build_announce(const struct arp_responder *r, uint32_t addr, unsigned vid,
			    uint8_t out[ARP_REPLY_MAX]);
uint32_t ndp_build_announce(const struct arp_responder *r, const uint8_t addr[16], unsigned vid,
			    uint8_t out[ARP_REPLY_MAX]);

/* ---------------------------------------------------------------- busy.c */

/*
 * Busy-polling (--arp-busy-poll): after a wake-up that found at least
 * ARP_BUSY_FLOOD_FRAMES requests queued, the thread checks the ring for up to
 * the window after each batch before it sleeps, so under a flood the sender's
 * CPU does not pay a cross-CPU wake-up per batch (see busy.c). Bounded: a
 * window only while awake less than ARP_BUSY_AWAKE_NS of the current
 * ARP_BUSY_PERIOD_NS; after
 * ARP_BUSY_EMPTY_MAX windows in a row that caught nothing, none for
 * ARP_BUSY_BACKOFF_NS. Pure: times are the caller's (now_ns()); the service
 * thread owns its struct.
 */
#define ARP_BUSY_FLOOD_FRAMES 4
#define ARP_BUSY_PERIOD_NS 10000000ull  /* 10 ms */
#define ARP_BUSY_AWAKE_NS 8000000ull    /* 80% of it */
#define ARP_BUSY_EMPTY_MAX 2
#define ARP_BUSY_BACKOFF_NS 100000000ull
#define ARP_BUSY_POLL_MAX_US 1000

struct arp_busy {
	uint64_t window_ns;      /* 0: never spin */
	uint64_t period_start;
	uint64_t slept_ns;       /* asleep in poll() during this period */
	uint64_t off_until;      /* no window before this */
	unsigned empty_windows;  /* in a row */
	bool flood;              /* a wake-up found a queue; cleared by an empty window */
};

void arp_busy_init(struct arp_busy *b, uint32_t window_us);
/* After a batch of `drained` frames (fewer than a full batch: the ring is
 * empty) at `now`: how long to spin on the ring, in ns; 0: sleep. */
uint64_t arp_busy_allowance(struct arp_busy *b, unsigned drained, uint64_t now);
/* The window ended at `now`: a frame came (`caught`) or it ran out. */
void arp_busy_spun(struct arp_busy *b, bool caught, uint64_t now);
/* The thread slept in poll() from `from` to `to`. */
void arp_busy_slept(struct arp_busy *b, uint64_t from, uint64_t to);

/* ------------------------------------------------------------- service.c */

#define ARP_ANNOUNCE_MAX 65536u /* announcements at most, over all pools */
#define ARP_TX_FRAMES 4096      /* the TX ring's frames (fewer when memory is short) */

struct arp_service_config {
	int cpu;                 /* -1: not pinned */
	int priority;            /* SCHED_FIFO priority 1..99; 0: normal scheduling */
	bool announce;           /* --arp-announce */
	uint32_t announce_rate;  /* per second */
	uint32_t busy_poll_us;   /* --arp-busy-poll: the spin window; 0: always sleep */
};

/* Where announcing has got to: pool index and offset inside it. */
struct arp_announce_cursor {
	unsigned pool;           /* ARP pools (any, then VLAN ones), then NDP pools */
	uint64_t off;
	uint64_t next_ns;        /* when the next one is due */
	bool done;
};

struct arp_service {
	const struct arp_responder *r;
	struct arp_service_config cfg;
	struct filter filter;
	struct v2ring rx;
	struct txring tx;
	int stop_fd;             /* eventfd: main wakes the thread to stop */
	pthread_t thread;
	bool started;
	bool warned;
	int error;               /* -errno that ended the thread; read after stop */
	struct arp_announce_cursor ann;
	struct arp_busy busy;    /* the thread's own */
	struct responder_counters c;   /* the thread's own */
	struct responder_counters pub; /* c as of the last batch: relaxed atomic stores and loads */
	/* what each queued TX frame holds (enum answer_kind in service.c), in
	 * ring order, so each is counted under its own name once sent */
	uint8_t tx_kind[ARP_TX_FRAMES];
	uint32_t tx_kind_head;
};

/* The prefilter, the V2 RX socket and the TX ring. Set-up phase, main thread;
 * 0 or -errno (one line logged). */
int arp_service_open(struct arp_service *s, const struct arp_responder *r,
		     const struct arp_service_config *cfg);
/* Start the thread (signals blocked in it). 0 or -errno. */
int arp_service_start(struct arp_service *s);
/* Let no new request in, answer what is queued, stop the thread and read the
 * socket's statistics. Main thread; blocks until the thread ended (bounded:
 * the thread drains one ring and waits at most 200 ms for the device). */
void arp_service_stop(struct arp_service *s);
/* Safe on a zeroed or half-built service, and after stop. */
void arp_service_close(struct arp_service *s);

/* The loop, one pass: answer up to `batch` frames from the RX ring with one
 * send(). Returns frames taken. The service thread only (tests call it). */
unsigned arp_service_drain(struct arp_service *s, unsigned batch);

/* The counters as of the thread's last batch (exact once stopped). Any
 * thread; a figure may lag by one batch while it runs. */
void arp_service_counters(const struct arp_service *s, struct responder_counters *out);
/* Add the RX socket's PACKET_STATISTICS to s->rx.stats. Main thread only
 * (the one reader of those counters). 0 or -errno. */
int arp_service_stats_update(struct arp_service *s);
/* The exit report lines (also for SIGUSR1 while running). Main thread. */
void arp_print_counters(const struct arp_service *s, FILE *f);

/*
 * The counters as the stats layer reports them (--stats-json objects "arp",
 * "ndp" and "responder"; Prometheus ringcap_GROUP_NAME_total): filled from
 * arp_service_counters and the socket's statistics into `out`, which owns
 * the arrays and must outlive the snapshot that points at them. Main thread.
 */
#define RESPONDER_STATS_PAIRS 40
struct responder_stats {
	struct stats_pair pairs[RESPONDER_STATS_PAIRS];
	struct stats_group groups[3];
	unsigned ngroups;
};
void arp_service_stats(const struct arp_service *s, struct responder_stats *out);

#endif
