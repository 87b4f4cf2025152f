/*
 * Ring set-up as a chain of named steps, in the order af_packet.c needs:
 *
 *   socket(protocol 0)  receives nothing until bind gives it a protocol, so
 *   attach_filter       no unfiltered packet is ever queued (no drain needed);
 *   set_version         TPACKET_V3, before any ring exists (EBUSY after);
 *   set_ignore_outgoing on loopback every packet passes twice, out and in;
 *   request_ring        tpacket_req3; on ENOMEM halve the block count and retry;
 *   map_ring            one mmap of the whole ring;
 *   bind_iface          ETH_P_ALL on the interface: packets start to flow;
 *   enter_promisc       PACKET_MR_PROMISC: the kernel counts it per socket and
 *                       undoes it when the socket closes, even on a crash;
 *   join_fanout         needs a bound socket on a running interface.
 *
 * Each step logs one line naming the call and the interface on failure.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <poll.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ring/ring.h"
#include "ring/sock.h"
#include "util/util.h"

#ifndef PACKET_FANOUT_FLAG_IGNORE_OUTGOING
#define PACKET_FANOUT_FLAG_IGNORE_OUTGOING 0x4000 /* Linux 4.20; older headers lack it */
#endif

int iface_lookup(const char *ifname, struct iface *out)
{
	struct ifreq ifr;
	int fd, ret = 0;

	memset(out, 0, sizeof(*out));
	if (strlen(ifname) >= IFNAMSIZ || strlen(ifname) >= sizeof(out->name))
		return -ENODEV;
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	strcpy(ifr.ifr_name, ifname);
	strcpy(out->name, ifname);
	if (ioctl(fd, SIOCGIFINDEX, &ifr) < 0) {
		ret = -ENODEV;
		goto out_close;
	}
	out->index = ifr.ifr_ifindex;
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0) {
		ret = -errno;
		goto out_close;
	}
	out->up = ifr.ifr_flags & IFF_UP;
	out->carrier = ifr.ifr_flags & IFF_RUNNING;
	if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0) {
		ret = -errno;
		goto out_close;
	}
	memcpy(out->mac, ifr.ifr_hwaddr.sa_data, 6);
	out->type = ifr.ifr_hwaddr.sa_family;
	/* As libpcap maps them (pcap-linux.c map_arphrd_to_dlt), for the
	 * types whose frames a SOCK_RAW packet socket hands over as they are. */
	switch (out->type) {
	case ARPHRD_ETHER:
		out->linktype = LINKTYPE_ETHERNET;
		break;
	case ARPHRD_LOOPBACK:
		out->linktype = LINKTYPE_ETHERNET; /* a zeroed Ethernet header */
		out->loopback = true;
		break;
	case ARPHRD_NONE:  /* tun, WireGuard: the frame starts at the IP header */
	case ARPHRD_RAWIP:
		out->linktype = LINKTYPE_RAW;
		break;
	default:
		out->linktype = 0;
	}
	if (ioctl(fd, SIOCGIFMTU, &ifr) < 0) {
		ret = -errno;
		goto out_close;
	}
	out->mtu = (unsigned)ifr.ifr_mtu;
	if (!out->up) /* carrier may come later; down may not */
		ret = -ENETDOWN;
out_close:
	close(fd);
	return ret;
}

static int fail(const struct ring_config *cfg, const char *call, int err)
{
	return sock_fail(cfg->iface->name, NULL, call, err);
}

static int step(const struct ring_config *cfg, const char *call, int ret)
{
	return sock_step(cfg->iface->name, NULL, call, ret);
}

/* Not locked (SO_LOCK_FILTER): at the end of capture ring_stop_receiving
 * replaces it with a reject-all program, so the final counts are exact. */
static int attach_filter(struct ring *r, const struct ring_config *cfg)
{
	return cfg->filter ? step(cfg, "SO_ATTACH_FILTER",
				  sock_attach_filter(r->fd, &cfg->filter->prog)) : 0;
}

static int set_ignore_outgoing(struct ring *r, const struct ring_config *cfg)
{
	return cfg->ignore_outgoing ? step(cfg, "PACKET_IGNORE_OUTGOING",
					   sock_packet_opt(r->fd, PACKET_IGNORE_OUTGOING, 1)) : 0;
}

static int enter_promisc(struct ring *r, const struct ring_config *cfg)
{
	return cfg->promisc ? step(cfg, "PACKET_ADD_MEMBERSHIP(PROMISC)",
				   sock_membership(r->fd, cfg->iface->index, PACKET_MR_PROMISC)) : 0;
}

static int set_version(struct ring *r, const struct ring_config *cfg)
{
	return step(cfg, "PACKET_VERSION(TPACKET_V3)",
		    sock_packet_opt(r->fd, PACKET_VERSION, TPACKET_V3));
}

static int request_ring(struct ring *r, const struct ring_config *cfg)
{
	struct tpacket_req3 req;
	uint32_t nr = cfg->block_nr;

	for (;;) {
		memset(&req, 0, sizeof(req));
		req.tp_block_size = cfg->block_size;
		req.tp_block_nr = nr;
		req.tp_frame_size = cfg->frame_size;
		req.tp_frame_nr = (cfg->block_size / cfg->frame_size) * nr;
		req.tp_retire_blk_tov = cfg->block_timeout_ms;
		req.tp_feature_req_word = 0;
		if (setsockopt(r->fd, SOL_PACKET, PACKET_RX_RING, &req, sizeof(req)) == 0)
			break;
		/* Like netsniff-ng: halve on ENOMEM, but keep at least 4 blocks. */
		if (errno != ENOMEM || nr <= 4)
			return fail(cfg, "PACKET_RX_RING", errno);
		nr /= 2;
	}
	if (nr != cfg->block_nr)
		log_warn("%s: ring shrunk to %u blocks of %u bytes (ENOMEM)", cfg->iface->name, nr,
			 cfg->block_size);
	r->block_size = cfg->block_size;
	r->block_nr = nr;
	return 0;
}

static int map_ring(struct ring *r, const struct ring_config *cfg)
{
	int ret;

	r->map_len = (size_t)r->block_size * r->block_nr;
	ret = step(cfg, "mmap(rx ring)", sock_map_ring(r->fd, r->map_len, &r->map));
	if (ret)
		r->map_len = 0;
	return ret;
}

static int bind_iface(struct ring *r, const struct ring_config *cfg)
{
	return step(cfg, "bind", sock_bind(r->fd, cfg->iface->index, ETH_P_ALL));
}

static int join_fanout(struct ring *r, const struct ring_config *cfg)
{
	uint32_t arg;
	socklen_t len = sizeof(arg);
	uint16_t mode = cfg->fanout_mode;

	if (!cfg->fanout)
		return 0;
	/* In a group the kernel runs the group's hook, not the socket's: the
	 * socket option alone would not keep outgoing packets out. */
	if (cfg->ignore_outgoing)
		mode |= PACKET_FANOUT_FLAG_IGNORE_OUTGOING;
	if (cfg->fanout_id < 0) {
		/* First member: the kernel picks an id unused in this namespace, so
		 * two ringcaps never share a group by accident. */
		arg = (uint32_t)(mode | PACKET_FANOUT_FLAG_UNIQUEID) << 16;
	} else {
		arg = ((uint32_t)mode << 16) | (uint16_t)cfg->fanout_id;
	}
	if (setsockopt(r->fd, SOL_PACKET, PACKET_FANOUT, &arg, sizeof(arg)) < 0)
		return fail(cfg, "PACKET_FANOUT", errno);
	if (getsockopt(r->fd, SOL_PACKET, PACKET_FANOUT, &arg, &len) < 0)
		return fail(cfg, "getsockopt(PACKET_FANOUT)", errno);
	r->fanout_id = (int)(arg & 0xffff);
	return 0;
}

int ring_open(struct ring *r, const struct ring_config *cfg)
{
	int ret;

	memset(r, 0, sizeof(*r));
	r->fd = -1;
	r->fanout_id = -1;
	r->ifindex = cfg->iface->index;
	r->iface_index = cfg->iface_index;
	r->fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
	if (r->fd < 0 && errno == EPERM) {
		log_err("socket(AF_PACKET) on %s: capturing needs root (or CAP_NET_RAW)",
			cfg->iface->name);
		return -EPERM;
	}
	if (r->fd < 0)
		return fail(cfg, "socket(AF_PACKET)", errno);
	if ((ret = attach_filter(r, cfg)) || (ret = set_version(r, cfg)) ||
	    (ret = set_ignore_outgoing(r, cfg)) || (ret = request_ring(r, cfg)) ||
	    (ret = map_ring(r, cfg)) || (ret = bind_iface(r, cfg)) ||
	    (ret = enter_promisc(r, cfg)) || (ret = join_fanout(r, cfg)))
		goto out_close;
	return 0;
out_close:
	ring_close(r);
	return ret;
}

void ring_close(struct ring *r)
{
	if (r->map)
		munmap(r->map, r->map_len);
	r->map = NULL;
	if (r->fd >= 0)
		close(r->fd);
	r->fd = -1;
}

int ring_stop_receiving(struct ring *r)
{
	return sock_reject_all(r->fd);
}

uint64_t ring_pending(const struct ring *r)
{
	uint64_t n = 0;

	for (uint32_t i = 0, b = r->cur; i < r->block_nr; i++, b = b + 1 == r->block_nr ? 0 : b + 1) {
		const struct tpacket_hdr_v1 *h = &ring_block(r, b)->hdr.bh1;
		uint32_t st = __atomic_load_n(&h->block_status, __ATOMIC_ACQUIRE);

		/* The kernel writes num_pkts of the block it fills as it goes;
		 * the first block it does not own, in ring order, ends the walk. */
		n += __atomic_load_n(&h->num_pkts, __ATOMIC_RELAXED);
		if (!(st & TP_STATUS_USER))
			break;
	}
	return n;
}

uint32_t ring_user_blocks(const struct ring *r)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < r->block_nr; i++)
		if (__atomic_load_n(&ring_block(r, i)->hdr.bh1.block_status, __ATOMIC_RELAXED) &
		    TP_STATUS_USER)
			n++;
	return n;
}

int ring_stats_update(struct ring *r)
{
	return sock_stats_add(r->fd, &r->stats);
}

/* Is the socket still bound to its interface? af_packet.c unbinds it (ifindex
 * -1 in getsockname) when the interface is unregistered. */
static int ring_still_bound(struct ring *r)
{
	struct sockaddr_ll sll;
	socklen_t len = sizeof(sll);

	if (getsockname(r->fd, (struct sockaddr *)&sll, &len) < 0)
		return -errno;
	return sll.sll_ifindex == r->ifindex ? 0 : -ENODEV;
}

/* poll() says POLLERR while the socket has a pending error; reading SO_ERROR
 * clears it (else poll would return at once forever). af_packet.c sets
 * ENETDOWN when the interface goes down, and a deleted interface goes down
 * first and is unregistered after, maybe after we looked: so while it is
 * down, every wait asks again whether the socket is still bound. Down is
 * survived (the socket receives again once the interface is up); gone is not. */
int ring_wait(struct ring *r, int timeout_ms)
{
	struct pollfd pfd = { .fd = r->fd, .events = POLLIN | POLLRDNORM | POLLERR };
	int n = poll(&pfd, 1, timeout_ms);

	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	if (pfd.revents & POLLNVAL)
		return -EBADF;
	if (pfd.revents & POLLERR) {
		int err = sock_take_error(r->fd);

		if (err < 0)
			return err;
		if (err && err != ENETDOWN)
			return -err;
		if (err == ENETDOWN)
			r->down = true;
	} else if (pfd.revents & POLLIN) {
		r->down = false;
	}
	return r->down ? ring_still_bound(r) : 0;
}
