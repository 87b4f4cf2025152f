/*
 * read/merge.c and read/source.c: two files, one written backwards in time over
 * several index chunks and one interleaved with it, merged into a pcap that
 * libpcap (pcap_open_offline) reads back in non-decreasing time order with every
 * record once; -c's limit keeps the oldest records; a window keeps exactly its
 * records; and with the hold-back memory capped at nothing the merge still
 * writes everything but counts what it had to write out of order. With one
 * file open at a time the merge closes and reopens files as it goes and still
 * writes everything in order, leaving no descriptor open; an index whose
 * chunks lie (a time range narrower than its records, one before the window)
 * is caught and the file scanned: every record still comes out.
 */
#include <dirent.h>
#include <fcntl.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "read/read.h"
#include "unit.h"

#define N 6000
#define CAPLEN 400

static char dir[] = "/tmp/test_read_merge.XXXXXX";

/* Record i of file `which` has time base + t(i) ms; file 0 runs backwards. */
static uint64_t t_ms(int which, int i)
{
	return which == 0 ? (uint64_t)(2 * (N - 1 - i)) : (uint64_t)(2 * i + 1);
}

static void write_file(const char *path, int which)
{
	FILE *f = fopen(path, "wb");
	uint32_t h[6] = { PCAP_MAGIC_MICRO, 2u | 4u << 16, 0, 0, 65535, LINKTYPE_ETHERNET };
	uint8_t frame[CAPLEN];

	fwrite(h, sizeof(h), 1, f);
	for (int i = 0; i < N; i++) {
		uint64_t ms = t_ms(which, i);
		uint32_t r[4] = { 1764597600u + (uint32_t)(ms / 1000), (uint32_t)(ms % 1000) * 1000, CAPLEN, CAPLEN };

		memset(frame, which, sizeof(frame));
		memcpy(frame + 20, &i, sizeof(i));
		fwrite(r, sizeof(r), 1, f);
		fwrite(frame, sizeof(frame), 1, f);
	}
	fclose(f);
}

struct result {
	unsigned n;
	bool ordered;
	uint64_t first_ns, last_ns;
	struct read_stats st;
};

static unsigned open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	unsigned n = 0;

	while (d && readdir(d))
		n++;
	if (d)
		closedir(d);
	return n;
}

static void run(const char *out, uint64_t since, uint64_t until, uint64_t limit, uint64_t mem,
		unsigned max_open, struct result *res)
{
	char p0[256], p1[256], err[256];
	struct read_source *src[2];
	struct read_filter *filter;
	struct addr_query addrs = { 0 };
	struct read_query q = { .since_ns = since, .until_ns = until, .addrs = &addrs, .max_open = max_open };
	struct pcap_out *o;
	struct pcap_pkthdr *h;
	const u_char *data;
	uint64_t prev = 0;
	unsigned fds = open_fds();
	pcap_t *p;
	int fd;

	memset(res, 0, sizeof(*res));
	snprintf(p0, sizeof(p0), "%s/m.pcap", dir);
	snprintf(p1, sizeof(p1), "%s/m.pcap1", dir);
	CHECK(read_filter_compile(&filter, LINKTYPE_ETHERNET, 65535, "", err, sizeof(err)) == 0, "filter");
	q.filter = filter;
	CHECK(read_source_open(&src[0], p0) == 0 && read_source_open(&src[1], p1) == 0, "open");
	for (int i = 0; i < 2; i++)
		CHECK(read_source_prepare(src[i], false, &q, &res->st) == 0, "prepare");
	fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	pcap_out_open(&o, fd, LINKTYPE_ETHERNET, 65535, false);
	CHECK(read_merge(src, 2, &q, o, limit, mem, &res->st) == 0, "merge");
	CHECK(pcap_out_close(o) == 0, "close");
	close(fd);
	CHECK_EQ(open_fds(), fds);
	for (int i = 0; i < 2; i++)
		read_source_free(src[i]);
	read_filter_free(filter);

	p = pcap_open_offline(out, err);
	CHECK(p != NULL, "libpcap cannot read the output: %s", err);
	if (!p)
		return;
	res->ordered = true;
	while (pcap_next_ex(p, &h, &data) == 1) {
		uint64_t ns = (uint64_t)h->ts.tv_sec * 1000000000ull + (uint64_t)h->ts.tv_usec * 1000ull;

		if (!res->n)
			res->first_ns = ns;
		if (ns < prev)
			res->ordered = false;
		prev = res->last_ns = ns;
		res->n++;
	}
	pcap_close(p);
}

int main(void)
{
	const uint64_t base = 1764597600ull * 1000000000ull, ms = 1000000;
	char p[256], out[256];
	struct result r;
	struct index ix;

	CHECK(mkdtemp(dir) != NULL, "mkdtemp");
	snprintf(p, sizeof(p), "%s/m.pcap", dir);
	write_file(p, 0);
	snprintf(p, sizeof(p), "%s/m.pcap1", dir);
	write_file(p, 1);
	snprintf(out, sizeof(out), "%s/out.pcap", dir);

	run(out, 0, UINT64_MAX, 0, 256u << 20, 0, &r);
	CHECK(r.n == 2 * N && r.ordered && r.st.out_of_order == 0, "all: %u records, ordered %d, ooo %llu", r.n,
	      r.ordered, (unsigned long long)r.st.out_of_order);
	CHECK(r.st.chunks >= 4 && r.st.indexes_built == 2, "chunks %llu built %llu", (unsigned long long)r.st.chunks,
	      (unsigned long long)r.st.indexes_built);
	CHECK(r.first_ns == base && r.last_ns == base + (2 * N - 1) * ms, "first/last");

	run(out, 0, UINT64_MAX, 100, 256u << 20, 0, &r);
	CHECK(r.n == 100 && r.ordered && r.first_ns == base && r.last_ns == base + 99 * ms, "-c 100: %u", r.n);
	CHECK(r.st.indexes_loaded == 2, "second run loaded %llu", (unsigned long long)r.st.indexes_loaded);

	run(out, base + 1000 * ms, base + 1500 * ms, 0, 256u << 20, 0, &r);
	CHECK(r.n == 500 && r.ordered && r.first_ns == base + 1000 * ms && r.last_ns == base + 1499 * ms,
	      "window: %u", r.n);

	run(out, 0, UINT64_MAX, 0, 0, 0, &r);
	CHECK(r.n == 2 * N && !r.ordered && r.st.out_of_order > 0, "no buffer: %u records, ordered %d, ooo %llu",
	      r.n, r.ordered, (unsigned long long)r.st.out_of_order);

	/* one file open at a time: closed and opened again at every turn */
	run(out, 0, UINT64_MAX, 0, 256u << 20, 1, &r);
	CHECK(r.n == 2 * N && r.ordered && r.st.out_of_order == 0, "one open file: %u records, ordered %d", r.n,
	      r.ordered);

	/* m.pcap1's index lies: chunk 1 claims its first instant only, chunk 2 a
	 * time before the window (it would be skipped) */
	snprintf(p, sizeof(p), "%s/.m.pcap1.ridx", dir);
	CHECK(index_load(p, &ix) == 0 && ix.nchunks >= 3, "m.pcap1's index: %u chunks", ix.nchunks);
	if (ix.nchunks >= 3) {
		ix.chunks[1].max_ns = ix.chunks[1].min_ns;
		ix.chunks[2].min_ns = ix.chunks[2].max_ns = base - 100000 * ms;
		ix.first_ns = UINT64_MAX;
		ix.last_ns = 0;
		for (uint32_t i = 0; i < ix.nchunks; i++) { /* the header agrees with the lies */
			ix.first_ns = ix.chunks[i].min_ns < ix.first_ns ? ix.chunks[i].min_ns : ix.first_ns;
			ix.last_ns = ix.chunks[i].max_ns > ix.last_ns ? ix.chunks[i].max_ns : ix.last_ns;
		}
		CHECK(index_save(&ix, p) == 0, "save the lying index");
	}
	index_free(&ix);
	run(out, base, UINT64_MAX, 0, 256u << 20, 2, &r);
	CHECK(r.n == 2 * N && r.ordered, "lying index: %u records of %u, ordered %d", r.n, 2 * N, r.ordered);
	CHECK(r.st.indexes_loaded == 2 && r.st.indexes_built == 1, "lying index: loaded %llu built %llu",
	      (unsigned long long)r.st.indexes_loaded, (unsigned long long)r.st.indexes_built);

	for (const char *n = "m.pcap\0m.pcap1\0.m.pcap.ridx\0.m.pcap1.ridx\0out.pcap\0"; *n; n += strlen(n) + 1) {
		snprintf(p, sizeof(p), "%s/%s", dir, n);
		unlink(p);
	}
	rmdir(dir);
	return unit_exit("test_read_merge");
}
