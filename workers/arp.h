/*
 * The ARP handler: answers ARP requests whose target lies in the configured
 * pools with our MAC, from inside the capture pipeline. Requests reach it
 * through the kernel prefilter (arp_kernel_expression); replies leave through
 * a PACKET_TX_RING of the worker's own, on a socket bound for sending only,
 * with one send() per block that had requests.
 */
#ifndef RINGCAP_ARP_H
#define RINGCAP_ARP_H

#include <stdint.h>
#include <stdio.h>

#include "ring/txring.h"
#include "workers/workers.h"

#define ARP_FRAME_LEN 42   /* Ethernet + ARP for IPv4 over Ethernet */
#define ARP_REPLY_LEN 60   /* padded to the Ethernet minimum, with zeros */
#define MAX_ARP_POOLS 64

/* A pool of IPv4 addresses answered for. */
struct arp_pool_range {
	uint32_t first; /* host order, inclusive */
	uint32_t last;
};

/* "A-B", "A/len" or "A" into a range; 0, -EINVAL (not an address, range or
 * block) or -ERANGE (inverted range, host bits set in a CIDR block). Pure. */
int arp_parse_pool(const char *s, struct arp_pool_range *r);

/* Read-only after arp_responder_new: shared by all workers. */
struct arp_responder {
	struct arp_pool_range *pools; /* sorted, merged */
	unsigned npools;
	uint8_t mac[6];
	struct iface iface;
};

/* Per worker: written by its thread only. */
struct arp_counters {
	uint64_t requests;        /* ARP requests for a pool address (answered or not) */
	uint64_t replies;         /* replies queued on the TX ring and sent */
	uint64_t probes;          /* of the replies: answers to probes (sender 0.0.0.0) */
	uint64_t tx_full;         /* replies lost: the TX ring had no free frame */
	uint64_t ign_out_of_pool; /* requests for addresses outside every pool */
	uint64_t ign_not_request; /* ARP replies and other opcodes */
	uint64_t ign_gratuitous;  /* sender address == target address */
	uint64_t ign_own;         /* sent by our own MAC */
	uint64_t ign_malformed;   /* not IPv4-over-Ethernet, or truncated */
} __attribute__((aligned(CACHELINE)));

struct arp_worker {
	const struct arp_responder *r;
	struct txring tx;
	bool warned;
	struct arp_counters c;
};

/* Build the shared state; `mac` NULL means the interface's own. Set-up phase;
 * cannot fail (the interface was looked up by the caller). */
struct arp_responder *arp_responder_new(const struct iface *iface,
					const struct arp_pool_range *pools, unsigned npools,
					const uint8_t *mac);
void arp_responder_free(struct arp_responder *r);

/* True if `ip` (host order) lies in a pool. Binary search; pure. */
bool arp_in_pools(const struct arp_responder *r, uint32_t ip);

/*
 * The tcpdump expression for the kernel prefilter: ARP requests (Ethernet,
 * IPv4, hlen 6, plen 4, op 1) with a target in a pool, or'ed with the user's
 * expression when capturing. NULL when capturing everything (no user
 * expression: the kernel must pass all anyway). Caller frees.
 */
char *arp_kernel_expression(const struct arp_pool_range *pools, unsigned npools,
			    const char *user_expr, bool capture);

/*
 * Decide on one frame and, if it deserves a reply, build it in `reply`
 * (ARP_REPLY_LEN bytes). Returns true when a reply was built; counts the
 * outcome in *c. Pure: the unit tests and the classic responder use it too.
 */
bool arp_build_reply(const struct arp_responder *r, const uint8_t *frame, uint32_t caplen,
		     uint8_t reply[ARP_REPLY_LEN], struct arp_counters *c);

/* The worker's TX ring; 0 or -errno (one line logged). */
int arp_worker_open(struct arp_worker *aw, const struct arp_responder *r);
void arp_worker_close(struct arp_worker *aw);
extern const struct handler_ops arp_handler_ops;

void arp_print_counters(const struct arp_responder *r, const struct arp_worker *aw, unsigned n,
			FILE *f);
/* The workers' counters added up; main's thread, after the workers ran or
 * for a report while they run (a figure may lag by a block). */
struct arp_counters arp_counters_sum(const struct arp_worker *aw, unsigned n);

#endif
