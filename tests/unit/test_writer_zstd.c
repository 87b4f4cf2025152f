/*
 * --compress zstd in the writer, without privileges, checked with libzstd's
 * own decoder:
 *  - the raw frame encoder at every size boundary (0, 1, the Frame_Content_Size
 *    field widths, 128 KiB - 1, 128 KiB, 128 KiB + 1, a whole chunk):
 *    ZSTD_decompress gives the bytes back, the frame says its content size
 *    and ZSTD_findFrameCompressedSize its length;
 *  - the writer: the same packets through the plain pwrite writer and the
 *    compressed one; the .zst is frames each with Frame_Content_Size, none
 *    across a chunk boundary, and their concatenation is the plain file byte
 *    for byte; the counters add up to the file;
 *  - a writer with no pool (compress_threads 0, the pool "behind" on every
 *    chunk): every chunk a raw frame, counted as raw, content the same; and
 *    level 19, which the appender outruns (chunks given up midway): the same;
 *  - live flushes (main's, compressed; -U's, raw): after each, the file
 *    decodes to exactly the records so far; the chunk's own frame later
 *    holds only the rest (no byte twice);
 *  - rotation (-C): every FILE.zst decodes alone to a pcap;
 *  - the index beside FILE.zst is flagged compressed, in stream offsets;
 *  - an earlier run's FILE.zst with frames is never overwritten, -C goes on
 *    after FILEn.zst, an empty one is reused;
 *  - a write error (RLIMIT_FSIZE): close leaves whole frames only.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include "index/index.h"
#include "writer/pcap.h"
#include "writer/writer.h"
#include "writer/zframe.h"
#include "unit.h"

#define NPKTS 6000
#define CHUNK (64u << 10)

static char dir[64];
static uint64_t rng = 0x5eed;

struct pktset {
	struct pkt_view v[NPKTS];
	uint8_t *bytes;
};

/* Half the packets random bytes, half text-like (compressible). */
static void make_pkts(struct pktset *s)
{
	static const char text[] = "GET /index.html HTTP/1.1\r\nHost: example.test\r\n";
	size_t off = 0;

	s->bytes = malloc((size_t)NPKTS * 1514);
	for (unsigned i = 0; i < NPKTS; i++) {
		uint32_t len = 60 + (uint32_t)(unit_rnd(&rng) % 1455);
		uint8_t *d = s->bytes + off;

		for (uint32_t j = 0; j < len; j++)
			d[j] = i % 2 ? (uint8_t)unit_rnd(&rng) : (uint8_t)text[j % (sizeof(text) - 1)];
		s->v[i] = (struct pkt_view){ .data = d, .len = len, .caplen = len,
					     .sec = 1700000000u + i / 100, .nsec = i * 1000u };
		off += len;
	}
}

struct decoded {
	uint8_t *data;
	size_t len;
	unsigned frames, raw_frames;
	bool torn;            /* bytes after the last whole frame */
	bool across_chunk;    /* a frame crossed a chunk boundary of the stream */
	bool no_size;         /* a frame without Frame_Content_Size */
};

/* RFC 8878's Frame_Header length from its descriptor byte. */
static size_t frame_header_len(uint8_t fhd)
{
	static const size_t did[4] = { 0, 1, 2, 4 }, fcs[4] = { 0, 2, 4, 8 };
	bool single = fhd & 0x20;

	return 4 + 1 + !single + did[fhd & 3] + (fhd >> 6 || !single ? fcs[fhd >> 6] : 1);
}

/* Frame by frame, as a reader that maps offsets would. */
static void decode(const uint8_t *buf, size_t size, struct decoded *d)
{
	size_t off = 0, cap = 64u << 20;

	memset(d, 0, sizeof(*d));
	d->data = malloc(cap);
	while (off < size) {
		unsigned long long fcs = ZSTD_getFrameContentSize(buf + off, size - off);
		size_t csz = ZSTD_findFrameCompressedSize(buf + off, size - off), r;

		if (ZSTD_isError(csz) || fcs == ZSTD_CONTENTSIZE_ERROR) {
			d->torn = true;
			break;
		}
		if (fcs == ZSTD_CONTENTSIZE_UNKNOWN) {
			d->no_size = true;
			break;
		}
		if (fcs && d->len / CHUNK != (d->len + fcs - 1) / CHUNK)
			d->across_chunk = true;
		r = ZSTD_decompress(d->data + d->len, cap - d->len, buf + off, csz);
		if (ZSTD_isError(r) || r != fcs) {
			d->torn = true;
			break;
		}
		/* the first block's type: raw (0) in bits 1-2 after the header */
		if (((buf[off + frame_header_len(buf[off + 4])] >> 1) & 3) == 0)
			d->raw_frames++;
		d->len += r;
		d->frames++;
		off += csz;
	}
}

/* ---- the raw frame encoder ---- */

static void test_raw_frames(void)
{
	static const size_t sizes[] = { 0, 1, 255, 256, 65535 + 256, 65536 + 256,
					 ZFRAME_BLOCK_MAX - 1, ZFRAME_BLOCK_MAX,
					 ZFRAME_BLOCK_MAX + 1, 3 * ZFRAME_BLOCK_MAX, 1u << 20 };
	size_t max = (1u << 20) + 4096;
	uint8_t *src = malloc(max), *frame = malloc(max + 1024), *back = malloc(max);

	for (size_t i = 0; i < max; i++)
		src[i] = (uint8_t)unit_rnd(&rng);
	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		size_t len = sizes[k], flen = zframe_raw_encode(frame, max + 1024, src, len);
		size_t r;

		CHECK(flen > 0, "size %zu: not encoded", len);
		CHECK_EQ(ZSTD_getFrameContentSize(frame, flen), len);
		CHECK_EQ(ZSTD_findFrameCompressedSize(frame, flen), flen);
		r = ZSTD_decompress(back, max, frame, flen);
		CHECK(!ZSTD_isError(r), "size %zu: %s", len, ZSTD_getErrorName(r));
		CHECK_EQ(r, len);
		CHECK(!memcmp(back, src, len), "size %zu: other bytes back", len);
		CHECK_EQ(flen, 5 + (len < 256 ? 1 : len < 65792 ? 2 : 4) +
				       3 * zframe_raw_blocks(len) + len);
		/* one byte short: not a whole frame */
		if (flen > 1)
			CHECK(ZSTD_isError(ZSTD_findFrameCompressedSize(frame, flen - 1)),
			      "size %zu: a torn frame passes as whole", len);
	}
	CHECK_EQ(zframe_raw_encode(frame, 10, src, 100), 0); /* no room */
	free(src);
	free(frame);
	free(back);
}

/* ---- through the writer ---- */

struct run {
	const char *name;
	int level;            /* 0: plain */
	unsigned threads;
	bool each;            /* -U */
	unsigned flush_every; /* writer_flush after every N appends (0: never) */
	uint64_t rotate;
	bool index;
	struct writer_result res;
	char path[128];
};

static void config(struct run *r, struct writer_config *c)
{
	snprintf(r->path, sizeof(r->path), "%s/%s.pcap", dir, r->name);
	*c = (struct writer_config){
		.path = r->path, .snaplen = 262144, .backend = WRITER_PWRITE,
		.chunk_size = CHUNK, .nchunks = 16, .compress_level = r->level,
		.compress_threads = r->threads, .flush_each_append = r->each,
		.rotate_bytes = r->rotate, .index = r->index,
	};
}

/* Appends in batches of 1..64; with flush_every, checks after each flush
 * that the file decodes to the plain bytes so far. */
static int write_run(struct run *r, const struct pktset *s, const uint8_t *plain)
{
	struct writer_config c;
	struct writer *w;
	uint64_t staged = PCAP_FILE_HEADER_LEN;
	unsigned appends = 0;
	int ret;

	config(r, &c);
	ret = writer_open(&w, &c);
	CHECK_EQ(ret, 0);
	if (ret)
		return ret;
	for (unsigned i = 0; i < NPKTS;) {
		unsigned n = 1 + (unsigned)(unit_rnd(&rng) % 64);

		if (n > NPKTS - i)
			n = NPKTS - i;
		ret = writer_append(w, s->v + i, n);
		if (ret < 0)
			break; /* a write error: close says which */
		CHECK_EQ(ret, n);
		for (unsigned k = i; k < i + n; k++)
			staged += PCAP_RECORD_HEADER_LEN + s->v[k].caplen;
		i += n;
		if (r->flush_every && ++appends % r->flush_every == 0 && plain) {
			char zpath[160];
			struct decoded d;
			size_t size;
			uint8_t *buf;

			while ((ret = writer_flush(w)) == -EAGAIN)
				usleep(1000);
			CHECK_EQ(ret, 0);
			snprintf(zpath, sizeof(zpath), "%s.zst", r->path);
			buf = unit_read_whole(zpath, &size);
			decode(buf, size, &d);
			CHECK(!d.torn, "%s: a live file with a torn frame", r->name);
			CHECK_EQ(d.len, staged);
			CHECK(!memcmp(d.data, plain, d.len), "%s: live bytes differ", r->name);
			free(buf);
			free(d.data);
		}
	}
	return writer_close(w, &r->res);
}

static uint8_t *plain_file(const struct pktset *s, size_t *size)
{
	struct run p = { .name = "plain" };
	uint8_t *buf;

	CHECK_EQ(write_run(&p, s, NULL), 0);
	buf = unit_read_whole(p.path, size);
	unlink(p.path);
	return buf;
}

static void check_zst(struct run *r, const uint8_t *plain, size_t plain_size, bool all_raw)
{
	char zpath[160];
	struct decoded d;
	size_t size;
	uint8_t *buf;

	snprintf(zpath, sizeof(zpath), "%s.zst", r->path);
	buf = unit_read_whole(zpath, &size);
	CHECK(buf != NULL, "%s: no %s", r->name, zpath);
	CHECK(access(r->path, F_OK) != 0, "%s: the plain name was made too", r->name);
	if (!buf)
		return;
	decode(buf, size, &d);
	CHECK(!d.torn && !d.no_size, "%s: torn %d, without content size %d", r->name, d.torn,
	      d.no_size);
	CHECK(!d.across_chunk, "%s: a frame across a chunk boundary", r->name);
	CHECK_EQ(d.len, plain_size);
	CHECK(d.len == plain_size && !memcmp(d.data, plain, plain_size), "%s: other bytes",
	      r->name);
	if (!r->flush_every && !r->each)
		CHECK_EQ(d.frames, (plain_size + CHUNK - 1) / CHUNK);
	CHECK_EQ(r->res.bytes, size);
	CHECK_EQ(r->res.compress.bytes_out, size);
	CHECK_EQ(r->res.compress.bytes_in, plain_size);
	if (!r->each)
		CHECK_EQ(r->res.compress.chunks + r->res.compress.raw_chunks, d.frames);
	if (all_raw) {
		CHECK_EQ(d.raw_frames, d.frames);
		CHECK_EQ(r->res.compress.chunks, 0);
		CHECK_EQ(r->res.compress.raw_chunks, d.frames);
	} else if (!r->each && r->level < 19) {
		CHECK(r->res.compress.chunks > 0, "%s: nothing compressed", r->name);
		CHECK(size < plain_size, "%s: %zu bytes from %zu", r->name, size, plain_size);
	}
	free(buf);
	free(d.data);
	unlink(zpath);
}

static void test_writer(const struct pktset *s, const uint8_t *plain, size_t plain_size)
{
	struct run runs[] = {
		{ .name = "z1", .level = 1, .threads = 1 },
		{ .name = "z3x2", .level = 3, .threads = 2 },
		{ .name = "nopool", .level = 1, .threads = 0 },
		/* slow enough that the appender outruns it: chunks given up
		 * mid-compression (hurry) or late are raw; the bytes the same */
		{ .name = "behind", .level = 19, .threads = 1 },
		{ .name = "flush", .level = 1, .threads = 2, .flush_every = 7 },
		{ .name = "each", .level = 1, .threads = 1, .each = true, .flush_every = 11 },
	};

	for (size_t i = 0; i < sizeof(runs) / sizeof(runs[0]); i++) {
		CHECK_EQ(write_run(&runs[i], s, plain), 0);
		check_zst(&runs[i], plain, plain_size, runs[i].threads == 0);
	}
}

/* -C: every file its own stream, starting with the pcap header. */
static void test_rotation(const struct pktset *s)
{
	struct run r = { .name = "rot", .level = 1, .threads = 2, .rotate = 3 * CHUNK };
	uint64_t total = 0;
	unsigned files = 0;

	CHECK_EQ(write_run(&r, s, NULL), 0);
	for (unsigned i = 0; i < 64; i++) {
		char zpath[192];
		struct decoded d;
		size_t size;
		uint8_t *buf;

		snprintf(zpath, sizeof(zpath), i ? "%s%u.zst" : "%s.zst", r.path, i);
		buf = unit_read_whole(zpath, &size);
		if (!buf)
			break;
		decode(buf, size, &d);
		CHECK(!d.torn && d.len > PCAP_FILE_HEADER_LEN, "%s: not a whole stream", zpath);
		CHECK_EQ(d.len > 4 ? *(uint32_t *)d.data : 0, 0xa1b2c3d4);
		total += size;
		files++;
		free(buf);
		free(d.data);
		unlink(zpath);
	}
	CHECK(files > 2, "only %u files", files);
	CHECK_EQ(files, r.res.files);
	CHECK_EQ(total, r.res.bytes);
}

/* The index beside FILE.zst: flagged, in stream offsets, the .zst's identity. */
static void test_index(const struct pktset *s, size_t plain_size)
{
	struct run r = { .name = "ix", .level = 1, .threads = 1, .index = true };
	char zpath[160], ipath[192];
	struct index ix;
	struct stat st;

	CHECK_EQ(write_run(&r, s, NULL), 0);
	snprintf(zpath, sizeof(zpath), "%s.zst", r.path);
	CHECK_EQ(index_path_for(zpath, ipath, sizeof(ipath)), 0);
	CHECK_EQ(index_load(ipath, &ix), 0);
	CHECK_EQ(ix.flags, INDEX_F_COMPRESSED);
	CHECK_EQ(ix.good_end, plain_size);
	CHECK_EQ(ix.records, NPKTS);
	CHECK_EQ(stat(zpath, &st), 0);
	CHECK_EQ(ix.file_size, (uint64_t)st.st_size);
	CHECK_EQ(ix.file_ino, st.st_ino);
	index_free(&ix);
	unlink(ipath);
	unlink(zpath);
}

static void put_file(const char *path, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	static const uint8_t junk[64];

	CHECK(fd >= 0 && write(fd, junk, len) == (ssize_t)len, "%s", path);
	if (fd >= 0)
		close(fd);
}

/* An earlier run's .zst files: a non-empty FILE.zst is not overwritten
 * (refused without -C; -C numbering goes on after the highest FILEn.zst);
 * an empty one is reused. */
static void test_earlier_run(const struct pktset *s)
{
	struct run r = { .name = "old", .level = 1, .threads = 1 };
	char p0[160], p2[160], p3[160];
	struct writer_config c;
	struct writer *w;
	struct stat st;

	config(&r, &c);
	snprintf(p0, sizeof(p0), "%s.zst", r.path);
	snprintf(p2, sizeof(p2), "%s2.zst", r.path);
	snprintf(p3, sizeof(p3), "%s3.zst", r.path);
	put_file(p0, 1); /* one byte: "holds frames" */
	CHECK_EQ(writer_open(&w, &c), -EEXIST);
	CHECK(stat(p0, &st) == 0 && st.st_size == 1, "FILE.zst was touched");
	put_file(p0, 0); /* empty: reused */
	CHECK_EQ(write_run(&r, s, NULL), 0);
	CHECK(stat(p0, &st) == 0 && st.st_size > 1, "the empty FILE.zst was not reused");
	/* -C: FILE.zst and FILE2.zst hold frames: the next is FILE3.zst */
	put_file(p2, 10);
	r.rotate = 1ull << 30;
	CHECK_EQ(write_run(&r, s, NULL), 0);
	CHECK(stat(p3, &st) == 0 && st.st_size > 10, "-C did not go on at FILE3.zst");
	CHECK(stat(p2, &st) == 0 && st.st_size == 10, "FILE2.zst was touched");
	unlink(p0);
	unlink(p2);
	unlink(p3);
}

/* A write error: the file keeps whole frames only. In a child (the limit). */
static int fsize_child(const void *arg)
{
	const struct pktset *s = arg;
	struct rlimit rl = { 1500000, 1500000 }; /* above the staging memfd */
	struct run r = { .name = "fsize", .level = 1, .threads = 0 };
	char zpath[160];
	struct decoded d;
	size_t size;
	uint8_t *buf;

	signal(SIGXFSZ, SIG_IGN);
	setrlimit(RLIMIT_FSIZE, &rl);
	CHECK(write_run(&r, s, NULL) < 0, "no error with a file size limit");
	CHECK_EQ(r.res.error, -EFBIG);
	snprintf(zpath, sizeof(zpath), "%s.zst", r.path);
	buf = unit_read_whole(zpath, &size);
	CHECK(buf && size > 0 && size <= 1500000, "size %zu", size);
	decode(buf, size, &d);
	CHECK(!d.torn, "a torn frame after the error's cut");
	CHECK(d.frames > 0, "no frame");
	free(buf);
	free(d.data);
	unlink(zpath);
	return unit_failures ? 1 : 0;
}

int main(void)
{
	struct pktset *s = calloc(1, sizeof(*s));
	size_t plain_size;
	uint8_t *plain;

	snprintf(dir, sizeof(dir), "/tmp/ringcap-zstd-%d", getpid());
	if (mkdir(dir, 0700)) {
		perror(dir);
		return 1;
	}
	make_pkts(s);
	test_raw_frames();
	plain = plain_file(s, &plain_size);
	CHECK(plain != NULL, "no plain file");
	if (plain) {
		test_writer(s, plain, plain_size);
		test_index(s, plain_size);
	}
	test_rotation(s);
	test_earlier_run(s);
	unit_in_child("fsize", fsize_child, s, "");
	free(plain);
	free(s->bytes);
	free(s);
	rmdir(dir);
	return unit_exit("test_writer_zstd");
}
