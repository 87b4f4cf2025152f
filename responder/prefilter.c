/*
 * The responder's kernel prefilter, as a tcpdump expression compiled by
 * libpcap (ring/filter.c): ARP requests for an IPv4 pool and Neighbor
 * Solicitations for an IPv6 pool, untagged or behind one tag in the frame.
 * It only keeps the socket from waking for frames nobody answers: user space
 * checks everything again (arp.c, ndp.c).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "responder/responder.h"
#include "responder/frame.h"

/*
 * Each pool is an exact range test, written with plain comparisons of
 * 32-bit words: equality for the words every address of the pool shares,
 * then unsigned >=, >, <=, < on the words where the bounds part. Never a
 * mask, and never a comparison that is always true or always false
 * (`>= 0`, `<= 0xffffffff`, `> 0xffffffff`, `< 0`): libpcap 1.10.3's
 * optimizer compiles `EXPR & 0xffffffff = 0` into a test that never
 * matches, so pools whose shared words were zero (a /120, one address)
 * were never answered. tests/unit/test_responder_prefilter.c runs every generated
 * program against a reference matcher.
 */

/* A bounded string being built: text past the end is dropped (the caller
 * sizes the buffer for the worst case). */
struct text {
	char *p, *end;
};

static void put(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(struct text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(t->p, (size_t)(t->end - t->p), fmt, ap);
	va_end(ap);
	if (n > 0)
		t->p = n < t->end - t->p ? t->p + n : t->end - 1;
}

/* ip6[48 + 4 * i:4]: word i of a Neighbor Solicitation's target. */
static uint32_t word(const uint8_t a[16], unsigned i)
{
	return get32(a + 4 * i);
}

static bool words_are(const uint8_t a[16], unsigned from, uint32_t v)
{
	for (unsigned i = from; i < 4; i++)
		if (word(a, i) != v)
			return false;
	return true;
}

/* target[from..] >= lo[from..] compared word by word as a number; false
 * (nothing written) when that always holds. */
static bool put_at_least(struct text *t, const uint8_t lo[16], unsigned i)
{
	uint32_t v = word(lo, i);

	if (words_are(lo, i, 0))
		return false;
	if (words_are(lo, i + 1, 0)) {
		put(t, "ip6[%u:4] >= 0x%08x", 48 + 4 * i, v); /* v > 0 here */
		return true;
	}
	if (v == UINT32_MAX)
		put(t, "(ip6[%u:4] = 0x%08x and ", 48 + 4 * i, v);
	else
		put(t, "(ip6[%u:4] > 0x%08x or (ip6[%u:4] = 0x%08x and ", 48 + 4 * i, v, 48 + 4 * i, v);
	put_at_least(t, lo, i + 1); /* its tail is not all zero: it writes */
	put(t, v == UINT32_MAX ? ")" : "))");
	return true;
}

/* target[from..] <= hi[from..]; false (nothing written) when that always holds. */
static bool put_at_most(struct text *t, const uint8_t hi[16], unsigned i)
{
	uint32_t v = word(hi, i);

	if (words_are(hi, i, UINT32_MAX))
		return false;
	if (words_are(hi, i + 1, UINT32_MAX)) {
		put(t, "ip6[%u:4] <= 0x%08x", 48 + 4 * i, v); /* v < max here */
		return true;
	}
	if (v == 0)
		put(t, "(ip6[%u:4] = 0x00000000 and ", 48 + 4 * i);
	else
		put(t, "(ip6[%u:4] < 0x%08x or (ip6[%u:4] = 0x%08x and ", 48 + 4 * i, v, 48 + 4 * i, v);
	put_at_most(t, hi, i + 1);
	put(t, v == 0 ? ")" : "))");
	return true;
}

/* One NDP pool's test on the target; false (nothing written) for a pool
 * that holds every address. */
static bool put_ndp_pool(struct text *t, const struct ndp_pool_range *q)
{
	const char *and = "";
	unsigned i = 0;

	for (; i < 4 && word(q->first, i) == word(q->last, i); i++, and = " and ")
		put(t, "%sip6[%u:4] = 0x%08x", and, 48 + 4 * i, word(q->first, i));
	if (i == 4)
		return true;
	if (!words_are(q->first, i, 0)) {
		put(t, "%s", and);
		put_at_least(t, q->first, i);
		and = " and ";
	}
	if (!words_are(q->last, i, UINT32_MAX)) {
		put(t, "%s", and);
		put_at_most(t, q->last, i);
		and = " and ";
	}
	return *and != '\0';
}

/* One ARP pool's test on the target protocol address (arp[24:4]); false for
 * 0.0.0.0-255.255.255.255. */
static bool put_arp_pool(struct text *t, const struct arp_pool_range *q)
{
	if (q->first == q->last) {
		put(t, "arp[24:4] = 0x%08x", q->first);
		return true;
	}
	if (q->first && q->last < UINT32_MAX)
		put(t, "arp[24:4] >= 0x%08x and arp[24:4] <= 0x%08x", q->first, q->last);
	else if (q->first)
		put(t, "arp[24:4] >= 0x%08x", q->first);
	else if (q->last < UINT32_MAX)
		put(t, "arp[24:4] <= 0x%08x", q->last);
	else
		return false;
	return true;
}

/* " and (POOL or POOL ...)" for n pools, nothing when one pool holds every
 * address (then the header tests alone decide). */
static void put_pools(struct text *t, const void *r, unsigned n,
		      bool (*one)(struct text *, const void *, unsigned))
{
	char *start = t->p;

	put(t, " and (");
	for (unsigned i = 0; i < n; i++) {
		put(t, "%s(", i ? " or " : "");
		if (!one(t, r, i)) {
			*start = '\0';
			t->p = start;
			return;
		}
		put(t, ")");
	}
	put(t, ")");
}

static bool one_arp(struct text *t, const void *r, unsigned i)
{
	return put_arp_pool(t, arp_pool_at(r, i));
}

static bool one_ndp(struct text *t, const void *r, unsigned i)
{
	return put_ndp_pool(t, &((const struct arp_responder *)r)->ndp[i]);
}

char *neighbour_prefilter(const struct arp_responder *r)
{
	/* "arp[..]" offsets count from the ARP header, "ip6[..]" from the IPv6
	 * header; comparisons are unsigned. */
	static const char arp_head[] = "(arp and arp[0:2] = 1 and arp[2:2] = 0x0800 and "
				       "arp[4] = 6 and arp[5] = 4 and arp[6:2] = 1";
	static const char ndp_head[] = "(ip6 and ip6[6] = 58 and ip6[7] = 255 and ip6[40] = 135 "
				       "and ip6[41] = 0";
	size_t len = sizeof(arp_head) + sizeof(ndp_head) + (r->npools + r->nvpools) * 64 +
		     r->nndp * 640 + 64;
	char *cond = xcalloc(1, len), *s = xcalloc(1, 2 * len + 32);
	struct text t = { cond, cond + len };

	if (r->npools + r->nvpools) {
		put(&t, "%s", arp_head);
		put_pools(&t, r, r->npools + r->nvpools, one_arp);
		put(&t, ")");
	}
	if (r->nndp) {
		put(&t, "%s%s", t.p != cond ? " or " : "", ndp_head);
		put_pools(&t, r, r->nndp, one_ndp);
		put(&t, ")");
	}
	/* Untagged (or the tag already taken off by the kernel), or behind
	 * one tag in the frame: `vlan` moves every later offset by 4. */
	snprintf(s, 2 * len + 32, "(%s) or (vlan and (%s))", cond, cond);
	xfree(cond);
	return s;
}
