/*
 * arp-flood — the load generator and measuring peer for ARP responders.
 *
 *   arp-flood -i IFACE -n COUNT --arp-in A-B [--arp-out C-D] [--mix I:O:B]
 *             [--specials K] [-r RATE|max] [--expect-mac MAC] [--src-mac MAC]
 *             [--src-ip IP] [--bulk-size BYTES] [--bulk-dst-mac MAC] [--bypass]
 *             [--cpu N] [--duration S] [--wait MS] [-q]
 *
 * Runs on the requesting side. Sends exactly COUNT frames through a
 * PACKET_TX_RING (ring/txring.h) and receives the replies on the same
 * interface with a TPACKET_V3 ring (ring/ring.h, kernel filter "arp and
 * arp[6:2] = 2", outgoing frames ignored), in one thread: send a batch, drain
 * the RX ring, repeat. Prints one JSON line on stdout.
 *
 * The stream is deterministic. Frames go in cycles of I+O+B (--mix, default
 * 1:0:0, or 1:1:0 with --arp-out): I ARP requests whose target walks A..B,
 * then O requests whose target walks C..D, then B bulk UDP frames (to
 * --bulk-dst-mac, a MAC nobody owns, so no IP stack answers them; every packet
 * socket still sees them). With --specials K every K-th frame instead is a
 * special, cycling: a probe (sender 0.0.0.0; answered, tpa 0.0.0.0), a
 * gratuitous request, an ARP reply, a request with hlen 8, and a request cut
 * at 41 bytes (none of these four is answered); their targets walk A..B on a
 * cycle of their own. Requests are broadcast from --src-mac/--src-ip (default:
 * IFACE's own), as the requesting host's kernel would send them.
 *
 * Matching. The time a request was handed to the kernel (CLOCK_REALTIME, just
 * before the send() that carries it) is kept in a table indexed by target
 * address (one slot per address of A..B, up to 8 requests awaiting a reply in
 * each). A reply for target T answers the newest request for T sent before the
 * reply's kernel receive timestamp (the RX ring's, so the reading side's pace
 * does not matter): it counts once in "answered_in", its latency is the
 * timestamp minus the send time, and the request is no longer awaited. Newest,
 * not oldest: under overload a dropped request must not inflate the latency of
 * the next one's answer. A reply that finds nothing awaited is a duplicate, a
 * reply for an address outside A..B is wrong (wrong_out_of_pool when in C..D),
 * and with --expect-mac a reply from another hardware address (Ethernet source
 * or ARP sender) is wrong (wrong_mac). When more than one request for the
 * address was awaited the match is a guess and counts in "ambiguous" (an upper
 * bound: a lost request stays awaited until 8 newer ones push it out); more
 * than 8 in flight forget the oldest, whose reply then counts as a duplicate:
 * keep A..B larger than rate x latency. A responder slower than one trip round
 * A..B gets its latency underestimated (its answer is matched to a newer
 * request): "ambiguous" then approaches "answered_in". Replies addressed to
 * the broadcast address (Ethernet or ARP target; farpd sends those) are
 * accepted, and counted in "broadcast_replies".
 *
 * Bounds: COUNT frames and --duration seconds of sending (default 30), then
 * --wait ms (default 300) for late replies.
 *
 * Exit status: 0 all COUNT frames sent, 1 fewer (duration), 2 bad arguments or
 * set-up. On SIGINT/SIGTERM it stops sending, reports what it has, and then dies
 * of that signal, so the shell that ran it stops as well.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util/opt.h"
#include "bench/flood.h"
#include "responder/responder.h"
#include "ring/ring.h"
#include "ring/txring.h"
#include "tools/frame.h"
#include "util/util.h"

static volatile sig_atomic_t stop_sig;

static void on_signal(int sig)
{
	stop_sig = sig;
}

/* ------------------------------------------------------------ arguments */

static const char *opt_range(const char *arg, void *field)
{
	int ret = arp_parse_pool(arg, field);

	if (ret == -ERANGE)
		return "inverted range or host bits set";
	return ret ? "expected A-B, A/len or A (IPv4)" : NULL;
}

static const char *opt_mix(const char *arg, void *field)
{
	struct opts *o = field;
	unsigned i, out, b;
	char tail;

	if (sscanf(arg, "%u:%u:%u%c", &i, &out, &b, &tail) != 3 || i > 1000 || out > 1000 ||
	    b > 1000 || i + out + b == 0)
		return "expected I:O:B, each 0..1000, not all 0";
	o->mix_in = i, o->mix_out = out, o->mix_bulk = b;
	return NULL;
}

static void parse_args(struct opts *o, int argc, char **argv)
{
	const struct opt table[] = {
		{ .name = "interface", .letter = 'i', .type = OPT_STRING, .field = &o->ifname,
		  .required = true, .arg = "IFACE", .help = "the requesting side's interface" },
		{ .name = "count", .letter = 'n', .type = OPT_U64, OPT_INT(&o->count), .min = 1,
		  .max = 1ull << 40, .required = true, .what = "count",
		  .why = "expected a whole number >= 1",
		  .arg = "N", .help = "frames to send (all kinds)" },
		{ .name = "arp-in", .type = OPT_CUSTOM, .field = &o->in, .parse = opt_range,
		  .required = true, .what = "range", .arg = "A-B",
		  .help = "in-pool targets, walked in order (at most 2^20)" },
		{ .name = "arp-out", .type = OPT_CUSTOM, .field = &o->out, .parse = opt_range,
		  .given = &o->out_set, .what = "range", .arg = "C-D",
		  .help = "out-of-pool targets, walked in order" },
		{ .name = "mix", .type = OPT_CUSTOM, .field = o, .parse = opt_mix,
		  .given = &o->mix_set, .what = "mix", .arg = "I:O:B",
		  .help = "per cycle: I in-pool, O out-of-pool requests, B bulk\n"
			  "UDP frames (default 1:0:0; 1:1:0 with --arp-out)" },
		{ .name = "specials", .type = OPT_U64, OPT_INT(&o->specials), .min = 0,
		  .max = 1000000, .what = "specials", .arg = "K",
		  .help = "every K-th frame is a special: probe, gratuitous,\n"
			  "reply, hlen 8, 41 bytes (in turn); only probes are\n"
			  "to be answered" },
		{ .name = "rate", .letter = 'r', .type = OPT_RATE, OPT_INT(&o->rate), .min = 0,
		  .max = 100000000, .what = "rate", .why = "expected frames per second or max",
		  .arg = "FPS|max", .help = "frames per second (default max)" },
		{ .name = "expect-mac", .type = OPT_MAC, .field = o->expect_mac,
		  .given = &o->expect_mac_set, .what = "MAC address", .arg = "MAC",
		  .help = "replies from another MAC count as wrong" },
		{ .name = "src-mac", .type = OPT_MAC, .field = o->src_mac, .given = &o->src_mac_set,
		  .what = "MAC address", .arg = "MAC", .help = "requester MAC (default: IFACE's)" },
		{ .name = "src-ip", .type = OPT_IPV4, .field = &o->src_ip, .given = &o->src_ip_set,
		  .what = "source address", .why = "expected an IPv4 address", .arg = "IP",
		  .help = "requester address (default: IFACE's IPv4)" },
		{ .name = "bulk-size", .type = OPT_U64, OPT_INT(&o->bulk_size), .min = 60,
		  .max = BULK_MAX, .what = "bulk size", .arg = "BYTES",
		  .help = "bulk UDP frame size, 60..1514 (default 512)" },
		{ .name = "bulk-dst-mac", .type = OPT_MAC, .field = o->bulk_mac, .what = "MAC address",
		  .arg = "MAC", .help = "default 02:52:43:46:00:99 (owned by nobody)" },
		{ .name = "bypass", .type = OPT_FLAG, .field = &o->bypass,
		  .help = "PACKET_QDISC_BYPASS on the TX ring" },
		{ .name = "cpu", .type = OPT_U64, OPT_INT(&o->cpu), .min = 0, .max = 1023,
		  .what = "CPU", .arg = "N", .help = "pin to CPU N" },
		{ .name = "duration", .type = OPT_DURATION, .field = &o->duration_ns,
		  .what = "duration", .arg = "S", .help = "stop sending after S seconds (default 30)" },
		{ .name = "wait", .type = OPT_U64, OPT_INT(&o->wait_ns), .min = 0, .max = 60000,
		  .scale = 1000000, .what = "wait", .why = "expected 0..60000 ms", .arg = "MS",
		  .help = "wait this long for late replies (default 300)" },
		{ .name = "quiet", .letter = 'q', .type = OPT_FLAG, .field = &o->quiet,
		  .help = "no summary on stderr" },
	};
	const struct opt_prog prog = {
		.synopsis =
		"Usage: arp-flood -i IFACE -n COUNT --arp-in A-B [options]\n"
		"Send COUNT frames (ARP requests, optionally out-of-pool requests, specials and\n"
		"bulk UDP) through a PACKET_TX_RING, match the ARP replies that come back and\n"
		"print one JSON line: offered, answered, wrong, latency p50/p99/max, replies/s.\n"
		"\n",
		.epilogue =
		"\n"
		"Example:\n"
		"  arp-flood -i va0 -n 200000 --arp-in 198.18.2.0-198.18.2.255 \\\n"
		"            --arp-out 198.18.5.0-198.18.5.255 --mix 4:1:2 -r max --bypass\n",
		.opts = table, .nopts = ARRAY_SIZE(table), .in_order = true,
	};
	int rest;

	memset(o, 0, sizeof(*o));
	o->cpu = -1;
	o->bulk_size = 512;
	o->duration_ns = 30 * NSEC;
	o->wait_ns = 300 * 1000000ull;
	memcpy(o->bulk_mac, (uint8_t[]){ 0x02, 0x52, 0x43, 0x46, 0x00, 0x99 }, 6);
	rest = opt_parse_or_exit(&prog, argc, argv);
	if (rest < argc)
		opt_die("argument", argv[rest], "no positional arguments");
	if (o->in.last - o->in.first >= MAX_TABLE)
		die(2, "bad range: --arp-in spans more than 2^20 addresses");
	if (!o->mix_set) {
		o->mix_in = 1;
		o->mix_out = o->out_set ? 1 : 0;
	}
	if (o->mix_out && !o->out_set)
		die(2, "bad mix: out-of-pool requests need --arp-out C-D");
}

/* ------------------------------------------------------------ frames */

static int iface_ipv4(const char *ifname, uint32_t *ip)
{
	struct ifreq ifr;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), ret = 0;

	if (fd < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (ioctl(fd, SIOCGIFADDR, &ifr) < 0)
		ret = -errno;
	else
		*ip = ntohl(((struct sockaddr_in *)(void *)&ifr.ifr_addr)->sin_addr.s_addr);
	close(fd);
	return ret;
}

static void build_templates(struct flood *fl)
{
	static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	const struct opts *o = &fl->o;
	uint8_t *f = fl->req, *b = fl->bulk;
	uint16_t ip_len = (uint16_t)(o->bulk_size - 14);

	memset(f, 0, REQ_LEN);
	put_eth(f, bcast, o->src_mac, ETH_P_ARP, -1);
	put_arp(f + 14, ARPOP_REQUEST, o->src_mac, o->src_ip, 0);

	/* Bulk: UDP/IPv4 to port 9 from 198.18.0.0/15's requester, checksum 0. */
	memset(b, 0, sizeof(fl->bulk));
	put_eth(b, o->bulk_mac, o->src_mac, ETH_P_IP, -1);
	/* any destination address: the MAC is nobody's */
	put_ipv4(b + 14, IPPROTO_UDP, ip_len, 0, o->src_ip, o->in.first);
	put16(b + 24, ipv4_csum(b + 14));
	put_udp(b + 34, 40000, 9, (uint16_t)(ip_len - 20));
	for (unsigned i = 42; i < o->bulk_size; i++)
		b[i] = (uint8_t)i;
}

static uint32_t walk(const struct arp_pool_range *r, uint64_t *i)
{
	uint32_t ip = r->first + (uint32_t)*i;

	*i = ip == r->last ? 0 : *i + 1;
	return ip;
}

static enum kind kind_of(const struct flood *fl, uint64_t k)
{
	const struct opts *o = &fl->o;
	uint64_t pos;

	if (o->specials && k % o->specials == o->specials - 1)
		return K_SPECIAL;
	pos = k % (o->mix_in + o->mix_out + o->mix_bulk);
	if (pos < o->mix_in)
		return K_IN;
	return pos < o->mix_in + o->mix_out ? K_OUT : K_BULK;
}

/* Frame k into `p`; returns its length. *slot_out is the table index of an
 * in-pool request, or -1. */
static uint32_t fill_frame(struct flood *fl, uint64_t k, uint8_t *p, int64_t *slot_out)
{
	uint32_t tpa, len = REQ_LEN;

	*slot_out = -1;
	switch (kind_of(fl, k)) {
	case K_IN:
		memcpy(p, fl->req, REQ_LEN);
		tpa = walk(&fl->o.in, &fl->in_i);
		put32(p + 38, tpa);
		*slot_out = tpa - fl->o.in.first;
		fl->c.offered_in++;
		return len;
	case K_OUT:
		memcpy(p, fl->req, REQ_LEN);
		put32(p + 38, walk(&fl->o.out, &fl->out_i));
		fl->c.offered_out++;
		return len;
	case K_BULK:
		memcpy(p, fl->bulk, fl->o.bulk_size);
		fl->c.bulk++;
		return fl->o.bulk_size;
	case K_SPECIAL:
		break;
	}
	memcpy(p, fl->req, REQ_LEN);
	tpa = walk(&fl->o.in, &fl->sp_i);
	put32(p + 38, tpa);
	switch (fl->sp_kind) {
	case S_PROBE:
		put32(p + 28, 0);
		fl->c.probes_sent++;
		break;
	case S_GRATUITOUS:
		put32(p + 28, tpa);
		break;
	case S_REPLY: /* as if we answered for tpa ourselves, to the broadcast */
		put16(p + 20, 2);
		put32(p + 28, tpa);
		break;
	case S_BAD_HLEN:
		p[18] = 8;
		break;
	default:
		len = TRUNC_LEN;
		break;
	}
	fl->sp_kind = (fl->sp_kind + 1) % S_COUNT;
	fl->c.specials++;
	return len;
}

/* ------------------------------------------------------------ sending */

/* Frames still the kernel's (SEND_REQUEST or SENDING). */
static uint32_t tx_pending(const struct txring *t)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < t->frame_nr; i++) {
		const struct tpacket2_hdr *h = (const void *)(t->map + (size_t)i * t->frame_size);
		uint32_t st = __atomic_load_n(&h->tp_status, __ATOMIC_ACQUIRE);

		n += st == TP_STATUS_SEND_REQUEST || st == TP_STATUS_SENDING;
	}
	return n;
}

static int flood_send(struct flood *fl)
{
	const struct opts *o = &fl->o;
	uint64_t t0 = now_ns(), t_end = t0 + o->duration_ns, k = 0;
	uint64_t per_batch = o->rate ? pace_batch(o->rate, BATCH_MAX) : BATCH_MAX;
	int64_t slots[BATCH_MAX];
	int ret;

	while (k < o->count && !stop_sig) {
		uint64_t now = now_ns(), want = per_batch, ts;
		unsigned n = 0;

		if (now >= t_end)
			break;
		if (o->rate) {
			/* Frame j is due at t0 + j/rate; go when the batch's last is due. */
			uint64_t last = k + per_batch - 1 < o->count ? k + per_batch - 1 : o->count - 1;
			uint64_t due = pace_due_ns(t0, last, o->rate);

			if (due > now) {
				drain_rx(fl);
				if (due - now > 100000)
					sleep_until(due - 50000);
				continue;
			}
			want = last - k + 1;
			/* Late (near the sender's ceiling): every frame due by
			 * now goes in this batch, up to BATCH_MAX as at max, so a
			 * paced run is not held below the ceiling by the cost of
			 * sending in small batches. */
			due = pace_due_count(t0, now, o->rate);
			if (due > k + want)
				want = due - k;
		}
		if (want > BATCH_MAX)
			want = BATCH_MAX;
		if (want > o->count - k)
			want = o->count - k;
		while (n < want) {
			uint8_t *p = txring_frame(&fl->tx);
			uint32_t len;

			if (!p)
				break; /* ring full: the kernel is behind; kick and drain */
			len = fill_frame(fl, k + n, p, &slots[n]);
			txring_queue(&fl->tx, len);
			n++;
		}
		ts = realtime_ns();
		ret = txring_kick(&fl->tx); /* also retries frames a full device refused */
		if (ret) {
			log_err("send on %s: %s", o->ifname, strerror(-ret));
			return ret;
		}
		for (unsigned i = 0; i < n; i++)
			if (slots[i] >= 0)
				await(&fl->slots[slots[i]], ts);
		if (n) {
			if (!fl->t_first_send)
				fl->t_first_send = ts;
			fl->t_last_send = ts;
		}
		k += n;
		drain_rx(fl);
		if (!n)
			sched_yield();
	}
	/* Whatever the kernel still holds goes out before we count it sent. */
	for (uint64_t t_flush = now_ns() + NSEC; now_ns() < t_flush;) {
		if (!tx_pending(&fl->tx))
			break;
		txring_kick(&fl->tx);
		drain_rx(fl);
		sched_yield();
	}
	fl->c.sent = k - tx_pending(&fl->tx);
	return 0;
}

static void wait_replies(struct flood *fl)
{
	uint64_t t_end = now_ns() + fl->o.wait_ns;

	while (now_ns() < t_end && !stop_sig) {
		ring_wait(&fl->rx, 10);
		drain_rx(fl);
	}
	drain_rx(fl);
	ring_stats_update(&fl->rx);
	fl->c.rx_drops = fl->rx.stats.drops;
}

/* ------------------------------------------------------------ set-up */

static int open_rings(struct flood *fl)
{
	struct opts *o = &fl->o;
	char err[FILTER_ERR_LEN];
	struct txring_config tc = {
		.iface = &o->iface,
		.frame_size = TX_FRAME_SIZE,
		.frame_nr = 4096,
		.qdisc_bypass = o->bypass,
	};
	struct ring_config rc = {
		.iface = &o->iface,
		/* 16 MiB. Latency comes from the kernel's timestamps, so the block
		 * timeout only decides how long sparse replies may wait unread:
		 * 128 blocks x 8 ms is a second of slack for a busy machine. */
		.block_size = 128 << 10,
		.block_nr = 128,
		.frame_size = 2048,
		.block_timeout_ms = 8,
		.filter = &fl->rxf,
		.fanout = false,
		/* our own requests are not replies: the kernel need not queue them */
		.ignore_outgoing = true,
	};
	int ret;

	if (filter_compile(&fl->rxf, "arp and arp[6:2] = 2", 128, err, sizeof(err))) {
		log_err("filter: %s", err);
		return -EINVAL;
	}
	ret = ring_open(&fl->rx, &rc);
	if (ret)
		return ret;
	return txring_open(&fl->tx, &tc);
}

int main(int argc, char **argv)
{
	static struct flood fl;
	struct opts *o = &fl.o;
	struct sigaction sa;
	uint64_t t0, table;
	int ret;

	log_set_program("arp-flood");
	fl.rx.fd = -1;
	fl.tx.fd = -1;
	parse_args(o, argc, argv);
	ret = iface_lookup(o->ifname, &o->iface);
	if (ret)
		opt_die("interface", o->ifname, ret == -ENODEV ? "no such device" : strerror(-ret));
	if (!o->src_mac_set)
		memcpy(o->src_mac, o->iface.mac, 6);
	if (!o->src_ip_set && iface_ipv4(o->ifname, &o->src_ip))
		opt_die("interface", o->ifname, "no IPv4 address: give --src-ip");

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (o->cpu >= 0 && pin_to_cpu(o->cpu))
		log_warn("cannot pin to CPU %d", o->cpu);

	table = (uint64_t)(o->in.last - o->in.first) + 1;
	fl.slots = xcalloc(table, sizeof(*fl.slots));
	fl.lat_cap = o->count < (1ull << 26) ? o->count : 1ull << 26;
	fl.lat_ns = xcalloc(fl.lat_cap, sizeof(*fl.lat_ns));
	build_templates(&fl);
	ret = open_rings(&fl);
	if (ret) {
		ret = 2;
		goto out;
	}
	t0 = now_ns();
	ret = flood_send(&fl) ? 1 : 0;
	{
		double send_s = (double)(now_ns() - t0) / 1e9;

		wait_replies(&fl);
		report(&fl, send_s);
	}
	if (!ret && fl.c.sent != o->count)
		ret = 1;
out:
	txring_close(&fl.tx);
	ring_close(&fl.rx);
	filter_free(&fl.rxf);
	xfree(fl.slots);
	xfree(fl.lat_ns);
	if (stop_sig) {
		/* Reported; now die of the signal, so a calling shell sees an
		 * interrupted child and stops too (a handled SIGINT would not). */
		signal(stop_sig, SIG_DFL);
		raise(stop_sig);
	}
	return ret;
}
