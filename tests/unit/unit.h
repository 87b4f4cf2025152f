/*
 * Tiny shared helpers for the unit tests. A failed CHECK prints file:line, the
 * expression and a message, marks the test failed and goes on, so one run
 * shows every broken expectation. Exit with unit_exit(): 0 pass, 1 fail (77,
 * skip, is each test's own decision). unit_in_child() runs a case in a forked
 * child; unit_rnd() is the tests' one deterministic generator;
 * unit_read_whole() reads a file whole;
 * unit_v3_block() lays out a TPACKET_V3 block the way the kernel does;
 * unit_guarded_*() put bytes right before a PROT_NONE page.
 */
#ifndef RINGCAP_TESTS_UNIT_H
#define RINGCAP_TESTS_UNIT_H

#include <fcntl.h>
#include <linux/if_packet.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static int unit_failures;

#define CHECK(cond, ...)                                                        \
	do {                                                                    \
		if (!(cond)) {                                                  \
			fprintf(stderr, "%s:%d: CHECK(%s) failed: ", __FILE__,  \
				__LINE__, #cond);                               \
			fprintf(stderr, __VA_ARGS__);                           \
			fputc('\n', stderr);                                    \
			unit_failures++;                                        \
		}                                                               \
	} while (0)

/* Integers compared as unsigned long long, both values printed. */
#define CHECK_EQ(a, b)                                                          \
	CHECK((unsigned long long)(a) == (unsigned long long)(b),               \
	      "%s = %llu (0x%llx), %s = %llu (0x%llx)", #a,                    \
	      (unsigned long long)(a), (unsigned long long)(a), #b,             \
	      (unsigned long long)(b), (unsigned long long)(b))

/*
 * Run fn(arg) in a forked child, so that a crash or a process-wide setting
 * (a resource limit, a signal disposition) stays there. The child counts only
 * its own checks and exits with fn's result. A child that does not exit 0 is
 * one failed check here, naming `name`; `on_signal` says what a signal means
 * for this case. Returns true if the child passed.
 */
static inline bool unit_in_child(const char *name, int (*fn)(const void *arg), const void *arg,
				 const char *on_signal)
{
	pid_t pid;
	int st;

	fflush(stderr);
	pid = fork();
	if (pid < 0) {
		perror("fork");
		exit(1);
	}
	if (pid == 0) {
		unit_failures = 0; /* count only this child's checks */
		_exit(fn(arg));
	}
	if (waitpid(pid, &st, 0) != pid) {
		perror("waitpid");
		exit(1);
	}
	if (WIFSIGNALED(st)) {
		CHECK(0, "%s: killed by signal %d (%s)", name, WTERMSIG(st), on_signal);
		return false;
	}
	CHECK(WEXITSTATUS(st) == 0, "%s: child exited with %d (see above)", name,
	      WEXITSTATUS(st));
	return WEXITSTATUS(st) == 0;
}

/* The whole file at path, malloc'd (NULL when it cannot be opened; a short
 * read is a failed check); its length in *size. */
static inline uint8_t *unit_read_whole(const char *path, size_t *size)
{
	struct stat st;
	uint8_t *buf;
	ssize_t r;
	int fd = open(path, O_RDONLY);

	if (fd < 0 || fstat(fd, &st)) {
		*size = 0;
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	buf = malloc((size_t)st.st_size + 1);
	r = buf ? read(fd, buf, (size_t)st.st_size) : -1;
	close(fd);
	*size = r < 0 ? 0 : (size_t)r;
	CHECK(r == st.st_size, "%s: short read", path);
	return buf;
}

/* xorshift64*: the same sequence for the same seed on every run. */
static inline uint64_t unit_rnd(uint64_t *state)
{
	uint64_t x = *state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545f4914f6cdd1dull;
}

/* A TPACKET_V3 block as af_packet.c lays it out: `n` packets of `caplen`
 * bytes, packet i stamped ts_ns[i] (NULL: 0), its first data byte i & 0xff.
 * Returns the block's length (blk_len). */
static inline uint32_t unit_v3_block(uint8_t *blk, uint32_t size, unsigned n, uint32_t caplen,
				     const uint64_t *ts_ns)
{
	struct tpacket_block_desc *d = (struct tpacket_block_desc *)blk;
	const uint32_t mac = TPACKET_ALIGN(TPACKET3_HDRLEN + 16) - 14;
	const uint32_t stride = (mac + caplen + 7) & ~7u;
	uint32_t off = 48;

	memset(blk, 0, size);
	d->version = TPACKET_V3;
	d->hdr.bh1.block_status = TP_STATUS_USER;
	d->hdr.bh1.num_pkts = n;
	d->hdr.bh1.offset_to_first_pkt = off;
	for (unsigned i = 0; i < n; i++) {
		struct tpacket3_hdr *h = (struct tpacket3_hdr *)(blk + off);

		h->tp_mac = (uint16_t)mac;
		h->tp_snaplen = caplen;
		h->tp_len = caplen;
		h->tp_sec = ts_ns ? (uint32_t)(ts_ns[i] / 1000000000u) : 0;
		h->tp_nsec = ts_ns ? (uint32_t)(ts_ns[i] % 1000000000u) : 0;
		h->tp_next_offset = i + 1 < n ? stride : 0;
		blk[off + mac] = (uint8_t)i;
		off += stride;
	}
	d->hdr.bh1.blk_len = off;
	return off;
}

/* A buffer whose last byte is the last before a PROT_NONE page: a parser
 * that reads past `len` bytes put there faults. `pages` pages of room. */
struct unit_guarded {
	uint8_t *map;
	size_t room, maplen;
};

static inline void unit_guarded_open(struct unit_guarded *g, unsigned pages)
{
	long page = sysconf(_SC_PAGESIZE);

	g->room = pages * (size_t)page;
	g->maplen = g->room + (size_t)page;
	g->map = mmap(NULL, g->maplen, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (g->map == MAP_FAILED || mprotect(g->map + g->room, (size_t)page, PROT_NONE)) {
		perror("mmap");
		exit(1);
	}
}

static inline const uint8_t *unit_guarded_put(struct unit_guarded *g, const uint8_t *b, size_t len)
{
	uint8_t *at = g->map + g->room - len;

	memcpy(at, b, len);
	return at;
}

/* The bytes a capture file must hold for a ring packet of `caplen` bytes with
 * (vlan) or without its 802.1Q tag stripped by the device, written out by
 * hand (the test oracle, not the writer's code): the tag put back after the
 * MAC addresses. frame has room for caplen + 4; returns its length, and the
 * wire length in *len. */
static inline uint32_t unit_frame_with_tag(const uint8_t *data, uint32_t caplen, uint32_t wire,
					   bool vlan, uint16_t tpid, uint16_t tci, uint8_t *frame,
					   uint32_t *len)
{
	*len = wire;
	if (!vlan) {
		memcpy(frame, data, caplen);
		return caplen;
	}
	memcpy(frame, data, 12);
	frame[12] = (uint8_t)(tpid >> 8);
	frame[13] = (uint8_t)tpid;
	frame[14] = (uint8_t)(tci >> 8);
	frame[15] = (uint8_t)tci;
	memcpy(frame + 16, data + 12, caplen - 12);
	*len += 4;
	return caplen + 4;
}

/* A scratch folder for a test's files, NAME.XXXXXX under /var/tmp (a disk
 * file system, where O_DIRECT applies) or else /tmp, its path in dir. Exits 1
 * when neither can be made. */
static inline void unit_tmpdir(char dir[64], const char *name)
{
	snprintf(dir, 64, "/var/tmp/%s.XXXXXX", name);
	if (mkdtemp(dir))
		return;
	snprintf(dir, 64, "/tmp/%s.XXXXXX", name);
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		exit(1);
	}
}

static inline int unit_exit(const char *name)
{
	if (unit_failures) {
		fprintf(stderr, "%s: %d check(s) failed\n", name, unit_failures);
		return 1;
	}
	fprintf(stderr, "%s: ok\n", name);
	return 0;
}

#endif
