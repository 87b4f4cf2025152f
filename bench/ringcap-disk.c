/*
 * ringcap-disk — how fast can this directory's file system take a sequential
 * write, the way ringcap's writer does it? The bench prints this as the "disk
 * line" beside the capture-to-file figures, so they read as a fraction of what
 * the disk can take at all.
 *
 *   ringcap-disk [-n MIB] [--qd N] [--seconds S] DIR
 *
 * Method: a new file in DIR opened with O_DIRECT and unlinked at once (nothing
 * is left behind even if we are killed), fallocate'd to its full size (without
 * it ext4 punts every extending write to a kernel worker), then MIB sequential
 * writes of 1 MiB from page-aligned, pre-touched buffers registered with
 * io_uring (write_fixed), --qd of them in flight (8..32, default 16). Short
 * writes are resubmitted for the rest. Then fsync. The clock runs from the
 * first submission to the end of fsync.
 *
 * Output: one JSON line on stdout:
 *   {"path":..,"bytes":..,"seconds":..,"gbytes_per_s":..,"qd":..,"complete":true}
 * gbytes_per_s is 10^9 bytes per second. "complete":false when --seconds (default
 * 60) ran out first; the figure then covers what was written.
 * Exit status: 0 measured, 1 the file system refused (no O_DIRECT, I/O error), 2
 * bad arguments.
 */
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/opt.h"
#include "util/util.h"

#define CHUNK   (1u << 20)
#define QD_MIN  8
#define QD_MAX  32

struct disk_opts {
	const char *dir;
	uint64_t mib;
	unsigned qd;
	uint64_t limit_ns;
};

/* One buffer and the write it is doing. */
struct slot {
	uint8_t *buf;
	uint64_t off;      /* file offset of buf[0] */
	uint32_t done;     /* bytes of this chunk already written */
	bool busy;
};

struct disk {
	struct io_uring ring;
	bool ring_up;
	int fd;
	struct slot slots[QD_MAX];
	unsigned qd;
	uint64_t total, next_off, written;
	unsigned inflight;
};

static int queue_write(struct disk *d, unsigned i)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&d->ring);
	struct slot *s = &d->slots[i];

	if (!sqe)
		return -EBUSY;
	io_uring_prep_write_fixed(sqe, d->fd, s->buf + s->done, CHUNK - s->done, s->off + s->done,
				  (int)i);
	io_uring_sqe_set_data64(sqe, i);
	s->busy = true;
	d->inflight++;
	return 0;
}

/* Give free slots the next chunks of the file; 0 or -errno. */
static int fill(struct disk *d, bool more)
{
	for (unsigned i = 0; i < d->qd && more && d->next_off < d->total; i++) {
		struct slot *s = &d->slots[i];
		int ret;

		if (s->busy)
			continue;
		s->off = d->next_off;
		s->done = 0;
		d->next_off += CHUNK;
		if ((ret = queue_write(d, i)))
			return ret;
	}
	return 0;
}

/* Wait for at least one completion and handle all that are there. */
static int reap(struct disk *d)
{
	struct io_uring_cqe *cqe;
	unsigned seen = 0, head;
	int ret = io_uring_wait_cqe(&d->ring, &cqe);

	if (ret)
		return ret;
	io_uring_for_each_cqe(&d->ring, head, cqe) {
		unsigned i = (unsigned)io_uring_cqe_get_data64(cqe);
		struct slot *s = &d->slots[i];

		seen++;
		d->inflight--;
		s->busy = false;
		if (cqe->res < 0) {
			ret = cqe->res;
			continue;
		}
		if (cqe->res == 0) {
			ret = -EIO;
			continue;
		}
		d->written += (uint64_t)cqe->res;
		s->done += (uint32_t)cqe->res;
		if (s->done < CHUNK && !ret)
			ret = queue_write(d, i); /* short write: the rest, same slot */
	}
	io_uring_cq_advance(&d->ring, seen);
	return ret;
}

static int disk_open(struct disk *d, const struct disk_opts *o, char *path, size_t pathlen)
{
	struct iovec iov[QD_MAX];
	int ret;

	snprintf(path, pathlen, "%s/.ringcap-disk.%d.tmp", o->dir, (int)getpid());
	d->fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_DIRECT | O_CLOEXEC, 0600);
	if (d->fd < 0) {
		ret = -errno;
		log_err("open %s (O_DIRECT): %s", path, strerror(errno));
		return ret;
	}
	unlink(path);
	if (fallocate(d->fd, 0, 0, (off_t)d->total) < 0) {
		if (errno == ENOSPC) {
			log_err("fallocate %llu MiB in %s: %s", (unsigned long long)o->mib, o->dir,
				strerror(errno));
			return -ENOSPC;
		}
		log_warn("fallocate in %s: %s; writing without it", o->dir, strerror(errno));
	}
	for (unsigned i = 0; i < d->qd; i++) {
		/* pre-faulted: first touch of fresh memory is slow here */
		d->slots[i].buf = pages_alloc(CHUNK);
		if (!d->slots[i].buf) {
			log_err("out of memory for %u MiB of buffers", d->qd);
			return -ENOMEM;
		}
		memset(d->slots[i].buf, 0x5a ^ (int)i, CHUNK);
		iov[i].iov_base = d->slots[i].buf;
		iov[i].iov_len = CHUNK;
	}
	if ((ret = io_uring_queue_init(d->qd * 2, &d->ring, 0))) {
		log_err("io_uring_queue_init: %s", strerror(-ret));
		return ret;
	}
	d->ring_up = true;
	if ((ret = io_uring_register_buffers(&d->ring, iov, d->qd))) {
		log_err("io_uring_register_buffers (%u MiB): %s", d->qd, strerror(-ret));
		return ret;
	}
	return 0;
}

static void disk_close(struct disk *d)
{
	if (d->ring_up)
		io_uring_queue_exit(&d->ring);
	d->ring_up = false;
	for (unsigned i = 0; i < d->qd; i++) {
		pages_free(d->slots[i].buf, CHUNK);
		d->slots[i].buf = NULL;
	}
	if (d->fd >= 0)
		close(d->fd);
	d->fd = -1;
}

static void parse_args(int argc, char **argv, struct disk_opts *o)
{
	const struct opt table[] = {
		{ .name = "mib", .letter = 'n', .type = OPT_U64, OPT_INT(&o->mib), .min = 1,
		  .max = 1u << 20, .what = "size", .why = "expected 1..1048576 MiB", .arg = "MIB",
		  .help = "MiB to write (default 2048)" },
		{ .name = "qd", .type = OPT_U64, OPT_INT(&o->qd), .min = QD_MIN, .max = QD_MAX,
		  .what = "queue depth", .why = "expected 8..32", .arg = "N",
		  .help = "writes in flight, 8..32 (default 16)" },
		{ .name = "seconds", .type = OPT_DURATION, .field = &o->limit_ns,
		  .max = 3600ull * 1000000000ull, .what = "duration",
		  .why = "expected 0 < S <= 3600 seconds", .arg = "S",
		  .help = "stop early after S seconds (default 60)" },
	};
	const struct opt_prog prog = {
		.synopsis = "usage: ringcap-disk [-n MIB] [--qd N] [--seconds S] DIR\n"
			    "Raw sequential write speed of DIR's file system: O_DIRECT, fallocate, io_uring\n"
			    "with 1 MiB registered buffers, then fsync; the file is deleted.\n",
		.epilogue = "example: ringcap-disk -n 4096 /var/tmp\n",
		.opts = table, .nopts = ARRAY_SIZE(table),
	};
	struct stat st;
	int rest;

	*o = (struct disk_opts){ .mib = 2048, .qd = 16, .limit_ns = 60ull * 1000000000ull };
	rest = opt_parse_or_exit(&prog, argc, argv);
	if (rest != argc - 1)
		die(2, "expected one directory after the options (see --help)");
	o->dir = argv[rest];
	if (stat(o->dir, &st) || !S_ISDIR(st.st_mode))
		opt_die("directory", o->dir, "not a directory");
}

int main(int argc, char **argv)
{
	struct disk_opts o;
	struct disk d = { .fd = -1 };
	char path[PATH_MAX + 64];
	uint64_t t0, t1;
	bool complete = true;
	int ret, submitted;
	double secs;

	log_set_program("ringcap-disk");
	parse_args(argc, argv, &o);
	d.qd = o.qd;
	d.total = o.mib * CHUNK;
	if ((ret = disk_open(&d, &o, path, sizeof(path))))
		goto out;

	t0 = now_ns();
	/* Bounded: at most total/CHUNK chunks plus resubmitted short tails, and we
	 * stop filling when the deadline passes. */
	while (d.written < d.total) {
		bool more = now_ns() - t0 < o.limit_ns;

		if (!more)
			complete = false;
		if ((ret = fill(&d, more)))
			break;
		if (!d.inflight)
			break;
		submitted = io_uring_submit(&d.ring);
		if (submitted < 0) {
			ret = submitted;
			break;
		}
		if ((ret = reap(&d)))
			break;
	}
	while (d.inflight && !ret) /* drain after an error or the deadline */
		ret = reap(&d);
	if (ret) {
		log_err("writing %s: %s", o.dir, strerror(-ret));
		goto out;
	}
	if (fsync(d.fd) < 0) {
		ret = -errno;
		log_err("fsync in %s: %s", o.dir, strerror(errno));
		goto out;
	}
	t1 = now_ns();
	secs = (double)(t1 - t0) / 1e9;
	printf("{\"path\":");
	json_put_string(stdout, o.dir);
	printf(",\"bytes\":%llu,\"seconds\":%.6f,\"gbytes_per_s\":%.4f,\"qd\":%u,"
	       "\"complete\":%s}\n",
	       (unsigned long long)d.written, secs, (double)d.written / secs / 1e9, d.qd,
	       complete ? "true" : "false");
out:
	disk_close(&d);
	return ret ? 1 : 0;
}
