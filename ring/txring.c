/*
 * Send-only TX ring. Set-up order as af_packet.c wants it: socket(protocol 0,
 * so it never receives) → PACKET_VERSION V2 → optional QDISC_BYPASS →
 * PACKET_TX_RING → mmap → bind(protocol 0). PACKET_LOSS stays off so a frame
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
#include "util/util.h"

#define TX_DATA_OFF (TPACKET2_HDRLEN - sizeof(struct sockaddr_ll))

static int tx_fail(const struct txring_config *cfg, const char *call, int err)
{
	log_err("%s on %s (tx ring): %s", call, cfg->iface->name, strerror(err));
	return -err;
}

int txring_open(struct txring *t, const struct txring_config *cfg)
{
	struct tpacket_req req;
	struct sockaddr_ll sll;
	int v = TPACKET_V2, one = 1, ret;

	memset(t, 0, sizeof(*t));
	t->fd = -1;
	t->fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
	if (t->fd < 0)
		return tx_fail(cfg, "socket(AF_PACKET)", errno);
	if (setsockopt(t->fd, SOL_PACKET, PACKET_VERSION, &v, sizeof(v)) < 0) {
		ret = tx_fail(cfg, "PACKET_VERSION(TPACKET_V2)", errno);
		goto out_close;
	}
	if (cfg->qdisc_bypass &&
	    setsockopt(t->fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof(one)) < 0) {
		ret = tx_fail(cfg, "PACKET_QDISC_BYPASS", errno);
		goto out_close;
	}
	memset(&req, 0, sizeof(req));
	req.tp_frame_size = cfg->frame_size;
	req.tp_frame_nr = cfg->frame_nr;
	req.tp_block_size = cfg->frame_size * 16 > 4096 ? cfg->frame_size * 16 : 4096;
	req.tp_block_nr = cfg->frame_nr / (req.tp_block_size / cfg->frame_size);
	req.tp_frame_nr = req.tp_block_nr * (req.tp_block_size / cfg->frame_size);
	if (setsockopt(t->fd, SOL_PACKET, PACKET_TX_RING, &req, sizeof(req)) < 0) {
		ret = tx_fail(cfg, "PACKET_TX_RING", errno);
		goto out_close;
	}
	t->frame_size = req.tp_frame_size;
	t->frame_nr = req.tp_frame_nr;
	t->map_len = (size_t)req.tp_block_size * req.tp_block_nr;
	t->map = mmap(NULL, t->map_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, t->fd, 0);
	if (t->map == MAP_FAILED) {
		t->map = NULL;
		ret = tx_fail(cfg, "mmap(tx ring)", errno);
		goto out_close;
	}
	memset(&sll, 0, sizeof(sll));
	sll.sll_family = AF_PACKET;
	sll.sll_protocol = 0; /* send only: no receive hook */
	sll.sll_ifindex = cfg->iface->index;
	if (bind(t->fd, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
		ret = tx_fail(cfg, "bind", errno);
		goto out_unmap;
	}
	return 0;
out_unmap:
	munmap(t->map, t->map_len);
	t->map = NULL;
out_close:
	close(t->fd);
	t->fd = -1;
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

static struct tpacket2_hdr *frame_hdr(const struct txring *t, uint32_t i)
{
	return (struct tpacket2_hdr *)(t->map + (size_t)i * t->frame_size);
}

uint8_t *txring_frame(struct txring *t)
{
	struct tpacket2_hdr *h = frame_hdr(t, t->cur);
	uint32_t st = __atomic_load_n(&h->tp_status, __ATOMIC_ACQUIRE);

	/* WRONG_FORMAT frames were refused by the kernel; reuse them. */
	if (st != TP_STATUS_AVAILABLE && st != TP_STATUS_WRONG_FORMAT)
		return NULL;
	return (uint8_t *)h + TX_DATA_OFF;
}

void txring_queue(struct txring *t, uint32_t len)
{
	struct tpacket2_hdr *h = frame_hdr(t, t->cur);

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
		const struct tpacket2_hdr *h = frame_hdr(t, (first + taken) % t->frame_nr);

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
