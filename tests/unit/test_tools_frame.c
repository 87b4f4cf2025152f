/*
 * tools/frame and ringcap-gen's templates: the bytes the generators send may
 * not change from one version to the next (tests elsewhere compare captures
 * with what the generator says it sent). The golden values were taken from
 * the generator's own --write-pcap before its frame code moved to tools/:
 * frame 0 (UDP/IPv4) and frame 9 (ARP) byte for byte, and an FNV-1a hash over
 * all 300 frames of `--mix --sizes 60,100,1514 --flows 5`, which walks every
 * protocol, size, flow and payload phase. Also the header builders and the
 * checksum against hand-made bytes, and the pacing arithmetic. No privileges.
 */
#include <net/if_arp.h>
#include <netinet/in.h>
#include <string.h>

#include "tools/frame.h"
#include "tools/gen.h"
#include "unit.h"
#include "util/util.h"

static const uint8_t gen_mac[6] = { 0x02, 0x52, 0x43, 0x47, 0x00, 0x01 };

static void hex(const char *s, uint8_t *out, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned v;

		sscanf(s + 2 * i, "%2x", &v);
		out[i] = (uint8_t)v;
	}
}

static void test_headers(void)
{
	static const char arp_hex[] =
		"ffffffffffff02524347000108060001080006040001025243470001c6120001"
		"000000000000c6120002000000000000000000000000000000000000";
	static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	/* the IPv4 header of a frequently quoted checksum example: 0xb861 */
	static const uint8_t ip_ex[20] = { 0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40,
					   0x11, 0x00, 0x00, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8,
					   0x00, 0xc7 };
	uint8_t f[64] = { 0 }, want[64];

	CHECK_EQ(put_eth(f, bcast, gen_mac, 0x0806, -1), 14);
	put_arp(f + 14, ARPOP_REQUEST, gen_mac, 0xc6120001, 0xc6120002);
	hex(arp_hex, want, ARP_PADDED_LEN);
	CHECK(memcmp(f, want, ARP_PADDED_LEN) == 0, "ARP request differs from the generator's");

	memset(f, 0, sizeof(f));
	CHECK_EQ(put_eth(f, bcast, gen_mac, 0x0800, 100), 18);
	CHECK(memcmp(f + 12, "\x81\x00\x00\x64\x08\x00", 6) == 0, "802.1Q tag");

	CHECK_EQ(ipv4_csum(ip_ex), 0xb861);
	memset(f, 0, sizeof(f));
	put_ipv4(f, IPPROTO_UDP, 0x73, 0x4000, 0xc0a80001, 0xc0a800c7);
	CHECK(memcmp(f, ip_ex, 20) == 0, "put_ipv4 differs from the example header");
	put16(f + 10, ipv4_csum(f));
	CHECK_EQ(ipv4_csum(f), 0);	/* an intact header sums to 0 */

	put_udp(f, 40000, 9, 478);
	CHECK(memcmp(f, "\x9c\x40\x00\x09\x01\xde\x00\x00", 8) == 0, "UDP header");
	put_ipv6(f, IPPROTO_UDP, 8, 0xc6120001, 0xc6120002);
	CHECK(memcmp(f, "\x60\x00\x00\x00\x00\x08\x11\x40\x20\x01\x00\x02", 12) == 0, "IPv6 header");
	CHECK(memcmp(f + 20, "\xc6\x12\x00\x01", 4) == 0 && memcmp(f + 36, "\xc6\x12\x00\x02", 4) == 0,
	      "IPv6 addresses carry the IPv4 ones in their low 32 bits");

	/* an odd last byte counts high */
	CHECK_EQ(csum_add(0, (const uint8_t *)"\x01\x02\x03", 3), 0x0402);
	CHECK_EQ(get32((const uint8_t *)"\xc6\x12\x00\x02"), 0xc6120002);
	put64(f, 0x0102030405060708ull);
	CHECK(memcmp(f, "\x01\x02\x03\x04\x05\x06\x07\x08", 8) == 0, "put64");
}

static void test_pacing(void)
{
	CHECK_EQ(pace_batch(0, 32), 1);
	CHECK_EQ(pace_batch(100000, 32), 2);		/* 20 us of 100k/s */
	CHECK_EQ(pace_batch(812744, 32), 16);
	CHECK_EQ(pace_batch(100000000, 32), 32);
	CHECK_EQ(pace_due_ns(1000, 0, 3), 1000);
	CHECK_EQ(pace_due_ns(1000, 2, 3), 1000 + 666666666);	/* rounds down, from t0 */
	CHECK_EQ(pace_due_ns(0, 812744ull * 3600, 812744), 3600 * NSEC);
	CHECK_EQ(pace_due_count(1000, 1000, 50), 1);	/* frame 0 is due at t0 */
	CHECK_EQ(pace_due_count(0, NSEC - 1, 50), 50);
	CHECK_EQ(pace_due_count(0, NSEC, 50), 51);
}

/* ringcap-gen's frames 0..n-1, in the order its sender builds them. */
static void test_gen_frames(void)
{
	static uint8_t pattern[FRAME_MAX + PHASES];
	static const char udp0_hex[] =
		"ffffffffffff02524347000108004500002e000040004011ae97c6120001c6120002"
		"04000009001a18805243473100000000000000005af79431ce6b";
	static uint8_t f[FRAME_MAX];
	struct opts o;
	struct tmpl *t;
	uint8_t *lows, want[60];
	unsigned nprotos, size_i = 0, proto_i = 0;
	uint64_t h = 0xcbf29ce484222325ull;

	memset(&o, 0, sizeof(o));
	o.sizes[0] = 60, o.sizes[1] = 100, o.sizes[2] = 1514;
	o.nsizes = 3;
	o.mix = true;
	o.flows = 5;
	memset(o.dst_mac, 0xff, 6);
	memcpy(o.src_mac, gen_mac, 6);
	o.src_ip = 0xc6120001;
	o.dst_ip = 0xc6120002;
	o.dst_port = 9;

	pattern_fill(pattern, sizeof(pattern));
	nprotos = tmpl_nprotos(&o);
	CHECK_EQ(nprotos, 6);
	t = tmpls_build(&o, nprotos, pattern);
	lows = flow_lows(&o);
	for (uint64_t k = 0; k < 300; k++) {
		const struct tmpl *tp = &t[proto_i * o.nsizes + size_i];
		struct frame_vars v = { .seq = k, .flow = (uint32_t)(k % o.flows),
					.src_low = lows[k % o.flows], .arp_tpa = o.dst_ip };

		frame_fill(f, tp, pattern, &v);
		if (k == 0) {
			hex(udp0_hex, want, sizeof(want));
			CHECK_EQ(tp->len, 60);
			CHECK(memcmp(f, want, 60) == 0, "frame 0 differs from the generator's");
		}
		for (unsigned i = 0; i < tp->len; i++) {
			h ^= f[i];
			h *= 0x100000001b3ull;
		}
		if (++size_i == o.nsizes) {
			size_i = 0;
			proto_i = (proto_i + 1) % nprotos;
		}
	}
	CHECK_EQ(h, 0x58cceb945151da87ull);
	xfree(lows);
	xfree(t);
}

int main(void)
{
	test_headers();
	test_pacing();
	test_gen_frames();
	return unit_exit("test_tools_frame");
}
