/*
 * The shared staging stream; see writer.h for the design. Locking:
 *   w->lock     reservations (once per block per worker), slot release, errors;
 *   slot.filled atomics count the bytes copied into each slot without a lock;
 *   w->sq_lock  the backend's submission side.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "writer/writer_impl.h"

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

static int open_file(struct writer *w)
{
	struct stat st;
	int flags = O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC;

	w->fd = -1;
	if (w->cfg.direct) {
		w->fd = open(w->cfg.path, flags | O_DIRECT, 0644);
		w->direct = w->fd >= 0;
	}
	if (w->fd < 0 && (!w->cfg.direct || errno == EINVAL))
		w->fd = open(w->cfg.path, flags, 0644);
	if (w->fd < 0)
		return -errno;
	if (fstat(w->fd, &st) == 0)
		w->regular = S_ISREG(st.st_mode);
	return 0;
}

int writer_open(struct writer **out, const struct writer_config *cfg)
{
	struct writer *w = xcalloc(1, sizeof(*w));
	int ret;

	w->cfg = *cfg;
	w->fd = -1;
	pthread_mutex_init(&w->lock, NULL);
	pthread_mutex_init(&w->sq_lock, NULL);
	pthread_cond_init(&w->slot_free, NULL);
	pthread_cond_init(&w->idle, NULL);

	ret = map_area(w);
	if (ret) {
		log_err("staging memory (%u x %u bytes): %s", cfg->nchunks, cfg->chunk_size,
			strerror(-ret));
		goto out_free;
	}
	w->slots = xcalloc(cfg->nchunks, sizeof(*w->slots));
	for (uint32_t i = 0; i < cfg->nchunks; i++)
		atomic_init(&w->slots[i].chunk, i);

	ret = open_file(w);
	if (ret) {
		log_err("cannot write %s: %s", cfg->path, strerror(-ret));
		goto out_unmap;
	}

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
	close(w->fd);
	if (w->regular)
		unlink(cfg->path);
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

	while (atomic_load_explicit(&sl->chunk, memory_order_acquire) != chunk) {
		if (w->error)
			return w->error;
		pthread_cond_wait(&w->slot_free, &w->lock);
	}
	return 0;
}

static void submit_slot(struct writer *w, uint64_t chunk, uint32_t len)
{
	uint32_t s = (uint32_t)(chunk % w->cfg.nchunks);
	struct writer_slot *sl = &w->slots[s];
	int ret;

	sl->wr_off = chunk * w->cfg.chunk_size;
	/* O_DIRECT wants whole blocks; the tail past the data is cut at close. */
	sl->wr_len = w->direct ? ALIGN_UP(len, 4096u) : len;
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
			submit_slot(w, chunk, (uint32_t)cs);
		off += part;
		len -= part;
	}
}

int writer_append(struct writer *w, const struct pkt_view *pkts, unsigned n)
{
	const uint32_t snap = w->cfg.snaplen;
	const uint64_t cs = w->cfg.chunk_size;
	uint64_t bytes = 0, off, end, pkts_at_end;
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
	off = w->next_off;
	end = off + bytes;
	/* A range spanning more slots than exist could never be granted. */
	if (n && (end - 1) / cs - off / cs + 1 > w->cfg.nchunks) {
		ret = -EMSGSIZE;
		goto out_unlock;
	}
	w->next_off = end;
	w->pkts_reserved += n;
	pkts_at_end = w->pkts_reserved;
	/* The whole range must be ours before any byte is copied. */
	for (uint64_t c = off / cs; n && c <= (end - 1) / cs; c++) {
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

	dst = w->area + off % w->area_len;
	for (unsigned i = 0; i < n; i++)
		dst += pcap_record_encode(dst, &pkts[i], snap, w->cfg.nano);
	account_fill(w, off, bytes);
	return (int)n;

out_unlock:
	pthread_mutex_unlock(&w->lock);
	return ret;
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
	pthread_cond_broadcast(&w->slot_free);
	pthread_mutex_unlock(&w->lock);
}

void writer_prealloc(struct writer *w, uint64_t off, uint32_t len)
{
	/* Allocating ahead keeps O_DIRECT writes inside the file's size, where
	 * ext4 completes them without punting to a kernel worker. */
	const uint64_t step = 256ull << 20;

	if (!w->regular || w->falloc_off || off + len <= w->falloc_end)
		return;
	/* On failure (no space for a whole step, or no support) carry on
	 * without: the writes themselves will report a full disk. */
	if (fallocate(w->fd, 0, (off_t)w->falloc_end, (off_t)step) == 0)
		w->falloc_end += step;
	else
		w->falloc_off = true;
}

int writer_close(struct writer *w, struct writer_result *res)
{
	const uint64_t cs = w->cfg.chunk_size;
	uint64_t size;
	int ret;

	pthread_mutex_lock(&w->lock);
	size = w->next_off;
	pthread_mutex_unlock(&w->lock);
	if (size % cs && !w->error)
		submit_slot(w, size / cs, (uint32_t)(size % cs));
	w->ops->fini(w);

	pthread_mutex_lock(&w->lock);
	ret = w->error;
	if (ret) {
		size = w->good_off;
		res->packets = w->good_pkts;
	} else {
		res->packets = w->pkts_reserved;
	}
	pthread_mutex_unlock(&w->lock);

	if (w->regular && ftruncate(w->fd, (off_t)size) < 0 && !ret)
		ret = -errno;
	if (w->regular && fsync(w->fd) < 0 && !ret)
		ret = -errno;
	close(w->fd);
	res->bytes = size;
	res->backend = w->ops->name;
	res->direct = w->direct;
	res->error = ret;

	munmap(w->area, 2 * w->area_len);
	xfree(w->slots);
	pthread_mutex_destroy(&w->lock);
	pthread_mutex_destroy(&w->sq_lock);
	pthread_cond_destroy(&w->slot_free);
	pthread_cond_destroy(&w->idle);
	xfree(w);
	return ret;
}
