/*
 * The staging stream: a ring of chunk-sized slots, filled by the one
 * appending thread, handed to the backend chunk by chunk, released in file
 * order. An append takes w->lock twice: once to check the writer's state,
 * rotate and make sure the slots under its range are free; once, after the
 * copy (which needs no lock: the range is the appender's alone), to publish
 * the new end and hand on the chunks it filled.
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "writer/writer_impl.h"

#define PREFETCH_AHEAD 4

int writer_map_area(struct writer *w)
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

void writer_unmap_area(struct writer *w)
{
	if (w->area)
		munmap(w->area, 2 * w->area_len);
	w->area = NULL;
}

void writer_set_error(struct writer *w, int err, const char *path)
{
	if (w->error)
		return;
	w->error = err;
	snprintf(w->error_path, sizeof(w->error_path), "%s", path ? path : w->cfg.path);
}

/* Wait until the slot of chunk `last` (and so of every chunk before it) is
 * free to fill. Under w->lock. 0, or the write error that ended the wait. */
static int wait_room(struct writer *w, uint64_t last)
{
	uint64_t t0;

	if (last < w->released + w->cfg.nchunks)
		return 0;
	/* Every slot is full or in flight: the disk is behind. Counted, because
	 * while the appender waits here its rings fill and the kernel may drop. */
	t0 = now_ns();
	w->stalls++;
	while (last >= w->released + w->cfg.nchunks && !w->error)
		pthread_cond_wait(&w->progress, &w->lock);
	w->stall_ns += now_ns() - t0;
	return last < w->released + w->cfg.nchunks ? 0 : w->error;
}

uint32_t writer_prepare_slot(struct writer *w, uint64_t chunk)
{
	const uint64_t cs = w->cfg.chunk_size, start = chunk * cs;
	uint32_t s = (uint32_t)(chunk % w->cfg.nchunks);
	struct writer_slot *sl = &w->slots[s];
	struct out_file *f;
	uint64_t len = cs;

	/* A flush through the buffered descriptor and an O_DIRECT write of the
	 * same pages must not overlap in time: the page cache could write its
	 * older copy over the direct write's. */
	while (w->flush_pinned && w->flush_chunk == chunk)
		pthread_cond_wait(&w->progress, &w->lock);
	f = writer_chunk_file(w, chunk);
	w->writes_in_flight++; /* until writer_slot_done, whatever the outcome */
	if (f->end != UINT64_MAX && f->end - start < cs)
		len = f->end - start;
	sl->file = f;
	sl->wr_off = start - f->base;
	/* Whole chunks with O_DIRECT; a partial one (a file's last) through the
	 * buffered descriptor with its exact length: padding would put bytes
	 * that are no record into the file until close cut them. */
	sl->wr_fd = len == cs ? f->fd : f->plain_fd;
	sl->wr_len = (uint32_t)len;
	sl->wr_done = 0;
	/* A stream writes each byte once: what flushes wrote is skipped. (A
	 * file's full write rewrites it, identical, from the aligned start.) So
	 * does a compressed file: the flushes' frames hold that part, and this
	 * chunk's frame begins where the last of them ended. */
	if ((f->stream || writer_compressed(w)) && w->flushed_off > start)
		sl->wr_done = (uint32_t)(w->flushed_off - start < len ? w->flushed_off - start : len);
	return s;
}

void writer_submit_slot(struct writer *w, uint32_t s)
{
	int ret = w->ops->submit(w, s);

	if (ret)
		writer_slot_done(w, s, ret);
}

int writer_append(struct writer *w, const struct pkt_view *pkts, unsigned n)
{
	const uint32_t snap = w->cfg.snaplen;
	const uint64_t cs = w->cfg.chunk_size;
	struct out_file *f, *new_file = NULL;
	uint64_t bytes, start, off, end, c;
	uint8_t *dst;
	int ret = 0;

	pthread_mutex_lock(&w->lock);
	/* writer.h: one appending thread at a time. Another one here while the
	 * first copies would stage over its bytes. */
	assert(!w->staging && "writer_append: a second appending thread");
	if (w->error && writer_waits_out(w)) {
		/* the disk is full and we wait: counted, and the block goes back */
		w->unwritten_pkts += n;
		w->unwritten_bytes += writer_records_bytes(w, pkts, n);
		goto out_unlock;
	}
	if (w->error || w->stop_error) {
		ret = w->error ? w->error : w->stop_error;
		goto out_unwritten;
	}
	if (w->cfg.max_packets && n >= w->cfg.max_packets - w->pkts) {
		n = (unsigned)(w->cfg.max_packets - w->pkts);
		atomic_store(&w->full, true);
	}
	if (!n) {
		pthread_mutex_unlock(&w->lock);
		goto out_flush;
	}
	bytes = writer_records_bytes(w, pkts, n);
	start = w->next_off;
	if (writer_rotation_due(w, bytes)) {
		if (writer_last_file_done(w)) {
			atomic_store(&w->full, true);
			goto out_unlock; /* returns 0: nothing more is taken */
		}
		ret = writer_rotate(w);
		if (ret < 0)
			goto out_unwritten;
		if (ret == 0)
			new_file = w->cur;
		ret = 0;
	}
	off = w->next_off;
	end = off + bytes;
	/* A range spanning more slots than exist could never be had. */
	if ((end - 1) / cs - start / cs + 1 > w->cfg.nchunks) {
		ret = -EMSGSIZE;
		goto out_unwritten;
	}
	ret = wait_room(w, (end - 1) / cs);
	if (ret) {
		/* never staged: with on_full_wait these packets are unwritten,
		 * and the writer goes on */
		if (writer_waits_out(w)) {
			w->unwritten_pkts += n;
			w->unwritten_bytes += bytes;
			ret = 0;
			goto out_unlock;
		}
		goto out_unwritten;
	}
	f = w->cur;
	w->staging = true;
	pthread_mutex_unlock(&w->lock);

	/* [start, end) is the appender's alone: no other thread reads it before
	 * it is published below (a flush reads only what is published). */
	if (new_file) {
		if (w->tail_len) /* the ended file's last blocks, before the padding */
			memcpy(w->area + w->tail_off % w->area_len, w->tail, w->tail_len);
		writer_stage_header(w, new_file);
	}
	dst = w->area + off % w->area_len;
	/* The packet bytes were written by another CPU: ask for them a few
	 * packets ahead so the copy does not wait on each miss. One loop per
	 * format: the choice is made once per append, not per packet. */
	if (w->cfg.format == WRITER_PCAPNG) {
		for (unsigned i = 0; i < n; i++) {
			if (i + PREFETCH_AHEAD < n) {
				__builtin_prefetch(pkts[i + PREFETCH_AHEAD].data);
				__builtin_prefetch(pkts[i + PREFETCH_AHEAD].data + 64);
			}
			dst += pcapng_epb_encode(dst, &pkts[i], snap, w->cfg.nano);
		}
	} else {
		for (unsigned i = 0; i < n; i++) {
			if (i + PREFETCH_AHEAD < n) {
				__builtin_prefetch(pkts[i + PREFETCH_AHEAD].data);
				__builtin_prefetch(pkts[i + PREFETCH_AHEAD].data + 64);
			}
			dst += pcap_record_encode(dst, &pkts[i], snap, w->cfg.nano);
		}
	}
	writer_hook_staged(w, f, off, pkts, n);

	pthread_mutex_lock(&w->lock);
	w->next_off = end;
	w->pkts += n;
	w->slots[((end - 1) / cs) % w->cfg.nchunks].bound_off = end;
	w->slots[((end - 1) / cs) % w->cfg.nchunks].bound_pkts = w->pkts;
	/* The chunks this append completed go out, counted in flight before
	 * staging ends, so writer_resume never sees a moment with neither. */
	for (c = start / cs; c < end / cs; c++)
		writer_prepare_slot(w, c);
	w->staging = false;
	pthread_mutex_unlock(&w->lock);
	for (c = start / cs; c < end / cs; c++)
		writer_submit_slot(w, (uint32_t)(c % w->cfg.nchunks));
out_flush:
	if (w->cfg.flush_each_append)
		writer_flush_as(w, true); /* an error stops the next append */
	return (int)n;

out_unwritten:
	/* After an error that ends writing, every packet offered is counted as
	 * not written (the caller stops, or the merge keeps offering what it
	 * holds), so the capture's totals add up. */
	w->unwritten_pkts += n;
	w->unwritten_bytes += writer_records_bytes(w, pkts, n);
out_unlock:
	pthread_mutex_unlock(&w->lock);
	return ret;
}

void writer_stage_close_tail(struct writer *w)
{
	const uint64_t cs = w->cfg.chunk_size;
	uint64_t start, end, c;
	uint32_t len;

	pthread_mutex_lock(&w->lock);
	/* none while on_full_wait waits for space; after an error the file is
	 * cut at its last whole block on disk, which this would not be */
	if (!w->cur || w->error || !w->tail_max)
		goto out_unlock;
	len = writer_encode_tail(w, w->tail);
	if (!len)
		goto out_unlock;
	start = w->next_off;
	end = start + len;
	if (wait_room(w, (end - 1) / cs))
		goto out_unlock;
	/* The appending thread has stopped: the range is main's, as an
	 * append's is the appender's. */
	memcpy(w->area + start % w->area_len, w->tail, len);
	w->next_off = end;
	w->slots[((end - 1) / cs) % w->cfg.nchunks].bound_off = end;
	w->slots[((end - 1) / cs) % w->cfg.nchunks].bound_pkts = w->pkts;
	for (c = start / cs; c < end / cs; c++)
		writer_prepare_slot(w, c);
	pthread_mutex_unlock(&w->lock);
	for (c = start / cs; c < end / cs; c++)
		writer_submit_slot(w, (uint32_t)(c % w->cfg.nchunks));
	return;
out_unlock:
	pthread_mutex_unlock(&w->lock);
}

/* Release in file order: a slot is refilled only when everything before it is
 * on disk, so good_off always ends a whole record that is there. A slot a
 * flush is reading waits. */
void writer_release_in_order(struct writer *w)
{
	const uint32_t nchunks = w->cfg.nchunks;

	while (!w->error) {
		struct writer_slot *sl = &w->slots[w->released % nchunks];

		if (!sl->done)
			break;
		if (w->flush_pinned && w->flush_chunk == w->released)
			break;
		if (sl->bound_off) {
			w->good_off = sl->bound_off;
			w->good_pkts = sl->bound_pkts;
		}
		sl->done = false;
		sl->bound_off = 0;
		w->released++;
	}
}

void writer_slot_done(struct writer *w, uint32_t s, int res)
{
	pthread_mutex_lock(&w->lock);
	w->writes_in_flight--;
	if (res < 0)
		writer_set_error(w, res, w->slots[s].file->path);
	else
		w->slots[s].done = true;
	writer_release_in_order(w);
	pthread_cond_broadcast(&w->progress);
	writer_close_finished(w);
	pthread_mutex_unlock(&w->lock);
}

void writer_prealloc(struct writer *w, uint32_t s)
{
	/* Allocating ahead keeps the extents of the O_DIRECT writes ready.
	 * KEEP_SIZE: the file's size grows only with the writes themselves, so
	 * after a crash it ends at data, never at reserved zeros. */
	const struct writer_slot *sl = &w->slots[s];
	uint64_t step = w->cfg.prealloc_step ? w->cfg.prealloc_step : 256ull << 20;
	struct out_file *f = sl->file;

	if (!f->regular || f->falloc_off || sl->wr_off + sl->wr_len <= f->falloc_end)
		return;
	if (w->cfg.rotate_bytes && w->cfg.rotate_bytes < step)
		step = w->cfg.rotate_bytes;
	step = ALIGN_UP(step, (uint64_t)w->cfg.chunk_size);
	/* On failure (no space for a whole step, or no support) carry on
	 * without: the writes themselves will report a full disk. */
	if (fallocate(f->fd, FALLOC_FL_KEEP_SIZE, (off_t)f->falloc_end, (off_t)step) == 0)
		f->falloc_end += step;
	else
		f->falloc_off = true;
}
