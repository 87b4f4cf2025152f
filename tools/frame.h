/*
 * tools/frame — what the frame generators (tools/ringcap-gen, bench/arp-flood)
 * share: big-endian byte access, the RFC 1071 checksum, the headers they build
 * (Ethernet with an optional 802.1Q tag, IPv4, IPv6 in 2001:2::/48, UDP, ARP),
 * the realtime clock, an absolute sleep, and the pacing arithmetic.
 *
 * The product's own frame code (responder/frame.h) is private to responder/;
 * these are the test side's. Every frame built here must stay byte-identical
 * from one version to the next: tests compare what was sent byte for byte.
 *
 * Threading: any thread; nothing here keeps state. Only sleep_until blocks.
 * Ownership: every put_* writes into the caller's buffer, which must have room
 * for the whole header; nothing is allocated.
 */
#ifndef RINGCAP_TOOLS_FRAME_H
#define RINGCAP_TOOLS_FRAME_H

#include <stddef.h>
#include <stdint.h>

#define NSEC		1000000000ull
#define ETH_HDR_LEN	14
#define ARP_PADDED_LEN	60	/* 42 bytes of ARP + zero padding, as Linux sends it */

/* ------------------------------------------------------ bytes (hot path) */

static inline void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

static inline void put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)(v >> 32));
	put32(p + 4, (uint32_t)v);
}

static inline uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* RFC 1071 sum of big-endian 16-bit words, folded to 16 bits; an odd last
 * byte counts as a high byte, so only the final piece of a sum may be odd. */
static inline uint32_t csum_add(uint32_t sum, const uint8_t *p, size_t len)
{
	uint64_t s = sum;

	for (; len >= 2; p += 2, len -= 2)
		s += (uint32_t)p[0] << 8 | p[1];
	if (len)
		s += (uint32_t)p[0] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint32_t)s;
}

static inline uint16_t csum_finish(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* The checksum of a 20-byte IPv4 header whose checksum field is 0 (or, when
 * it is filled in, 0 for an intact header). */
static inline uint16_t ipv4_csum(const uint8_t *hdr)
{
	return csum_finish(csum_add(0, hdr, 20));
}

/* ---------------------------------------------------------------- headers */

/* Ethernet dst, src and `type`; with vid >= 0 an 802.1Q tag (PCP 0, DEI 0)
 * before the type. Returns the header's length: 14, or 18 with the tag. */
uint16_t put_eth(uint8_t *p, const uint8_t dst[6], const uint8_t src[6], uint16_t type, int vid);

/* A 20-byte IPv4 header: TTL 64, id 0, `frag` the flags and fragment offset
 * (0x4000: DF), the checksum field left 0 for the caller. */
void put_ipv4(uint8_t *p, uint8_t proto, uint16_t tot_len, uint16_t frag, uint32_t src,
	      uint32_t dst);

/* 2001:2::/48 is IPv6's benchmarking prefix (RFC 5180), the counterpart of
 * 198.18.0.0/15: the IPv4 address goes in the low 32 bits. */
void put_ipv6_addr(uint8_t *p, uint32_t v4);

/* A 40-byte IPv6 header, hop limit 64, addresses from put_ipv6_addr. */
void put_ipv6(uint8_t *p, uint8_t next, uint16_t pay_len, uint32_t src, uint32_t dst);

/* An 8-byte UDP header with checksum 0 (none, over IPv4). */
void put_udp(uint8_t *p, uint16_t sport, uint16_t dport, uint16_t len);

/* 28 bytes of ARP for IPv4 over Ethernet: `op` (ARPOP_REQUEST, ARPOP_REPLY),
 * sender sha/spa, target hardware address zero, target address tpa. */
void put_arp(uint8_t *p, uint16_t op, const uint8_t sha[6], uint32_t spa, uint32_t tpa);

/* ------------------------------------------------------- clocks and pacing */

/* CLOCK_REALTIME in ns: pcap timestamps, and the send times compared with the
 * kernel's receive timestamps. */
uint64_t realtime_ns(void);

/* Sleeps until CLOCK_MONOTONIC reaches `t` ns (util's now_ns() clock); EINTR
 * ends it early, so the caller's loop can look at its signal flag. */
void sleep_until(uint64_t t);

/* Frames per paced batch: about PACE_SLICE_NS of frames at `rate`, 1..max. */
#define PACE_SLICE_NS	20000
uint64_t pace_batch(uint64_t rate, uint64_t max);

/* When frame k is due at `rate` frames/s: t0 + k/rate, from t0 every time so
 * rounding never accumulates. */
uint64_t pace_due_ns(uint64_t t0, uint64_t k, uint64_t rate);

/* How many frames are due by `now` (frames 0..n-1), at `rate` from t0. */
uint64_t pace_due_count(uint64_t t0, uint64_t now, uint64_t rate);

#endif
