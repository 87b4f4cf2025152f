/*
 * The capture's elastic pool (--workers elastic, the default): which fanout
 * mode its sockets join with, the pool opened over the workers, main's tick
 * that lets it grow and shrink, and the one line logged per change. The
 * mechanism is the pool's (workers/workers.h); this file only wires it to one
 * interface's workers, the merge and the writer.
 *
 * Tests drive the decision without real load through the environment, read
 * once at set-up: RINGCAP_TEST_WORKER_SLEEP_US (after each block every worker
 * sleeps this long per packet in it: a worker that cannot keep up with a
 * stream, and idle on a trickle, whatever the blocks look like) and
 * RINGCAP_TEST_ELASTIC_MS="QUIET,SETTLE" (the pool's quiet and settle times).
 */
#include <stdio.h>
#include <stdlib.h>

#include "capture/capture_impl.h"
#include "util/util.h"

bool capture_is_elastic(const struct capture_config *o)
{
	/* rollover fills one socket, then the next: no program says that.
	 * Several interfaces keep a fixed pool each, all through the merge
	 * (one elastic pool per interface is not built yet). */
	return !o->workers_fixed && o->threads > 1 && o->nifaces == 1 &&
	       (o->fanout_mode & 0xff) != PACKET_FANOUT_ROLLOVER;
}

uint16_t capture_fanout_mode(const struct capture_config *o)
{
	/* the type is the program's; the flags (defrag) stay the user's */
	if (capture_is_elastic(o))
		return PACKET_FANOUT_CBPF | (o->fanout_mode & 0xff00);
	return o->fanout_mode;
}

static enum fanout_steer steer_of(uint16_t mode)
{
	switch (mode & 0xff) {
	case PACKET_FANOUT_LB:
		return FANOUT_STEER_LB;
	case PACKET_FANOUT_CPU:
		return FANOUT_STEER_CPU;
	case PACKET_FANOUT_QM:
		return FANOUT_STEER_QM;
	default:
		return FANOUT_STEER_HASH;
	}
}

uint32_t capture_test_sleep_us(void)
{
	const char *v = getenv("RINGCAP_TEST_WORKER_SLEEP_US");
	uint64_t us;

	return v && !parse_u64(v, 0, 1000000, &us) ? (uint32_t)us : 0;
}

/* RINGCAP_TEST_ELASTIC_MS="QUIET,SETTLE": a test's shorter spells. */
static void test_policy(struct elastic_policy *p)
{
	const char *v = getenv("RINGCAP_TEST_ELASTIC_MS");
	unsigned long long quiet, settle;

	if (v && sscanf(v, "%llu,%llu", &quiet, &settle) == 2) {
		p->quiet_ns = quiet * 1000000ull;
		p->settle_ns = settle * 1000000ull;
	}
}

int capture_open_pool(struct capture *cap)
{
	const struct capture_config *o = &cap->cfg;
	struct worker_pool_config pc = {
		.workers = cap->workers,
		.n = o->threads,
		.steer = steer_of(o->fanout_mode),
		/* with a file, one active worker appends itself */
		.direct = cap->pcap != NULL,
	};
	int ret;

	elastic_policy_default(&pc.policy, o->threads);
	test_policy(&pc.policy);
	ret = worker_pool_init(&cap->pool, &pc);
	if (!ret)
		cap->elastic = true;
	return ret;
}

enum capture_timer_ret capture_tick_workers(void *ctx, uint64_t now)
{
	struct capture *cap = ctx;
	struct worker_pool_change c;

	if (!cap->elastic || !cap->running)
		return CAPTURE_TIMER_NEXT;
	if (worker_pool_tick(&cap->pool, now, &c))
		log_notice("workers: %u → %u (%s)", c.from, c.to, c.why);
	/* a change waiting for a worker's answer is finished soon, not a
	 * whole period later */
	return worker_pool_changing(&cap->pool) ? CAPTURE_TIMER_AGAIN : CAPTURE_TIMER_NEXT;
}

void capture_workers_counts(const struct capture *cap, uint64_t *active, uint64_t *added,
			    uint64_t *retired)
{
	*active = cap->elastic ? cap->pool.active : cap->nworkers;
	*added = cap->elastic ? cap->pool.adds : 0;
	*retired = cap->elastic ? cap->pool.retires : 0;
}
