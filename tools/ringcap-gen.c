/*
 * ringcap-gen — ringcap's own traffic generator.
 *
 * Sends exactly COUNT Ethernet frames out of one interface and says how fast:
 *
 *   ringcap-gen -i IFACE -n COUNT [-s SIZE | --sizes A,B,...] [-r RATE|max]
 *               [--mix | --arp-flood A-B [--arp-out C-D]] [--flows N]
 *               [--write-pcap FILE] [--bypass] [--cpu N] [--duration T] [--json]
 *
 * (`ringcap-gen --help` has every option and examples.)
 *
 * How it works
 *   Set-up: ring/txring's TX ring, the one ringcap's ARP responder sends
 *   through (protocol 0 so it never receives, TPACKET_V2, optional
 *   PACKET_QDISC_BYPASS), asked to halve on ENOMEM and to grow the send buffer
 *   to the ring's size. The interface comes from ring's iface_lookup.
 *
 *   Frames: one template per (protocol, size) pair is built before sending.
 *   Per frame we copy the template's headers, copy the payload pattern for
 *   this frame's phase (index mod 256), patch the index, flow and ICMP fields,
 *   and checksum only the headers: each template carries the payload's
 *   checksum contribution for all 256 phases, computed once.
 *
 *   Sending: fill a batch of free slots and flip each to SEND_REQUEST, then one
 *   send(fd, NULL, 0, MSG_DONTWAIT) hands the whole batch to the kernel. Slots
 *   are reaped in ring order: back to AVAILABLE means sent (and only then is it
 *   counted and written to the pcap), WRONG_FORMAT means rejected. We fill at
 *   most COUNT frames, so exactly COUNT leave unless something stops us.
 *
 *   Frame k: size sizes[k mod S], protocol protos[(k div S) mod P] (so with
 *   --mix every protocol meets every size), flow k mod N. Every frame but ARP
 *   carries "RCG1" + k (64-bit big-endian) right after its L4 header when it
 *   has 12 bytes of payload, then pattern bytes from phase k mod 256.
 *
 *   Pacing: frame k is due at t0 + k/rate on CLOCK_MONOTONIC, computed from
 *   t0 every time so rounding never accumulates. A batch goes out when its
 *   last frame is due; batches are ~20 us of frames (1..32). Far waits sleep
 *   (with 1 ns timer slack), the last ~80 us spin. A sender that falls behind
 *   catches up in full batches and says so at the end.
 *
 *   Slot reuse: the kernel builds each skb around the slot's pages (zero
 *   copy) and flips the slot to AVAILABLE when the skb lets go of them; veth
 *   copies those pages (skb_copy_ubufs) before handing the frame to the peer's
 *   namespace, so a reaped slot is ours to overwrite.
 *
 * Exit status: 0 all COUNT frames sent; 1 fewer (duration, signal, kernel
 * error, pcap write error); 2 bad arguments or unusable interface.
 */
#include <errno.h>
#include <inttypes.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if_arp.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench/common.h"
#include "ring/ring.h"
#include "ring/txring.h"
#include "util/util.h"

#define NSEC		1000000000ull
#define FRAME_MIN	60	/* Ethernet minimum without FCS */
#define FRAME_MAX	9000
#define UDP6_MIN	62	/* Ethernet + IPv6 + UDP with no payload */
#define ARP_LEN		60	/* 42 bytes of ARP + 18 of padding */
#define MAX_SIZES	32
#define LINE_OVERHEAD	24	/* preamble+SFD 8, FCS 4, inter-frame gap 12 */

#define MARKER		"RCG1"
#define MARK_LEN	12	/* marker + 64-bit big-endian frame index */
#define PHASES		256	/* payload pattern phases (frame index mod 256) */
#define TMPL_MAX	80	/* longest header run: 14 + 40 + 8 + 12 = 74 */

#define SPORT_BASE	1024
#define MAX_FLOWS	(65536 - SPORT_BASE)
#define VLAN_VID	100
#define ICMP_ID		0x7263	/* "rc": id + seq can never spell the marker */

#define RING_FRAMES	4096
#define RING_MIN	64
#define BATCH_MAX	256	/* frames per kick at full speed */
#define PACE_BATCH_MAX	32	/* frames per kick when paced */
#define PACE_SLICE_NS	20000	/* a paced batch spans about this long */
#define SLEEP_MIN_NS	150000	/* shorter waits spin: a sleep overshoots ~60 us here */
#define SPIN_NS		80000
#define IDLE_NS		20000	/* nap while the kernel still holds our frames */
#define STALL_NS	(5 * NSEC)
#define DRAIN_NS	NSEC

#define PCAP_SNAPLEN	262144
#define PCAP_BUF	(1u << 20)

enum proto { PROTO_UDP4, PROTO_TCP4, PROTO_ICMP4, PROTO_ARP, PROTO_UDP6, PROTO_VLAN_UDP4 };

static const enum proto mix_protos[] = {
	PROTO_UDP4, PROTO_TCP4, PROTO_ICMP4, PROTO_ARP, PROTO_UDP6, PROTO_VLAN_UDP4,
};

struct ip_range {
	uint32_t first, last;	/* host order, inclusive */
};

struct opts {
	const char *ifname;
	uint64_t count;
	uint16_t sizes[MAX_SIZES];
	unsigned nsizes;
	bool size_set, sizes_set;
	uint64_t rate;		/* frames per second; 0: as fast as possible */
	uint32_t flows;
	bool bypass, mix, quiet, json;
	bool arp_flood, arp_out_set;
	struct ip_range arp_pool, arp_out;
	uint8_t src_mac[6], dst_mac[6];
	bool src_mac_set;
	uint32_t src_ip, dst_ip;
	uint16_t dst_port;
	const char *pcap_path;
	int cpu;		/* -1: not pinned */
	const char *duration_arg;
	uint64_t duration_ns;	/* 0: no limit */
	uint32_t ring_frames;
};

/*
 * A prebuilt frame for one (protocol, size) pair. Offsets are from the start
 * of the frame; 0 means "this frame has no such field" (nothing we patch can
 * sit at offset 0, the Ethernet destination).
 */
struct tmpl {
	uint8_t hdr[TMPL_MAX];		/* everything before the pattern (all of an ARP frame) */
	uint32_t pay_sum[PHASES];	/* the pattern's checksum contribution per phase */
	uint16_t len, hdr_len;
	uint16_t l3, l4;
	uint16_t ip4_csum;		/* IPv4 header checksum */
	uint16_t l4_csum;		/* UDP/TCP/ICMP checksum */
	uint16_t pseudo_off, pseudo_len; /* the addresses of the pseudo-header */
	uint16_t pseudo_rest;		/* its other words: protocol + L4 length */
	uint16_t sport;			/* source port, varied per flow */
	uint16_t src_low;		/* source address's last byte, varied per flow */
	uint16_t icmp_seq;		/* echo sequence number = index mod 2^16 */
	uint16_t arp_tpa;		/* ARP target address */
	uint16_t seq_off;		/* 64-bit frame index after the marker */
	uint16_t pay_off, pay_len;	/* the pattern */
	bool udp;			/* a checksum of 0 goes out as 0xffff */
};

/* What differs between two frames built from the same template. */
struct frame_vars {
	uint64_t seq;
	uint32_t flow;
	uint8_t src_low;
	uint32_t arp_tpa;
};

struct pcap_out {
	FILE *f;
	char *buf;
	const char *path;
	int err;		/* first write error, -errno */
};

enum stop_reason { STOP_NONE, STOP_DURATION, STOP_SIGNAL, STOP_STALL, STOP_SEND, STOP_REJECTED };

struct sender {
	const struct opts *o;
	struct txring ring;
	const struct tmpl *tmpls;	/* [proto_i * nsizes + size_i] */
	const uint8_t *pattern;
	const uint8_t *flow_low;	/* source address low byte per flow */
	unsigned nprotos;
	uint64_t pace_batch;

	/* the next frame to build */
	unsigned size_i, proto_i;
	uint32_t flow;
	uint64_t arp_in_i, arp_out_i;

	/* slots [tail, head) are in the kernel's hands, `inflight` of them */
	unsigned head, tail, inflight;
	bool need_kick;		/* the last kick left frames behind (EAGAIN/ENOBUFS) */
	int send_err;		/* last send() error, -errno */

	uint64_t queued, sent, bytes, errors;
	uint64_t rejected_seq;
	uint64_t t0, t_last, deadline;
	enum stop_reason stop;

	uint64_t *slot_ts;	/* CLOCK_REALTIME ns at queueing, per slot (pcap only) */
	struct pcap_out *pcap;
};

static volatile sig_atomic_t got_signal;

/* ---------------------------------------------------------------- bytes */

static inline void put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void put_be32(uint8_t *p, uint32_t v)
{
	put_be16(p, (uint16_t)(v >> 16));
	put_be16(p + 2, (uint16_t)v);
}

static inline void put_be64(uint8_t *p, uint64_t v)
{
	put_be32(p, (uint32_t)(v >> 32));
	put_be32(p + 4, (uint32_t)v);
}

/* RFC 1071 sum of big-endian 16-bit words, folded to 16 bits; an odd last
 * byte counts as a high byte, so only the final piece of a sum may be odd. */
static inline uint32_t csum_add(uint32_t sum, const uint8_t *p, size_t len)
{
	uint64_t s = sum;

	for (; len >= 2; p += 2, len -= 2)
		s += (uint32_t)p[0] << 8 | p[1];
	if (len)
		s += (uint32_t)p[0] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint32_t)s;
}

static inline uint16_t csum_finish(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* The payload pattern: frame k uses bytes [k mod 256, k mod 256 + len). Steps
 * of 0x9d within each 256-byte run, so it can never spell the marker. */
static void pattern_fill(uint8_t *p, size_t len)
{
	for (size_t j = 0; j < len; j++)
		p[j] = (uint8_t)(0x5a + 0x9d * j + 0x3b * (j >> 8));
}

/* ------------------------------------------------------------ templates */

static uint16_t put_eth(uint8_t *p, const struct opts *o, uint16_t type, bool vlan)
{
	memcpy(p, o->dst_mac, 6);
	memcpy(p + 6, o->src_mac, 6);
	if (!vlan) {
		put_be16(p + 12, type);
		return 14;
	}
	put_be16(p + 12, ETH_P_8021Q);
	put_be16(p + 14, VLAN_VID);	/* PCP 0, DEI 0 */
	put_be16(p + 16, type);
	return 18;
}

static void put_ipv4(uint8_t *p, uint8_t proto, uint16_t tot_len, uint32_t src, uint32_t dst)
{
	p[0] = 0x45;
	p[1] = 0;
	put_be16(p + 2, tot_len);
	put_be16(p + 4, 0);		/* id 0 is fine with DF set (RFC 6864) */
	put_be16(p + 6, 0x4000);	/* DF */
	p[8] = 64;
	p[9] = proto;
	put_be16(p + 10, 0);		/* checksum, per frame */
	put_be32(p + 12, src);
	put_be32(p + 16, dst);
}

/* 2001:2::/48 is IPv6's benchmarking prefix (RFC 5180), the counterpart of
 * 198.18.0.0/15: the IPv4 address goes in the low 32 bits. */
static void put_ipv6_addr(uint8_t *p, uint32_t v4)
{
	memset(p, 0, 16);
	put_be16(p, 0x2001);
	put_be16(p + 2, 0x0002);
	put_be32(p + 12, v4);
}

static void put_ipv6(uint8_t *p, uint16_t pay_len, uint32_t src, uint32_t dst)
{
	put_be32(p, 0x60000000);
	put_be16(p + 4, pay_len);
	p[6] = IPPROTO_UDP;
	p[7] = 64;
	put_ipv6_addr(p + 8, src);
	put_ipv6_addr(p + 24, dst);
}

static void put_arp_request(uint8_t *p, const uint8_t sha[6], uint32_t spa, uint32_t tpa)
{
	put_be16(p, ARPHRD_ETHER);
	put_be16(p + 2, ETH_P_IP);
	p[4] = 6;
	p[5] = 4;
	put_be16(p + 6, ARPOP_REQUEST);
	memcpy(p + 8, sha, 6);
	put_be32(p + 14, spa);
	memset(p + 18, 0, 6);
	put_be32(p + 24, tpa);
}

static void tmpl_build_arp(struct tmpl *t, const struct opts *o)
{
	uint16_t l3 = put_eth(t->hdr, o, ETH_P_ARP, false);

	put_arp_request(t->hdr + l3, o->src_mac, o->src_ip, o->dst_ip);
	t->len = t->hdr_len = ARP_LEN;	/* the rest of hdr is the zero padding */
	t->l3 = l3;
	t->arp_tpa = l3 + 24;
}

/* The L4 header at t->l4; returns its length. */
static uint16_t tmpl_put_l4(struct tmpl *t, enum proto proto, const struct opts *o, uint16_t l4_len)
{
	uint8_t *p = t->hdr + t->l4;

	switch (proto) {
	case PROTO_TCP4:
		put_be16(p, SPORT_BASE);
		put_be16(p + 2, o->dst_port);
		put_be32(p + 4, 1);		/* seq */
		put_be32(p + 8, 1);		/* ack */
		p[12] = 5 << 4;			/* data offset: 20 bytes */
		p[13] = 0x12;			/* SYN+ACK */
		put_be16(p + 14, 65535);	/* window */
		t->sport = t->l4;
		t->l4_csum = t->l4 + 16;	/* urgent pointer stays 0 */
		return 20;
	case PROTO_ICMP4:
		p[0] = 8;			/* echo request */
		put_be16(p + 4, ICMP_ID);
		t->icmp_seq = t->l4 + 6;
		t->l4_csum = t->l4 + 2;
		return 8;
	default:
		put_be16(p, SPORT_BASE);
		put_be16(p + 2, o->dst_port);
		put_be16(p + 4, l4_len);
		t->sport = t->l4;
		t->l4_csum = t->l4 + 6;
		t->udp = true;
		return 8;
	}
}

static void tmpl_build(struct tmpl *t, enum proto proto, unsigned size, const struct opts *o,
		       const uint8_t *pattern)
{
	uint8_t ipproto = proto == PROTO_TCP4 ? IPPROTO_TCP :
			  proto == PROTO_ICMP4 ? IPPROTO_ICMP : IPPROTO_UDP;
	uint16_t l4_len;

	memset(t, 0, sizeof(*t));
	if (proto == PROTO_ARP) {
		tmpl_build_arp(t, o);
		return;
	}
	if (proto == PROTO_UDP6 && size < UDP6_MIN)
		size = UDP6_MIN;
	t->len = (uint16_t)size;
	t->l3 = put_eth(t->hdr, o, proto == PROTO_UDP6 ? ETH_P_IPV6 : ETH_P_IP,
			proto == PROTO_VLAN_UDP4);
	if (proto == PROTO_UDP6) {
		t->l4 = t->l3 + 40;
		l4_len = t->len - t->l4;
		put_ipv6(t->hdr + t->l3, l4_len, o->src_ip, o->dst_ip);
		t->pseudo_off = t->l3 + 8;
		t->pseudo_len = 32;
		t->src_low = t->l3 + 23;
	} else {
		t->l4 = t->l3 + 20;
		l4_len = t->len - t->l4;
		put_ipv4(t->hdr + t->l3, ipproto, t->len - t->l3, o->src_ip, o->dst_ip);
		t->ip4_csum = t->l3 + 10;
		t->src_low = t->l3 + 15;
		if (proto != PROTO_ICMP4) {	/* ICMP has no pseudo-header */
			t->pseudo_off = t->l3 + 12;
			t->pseudo_len = 8;
		}
	}
	if (t->pseudo_len)
		t->pseudo_rest = ipproto + l4_len;
	t->pay_off = t->l4 + tmpl_put_l4(t, proto, o, l4_len);
	if (t->len - t->pay_off >= MARK_LEN) {
		memcpy(t->hdr + t->pay_off, MARKER, 4);
		t->seq_off = t->pay_off + 4;
		t->pay_off += MARK_LEN;
	}
	t->hdr_len = t->pay_off;
	t->pay_len = t->len - t->pay_off;
	/* The header run is even, so the pattern's words line up on its own. */
	for (unsigned ph = 0; ph < PHASES; ph++)
		t->pay_sum[ph] = csum_add(0, pattern + ph, t->pay_len);
}

/* The hot path: a whole frame into `f` from its template. */
static inline void frame_fill(uint8_t *f, const struct tmpl *t, const uint8_t *pattern,
			      const struct frame_vars *v)
{
	uint32_t sum = 0;
	uint16_t c;

	memcpy(f, t->hdr, t->hdr_len);
	if (t->arp_tpa) {
		put_be32(f + t->arp_tpa, v->arp_tpa);
		return;
	}
	memcpy(f + t->pay_off, pattern + (v->seq & (PHASES - 1)), t->pay_len);
	if (t->seq_off)
		put_be64(f + t->seq_off, v->seq);
	if (v->flow) {
		if (t->sport)
			put_be16(f + t->sport, (uint16_t)(SPORT_BASE + v->flow));
		f[t->src_low] = v->src_low;
	}
	if (t->icmp_seq)
		put_be16(f + t->icmp_seq, (uint16_t)v->seq);
	if (t->ip4_csum)
		put_be16(f + t->ip4_csum, csum_finish(csum_add(0, f + t->l3, 20)));
	if (t->pseudo_len)
		sum = csum_add(t->pseudo_rest, f + t->pseudo_off, t->pseudo_len);
	sum = csum_add(sum, f + t->l4, (size_t)(t->pay_off - t->l4));
	c = csum_finish(sum + t->pay_sum[v->seq & (PHASES - 1)]);
	if (c == 0 && t->udp)
		c = 0xffff;	/* 0 would mean "no checksum" */
	put_be16(f + t->l4_csum, c);
}

/* ------------------------------------------------------------- pcap file */

static int pcap_open(struct pcap_out *p, const char *path)
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

static void pcap_write(struct pcap_out *p, uint64_t ts_ns, const uint8_t *data, uint32_t len)
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
static int pcap_close(struct pcap_out *p)
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

static uint64_t realtime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * NSEC + (uint64_t)ts.tv_nsec;
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

/* Frame k is due at t0 + k/rate: from t0 each time, so no error piles up. */
static inline uint64_t due_ns(const struct sender *s, uint64_t k)
{
	return s->t0 + (uint64_t)((unsigned __int128)k * NSEC / s->o->rate);
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
				pcap_write(s->pcap, s->slot_ts[s->tail], txring_slot_data(&s->ring, s->tail),
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
	due = (uint64_t)((unsigned __int128)(now - s->t0) * s->o->rate / NSEC) + 1;
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

static void sleep_until(uint64_t t)
{
	struct timespec ts = { .tv_sec = (time_t)(t / NSEC), .tv_nsec = (long)(t % NSEC) };

	/* EINTR is fine: the loop looks at the signal flag next. */
	clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
}

/* Nothing to build right now: retry a kick the kernel pushed back, then sleep
 * or spin towards the next paced batch, or nap while the kernel holds frames. */
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
		wake = due_ns(s, s->queued + min_u64(s->pace_batch, left) - 1);
		if (s->deadline && wake > s->deadline)
			wake = s->deadline;
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

static void sender_run(struct sender *s)
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

/* ------------------------------------------------------------- options */

static const char usage_head[] =
"Usage: ringcap-gen -i IFACE -n COUNT [options]\n"
"Send exactly COUNT Ethernet frames out of IFACE through a PACKET_TX_RING.\n"
"\n";

static const char usage_tail[] =
"\n"
"Summary on stderr: sent N frames (B bytes) in T s: X pps, Y Gbit/s\n"
"Gbit/s is line rate: frame bytes + 24 per frame (preamble, FCS, gap).\n"
"Exit status: 0 all COUNT frames sent, 1 fewer, 2 bad arguments or interface.\n"
"\n"
"Examples\n"
"  ringcap-gen -i veth0 -n 1000000                  # 60-byte UDP, flat out\n"
"  ringcap-gen -i veth0 -n 2000000 -s 1514 -r 812744  # 10 Gbit/s line rate\n"
"  ringcap-gen -i veth0 -n 5000 --mix --sizes 60,1514 -r 20000 -w sent.pcap\n"
"  ringcap-gen -i veth0 -n 1000000 --flows 64 --bypass --cpu 0 --json\n"
"  ringcap-gen -i veth0 -n 10000 --arp-flood 198.18.1.1-198.18.1.254 \\\n"
"              --arp-out 198.18.2.1-198.18.2.10\n";

static const char *opt_size(const char *arg, void *field)
{
	struct opts *o = field;
	uint64_t v;

	if (parse_u64(arg, FRAME_MIN, FRAME_MAX, &v))
		return "expected 60..9000";
	o->sizes[0] = (uint16_t)v;
	o->nsizes = 1;
	return NULL;
}

static const char *opt_sizes(const char *arg, void *field)
{
	struct opts *o = field;
	char buf[512], *save = NULL, *tok;
	uint64_t v;

	if (strlen(arg) >= sizeof(buf))
		return "too long";
	strcpy(buf, arg);
	o->nsizes = 0;
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (o->nsizes == MAX_SIZES)
			return "at most 32 sizes";
		if (parse_u64(tok, FRAME_MIN, FRAME_MAX, &v))
			return "expected sizes in 60..9000";
		o->sizes[o->nsizes++] = (uint16_t)v;
	}
	return o->nsizes ? NULL : "expected a list like 60,128,1514";
}

static const char *opt_range(const char *arg, void *field)
{
	struct ip_range *r = field;
	char buf[64], *dash;

	if (strlen(arg) >= sizeof(buf))
		return "too long";
	strcpy(buf, arg);
	dash = strchr(buf, '-');
	if (!dash)
		return "expected FIRST-LAST";
	*dash = '\0';
	if (parse_ipv4(buf, &r->first) || parse_ipv4(dash + 1, &r->last) || r->first > r->last)
		return "expected FIRST-LAST, dotted quads, FIRST <= LAST";
	return NULL;
}

static void opts_defaults(struct opts *o)
{
	memset(o, 0, sizeof(*o));
	o->sizes[0] = FRAME_MIN;
	o->nsizes = 1;
	o->flows = 1;
	memset(o->dst_mac, 0xff, 6);
	parse_ipv4("198.18.0.1", &o->src_ip);
	parse_ipv4("198.18.0.2", &o->dst_ip);
	o->dst_port = 9;
	o->cpu = -1;
	o->ring_frames = RING_FRAMES;
}

static void opts_parse(struct opts *o, int argc, char **argv)
{
	const struct bopt table[] = {
		{ .name = "interface", .letter = 'i', .type = BOPT_STRING, .field = &o->ifname,
		  .required = true, .arg = "IFACE", .help = "the interface to send on" },
		{ .name = "count", .letter = 'n', .type = BOPT_U64, BOPT_INT(&o->count),
		  .min = 1, .max = UINT64_C(1) << 62, .required = true, .what = "count", .arg = "COUNT",
		  .help = "frames to send, exactly" },
		{ .type = BOPT_SECTION, .help = "Frames" },
		{ .name = "size", .letter = 's', .type = BOPT_CUSTOM, .field = o, .parse = opt_size,
		  .given = &o->size_set, .what = "frame size", .arg = "BYTES",
		  .help = "frame size on the wire, no FCS: 60..9000 (default 60)" },
		{ .name = "sizes", .type = BOPT_CUSTOM, .field = o, .parse = opt_sizes,
		  .given = &o->sizes_set, .arg = "A,B,...",
		  .help = "cycle through up to 32 sizes, one per frame" },
		{ .name = "mix", .type = BOPT_FLAG, .field = &o->mix,
		  .help = "cycle UDP/IPv4, TCP/IPv4 SYN+ACK, ICMP echo request,\n"
			  "ARP request, UDP/IPv6, 802.1Q VID 100 UDP/IPv4; every\n"
			  "protocol at every size (ARP is always 60 bytes,\n"
			  "UDP/IPv6 at least 62)" },
		{ .name = "flows", .type = BOPT_U64, BOPT_INT(&o->flows), .min = 1, .max = MAX_FLOWS,
		  .arg = "N",
		  .help = "frame k is in flow k mod N: source port 1024+f and a\n"
			  "source address low byte counting up (skipping .0,\n"
			  ".255 and --dst-ip), for fanout hashes (default 1)" },
		{ .name = "arp-flood", .type = BOPT_CUSTOM, .field = &o->arp_pool, .parse = opt_range,
		  .given = &o->arp_flood, .arg = "A-B",
		  .help = "only ARP requests, target address cycling A..B" },
		{ .name = "arp-out", .type = BOPT_CUSTOM, .field = &o->arp_out, .parse = opt_range,
		  .given = &o->arp_out_set, .arg = "C-D",
		  .help = "with --arp-flood: every other request targets C..D" },
		{ .name = "src-mac", .type = BOPT_MAC, .field = o->src_mac, .given = &o->src_mac_set,
		  .arg = "MAC", .help = "default: IFACE's own address" },
		{ .name = "dst-mac", .type = BOPT_MAC, .field = o->dst_mac, .arg = "MAC",
		  .help = "default ff:ff:ff:ff:ff:ff: the peer's stack takes the\n"
			  "frames in, sends no ICMP error or TCP reset for them\n"
			  "(it does answer --mix's ARP and ICMP echo requests)" },
		{ .name = "src-ip", .type = BOPT_IPV4, .field = &o->src_ip, .arg = "IP",
		  .help = "default 198.18.0.1 (IPv6: 2001:2::IP, RFC 5180)" },
		{ .name = "dst-ip", .type = BOPT_IPV4, .field = &o->dst_ip, .arg = "IP",
		  .help = "default 198.18.0.2" },
		{ .name = "dst-port", .type = BOPT_U64, BOPT_INT(&o->dst_port), .min = 0, .max = 65535,
		  .arg = "PORT", .help = "default 9 (discard)" },
		{ .name = "seq", .type = BOPT_FLAG,
		  .help = "accepted, always on: every frame but ARP with 12 bytes\n"
			  "of payload room carries \"RCG1\" and its index\n"
			  "0..COUNT-1 (64-bit big-endian) right after its L4\n"
			  "header; a pattern that depends on the index follows" },
		{ .type = BOPT_SECTION, .help = "Sending" },
		{ .name = "rate", .letter = 'r', .type = BOPT_RATE, BOPT_INT(&o->rate), .min = 0,
		  .max = 1000000000, .what = "rate", .arg = "FPS",
		  .help = "frames per second; 0 or max: flat out (default)" },
		{ .name = "bypass", .type = BOPT_FLAG, .field = &o->bypass,
		  .help = "PACKET_QDISC_BYPASS (packet sockets on this host, such\n"
			  "as a tcpdump on IFACE, then miss the frames)" },
		{ .name = "ring-frames", .type = BOPT_U64, BOPT_INT(&o->ring_frames), .min = RING_MIN,
		  .max = 1u << 20, .arg = "N",
		  .help = "TX ring slots (default 4096; 2048 bytes each up to\n"
			  "2016-byte frames, more for jumbo frames); halved\n"
			  "down to 64 when the kernel has no memory for them" },
		{ .name = "cpu", .type = BOPT_U64, BOPT_INT(&o->cpu), .min = 0, .max = CPU_SETSIZE - 1,
		  .arg = "N", .help = "pin to CPU N" },
		{ .name = "duration", .type = BOPT_DURATION, .field = &o->duration_ns,
		  .raw = &o->duration_arg, .arg = "TIME",
		  .help = "give up after TIME (10, 2.5s, 500ms) short of COUNT" },
		{ .type = BOPT_SECTION, .help = "Output" },
		{ .name = "write-pcap", .letter = 'w', .type = BOPT_STRING, .field = &o->pcap_path,
		  .arg = "FILE", .help = "also write every frame sent, in order, to a pcap\n"
					 "file (timestamps: when queued)" },
		{ .name = "quiet", .letter = 'q', .type = BOPT_FLAG, .field = &o->quiet,
		  .help = "no summary line" },
		{ .name = "json", .type = BOPT_FLAG, .field = &o->json,
		  .help = "instead, print on stdout {\"sent\":..,\"errors\":..,\n"
			  "\"seconds\":..,\"pps\":..,\"gbps\":..,\"frame_sizes\":[..],\n"
			  "\"bytes\":..,\"complete\":..}" },
	};
	const struct bopt_prog prog = { .synopsis = usage_head, .epilogue = usage_tail,
					.opts = table, .nopts = ARRAY_SIZE(table) };
	int rest;

	opts_defaults(o);
	rest = bopt_parse(&prog, argc, argv);
	if (rest < argc)
		die(2, "unexpected argument '%s' (see --help)", argv[rest]);
	if (o->size_set && o->sizes_set)
		die(2, "use either -s or --sizes, not both (see --help)");
	if (o->arp_out_set && !o->arp_flood)
		die(2, "--arp-out needs --arp-flood (see --help)");
	if (o->arp_flood && o->mix)
		die(2, "--arp-flood and --mix do not go together (see --help)");
	if (o->arp_flood && (o->nsizes != 1 || o->sizes[0] != ARP_LEN))
		die(2, "ARP requests are always 60 bytes: drop -s/--sizes (see --help)");
}

/* ---------------------------------------------------------------- main */

static void on_signal(int sig)
{
	(void)sig;
	got_signal = 1;
}

static void signals_install(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

static void iface_check(struct opts *o, struct iface *ifi)
{
	int err = iface_lookup(o->ifname, ifi);

	if (err == -ENODEV)
		die(2, "no such interface '%s'", o->ifname);
	if (err == -ENETDOWN)
		die(2, "interface '%s' is down", o->ifname);
	if (err)
		die(2, "cannot query interface '%s': %s", o->ifname, strerror(-err));
	if (ifi->type != ARPHRD_ETHER)
		die(2, "interface '%s' is not Ethernet", o->ifname);
	if (!ifi->carrier && !o->quiet)
		log_warn("interface '%s' has no carrier; frames may not leave", o->ifname);
	for (unsigned i = 0; i < o->nsizes; i++)
		if (o->sizes[i] > ifi->mtu + 14)
			die(2, "frame size %u is too big for '%s' (MTU %u + 14-byte header)",
			    o->sizes[i], o->ifname, ifi->mtu);
	if (!o->src_mac_set)
		memcpy(o->src_mac, ifi->mac, 6);
}

static unsigned max_frame_len(const struct opts *o)
{
	unsigned m = o->mix ? UDP6_MIN : ARP_LEN;

	for (unsigned i = 0; i < o->nsizes; i++)
		if (o->sizes[i] > m)
			m = o->sizes[i];
	return m;
}

/* 2048-byte slots up to 2016-byte frames, else the next power of two, so slots
 * tile txring's blocks exactly. */
static unsigned slot_size(unsigned frame_len)
{
	unsigned sz = 2048;

	while (sz < frame_len + TXRING_DATA_OFF)
		sz <<= 1;
	return sz;
}

static struct tmpl *tmpls_build(const struct opts *o, unsigned nprotos, const uint8_t *pattern)
{
	struct tmpl *t = xcalloc((size_t)nprotos * o->nsizes, sizeof(*t));

	for (unsigned p = 0; p < nprotos; p++) {
		enum proto proto = o->arp_flood ? PROTO_ARP : o->mix ? mix_protos[p] : PROTO_UDP4;

		for (unsigned i = 0; i < o->nsizes; i++)
			tmpl_build(&t[p * o->nsizes + i], proto, o->sizes[i], o, pattern);
	}
	return t;
}

/* Source address low byte per flow: counting up from --src-ip's, skipping .0,
 * .255 and --dst-ip's, which the peer's stack would drop as martian. */
static uint8_t *flow_lows(const struct opts *o)
{
	uint8_t *t = xcalloc(o->flows, 1);
	unsigned low = o->src_ip & 0xff;
	bool same24 = (o->src_ip >> 8) == (o->dst_ip >> 8);

	t[0] = (uint8_t)low;
	for (uint32_t f = 1; f < o->flows; f++) {
		do
			low = (low + 1) & 0xff;
		while (low == 0 || low == 255 || (same24 && low == (o->dst_ip & 0xff)));
		t[f] = (uint8_t)low;
	}
	return t;
}

/* Paced runs: say so when the rate was not held (the CPU could not keep up). */
static void report_pace(const struct sender *s, const struct opts *o, double secs)
{
	double want = (double)(o->count - 1) / (double)o->rate;

	if (o->rate && s->sent == o->count && secs > want * 1.01 + 0.001)
		log_warn("could not hold -r %" PRIu64 ": took %.3f s instead of %.3f s",
			 o->rate, secs, want);
}

static void report(const struct sender *s, const struct opts *o)
{
	double secs = (double)(s->t_last - s->t0) / 1e9;
	double pps = secs > 0 ? (double)s->sent / secs : 0;
	double gbps = secs > 0 ? (double)(s->bytes + LINE_OVERHEAD * s->sent) * 8 / secs / 1e9 : 0;
	bool complete = s->sent == o->count;

	switch (s->stop) {
	case STOP_NONE:
		break;
	case STOP_DURATION:
		log_err("stopped after --duration %s: sent %" PRIu64 " of %" PRIu64 " frames",
			o->duration_arg, s->sent, o->count);
		break;
	case STOP_SIGNAL:
		log_err("interrupted: sent %" PRIu64 " of %" PRIu64 " frames", s->sent, o->count);
		break;
	case STOP_STALL:
		log_err("TX ring made no progress for %llu s (last send error: %s): sent %" PRIu64
			" of %" PRIu64 " frames", STALL_NS / NSEC,
			s->send_err ? strerror(-s->send_err) : "none", s->sent, o->count);
		break;
	case STOP_SEND:
		log_err("send on %s: %s: sent %" PRIu64 " of %" PRIu64 " frames", o->ifname,
			strerror(-s->send_err), s->sent, o->count);
		break;
	case STOP_REJECTED:
		log_err("kernel rejected frame %" PRIu64 " (TP_STATUS_WRONG_FORMAT, send: %s); the TX "
			"ring cannot move past it: sent %" PRIu64 " of %" PRIu64 " frames",
			s->rejected_seq, s->send_err ? strerror(-s->send_err) : "no error",
			s->sent, o->count);
		break;
	}
	if (!o->quiet)
		report_pace(s, o, secs);
	if (s->inflight)
		log_err("%u frames were still in the kernel's hands at exit", s->inflight);

	if (o->json) {
		printf("{\"sent\":%" PRIu64 ",\"errors\":%" PRIu64 ",\"seconds\":%.6f,\"pps\":%.1f,"
		       "\"gbps\":%.4f,\"frame_sizes\":[", s->sent, s->errors, secs, pps, gbps);
		for (unsigned i = 0; i < o->nsizes; i++)
			printf("%s%u", i ? "," : "", o->sizes[i]);
		printf("],\"bytes\":%" PRIu64 ",\"complete\":%s}\n", s->bytes,
		       complete ? "true" : "false");
		fflush(stdout);
	} else if (!o->quiet) {
		fprintf(stderr, "sent %" PRIu64 " frames (%" PRIu64 " bytes) in %.3f s: %.0f pps, "
			"%.3f Gbit/s\n", s->sent, s->bytes, secs, pps, gbps);
	}
}

int main(int argc, char **argv)
{
	static uint8_t pattern[FRAME_MAX + PHASES];
	struct pcap_out pcap = { 0 };
	struct sender s = { 0 };
	struct txring_config tc;
	struct iface ifi;
	struct opts o;
	struct tmpl *tmpls;
	uint8_t *flow_low;
	int err, status;

	log_set_program("ringcap-gen");
	opts_parse(&o, argc, argv);
	iface_check(&o, &ifi);
	if (o.cpu >= 0 && (err = pin_to_cpu(o.cpu)))
		die(2, "cannot pin to CPU %d: %s", o.cpu, strerror(-err));
	/* Timer slack 1 ns: a paced sleep should end when asked, not 50 us later. */
	prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);

	pattern_fill(pattern, sizeof(pattern));
	s.o = &o;
	s.pattern = pattern;
	s.nprotos = o.mix ? ARRAY_SIZE(mix_protos) : 1;
	s.tmpls = tmpls = tmpls_build(&o, s.nprotos, pattern);
	s.flow_low = flow_low = flow_lows(&o);
	s.pace_batch = o.rate / (NSEC / PACE_SLICE_NS);
	s.pace_batch = s.pace_batch < 1 ? 1 : s.pace_batch > PACE_BATCH_MAX ? PACE_BATCH_MAX : s.pace_batch;

	status = 1;
	tc = (struct txring_config){
		.iface = &ifi,
		.frame_size = slot_size(max_frame_len(&o)),
		.frame_nr = o.ring_frames,
		.qdisc_bypass = o.bypass,
		.frame_nr_min = RING_MIN,	/* halve on ENOMEM, as netsniff-ng does */
		.grow_sndbuf = true,		/* the whole ring may be in flight */
	};
	if (txring_open(&s.ring, &tc))
		goto out_free_tmpls;
	if (o.pcap_path) {
		err = pcap_open(&pcap, o.pcap_path);
		if (err) {
			log_err("cannot write pcap file '%s': %s", o.pcap_path, strerror(-err));
			status = 2;
			goto out_close_ring;
		}
		s.pcap = &pcap;
		s.slot_ts = xcalloc(s.ring.frame_nr, sizeof(*s.slot_ts));
	}
	signals_install();

	sender_run(&s);

	report(&s, &o);
	status = s.sent == o.count && !s.errors ? 0 : 1;
	err = pcap_close(&pcap);
	if (err) {
		log_err("writing pcap file '%s': %s", o.pcap_path, strerror(-err));
		status = 1;
	}
	xfree(s.slot_ts);
out_close_ring:
	txring_close(&s.ring);
out_free_tmpls:
	xfree(flow_low);
	xfree(tmpls);
	return status;
}
