/*
 * ringcap-replay — ringcap's block pipeline with the kernel played by a thread.
 *
 * The testbed cannot offer every rate a capture appliance must meet: on veth the
 * generator also does the receiver's kernel work on its own CPU, and on a
 * 2-CPU machine it tops out well below 10 Gbit/s of 1514-byte frames. This
 * program takes the network out and keeps everything after it real:
 *
 *   filler thread (CPU --filler-cpu, "the kernel")      consumer thread (CPU --cpu, "the worker")
 *   fills a TPACKET_V3-shaped ring in memory the way    takes blocks in ring order (acquire),
 *   af_packet.c does: block header, tpacket3_hdr +      runs --handler on each, gives it back
 *   sockaddr_ll, frame bytes at tp_mac, 8-byte aligned  (release), sleeps on an eventfd when
 *   stride; closes a block when the next frame does     the next block is still the filler's
 *   not fit or --block-timeout passed (release store,   (the kernel's poll wakes it the same
 *   then an eventfd write, as sk_data_ready wakes       way: once per retired block)
 *   poll); when the next block is still the worker's
 *   it freezes and drops, as the kernel does
 *
 * Handlers:
 *   count   the bare loop: walk each block with the iterator and count (what
 *           bench/ringcap-arm --method v3 does with a real socket)
 *   pcap    ringcap's worker: worker_process_block() with the real pcap handler
 *           and writer (staging slots, io_uring or pwrite, O_DIRECT) to -w FILE
 *   writer  no ring, no filler and no worker: one thread appends batches
 *           of 256 packet views straight to the writer (writer_append, as
 *           workers do after their block walk), their bytes striding through
 *           64 MiB of pre-touched frames (so the copy reads memory, not a hot
 *           cache line); the clock covers open to close (fsync). The writer
 *           line of bench/ringcap-bench: what the writer sustains on a disk,
 *           beside the raw disk line of ringcap-disk.
 *
 * Both handlers run in the same loop over identical blocks written by another
 * CPU, so the difference in CPU per packet is what ringcap adds to the bare
 * loop, without the generator's and the kernel's noise. With --rate, the filler
 * paces frames to that many per second (812744 = 10 Gbit/s of 1514-byte frames
 * with preamble and gap), and "dropped" says whether the worker kept up.
 *
 *   ringcap-replay [--handler count|pcap] [--frames BYTES] [--packets N]
 *                  [--rate FPS|max] [-w FILE] [--writer uring|pwrite] [--no-direct]
 *                  [--staging SIZE] [--block-size SIZE] [--ring SIZE]
 *                  [--block-timeout MS] [--filler-cpu N] [--cpu N]
 *   ringcap-replay --handler writer [--frames BYTES] [--packets N]
 *                  -w FILE [--writer uring|pwrite] [--no-direct] [--staging SIZE]
 *                  [--format pcap|pcapng]
 *
 * Output: one JSON line on stdout: offered, kept, dropped (frames the filler had
 * to drop on a frozen ring), seconds (first frame to last block handled),
 * offered_pps, kept_pps, gbps (line rate: frame + 24 bytes), worker_ns_per_pkt
 * (the consumer thread's CPU), cpu_ns_per_pkt (the whole process but the filler:
 * consumer, io_uring reaper and kernel workers), close_seconds, writer, o_direct,
 * stalls, file_bytes. The writer handler prints path, bytes, packets, seconds
 * (open to close), gbytes_per_s, mpps, cpu_ns_per_pkt (the whole process),
 * writer, o_direct, stalls instead. Exit 0, 1 on a run-time failure, 2 on bad
 * arguments.
 */
#include <errno.h>
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "bench/replay.h"
#include "util/opt.h"
#include "tools/frame.h"
#include "util/util.h"
#include "workers/workers.h"
#include "writer/writer.h"

#define FEED_BATCH   256     /* packet views per writer_append (writer handler) */
#define FEED_BYTES   (64u << 20) /* the writer handler's source frames */

enum handler_kind { H_COUNT, H_PCAP, H_WRITER };

struct opts {
	enum handler_kind handler;
	uint32_t frame;
	uint64_t packets;
	uint64_t rate;          /* frames/s; 0: as fast as the filler goes */
	struct replay_writer w; /* -w, --writer, --no-direct, --index, --staging */
	uint32_t block_size;
	uint64_t ring_bytes;
	uint32_t tov_ms;
	int filler_cpu;
	int cpu;
	uint32_t flows;         /* > 1: source address 198.18.0.1 + flow, a flow per --flow-run frames */
	uint32_t flow_run;
	uint64_t first_index;   /* frame numbering continues from here (a series of files) */
	unsigned payload;       /* the writer handler's bytes: enum payload_kind */
	unsigned format;        /* --format: enum writer_format */
};

/* The writer handler's source bytes (--payload), in payload_choices' order. */
enum payload_kind { PAYLOAD_PATTERN, PAYLOAD_RANDOM, PAYLOAD_TEXT };
static const char *const payload_choices[] = { "pattern", "random", "text", NULL };

struct replay {
	const struct opts *o;
	uint8_t *map;
	uint32_t block_nr;
	int efd;                 /* filler -> consumer: a block was retired */
	_Atomic bool filler_done;
	uint8_t frame[9018];     /* the template frame; bytes SEQ_OFF.. carry the index */

	/* filler results */
	uint64_t offered, dropped, freezes;  /* freezes: runs of drops */
	uint64_t t_first, filler_cpu_ns;
	/* consumer results */
	uint64_t kept, kept_bytes, bad_blocks;
	uint64_t t_last, worker_cpu_ns, proc_cpu_end;
	int error;
	struct worker *w;        /* pcap handler only */
};

static uint64_t clock_ns(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static struct tpacket_block_desc *block_at(const struct replay *r, uint32_t i)
{
	return (struct tpacket_block_desc *)(r->map + (size_t)i * r->o->block_size);
}

/* ------------------------------------------------------------- the filler */

struct fill_state {
	uint32_t blk;            /* block being filled */
	uint32_t used;           /* bytes of it in use (BLOCK_LEN) */
	uint32_t npkts;
	struct tpacket3_hdr *prev;
	uint64_t opened_ns;      /* first frame in it; 0 while empty */
	bool frozen;             /* blk is still the consumer's: drop until it is back */
	uint32_t seq;
};

static void open_block(struct replay *r, struct fill_state *s)
{
	struct tpacket_block_desc *b = block_at(r, s->blk);

	b->version = TPACKET_V3;
	b->offset_to_priv = BLK_HDR_LEN;
	b->hdr.bh1.num_pkts = 0;
	b->hdr.bh1.offset_to_first_pkt = BLK_HDR_LEN;
	b->hdr.bh1.blk_len = BLK_HDR_LEN;
	b->hdr.bh1.seq_num = ++s->seq;
	s->used = BLK_HDR_LEN;
	s->npkts = 0;
	s->prev = NULL;
	s->opened_ns = 0;
}

/* As sk_data_ready wakes a poll()er: tell the consumer a block is there. */
static void wake_consumer(const struct replay *r)
{
	uint64_t one = 1;

	if (write(r->efd, &one, sizeof(one)) < 0)
		log_warn("eventfd: %s", strerror(errno));
}

/* Retire the current block to the consumer and move on (prb_close_block +
 * prb_open_block): the release store publishes every byte written into it. */
static void close_block(struct replay *r, struct fill_state *s)
{
	struct tpacket_block_desc *b = block_at(r, s->blk);

	s->prev->tp_next_offset = 0;
	b->hdr.bh1.num_pkts = s->npkts;
	b->hdr.bh1.blk_len = s->used;
	__atomic_store_n(&b->hdr.bh1.block_status, TP_STATUS_USER, __ATOMIC_RELEASE);
	wake_consumer(r);
	s->blk = s->blk + 1 == r->block_nr ? 0 : s->blk + 1;
	s->frozen = true; /* until we see the next block is the kernel's */
}

/* May a frame go into the current block? Opens it when the consumer gave it back. */
static bool block_ready(struct replay *r, struct fill_state *s)
{
	if (!s->frozen)
		return true;
	if (__atomic_load_n(&block_at(r, s->blk)->hdr.bh1.block_status, __ATOMIC_ACQUIRE) !=
	    TP_STATUS_KERNEL)
		return false;
	s->frozen = false;
	open_block(r, s);
	return true;
}

/* One frame, as tpacket_rcv() puts it into a V3 block. */
static void fill_frame(struct replay *r, struct fill_state *s, uint64_t index, uint64_t ts_ns)
{
	const uint32_t len = r->o->frame;
	const uint32_t stride = ALIGN_UP(MAC_OFF + len, V3_ALIGN);
	uint8_t *at = (uint8_t *)block_at(r, s->blk) + s->used;
	struct tpacket3_hdr *h = (struct tpacket3_hdr *)at;
	struct sockaddr_ll *sll = (struct sockaddr_ll *)(at + TPACKET_ALIGN(sizeof(*h)));
	uint64_t be = __builtin_bswap64(index);

	replay_v3_hdr(h, stride, ts_ns, len);
	memset(sll, 0, sizeof(*sll));
	sll->sll_family = AF_PACKET;
	sll->sll_protocol = htons(ETH_P_IP);
	sll->sll_ifindex = 1;
	sll->sll_halen = ETH_ALEN;
	memcpy(sll->sll_addr, r->frame + ETH_ALEN, ETH_ALEN);
	memcpy(at + MAC_OFF, r->frame, len);
	memcpy(at + MAC_OFF + SEQ_OFF, &be, sizeof(be));
	if (r->o->flows > 1) {
		/* hosts come and go: a run of frames per source, as flows do */
		uint32_t src = (198u << 24 | 18u << 16) + 1 +
			       (uint32_t)(((r->o->first_index + index) / r->o->flow_run) % r->o->flows);
		uint32_t src_be = htonl(src);

		memcpy(at + MAC_OFF + ETH_HLEN + 12, &src_be, sizeof(src_be));
	}
	if (!s->opened_ns)
		s->opened_ns = ts_ns ? ts_ns : 1;
	s->prev = h;
	s->used += stride;
	s->npkts++;
}

static void *filler_main(void *arg)
{
	struct replay *r = arg;
	const struct opts *o = r->o;
	const uint32_t stride = ALIGN_UP(MAC_OFF + o->frame, V3_ALIGN);
	const uint64_t tov_ns = (uint64_t)o->tov_ms * 1000000;
	struct fill_state s = { .blk = 0 };
	uint64_t t0, now, sent = 0;
	bool dropping = false;

	if (o->filler_cpu >= 0 && pin_to_cpu(o->filler_cpu))
		log_warn("filler: cannot pin to CPU %d", o->filler_cpu);
	open_block(r, &s);
	t0 = now = now_ns();
	r->t_first = t0;
	while (sent < o->packets) {
		/* Pace: frame k is due at t0 + k/rate. Unpaced, read the clock
		 * every 64 frames for the block timeout and the timestamps. */
		if (o->rate) {
			uint64_t due = t0 + (uint64_t)((double)sent * 1e9 / (double)o->rate);

			while ((now = now_ns()) < due)
				if (!s.frozen && s.npkts && now - s.opened_ns >= tov_ns)
					close_block(r, &s);
		} else if (!(sent & 63)) {
			now = now_ns();
		}
		if (!s.frozen && s.npkts && now - s.opened_ns >= tov_ns)
			close_block(r, &s);
		if (!s.frozen && s.used + stride >= o->block_size)
			close_block(r, &s);
		if (block_ready(r, &s)) {
			fill_frame(r, &s, sent, now);
			dropping = false;
		} else {
			r->dropped++;
			r->freezes += !dropping;
			dropping = true;
		}
		sent++;
	}
	if (!s.frozen && s.npkts)
		close_block(r, &s);
	r->offered = sent;
	r->filler_cpu_ns = clock_ns(CLOCK_THREAD_CPUTIME_ID);
	atomic_store(&r->filler_done, true);
	wake_consumer(r);
	return NULL;
}

/* ------------------------------------------------------------ the consumer */

/* The bare loop, as in ringcap-arm's v3 arm: walk the headers and count. */
static void count_block(struct replay *r, const struct tpacket_block_desc *b)
{
	struct block_iter it;
	struct pkt_view p;
	uint64_t n = 0, bytes = 0;

	block_iter_init(&it, b, r->o->block_size);
	while (block_iter_next(&it, &p)) {
		n++;
		bytes += p.len;
	}
	r->bad_blocks += it.lied;
	r->kept += n;
	r->kept_bytes += bytes;
}

static void *consumer_main(void *arg)
{
	struct replay *r = arg;
	uint32_t cur = 0;

	if (r->o->cpu >= 0 && pin_to_cpu(r->o->cpu))
		log_warn("consumer: cannot pin to CPU %d", r->o->cpu);
	if (alloc_thread_arena())
		log_warn("consumer: no allocator arena of its own");
	for (;;) {
		struct tpacket_block_desc *b = block_at(r, cur);
		uint64_t v;

		if (!(__atomic_load_n(&b->hdr.bh1.block_status, __ATOMIC_ACQUIRE) & TP_STATUS_USER)) {
			/* Look again after seeing "done": the filler may have
			 * retired this block between the two loads. */
			if (atomic_load(&r->filler_done) &&
			    !(__atomic_load_n(&b->hdr.bh1.block_status, __ATOMIC_ACQUIRE) &
			      TP_STATUS_USER))
				break;
			/* as poll() on the socket: sleep until a block is retired */
			if (read(r->efd, &v, sizeof(v)) < 0 && errno != EINTR) {
				r->error = -errno;
				break;
			}
			continue;
		}
		if (r->w) {
			int ret = worker_process_block(r->w, b);

			if (ret) {
				r->error = ret;
				break;
			}
		} else {
			count_block(r, b);
		}
		__atomic_store_n(&b->hdr.bh1.block_status, TP_STATUS_KERNEL, __ATOMIC_RELEASE);
		cur = cur + 1 == r->block_nr ? 0 : cur + 1;
	}
	r->t_last = now_ns();
	r->worker_cpu_ns = clock_ns(CLOCK_THREAD_CPUTIME_ID);
	r->proc_cpu_end = clock_ns(CLOCK_PROCESS_CPUTIME_ID);
	if (r->w) {
		r->kept = r->w->c.packets;
		r->bad_blocks = r->w->c.bad_blocks;
	}
	return NULL;
}

/* ------------------------------------------------------------- the writer */

/* In enum writer_format's order. */
static const char *const format_choices[] = { "pcap", "pcapng", NULL };

/* The writer handler: feeders append straight to the writer. */
struct feeder {
	struct writer *w;
	const uint8_t *src;
	uint32_t size;
	uint64_t packets;   /* to append */
	unsigned id;
	int error;
};

static void feed(struct feeder *f)
{
	struct pkt_view v[FEED_BATCH];
	const uint64_t frames = FEED_BYTES / f->size;
	uint64_t k = (uint64_t)f->id * 7919, done = 0;

	while (done < f->packets) {
		unsigned n = f->packets - done < FEED_BATCH ? (unsigned)(f->packets - done) : FEED_BATCH;
		int ret;

		for (unsigned i = 0; i < n; i++, k++) {
			v[i] = (struct pkt_view){ .data = f->src + (k % frames) * f->size,
						  .caplen = f->size, .len = f->size,
						  .sec = (uint32_t)(k / 1000000), .nsec = (uint32_t)(k % 1000000) };
		}
		ret = writer_append(f->w, v, n);
		if (ret < 0) {
			f->error = ret;
			break;
		}
		done += n;
	}
}

/* The source frames: today's byte pattern (compresses to almost nothing),
 * random bytes (incompressible: zstd stores them raw, the worst case for
 * CPU per byte), or HTTP-like text lines with varying numbers. */
static void fill_payload(uint8_t *src, size_t len, enum payload_kind kind)
{
	uint64_t x = 0x9e3779b97f4a7c15ull;
	size_t at = 0;

	if (kind == PAYLOAD_PATTERN) {
		for (size_t i = 0; i < len; i++)
			src[i] = (uint8_t)(i * 131 + 7);
		return;
	}
	while (at < len) {
		char line[256];
		int n;

		x ^= x << 13, x ^= x >> 7, x ^= x << 17; /* xorshift64 */
		if (kind == PAYLOAD_RANDOM) {
			size_t k = len - at < 8 ? len - at : 8;

			memcpy(src + at, &x, k);
			at += k;
			continue;
		}
		n = snprintf(line, sizeof(line),
			     "GET /api/v1/items/%u?session=%08x HTTP/1.1\r\nHost: shop%u.example.test"
			     "\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64)\r\nCookie: id=%llx\r\n\r\n",
			     (unsigned)(x % 100000), (unsigned)(x >> 32), (unsigned)(x % 16),
			     (unsigned long long)(x * 2654435761u));
		if ((size_t)n > len - at)
			n = (int)(len - at);
		memcpy(src + at, line, (size_t)n);
		at += (size_t)n;
	}
}

/* One feeder appends --packets frames, as the one worker or the merger does
 * (the writer takes one appending thread); one JSON line. */
static int run_writer(const struct opts *o)
{
	struct writer_config wc = replay_writer_config(&o->w);
	struct writer_result res = { 0 };
	struct feeder fd;

	wc.format = (enum writer_format)o->format;
	uint64_t t0, c0;
	uint8_t *src;
	double secs;
	int ret, status = 0;

	src = pages_alloc(FEED_BYTES);
	if (!src)
		die(1, "cannot map %u bytes of source frames", FEED_BYTES);
	fill_payload(src, FEED_BYTES, (enum payload_kind)o->payload);
	t0 = now_ns();
	c0 = clock_ns(CLOCK_PROCESS_CPUTIME_ID);
	if (writer_open(&fd.w, &wc))
		die(2, "cannot open the writer on %s", o->w.path);
	fd = (struct feeder){ .w = fd.w, .src = src, .size = o->frame, .id = 0, .packets = o->packets };
	feed(&fd);
	if (fd.error)
		status = 1;
	ret = writer_close(fd.w, &res);
	secs = (double)(now_ns() - t0) / 1e9;
	if (ret) {
		log_err("writing %s: %s", o->w.path, strerror(-ret));
		status = 1;
	}
	printf("{\"path\":");
	json_put_string(stdout, o->w.path);
	printf(",\"bytes\":%llu,\"packets\":%llu,\"seconds\":%.3f,"
	       "\"gbytes_per_s\":%.3f,\"mpps\":%.4f,\"cpu_ns_per_pkt\":%.1f,\"writer\":\"%s\","
	       "\"o_direct\":%s,\"stalls\":%llu,\"format\":\"%s\"",
	       (unsigned long long)res.bytes, (unsigned long long)res.packets, secs,
	       (double)res.bytes / secs / 1e9, (double)res.packets / secs / 1e6,
	       res.packets ? (double)(clock_ns(CLOCK_PROCESS_CPUTIME_ID) - c0) /
				     (double)res.packets : 0.0,
	       res.backend ? res.backend : "none", res.direct ? "true" : "false",
	       (unsigned long long)res.stalls, format_choices[o->format]);
	/* compressed: "bytes" are on disk; the stream's rate is the pcap's */
	if (o->w.compress_level)
		printf(",\"payload\":\"%s\",\"compress_level\":%d,\"compress_threads\":%u,"
		       "\"stream_bytes\":%llu,\"stream_gbytes_per_s\":%.3f,\"ratio\":%.3f,"
		       "\"compress_chunks\":%llu,\"compress_raw_chunks\":%llu",
		       payload_choices[o->payload], o->w.compress_level, o->w.compress_threads,
		       (unsigned long long)res.compress.bytes_in,
		       (double)res.compress.bytes_in / secs / 1e9,
		       res.compress.bytes_out ? (double)res.compress.bytes_in /
						       (double)res.compress.bytes_out : 0.0,
		       (unsigned long long)res.compress.chunks,
		       (unsigned long long)res.compress.raw_chunks);
	printf("}\n");
	pages_free(src, FEED_BYTES);
	return status;
}

/* --------------------------------------------------------------- set-up */

static int open_pcap_worker(struct replay *r, struct writer **wr, struct pcap_handler *h)
{
	const struct opts *o = r->o;
	struct writer_config wc = replay_writer_config(&o->w);
	struct worker_config cfg = { .cpu = o->cpu, .block_size = o->block_size };
	struct worker *w;
	int ret;

	if (writer_open(wr, &wc))
		return -EIO;
	/* The worker walks our blocks; it has no socket (ring.fd stays -1). */
	w = xcalloc(1, sizeof(*w));
	ret = worker_init(w, &cfg);
	if (!ret)
		ret = pcap_handler_init(h, w, *wr);
	r->w = w;
	return ret;
}

/* In enum handler_kind's order. */
static const char *const handler_choices[] = { "count", "pcap", "writer", NULL };

static void parse_args(int argc, char **argv, struct opts *o)
{
	const struct opt table[] = {
		{ .name = "handler", .type = OPT_CHOICE, OPT_INT(&o->handler),
		  .choices = handler_choices, .what = "handler", .why = "expected count, pcap or writer",
		  .arg = "H", .help = "count (the bare loop), pcap (ringcap's worker; default) or\n"
				      "writer (the writer fed from memory, no ring)" },
		{ .name = "format", .type = OPT_CHOICE, OPT_INT(&o->format), .choices = format_choices,
		  .what = "format", .why = "expected pcap or pcapng", .arg = "F",
		  .help = "the writer handler's file format: pcap (default) or pcapng" },
		{ .name = "frames", .type = OPT_U64, OPT_INT(&o->frame), .min = 60, .max = 9000,
		  .what = "frame size", .arg = "BYTES", .help = "frame size, 60..9000 (default 60)" },
		{ .name = "packets", .type = OPT_U64, OPT_INT(&o->packets), .min = 1,
		  .max = 1ull << 40, .what = "packet count", .why = "expected 1..2^40", .arg = "N",
		  .help = "frames to offer (default 5000000)" },
		{ .name = "rate", .type = OPT_RATE, OPT_INT(&o->rate), .min = 1, .max = 100000000,
		  .what = "rate", .why = "expected max or 1..100000000 frames/s", .arg = "FPS",
		  .help = "pace the filler (812744 = 10 Gbit/s of 1514 B); default max" },
		REPLAY_WRITER_OPTS(&o->w),
		{ .name = "payload", .type = OPT_CHOICE, OPT_INT(&o->payload),
		  .choices = payload_choices, .what = "payload", .why = "expected pattern, random or text",
		  .arg = "P", .help = "the writer handler's bytes: pattern (default), random\n"
				      "(incompressible) or text (HTTP-like lines)" },
		{ .name = "index", .type = OPT_FLAG, .field = &o->w.index,
		  .help = "build ringcap-read's index as ringcap does (a regular -w FILE)" },
		{ .name = "no-index-postings", .type = OPT_FLAG, .field = &o->w.no_index_postings,
		  .help = "with --index: no postings (ringcap --no-index-postings)" },
		{ .name = "index-postings", .type = OPT_FLAG, .field = &o->w.index_postings,
		  .help = "with --index: postings too (the default, as ringcap)" },
		REPLAY_BLOCK_SIZE_OPT(&o->block_size),
		{ .name = "ring", .type = OPT_SIZE, OPT_INT(&o->ring_bytes), .min = 1u << 20,
		  .max = 1ull << 34, .what = "ring size", .why = "expected 1m..16g", .arg = "SIZE",
		  .help = "as ringcap (default 64m)" },
		{ .name = "block-timeout", .type = OPT_U64, OPT_INT(&o->tov_ms), .min = 1,
		  .max = 10000, .what = "block timeout", .why = "expected 1..10000 ms", .arg = "MS",
		  .help = "as ringcap (default 8)" },
		{ .name = "filler-cpu", .type = OPT_U64, OPT_INT(&o->filler_cpu), .min = 0,
		  .max = 4095, .what = "CPU", .arg = "N", .help = "the filler's CPU (default 0)" },
		{ .name = "cpu", .type = OPT_U64, OPT_INT(&o->cpu), .min = 0, .max = 4095,
		  .what = "CPU", .arg = "N", .help = "the consumer's CPU (default 1)" },
		{ .name = "flows", .type = OPT_U64, OPT_INT(&o->flows), .min = 1, .max = 100000,
		  .what = "flow count", .arg = "N",
		  .help = "source 198.18.0.1+F, F = ((K + frame) / FRAMES) mod N (default 1:\n"
			  "one source)" },
		{ .name = "flow-run", .type = OPT_U64, OPT_INT(&o->flow_run), .min = 1,
		  .max = 1u << 30, .what = "flow run", .why = "expected 1..2^30 frames",
		  .arg = "FRAMES", .help = "frames per flow in a row (default 1000)" },
		{ .name = "first-index", .type = OPT_U64, OPT_INT(&o->first_index), .min = 0,
		  .max = 1ull << 50, .what = "first index", .why = "expected 0..2^50", .arg = "K",
		  .help = "the first frame's number (default 0)" },
	};
	const struct opt_prog prog = {
		.synopsis =
		"usage: ringcap-replay [--handler count|pcap] [--frames BYTES] [--packets N]\n"
		"                      [--rate FPS|max] [-w FILE] [--writer uring|pwrite] [--no-direct] [--index]\n"
		"                      [--no-index-postings] [--staging SIZE] [--block-size SIZE] [--ring SIZE]\n"
		"                      [--block-timeout MS] [--filler-cpu N] [--cpu N]\n"
		"                      [--flows N] [--flow-run FRAMES] [--first-index K]\n"
		"       ringcap-replay --handler writer [--frames BYTES] [--packets N]\n"
		"                      -w FILE [--writer uring|pwrite] [--no-direct] [--staging SIZE]\n"
		"                      [--compress zstd[:L]] [--compress-threads N]\n"
		"                      [--payload pattern|random|text]\n"
		"                      [--format pcap|pcapng]\n"
		"ringcap's worker (or the bare counting loop) on TPACKET_V3 blocks that a\n"
		"filler thread writes the way the kernel does; or the writer alone, fed from\n"
		"memory; prints one JSON line.\n",
		.epilogue = "example: ringcap-replay --handler pcap --frames 1514 --rate 812744 \\\n"
			    "             --packets 4000000 -w /var/tmp/replay.pcap\n",
		.opts = table, .nopts = ARRAY_SIZE(table),
	};

	replay_parse_options(&prog, argc, argv);
	replay_check_geometry(o->ring_bytes, o->block_size, o->frame, 2);
}

int main(int argc, char **argv)
{
	struct opts o = {
		.handler = H_PCAP, .frame = 60, .packets = 5000000, .w = REPLAY_WRITER_DEFAULTS,
		.block_size = 1u << 20, .ring_bytes = 64ull << 20, .tov_ms = 8,
		.filler_cpu = 0, .cpu = 1, .flows = 1, .flow_run = 1000,
	};
	struct replay *r;
	struct writer *wr = NULL;
	struct writer_result res = { 0 };
	struct pcap_handler ph = { 0 };
	pthread_t filler, consumer;
	uint64_t proc0, t_close;
	double secs;
	int ret, status = 0;

	log_set_program("ringcap-replay");
	parse_args(argc, argv, &o);
	if (o.handler == H_WRITER)
		return run_writer(&o);

	r = xcalloc(1, sizeof(*r));
	r->o = &o;
	r->block_nr = (uint32_t)(o.ring_bytes / o.block_size);
	replay_frame(r->frame, o.frame);
	r->map = mmap(NULL, (size_t)o.ring_bytes, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (r->map == MAP_FAILED)
		die(1, "cannot map a %llu-byte ring: %s", (unsigned long long)o.ring_bytes,
		    strerror(errno));
	r->efd = eventfd(0, EFD_CLOEXEC);
	if (r->efd < 0)
		die(1, "eventfd: %s", strerror(errno));
	if (o.handler == H_PCAP && open_pcap_worker(r, &wr, &ph))
		die(2, "cannot write %s", o.w.path);

	proc0 = clock_ns(CLOCK_PROCESS_CPUTIME_ID);
	if ((ret = pthread_create(&consumer, NULL, consumer_main, r)) ||
	    (ret = pthread_create(&filler, NULL, filler_main, r)))
		die(1, "pthread_create: %s", strerror(ret));
	pthread_join(filler, NULL);
	pthread_join(consumer, NULL);

	t_close = now_ns();
	if (wr) {
		ret = writer_close(wr, &res);
		if (ret) {
			log_err("writing %s: %s", o.w.path, strerror(-ret));
			status = 1;
		}
	}
	t_close = now_ns() - t_close;
	if (r->error) {
		log_err("consumer: %s", strerror(-r->error));
		status = 1;
	}
	if (r->bad_blocks) {
		log_err("%llu blocks failed the iterator's checks", (unsigned long long)r->bad_blocks);
		status = 1;
	}
	if (r->kept + r->dropped != r->offered) {
		log_err("kept %llu + dropped %llu != offered %llu", (unsigned long long)r->kept,
			(unsigned long long)r->dropped, (unsigned long long)r->offered);
		status = 1;
	}

	secs = (double)(r->t_last - r->t_first) / 1e9;
	uint64_t others = r->proc_cpu_end - proc0 - r->filler_cpu_ns;
	double kept = r->kept ? (double)r->kept : 1.0;
	printf("{\"handler\":\"%s\",\"frame\":%u,\"rate\":%llu,\"offered\":%llu,\"kept\":%llu,"
	       "\"dropped\":%llu,\"freezes\":%llu,\"seconds\":%.6f,\"offered_pps\":%.1f,"
	       "\"kept_pps\":%.1f,\"gbps\":%.4f,\"worker_ns_per_pkt\":%.2f,\"cpu_ns_per_pkt\":%.2f,"
	       "\"close_seconds\":%.3f,\"writer\":\"%s\",\"o_direct\":%s,\"stalls\":%llu,"
	       "\"file_bytes\":%llu}\n",
	       o.handler == H_PCAP ? "pcap" : "count", o.frame, (unsigned long long)o.rate,
	       (unsigned long long)r->offered, (unsigned long long)r->kept,
	       (unsigned long long)r->dropped, (unsigned long long)r->freezes, secs,
	       secs > 0 ? (double)r->offered / secs : 0.0, secs > 0 ? (double)r->kept / secs : 0.0,
	       secs > 0 ? (double)r->kept * (o.frame + 24) * 8 / secs / 1e9 : 0.0,
	       (double)r->worker_cpu_ns / kept, (double)others / kept, (double)t_close / 1e9,
	       wr ? res.backend : "none", res.direct ? "true" : "false",
	       (unsigned long long)res.stalls, (unsigned long long)res.bytes);
	if (r->w) {
		worker_fini(r->w);
		xfree(r->w);
	}
	close(r->efd);
	munmap(r->map, (size_t)o.ring_bytes);
	xfree(r);
	return status;
}
