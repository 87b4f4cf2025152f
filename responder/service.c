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
 * Each answer is counted as sent under its own name (ARP reply, NDP advert,
 * announcement) when the kernel takes its frame: the TX ring sends in ring
 * order, so a FIFO of what each queued frame holds says which went.
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
#define TX_FRAME_NR ARP_TX_FRAMES
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
	expr = neighbour_prefilter(r);
	ret = filter_compile(&s->filter, expr, RX_SNAPLEN, err, sizeof(err));
	if (ret)
		log_err("ARP/NDP prefilter '%s': %s", expr, err);
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

/* What a queued TX frame holds. */
enum answer_kind { ANSWER_ARP_REPLY, ANSWER_NDP_ADVERT, ANSWER_ANNOUNCE };

/* Answer one frame of either protocol (ARP requests, Neighbor Solicitations;
 * anything else: 0, uncounted). */
uint32_t neighbour_answer(const struct arp_responder *r, const struct pkt_view *p,
			  uint8_t reply[ARP_REPLY_MAX], struct responder_counters *c)
{
	struct l2 l;

	if (!l2_parse(p, &l))
		return 0;
	if (l.type == ETH_TYPE_ARP)
		return arp_build_reply(r, p, reply, c);
	if (l.type == ETH_TYPE_IPV6 && r->nndp)
		return ndp_build_advert(r, p, reply, c);
	return 0;
}

/* Queue the frame txring_frame() gave, remembering what it holds. */
static void queue_kind(struct arp_service *s, uint32_t len, enum answer_kind kind)
{
	s->tx_kind[(s->tx_kind_head + s->tx.queued) % ARP_TX_FRAMES] = (uint8_t)kind;
	txring_queue(&s->tx, len);
}

/* `sent` frames at the head of the queue went out: count each by kind. */
static void count_sent(struct arp_service *s, uint32_t sent)
{
	for (uint32_t i = 0; i < sent; i++) {
		switch ((enum answer_kind)s->tx_kind[(s->tx_kind_head + i) % ARP_TX_FRAMES]) {
		case ANSWER_ARP_REPLY:
			s->c.arp_replies_sent++;
			break;
		case ANSWER_NDP_ADVERT:
			s->c.ndp_adverts_sent++;
			break;
		case ANSWER_ANNOUNCE:
			s->c.announcements_sent++;
			break;
		}
	}
	s->tx_kind_head = (s->tx_kind_head + sent) % ARP_TX_FRAMES;
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
	count_sent(s, pending - s->tx.queued);
}

static void queue_announce(struct arp_service *s, const uint8_t *frame, uint32_t len)
{
	uint8_t *slot = txring_frame(&s->tx);

	if (!slot) {
		s->c.tx_full++;
		return;
	}
	memcpy(slot, frame, len);
	queue_kind(s, len, ANSWER_ANNOUNCE);
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
		uint64_t adverts = s->c.ndp_answered;
		uint8_t *slot;
		uint32_t len;

		if (!h)
			break;
		/* built straight into the TX frame; with the ring full, aside
		 * (so it is still checked and counted) and then dropped */
		slot = txring_frame(&s->tx);
		len = neighbour_answer(s->r, &p, slot ? slot : reply, &s->c);
		v2ring_release(&s->rx, h);
		if (len && slot)
			queue_kind(s, len, s->c.ndp_answered != adverts ? ANSWER_NDP_ADVERT
								: ANSWER_ARP_REPLY);
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

			if (ndp_pool_nth(q, a->off, ip) && a->off != UINT64_MAX) {
				len = ndp_build_announce(r, ip, q->vid > 0 ? (unsigned)q->vid : 0, frame);
				a->off++;
			}
		}
		if (!len) {
			a->pool++;
			a->off = 0;
			continue;
		}
		queue_announce(s, frame, len);
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
#define NCOUNTERS (sizeof(struct responder_counters) / sizeof(uint64_t))

static void publish(struct arp_service *s)
{
	const uint64_t *from = (const uint64_t *)&s->c;
	uint64_t *to = (uint64_t *)&s->pub;

	for (size_t i = 0; i < NCOUNTERS; i++)
		__atomic_store_n(&to[i], from[i], __ATOMIC_RELAXED);
}

void arp_service_counters(const struct arp_service *s, struct responder_counters *out)
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
		/* EPERM: no CAP_SYS_NICE (-Z drops it; ringcap@.service does not
		 * grant it), or a seccomp filter refusing real-time policies
		 * (systemd's RestrictRealtime=yes, which the unit sets). */
		log_warn("ARP responder: no SCHED_FIFO (%s: needs CAP_SYS_NICE, and under systemd "
			 "RestrictRealtime=no); answers may wait for a time slice "
			 "(--arp-priority 0 runs it at normal priority without this warning)",
			 strerror(ret));
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
	struct responder_counters snap;
	const struct responder_counters *c = &snap;

	arp_service_counters(s, &snap);

	fprintf(f, "%llu ARP requests received by filter\n", (unsigned long long)c->arp_received);
	fprintf(f, "%llu ARP requests answered (%llu probes)\n",
		(unsigned long long)c->arp_answered, (unsigned long long)c->arp_probes);
	fprintf(f, "%llu ARP replies sent\n", (unsigned long long)c->arp_replies_sent);
	if (s->r->nndp) {
		fprintf(f, "%llu NDP solicitations received by filter\n",
			(unsigned long long)c->ndp_received);
		fprintf(f, "%llu NDP solicitations answered (%llu DAD)\n",
			(unsigned long long)c->ndp_answered, (unsigned long long)c->ndp_dad);
		fprintf(f, "%llu NDP adverts sent\n", (unsigned long long)c->ndp_adverts_sent);
	}
	if (c->announced)
		fprintf(f, "%llu announcements queued, %llu sent\n",
			(unsigned long long)c->announced, (unsigned long long)c->announcements_sent);
	if (s->cfg.busy_poll_us)
		fprintf(f, "%llu busy-poll windows, %llu caught a request\n",
			(unsigned long long)c->busy_windows, (unsigned long long)c->busy_caught);
	fprintf(f, "%llu answers lost (TX ring full)\n", (unsigned long long)c->tx_full);
	fprintf(f, "%llu responder frames received by filter, %llu dropped by kernel\n",
		(unsigned long long)s->rx.stats.packets, (unsigned long long)s->rx.stats.drops);
	fprintf(f,
		"%llu ARP ignored: %llu outside pools, %llu not requests, %llu gratuitous, "
		"%llu from our MAC, %llu malformed, %llu not for us, %llu bad sender, "
		"%llu bad target, %llu other VLAN\n",
		(unsigned long long)(c->arp_ign_out_of_pool + c->arp_ign_not_request +
				     c->arp_ign_gratuitous + c->arp_ign_own + c->arp_ign_malformed +
				     c->arp_ign_not_for_us + c->arp_ign_bad_sender +
				     c->arp_ign_bad_target + c->arp_ign_vlan),
		(unsigned long long)c->arp_ign_out_of_pool, (unsigned long long)c->arp_ign_not_request,
		(unsigned long long)c->arp_ign_gratuitous, (unsigned long long)c->arp_ign_own,
		(unsigned long long)c->arp_ign_malformed, (unsigned long long)c->arp_ign_not_for_us,
		(unsigned long long)c->arp_ign_bad_sender, (unsigned long long)c->arp_ign_bad_target,
		(unsigned long long)c->arp_ign_vlan);
	if (s->r->nndp)
		fprintf(f,
			"%llu NDP ignored: %llu outside pools, %llu malformed, %llu not for us, "
			"%llu bad sender, %llu from our MAC, %llu other VLAN\n",
			(unsigned long long)(c->ndp_ign_out_of_pool + c->ndp_ign_malformed +
					     c->ndp_ign_not_for_us + c->ndp_ign_bad_sender +
					     c->ndp_ign_own + c->ndp_ign_vlan),
			(unsigned long long)c->ndp_ign_out_of_pool,
			(unsigned long long)c->ndp_ign_malformed,
			(unsigned long long)c->ndp_ign_not_for_us,
			(unsigned long long)c->ndp_ign_bad_sender, (unsigned long long)c->ndp_ign_own,
			(unsigned long long)c->ndp_ign_vlan);
}

void arp_service_stats(const struct arp_service *s, struct responder_stats *out)
{
	struct responder_counters c;

	arp_service_counters(s, &c);
	const struct stats_pair arp[] = {
		{ "requests_received", c.arp_received },
		{ "requests_answered", c.arp_answered },
		{ "probes_answered", c.arp_probes },
		{ "replies_sent", c.arp_replies_sent },
		{ "ignored.out_of_pool", c.arp_ign_out_of_pool },
		{ "ignored.not_request", c.arp_ign_not_request },
		{ "ignored.gratuitous", c.arp_ign_gratuitous },
		{ "ignored.own_mac", c.arp_ign_own },
		{ "ignored.malformed", c.arp_ign_malformed },
		{ "ignored.not_for_us", c.arp_ign_not_for_us },
		{ "ignored.bad_sender", c.arp_ign_bad_sender },
		{ "ignored.bad_target", c.arp_ign_bad_target },
		{ "ignored.other_vlan", c.arp_ign_vlan },
	};
	const struct stats_pair ndp[] = {
		{ "solicitations_received", c.ndp_received },
		{ "solicitations_answered", c.ndp_answered },
		{ "dad_answered", c.ndp_dad },
		{ "adverts_sent", c.ndp_adverts_sent },
		{ "ignored.out_of_pool", c.ndp_ign_out_of_pool },
		{ "ignored.malformed", c.ndp_ign_malformed },
		{ "ignored.not_for_us", c.ndp_ign_not_for_us },
		{ "ignored.bad_sender", c.ndp_ign_bad_sender },
		{ "ignored.own_mac", c.ndp_ign_own },
		{ "ignored.other_vlan", c.ndp_ign_vlan },
	};
	const struct stats_pair both[] = {
		{ "frames_received", s->rx.stats.packets },
		{ "kernel_drops", s->rx.stats.drops },
		{ "tx_ring_full", c.tx_full },
		{ "announcements_queued", c.announced },
		{ "announcements_sent", c.announcements_sent },
		{ "busy_poll_windows", c.busy_windows },
		{ "busy_poll_caught", c.busy_caught },
	};
	struct stats_pair *p = out->pairs;

	_Static_assert(ARRAY_SIZE(arp) + ARRAY_SIZE(ndp) + ARRAY_SIZE(both) <= RESPONDER_STATS_PAIRS,
		       "responder stats pairs");
	memcpy(p, arp, sizeof(arp));
	memcpy(p + ARRAY_SIZE(arp), ndp, sizeof(ndp));
	memcpy(p + ARRAY_SIZE(arp) + ARRAY_SIZE(ndp), both, sizeof(both));
	out->groups[0] = (struct stats_group){ "arp", "ARP responder counter (see ringcap(8)).",
					      p, ARRAY_SIZE(arp) };
	out->groups[1] = (struct stats_group){ "ndp", "NDP responder counter (see ringcap(8)).",
					      p + ARRAY_SIZE(arp), ARRAY_SIZE(ndp) };
	out->groups[2] = (struct stats_group){ "responder",
					      "ARP/NDP responder counter (see ringcap(8)).",
					      p + ARRAY_SIZE(arp) + ARRAY_SIZE(ndp), ARRAY_SIZE(both) };
	out->ngroups = 3;
}
