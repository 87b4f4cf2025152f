/*
 * Private to ringcap-gen (tools/ringcap-gen.c, the options, report and main;
 * gen_tmpl.c, the frame templates; gen_send.c, the TX ring sender): what the
 * three share. The design is written at the top of ringcap-gen.c.
 *
 * Threading: ringcap-gen is one thread. Ownership: the sender borrows the
 * options, templates, pattern and flow table from main, which frees them.
 */
#ifndef RINGCAP_TOOLS_GEN_H
#define RINGCAP_TOOLS_GEN_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "ring/txring.h"
#include "tools/frame.h"

#define FRAME_MIN	60	/* Ethernet minimum without FCS */
#define FRAME_MAX	9000
#define UDP6_MIN	62	/* Ethernet + IPv6 + UDP with no payload */
#define ARP_LEN		ARP_PADDED_LEN
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
#define SLEEP_MIN_NS	150000	/* shorter waits spin: a sleep overshoots ~60 us here */
#define SPIN_NS		80000
#define SLEEP_SLICE_NS	200000	/* --pace sleep: a batch per ~200 us of frames */
#define IDLE_NS		20000	/* nap while the kernel still holds our frames */
#define STALL_NS	(5 * NSEC)
#define DRAIN_NS	NSEC

#define PCAP_SNAPLEN	262144
#define PCAP_BUF	(1u << 20)

enum proto { PROTO_UDP4, PROTO_TCP4, PROTO_ICMP4, PROTO_ARP, PROTO_UDP6, PROTO_VLAN_UDP4 };

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
	int pace;		/* enum pace_mode */
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

/* How a paced sender waits for its next batch: spin the last SPIN_NS (holds
 * the rate to a few us), or only sleep (leaves the CPU to others between
 * batches, so whole-machine CPU shows what a capture adds). */
enum pace_mode { PACE_SPIN, PACE_SLEEP };

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

/* The hot path: a whole frame into `f` from its template. */
static inline void frame_fill(uint8_t *f, const struct tmpl *t, const uint8_t *pattern,
			      const struct frame_vars *v)
{
	uint32_t sum = 0;
	uint16_t c;

	memcpy(f, t->hdr, t->hdr_len);
	if (t->arp_tpa) {
		put32(f + t->arp_tpa, v->arp_tpa);
		return;
	}
	memcpy(f + t->pay_off, pattern + (v->seq & (PHASES - 1)), t->pay_len);
	if (t->seq_off)
		put64(f + t->seq_off, v->seq);
	if (v->flow) {
		if (t->sport)
			put16(f + t->sport, (uint16_t)(SPORT_BASE + v->flow));
		f[t->src_low] = v->src_low;
	}
	if (t->icmp_seq)
		put16(f + t->icmp_seq, (uint16_t)v->seq);
	if (t->ip4_csum)
		put16(f + t->ip4_csum, csum_finish(csum_add(0, f + t->l3, 20)));
	if (t->pseudo_len)
		sum = csum_add(t->pseudo_rest, f + t->pseudo_off, t->pseudo_len);
	sum = csum_add(sum, f + t->l4, (size_t)(t->pay_off - t->l4));
	c = csum_finish(sum + t->pay_sum[v->seq & (PHASES - 1)]);
	if (c == 0 && t->udp)
		c = 0xffff;	/* 0 would mean "no checksum" */
	put16(f + t->l4_csum, c);
}

/* ---- gen_tmpl.c: templates, built once before sending ---- */

/* The payload pattern, FRAME_MAX + PHASES bytes of it. */
void pattern_fill(uint8_t *p, size_t len);
/* Protocols the run cycles through: 6 with --mix, else 1. */
unsigned tmpl_nprotos(const struct opts *o);
/* [proto_i * nsizes + size_i]; the caller frees with xfree. */
struct tmpl *tmpls_build(const struct opts *o, unsigned nprotos, const uint8_t *pattern);
/* Source address low byte per flow; the caller frees with xfree. */
uint8_t *flow_lows(const struct opts *o);
/* The longest frame the run sends. */
unsigned max_frame_len(const struct opts *o);

/* ---- gen_send.c: the pcap copy and the TX ring sender ---- */

/* 0 or -errno; gen_pcap_close is safe on a file never opened and returns 0
 * or the first write error. */
int gen_pcap_open(struct pcap_out *p, const char *path);
int gen_pcap_close(struct pcap_out *p);
/* SIGINT and SIGTERM stop sender_run at its next turn. */
void sender_signals_install(void);
/* Sends until COUNT frames left, or a stop (s->stop says which); blocks. */
void sender_run(struct sender *s);

#endif
