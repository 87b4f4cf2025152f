/*
 * Private to ring/: the socket calls every packet ring's set-up makes (V3 RX
 * in ring.c, V2 RX in v2ring.c), each returning 0 or -errno; the callers log
 * one line naming the call and the interface.
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
