/*
 * workers — one thread per capture socket. A worker owns its ring: it takes
 * retired TPACKET_V3 blocks in ring order, walks each block once into an array
 * of packet views, runs every handler on that array, and gives the block back.
 * Handlers (pcap writing, feeding the time-order merge) see whole blocks, so
 * their syscalls and locks are per block, never per packet. (ARP and NDP are
 * answered apart, by the responder's own socket and thread: responder/.)
 */
#ifndef RINGCAP_WORKERS_H
#define RINGCAP_WORKERS_H

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "ring/ring.h"
#include "util/util.h"

#define WORKER_MAX_HANDLERS 4

/* What a worker runs on each block. on_block is called from the worker's thread
 * only, with the packets still in the ring (valid until it returns). Return 0,
 * or -errno to stop the capture (the error is reported by main). */
struct handler_ops {
	const char *name;
	int (*on_block)(void *ctx, const struct pkt_view *pkts, unsigned n);
	/* Optional: true when this handler wants the capture to end (-c reached). */
	bool (*done)(void *ctx);
	/* Optional: called when no block came for a while, and once at the end,
	 * to finish work left over from earlier blocks (unsent replies). */
	void (*idle)(void *ctx);
	/* Optional, for a handler that keeps the block itself (the time-order
	 * merge): called last, after every on_block; the block is then the
	 * handler's, given back with ring_release_block in ring order. At most
	 * one per worker. 0 or -errno (stop the capture). */
	int (*take_block)(void *ctx, struct tpacket_block_desc *b);
	/* With take_block: wait at most timeout_ms until the handler has given
	 * back every block it took (poll() on the ring says POLLIN until then).
	 * True once it holds none. */
	bool (*wait_given_back)(void *ctx, int timeout_ms);
	/* Optional, with take_block: the worker gave blocks back itself for a
	 * while (the elastic pool's direct mode) and hands them over again from
	 * ring block `next` on. Called while the handler holds no block. */
	void (*resume)(void *ctx, uint32_t next);
};

struct handler {
	const struct handler_ops *ops;
	void *ctx;
};

/* Written by the worker only, read by main for totals (while it runs, too,
 * for the interval reports): one cache line each, each field changed with
 * worker_count() and read with worker_counter(), relaxed. */
struct worker_counters {
	uint64_t blocks;
	uint64_t packets;      /* packets walked in those blocks */
	uint64_t bad_blocks;   /* blocks whose packet headers lied about lengths */
	uint64_t bad_packets;  /* packets skipped in those blocks */
	uint64_t wait_ns;      /* time spent waiting for a block (the elastic pool's busy look) */
} __attribute__((aligned(CACHELINE)));

/* How a worker wakes main when it ends the capture (-c reached, an error):
 * a real-time signal, so SIGUSR1 stays the user's ("print the counters"). */
#define WORKERS_WAKE_SIGNAL (SIGRTMIN)

/* One writer, so a relaxed load and store: no lock, no read-modify-write. */
static inline void worker_count(uint64_t *c, uint64_t n)
{
	__atomic_store_n(c, __atomic_load_n(c, __ATOMIC_RELAXED) + n, __ATOMIC_RELAXED);
}

static inline uint64_t worker_counter(const uint64_t *c)
{
	return __atomic_load_n(c, __ATOMIC_RELAXED);
}

/* Shared by main and all workers. */
struct workers_ctl {
	atomic_bool stop;       /* set by main on a signal, or by a worker */
	pthread_t main_thread;  /* gets WORKERS_WAKE_SIGNAL when a worker ends the capture */
	uint32_t drain_ms;      /* after stop, empty the ring for at most this long */
};

struct worker_config {
	unsigned id;
	int cpu;                /* -1: not pinned */
	struct workers_ctl *ctl;
	uint32_t block_size;    /* the ring's block size: bounds the walk */
	uint32_t test_sleep_us; /* tests: after each block, sleep this long per packet in it
				 * (a slow worker) */
};

/* A worker of an elastic pool is in one of these states (a fixed pool's
 * workers are always receiving, and have none). */
enum worker_mode {
	WORKER_PARKED,   /* idle: its socket receives nothing, its thread sleeps */
	WORKER_DIRECT,   /* receiving, the pool's only active worker: appends itself */
	WORKER_MERGED,   /* receiving: hands its blocks to the merge */
	WORKER_DRAINING, /* retiring: receives nothing more; empties its ring into the
			  * merge, waits until the merge has given every block back,
			  * then parks */
};

struct worker_pool;

/* Built with worker_init, handlers added with worker_add_handler, the ring
 * opened by the caller into w->ring (the worker owns it from then on and
 * worker_fini closes it). Fields are the worker thread's while it runs; main
 * reads the counters and `error` after worker_join. */
struct worker {
	unsigned id;
	int cpu;
	struct ring ring;
	uint32_t block_size;
	struct handler handlers[WORKER_MAX_HANDLERS];
	unsigned nhandlers;
	const struct handler *taker; /* the handler that keeps blocks, if any */
	bool walk;                   /* some handler wants the packets walked */
	struct workers_ctl *ctl;
	struct pkt_view *pkts;  /* one block's packets; pkts_cap of them */
	unsigned pkts_cap;
	pthread_t thread;
	bool started;
	int error;              /* -errno from a handler or the ring, read after join */
	uint32_t test_sleep_us;
	/* The elastic pool's (pool.c); NULL for a fixed pool. `mode` is the
	 * worker's (an enum worker_mode: it stores, release; main loads,
	 * acquire), `want` the pool's request (main stores, release). */
	struct worker_pool *pool;
	struct handler direct;  /* runs instead of the taker in WORKER_DIRECT */
	unsigned mode;
	unsigned want;
	struct worker_counters c;
};

/* Set-up, main thread. 0 or -EINVAL (a block size too small for a packet). */
int worker_init(struct worker *w, const struct worker_config *cfg);
/* Add a handler; they run in the order added (a take_block handler last).
 * 0, -ENOSPC past WORKER_MAX_HANDLERS, -EBUSY for a second take_block one. */
int worker_add_handler(struct worker *w, const struct handler_ops *ops, void *ctx);
/* The handler an elastic pool's first worker runs instead of handing its
 * blocks to the taker while it is the only one receiving (WORKER_DIRECT): the
 * pcap handler, so one worker appends without the merge. Set-up. */
void worker_set_direct_handler(struct worker *w, const struct handler_ops *ops, void *ctx);
/* After worker_join (or instead of starting): frees the packet array and
 * closes the ring. Safe on a zeroed or half-built worker, and twice. */
void worker_fini(struct worker *w);

/* Ask every worker and main to stop (any thread). */
void workers_request_stop(struct workers_ctl *ctl);

/* The block loop, callable directly (tests) or as a thread via worker_start. */
void worker_run(struct worker *w);
/* One block, the worker's thread only: walk it into w->pkts, run every handler,
 * count it. The block stays the caller's to give back. 0 or a handler's -errno.
 * Exposed for bench/ringcap-replay, which feeds blocks from memory. */
int worker_process_block(struct worker *w, const struct tpacket_block_desc *b);
int worker_start(struct worker *w);
void worker_join(struct worker *w);

/* The pcap handler: writes every packet the kernel delivered; without a
 * writer (several interfaces, no -w) it only counts them. */
struct writer;
struct pcap_handler {
	struct writer *writer;     /* NULL: count only */
	uint64_t written;          /* records handed over (counted) so far */
	uint64_t max;              /* count only: take at most this many (-c); 0: all */
	/* The records of each interface (pkt_view.iface < niface), counted per
	 * run of packets of one interface; NULL: not counted. Written by the
	 * appending thread only, read relaxed (worker_counter) by main. */
	uint64_t *iface_written;
	unsigned niface;
};
extern const struct handler_ops pcap_handler_ops;

/* Set-up: a handler for worker `w` appending to `wr` (shared, not owned),
 * added to `w`; 0 or -ENOSPC. pcap_handler_init_sink: one called only
 * through pcap_handler_write (the merge's sink); `wr` NULL: one that counts.
 * The caller may set max, iface_written and niface afterwards. */
int pcap_handler_init(struct pcap_handler *h, struct worker *w, struct writer *wr);
void pcap_handler_init_sink(struct pcap_handler *h, struct writer *wr);
/* Append n packets; 0, 1 once the writer is full (-c), or -errno.
 * A merge_sink_fn. */
int pcap_handler_write(void *ctx, const struct pkt_view *pkts, unsigned n);

/* The time-order merge as a worker's handler: hands each block to input `in`
 * of the merge (merge/merge.h) instead of giving it back. */
struct merge;
struct merge_handler {
	struct merge *m;
	unsigned in;
};
extern const struct handler_ops merge_handler_ops;

/*
 * The elastic pool (elastic.c): start with one worker, add one while a ring
 * fills or a worker is busy, retire the newest after a quiet spell. A pure
 * decision, callable from any thread; the caller samples, acts and logs.
 */
struct elastic_policy {
	unsigned min, max;          /* workers: never fewer (>= 1), never more (-T) */
	unsigned grow_fill_pct;     /* a ring this full (user-owned blocks / block_nr) */
	unsigned grow_busy_pct;     /* or a worker this busy (time not waiting) asks for one more */
	unsigned quiet_fill_pct;    /* quiet: every ring at most this full, nothing lost, */
	unsigned quiet_busy_pct;    /* and the busy fractions summed at most this per worker that stays */
	uint64_t quiet_ns;          /* quiet this long without a break: the newest worker retires */
	uint64_t settle_ns;         /* after a change, no other for this long (flows remap) */
};

/* One look at an active worker and its ring. */
struct elastic_sample {
	unsigned fill_pct;          /* blocks the user holds, of block_nr, 0..100 */
	unsigned busy_pct;          /* of the time since the last look, not waiting for blocks */
	bool losing;                /* drops since the last look (or TP_STATUS_LOSING) */
};

/* The decision's memory between looks; zero it to start. */
struct elastic_state {
	uint64_t last_change_ns;
	uint64_t quiet_since_ns;    /* 0: not quiet */
	bool changed;               /* a change happened: settle_ns applies */
};

enum elastic_action { ELASTIC_KEEP, ELASTIC_GROW, ELASTIC_SHRINK };

/* The defaults: grow at a ring half full, a worker 80% busy or any loss;
 * retire after 30 s with every ring under 10% and the load under 40% of the
 * workers that would stay; 2 s between changes. `max` is -T. */
void elastic_policy_default(struct elastic_policy *p, unsigned max);
/* Given samples s[0..n) of the n active workers at now_ns (any monotonic
 * clock), what to do: GROW (one more; *why = the worker that asked), SHRINK
 * (retire the newest, *why = its index n-1) or KEEP. Updates `st`. Never
 * grows past p->max, never shrinks below p->min (or 1). */
enum elastic_action elastic_decide(const struct elastic_policy *p, struct elastic_state *st,
				   const struct elastic_sample *s, unsigned n, uint64_t now_ns,
				   unsigned *why);

/*
 * The elastic pool (pool.c): the workers of one fanout group, every socket
 * and ring open from the start, of which the first `active` receive: the
 * group's program (ring/ring.h, fanout_prog_build) sends to members
 * 0..active-1 alone. It starts with one; main's tick looks at the active
 * workers (ring fill, busy fraction, kernel drops), asks elastic_decide, and
 * adds the next worker or retires the newest, never below one nor past n.
 *
 * Adding worker k: it is woken in WORKER_MERGED, then the program widens to
 * k+1. Retiring worker k: the program narrows first (when ring_fanout_steer
 * returns, ring k gets nothing more), then the worker drains its ring into
 * the merge, waits until the merge has written and given back all of it, and
 * parks: no packet is left behind, and a parked input holds the merge back
 * no longer than a quiet one (its ring's next block is empty: the merge's
 * clock rule).
 *
 * One active worker (cfg.direct): it appends to the writer itself, as a
 * fixed pool of one does, and the merger sleeps. The writer has one
 * appender at a time, and each change of hands goes through the merge's
 * lock: 1 -> 2, worker 0 switches to WORKER_MERGED between two blocks (its
 * last append before its first merge_push, which the merger takes under the
 * lock) and only after main has seen that does worker 1 wake and ring 1
 * receive. 2 -> 1, worker 1 parks once the merge holds none of its blocks;
 * only then is worker 0 asked for WORKER_DIRECT, and it appends again once
 * the merge has given back every block it pushed (merge_wait_released, under
 * the lock): every earlier append by the merger happened before.
 *
 * Threads: worker_pool_init, _tick, _stop and _fini are main's;
 * worker_pool_serve is a worker's own (called from worker_run), and blocks:
 * parked, until woken; switching to WORKER_DIRECT, until the merge has given
 * its blocks back. The pool does not own the workers.
 */
#define WORKER_POOL_MAX 64

struct worker_pool_config {
	struct worker *workers;     /* the group's, in the order their sockets joined; not owned */
	unsigned n;                 /* how many: the ceiling (-T) */
	enum fanout_steer steer;    /* how the program spreads packets over the active ones */
	struct elastic_policy policy;
	bool direct;                /* one active worker appends itself (workers[0] has a
				     * direct handler); false: the merge always */
};

/* What main last saw of a worker, for the next look's differences. */
struct worker_pool_look {
	uint64_t wait_ns;
	uint64_t drops;
};

struct worker_pool {
	struct worker_pool_config cfg;
	struct elastic_state st;
	unsigned active;            /* sockets the program sends to; main's */
	unsigned step;              /* a change under way (pool.c); main's */
	uint64_t adds, retires;     /* main's, for the reports */
	struct worker_pool_look *look;
	uint64_t t_look;
	pthread_mutex_t lock;       /* parked workers sleep on `wake` */
	pthread_cond_t wake;
};

/* One change, as main logs it: "workers: FROM → TO (WHY)". */
struct worker_pool_change {
	unsigned from, to;
	char why[64];
};

/* Set-up, main, before the workers start: worker 0 receiving (direct or
 * merged), the others parked, the program to one member. 0 or -errno from
 * PACKET_FANOUT_DATA (logged). */
int worker_pool_init(struct worker_pool *p, const struct worker_pool_config *cfg);
/* Main's tick (after the rings' statistics were read): finish a change under
 * way, or look, decide and begin one. True when a change began (*c says
 * which); never blocks but in ring_fanout_steer (a grace period). */
bool worker_pool_tick(struct worker_pool *p, uint64_t now_ns, struct worker_pool_change *c);
/* True while a change waits for a worker's answer: tick again soon. Main. */
bool worker_pool_changing(const struct worker_pool *p);
/* At the end, after ctl->stop is set: wake the parked workers, which end. */
void worker_pool_stop(struct worker_pool *p);
void worker_pool_fini(struct worker_pool *p);
/* The worker's thread, when its `want` differs from its mode or it is
 * parked: do what the pool asks. True when the worker is to end (stopped
 * while parked). */
bool worker_pool_serve(struct worker *w);
/* The worker's thread: a draining worker found its ring empty; wait until
 * the merge holds none of its blocks, then park (true: stopped meanwhile). */
bool worker_pool_drained(struct worker *w);

#endif
