/*
 * The responder's kernel prefilter, as a tcpdump expression compiled by
 * libpcap (ring/filter.c): ARP requests for an IPv4 pool and Neighbor
 * Solicitations for an IPv6 pool, untagged or behind one tag in the frame.
 * It only keeps the socket from waking for frames nobody answers: user space
 * checks everything again (arp.c, ndp.c).
 */
#include <stdlib.h>
#include <string.h>

#include "responder/responder.h"
#include "responder/frame.h"

/* Append with bounds; the buffer is sized for the worst case by the caller. */
static char *cat(char *p, const char *end, const char *s)
{
	size_t n = strlen(s);

	if (p + n >= end)
		return p;
	memcpy(p, s, n + 1);
	return p + n;
}

/* The prefix bits the addresses of [first, last] share, as ip6[OFF:4] tests. */
static void ndp_prefix_terms(const struct ndp_pool_range *q, char *out, size_t outlen)
{
	unsigned bits = 0;
	char *p = out, *end = out + outlen;

	while (bits < 128 && ((q->first[bits / 8] ^ q->last[bits / 8]) & (0x80 >> (bits % 8))) == 0)
		bits++;
	p = cat(p, end, "ip6[40] = 135");
	for (unsigned w = 0; w < 4 && bits > w * 32; w++) {
		unsigned take = bits - w * 32 >= 32 ? 32 : bits - w * 32;
		uint32_t mask = take == 32 ? UINT32_MAX : ~(UINT32_MAX >> take);
		char t[80];

		snprintf(t, sizeof(t), " and ip6[%u:4] & 0x%08x = 0x%08x", 48 + 4 * w, mask,
			 get32(q->first + 4 * w) & mask);
		p = cat(p, end, t);
	}
}

char *neighbour_prefilter(const struct arp_responder *r)
{
	/* "arp[..]" offsets count from the ARP header; compare as unsigned. */
	static const char arp_head[] = "(arp and arp[0:2] = 1 and arp[2:2] = 0x0800 and "
				       "arp[4] = 6 and arp[5] = 4 and arp[6:2] = 1 and (";
	static const char ndp_head[] = "(ip6 and ip6[6] = 58 and ip6[7] = 255 and ip6[41] = 0 and (";
	size_t len = 2 * (sizeof(arp_head) + sizeof(ndp_head) +
			  (r->npools + r->nvpools) * 64 + r->nndp * 200) + 64;
	char *cond = xcalloc(1, len), *s = xcalloc(1, 2 * len + 32);
	char *p = cond, *end = cond + len;
	unsigned k = 0;

	if (r->npools + r->nvpools) {
		p = cat(p, end, arp_head);
		for (unsigned i = 0; i < r->npools + r->nvpools; i++) {
			const struct arp_pool_range *q =
				arp_pool_at(r, i);
			char t[80];

			snprintf(t, sizeof(t), "%s(arp[24:4] >= 0x%08x and arp[24:4] <= 0x%08x)",
				 k++ ? " or " : "", q->first, q->last);
			p = cat(p, end, t);
		}
		p = cat(p, end, "))");
	}
	if (r->nndp) {
		if (p != cond)
			p = cat(p, end, " or ");
		p = cat(p, end, ndp_head);
		for (unsigned i = 0; i < r->nndp; i++) {
			char t[200];

			ndp_prefix_terms(&r->ndp[i], t, sizeof(t));
			p = cat(p, end, i ? " or (" : "(");
			p = cat(p, end, t);
			p = cat(p, end, ")");
		}
		p = cat(p, end, "))");
	}
	/* Untagged (or the tag already taken off by the kernel), or behind
	 * one tag in the frame: `vlan` moves every later offset by 4. */
	snprintf(s, 2 * len + 32, "(%s) or (vlan and (%s))", cond, cond);
	xfree(cond);
	return s;
}
