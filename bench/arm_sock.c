/*
 * ringcap-arm's receive methods: recvfrom, recvmmsg, the TPACKET_V2 frame
 * ring, and the TPACKET_V3 block loop (alone or in a fanout group). Each is an
 * arm_ops: open a socket, run the receive loop until main says stop, close.
 */
#include <errno.h>
#include <linux/if_ether.h>
#include <net/if.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <arpa/inet.h>
#include <unistd.h>

#include "bench/arm.h"

static bool stopping(const struct arm_sock *s)
{
	return atomic_load_explicit(s->stop, memory_order_relaxed);
}

static void publish(struct arm_sock *s, uint64_t kept, uint64_t bytes)
{
	__atomic_store_n(&s->ctr.kept, kept, __ATOMIC_RELAXED);
	__atomic_store_n(&s->ctr.bytes, bytes, __ATOMIC_RELAXED);
}

/* ---------------------------------------------------------------- sockets */

/* Protocol 0 until bind: nothing is queued before the socket is complete. */
static int packet_socket(struct arm_sock *s)
{
	s->fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
	if (s->fd < 0) {
		log_err("socket(AF_PACKET): %s", strerror(errno));
		return -errno;
	}
	return 0;
}

static int bind_all(struct arm_sock *s, const struct opts *o)
{
	struct sockaddr_ll sll;
	int ifindex = (int)if_nametoindex(o->ifname);

	if (!ifindex) {
		log_err("interface %s: no such device", o->ifname);
		return -ENODEV;
	}
	memset(&sll, 0, sizeof(sll));
	sll.sll_family = AF_PACKET;
	sll.sll_protocol = htons(ETH_P_ALL);
	sll.sll_ifindex = ifindex;
	if (bind(s->fd, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
		log_err("bind on %s: %s", o->ifname, strerror(errno));
		return -errno;
	}
	return 0;
}

/* Wake up every POLL_MS even without packets, so a blocked recv sees "stop". */
static int set_recv_options(struct arm_sock *s, const struct opts *o)
{
	struct timeval tv = { .tv_sec = 0, .tv_usec = POLL_MS * 1000 };
	int sz;

	if (setsockopt(s->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0) {
		log_err("SO_RCVTIMEO: %s", strerror(errno));
		return -errno;
	}
	if (!o->rcvbuf)
		return 0;
	sz = (int)o->rcvbuf;
	if (setsockopt(s->fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz)) < 0 &&
	    setsockopt(s->fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz)) < 0) {
		log_err("SO_RCVBUF %d: %s", sz, strerror(errno));
		return -errno;
	}
	return 0;
}

/* Read and reset the kernel's counters into 64-bit totals. tpacket_stats_v3 is a
 * superset of tpacket_stats; the kernel copies only what the socket version has. */
int stats_update(struct arm_sock *s)
{
	struct tpacket_stats_v3 st;
	socklen_t len = sizeof(st);

	if (s->fd < 0)
		return -EBADF;
	memset(&st, 0, sizeof(st));
	if (getsockopt(s->fd, SOL_PACKET, PACKET_STATISTICS, &st, &len) < 0)
		return -errno;
	s->st_packets += st.tp_packets;
	s->st_drops += st.tp_drops;
	if (len >= sizeof(st))
		s->st_freeze_q += st.tp_freeze_q_cnt;
	return 0;
}

/* ---------------------------------------------------------- recvfrom arm */

static int recv_open(struct arm_sock *s, const struct opts *o)
{
	int ret;

	s->buf_len = (o->method == M_RECVMMSG ? MMSG_BATCH : 1) * (size_t)RECV_SNAP;
	s->buf = pages_alloc(s->buf_len);
	if (!s->buf)
		return -ENOMEM;
	if ((ret = packet_socket(s)) || (ret = set_recv_options(s, o)) || (ret = bind_all(s, o)))
		return ret;
	return 0;
}

static void recv_close(struct arm_sock *s)
{
	pages_free(s->buf, s->buf_len);
	s->buf = NULL;
	xfree(s->msgs);
	xfree(s->iov);
	xfree(s->names);
	s->msgs = NULL;
	s->iov = NULL;
	s->names = NULL;
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
}

/* One packet per system call, with the sender's address as libpcap asked for it. */
static int recvfrom_run(struct arm_sock *s)
{
	uint64_t kept = 0, bytes = 0;
	struct sockaddr_ll from;
	socklen_t fromlen;
	ssize_t n;

	while (!stopping(s)) {
		fromlen = sizeof(from);
		n = recvfrom(s->fd, s->buf, RECV_SNAP, 0, (struct sockaddr *)&from, &fromlen);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			return -errno;
		}
		kept++;
		bytes += (uint64_t)n;
		publish(s, kept, bytes);
	}
	return 0;
}

/* ---------------------------------------------------------- recvmmsg arm */

static int recvmmsg_open(struct arm_sock *s, const struct opts *o)
{
	int ret = recv_open(s, o);

	if (ret)
		return ret;
	s->msgs = xcalloc(MMSG_BATCH, sizeof(*s->msgs));
	s->iov = xcalloc(MMSG_BATCH, sizeof(*s->iov));
	s->names = xcalloc(MMSG_BATCH, sizeof(*s->names));
	if (!s->msgs || !s->iov || !s->names)
		return -ENOMEM;
	for (unsigned i = 0; i < MMSG_BATCH; i++) {
		s->iov[i].iov_base = s->buf + (size_t)i * RECV_SNAP;
		s->iov[i].iov_len = RECV_SNAP;
		s->msgs[i].msg_hdr.msg_iov = &s->iov[i];
		s->msgs[i].msg_hdr.msg_iovlen = 1;
		s->msgs[i].msg_hdr.msg_name = &s->names[i];
	}
	return 0;
}

static int recvmmsg_run(struct arm_sock *s)
{
	uint64_t kept = 0, bytes = 0;
	int n;

	while (!stopping(s)) {
		for (unsigned i = 0; i < MMSG_BATCH; i++)
			s->msgs[i].msg_hdr.msg_namelen = sizeof(s->names[i]);
		/* MSG_WAITFORONE: block (up to SO_RCVTIMEO) for the first, take the rest
		 * that are already queued. */
		n = recvmmsg(s->fd, s->msgs, MMSG_BATCH, MSG_WAITFORONE, NULL);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			return -errno;
		}
		for (int i = 0; i < n; i++)
			bytes += s->msgs[i].msg_len;
		kept += (uint64_t)n;
		publish(s, kept, bytes);
	}
	return 0;
}

/* ---------------------------------------------------------------- v2 arm */

static int v2_open(struct arm_sock *s, const struct opts *o)
{
	struct iface ifc;
	struct v2ring_config cfg = {
		.iface = &ifc,
		.frame_size = RECV_SNAP,
		.frame_nr = (uint32_t)(o->ring_bytes / RECV_SNAP),
		.block_size = o->block_size, /* as the v3 arms */
	};
	int ret = iface_lookup(o->ifname, &ifc);

	if (ret) {
		log_err("interface %s: %s", o->ifname, strerror(-ret));
		return ret;
	}
	ret = v2ring_open(&s->v2, &cfg);
	if (ret)
		return ret;
	s->fd = s->v2.fd;
	return 0;
}

static void v2_close(struct arm_sock *s)
{
	v2ring_close(&s->v2);
	s->fd = -1;
}

static int v2_run(struct arm_sock *s)
{
	struct v2ring *r = &s->v2;
	struct pollfd pfd = { .fd = s->fd, .events = POLLIN | POLLERR };
	uint64_t kept = 0, bytes = 0;

	while (!stopping(s)) {
		struct tpacket2_hdr *h;

		if (!v2ring_ready(r)) {
			if (poll(&pfd, 1, POLL_MS) < 0 && errno != EINTR)
				return -errno;
			continue;
		}
		h = v2ring_frame_hdr(r, r->cur);
		kept++;
		bytes += h->tp_len;
		v2ring_release(r, h);
		/* per frame, also while the ring never runs dry: main reads "no
		 * progress" as idle */
		publish(s, kept, bytes);
	}
	return 0;
}

/* ---------------------------------------------------------------- v3 arms */

static int fanout_group = -1; /* set by the first v3-fanout socket */

static int v3_open(struct arm_sock *s, const struct opts *o)
{
	struct iface ifc;
	struct ring_config cfg = {
		.iface = &ifc,
		.block_size = o->block_size,
		.block_nr = (uint32_t)(o->ring_bytes / o->block_size),
		.frame_size = RECV_SNAP,
		.block_timeout_ms = 8,         /* ringcap's default */
		.filter = NULL,
		.fanout_mode = PACKET_FANOUT_HASH | PACKET_FANOUT_FLAG_DEFRAG,
		.fanout = o->method == M_V3_FANOUT,
		.fanout_id = fanout_group,
	};
	int ret = iface_lookup(o->ifname, &ifc);

	if (ret) {
		log_err("interface %s: %s", o->ifname, strerror(-ret));
		return ret;
	}
	ret = ring_open(&s->v3, &cfg);
	if (ret)
		return ret;
	s->fd = s->v3.fd;
	if (cfg.fanout)
		fanout_group = s->v3.fanout_id;
	return 0;
}

static void v3_close(struct arm_sock *s)
{
	ring_close(&s->v3);
	s->fd = -1;
}

/* The block is the unit of work: poll only while the current block is the
 * kernel's, count its packets, give it back in ring order. */
static int v3_run(struct arm_sock *s)
{
	struct ring *r = &s->v3;
	uint64_t kept = 0, bytes = 0, lied = 0;
	struct block_iter it;
	struct pkt_view p;
	int ret;

	while (!stopping(s)) {
		struct tpacket_block_desc *b = ring_take(r);

		if (!b) {
			if ((ret = ring_wait(r, POLL_MS)))
				return ret;
			continue;
		}
		block_iter_init(&it, b, r->block_size);
		while (block_iter_next(&it, &p)) {
			kept++;
			bytes += p.len;
		}
		if (it.lied)
			__atomic_store_n(&s->ctr.lied, ++lied, __ATOMIC_RELAXED);
		ring_give_back(r, b);
		publish(s, kept, bytes);
	}
	return 0;
}

const struct arm_ops arm_ops[] = {
	[M_RECVFROM] = { recv_open, recvfrom_run, recv_close },
	[M_RECVMMSG] = { recvmmsg_open, recvmmsg_run, recv_close },
	[M_V2] = { v2_open, v2_run, v2_close },
	[M_V3] = { v3_open, v3_run, v3_close },
	[M_V3_FANOUT] = { v3_open, v3_run, v3_close },
};
