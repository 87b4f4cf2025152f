/*
 * Live flushes (writer.h: writer_flush): the whole records of the chunk being
 * filled go out through the buffered descriptor, once every chunk before it
 * is on disk, so a reader of the live file sees what is older than the flush
 * interval. The chunk's slot is pinned meanwhile: not released (so not
 * refilled) and not handed to its full write, which later rewrites those
 * bytes (identical) from its aligned start. Compressed, the piece is a zstd
 * frame of its own (compress.c), and the chunk's frame later starts after it. Flushes run one at a time: main's
 * every interval, and the appending thread's after each append with -U.
 */
#include <errno.h>

#include "writer/writer_impl.h"

/* The range of the chunk being filled that a flush may write now, as stream
 * offsets [*from, *to): what is published is whole records, copied. Only when
 * every earlier chunk is on disk. Under w->lock. 1 when there is such a
 * range, 0 when there is nothing to write, -EAGAIN when an earlier chunk is
 * still in flight or this one is full (its own write is on the way). */
static int flushable(struct writer *w, uint64_t *from, uint64_t *to)
{
	const uint64_t cs = w->cfg.chunk_size;
	uint64_t c = w->released, start = c * cs, end = w->next_off;

	if (w->error || end <= start)
		return 0;
	if (end >= start + cs)
		return -EAGAIN;
	*from = w->flushed_off > start ? w->flushed_off : start;
	*to = end;
	return *from < *to;
}

int writer_flush(struct writer *w)
{
	return writer_flush_as(w, false);
}

int writer_flush_as(struct writer *w, bool appender)
{
	const uint64_t cs = w->cfg.chunk_size;
	uint64_t from, to, chunk, pkts;
	struct out_file *f;
	const uint8_t *buf;
	int ret;

	pthread_mutex_lock(&w->lock);
	while (w->flush_pinned) /* another flush: one at a time */
		pthread_cond_wait(&w->progress, &w->lock);
	ret = flushable(w, &from, &to);
	if (ret <= 0) {
		ret = w->error && !writer_waits_out(w) ? w->error : ret;
		pthread_mutex_unlock(&w->lock);
		return ret;
	}
	chunk = w->released;
	pkts = w->pkts;
	f = writer_chunk_file(w, chunk);
	w->flush_pinned = true;
	w->flush_chunk = chunk;
	pthread_mutex_unlock(&w->lock);

	buf = slot_buf(w, (uint32_t)(chunk % w->cfg.nchunks)) + (from - chunk * cs);
	if (writer_compressed(w))
		ret = writer_zstd_flush(w, f, buf, to - from, appender);
	else if (f->stream)
		ret = write_full(f->fd, buf, to - from);
	else
		ret = pwrite_full(f->plain_fd, buf, to - from, from - f->base);

	pthread_mutex_lock(&w->lock);
	w->flush_pinned = false;
	if (ret) {
		writer_set_error(w, ret, f->path);
		if (writer_waits_out(w))
			ret = 0; /* writer_resume takes it from here */
	} else {
		w->flushed_off = to;
		if (to > w->good_off) { /* `to` ends a whole record, now in the file */
			w->good_off = to;
			w->good_pkts = pkts;
		}
	}
	writer_release_in_order(w);
	pthread_cond_broadcast(&w->progress);
	writer_close_finished(w);
	pthread_mutex_unlock(&w->lock);
	return ret;
}
