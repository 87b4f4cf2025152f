/*
 * Send-only TX ring. Set-up order as af_packet.c wants it: socket(protocol 0,
 * so it never receives) → PACKET_VERSION V2 → optional QDISC_BYPASS →
 * PACKET_TX_RING (halved on ENOMEM if asked) → mmap → bind(protocol 0) →
 * optional send-buffer growth. PACKET_LOSS stays off so a frame
 * the kernel rejects is marked WRONG_FORMAT instead of vanishing.
 */
#include <errno.h>
#include <net/if.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ring/ring.h"
#include "ring/txring.h"
#include "ring/sock.h"
#include "util/util.h"

#define TX_RING "(tx ring)" /* in the line a failed step logs */

/* A request for about `want` frames: whole blocks of 16 frames (at least a
 * page), at least one block. */
static void ring_request(struct tpacket_req *req, uint32_t frame_size, uint32_t want)
{
	uint32_t per_block;

	memset(req, 0, sizeof(*req));
	req->tp_frame_size = frame_size;
	req->tp_block_size = frame_size * 16 > 4096 ? frame_size * 16 : 4096;
	per_block = req->tp_block_size / frame_size;
	req->tp_block_nr = want / per_block ? want / per_block : 1;
	req->tp_frame_nr = req->tp_block_nr * per_block;
}

/*
 * PACKET_TX_RING. The kernel allocates every block in this call, so ENOMEM
 * comes here, not at mmap: with frame_nr_min set, halve and retry while the
 * request stays at or above it. 0 or -errno of the last try.
 */
static int ring_set(struct txring *t, const struct txring_config *cfg, struct tpacket_req *req)
{
	uint32_t want = cfg->frame_nr;

	for (;;) {
		ring_request(req, cfg->frame_size, want);
		if (setsockopt(t->fd, SOL_PACKET, PACKET_TX_RING, req, sizeof(*req)) == 0)
			break;
		if (errno != ENOMEM || !cfg->frame_nr_min || want / 2 < cfg->frame_nr_min ||
		    want / 2 < req->tp_frame_nr / req->tp_block_nr)
			return -errno;
		want /= 2;
	}
	if (want < cfg->frame_nr)
		log_warn("tx ring on %s shrunk to %u frames (no memory for %u)", cfg->iface->name,
			 req->tp_frame_nr, cfg->frame_nr);
	return 0;
}

/* As big as the ring, capped at 1 GiB (the kernel takes an int). */
static void grow_sndbuf(const struct txring *t)
{
	int bytes = t->map_len > (1u << 30) ? 1 << 30 : (int)t->map_len;

	if (setsockopt(t->fd, SOL_SOCKET, SO_SNDBUFFORCE, &bytes, sizeof(bytes)) < 0)
		(void)setsockopt(t->fd, SOL_SOCKET, SO_SNDBUF, &bytes, sizeof(bytes));
}

int txring_open(struct txring *t, const struct txring_config *cfg)
{
	const char *ifname = cfg->iface->name;
	struct tpacket_req req;
	int ret;

	memset(t, 0, sizeof(*t));
	t->fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
	if (t->fd < 0)
		return sock_fail(ifname, TX_RING, "socket(AF_PACKET)", errno);
	ret = sock_step(ifname, TX_RING, "PACKET_VERSION(TPACKET_V2)",
			sock_packet_opt(t->fd, PACKET_VERSION, TPACKET_V2));
	if (!ret && cfg->qdisc_bypass)
		ret = sock_step(ifname, TX_RING, "PACKET_QDISC_BYPASS",
				sock_packet_opt(t->fd, PACKET_QDISC_BYPASS, 1));
	if (!ret)
		ret = sock_step(ifname, TX_RING, "PACKET_TX_RING", ring_set(t, cfg, &req));
	if (ret)
		goto out_close;
	t->frame_size = req.tp_frame_size;
	t->frame_nr = req.tp_frame_nr;
	t->map_len = (size_t)req.tp_block_size * req.tp_block_nr;
	ret = sock_step(ifname, TX_RING, "mmap(tx ring)", sock_map_ring(t->fd, t->map_len, &t->map));
	if (ret)
		goto out_close;
	/* protocol 0: send only, no receive hook */
	ret = sock_step(ifname, TX_RING, "bind", sock_bind(t->fd, cfg->iface->index, 0));
	if (ret)
		goto out_close;
	if (cfg->grow_sndbuf)
		grow_sndbuf(t);
	return 0;
out_close:
	txring_close(t); /* safe on a half-built ring */
	return ret;
}

void txring_close(struct txring *t)
{
	if (t->map)
		munmap(t->map, t->map_len);
	t->map = NULL;
	if (t->fd >= 0)
		close(t->fd);
	t->fd = -1;
}

uint8_t *txring_frame(struct txring *t)
{
	struct tpacket2_hdr *h = txring_slot(t, t->cur);
	uint32_t st = __atomic_load_n(&h->tp_status, __ATOMIC_ACQUIRE);

	/* WRONG_FORMAT frames were refused by the kernel; reuse them. */
	if (st != TP_STATUS_AVAILABLE && st != TP_STATUS_WRONG_FORMAT)
		return NULL;
	return (uint8_t *)h + TXRING_DATA_OFF;
}

void txring_queue(struct txring *t, uint32_t len)
{
	struct tpacket2_hdr *h = txring_slot(t, t->cur);

	h->tp_len = len;
	h->tp_snaplen = len;
	__atomic_store_n(&h->tp_status, TP_STATUS_SEND_REQUEST, __ATOMIC_RELEASE);
	t->cur = t->cur + 1 == t->frame_nr ? 0 : t->cur + 1;
	t->queued++;
}

/* After a partial send: the kernel takes frames in ring order, so the queued
 * frames it took are the oldest ones, up to the first still SEND_REQUEST. */
static void recount_queued(struct txring *t)
{
	uint32_t first = (t->cur + t->frame_nr - t->queued % t->frame_nr) % t->frame_nr;
	uint32_t taken = 0;

	while (taken < t->queued) {
		const struct tpacket2_hdr *h = txring_slot(t, (first + taken) % t->frame_nr);

		if (__atomic_load_n(&h->tp_status, __ATOMIC_ACQUIRE) == TP_STATUS_SEND_REQUEST)
			break;
		taken++;
	}
	t->queued -= taken;
}

/*
 * With MSG_DONTWAIT the kernel sends every SEND_REQUEST frame from its head
 * on, and stops at the first one the device refuses (qdisc or veth backlog
 * full): that frame goes back to SEND_REQUEST, the kernel's head stays on it,
 * and send() fails with ENOBUFS (EAGAIN when the socket's send buffer is
 * full). The refused frames are still queued: `queued` keeps counting them, so
 * the next kick retries them even when nothing new was queued in between.
 */
int txring_kick(struct txring *t)
{
	if (!t->queued)
		return 0;
	if (send(t->fd, NULL, 0, MSG_DONTWAIT) < 0) {
		if (errno != EAGAIN && errno != ENOBUFS)
			return -errno;
		recount_queued(t);
		return 0;
	}
	t->queued = 0;
	return 0;
}
