/*
 * The shared staging stream; see writer.h for the design. Locking:
 *   w->flush_lock  live flushes, one at a time; a stream's writes, in order;
 *                  taken before w->lock;
 *   w->lock        reservations (once per block per worker), rotation, slot
 *                  release, errors;
 *   slot.filled    atomics count the bytes copied into each slot without a lock;
 *   w->sq_lock     the backend's submission side.
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

#include "index/index.h"
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
	const struct rotation_names names = {
		.path = w->cfg.path, .strftime = w->cfg.rotate_ns != 0,
		.numbered = w->cfg.rotate_bytes != 0, .max_files = w->cfg.max_files,
	};

	return rotation_name(&names, index, time(NULL), out, len);
}

static bool is_stream(const struct writer *w)
{
	return strcmp(w->cfg.path, "-") == 0;
}

/* The file header of this writer's files, at dst. */
static void encode_header(const struct writer *w, uint8_t *dst)
{
	pcap_file_header_encode(dst, w->cfg.snaplen, w->cfg.nano,
				w->cfg.linktype ? w->cfg.linktype : LINKTYPE_ETHERNET);
}

/* A file that goes before it held anything (set-up failed, or no room yet
 * for the next one): closed, removed, its index dropped. */
static void discard_file(struct out_file *f)
{
	if (f->plain_fd != f->fd)
		close(f->plain_fd);
	close(f->fd);
	if (f->regular)
		unlink(f->path);
	index_builder_free(f->ix);
	xfree(f);
}

/* The buffered twin of an O_DIRECT descriptor: the same open file reopened
 * through /proc (not by name, which may have changed); failing that, the
 * file is written without O_DIRECT. 0 or -errno. */
static int open_plain_twin(struct out_file *f)
{
	char proc[64];

	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", f->fd);
	f->plain_fd = open(proc, O_WRONLY | O_CLOEXEC);
	if (f->plain_fd >= 0)
		return 0;
	if (fcntl(f->fd, F_SETFL, fcntl(f->fd, F_GETFL) & ~O_DIRECT) < 0)
		return -errno;
	f->direct = false;
	f->plain_fd = f->fd;
	return 0;
}

/* Create the next output file, starting at stream offset `base`. Its name is
 * left in `path` (for the caller's message) whatever happens. O_NOFOLLOW: a
 * symbolic link planted at the name is refused (ELOOP), never followed. */
static int open_file(struct writer *w, uint64_t base, char path[PATH_MAX], struct out_file **out)
{
	struct out_file *f;
	struct stat st;
	int flags = O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW;
	int ret = file_name(w, w->files_opened, path, PATH_MAX);

	if (ret)
		return ret;
	/* A -G name whose conversions are coarser than the rotation (no %S,
	 * and SIGHUP or a resume within the same second) repeats the newest
	 * file's name: O_TRUNC would empty a file that holds records, or one
	 * whose writes are still in flight. (A device, say /dev/null, loses
	 * nothing to O_TRUNC.) */
	if (w->files_opened && !strcmp(path, w->last_path) && stat(path, &st) == 0 &&
	    S_ISREG(st.st_mode))
		return -EEXIST;
	f = xcalloc(1, sizeof(*f) + strlen(path) + 1);
	strcpy(f->path, path);
	f->fd = f->plain_fd = -1;
	if (is_stream(w)) {
		f->stream = true;
		f->fd = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
	} else if (w->cfg.direct) {
		f->fd = open(path, flags | O_DIRECT, 0644);
		f->direct = f->fd >= 0;
	}
	if (f->fd < 0 && !f->stream && (!w->cfg.direct || errno == EINVAL))
		f->fd = open(path, flags, 0644);
	if (f->fd < 0) {
		ret = -errno;
		xfree(f);
		return ret;
	}
	if (fstat(f->fd, &st) == 0)
		f->regular = S_ISREG(st.st_mode) && !f->stream;
	f->plain_fd = f->fd;
	ret = f->direct ? open_plain_twin(f) : 0;
	if (ret) {
		close(f->fd);
		unlink(path);
		xfree(f);
		return ret;
	}
	f->base = base;
	f->end = UINT64_MAX;
	f->opened_ns = now_ns();
	if (w->cfg.index && f->regular) {
		uint8_t hdr[PCAP_FILE_HEADER_LEN];

		/* no index is no error: ringcap-read builds one on first use */
		encode_header(w, hdr);
		if (index_builder_new(&f->ix, hdr, 0))
			f->ix = NULL;
	}
	w->files_opened++;
	snprintf(w->last_path, sizeof(w->last_path), "%s", path);
	*out = f;
	return 0;
}

/* Say once that the next file's name is the newest file's. Under w->lock. */
static void same_name_once(struct writer *w, const char *path, const char *what)
{
	if (w->same_name_said)
		return;
	w->same_name_said = true;
	log_warn("%s: the next file would have the same name; %s until the name changes (a "
		 "-G name without seconds?)", path, what);
}

/* The records of one append go into the current file's index, in file order
 * (the caller holds w->lock, so appends cannot interleave). `off` is the
 * stream offset of the first record. A record the builder refuses ends the
 * index of that file: better none than a wrong one. */
static void index_records(struct writer *w, uint64_t off, const struct pkt_view *pkts, unsigned n)
{
	struct out_file *f = w->cur;
	uint64_t at = off - f->base;

	for (unsigned i = 0; f->ix && i < n; i++) {
		const struct pkt_view *p = &pkts[i];
		uint32_t caplen = pcap_record_caplen(p, w->cfg.snaplen);

		if (index_builder_add_view(f->ix, at, p->sec, w->cfg.nano ? p->nsec : p->nsec / 1000,
					   caplen, p->data, p->caplen < caplen ? p->caplen : caplen)) {
			index_builder_free(f->ix);
			f->ix = NULL;
		}
		at += PCAP_RECORD_HEADER_LEN + caplen;
	}
}

/* A closed file's index, then the caller's hook. The index is written only
 * for a file that kept every record the builder saw (an error that cut the
 * file short leaves it to ringcap-read to index). */
static void file_done(struct writer *w, struct out_file *f, uint64_t size, int error)
{
	if (f->ix) {
		int ret = error ? 0 : index_builder_write(f->ix, f->path);

		if (ret)
			log_warn("%s: its index was not written: %s", f->path, strerror(-ret));
		index_builder_free(f->ix);
		f->ix = NULL;
	}
	if (w->cfg.file_closed)
		w->cfg.file_closed(w->cfg.hook_ctx, f->path, size, error);
}

/* Truncate a finished file to its true size and close it. Returns 0 or -errno. */
static int finish_file(struct writer *w, struct out_file *f, uint64_t end, bool sync)
{
	int ret = 0;

	w->bytes_closed += end - f->base;
	/* The size is already `end` unless an error cut the file short; this
	 * also frees what fallocate reserved past the end. */
	if (f->regular && ftruncate(f->fd, (off_t)(end - f->base)) < 0)
		ret = -errno;
	if (sync && f->regular && fsync(f->fd) < 0 && !ret)
		ret = -errno;
	if (f->plain_fd != f->fd && close(f->plain_fd) < 0 && !ret)
		ret = -errno;
	if (close(f->fd) < 0 && !ret)
		ret = -errno;
	file_done(w, f, end - f->base, ret ? ret : (end < f->end ? -EIO : 0));
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

	if (!f->regular)
		return;
	encode_header(w, hdr);
	if (pwrite(f->plain_fd, hdr, sizeof(hdr), 0) != (ssize_t)sizeof(hdr))
		log_warn("%s: cannot write its header: %s", f->path, strerror(errno));
}

/* A write error that on_full_wait waits out, rather than failing: a full
 * disk, a quota, or an I/O error (which a full thin-provisioned or network
 * disk reports). Under w->lock. */
static bool waits_out(const struct writer *w)
{
	return w->cfg.on_full_wait && !is_stream(w) &&
	       (w->error == -ENOSPC || w->error == -EDQUOT || w->error == -EIO);
}

/* Record bytes of n packets as the file would hold them. */
static uint64_t records_bytes(const struct writer *w, const struct pkt_view *pkts, unsigned n)
{
	uint64_t bytes = 0;

	for (unsigned i = 0; i < n; i++)
		bytes += PCAP_RECORD_HEADER_LEN + pcap_record_caplen(&pkts[i], w->cfg.snaplen);
	return bytes;
}

void writer_set_error(struct writer *w, int err, const struct out_file *f)
{
	if (w->error)
		return;
	w->error = err;
	snprintf(w->error_path, sizeof(w->error_path), "%s", f ? f->path : w->cfg.path);
}

/* A backend with nothing of its own to set up or stop leaves init/fini NULL. */
static int backend_init(struct writer *w)
{
	return w->ops->init ? w->ops->init(w) : 0;
}

static void backend_fini(struct writer *w)
{
	if (w->ops->fini)
		w->ops->fini(w);
}

int writer_open(struct writer **out, const struct writer_config *cfg)
{
	struct writer *w = xcalloc(1, sizeof(*w));
	int ret;

	char path[PATH_MAX];

	w->cfg = *cfg;
	pthread_mutex_init(&w->lock, NULL);
	pthread_mutex_init(&w->sq_lock, NULL);
	pthread_mutex_init(&w->flush_lock, NULL);
	pthread_cond_init(&w->slot_free, NULL);
	pthread_cond_init(&w->flush_done, NULL);

	ret = map_area(w);
	if (ret) {
		log_err("staging memory (%u x %u bytes): %s", cfg->nchunks, cfg->chunk_size,
			strerror(-ret));
		goto out_free;
	}
	w->slots = xcalloc(cfg->nchunks, sizeof(*w->slots));
	for (uint32_t i = 0; i < cfg->nchunks; i++)
		atomic_init(&w->slots[i].chunk, i);

	ret = open_file(w, 0, path, &w->files);
	if (ret == -ELOOP) {
		log_err("bad output file '%s': a symbolic link (not followed)", path);
		goto out_unmap;
	} else if (ret) {
		log_err("cannot write %s: %s", path, strerror(-ret));
		goto out_unmap;
	}
	w->cur = w->files;

	w->ops = w->files->stream          ? &writer_stream_ops
		 : cfg->backend == WRITER_URING ? &writer_uring_ops
						: &writer_pwrite_ops;
	ret = backend_init(w);
	if (ret && w->ops == &writer_uring_ops) {
		log_warn("io_uring refused (%s); writing with pwrite", strerror(-ret));
		w->ops = &writer_pwrite_ops;
		ret = backend_init(w);
	}
	if (ret) {
		log_err("%s writer for %s: %s", w->ops->name, path, strerror(-ret));
		goto out_unlink;
	}

	encode_header(w, w->area);
	w->next_off = PCAP_FILE_HEADER_LEN;
	w->good_off = PCAP_FILE_HEADER_LEN;
	w->direct = w->files->direct;
	atomic_store(&w->slots[0].filled, PCAP_FILE_HEADER_LEN);
	*out = w;
	return 0;

out_unlink:
	discard_file(w->files);
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

uint64_t writer_current_path(struct writer *w, char *out, size_t len)
{
	uint64_t bytes;

	pthread_mutex_lock(&w->lock);
	snprintf(out, len, "%s", w->cur ? w->cur->path : "");
	bytes = w->cur ? w->next_off - w->cur->base : 0; /* none while waiting for space */
	pthread_mutex_unlock(&w->lock);
	return bytes;
}

bool writer_unwritten(struct writer *w, uint64_t *packets, uint64_t *bytes, unsigned *events)
{
	bool waiting;

	pthread_mutex_lock(&w->lock);
	*packets = w->unwritten_pkts;
	*bytes = w->unwritten_bytes;
	*events = w->full_events;
	waiting = w->error && waits_out(w);
	pthread_mutex_unlock(&w->lock);
	return waiting;
}

uint64_t writer_bytes(struct writer *w)
{
	uint64_t bytes;

	pthread_mutex_lock(&w->lock);
	bytes = w->bytes_closed;
	for (const struct out_file *f = w->files; f; f = f->next)
		bytes += (f->end == UINT64_MAX ? w->next_off : f->end) - f->base;
	pthread_mutex_unlock(&w->lock);
	return bytes;
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
	/* A flush through the buffered descriptor and an O_DIRECT write of the
	 * same pages must not overlap in time: the page cache could write its
	 * older copy over the direct write's. */
	while (w->flush_pinned && w->flush_chunk == chunk)
		pthread_cond_wait(&w->flush_done, &w->lock);
	f = chunk_file(w, chunk);
	w->writes_in_flight++; /* until writer_slot_done, whatever the outcome */
	pthread_mutex_unlock(&w->lock);
	if (f->end != UINT64_MAX && f->end - chunk * cs < cs)
		len = f->end - chunk * cs;
	sl->file = f;
	sl->wr_off = chunk * cs - f->base;
	/* Whole chunks with O_DIRECT; a partial one (a file's last) through the
	 * buffered descriptor with its exact length: padding would put bytes
	 * that are no record into the file until close cut them. */
	sl->wr_fd = len == cs ? f->fd : f->plain_fd;
	sl->wr_len = (uint32_t)len;
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
	if (atomic_load_explicit(&w->rotate_req, memory_order_relaxed) &&
	    (c->rotate_bytes || c->rotate_ns)) {
		atomic_store_explicit(&w->rotate_req, false, memory_order_relaxed);
		return true;
	}
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
 * 0, 1 when the next name is the current file's (no rotation now), or -errno;
 * then the writer takes no more packets, and the current file keeps every
 * record appended so far (it is not a write error: close writes it out
 * whole). */
static int rotate(struct writer *w)
{
	const uint64_t cs = w->cfg.chunk_size;
	uint64_t base = ALIGN_UP(w->next_off, cs);
	char path[PATH_MAX];
	struct out_file *f;
	int ret;

	ret = open_file(w, base, path, &f);
	if (ret == -EEXIST) {
		same_name_once(w, path, "the current file goes on");
		return 1;
	}
	if (ret) {
		w->stop_error = ret;
		snprintf(w->error_path, sizeof(w->error_path), "%s", path);
		atomic_store(&w->full, true);
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
	if (w->error && waits_out(w)) {
		/* the disk is full and we wait: counted, and the block goes back */
		w->unwritten_pkts += n;
		w->unwritten_bytes += records_bytes(w, pkts, n);
		goto out_unlock;
	}
	if (w->error || w->stop_error) {
		ret = w->error ? w->error : w->stop_error;
		goto out_unlock;
	}
	if (w->cfg.max_packets) {
		uint64_t room = w->cfg.max_packets - w->pkts_reserved;
		if (n >= room) {
			n = (unsigned)room;
			atomic_store(&w->full, true);
		}
	}
	bytes = records_bytes(w, pkts, n);
	start = w->next_off;
	if (n && want_rotation(w, bytes)) {
		if (last_file_done(w)) {
			atomic_store(&w->full, true);
			goto out_unlock; /* returns 0: nothing more is taken */
		}
		ret = rotate(w);
		if (ret < 0)
			goto out_unlock;
		if (ret == 0)
			hdr_off = w->cur->base;
		ret = 0;
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
		if (ret) {
			/* reserved and never copied: past good_off, so writer_resume
			 * counts these packets as unwritten */
			if (waits_out(w))
				ret = 0;
			goto out_unlock;
		}
	}
	if (n) {
		last = &w->slots[((end - 1) / cs) % w->cfg.nchunks];
		if (end > last->bound_off) {
			last->bound_off = end;
			last->bound_pkts = pkts_at_end;
		}
		if (w->cur->ix)
			index_records(w, off, pkts, n);
		if (w->cfg.on_full_wait)
			atomic_fetch_add_explicit(&w->copying, 1, memory_order_relaxed);
	}
	pthread_mutex_unlock(&w->lock);

	if (hdr_off)
		encode_header(w, w->area + hdr_off % w->area_len);
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
	if (w->cfg.on_full_wait && n) /* the copy and its submissions are done */
		atomic_fetch_sub_explicit(&w->copying, 1, memory_order_release);
	if (w->cfg.flush_each_append)
		writer_flush(w); /* an error stops the next append */
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

		if (ret)
			writer_set_error(w, ret, f);
		w->files = f->next;
		xfree(f);
	}
}

/* Release in file order: a slot is refilled only when everything before it is
 * on disk, so good_off always ends a whole record that is there. A slot a
 * flush is reading waits. Under w->lock. */
static void release_in_order(struct writer *w)
{
	const uint32_t nchunks = w->cfg.nchunks;

	while (!w->error) {
		struct writer_slot *sl = &w->slots[w->released % nchunks];

		if (!sl->done || atomic_load(&sl->chunk) != w->released)
			break;
		if (w->flush_pinned && w->flush_chunk == w->released)
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
}

void writer_slot_done(struct writer *w, uint32_t s, int res)
{
	pthread_mutex_lock(&w->lock);
	w->writes_in_flight--;
	if (res < 0)
		writer_set_error(w, res, w->slots[s].file);
	else
		w->slots[s].done = true;
	release_in_order(w);
	close_finished_files(w);
	pthread_cond_broadcast(&w->slot_free);
	pthread_mutex_unlock(&w->lock);
}

void writer_prealloc(struct writer *w, uint32_t s)
{
	/* Allocating ahead keeps the extents of the O_DIRECT writes ready.
	 * KEEP_SIZE: the file's size grows only with the writes themselves, so
	 * after a crash it ends at data, never at reserved zeros. */
	const struct writer_slot *sl = &w->slots[s];
	uint64_t step = 256ull << 20;
	struct out_file *f = sl->file;

	if (!f->regular || f->falloc_off || sl->wr_off + sl->wr_len <= f->falloc_end)
		return;
	if (w->cfg.rotate_bytes && w->cfg.rotate_bytes < step)
		step = ALIGN_UP(w->cfg.rotate_bytes, (uint64_t)w->cfg.chunk_size);
	/* On failure (no space for a whole step, or no support) carry on
	 * without: the writes themselves will report a full disk. */
	if (fallocate(f->fd, FALLOC_FL_KEEP_SIZE, (off_t)f->falloc_end, (off_t)step) == 0)
		f->falloc_end += step;
	else
		f->falloc_off = true;
}

void writer_rotate_request(struct writer *w)
{
	atomic_store_explicit(&w->rotate_req, true, memory_order_relaxed);
}

/* The range of the chunk being filled that a flush may write now, as stream
 * offsets [*from, *to): whole records only (every byte reserved in it is
 * copied), only when every earlier chunk is on disk. Under w->lock. 1 when
 * there is such a range, 0 when there is nothing to write, -EAGAIN when an
 * append is still copying into it or an earlier chunk is still in flight. */
static int flushable(struct writer *w, uint64_t *from, uint64_t *to)
{
	const uint64_t cs = w->cfg.chunk_size;
	uint64_t c = w->released, start = c * cs, end = w->next_off;
	struct writer_slot *sl = &w->slots[c % w->cfg.nchunks];

	if (w->error || end <= start)
		return 0;
	if (end >= start + cs)
		return -EAGAIN; /* chunk c is full: its own write is on the way */
	if (atomic_load_explicit(&sl->chunk, memory_order_acquire) != c)
		return -EAGAIN;
	/* An append still copying: the prefix may have a hole; a later call
	 * (that append's, with -U, or the next tick) gets it. */
	if (atomic_load_explicit(&sl->filled, memory_order_acquire) != end - start)
		return -EAGAIN;
	*from = w->flushed_off > start ? w->flushed_off : start;
	*to = end;
	return *from < *to;
}

int writer_flush(struct writer *w)
{
	const uint64_t cs = w->cfg.chunk_size;
	uint64_t from, to, chunk, pkts;
	struct out_file *f;
	const uint8_t *buf;
	int ret = 0;

	pthread_mutex_lock(&w->flush_lock);
	pthread_mutex_lock(&w->lock);
	ret = flushable(w, &from, &to);
	if (ret <= 0) {
		ret = w->error && !waits_out(w) ? w->error : ret;
		pthread_mutex_unlock(&w->lock);
		goto out_unlock_flush;
	}
	ret = 0;
	chunk = w->released;
	pkts = w->pkts_reserved;
	f = chunk_file(w, chunk);
	w->flush_pinned = true;
	w->flush_chunk = chunk;
	pthread_mutex_unlock(&w->lock);

	/* The slot is pinned: not released (so not refilled) and not written
	 * by its full write until this ends. */
	buf = slot_buf(w, (uint32_t)(chunk % w->cfg.nchunks)) + (from - chunk * cs);
	if (f->stream) {
		ret = write_full(f->fd, buf, to - from);
		if (!ret)
			w->stream_off = to;
	} else {
		ret = pwrite_full(f->plain_fd, buf, to - from, from - f->base);
	}

	pthread_mutex_lock(&w->lock);
	w->flush_pinned = false;
	if (ret) {
		writer_set_error(w, ret, f);
		if (waits_out(w))
			ret = 0; /* writer_resume takes it from here */
	} else {
		w->flushed_off = to;
		if (to > w->good_off) { /* `to` ends a whole record, now in the file */
			w->good_off = to;
			w->good_pkts = pkts;
		}
	}
	release_in_order(w);
	close_finished_files(w);
	pthread_cond_broadcast(&w->flush_done);
	pthread_cond_broadcast(&w->slot_free);
	pthread_mutex_unlock(&w->lock);
out_unlock_flush:
	pthread_mutex_unlock(&w->flush_lock);
	return ret;
}

/* Free what writer_open made, the files already closed. */
static void writer_free(struct writer *w)
{
	munmap(w->area, 2 * w->area_len);
	xfree(w->slots);
	pthread_mutex_destroy(&w->lock);
	pthread_mutex_destroy(&w->sq_lock);
	pthread_mutex_destroy(&w->flush_lock);
	pthread_cond_destroy(&w->slot_free);
	pthread_cond_destroy(&w->flush_done);
	xfree(w);
}

/* Close every file still open, each at its end or, when `cut`, at the last
 * whole record on disk (at least a valid header). Under w->lock. Returns the
 * first error of closing them, naming that file in bad_path. */
static int close_open_files(struct writer *w, bool cut, char bad_path[PATH_MAX])
{
	int ret = 0;

	while (w->files) {
		struct out_file *f = w->files;
		uint64_t keep = cut ? (w->good_off < f->end ? w->good_off : f->end) : f->end;
		int r;

		w->files = f->next;
		if (keep <= f->base + PCAP_FILE_HEADER_LEN) {
			keep = f->base + PCAP_FILE_HEADER_LEN;
			if (cut)
				rewrite_header(w, f);
		}
		r = finish_file(w, f, keep, true);
		if (r && !ret) {
			ret = r;
			snprintf(bad_path, PATH_MAX, "%s", f->path);
		}
		xfree(f);
	}
	w->cur = NULL;
	return ret;
}

/* What the cut at good_off leaves out of the open files (every file's end
 * set), counted as unwritten; the records in the files are then exactly
 * good_pkts. Under w->lock. */
static void count_cut(struct writer *w)
{
	for (const struct out_file *f = w->files; f; f = f->next) {
		uint64_t from = f->base + PCAP_FILE_HEADER_LEN;

		if (w->good_off > from)
			from = w->good_off;
		if (f->end > from)
			w->unwritten_bytes += f->end - from;
	}
	w->unwritten_pkts += w->pkts_reserved - w->good_pkts;
	w->pkts_reserved = w->good_pkts;
}

/* The disk is full and nothing is in flight: close the files at their last
 * whole record on disk, say so, and wait. Under w->lock. */
static void stop_for_space(struct writer *w)
{
	char bad[PATH_MAX];
	int ret;

	w->cur->end = w->next_off;
	count_cut(w);
	w->full_events++;
	log_warn("%s: %s; the files keep their %llu packets, capture goes on and writing "
		 "resumes in a new file when there is room (--on-full wait)",
		 w->error_path, strerror(-w->error), (unsigned long long)w->pkts_reserved);
	ret = close_open_files(w, true, bad);
	if (ret)
		log_warn("%s: closing it: %s", bad, strerror(-ret));
	/* a file that got no record before the disk was full again: try less often */
	if (w->pkts_reserved == w->pkts_at_resume && w->full_events > 1)
		w->probe_every_ns = w->probe_every_ns < 32000000000ull ? 2 * w->probe_every_ns
								 : 64000000000ull;
	else
		w->probe_every_ns = 1000000000ull;
	w->next_probe_ns = now_ns() + w->probe_every_ns;
}

/* Room for the new file: a few chunks allocated for real (KEEP_SIZE: the size
 * stays that of the header). 0, or -ENOSPC/-EDQUOT while there is none. A
 * file system without fallocate cannot be asked: the writes will tell. */
static int reserve_room(struct writer *w, struct out_file *f)
{
	uint64_t len = 4ull * w->cfg.chunk_size;

	if (!f->regular)
		return 0;
	if (w->cfg.rotate_bytes && w->cfg.rotate_bytes < len)
		len = ALIGN_UP(w->cfg.rotate_bytes, (uint64_t)w->cfg.chunk_size);
	if (fallocate(f->fd, FALLOC_FL_KEEP_SIZE, 0, (off_t)len) == 0) {
		f->falloc_end = len;
		return 0;
	}
	if (errno == ENOSPC || errno == EDQUOT)
		return -errno;
	f->falloc_off = true;
	return 0;
}

/* Begin the stream again in `f`, on a fresh chunk: every slot free for the
 * chunks from f's first on, its header staged. Under w->lock, nothing in
 * flight and no append copying. */
static void restart_stream(struct writer *w, struct out_file *f)
{
	const uint32_t n = w->cfg.nchunks;
	const uint64_t first = f->base / w->cfg.chunk_size;

	for (uint32_t i = 0; i < n; i++) {
		struct writer_slot *sl = &w->slots[i];

		sl->done = false;
		sl->bound_off = 0;
		sl->bound_pkts = 0;
		atomic_store_explicit(&sl->filled, 0, memory_order_relaxed);
		atomic_store_explicit(&sl->chunk, first + (i + n - first % n) % n,
				      memory_order_release);
	}
	w->released = first;
	w->files = w->cur = f;
	w->next_off = w->good_off = f->base + PCAP_FILE_HEADER_LEN;
	w->good_pkts = w->pkts_at_resume = w->pkts_reserved;
	w->flushed_off = f->base;
	encode_header(w, slot_buf(w, (uint32_t)(first % n)));
	atomic_store(&w->slots[first % n].filled, PCAP_FILE_HEADER_LEN);
	w->error = 0;
	pthread_cond_broadcast(&w->slot_free);
}

int writer_resume(struct writer *w)
{
	char path[PATH_MAX], last[PATH_MAX];
	struct out_file *f;
	uint64_t now;
	int ret = 0;

	pthread_mutex_lock(&w->flush_lock);
	pthread_mutex_lock(&w->lock);
	if (!w->error || !waits_out(w)) {
		ret = w->error;
		goto out_unlock;
	}
	ret = -EAGAIN;
	if (w->files) { /* none once stop_for_space closed them */
		/* an append still copying or a write in flight would touch the
		 * files and slots that are about to go */
		if (atomic_load_explicit(&w->copying, memory_order_acquire) ||
		    w->writes_in_flight)
			goto out_unlock;
		stop_for_space(w);
	}
	now = now_ns();
	if (now < w->next_probe_ns)
		goto out_unlock;
	w->next_probe_ns = now + w->probe_every_ns;
	snprintf(last, sizeof(last), "%s", w->last_path);
	ret = open_file(w, ALIGN_UP(w->next_off, (uint64_t)w->cfg.chunk_size), path, &f);
	if (ret == -EEXIST)
		same_name_once(w, path, "writing waits");
	if (ret) {
		ret = -EAGAIN;
		goto out_unlock; /* no inode either, most likely: the same wait */
	}
	if (reserve_room(w, f)) {
		/* no room yet: the file goes, and its name is the next one again */
		discard_file(f);
		w->files_opened--;
		snprintf(w->last_path, sizeof(w->last_path), "%s", last);
		ret = -EAGAIN;
		goto out_unlock;
	}
	restart_stream(w, f);
	log_warn("%s: there is room again, writing resumes; %llu packets (%llu bytes) not "
		 "written so far", f->path, (unsigned long long)w->unwritten_pkts,
		 (unsigned long long)w->unwritten_bytes);
	ret = 0;
out_unlock:
	pthread_mutex_unlock(&w->lock);
	pthread_mutex_unlock(&w->flush_lock);
	return ret;
}

int writer_close(struct writer *w, struct writer_result *res)
{
	const uint64_t cs = w->cfg.chunk_size;
	uint64_t size = 0;
	bool cut;
	int ret, r;

	pthread_mutex_lock(&w->lock);
	if (w->cur) { /* none while on_full_wait waits for space */
		size = w->next_off;
		w->cur->end = size;
		/* The last, partial chunk goes out when every chunk before it
		 * is on disk: written earlier, it would make the file's size
		 * jump past chunks still in flight, and a crash then would
		 * leave zeros there. */
		while (!w->error && w->released < size / cs)
			pthread_cond_wait(&w->slot_free, &w->lock);
	}
	pthread_mutex_unlock(&w->lock);
	if (size % cs && !w->error)
		submit_slot(w, size / cs);
	backend_fini(w);

	pthread_mutex_lock(&w->lock);
	close_finished_files(w);
	/* After a write error each file keeps its bytes up to the last whole
	 * record on disk; after a failed rotation (stop_error) they are whole.
	 * A full disk that on_full_wait waits out is no failure: what the cut
	 * leaves out is counted as unwritten, like the packets that came while
	 * it waited. */
	cut = w->error != 0;
	ret = w->error ? w->error : w->stop_error;
	if (cut && waits_out(w)) {
		if (w->files) {
			count_cut(w);
			w->full_events++;
			log_warn("%s: %s at the end; the files keep their %llu packets",
				 w->error_path, strerror(-w->error),
				 (unsigned long long)w->pkts_reserved);
		}
		ret = 0;
	}
	memset(res, 0, sizeof(*res));
	res->packets = cut ? w->good_pkts : w->pkts_reserved;
	res->files = w->files_opened;
	res->stalls = w->stalls;
	res->stall_ns = w->stall_ns;
	res->direct = w->direct;
	res->create_failed = !w->error && w->stop_error;
	res->unwritten_packets = w->unwritten_pkts;
	res->unwritten_bytes = w->unwritten_bytes;
	res->full_events = w->full_events;
	snprintf(res->error_path, sizeof(res->error_path), "%s", w->error_path);
	/* What is left: the current file, and after an error any file whose
	 * chunks never all reached the disk. */
	r = close_open_files(w, cut, res->error_path);
	if (r && !ret)
		ret = r;
	pthread_mutex_unlock(&w->lock);
	res->bytes = w->bytes_closed;
	res->backend = w->ops->name;
	res->error = ret;
	writer_free(w);
	return ret;
}

void writer_discard(struct writer *w)
{
	backend_fini(w);
	while (w->files) {
		struct out_file *f = w->files;

		w->files = f->next;
		discard_file(f);
	}
	writer_free(w);
}
