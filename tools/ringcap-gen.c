/*
 * ringcap-gen — ringcap's own traffic generator.
 *
 * Sends exactly COUNT Ethernet frames out of one interface and says how fast:
 *
 *   ringcap-gen -i IFACE -n COUNT [-s SIZE | --sizes A,B,...] [-r RATE|max]
 *               [--mix | --arp-flood A-B [--arp-out C-D]] [--flows N]
 *               [--write-pcap FILE] [--bypass] [--pace spin|sleep] [--cpu N]
 *               [--duration T] [--json]
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
 *   (with 1 ns timer slack), the last ~80 us spin. With --pace sleep, batches
 *   are ~200 us of frames (1..256) and every wait sleeps: the CPU is free
 *   between batches, so a capture's kernel work on this CPU shows in
 *   whole-machine CPU instead of displacing spinning. A sender that falls
 *   behind catches up in full batches and says so at the end.
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
#include <net/if_arp.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>

#include "util/opt.h"
#include "ring/ring.h"
#include "tools/gen.h"
#include "util/util.h"

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

/* In enum pace_mode's order. */
static const char *const pace_choices[] = { "spin", "sleep", NULL };

static void opts_parse(struct opts *o, int argc, char **argv)
{
	const struct opt table[] = {
		{ .name = "interface", .letter = 'i', .type = OPT_STRING, .field = &o->ifname,
		  .required = true, .arg = "IFACE", .help = "the interface to send on" },
		{ .name = "count", .letter = 'n', .type = OPT_U64, OPT_INT(&o->count),
		  .min = 1, .max = UINT64_C(1) << 62, .required = true, .what = "count", .arg = "COUNT",
		  .help = "frames to send, exactly" },
		{ .type = OPT_SECTION, .help = "Frames" },
		{ .name = "size", .letter = 's', .type = OPT_CUSTOM, .field = o, .parse = opt_size,
		  .given = &o->size_set, .what = "frame size", .arg = "BYTES",
		  .help = "frame size on the wire, no FCS: 60..9000 (default 60)" },
		{ .name = "sizes", .type = OPT_CUSTOM, .field = o, .parse = opt_sizes,
		  .given = &o->sizes_set, .arg = "A,B,...",
		  .help = "cycle through up to 32 sizes, one per frame" },
		{ .name = "mix", .type = OPT_FLAG, .field = &o->mix,
		  .help = "cycle UDP/IPv4, TCP/IPv4 SYN+ACK, ICMP echo request,\n"
			  "ARP request, UDP/IPv6, 802.1Q VID 100 UDP/IPv4; every\n"
			  "protocol at every size (ARP is always 60 bytes,\n"
			  "UDP/IPv6 at least 62)" },
		{ .name = "flows", .type = OPT_U64, OPT_INT(&o->flows), .min = 1, .max = MAX_FLOWS,
		  .arg = "N",
		  .help = "frame k is in flow k mod N: source port 1024+f and a\n"
			  "source address low byte counting up (skipping .0,\n"
			  ".255 and --dst-ip), for fanout hashes (default 1)" },
		{ .name = "arp-flood", .type = OPT_CUSTOM, .field = &o->arp_pool, .parse = opt_range,
		  .given = &o->arp_flood, .arg = "A-B",
		  .help = "only ARP requests, target address cycling A..B" },
		{ .name = "arp-out", .type = OPT_CUSTOM, .field = &o->arp_out, .parse = opt_range,
		  .given = &o->arp_out_set, .arg = "C-D",
		  .help = "with --arp-flood: every other request targets C..D" },
		{ .name = "src-mac", .type = OPT_MAC, .field = o->src_mac, .given = &o->src_mac_set,
		  .arg = "MAC", .help = "default: IFACE's own address" },
		{ .name = "dst-mac", .type = OPT_MAC, .field = o->dst_mac, .arg = "MAC",
		  .help = "default ff:ff:ff:ff:ff:ff: the peer's stack takes the\n"
			  "frames in, sends no ICMP error or TCP reset for them\n"
			  "(it does answer --mix's ARP and ICMP echo requests)" },
		{ .name = "src-ip", .type = OPT_IPV4, .field = &o->src_ip, .arg = "IP",
		  .help = "default 198.18.0.1 (IPv6: 2001:2::IP, RFC 5180)" },
		{ .name = "dst-ip", .type = OPT_IPV4, .field = &o->dst_ip, .arg = "IP",
		  .help = "default 198.18.0.2" },
		{ .name = "dst-port", .type = OPT_U64, OPT_INT(&o->dst_port), .min = 0, .max = 65535,
		  .arg = "PORT", .help = "default 9 (discard)" },
		{ .name = "seq", .type = OPT_FLAG,
		  .help = "accepted, always on: every frame but ARP with 12 bytes\n"
			  "of payload room carries \"RCG1\" and its index\n"
			  "0..COUNT-1 (64-bit big-endian) right after its L4\n"
			  "header; a pattern that depends on the index follows" },
		{ .type = OPT_SECTION, .help = "Sending" },
		{ .name = "rate", .letter = 'r', .type = OPT_RATE, OPT_INT(&o->rate), .min = 0,
		  .max = 1000000000, .what = "rate", .arg = "FPS",
		  .help = "frames per second; 0 or max: flat out (default)" },
		{ .name = "pace", .type = OPT_CHOICE, OPT_INT(&o->pace), .choices = pace_choices,
		  .what = "pacing", .why = "expected spin or sleep", .arg = "spin|sleep",
		  .help = "with -r: spin (default) holds the rate to a few us by\n"
			  "spinning the last 80 us before each batch of ~20 us;\n"
			  "sleep sends a batch per ~200 us and only sleeps in\n"
			  "between, leaving the CPU to others (what a whole-machine\n"
			  "CPU measurement needs); the frames are the same" },
		{ .name = "bypass", .type = OPT_FLAG, .field = &o->bypass,
		  .help = "PACKET_QDISC_BYPASS (packet sockets on this host, such\n"
			  "as a tcpdump on IFACE, then miss the frames)" },
		{ .name = "ring-frames", .type = OPT_U64, OPT_INT(&o->ring_frames), .min = RING_MIN,
		  .max = 1u << 20, .arg = "N",
		  .help = "TX ring slots (default 4096; 2048 bytes each up to\n"
			  "2016-byte frames, more for jumbo frames); halved\n"
			  "down to 64 when the kernel has no memory for them" },
		{ .name = "cpu", .type = OPT_U64, OPT_INT(&o->cpu), .min = 0, .max = CPU_SETSIZE - 1,
		  .arg = "N", .help = "pin to CPU N" },
		{ .name = "duration", .type = OPT_DURATION, .field = &o->duration_ns,
		  .raw = &o->duration_arg, .arg = "TIME",
		  .help = "give up after TIME (10, 2.5s, 500ms) short of COUNT" },
		{ .type = OPT_SECTION, .help = "Output" },
		{ .name = "write-pcap", .letter = 'w', .type = OPT_STRING, .field = &o->pcap_path,
		  .arg = "FILE", .help = "also write every frame sent, in order, to a pcap\n"
					 "file (timestamps: when queued)" },
		{ .name = "quiet", .letter = 'q', .type = OPT_FLAG, .field = &o->quiet,
		  .help = "no summary line" },
		{ .name = "json", .type = OPT_FLAG, .field = &o->json,
		  .help = "instead, print on stdout {\"sent\":..,\"errors\":..,\n"
			  "\"seconds\":..,\"pps\":..,\"gbps\":..,\"frame_sizes\":[..],\n"
			  "\"bytes\":..,\"complete\":..}" },
	};
	const struct opt_prog prog = { .synopsis = usage_head, .epilogue = usage_tail,
					.opts = table, .nopts = ARRAY_SIZE(table) };
	int rest;

	opts_defaults(o);
	rest = opt_parse_or_exit(&prog, argc, argv);
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

/* 2048-byte slots up to 2016-byte frames, else the next power of two, so slots
 * tile txring's blocks exactly. */
static unsigned slot_size(unsigned frame_len)
{
	unsigned sz = 2048;

	while (sz < frame_len + TXRING_DATA_OFF)
		sz <<= 1;
	return sz;
}
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
	s.nprotos = tmpl_nprotos(&o);
	s.tmpls = tmpls = tmpls_build(&o, s.nprotos, pattern);
	s.flow_low = flow_low = flow_lows(&o);
	s.pace_batch = o.pace == PACE_SLEEP ? pace_batch(o.rate * (SLEEP_SLICE_NS / PACE_SLICE_NS), BATCH_MAX)
					    : pace_batch(o.rate, PACE_BATCH_MAX);

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
		err = gen_pcap_open(&pcap, o.pcap_path);
		if (err) {
			log_err("cannot write pcap file '%s': %s", o.pcap_path, strerror(-err));
			status = 2;
			goto out_close_ring;
		}
		s.pcap = &pcap;
		s.slot_ts = xcalloc(s.ring.frame_nr, sizeof(*s.slot_ts));
	}
	sender_signals_install();

	sender_run(&s);

	report(&s, &o);
	status = s.sent == o.count && !s.errors ? 0 : 1;
	err = gen_pcap_close(&pcap);
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
