/* retention/: with a fake file system size (free = capacity minus the blocks
 * of every file in the test's directory, so the figures are exact), the limits
 * hold over many files, the oldest (by first packet) go first, the newest and
 * the current file stay, foreign files are never touched, busy and vanished
 * files are handled, siblings go with their file, files of every link type
 * are counted and deleted, and adoption takes the capture files that match
 * the naming (counting, never deleting, what else bears one of its names),
 * and the writer's --compress files (FILE.zst) are capture files too. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>
#include <zstd.h>

#include "jobs/jobs.h"
#include "retention/retention.h"
#include "unit.h"

static char dir[] = "/tmp/ringcap-retention.XXXXXX";
#define CAPACITY (1024 * 1024ull)

/* The fake statvfs: CAPACITY minus what every file in `dir` occupies. */
static int fake_space(void *ctx, uint64_t *avail, uint64_t *size)
{
	uint64_t used = 0;
	DIR *d = opendir(ctx);
	struct dirent *e;

	if (!d)
		return -errno;
	while ((e = readdir(d))) {
		char p[600];
		struct stat st;

		snprintf(p, sizeof(p), "%s/%s", (const char *)ctx, e->d_name);
		if (e->d_name[0] != '.' && lstat(p, &st) == 0 && S_ISREG(st.st_mode))
			used += (uint64_t)st.st_blocks * 512;
	}
	closedir(d);
	*size = CAPACITY;
	*avail = used < CAPACITY ? CAPACITY - used : 0;
	return 0;
}

static const char *busy_path;
static bool fake_busy(void *ctx, const char *path)
{
	(void)ctx;
	return busy_path && !strcmp(path, busy_path);
}

/* A pcap of ours: header, one record at `sec`, padded to `size` bytes. */
static void make_pcap(const char *path, uint32_t sec, size_t size, uint32_t magic, uint32_t link)
{
	uint32_t h[6] = { magic, 2u | 4u << 16, 0, 0, 65535, link };
	uint32_t rec[4] = { sec, 0, 0, 0 };
	static char pad[1 << 20];
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	if (fd < 0 || write(fd, h, sizeof(h)) != sizeof(h) || write(fd, rec, sizeof(rec)) != sizeof(rec) ||
	    write(fd, pad, size - 40) != (ssize_t)(size - 40)) {
		perror(path);
		exit(1);
	}
	close(fd);
}

static void make_text(const char *path, size_t size)
{
	FILE *f = fopen(path, "w");

	for (size_t i = 0; f && i < size; i++)
		fputc('x', f);
	if (f)
		fclose(f);
}

static void write_file_empty(const char *path)
{
	FILE *f = fopen(path, "w");

	if (f)
		fclose(f);
}

static bool exists(const char *name)
{
	char p[1300];

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	return access(p, F_OK) == 0;
}

static uint64_t fake_avail(void)
{
	uint64_t a, s;

	fake_space(dir, &a, &s);
	return a;
}

static void clean_dir(void)
{
	char cmd[600];

	snprintf(cmd, sizeof(cmd), "rm -f %s/* %s/.[!.]*", dir, dir);
	if (system(cmd)) {}
}

#define FILE_SIZE 40960u   /* ten 4 KiB blocks */

/* The writer's sequence, 60 files: enforce with the next file as reserve,
 * write it, report it closed. Foreign files are there from the start. */
static void test_min_free_many_files(void)
{
	struct retention_config cfg = {
		.dir = dir, .min_free_bytes = 400 * 1024, .space = fake_space, .space_ctx = dir,
	};
	struct retention *r;
	struct retention_counters c;
	char p[600];
	unsigned survivors = 0;

	snprintf(p, sizeof(p), "%s/notes.txt", dir);
	make_text(p, 100000);
	snprintf(p, sizeof(p), "%s/cap.pcap.zst", dir);   /* a -z command's output */
	make_text(p, 50000);
	CHECK_EQ(retention_open(&r, &cfg), 0);
	for (unsigned i = 0; i < 60; i++) {
		snprintf(p, sizeof(p), "%s/cap.pcap%u", dir, i);
		CHECK_EQ(retention_enforce(r, FILE_SIZE), 0);
		CHECK(fake_avail() >= cfg.min_free_bytes + FILE_SIZE, "file %u: %llu free", i,
		      (unsigned long long)fake_avail());
		make_pcap(p, 1000 + i, FILE_SIZE, 0xa1b2c3d4u, 1);
		retention_set_current(r, p, FILE_SIZE);
		CHECK_EQ(retention_add_closed(r, p, FILE_SIZE, (1000ull + i) * 1000000000ull), 0);
		CHECK(fake_avail() >= cfg.min_free_bytes, "after file %u: %llu free", i,
		      (unsigned long long)fake_avail());
	}
	/* survivors: the newest, contiguous up to the last */
	for (int i = 59; i >= 0; i--) {
		snprintf(p, sizeof(p), "cap.pcap%d", i);
		if (!exists(p))
			break;
		survivors++;
	}
	retention_counters(r, &c);
	CHECK(survivors > 0 && survivors == c.files_kept, "%u survivors, %llu kept", survivors,
	      (unsigned long long)c.files_kept);
	CHECK_EQ(c.files_deleted + c.files_kept, 60);
	CHECK_EQ(c.bytes_deleted, c.files_deleted * FILE_SIZE);
	for (unsigned i = 0; i < 60 - survivors; i++) {
		snprintf(p, sizeof(p), "cap.pcap%u", i);
		CHECK(!exists(p), "%s (older) survived", p);
	}
	/* the survivors leave no room for one more file of the limit */
	CHECK(fake_avail() < cfg.min_free_bytes + 2 * FILE_SIZE, "deleted more than needed: %llu free",
	      (unsigned long long)fake_avail());
	CHECK(exists("notes.txt") && exists("cap.pcap.zst"), "a foreign file was deleted");
	CHECK(c.disk_known && c.disk_size == CAPACITY, "disk figures");
	retention_close(r);
	clean_dir();
}

static void test_max_total_and_percent(void)
{
	struct retention_config cfg = {
		.dir = dir, .max_total_bytes = 10 * FILE_SIZE, .space = fake_space, .space_ctx = dir,
	};
	struct retention *r;
	struct retention_counters c;
	char p[600];

	CHECK_EQ(retention_open(&r, &cfg), 0);
	for (unsigned i = 0; i < 30; i++) {
		snprintf(p, sizeof(p), "%s/m%02u", dir, i);
		make_pcap(p, 5000 + i, FILE_SIZE, 0xa1b23c4du, 1);
		retention_set_current(r, p, FILE_SIZE);
		CHECK_EQ(retention_enforce(r, 0), 0);
		retention_counters(r, &c);
		CHECK(c.bytes_kept + FILE_SIZE <= cfg.max_total_bytes, "total %llu over the limit",
		      (unsigned long long)c.bytes_kept + FILE_SIZE);
		CHECK_EQ(retention_add_closed(r, p, FILE_SIZE, 0 /* header's time: mtime */), 0);
	}
	retention_counters(r, &c);
	CHECK_EQ(c.files_kept, 10); /* the last one closed: ten closed files */
	CHECK(exists("m29") && exists("m20") && !exists("m19"), "not the newest kept");
	retention_close(r);
	clean_dir();

	/* --min-free 50%: half the fake disk */
	cfg = (struct retention_config){ .dir = dir, .min_free_percent = 50, .space = fake_space,
					 .space_ctx = dir };
	CHECK_EQ(retention_open(&r, &cfg), 0);
	for (unsigned i = 0; i < 20; i++) {
		snprintf(p, sizeof(p), "%s/p%02u", dir, i);
		make_pcap(p, 100 + i, 4 * FILE_SIZE, 0xa1b2c3d4u, 1);
		CHECK_EQ(retention_add_closed(r, p, 4 * FILE_SIZE, (100ull + i) * 1000000000ull), 0);
		CHECK_EQ(retention_enforce(r, 0), 0);
		CHECK(fake_avail() >= CAPACITY / 2, "below 50%%: %llu", (unsigned long long)fake_avail());
	}
	retention_close(r);
	clean_dir();

	cfg.min_free_percent = 100;
	CHECK_EQ(retention_open(&r, &cfg), (unsigned long long)-EINVAL);
}

/* Busy files stay, vanished and replaced files drop out quietly, siblings
 * go along, the current file is never deleted, and -ENOSPC once nothing is left. */
/* ringcap-read's index beside a file: DIR/.NAME.ridx */
static int hidden_index(const char *path, char *out, size_t len)
{
	const char *slash = strrchr(path, '/');

	return snprintf(out, len, "%.*s.%s.ridx", (int)(slash - path + 1), path, slash + 1) <
		       (int)len ? 0 : -ENAMETOOLONG;
}

static void test_busy_vanished_siblings_current(void)
{
	static const char *const sfx[] = { ".idx", NULL };
	struct retention_config cfg = {
		.dir = dir, .max_total_bytes = 2 * FILE_SIZE + 600, .sibling_suffixes = sfx,
		.sibling = hidden_index,
		.space = fake_space, .space_ctx = dir, .in_use = fake_busy,
	};
	struct retention *r;
	struct retention_counters c;
	char p[6][600], moved[620], idx[620];

	CHECK_EQ(retention_open(&r, &cfg), 0);
	for (unsigned i = 0; i < 6; i++) {
		snprintf(p[i], sizeof(p[i]), "%s/b%u.pcap", dir, i);
		make_pcap(p[i], 10 + i, FILE_SIZE, 0xa1b2c3d4u, 1);
		CHECK_EQ(retention_add_closed(r, p[i], FILE_SIZE, (10ull + i) * 1000000000ull), 0);
	}
	snprintf(idx, sizeof(idx), "%s.idx", p[2]);
	make_text(idx, 3000);
	snprintf(idx, sizeof(idx), "%s/.b4.pcap.ridx", dir);
	make_text(idx, 500);
	snprintf(idx, sizeof(idx), "%s/.b5.pcap.ridx", dir);
	make_text(idx, 500);
	busy_path = p[0];                         /* a -z job still reads b0 */
	snprintf(moved, sizeof(moved), "%s.zst", p[1]);
	CHECK_EQ(rename(p[1], moved), 0);         /* a -z command renamed b1 */
	unlink(p[3]);                             /* and removed b3 */
	make_text(p[3], FILE_SIZE);               /* and something else took its name */
	CHECK_EQ(retention_enforce(r, 0), 0);
	/* listed: b0 (busy), b1 by its product b1.pcap.zst, b2 (+ .idx), b4 and b5
	 * (+ their indexes); b3's name holds another file: not ours. Over the
	 * limit: b1's product, b2 and b4 go, b0 and b5 stay. */
	CHECK(exists("b0.pcap") && exists("b3.pcap") && exists("b5.pcap") && exists(".b5.pcap.ridx"),
	      "a file that had to stay is gone");
	CHECK(!exists("b1.pcap.zst"), "the product of a vanished file was not deleted in its turn");
	CHECK(!exists("b2.pcap") && !exists("b2.pcap.idx") && !exists("b4.pcap"), "b2/b4 stayed");
	CHECK(!exists(".b4.pcap.ridx"), "the index did not go with b4");
	retention_counters(r, &c);
	CHECK_EQ(c.files_deleted, 3);
	CHECK_EQ(c.bytes_deleted, 3 * FILE_SIZE + 3000 + 500);
	CHECK_EQ(c.files_kept, 2);
	CHECK_EQ(c.bytes_kept, 2 * FILE_SIZE + 500);

	/* the current file is never deleted, even over the limit */
	busy_path = NULL;
	retention_set_current(r, p[5], FILE_SIZE); /* b5 reopened as current (a -W ring) */
	snprintf(p[4], sizeof(p[4]), "%s/b6.pcap", dir);
	make_pcap(p[4], 99, 3 * FILE_SIZE, 0xa1b2c3d4u, 1);
	retention_set_current(r, p[4], 3 * FILE_SIZE);
	CHECK_EQ(retention_enforce(r, 0), (unsigned long long)-ENOSPC);
	CHECK_EQ(retention_enforce(r, 0), (unsigned long long)-ENOSPC);
	CHECK(exists("b6.pcap") && !exists("b0.pcap"), "current deleted or b0 kept");
	retention_close(r);
	busy_path = NULL;
	clean_dir();
}

static void test_adopt(void)
{
	struct retention_config cfg = {
		.dir = dir, .max_total_bytes = 6 * FILE_SIZE, .space = fake_space, .space_ctx = dir,
	};
	struct retention_pattern pat;
	struct retention *r;
	char p[600];
	unsigned n;

	/* -C: cap.pcap, cap1.pcap...; ordered by first packet, not by name */
	snprintf(p, sizeof(p), "%s/cap.pcap", dir);  make_pcap(p, 300, FILE_SIZE, 0xa1b2c3d4u, 1);
	snprintf(p, sizeof(p), "%s/cap.pcap1", dir); make_pcap(p, 100, FILE_SIZE, 0xa1b2c3d4u, 1);
	snprintf(p, sizeof(p), "%s/cap.pcap2", dir); make_pcap(p, 200, FILE_SIZE, 0xa1b23c4du, 1);
	snprintf(p, sizeof(p), "%s/cap.pcap3", dir); make_pcap(p, 400, FILE_SIZE, 0xa1b2c3d4u, 1);
	snprintf(p, sizeof(p), "%s/cap.pcap4", dir); make_text(p, FILE_SIZE); /* not a pcap */
	snprintf(p, sizeof(p), "%s/cap.pcap5", dir); make_pcap(p, 1, FILE_SIZE, 0xa1b2c3d4u, 105);
	snprintf(p, sizeof(p), "%s/cap.pcap6", dir); make_pcap(p, 1, FILE_SIZE, 0xd4c3b2a1u, 1);
	snprintf(p, sizeof(p), "%s/cap.pcap01", dir); make_pcap(p, 1, FILE_SIZE, 0xa1b2c3d4u, 1);
	snprintf(p, sizeof(p), "%s/xcap.pcap", dir); make_pcap(p, 1, FILE_SIZE, 0xa1b2c3d4u, 1);
	snprintf(p, sizeof(p), "%s/cap.pcap7", dir); make_pcap(p, 500, FILE_SIZE, 0xa1b2c3d4u, 1);
	CHECK_EQ(retention_open(&r, &cfg), 0);
	retention_set_current(r, p, FILE_SIZE);      /* cap.pcap7 is this run's first file */
	snprintf(p, sizeof(p), "%s/cap.pcap", dir);
	pat = (struct retention_pattern){ .path = p, .numbered = true };
	CHECK_EQ(retention_adopt(r, &pat, &n), 0);
	CHECK_EQ(n, 5); /* cap.pcap, 1, 2, 3 and 5 (802.11: any link type) */
	CHECK_EQ(retention_enforce(r, 0), 0);
	/* 5 adopted + 4 (text) and 6 (its swapped magic meets a version in
	 * host order: the header lies), counted but kept, + current = 8 files
	 * for a limit of 6: the two oldest go (5, 1) */
	CHECK(!exists("cap.pcap5") && !exists("cap.pcap1"), "the oldest by first packet stayed");
	CHECK(exists("cap.pcap") && exists("cap.pcap2") && exists("cap.pcap3") && exists("cap.pcap7"),
	      "a newer one went");
	CHECK(exists("cap.pcap4") && exists("cap.pcap6") && exists("cap.pcap01") && exists("xcap.pcap"),
	      "a file that is not ours was deleted");
	retention_close(r);
	clean_dir();

	/* -C -W 10: one digit exactly; -G: strftime shapes */
	cfg.max_total_bytes = 0;
	CHECK_EQ(retention_open(&r, &cfg), 0);
	snprintf(p, sizeof(p), "%s/ring.pcap3", dir);  make_pcap(p, 1, FILE_SIZE, 0xa1b2c3d4u, 1);
	snprintf(p, sizeof(p), "%s/ring.pcap12", dir); make_pcap(p, 1, FILE_SIZE, 0xa1b2c3d4u, 1);
	snprintf(p, sizeof(p), "%s/ring.pcap", dir);   make_pcap(p, 1, FILE_SIZE, 0xa1b2c3d4u, 1);
	pat = (struct retention_pattern){ .path = p, .numbered = true, .max_files = 10 };
	CHECK_EQ(retention_adopt(r, &pat, &n), 0);
	CHECK_EQ(n, 1);
	snprintf(p, sizeof(p), "%s/g-20261201-101500.pcap", dir); make_pcap(p, 1, FILE_SIZE, 0xa1b2c3d4u, 1);
	snprintf(p, sizeof(p), "%s/g-2026-1201-101500.pcap", dir); make_pcap(p, 1, FILE_SIZE, 0xa1b2c3d4u, 1);
	snprintf(p, sizeof(p), "%s/g-20261201-101500.pcap.zst", dir); make_pcap(p, 1, FILE_SIZE, 0xa1b2c3d4u, 1);
	snprintf(p, sizeof(p), "%s/g-%%Y%%m%%d-%%H%%M%%S.pcap", dir);
	pat = (struct retention_pattern){ .path = p, .strftime = true };
	CHECK_EQ(retention_adopt(r, &pat, &n), 0);
	CHECK_EQ(n, 1);
	snprintf(p, sizeof(p), "%s/%%Y/g.pcap", dir);
	CHECK_EQ(retention_adopt(r, &pat, &n), (unsigned long long)-EOPNOTSUPP);
	snprintf(p, sizeof(p), "%s/g-%%q.pcap", dir);
	CHECK_EQ(retention_adopt(r, &pat, &n), (unsigned long long)-EINVAL);
	retention_close(r);
	clean_dir();
}

/* Files of every link type and timestamp precision the writer makes are
 * counted and deleted, whether the writer closed them or an earlier run left
 * them; a file under a capture's name that is not a capture file (or whose
 * header lies) stays, counted by its size. */
static void test_link_types(void)
{
	static const struct { const char *name; uint32_t magic, link; } kinds[] = {
		{ "raw", 0xa1b2c3d4u, 101 },      /* LINKTYPE_RAW: a tun device */
		{ "sll", 0xa1b23c4du, 113 },      /* LINKTYPE_LINUX_SLL, nanoseconds */
		{ "sll2", 0xa1b2c3d4u, 276 },     /* LINKTYPE_LINUX_SLL2 */
		{ "null", 0xa1b23c4du, 0 },       /* LINKTYPE_NULL */
	};
	struct retention_config cfg = {
		.dir = dir, .max_total_bytes = 3 * FILE_SIZE, .space = fake_space, .space_ctx = dir,
	};
	struct retention_pattern pat;
	struct retention_counters c;
	struct retention *r;
	char p[600];
	unsigned n;

	/* closed by the writer, one after the other, on a tun device */
	CHECK_EQ(retention_open(&r, &cfg), 0);
	for (unsigned i = 0; i < 12; i++) {
		snprintf(p, sizeof(p), "%s/t%02u", dir, i);
		make_pcap(p, 1000 + i, FILE_SIZE, kinds[i % 4].magic, kinds[i % 4].link);
		retention_set_current(r, p, FILE_SIZE);
		CHECK_EQ(retention_enforce(r, 0), 0);
		retention_counters(r, &c);
		CHECK(c.bytes_kept + FILE_SIZE <= cfg.max_total_bytes, "%s: %llu bytes over the limit",
		      kinds[i % 4].name, (unsigned long long)c.bytes_kept + FILE_SIZE);
		CHECK_EQ(retention_add_closed(r, p, FILE_SIZE, (1000ull + i) * 1000000000ull), 0);
	}
	retention_counters(r, &c);
	CHECK_EQ(c.files_deleted, 9);
	CHECK_EQ(c.files_kept, 3);
	CHECK(!exists("t08") && exists("t09") && exists("t10") && exists("t11"), "not the newest kept");

	/* one the writer closed that is no capture file now (same inode): it stays, counted */
	snprintf(p, sizeof(p), "%s/t12", dir);
	make_text(p, FILE_SIZE);
	CHECK_EQ(retention_add_closed(r, p, FILE_SIZE, 500ull * 1000000000ull), 0); /* oldest */
	snprintf(p, sizeof(p), "%s/t13", dir);
	make_pcap(p, 2001, FILE_SIZE, 0xa1b2c3d4u, 101);
	CHECK_EQ(retention_add_closed(r, p, FILE_SIZE, 2001ull * 1000000000ull), 0);
	CHECK_EQ(retention_enforce(r, 0), 0);
	retention_counters(r, &c);
	CHECK(exists("t11") && exists("t12") && exists("t13") && !exists("t09") && !exists("t10"),
	      "t12 deleted or an older capture file kept");
	CHECK_EQ(c.files_kept, 3);                /* t12, t11, t13 */
	CHECK_EQ(c.files_deleted, 11);
	CHECK_EQ(c.bytes_kept, 3 * FILE_SIZE);
	retention_close(r);
	clean_dir();

	/* left by an earlier run: adopted, ordered by first packet, deleted */
	cfg.max_total_bytes = 4 * FILE_SIZE;
	for (unsigned i = 0; i < 4; i++) {
		snprintf(p, sizeof(p), "%s/tun.pcap%u", dir, i + 1);
		make_pcap(p, 100 - i, FILE_SIZE, kinds[i].magic, kinds[i].link);
	}
	snprintf(p, sizeof(p), "%s/tun.pcap5", dir);
	make_text(p, 10);                         /* shorter than a pcap header */
	snprintf(p, sizeof(p), "%s/tun.pcap6", dir);
	make_text(p, FILE_SIZE);                  /* not a capture file */
	snprintf(p, sizeof(p), "%s/tun.pcap", dir);
	make_pcap(p, 200, FILE_SIZE, 0xa1b2c3d4u, 101);
	CHECK_EQ(retention_open(&r, &cfg), 0);
	retention_set_current(r, p, FILE_SIZE);
	pat = (struct retention_pattern){ .path = p, .numbered = true };
	CHECK_EQ(retention_adopt(r, &pat, &n), 0);
	CHECK_EQ(n, 4);
	retention_counters(r, &c);
	CHECK_EQ(c.files_kept, 6);
	CHECK_EQ(c.bytes_kept, 5 * FILE_SIZE + 10);
	/* 4 adopted + 2 kept + current for 4: the three oldest (4, 3, 2) go */
	CHECK_EQ(retention_enforce(r, 0), 0);
	CHECK(!exists("tun.pcap4") && !exists("tun.pcap3") && !exists("tun.pcap2"), "an old one stayed");
	CHECK(exists("tun.pcap1") && exists("tun.pcap5") && exists("tun.pcap6") && exists("tun.pcap"),
	      "a newer one or one that is not a capture file went");
	retention_counters(r, &c);
	CHECK_EQ(c.files_deleted, 3);
	CHECK_EQ(c.bytes_kept, 2 * FILE_SIZE + 10);
	retention_close(r);
	clean_dir();
}

/* One zstd frame of buf[0, len) at `path`, as the writer's --compress makes. */
static void write_zstd(const char *path, const void *buf, size_t len)
{
	static char out[1 << 20];
	size_t z = ZSTD_compress(out, sizeof(out), buf, len, 1);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	if (ZSTD_isError(z) || fd < 0 || write(fd, out, z) != (ssize_t)z) {
		perror(path);
		exit(1);
	}
	close(fd);
}

/* A pcap of one record at `sec`, padded with bytes zstd cannot shrink to
 * about `size`, compressed. */
static void make_zpcap(const char *path, uint32_t sec, size_t size)
{
	static uint8_t buf[1 << 19];
	const uint32_t h[10] = { 0xa1b2c3d4u, 2u | 4u << 16, 0, 0, 65535, 1, sec, 0, 0, 0 };
	uint32_t x = sec;

	memcpy(buf, h, sizeof(h));
	for (size_t i = sizeof(h); i < size && i < sizeof(buf); i++) {
		x = x * 1103515245u + 12345u;
		buf[i] = (uint8_t)(x >> 16);
	}
	write_zstd(path, buf, size < sizeof(buf) ? size : sizeof(buf));
}

/* The writer's compressed files, closed one after the other: each is a
 * capture file once decompressed, so the oldest go with their indexes; a
 * .zst of anything else, or torn after the magic, stays, counted. */
static void test_compressed(void)
{
	struct retention_config cfg = {
		.dir = dir, .max_total_bytes = 3 * FILE_SIZE, .space = fake_space, .space_ctx = dir,
		.sibling = hidden_index,
	};
	struct retention_counters c;
	struct retention *r;
	char p[600], z[620];

	CHECK_EQ(retention_open(&r, &cfg), 0);
	snprintf(z, sizeof(z), "%s/t.pcap.zst", dir);
	write_zstd(z, "not a capture file", 18);
	CHECK_EQ(retention_add_closed(r, z, 30, 1ull * 1000000000ull), 0);
	snprintf(z, sizeof(z), "%s/t.pcap1.zst", dir);
	make_text(z, 100);
	memcpy(p, "\x28\xb5\x2f\xfd", 4);        /* the magic, then nonsense */
	{
		int fd = open(z, O_WRONLY);

		CHECK(fd >= 0 && pwrite(fd, p, 4, 0) == 4, "magic");
		close(fd);
	}
	CHECK_EQ(retention_add_closed(r, z, 100, 2ull * 1000000000ull), 0);
	for (unsigned i = 2; i < 8; i++) {
		snprintf(z, sizeof(z), "%s/t.pcap%u.zst", dir, i);
		make_zpcap(z, 1000 + i, FILE_SIZE);
		snprintf(p, sizeof(p), "%s/.t.pcap%u.zst.ridx", dir, i);
		make_text(p, 10);
		CHECK_EQ(retention_add_closed(r, z, FILE_SIZE, (1000ull + i) * 1000000000ull), 0);
	}
	/* two of the six fit under three files beside the two kept for ever */
	CHECK_EQ(retention_enforce(r, 0), 0);
	retention_counters(r, &c);
	CHECK(exists("t.pcap.zst") && exists("t.pcap1.zst"), "a .zst that is no capture went");
	CHECK(!exists("t.pcap5.zst") && !exists(".t.pcap5.zst.ridx") && !exists("t.pcap2.zst"),
	      "an old capture stayed");
	CHECK(exists("t.pcap6.zst") && exists("t.pcap7.zst") && exists(".t.pcap7.zst.ridx"),
	      "a newest one went");
	CHECK_EQ(c.files_deleted, 4);
	retention_close(r);
	clean_dir();
}

/* A file system that reports freed blocks late (here: never) must not make
 * retention delete more than what its own deletions already freed. */
static int frozen_space(void *ctx, uint64_t *avail, uint64_t *size)
{
	(void)ctx;
	*avail = 100 * FILE_SIZE;
	*size = CAPACITY * 1000;
	return 0;
}

static void test_late_free_space(void)
{
	struct retention_config cfg = {
		.dir = dir, .min_free_bytes = 102 * FILE_SIZE, .space = frozen_space,
	};
	struct retention *r;
	struct retention_counters c;
	char p[600];

	CHECK_EQ(retention_open(&r, &cfg), 0);
	for (unsigned i = 0; i < 5; i++) {
		snprintf(p, sizeof(p), "%s/late%u", dir, i);
		make_pcap(p, 10 + i, FILE_SIZE, 0xa1b2c3d4u, 1);
		CHECK_EQ(retention_add_closed(r, p, FILE_SIZE, (10ull + i) * 1000000000ull), 0);
	}
	CHECK_EQ(retention_enforce(r, 0), 0);
	retention_counters(r, &c);
	CHECK_EQ(c.files_deleted, 2);
	CHECK(!exists("late1") && exists("late2"), "not the two oldest");
	retention_close(r);
	clean_dir();
}

static bool jobs_in_use(void *ctx, const char *path)
{
	return jobs_busy(ctx, path);
}

/* With the real -z jobs as the in_use check: a file whose job is still
 * running survives a limit that wants it gone; files the jobs renamed away
 * (as `zstd --rm` does) drop out without being counted. */
static void test_with_jobs(void)
{
	struct retention_config cfg = {
		.dir = dir, .max_total_bytes = 2 * FILE_SIZE, .space = fake_space, .space_ctx = dir,
		.in_use = jobs_in_use,
	};
	struct retention_counters c;
	struct retention *r;
	struct jobs *j;
	char cmd[900], p[600], gate[620];

	/* j0 waits for its gate; the others are "compressed" away at once */
	snprintf(gate, sizeof(gate), "%s/gate", dir);
	snprintf(cmd, sizeof(cmd),
		 "f() { case \"$1\" in *j0) i=0; while [ ! -e %s ] && [ $i -lt 6000 ]; do "
		 "sleep 0.01; i=$((i+1)); done;; *j1|*j2) mv \"$1\" \"$1.zst\";; esac; }; f",
		 gate);
	CHECK_EQ(jobs_open(&j, cmd, 4), 0);
	cfg.in_use_ctx = j;
	CHECK_EQ(retention_open(&r, &cfg), 0);
	for (unsigned i = 0; i < 6; i++) {
		snprintf(p, sizeof(p), "%s/j%u", dir, i);
		make_pcap(p, 10 + i, FILE_SIZE, 0xa1b2c3d4u, 1);
		CHECK_EQ(retention_add_closed(r, p, FILE_SIZE, (10ull + i) * 1000000000ull), 0);
		if (i < 3)
			CHECK_EQ(jobs_submit(j, p), 0);
	}
	/* wait until j1 and j2 are renamed and only j0's job is left */
	for (int i = 0; i < 2000; i++) {
		struct jobs_counters jc;

		jobs_counters(j, &jc);
		if (jc.run == 2)
			break;
		usleep(5000);
	}
	snprintf(p, sizeof(p), "%s/j0", dir);
	CHECK(jobs_busy(j, p), "j0's job is not running");
	CHECK_EQ(retention_enforce(r, 0), 0);
	/* listed now: j0 (busy), j1 and j2 by their .zst, j3, j4, j5 = 6 files
	 * for a limit of 2: j1.zst, j2.zst, j3, j4 go, oldest first */
	CHECK(exists("j0") && exists("j5"), "a kept file is gone");
	CHECK(!exists("j1.zst") && !exists("j2.zst") && !exists("j3") && !exists("j4"),
	      "j1.zst/j2.zst/j3/j4 were not deleted");
	retention_counters(r, &c);
	CHECK_EQ(c.files_deleted, 4);
	write_file_empty(gate);
	for (int i = 0; i < 2000 && jobs_busy(j, p); i++)
		usleep(5000);
	CHECK(!jobs_busy(j, p), "j0's job did not end");
	/* j0's job is done: with one more file, j0 (the oldest) is the one to go */
	snprintf(p, sizeof(p), "%s/j6", dir);
	make_pcap(p, 16, FILE_SIZE, 0xa1b2c3d4u, 1);
	CHECK_EQ(retention_add_closed(r, p, FILE_SIZE, 16ull * 1000000000ull), 0);
	CHECK_EQ(retention_enforce(r, 0), 0);
	CHECK(!exists("j0") && exists("j5") && exists("j6"), "j0 stayed after its job ended");
	/* retention calls jobs_busy: it goes first */
	retention_close(r);
	CHECK_EQ(jobs_close(j, 30000, NULL), 0);
	clean_dir();
}

/* -z products: FILE.zst, FILE.gz and the indexes beside them count with FILE
 * and go with it; a link named like a product is neither followed nor
 * deleted; a file whose -z is busy keeps its products; what is left of a file
 * after `zstd --rm` counts and goes in its turn; at start-up such orphans of
 * an earlier run are adopted. */
static void test_products(void)
{
	struct retention_config cfg = {
		.dir = dir, .max_total_bytes = 100 * FILE_SIZE, .space = fake_space, .space_ctx = dir,
		.in_use = fake_busy,
	};
	struct retention_counters c;
	struct retention *r;
	char p[8][600] = { { 0 } }, q[700], outside[] = "/tmp/ringcap-retention-out.XXXXXX";
	int ofd = mkstemp(outside);

	CHECK(ofd >= 0, "mkstemp");
	if (ofd >= 0)
		close(ofd);
	CHECK_EQ(retention_open(&r, &cfg), 0);
	for (unsigned i = 0; i < 4; i++) {
		snprintf(p[i], sizeof(p[i]), "%s/t-1%u.pcap", dir, i);
		make_pcap(p[i], 10 + i, FILE_SIZE, 0xa1b2c3d4u, 1);
		CHECK_EQ(retention_add_closed(r, p[i], FILE_SIZE, (10ull + i) * 1000000000ull), 0);
	}
	/* t-0: FILE, FILE.zst, FILE.gz, .FILE.ridx, .FILE.zst.ridx, and a link */
	snprintf(q, sizeof(q), "%s.zst", p[0]);
	make_text(q, 1000);
	snprintf(q, sizeof(q), "%s.gz", p[0]);
	make_text(q, 2000);
	snprintf(q, sizeof(q), "%s/.t-10.pcap.ridx", dir);
	make_text(q, 300);
	snprintf(q, sizeof(q), "%s/.t-10.pcap.zst.ridx", dir);
	make_text(q, 400);
	snprintf(q, sizeof(q), "%s.lnk", p[0]);
	CHECK_EQ(symlink(outside, q), 0);
	/* t-1: `zstd --rm` ran: only t-1.pcap.zst is left */
	snprintf(q, sizeof(q), "%s.zst", p[1]);
	make_text(q, 5000);
	unlink(p[1]);
	/* t-2: its -z is still running: t-2.pcap.zst is being written */
	snprintf(q, sizeof(q), "%s.zst", p[2]);
	make_text(q, 700);
	busy_path = p[2];
	/* not products: another name, a longer suffix than any compressor's */
	snprintf(p[4], sizeof(p[4]), "%s/t-14.pcap", dir);
	make_text(p[4], 10); /* a capture name, not a capture file: counted, kept */
	snprintf(q, sizeof(q), "%s.averyveryverylongsuffix", p[3]);
	make_text(q, 10);

	/* t-15: `zstd --rm` was done before the writer's close reached us */
	snprintf(p[5], sizeof(p[5]), "%s/t-15.pcap", dir);
	snprintf(q, sizeof(q), "%s.zst", p[5]);
	make_text(q, 900);
	CHECK_EQ(retention_add_closed(r, p[5], FILE_SIZE, 0), (unsigned long long)-ENOENT);

	CHECK_EQ(retention_enforce(r, 0), 0);
	retention_counters(r, &c);
	CHECK_EQ(c.files_kept, 5);
	CHECK_EQ(c.bytes_kept, 3 * FILE_SIZE + 1000 + 2000 + 300 + 400 + 5000 + 700 + 900);
	unlink(q);

	/* room for t-3 and a bit: t-0 (with all of its products), t-1's
	 * product go; t-2 is busy and stays with its product */
	retention_close(r);
	cfg.max_total_bytes = 2 * FILE_SIZE + 800;
	CHECK_EQ(retention_open(&r, &cfg), 0);
	/* as at start-up: t-11.pcap is gone, its .zst of the earlier run is
	 * adopted by its name, in the order of its mtime */
	snprintf(q, sizeof(q), "%s.zst", p[1]);
	CHECK_EQ(utimes(q, (struct timeval[2]){ { 11, 0 }, { 11, 0 } }), 0);
	{
		char pat[620];
		unsigned n = 9;

		snprintf(pat, sizeof(pat), "%s/t-%%S.pcap", dir);
		CHECK_EQ(retention_adopt(r, &(struct retention_pattern){ .path = pat, .strftime = true }, &n), 0);
		CHECK_EQ(n, 3); /* t-10, t-12, t-13 (t-14.pcap is not a capture file) */
	}
	CHECK_EQ(retention_enforce(r, 0), 0);
	CHECK(!exists("t-10.pcap") && !exists("t-10.pcap.zst") && !exists("t-10.pcap.gz") &&
	      !exists(".t-10.pcap.ridx") && !exists(".t-10.pcap.zst.ridx"), "t-0's products stayed");
	CHECK(!exists("t-11.pcap.zst"), "the orphan t-1.pcap.zst was not deleted");
	CHECK(exists("t-12.pcap") && exists("t-12.pcap.zst"), "a busy file or its product was deleted");
	CHECK(exists("t-13.pcap") && exists("t-13.pcap.averyveryverylongsuffix"), "t-3 went");
	{
		struct stat st;

		snprintf(q, sizeof(q), "%s.lnk", p[0]);
		CHECK(lstat(q, &st) == 0 && S_ISLNK(st.st_mode), "the link was deleted");
		CHECK(access(outside, F_OK) == 0, "the link's target was deleted");
	}
	retention_counters(r, &c);
	CHECK_EQ(c.files_deleted, 2);
	CHECK_EQ(c.bytes_deleted, FILE_SIZE + 1000 + 2000 + 300 + 400 + 5000);
	busy_path = NULL;
	retention_close(r);
	unlink(outside);
	clean_dir();
}

int main(void)
{
	if (!mkdtemp(dir))
		return 1;
	test_min_free_many_files();
	test_max_total_and_percent();
	test_busy_vanished_siblings_current();
	test_adopt();
	test_link_types();
	test_late_free_space();
	test_with_jobs();
	test_products();
	test_compressed();
	rmdir(dir);
	return unit_exit("test_retention");
}
