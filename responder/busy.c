/*
 * When the responder thread spins on its ring instead of sleeping: pure
 * bookkeeping on times the thread hands in, so the unit tests can drive it.
 *
 * Why spin at all. A sleeping reader is woken by the packet socket's
 * sk_data_ready, which runs in the receive softirq: on veth, and on a NIC
 * whose interrupt lands there, that is the sender's CPU, and waking a thread
 * on another CPU costs it an inter-processor interrupt (a VM exit in a
 * guest). Under a flood the thread wakes, drains a few requests, sleeps, and
 * is woken again: the sender pays a wake-up per handful of requests. A
 * thread that keeps checking the ring for a short window after the last
 * request is not on the socket's wait queue, and sk_data_ready finds no one
 * to wake.
 *
 * When not to. An idle or slow stream must still sleep and wake per request
 * (the window is only opened after a wake-up that found requests queued up:
 * they come faster than the thread wakes). Spinning must not starve the CPU
 * it runs on: the thread spins only while it has been awake less than
 * ARP_BUSY_AWAKE_NS of the current ARP_BUSY_PERIOD_NS (below the kernel's
 * real-time throttle, 95%; the work itself may take more), and two
 * windows in a row that caught nothing mean the sender is not running while
 * we spin (it shares our CPU: a SCHED_FIFO spinner keeps it off), so the
 * thread does not spin for ARP_BUSY_BACKOFF_NS.
 */
#include <string.h>

#include "responder/responder.h"

void arp_busy_init(struct arp_busy *b, uint32_t window_us)
{
	memset(b, 0, sizeof(*b));
	b->window_ns = (uint64_t)window_us * 1000;
}

/* Rolls the period over; the time awake in it so far. */
static uint64_t awake_in_period(struct arp_busy *b, uint64_t now)
{
	uint64_t elapsed;

	if (now < b->period_start || now - b->period_start >= ARP_BUSY_PERIOD_NS) {
		b->period_start = now;
		b->slept_ns = 0;
	}
	elapsed = now - b->period_start;
	return b->slept_ns < elapsed ? elapsed - b->slept_ns : 0;
}

uint64_t arp_busy_allowance(struct arp_busy *b, unsigned drained, uint64_t now)
{
	uint64_t awake;

	if (!b->window_ns)
		return 0;
	if (drained >= ARP_BUSY_FLOOD_FRAMES)
		b->flood = true;
	if (!b->flood || now < b->off_until)
		return 0;
	awake = awake_in_period(b, now);
	if (awake >= ARP_BUSY_AWAKE_NS)
		return 0;
	return b->window_ns < ARP_BUSY_AWAKE_NS - awake ? b->window_ns : ARP_BUSY_AWAKE_NS - awake;
}

void arp_busy_spun(struct arp_busy *b, bool caught, uint64_t now)
{
	if (caught) {
		b->empty_windows = 0;
		return;
	}
	b->flood = false; /* the burst is over: sleep until a wake-up finds a queue again */
	if (++b->empty_windows >= ARP_BUSY_EMPTY_MAX) {
		b->empty_windows = 0;
		b->off_until = now + ARP_BUSY_BACKOFF_NS;
	}
}

void arp_busy_slept(struct arp_busy *b, uint64_t from, uint64_t to)
{
	if (to <= from)
		return;
	awake_in_period(b, to);
	/* only the part of the sleep inside the current period */
	b->slept_ns += from > b->period_start ? to - from : to - b->period_start;
}
