/* The plain backend: pwrite in the thread that hands the slot on. It is the
 * fallback where io_uring is refused and the oracle the tests compare with. */
#include <errno.h>
#include <unistd.h>

#include "writer/writer_impl.h"

static int pwrite_submit(struct writer *w, uint32_t s)
{
	struct writer_slot *sl = &w->slots[s];
	const uint8_t *buf = slot_buf(w, s);
	int res;

	writer_prealloc(w, s);
	res = pwrite_full(sl->wr_fd, buf + sl->wr_done, sl->wr_len - sl->wr_done,
			  sl->wr_off + sl->wr_done);
	if (!res)
		sl->wr_done = sl->wr_len;
	writer_slot_done(w, s, res ? res : (int)sl->wr_done);
	return 0;
}

const struct writer_ops writer_pwrite_ops = {
	.name = "pwrite",
	.submit = pwrite_submit,
};
