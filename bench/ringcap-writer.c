/*
 * ringcap-writer — how fast can ringcap's writer put packets on this disk,
 * with no network in the way? The testbed's generator cannot offer 10 Gbit/s
 * of 1514-byte frames on a small machine; this feeds the real writer
 * (writer_open / writer_append / writer_close: staging slots, io_uring,
 * O_DIRECT) from memory, the way workers do after their block walk, and
 * reports what it sustains beside the raw disk line of ringcap-disk.
 *
 *   ringcap-writer [--gb N] [--size BYTES] [--writer uring|pwrite] [--no-direct] DIR
 *
 * One thread appends (the writer takes one appending thread, as ringcap's
 * worker or merger) batches of 256 packet views whose bytes stride through
 * 64 MiB of pre-touched frames (so the copy reads memory, not a hot cache line),
 * until N GB (10^9 bytes) of records are written; then the file is closed
 * (fsync) and removed. The clock covers open to close.
 *
 * Output: one JSON line: {"path","bytes","packets","seconds","gbytes_per_s",
 * "mpps","cpu_ns_per_pkt","writer","o_direct","stalls"}. Exit 0, 1 on a write
 * error, 2 on bad arguments.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "bench/common.h"
#include "util/util.h"
#include "writer/pcap.h"
#include "writer/writer.h"

#define BATCH 256
#define SOURCE_BYTES (64u << 20)

struct feeder {
	struct writer *w;
	const uint8_t *src;
	uint32_t size;
	uint64_t packets;   /* to append */
	int error;
};

static void feed(struct feeder *f)
{
	struct pkt_view v[BATCH];
	const uint64_t frames = SOURCE_BYTES / f->size;
	uint64_t k = 0, done = 0;

	while (done < f->packets) {
		unsigned n = f->packets - done < BATCH ? (unsigned)(f->packets - done) : BATCH;
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

static uint64_t cpu_ns(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000ull +
	       (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000ull;
}

/* In enum writer_backend's order. */
static const char *const backend_choices[] = { "uring", "pwrite", NULL };

int main(int argc, char **argv)
{
	uint64_t gb = 4, size = 1514, t0, c0;
	struct writer_config wc = { .snaplen = 262144, .backend = WRITER_URING,
				    .chunk_size = 1u << 20, .nchunks = 64, .direct = true };
	struct writer_result res = { 0 };
	struct feeder fd = { 0 };
	char path[4096];
	uint8_t *src;
	double secs;
	int rest, ret, status = 0;
	const struct bopt table[] = {
		{ .name = "gb", .type = BOPT_U64, BOPT_INT(&gb), .min = 1, .max = 1000, .what = "size",
		  .why = "expected 1..1000 GB", .arg = "N",
		  .help = "gigabytes (10^9) of records to write (default 4)" },
		{ .name = "size", .type = BOPT_U64, BOPT_INT(&size), .min = 60, .max = 9000,
		  .what = "frame size", .arg = "BYTES", .help = "frame size, 60..9000 (default 1514)" },
		{ .name = "writer", .type = BOPT_CHOICE, BOPT_INT(&wc.backend),
		  .choices = backend_choices, .what = "writer", .arg = "uring|pwrite",
		  .help = "the writer's backend (default uring)" },
		{ .name = "no-direct", .type = BOPT_CLEAR, .field = &wc.direct,
		  .help = "through the page cache instead of O_DIRECT" },
	};
	const struct bopt_prog prog = {
		.synopsis = "usage: ringcap-writer [--gb N] [--size BYTES] "
			    "[--writer uring|pwrite] [--no-direct] DIR\n"
			    "Feeds ringcap's writer from memory and reports the rate it sustains.\n",
		.opts = table, .nopts = ARRAY_SIZE(table),
	};

	log_set_program("ringcap-writer");
	rest = bopt_parse(&prog, argc, argv);
	if (rest != argc - 1)
		die(2, "expected one directory after the options (see --help)");
	snprintf(path, sizeof(path), "%s/ringcap-writer.%d.pcap", argv[rest], (int)getpid());
	wc.path = path;

	src = pages_alloc(SOURCE_BYTES);
	if (!src)
		die(1, "cannot map %u bytes of source frames", SOURCE_BYTES);
	for (size_t i = 0; i < SOURCE_BYTES; i++)
		src[i] = (uint8_t)(i * 131 + 7);
	fd = (struct feeder){ .src = src, .size = (uint32_t)size,
			      .packets = gb * 1000000000ull / (PCAP_RECORD_HEADER_LEN + size) };

	t0 = now_ns();
	c0 = cpu_ns();
	if (writer_open(&fd.w, &wc))
		die(2, "cannot open the writer on %s", path);
	feed(&fd);
	if (fd.error)
		status = 1;
	ret = writer_close(fd.w, &res);
	secs = (double)(now_ns() - t0) / 1e9;
	unlink(path);
	if (ret) {
		log_err("writing %s: %s", path, strerror(-ret));
		status = 1;
	}
	printf("{\"path\":");
	json_put_string(stdout, argv[rest]);
	printf(",\"bytes\":%llu,\"packets\":%llu,\"seconds\":%.3f,"
	       "\"gbytes_per_s\":%.3f,\"mpps\":%.4f,\"cpu_ns_per_pkt\":%.1f,\"writer\":\"%s\","
	       "\"o_direct\":%s,\"stalls\":%llu}\n",
	       (unsigned long long)res.bytes, (unsigned long long)res.packets, secs,
	       (double)res.bytes / secs / 1e9, (double)res.packets / secs / 1e6,
	       res.packets ? (double)(cpu_ns() - c0) / (double)res.packets : 0.0,
	       res.backend ? res.backend : "none", res.direct ? "true" : "false",
	       (unsigned long long)res.stalls);
	pages_free(src, SOURCE_BYTES);
	return status;
}
