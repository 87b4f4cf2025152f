/* The block loop. Poll only while the current block still belongs to the
 * kernel; otherwise take it, run the handlers, give it back, move on. */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "workers/workers.h"

#define POLL_MS 50
/* Every V3 packet takes at least its 48-byte tpacket3_hdr, so a block holds
 * fewer than block_size / 32 of them: the packet array never runs short. */
#define MIN_PKT_STRIDE 32

int worker_init(struct worker *w, const struct worker_config *cfg)
{
	memset(w, 0, sizeof(*w));
	w->ring.fd = -1;
	if (cfg->block_size < 4096)
		return -EINVAL;
	w->id = cfg->id;
	w->cpu = cfg->cpu;
	w->ctl = cfg->ctl;
	w->block_size = cfg->block_size;
	w->test_sleep_us = cfg->test_sleep_us;
	w->pkts_cap = cfg->block_size / MIN_PKT_STRIDE;
	w->pkts = xcalloc(w->pkts_cap, sizeof(*w->pkts));
	return 0;
}

int worker_add_handler(struct worker *w, const struct handler_ops *ops, void *ctx)
{
	if (w->nhandlers == WORKER_MAX_HANDLERS)
		return -ENOSPC;
	if (ops->take_block && w->taker)
		return -EBUSY;
	w->handlers[w->nhandlers] = (struct handler){ ops, ctx };
	if (ops->take_block)
		w->taker = &w->handlers[w->nhandlers];
	if (ops->on_block)
		w->walk = true;
	w->nhandlers++;
	return 0;
}

void worker_set_direct_handler(struct worker *w, const struct handler_ops *ops, void *ctx)
{
	w->direct = (struct handler){ ops, ctx };
}

void worker_fini(struct worker *w)
{
	ring_close(&w->ring);
	xfree(w->pkts);
	w->pkts = NULL;
	w->pkts_cap = 0;
	w->nhandlers = 0;
	w->taker = NULL;
	w->walk = false;
}

void workers_request_stop(struct workers_ctl *ctl)
{
	if (!atomic_exchange(&ctl->stop, true))
		pthread_kill(ctl->main_thread, WORKERS_WAKE_SIGNAL);
}

/* An elastic pool's only worker appending itself: its direct handler runs,
 * the taker does not. The worker's own mode, so a plain load. */
static bool appends_itself(const struct worker *w)
{
	return w->direct.ops && w->mode == WORKER_DIRECT;
}

static bool handlers_done(const struct worker *w)
{
	for (unsigned i = 0; i < w->nhandlers; i++)
		if (w->handlers[i].ops->done && w->handlers[i].ops->done(w->handlers[i].ctx))
			return true;
	return appends_itself(w) && w->direct.ops->done && w->direct.ops->done(w->direct.ctx);
}

/* Walk one block into w->pkts; a lying header ends the walk and is counted. */
static unsigned walk_block(struct worker *w, const struct tpacket_block_desc *b)
{
	struct block_iter it;
	unsigned n = 0;

	block_iter_init(&it, b, w->block_size);
	it.iface = w->ring.iface_index;
	while (n < w->pkts_cap && block_iter_next(&it, &w->pkts[n])) {
		/* Handlers read the bytes next: have the first two lines of
		 * each packet on their way while the walk goes on. */
		__builtin_prefetch(w->pkts[n].data);
		__builtin_prefetch(w->pkts[n].data + 63);
		n++;
	}
	if (it.lied || n < b->hdr.bh1.num_pkts) {
		worker_count(&w->c.bad_blocks, 1);
		worker_count(&w->c.bad_packets, b->hdr.bh1.num_pkts - n);
	}
	return n;
}

static void run_idle(struct worker *w)
{
	for (unsigned i = 0; i < w->nhandlers; i++)
		if (w->handlers[i].ops->idle)
			w->handlers[i].ops->idle(w->handlers[i].ctx);
}

static int run_handlers(struct worker *w, unsigned n)
{
	for (unsigned i = 0; i < w->nhandlers; i++) {
		int ret;

		if (!w->handlers[i].ops->on_block)
			continue;
		ret = w->handlers[i].ops->on_block(w->handlers[i].ctx, w->pkts, n);
		if (ret)
			return ret;
	}
	return 0;
}

int worker_process_block(struct worker *w, const struct tpacket_block_desc *b)
{
	const bool direct = appends_itself(w);
	unsigned n;
	int ret;

	worker_count(&w->c.blocks, 1);
	if (!w->walk && !direct) {
		/* Only the taker wants this block, and it walks it itself. */
		worker_count(&w->c.packets, b->hdr.bh1.num_pkts);
		return 0;
	}
	n = walk_block(w, b);
	worker_count(&w->c.packets, n);
	ret = run_handlers(w, n);
	if (!ret && direct)
		ret = w->direct.ops->on_block(w->direct.ctx, w->pkts, n);
	return ret;
}

/* Does the elastic pool want something of this worker: a change of mode, or
 * sleep while parked? One relaxed load per block. */
static bool pool_calls(const struct worker *w)
{
	unsigned want;

	if (!w->pool)
		return false;
	want = __atomic_load_n(&w->want, __ATOMIC_RELAXED);
	if (w->mode == WORKER_DRAINING) /* until its ring is empty: below */
		return want != WORKER_PARKED;
	return w->mode == WORKER_PARKED || want != w->mode;
}

void worker_run(struct worker *w)
{
	uint64_t deadline = 0;

	for (;;) {
		struct tpacket_block_desc *b;
		bool stop = atomic_load_explicit(&w->ctl->stop, memory_order_relaxed);
		uint32_t npkts;
		int ret;

		if (!stop && pool_calls(w)) {
			if (worker_pool_serve(w))
				break;
			continue;
		}
		b = ring_take(&w->ring);
		if (stop) {
			/* Drain: main has let no new packet in (ring_stop_receiving),
			 * so take blocks until the ring is empty, the block the
			 * kernel was filling included (it retires after its
			 * timeout); but no longer than drain_ms: what is left then
			 * is counted by main (ring_pending), not lost silently. A
			 * parked worker's ring is empty: it ends at once. */
			if (!deadline)
				deadline = now_ns() + (uint64_t)w->ctl->drain_ms * 1000000;
			else if (now_ns() > deadline)
				break;
			if (w->pool && w->mode == WORKER_PARKED)
				break;
			if (!b && ring_pending(&w->ring) == 0)
				break;
		}
		if (!b) {
			uint64_t t0;

			/* A retiring worker whose ring is empty: nothing more
			 * comes (the pool's program sends it nothing). */
			if (!stop && w->mode == WORKER_DRAINING && w->pool &&
			    ring_pending(&w->ring) == 0) {
				if (worker_pool_drained(w))
					break;
				continue;
			}
			t0 = now_ns();
			ret = ring_wait(&w->ring, POLL_MS);
			if (ret) {
				/* The capture cannot go on without this socket's
				 * share of the traffic: say so and end it. */
				w->error = ret;
				workers_request_stop(w->ctl);
				break;
			}
			if (!ring_take(&w->ring)) {
				run_idle(w);
				/* poll() says POLLIN while the block the kernel
				 * retired last is not back in its hands: with a
				 * taker holding blocks, poll would return at once,
				 * again and again. Wait for the taker instead. */
				if (w->taker && w->taker->ops->wait_given_back && !appends_itself(w))
					w->taker->ops->wait_given_back(w->taker->ctx, POLL_MS);
			}
			worker_count(&w->c.wait_ns, now_ns() - t0);
			/* With the merge, the records that reach -c are appended
			 * on the merger's thread after this worker pushed their
			 * block: when no block follows, the check after the push
			 * came too early, and only this one sees it. */
			if (handlers_done(w)) {
				workers_request_stop(w->ctl);
				break;
			}
			continue;
		}
		npkts = b->hdr.bh1.num_pkts; /* before the block is given away */
		ret = worker_process_block(w, b);
		if (w->taker && !ret && !appends_itself(w)) {
			ret = w->taker->ops->take_block(w->taker->ctx, b);
			ring_advance(&w->ring);
		} else {
			ring_give_back(&w->ring, b);
		}
		if (ret) {
			w->error = ret;
			workers_request_stop(w->ctl);
			break;
		}
		if (handlers_done(w)) {
			workers_request_stop(w->ctl);
			break;
		}
		if (w->test_sleep_us) /* tests: as slow as this per packet */
			usleep(w->test_sleep_us * npkts);
	}
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	sigset_t all;

	/* Signals belong to main's sigwait loop. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	if (w->cpu >= 0 && pin_to_cpu(w->cpu))
		log_warn("worker %u: cannot pin to CPU %d", w->id, w->cpu);
	if (alloc_thread_arena())
		log_warn("worker %u: no allocator arena of its own", w->id);
	worker_run(w);
	run_idle(w);
	return NULL;
}

int worker_start(struct worker *w)
{
	int ret = pthread_create(&w->thread, NULL, worker_main, w);

	if (ret)
		return -ret;
	w->started = true;
	return 0;
}

void worker_join(struct worker *w)
{
	if (w->started)
		pthread_join(w->thread, NULL);
	w->started = false;
}
