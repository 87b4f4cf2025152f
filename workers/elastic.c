/*
 * The elastic pool's decision: how many workers the load needs, from what
 * each ring and worker looked like at the last look. Pure (no clock, no
 * threads, no I/O): the caller samples, this decides, the caller acts and
 * logs. Hysteresis comes from three places: growing and shrinking use
 * different thresholds (a ring half full asks for a worker; only rings
 * nearly empty and workers that together would fit in one fewer let one go),
 * a shrink needs the quiet to last `quiet_ns` without a break, and after any
 * change the pool settles for `settle_ns` first: every change remaps flows
 * between the rings, and the new split needs a moment to show.
 */
#include "workers/workers.h"

/* Pressure on one input: the kernel is dropping, or its ring or its worker
 * is past the grow threshold. */
static bool under_pressure(const struct elastic_policy *p, const struct elastic_sample *s)
{
	return s->losing || s->fill_pct >= p->grow_fill_pct || s->busy_pct >= p->grow_busy_pct;
}

/* Would the load fit in one worker fewer, with room to spare? Every ring
 * nearly empty, nothing lost, and the busy fractions together below the
 * quiet share of the workers that would stay. */
static bool quiet(const struct elastic_policy *p, const struct elastic_sample *s, unsigned n)
{
	unsigned busy = 0;

	for (unsigned i = 0; i < n; i++) {
		if (s[i].losing || s[i].fill_pct > p->quiet_fill_pct)
			return false;
		busy += s[i].busy_pct;
	}
	return busy <= p->quiet_busy_pct * (n - 1);
}

enum elastic_action elastic_decide(const struct elastic_policy *p, struct elastic_state *st,
				   const struct elastic_sample *s, unsigned n, uint64_t now_ns,
				   unsigned *why)
{
	const unsigned floor = p->min ? p->min : 1;

	*why = 0;
	if (now_ns - st->last_change_ns < p->settle_ns && st->changed) {
		st->quiet_since_ns = 0; /* quiet counts from after the settling */
		return ELASTIC_KEEP;
	}
	for (unsigned i = 0; i < n; i++) {
		if (!under_pressure(p, &s[i]))
			continue;
		st->quiet_since_ns = 0;
		if (n >= p->max)
			return ELASTIC_KEEP;
		*why = i;
		st->last_change_ns = now_ns;
		st->changed = true;
		return ELASTIC_GROW;
	}
	if (n <= floor || !quiet(p, s, n)) {
		st->quiet_since_ns = 0;
		return ELASTIC_KEEP;
	}
	if (!st->quiet_since_ns) {
		/* 0 means "not quiet": a look at time 0 starts the count at 1 ns */
		st->quiet_since_ns = now_ns ? now_ns : 1;
		return ELASTIC_KEEP;
	}
	if (now_ns - st->quiet_since_ns < p->quiet_ns)
		return ELASTIC_KEEP;
	*why = n - 1; /* the newest worker goes first */
	st->quiet_since_ns = 0;
	st->last_change_ns = now_ns;
	st->changed = true;
	return ELASTIC_SHRINK;
}

void elastic_policy_default(struct elastic_policy *p, unsigned max)
{
	*p = (struct elastic_policy){
		.min = 1,
		.max = max ? max : 1,
		.grow_fill_pct = 50,
		.grow_busy_pct = 80,
		.quiet_fill_pct = 10,
		.quiet_busy_pct = 40,
		.quiet_ns = 30ull * 1000 * 1000 * 1000,
		.settle_ns = 2ull * 1000 * 1000 * 1000,
	};
}
