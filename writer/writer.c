/*
 * The shared staging stream; see writer.h for the design. Locking:
 *   w->lock     reservations (once per block per worker), rotation, slot
 *               release, errors;
 *   slot.filled atomics count the bytes copied into each slot without a lock;
 *   w->sq_lock  the backend's submission side.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "writer/writer_impl.h"

#define PREFETCH_AHEAD 4

static int map_area(struct writer *w)
{
	size_t len = (size_t)w->cfg.chunk_size * w->cfg.nchunks;
	uint8_t *base;
	int fd, ret = 0;

	/* The staging ring is mapped twice back to back, so a record that runs
	 * past the last slot simply continues into the first one. */
	fd = memfd_create("ringcap-staging", MFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)len) < 0) {
		ret = -errno;
		goto out_close;
	}
	base = mmap(NULL, 2 * len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (base == MAP_FAILED) {
		ret = -errno;
		goto out_close;
	}
	if (mmap(base, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED | MAP_POPULATE, fd, 0) ==
		    MAP_FAILED ||
	    mmap(base + len, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED | MAP_POPULATE, fd,
		 0) == MAP_FAILED) {
		ret = -errno;
		munmap(base, 2 * len);
		goto out_close;
	}
	w->area = base;
	w->area_len = len;
out_close:
	close(fd);
	return ret;
}

/* The name of file number `index`, the way tcpdump names them: -G expands
 * strftime conversions; -C/-W append the number (none on the first file
 * without -W; zero-padded to -W's width with it). */
static int file_name(const struct writer *w, unsigned index, char *out, size_t len)
{
	const struct writer_config *c = &w->cfg;
	char base[PATH_MAX];
	int n;

	if (c->rotate_ns) {
		time_t now = time(NULL);
		struct tm tm;

		localtime_r(&now, &tm);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
		/* the user's -w name is the format, as with tcpdump -G */
		if (!strftime(base, sizeof(base), c->path, &tm))
			return -ENAMETOOLONG;
#pragma GCC diagnostic pop
	} else {
		snprintf(base, sizeof(base), "%s", c->path);
	}
	if (c->max_files && c->rotate_bytes) {
		unsigned width = 1;

		for (unsigned v = c->max_files - 1; v >= 10; v /= 10)
			width++;
		n = snprintf(out, len, "%s%0*u", base, (int)width, index % c->max_files);
	} else if (c->rotate_bytes && index) {
		n = snprintf(out, len, "%s%u", base, index);
	} else {
		n = snprintf(out, len, "%s", base);
	}
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* Create the next output file, starting at stream offset `base`. */
static int open_file(struct writer *w, uint64_t base, struct out_file **out)
{
	char path[PATH_MAX];
	struct out_file *f;
	struct stat st;
	int flags = O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC;
	int ret = file_name(w, w->files_opened, path, sizeof(path));

	if (ret)
		return ret;
	f = xcalloc(1, sizeof(*f) + strlen(path) + 1);
	strcpy(f->path, path);
	f->fd = -1;
	if (w->cfg.direct) {
		f->fd = open(path, flags | O_DIRECT, 0644);
		f->direct = f->fd >= 0;
	}
	if (f->fd < 0 && (!w->cfg.direct || errno == EINVAL))
		f->fd = open(path, flags, 0644);
	if (f->fd < 0) {
		ret = -errno;
		xfree(f);
		return ret;
	}
	if (fstat(f->fd, &st) == 0)
		f->regular = S_ISREG(st.st_mode);
	f->base = base;
	f->end = UINT64_MAX;
	f->opened_ns = now_ns();
	w->files_opened++;
	*out = f;
	return 0;
}

/* Truncate a finished file to its true size and close it. Returns 0 or -errno. */
static int finish_file(struct writer *w, struct out_file *f, uint64_t end, bool sync)
{
	int ret = 0;

	w->bytes_closed += end - f->base;
	if (f->regular && ftruncate(f->fd, (off_t)(end - f->base)) < 0)
		ret = -errno;
	if (sync && f->regular && fsync(f->fd) < 0 && !ret)
		ret = -errno;
	if (close(f->fd) < 0 && !ret)
		ret = -errno;
	return ret;
}

/* The file that chunk `chunk` belongs to. Under w->lock, or once the chunk is
 * full (its file's end is then fixed). */
static struct out_file *chunk_file(const struct writer *w, uint64_t chunk)
{
	uint64_t off = chunk * w->cfg.chunk_size;
	struct out_file *f = w->files;

	while (f->next && f->next->base <= off)
		f = f->next;
	return f;
}

/* After an error a file may end before its first chunk reached the disk: give
 * it its header with a plain write (O_DIRECT refuses 24 bytes). */
static void rewrite_header(const struct writer *w, const struct out_file *f)
{
	uint8_t hdr[PCAP_FILE_HEADER_LEN];
	int fd = open(f->path, O_WRONLY | O_CLOEXEC);

	if (fd < 0)
		return;
	pcap_file_header_encode(hdr, w->cfg.snaplen, w->cfg.nano);
	if (pwrite(fd, hdr, sizeof(hdr), 0) != (ssize_t)sizeof(hdr))
		log_warn("%s: cannot write its header: %s", f->path, strerror(errno));
	close(fd);
}

int writer_open(struct writer **out, const struct writer_config *cfg)
{
	struct writer *w = xcalloc(1, sizeof(*w));
	int ret;

	w->cfg = *cfg;
	pthread_mutex_init(&w->lock, NULL);
	pthread_mutex_init(&w->sq_lock, NULL);
	pthread_cond_init(&w->slot_free, NULL);

	ret = map_area(w);
	if (ret) {
		log_err("staging memory (%u x %u bytes): %s", cfg->nchunks, cfg->chunk_size,
			strerror(-ret));
		goto out_free;
	}
	w->slots = xcalloc(cfg->nchunks, sizeof(*w->slots));
	for (uint32_t i = 0; i < cfg->nchunks; i++)
		atomic_init(&w->slots[i].chunk, i);

	ret = open_file(w, 0, &w->files);
	if (ret) {
		log_err("cannot write %s: %s", cfg->path, strerror(-ret));
		goto out_unmap;
	}
	w->cur = w->files;

	w->ops = cfg->backend == WRITER_URING ? &writer_uring_ops : &writer_pwrite_ops;
	ret = w->ops->init(w);
	if (ret && w->ops == &writer_uring_ops) {
		log_warn("io_uring refused (%s); writing with pwrite", strerror(-ret));
		w->ops = &writer_pwrite_ops;
		ret = w->ops->init(w);
	}
	if (ret) {
		log_err("%s writer for %s: %s", w->ops->name, cfg->path, strerror(-ret));
		goto out_unlink;
	}

	pcap_file_header_encode(w->area, cfg->snaplen, cfg->nano);
	w->next_off = PCAP_FILE_HEADER_LEN;
	w->good_off = PCAP_FILE_HEADER_LEN;
	atomic_store(&w->slots[0].filled, PCAP_FILE_HEADER_LEN);
	*out = w;
	return 0;

out_unlink:
	close(w->files->fd);
	if (w->files->regular)
		unlink(w->files->path);
	xfree(w->files);
out_unmap:
	xfree(w->slots);
	munmap(w->area, 2 * w->area_len);
out_free:
	xfree(w);
	return ret;
}

bool writer_full(const struct writer *w)
{
	return atomic_load_explicit(&w->full, memory_order_relaxed);
}

/* Wait until the slot for `chunk` is ours to fill. Under w->lock. */
static int wait_slot(struct writer *w, uint64_t chunk)
{
	struct writer_slot *sl = &w->slots[chunk % w->cfg.nchunks];
	uint64_t t0;

	if (atomic_load_explicit(&sl->chunk, memory_order_acquire) == chunk)
		return 0;
	/* Every slot is full or in flight: the disk is behind. Counted, because
	 * while a worker waits here its ring fills and the kernel may drop. */
	t0 = now_ns();
	w->stalls++;
	while (atomic_load_explicit(&sl->chunk, memory_order_acquire) != chunk) {
		if (w->error)
			break;
		pthread_cond_wait(&w->slot_free, &w->lock);
	}
	w->stall_ns += now_ns() - t0;
	return atomic_load(&sl->chunk) == chunk ? 0 : w->error;
}

/* Write chunk `chunk`, whose bytes are all in its slot: a whole chunk, or the
 * last of a file, cut at the file's end. */
static void submit_slot(struct writer *w, uint64_t chunk)
{
	const uint64_t cs = w->cfg.chunk_size;
	uint32_t s = (uint32_t)(chunk % w->cfg.nchunks);
	struct writer_slot *sl = &w->slots[s];
	struct out_file *f;
	uint64_t len = cs;
	int ret;

	pthread_mutex_lock(&w->lock);
	f = chunk_file(w, chunk);
	pthread_mutex_unlock(&w->lock);
	if (f->end != UINT64_MAX && f->end - chunk * cs < cs)
		len = f->end - chunk * cs;
	sl->file = f;
	sl->wr_off = chunk * cs - f->base;
	/* O_DIRECT wants whole blocks; the tail past the data is cut at close. */
	sl->wr_len = (uint32_t)(f->direct ? ALIGN_UP(len, 4096u) : len);
	sl->wr_done = 0;
	ret = w->ops->submit(w, s);
	if (ret)
		writer_slot_done(w, s, ret);
}

/* Count bytes [off, off+len) as filled; submit every slot this completes. */
static void account_fill(struct writer *w, uint64_t off, uint64_t len)
{
	const uint64_t cs = w->cfg.chunk_size;

	while (len) {
		uint64_t chunk = off / cs;
		uint64_t part = cs - off % cs;
		struct writer_slot *sl = &w->slots[chunk % w->cfg.nchunks];

		if (part > len)
			part = len;
		if (atomic_fetch_add_explicit(&sl->filled, (uint32_t)part, memory_order_acq_rel) +
			    part == cs)
			submit_slot(w, chunk);
		off += part;
		len -= part;
	}
}

/* Should the block of `bytes` about to be reserved go to a new file? */
static bool want_rotation(struct writer *w, uint64_t bytes)
{
	const struct writer_config *c = &w->cfg;
	uint64_t size = w->next_off - w->cur->base;

	if (size <= PCAP_FILE_HEADER_LEN)
		return false; /* never leave a file with no record */
	if (c->rotate_bytes && size + bytes > c->rotate_bytes)
		return true;
	return c->rotate_ns && now_ns() - w->cur->opened_ns >= c->rotate_ns;
}

/* -G with -W (and no -C): the capture stops after W files, so once the W-th
 * is due to end there is no next one. Under w->lock. */
static bool last_file_done(const struct writer *w)
{
	const struct writer_config *c = &w->cfg;

	return c->rotate_ns && !c->rotate_bytes && c->max_files &&
	       w->files_opened >= c->max_files;
}

/* End the current file at next_off and open the next one on the following
 * chunk boundary, its header staged there. Under w->lock. The bytes from the
 * old end to the new header's end become part of the caller's range. Returns
 * 0 or -errno. */
static int rotate(struct writer *w)
{
	const uint64_t cs = w->cfg.chunk_size;
	uint64_t base = ALIGN_UP(w->next_off, cs);
	struct out_file *f;
	int ret;

	ret = open_file(w, base, &f);
	if (ret) {
		log_err("cannot write the next file after %s: %s", w->cur->path, strerror(-ret));
		return ret;
	}
	w->cur->end = w->next_off;
	w->cur->next = f;
	w->cur = f;
	w->next_off = base + PCAP_FILE_HEADER_LEN;
	return 0;
}

int writer_append(struct writer *w, const struct pkt_view *pkts, unsigned n)
{
	const uint32_t snap = w->cfg.snaplen;
	const uint64_t cs = w->cfg.chunk_size;
	uint64_t bytes = 0, start, off, end, pkts_at_end, hdr_off = 0;
	struct writer_slot *last;
	uint8_t *dst;
	int ret = 0;

	pthread_mutex_lock(&w->lock);
	if (w->error) {
		ret = w->error;
		goto out_unlock;
	}
	if (w->cfg.max_packets) {
		uint64_t room = w->cfg.max_packets - w->pkts_reserved;
		if (n >= room) {
			n = (unsigned)room;
			atomic_store(&w->full, true);
		}
	}
	for (unsigned i = 0; i < n; i++)
		bytes += PCAP_RECORD_HEADER_LEN + pcap_record_caplen(&pkts[i], snap);
	start = w->next_off;
	if (n && want_rotation(w, bytes)) {
		if (last_file_done(w)) {
			atomic_store(&w->full, true);
			goto out_unlock; /* returns 0: nothing more is taken */
		}
		ret = rotate(w);
		if (ret) {
			w->error = ret;
			pthread_cond_broadcast(&w->slot_free);
			goto out_unlock;
		}
		hdr_off = w->cur->base;
	}
	off = w->next_off;
	end = off + bytes;
	/* A range spanning more slots than exist could never be granted. */
	if (n && (end - 1) / cs - start / cs + 1 > w->cfg.nchunks) {
		ret = -EMSGSIZE;
		goto out_unlock;
	}
	w->next_off = end;
	w->pkts_reserved += n;
	pkts_at_end = w->pkts_reserved;
	/* The whole range, with any padding and new file header before it,
	 * must be ours before any byte is copied. */
	for (uint64_t c = start / cs; n && c <= (end - 1) / cs; c++) {
		ret = wait_slot(w, c);
		if (ret)
			goto out_unlock;
	}
	if (n) {
		last = &w->slots[((end - 1) / cs) % w->cfg.nchunks];
		if (end > last->bound_off) {
			last->bound_off = end;
			last->bound_pkts = pkts_at_end;
		}
	}
	pthread_mutex_unlock(&w->lock);

	if (hdr_off)
		pcap_file_header_encode(w->area + hdr_off % w->area_len, snap, w->cfg.nano);
	dst = w->area + off % w->area_len;
	for (unsigned i = 0; i < n; i++) {
		/* The packet bytes were written by another CPU: ask for them a
		 * few packets ahead so the copy does not wait on each miss. */
		if (i + PREFETCH_AHEAD < n) {
			__builtin_prefetch(pkts[i + PREFETCH_AHEAD].data);
			__builtin_prefetch(pkts[i + PREFETCH_AHEAD].data + 64);
		}
		dst += pcap_record_encode(dst, &pkts[i], snap, w->cfg.nano);
	}
	account_fill(w, start, end - start);
	return (int)n;

out_unlock:
	pthread_mutex_unlock(&w->lock);
	return ret;
}

/* Close the files whose every chunk is released. Under w->lock.
 *
 * A file's lifetime is tied to its writes this way: submit_slot and
 * writer_prealloc read a file without w->lock, but only for a chunk of that
 * file that is not yet released, and a chunk is released only after its write
 * has completed, so each of those reads comes before the write it prepares and
 * the free comes after the write's completion. With io_uring that completion
 * reaches the reaper, which frees, through the kernel (submit -> CQE); see
 * backend_uring.c's `queued` for how ThreadSanitizer is shown that edge. */
static void close_finished_files(struct writer *w)
{
	const uint64_t cs = w->cfg.chunk_size;

	while (w->files != w->cur && ALIGN_UP(w->files->end, cs) <= w->released * cs) {
		struct out_file *f = w->files;
		int ret = finish_file(w, f, f->end, false);

		if (ret && !w->error)
			w->error = ret;
		w->files = f->next;
		xfree(f);
	}
}

void writer_slot_done(struct writer *w, uint32_t s, int res)
{
	const uint32_t nchunks = w->cfg.nchunks;

	pthread_mutex_lock(&w->lock);
	if (res < 0) {
		if (!w->error)
			w->error = res;
	} else {
		w->slots[s].done = true;
	}
	/* Release in file order: a slot is refilled only when everything before
	 * it is on disk, so good_off always ends a whole record that is there. */
	while (!w->error) {
		struct writer_slot *sl = &w->slots[w->released % nchunks];

		if (!sl->done || atomic_load(&sl->chunk) != w->released)
			break;
		if (sl->bound_off) {
			w->good_off = sl->bound_off;
			w->good_pkts = sl->bound_pkts;
		}
		sl->done = false;
		sl->bound_off = 0;
		atomic_store_explicit(&sl->filled, 0, memory_order_relaxed);
		atomic_store_explicit(&sl->chunk, w->released + nchunks, memory_order_release);
		w->released++;
	}
	close_finished_files(w);
	pthread_cond_broadcast(&w->slot_free);
	pthread_mutex_unlock(&w->lock);
}

void writer_prealloc(struct writer *w, uint32_t s)
{
	/* Allocating ahead keeps O_DIRECT writes inside the file's size, where
	 * ext4 completes them without punting to a kernel worker. */
	const struct writer_slot *sl = &w->slots[s];
	uint64_t step = 256ull << 20;
	struct out_file *f = sl->file;

	if (!f->regular || f->falloc_off || sl->wr_off + sl->wr_len <= f->falloc_end)
		return;
	if (w->cfg.rotate_bytes && w->cfg.rotate_bytes < step)
		step = ALIGN_UP(w->cfg.rotate_bytes, (uint64_t)w->cfg.chunk_size);
	/* On failure (no space for a whole step, or no support) carry on
	 * without: the writes themselves will report a full disk. */
	if (fallocate(f->fd, 0, (off_t)f->falloc_end, (off_t)step) == 0)
		f->falloc_end += step;
	else
		f->falloc_off = true;
}

int writer_close(struct writer *w, struct writer_result *res)
{
	const uint64_t cs = w->cfg.chunk_size;
	uint64_t size;
	int ret;

	pthread_mutex_lock(&w->lock);
	size = w->next_off;
	w->cur->end = size;
	pthread_mutex_unlock(&w->lock);
	if (size % cs && !w->error)
		submit_slot(w, size / cs);
	w->ops->fini(w);

	pthread_mutex_lock(&w->lock);
	close_finished_files(w);
	ret = w->error;
	res->packets = ret ? w->good_pkts : w->pkts_reserved;
	res->bytes = 0;
	res->files = w->files_opened;
	res->stalls = w->stalls;
	res->stall_ns = w->stall_ns;
	res->direct = w->files->direct;
	/* What is left: the current file, and after an error any file whose
	 * chunks never all reached the disk. Each keeps its bytes up to the
	 * last whole record on disk (good_off), and at least a valid header. */
	while (w->files) {
		struct out_file *f = w->files;
		uint64_t keep = ret ? (w->good_off < f->end ? w->good_off : f->end) : f->end;
		int r;

		w->files = f->next;
		if (keep <= f->base + PCAP_FILE_HEADER_LEN) {
			keep = f->base + PCAP_FILE_HEADER_LEN;
			if (ret)
				rewrite_header(w, f);
		}
		r = finish_file(w, f, keep, true);
		if (r && !ret)
			ret = r;
		xfree(f);
	}
	pthread_mutex_unlock(&w->lock);
	res->bytes = w->bytes_closed;
	res->backend = w->ops->name;
	res->error = ret;

	munmap(w->area, 2 * w->area_len);
	xfree(w->slots);
	pthread_mutex_destroy(&w->lock);
	pthread_mutex_destroy(&w->sq_lock);
	pthread_cond_destroy(&w->slot_free);
	xfree(w);
	return ret;
}
