/*
 * Main's periodic timers in one table, as redis's ae.c keeps its time events:
 * each has a period, the time it is due next and what it fires. main sleeps
 * until the earliest is due (or a signal comes), then fires every one that is
 * due, in table order. A timer's periods count from when it was armed, so a
 * late wake-up or a slow timer does not make it drift, and periods missed
 * while main was busy are skipped, not caught up.
 */
#include "capture/capture.h"

/* The first period boundary after `now`. */
static uint64_t next_period(const struct capture_timer *t, uint64_t now)
{
	if (now < t->start_ns)
		return t->start_ns + t->every_ns;
	return t->start_ns + ((now - t->start_ns) / t->every_ns + 1) * t->every_ns;
}

void capture_timers_arm(struct capture_timer *t, size_t n, uint64_t now)
{
	for (size_t i = 0; i < n; i++) {
		t[i].start_ns = now;
		t[i].next_ns = now + t[i].every_ns;
	}
}

uint64_t capture_timers_next(const struct capture_timer *t, size_t n)
{
	uint64_t next = UINT64_MAX;

	for (size_t i = 0; i < n; i++)
		if (t[i].every_ns && t[i].next_ns < next)
			next = t[i].next_ns;
	return next;
}

bool capture_timers_run(struct capture_timer *t, size_t n, void *ctx, uint64_t now)
{
	for (size_t i = 0; i < n; i++) {
		if (!t[i].every_ns || now < t[i].next_ns)
			continue;
		switch (t[i].fire(t[i].ctx ? t[i].ctx : ctx, now)) {
		case CAPTURE_TIMER_END:
			return true;
		case CAPTURE_TIMER_AGAIN:
			t[i].next_ns = t[i].retry_ns ? now + t[i].retry_ns : next_period(&t[i], now);
			break;
		case CAPTURE_TIMER_NEXT:
			t[i].next_ns = next_period(&t[i], now);
			break;
		}
	}
	return false;
}
