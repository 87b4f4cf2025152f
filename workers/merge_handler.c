/* The merge handler: a worker's blocks go to its input of the time-order
 * merge, which writes them in timestamp order with the other workers' and
 * gives them back to the kernel once written. */
#include "merge/merge.h"
#include "workers/workers.h"

static int merge_take_block(void *ctx, struct tpacket_block_desc *b)
{
	const struct merge_handler *h = ctx;

	return merge_push(h->m, h->in, b);
}

static bool merge_handler_wait(void *ctx, int timeout_ms)
{
	const struct merge_handler *h = ctx;

	return merge_wait_released(h->m, h->in, timeout_ms);
}

static void merge_handler_resume(void *ctx, uint32_t next)
{
	const struct merge_handler *h = ctx;

	merge_resume(h->m, h->in, next);
}

static bool merge_handler_done(void *ctx)
{
	const struct merge_handler *h = ctx;

	return merge_done(h->m);
}

const struct handler_ops merge_handler_ops = {
	.name = "merge",
	.take_block = merge_take_block,
	.wait_given_back = merge_handler_wait,
	.done = merge_handler_done,
	.resume = merge_handler_resume,
};
