/*
 * Private to arp-flood (bench/arp-flood.c: options, frames, sending, main;
 * flood_reply.c: matching the replies to the requests, and the report). What
 * the two share; the design is written at the top of arp-flood.c.
 *
 * Threading: arp-flood is one thread. Ownership: main owns the struct flood.
 */
#ifndef RINGCAP_BENCH_FLOOD_H
#define RINGCAP_BENCH_FLOOD_H

#include <stdbool.h>
#include <stdint.h>

#include "responder/responder.h"
#include "ring/ring.h"
#include "ring/txring.h"
#include "tools/frame.h"

#define REQ_LEN        ARP_PADDED_LEN
#define TRUNC_LEN      41
#define MAX_TABLE      (1u << 20)
#define OUTSTANDING    8       /* requests per address awaiting a reply */
#define BATCH_MAX      32
#define TX_FRAME_SIZE  2048
#define BULK_MAX       1514

enum kind { K_IN, K_OUT, K_BULK, K_SPECIAL };

/* The requests for one address that await a reply: send times (realtime ns),
 * oldest first. A full slot forgets its oldest. */
struct slot {
	uint64_t t[OUTSTANDING];
	uint8_t n;
};
enum special { S_PROBE, S_GRATUITOUS, S_REPLY, S_BAD_HLEN, S_TRUNCATED, S_COUNT };

struct opts {
	const char *ifname;
	struct iface iface;     /* looked up once, at start */
	uint64_t count;
	struct arp_pool_range in, out;
	bool out_set;
	unsigned mix_in, mix_out, mix_bulk;
	bool mix_set;
	unsigned specials;
	uint64_t rate;          /* 0: flat out */
	uint8_t src_mac[6], expect_mac[6], bulk_mac[6];
	bool src_mac_set, expect_mac_set;
	uint32_t src_ip;
	bool src_ip_set;
	unsigned bulk_size;
	bool bypass;
	int cpu;
	uint64_t duration_ns;
	uint64_t wait_ns;
	bool quiet;
};

struct counts {
	uint64_t sent, offered_in, offered_out, bulk, specials, probes_sent;
	uint64_t replies, bcast_replies, answered_in, ambiguous, dup_replies, probe_replies;
	uint64_t wrong_out_of_pool, wrong_mac, wrong_other, other_arp;
	uint64_t rx_drops;
};

struct flood {
	struct opts o;
	struct txring tx;
	struct ring rx;
	struct filter rxf;
	uint8_t req[REQ_LEN];
	uint8_t bulk[BULK_MAX];
	struct slot *slots;     /* per address of A..B */
	uint32_t *lat_ns;       /* one per answered request */
	uint64_t nlat, lat_cap;
	uint64_t in_i, out_i, sp_i, sp_kind;
	uint64_t t_first_send, t_last_send, t_last_reply;
	struct counts c;
};

/* ---- flood_reply.c ---- */

/* A request for the slot's address went out at realtime `t`. */
void await(struct slot *s, uint64_t t);
/* Everything the RX ring holds now, matched; never waits. */
void drain_rx(struct flood *fl);
/* The JSON line on stdout and, unless -q, the summary on stderr. */
void report(struct flood *fl, double send_s);

#endif
