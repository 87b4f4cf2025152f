/*
 * The time-order merge without a thread or a socket: rings in memory holding
 * hand-built V3 blocks, a clock the test sets, a sink that records what it
 * gets. Checks: every packet comes out exactly once and in timestamp order
 * across inputs; an empty input holds the others back only until its
 * watermark (the clock less the margin, or the first packet of the block the
 * kernel is filling) passes them; blocks go back to the kernel once written;
 * a packet that comes too late is written and counted; a sink that is full
 * stops the writing but not the giving back; a lying block is counted.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "merge/merge.h"
#include "unit.h"

#define BLOCK_SIZE 8192u
#define BLOCK_NR 8u
#define NIN 3
#define MAXOUT 4096

static uint8_t maps[NIN][BLOCK_NR * BLOCK_SIZE] __attribute__((aligned(4096)));
static struct ring rings[NIN];

static uint64_t out_ts[MAXOUT];
static unsigned nout, sink_calls, sink_full_after;
static uint64_t fake_now;

static uint64_t clock_fake(void)
{
	return fake_now;
}

static struct merge *push_from_sink_m; /* set: the sink pushes this block once */
static struct tpacket_block_desc *push_from_sink_b;

static int sink(void *ctx, const struct pkt_view *pkts, unsigned n)
{
	(void)ctx;
	if (push_from_sink_b) { /* a worker pushing while the merger runs */
		merge_push(push_from_sink_m, 1, push_from_sink_b);
		push_from_sink_b = NULL;
	}
	sink_calls++;
	for (unsigned i = 0; i < n && nout < MAXOUT; i++)
		out_ts[nout++] = (uint64_t)pkts[i].sec * 1000000000ull + pkts[i].nsec;
	return sink_full_after && nout >= sink_full_after ? 1 : 0;
}

static void reset(void)
{
	memset(maps, 0, sizeof(maps));
	for (unsigned i = 0; i < NIN; i++) {
		memset(&rings[i], 0, sizeof(rings[i]));
		rings[i].fd = -1;
		rings[i].map = maps[i];
		rings[i].block_size = BLOCK_SIZE;
		rings[i].block_nr = BLOCK_NR;
	}
	nout = sink_calls = sink_full_after = 0;
	fake_now = 0;
}

static struct merge *open_merge(unsigned batch)
{
	struct merge_config cfg = {
		.ninputs = NIN,
		.depth = 4,
		.margin_ns = 1000,
		.batch = batch,
		.sink = sink,
		.clock_ns = clock_fake,
		.no_thread = true,
	};
	struct merge *m = NULL;

	for (unsigned i = 0; i < NIN; i++)
		cfg.rings[i] = &rings[i];
	CHECK_EQ(merge_open(&m, &cfg), 0);
	return m;
}

/* Retire block `b` of input `in` with packets stamped ts[], as the kernel. */
static struct tpacket_block_desc *retire(unsigned in, unsigned b, const uint64_t *ts, unsigned n)
{
	uint8_t *blk = maps[in] + (size_t)b * BLOCK_SIZE;

	unit_v3_block(blk, BLOCK_SIZE, n, 60, ts);
	return (struct tpacket_block_desc *)blk;
}

static uint32_t status(unsigned in, unsigned b)
{
	return ((struct tpacket_block_desc *)(maps[in] + (size_t)b * BLOCK_SIZE))->hdr.bh1.block_status;
}

static bool sorted(void)
{
	for (unsigned i = 1; i < nout; i++)
		if (out_ts[i] < out_ts[i - 1])
			return false;
	return true;
}

static void test_order_across_inputs(void)
{
	/* interleaved, with equal stamps across inputs and several blocks each */
	static const uint64_t a0[] = { 10, 40, 70, 100 }, a1[] = { 130, 160 };
	static const uint64_t b0[] = { 20, 40, 80 }, b1[] = { 90, 200, 210, 220 };
	static const uint64_t c0[] = { 5, 95 };
	struct merge_input_counters c[NIN];
	struct merge *m;

	reset();
	m = open_merge(3); /* small batches: blocks span several sink calls */
	merge_push(m, 0, retire(0, 0, a0, 4));
	merge_push(m, 0, retire(0, 1, a1, 2));
	merge_push(m, 1, retire(1, 0, b0, 3));
	merge_push(m, 1, retire(1, 1, b1, 4));
	merge_push(m, 2, retire(2, 0, c0, 2));
	/* Input 2 has nothing more queued; its next block (1) is the kernel's and
	 * empty: it may still bring anything stamped from now - margin on. */
	fake_now = 1000 + 100; /* watermark 100 */
	merge_run_once(m, false);
	CHECK_EQ(nout, 10); /* 5 10 20 40 40 70 80 90 95 100; 130 waits */
	CHECK(sorted(), "out of order");
	CHECK_EQ(out_ts[0], 5);
	CHECK_EQ(out_ts[9], 100);
	/* input 2's first block was emptied by the 3 batches: given back */
	CHECK_EQ(status(2, 0), TP_STATUS_KERNEL);
	CHECK_EQ(status(0, 1), TP_STATUS_USER); /* still being read */

	/* The kernel starts filling input 2's next block with a packet at 140:
	 * nothing newer than 140 may go before it, whatever the clock says. */
	retire(2, 1, (const uint64_t[]){ 140 }, 1);
	((struct tpacket_block_desc *)(maps[2] + BLOCK_SIZE))->hdr.bh1.block_status = TP_STATUS_KERNEL;
	fake_now = 1000000;
	merge_run_once(m, false);
	CHECK_EQ(nout, 11); /* 130 only */
	CHECK_EQ(out_ts[10], 130);
	/* now it is retired and pushed: the rest flows */
	((struct tpacket_block_desc *)(maps[2] + BLOCK_SIZE))->hdr.bh1.block_status = TP_STATUS_USER;
	merge_push(m, 2, (struct tpacket_block_desc *)(maps[2] + BLOCK_SIZE));
	merge_run_once(m, false);
	CHECK_EQ(nout, 16);
	CHECK(sorted(), "out of order after the held block came");
	CHECK_EQ(merge_close(m, c), 0);
	CHECK_EQ(nout, 16);
	CHECK_EQ(c[0].packets, 6);
	CHECK_EQ(c[1].packets, 7);
	CHECK_EQ(c[2].packets, 3);
	CHECK_EQ(c[0].out_of_order + c[1].out_of_order + c[2].out_of_order, 0);
	for (unsigned i = 0; i < NIN; i++)
		for (unsigned b = 0; b < 2; b++)
			CHECK(status(i, b) == TP_STATUS_KERNEL, "input %u block %u not given back", i, b);
}

static void test_late_packet_counted(void)
{
	struct merge_input_counters c[NIN];
	struct merge *m;

	reset();
	m = open_merge(64);
	merge_push(m, 0, retire(0, 0, (const uint64_t[]){ 100, 200 }, 2));
	fake_now = 10000;
	merge_run_once(m, false);
	CHECK_EQ(nout, 2);
	/* a packet older than one already written: written, counted */
	merge_push(m, 1, retire(1, 0, (const uint64_t[]){ 150 }, 1));
	CHECK_EQ(merge_close(m, c), 0);
	CHECK_EQ(nout, 3);
	CHECK_EQ(c[1].out_of_order, 1);
}

static void test_full_sink_still_gives_back(void)
{
	static const uint64_t ts[] = { 1, 2, 3, 4, 5, 6 };
	struct merge_input_counters c[NIN];
	struct merge *m;

	reset();
	m = open_merge(2);
	sink_full_after = 2; /* -c 2 */
	merge_push(m, 0, retire(0, 0, ts, 6));
	merge_push(m, 1, retire(1, 0, ts, 6));
	CHECK_EQ(merge_close(m, c), 0);
	CHECK_EQ(nout, 2);
	CHECK_EQ(c[0].packets + c[1].packets, 2);
	CHECK(status(0, 0) == TP_STATUS_KERNEL && status(1, 0) == TP_STATUS_KERNEL,
	      "a full sink kept the blocks");
}

static void test_lying_block_counted(void)
{
	static const uint64_t ts[] = { 1, 2, 3, 4 };
	struct merge_input_counters c[NIN];
	struct tpacket_block_desc *b;
	struct merge *m;

	reset();
	m = open_merge(64);
	b = retire(0, 0, ts, 4);
	/* the second packet's next offset points past the block */
	((struct tpacket3_hdr *)((uint8_t *)b + 48))->tp_next_offset = BLOCK_SIZE * 2;
	merge_push(m, 0, b);
	CHECK_EQ(merge_close(m, c), 0);
	CHECK_EQ(c[0].packets, 0);
	CHECK_EQ(c[0].bad_packets, 4);
}

/* A block pushed to an input that ran dry, while the merger is in the middle
 * of a pass: the input's next ring block is now the one after it, and empty;
 * the pushed block's older packets must still come before newer ones. */
static void test_push_during_pass(void)
{
	static const uint64_t a[] = { 100, 200, 300, 400, 500, 600 };
	struct merge_input_counters c[NIN];
	struct merge *m;

	reset();
	m = open_merge(1); /* the sink runs after every packet */
	fake_now = 1000000; /* every empty input's floor is far ahead */
	merge_push(m, 0, retire(0, 0, a, 6));
	push_from_sink_m = m;
	push_from_sink_b = retire(1, 0, (const uint64_t[]){ 250, 260 }, 2);
	merge_run_once(m, false);
	merge_run_once(m, false);
	CHECK_EQ(merge_close(m, c), 0);
	CHECK_EQ(nout, 8);
	CHECK(sorted(), "a block pushed mid-pass came out late");
	CHECK_EQ(c[1].out_of_order, 0);
}

/* The merger thread with a producer pushing one-packet blocks as fast as they
 * come back (as the kernel refills them): many blocks per batch, so blocks
 * waiting for their batch must not outgrow their array (ASan saw it). */
struct producer {
	struct merge *m;
	unsigned blocks;
};

static void *produce(void *arg)
{
	struct producer *p = arg;

	for (unsigned k = 0; k < p->blocks; k++) {
		unsigned b = k % BLOCK_NR;
		uint64_t ts = 1000 + k;
		struct tpacket_block_desc *d = (struct tpacket_block_desc *)(maps[0] + (size_t)b * BLOCK_SIZE);

		/* the kernel waits for the block to come back before it refills it */
		while (k >= BLOCK_NR &&
		       __atomic_load_n(&d->hdr.bh1.block_status, __ATOMIC_ACQUIRE) != TP_STATUS_KERNEL)
			sched_yield();
		retire(0, b, &ts, 1);
		if (merge_push(p->m, 0, d))
			break;
	}
	return NULL;
}

/* merger_runs: the merge's own thread runs every pass, as the bench has it;
 * else the producer runs them. */
static void test_many_small_blocks_threaded(bool merger_runs)
{
	struct merge_config cfg = {
		.ninputs = 2, .depth = 4, .margin_ns = 1000, .batch = 1024, .sink = sink,
		.clock_ns = clock_fake, .merger_runs = merger_runs,
	};
	struct producer p = { .blocks = 3000 };
	struct merge_input_counters c[2];
	pthread_t t;

	reset();
	fake_now = UINT64_MAX / 2; /* the idle input never holds anything back */
	cfg.rings[0] = &rings[0];
	cfg.rings[1] = &rings[1];
	CHECK_EQ(merge_open(&p.m, &cfg), 0);
	pthread_create(&t, NULL, produce, &p);
	pthread_join(t, NULL);
	CHECK_EQ(merge_close(p.m, c), 0);
	CHECK_EQ(nout, MAXOUT < 3000 ? MAXOUT : 3000);
	CHECK_EQ(c[0].packets, 3000);
	CHECK_EQ(c[0].blocks, 3000);
	CHECK(sorted(), "out of order");
}

/* A producer whose input holds `depth` blocks waits, even when the queue
 * has room because the merger took one to walk: otherwise blocks walked but
 * not yet written pile up beside a refilled queue, and a worker wraps onto a
 * block the merge has not given back (still TP_STATUS_USER) and takes it
 * twice. */
struct pusher {
	struct merge *m;
	struct tpacket_block_desc *b;
	int returned; /* atomic */
};

static void *push_one(void *arg)
{
	struct pusher *p = arg;

	merge_push(p->m, 0, p->b);
	__atomic_store_n(&p->returned, 1, __ATOMIC_RELEASE);
	return NULL;
}

static void test_push_waits_for_held_blocks(void)
{
	struct merge_input_counters c[NIN];
	struct pusher p = { 0 };
	pthread_t t;

	reset();
	p.m = open_merge(1024); /* depth 4 */
	fake_now = 0;         /* the empty inputs hold every packet back */
	for (unsigned b = 0; b < 4; b++)
		merge_push(p.m, 0, retire(0, b, (const uint64_t[]){ 100 + b }, 1));
	merge_run_once(p.m, false); /* takes block 0 off the queue to walk it */
	CHECK_EQ(nout, 0);
	p.b = retire(0, 4, (const uint64_t[]){ 104 }, 1);
	pthread_create(&t, NULL, push_one, &p);
	/* A push that does not wait returns at once; one that waits cannot
	 * return before the pass below: the sleep can only miss the bug. */
	usleep(100 * 1000);
	CHECK(!__atomic_load_n(&p.returned, __ATOMIC_ACQUIRE),
	      "a fifth block was taken while four were held");
	merge_run_once(p.m, true); /* writes and gives back all four */
	pthread_join(t, NULL);
	CHECK_EQ(status(0, 0), TP_STATUS_KERNEL);
	CHECK_EQ(merge_close(p.m, c), 0);
	CHECK_EQ(nout, 5);
	CHECK(sorted(), "out of order");
}

/* An elastic pool's only worker gave its ring's blocks back itself for a
 * while, then hands blocks over again: merge_wait_released says when the
 * merge holds none of an input's blocks, and after merge_resume the merge's
 * look at that ring starts at the block its producer takes next, so a packet
 * retired there but not yet pushed holds newer ones back. */
static void test_resume_after_direct(void)
{
	const uint64_t a[] = { 100, 200 }, late[] = { 5000 }, newer[] = { 6000 };
	struct merge *m;

	reset();
	m = open_merge(64);
	CHECK_EQ(merge_push(m, 0, retire(0, 0, a, 2)), 0);
	CHECK(!merge_wait_released(m, 0, 0), "a pushed block is held");
	fake_now = 10000;
	CHECK_EQ(merge_run_once(m, false), 2);
	CHECK(merge_wait_released(m, 0, 0), "all given back");
	/* input 1 appended blocks 0..4 itself; block 5 is retired, not pushed */
	retire(1, 5, late, 1);
	merge_resume(m, 1, 5);
	CHECK_EQ(merge_push(m, 0, retire(0, 1, newer, 1)), 0);
	CHECK_EQ(merge_run_once(m, false), 0); /* 6000 waits for ring 1's 5000 */
	CHECK_EQ(merge_push(m, 1, (struct tpacket_block_desc *)(maps[1] + 5 * BLOCK_SIZE)), 0);
	CHECK_EQ(merge_run_once(m, false), 2);
	CHECK_EQ(nout, 4);
	CHECK(sorted(), "time order after the resume");
	CHECK_EQ(merge_close(m, NULL), 0);
}

/* With a thread, a block the clock holds back in part is copied from its
 * head on and goes back to the kernel at once (its producer then sleeps in
 * poll, not on the merge): the ring's block may be refilled meanwhile, and
 * what is written comes from the copy, whole and in order. */
static void test_held_rest_copied(void)
{
	const uint64_t a[] = { 100, 200, 300 }, b[] = { 150, 250 };
	const uint64_t want[] = { 100, 150, 200, 250, 300 };
	struct merge_config cfg = {
		.ninputs = 2, .depth = 4, .margin_ns = 1000, .batch = 1024, .sink = sink,
		.clock_ns = clock_fake,
	};
	struct merge_input_counters c[2];
	struct tpacket_block_desc *b0;
	struct merge *m;

	reset();
	fake_now = 0; /* an empty input holds every packet back */
	cfg.rings[0] = &rings[0];
	cfg.rings[1] = &rings[1];
	b0 = retire(1, 0, b, 2); /* before the thread looks at ring 1 */
	CHECK_EQ(merge_open(&m, &cfg), 0);
	CHECK_EQ(merge_push(m, 0, retire(0, 0, a, 3)), 0);
	CHECK_EQ(nout, 0);
	CHECK_EQ(status(0, 0), TP_STATUS_KERNEL);
	/* its packets are not in the sink yet: an elastic pool's worker going
	 * direct must not append before them */
	CHECK(!merge_wait_released(m, 0, 0), "packets left in the copy count as held");
	memset(maps[0], 0xee, BLOCK_SIZE); /* the kernel refills it */
	CHECK_EQ(merge_push(m, 1, b0), 0);
	CHECK_EQ(merge_close(m, c), 0);
	CHECK_EQ(nout, 5);
	for (unsigned i = 0; i < 5 && i < nout; i++)
		CHECK_EQ(out_ts[i], want[i]);
	CHECK_EQ(c[0].packets, 3);
	CHECK_EQ(c[0].blocks, 1);
	CHECK_EQ(c[0].bad_packets, 0);
	CHECK_EQ(c[1].packets, 2);
	CHECK_EQ(status(1, 0), TP_STATUS_KERNEL);
}

static void test_bad_config(void)
{
	struct merge_config cfg = { .ninputs = 1, .depth = BLOCK_NR, .batch = 1, .sink = sink };
	struct merge *m;

	reset();
	cfg.rings[0] = &rings[0];
	CHECK_EQ(merge_open(&m, &cfg), -EINVAL); /* depth must stay below the ring's blocks */
	cfg.ninputs = 0;
	CHECK_EQ(merge_open(&m, &cfg), -EINVAL);
}

int main(void)
{
	test_order_across_inputs();
	test_late_packet_counted();
	test_full_sink_still_gives_back();
	test_lying_block_counted();
	test_push_during_pass();
	test_many_small_blocks_threaded(false);
	test_many_small_blocks_threaded(true);
	test_push_waits_for_held_blocks();
	test_resume_after_direct();
	test_held_rest_copied();
	test_bad_config();
	return unit_exit("test_merge");
}
