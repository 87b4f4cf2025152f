/*
 * The responder's busy-poll bookkeeping (responder/busy.c), on made-up times:
 * when the thread may spin on its ring instead of sleeping, for how long, and
 * when it must sleep again.
 */
#include "responder/responder.h"
#include "tests/unit/unit.h"

#define US 1000ull
#define MS 1000000ull

/* The allowance at time `at` after `n` frames, evaluated once, checked against `want`. */
#define ALLOW(b, n, at, want)                                                 \
	do {                                                                  \
		uint64_t at_ = (at);                                          \
		uint64_t got_ = arp_busy_allowance((b), (n), at_);            \
		CHECK(got_ == (want), "allowance(%u frames, t=%llu) = %llu, want %llu", \
		      (unsigned)(n), (unsigned long long)at_, (unsigned long long)got_, \
		      (unsigned long long)(want));                             \
	} while (0)

/* Off (window 0): never spins, whatever comes. */
static void test_off(void)
{
	struct arp_busy b;

	arp_busy_init(&b, 0);
	ALLOW(&b, 255, 1 * MS, 0);
	ALLOW(&b, 1, 2 * MS, 0);
}

/* An idle or slow stream (a request or a few per wake-up) sleeps: no window
 * until a wake-up finds ARP_BUSY_FLOOD_FRAMES queued. */
static void test_idle_sleeps(void)
{
	struct arp_busy b;
	uint64_t t = 5 * MS;

	arp_busy_init(&b, 50);
	for (unsigned n = 0; n < ARP_BUSY_FLOOD_FRAMES; n++, t += 100 * US)
		ALLOW(&b, n, t, 0);
	ALLOW(&b, ARP_BUSY_FLOOD_FRAMES, t, 50 * US);
}

/* In a flood the window stays open while it catches requests, also after
 * batches of one; one that runs out closes it until a wake-up finds a queue. */
static void test_flood_then_quiet(void)
{
	struct arp_busy b;
	uint64_t t = 20 * MS;

	arp_busy_init(&b, 80);
	ALLOW(&b, 10, t, 80 * US);
	arp_busy_spun(&b, true, t += 5 * US);
	ALLOW(&b, 1, t += 1 * US, 80 * US);
	arp_busy_spun(&b, true, t += 5 * US);
	ALLOW(&b, 2, t += 1 * US, 80 * US);
	arp_busy_spun(&b, false, t += 80 * US); /* the flood is over */
	ALLOW(&b, 1, t += 1 * US, 0);
	ALLOW(&b, 0, t += 1 * US, 0);
	/* a new burst opens it again */
	ALLOW(&b, 6, t += 1 * MS, 80 * US);
	CHECK_EQ(b.empty_windows, 1);
	arp_busy_spun(&b, true, t += 2 * US);
	CHECK_EQ(b.empty_windows, 0);
}

/* Two windows in a row that catch nothing (the sender shares our CPU and
 * cannot run while we spin): none for ARP_BUSY_BACKOFF_NS. */
static void test_backoff(void)
{
	struct arp_busy b;
	uint64_t t = 30 * MS, off;

	arp_busy_init(&b, 50);
	ALLOW(&b, 20, t, 50 * US);
	arp_busy_spun(&b, false, t += 50 * US);
	ALLOW(&b, 20, t += 10 * US, 50 * US);
	arp_busy_spun(&b, false, t += 50 * US);
	off = t;
	ALLOW(&b, 20, t += 10 * US, 0);
	ALLOW(&b, 200, off + ARP_BUSY_BACKOFF_NS - 1, 0);
	ALLOW(&b, 20, off + ARP_BUSY_BACKOFF_NS, 50 * US);
}

/* Awake at most ARP_BUSY_AWAKE_NS of a period: the window shrinks to what is
 * left, then none until the next period; time asleep is not awake. */
static void test_awake_cap(void)
{
	struct arp_busy b;
	uint64_t p = 100 * MS, t;

	arp_busy_init(&b, 1000);
	ALLOW(&b, 50, p, 1000 * US); /* starts the period at p */
	/* 1 ms asleep, 1 ms awake: 7 ms of awake time left, the window is whole */
	arp_busy_slept(&b, p + 1 * MS, p + 2 * MS);
	ALLOW(&b, 8, p + 2 * MS, 1000 * US);
	CHECK_EQ(b.slept_ns, 1 * MS);
	t = p + 1 * MS + ARP_BUSY_AWAKE_NS - 300 * US; /* 1 ms of it asleep */
	arp_busy_spun(&b, true, t);
	ALLOW(&b, 1, t, 300 * US);
	t = p + 1 * MS + ARP_BUSY_AWAKE_NS;
	arp_busy_spun(&b, true, t);
	ALLOW(&b, 1, t, 0);
	/* sleeping does not undo time spent awake: still none in this period */
	arp_busy_slept(&b, t, t + 500 * US);
	t += 500 * US;
	ALLOW(&b, 8, t, 0);
	/* a sleep that began before the period counts from its start only */
	t = p + ARP_BUSY_PERIOD_NS; /* next period */
	ALLOW(&b, 8, t, 1000 * US);
	arp_busy_slept(&b, t - 2 * MS, t + 1 * MS);
	CHECK_EQ(b.slept_ns, 1 * MS);
	/* a clock that went back starts a new period rather than wrapping */
	ALLOW(&b, 8, p, 1000 * US);
}

int main(void)
{
	test_off();
	test_idle_sleeps();
	test_flood_then_quiet();
	test_backoff();
	test_awake_cap();
	return unit_exit("test_arp_busy");
}
