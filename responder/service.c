/*
 * The responder's service: its own AF_PACKET socket with a TPACKET_V2 RX ring
 * behind the kernel prefilter, its own TX ring, and one thread.
 *
 * The thread's loop: take every frame the kernel has handed over (up to a
 * batch), build the answers straight into TX ring frames, give each RX frame
 * back, then one send() for the batch. When the ring is empty it sleeps in
 * poll() on the socket and an eventfd (main's stop), so an idle responder
 * wakes for each request and a flood is drained in batches with one syscall
 * per batch each way. Under a flood (a wake-up found requests queued) it
 * checks the ring for a short window after each batch before it sleeps
 * (--arp-busy-poll, busy.c): the sender's CPU then wakes no one. Announcements
 * (--arp-announce) are paced in the same loop: poll's timeout is the time to
 * the next one.
 *
 * At stop: the socket gets a reject-all filter (nothing new is queued), the
 * thread answers what is in the ring, retries refused sends for up to 200 ms,
 * and ends; main then reads PACKET_STATISTICS once.
 */
#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "responder/frame.h"
#include "responder/responder.h"

#define RX_FRAME_SIZE 512   /* a V2 header and any request we answer */
#define RX_FRAME_NR 8192
#define RX_SNAPLEN 320
#define TX_FRAME_SIZE 256
#define TX_FRAME_NR 4096
#define BATCH 256
#define IDLE_POLL_MS 1000
#define FLUSH_TRIES_MS 200

int arp_service_open(struct arp_service *s, const struct arp_responder *r,
		     const struct arp_service_config *cfg)
{
	struct v2ring_config rc = {
		.iface = &r->iface,
		.filter = &s->filter,
		.frame_size = RX_FRAME_SIZE,
		.frame_nr = RX_FRAME_NR,
		.ignore_outgoing = true,
		.allmulti = r->nndp > 0,
	};
	struct txring_config tc = {
		.iface = &r->iface,
		.frame_size = TX_FRAME_SIZE,
		.frame_nr = TX_FRAME_NR,
		.qdisc_bypass = false, /* replies stay visible to capture sockets, as tcpdump expects */
	};
	char err[FILTER_ERR_LEN];
	char *expr;
	int ret;

	memset(s, 0, sizeof(*s));
	s->rx.fd = -1;
	s->tx.fd = -1;
	s->r = r;
	s->cfg = *cfg;
	s->ann.done = !cfg->announce;
	arp_busy_init(&s->busy, cfg->busy_poll_us);
	s->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (s->stop_fd < 0) {
		ret = -errno;
		log_err("eventfd for the ARP responder: %s", strerror(-ret));
		return ret;
	}
	expr = arp_kernel_expression(r);
	ret = filter_compile(&s->filter, expr, RX_SNAPLEN, err, sizeof(err));
	if (ret)
		log_err("ARP prefilter '%s': %s", expr, err);
	xfree(expr);
	if (!ret)
		ret = v2ring_open(&s->rx, &rc);
	if (!ret)
		ret = txring_open(&s->tx, &tc);
	return ret;
}

void arp_service_close(struct arp_service *s)
{
	txring_close(&s->tx);
	v2ring_close(&s->rx);
	filter_free(&s->filter);
	if (s->stop_fd > 0)
		close(s->stop_fd);
	s->stop_fd = -1;
}

/* Kick the TX ring and count what the kernel took. Answers the device
 * refused (ENOBUFS) stay queued and count when a later kick gets them out. */
static void flush(struct arp_service *s)
{
	uint32_t pending = s->tx.queued;
	int ret;

	if (!pending)
		return;
	ret = txring_kick(&s->tx);
	if (ret) {
		if (!s->warned) /* once: a down link would repeat it per batch */
			log_warn("ARP/NDP answers on %s: send: %s", s->r->iface.name, strerror(-ret));
		s->warned = true;
		return;
	}
	s->c.replies += pending - s->tx.queued;
}

static void queue(struct arp_service *s, const uint8_t *frame, uint32_t len)
{
	uint8_t *slot = txring_frame(&s->tx);

	if (!slot) {
		s->c.tx_full++;
		return;
	}
	memcpy(slot, frame, len);
	txring_queue(&s->tx, len);
}

unsigned arp_service_drain(struct arp_service *s, unsigned batch)
{
	uint8_t reply[ARP_REPLY_MAX];
	unsigned n = 0;

	_Static_assert(TX_FRAME_SIZE - TXRING_DATA_OFF >= ARP_REPLY_MAX,
		       "an answer fits a TX ring frame");
	for (; n < batch; n++) {
		struct pkt_view p;
		struct tpacket2_hdr *h = v2ring_take(&s->rx, &p);
		uint8_t *slot;
		uint32_t len;

		if (!h)
			break;
		/* built straight into the TX frame; with the ring full, aside
		 * (so it is still checked and counted) and then dropped */
		slot = txring_frame(&s->tx);
		len = arp_answer(s->r, &p, slot ? slot : reply, &s->c);
		v2ring_release(&s->rx, h);
		if (len && slot)
			txring_queue(&s->tx, len);
		else if (len)
			s->c.tx_full++;
	}
	flush(s); /* one send() for the batch, and whatever a refused one left */
	return n;
}

/* ---------------------------------------------------------------- announce */

/* Pools in announcing order: any-VLAN ARP, VLAN ARP, NDP. */
static unsigned announce_pools(const struct arp_responder *r)
{
	return r->npools + r->nvpools + r->nndp;
}

/* The address `off` into NDP pool q, if it is inside; false past its end. */
static bool ndp_nth(const struct ndp_pool_range *q, uint64_t off, uint8_t out[16])
{
	unsigned carry = 0;

	memcpy(out, q->first, 16);
	for (int i = 15; i >= 0; i--) {
		unsigned v = out[i] + (unsigned)(off & 0xff) + carry;

		out[i] = (uint8_t)v;
		carry = v >> 8;
		off >>= 8;
	}
	return !carry && memcmp(out, q->last, 16) <= 0;
}

/* Queue the next announcement; false when every pool is done. */
static bool announce_one(struct arp_service *s)
{
	const struct arp_responder *r = s->r;
	struct arp_announce_cursor *a = &s->ann;
	uint8_t frame[ARP_REPLY_MAX];

	while (a->pool < announce_pools(r)) {
		unsigned i = a->pool;
		uint32_t len = 0;

		if (i < r->npools + r->nvpools) {
			const struct arp_pool_range *q = arp_pool_at(r, i);
			uint64_t ip = (uint64_t)q->first + a->off;

			if (ip <= q->last) {
				/* no host has these: not announced (0.0.0.0/0 and such) */
				if (ipv4_is_host((uint32_t)ip))
					len = arp_build_announce(r, (uint32_t)ip,
								 q->vid > 0 ? (unsigned)q->vid : 0, frame);
				a->off++;
				if (!len)
					continue;
			}
		} else {
			const struct ndp_pool_range *q = &r->ndp[i - r->npools - r->nvpools];
			uint8_t ip[16];

			if (ndp_nth(q, a->off, ip) && a->off != UINT64_MAX) {
				len = ndp_build_announce(r, ip, q->vid > 0 ? (unsigned)q->vid : 0, frame);
				a->off++;
			}
		}
		if (!len) {
			a->pool++;
			a->off = 0;
			continue;
		}
		queue(s, frame, len);
		s->c.announced++;
		return true;
	}
	return false;
}

/* Send the announcements that are due; the ms until the next one, or -1. */
static int announce_due(struct arp_service *s)
{
	struct arp_announce_cursor *a = &s->ann;
	uint64_t gap, now;
	unsigned queued = 0;

	if (a->done)
		return -1; /* the usual case: no clock read per wake-up */
	gap = 1000000000ull / (s->cfg.announce_rate ? s->cfg.announce_rate : 1);
	now = now_ns();
	if (!a->next_ns)
		a->next_ns = now;
	while (a->next_ns <= now && queued < BATCH) {
		if (s->c.announced == ARP_ANNOUNCE_MAX) {
			log_warn("ARP/NDP announcements on %s: stopped after %u addresses",
				 s->r->iface.name, ARP_ANNOUNCE_MAX);
			a->done = true;
			break;
		}
		if (!announce_one(s)) {
			a->done = true;
			break;
		}
		queued++;
		a->next_ns += gap;
	}
	if (queued)
		flush(s);
	if (a->done)
		return -1;
	return (int)((a->next_ns - now + 999999) / 1000000);
}

/* --------------------------------------------------------------- counters */

/* The counters are whole uint64_t fields: copied field by field. */
#define NCOUNTERS (sizeof(struct arp_counters) / sizeof(uint64_t))

static void publish(struct arp_service *s)
{
	const uint64_t *from = (const uint64_t *)&s->c;
	uint64_t *to = (uint64_t *)&s->pub;

	for (size_t i = 0; i < NCOUNTERS; i++)
		__atomic_store_n(&to[i], from[i], __ATOMIC_RELAXED);
}

void arp_service_counters(const struct arp_service *s, struct arp_counters *out)
{
	const uint64_t *from = (const uint64_t *)&s->pub;
	uint64_t *to = (uint64_t *)out;

	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < NCOUNTERS; i++)
		to[i] = __atomic_load_n(&from[i], __ATOMIC_RELAXED);
}

int arp_service_stats_update(struct arp_service *s)
{
	return s->rx.fd >= 0 ? v2ring_stats_update(&s->rx) : 0;
}

/* ------------------------------------------------------------------ thread */

static bool stop_requested(const struct arp_service *s)
{
	uint64_t v;

	return read(s->stop_fd, &v, sizeof(v)) == sizeof(v);
}

static inline void cpu_pause(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#else
	__asm__ __volatile__("" ::: "memory");
#endif
}

/* Check the ring for up to `ns`: true when a frame came. Bounded by the
 * allowance arp_busy_allowance gave; counted. */
static bool spin_on_ring(struct arp_service *s, uint64_t ns)
{
	/* the frame to watch stays the same while we spin: look it up once */
	const struct tpacket2_hdr *h = v2ring_frame_hdr(&s->rx, s->rx.cur);
	uint64_t start = now_ns(), now = start;
	bool caught;

	while (!(caught = __atomic_load_n(&h->tp_status, __ATOMIC_ACQUIRE) & TP_STATUS_USER) &&
	       (now = now_ns()) - start < ns)
		cpu_pause();
	arp_busy_spun(&s->busy, caught, now);
	s->c.busy_windows++;
	s->c.busy_caught += caught;
	return caught;
}

static void *service_main(void *arg)
{
	struct arp_service *s = arg;
	struct pollfd pfd[2] = {
		{ .fd = s->rx.fd, .events = POLLIN },
		{ .fd = s->stop_fd, .events = POLLIN },
	};
	sigset_t all;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	if (s->cfg.cpu >= 0 && pin_to_cpu(s->cfg.cpu))
		log_warn("ARP responder: cannot pin to CPU %d", s->cfg.cpu);
	pthread_setname_np(pthread_self(), "ringcap-arp");
	for (;;) {
		int timeout = IDLE_POLL_MS, next, ret;
		unsigned n = arp_service_drain(s, BATCH);
		uint64_t spin, slept_from;

		if (n == BATCH) {
			publish(s);
			continue; /* a flood: the next batch is most likely there */
		}
		next = announce_due(s);
		publish(s);
		/* busy-polling off: no clock reads for its bookkeeping */
		spin = s->busy.window_ns ? arp_busy_allowance(&s->busy, n, now_ns()) : 0;
		if (spin && spin_on_ring(s, spin))
			continue;
		if (next >= 0 && next < timeout)
			timeout = next;
		if (s->tx.queued && timeout > 1)
			timeout = 1; /* the device refused some: retry soon */
		slept_from = s->busy.window_ns ? now_ns() : 0;
		ret = poll(pfd, 2, timeout);
		if (s->busy.window_ns)
			arp_busy_slept(&s->busy, slept_from, now_ns());
		if (ret < 0 && errno != EINTR) {
			s->error = -errno;
			break;
		}
		if (pfd[1].revents & POLLIN && stop_requested(s))
			break;
		if (pfd[0].revents & POLLERR) /* ENETDOWN and such: clear it, answer once up */
			(void)v2ring_take_error(&s->rx);
	}
	/* Stopped receiving: answer what is queued, then get the last out. */
	while (arp_service_drain(s, BATCH))
		;
	for (int i = 0; s->tx.queued && i < FLUSH_TRIES_MS; i++) {
		usleep(1000);
		flush(s);
	}
	publish(s);
	return NULL;
}

/*
 * The kernel answers ARP in softirq, ahead of every task; a responder thread
 * that waits for a time slice behind the capture workers or anything else on
 * its CPU answers milliseconds late (measured: p99 2.8 ms at 20,000 requests/s
 * on a CPU shared with a busy process, 27 us with SCHED_FIFO). So it runs
 * SCHED_FIFO when allowed: it sleeps whenever the ring is empty, and a flood
 * costs it about a microsecond per request, within the kernel's RT throttle.
 */
int arp_service_start(struct arp_service *s)
{
	pthread_attr_t attr;
	int ret;

	if (s->cfg.priority > 0) {
		struct sched_param sp = { .sched_priority = s->cfg.priority };

		pthread_attr_init(&attr);
		pthread_attr_setinheritsched(&attr, PTHREAD_EXPLICIT_SCHED);
		pthread_attr_setschedpolicy(&attr, SCHED_FIFO);
		pthread_attr_setschedparam(&attr, &sp);
		ret = pthread_create(&s->thread, &attr, service_main, s);
		pthread_attr_destroy(&attr);
		if (!ret) {
			s->started = true;
			return 0;
		}
		if (ret != EPERM)
			return -ret;
		log_warn("ARP responder: no SCHED_FIFO (%s: needs CAP_SYS_NICE; -Z drops it); "
			 "answers may wait for a time slice", strerror(ret));
	}
	ret = pthread_create(&s->thread, NULL, service_main, s);
	if (ret)
		return -ret;
	s->started = true;
	return 0;
}

void arp_service_stop(struct arp_service *s)
{
	uint64_t one = 1;
	int ret;

	if (s->rx.fd >= 0 && (ret = v2ring_stop_receiving(&s->rx)))
		log_warn("ARP responder: cannot stop the socket receiving (%s)", strerror(-ret));
	if (s->started) {
		if (write(s->stop_fd, &one, sizeof(one)) != sizeof(one))
			log_warn("ARP responder: cannot wake its thread: %s", strerror(errno));
		pthread_join(s->thread, NULL);
		s->started = false;
	}
	arp_service_stats_update(s);
}

/* ------------------------------------------------------------------ report */


void arp_print_counters(const struct arp_service *s, FILE *f)
{
	struct arp_counters snap;
	const struct arp_counters *c = &snap;

	arp_service_counters(s, &snap);

	fprintf(f, "%llu ARP requests for pool addresses\n", (unsigned long long)c->requests);
	if (s->r->nndp)
		fprintf(f, "%llu neighbor solicitations for pool addresses (%llu DAD)\n",
			(unsigned long long)c->ns_requests, (unsigned long long)c->ns_dad);
	if (c->announced)
		fprintf(f, "%llu announcements queued\n", (unsigned long long)c->announced);
	if (s->cfg.busy_poll_us)
		fprintf(f, "%llu busy-poll windows, %llu caught a request\n",
			(unsigned long long)c->busy_windows, (unsigned long long)c->busy_caught);
	fprintf(f, "%llu ARP replies sent\n", (unsigned long long)c->replies);
	fprintf(f, "%llu ARP replies lost (TX ring full)\n", (unsigned long long)c->tx_full);
	fprintf(f, "%llu ARP requests received by filter, %llu dropped by kernel\n",
		(unsigned long long)s->rx.stats.packets, (unsigned long long)s->rx.stats.drops);
	fprintf(f,
		"%llu ARP ignored: %llu outside pools, %llu not requests, %llu gratuitous, "
		"%llu from our MAC, %llu malformed, %llu not for us, %llu bad sender, "
		"%llu bad target, %llu other VLAN\n",
		(unsigned long long)(c->ign_out_of_pool + c->ign_not_request + c->ign_gratuitous +
				     c->ign_own + c->ign_malformed + c->ign_not_for_us +
				     c->ign_bad_sender + c->ign_bad_target + c->ign_vlan),
		(unsigned long long)c->ign_out_of_pool, (unsigned long long)c->ign_not_request,
		(unsigned long long)c->ign_gratuitous, (unsigned long long)c->ign_own,
		(unsigned long long)c->ign_malformed, (unsigned long long)c->ign_not_for_us,
		(unsigned long long)c->ign_bad_sender, (unsigned long long)c->ign_bad_target,
		(unsigned long long)c->ign_vlan);
	if (s->r->nndp)
		fprintf(f,
			"%llu NDP ignored: %llu outside pools, %llu malformed, %llu not for us, "
			"%llu bad sender, %llu from our MAC, %llu other VLAN\n",
			(unsigned long long)(c->ns_out_of_pool + c->ns_malformed + c->ns_not_for_us +
					     c->ns_bad_sender + c->ns_own + c->ns_vlan),
			(unsigned long long)c->ns_out_of_pool, (unsigned long long)c->ns_malformed,
			(unsigned long long)c->ns_not_for_us, (unsigned long long)c->ns_bad_sender,
			(unsigned long long)c->ns_own, (unsigned long long)c->ns_vlan);
}
