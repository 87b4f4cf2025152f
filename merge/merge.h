/*
 * merge — the packets of several TPACKET_V3 rings (one per capture worker; one
 * more per interface when there are several) put into one stream in
 * non-decreasing timestamp order before they reach the file.
 *
 * Each worker hands over its retired blocks whole (merge_push) instead of
 * giving them back to the kernel; one thread at a time walks the blocks of
 * every input at once, always taking the oldest packet at the heads, and
 * passes batches of packets, still in the rings, to the sink (the writer).
 * Once a batch is in the sink, the blocks it emptied go back to the kernel, in
 * each ring's order. The only packet bytes copied before the sink copies
 * them are the held-back rest of a producer's newest block (see below).
 *
 * That thread is the one that needs it, not a thread woken for it: the
 * producer that pushes runs the walk itself when no other thread does (else
 * the one that does takes its block too), and a producer waiting for its
 * blocks (merge_wait_released) runs it when the clock lets a held-back packet
 * go. The merge's own thread only backs that clock up when no producer waits,
 * and drains at close.
 *
 * A producer's newest block that the clock holds back in part, with no block
 * queued behind it, is copied from its first unemitted packet on into that
 * input's copy area (one block, allocated at open) and given back to the
 * kernel at once, so the producer sleeps in poll() until its ring retires the
 * next block instead of being woken for the give-back.
 *
 * An input with nothing queued holds the others back only as long as it may
 * still deliver an older packet: the merger looks at that ring's next block
 * (a retired one: its first packet; the one the kernel is filling: its first
 * packet, or, empty, "nothing older than now") and emits what is older than
 * that, less a margin for packets stamped but not yet in the ring. A packet
 * that still comes later than one already emitted is written where it comes
 * and counted (out_of_order); none is held back for ever or lost.
 *
 * Threads: merge_push and merge_wait_released from the input's own worker
 * thread only (one producer per input); merge_open/merge_close from main. The
 * sink runs on a producer's thread inside merge_push or merge_wait_released,
 * or on the merge's own thread, never on two at once: calls to it are ordered
 * as if one thread made them all. Blocking: merge_push waits while its input
 * holds `depth` blocks not yet given back (back-pressure: the ring fills and
 * the kernel drops and counts), and runs the sink (which may block).
 */
#ifndef RINGCAP_MERGE_H
#define RINGCAP_MERGE_H

#include <stdbool.h>
#include <stdint.h>

#include "ring/ring.h"

#define MERGE_MAX_INPUTS 64

/* Takes n packets in order; they stay valid until it returns. 0; 1 when it
 * takes no more after these (-c reached: the rest is walked and given back,
 * not emitted); or -errno (merge_push then returns the error; the packets the
 * merger still holds go on to the sink, which counts them as not written). */
typedef int (*merge_sink_fn)(void *ctx, const struct pkt_view *pkts, unsigned n);

struct merge_config {
	unsigned ninputs;
	const struct ring *rings[MERGE_MAX_INPUTS]; /* input i's ring (not owned) */
	uint32_t depth;          /* blocks held per input at most; < every ring's block_nr */
	uint64_t margin_ns;      /* stamped-but-not-yet-in-the-ring allowance */
	uint32_t batch;          /* packets per sink call at most */
	merge_sink_fn sink;
	void *sink_ctx;
	uint64_t (*clock_ns)(void); /* CLOCK_REALTIME in ns; tests pass their own. NULL: real */
	bool no_thread;          /* tests: no merger thread; drive it with merge_run_once */
	bool merger_runs;        /* the merge's own thread runs every pass, woken per push
				  * (bench/ringcap-merge measures that thread alone) */
};

/* Per input, written by the thread running the walk; read after merge_close. */
struct merge_input_counters {
	uint64_t blocks;
	uint64_t packets;        /* emitted to the sink */
	uint64_t bad_packets;    /* skipped: a header lied about lengths */
	uint64_t out_of_order;   /* came older than a packet already emitted */
};

struct merge;

/* Set-up, main thread: 0 or -errno (one line logged). Starts the merger thread. */
int merge_open(struct merge **out, const struct merge_config *cfg);
/* Hand input `in`'s retired block to the merge; the block must be ring
 * order's next for that input. Returns 0, or the sink's error (the block is
 * taken all the same, its packets offered to the sink to be counted as not
 * written; the worker should stop). May block, and may run the sink (see
 * above); a sink may call it (the block is left to the walk under way). */
int merge_push(struct merge *m, unsigned in, struct tpacket_block_desc *b);
/* Input `in`'s producer: wait (at most timeout_ms) until every block it
 * pushed is back with the kernel and every packet of them in the sink. The
 * kernel's poll() says POLLIN while the block it retired last is not back, so
 * a producer with blocks in the merge waits here instead of in poll();
 * meanwhile it may run the sink (see above). The merge gives a producer's
 * newest block back early when it holds it back, keeping a copy of the rest,
 * so mostly a producer sleeps in poll() instead. True once the input holds
 * no block and no copied packet (every packet of it is in the sink). */
bool merge_wait_released(struct merge *m, unsigned in, int timeout_ms);
/* Input `in`'s producer, holding nothing in the merge (merge_wait_released
 * said so), gave blocks back to the kernel itself for a while (an elastic
 * pool's only worker appends without the merge) and pushes again from ring
 * block `next` on: the merge's look at that ring's next block starts there. */
void merge_resume(struct merge *m, unsigned in, uint32_t next);
/* True once the sink takes no more (full, or failed). Any thread. */
bool merge_done(struct merge *m);
/* Tests without a thread: one pass; `final` drains regardless of the rings.
 * Returns packets emitted. */
unsigned merge_run_once(struct merge *m, bool final);
/* After every producer has stopped: emits everything queued (in order, the
 * rings' unretired packets are not waited for), gives every block back,
 * stops the thread, copies the counters out (`c` has ninputs entries, or
 * NULL) and frees. Returns the sink's first error or 0. */
int merge_close(struct merge *m, struct merge_input_counters *c);

#endif
