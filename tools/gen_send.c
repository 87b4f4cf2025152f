/*
 * ringcap-gen's sender: batches of frames into the TX ring, one send() per
 * batch, slots reaped in ring order, paced by the monotonic clock; and the
 * pcap copy of what left. How it works is written at the top of ringcap-gen.c.
 */
#include <errno.h>
#include <linux/if_packet.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "tools/gen.h"
#include "util/util.h"

static volatile sig_atomic_t got_signal;

static void on_signal(int sig)
{
	(void)sig;
	got_signal = 1;
}

void sender_signals_install(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

/* ------------------------------------------------------------- pcap file */

int gen_pcap_open(struct pcap_out *p, const char *path)
{
	struct {
		uint32_t magic;
		uint16_t major, minor;
		int32_t thiszone;
		uint32_t sigfigs, snaplen, linktype;
	} hdr = { 0xa1b2c3d4, 2, 4, 0, 0, PCAP_SNAPLEN, 1 /* LINKTYPE_ETHERNET */ };
	int err;

	p->path = path;
	p->err = 0;
	p->f = fopen(path, "we");
	if (!p->f)
		return -errno;
	/* A big stdio buffer: records are appended from the reaping loop. */
	p->buf = xcalloc(1, PCAP_BUF);
	setvbuf(p->f, p->buf, _IOFBF, PCAP_BUF);
	if (fwrite(&hdr, sizeof(hdr), 1, p->f) != 1)
		goto out_close;
	return 0;

out_close:
	err = errno ? -errno : -EIO;
	fclose(p->f);
	xfree(p->buf);
	p->f = NULL;
	return err;
}

static void gen_pcap_write(struct pcap_out *p, uint64_t ts_ns, const uint8_t *data, uint32_t len)
{
	uint32_t rec[4] = {
		(uint32_t)(ts_ns / NSEC), (uint32_t)(ts_ns % NSEC / 1000), len, len,
	};

	if (p->err)
		return;
	if (fwrite(rec, sizeof(rec), 1, p->f) != 1 || fwrite(data, len, 1, p->f) != 1)
		p->err = errno ? -errno : -EIO;
}

/* Flushes and closes; 0 or the first error. Safe on a file never opened. */
int gen_pcap_close(struct pcap_out *p)
{
	int err = p->err;

	if (!p->f)
		return 0;
	if (fclose(p->f) && !err)
		err = errno ? -errno : -EIO;
	xfree(p->buf);
	p->f = NULL;
	return err;
}

/* -------------------------------------------------------------- TX ring */

static inline uint32_t slot_status(const struct txring *r, unsigned i)
{
	return __atomic_load_n(&txring_slot(r, i)->tp_status, __ATOMIC_ACQUIRE);
}

/* ------------------------------------------------------------- sending */

static inline unsigned ring_next(const struct sender *s, unsigned i)
{
	return i + 1 == s->ring.frame_nr ? 0 : i + 1;
}

static inline uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

/* Sent slots leave in ring order: AVAILABLE = on its way, counted (and written
 * to the pcap) only now; WRONG_FORMAT = rejected. Returns whether any left. */
static bool reap(struct sender *s, uint64_t now)
{
	unsigned done = 0;

	while (s->inflight) {
		struct tpacket2_hdr *h = txring_slot(&s->ring, s->tail);
		uint32_t st = slot_status(&s->ring, s->tail);

		if (st & (TP_STATUS_SEND_REQUEST | TP_STATUS_SENDING))
			break;
		if (st & TP_STATUS_WRONG_FORMAT) {
			/* The kernel's TX head stays on a rejected slot (it only
			 * steps past bad frames with PACKET_LOSS, silently), so
			 * nothing after it can go: count it and stop. */
			s->errors++;
			s->rejected_seq = s->queued - s->inflight;
			s->stop = STOP_REJECTED;
		} else {
			s->sent++;
			s->bytes += h->tp_len;
			if (s->pcap)
				gen_pcap_write(s->pcap, s->slot_ts[s->tail], txring_slot_data(&s->ring, s->tail),
					   h->tp_len);
		}
		s->tail = ring_next(s, s->tail);
		s->inflight--;
		done++;
		if (s->stop == STOP_REJECTED)
			break;
	}
	if (done)
		s->t_last = now;
	return done;
}

static void kick(struct sender *s)
{
	if (send(s->ring.fd, NULL, 0, MSG_DONTWAIT) >= 0) {
		s->need_kick = false;
		return;
	}
	s->send_err = -errno;
	switch (errno) {
	case ENETDOWN:
	case ENXIO:
	case ENODEV:
		s->stop = STOP_SEND;
		break;
	default:
		/* EAGAIN (socket buffer full), ENOBUFS (qdisc or veth peer
		 * dropped; the kernel put the frame back to SEND_REQUEST): kick
		 * again. A rejected frame shows up as WRONG_FORMAT in reap(). */
		s->need_kick = true;
		break;
	}
}

/* How many frames to build now: all that are due, in batches. */
static uint64_t frames_ready(const struct sender *s, uint64_t now)
{
	uint64_t left = s->o->count - s->queued;
	uint64_t room = s->ring.frame_nr - s->inflight;
	uint64_t n = min_u64(min_u64(left, room), BATCH_MAX);
	uint64_t due;

	if (!s->o->rate || !n)
		return n;
	due = pace_due_count(s->t0, now, s->o->rate);
	if (due <= s->queued)
		return 0;
	n = min_u64(n, due - s->queued);
	/* Wait until a whole paced batch is due, unless the ring or COUNT caps it. */
	return n >= min_u64(min_u64(s->pace_batch, left), room) ? n : 0;
}

static void next_frame(struct sender *s)
{
	const struct opts *o = s->o;

	if (++s->size_i == o->nsizes) {
		s->size_i = 0;
		if (++s->proto_i == s->nprotos)
			s->proto_i = 0;
	}
	if (++s->flow == o->flows)
		s->flow = 0;
}

static uint32_t arp_target(struct sender *s)
{
	const struct opts *o = s->o;
	const struct ip_range *r = &o->arp_pool;
	uint64_t *i = &s->arp_in_i;
	uint32_t ip;

	if (!o->arp_flood)
		return o->dst_ip;
	if (o->arp_out_set && (s->queued & 1)) {	/* odd frames: out of the pool */
		r = &o->arp_out;
		i = &s->arp_out_i;
	}
	ip = r->first + (uint32_t)*i;
	if (ip == r->last)
		*i = 0;
	else
		++*i;
	return ip;
}

static void fill_batch(struct sender *s, uint64_t n)
{
	uint64_t ts = s->pcap ? realtime_ns() : 0;
	struct frame_vars v;

	for (uint64_t i = 0; i < n; i++) {
		const struct tmpl *t = &s->tmpls[s->proto_i * s->o->nsizes + s->size_i];
		struct tpacket2_hdr *h = txring_slot(&s->ring, s->head);

		v.seq = s->queued;
		v.flow = s->flow;
		v.src_low = s->flow_low[s->flow];
		v.arp_tpa = t->arp_tpa ? arp_target(s) : 0;
		frame_fill(txring_slot_data(&s->ring, s->head), t, s->pattern, &v);
		h->tp_len = t->len;
		if (s->slot_ts)
			s->slot_ts[s->head] = ts;
		/* Release: the kernel reads the frame after it sees the status. */
		__atomic_store_n(&h->tp_status, TP_STATUS_SEND_REQUEST, __ATOMIC_RELEASE);
		s->head = ring_next(s, s->head);
		s->inflight++;
		s->queued++;
		next_frame(s);
	}
}

/* Nothing to build right now: retry a kick the kernel pushed back, then sleep
 * or spin towards the next paced batch (--pace sleep: only sleep), or nap
 * while the kernel holds frames. */
static void idle(struct sender *s, uint64_t now)
{
	uint64_t left = s->o->count - s->queued;
	uint64_t wake;

	if (s->need_kick) {
		kick(s);
		if (s->need_kick) {
			sleep_until(now + IDLE_NS);	/* let completions free the socket */
			return;
		}
	}
	if (s->o->rate && left && s->inflight < s->ring.frame_nr) {
		wake = pace_due_ns(s->t0, s->queued + min_u64(s->pace_batch, left) - 1, s->o->rate);
		if (s->deadline && wake > s->deadline)
			wake = s->deadline;
		if (s->o->pace == PACE_SLEEP) {
			if (wake > now)
				sleep_until(wake);
			return;
		}
		if (wake > now + SLEEP_MIN_NS)
			sleep_until(wake - SPIN_NS);
		return;	/* else spin: the caller loops */
	}
	if (s->inflight)
		sleep_until(now + IDLE_NS);
}

/* Stopped early: take back the frames the kernel has not picked up (it touches
 * SEND_REQUEST slots only inside our own send(), so this is race-free), then
 * give the ones it is sending a bounded time to complete. */
static void drain(struct sender *s)
{
	uint64_t until;

	reap(s, now_ns());
	while (s->inflight) {
		unsigned last = s->head ? s->head - 1 : s->ring.frame_nr - 1;
		struct tpacket2_hdr *h = txring_slot(&s->ring, last);

		if (slot_status(&s->ring, last) != TP_STATUS_SEND_REQUEST)
			break;
		__atomic_store_n(&h->tp_status, TP_STATUS_AVAILABLE, __ATOMIC_RELAXED);
		s->head = last;
		s->inflight--;
		s->queued--;
	}
	until = now_ns() + DRAIN_NS;
	while (s->inflight && now_ns() < until) {
		sleep_until(now_ns() + 1000000);
		reap(s, now_ns());
	}
}

void sender_run(struct sender *s)
{
	uint64_t now, last_progress;

	s->t0 = s->t_last = last_progress = now_ns();
	if (s->o->duration_ns)
		s->deadline = s->t0 + s->o->duration_ns;
	while (s->stop == STOP_NONE) {
		uint64_t n;

		now = now_ns();
		if (reap(s, now) || !s->inflight)
			last_progress = now;
		if (s->stop != STOP_NONE)
			break;
		if (s->queued == s->o->count && !s->inflight)
			return;
		if (got_signal)
			s->stop = STOP_SIGNAL;
		else if (s->deadline && now >= s->deadline)
			s->stop = STOP_DURATION;
		else if (now - last_progress > STALL_NS)
			s->stop = STOP_STALL;
		if (s->stop != STOP_NONE)
			break;
		n = frames_ready(s, now);
		if (n) {
			fill_batch(s, n);
			kick(s);
		} else {
			idle(s, now);
		}
	}
	drain(s);
}
