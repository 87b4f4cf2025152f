/*
 * NDP answering's pure parts over hand-made Neighbor Solicitations:
 * ndp_build_advert byte for byte (checksums included, as literal bytes worked
 * out apart from the code) for address resolution, reachability (unicast) and
 * DAD, tagged and untagged; every RFC 4861 7.1.1 validity check and every
 * safety rule, each ignored and counted under its own reason; the prefilter
 * compiled by libpcap; the unsolicited NA of --arp-announce. No privileges.
 */
#include <arpa/inet.h>
#include <stddef.h>
#include <string.h>

#include "responder/responder.h"
#include "ring/ring.h"
#include "unit.h"

static const uint8_t OUR_MAC[6] = { 0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0xee };
static const uint8_t PEER_MAC[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x01 };

static void ip6(const char *s, uint8_t out[16])
{
	CHECK(inet_pton(AF_INET6, s, out) == 1, "bad test address %s", s);
}

static struct arp_responder *responder(void)
{
	struct iface ifc = { .name = "test0", .index = 1 };
	struct ndp_pool_range pools[2];

	memcpy(ifc.mac, OUR_MAC, 6);
	CHECK(ndp_parse_pool("2001:2:0:1::/64", &pools[0]) == 0, "pool 1");
	CHECK(ndp_parse_pool("2001:2:0:7::/64@7", &pools[1]) == 0, "pool 2");
	return arp_responder_new(&ifc, NULL, 0, pools, 2, NULL);
}

/* The test's own checksum: RFC 4443 section 2.3 over the pseudo-header. */
static uint16_t csum(const uint8_t *src, const uint8_t *dst, const uint8_t *msg, uint32_t len)
{
	uint32_t sum = 0;

	for (int i = 0; i < 16; i += 2)
		sum += (uint32_t)(src[i] << 8 | src[i + 1]) + (uint32_t)(dst[i] << 8 | dst[i + 1]);
	sum += len + 58;
	for (uint32_t i = 0; i < len; i += 2)
		sum += (uint32_t)(msg[i] << 8 | (i + 1 < len ? msg[i + 1] : 0));
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

struct ns {
	const uint8_t *eth_dst, *eth_src;
	const char *src, *dst, *target;
	const uint8_t *slla;  /* NULL: no option */
	uint8_t hlim, code;
};

/* A solicitation as Linux sends it, checksum filled in; returns its length. */
static uint32_t ns_frame(uint8_t f[128], const struct ns *q)
{
	uint8_t *ip = f + 14, *icmp = ip + 40;
	uint32_t mlen = q->slla ? 32 : 24;
	uint16_t c;

	memset(f, 0, 128);
	memcpy(f, q->eth_dst, 6);
	memcpy(f + 6, q->eth_src, 6);
	f[12] = 0x86, f[13] = 0xdd;
	ip[0] = 0x60;
	ip[5] = (uint8_t)mlen;
	ip[6] = 58;
	ip[7] = q->hlim;
	ip6(q->src, ip + 8);
	ip6(q->dst, ip + 24);
	icmp[0] = 135;
	icmp[1] = q->code;
	ip6(q->target, icmp + 8);
	if (q->slla) {
		icmp[24] = 1, icmp[25] = 1;
		memcpy(icmp + 26, q->slla, 6);
	}
	c = csum(ip + 8, ip + 24, icmp, mlen);
	icmp[2] = (uint8_t)(c >> 8), icmp[3] = (uint8_t)c;
	return 14 + 40 + mlen;
}

static const uint8_t SOL_MAC[6] = { 0x33, 0x33, 0xff, 0x00, 0x00, 0x05 };

/* Address resolution: 2001:2::1 asks for 2001:2:0:1::5 on its solicited-node group. */
static const struct ns RESOLVE = { SOL_MAC, PEER_MAC, "2001:2::1", "ff02::1:ff00:5",
				   "2001:2:0:1::5", PEER_MAC, 255, 0 };

static uint32_t advert(const struct arp_responder *r, const uint8_t *f, uint32_t len,
		       uint8_t *out, struct responder_counters *c, bool vlan, uint16_t tci)
{
	struct pkt_view p = { .data = f, .caplen = len, .len = len, .vlan = vlan,
			      .vlan_tci = tci, .vlan_tpid = 0x8100 };

	memset(out, 0x5a, ARP_REPLY_MAX);
	return ndp_build_advert(r, &p, out, c);
}

static void expect_bytes(const char *what, const uint8_t *got, uint32_t n, const uint8_t *want,
			 uint32_t wn)
{
	CHECK(n == wn, "%s: %u bytes, want %u", what, n, wn);
	if (n != wn)
		return;
	CHECK(memcmp(got, want, n) == 0, "%s: bytes differ", what);
	for (uint32_t i = 0; i < n; i++)
		if (got[i] != want[i])
			fprintf(stderr, "  %s byte %u: got 0x%02x want 0x%02x\n", what, i, got[i],
				want[i]);
}

#define TARGET 0x20, 0x01, 0, 2, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 5
#define PEER6 0x20, 0x01, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1

static void test_exact_adverts(void)
{
	static const uint8_t want_resolve[86] = {
		0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0x86, 0xdd,
		0x60, 0, 0, 0, 0, 32, 58, 255, TARGET, PEER6,
		136, 0, 0x19, 0x28, 0x60, 0, 0, 0, TARGET,        /* Solicited, Override */
		2, 1, 0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0xee,           /* target link-layer address */
	};
	static const uint8_t want_dad[86] = {
		0x33, 0x33, 0, 0, 0, 1, 0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0x86, 0xdd,
		0x60, 0, 0, 0, 0, 32, 58, 255, TARGET,
		0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
		136, 0, 0x7a, 0x28, 0x20, 0, 0, 0, TARGET,        /* Override only */
		2, 1, 0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0xee,
	};
	static const uint8_t want_unicast[78] = {
		0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0x86, 0xdd,
		0x60, 0, 0, 0, 0, 24, 58, 255, TARGET, PEER6,
		136, 0, 0xd7, 0x96, 0x40, 0, 0, 0, TARGET,        /* Solicited only, no option */
	};
	struct arp_responder *r = responder();
	struct responder_counters c = { 0 };
	uint8_t f[128], out[ARP_REPLY_MAX], tagged[ARP_REPLY_MAX];
	struct ns q = RESOLVE;
	uint32_t len, n;

	len = ns_frame(f, &q);
	n = advert(r, f, len, out, &c, false, 0);
	expect_bytes("address resolution", out, n, want_resolve, sizeof(want_resolve));
	/* no source link-layer option: to the frame's source */
	q.slla = NULL;
	len = ns_frame(f, &q);
	n = advert(r, f, len, out, &c, false, 0);
	expect_bytes("resolution without SLLA", out, n, want_resolve, sizeof(want_resolve));

	q = RESOLVE;
	q.src = "::";
	q.slla = NULL;
	len = ns_frame(f, &q);
	n = advert(r, f, len, out, &c, false, 0);
	expect_bytes("DAD", out, n, want_dad, sizeof(want_dad));

	q = RESOLVE;
	q.eth_dst = OUR_MAC;
	q.dst = "2001:2:0:1::5";
	len = ns_frame(f, &q);
	n = advert(r, f, len, out, &c, false, 0);
	expect_bytes("unicast (reachability)", out, n, want_unicast, sizeof(want_unicast));
	CHECK_EQ(c.ndp_answered, 4);
	CHECK_EQ(c.ndp_dad, 1);

	/* Tagged, in the metadata: the same NA with the tag after the MACs. */
	len = ns_frame(f, &RESOLVE);
	n = advert(r, f, len, out, &c, true, 0x6003);
	memcpy(tagged, want_resolve, 12);
	tagged[12] = 0x81, tagged[13] = 0x00, tagged[14] = 0x60, tagged[15] = 0x03;
	memcpy(tagged + 16, want_resolve + 12, sizeof(want_resolve) - 12);
	expect_bytes("tagged in the metadata", out, n, tagged, sizeof(want_resolve) + 4);
	/* Tagged in the frame, 802.1ad. */
	{
		uint8_t t[132];

		memcpy(t, f, 12);
		t[12] = 0x88, t[13] = 0xa8, t[14] = 0x60, t[15] = 0x03;
		memcpy(t + 16, f + 12, len - 12);
		n = advert(r, t, len + 4, out, &c, false, 0);
		tagged[12] = 0x88, tagged[13] = 0xa8;
		expect_bytes("802.1ad in the frame", out, n, tagged, sizeof(want_resolve) + 4);
	}
	arp_responder_free(r);
}

/* One solicitation, not answered, counted exactly once in `counter`. */
static void expect_ignored(const char *what, const uint8_t *f, uint32_t len, size_t counter_off,
			   bool vlan, uint16_t tci)
{
	struct arp_responder *r = responder();
	struct responder_counters c = { 0 };
	uint8_t out[ARP_REPLY_MAX];
	uint64_t v, sum = 0;

	CHECK(!advert(r, f, len, out, &c, vlan, tci), "%s: answered", what);
	memcpy(&v, (const uint8_t *)&c + counter_off, sizeof(v));
	for (size_t off = offsetof(struct responder_counters, ndp_ign_out_of_pool);
	     off <= offsetof(struct responder_counters, ndp_ign_vlan); off += sizeof(uint64_t)) {
		uint64_t x;

		memcpy(&x, (const uint8_t *)&c + off, sizeof(x));
		sum += x;
	}
	CHECK(v == 1 && sum == 1, "%s: counter %llu, %llu ignored in all, want 1 and 1", what,
	      (unsigned long long)v, (unsigned long long)sum);
	CHECK(c.ndp_answered == 0, "%s: counted as answered", what);
	arp_responder_free(r);
}

#define NS_IGN(field) offsetof(struct responder_counters, field)

static void test_ndp_invalid(void)
{
	static const uint8_t MCAST[6] = { 0x33, 0x33, 0, 0, 0, 1 };
	static const uint8_t ZERO[6] = { 0 };
	uint8_t f[128];
	struct ns q;
	uint32_t len;

	q = RESOLVE;
	q.hlim = 64;
	expect_ignored("hop limit 64", f, ns_frame(f, &q), NS_IGN(ndp_ign_malformed), false, 0);
	q = RESOLVE;
	q.code = 1;
	expect_ignored("code 1", f, ns_frame(f, &q), NS_IGN(ndp_ign_malformed), false, 0);
	len = ns_frame(f, &RESOLVE);
	f[14 + 40 + 3] ^= 1;
	expect_ignored("bad checksum", f, len, NS_IGN(ndp_ign_malformed), false, 0);
	len = ns_frame(f, &RESOLVE);
	expect_ignored("truncated option", f, len - 4, NS_IGN(ndp_ign_malformed), false, 0);
	expect_ignored("shorter than 24 bytes", f, 14 + 40 + 20, NS_IGN(ndp_ign_malformed), false, 0);
	{
		/* an option of length 0, checksum correct */
		uint8_t *ip = f + 14, *icmp = ip + 40;
		uint16_t c;

		ns_frame(f, &RESOLVE);
		icmp[25] = 0;
		icmp[2] = icmp[3] = 0;
		c = csum(ip + 8, ip + 24, icmp, 32);
		icmp[2] = (uint8_t)(c >> 8), icmp[3] = (uint8_t)c;
		expect_ignored("zero-length option", f, len, NS_IGN(ndp_ign_malformed), false, 0);
		/* a source link-layer option of 16 bytes */
		ns_frame(f, &RESOLVE);
		ip[5] = 40;
		icmp[25] = 2;
		icmp[2] = icmp[3] = 0;
		c = csum(ip + 8, ip + 24, icmp, 40);
		icmp[2] = (uint8_t)(c >> 8), icmp[3] = (uint8_t)c;
		expect_ignored("16-byte SLLA", f, len + 8, NS_IGN(ndp_ign_malformed), false, 0);
	}
	q = RESOLVE;
	q.target = "ff02::1";
	q.dst = "ff02::1:ff00:1";
	expect_ignored("multicast target", f, ns_frame(f, &q), NS_IGN(ndp_ign_malformed), false, 0);
	q = RESOLVE;
	q.src = "::"; /* DAD with a source link-layer option */
	expect_ignored("DAD with SLLA", f, ns_frame(f, &q), NS_IGN(ndp_ign_malformed), false, 0);
	q = RESOLVE;
	q.src = "::";
	q.slla = NULL;
	q.dst = "2001:2:0:1::5";
	q.eth_dst = OUR_MAC;
	expect_ignored("DAD not to solicited-node", f, ns_frame(f, &q), NS_IGN(ndp_ign_malformed), false, 0);

	/* Safety */
	q = RESOLVE;
	q.dst = "ff02::1:ff00:6"; /* another address's group */
	expect_ignored("wrong solicited-node group", f, ns_frame(f, &q), NS_IGN(ndp_ign_not_for_us),
		       false, 0);
	q = RESOLVE;
	q.eth_dst = (const uint8_t[6]){ 0x33, 0x33, 0xff, 0, 0, 6 };
	expect_ignored("wrong Ethernet group", f, ns_frame(f, &q), NS_IGN(ndp_ign_not_for_us), false, 0);
	q = RESOLVE;
	q.eth_dst = (const uint8_t[6]){ 0x02, 0, 0, 0, 0, 0x99 };
	q.dst = "2001:2:0:1::5";
	expect_ignored("unicast to another MAC", f, ns_frame(f, &q), NS_IGN(ndp_ign_not_for_us), false, 0);
	q = RESOLVE;
	q.dst = "2001:2:0:1::6";
	q.eth_dst = OUR_MAC;
	expect_ignored("unicast to another address", f, ns_frame(f, &q), NS_IGN(ndp_ign_not_for_us),
		       false, 0);
	q = RESOLVE;
	q.eth_src = MCAST;
	expect_ignored("Ethernet source multicast", f, ns_frame(f, &q), NS_IGN(ndp_ign_bad_sender), false, 0);
	q.eth_src = ZERO;
	expect_ignored("Ethernet source zero", f, ns_frame(f, &q), NS_IGN(ndp_ign_bad_sender), false, 0);
	q = RESOLVE;
	q.slla = MCAST;
	expect_ignored("SLLA multicast", f, ns_frame(f, &q), NS_IGN(ndp_ign_bad_sender), false, 0);
	q = RESOLVE;
	q.src = "ff02::1";
	expect_ignored("source multicast", f, ns_frame(f, &q), NS_IGN(ndp_ign_bad_sender), false, 0);
	q.src = "::1";
	expect_ignored("source loopback", f, ns_frame(f, &q), NS_IGN(ndp_ign_bad_sender), false, 0);
	q = RESOLVE;
	q.eth_src = OUR_MAC;
	expect_ignored("from our MAC", f, ns_frame(f, &q), NS_IGN(ndp_ign_own), false, 0);
	q = RESOLVE;
	q.target = "2001:2:0:2::5";
	expect_ignored("outside the pools", f, ns_frame(f, &q), NS_IGN(ndp_ign_out_of_pool), false, 0);
	/* @VID: 2001:2:0:7::/64 answers on VLAN 7 only */
	q = RESOLVE;
	q.target = "2001:2:0:7::5";
	len = ns_frame(f, &q);
	expect_ignored("VLAN pool untagged", f, len, NS_IGN(ndp_ign_vlan), false, 0);
	expect_ignored("VLAN pool on VLAN 8", f, len, NS_IGN(ndp_ign_vlan), true, 8);
	{
		struct arp_responder *r = responder();
		struct responder_counters c = { 0 };
		uint8_t out[ARP_REPLY_MAX];

		CHECK(advert(r, f, len, out, &c, true, 7) == 90, "VLAN pool on VLAN 7 not answered");
		/* not an NS at all: not counted */
		q = RESOLVE;
		len = ns_frame(f, &q);
		f[14 + 40] = 136;
		CHECK(!advert(r, f, len, out, &c, false, 0), "an NA answered");
		CHECK_EQ(c.ndp_answered, 1);
		CHECK_EQ(c.ndp_ign_malformed + c.ndp_ign_out_of_pool + c.ndp_ign_not_for_us, 0);
		arp_responder_free(r);
	}
}

static void test_ndp_prefilter(void)
{
	struct arp_responder *r = responder();
	char *e = neighbour_prefilter(r), err[FILTER_ERR_LEN];
	struct filter k;
	uint8_t f[128], t[132];
	struct ns q = RESOLVE;
	uint32_t len;

	CHECK(filter_compile(&k, e, 320, err, sizeof(err)) == 0, "prefilter: %s: %s", e, err);
	len = ns_frame(f, &q);
	CHECK(filter_match(&k, f, len, len), "in-pool NS rejected");
	memcpy(t, f, 12);
	t[12] = 0x81, t[13] = 0, t[14] = 0, t[15] = 7;
	memcpy(t + 16, f + 12, len - 12);
	CHECK(filter_match(&k, t, len + 4, len + 4), "tagged in-pool NS rejected");
	q.target = "2001:2:0:2::5";
	len = ns_frame(f, &q);
	CHECK(!filter_match(&k, f, len, len), "out-of-pool NS admitted");
	q = RESOLVE;
	q.hlim = 64;
	len = ns_frame(f, &q);
	CHECK(!filter_match(&k, f, len, len), "hop limit 64 admitted");
	filter_free(&k);
	xfree(e);
	arp_responder_free(r);
}

/* The unsolicited NA of --arp-announce: to all nodes, Override, with our
 * link-layer address (the same bytes as the answer to DAD). */
static void test_ndp_announce(void)
{
	struct arp_responder *r = responder();
	uint8_t out[ARP_REPLY_MAX], a[16], f[128], dad[ARP_REPLY_MAX];
	struct responder_counters c = { 0 };
	struct ns q = RESOLVE;
	uint32_t n, m;

	ip6("2001:2:0:1::5", a);
	n = ndp_build_announce(r, a, 0, out);
	q.src = "::";
	q.slla = NULL;
	m = advert(r, f, ns_frame(f, &q), dad, &c, false, 0);
	expect_bytes("unsolicited NA", out, n, dad, m);
	CHECK(out[14 + 40 + 4] == 0x20, "unsolicited NA flags 0x%02x", out[14 + 40 + 4]);
	arp_responder_free(r);
}

int main(void)
{
	test_exact_adverts();
	test_ndp_invalid();
	test_ndp_prefilter();
	test_ndp_announce();
	return unit_exit("test_ndp");
}
