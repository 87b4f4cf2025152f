/* zfile/: files made by the `zstd` and `gzip` command-line tools and by
 * python's gzip module read back, at any offset, as the bytes they hold: one
 * zstd frame, many frames with content sizes (pieces compressed alone and
 * concatenated, a skippable frame among them), frames without content size,
 * gzip with one member and with several. Then the decoder fed mutated and
 * cut files: it never reads out of bounds (run it under ASan), returns at
 * most what was asked, and says where the damage is. Skips (77) without the
 * tools. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "unit.h"
#include "zfile/zfile.h"

#define DATA_LEN (3u << 20) /* > a stream's window, several frames of 256 KiB */

static char dir[] = "/tmp/ringcap-zfile.XXXXXX";
static uint8_t *data;

static void run(const char *cmd)
{
	if (system(cmd) != 0) {
		fprintf(stderr, "failed: %s\n", cmd);
		exit(1);
	}
}

#define SH(...)                                                 \
	do {                                                    \
		char cmd_[2048];                                \
		snprintf(cmd_, sizeof(cmd_), __VA_ARGS__);      \
		run(cmd_);                                      \
	} while (0)

static uint8_t *slurp(const char *path, size_t *len)
{
	struct stat st;
	uint8_t *b;
	int fd = open(path, O_RDONLY);

	if (fd < 0 || fstat(fd, &st) < 0)
		return NULL;
	b = malloc((size_t)st.st_size + 1);
	*len = (size_t)read(fd, b, (size_t)st.st_size);
	close(fd);
	return b;
}

/* Compressible, but not trivially: records of a few shapes with a counter. */
static void make_data(void)
{
	uint64_t rs = 7;
	char path[600];
	FILE *f;

	data = malloc(DATA_LEN);
	for (size_t i = 0; i < DATA_LEN; i++)
		data[i] = (uint8_t)(i % 97 < 40 ? i / 4096 : unit_rnd(&rs) % 8);
	snprintf(path, sizeof(path), "%s/plain", dir);
	f = fopen(path, "w");
	if (!f || fwrite(data, 1, DATA_LEN, f) != DATA_LEN || fclose(f)) {
		perror(path);
		exit(1);
	}
}

/* Read `name` through zfile in several patterns and compare with data. */
static void check_file(const char *name, enum zfile_kind kind)
{
	char path[600];
	uint8_t *buf = malloc(DATA_LEN + 100);
	struct zfile *z;
	uint8_t head[ZFILE_SNIFF_LEN];
	uint64_t rs = 11;
	size_t got = 0;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_RDONLY);
	CHECK(fd >= 0, "%s", path);
	CHECK(pread(fd, head, sizeof(head), 0) == (ssize_t)sizeof(head), "%s: header", name);
	CHECK_EQ(zfile_sniff(head, sizeof(head)), kind);
	CHECK_EQ(zfile_open(&z, fd, kind, path), 0);
	/* forward, in uneven pieces, as the index scan and the chunks read */
	while (got < DATA_LEN + 50) {
		size_t want = 1 + (size_t)(unit_rnd(&rs) % 700000);
		ssize_t n = zfile_pread(z, buf + got, want, got);

		CHECK(n >= 0 && (size_t)n <= want, "%s: read at %zu gave %zd", name, got, n);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	CHECK_EQ(got, DATA_LEN);
	CHECK(!memcmp(buf, data, DATA_LEN), "%s: the bytes differ", name);
	/* back to the start, then here and there (a stream starts again) */
	for (int i = 0; i < 12; i++) {
		uint64_t off = i == 0 ? 0 : unit_rnd(&rs) % DATA_LEN;
		size_t want = 1 + (size_t)(unit_rnd(&rs) % 100000);
		size_t expect = off + want > DATA_LEN ? DATA_LEN - off : want;
		ssize_t n = zfile_pread(z, buf, want, off);

		CHECK(n == (ssize_t)expect && !memcmp(buf, data + off, expect), "%s: read %zu at %llu gave %zd",
		      name, want, (unsigned long long)off, n);
	}
	CHECK(zfile_pread(z, buf, 10, DATA_LEN) == 0, "%s: a read past the end", name);
	CHECK(!zfile_corrupt(z), "%s: said corrupt", name);
	zfile_close(z);
	close(fd);
	free(buf);
}

/* Mutated copies of `name`: flipped bytes and cut ends. Nothing crashes or
 * reads out of bounds (ASan), a read returns at most what was asked, and a
 * cut file reads a prefix of the data. */
static void fuzz_file(const char *name, enum zfile_kind kind, unsigned rounds)
{
	char src[600], dst[600];
	size_t len;
	uint8_t *orig, *buf = malloc(1 << 20);
	uint64_t rs = 1234 + kind;

	snprintf(src, sizeof(src), "%s/%s", dir, name);
	snprintf(dst, sizeof(dst), "%s/fuzz", dir);
	orig = slurp(src, &len);
	CHECK(orig && len > 64, "%s", src);
	for (unsigned r = 0; orig && r < rounds; r++) {
		uint8_t *m = malloc(len);
		size_t mlen = len, off = 0;
		bool cut = r % 3 == 0;
		struct zfile *z;
		int fd;

		memcpy(m, orig, len);
		if (cut) {
			mlen = (size_t)(unit_rnd(&rs) % len);
		} else {
			unsigned flips = 1 + (unsigned)(unit_rnd(&rs) % 8);

			for (unsigned i = 0; i < flips; i++) {
				/* half of them in the first bytes: the frame and block headers */
				size_t at = (size_t)(unit_rnd(&rs) % (i & 1 ? len : (len < 256 ? len : 256)));

				m[at] ^= (uint8_t)(1 + unit_rnd(&rs) % 255);
			}
		}
		fd = open(dst, O_RDWR | O_CREAT | O_TRUNC, 0600);
		if (fd < 0 || write(fd, m, mlen) != (ssize_t)mlen) {
			CHECK(0, "writing %s", dst);
			free(m);
			break;
		}
		if (zfile_open(&z, fd, kind, "fuzz") == 0) {
			for (int i = 0; i < 64; i++) {
				size_t want = 1 + (size_t)(unit_rnd(&rs) % (1 << 20));
				ssize_t n = zfile_pread(z, buf, want, off);

				CHECK(n <= (ssize_t)want, "round %u: %zd bytes for %zu", r, n, want);
				if (n <= 0)
					break;
				if (cut)
					CHECK(off + (size_t)n <= DATA_LEN && !memcmp(buf, data + off, (size_t)n),
					      "round %u: a cut file read other bytes at %zu", r, off);
				off += (size_t)n;
			}
			if (cut && off < DATA_LEN)
				CHECK(zfile_corrupt(z), "round %u: cut at %zu of %zu, %zu read, nothing said", r, mlen,
				      len, off);
			zfile_close(z);
		}
		close(fd);
		free(m);
	}
	free(orig);
	free(buf);
}

int main(void)
{
	if (system("command -v zstd >/dev/null && command -v gzip >/dev/null && "
		   "command -v python3 >/dev/null") != 0) {
		fprintf(stderr, "test_zfile: zstd, gzip or python3 missing: skipped\n");
		return 77;
	}
	if (!mkdtemp(dir))
		return 1;
	make_data();
	SH("zstd -q -c %s/plain > %s/one.zst", dir, dir);
	SH("zstd -q --no-content-size -c < %s/plain > %s/nocs.zst", dir, dir);
	/* pieces of 256 KiB compressed alone, a skippable frame (magic
	 * 0x184D2A5A, 5 bytes) before the third */
	SH("cd %s && split -b 262144 plain piece. && for p in piece.*; do zstd -q -c $p > $p.z; done && "
	   "printf '\\132\\052\\115\\030\\005\\000\\000\\000hello' > skip && "
	   "cat piece.aa.z piece.ab.z skip piece.a[c-z].z > %s/multi.zst && rm -f piece.*", dir, dir);
	SH("cd %s && split -b 1000000 plain piece. && for p in piece.*; do zstd -q --no-content-size -c $p > "
	   "$p.z; done && cat piece.*.z > %s/multinocs.zst && rm -f piece.*", dir, dir);
	SH("gzip -c < %s/plain > %s/one.gz", dir, dir);
	SH("cd %s && split -b 700000 plain piece. && for p in piece.*; do gzip -c $p; done > %s/multi.gz && "
	   "rm -f piece.*", dir, dir);
	SH("python3 -c 'import gzip,sys; open(sys.argv[2],\"wb\").write(gzip.compress(open(sys.argv[1],\"rb\")"
	   ".read()))' %s/plain %s/py.gz", dir, dir);

	check_file("one.zst", ZFILE_ZSTD);
	check_file("nocs.zst", ZFILE_ZSTD);
	check_file("multi.zst", ZFILE_ZSTD);
	check_file("multinocs.zst", ZFILE_ZSTD);
	check_file("one.gz", ZFILE_GZIP);
	check_file("multi.gz", ZFILE_GZIP);
	check_file("py.gz", ZFILE_GZIP);
	{
		const uint8_t pcap[4] = { 0xd4, 0xc3, 0xb2, 0xa1 };

		CHECK_EQ(zfile_sniff(pcap, 4), ZFILE_PLAIN);
		CHECK_EQ(zfile_sniff(pcap, 1), ZFILE_PLAIN);
	}
	/* the log of a mutated file is one line each: keep it out of the way */
	int saved = dup(2), null = open("/dev/null", O_WRONLY);

	fflush(stderr);
	dup2(null, 2);
	fuzz_file("multi.zst", ZFILE_ZSTD, 150);
	fuzz_file("one.zst", ZFILE_ZSTD, 60);
	fuzz_file("one.gz", ZFILE_GZIP, 60);
	fuzz_file("multi.gz", ZFILE_GZIP, 60);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	close(null);
	SH("rm -rf %s%.0s", dir, dir);
	free(data);
	return unit_exit("test_zfile");
}
