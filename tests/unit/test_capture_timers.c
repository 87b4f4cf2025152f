/*
 * main's timer table (capture/timers.c) against a test clock: each timer
 * fires when due and not before, in table order; periods count from the arm
 * and do not drift when main wakes late; missed periods are skipped, not
 * caught up; CAPTURE_TIMER_AGAIN retries after retry_ns and then falls back
 * onto the period; CAPTURE_TIMER_END stops the pass; a timer with no period
 * is off; the earliest due time is what main sleeps until.
 */
#include <stdint.h>

#include "capture/capture.h"
#include "unit.h"

#define NT 3

struct log {
	char order[32];               /* the timers fired, in firing order: 'a'.. */
	unsigned n;
	uint64_t last_now[NT];
	unsigned fired[NT];
	enum capture_timer_ret ret[NT]; /* what each one answers */
};

static enum capture_timer_ret fire(struct log *l, unsigned i, uint64_t now)
{
	if (l->n + 1 < sizeof(l->order))
		l->order[l->n++] = (char)('a' + i);
	l->fired[i]++;
	l->last_now[i] = now;
	return l->ret[i];
}

static enum capture_timer_ret fire_a(void *ctx, uint64_t now) { return fire(ctx, 0, now); }
static enum capture_timer_ret fire_b(void *ctx, uint64_t now) { return fire(ctx, 1, now); }
static enum capture_timer_ret fire_c(void *ctx, uint64_t now) { return fire(ctx, 2, now); }

static void reset(struct log *l)
{
	memset(l, 0, sizeof(*l));
}

static void test_periods(void)
{
	struct capture_timer t[NT] = {
		{ .name = "a", .every_ns = 100, .fire = fire_a },
		{ .name = "b", .every_ns = 250, .fire = fire_b },
		{ .name = "off", .every_ns = 0, .fire = fire_c },
	};
	struct log l;

	reset(&l);
	capture_timers_arm(t, NT, 1000);
	CHECK_EQ(capture_timers_next(t, NT), 1100);
	CHECK(!capture_timers_run(t, NT, &l, 1099), "nothing is due before its period");
	CHECK_EQ(l.n, 0);
	CHECK(!capture_timers_run(t, NT, &l, 1100), "a is due");
	CHECK_EQ(l.fired[0], 1);
	CHECK_EQ(l.last_now[0], 1100);
	CHECK_EQ(capture_timers_next(t, NT), 1200);
	/* main wakes late, at 1370: a fires once (1200 and 1300 are not caught
	 * up) and stays on its grid (next 1400, not 1470); b (due 1250) fires */
	CHECK(!capture_timers_run(t, NT, &l, 1370), "late pass");
	CHECK_EQ(l.fired[0], 2);
	CHECK_EQ(l.fired[1], 1);
	CHECK_EQ(t[0].next_ns, 1400);
	CHECK_EQ(t[1].next_ns, 1500);
	CHECK_EQ(capture_timers_next(t, NT), 1400);
	/* both due at 1500: table order */
	CHECK(!capture_timers_run(t, NT, &l, 1500), "both due");
	CHECK(strcmp(l.order, "aabab") == 0, "fired: %s", l.order);
	l.n = 0;
	memset(l.order, 0, sizeof(l.order));
	CHECK(!capture_timers_run(t, NT, &l, 1750), "both due again");
	CHECK(strcmp(l.order, "ab") == 0, "table order: got %s", l.order);
	CHECK_EQ(l.fired[2], 0);
}

static void test_again_and_end(void)
{
	struct capture_timer t[NT] = {
		{ .name = "flush", .every_ns = 1000, .fire = fire_a, .retry_ns = 200 },
		{ .name = "end", .every_ns = 2500, .fire = fire_b },
		{ .name = "after", .every_ns = 500, .fire = fire_c },
	};
	struct capture_timer none[1] = { { .name = "off", .fire = fire_a } };
	struct log l;

	reset(&l);
	capture_timers_arm(t, NT, 0);
	l.ret[0] = CAPTURE_TIMER_AGAIN;
	CHECK(!capture_timers_run(t, NT, &l, 1000), "flush says not now");
	CHECK_EQ(t[0].next_ns, 1200);
	l.ret[0] = CAPTURE_TIMER_NEXT;
	CHECK(!capture_timers_run(t, NT, &l, 1200), "the retry");
	CHECK_EQ(l.fired[0], 2);
	CHECK_EQ(t[0].next_ns, 2000); /* back on the grid the arm set */
	/* no retry_ns: AGAIN waits for the next period */
	t[0].retry_ns = 0;
	l.ret[0] = CAPTURE_TIMER_AGAIN;
	CHECK(!capture_timers_run(t, NT, &l, 2000), "again, no retry period");
	CHECK_EQ(t[0].next_ns, 3000);
	/* END at 2500: the timer after it in the table does not fire */
	l.ret[1] = CAPTURE_TIMER_END;
	{
		unsigned c = l.fired[2];

		CHECK(capture_timers_run(t, NT, &l, 2500), "the end");
		CHECK_EQ(l.fired[2], c);
	}
	capture_timers_arm(none, 1, 0);
	CHECK_EQ(capture_timers_next(none, 1), UINT64_MAX);
	CHECK(!capture_timers_run(none, 1, &l, UINT64_MAX - 1), "an off timer never fires");
}

int main(void)
{
	test_periods();
	test_again_and_end();
	return unit_exit("test_capture_timers");
}
