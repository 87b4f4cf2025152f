/*
 * ARP answering for address pools (RFC 826 over Ethernet).
 *
 * Answered: requests (op 1) for IPv4 over Ethernet (htype 1, ptype 0x0800,
 * hlen 6, plen 4) whose target lies in a pool, including probes (RFC 5227,
 * sender 0.0.0.0): the pools are ours, and answering a probe is how a VM that
 * tries to claim one of our addresses learns it is taken — the Linux kernel
 * answers probes for its own addresses the same way.
 * Never answered: targets outside every pool, replies and other opcodes,
 * gratuitous ARP (sender == target), frames from our own MAC (Ethernet or ARP
 * sender), and frames whose ARP header is truncated or has other lengths.
 *
 * The reply rewrites the request: Ethernet destination = the requester's
 * hardware address (ARP sender), source = our MAC; op 2; sender = our MAC and
 * the requested address; target = the requester's hardware and protocol
 * addresses. 42 bytes, zero-padded to the 60-byte Ethernet minimum.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "workers/arp.h"

#define ETH_P_ARP_BE 0x0806

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int cmp_pool(const void *a, const void *b)
{
	const struct arp_pool_range *x = a, *y = b;

	return x->first < y->first ? -1 : x->first > y->first;
}

struct arp_responder *arp_responder_new(const struct iface *iface,
					const struct arp_pool_range *pools, unsigned npools,
					const uint8_t *mac)
{
	struct arp_responder *r = xcalloc(1, sizeof(*r));
	unsigned n = 0;

	r->iface = *iface;
	memcpy(r->mac, mac ? mac : iface->mac, 6);

	/* Sorted and merged, so a lookup is one binary search. */
	r->pools = xcalloc(npools, sizeof(*r->pools));
	memcpy(r->pools, pools, npools * sizeof(*pools));
	qsort(r->pools, npools, sizeof(*r->pools), cmp_pool);
	for (unsigned i = 0; i < npools; i++) {
		if (n && (uint64_t)r->pools[n - 1].last + 1 >= r->pools[i].first) {
			if (r->pools[i].last > r->pools[n - 1].last)
				r->pools[n - 1].last = r->pools[i].last;
		} else {
			r->pools[n++] = r->pools[i];
		}
	}
	r->npools = n;
	return r;
}

void arp_responder_free(struct arp_responder *r)
{
	if (!r)
		return;
	xfree(r->pools);
	xfree(r);
}

int arp_parse_pool(const char *s, struct arp_pool_range *r)
{
	char buf[64];
	char *sep;
	uint32_t a, b;
	uint64_t len;

	if (strlen(s) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, s);
	if ((sep = strchr(buf, '-'))) {
		*sep = '\0';
		if (parse_ipv4(buf, &a) || parse_ipv4(sep + 1, &b))
			return -EINVAL;
		if (a > b)
			return -ERANGE;
	} else if ((sep = strchr(buf, '/'))) {
		*sep = '\0';
		if (parse_ipv4(buf, &a) || parse_u64(sep + 1, 0, 32, &len))
			return -EINVAL;
		if (len == 0) {
			if (a)
				return -ERANGE;
			b = UINT32_MAX;
		} else {
			uint32_t mask = len == 32 ? UINT32_MAX : ~(UINT32_MAX >> len);
			if (a & ~mask)
				return -ERANGE; /* host bits set: 10.1.2.3/24 */
			b = a | ~mask;
		}
	} else {
		if (parse_ipv4(buf, &a))
			return -EINVAL;
		b = a;
	}
	r->first = a;
	r->last = b;
	return 0;
}

bool arp_in_pools(const struct arp_responder *r, uint32_t ip)
{
	unsigned lo = 0, hi = r->npools;

	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;

		if (ip < r->pools[mid].first)
			hi = mid;
		else if (ip > r->pools[mid].last)
			lo = mid + 1;
		else
			return true;
	}
	return false;
}

char *arp_kernel_expression(const struct arp_pool_range *pools, unsigned npools,
			    const char *user_expr, bool capture)
{
	/* "arp[..]" offsets count from the ARP header; compare as unsigned. */
	static const char head[] = "(arp and arp[0:2] = 1 and arp[2:2] = 0x0800 and arp[4] = 6 "
				   "and arp[5] = 4 and arp[6:2] = 1 and (";
	size_t len = sizeof(head) + npools * 64 + 8 + (user_expr ? strlen(user_expr) + 16 : 0);
	char *s, *p;

	if (capture && !user_expr)
		return NULL; /* everything is captured: the kernel passes all */
	s = p = xcalloc(1, len);
	if (capture)
		p += sprintf(p, "(%s) or ", user_expr);
	p += sprintf(p, "%s", head);
	for (unsigned i = 0; i < npools; i++)
		p += sprintf(p, "%s(arp[24:4] >= 0x%08x and arp[24:4] <= 0x%08x)", i ? " or " : "",
			     pools[i].first, pools[i].last);
	sprintf(p, "))");
	return s;
}

bool arp_build_reply(const struct arp_responder *r, const uint8_t *f, uint32_t caplen,
		     uint8_t reply[ARP_REPLY_LEN], struct arp_counters *c)
{
	const uint8_t *arp = f + 14;
	uint32_t spa, tpa;

	if (caplen < 14 || get16(f + 12) != ETH_P_ARP_BE)
		return false; /* not ARP: captured traffic, none of our business */
	if (caplen < ARP_FRAME_LEN || get16(arp) != 1 || get16(arp + 2) != 0x0800 ||
	    arp[4] != 6 || arp[5] != 4) {
		c->ign_malformed++;
		return false;
	}
	if (get16(arp + 6) != 1) {
		c->ign_not_request++;
		return false;
	}
	if (!memcmp(f + 6, r->mac, 6) || !memcmp(arp + 8, r->mac, 6)) {
		c->ign_own++;
		return false;
	}
	spa = get32(arp + 14);
	tpa = get32(arp + 24);
	if (!arp_in_pools(r, tpa)) {
		c->ign_out_of_pool++;
		return false;
	}
	if (spa == tpa) {
		c->ign_gratuitous++;
		return false;
	}
	c->requests++;
	if (spa == 0)
		c->probes++;

	memset(reply, 0, ARP_REPLY_LEN);
	memcpy(reply, arp + 8, 6);            /* to the requester's hardware address */
	memcpy(reply + 6, r->mac, 6);
	reply[12] = 0x08, reply[13] = 0x06;
	memcpy(reply + 14, arp, 6);           /* htype, ptype, hlen, plen as asked */
	reply[20] = 0, reply[21] = 2;         /* op: reply */
	memcpy(reply + 22, r->mac, 6);        /* sender: us, the requested address */
	memcpy(reply + 28, arp + 24, 4);
	memcpy(reply + 32, arp + 8, 6);       /* target: the requester */
	memcpy(reply + 38, arp + 14, 4);
	return true;
}

int arp_worker_open(struct arp_worker *aw, const struct arp_responder *r)
{
	struct txring_config tc = {
		.iface = &r->iface,
		.frame_size = 128,
		.frame_nr = 4096,
		.qdisc_bypass = false, /* replies stay visible to capture sockets, as tcpdump expects */
	};

	memset(aw, 0, sizeof(*aw));
	aw->r = r;
	return txring_open(&aw->tx, &tc);
}

void arp_worker_close(struct arp_worker *aw)
{
	txring_close(&aw->tx);
}

/* Kick the TX ring and count what the kernel took. Replies the device
 * refused (ENOBUFS) stay queued and count when a later kick gets them out. */
static void arp_flush(struct arp_worker *aw)
{
	uint32_t pending = aw->tx.queued;
	int ret;

	if (!pending)
		return;
	ret = txring_kick(&aw->tx);
	if (ret) {
		if (!aw->warned) /* once: a down link would repeat it per block */
			log_warn("ARP replies on %s: send: %s", aw->r->iface.name, strerror(-ret));
		aw->warned = true;
		return;
	}
	aw->c.replies += pending - aw->tx.queued;
}

static int arp_on_block(void *ctx, const struct pkt_view *pkts, unsigned n)
{
	struct arp_worker *aw = ctx;
	uint8_t reply[ARP_REPLY_LEN];

	for (unsigned i = 0; i < n; i++) {
		uint8_t *slot;

		if (!arp_build_reply(aw->r, pkts[i].data, pkts[i].caplen, reply, &aw->c))
			continue;
		slot = txring_frame(&aw->tx);
		if (!slot) {
			aw->c.tx_full++;
			continue;
		}
		memcpy(slot, reply, sizeof(reply));
		txring_queue(&aw->tx, sizeof(reply));
	}
	arp_flush(aw); /* one send() for the whole block, and any left before */
	return 0;
}

/* Replies a refused kick left in the ring go out even if no block comes. */
static void arp_idle(void *ctx)
{
	arp_flush(ctx);
}

const struct handler_ops arp_handler_ops = {
	.name = "arp",
	.on_block = arp_on_block,
	.idle = arp_idle,
};

struct arp_counters arp_counters_sum(const struct arp_worker *aw, unsigned n)
{
	struct arp_counters s = { 0 };

	for (unsigned i = 0; i < n; i++) {
		s.requests += aw[i].c.requests;
		s.replies += aw[i].c.replies;
		s.probes += aw[i].c.probes;
		s.tx_full += aw[i].c.tx_full;
		s.ign_out_of_pool += aw[i].c.ign_out_of_pool;
		s.ign_not_request += aw[i].c.ign_not_request;
		s.ign_gratuitous += aw[i].c.ign_gratuitous;
		s.ign_own += aw[i].c.ign_own;
		s.ign_malformed += aw[i].c.ign_malformed;
	}
	return s;
}

void arp_print_counters(const struct arp_responder *r, const struct arp_worker *aw, unsigned n,
			FILE *f)
{
	struct arp_counters s = arp_counters_sum(aw, n);

	(void)r;
	fprintf(f, "%llu ARP requests for pool addresses\n", (unsigned long long)s.requests);
	fprintf(f, "%llu ARP replies sent\n", (unsigned long long)s.replies);
	fprintf(f, "%llu ARP replies lost (TX ring full)\n", (unsigned long long)s.tx_full);
	fprintf(f,
		"%llu ARP ignored: %llu outside pools, %llu not requests, %llu gratuitous, "
		"%llu from our MAC, %llu malformed\n",
		(unsigned long long)(s.ign_out_of_pool + s.ign_not_request + s.ign_gratuitous +
				     s.ign_own + s.ign_malformed),
		(unsigned long long)s.ign_out_of_pool, (unsigned long long)s.ign_not_request,
		(unsigned long long)s.ign_gratuitous, (unsigned long long)s.ign_own,
		(unsigned long long)s.ign_malformed);
}
