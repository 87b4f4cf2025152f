/*
 * The ARP responder's pure parts over hand-made frames: arp_build_reply (the
 * exact bytes of a reply, untagged, 802.1Q and 802.1ad in the frame or in the
 * ring's metadata; which frames are answered, which are ignored and under
 * which counter, every safety rule included), @VID pools, pool parsing,
 * arp_in_pools on a hand-built responder (edges, no overflow at 0.0.0.0 and
 * 255.255.255.255), the gratuitous ARP of --arp-announce, and
 * neighbour_prefilter compiled by libpcap and run with filter_match: what
 * the prefilter admits, tagged or not, and that 64 pools (with 64 NDP pools)
 * fit. No privileges, no interface.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "ring/ring.h"
#include "responder/responder.h"
#include "unit.h"

#define IP(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (uint32_t)(d))

static const uint8_t OUR_MAC[6] = { 0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0xee };
static const uint8_t PEER_MAC[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x01 };
static const uint8_t BCAST[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

/* Two disjoint pools, sorted and merged as arp_responder_new leaves them. */
static struct arp_pool_range pools[] = {
	{ IP(198, 18, 1, 0), IP(198, 18, 1, 255), ARP_VID_ANY },
	{ IP(198, 18, 3, 10), IP(198, 18, 3, 20), ARP_VID_ANY },
};

static struct arp_responder responder(void)
{
	struct arp_responder r;

	memset(&r, 0, sizeof(r));
	r.pools = pools;
	r.npools = ARRAY_SIZE(pools);
	memcpy(r.mac, OUR_MAC, 6);
	memcpy(r.iface.mac, OUR_MAC, 6);
	r.iface.index = 1;
	strcpy(r.iface.name, "test0");
	return r;
}

/* One frame as the ring hands it over, untagged or with a tag in the
 * metadata (vlan set: what the kernel took off), built by neighbour_answer. */
static uint32_t build_meta(const struct arp_responder *r, const uint8_t *f, uint32_t len,
			   uint8_t *reply, struct responder_counters *c, bool vlan, uint16_t tci,
			   uint16_t tpid)
{
	struct pkt_view p = { .data = f, .caplen = len, .len = len, .vlan = vlan,
			      .vlan_tci = tci, .vlan_tpid = tpid };

	return neighbour_answer(r, &p, reply, c);
}

static uint32_t build(const struct arp_responder *r, const uint8_t *f, uint32_t len,
		      uint8_t *reply, struct responder_counters *c)
{
	return build_meta(r, f, len, reply, c, false, 0, 0);
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

struct req {
	const uint8_t *eth_src;
	const uint8_t *sha;
	uint32_t spa, tpa;
	uint16_t op;
};

/* A 60-byte request as a Linux host sends it (42 bytes + zero padding). */
static uint32_t arp_frame(uint8_t f[64], const struct req *q)
{
	memset(f, 0, 64);
	memcpy(f, BCAST, 6);
	memcpy(f + 6, q->eth_src, 6);
	f[12] = 0x08, f[13] = 0x06;
	f[14] = 0, f[15] = 1;         /* htype Ethernet */
	f[16] = 0x08, f[17] = 0x00;   /* ptype IPv4 */
	f[18] = 6, f[19] = 4;
	f[20] = (uint8_t)(q->op >> 8), f[21] = (uint8_t)q->op;
	memcpy(f + 22, q->sha, 6);
	put32(f + 28, q->spa);
	put32(f + 38, q->tpa);        /* tha stays zero */
	return 60;
}

static uint32_t request(uint8_t f[64], uint32_t tpa)
{
	struct req q = { PEER_MAC, PEER_MAC, IP(198, 18, 0, 1), tpa, 1 };

	return arp_frame(f, &q);
}

static uint32_t udp_frame(uint8_t f[64])
{
	memset(f, 0, 64);
	memcpy(f, OUR_MAC, 6);
	memcpy(f + 6, PEER_MAC, 6);
	f[12] = 0x08, f[13] = 0x00;
	f[14] = 0x45;
	f[16] = 0, f[17] = 28;
	f[22] = 64;
	f[23] = 17;
	put32(f + 26, IP(198, 18, 0, 1));
	put32(f + 30, IP(198, 18, 1, 5));
	f[34] = 0x9c, f[35] = 0x40;   /* 40000 -> 9 */
	f[36] = 0, f[37] = 9;
	f[38] = 0, f[39] = 8;
	return 60;
}

static uint64_t ignored(const struct responder_counters *c)
{
	return c->arp_ign_out_of_pool + c->arp_ign_not_request + c->arp_ign_gratuitous + c->arp_ign_own +
	       c->arp_ign_malformed + c->arp_ign_not_for_us + c->arp_ign_bad_sender + c->arp_ign_bad_target +
	       c->arp_ign_vlan + c->ndp_ign_out_of_pool + c->ndp_ign_malformed + c->ndp_ign_not_for_us +
	       c->ndp_ign_bad_sender + c->ndp_ign_own + c->ndp_ign_vlan;
}

static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

/* The exact 60 bytes for 02:00:00:00:00:01/198.18.0.1 asking for 198.18.1.5. */
static void test_exact_reply(void)
{
	static const uint8_t want[ARP_REPLY_LEN] = {
		0x02, 0x00, 0x00, 0x00, 0x00, 0x01,             /* to the requester */
		0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0xee,             /* from us */
		0x08, 0x06,
		0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x02, /* Ethernet/IPv4, reply */
		0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0xee,             /* sha: us */
		198, 18, 1, 5,                                  /* spa: the requested address */
		0x02, 0x00, 0x00, 0x00, 0x00, 0x01,             /* tha: the requester */
		198, 18, 0, 1,                                  /* tpa: the requester */
		/* 18 bytes of zero padding */
	};
	struct arp_responder r = responder();
	struct responder_counters c = { 0 };
	uint8_t f[64], reply[ARP_REPLY_MAX];
	uint32_t len = request(f, IP(198, 18, 1, 5));

	memset(reply, 0x5a, sizeof(reply)); /* the padding must be written, not left */
	CHECK(build(&r, f, len, reply, &c), "normal request not answered");
	CHECK(memcmp(reply, want, sizeof(want)) == 0, "reply bytes differ");
	for (unsigned i = 0; i < ARP_REPLY_LEN; i++)
		if (reply[i] != want[i])
			fprintf(stderr, "  byte %u: got 0x%02x want 0x%02x\n", i, reply[i], want[i]);
	CHECK_EQ(c.arp_answered, 1);
	CHECK_EQ(c.arp_probes, 0);
	CHECK_EQ(ignored(&c), 0);

	/* The bare 42-byte request (no padding) is just as good. */
	memset(&c, 0, sizeof(c));
	CHECK(build(&r, f, ARP_FRAME_LEN, reply, &c), "42-byte request not answered");
	CHECK(memcmp(reply, want, sizeof(want)) == 0, "reply to 42-byte request differs");

	/* Replies go to the ARP sender's hardware address, not the Ethernet source. */
	{
		static const uint8_t other[6] = { 0x02, 0, 0, 0, 0, 0x77 };
		struct req q = { other, PEER_MAC, IP(198, 18, 0, 1), IP(198, 18, 3, 10), 1 };

		memset(&c, 0, sizeof(c));
		len = arp_frame(f, &q);
		CHECK(build(&r, f, len, reply, &c), "proxied request not answered");
		CHECK(memcmp(reply, PEER_MAC, 6) == 0, "Ethernet destination is not the ARP sha");
		CHECK(memcmp(reply + 32, PEER_MAC, 6) == 0, "tha is not the requester's sha");
	}
}

/* A probe (RFC 5227: sender 0.0.0.0) is answered, to the prober's MAC, with
 * target protocol address 0.0.0.0, and counted as a probe. */
static void test_probe(void)
{
	struct arp_responder r = responder();
	struct responder_counters c = { 0 };
	struct req q = { PEER_MAC, PEER_MAC, 0, IP(198, 18, 1, 200), 1 };
	uint8_t f[64], reply[ARP_REPLY_MAX];
	uint32_t len = arp_frame(f, &q);

	CHECK(build(&r, f, len, reply, &c), "probe not answered");
	CHECK(memcmp(reply, PEER_MAC, 6) == 0, "probe reply not to the prober's MAC");
	CHECK(memcmp(reply + 6, OUR_MAC, 6) == 0, "probe reply not from our MAC");
	CHECK(reply[21] == 2, "probe reply op %u", reply[21]);
	CHECK(memcmp(reply + 22, OUR_MAC, 6) == 0, "probe reply sha not ours");
	CHECK(memcmp(reply + 28, (uint8_t[]){ 198, 18, 1, 200 }, 4) == 0, "probe reply spa");
	CHECK(memcmp(reply + 32, PEER_MAC, 6) == 0, "probe reply tha");
	CHECK(all_zero(reply + 38, 4), "probe reply tpa is not 0.0.0.0");
	CHECK_EQ(c.arp_answered, 1);
	CHECK_EQ(c.arp_probes, 1);
	CHECK_EQ(ignored(&c), 0);
}

/* Each frame is not answered and lands in exactly one counter. */
static void expect_ignored(const char *what, const uint8_t *f, uint32_t len, size_t counter_off)
{
	struct arp_responder r = responder();
	struct responder_counters c = { 0 };
	uint8_t reply[ARP_REPLY_MAX];
	uint64_t v;

	memset(reply, 0x5a, sizeof(reply));
	CHECK(!build(&r, f, len, reply, &c), "%s: answered", what);
	memcpy(&v, (const uint8_t *)&c + counter_off, sizeof(v));
	CHECK(v == 1, "%s: its counter is %llu, want 1", what, (unsigned long long)v);
	CHECK(ignored(&c) == 1, "%s: %llu ignored counts, want 1", what,
	      (unsigned long long)ignored(&c));
	CHECK(c.arp_answered == 0 && c.arp_replies_sent == 0 && c.arp_probes == 0, "%s: counted as a request", what);
}

#define IGN(field) offsetof(struct responder_counters, field)

static void test_outside_pools(void)
{
	static const uint32_t outside[] = {
		IP(198, 18, 0, 255), /* one below pool 1 */
		IP(198, 18, 2, 0),   /* one above pool 1 */
		IP(198, 18, 3, 9),   /* one below pool 2 */
		IP(198, 18, 3, 21),  /* one above pool 2 */
		IP(198, 18, 2, 128), /* between the pools */
		0, IP(255, 255, 255, 255), IP(10, 1, 2, 3),
	};
	static const uint32_t inside[] = {
		IP(198, 18, 1, 0), IP(198, 18, 1, 255), IP(198, 18, 3, 10), IP(198, 18, 3, 20),
		IP(198, 18, 3, 15),
	};
	struct arp_responder r = responder();
	uint8_t f[64], reply[ARP_REPLY_MAX];
	char what[64];

	for (size_t i = 0; i < ARRAY_SIZE(outside); i++) {
		snprintf(what, sizeof(what), "target 0x%08x outside the pools", outside[i]);
		expect_ignored(what, f, request(f, outside[i]), IGN(arp_ign_out_of_pool));
	}
	for (size_t i = 0; i < ARRAY_SIZE(inside); i++) {
		struct responder_counters c = { 0 };

		CHECK(build(&r, f, request(f, inside[i]), reply, &c),
		      "pool edge 0x%08x not answered", inside[i]);
		CHECK_EQ(c.arp_answered, 1);
	}
}

static void test_not_answered(void)
{
	uint8_t f[64];
	uint32_t len;
	struct req q;

	q = (struct req){ PEER_MAC, PEER_MAC, IP(198, 18, 0, 1), IP(198, 18, 1, 5), 2 };
	expect_ignored("reply (op 2)", f, arp_frame(f, &q), IGN(arp_ign_not_request));
	q.op = 3; /* RARP request */
	expect_ignored("op 3", f, arp_frame(f, &q), IGN(arp_ign_not_request));

	q = (struct req){ PEER_MAC, PEER_MAC, IP(198, 18, 1, 5), IP(198, 18, 1, 5), 1 };
	expect_ignored("gratuitous request", f, arp_frame(f, &q), IGN(arp_ign_gratuitous));

	q = (struct req){ OUR_MAC, PEER_MAC, IP(198, 18, 0, 1), IP(198, 18, 1, 5), 1 };
	expect_ignored("Ethernet source is our MAC", f, arp_frame(f, &q), IGN(arp_ign_own));
	q = (struct req){ PEER_MAC, OUR_MAC, IP(198, 18, 0, 1), IP(198, 18, 1, 5), 1 };
	expect_ignored("ARP sha is our MAC", f, arp_frame(f, &q), IGN(arp_ign_own));

	len = request(f, IP(198, 18, 1, 5));
	f[15] = 6; /* htype IEEE 802 */
	expect_ignored("htype 6", f, len, IGN(arp_ign_malformed));
	len = request(f, IP(198, 18, 1, 5));
	f[16] = 0x86, f[17] = 0xdd;
	expect_ignored("ptype IPv6", f, len, IGN(arp_ign_malformed));
	len = request(f, IP(198, 18, 1, 5));
	f[18] = 8;
	expect_ignored("hlen 8", f, len, IGN(arp_ign_malformed));
	len = request(f, IP(198, 18, 1, 5));
	f[19] = 16;
	expect_ignored("plen 16", f, len, IGN(arp_ign_malformed));
	request(f, IP(198, 18, 1, 5));
	expect_ignored("truncated at 41 bytes", f, ARP_FRAME_LEN - 1, IGN(arp_ign_malformed));
	expect_ignored("truncated at 14 bytes", f, 14, IGN(arp_ign_malformed));
}

/* Captured traffic that is not ARP is none of the handler's business: no
 * reply and no counter moves. */
static void test_not_arp(void)
{
	struct arp_responder r = responder();
	struct responder_counters c = { 0 }, zero = { 0 };
	uint8_t f[64], reply[ARP_REPLY_MAX];
	uint32_t len = udp_frame(f);

	CHECK(!build(&r, f, len, reply, &c), "UDP frame answered");
	CHECK(!build(&r, f, 13, reply, &c), "13-byte runt answered");
	CHECK(memcmp(&c, &zero, sizeof(c)) == 0, "non-ARP frames moved a counter");
}

/* Counters add up over a mixed sequence. */
static void test_counters(void)
{
	struct arp_responder r = responder();
	struct responder_counters c = { 0 };
	uint8_t f[64], reply[ARP_REPLY_MAX];
	unsigned answered = 0;
	struct req q;

	for (unsigned i = 0; i < 10; i++)
		answered += !!build(&r, f, request(f, IP(198, 18, 1, i)), reply, &c);
	for (unsigned i = 0; i < 4; i++)
		answered += !!build(&r, f, request(f, IP(198, 18, 2, i)), reply, &c);
	q = (struct req){ PEER_MAC, PEER_MAC, 0, IP(198, 18, 3, 11), 1 };
	answered += !!build(&r, f, arp_frame(f, &q), reply, &c);
	q.op = 2;
	answered += !!build(&r, f, arp_frame(f, &q), reply, &c);
	answered += !!build(&r, f, udp_frame(f), reply, &c);
	CHECK_EQ(answered, 11);
	CHECK_EQ(c.arp_answered, 11);
	CHECK_EQ(c.arp_probes, 1);
	CHECK_EQ(c.arp_ign_out_of_pool, 4);
	CHECK_EQ(c.arp_ign_not_request, 1);
	CHECK_EQ(ignored(&c), 5);
	CHECK_EQ(c.arp_replies_sent, 0); /* counted by the handler once sent, not here */
	CHECK_EQ(c.tx_full, 0);
}

static void test_in_pools(void)
{
	struct arp_pool_range many[] = {
		{ 0, 0, ARP_VID_ANY },
		{ IP(10, 0, 0, 0), IP(10, 0, 0, 255), ARP_VID_ANY },
		{ IP(10, 0, 1, 1), IP(10, 0, 1, 1), ARP_VID_ANY },
		{ IP(172, 16, 128, 0), IP(172, 16, 255, 254), ARP_VID_ANY },
		{ IP(255, 255, 255, 255), IP(255, 255, 255, 255), ARP_VID_ANY },
	};
	struct arp_pool_range all = { 0, UINT32_MAX, ARP_VID_ANY };
	struct arp_responder r = responder();

	r.pools = many;
	r.npools = ARRAY_SIZE(many);
	CHECK(arp_in_pools(&r, 0, 0), "0.0.0.0");
	CHECK(!arp_in_pools(&r, 1, 0), "0.0.0.1");
	CHECK(!arp_in_pools(&r, IP(9, 255, 255, 255), 0), "below 10.0.0.0");
	CHECK(arp_in_pools(&r, IP(10, 0, 0, 0), 0), "10.0.0.0");
	CHECK(arp_in_pools(&r, IP(10, 0, 0, 255), 0), "10.0.0.255");
	CHECK(!arp_in_pools(&r, IP(10, 0, 1, 0), 0), "10.0.1.0");
	CHECK(arp_in_pools(&r, IP(10, 0, 1, 1), 0), "10.0.1.1");
	CHECK(!arp_in_pools(&r, IP(10, 0, 1, 2), 0), "10.0.1.2");
	CHECK(!arp_in_pools(&r, IP(172, 16, 127, 255), 0), "172.16.127.255");
	CHECK(arp_in_pools(&r, IP(172, 16, 128, 0), 0), "172.16.128.0");
	CHECK(arp_in_pools(&r, IP(172, 16, 200, 7), 0), "172.16.200.7");
	CHECK(arp_in_pools(&r, IP(172, 16, 255, 254), 0), "172.16.255.254");
	CHECK(!arp_in_pools(&r, IP(172, 16, 255, 255), 0), "172.16.255.255");
	CHECK(!arp_in_pools(&r, IP(255, 255, 255, 254), 0), "255.255.255.254");
	CHECK(arp_in_pools(&r, IP(255, 255, 255, 255), 0), "255.255.255.255");

	r.npools = 0;
	CHECK(!arp_in_pools(&r, IP(10, 0, 0, 1), 0), "no pools");
	r.pools = &all;
	r.npools = 1;
	CHECK(arp_in_pools(&r, 0, 0) && arp_in_pools(&r, UINT32_MAX, 0) &&
		      arp_in_pools(&r, IP(128, 0, 0, 0), 0),
	      "0.0.0.0/0");
}

static struct filter compile(const char *expr)
{
	struct filter f;
	char err[FILTER_ERR_LEN];
	int ret = filter_compile(&f, expr, 262144, err, sizeof(err));

	CHECK(ret == 0, "filter_compile(\"%s\"): %s", expr, err);
	return f;
}

static bool passes(const struct filter *f, const uint8_t *frame, uint32_t len)
{
	return filter_match(f, frame, len, len);
}

/* A responder over `pools` (any VLAN) plus VLAN pools and NDP pools, as
 * arp_responder_new leaves it. */
static struct arp_responder *responder_with(const struct arp_pool_range *p, unsigned n,
					    const struct ndp_pool_range *nd, unsigned nn)
{
	struct iface ifc = { .name = "test0", .index = 1 };

	memcpy(ifc.mac, OUR_MAC, 6);
	return arp_responder_new(&ifc, p, n, nd, nn, NULL);
}

static void test_kernel_expression(void)
{
	struct arp_responder *r = responder_with(pools, ARRAY_SIZE(pools), NULL, 0);
	uint8_t f[64], t[68];
	uint32_t len;
	struct filter k;
	struct req q;
	char *e = neighbour_prefilter(r);

	k = compile(e);
	CHECK(passes(&k, f, request(f, IP(198, 18, 1, 0))), "198.18.1.0 rejected");
	CHECK(passes(&k, f, request(f, IP(198, 18, 1, 255))), "198.18.1.255 rejected");
	CHECK(passes(&k, f, request(f, IP(198, 18, 3, 10))), "198.18.3.10 rejected");
	CHECK(passes(&k, f, request(f, IP(198, 18, 3, 20))), "198.18.3.20 rejected");
	CHECK(!passes(&k, f, request(f, IP(198, 18, 0, 255))), "198.18.0.255 admitted");
	CHECK(!passes(&k, f, request(f, IP(198, 18, 2, 0))), "198.18.2.0 admitted");
	CHECK(!passes(&k, f, request(f, IP(198, 18, 3, 9))), "198.18.3.9 admitted");
	CHECK(!passes(&k, f, request(f, IP(198, 18, 3, 21))), "198.18.3.21 admitted");
	q = (struct req){ PEER_MAC, PEER_MAC, IP(198, 18, 0, 1), IP(198, 18, 1, 5), 2 };
	CHECK(!passes(&k, f, arp_frame(f, &q)), "reply admitted");
	len = request(f, IP(198, 18, 1, 5));
	f[18] = 8;
	CHECK(!passes(&k, f, len), "hlen 8 admitted");
	len = request(f, IP(198, 18, 1, 5));
	f[17] = 0x01;
	CHECK(!passes(&k, f, len), "ptype 0x0801 admitted");
	CHECK(!passes(&k, f, udp_frame(f)), "UDP admitted");

	/* Behind one tag in the frame, 802.1Q and 802.1ad: admitted when in a pool. */
	for (unsigned tp = 0; tp < 2; tp++) {
		uint16_t tpid = tp ? 0x88a8 : 0x8100;

		len = request(f, IP(198, 18, 1, 5));
		memcpy(t, f, 12);
		t[12] = (uint8_t)(tpid >> 8), t[13] = (uint8_t)tpid;
		t[14] = 0, t[15] = 7;
		memcpy(t + 16, f + 12, len - 12);
		CHECK(passes(&k, t, len + 4), "tagged (TPID 0x%04x) in-pool request rejected", tpid);
		request(f, IP(198, 18, 2, 5));
		memcpy(t + 16, f + 12, len - 12);
		CHECK(!passes(&k, t, len + 4), "tagged (TPID 0x%04x) out-of-pool admitted", tpid);
	}
	filter_free(&k);
	xfree(e);
	arp_responder_free(r);
}

/* The most pools the CLI allows, at their longest: the expression fits its
 * buffer, compiles, and the program fits the kernel's limit. */
static void test_expression_size(void)
{
	struct arp_pool_range many[MAX_ARP_POOLS];
	struct ndp_pool_range nd[MAX_NDP_POOLS];
	struct arp_responder *r;
	struct filter k;
	uint8_t f[64];
	char *e;

	for (unsigned i = 0; i < MAX_ARP_POOLS; i++)
		many[i] = (struct arp_pool_range){ 0xc0000000u + i * 0x20000u,
						   0xc0000000u + i * 0x20000u + 0xfffeu,
						   i % 2 ? (int)i : ARP_VID_ANY };
	/* the longest NDP test: bounds that part in the first word, with
	 * tails neither all zero nor all ones (a nested test per word each) */
	for (unsigned i = 0; i < MAX_NDP_POOLS; i++) {
		memset(&nd[i], 0x01, sizeof(nd[i].first));
		memset(nd[i].last, 0xfe, sizeof(nd[i].last));
		nd[i].first[0] = nd[i].last[0] = 0x20;
		nd[i].first[1] = nd[i].last[1] = 0x01;
		nd[i].first[2] = nd[i].last[2] = 0;
		nd[i].first[3] = (uint8_t)(2 * i), nd[i].last[3] = (uint8_t)(2 * i + 1);
		nd[i].vid = ARP_VID_ANY;
	}
	r = responder_with(many, MAX_ARP_POOLS, nd, MAX_NDP_POOLS);
	e = neighbour_prefilter(r);
	k = compile(e);
	/* the kernel refuses a longer classic program (EINVAL at attach) */
	CHECK(k.prog.len <= BPF_MAXINSNS, "%u instructions", k.prog.len);
	CHECK(passes(&k, f, request(f, 0xc0000000u + 63 * 0x20000u + 0xfffeu)), "last pool's edge");
	CHECK(!passes(&k, f, request(f, 0xc0000000u + 63 * 0x20000u + 0xffffu)), "past the last pool");
	filter_free(&k);
	xfree(e);
	arp_responder_free(r);
}

/* Sorting and merging happen in arp_responder_new; VLAN pools stay apart. */
static void test_responder_new(void)
{
	static const struct arp_pool_range in[] = {
		{ IP(10, 0, 5, 0), IP(10, 0, 5, 0), ARP_VID_ANY },
		{ IP(10, 0, 1, 0), IP(10, 0, 1, 255), ARP_VID_ANY },
		{ IP(10, 0, 0, 0), IP(10, 0, 0, 255), ARP_VID_ANY },   /* adjacent to the one above */
		{ IP(10, 0, 0, 128), IP(10, 0, 0, 130), ARP_VID_ANY }, /* inside */
		{ IP(10, 0, 5, 2), IP(10, 0, 5, 9), ARP_VID_ANY },     /* a gap of one: stays apart */
		{ IP(255, 255, 255, 0), UINT32_MAX, ARP_VID_ANY },
		{ IP(255, 255, 254, 0), IP(255, 255, 255, 10), ARP_VID_ANY },
		{ IP(10, 0, 5, 1), IP(10, 0, 5, 1), 7 },               /* the gap, on VLAN 7 only */
	};
	static const struct arp_pool_range want[] = {
		{ IP(10, 0, 0, 0), IP(10, 0, 1, 255), ARP_VID_ANY },
		{ IP(10, 0, 5, 0), IP(10, 0, 5, 0), ARP_VID_ANY },
		{ IP(10, 0, 5, 2), IP(10, 0, 5, 9), ARP_VID_ANY },
		{ IP(255, 255, 254, 0), UINT32_MAX, ARP_VID_ANY },
	};
	struct iface ifc = { .name = "test0", .index = 1, .mac = { 2, 0, 0, 0, 0, 9 } };
	struct arp_responder *r = arp_responder_new(&ifc, in, ARRAY_SIZE(in), NULL, 0, OUR_MAC);
	struct arp_responder *own = arp_responder_new(&ifc, in, 1, NULL, 0, NULL);

	CHECK(memcmp(own->mac, ifc.mac, 6) == 0, "no --arp-mac: the interface's MAC");
	arp_responder_free(own);
	CHECK_EQ(r->npools, ARRAY_SIZE(want));
	CHECK_EQ(r->nvpools, 1);
	for (unsigned i = 0; i < r->npools && i < ARRAY_SIZE(want); i++) {
		CHECK_EQ(r->pools[i].first, want[i].first);
		CHECK_EQ(r->pools[i].last, want[i].last);
	}
	CHECK(memcmp(r->mac, OUR_MAC, 6) == 0, "--arp-mac not kept");
	CHECK(arp_in_pools(r, IP(10, 0, 0, 255), 0) && arp_in_pools(r, IP(10, 0, 1, 0), 0),
	      "merged pools lost their seam");
	CHECK(!arp_in_pools(r, IP(10, 0, 5, 1), 0), "the gap of one was merged");
	CHECK(arp_in_pools(r, IP(10, 0, 5, 1), 7), "VLAN 7's address not in its pool");
	CHECK(!arp_in_pools(r, IP(10, 0, 5, 1), 8), "VLAN 7's address answered on VLAN 8");
	CHECK(arp_in_pools(r, IP(10, 0, 5, 0), 8), "an any-VLAN pool not answered on VLAN 8");
	arp_responder_free(r);
}

/* Frames that must never be answered, each under its own counter. */
static void test_safety(void)
{
	static const uint8_t MCAST[6] = { 0x01, 0x00, 0x5e, 0x00, 0x00, 0x01 };
	static const uint8_t ZERO[6] = { 0 };
	static const uint8_t OTHER[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x99 };
	static const uint32_t bad_spa[] = {
		IP(224, 0, 0, 1), IP(239, 1, 2, 3), IP(255, 255, 255, 255), IP(127, 0, 0, 1),
		IP(0, 1, 2, 3), IP(0, 0, 0, 1),
	};
	static const uint32_t bad_tpa[] = {
		0, IP(0, 0, 0, 7), IP(255, 255, 255, 255), IP(224, 0, 0, 5), IP(127, 0, 0, 1),
		IP(240, 0, 0, 1),
	};
	struct arp_pool_range everything = { 0, UINT32_MAX, ARP_VID_ANY };
	struct arp_responder *all = responder_with(&everything, 1, NULL, 0);
	struct arp_responder r = responder();
	uint8_t f[64], reply[ARP_REPLY_MAX];
	struct responder_counters c;
	struct req q;
	char what[80];
	uint32_t len;

	/* Unicast requests: to another host's MAC ignored, to ours answered. */
	len = request(f, IP(198, 18, 1, 5));
	memcpy(f, OTHER, 6);
	expect_ignored("unicast to another host", f, len, IGN(arp_ign_not_for_us));
	memcpy(f, OUR_MAC, 6);
	memset(&c, 0, sizeof(c));
	CHECK(build(&r, f, len, reply, &c) == ARP_REPLY_LEN, "unicast to our MAC not answered");
	memcpy(f, MCAST, 6);
	expect_ignored("to a multicast MAC", f, len, IGN(arp_ign_not_for_us));

	/* Senders that are no host. */
	q = (struct req){ MCAST, PEER_MAC, IP(198, 18, 0, 1), IP(198, 18, 1, 5), 1 };
	expect_ignored("Ethernet source multicast", f, arp_frame(f, &q), IGN(arp_ign_bad_sender));
	q.eth_src = BCAST;
	expect_ignored("Ethernet source broadcast", f, arp_frame(f, &q), IGN(arp_ign_bad_sender));
	q.eth_src = ZERO;
	expect_ignored("Ethernet source zero", f, arp_frame(f, &q), IGN(arp_ign_bad_sender));
	q = (struct req){ PEER_MAC, MCAST, IP(198, 18, 0, 1), IP(198, 18, 1, 5), 1 };
	expect_ignored("sha multicast", f, arp_frame(f, &q), IGN(arp_ign_bad_sender));
	q.sha = BCAST;
	expect_ignored("sha broadcast", f, arp_frame(f, &q), IGN(arp_ign_bad_sender));
	q.sha = ZERO;
	expect_ignored("sha zero", f, arp_frame(f, &q), IGN(arp_ign_bad_sender));
	for (size_t i = 0; i < ARRAY_SIZE(bad_spa); i++) {
		q = (struct req){ PEER_MAC, PEER_MAC, bad_spa[i], IP(198, 18, 1, 5), 1 };
		snprintf(what, sizeof(what), "sender IP 0x%08x", bad_spa[i]);
		expect_ignored(what, f, arp_frame(f, &q), IGN(arp_ign_bad_sender));
	}

	/* Targets that are no host's, even inside 0.0.0.0/0. */
	for (size_t i = 0; i < ARRAY_SIZE(bad_tpa); i++) {
		uint64_t v;

		memset(&c, 0, sizeof(c));
		CHECK(!build(all, f, request(f, bad_tpa[i]), reply, &c), "target 0x%08x answered",
		      bad_tpa[i]);
		v = c.arp_ign_bad_target;
		CHECK(v == 1 && ignored(&c) == 1, "target 0x%08x: bad_target %llu, ignored %llu",
		      bad_tpa[i], (unsigned long long)v, (unsigned long long)ignored(&c));
	}
	memset(&c, 0, sizeof(c));
	CHECK(build(all, f, request(f, IP(10, 1, 2, 3)), reply, &c), "0.0.0.0/0: 10.1.2.3 not answered");
	q = (struct req){ PEER_MAC, PEER_MAC, 0, IP(10, 1, 2, 3), 1 };
	CHECK(build(all, f, arp_frame(f, &q), reply, &c) && c.arp_probes == 1,
	      "0.0.0.0/0: a probe not answered");
	arp_responder_free(all);
}

static void test_arp_mac_check(void)
{
	static const uint8_t bad[][6] = {
		{ 0xff, 0xff, 0xff, 0xff, 0xff, 0xff },
		{ 0x01, 0x00, 0x5e, 0x00, 0x00, 0x01 },
		{ 0x33, 0x33, 0x00, 0x00, 0x00, 0x01 },
		{ 0, 0, 0, 0, 0, 0 },
	};

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		CHECK(!mac_is_unicast(bad[i]), "MAC %zu taken as unicast", i);
	CHECK(mac_is_unicast(OUR_MAC) && mac_is_unicast((uint8_t[]){ 0, 0, 0, 0, 0, 1 }),
	      "unicast MAC refused");
}

/* The request with a tag put in after the MACs. */
static uint32_t tag_frame(uint8_t t[68], const uint8_t *f, uint32_t len, uint16_t tpid, uint16_t tci)
{
	memcpy(t, f, 12);
	t[12] = (uint8_t)(tpid >> 8), t[13] = (uint8_t)tpid;
	t[14] = (uint8_t)(tci >> 8), t[15] = (uint8_t)tci;
	memcpy(t + 16, f + 12, len - 12);
	return len + 4;
}

/* A tagged request gets the untagged reply's bytes with the request's tag
 * (TPID, PCP, DEI, VID) after the MACs: 64 bytes. */
static void expect_tagged_reply(const char *what, const uint8_t *got, uint32_t len,
				const uint8_t *untagged, uint16_t tpid, uint16_t tci)
{
	uint8_t want[68];

	CHECK(len == 64, "%s: reply of %u bytes, want 64", what, len);
	tag_frame(want, untagged, ARP_REPLY_LEN, tpid, tci);
	CHECK(memcmp(got, want, 64) == 0, "%s: reply bytes differ", what);
}

static void test_vlan(void)
{
	struct arp_responder r = responder();
	uint8_t f[64], t[68], plain[ARP_REPLY_MAX], reply[ARP_REPLY_MAX];
	struct responder_counters c = { 0 };
	uint32_t len = request(f, IP(198, 18, 1, 5)), n;

	CHECK(build(&r, f, len, plain, &c) == ARP_REPLY_LEN, "untagged: not 60 bytes");
	CHECK(plain[12] == 0x08 && plain[13] == 0x06, "untagged request got a tagged reply");

	/* In the frame: 802.1Q with PCP 5, and 802.1ad. */
	n = build(&r, t, tag_frame(t, f, len, 0x8100, 0xa007), reply, &c);
	expect_tagged_reply("802.1Q in the frame", reply, n, plain, 0x8100, 0xa007);
	n = build(&r, t, tag_frame(t, f, len, 0x88a8, 0x0123), reply, &c);
	expect_tagged_reply("802.1ad in the frame", reply, n, plain, 0x88a8, 0x0123);
	/* Taken off by the kernel into tp_vlan_tci / tp_vlan_tpid. */
	n = build_meta(&r, f, len, reply, &c, true, 0x0007, 0x8100);
	expect_tagged_reply("802.1Q in the metadata", reply, n, plain, 0x8100, 0x0007);
	n = build_meta(&r, f, len, reply, &c, true, 0x2064, 0x88a8);
	expect_tagged_reply("802.1ad in the metadata", reply, n, plain, 0x88a8, 0x2064);
	CHECK_EQ(c.arp_answered, 5);

	/* Two tags (metadata + frame, or both in the frame): not answered. */
	memset(&c, 0, sizeof(c));
	CHECK(!build_meta(&r, t, tag_frame(t, f, len, 0x8100, 7), reply, &c, true, 9, 0x88a8),
	      "two tags answered");
	CHECK_EQ(c.arp_ign_vlan, 1);
	{
		uint8_t tt[72];

		tag_frame(t, f, len, 0x8100, 7);
		memcpy(tt, t, 12);
		tt[12] = 0x88, tt[13] = 0xa8, tt[14] = 0, tt[15] = 9;
		memcpy(tt + 16, t + 12, len + 4 - 12);
		CHECK(!build(&r, tt, len + 8, reply, &c), "two tags in the frame answered");
		CHECK_EQ(c.arp_ign_vlan, 2);
	}
	CHECK_EQ(ignored(&c), 2);
	/* A tag and nothing after it. */
	CHECK(!build(&r, t, 17, reply, &c), "17-byte tagged runt answered");
}

static void test_vlan_pools(void)
{
	static const struct arp_pool_range vp[] = {
		{ IP(198, 18, 1, 0), IP(198, 18, 1, 255), ARP_VID_ANY },
		{ IP(198, 18, 5, 0), IP(198, 18, 5, 255), 7 },
		{ IP(198, 18, 6, 0), IP(198, 18, 6, 255), 0 },
	};
	static const struct { uint32_t ip; unsigned vid; bool answered; } cases[] = {
		{ IP(198, 18, 1, 1), 0, true },  { IP(198, 18, 1, 1), 9, true },
		{ IP(198, 18, 5, 1), 7, true },  { IP(198, 18, 5, 1), 0, false },
		{ IP(198, 18, 5, 1), 8, false }, { IP(198, 18, 6, 1), 0, true },
		{ IP(198, 18, 6, 1), 7, false },
	};
	struct arp_responder *r = responder_with(vp, ARRAY_SIZE(vp), NULL, 0);
	uint8_t f[64], t[68], reply[ARP_REPLY_MAX];

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct responder_counters c = { 0 };
		uint32_t len = request(f, cases[i].ip), n;

		if (cases[i].vid)
			len = tag_frame(t, f, len, 0x8100, (uint16_t)cases[i].vid);
		n = build(r, cases[i].vid ? t : f, len, reply, &c);
		CHECK((n != 0) == cases[i].answered, "0x%08x on VLAN %u: answered %u, want %d",
		      cases[i].ip, cases[i].vid, n, cases[i].answered);
		CHECK(cases[i].answered ? c.arp_answered == 1 : c.arp_ign_vlan == 1 && ignored(&c) == 1,
		      "0x%08x on VLAN %u: wrong counter", cases[i].ip, cases[i].vid);
	}
	arp_responder_free(r);
}

static void test_parse_pools(void)
{
	struct arp_pool_range a;
	struct ndp_pool_range n;
	static const uint8_t last64[16] = { 0x20, 0x01, 0, 2, 0, 0, 0, 0,
					    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

	CHECK(arp_parse_pool("198.18.5.0/24@7", &a) == 0 && a.vid == 7 &&
		      a.first == IP(198, 18, 5, 0) && a.last == IP(198, 18, 5, 255),
	      "198.18.5.0/24@7");
	CHECK(arp_parse_pool("198.18.5.1@0", &a) == 0 && a.vid == 0, "@0");
	CHECK(arp_parse_pool("198.18.5.1", &a) == 0 && a.vid == ARP_VID_ANY, "no @: any VLAN");
	CHECK(arp_parse_pool("198.18.5.1-198.18.5.9@4094", &a) == 0 && a.vid == 4094, "@4094");
	CHECK(arp_parse_pool("198.18.5.1@4095", &a) == -EINVAL, "@4095 taken");
	CHECK(arp_parse_pool("198.18.5.1@", &a) == -EINVAL, "@ taken");
	CHECK(arp_parse_pool("198.18.5.1@x", &a) == -EINVAL, "@x taken");
	CHECK(ndp_parse_pool("2001:2::/64", &n) == 0 && n.vid == ARP_VID_ANY &&
		      memcmp(n.last, last64, 16) == 0 && n.first[15] == 0,
	      "2001:2::/64");
	CHECK(ndp_parse_pool("2001:2::1/64", &n) == -ERANGE, "host bits taken");
	CHECK(ndp_parse_pool("2001:2::9-2001:2::1", &n) == -ERANGE, "inverted range taken");
	CHECK(ndp_parse_pool("2001:2::1-2001:2::9@3", &n) == 0 && n.vid == 3 && n.last[15] == 9,
	      "range @3");
	CHECK(ndp_parse_pool("2001:2::1/129", &n) == -EINVAL, "/129 taken");
	CHECK(ndp_parse_pool("198.18.0.1", &n) == -EINVAL, "IPv4 taken as IPv6");
	CHECK(ndp_parse_pool("2001:2::5", &n) == 0 && !memcmp(n.first, n.last, 16), "one address");
}

/* A gratuitous ARP request for a pool address, byte for byte, untagged and
 * on VLAN 7. */
static void test_announce(void)
{
	static const uint8_t want[ARP_REPLY_LEN] = {
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff,             /* broadcast */
		0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0xee,             /* from us */
		0x08, 0x06,
		0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01, /* Ethernet/IPv4, request */
		0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0xee,             /* sha: us */
		198, 18, 1, 5,                                  /* spa = tpa */
		0, 0, 0, 0, 0, 0,
		198, 18, 1, 5,
	};
	struct arp_responder r = responder();
	uint8_t out[ARP_REPLY_MAX];
	uint32_t n;

	memset(out, 0x5a, sizeof(out));
	n = arp_build_announce(&r, IP(198, 18, 1, 5), 0, out);
	CHECK(n == ARP_REPLY_LEN && memcmp(out, want, sizeof(want)) == 0, "gratuitous ARP bytes");
	n = arp_build_announce(&r, IP(198, 18, 1, 5), 7, out);
	expect_tagged_reply("gratuitous ARP on VLAN 7", out, n, want, 0x8100, 7);
}

int main(void)
{
	test_exact_reply();
	test_probe();
	test_outside_pools();
	test_not_answered();
	test_not_arp();
	test_counters();
	test_in_pools();
	test_kernel_expression();
	test_expression_size();
	test_responder_new();
	test_safety();
	test_arp_mac_check();
	test_vlan();
	test_vlan_pools();
	test_parse_pools();
	test_announce();
	return unit_exit("test_arp");
}
