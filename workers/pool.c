/*
 * The elastic pool: how many of a fanout group's workers receive, changed
 * while the capture runs. workers.h says what each step guarantees; here is
 * how. Main looks and steers (ring_fanout_steer) and writes each worker's
 * `want`; each worker moves its own `mode` to it between two blocks and says
 * so with a release store, which main reads with an acquire load. A change
 * that needs a worker's answer first (1 -> 2 from direct mode, 2 -> 1 into
 * it) is finished at a later tick: `step` says which, and no other change
 * begins meanwhile.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "workers/workers.h"

#define WAIT_MS 50 /* a worker waiting for the merge looks at ctl->stop this often */

enum pool_step {
	STEP_NONE,
	STEP_GROW_FROM_DIRECT, /* worker 0 asked for WORKER_MERGED: then wake worker 1 */
	STEP_SHRINK_TO_DIRECT, /* worker 1 retiring: once parked, worker 0 goes direct */
};

static unsigned mode_of(const struct worker *w)
{
	return __atomic_load_n(&w->mode, __ATOMIC_ACQUIRE);
}

static void set_mode(struct worker *w, unsigned mode)
{
	__atomic_store_n(&w->mode, mode, __ATOMIC_RELEASE);
}

/* Main: ask worker k for `mode`, waking it if it sleeps parked. */
static void ask(struct worker_pool *p, unsigned k, unsigned mode)
{
	pthread_mutex_lock(&p->lock);
	__atomic_store_n(&p->cfg.workers[k].want, mode, __ATOMIC_RELEASE);
	pthread_cond_broadcast(&p->wake);
	pthread_mutex_unlock(&p->lock);
}

static int steer(struct worker_pool *p, unsigned active)
{
	int ret = ring_fanout_steer(&p->cfg.workers[0].ring, p->cfg.steer, active);

	if (ret)
		log_err("workers: cannot steer the fanout group to %u sockets (PACKET_FANOUT_DATA): "
			"%s", active, strerror(-ret));
	return ret;
}

int worker_pool_init(struct worker_pool *p, const struct worker_pool_config *cfg)
{
	memset(p, 0, sizeof(*p));
	p->cfg = *cfg;
	p->active = 1;
	p->look = xcalloc(cfg->n, sizeof(*p->look));
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->wake, NULL);
	for (unsigned i = 0; i < cfg->n; i++) {
		struct worker *w = &cfg->workers[i];
		unsigned mode = i ? WORKER_PARKED : cfg->direct ? WORKER_DIRECT : WORKER_MERGED;

		w->pool = p;
		w->mode = w->want = mode;
	}
	return steer(p, 1);
}

void worker_pool_fini(struct worker_pool *p)
{
	if (!p->look)
		return;
	pthread_mutex_destroy(&p->lock);
	pthread_cond_destroy(&p->wake);
	xfree(p->look);
	p->look = NULL;
}

void worker_pool_stop(struct worker_pool *p)
{
	pthread_mutex_lock(&p->lock);
	pthread_cond_broadcast(&p->wake);
	pthread_mutex_unlock(&p->lock);
}

/* ---- main's side ---- */

/* One look at the active workers: how full each ring is, how busy each
 * worker was since the last look, whether its ring dropped. */
static void look(struct worker_pool *p, uint64_t now, struct elastic_sample *s)
{
	const uint64_t dt = now > p->t_look ? now - p->t_look : 0;

	for (unsigned i = 0; i < p->cfg.n; i++) {
		const struct worker *w = &p->cfg.workers[i];
		struct worker_pool_look *l = &p->look[i];
		uint64_t wait = worker_counter(&w->c.wait_ns), waited = wait - l->wait_ns;

		if (i < p->active) {
			s[i].fill_pct = w->ring.block_nr ?
				ring_user_blocks(&w->ring) * 100 / w->ring.block_nr : 0;
			s[i].busy_pct = !dt || !p->t_look ? 0 :
				waited >= dt ? 0 : (unsigned)((dt - waited) * 100 / dt);
			s[i].losing = w->ring.stats.drops > l->drops;
		}
		l->wait_ns = wait;
		l->drops = w->ring.stats.drops;
	}
	p->t_look = now;
}

static void say_why(struct worker_pool_change *c, const struct elastic_policy *pol,
		    const struct elastic_sample *s, unsigned k)
{
	if (s[k].losing)
		snprintf(c->why, sizeof(c->why), "ring %u dropping", k);
	else if (s[k].fill_pct >= pol->grow_fill_pct)
		snprintf(c->why, sizeof(c->why), "ring %u %u%% full", k, s[k].fill_pct);
	else
		snprintf(c->why, sizeof(c->why), "worker %u %u%% busy", k, s[k].busy_pct);
}

/* Worker k (parked) receives from now on: woken in merged mode first, so
 * it hands over whatever its ring gets as soon as the program sends to it. */
static void add_worker(struct worker_pool *p, unsigned k)
{
	ask(p, k, WORKER_MERGED);
	if (steer(p, k + 1) == 0)
		p->active = k + 1;
}

/* Finish a change that waited for a worker's answer. True while it waits. */
static bool finish_step(struct worker_pool *p)
{
	switch (p->step) {
	case STEP_GROW_FROM_DIRECT:
		/* worker 0's last append happened before this (its release) */
		if (mode_of(&p->cfg.workers[0]) != WORKER_MERGED)
			return true;
		add_worker(p, 1);
		break;
	case STEP_SHRINK_TO_DIRECT:
		/* worker 1 holds nothing in the merge any more */
		if (mode_of(&p->cfg.workers[1]) != WORKER_PARKED)
			return true;
		ask(p, 0, WORKER_DIRECT);
		break;
	}
	p->step = STEP_NONE;
	return false;
}

/* No worker is between two modes: worker 0 is in the mode last asked of it,
 * and every retired worker has drained and parked. Only then may a change
 * begin (a worker on its way to direct mode is never asked back halfway). */
static bool settled(const struct worker_pool *p)
{
	const struct worker *w0 = &p->cfg.workers[0];

	if (mode_of(w0) != __atomic_load_n(&w0->want, __ATOMIC_RELAXED))
		return false;
	for (unsigned i = p->active; i < p->cfg.n; i++)
		if (mode_of(&p->cfg.workers[i]) != WORKER_PARKED)
			return false;
	return true;
}

bool worker_pool_tick(struct worker_pool *p, uint64_t now, struct worker_pool_change *c)
{
	struct elastic_sample s[WORKER_POOL_MAX];
	unsigned why;

	if (p->step != STEP_NONE && finish_step(p))
		return false;
	look(p, now, s);
	if (!settled(p))
		return false;
	switch (elastic_decide(&p->cfg.policy, &p->st, s, p->active, now, &why)) {
	case ELASTIC_KEEP:
		return false;
	case ELASTIC_GROW:
		c->from = p->active;
		c->to = p->active + 1;
		say_why(c, &p->cfg.policy, s, why);
		p->adds++;
		if (p->active == 1 && p->cfg.direct) {
			ask(p, 0, WORKER_MERGED);
			p->step = STEP_GROW_FROM_DIRECT;
			finish_step(p); /* worker 0 may have answered already */
		} else {
			add_worker(p, p->active);
		}
		return true;
	case ELASTIC_SHRINK:
		c->from = p->active;
		c->to = p->active - 1;
		snprintf(c->why, sizeof(c->why), "quiet for %.1f s",
			 (double)p->cfg.policy.quiet_ns / 1e9);
		/* Narrow the program first: once it returns, ring `to` gets
		 * nothing more, and its worker may drain it to the end. */
		if (steer(p, c->to))
			return false;
		p->active = c->to;
		p->retires++;
		ask(p, c->to, WORKER_PARKED);
		if (c->to == 1 && p->cfg.direct)
			p->step = STEP_SHRINK_TO_DIRECT;
		return true;
	}
	return false;
}

bool worker_pool_changing(const struct worker_pool *p)
{
	return p->step != STEP_NONE;
}

/* ---- the worker's side ---- */

/* Wait until the taker (the merge) holds none of this worker's blocks.
 * False when the capture stopped meanwhile. */
static bool wait_merge_empty(struct worker *w)
{
	const struct handler *t = w->taker;

	while (!t->ops->wait_given_back(t->ctx, WAIT_MS))
		if (atomic_load_explicit(&w->ctl->stop, memory_order_relaxed))
			return false;
	return true;
}

/* Parked: sleep until the pool wants the worker again, or the end. */
static bool park(struct worker *w)
{
	struct worker_pool *p = w->pool;
	bool end;

	pthread_mutex_lock(&p->lock);
	set_mode(w, WORKER_PARKED);
	while (__atomic_load_n(&w->want, __ATOMIC_ACQUIRE) == WORKER_PARKED &&
	       !atomic_load(&w->ctl->stop))
		pthread_cond_wait(&p->wake, &p->lock);
	end = atomic_load(&w->ctl->stop);
	pthread_mutex_unlock(&p->lock);
	return end;
}

bool worker_pool_drained(struct worker *w)
{
	if (w->taker && !wait_merge_empty(w))
		return false; /* the end: the stop drain takes over */
	return park(w);
}

bool worker_pool_serve(struct worker *w)
{
	unsigned want = __atomic_load_n(&w->want, __ATOMIC_ACQUIRE);

	if (want == w->mode)
		return w->mode == WORKER_PARKED ? park(w) : false;
	switch (want) {
	case WORKER_MERGED:
		/* From direct mode: the merge's look at this ring starts at
		 * the block the worker takes next. Its appends so far happen
		 * before the merger's first (the push goes through the lock). */
		if (w->mode == WORKER_DIRECT && w->taker->ops->resume)
			w->taker->ops->resume(w->taker->ctx, w->ring.cur);
		set_mode(w, WORKER_MERGED);
		break;
	case WORKER_DIRECT:
		/* The merger appends no more once it holds nothing (the other
		 * workers are parked): then this worker may. */
		if (w->taker && !wait_merge_empty(w))
			break; /* the end: drain through the merge */
		set_mode(w, WORKER_DIRECT);
		break;
	case WORKER_PARKED:
		set_mode(w, WORKER_DRAINING);
		break;
	}
	return false;
}
