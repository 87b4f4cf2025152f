/*
 * Output files and rotation: tcpdump's naming (-C/-G/-W), creating a file
 * (O_NOFOLLOW, the O_DIRECT twin), rotation at an append's boundary, and
 * closing files at their true size. Closing is the closer's: one thread at a
 * time, without w->lock, oldest file first (writer_close_finished).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "index/index.h"
#include "writer/writer_impl.h"

/* The name of file number `index`, the way tcpdump names them: -G expands
 * strftime conversions; -C/-W append the number (none on the first file
 * without -W; zero-padded to -W's width with it). */
static int file_name(const struct writer *w, unsigned index, char *out, size_t len)
{
	const struct rotation_names names = {
		.path = w->cfg.path, .strftime = w->cfg.rotate_ns != 0,
		.numbered = w->cfg.rotate_bytes != 0, .max_files = w->cfg.max_files,
	};
	int ret = rotation_name(&names, index, time(NULL), out, len);

	/* compressed: the name as without, and ".zst" after it */
	if (!ret && writer_compressed(w) && !writer_is_stream(w) &&
	    strlen(out) + sizeof(WRITER_ZSTD_SUFFIX) > len)
		return -ENAMETOOLONG;
	if (!ret && writer_compressed(w) && !writer_is_stream(w))
		strcat(out, WRITER_ZSTD_SUFFIX);
	return ret;
}

/* Does the regular file at `path`, `size` bytes long, hold more than a file
 * header: pcap's 24 bytes, or a pcapng file's leading SHB and IDBs (and the
 * ISB an empty capture's file ends with)? Either kind, whatever this writer
 * writes (the earlier run may have written the other). What cannot be read
 * counts as records: it is kept. A compressed file holds records as soon as
 * it holds a frame (a frame's size says nothing of what it holds). */
static bool past_header(const struct writer *w, const char *path, off_t size)
{
	uint8_t buf[4096];
	size_t end;
	ssize_t n;
	int fd;

	if (writer_compressed(w))
		return size > 0;
	if (size <= (off_t)PCAP_FILE_HEADER_LEN)
		return false;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0)
		return true;
	n = pread(fd, buf, sizeof(buf), 0);
	close(fd);
	if (n <= 0)
		return true;
	switch (pcapng_prologue_end(buf, (size_t)n, &end)) {
	case FORMAT_FOREIGN:
		return true; /* pcap (or anything else) past 24 bytes */
	case FORMAT_SHORT:
		return false;
	default:
		return size > (off_t)end;
	}
}

/* A regular file with more than a file header in it (lstat's answer in st). */
static bool holds_records(const struct writer *w, const char *path, struct stat *st)
{
	return lstat(path, st) == 0 && S_ISREG(st->st_mode) && past_header(w, path, st->st_size);
}

/* -C without -W: the highest number among the names FILE, FILE1, FILE2, ...
 * (FILE as named now: -G's conversions expanded; each with `suffix` after
 * it, which name0 ends with) in its directory; -1 when none exists. */
static long highest_number(const char *name0, const char *suffix)
{
	const char *slash = strrchr(name0, '/');
	const char *base = slash ? slash + 1 : name0;
	size_t slen = strlen(suffix), blen = strlen(base) - slen;
	char dir[PATH_MAX];
	struct dirent *e;
	long top = -1;
	DIR *d;

	snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - name0) + 1 : 1,
		 slash ? name0 : ".");
	d = opendir(dir);
	if (!d)
		return -1;
	while ((e = readdir(d))) {
		const char *rest = e->d_name + blen;
		char *end = (char *)rest;
		long n = 0;

		if (strncmp(e->d_name, base, blen))
			continue;
		if (*rest && *rest != *suffix) {
			if (*rest < '1' || *rest > '9')
				continue;
			n = strtol(rest, &end, 10);
			if (n >= (long)UINT_MAX / 2)
				continue;
		}
		if (strcmp(end, suffix))
			continue;
		if (n > top)
			top = n;
	}
	closedir(d);
	return top;
}

/* -C with -W: the number of the newest name that holds records, by mtime;
 * -1 when none does. */
static long newest_in_ring(const struct writer *w)
{
	struct timespec best = { 0, 0 };
	char path[PATH_MAX];
	struct stat st;
	long top = -1;

	for (unsigned i = 0; i < w->cfg.max_files; i++) {
		if (file_name(w, i, path, sizeof(path)) || !holds_records(w, path, &st))
			continue;
		if (top < 0 || st.st_mtim.tv_sec > best.tv_sec ||
		    (st.st_mtim.tv_sec == best.tv_sec && st.st_mtim.tv_nsec > best.tv_nsec)) {
			best = st.st_mtim;
			top = i;
		}
	}
	return top;
}

/* A restart (after a crash, say) must not truncate what the last run wrote:
 * O_TRUNC on its first name would. -C numbering goes on after it; a name
 * that never changes cannot, so it is refused at start (bad input: exit 2,
 * nothing created) rather than emptied. */
int writer_first_name(struct writer *w)
{
	char first[PATH_MAX], prev[PATH_MAX];
	struct stat st;
	long top;
	int ret;

	if (writer_is_stream(w))
		return 0;
	ret = file_name(w, 0, first, sizeof(first));
	if (ret)
		return ret;
	if (!w->cfg.rotate_bytes) {
		if (!holds_records(w, first, &st))
			return 0;
		log_err("%s holds records from an earlier run: not overwritten (move it away, "
			"or add -C to number the files after it)", first);
		return -EEXIST;
	}
	top = w->cfg.max_files ? newest_in_ring(w)
			       : highest_number(first, writer_compressed(w) ? WRITER_ZSTD_SUFFIX : "");
	if (top < 0)
		return 0;
	ret = file_name(w, (unsigned)top, prev, sizeof(prev));
	if (ret)
		return ret;
	/* without -W an empty, header-only name is reused; anything else there
	 * (a link, a directory) is stepped over */
	if (!w->cfg.max_files && lstat(prev, &st) == 0 && S_ISREG(st.st_mode) &&
	    !past_header(w, prev, st.st_size)) {
		w->name_index = (unsigned)top;
		return 0;
	}
	w->name_index = (unsigned)top + 1;
	if (holds_records(w, prev, &st) && !file_name(w, w->name_index, first, sizeof(first)))
		log_warn("%s holds records from an earlier run: continuing at %s", prev, first);
	return 0;
}

void writer_stage_header(struct writer *w, const struct out_file *f)
{
	memcpy(w->area + f->base % w->area_len, w->prologue, w->prologue_len);
}

void writer_discard_file(struct out_file *f)
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

/* Should the next -C name be stepped over? Anyone who may write the
 * directory can plant something at it: a link (never followed), a FIFO (open
 * would block), a directory; and without -W a regular file with records is
 * not ours to truncate. Says so in one line. */
static bool skip_name(const struct writer *w, const char *path)
{
	struct stat st;

	if (lstat(path, &st) < 0)
		return false;
	if (S_ISREG(st.st_mode)) {
		if (w->cfg.max_files || !past_header(w, path, st.st_size))
			return false; /* -W's ring reuses its names */
		log_warn("%s holds records of another capture: skipped, not overwritten", path);
		return true;
	}
	log_warn("%s exists and is not a regular file (%s): skipped, not followed", path,
		 S_ISLNK(st.st_mode) ? "a symbolic link" : S_ISFIFO(st.st_mode) ? "a FIFO"
		 : S_ISDIR(st.st_mode) ? "a directory" : "a special file");
	return true;
}

/* The next name: after the first file, -C names that skip_name refuses are
 * stepped over (a bounded number; past that, -ELOOP). The first is checked
 * by writer_first_name and open (a link there is bad input). */
static int next_name(struct writer *w, char path[PATH_MAX])
{
	unsigned tries = w->cfg.max_files ? w->cfg.max_files : 64;
	int ret;

	for (;;) {
		ret = file_name(w, w->name_index, path, PATH_MAX);
		if (ret || !w->files_opened || !w->cfg.rotate_bytes || writer_is_stream(w) ||
		    !skip_name(w, path))
			return ret;
		if (!--tries)
			return -ELOOP;
		w->name_index++;
	}
}

/* O_NOFOLLOW: a symbolic link planted at the name is refused (ELOOP), never
 * followed. */
int writer_open_file(struct writer *w, uint64_t base, char path[PATH_MAX], struct out_file **out)
{
	struct out_file *f;
	struct stat st;
	int flags = O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW;
	int ret = next_name(w, path);

	if (ret)
		return ret;
	/* A -G name whose conversions are coarser than the rotation (no %S,
	 * and SIGHUP or a resume within the same second) repeats the newest
	 * file's name: O_TRUNC would empty a file that holds records, or one
	 * whose writes are still in flight; so would a name an earlier run
	 * left with records (the clock set back). (A device, say /dev/null,
	 * loses nothing to O_TRUNC.) */
	if (w->files_opened && !w->cfg.rotate_bytes && stat(path, &st) == 0 &&
	    S_ISREG(st.st_mode) &&
	    (!strcmp(path, w->last_path) || past_header(w, path, st.st_size)))
		return -EEXIST;
	f = xcalloc(1, sizeof(*f) + strlen(path) + 1);
	strcpy(f->path, path);
	f->fd = f->plain_fd = -1;
	if (writer_is_stream(w)) {
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
	/* a compressed file's size grows by far less than the stream: stepping
	 * its preallocation by stream offsets would reserve what it never uses */
	f->falloc_off = writer_compressed(w);
	f->opened_ns = now_ns();
	writer_hook_opened(w, f);
	w->files_opened++;
	w->name_index++;
	snprintf(w->last_path, sizeof(w->last_path), "%s", path);
	*out = f;
	return 0;
}

void writer_same_name_once(struct writer *w, const char *path, const char *what)
{
	if (w->same_name_said)
		return;
	w->same_name_said = true;
	log_warn("%s: the next file would have the same name; %s until the name changes (a "
		 "-G name without seconds?)", path, what);
}

struct out_file *writer_chunk_file(const struct writer *w, uint64_t chunk)
{
	uint64_t off = chunk * w->cfg.chunk_size;
	struct out_file *f = w->files;

	while (f->next && f->next->base <= off)
		f = f->next;
	return f;
}

bool writer_rotation_due(struct writer *w, uint64_t bytes)
{
	const struct writer_config *c = &w->cfg;
	uint64_t size = w->next_off - w->cur->base;

	if (size <= w->prologue_len)
		return false; /* never leave a file with no record */
	if (atomic_load_explicit(&w->rotate_req, memory_order_relaxed) &&
	    (c->rotate_bytes || c->rotate_ns)) {
		atomic_store_explicit(&w->rotate_req, false, memory_order_relaxed);
		return true;
	}
	if (c->rotate_bytes && size + bytes + w->tail_max > c->rotate_bytes)
		return true;
	return c->rotate_ns && now_ns() - w->cur->opened_ns >= c->rotate_ns;
}

/* -G with -W (and no -C): the capture stops after W files, so once the W-th
 * is due to end there is no next one. */
bool writer_last_file_done(const struct writer *w)
{
	const struct writer_config *c = &w->cfg;

	return c->rotate_ns && !c->rotate_bytes && c->max_files &&
	       w->files_opened >= c->max_files;
}

/* End the current file at next_off, after its tail (pcapng's ISBs), and open
 * the next one on the following chunk boundary; the appender stages the tail
 * and the new header, and the bytes from the old end to the new header's end
 * become part of its range. Returns 0, 1 when the next name is the current
 * file's (no rotation now), or -errno;
 * then the writer takes no more packets, and the current file keeps every
 * record appended so far (it is not a write error: close writes it out
 * whole). */
int writer_rotate(struct writer *w)
{
	const uint64_t cs = w->cfg.chunk_size;
	uint32_t tail = writer_encode_tail(w, w->tail);
	uint64_t base = ALIGN_UP(w->next_off + tail, cs);
	char path[PATH_MAX];
	struct out_file *f;
	int ret;

	w->tail_len = 0;
	ret = writer_open_file(w, base, path, &f);
	if (ret == -EEXIST) {
		writer_same_name_once(w, path, "the current file goes on");
		return 1;
	}
	if (ret) {
		w->stop_error = ret;
		snprintf(w->error_path, sizeof(w->error_path), "%s", path);
		atomic_store(&w->full, true);
		return ret;
	}
	w->tail_off = w->next_off;
	w->tail_len = tail;
	w->cur->end = w->next_off + tail;
	w->cur->next = f;
	w->cur = f;
	w->next_off = base + w->prologue_len;
	return 0;
}

/* After an error a file may end before its first chunk reached the disk: give
 * it its header with a plain write (O_DIRECT refuses 24 bytes). 0 or -errno
 * (said in one line). */
static int rewrite_header(struct writer *w, struct out_file *f)
{
	int ret;

	if (!f->regular)
		return 0;
	if (writer_compressed(w))
		ret = f->zend ? 0 : writer_zstd_header_frame(w, f, w->prologue, w->prologue_len);
	else
		ret = pwrite(f->plain_fd, w->prologue, w->prologue_len, 0) == (ssize_t)w->prologue_len
			      ? 0 : -errno;
	if (ret)
		log_warn("%s: cannot write its header: %s", f->path, strerror(-ret));
	return ret;
}

/* Truncate a detached file to close_at and close it, then the hooks. Returns
 * 0 or -errno. */
static int finish_file(struct writer *w, struct out_file *f, bool sync)
{
	uint64_t size = writer_file_bytes(w, f, f->close_at);
	int ret = 0;

	/* The size is already close_at unless an error cut the file short;
	 * this also frees what fallocate reserved past the end. Compressed,
	 * it is the end of the last whole frame: a torn one is cut off. */
	if (f->regular && ftruncate(f->fd, (off_t)size) < 0)
		ret = -errno;
	if (sync && f->regular && fsync(f->fd) < 0 && !ret)
		ret = -errno;
	if (f->plain_fd != f->fd && close(f->plain_fd) < 0 && !ret)
		ret = -errno;
	if (close(f->fd) < 0 && !ret)
		ret = -errno;
	writer_hook_closed(w, f, size, ret ? ret : (f->close_at < f->end ? -EIO : 0));
	return ret;
}

/* A file the writer created that got not even its header (the disk filled
 * first) holds nothing: removed rather than left as bytes no reader takes
 * (truncating it to the header's length would leave zeros). */
static void remove_headerless(struct out_file *f)
{
	index_builder_free(f->ix);
	f->ix = NULL;
	if (f->plain_fd != f->fd)
		close(f->plain_fd);
	close(f->fd);
	if (unlink(f->path) == 0)
		log_warn("%s: removed: no room for even its header", f->path);
}

int writer_finish_files(struct writer *w, struct out_file *list, bool sync, char *bad_path)
{
	int ret = 0;

	while (list) {
		struct out_file *f = list;
		int r;

		list = f->next;
		/* a failed rewrite means nothing readable is on disk: plain, no
		 * record past the header; compressed, no frame at all */
		if (f->cut && (writer_compressed(w) || f->close_at == f->base + w->prologue_len) &&
		    rewrite_header(w, f)) {
			remove_headerless(f);
			xfree(f);
			continue;
		}
		r = finish_file(w, f, sync);
		if (r && !ret) {
			ret = r;
			if (bad_path)
				snprintf(bad_path, PATH_MAX, "%s", f->path);
		}
		xfree(f);
	}
	return ret;
}

/* Files whose every chunk is released, off the list, oldest first. Under
 * w->lock. A file's lifetime is tied to its writes: the submitting thread and
 * the backend read a file without w->lock only for a chunk of it that is not
 * yet released, and a chunk is released only after its write has completed.
 * With io_uring that completion reaches the reaper through the kernel (submit
 * -> CQE); see backend_uring.c's `queued` for how ThreadSanitizer sees it. */
static struct out_file *detach_finished(struct writer *w)
{
	const uint64_t cs = w->cfg.chunk_size;
	struct out_file *head = NULL, **tail = &head;

	while (w->files != w->cur && ALIGN_UP(w->files->end, cs) <= w->released * cs) {
		struct out_file *f = w->files;

		w->files = f->next;
		f->next = NULL;
		f->close_at = f->end;
		w->bytes_closed += writer_file_bytes(w, f, f->end);
		*tail = f;
		tail = &f->next;
	}
	return head;
}

/* Closing (ftruncate, close, the index, the caller's hook) is done without
 * the lock, so neither the appender nor a completion waits behind it; one
 * closer at a time keeps the files closing in their order. */
void writer_close_finished(struct writer *w)
{
	struct out_file *list;

	if (w->closer_busy)
		return; /* the thread closing files now takes these too */
	w->closer_busy = true;
	while ((list = detach_finished(w))) {
		char bad[PATH_MAX];
		int ret;

		pthread_mutex_unlock(&w->lock);
		ret = writer_finish_files(w, list, false, bad);
		pthread_mutex_lock(&w->lock);
		if (ret)
			writer_set_error(w, ret, bad);
	}
	w->closer_busy = false;
	pthread_cond_broadcast(&w->progress);
}

struct out_file *writer_detach_files(struct writer *w, bool cut)
{
	struct out_file *list = w->files;

	for (struct out_file *f = list; f; f = f->next) {
		uint64_t keep = cut && w->good_off < f->end ? w->good_off : f->end;

		if (keep <= f->base + w->prologue_len)
			keep = f->base + w->prologue_len;
		f->close_at = keep;
		f->cut = cut;
		w->bytes_closed += writer_file_bytes(w, f, keep);
	}
	w->files = w->cur = NULL;
	return list;
}
