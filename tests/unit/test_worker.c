/*
 * The worker's assembly and loop without a socket: worker_init bounds,
 * worker_add_handler's limit, handlers run in order on every packet of a
 * hand-built block, worker_fini safe twice, and a worker whose socket fails
 * asks the whole capture to stop instead of leaving quietly.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "workers/workers.h"
#include "unit.h"

#define BLOCK_SIZE 8192u

struct recorder {
	unsigned id;
	unsigned calls;
	unsigned pkts;
	uint32_t first_len;
};

static unsigned call_order[8]; /* recorder ids, in the order handlers ran */
static unsigned ncalls;

static int rec_on_block(void *ctx, const struct pkt_view *pkts, unsigned n)
{
	struct recorder *r = ctx;

	call_order[ncalls++ % 8] = r->id;
	r->calls++;
	r->pkts += n;
	if (n)
		r->first_len = pkts[0].len;
	return 0;
}

static const struct handler_ops rec_ops = { .name = "rec", .on_block = rec_on_block };

static void test_assembly(void)
{
	struct workers_ctl ctl = { 0 };
	struct worker_config cfg = { .id = 3, .cpu = -1, .ctl = &ctl, .block_size = BLOCK_SIZE };
	struct worker w;
	struct recorder r[2];
	static uint8_t blk[BLOCK_SIZE] __attribute__((aligned(64)));

	CHECK_EQ(worker_init(&w, &(struct worker_config){ .block_size = 1024 }), -EINVAL);
	worker_fini(&w); /* half-built: safe */

	CHECK_EQ(worker_init(&w, &cfg), 0);
	CHECK_EQ(w.id, 3);
	CHECK_EQ(w.ring.fd, -1);
	CHECK(w.pkts_cap >= BLOCK_SIZE / 48, "pkts_cap %u too small for a full block", w.pkts_cap);
	memset(r, 0, sizeof(r));
	for (unsigned i = 0; i < 2; i++) {
		r[i].id = i + 1;
		CHECK_EQ(worker_add_handler(&w, &rec_ops, &r[i]), 0);
	}
	for (unsigned i = 2; i < WORKER_MAX_HANDLERS; i++)
		CHECK_EQ(worker_add_handler(&w, &rec_ops, &r[1]), 0);
	CHECK_EQ(worker_add_handler(&w, &rec_ops, &r[0]), -ENOSPC);
	CHECK_EQ(w.nhandlers, WORKER_MAX_HANDLERS);

	unit_v3_block(blk, BLOCK_SIZE, 5, 60, NULL);
	CHECK_EQ(worker_process_block(&w, (struct tpacket_block_desc *)blk), 0);
	CHECK_EQ(r[0].calls, 1);
	CHECK_EQ(r[0].pkts, 5);
	CHECK_EQ(r[0].first_len, 60);
	CHECK_EQ(call_order[0], 1); /* the order they were added in */
	CHECK_EQ(call_order[1], 2);
	CHECK_EQ(w.c.blocks, 1);
	CHECK_EQ(w.c.packets, 5);
	CHECK_EQ(w.c.bad_packets, 0);

	worker_fini(&w);
	CHECK(w.pkts == NULL && w.nhandlers == 0, "worker_fini left state behind");
	worker_fini(&w); /* twice: safe */
}

/* A ring whose socket is gone: the worker must stop the capture, not itself only. */
static void test_socket_failure_stops_capture(void)
{
	struct workers_ctl ctl = { 0 };
	struct worker_config cfg = { .cpu = -1, .ctl = &ctl, .block_size = BLOCK_SIZE };
	static uint8_t map[4 * BLOCK_SIZE] __attribute__((aligned(4096)));
	struct worker w;
	sigset_t wake;
	int fd;

	/* workers_request_stop wakes main with a signal: here main is us. */
	sigemptyset(&wake);
	sigaddset(&wake, WORKERS_WAKE_SIGNAL);
	pthread_sigmask(SIG_BLOCK, &wake, NULL);
	ctl.main_thread = pthread_self();

	CHECK_EQ(worker_init(&w, &cfg), 0);
	memset(map, 0, sizeof(map)); /* every block the kernel's: nothing to take */
	w.ring.map = map;
	w.ring.block_size = BLOCK_SIZE;
	w.ring.block_nr = 4;
	fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	close(fd);
	w.ring.fd = fd; /* closed: poll says POLLNVAL */
	worker_run(&w);
	CHECK_EQ(w.error, -EBADF);
	CHECK(atomic_load(&ctl.stop), "a failed socket left the capture running");
	CHECK(sigtimedwait(&wake, NULL, &(struct timespec){ 0 }) == WORKERS_WAKE_SIGNAL,
	      "main was not woken");
	w.ring.map = NULL; /* not ours to unmap */
	w.ring.fd = -1;
	worker_fini(&w);
}

int main(void)
{
	test_assembly();
	test_socket_failure_stops_capture();
	return unit_exit("test_worker");
}
