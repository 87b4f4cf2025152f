/*
 * ringcap-merge — how many packets one merge thread puts in time order.
 *
 * With several workers, every packet ringcap writes goes through one thread:
 * the time-order merge (merge/merge.h), which walks the blocks every worker
 * hands over and passes batches to the writer. This program measures that
 * thread's ceiling with no network and no kernel: it feeds --inputs in-memory
 * TPACKET_V3 rings into the real merge, whose sink is the real pcap handler
 * and writer (to /dev/null by default, or -w FILE).
 *
 *   main thread (--filler-cpu): plays the kernel and every worker. Packet g
 *   (g = 0..N-1) goes to input g mod I and is stamped T0 + g us, so the inputs
 *   interleave packet by packet, as a fanout spreads many flows over workers,
 *   and the merge changes input at every packet (its dearest case). A round
 *   fills the next block of every input at once, slot by slot, then retires
 *   each (release store) and hands it over with merge_push, in ring order, as
 *   a worker does. A block still held by the merge is waited for (counted in
 *   filler_wait_s), never dropped: at the ceiling the merge sets the pace.
 *
 *   merge thread and writer threads (--cpu): started from a thread pinned
 *   there, so they run there.
 *
 * Every block of every ring is laid out once before the clock starts (the
 * frame bytes and the address); a round then writes only what differs per
 * packet: the header with its timestamp and the frame's index at byte 42. So
 * the filler stays far cheaper than the merge, which copies every frame.
 *
 * The merge's clock is made to stand still (0): an input with nothing queued
 * then holds the others back until its next block comes, as under full load,
 * where every input has blocks queued. Order never depends on the margin or
 * on how this machine schedules the filler.
 *
 *   ringcap-merge [--inputs N] [--frames BYTES] [--packets N] [-w FILE]
 *                 [--writer uring|pwrite] [--no-direct] [--staging SIZE]
 *                 [--block-size SIZE] [--ring SIZE] [--filler-cpu N] [--cpu N]
 *
 * Output: one JSON line: inputs, frame, packets, emitted (the merge's count,
 * all inputs), out_of_order, bad_packets, written (records the writer kept),
 * seconds (first push to the merge closed: every packet emitted and appended),
 * mpps, gbps (line rate: frame + 24 bytes), merge_cpu_ns_per_pkt (every thread
 * but the filler: the merger, the writer's), core_mpps (what one core sustains
 * at that cost: the ceiling when other load shares the merge's CPU; with
 * filler_wait_s near seconds the merge, not the filler, set the pace),
 * filler_ns_per_pkt, filler_wait_s,
 * close_seconds (the writer's close), writer, o_direct, file_bytes. Exit 0; 1
 * when a packet is missing, repeated or out of order, or on a run-time failure;
 * 2 on bad arguments.
 */
#include <errno.h>
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>

#include "bench/replay.h"
#include "merge/merge.h"
#include "tools/frame.h"
#include "util/opt.h"
#include "util/util.h"
#include "workers/workers.h"
#include "writer/writer.h"

#define TS_STEP_NS   1000ull /* packet g is stamped T0 + g us (the file keeps us) */
#define MERGE_BATCH  1024u   /* as ringcap: packets per writer_append */

struct opts {
	uint32_t inputs;
	uint32_t frame;
	uint64_t packets;
	struct replay_writer w; /* -w, --writer, --no-direct, --staging */
	uint32_t block_size;
	uint64_t ring_bytes;
	int filler_cpu;
	int cpu;
};

static uint64_t clock_ns(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* The merge's clock, standing still: see the top of the file. */
static uint64_t still_clock(void)
{
	return 0;
}

/* ---------------------------------------------------------------- rings */

struct feed {
	const struct opts *o;
	struct ring rings[MERGE_MAX_INPUTS];  /* in memory: map, block_size, block_nr, cur */
	uint32_t stride;       /* bytes per packet slot */
	uint32_t per_block;    /* packets a block holds */
	uint64_t t0_ns;        /* packet 0's timestamp */
	uint64_t wait_ns;      /* filler time spent waiting for a block back */
};

static uint8_t *slot_at(const struct feed *f, unsigned in, uint32_t blk, uint32_t k)
{
	return (uint8_t *)ring_block(&f->rings[in], blk) + BLK_HDR_LEN + (size_t)k * f->stride;
}

/* Before the clock (and before the merge's thread): every block gets its
 * fixed header fields and every slot the frame and the address, the bytes no
 * round changes. */
static void lay_out(struct feed *f, const uint8_t *frame)
{
	for (unsigned in = 0; in < f->o->inputs; in++)
		for (uint32_t blk = 0; blk < f->rings[in].block_nr; blk++) {
			struct tpacket_block_desc *b = ring_block(&f->rings[in], blk);

			b->version = TPACKET_V3;
			b->offset_to_priv = BLK_HDR_LEN;
			b->hdr.bh1.offset_to_first_pkt = BLK_HDR_LEN;
			for (uint32_t k = 0; k < f->per_block; k++) {
				uint8_t *at = slot_at(f, in, blk, k);
				struct sockaddr_ll *sll =
					(struct sockaddr_ll *)(at + TPACKET_ALIGN(sizeof(struct tpacket3_hdr)));

				sll->sll_family = AF_PACKET;
				sll->sll_protocol = htons(ETH_P_IP);
				sll->sll_ifindex = 1;
				sll->sll_halen = ETH_ALEN;
				memcpy(sll->sll_addr, frame + ETH_ALEN, ETH_ALEN);
				memcpy(at + MAC_OFF, frame, f->o->frame);
			}
		}
}

/* Packet g into slot k of input `in`'s current block, as tpacket_rcv() writes
 * a V3 packet header (the frame bytes are there already). */
static void stamp(struct feed *f, unsigned in, uint32_t k, uint64_t g)
{
	struct tpacket3_hdr *h = (struct tpacket3_hdr *)slot_at(f, in, f->rings[in].cur, k);
	const uint64_t ts = f->t0_ns + g * TS_STEP_NS;
	const uint64_t be = __builtin_bswap64(g);

	replay_v3_hdr(h, f->stride, ts, f->o->frame);
	memcpy((uint8_t *)h + MAC_OFF + SEQ_OFF, &be, sizeof(be));
}

/* Wait until input `in`'s next block is back from the merge (the kernel would
 * drop instead; we measure what the merge sustains, so we wait). */
static void wait_block(struct feed *f, unsigned in)
{
	const struct tpacket_block_desc *b = ring_block(&f->rings[in], f->rings[in].cur);
	uint64_t t;

	if (__atomic_load_n(&b->hdr.bh1.block_status, __ATOMIC_ACQUIRE) == TP_STATUS_KERNEL)
		return;
	t = now_ns();
	while (__atomic_load_n(&b->hdr.bh1.block_status, __ATOMIC_ACQUIRE) != TP_STATUS_KERNEL)
		sched_yield();
	f->wait_ns += now_ns() - t;
}

/* Retire input `in`'s current block with n packets and hand it to the merge. */
static int retire(struct feed *f, struct merge *m, unsigned in, uint32_t n)
{
	struct ring *r = &f->rings[in];
	struct tpacket_block_desc *b = ring_block(r, r->cur);
	struct tpacket3_hdr *last = (struct tpacket3_hdr *)slot_at(f, in, r->cur, n - 1);
	uint64_t t = now_ns();
	int ret;

	last->tp_next_offset = 0;
	b->hdr.bh1.blk_len = BLK_HDR_LEN + n * f->stride;
	b->hdr.bh1.seq_num++;
	__atomic_store_n(&b->hdr.bh1.num_pkts, n, __ATOMIC_RELAXED);
	__atomic_store_n(&b->hdr.bh1.block_status, TP_STATUS_USER, __ATOMIC_RELEASE);
	ret = merge_push(m, in, b);
	ring_advance(r);
	f->wait_ns += now_ns() - t;   /* merge_push blocks while the queue is full */
	return ret;
}

/* The whole run: rounds of one block per input until N packets went in. */
static int fill(struct feed *f, struct merge *m)
{
	const unsigned ni = f->o->inputs;
	const uint64_t total = f->o->packets;
	const uint64_t round = (uint64_t)ni * f->per_block;
	int ret;

	for (uint64_t base = 0; base < total; base += round) {
		uint64_t left = total - base;
		uint32_t k, n[MERGE_MAX_INPUTS];

		for (unsigned in = 0; in < ni; in++)
			wait_block(f, in);
		for (k = 0; k < f->per_block && (uint64_t)k * ni < left; k++)
			for (unsigned in = 0; in < ni && (uint64_t)k * ni + in < left; in++)
				stamp(f, in, k, base + (uint64_t)k * ni + in);
		for (unsigned in = 0; in < ni; in++) {
			/* packets of this round that went to input `in` */
			n[in] = left >= round ? f->per_block
					      : (uint32_t)((left + ni - 1 - in) / ni);
			if (n[in] && (ret = retire(f, m, in, n[in])))
				return ret;
		}
	}
	return 0;
}

/* ---------------------------------------------------------------- main */

static void parse_args(int argc, char **argv, struct opts *o)
{
	const struct opt table[] = {
		{ .name = "inputs", .type = OPT_U64, OPT_INT(&o->inputs), .min = 1,
		  .max = MERGE_MAX_INPUTS, .what = "input count", .arg = "N",
		  .help = "rings the merge takes packets from, 1..64 (default 2)" },
		{ .name = "frames", .type = OPT_U64, OPT_INT(&o->frame), .min = 60, .max = 9000,
		  .what = "frame size", .arg = "BYTES", .help = "frame size, 60..9000 (default 60)" },
		{ .name = "packets", .type = OPT_U64, OPT_INT(&o->packets), .min = 1,
		  .max = 1ull << 40, .what = "packet count", .why = "expected 1..2^40", .arg = "N",
		  .help = "packets, all inputs together (default 10000000)" },
		REPLAY_WRITER_OPTS(&o->w),
		REPLAY_BLOCK_SIZE_OPT(&o->block_size),
		{ .name = "ring", .type = OPT_SIZE, OPT_INT(&o->ring_bytes), .min = 256u << 10,
		  .max = 1ull << 34, .what = "ring size", .why = "expected 256k..16g", .arg = "SIZE",
		  .help = "per input (default 16m)" },
		{ .name = "filler-cpu", .type = OPT_U64, OPT_INT(&o->filler_cpu), .min = 0,
		  .max = 4095, .what = "CPU", .arg = "N", .help = "the filler's CPU (default 0)" },
		{ .name = "cpu", .type = OPT_U64, OPT_INT(&o->cpu), .min = 0, .max = 4095,
		  .what = "CPU", .arg = "N", .help = "the merge's and writer's CPU (default 1)" },
	};
	const struct opt_prog prog = {
		.synopsis =
		"usage: ringcap-merge [--inputs N] [--frames BYTES] [--packets N] [-w FILE]\n"
		"                     [--writer uring|pwrite] [--no-direct] [--staging SIZE]\n"
		"                     [--block-size SIZE] [--ring SIZE] [--filler-cpu N] [--cpu N]\n"
		"ringcap's time-order merge and writer fed from N in-memory TPACKET_V3 rings:\n"
		"the packets per second one merge thread sustains; prints one JSON line.\n",
		.epilogue = "example: ringcap-merge --inputs 4 --frames 1514 --packets 4000000\n",
		.opts = table, .nopts = ARRAY_SIZE(table),
	};

	replay_parse_options(&prog, argc, argv);
	replay_check_geometry(o->ring_bytes, o->block_size, o->frame, 4);
}

int main(int argc, char **argv)
{
	struct opts o = {
		.inputs = 2, .frame = 60, .packets = 10000000, .w = REPLAY_WRITER_DEFAULTS,
		.block_size = 1u << 20, .ring_bytes = 16ull << 20, .filler_cpu = 0, .cpu = 1,
	};
	struct merge_input_counters c[MERGE_MAX_INPUTS];
	struct merge_config mc = { 0 };
	struct writer_result res = { 0 };
	struct pcap_handler ph;
	struct writer_config wc;
	struct writer *wr;
	struct merge *m;
	struct feed *f;
	uint8_t frame[9018];
	uint64_t emitted = 0, ooo = 0, bad = 0, t0, t_merged, t_closed, cpu0, fill0, fill_ns, cpu_ns;
	size_t ring_len;
	int ret, status = 0;

	log_set_program("ringcap-merge");
	parse_args(argc, argv, &o);
	f = xcalloc(1, sizeof(*f));
	f->o = &o;
	f->stride = ALIGN_UP(MAC_OFF + o.frame, V3_ALIGN);
	f->per_block = (o.block_size - BLK_HDR_LEN) / f->stride;
	ring_len = (size_t)(o.ring_bytes / o.block_size) * o.block_size;
	for (unsigned i = 0; i < o.inputs; i++) {
		struct ring *r = &f->rings[i];

		r->fd = -1;
		r->fanout_id = -1;
		r->map = mmap(NULL, ring_len, PROT_READ | PROT_WRITE,
			      MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
		if (r->map == MAP_FAILED)
			die(1, "cannot map a %zu-byte ring: %s", ring_len, strerror(errno));
		r->map_len = ring_len;
		r->block_size = o.block_size;
		r->block_nr = (uint32_t)(ring_len / o.block_size);
		mc.rings[i] = r;
	}
	replay_frame(frame, o.frame);
	lay_out(f, frame);

	/* The merger and the writer's threads inherit this CPU. */
	if (pin_to_cpu(o.cpu))
		log_warn("cannot pin the merge to CPU %d", o.cpu);
	wc = replay_writer_config(&o.w);
	if (writer_open(&wr, &wc))
		die(2, "cannot write %s", o.w.path);
	pcap_handler_init_sink(&ph, wr);
	mc.ninputs = o.inputs;
	mc.depth = f->rings[0].block_nr / 2;  /* as ringcap: half of a ring */
	mc.margin_ns = 10ull * 1000 * 1000;
	mc.batch = MERGE_BATCH;
	mc.sink = pcap_handler_write;
	mc.sink_ctx = &ph;
	mc.clock_ns = still_clock;
	mc.merger_runs = true; /* the merge thread's ceiling, not the filler's */
	if ((ret = merge_open(&m, &mc)))
		die(1, "cannot open the merge: %s", strerror(-ret));
	if (pin_to_cpu(o.filler_cpu))
		log_warn("cannot pin the filler to CPU %d", o.filler_cpu);

	f->t0_ns = realtime_ns();
	t0 = now_ns();
	cpu0 = clock_ns(CLOCK_PROCESS_CPUTIME_ID);
	fill0 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
	ret = fill(f, m);
	if (ret) {
		log_err("merge_push: %s", strerror(-ret));
		status = 1;
	}
	fill_ns = clock_ns(CLOCK_THREAD_CPUTIME_ID) - fill0;
	ret = merge_close(m, c);
	t_merged = now_ns();
	cpu_ns = clock_ns(CLOCK_PROCESS_CPUTIME_ID) - cpu0 - fill_ns;
	if (ret) {
		log_err("the merge's sink: %s", strerror(-ret));
		status = 1;
	}
	ret = writer_close(wr, &res);
	t_closed = now_ns();
	if (ret) {
		log_err("writing %s: %s", o.w.path, strerror(-ret));
		status = 1;
	}
	for (unsigned i = 0; i < o.inputs; i++) {
		emitted += c[i].packets;
		ooo += c[i].out_of_order;
		bad += c[i].bad_packets;
	}
	if (emitted != o.packets || ooo || bad || res.packets != o.packets) {
		log_err("offered %llu, the merge emitted %llu (%llu out of order, %llu bad), the "
			"writer kept %llu", (unsigned long long)o.packets, (unsigned long long)emitted,
			(unsigned long long)ooo, (unsigned long long)bad,
			(unsigned long long)res.packets);
		status = 1;
	}

	double secs = (double)(t_merged - t0) / 1e9;
	printf("{\"inputs\":%u,\"frame\":%u,\"packets\":%llu,\"emitted\":%llu,\"out_of_order\":%llu,"
	       "\"bad_packets\":%llu,\"written\":%llu,\"seconds\":%.6f,\"mpps\":%.4f,\"gbps\":%.4f,"
	       "\"merge_cpu_ns_per_pkt\":%.2f,\"core_mpps\":%.3f,\"filler_ns_per_pkt\":%.2f,"
	       "\"filler_wait_s\":%.3f,"
	       "\"close_seconds\":%.3f,\"writer\":\"%s\",\"o_direct\":%s,\"file_bytes\":%llu}\n",
	       o.inputs, o.frame, (unsigned long long)o.packets, (unsigned long long)emitted,
	       (unsigned long long)ooo, (unsigned long long)bad, (unsigned long long)res.packets,
	       secs, secs > 0 ? (double)emitted / secs / 1e6 : 0.0,
	       secs > 0 ? (double)emitted * (o.frame + 24) * 8 / secs / 1e9 : 0.0,
	       (double)cpu_ns / (double)o.packets,
	       cpu_ns ? 1e3 * (double)o.packets / (double)cpu_ns : 0.0,
	       (double)fill_ns / (double)o.packets,
	       (double)f->wait_ns / 1e9, (double)(t_closed - t_merged) / 1e9,
	       res.backend ? res.backend : "none", res.direct ? "true" : "false",
	       (unsigned long long)res.bytes);
	for (unsigned i = 0; i < o.inputs; i++)
		munmap(f->rings[i].map, ring_len);
	xfree(f);
	return status;
}
