/*
 * --on-full wait (writer.h): after ENOSPC, EDQUOT or EIO the writer does not
 * fail. Appends go on returning at once, their packets counted as unwritten;
 * writer_resume (main's tick) waits until nothing is staging, in flight,
 * flushing or closing, closes the files at their last whole record on disk, and then, at
 * most once a second (less often while resumed files get nothing), tries the
 * next file. Once that has room the stream starts over in it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>

#include "writer/writer_impl.h"

bool writer_waits_out(const struct writer *w)
{
	/* a full disk, a quota, or an I/O error (which a full thin-provisioned
	 * or network disk reports) */
	return w->cfg.on_full_wait && !writer_is_stream(w) &&
	       (w->error == -ENOSPC || w->error == -EDQUOT || w->error == -EIO);
}

/* Every file's end is set; the records in the files are then exactly
 * good_pkts. */
void writer_count_cut(struct writer *w)
{
	for (const struct out_file *f = w->files; f; f = f->next) {
		uint64_t from = f->base + w->prologue_len;

		if (w->good_off > from)
			from = w->good_off;
		if (f->end > from)
			w->unwritten_bytes += f->end - from;
	}
	w->unwritten_pkts += w->pkts - w->good_pkts;
	w->pkts = w->good_pkts;
}

bool writer_unwritten(struct writer *w, uint64_t *packets, uint64_t *bytes, unsigned *events)
{
	bool waiting;

	pthread_mutex_lock(&w->lock);
	*packets = w->unwritten_pkts;
	*bytes = w->unwritten_bytes;
	*events = w->full_events;
	waiting = w->error && writer_waits_out(w);
	pthread_mutex_unlock(&w->lock);
	return waiting;
}

/* The disk is full and nothing is staging, in flight, flushing or closing: say so, and
 * take the files off the list to be closed at their last whole record on disk
 * (by the caller, without the lock; it is the closer meanwhile). Under w->lock. */
static struct out_file *stop_for_space(struct writer *w)
{
	w->cur->end = w->next_off;
	writer_count_cut(w);
	w->full_events++;
	log_warn("%s: %s; the files keep their %llu packets, capture goes on and writing "
		 "resumes in a new file when there is room (--on-full wait)",
		 w->error_path, strerror(-w->error), (unsigned long long)w->pkts);
	/* a file that got no record before the disk was full again: try less often */
	if (w->pkts == w->pkts_at_resume && w->full_events > 1)
		w->probe_every_ns = w->probe_every_ns < 32000000000ull ? 2 * w->probe_every_ns
								 : 64000000000ull;
	else
		w->probe_every_ns = 1000000000ull;
	w->next_probe_ns = now_ns() + w->probe_every_ns;
	w->closer_busy = true;
	return writer_detach_files(w, true);
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
 * chunks from f's first on, its header staged. Under w->lock, nothing
 * staging, in flight or closing. */
static void restart_stream(struct writer *w, struct out_file *f)
{
	for (uint32_t i = 0; i < w->cfg.nchunks; i++) {
		struct writer_slot *sl = &w->slots[i];

		sl->done = false;
		sl->bound_off = 0;
		sl->bound_pkts = 0;
	}
	w->released = f->base / w->cfg.chunk_size;
	w->files = w->cur = f;
	w->next_off = w->good_off = f->base + w->prologue_len;
	w->good_pkts = w->pkts_at_resume = w->pkts;
	w->flushed_off = f->base;
	writer_stage_header(w, f);
	w->error = 0;
	pthread_cond_broadcast(&w->progress);
}

int writer_resume(struct writer *w)
{
	char path[PATH_MAX], last[PATH_MAX];
	struct out_file *f;
	uint64_t now;
	int ret = 0;

	pthread_mutex_lock(&w->lock);
	if (!w->error || !writer_waits_out(w)) {
		ret = w->error;
		goto out_unlock;
	}
	ret = -EAGAIN;
	if (w->files) { /* none once stop_for_space closed them */
		struct out_file *list;
		char bad[PATH_MAX];

		/* an append copying, a write in flight, a flush or a file
		 * closing would touch the files and slots that are about to go */
		if (w->staging || w->writes_in_flight || w->flush_pinned || w->closer_busy)
			goto out_unlock;
		list = stop_for_space(w);
		pthread_mutex_unlock(&w->lock);
		ret = writer_finish_files(w, list, true, bad);
		if (ret)
			log_warn("%s: closing it: %s", bad, strerror(-ret));
		pthread_mutex_lock(&w->lock);
		w->closer_busy = false;
		pthread_cond_broadcast(&w->progress);
		ret = -EAGAIN;
	}
	now = now_ns();
	if (now < w->next_probe_ns)
		goto out_unlock;
	w->next_probe_ns = now + w->probe_every_ns;
	snprintf(last, sizeof(last), "%s", w->last_path);
	ret = writer_open_file(w, ALIGN_UP(w->next_off, (uint64_t)w->cfg.chunk_size), path, &f);
	if (ret == -EEXIST)
		writer_same_name_once(w, path, "writing waits");
	if (ret) {
		ret = -EAGAIN;
		goto out_unlock; /* no inode either, most likely: the same wait */
	}
	if (reserve_room(w, f)) {
		/* no room yet: the file goes, and its name is the next one again */
		writer_discard_file(f);
		w->files_opened--;
		w->name_index--;
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
	return ret;
}
