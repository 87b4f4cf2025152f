/*
 * tools/frame — the headers and clocks the frame generators share (frame.h).
 */
#include <linux/if_ether.h>
#include <net/if_arp.h>
#include <netinet/in.h>
#include <string.h>
#include <time.h>

#include "tools/frame.h"

uint16_t put_eth(uint8_t *p, const uint8_t dst[6], const uint8_t src[6], uint16_t type, int vid)
{
	memcpy(p, dst, 6);
	memcpy(p + 6, src, 6);
	if (vid < 0) {
		put16(p + 12, type);
		return 14;
	}
	put16(p + 12, ETH_P_8021Q);
	put16(p + 14, (uint16_t)vid);	/* PCP 0, DEI 0 */
	put16(p + 16, type);
	return 18;
}

void put_ipv4(uint8_t *p, uint8_t proto, uint16_t tot_len, uint16_t frag, uint32_t src,
	      uint32_t dst)
{
	p[0] = 0x45;
	p[1] = 0;
	put16(p + 2, tot_len);
	put16(p + 4, 0);		/* id 0 is fine with DF set (RFC 6864) */
	put16(p + 6, frag);
	p[8] = 64;
	p[9] = proto;
	put16(p + 10, 0);		/* checksum: the caller's */
	put32(p + 12, src);
	put32(p + 16, dst);
}

void put_ipv6_addr(uint8_t *p, uint32_t v4)
{
	memset(p, 0, 16);
	put16(p, 0x2001);
	put16(p + 2, 0x0002);
	put32(p + 12, v4);
}

void put_ipv6(uint8_t *p, uint8_t next, uint16_t pay_len, uint32_t src, uint32_t dst)
{
	put32(p, 0x60000000);
	put16(p + 4, pay_len);
	p[6] = next;
	p[7] = 64;
	put_ipv6_addr(p + 8, src);
	put_ipv6_addr(p + 24, dst);
}

void put_udp(uint8_t *p, uint16_t sport, uint16_t dport, uint16_t len)
{
	put16(p, sport);
	put16(p + 2, dport);
	put16(p + 4, len);
	put16(p + 6, 0);
}

void put_arp(uint8_t *p, uint16_t op, const uint8_t sha[6], uint32_t spa, uint32_t tpa)
{
	put16(p, ARPHRD_ETHER);
	put16(p + 2, ETH_P_IP);
	p[4] = 6;
	p[5] = 4;
	put16(p + 6, op);
	memcpy(p + 8, sha, 6);
	put32(p + 14, spa);
	memset(p + 18, 0, 6);
	put32(p + 24, tpa);
}

uint64_t realtime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * NSEC + (uint64_t)ts.tv_nsec;
}

void sleep_until(uint64_t t)
{
	struct timespec ts = { .tv_sec = (time_t)(t / NSEC), .tv_nsec = (long)(t % NSEC) };

	clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
}

uint64_t pace_batch(uint64_t rate, uint64_t max)
{
	uint64_t n = rate / (NSEC / PACE_SLICE_NS);

	return n < 1 ? 1 : n > max ? max : n;
}

uint64_t pace_due_ns(uint64_t t0, uint64_t k, uint64_t rate)
{
	return t0 + (uint64_t)((unsigned __int128)k * NSEC / rate);
}

uint64_t pace_due_count(uint64_t t0, uint64_t now, uint64_t rate)
{
	return (uint64_t)((unsigned __int128)(now - t0) * rate / NSEC) + 1;
}
