/*
 * Private to ring/: the socket calls every packet ring's set-up makes (V3 RX
 * in ring.c, V2 RX in v2ring.c, V2 TX in txring.c), each returning 0 or
 * -errno, and the one line a failed step logs (sock_fail, sock_step).
 */
#ifndef RINGCAP_RING_SOCK_H
#define RINGCAP_RING_SOCK_H

#include <arpa/inet.h>
#include <errno.h>
#include <linux/filter.h>
#include <linux/if_packet.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>

#include "ring/ring.h"
#include "util/util.h"

/* A set-up call failed with errno `err`: one line naming the call, the
 * interface and (when not NULL) which ring, e.g. "(tx ring)"; -err. */
static inline int sock_fail(const char *ifname, const char *ring, const char *call, int err)
{
	log_err("%s on %s%s%s: %s", call, ifname, ring ? " " : "", ring ? ring : "",
		strerror(err));
	return -err;
}

/* One step: `ret` (0 or -errno) of the call named `call`, logged once. */
static inline int sock_step(const char *ifname, const char *ring, const char *call, int ret)
{
	return ret ? sock_fail(ifname, ring, call, -ret) : 0;
}

static inline int sock_attach_filter(int fd, const struct sock_fprog *prog)
{
	return setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, prog, sizeof(*prog)) < 0 ? -errno : 0;
}

/* A program that takes nothing: the socket stops queueing (and counting). */
static inline int sock_reject_all(int fd)
{
	struct sock_filter reject = BPF_STMT(BPF_RET | BPF_K, 0);
	struct sock_fprog prog = { .len = 1, .filter = &reject };

	if (fd < 0)
		return -EBADF;
	return sock_attach_filter(fd, &prog);
}

static inline int sock_packet_opt(int fd, int opt, int value)
{
	return setsockopt(fd, SOL_PACKET, opt, &value, sizeof(value)) < 0 ? -errno : 0;
}

static inline int sock_membership(int fd, int ifindex, unsigned short type)
{
	struct packet_mreq mr = { .mr_ifindex = ifindex, .mr_type = type };

	return setsockopt(fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof(mr)) < 0 ? -errno : 0;
}

/* Bind to the interface with a protocol (host order; ETH_P_ALL to receive). */
static inline int sock_bind(int fd, int ifindex, unsigned short protocol)
{
	struct sockaddr_ll sll;

	memset(&sll, 0, sizeof(sll));
	sll.sll_family = AF_PACKET;
	sll.sll_protocol = htons(protocol);
	sll.sll_ifindex = ifindex;
	return bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0 ? -errno : 0;
}

/* Add PACKET_STATISTICS to the 64-bit totals. The kernel zeroes them on
 * every read, tp_packets already counts tp_drops, and a V2 socket fills only
 * the first two fields (freeze_q stays 0). */
static inline int sock_stats_add(int fd, struct ring_stats *acc)
{
	struct tpacket_stats_v3 st;
	socklen_t len = sizeof(st);

	if (fd < 0)
		return -EBADF;
	memset(&st, 0, sizeof(st));
	if (getsockopt(fd, SOL_PACKET, PACKET_STATISTICS, &st, &len) < 0)
		return -errno;
	acc->packets += st.tp_packets;
	acc->drops += st.tp_drops;
	acc->freeze_q += st.tp_freeze_q_cnt;
	return 0;
}

/* Read and clear the socket's pending error (SO_ERROR): the error, 0 if
 * none, or -errno if it cannot be read. poll() says POLLERR until it is. */
static inline int sock_take_error(int fd)
{
	int err = 0;
	socklen_t len = sizeof(err);

	return getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 ? -errno : err;
}

/* The whole ring in one shared mapping, pre-faulted. */
static inline int sock_map_ring(int fd, size_t len, uint8_t **map)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, 0);

	if (p == MAP_FAILED)
		return -errno;
	*map = p;
	return 0;
}

#endif
