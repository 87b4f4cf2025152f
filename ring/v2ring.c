/*
 * The TPACKET_V2 RX ring, set up as named steps in the order af_packet.c needs
 * (the same as ring.c's for V3):
 *
 *   socket(protocol 0)  receives nothing until bind gives it a protocol, so
 *   attach_filter       no unfiltered packet is ever queued;
 *   set_version         TPACKET_V2, before the ring exists (EBUSY after);
 *   ignore_outgoing     our own replies and announcements are not requests;
 *   request_ring        tpacket_req: whole frames per page-multiple block;
 *                       on ENOMEM halve the frame count and retry;
 *   map_ring            one mmap;
 *   bind_iface          ETH_P_ALL on the interface: packets start to flow;
 *   enter_allmulti      solicited-node multicast frames for addresses the
 *                       interface does not hold (a real NIC filters them).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ring/ring.h"
#include "ring/sock.h"
#include "util/util.h"

static int v2_fail(const struct v2ring_config *cfg, const char *call, int err)
{
	return sock_fail(cfg->iface->name, "(V2 rx ring)", call, err);
}

static int v2_step(const struct v2ring_config *cfg, const char *call, int ret)
{
	return sock_step(cfg->iface->name, "(V2 rx ring)", call, ret);
}

static int v2_attach_filter(struct v2ring *r, const struct v2ring_config *cfg)
{
	return cfg->filter ? v2_step(cfg, "SO_ATTACH_FILTER",
				     sock_attach_filter(r->fd, &cfg->filter->prog)) : 0;
}

static int v2_set_version(struct v2ring *r, const struct v2ring_config *cfg)
{
	return v2_step(cfg, "PACKET_VERSION(TPACKET_V2)",
		       sock_packet_opt(r->fd, PACKET_VERSION, TPACKET_V2));
}

static int v2_ignore_outgoing(struct v2ring *r, const struct v2ring_config *cfg)
{
	return cfg->ignore_outgoing ? v2_step(cfg, "PACKET_IGNORE_OUTGOING",
					      sock_packet_opt(r->fd, PACKET_IGNORE_OUTGOING, 1)) : 0;
}

static int v2_request_ring(struct v2ring *r, const struct v2ring_config *cfg)
{
	struct tpacket_req req;
	uint32_t block = cfg->block_size ? cfg->block_size : 4096, nr = cfg->frame_nr;

	if (!cfg->frame_size || cfg->frame_size % 16 || (block & (block - 1)))
		return v2_fail(cfg, "PACKET_RX_RING", EINVAL);
	while (block < cfg->frame_size)
		block *= 2;
	for (;;) {
		memset(&req, 0, sizeof(req));
		req.tp_block_size = block;
		req.tp_frame_size = cfg->frame_size;
		req.tp_block_nr = (nr + block / cfg->frame_size - 1) / (block / cfg->frame_size);
		req.tp_frame_nr = req.tp_block_nr * (block / cfg->frame_size);
		if (setsockopt(r->fd, SOL_PACKET, PACKET_RX_RING, &req, sizeof(req)) == 0)
			break;
		if (errno != ENOMEM || nr <= 64)
			return v2_fail(cfg, "PACKET_RX_RING", errno);
		nr /= 2;
	}
	if (nr != cfg->frame_nr)
		log_warn("%s: V2 ring shrunk to %u frames (ENOMEM)", cfg->iface->name,
			 req.tp_frame_nr);
	r->frame_size = req.tp_frame_size;
	r->frame_nr = req.tp_frame_nr;
	r->block_size = req.tp_block_size;
	r->frames_per_block = block / cfg->frame_size;
	r->map_len = (size_t)req.tp_block_size * req.tp_block_nr;
	return 0;
}

static int v2_map_ring(struct v2ring *r, const struct v2ring_config *cfg)
{
	return v2_step(cfg, "mmap(V2 rx ring)", sock_map_ring(r->fd, r->map_len, &r->map));
}

static int v2_bind_iface(struct v2ring *r, const struct v2ring_config *cfg)
{
	return v2_step(cfg, "bind", sock_bind(r->fd, cfg->iface->index, ETH_P_ALL));
}

static int v2_enter_allmulti(struct v2ring *r, const struct v2ring_config *cfg)
{
	return cfg->allmulti ? v2_step(cfg, "PACKET_ADD_MEMBERSHIP(ALLMULTI)",
				       sock_membership(r->fd, cfg->iface->index,
						       PACKET_MR_ALLMULTI)) : 0;
}

int v2ring_open(struct v2ring *r, const struct v2ring_config *cfg)
{
	int ret;

	memset(r, 0, sizeof(*r));
	r->fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
	if (r->fd < 0)
		return v2_fail(cfg, "socket(AF_PACKET)", errno);
	if ((ret = v2_attach_filter(r, cfg)) || (ret = v2_set_version(r, cfg)) ||
	    (ret = v2_ignore_outgoing(r, cfg)) || (ret = v2_request_ring(r, cfg)) ||
	    (ret = v2_map_ring(r, cfg)) || (ret = v2_bind_iface(r, cfg)) ||
	    (ret = v2_enter_allmulti(r, cfg)))
		goto out_close;
	return 0;
out_close:
	v2ring_close(r);
	return ret;
}

void v2ring_close(struct v2ring *r)
{
	if (r->map)
		munmap(r->map, r->map_len);
	r->map = NULL;
	if (r->fd > 0)
		close(r->fd);
	r->fd = -1;
}

int v2ring_stop_receiving(struct v2ring *r)
{
	return sock_reject_all(r->fd);
}

int v2ring_take_error(struct v2ring *r)
{
	return sock_take_error(r->fd);
}

int v2ring_stats_update(struct v2ring *r)
{
	return sock_stats_add(r->fd, &r->stats);
}
