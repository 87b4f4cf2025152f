/*
 * The time-order merge; see merge.h for the design. Locking: m->lock guards
 * the input queues (once per block, never per packet) and the flags; all the
 * rest (the walks, the heads, the batch, the counters) belongs to the one
 * thread that holds the run (m->running, taken under m->lock).
 *
 * Who runs the passes: a wake-up of another thread costs more on these
 * machines than the pass itself, so no thread is woken for the common case.
 * The producer that pushes a block runs the passes itself when no one else
 * does; one that finds the run taken leaves its block to the holder, which
 * looks at the pushes again before it lets go. A head held back by the clock
 * alone is let go at wake_ns by a producer already asleep in
 * merge_wait_released (it has blocks in the merge, so it waits anyway); only
 * when none waits does the merger thread keep that time. The merger thread
 * also drains at close.
 *
 * The k-way choice is a linear scan over the inputs with a head: cheaper than
 * a heap for the few inputs a capture has (one per worker, per interface).
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <time.h>

#include "merge/merge.h"
#include "util/util.h"

#define IDLE_WAIT_NS 1000000ull /* a merger held back by the clock sleeps 1 ms at least */
/* the merger thread backs a clock kept by others up this much later */
#define BACKUP_WAIT_NS 50000000ull
/* a block's ts_last_pkt this far past its head is not believed (wake at the head) */
#define LAST_TS_TRUST_NS 1000000000ull

struct merge_input {
	const struct ring *ring;
	/* queue of blocks pushed, not yet walked: under m->lock */
	struct tpacket_block_desc **q;
	uint32_t qhead, qtail;       /* free-running; count = qtail - qhead */
	uint32_t next_idx;           /* ring index of the block after the last pushed */
	uint32_t held;               /* pushed and not yet given back; under m->lock */
	bool staged;                 /* under m->lock: packets of it wait in `stage` */
	/* the run's holder's */
	struct tpacket_block_desc *cur; /* block being walked */
	struct block_iter it;
	uint32_t walked;             /* packets of cur taken so far */
	struct pkt_view head;
	uint64_t head_ts;
	bool have;                   /* head holds the input's oldest unemitted packet */
	uint64_t cur_last_ts;        /* cur's last packet (the kernel's ts_last_pkt), or 0 */
	uint32_t head_off;           /* where head's packet header is in cur */
	/* With a thread: a block's worth of memory where the rest of a block
	 * held back goes, so the ring's block goes back at once (see
	 * stage_rest); cur then points here. */
	uint8_t *stage;
	struct tpacket_block_desc **done; /* walked to the end, waiting for the batch */
	uint32_t ndone;
	struct merge_input_counters c;
	pthread_cond_t released;     /* no block and no copied packet of it left */
};

struct merge {
	struct merge_config cfg;
	struct merge_input in[MERGE_MAX_INPUTS];
	struct pkt_view *batch;
	uint32_t nbatch;
	uint64_t last_ts;            /* timestamp of the newest packet emitted */
	uint64_t wm;                 /* cached: no empty input can still bring older */
	uint64_t wake_ns;            /* held back by the clock only: may go then (realtime) */
	pthread_mutex_t lock;
	pthread_cond_t more;         /* the merger thread: closing, or the clock is its to keep */
	pthread_cond_t room;         /* blocks went back: a producer may push */
	/* Written by the run's holder only, under lock and atomically: merge_done
	 * reads them without the lock, once per block per worker. */
	int error;                   /* the sink's first error */
	bool sink_full;              /* the sink takes no more (-c reached) */
	bool closing;                /* under lock */
	bool running;                /* under lock: a thread runs the passes */
	uint64_t pushes;             /* blocks pushed so far; under lock */
	uint64_t timer_at;           /* under lock: the held-back head may go then; 0 none */
	unsigned waiters;            /* under lock: producers in merge_wait_released */
	uint64_t merger_sleep;       /* under lock: the merger thread sleeps until then
				      * (UINT64_MAX: until told); 0: awake */
	pthread_t thread;
	bool thread_up;
};

static uint64_t realtime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static struct timespec ns_to_ts(uint64_t ns)
{
	return (struct timespec){ .tv_sec = (time_t)(ns / 1000000000u),
				  .tv_nsec = (long)(ns % 1000000000u) };
}

static uint64_t pkt_ts(const struct pkt_view *p)
{
	return (uint64_t)p->sec * 1000000000ull + p->nsec;
}

/* Move input `in` to its next packet: the rest of its block, then the next
 * queued block. The merger thread. */
static void flush(struct merge *m);

static void advance(struct merge *m, struct merge_input *in)
{
	for (;;) {
		if (in->cur) {
			const uint32_t off = in->it.off;

			if (block_iter_next(&in->it, &in->head)) {
				in->head_off = off;
				in->head_ts = pkt_ts(&in->head);
				in->have = true;
				in->walked++;
				return;
			}
			/* a header that lied ended the walk: the rest is counted */
			if (in->walked < in->cur->hdr.bh1.num_pkts)
				in->c.bad_packets += in->cur->hdr.bh1.num_pkts - in->walked;
			/* Blocks wait in done[] for the batch that holds their
			 * last packets; small blocks (a few packets each) can
			 * fill it before the batch does: write the batch now. */
			if (in->ndone == m->cfg.depth + 1)
				flush(m);
			in->done[in->ndone++] = in->cur;
			in->cur = NULL;
		}
		in->have = false;
		m->wm = 0; /* an input ran dry: what it may still bring is unknown */
		pthread_mutex_lock(&m->lock);
		if (in->qhead == in->qtail) {
			pthread_mutex_unlock(&m->lock);
			return;
		}
		/* No room for the producer yet: the block stays held until
		 * the flush that gives it back (see merge_push). */
		in->cur = in->q[in->qhead++ % m->cfg.depth];
		pthread_mutex_unlock(&m->lock);
		in->c.blocks++;
		in->walked = 0;
		in->cur_last_ts = (uint64_t)in->cur->hdr.bh1.ts_last_pkt.ts_sec * 1000000000ull +
				  in->cur->hdr.bh1.ts_last_pkt.ts_nsec;
		block_iter_init(&in->it, in->cur, in->ring->block_size);
		in->it.iface = in->ring->iface_index;
	}
}

/*
 * The oldest timestamp input `in`, which had nothing queued, may still bring:
 * its ring's next block shows it (0 when a block was pushed meanwhile). Read while the kernel may be writing that
 * block, so every value is treated as a hint that can only make us wait
 * longer: a stale first packet is older than anything new (the block was
 * filled before), a zero one is zero. The clock is read first, so a packet
 * that arrives after the look has a timestamp no older than now - margin.
 */
static uint64_t input_watermark(struct merge *m, const struct merge_input *in, bool *by_clock)
{
	const uint64_t now = m->cfg.clock_ns ? m->cfg.clock_ns() : realtime_ns();
	const uint64_t floor = now > m->cfg.margin_ns ? now - m->cfg.margin_ns : 0;
	uint32_t idx;
	uint64_t ts;
	int got;

	*by_clock = false;
	pthread_mutex_lock(&m->lock);
	idx = in->next_idx;
	if (in->qhead != in->qtail) {
		/* A block came after this input ran dry: next_idx is past it
		 * already. Say "anything": the next pass takes the block. */
		pthread_mutex_unlock(&m->lock);
		return 0;
	}
	pthread_mutex_unlock(&m->lock);
	got = block_peek_first_ns(ring_block(in->ring, idx), in->ring->block_size, &ts);
	if (got == 0) {
		*by_clock = true;
		return floor;
	}
	if (got < 0)
		return 0;
	*by_clock = ts >= floor;
	return ts < floor ? ts : floor;
}

/* Give the batch to the sink, then the blocks it emptied back to the kernel. */
static void flush(struct merge *m)
{
	bool all_back, full;
	int ret = 0;

	/* after an error too: the sink counts what it no longer writes */
	if (m->nbatch && !m->sink_full) {
		ret = m->cfg.sink(m->cfg.sink_ctx, m->batch, m->nbatch);
		if (ret > 0) {
			pthread_mutex_lock(&m->lock);
			__atomic_store_n(&m->sink_full, true, __ATOMIC_RELAXED);
			pthread_mutex_unlock(&m->lock);
		}
	}
	m->nbatch = 0;
	for (unsigned i = 0; i < m->cfg.ninputs; i++) {
		struct merge_input *in = &m->in[i];
		uint32_t n = in->ndone;
		bool copy = false;

		if (!n)
			continue;
		for (uint32_t k = 0; k < in->ndone; k++) {
			if ((uint8_t *)in->done[k] == in->stage)
				copy = true; /* nothing to give back */
			else
				ring_release_block(in->done[k]);
		}
		in->ndone = 0;
		n -= copy;
		pthread_mutex_lock(&m->lock);
		in->held -= n;
		if (copy)
			in->staged = false;
		all_back = !in->held && !in->staged;
		full = in->held + n == m->cfg.depth;
		pthread_mutex_unlock(&m->lock);
		/* outside the lock: a waiter woken under it would only sleep
		 * again on the mutex (a second switch) */
		if (full)
			pthread_cond_broadcast(&m->room);
		if (all_back)
			pthread_cond_broadcast(&in->released);
	}
	if (ret < 0) {
		pthread_mutex_lock(&m->lock);
		if (!m->error)
			__atomic_store_n(&m->error, ret, __ATOMIC_RELAXED);
		pthread_mutex_unlock(&m->lock);
	}
}

unsigned merge_run_once(struct merge *m, bool final)
{
	const unsigned n = m->cfg.ninputs;
	unsigned emitted = 0;

	for (unsigned i = 0; i < n; i++)
		if (!m->in[i].have)
			advance(m, &m->in[i]);
	for (;;) {
		struct merge_input *best = NULL;

		for (unsigned i = 0; i < n; i++)
			if (m->in[i].have && (!best || m->in[i].head_ts < best->head_ts))
				best = &m->in[i];
		if (!best)
			break;
		if (!final && best->head_ts > m->wm) {
			uint64_t wm = UINT64_MAX;
			bool clock_only = true;

			for (unsigned i = 0; i < n; i++) {
				bool by_clock;
				uint64_t w;

				if (m->in[i].have)
					continue;
				w = input_watermark(m, &m->in[i], &by_clock);
				wm = w < wm ? w : wm;
				if (w < best->head_ts && !by_clock)
					clock_only = false;
			}
			m->wm = wm;
			if (best->head_ts > wm) {
				/* An empty input may still bring an older packet.
				 * If only the clock holds this one back, it may go
				 * at head + margin; else when a block comes. */
				m->wake_ns = clock_only ? best->head_ts + m->cfg.margin_ns : 0;
				/* Wait for the end of its block instead: one
				 * pass then writes the whole block and gives it
				 * back, where waking at each head took a pass
				 * (and a wake-up) per millisecond of traffic.
				 * Later is never out of order: wm is looked at
				 * again then. A stamp that makes no sense is
				 * not followed. */
				if (m->wake_ns && best->cur_last_ts > best->head_ts &&
				    best->cur_last_ts - best->head_ts < LAST_TS_TRUST_NS)
					m->wake_ns = best->cur_last_ts + m->cfg.margin_ns;
				break;
			}
		}
		emitted++;
		/* after the sink's error its packets still go to it, to be
		 * counted as not written; after -c they are walked and given
		 * back, not written */
		if (!m->sink_full) {
			if (best->head_ts < m->last_ts)
				best->c.out_of_order++;
			else
				m->last_ts = best->head_ts;
			m->batch[m->nbatch++] = best->head;
			best->c.packets++;
		}
		advance(m, best);
		if (m->nbatch == m->cfg.batch)
			flush(m);
	}
	flush(m);
	return emitted;
}

static bool heads_waiting(const struct merge *m)
{
	for (unsigned i = 0; i < m->cfg.ninputs; i++)
		if (m->in[i].have)
			return true;
	return false;
}

/*
 * The run's holder, after a pass: pass again if a block came meanwhile (true,
 * `seen` moved on); else let go of the run, leaving when the held-back head
 * may go in timer_at. The producers asleep in merge_wait_released keep that
 * time; the merger thread is woken only when none does and it sleeps without
 * a time, or to drain at close.
 */
static bool run_again(struct merge *m, uint64_t *seen)
{
	bool tell;

	pthread_mutex_lock(&m->lock);
	if (m->pushes != *seen && !m->closing) {
		*seen = m->pushes;
		pthread_mutex_unlock(&m->lock);
		return true;
	}
	m->running = false;
	m->timer_at = heads_waiting(m) && m->wake_ns ? m->wake_ns : 0;
	tell = m->closing || (m->timer_at && !m->waiters && m->merger_sleep == UINT64_MAX);
	pthread_mutex_unlock(&m->lock);
	if (tell)
		pthread_cond_signal(&m->more);
	return false;
}

/*
 * The run's holder, after a pass (the batch is in the sink, the walked blocks
 * are back): input `in`'s newest block, held back in part, is copied from its
 * head on and given back, so its producer sleeps in poll() until its ring
 * retires the next block, instead of waking once for the give-back and again
 * for that block. The copy is bytes the sink reads soon anyway; a queue behind
 * the block (the producer waits for those) is left as it is.
 */
static void stage_rest(struct merge *m, struct merge_input *in)
{
	const struct tpacket_block_desc *b = in->cur;
	struct tpacket_block_desc *s = (struct tpacket_block_desc *)in->stage;
	bool queued, full;

	if (!in->have || (uint8_t *)b == in->stage || !in->stage)
		return;
	pthread_mutex_lock(&m->lock);
	queued = in->qhead != in->qtail;
	pthread_mutex_unlock(&m->lock);
	if (queued)
		return;
	/* packets keep their offsets: next_offset stays true, and the walk's
	 * checks see the same block */
	memcpy(s, b, sizeof(*s));
	memcpy(in->stage + in->head_off, (const uint8_t *)b + in->head_off,
	       in->it.size - in->head_off);
	s->hdr.bh1.num_pkts = b->hdr.bh1.num_pkts - (in->walked - 1);
	s->hdr.bh1.offset_to_first_pkt = in->head_off;
	block_iter_init(&in->it, s, in->ring->block_size);
	in->it.iface = in->ring->iface_index;
	in->cur = s;
	in->walked = 0;
	in->have = false;
	advance(m, in); /* the head again, now in the copy */
	ring_release_block((struct tpacket_block_desc *)b);
	pthread_mutex_lock(&m->lock);
	in->held--;
	in->staged = true; /* merge_wait_released still waits: packets are left */
	full = in->held + 1 == m->cfg.depth;
	pthread_mutex_unlock(&m->lock);
	if (full)
		pthread_cond_broadcast(&m->room);
}

/* The run's holder (m->running set by it): passes until no block came since
 * the last one began. Returns the pushes the last pass saw. */
static uint64_t run_passes(struct merge *m, uint64_t seen)
{
	do {
		merge_run_once(m, false);
		for (unsigned i = 0; i < m->cfg.ninputs; i++)
			stage_rest(m, &m->in[i]);
	} while (run_again(m, &seen));
	return seen;
}

/*
 * The merger thread: lets a head held back by the clock alone go when its
 * time comes (at least IDLE_WAIT_NS after it looked), when no producer holds
 * the run then; at close, once the run is free, drains everything. Otherwise
 * asleep: an idle capture costs no CPU, and a busy one no wake-up per block.
 */
static void *merger_main(void *arg)
{
	struct merge *m = arg;
	uint64_t armed = 0, deadline = 0, ran = 0;
	sigset_t all;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL); /* signals are main's */
	pthread_mutex_lock(&m->lock);
	while (!m->closing || m->running) {
		struct timespec until;
		uint64_t seen;

		if (m->cfg.merger_runs && !m->running && m->pushes != ran)
			goto run;
		if (m->running || !m->timer_at) {
			armed = 0;
			m->merger_sleep = UINT64_MAX;
			pthread_cond_wait(&m->more, &m->lock);
			m->merger_sleep = 0;
			continue;
		}
		if (armed != m->timer_at) {
			uint64_t now = realtime_ns();
			/* it moved on while we slept: pushes keep it going */
			bool moved = armed != 0;

			/* A time kept by a waiting producer, or one that
			 * pushes keep moving on (a busy capture: every block
			 * does), is only backed up, late: each move would
			 * otherwise wake us. */
			armed = m->timer_at;
			deadline = armed > now + IDLE_WAIT_NS ? armed : now + IDLE_WAIT_NS;
			if (m->waiters || moved)
				deadline += BACKUP_WAIT_NS;
		}
		if (realtime_ns() < deadline) {
			until = ns_to_ts(deadline);
			m->merger_sleep = deadline;
			pthread_cond_timedwait(&m->more, &m->lock, &until);
			m->merger_sleep = 0;
			continue;
		}
run:
		armed = 0;
		m->running = true;
		seen = m->pushes;
		pthread_mutex_unlock(&m->lock);
		ran = run_passes(m, seen);
		pthread_mutex_lock(&m->lock);
	}
	m->running = true; /* every producer has stopped: the drain is ours */
	pthread_mutex_unlock(&m->lock);
	while (merge_run_once(m, true))
		;
	return NULL;
}

int merge_open(struct merge **out, const struct merge_config *cfg)
{
	struct merge *m;
	int ret;

	if (!cfg->ninputs || cfg->ninputs > MERGE_MAX_INPUTS || !cfg->depth || !cfg->batch ||
	    !cfg->sink)
		return -EINVAL;
	for (unsigned i = 0; i < cfg->ninputs; i++)
		if (cfg->depth >= cfg->rings[i]->block_nr)
			return -EINVAL; /* a producer could wrap onto a block still queued */
	m = xcalloc(1, sizeof(*m));
	m->cfg = *cfg;
	m->batch = xcalloc(cfg->batch, sizeof(*m->batch));
	for (unsigned i = 0; i < cfg->ninputs; i++) {
		m->in[i].ring = cfg->rings[i];
		m->in[i].q = xcalloc(cfg->depth, sizeof(*m->in[i].q));
		/* one block walked, `depth` queued: what may wait for a batch */
		m->in[i].done = xcalloc(cfg->depth + 1, sizeof(*m->in[i].done));
		m->in[i].next_idx = cfg->rings[i]->cur;
		pthread_cond_init(&m->in[i].released, NULL);
		if (!cfg->no_thread) {
			/* touched now: first touches are slow (page faults) */
			m->in[i].stage = xcalloc(1, cfg->rings[i]->block_size);
			memset(m->in[i].stage, 0, cfg->rings[i]->block_size);
		}
	}
	pthread_mutex_init(&m->lock, NULL);
	pthread_cond_init(&m->more, NULL);
	pthread_cond_init(&m->room, NULL);
	if (!cfg->no_thread) {
		ret = -pthread_create(&m->thread, NULL, merger_main, m);
		if (ret) {
			log_err("cannot start the merge thread: %s", strerror(-ret));
			merge_close(m, NULL);
			return ret;
		}
		m->thread_up = true;
	}
	*out = m;
	return 0;
}

int merge_push(struct merge *m, unsigned i, struct tpacket_block_desc *b)
{
	struct merge_input *in = &m->in[i];
	bool run = false;
	uint64_t seen = 0;
	int ret;

	/* Bound what the input holds (queued, being walked, or walked and
	 * waiting for its batch), not only what is queued: `depth` is below the
	 * ring's block_nr, so the producer's next block is never one the merge
	 * still holds. Bounding the queue alone let walked blocks pile up
	 * beside a refilled queue until the producer wrapped onto a block not
	 * yet given back, still marked TP_STATUS_USER: it took it a second
	 * time (its packets written twice) while the merger gave it back. */
	pthread_mutex_lock(&m->lock);
	while (in->held == m->cfg.depth && !m->closing)
		pthread_cond_wait(&m->room, &m->lock);
	ret = m->error;
	/* taken or not, next_idx moves on: the kernel and we agree on the order */
	in->next_idx = in->next_idx + 1 == in->ring->block_nr ? 0 : in->next_idx + 1;
	/* After the sink's error the block is still taken: its packets go to
	 * the sink, which counts them as not written; the error tells the
	 * worker to stop. */
	if (!m->closing) {
		in->q[in->qtail++ % m->cfg.depth] = b;
		in->held++;
		m->pushes++;
		b = NULL;
		/* No one runs the passes: this thread does, rather than
		 * wake one that would. */
		if (!m->cfg.no_thread && !m->cfg.merger_runs && !m->running) {
			m->running = true;
			seen = m->pushes;
			run = true;
		}
	}
	pthread_mutex_unlock(&m->lock);
	if (b) /* not taken: the merge is closing; give it back */
		ring_release_block(b);
	if (run)
		run_passes(m, seen);
	else if (m->cfg.merger_runs)
		pthread_cond_signal(&m->more);
	return ret;
}

/*
 * A producer with blocks in the merge sleeps here anyway, so it keeps the
 * clock's time too: when a head held back by the clock alone may go
 * (timer_at, at least IDLE_WAIT_NS after it looked) and no one runs the
 * passes, it runs them itself, with no thread woken for it.
 */
bool merge_wait_released(struct merge *m, unsigned i, int timeout_ms)
{
	struct merge_input *in = &m->in[i];
	const uint64_t until = realtime_ns() + (uint64_t)timeout_ms * 1000000u;
	bool none, tell;

	pthread_mutex_lock(&m->lock);
	m->waiters++;
	while ((in->held || in->staged) && !m->closing && !m->error) {
		uint64_t now = realtime_ns(), at = until;
		bool keep = false;
		struct timespec ts;

		if (!m->cfg.no_thread && m->timer_at && !m->running) {
			uint64_t t = m->timer_at > now + IDLE_WAIT_NS ? m->timer_at : now + IDLE_WAIT_NS;

			keep = t < until;
			at = keep ? t : until;
		}
		if (now >= at)
			break;
		ts = ns_to_ts(at);
		if (pthread_cond_timedwait(&in->released, &m->lock, &ts) != ETIMEDOUT)
			continue;
		if (!keep)
			break;
		if (m->running || !m->timer_at || (!in->held && !in->staged))
			continue;
		m->running = true;
		now = m->pushes;
		pthread_mutex_unlock(&m->lock);
		run_passes(m, now);
		pthread_mutex_lock(&m->lock);
	}
	m->waiters--;
	/* the last one that kept the time goes: the merger thread keeps it */
	tell = !m->waiters && m->timer_at && m->merger_sleep == UINT64_MAX;
	none = !in->held && !in->staged;
	pthread_mutex_unlock(&m->lock);
	if (tell)
		pthread_cond_signal(&m->more);
	return none;
}

void merge_resume(struct merge *m, unsigned i, uint32_t next)
{
	pthread_mutex_lock(&m->lock);
	m->in[i].next_idx = next;
	pthread_mutex_unlock(&m->lock);
}

bool merge_done(struct merge *m)
{
	return __atomic_load_n(&m->sink_full, __ATOMIC_RELAXED) ||
	       __atomic_load_n(&m->error, __ATOMIC_RELAXED);
}

int merge_close(struct merge *m, struct merge_input_counters *c)
{
	int ret;

	pthread_mutex_lock(&m->lock);
	m->closing = true;
	pthread_cond_broadcast(&m->more);
	pthread_cond_broadcast(&m->room);
	for (unsigned i = 0; i < m->cfg.ninputs; i++)
		pthread_cond_broadcast(&m->in[i].released);
	pthread_mutex_unlock(&m->lock);
	if (m->thread_up)
		pthread_join(m->thread, NULL);
	else
		merge_run_once(m, true);
	for (unsigned i = 0; i < m->cfg.ninputs; i++) {
		if (c)
			c[i] = m->in[i].c;
		xfree(m->in[i].q);
		xfree(m->in[i].done);
		pthread_cond_destroy(&m->in[i].released);
		xfree(m->in[i].stage);
	}
	ret = m->error;
	pthread_mutex_destroy(&m->lock);
	pthread_cond_destroy(&m->more);
	pthread_cond_destroy(&m->room);
	xfree(m->batch);
	xfree(m);
	return ret;
}
