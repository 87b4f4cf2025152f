/*
 * index/'s scan over a source with a region that does not decode (a corrupt
 * frame of a compressed file: index_src.resume): the records before the
 * region and those from the first record boundary after it are indexed, the
 * record the region cuts is not, the gap is counted, and the index (a
 * compressed file's, its chunks skipping the region) passes index_parse.
 * Cases: the region ends inside a record, exactly at a record's start, in a
 * record whose bytes look like a header (a false start: followed by no
 * plausible header), and no record after it (the scan ends there, torn).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "index/index.h"
#include "unit.h"
#include "util/util.h"

#define NREC 400
#define T0 1764597600u

static uint8_t *file;
static size_t file_len;
static uint64_t rec_off[NREC + 1];

/* A source over file[0, file_len) whose bytes [gap0, gap1) do not read. */
struct gap_src {
	uint64_t gap0, gap1;
};

static ssize_t gap_pread(void *ctx, uint8_t *buf, size_t len, uint64_t off)
{
	const struct gap_src *g = ctx;
	uint64_t end = off + len;

	if (off >= file_len || (off >= g->gap0 && off < g->gap1))
		return 0;
	if (end > file_len)
		end = file_len;
	if (off < g->gap0 && end > g->gap0)
		end = g->gap0;
	memcpy(buf, file + off, (size_t)(end - off));
	return (ssize_t)(end - off);
}

static uint64_t gap_resume(void *ctx, uint64_t off)
{
	const struct gap_src *g = ctx;

	return off == g->gap0 && g->gap1 < file_len ? g->gap1 : UINT64_MAX;
}

/* Records of 60..1500 bytes; record `fake`'s frame holds a header-shaped
 * 16 bytes (a plausible time and lengths) at its start. */
static void make_file(int fake)
{
	const uint32_t h[6] = { PCAP_MAGIC_MICRO, 2u | 4u << 16, 0, 0, 262144, 1 };
	size_t off = sizeof(h);

	file = xcalloc(1, sizeof(h) + NREC * (16 + 1500));
	memcpy(file, h, sizeof(h));
	for (int i = 0; i < NREC; i++) {
		uint32_t len = 60 + (uint32_t)(i * 37) % 1440;
		const uint32_t r[4] = { T0 + (uint32_t)i, (uint32_t)i * 1000, len, len };

		rec_off[i] = off;
		memcpy(file + off, r, sizeof(r));
		for (uint32_t k = 0; k < len; k++)
			file[off + 16 + k] = (uint8_t)(k * 7 + (unsigned)i);
		if (i == fake) {
			const uint32_t f[4] = { T0 + (uint32_t)i, 5, 40, 40 };

			memcpy(file + off + 16, f, sizeof(f));
		}
		off += 16 + len;
	}
	rec_off[NREC] = off;
	file_len = off;
}

/* Scan with the gap [gap0, gap1): `want` records, the first after the gap
 * record `first_after` (or none: -1). */
static void scan_case(const char *name, uint64_t gap0, uint64_t gap1, uint32_t want, int first_after)
{
	struct gap_src g = { gap0, gap1 };
	const struct index_src src = { .fd = -1, .pread = gap_pread, .ctx = &g, .resume = gap_resume };
	struct index_scan_result res;
	struct index_builder *b;
	struct index ix, back;
	uint8_t *buf;
	size_t len;

	CHECK_EQ(index_builder_new(&b, file, 0), 0);
	CHECK_EQ(index_scan_src(&src, b, PCAP_FILE_HEADER_LEN, UINT64_MAX, &res), 0);
	CHECK(res.records == want, "%s: %llu records, want %u", name, (unsigned long long)res.records, want);
	CHECK(res.gaps == 1, "%s: %llu gaps", name, (unsigned long long)res.gaps);
	CHECK(res.torn == (first_after < 0), "%s: torn %d", name, res.torn);
	CHECK_EQ(index_builder_snapshot(b, file_len, 0, &ix), 0);
	ix.flags |= INDEX_F_COMPRESSED;
	if (first_after >= 0) {
		bool found = false;

		for (uint32_t i = 0; i < ix.nchunks; i++)
			found |= ix.chunks[i].off == rec_off[first_after];
		CHECK(found, "%s: no chunk starts at record %d", name, first_after);
		CHECK(ix.good_end == file_len, "%s: good end %llu of %zu", name,
		      (unsigned long long)ix.good_end, file_len);
	}
	for (uint32_t i = 0; i < ix.nchunks; i++)
		CHECK(ix.chunks[i].end <= gap0 || ix.chunks[i].off >= gap1, "%s: chunk %u spans the gap", name, i);
	len = index_serialized_len(&ix);
	buf = xcalloc(1, len);
	index_serialize(&ix, buf);
	CHECK(index_parse(buf, len, &back) == 0, "%s: the index does not parse back", name);
	index_free(&back);
	xfree(buf);
	index_free(&ix);
	index_builder_free(b);
}

int main(void)
{
	make_file(-1);
	/* the gap ends inside record 201: 0..99 before (100 cut), 202.. after */
	scan_case("mid-record", rec_off[100] + 30, rec_off[201] + 5, 100 + NREC - 202, 202);
	/* the gap ends exactly where record 150 starts */
	scan_case("on a boundary", rec_off[100] + 30, rec_off[150], 100 + NREC - 150, 150);
	/* after the gap, only the last record's tail: no boundary, torn */
	scan_case("at the end", rec_off[300] + 8, file_len - 10, 300, -1);
	xfree(file);
	/* record 201's frame starts with a plausible header that no plausible
	 * header follows: the walk takes the real one at record 202 */
	make_file(201);
	scan_case("a false start", rec_off[100] + 30, rec_off[201] + 16, 100 + NREC - 202, 202);
	xfree(file);
	return unit_exit("test_index_gap");
}
