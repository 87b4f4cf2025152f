/*
 * The ARP handler's pure parts over hand-made frames: arp_build_reply (the
 * exact bytes of a reply, which frames are answered, which are ignored and
 * under which counter), arp_in_pools on a hand-built responder (edges, no
 * overflow at 0.0.0.0 and 255.255.255.255), and arp_kernel_expression compiled
 * by libpcap and run with filter_match: what the kernel prefilter admits with
 * and without a capture expression, and that 64 pools plus a long expression
 * fit. No privileges; the one test that needs an interface (pool sorting and
 * merging in arp_responder_new) uses "lo" and says so when it cannot.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "ring/ring.h"
#include "workers/arp.h"
#include "unit.h"

#define IP(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (uint32_t)(d))

static const uint8_t OUR_MAC[6] = { 0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0xee };
static const uint8_t PEER_MAC[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x01 };
static const uint8_t BCAST[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

/* Two disjoint pools, sorted and merged as arp_responder_new leaves them. */
static struct arp_pool_range pools[] = {
	{ IP(198, 18, 1, 0), IP(198, 18, 1, 255) },
	{ IP(198, 18, 3, 10), IP(198, 18, 3, 20) },
};

static struct arp_responder responder(void)
{
	struct arp_responder r;

	memset(&r, 0, sizeof(r));
	r.pools = pools;
	r.npools = ARRAY_SIZE(pools);
	memcpy(r.mac, OUR_MAC, 6);
	r.iface.index = 1;
	strcpy(r.iface.name, "test0");
	return r;
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

static uint64_t ignored(const struct arp_counters *c)
{
	return c->ign_out_of_pool + c->ign_not_request + c->ign_gratuitous + c->ign_own +
	       c->ign_malformed;
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
	struct arp_counters c = { 0 };
	uint8_t f[64], reply[ARP_REPLY_LEN];
	uint32_t len = request(f, IP(198, 18, 1, 5));

	memset(reply, 0x5a, sizeof(reply)); /* the padding must be written, not left */
	CHECK(arp_build_reply(&r, f, len, reply, &c), "normal request not answered");
	CHECK(memcmp(reply, want, sizeof(want)) == 0, "reply bytes differ");
	for (unsigned i = 0; i < ARP_REPLY_LEN; i++)
		if (reply[i] != want[i])
			fprintf(stderr, "  byte %u: got 0x%02x want 0x%02x\n", i, reply[i], want[i]);
	CHECK_EQ(c.requests, 1);
	CHECK_EQ(c.probes, 0);
	CHECK_EQ(ignored(&c), 0);

	/* The bare 42-byte request (no padding) is just as good. */
	memset(&c, 0, sizeof(c));
	CHECK(arp_build_reply(&r, f, ARP_FRAME_LEN, reply, &c), "42-byte request not answered");
	CHECK(memcmp(reply, want, sizeof(want)) == 0, "reply to 42-byte request differs");

	/* Replies go to the ARP sender's hardware address, not the Ethernet source. */
	{
		static const uint8_t other[6] = { 0x02, 0, 0, 0, 0, 0x77 };
		struct req q = { other, PEER_MAC, IP(198, 18, 0, 1), IP(198, 18, 3, 10), 1 };

		memset(&c, 0, sizeof(c));
		len = arp_frame(f, &q);
		CHECK(arp_build_reply(&r, f, len, reply, &c), "proxied request not answered");
		CHECK(memcmp(reply, PEER_MAC, 6) == 0, "Ethernet destination is not the ARP sha");
		CHECK(memcmp(reply + 32, PEER_MAC, 6) == 0, "tha is not the requester's sha");
	}
}

/* A probe (RFC 5227: sender 0.0.0.0) is answered, to the prober's MAC, with
 * target protocol address 0.0.0.0, and counted as a probe. */
static void test_probe(void)
{
	struct arp_responder r = responder();
	struct arp_counters c = { 0 };
	struct req q = { PEER_MAC, PEER_MAC, 0, IP(198, 18, 1, 200), 1 };
	uint8_t f[64], reply[ARP_REPLY_LEN];
	uint32_t len = arp_frame(f, &q);

	CHECK(arp_build_reply(&r, f, len, reply, &c), "probe not answered");
	CHECK(memcmp(reply, PEER_MAC, 6) == 0, "probe reply not to the prober's MAC");
	CHECK(memcmp(reply + 6, OUR_MAC, 6) == 0, "probe reply not from our MAC");
	CHECK(reply[21] == 2, "probe reply op %u", reply[21]);
	CHECK(memcmp(reply + 22, OUR_MAC, 6) == 0, "probe reply sha not ours");
	CHECK(memcmp(reply + 28, (uint8_t[]){ 198, 18, 1, 200 }, 4) == 0, "probe reply spa");
	CHECK(memcmp(reply + 32, PEER_MAC, 6) == 0, "probe reply tha");
	CHECK(all_zero(reply + 38, 4), "probe reply tpa is not 0.0.0.0");
	CHECK_EQ(c.requests, 1);
	CHECK_EQ(c.probes, 1);
	CHECK_EQ(ignored(&c), 0);
}

/* Each frame is not answered and lands in exactly one counter. */
static void expect_ignored(const char *what, const uint8_t *f, uint32_t len, size_t counter_off)
{
	struct arp_responder r = responder();
	struct arp_counters c = { 0 };
	uint8_t reply[ARP_REPLY_LEN];
	uint64_t v;

	memset(reply, 0x5a, sizeof(reply));
	CHECK(!arp_build_reply(&r, f, len, reply, &c), "%s: answered", what);
	memcpy(&v, (const uint8_t *)&c + counter_off, sizeof(v));
	CHECK(v == 1, "%s: its counter is %llu, want 1", what, (unsigned long long)v);
	CHECK(ignored(&c) == 1, "%s: %llu ignored counts, want 1", what,
	      (unsigned long long)ignored(&c));
	CHECK(c.requests == 0 && c.replies == 0 && c.probes == 0, "%s: counted as a request", what);
}

#define IGN(field) offsetof(struct arp_counters, field)

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
	uint8_t f[64], reply[ARP_REPLY_LEN];
	char what[64];

	for (size_t i = 0; i < ARRAY_SIZE(outside); i++) {
		snprintf(what, sizeof(what), "target 0x%08x outside the pools", outside[i]);
		expect_ignored(what, f, request(f, outside[i]), IGN(ign_out_of_pool));
	}
	for (size_t i = 0; i < ARRAY_SIZE(inside); i++) {
		struct arp_counters c = { 0 };

		CHECK(arp_build_reply(&r, f, request(f, inside[i]), reply, &c),
		      "pool edge 0x%08x not answered", inside[i]);
		CHECK_EQ(c.requests, 1);
	}
}

static void test_not_answered(void)
{
	uint8_t f[64];
	uint32_t len;
	struct req q;

	q = (struct req){ PEER_MAC, PEER_MAC, IP(198, 18, 0, 1), IP(198, 18, 1, 5), 2 };
	expect_ignored("reply (op 2)", f, arp_frame(f, &q), IGN(ign_not_request));
	q.op = 3; /* RARP request */
	expect_ignored("op 3", f, arp_frame(f, &q), IGN(ign_not_request));

	q = (struct req){ PEER_MAC, PEER_MAC, IP(198, 18, 1, 5), IP(198, 18, 1, 5), 1 };
	expect_ignored("gratuitous request", f, arp_frame(f, &q), IGN(ign_gratuitous));

	q = (struct req){ OUR_MAC, PEER_MAC, IP(198, 18, 0, 1), IP(198, 18, 1, 5), 1 };
	expect_ignored("Ethernet source is our MAC", f, arp_frame(f, &q), IGN(ign_own));
	q = (struct req){ PEER_MAC, OUR_MAC, IP(198, 18, 0, 1), IP(198, 18, 1, 5), 1 };
	expect_ignored("ARP sha is our MAC", f, arp_frame(f, &q), IGN(ign_own));

	len = request(f, IP(198, 18, 1, 5));
	f[15] = 6; /* htype IEEE 802 */
	expect_ignored("htype 6", f, len, IGN(ign_malformed));
	len = request(f, IP(198, 18, 1, 5));
	f[16] = 0x86, f[17] = 0xdd;
	expect_ignored("ptype IPv6", f, len, IGN(ign_malformed));
	len = request(f, IP(198, 18, 1, 5));
	f[18] = 8;
	expect_ignored("hlen 8", f, len, IGN(ign_malformed));
	len = request(f, IP(198, 18, 1, 5));
	f[19] = 16;
	expect_ignored("plen 16", f, len, IGN(ign_malformed));
	request(f, IP(198, 18, 1, 5));
	expect_ignored("truncated at 41 bytes", f, ARP_FRAME_LEN - 1, IGN(ign_malformed));
	expect_ignored("truncated at 14 bytes", f, 14, IGN(ign_malformed));
}

/* Captured traffic that is not ARP is none of the handler's business: no
 * reply and no counter moves. */
static void test_not_arp(void)
{
	struct arp_responder r = responder();
	struct arp_counters c = { 0 }, zero = { 0 };
	uint8_t f[64], reply[ARP_REPLY_LEN];
	uint32_t len = udp_frame(f);

	CHECK(!arp_build_reply(&r, f, len, reply, &c), "UDP frame answered");
	len = request(f, IP(198, 18, 1, 5));
	f[12] = 0x81, f[13] = 0x00; /* 802.1Q: not parsed, not ours */
	CHECK(!arp_build_reply(&r, f, len, reply, &c), "VLAN-tagged frame answered");
	CHECK(!arp_build_reply(&r, f, 13, reply, &c), "13-byte runt answered");
	CHECK(memcmp(&c, &zero, sizeof(c)) == 0, "non-ARP frames moved a counter");
}

/* Counters add up over a mixed sequence. */
static void test_counters(void)
{
	struct arp_responder r = responder();
	struct arp_counters c = { 0 };
	uint8_t f[64], reply[ARP_REPLY_LEN];
	unsigned answered = 0;
	struct req q;

	for (unsigned i = 0; i < 10; i++)
		answered += arp_build_reply(&r, f, request(f, IP(198, 18, 1, i)), reply, &c);
	for (unsigned i = 0; i < 4; i++)
		answered += arp_build_reply(&r, f, request(f, IP(198, 18, 2, i)), reply, &c);
	q = (struct req){ PEER_MAC, PEER_MAC, 0, IP(198, 18, 3, 11), 1 };
	answered += arp_build_reply(&r, f, arp_frame(f, &q), reply, &c);
	q.op = 2;
	answered += arp_build_reply(&r, f, arp_frame(f, &q), reply, &c);
	answered += arp_build_reply(&r, f, udp_frame(f), reply, &c);
	CHECK_EQ(answered, 11);
	CHECK_EQ(c.requests, 11);
	CHECK_EQ(c.probes, 1);
	CHECK_EQ(c.ign_out_of_pool, 4);
	CHECK_EQ(c.ign_not_request, 1);
	CHECK_EQ(ignored(&c), 5);
	CHECK_EQ(c.replies, 0); /* counted by the handler once sent, not here */
	CHECK_EQ(c.tx_full, 0);
}

static void test_in_pools(void)
{
	struct arp_pool_range many[] = {
		{ 0, 0 },
		{ IP(10, 0, 0, 0), IP(10, 0, 0, 255) },
		{ IP(10, 0, 1, 1), IP(10, 0, 1, 1) },
		{ IP(172, 16, 128, 0), IP(172, 16, 255, 254) },
		{ IP(255, 255, 255, 255), IP(255, 255, 255, 255) },
	};
	struct arp_pool_range all = { 0, UINT32_MAX };
	struct arp_responder r = responder();

	r.pools = many;
	r.npools = ARRAY_SIZE(many);
	CHECK(arp_in_pools(&r, 0), "0.0.0.0");
	CHECK(!arp_in_pools(&r, 1), "0.0.0.1");
	CHECK(!arp_in_pools(&r, IP(9, 255, 255, 255)), "below 10.0.0.0");
	CHECK(arp_in_pools(&r, IP(10, 0, 0, 0)), "10.0.0.0");
	CHECK(arp_in_pools(&r, IP(10, 0, 0, 255)), "10.0.0.255");
	CHECK(!arp_in_pools(&r, IP(10, 0, 1, 0)), "10.0.1.0");
	CHECK(arp_in_pools(&r, IP(10, 0, 1, 1)), "10.0.1.1");
	CHECK(!arp_in_pools(&r, IP(10, 0, 1, 2)), "10.0.1.2");
	CHECK(!arp_in_pools(&r, IP(172, 16, 127, 255)), "172.16.127.255");
	CHECK(arp_in_pools(&r, IP(172, 16, 128, 0)), "172.16.128.0");
	CHECK(arp_in_pools(&r, IP(172, 16, 200, 7)), "172.16.200.7");
	CHECK(arp_in_pools(&r, IP(172, 16, 255, 254)), "172.16.255.254");
	CHECK(!arp_in_pools(&r, IP(172, 16, 255, 255)), "172.16.255.255");
	CHECK(!arp_in_pools(&r, IP(255, 255, 255, 254)), "255.255.255.254");
	CHECK(arp_in_pools(&r, IP(255, 255, 255, 255)), "255.255.255.255");

	r.npools = 0;
	CHECK(!arp_in_pools(&r, IP(10, 0, 0, 1)), "no pools");
	r.pools = &all;
	r.npools = 1;
	CHECK(arp_in_pools(&r, 0) && arp_in_pools(&r, UINT32_MAX) &&
		      arp_in_pools(&r, IP(128, 0, 0, 0)),
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

static void test_kernel_expression(void)
{
	uint8_t f[64];
	uint32_t len;
	struct filter k;
	struct req q;
	char *e;

	/* Responder only: exactly in-pool requests. */
	e = arp_kernel_expression(pools, ARRAY_SIZE(pools), "udp", false);
	CHECK(e != NULL, "no expression without capture");
	if (!e)
		return;
	CHECK(strstr(e, "udp") == NULL, "user expression used without capture: %s", e);
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
	filter_free(&k);
	xfree(e);

	/* Capture "udp" and answer: both pass, nothing else. */
	e = arp_kernel_expression(pools, ARRAY_SIZE(pools), "udp", true);
	CHECK(e != NULL, "no expression for capture with \"udp\"");
	if (!e)
		return;
	k = compile(e);
	CHECK(passes(&k, f, udp_frame(f)), "UDP rejected with capture \"udp\"");
	CHECK(passes(&k, f, request(f, IP(198, 18, 1, 77))), "in-pool request rejected");
	CHECK(passes(&k, f, request(f, IP(198, 18, 3, 20))), "in-pool request rejected");
	CHECK(!passes(&k, f, request(f, IP(198, 18, 3, 21))), "out-of-pool request admitted");
	q = (struct req){ PEER_MAC, PEER_MAC, IP(198, 18, 0, 1), IP(198, 18, 1, 5), 2 };
	CHECK(!passes(&k, f, arp_frame(f, &q)), "reply admitted with capture \"udp\"");
	len = udp_frame(f);
	f[23] = 6; /* TCP */
	CHECK(!passes(&k, f, len), "TCP admitted with capture \"udp\"");
	filter_free(&k);
	xfree(e);

	/* A user expression with its own "or" stays one term. */
	e = arp_kernel_expression(pools, 1, "udp or icmp", true);
	if (e) {
		k = compile(e);
		CHECK(!passes(&k, f, request(f, IP(198, 18, 3, 15))),
		      "pool 2 admitted with only pool 1 given");
		CHECK(passes(&k, f, request(f, IP(198, 18, 1, 15))), "pool 1 rejected");
		filter_free(&k);
		xfree(e);
	}

	e = arp_kernel_expression(pools, ARRAY_SIZE(pools), NULL, true);
	CHECK(e == NULL, "capture everything gave an expression: %s", e ? e : "");
	xfree(e);
}

/* Sorting and merging happen in arp_responder_new. */
static void test_responder_new(void)
{
	static const struct arp_pool_range in[] = {
		{ IP(10, 0, 5, 0), IP(10, 0, 5, 0) },
		{ IP(10, 0, 1, 0), IP(10, 0, 1, 255) },
		{ IP(10, 0, 0, 0), IP(10, 0, 0, 255) },   /* adjacent to the one above */
		{ IP(10, 0, 0, 128), IP(10, 0, 0, 130) }, /* inside */
		{ IP(10, 0, 5, 2), IP(10, 0, 5, 9) },     /* a gap of one: stays apart */
		{ IP(255, 255, 255, 0), UINT32_MAX },
		{ IP(255, 255, 254, 0), IP(255, 255, 255, 10) },
	};
	static const struct arp_pool_range want[] = {
		{ IP(10, 0, 0, 0), IP(10, 0, 1, 255) },
		{ IP(10, 0, 5, 0), IP(10, 0, 5, 0) },
		{ IP(10, 0, 5, 2), IP(10, 0, 5, 9) },
		{ IP(255, 255, 254, 0), UINT32_MAX },
	};
	struct iface ifc = { .name = "test0", .index = 1, .mac = { 2, 0, 0, 0, 0, 9 } };
	struct arp_responder *r = arp_responder_new(&ifc, in, ARRAY_SIZE(in), OUR_MAC);
	struct arp_responder *own = arp_responder_new(&ifc, in, 1, NULL);

	CHECK(memcmp(own->mac, ifc.mac, 6) == 0, "no --arp-mac: the interface's MAC");
	arp_responder_free(own);
	CHECK_EQ(r->npools, ARRAY_SIZE(want));
	for (unsigned i = 0; i < r->npools && i < ARRAY_SIZE(want); i++) {
		CHECK_EQ(r->pools[i].first, want[i].first);
		CHECK_EQ(r->pools[i].last, want[i].last);
	}
	CHECK(memcmp(r->mac, OUR_MAC, 6) == 0, "--arp-mac not kept");
	CHECK(arp_in_pools(r, IP(10, 0, 0, 255)) && arp_in_pools(r, IP(10, 0, 1, 0)),
	      "merged pools lost their seam");
	CHECK(!arp_in_pools(r, IP(10, 0, 5, 1)), "the gap of one was merged");
	arp_responder_free(r);
}

/* The most pools the CLI allows, at their longest, and a long user expression:
 * the expression fits its buffer and compiles. */
static void test_expression_size(void)
{
	struct arp_pool_range many[MAX_ARP_POOLS];
	char user[600];
	struct filter k;
	uint8_t f[64];
	char *e;

	for (unsigned i = 0; i < MAX_ARP_POOLS; i++)
		many[i] = (struct arp_pool_range){ 0xf0000000u + i * 0x10000u,
						   0xf0000000u + i * 0x10000u + 0xfffeu };
	memset(user, 0, sizeof(user));
	for (unsigned i = 0; strlen(user) + 40 < sizeof(user); i++)
		sprintf(user + strlen(user), "%sudp port %u", i ? " or " : "", 1000 + i);
	e = arp_kernel_expression(many, MAX_ARP_POOLS, user, true);
	CHECK(e != NULL, "no expression");
	if (!e)
		return;
	k = compile(e);
	CHECK(passes(&k, f, request(f, 0xf0000000u + 63 * 0x10000u + 0xfffeu)), "last pool's edge");
	CHECK(!passes(&k, f, request(f, 0xf0000000u + 63 * 0x10000u + 0xffffu)), "past the last pool");
	filter_free(&k);
	xfree(e);
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
	return unit_exit("test_arp");
}
