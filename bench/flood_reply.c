/*
 * arp-flood's reply side: each ARP reply matched to the request it answers
 * (how, and what counts as wrong, is written at the top of arp-flood.c), and
 * the report of what came back.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/flood.h"

/* ------------------------------------------------------------ replies */

static const uint8_t BCAST[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

static bool mac_eq(const uint8_t *a, const uint8_t *b)
{
	return memcmp(a, b, 6) == 0;
}

void await(struct slot *s, uint64_t t)
{
	if (s->n == OUTSTANDING) {
		memmove(s->t, s->t + 1, sizeof(s->t[0]) * (OUTSTANDING - 1));
		s->n--;
	}
	s->t[s->n++] = t;
}

static void match(struct flood *fl, struct slot *s, uint64_t ts)
{
	uint64_t lat;
	unsigned i;

	if (!s->n) {
		fl->c.dup_replies++;
		return;
	}
	/* The newest request sent before the reply came; the oldest if the
	 * clocks disagree (never seen: both are CLOCK_REALTIME). */
	for (i = s->n; i > 0 && s->t[i - 1] > ts; i--)
		;
	i = i ? i - 1 : 0;
	if (s->n > 1)
		fl->c.ambiguous++;
	lat = ts > s->t[i] ? ts - s->t[i] : 0;
	memmove(s->t + i, s->t + i + 1, sizeof(s->t[0]) * (s->n - i - 1));
	s->n--;
	fl->c.answered_in++;
	if (fl->nlat < fl->lat_cap)
		fl->lat_ns[fl->nlat++] = lat > UINT32_MAX ? UINT32_MAX : (uint32_t)lat;
}

static void on_reply(struct flood *fl, const uint8_t *f, uint32_t caplen, uint64_t ts)
{
	const struct opts *o = &fl->o;
	const uint8_t *a = f + 14;
	uint32_t spa, tpa;

	if (caplen < 42 || get16(f + 12) != 0x0806 || get16(a) != 1 || get16(a + 2) != 0x0800 ||
	    a[4] != 6 || a[5] != 4 || get16(a + 6) != 2)
		return;
	spa = get32(a + 14);
	tpa = get32(a + 24);
	/* Only replies to us: for our address (or 0.0.0.0: a probe's), to our
	 * MAC or to the broadcast address (farpd's way: Linux takes those in, as
	 * STALE; iputils arping ignores them). */
	if (!(mac_eq(f, o->src_mac) || mac_eq(f, BCAST)) ||
	    !(mac_eq(a + 18, o->src_mac) || mac_eq(a + 18, BCAST)) ||
	    (tpa != o->src_ip && tpa != 0)) {
		fl->c.other_arp++;
		return;
	}
	fl->c.replies++;
	if (mac_eq(f, BCAST) || mac_eq(a + 18, BCAST))
		fl->c.bcast_replies++;
	if (ts > fl->t_last_reply)
		fl->t_last_reply = ts;
	if (o->expect_mac_set && (!mac_eq(f + 6, o->expect_mac) || !mac_eq(a + 8, o->expect_mac))) {
		fl->c.wrong_mac++;
		return;
	}
	if (spa < o->in.first || spa > o->in.last) {
		if (o->out_set && spa >= o->out.first && spa <= o->out.last)
			fl->c.wrong_out_of_pool++;
		else
			fl->c.wrong_other++;
		return;
	}
	if (tpa == 0) {
		fl->c.probe_replies++;
		return;
	}
	match(fl, &fl->slots[spa - o->in.first], ts);
}

/* Everything the RX ring holds now; never waits. */
void drain_rx(struct flood *fl)
{
	struct tpacket_block_desc *b;

	while ((b = ring_take(&fl->rx))) {
		struct block_iter it;
		struct pkt_view p;

		block_iter_init(&it, b, fl->rx.block_size);
		while (block_iter_next(&it, &p))
			on_reply(fl, p.data, p.caplen, (uint64_t)p.sec * NSEC + p.nsec);
		ring_give_back(&fl->rx, b);
	}
}

/* ------------------------------------------------------------ report */

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static double pct_us(const uint32_t *v, uint64_t n, double q)
{
	uint64_t i;

	if (!n)
		return -1;
	i = (uint64_t)(q * (double)(n - 1) + 0.5);
	return v[i] / 1000.0;
}

void report(struct flood *fl, double send_s)
{
	const struct counts *c = &fl->c;
	uint64_t wrong = c->wrong_out_of_pool + c->wrong_mac + c->wrong_other;
	double span = fl->t_last_reply > fl->t_first_send
			      ? (double)(fl->t_last_reply - fl->t_first_send) / 1e9 : 0;
	double p50, p99, max;

	qsort(fl->lat_ns, fl->nlat, sizeof(*fl->lat_ns), cmp_u32);
	p50 = pct_us(fl->lat_ns, fl->nlat, 0.50);
	p99 = pct_us(fl->lat_ns, fl->nlat, 0.99);
	max = pct_us(fl->lat_ns, fl->nlat, 1.0);
	printf("{\"sent\":%llu,\"offered_in\":%llu,\"offered_out\":%llu,\"specials\":%llu,"
	       "\"probes\":%llu,\"bulk\":%llu,\"send_seconds\":%.6f,\"send_pps\":%.0f,"
	       "\"replies\":%llu,\"broadcast_replies\":%llu,\"answered_in\":%llu,\"ambiguous\":%llu,"
	       "\"dup_replies\":%llu,\"probe_replies\":%llu,"
	       "\"wrong\":%llu,\"wrong_out_of_pool\":%llu,\"wrong_mac\":%llu,\"wrong_other\":%llu,"
	       "\"other_arp\":%llu,\"lat_us_p50\":%.1f,\"lat_us_p99\":%.1f,\"lat_us_max\":%.1f,"
	       "\"replies_per_s\":%.0f,\"rx_drops\":%llu,\"complete\":%s}\n",
	       (unsigned long long)c->sent, (unsigned long long)c->offered_in,
	       (unsigned long long)c->offered_out, (unsigned long long)c->specials,
	       (unsigned long long)c->probes_sent, (unsigned long long)c->bulk, send_s,
	       send_s > 0 ? (double)c->sent / send_s : 0, (unsigned long long)c->replies,
	       (unsigned long long)c->bcast_replies, (unsigned long long)c->answered_in,
	       (unsigned long long)c->ambiguous, (unsigned long long)c->dup_replies,
	       (unsigned long long)c->probe_replies, (unsigned long long)wrong,
	       (unsigned long long)c->wrong_out_of_pool, (unsigned long long)c->wrong_mac,
	       (unsigned long long)c->wrong_other, (unsigned long long)c->other_arp, p50, p99, max,
	       span > 0 ? (double)c->replies / span : 0, (unsigned long long)c->rx_drops,
	       c->sent == fl->o.count ? "true" : "false");
	fflush(stdout);
	if (!fl->o.quiet)
		fprintf(stderr,
			"arp-flood: sent %llu frames in %.3f s (%llu in-pool, %llu out-of-pool, "
			"%llu specials, %llu bulk); %llu replies: %llu in-pool answered, %llu wrong; "
			"latency p50 %.1f us, p99 %.1f us, max %.1f us\n",
			(unsigned long long)c->sent, send_s, (unsigned long long)c->offered_in,
			(unsigned long long)c->offered_out, (unsigned long long)c->specials,
			(unsigned long long)c->bulk, (unsigned long long)c->replies,
			(unsigned long long)c->answered_in, (unsigned long long)wrong, p50, p99, max);
}
