/*
 * The writer end to end on a real file system, without privileges:
 *  - the same 20000 records (42..1514 bytes, some VLAN, some kernel-cut),
 *    appended in pseudo-random batches of 1..500 packets, through the pwrite
 *    and io_uring backends, with and without O_DIRECT, give byte-identical
 *    files equal to the header + records built in memory with the encoders,
 *    and libpcap reads every packet back in order with the right bytes;
 *  - tiny staging (4 KiB x 4) for many slot and area wraps; appends bigger
 *    than a chunk; an empty capture; nanosecond files; snaplen cuts;
 *  - max_packets stops at exactly N;
 *  - a full disk, emulated without root by RLIMIT_FSIZE: the file keeps the
 *    whole records written before the error;
 *  - the appending thread changes hands (each one exits, with writes in
 *    flight, before the next begins, and the last before writer_close, as
 *    ringcap's worker or merger does): no write is lost;
 *  - the hooks: with rotation and an index, every file is closed once, in
 *    order, at its size, its index written, and file_closed runs without the
 *    writer's lock (it may ask the writer for its counters);
 *  - writer_flush: while the writer is open, the file is exactly the header
 *    and the records appended so far (no padding, no zeros, whole records),
 *    through every backend, with and without O_DIRECT; -U (flush_each_append)
 *    the same after every append; the file's size never runs ahead of data;
 *  - a stream ("-" on a pipe as standard output) carries exactly the bytes of
 *    the file, each once, flushes included;
 *  - writer_discard removes the file the writer made (-W's FILE0).
 * Exits 77 (after all the rest passed) only if io_uring is refused here.
 */
#include <errno.h>
#include <fcntl.h>
#include <pcap/pcap.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "index/index.h"
#include "util/util.h"
#include "writer/pcap.h"
#include "writer/writer.h"
#include "unit.h"

#define NPKTS 20000
#define MAXLEN 1514

static char dir[64];
static bool uring_refused;
static bool direct_supported;

/* ---- deterministic packets ---- */

static uint64_t rng_state;

static uint32_t rnd(void)
{
	return (uint32_t)(unit_rnd(&rng_state) >> 32);
}

struct pktset {
	struct pkt_view *v;
	uint8_t *bytes;
	unsigned n;
};

/* Packet i carries `tag` and i at bytes 14..21, so a reader can tell whose it is. */
static void make_pkts(struct pktset *s, unsigned n, uint32_t tag, uint64_t seed)
{
	size_t off = 0;

	rng_state = seed;
	s->n = n;
	s->v = calloc(n, sizeof(*s->v));
	s->bytes = malloc((size_t)n * MAXLEN);
	if (!s->v || !s->bytes) {
		perror("malloc");
		exit(1);
	}
	for (unsigned i = 0; i < n; i++) {
		struct pkt_view *p = &s->v[i];
		uint32_t len = 42 + rnd() % (MAXLEN - 42 + 1);
		uint8_t *d = s->bytes + off;

		p->len = len;
		p->caplen = i % 97 == 5 ? (len < 96 ? len : 96) : len; /* cut by the kernel */
		for (uint32_t j = 0; j < p->caplen; j++)
			d[j] = (uint8_t)(rnd() >> 24);
		d[12] = 0x08;
		d[13] = 0x00;
		memcpy(d + 14, &tag, 4);
		memcpy(d + 18, &i, 4);
		p->data = d;
		p->sec = 1700000000u + i / 1000;
		p->nsec = (i % 1000) * 1000000u + rnd() % 1000000u;
		if (i % 53 == 7) {
			p->vlan = true;
			p->vlan_tci = (uint16_t)(i & 0xfff);
			p->vlan_tpid = i % 2 ? 0x8100 : 0x88a8;
		}
		off += p->caplen;
	}
}

static void free_pkts(struct pktset *s)
{
	free(s->v);
	free(s->bytes);
}

/* The whole file as it must be, from the (separately tested) encoders. */
static uint8_t *expected_file(const struct pktset *s, unsigned n, uint32_t snaplen, bool nano,
			      size_t *size)
{
	size_t len = PCAP_FILE_HEADER_LEN, off;
	uint8_t *buf;

	for (unsigned i = 0; i < n; i++)
		len += PCAP_RECORD_HEADER_LEN + pcap_record_caplen(&s->v[i], snaplen);
	buf = malloc(len);
	if (!buf)
		exit(1);
	pcap_file_header_encode(buf, snaplen, nano, LINKTYPE_ETHERNET); /* the writer's default */
	off = PCAP_FILE_HEADER_LEN;
	for (unsigned i = 0; i < n; i++)
		off += pcap_record_encode(buf + off, &s->v[i], snaplen, nano);
	*size = off;
	return buf;
}

/* ---- writing ---- */

struct run {
	const char *name;
	enum writer_backend backend;
	bool direct;
	bool nano;
	uint32_t snaplen;
	uint32_t chunk_size, nchunks;
	uint64_t max_packets;
	unsigned max_batch;   /* packets per append: 1..max_batch, pseudo-random */
	unsigned big_at;      /* if nonzero: one append of >= 3 chunks starting here */
};

static void path_for(char *path, size_t len, const char *name)
{
	if ((size_t)snprintf(path, len, "%s/%s.pcap", dir, name) >= len) {
		fprintf(stderr, "path too long: %s/%s\n", dir, name);
		exit(1);
	}
}

/* Append s's packets in pseudo-random batches; returns packets appended. */
static uint64_t append_all(struct writer *w, const struct run *r, const struct pktset *s)
{
	const uint64_t cap = (uint64_t)r->chunk_size * r->nchunks / 2; /* two blocks' worth */
	uint64_t done = 0;
	unsigned i = 0, big = 0;

	rng_state = 0x1234567 + r->max_batch;
	while (i < s->n) {
		unsigned n = 1 + rnd() % r->max_batch;
		uint64_t bytes = 0;
		int got;

		if (r->big_at && i >= r->big_at && !big) {
			n = s->n - i; /* as much as fits below: at least 3 chunks */
			big = 1;
		}
		if (n > s->n - i)
			n = s->n - i;
		/* the staging contract: one append (a ring block's records) fits in half */
		for (unsigned k = 0; k < n; k++) {
			uint64_t rec = PCAP_RECORD_HEADER_LEN +
				       pcap_record_caplen(&s->v[i + k], r->snaplen);

			if (k && bytes + rec > cap) {
				n = k;
				break;
			}
			bytes += rec;
		}
		if (big == 1) {
			CHECK(bytes > 3ull * r->chunk_size, "%s: big append only %llu bytes", r->name,
			      (unsigned long long)bytes);
			big = 2;
		}
		got = writer_append(w, &s->v[i], n);
		if (got < 0) {
			CHECK(0, "%s: writer_append = %d (%s)", r->name, got, strerror(-got));
			break;
		}
		done += (unsigned)got;
		if (!r->max_packets) {
			CHECK(got == (int)n, "%s: writer_append(%u) = %d", r->name, n, got);
			CHECK(!writer_full(w), "%s: writer_full without a limit", r->name);
		} else if (done < r->max_packets) {
			CHECK(got == (int)n, "%s: appended %d of %u below the limit", r->name, got, n);
			CHECK(!writer_full(w), "%s: full at %llu of %llu", r->name,
			      (unsigned long long)done, (unsigned long long)r->max_packets);
		} else {
			CHECK(writer_full(w), "%s: not full at the limit", r->name);
			if ((unsigned)got < n)
				break;
		}
		i += n;
	}
	if (r->big_at)
		CHECK(big == 2, "%s: the big append never happened", r->name);
	return done;
}

/* Write s through run r; check the result and the bytes. Returns false if
 * io_uring was asked for and refused. */
static bool write_and_check(const struct run *r, const struct pktset *s, const uint8_t *want,
			    size_t want_size, uint64_t want_pkts)
{
	struct writer_config cfg = {
		.snaplen = r->snaplen,
		.nano = r->nano,
		.backend = r->backend,
		.chunk_size = r->chunk_size,
		.nchunks = r->nchunks,
		.max_packets = r->max_packets,
		.direct = r->direct,
	};
	struct writer_result res = { 0 };
	char path[128];
	struct writer *w;
	uint8_t *got;
	size_t got_size;
	uint64_t appended;
	int ret;

	path_for(path, sizeof(path), r->name);
	cfg.path = path;
	ret = writer_open(&w, &cfg);
	CHECK(ret == 0, "%s: writer_open = %d (%s)", r->name, ret, strerror(-ret));
	if (ret)
		return true;
	appended = append_all(w, r, s);
	ret = writer_close(w, &res);
	CHECK(ret == 0 && res.error == 0, "%s: writer_close = %d, error %d", r->name, ret,
	      res.error);
	CHECK(appended == want_pkts, "%s: appended %llu, want %llu", r->name,
	      (unsigned long long)appended, (unsigned long long)want_pkts);
	CHECK(res.packets == want_pkts, "%s: result.packets %llu, want %llu", r->name,
	      (unsigned long long)res.packets, (unsigned long long)want_pkts);
	CHECK(res.bytes == want_size, "%s: result.bytes %llu, want %zu", r->name,
	      (unsigned long long)res.bytes, want_size);
	if (r->backend == WRITER_PWRITE)
		CHECK(res.backend && strcmp(res.backend, "pwrite") == 0, "%s: backend %s", r->name,
		      res.backend);
	if (r->direct && direct_supported)
		CHECK(res.direct, "%s: O_DIRECT works here but result.direct is false", r->name);
	if (!r->direct)
		CHECK(!res.direct, "%s: result.direct without asking", r->name);

	got = unit_read_whole(path, &got_size);
	CHECK(got && got_size == want_size, "%s: file is %zu bytes, want %zu", r->name, got_size,
	      want_size);
	if (got && got_size == want_size && memcmp(got, want, want_size)) {
		size_t k = 0;

		while (got[k] == want[k])
			k++;
		CHECK(0, "%s: file differs from the expected bytes at offset %zu", r->name, k);
	}
	free(got);
	if (r->backend == WRITER_URING && res.backend && strcmp(res.backend, "io_uring")) {
		fprintf(stderr, "%s: io_uring refused here, writer fell back to %s\n", r->name,
			res.backend);
		return false;
	}
	return true;
}

/* Independent of the encoders: libpcap reads back every packet, in order. */
static void check_with_libpcap(const char *name, const struct pktset *s, unsigned n,
			       uint32_t snaplen, bool nano)
{
	char errbuf[PCAP_ERRBUF_SIZE], path[128];
	struct pcap_pkthdr *h;
	const u_char *d;
	unsigned i;
	pcap_t *p;
	int r;

	path_for(path, sizeof(path), name);
	p = pcap_open_offline_with_tstamp_precision(
		path, nano ? PCAP_TSTAMP_PRECISION_NANO : PCAP_TSTAMP_PRECISION_MICRO, errbuf);
	CHECK(p != NULL, "%s: libpcap: %s", name, errbuf);
	if (!p)
		return;
	CHECK_EQ(pcap_snapshot(p), snaplen);
	for (i = 0; (r = pcap_next_ex(p, &h, &d)) == 1; i++) {
		const struct pkt_view *v;
		uint8_t frame[MAXLEN + 4];
		uint32_t cap, len;

		if (i >= n)
			continue; /* counted: the CHECK below reports extra records */
		v = &s->v[i];
		cap = unit_frame_with_tag(v->data, v->caplen, v->len, v->vlan, v->vlan_tpid,
					  v->vlan_tci, frame, &len);
		if (cap > snaplen)
			cap = snaplen;
		if (h->caplen != cap || h->len != len ||
		    (uint32_t)h->ts.tv_sec != v->sec ||
		    (uint32_t)h->ts.tv_usec != (nano ? v->nsec : v->nsec / 1000) ||
		    memcmp(d, frame, cap)) {
			CHECK(0, "%s: packet %u: caplen %u/%u len %u/%u differs", name, i, h->caplen,
			      cap, h->len, len);
			if (unit_failures > 20)
				break;
		}
	}
	CHECK(i == n, "%s: libpcap read %u packets, want %u", name, i, n);
	pcap_close(p);
}

/*
 * One appending thread at a time, and it may change hands: each thread appends
 * its share and exits before the next one starts, the last before
 * writer_close, as ringcap's worker (or merger) exits before main closes.
 * Every write they submitted must still reach the file. io_uring cancels
 * (-ECANCELED) requests still queued in the io-wq of a thread that has
 * exited, so a backend that submits from the appending thread loses the tail
 * of the capture. Several rounds: the loss is a race, each round catches it
 * with a fair chance.
 */
struct exit_arg {
	struct writer *w;
	const struct pkt_view *v;
	unsigned n, batch;
	int error;
};

static void *exit_appender(void *arg)
{
	struct exit_arg *a = arg;

	for (unsigned i = 0; i < a->n; i += a->batch) {
		int got = writer_append(a->w, a->v, a->batch);

		if (got != (int)a->batch) {
			a->error = got < 0 ? got : -EIO;
			break;
		}
	}
	return NULL; /* the thread ends with its last writes possibly in flight */
}

static void test_threads_exit_before_close(enum writer_backend backend, bool direct,
					   const char *name, int rounds)
{
	enum { THREADS = 4, PER_THREAD = 1600 };
	static uint8_t frame[1000];
	static struct pkt_view v[128];
	char path[128];

	for (unsigned i = 0; i < 128; i++)
		v[i] = (struct pkt_view){ .data = frame, .caplen = sizeof(frame),
					  .len = sizeof(frame), .sec = 1, .nsec = i };
	path_for(path, sizeof(path), name);
	for (int round = 0; round < rounds; round++) {
		struct writer_config cfg = {
			.path = path,
			.snaplen = 262144,
			.backend = backend,
			.chunk_size = 4096 * 16,
			.nchunks = 8,
			.direct = direct,
		};
		struct writer_result res = { 0 };
		struct exit_arg a[THREADS];
		struct writer *w;
		uint64_t want = 0;
		bool ok = true;
		int ret;

		if (writer_open(&w, &cfg)) {
			CHECK(0, "%s: writer_open", name);
			return;
		}
		for (int t = 0; t < THREADS; t++) {
			pthread_t th;

			a[t] = (struct exit_arg){ .w = w, .v = v, .n = PER_THREAD,
						  .batch = 40 + 20 * (unsigned)t };
			if (pthread_create(&th, NULL, exit_appender, &a[t])) {
				perror("pthread_create");
				exit(1);
			}
			pthread_join(th, NULL); /* the next appender only after this one */
			ok &= a[t].error == 0;
			CHECK(a[t].error == 0, "%s round %d: thread %d: writer_append = %d (%s)", name,
			      round, t, a[t].error, strerror(-a[t].error));
			want += (a[t].n + a[t].batch - 1) / a[t].batch * a[t].batch;
		}
		ret = writer_close(w, &res);
		ok &= ret == 0 && res.packets == want;
		CHECK(ret == 0 && res.error == 0 && res.packets == want,
		      "%s round %d: writer_close = %d (%s), %llu of %llu packets in the file "
		      "(backend %s)",
		      name, round, ret, strerror(-ret), (unsigned long long)res.packets,
		      (unsigned long long)want, res.backend);
		unlink(path);
		if (!ok)
			break;
	}
}

/*
 * A full disk without root: RLIMIT_FSIZE makes writes past 1 MB fail (EFBIG,
 * SIGXFSZ ignored). The writer must stop taking packets, writer_close must
 * return the error, and the file must end at the last whole record on disk:
 * libpcap reads exactly res.packets records, the bytes are the expected prefix.
 * In a child, so the limit stays there.
 */
static int fsize_child(const struct pktset *s, const uint8_t *want, size_t want_size)
{
	static const struct { const char *name; enum writer_backend b; bool direct; } combos[] = {
		{ "fsize-pwrite", WRITER_PWRITE, false },
		{ "fsize-pwrite-direct", WRITER_PWRITE, true },
		{ "fsize-uring", WRITER_URING, false },
		{ "fsize-uring-direct", WRITER_URING, true },
	};
	const uint64_t limit = 1000000;
	struct rlimit rl = { limit, limit };

	signal(SIGXFSZ, SIG_IGN);
	if (setrlimit(RLIMIT_FSIZE, &rl)) {
		perror("setrlimit");
		return 1;
	}
	for (int c = 0; c < 4; c++) {
		struct writer_config cfg = {
			.snaplen = 262144,
			.backend = combos[c].b,
			.chunk_size = 4096 * 16,
			.nchunks = 8,
			.direct = combos[c].direct,
		};
		char path[128], errbuf[PCAP_ERRBUF_SIZE];
		struct writer_result res = { 0 };
		struct pcap_pkthdr *h;
		const u_char *d;
		struct writer *w;
		unsigned i = 0, nread = 0;
		uint8_t *got;
		size_t got_size;
		int ret = 0, cret;
		pcap_t *p;

		path_for(path, sizeof(path), combos[c].name);
		cfg.path = path;
		if (writer_open(&w, &cfg)) {
			CHECK(0, "%s: writer_open", combos[c].name);
			continue;
		}
		while (i < s->n && (ret = writer_append(w, &s->v[i], 100)) > 0)
			i += (unsigned)ret;
		CHECK(ret < 0, "%s: every append succeeded past the file size limit", combos[c].name);
		cret = writer_close(w, &res);
		CHECK(cret < 0 && res.error == cret, "%s: writer_close = %d, result.error %d",
		      combos[c].name, cret, res.error);
		fprintf(stderr, "  %s: stopped with %d (%s); %llu packets, %llu bytes kept\n",
			combos[c].name, cret, strerror(-cret), (unsigned long long)res.packets,
			(unsigned long long)res.bytes);
		CHECK(res.packets > 0 && res.bytes <= limit && res.bytes <= want_size,
		      "%s: kept %llu packets, %llu bytes", combos[c].name,
		      (unsigned long long)res.packets, (unsigned long long)res.bytes);
		got = unit_read_whole(path, &got_size);
		CHECK(got && got_size == res.bytes, "%s: file is %zu bytes, result says %llu",
		      combos[c].name, got_size, (unsigned long long)res.bytes);
		if (got && got_size <= want_size)
			CHECK(memcmp(got, want, got_size) == 0, "%s: kept bytes differ from the records",
			      combos[c].name);
		free(got);
		p = pcap_open_offline(path, errbuf);
		CHECK(p != NULL, "%s: libpcap: %s", combos[c].name, errbuf);
		if (p) {
			int r;

			while ((r = pcap_next_ex(p, &h, &d)) == 1)
				nread++;
			CHECK(r == PCAP_ERROR_BREAK, "%s: the file does not end on a whole record (%s)",
			      combos[c].name, pcap_geterr(p));
			pcap_close(p);
		}
		CHECK(nread == res.packets, "%s: libpcap reads %u records, result says %llu",
		      combos[c].name, nread, (unsigned long long)res.packets);
		unlink(path);
	}
	return unit_failures ? 1 : 0;
}

struct fsize_case {
	const struct pktset *s;
	uint8_t *want;
	size_t want_size;
};

static int fsize_child_main(const void *arg)
{
	const struct fsize_case *fc = arg;

	return fsize_child(fc->s, fc->want, fc->want_size);
}

static void test_file_size_limit(const struct pktset *s)
{
	struct fsize_case fc = { .s = s };

	fc.want = expected_file(s, s->n, 262144, false, &fc.want_size);
	unit_in_child("file size limit", fsize_child_main, &fc, "killed while writing");
	free(fc.want);
}

/* --on-full wait on /dev/full (every write ENOSPC): nothing reaches a file,
 * so every packet appended must come back as unwritten, exactly once, in
 * packets and in record bytes; the writer resumes (a character device has no
 * room to reserve), fails again, and close reports no error. Without
 * on_full_wait the same writes end in -ENOSPC, and every packet offered is
 * counted as not written. */
static void test_on_full_wait(const struct pktset *s, enum writer_backend backend, bool wait)
{
	struct writer_config cfg = {
		.path = "/dev/full",
		.snaplen = 262144,
		.backend = backend,
		.chunk_size = 4096 * 16,
		.nchunks = 8,
		.on_full_wait = wait,
	};
	const unsigned half = s->n / 2;
	struct writer_result res = { 0 };
	uint64_t bytes = 0, offered = 0, upk, uby;
	unsigned events, resumed = 0;
	struct writer *w;
	int ret;

	for (unsigned i = 0; i < s->n; i++)
		bytes += PCAP_RECORD_HEADER_LEN + pcap_record_caplen(&s->v[i], cfg.snaplen);
	if (writer_open(&w, &cfg)) {
		CHECK(0, "on-full %d: writer_open /dev/full", wait);
		return;
	}
	for (unsigned i = 0; i < s->n; i += 100) {
		unsigned n = s->n - i < 100 ? s->n - i : 100;

		offered += n;
		ret = writer_append(w, &s->v[i], n);
		if (!wait && ret < 0) {
			CHECK(ret == -ENOSPC, "stop: append = %d, want -ENOSPC", ret);
			break;
		}
		CHECK(ret >= 0, "wait: append %u = %d", i, ret);
		if (i + 100 >= half && !resumed) {
			/* wait for the close, then for the next file (1 s later) */
			for (int t = 0; t < 300 && !resumed; t++) {
				ret = writer_resume(w);
				CHECK(ret == 0 || ret == -EAGAIN, "resume = %d", ret);
				if (ret == 0 && writer_unwritten(w, &upk, &uby, &events) == false &&
				    events)
					resumed = 1;
				else
					usleep(10000);
			}
			CHECK(resumed, "wait: no resume within 3 s");
		}
	}
	ret = writer_close(w, &res);
	if (!wait) {
		CHECK(ret == -ENOSPC, "stop: close = %d, want -ENOSPC", ret);
		/* every packet offered is in the file or counted as not written:
		 * those staged past the cut and those of the refused append */
		CHECK_EQ(res.packets, 0);
		CHECK_EQ(res.unwritten_packets, offered);
		return;
	}
	CHECK(ret == 0, "wait: close = %d", ret);
	CHECK_EQ(res.packets, 0);
	CHECK_EQ(res.unwritten_packets, s->n);
	CHECK_EQ(res.unwritten_bytes, bytes);
	CHECK(res.full_events >= 2, "wait: disk full %u times, want 2 or more", res.full_events);
	CHECK(res.files >= 2, "wait: %u files, want a second one after the resume", res.files);
}

static bool probe_direct(void)
{
	char path[128];
	int fd;

	path_for(path, sizeof(path), "probe-direct");
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_DIRECT, 0644);
	if (fd >= 0)
		close(fd);
	unlink(path);
	return fd >= 0;
}

/* One set of packets through the backend/direct combinations in combo_mask
 * (bit 0 pwrite, 1 pwrite O_DIRECT, 2 io_uring, 3 io_uring O_DIRECT): every
 * file identical to the expected bytes, hence to each other. */
#define ALL_COMBOS 0xf

static void test_same_bytes(const struct pktset *s, const char *tag, uint32_t snaplen, bool nano,
			    uint32_t chunk_size, uint32_t nchunks, unsigned max_batch,
			    unsigned big_at, unsigned nlimit, unsigned combo_mask)
{
	static const struct { const char *name; enum writer_backend b; bool direct; } combos[] = {
		{ "pwrite", WRITER_PWRITE, false },
		{ "pwrite-direct", WRITER_PWRITE, true },
		{ "uring", WRITER_URING, false },
		{ "uring-direct", WRITER_URING, true },
	};
	unsigned n = nlimit ? nlimit : s->n;
	size_t want_size;
	uint8_t *want = expected_file(s, n, snaplen, nano, &want_size);
	char name[4][64];

	for (int c = 0; c < 4; c++) {
		if (!(combo_mask & 1u << c))
			continue;
		struct run r = {
			.name = name[c],
			.backend = combos[c].b,
			.direct = combos[c].direct,
			.nano = nano,
			.snaplen = snaplen,
			.chunk_size = chunk_size,
			.nchunks = nchunks,
			.max_packets = nlimit,
			.max_batch = max_batch,
			.big_at = big_at,
		};

		snprintf(name[c], sizeof(name[c]), "%s-%s", tag, combos[c].name);
		if (!write_and_check(&r, s, want, want_size, n))
			uring_refused = true;
		check_with_libpcap(name[c], s, n, snaplen, nano);
	}
	for (int c = 0; c < 4; c++) {
		char path[128];

		if (!(combo_mask & 1u << c))
			continue;

		path_for(path, sizeof(path), name[c]);
		unlink(path);
	}
	free(want);
}

static void test_empty(void)
{
	static const struct pktset none = { 0 };

	/* header only: a partial first chunk, O_DIRECT rounds it up, close cuts back */
	test_same_bytes(&none, "empty", 262144, false, 4096 * 16, 8, 1, 0, 0, ALL_COMBOS);
}

/* max_packets: appends stop at exactly N, then return 0. */
static void test_max_packets(const struct pktset *s)
{
	static const unsigned limits[] = { 1, 499, 500, 501, 7777 };

	for (size_t k = 0; k < sizeof(limits) / sizeof(limits[0]); k++) {
		struct writer_config cfg = {
			.snaplen = 262144,
			.backend = WRITER_PWRITE,
			.chunk_size = 4096 * 16,
			.nchunks = 8,
			.max_packets = limits[k],
		};
		struct writer_result res = { 0 };
		char path[128];
		struct writer *w;
		unsigned done = 0, i = 0;
		int got;

		path_for(path, sizeof(path), "max");
		cfg.path = path;
		if (writer_open(&w, &cfg)) {
			CHECK(0, "max %u: writer_open", limits[k]);
			continue;
		}
		while (i < s->n) {
			got = writer_append(w, &s->v[i], 100); /* 100 at a time: 500 is on a boundary */
			CHECK(got >= 0, "max %u: append = %d", limits[k], got);
			if (got <= 0)
				break;
			done += (unsigned)got;
			i += 100;
			CHECK(writer_full(w) == (done == limits[k]), "max %u: full %d at %u",
			      limits[k], writer_full(w), done);
			if (got < 100)
				break;
		}
		CHECK(done == limits[k], "max %u: appended %u", limits[k], done);
		CHECK(writer_full(w), "max %u: writer_full false", limits[k]);
		got = writer_append(w, s->v, 10);
		CHECK(got == 0, "max %u: append after full = %d", limits[k], got);
		writer_close(w, &res);
		CHECK(res.packets == limits[k], "max %u: result.packets %llu", limits[k],
		      (unsigned long long)res.packets);
		check_with_libpcap("max", s, limits[k], 262144, false);
		unlink(path);
	}
}

/* ---- the hooks ---- */

struct closed_log {
	struct writer *w;
	unsigned n;
	char path[16][160];
	uint64_t size[16];
	uint64_t bytes_seen[16]; /* writer_bytes, asked from inside the hook */
	int error[16];
};

static void on_closed(void *ctx, const char *path, uint64_t size, int error)
{
	struct closed_log *c = ctx;

	if (c->n >= 16)
		return;
	snprintf(c->path[c->n], sizeof(c->path[c->n]), "%s", path);
	c->size[c->n] = size;
	c->error[c->n] = error;
	/* the hook runs without the writer's lock: this does not deadlock */
	c->bytes_seen[c->n] = writer_bytes(c->w);
	c->n++;
}

/* -C and an index, s's packets in batches of 100: the closed files
 * come to file_closed once each, oldest first, at their true sizes, which add
 * up to the result's bytes; each has its index beside it, written before the
 * hook was called. */
static void test_hooks(const struct pktset *s, enum writer_backend backend, const char *name)
{
	struct closed_log log = { 0 };
	struct writer_config cfg = {
		.snaplen = 262144, .backend = backend, .chunk_size = 4096 * 16, .nchunks = 8,
		.rotate_bytes = 1000000, .index = true,
		.file_closed = on_closed, .hook_ctx = &log,
	};
	struct writer_result res = { 0 };
	char path[128], want[160], ix[200];
	uint64_t total = 0;
	struct writer *w;
	int ret;

	path_for(path, sizeof(path), name);
	cfg.path = path;
	if (writer_open(&w, &cfg)) {
		CHECK(0, "%s: writer_open", name);
		return;
	}
	log.w = w;
	for (unsigned i = 0; i + 100 <= s->n; i += 100) {
		ret = writer_append(w, &s->v[i], 100);
		CHECK(ret == 100, "%s: append = %d", name, ret);
	}
	ret = writer_close(w, &res);
	CHECK(ret == 0 && res.files >= 3, "%s: close = %d, %u files", name, ret, res.files);
	CHECK(log.n == res.files, "%s: file_closed %u times for %u files", name, log.n, res.files);
	for (unsigned k = 0; k < log.n; k++) {
		struct stat st;

		if (k) /* -C without -W: FILE, FILE1, FILE2, ... */
			snprintf(want, sizeof(want), "%s%u", path, k);
		else
			snprintf(want, sizeof(want), "%s", path);
		CHECK(strcmp(log.path[k], want) == 0, "%s: closed #%u is %s, want %s", name, k,
		      log.path[k], want);
		CHECK(log.error[k] == 0, "%s: %s closed with %d", name, log.path[k], log.error[k]);
		CHECK(stat(log.path[k], &st) == 0 && (uint64_t)st.st_size == log.size[k],
		      "%s: %s is not %llu bytes", name, log.path[k],
		      (unsigned long long)log.size[k]);
		CHECK(log.size[k] <= cfg.rotate_bytes, "%s: %s is %llu bytes, past -C", name,
		      log.path[k], (unsigned long long)log.size[k]);
		total += log.size[k];
		CHECK(log.bytes_seen[k] >= total, "%s: writer_bytes %llu in the hook of %s",
		      name, (unsigned long long)log.bytes_seen[k], log.path[k]);
		if (index_path_for(log.path[k], ix, sizeof(ix)) == 0) {
			CHECK(access(ix, F_OK) == 0, "%s: no index %s", name, ix);
			unlink(ix);
		}
		unlink(log.path[k]);
	}
	CHECK(total == res.bytes, "%s: closed files hold %llu bytes, result %llu", name,
	      (unsigned long long)total, (unsigned long long)res.bytes);
}

/* writer_flush on an open writer: after each flush the file on disk is the
 * expected prefix, byte for byte; appends in between span chunk boundaries. */
static void test_flush(const struct pktset *s, enum writer_backend b, bool direct, bool each,
		       const char *name)
{
	struct writer_config cfg = {
		.snaplen = 262144, .backend = b, .chunk_size = 4096 * 16, .nchunks = 8,
		.direct = direct, .flush_each_append = each,
	};
	struct writer_result res = { 0 };
	size_t want_size, prefix = PCAP_FILE_HEADER_LEN;
	uint8_t *want = expected_file(s, 600, 262144, false, &want_size);
	char path[128];
	struct writer *w;

	path_for(path, sizeof(path), name);
	cfg.path = path;
	if (writer_open(&w, &cfg)) {
		CHECK(0, "%s: writer_open", name);
		free(want);
		return;
	}
	for (unsigned i = 0; i < 600; i += 20) {
		uint8_t *got;
		size_t got_size;
		int ret = writer_append(w, &s->v[i], 20);

		CHECK(ret == 20, "%s: append %d", name, ret);
		for (unsigned k = i; k < i + 20; k++)
			prefix += PCAP_RECORD_HEADER_LEN + pcap_record_caplen(&s->v[k], 262144);
		if (!each) {
			/* an earlier full chunk may still be in flight (io_uring) */
			for (int tries = 0; (ret = writer_flush(w)) == -EAGAIN && tries < 1000; tries++)
				usleep(1000);
			CHECK(ret == 0, "%s: writer_flush = %d", name, ret);
		} else {
			while (writer_flush(w) == -EAGAIN)
				usleep(1000); /* only an io_uring write of an earlier chunk */
		}
		got = unit_read_whole(path, &got_size);
		CHECK(got && got_size == prefix && memcmp(got, want, prefix) == 0,
		      "%s: after %u packets the live file is %zu bytes, want the %zu of the records",
		      name, i + 20, got_size, prefix);
		free(got);
		if (unit_failures > 20)
			break;
	}
	CHECK(writer_close(w, &res) == 0 && res.bytes == want_size, "%s: close: %llu bytes",
	      name, (unsigned long long)res.bytes);
	unlink(path);
	free(want);
}

/* "-": standard output, here a pipe a thread drains; the bytes that come out
 * are the file's, each once, with flushes between appends. */
struct drain_arg {
	int fd;
	uint8_t *buf;
	size_t len, cap;
};

static void *drain(void *arg)
{
	struct drain_arg *d = arg;
	ssize_t n;

	while ((n = read(d->fd, d->buf + d->len, d->cap - d->len)) > 0)
		d->len += (size_t)n;
	return NULL;
}

static int stream_child(const void *arg)
{
	const struct pktset *s = arg;
	struct writer_config cfg = {
		.path = "-", .snaplen = 262144, .backend = WRITER_URING, .chunk_size = 4096 * 16,
		.nchunks = 8, .direct = true,
	};
	struct writer_result res = { 0 };
	struct drain_arg d = { 0 };
	size_t want_size;
	uint8_t *want = expected_file(s, 1500, 262144, false, &want_size);
	pthread_t th;
	struct writer *w;
	int fds[2], ret;

	if (pipe(fds) || dup2(fds[1], STDOUT_FILENO) < 0)
		return 1;
	close(fds[1]);
	d.fd = fds[0];
	d.cap = 2 * want_size + (1u << 20); /* room to see bytes written twice */
	d.buf = malloc(d.cap);
	if (!d.buf || pthread_create(&th, NULL, drain, &d))
		return 1;
	ret = writer_open(&w, &cfg);
	CHECK(ret == 0, "stream: writer_open = %d", ret);
	if (ret)
		return 1;
	for (unsigned i = 0; i < 1500; i += 50) {
		CHECK(writer_append(w, &s->v[i], 50) == 50, "stream: append");
		writer_flush(w); /* often several times in one chunk */
	}
	ret = writer_close(w, &res);
	CHECK(ret == 0 && res.packets == 1500, "stream: close %d, %llu packets", ret,
	      (unsigned long long)res.packets);
	CHECK(res.backend && strcmp(res.backend, "stream") == 0, "stream: backend %s", res.backend);
	close(STDOUT_FILENO);
	pthread_join(th, NULL);
	CHECK(d.len == want_size && memcmp(d.buf, want, want_size) == 0,
	      "stream: %zu bytes came out of the pipe, want the file's %zu", d.len, want_size);
	free(want);
	free(d.buf);
	return unit_failures ? 1 : 0;
}

static void test_stream(const struct pktset *s)
{
	unit_in_child("stream", stream_child, s, "killed while streaming");
}

/* writer_discard: the file made (-W's FILE0, not the -w name) is gone. */
static void test_discard(void)
{
	struct writer_config cfg = {
		.snaplen = 262144, .backend = WRITER_PWRITE, .chunk_size = 4096 * 16, .nchunks = 8,
		.rotate_bytes = 1000000, .max_files = 3,
	};
	char path[128], file0[160];
	struct writer *w;

	path_for(path, sizeof(path), "discard");
	snprintf(file0, sizeof(file0), "%s0", path);
	cfg.path = path;
	if (writer_open(&w, &cfg)) {
		CHECK(0, "discard: writer_open");
		return;
	}
	CHECK(access(file0, F_OK) == 0, "discard: %s was not created", file0);
	CHECK(access(path, F_OK) != 0, "discard: %s exists", path);
	writer_discard(w);
	CHECK(access(file0, F_OK) != 0, "discard: %s is still there", file0);
}

/* A file of `size` bytes (a header and a fake record past 24) at dir/name,
 * modified `age` seconds ago. */
static void plant_file(const char *name, size_t size, int age)
{
	uint8_t buf[64] = { 0xd4, 0xc3, 0xb2, 0xa1 };
	struct timespec t[2];
	char path[160];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	CHECK(f && fwrite(buf, 1, size, f) == size && fclose(f) == 0, "plant %s", path);
	clock_gettime(CLOCK_REALTIME, &t[0]);
	t[0].tv_sec -= age;
	t[1] = t[0];
	utimensat(AT_FDCWD, path, t, 0);
}

static off_t size_of(const char *name)
{
	char path[160];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return stat(path, &st) == 0 ? st.st_size : -1;
}

/* An earlier run's files are never truncated: -C numbers on after the highest
 * (a header-only one is reused), -C -W after the newest, a plain name that
 * holds records is refused; a link and a FIFO at the next -C names are
 * skipped at rotation, not followed. */
static void test_earlier_run(const struct pktset *s)
{
	struct writer_config cfg = {
		.snaplen = 262144, .backend = WRITER_PWRITE, .chunk_size = 4096 * 16, .nchunks = 8,
	};
	struct writer_result res;
	char path[128], link[160], target[160];
	struct writer *w;

	plant_file("er.pcap", 40, 0);
	plant_file("er.pcap2", 40, 0);
	path_for(path, sizeof(path), "er");
	cfg.path = path;
	cfg.rotate_bytes = 1000000;
	CHECK(writer_open(&w, &cfg) == 0, "-C over an earlier run");
	CHECK(size_of("er.pcap3") == 0, "-C: er.pcap3 not the next file (%lld)",
	      (long long)size_of("er.pcap3"));
	writer_discard(w);
	CHECK(size_of("er.pcap") == 40 && size_of("er.pcap2") == 40, "-C: an earlier file changed");

	plant_file("er.pcap4", 24, 0); /* header only: reused */
	CHECK(writer_open(&w, &cfg) == 0, "-C over a header-only file");
	writer_discard(w);
	CHECK(size_of("er.pcap4") == -1 && size_of("er.pcap5") == -1, "-C: er.pcap4 not reused");

	cfg.rotate_bytes = 0;
	CHECK(writer_open(&w, &cfg) == -EEXIST, "plain -w over records: not refused");
	CHECK(size_of("er.pcap") == 40, "plain -w: er.pcap changed");

	plant_file("ew.pcap0", 40, 20);
	plant_file("ew.pcap1", 40, 10);
	plant_file("ew.pcap2", 40, 30);
	path_for(path, sizeof(path), "ew");
	cfg.rotate_bytes = 1000000;
	cfg.max_files = 3;
	CHECK(writer_open(&w, &cfg) == 0, "-W over an earlier run");
	CHECK(size_of("ew.pcap2") == 0, "-W: ew.pcap2 (the oldest) is not the next file");
	writer_discard(w);
	CHECK(size_of("ew.pcap0") == 40 && size_of("ew.pcap1") == 40, "-W: a newer file changed");

	/* rotation past a link and a FIFO planted after the start */
	path_for(path, sizeof(path), "es");
	cfg.rotate_bytes = 200000;
	cfg.max_files = 0;
	CHECK(writer_open(&w, &cfg) == 0, "-C, planted names");
	snprintf(link, sizeof(link), "%s1", path);
	snprintf(target, sizeof(target), "%s/es-target", dir);
	CHECK(symlink(target, link) == 0, "symlink");
	snprintf(link, sizeof(link), "%s2", path);
	CHECK(mkfifo(link, 0600) == 0, "mkfifo");
	for (unsigned i = 0; i < s->n && i < 2000; i += 100)
		CHECK(writer_append(w, &s->v[i], 100) == 100, "append past planted names");
	CHECK(writer_close(w, &res) == 0, "close after planted names");
	CHECK(access(target, F_OK) != 0, "the link was followed");
	CHECK(size_of("es.pcap3") > 24, "no es.pcap3 after the planted names");
	CHECK_EQ(res.unwritten_packets, 0);

	for (unsigned i = 0; i < 20; i++) {
		static const char *const base[] = { "er", "ew", "es" };

		for (unsigned b = 0; b < ARRAY_SIZE(base); b++) {
			snprintf(link, sizeof(link), i ? "%s/%s.pcap%u" : "%s/%s.pcap", dir,
				 base[b], i);
			unlink(link);
			/* -W's names count from 0 (ew.pcap0): the folder must end empty */
			snprintf(link, sizeof(link), "%s/%s.pcap%u", dir, base[b], i);
			unlink(link);
		}
	}
}

static void lap(const char *what)
{
	static uint64_t t0;
	uint64_t t = now_ns();

	if (what)
		fprintf(stderr, "  %-22s %5llu ms\n", what, (unsigned long long)(t - t0) / 1000000);
	t0 = t;
}

int main(void)
{
	struct pktset s;

	strcpy(dir, "/var/tmp/ringcap-writer.XXXXXX");
	if (!mkdtemp(dir)) {
		strcpy(dir, "/tmp/ringcap-writer.XXXXXX");
		if (!mkdtemp(dir)) {
			perror("mkdtemp");
			return 1;
		}
	}
	direct_supported = probe_direct();
	fprintf(stderr, "test dir %s, O_DIRECT %s\n", dir,
		direct_supported ? "supported" : "refused (files fall back to buffered)");

	lap(NULL);
	make_pkts(&s, NPKTS, 0xabcdef01u, 42);
	lap("make packets");
	/* 64 KiB x 8 slots, batches of 1..500 packets, one append of >= 3 chunks */
	test_same_bytes(&s, "main", 262144, false, 4096 * 16, 8, 500, 12000, 0, ALL_COMBOS);
	lap("main");
	/* 4 KiB x 4 slots: a wrap of the whole area every few appends (on the
	 * first 1500 packets: 4 KiB O_DIRECT writes are slow) */
	{
		struct pktset part = { .v = s.v, .bytes = s.bytes, .n = 1500 };

		test_same_bytes(&part, "tiny", 262144, true, 4096, 4, 5, 0, 0, ALL_COMBOS);
	}
	lap("tiny");
	/* snaplen cuts (and VLAN frames cut inside their tag region), on a slice */
	{
		struct pktset part = { .v = s.v, .bytes = s.bytes, .n = 6000 };

		test_same_bytes(&part, "snap", 14, false, 4096 * 16, 8, 300, 0, 0, 0x9);
		lap("snap 14");
		test_same_bytes(&part, "snap128", 128, true, 4096 * 16, 8, 300, 0, 0, 0x6);
		lap("snap 128");
	}
	/* max_packets through every backend too */
	test_same_bytes(&s, "limit", 262144, false, 4096 * 16, 8, 500, 0, 4321, 0x5);
	lap("limit");
	test_empty();
	lap("empty");
	test_max_packets(&s);
	lap("max_packets");
	test_file_size_limit(&s);
	lap("file size limit");
	{
		struct pktset part = { .v = s.v, .bytes = s.bytes, .n = 3000 };

		test_on_full_wait(&part, WRITER_PWRITE, false);
		test_on_full_wait(&part, WRITER_PWRITE, true);
		test_on_full_wait(&part, WRITER_URING, true);
	}
	lap("on-full wait");
	{
		struct pktset part = { .v = s.v, .bytes = s.bytes, .n = 5000 };

		test_hooks(&part, WRITER_PWRITE, "hooks-pwrite");
		test_hooks(&part, WRITER_URING, "hooks-uring");
	}
	lap("hooks");
	test_threads_exit_before_close(WRITER_PWRITE, false, "exit-pwrite", 3);
	lap("exit pwrite");
	test_threads_exit_before_close(WRITER_URING, false, "exit-uring", 10);
	lap("exit uring");
	test_threads_exit_before_close(WRITER_URING, true, "exit-uring-direct", 3);
	lap("exit uring direct");
	test_flush(&s, WRITER_PWRITE, false, false, "flush-pwrite");
	test_flush(&s, WRITER_PWRITE, true, false, "flush-pwrite-direct");
	test_flush(&s, WRITER_URING, false, false, "flush-uring");
	test_flush(&s, WRITER_URING, true, false, "flush-uring-direct");
	test_flush(&s, WRITER_URING, true, true, "flush-each-uring-direct");
	lap("flush");
	test_stream(&s);
	lap("stream");
	test_discard();
	test_earlier_run(&s);
	lap("discard");
	free_pkts(&s);
	rmdir(dir);

	if (unit_failures)
		return unit_exit("test_writer");
	if (uring_refused) {
		printf("io_uring refused here: the io_uring/pwrite comparison was not made\n");
		return 77;
	}
	return unit_exit("test_writer");
}
