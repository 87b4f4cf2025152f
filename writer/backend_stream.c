/* The stream backend (-w -): a pipe or terminal cannot seek, so chunks are
 * written with write(2), strictly in order, each byte once. Order comes for
 * free: one thread hands chunks on, in stream order, and each is written
 * before the next is handed on; a live flush writes only the chunk after the
 * last one released, never at the same time as that chunk's own write, and
 * what it wrote is skipped (writer_prepare_slot starts wr_done past it). */
#include <errno.h>
#include <unistd.h>

#include "writer/writer_impl.h"

static int stream_submit(struct writer *w, uint32_t s)
{
	struct writer_slot *sl = &w->slots[s];
	int ret = 0;

	if (sl->wr_done < sl->wr_len)
		ret = write_full(sl->wr_fd, slot_buf(w, s) + sl->wr_done, sl->wr_len - sl->wr_done);
	writer_slot_done(w, s, ret ? ret : (int)sl->wr_len);
	return 0;
}

const struct writer_ops writer_stream_ops = {
	.name = "stream",
	.submit = stream_submit,
};
