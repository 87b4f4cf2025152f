/*
 * Reading capture files back: the pcap header and record parser
 * (format/format.h) on both byte orders, on lying headers and on 20,000
 * mutated record streams placed right before a PROT_NONE page; then
 * index_scan/index_refresh on real files: built and saved, loaded when fresh,
 * extended when the file grew (the same bytes as a rebuild), rebuilt when the
 * index is corrupt, truncated or the file changed, and a torn last record
 * found at its offset.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "index/index.h"
#include "unit.h"
#include "util/util.h"

#define NREC 400

static uint32_t put_u32(uint8_t *p, uint32_t v, bool swap)
{
	if (swap)
		v = __builtin_bswap32(v);
	memcpy(p, &v, 4);
	return 4;
}

/* A file image: header + NREC records, caplen 40..(40+NREC%97), ts i ms. */
static size_t make_image(uint8_t *buf, bool swap, bool nano, uint32_t first)
{
	size_t at = 0;

	at += put_u32(buf + at, nano ? PCAP_MAGIC_NANO : PCAP_MAGIC_MICRO, swap);
	buf[at++] = swap ? 0 : 2, buf[at++] = swap ? 2 : 0;
	buf[at++] = swap ? 0 : 4, buf[at++] = swap ? 4 : 0;
	at += put_u32(buf + at, 0, swap);
	at += put_u32(buf + at, 0, swap);
	at += put_u32(buf + at, 65535, swap);
	at += put_u32(buf + at, LINKTYPE_ETHERNET, swap);
	for (uint32_t i = first; i < first + NREC; i++) {
		uint32_t caplen = 40 + i % 97;

		at += put_u32(buf + at, 1764597600u + i / 1000, swap);
		at += put_u32(buf + at, (i % 1000) * (nano ? 1000000u : 1000u), swap);
		at += put_u32(buf + at, caplen, swap);
		at += put_u32(buf + at, caplen + 10, swap);
		memset(buf + at, (int)(i & 0xff), caplen);
		buf[at + 12] = 0x08; /* IPv4 */
		at += caplen;
	}
	return at;
}

static void test_header_and_records(void)
{
	static uint8_t buf[NREC * 160 + 64];
	struct pcap_file_info fi;

	for (int v = 0; v < 4; v++) {
		bool swap = v & 1, nano = v & 2;
		size_t len = make_image(buf, swap, nano, 0);
		struct pcap_rec_iter it;
		struct pcap_rec r;
		const uint8_t *data;
		uint64_t off, want_off = PCAP_FILE_HEADER_LEN;
		uint32_t n = 0;

		CHECK(pcap_file_header_parse(buf, PCAP_FILE_HEADER_LEN, &fi) == 0 && fi.swapped == swap && fi.nano == nano &&
		      fi.snaplen == 65535 && fi.linktype == LINKTYPE_ETHERNET, "header variant %d", v);
		pcap_rec_iter_init(&it, &fi, buf + 24, len - 24, 24);
		while (pcap_rec_iter_next(&it, &r, &data, &off)) {
			CHECK(off == want_off && r.caplen == 40 + n % 97 && r.len == r.caplen + 10 &&
			      pcap_ts_ns(&fi, r.ts_sec, r.ts_frac) == 1764597600ull * 1000000000ull + n * 1000000ull &&
			      data[0] == (uint8_t)n, "variant %d record %u", v, n);
			want_off += 16 + r.caplen;
			n++;
		}
		CHECK(n == NREC && it.stop == PCAP_REC_OK, "variant %d: %u records, stop %d", v, n, it.stop);
	}
	memcpy(buf, "\x0a\x0d\x0d\x0a", 4); /* pcapng */
	CHECK(pcap_file_header_parse(buf, PCAP_FILE_HEADER_LEN, &fi) != 0, "pcapng taken for pcap");

	/* lies */
	make_image(buf, false, false, 0);
	pcap_file_header_parse(buf, PCAP_FILE_HEADER_LEN, &fi);
	{
		struct pcap_rec r;

		put_u32(buf + 24 + 8, PCAP_SNAPLEN_MAX + 1, false);
		CHECK(pcap_rec_parse(&fi, buf + 24, 1u << 20, &r) == PCAP_REC_BAD, "huge caplen");
		put_u32(buf + 24 + 8, 100, false);
		CHECK(pcap_rec_parse(&fi, buf + 24, 16 + 99, &r) == PCAP_REC_SHORT, "caplen past the end");
		CHECK(pcap_rec_parse(&fi, buf + 24, 15, &r) == PCAP_REC_SHORT, "cut header");
		memset(buf + 24, 0, 16);
		CHECK(pcap_rec_parse(&fi, buf + 24, 1000, &r) == PCAP_REC_BAD, "zero header (preallocated)");
	}
}

static void test_mutated(void)
{
	static uint8_t img[NREC * 160 + 64];
	size_t len = make_image(img, false, false, 0) - 24;
	long page = sysconf(_SC_PAGESIZE);
	size_t room = ALIGN_UP(len, (size_t)page), maplen = room + (size_t)page;
	uint8_t *m = mmap(NULL, maplen, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint8_t *g;
	struct pcap_file_info fi;
	uint64_t lies = 0;

	if (m == MAP_FAILED || mprotect(m + room, (size_t)page, PROT_NONE)) {
		perror("mmap");
		exit(1);
	}
	g = m + room - len;
	pcap_file_header_parse(img, PCAP_FILE_HEADER_LEN, &fi);
	srand(11);
	for (int n = 0; n < 20000; n++) {
		struct pcap_rec_iter it;
		struct pcap_rec r;
		const uint8_t *data;
		uint64_t off, last = 0;
		unsigned yielded = 0;

		memcpy(g, img + 24, len);
		for (int k = 0; k < 1 + n % 3; k++) {
			size_t at = (size_t)rand() % len;

			if (rand() & 1)
				g[at] = (uint8_t)rand();
			else if (at + 4 <= len)
				put_u32(g + at, (uint32_t)rand() << (rand() % 24), false);
		}
		pcap_rec_iter_init(&it, &fi, g, len, 24);
		while (pcap_rec_iter_next(&it, &r, &data, &off)) {
			CHECK(data >= g + 16 && r.caplen <= (size_t)(g + len - data), "record outside the bytes");
			CHECK(!yielded || off > last, "offsets do not grow");
			last = off;
			if (++yielded > NREC * 20)
				break;
		}
		CHECK(yielded <= len / 16, "more records than headers fit");
		lies += it.stop != PCAP_REC_OK;
	}
	CHECK(lies > 0, "no mutation was ever caught");
	munmap(m, maplen);
}

/* ---------------------------------------------------------- files */

static char dir[] = "/tmp/test_read_pcap.XXXXXX";

static void write_file(const char *path, const uint8_t *b, size_t len, int flags)
{
	int fd = open(path, O_WRONLY | O_CREAT | flags, 0644);

	CHECK(fd >= 0 && write(fd, b, len) == (ssize_t)len, "write %s", path);
	close(fd);
}

static int refresh(const char *path, bool force, struct index *ix, struct index_refresh_result *res)
{
	int fd = open(path, O_RDONLY), ret;

	ret = index_refresh(path, fd, force, 0, ix, res);
	close(fd);
	return ret;
}

static uint8_t *bytes_of(const struct index *ix, size_t *len)
{
	uint8_t *b;

	*len = index_serialized_len(ix);
	b = malloc(*len);
	index_serialize(ix, b);
	return b;
}

static void test_refresh(void)
{
	static uint8_t img[2 * NREC * 160 + 64], img2[NREC * 160 + 64];
	char cap[256], idx[256];
	struct index ix, ix2;
	struct index_refresh_result res;
	size_t len, len2, l1, l2;
	uint8_t *b1, *b2;
	struct stat st;

	CHECK(mkdtemp(dir) != NULL, "mkdtemp");
	snprintf(cap, sizeof(cap), "%s/cap.pcap", dir);
	CHECK(index_path_for(cap, idx, sizeof(idx)) == 0 && strstr(idx, "/.cap.pcap.ridx"), "index path %s", idx);
	len = make_image(img, false, false, 0);
	write_file(cap, img, len, O_TRUNC);

	CHECK(refresh(cap, false, &ix, &res) == 0 && res.built && res.saved && !res.scan.torn, "first: built");
	CHECK_EQ(ix.records, NREC);
	CHECK(stat(idx, &st) == 0 && (uint64_t)st.st_size == index_serialized_len(&ix), "index file");
	index_free(&ix);
	CHECK(refresh(cap, false, &ix, &res) == 0 && res.loaded && !res.built, "second: loaded");
	index_free(&ix);

	/* the file grows: extended, equal to a rebuild */
	len2 = make_image(img2, false, false, NREC) - 24;
	write_file(cap, img2 + 24, len2, O_APPEND);
	CHECK(refresh(cap, false, &ix, &res) == 0 && res.extended && !res.built, "grown: extended");
	CHECK(res.scan.records == NREC, "extension read %llu records", (unsigned long long)res.scan.records);
	CHECK(refresh(cap, true, &ix2, &res) == 0 && res.built, "forced: built");
	b1 = bytes_of(&ix, &l1);
	b2 = bytes_of(&ix2, &l2);
	CHECK(ix.records == 2 * NREC && l1 == l2 && !memcmp(b1, b2, l1), "extended differs from rebuilt");
	free(b1);
	free(b2);
	index_free(&ix);
	index_free(&ix2);

	/* a torn last record: indexed up to it, at its offset */
	write_file(cap, img2 + 24, 16 + 20, O_APPEND); /* header says caplen 40, 20 bytes follow */
	CHECK(refresh(cap, false, &ix, &res) == 0 && res.extended && res.scan.torn &&
	      res.scan.torn_at == len + len2 && ix.good_end == len + len2 && ix.records == 2 * NREC,
	      "torn: extended %d torn %d at %llu want %zu", res.extended, res.scan.torn,
	      (unsigned long long)res.scan.torn_at, len + len2);
	index_free(&ix);
	CHECK(refresh(cap, false, &ix, &res) == 0 && res.loaded && ix.good_end < ix.file_size, "torn, fresh");
	index_free(&ix);

	/* a corrupt index (one byte) and a truncated one are rebuilt */
	{
		int fd = open(idx, O_RDWR);
		uint8_t x;

		CHECK(pread(fd, &x, 1, 200) == 1, "read index");
		x ^= 0x40;
		CHECK(pwrite(fd, &x, 1, 200) == 1, "corrupt index");
		close(fd);
	}
	CHECK(refresh(cap, false, &ix, &res) == 0 && res.built && !res.loaded, "corrupt index: rebuilt");
	index_free(&ix);
	CHECK(truncate(idx, 100) == 0, "truncate index");
	CHECK(refresh(cap, false, &ix, &res) == 0 && res.built, "truncated index: rebuilt");
	index_free(&ix);

	/* the file was replaced (another byte order and precision): rebuilt */
	len = make_image(img, true, true, 7);
	write_file(cap, img, len, O_TRUNC);
	CHECK(refresh(cap, false, &ix, &res) == 0 && res.built && ix.records == NREC, "replaced: rebuilt");
	index_free(&ix);

	unlink(idx);
	unlink(cap);
	rmdir(dir);
}

/* What ringcap's writer would do: feed the builder each record it writes and
 * write the index; the reader must then take it as fresh, not rebuild it. */
static void test_writer_side(void)
{
	static uint8_t img[2 * NREC * 160 + 64];
	char cap[256], idx[256];
	struct index_builder *b;
	struct index ix, ref;
	struct index_refresh_result res;
	struct pcap_file_info fi;
	size_t len = make_image(img, false, true, 0), half = 0;
	uint64_t off = PCAP_FILE_HEADER_LEN;
	uint8_t *b1, *b2;
	size_t l1, l2;
	unsigned n = 0;

	snprintf(dir, sizeof(dir), "/tmp/test_read_pcap.XXXXXX");
	CHECK(mkdtemp(dir) != NULL, "mkdtemp");
	snprintf(cap, sizeof(cap), "%s/live.pcap", dir);
	index_path_for(cap, idx, sizeof(idx));
	pcap_file_header_parse(img, PCAP_FILE_HEADER_LEN, &fi);
	CHECK(index_builder_new(&b, img, 0) == 0, "builder");
	write_file(cap, img, PCAP_FILE_HEADER_LEN, O_TRUNC);
	while (off < len) {
		struct pcap_rec r = { 0 };

		CHECK(pcap_rec_parse(&fi, img + off, len - off, &r) == PCAP_REC_OK, "image record");
		write_file(cap, img + off, 16 + r.caplen, O_APPEND);
		CHECK(index_builder_add(b, off, r.ts_sec, r.ts_frac, img + off + 16, r.caplen) == 0, "add");
		off += 16 + r.caplen;
		if (++n == NREC / 2) {
			/* mid-file, as after a rotation check: the reader takes it */
			CHECK(index_builder_write(b, cap) == 0, "write mid-file");
			CHECK(refresh(cap, false, &ix, &res) == 0 && res.loaded && ix.records == n,
			      "mid-file index not taken as fresh (loaded %d)", res.loaded);
			index_free(&ix);
			half = off;
		}
	}
	CHECK(half > 0, "no mid-file write");
	CHECK(index_builder_write(b, cap) == 0, "write at close");
	CHECK(refresh(cap, false, &ix, &res) == 0 && res.loaded && ix.records == NREC, "writer's index not fresh");
	CHECK(refresh(cap, true, &ref, &res) == 0 && res.built, "rebuild");
	b1 = bytes_of(&ix, &l1);
	b2 = bytes_of(&ref, &l2);
	CHECK(l1 == l2 && !memcmp(b1, b2, l1), "the writer's index differs from the reader's rebuild");
	free(b1);
	free(b2);
	index_free(&ix);
	index_free(&ref);
	/* a builder that is ahead of the file (records not written yet) refuses */
	CHECK(index_builder_add(b, off, 1, 0, img + 40, 40) == 0, "add ahead");
	CHECK_EQ(index_builder_write(b, cap), -EINVAL);
	index_builder_free(b);
	unlink(idx);
	unlink(cap);
	rmdir(dir);
}

int main(void)
{
	test_header_and_records();
	test_mutated();
	test_refresh();
	test_writer_side();
	return unit_exit("test_read_pcap");
}
