/*
 * The responder's kernel prefilter (neighbour_prefilter) against a reference
 * matcher: the expression is compiled by libpcap, optimizer and all, exactly
 * as the service compiles it, and the resulting cBPF program is run by
 * libpcap's own interpreter (filter_match, bpf_filter) over crafted frames.
 * What it admits must be exactly what a plain range test on the pools says.
 * This catches text that compiles but does not mean what it says (libpcap
 * 1.10.3 turns `EXPR & 0xffffffff = 0` into a test that never matches).
 *
 * Pools: for every prefix length (0..32 for ARP, 0..128 for NDP) one block
 * at a random aligned base and one range of the same size at a random
 * unaligned start; then mixed responders of several pools of both kinds.
 * Targets: first, last, first - 1, last + 1, one inside and one random.
 * Frames: an ARP request and a Neighbor Solicitation for each target,
 * untagged and behind an 802.1Q tag in the frame. No privileges.
 */
#include <string.h>

#include "responder/responder.h"
#include "ring/ring.h"
#include "unit.h"

typedef unsigned __int128 u128;

#define U128_MAX (~(u128)0)

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rnd64(void)
{
	/* xorshift64*: reproducible, so a failure names the same pool each run */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dull;
}

static u128 rnd128(void)
{
	return (u128)rnd64() << 64 | rnd64();
}

static void u128_bytes(u128 v, uint8_t out[16])
{
	for (int i = 15; i >= 0; i--, v >>= 8)
		out[i] = (uint8_t)v;
}

static u128 bytes_u128(const uint8_t in[16])
{
	u128 v = 0;

	for (int i = 0; i < 16; i++)
		v = v << 8 | in[i];
	return v;
}

/* ------------------------------------------------------------ the reference */

struct pools {
	struct arp_pool_range arp[8];
	unsigned narp;
	struct ndp_pool_range ndp[8];
	unsigned nndp;
};

static bool ref_arp(const struct pools *p, uint32_t t)
{
	for (unsigned i = 0; i < p->narp; i++)
		if (p->arp[i].first <= t && t <= p->arp[i].last)
			return true;
	return false;
}

static bool ref_ndp(const struct pools *p, u128 t)
{
	for (unsigned i = 0; i < p->nndp; i++)
		if (bytes_u128(p->ndp[i].first) <= t && t <= bytes_u128(p->ndp[i].last))
			return true;
	return false;
}

/* --------------------------------------------------------------- the frames */

static const uint8_t PEER_MAC[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x01 };

/* With `tagged`, an 802.1Q tag (VID 7) after the MAC addresses. */
static uint32_t eth_head(uint8_t *f, const uint8_t dst[6], uint16_t type, bool tagged)
{
	uint32_t n = 12;

	memcpy(f, dst, 6);
	memcpy(f + 6, PEER_MAC, 6);
	if (tagged) {
		f[12] = 0x81, f[13] = 0x00, f[14] = 0x00, f[15] = 7;
		n = 16;
	}
	f[n] = (uint8_t)(type >> 8), f[n + 1] = (uint8_t)type;
	return n + 2;
}

static uint32_t arp_request(uint8_t f[128], uint32_t target, bool tagged)
{
	static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	uint8_t *a;
	uint32_t n;

	memset(f, 0, 128);
	n = eth_head(f, bcast, 0x0806, tagged);
	a = f + n;
	a[1] = 1, a[2] = 0x08, a[4] = 6, a[5] = 4, a[7] = 1;  /* Ethernet, IPv4, request */
	memcpy(a + 8, PEER_MAC, 6);
	a[14] = 198, a[15] = 18, a[16] = 0, a[17] = 1;         /* sender 198.18.0.1 */
	for (int i = 0; i < 4; i++)
		a[24 + i] = (uint8_t)(target >> (24 - 8 * i));
	return n + 28 < 60 ? 60 : n + 28;
}

static uint32_t solicitation(uint8_t f[128], u128 target, bool tagged)
{
	static const uint8_t sol_mac[6] = { 0x33, 0x33, 0xff, 0, 0, 0 };
	uint8_t *ip, *icmp;
	uint32_t n;

	memset(f, 0, 128);
	n = eth_head(f, sol_mac, 0x86dd, tagged);
	ip = f + n, icmp = ip + 40;
	ip[0] = 0x60, ip[5] = 24, ip[6] = 58, ip[7] = 255;
	ip[8] = 0x20, ip[9] = 0x01, ip[11] = 2, ip[23] = 1;    /* source 2001:2::1 */
	ip[24] = 0xff, ip[25] = 0x02, ip[35] = 1, ip[36] = 0xff;
	icmp[0] = 135;
	u128_bytes(target, icmp + 8);
	memcpy(ip + 37, icmp + 8 + 13, 3);                     /* its solicited-node group */
	return n + 40 + 24;
}

/* --------------------------------------------------------------- the checks */

static unsigned compared, admitted;

/* Compile the responder's prefilter for `p` and compare it with the reference
 * on every target in arp_t / ndp_t, untagged and tagged. */
static void check_pools(const char *what, const struct pools *p, const uint32_t *arp_t,
			unsigned narp_t, const u128 *ndp_t, unsigned nndp_t)
{
	static const uint8_t OUR_MAC[6] = { 0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0xee };
	struct iface ifc = { .name = "test0", .index = 1 };
	struct arp_responder *r;
	char err[FILTER_ERR_LEN];
	struct filter k;
	uint8_t f[128];
	char *e;

	memcpy(ifc.mac, OUR_MAC, 6);
	r = arp_responder_new(&ifc, p->arp, p->narp, p->ndp, p->nndp, NULL);
	e = neighbour_prefilter(r);
	if (filter_compile(&k, e, 320, err, sizeof(err))) {
		CHECK(false, "%s: '%s' does not compile: %s", what, e, err);
		goto out_free;
	}
	for (int tagged = 0; tagged < 2; tagged++) {
		for (unsigned i = 0; i < narp_t; i++) {
			uint32_t len = arp_request(f, arp_t[i], tagged);
			bool got = filter_match(&k, f, len, len), want = ref_arp(p, arp_t[i]);

			CHECK(got == want, "%s: ARP request for 0x%08x%s: %s, want %s; filter '%s'",
			      what, arp_t[i], tagged ? " (tagged)" : "", got ? "admitted" : "refused",
			      want ? "admitted" : "refused", e);
			compared++, admitted += got;
		}
		for (unsigned i = 0; i < nndp_t; i++) {
			uint32_t len = solicitation(f, ndp_t[i], tagged);
			bool got = filter_match(&k, f, len, len), want = ref_ndp(p, ndp_t[i]);
			char a[40];

			snprintf(a, sizeof(a), "%016llx%016llx", (unsigned long long)(ndp_t[i] >> 64),
				 (unsigned long long)ndp_t[i]);
			CHECK(got == want, "%s: NS for %s%s: %s, want %s; filter '%s'", what, a,
			      tagged ? " (tagged)" : "", got ? "admitted" : "refused",
			      want ? "admitted" : "refused", e);
			compared++, admitted += got;
		}
	}
	filter_free(&k);
out_free:
	xfree(e);
	arp_responder_free(r);
}

/* Targets at and around the edges of [first, last], one inside, one anywhere. */
static unsigned arp_edges(uint32_t first, uint32_t last, uint32_t *t)
{
	unsigned n = 0;

	t[n++] = first;
	t[n++] = last;
	if (first > 0)
		t[n++] = first - 1;
	if (last < UINT32_MAX)
		t[n++] = last + 1;
	t[n++] = first + (uint32_t)(rnd64() % ((uint64_t)last - first + 1));
	t[n++] = (uint32_t)rnd64();
	return n;
}

static unsigned ndp_edges(u128 first, u128 last, u128 *t)
{
	unsigned n = 0;

	t[n++] = first;
	t[n++] = last;
	if (first > 0)
		t[n++] = first - 1;
	if (last < U128_MAX)
		t[n++] = last + 1;
	t[n++] = last - first == U128_MAX ? rnd128() : first + rnd128() % (last - first + 1);
	t[n++] = rnd128();
	return n;
}

/* A block of 2^(bits - len) addresses: aligned at a random base, or starting
 * anywhere (cut at the top of the space). */
static void arp_pool(unsigned len, bool aligned, struct arp_pool_range *q)
{
	uint32_t host = len == 0 ? UINT32_MAX : len == 32 ? 0 : UINT32_MAX >> len;
	uint32_t start = (uint32_t)rnd64();

	if (aligned)
		start &= ~host;
	q->first = start;
	q->last = (uint64_t)start + host > UINT32_MAX ? UINT32_MAX : start + host;
	q->vid = ARP_VID_ANY;
}

static void ndp_pool(unsigned len, bool aligned, struct ndp_pool_range *q)
{
	u128 host = len == 0 ? U128_MAX : len == 128 ? 0 : U128_MAX >> len;
	u128 start = rnd128();

	if (aligned)
		start &= ~host;
	u128_bytes(start, q->first);
	u128_bytes(start > U128_MAX - host ? U128_MAX : start + host, q->last);
	q->vid = ARP_VID_ANY;
}

static void test_every_width(void)
{
	char what[64];

	for (unsigned len = 0; len <= 32; len++) {
		for (int aligned = 1; aligned >= 0; aligned--) {
			struct pools p = { .narp = 1 };
			uint32_t t[6];
			unsigned n;

			arp_pool(len, aligned, &p.arp[0]);
			n = arp_edges(p.arp[0].first, p.arp[0].last, t);
			snprintf(what, sizeof(what), "ARP /%u %s (0x%08x-0x%08x)", len,
				 aligned ? "aligned" : "unaligned", p.arp[0].first, p.arp[0].last);
			check_pools(what, &p, t, n, NULL, 0);
		}
	}
	for (unsigned len = 0; len <= 128; len++) {
		for (int aligned = 1; aligned >= 0; aligned--) {
			struct pools p = { .nndp = 1 };
			u128 t[6];
			unsigned n;

			ndp_pool(len, aligned, &p.ndp[0]);
			n = ndp_edges(bytes_u128(p.ndp[0].first), bytes_u128(p.ndp[0].last), t);
			snprintf(what, sizeof(what), "NDP /%u %s", len, aligned ? "aligned" : "unaligned");
			check_pools(what, &p, NULL, 0, t, n);
		}
	}
}

/* The pools of the reports: a /120 and a single address, beside a /64. */
static void test_known_shapes(void)
{
	static const char *const shapes[] = { "2001:2:0:9::100/120", "2001:2:0:a::77",
					      "2001:2:0:1::/64", "2001:2::/48", "::/0",
					      "2001:2:0:b::1-2001:2:0:b::3" };
	static const char *const arp_shapes[] = { "198.18.5.0/24", "198.18.6.7", "0.0.0.0/0",
						  "198.18.9.250-198.18.10.3" };

	for (size_t i = 0; i < ARRAY_SIZE(shapes); i++) {
		struct pools p = { .nndp = 1 };
		u128 t[6];
		unsigned n;

		CHECK(ndp_parse_pool(shapes[i], &p.ndp[0]) == 0, "parse %s", shapes[i]);
		n = ndp_edges(bytes_u128(p.ndp[0].first), bytes_u128(p.ndp[0].last), t);
		check_pools(shapes[i], &p, NULL, 0, t, n);
	}
	for (size_t i = 0; i < ARRAY_SIZE(arp_shapes); i++) {
		struct pools p = { .narp = 1 };
		uint32_t t[6];
		unsigned n;

		CHECK(arp_parse_pool(arp_shapes[i], &p.arp[0]) == 0, "parse %s", arp_shapes[i]);
		n = arp_edges(p.arp[0].first, p.arp[0].last, t);
		check_pools(arp_shapes[i], &p, t, n, NULL, 0);
	}
}

/* Several pools of both kinds in one filter: the terms must not leak into
 * each other; the edges of every pool are tried against the whole set. */
static void test_mixed(void)
{
	for (unsigned round = 0; round < 40; round++) {
		struct pools p = { .narp = 1 + rnd64() % 4, .nndp = 1 + rnd64() % 4 };
		uint32_t at[4 * 6];
		u128 nt[4 * 6];
		unsigned na = 0, nn = 0;
		char what[32];

		for (unsigned i = 0; i < p.narp; i++) {
			arp_pool((unsigned)(rnd64() % 33), rnd64() & 1, &p.arp[i]);
			na += arp_edges(p.arp[i].first, p.arp[i].last, at + na);
		}
		for (unsigned i = 0; i < p.nndp; i++) {
			ndp_pool((unsigned)(rnd64() % 129), rnd64() & 1, &p.ndp[i]);
			nn += ndp_edges(bytes_u128(p.ndp[i].first), bytes_u128(p.ndp[i].last),
					nt + nn);
		}
		snprintf(what, sizeof(what), "mixed round %u", round);
		check_pools(what, &p, at, na, nt, nn);
	}
}

int main(void)
{
	test_every_width();
	test_known_shapes();
	test_mixed();
	/* the edges make both answers common: a filter that admits all or
	 * nothing cannot pass */
	CHECK(admitted > compared / 4 && admitted < compared * 3 / 4,
	      "%u of %u admitted: the cases are lopsided", admitted, compared);
	printf("%u frames compared, %u admitted\n", compared, admitted);
	return unit_exit("test_responder_prefilter");
}
