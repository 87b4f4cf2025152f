/* The stream backend (-w -): a pipe or terminal cannot seek, so chunks are
 * written with write(2) strictly in order, each byte once. Whoever completes
 * a chunk marks its slot ready; under flush_lock, the thread holding it writes
 * every ready chunk from the next one on, skipping the prefix a live flush
 * already wrote (stream_off). A slower earlier chunk's thread writes the later
 * ready ones when it gets there, so no chunk waits for a wake-up. */
#include <errno.h>
#include <unistd.h>

#include "writer/writer_impl.h"

static int stream_submit(struct writer *w, uint32_t s)
{
	const uint64_t cs = w->cfg.chunk_size;

	pthread_mutex_lock(&w->flush_lock);
	w->slots[s].ready = true;
	for (;;) {
		uint32_t t = (uint32_t)(w->stream_chunk % w->cfg.nchunks);
		struct writer_slot *sl = &w->slots[t];
		uint64_t start = w->stream_chunk * cs, skip;
		int ret;

		if (!sl->ready || atomic_load(&sl->chunk) != w->stream_chunk)
			break;
		sl->ready = false;
		skip = w->stream_off > start ? w->stream_off - start : 0;
		ret = skip < sl->wr_len ? write_full(sl->wr_fd, slot_buf(w, t) + skip,
							  sl->wr_len - skip)
					: 0;
		w->stream_off = start + sl->wr_len;
		w->stream_chunk++;
		writer_slot_done(w, t, ret ? ret : (int)sl->wr_len);
	}
	pthread_mutex_unlock(&w->flush_lock);
	return 0;
}

const struct writer_ops writer_stream_ops = {
	.name = "stream",
	.submit = stream_submit,
};
