/*
 * The writer's life: open (the staging area, the first file, the backend),
 * close and discard, and the readers of its counters. The design is in
 * writer.h; who does what, and every lock, in writer_impl.h.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "writer/writer_impl.h"

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

/* Free what writer_open made, the files already closed. */
static void writer_free(struct writer *w)
{
	writer_unmap_area(w);
	writer_free_prologue(w);
	xfree(w->slots);
	pthread_mutex_destroy(&w->lock);
	pthread_cond_destroy(&w->progress);
	xfree(w);
}

int writer_open(struct writer **out, const struct writer_config *cfg)
{
	struct writer *w = xcalloc(1, sizeof(*w));
	char path[PATH_MAX];
	int ret;

	w->cfg = *cfg;
	/* Frames have no aligned offsets: compressed files are written
	 * buffered (compress.c says why) */
	if (writer_compressed(w))
		w->cfg.direct = false;
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->progress, NULL);

	ret = writer_map_area(w);
	if (ret) {
		log_err("staging memory (%u x %u bytes): %s", cfg->nchunks, cfg->chunk_size,
			strerror(-ret));
		goto out_free;
	}
	w->slots = xcalloc(cfg->nchunks, sizeof(*w->slots));
	ret = writer_make_prologue(w);
	if (ret)
		goto out_free; /* logged */

	ret = writer_first_name(w);
	if (ret)
		goto out_free; /* logged */
	ret = writer_open_file(w, 0, path, &w->files);
	if (ret == -ELOOP) {
		log_err("bad output file '%s': a symbolic link (not followed)", path);
		goto out_free;
	} else if (ret) {
		log_err("cannot write %s: %s", path, strerror(-ret));
		goto out_free;
	}
	w->cur = w->files;

	w->ops = writer_compressed(w)      ? &writer_zstd_ops
		 : w->files->stream             ? &writer_stream_ops
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

	writer_stage_header(w, w->files);
	w->next_off = w->prologue_len;
	w->good_off = w->prologue_len;
	w->direct = w->files->direct;
	*out = w;
	return 0;

out_unlink:
	writer_discard_file(w->files);
out_free:
	writer_free(w);
	return ret;
}

bool writer_full(const struct writer *w)
{
	return atomic_load_explicit(&w->full, memory_order_relaxed);
}

void writer_rotate_request(struct writer *w)
{
	atomic_store_explicit(&w->rotate_req, true, memory_order_relaxed);
}

uint64_t writer_current_path(struct writer *w, char *out, size_t len)
{
	uint64_t bytes;

	pthread_mutex_lock(&w->lock);
	snprintf(out, len, "%s", w->cur ? w->cur->path : "");
	/* none while waiting for space */
	bytes = w->cur ? writer_file_bytes(w, w->cur, w->next_off) : 0;
	pthread_mutex_unlock(&w->lock);
	return bytes;
}

uint64_t writer_bytes(struct writer *w)
{
	uint64_t bytes;

	pthread_mutex_lock(&w->lock);
	bytes = w->bytes_closed;
	for (const struct out_file *f = w->files; f; f = f->next)
		bytes += writer_file_bytes(w, f, f->end == UINT64_MAX ? w->next_off : f->end);
	pthread_mutex_unlock(&w->lock);
	return bytes;
}

int writer_close(struct writer *w, struct writer_result *res)
{
	const uint64_t cs = w->cfg.chunk_size;
	struct out_file *left;
	bool cut, last = false;
	uint32_t s = 0;
	int ret, r;

	writer_stage_close_tail(w);
	pthread_mutex_lock(&w->lock);
	if (w->cur) { /* none while on_full_wait waits for space */
		uint64_t size = w->next_off;

		w->cur->end = size;
		/* The last, partial chunk goes out when every chunk before it
		 * is on disk: written earlier, it would make the file's size
		 * jump past chunks still in flight, and a crash then would
		 * leave zeros there. */
		while (!w->error && w->released < size / cs)
			pthread_cond_wait(&w->progress, &w->lock);
		if (size % cs && !w->error) {
			s = writer_prepare_slot(w, size / cs);
			last = true;
		}
	}
	pthread_mutex_unlock(&w->lock);
	if (last)
		writer_submit_slot(w, s);
	backend_fini(w);

	pthread_mutex_lock(&w->lock);
	writer_close_finished(w);
	/* After a write error each file keeps its bytes up to the last whole
	 * record on disk; after a failed rotation (stop_error) they are whole.
	 * A full disk that on_full_wait waits out is no failure: what the cut
	 * leaves out is counted as unwritten, like the packets that came while
	 * it waited. */
	cut = w->error != 0;
	ret = w->error ? w->error : w->stop_error;
	/* What the cut leaves out was staged but is in no file: unwritten, in
	 * either mode, so captured + unwritten + dropped + left = received. */
	if (cut && w->files)
		writer_count_cut(w);
	if (cut && writer_waits_out(w)) {
		if (w->files) {
			w->full_events++;
			log_warn("%s: %s at the end; the files keep their %llu packets",
				 w->error_path, strerror(-w->error), (unsigned long long)w->pkts);
		}
		ret = 0;
	}
	memset(res, 0, sizeof(*res));
	res->packets = w->pkts;
	res->files = w->files_opened;
	res->stalls = w->stalls;
	res->stall_ns = w->stall_ns;
	res->direct = w->direct;
	res->create_failed = !w->error && w->stop_error;
	res->unwritten_packets = w->unwritten_pkts;
	res->unwritten_bytes = w->unwritten_bytes;
	res->full_events = w->full_events;
	res->compress = w->zcount;
	snprintf(res->error_path, sizeof(res->error_path), "%s", w->error_path);
	/* What is left: the current file, and after an error any file whose
	 * chunks never all reached the disk. */
	left = writer_detach_files(w, cut);
	res->bytes = w->bytes_closed;
	pthread_mutex_unlock(&w->lock);
	r = writer_finish_files(w, left, true, res->error_path);
	if (r && !ret)
		ret = r;
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
		writer_discard_file(f);
	}
	writer_free(w);
}
