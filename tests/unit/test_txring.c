/*
 * txring_open's ENOMEM handling and send-buffer growth, on a real TX ring.
 * The kernel has memory for any ring a test may ask for, so its ENOMEM is
 * played here: this binary's setsockopt() (it takes precedence over libc's for
 * the library linked in) refuses PACKET_TX_RING requests above a limit with
 * ENOMEM, records every request, and passes the rest to the kernel.
 *
 *   - frame_nr_min 0 (the responder's default): one request, -ENOMEM;
 *   - frame_nr_min set: halved until the kernel's limit fits, the ring has
 *     that many frames, and still sends: frames queued on lo in a network
 *     namespace of our own arrive, counted by a packet socket;
 *   - never below frame_nr_min: -ENOMEM, the half-built ring closed;
 *   - grow_sndbuf: SO_SNDBUF covers the ring; without it, the default stays.
 *
 * Needs root (a network namespace, packet sockets): 77 otherwise.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "ring/ring.h"
#include "ring/txring.h"
#include "unit.h"
#include "util/util.h"

#define ETH_P_TEST 0x88b5 /* IEEE local experimental */
#define MAX_TRIES 32

static uint32_t enomem_above;        /* 0: no fault */
static uint32_t tries[MAX_TRIES];    /* tp_frame_nr of every PACKET_TX_RING request */
static unsigned ntries;

int setsockopt(int fd, int level, int optname, const void *optval, socklen_t optlen)
{
	if (level == SOL_PACKET && optname == PACKET_TX_RING && optlen >= sizeof(struct tpacket_req)) {
		const struct tpacket_req *req = optval;

		if (ntries < MAX_TRIES)
			tries[ntries] = req->tp_frame_nr;
		ntries++;
		if (enomem_above && req->tp_frame_nr > enomem_above) {
			errno = ENOMEM;
			return -1;
		}
	}
	return (int)syscall(SYS_setsockopt, fd, level, optname, optval, optlen);
}

static int lo_up(void)
{
	struct ifreq ifr;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), ret = 0;

	if (fd < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	strcpy(ifr.ifr_name, "lo");
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
		ret = -errno;
	ifr.ifr_flags |= IFF_UP;
	if (!ret && ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

static int open_tx(struct txring *t, const struct iface *lo, uint32_t frame_nr, uint32_t min,
		   bool grow, uint32_t fail_above)
{
	struct txring_config cfg = {
		.iface = lo,
		.frame_size = 2048,
		.frame_nr = frame_nr,
		.frame_nr_min = min,
		.grow_sndbuf = grow,
	};

	enomem_above = fail_above;
	ntries = 0;
	return txring_open(t, &cfg);
}

static int sndbuf(int fd)
{
	int v = 0;
	socklen_t len = sizeof(v);

	getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &v, &len);
	return v;
}

/* A receiver of our test frames on lo that sees only what lo receives. */
static int open_rx(const struct iface *lo)
{
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_TEST),
				   .sll_ifindex = lo->index };
	int one = 1, fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_TEST));

	if (fd < 0)
		return -1;
	if (setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Queue `n` frames numbered 0..n-1 and kick until the kernel took them all. */
static unsigned send_frames(struct txring *t, unsigned n)
{
	unsigned queued = 0;

	for (unsigned i = 0; i < n; i++) {
		uint8_t *p = txring_frame(t);

		if (!p)
			break;
		memset(p, 0, 60);
		memset(p, 0xff, 6);
		memcpy(p + 6, (uint8_t[]){ 0x02, 0, 0, 0, 0, 1 }, 6);
		p[12] = ETH_P_TEST >> 8;
		p[13] = ETH_P_TEST & 0xff;
		memcpy(p + 14, "RCTX", 4);
		p[18] = (uint8_t)i;
		txring_queue(t, 60);
		queued++;
	}
	for (int k = 0; k < 1000 && t->queued; k++) {
		if (txring_kick(t))
			break;
		if (t->queued)
			usleep(1000);
	}
	return queued - t->queued;
}

/* Frames 0..n-1 each seen once within a bounded wait; the count of them. */
static unsigned receive_frames(int fd, unsigned n)
{
	bool seen[256] = { false };
	unsigned got = 0, dups = 0;
	uint8_t buf[256];
	uint64_t until = now_ns() + 2000000000ull;

	while (got < n && now_ns() < until) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		ssize_t len;

		if (poll(&pfd, 1, 100) <= 0)
			continue;
		len = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (len < 19 || memcmp(buf + 14, "RCTX", 4) != 0)
			continue;
		if (seen[buf[18]])
			dups++;
		else
			got++;
		seen[buf[18]] = true;
	}
	CHECK_EQ(dups, 0);
	return got;
}

static void test_no_retry_by_default(const struct iface *lo)
{
	struct txring t;

	CHECK_EQ(open_tx(&t, lo, 4096, 0, false, 512), -ENOMEM);
	CHECK_EQ(ntries, 1);
	CHECK_EQ(tries[0], 4096);
	CHECK_EQ(t.fd, -1);
	CHECK(t.map == NULL, "no mapping left behind");
	txring_close(&t); /* safe on a ring that failed */
}

static void test_halves_and_sends(const struct iface *lo)
{
	struct txring t;
	int rx = open_rx(lo);

	CHECK(rx >= 0, "receiver on lo: %s", strerror(errno));
	CHECK_EQ(open_tx(&t, lo, 4096, 64, true, 512), 0);
	CHECK_EQ(ntries, 4);
	CHECK_EQ(tries[0], 4096);
	CHECK_EQ(tries[1], 2048);
	CHECK_EQ(tries[2], 1024);
	CHECK_EQ(tries[3], 512);
	CHECK_EQ(t.frame_nr, 512);
	CHECK_EQ(t.map_len, 512u * 2048);
	CHECK(sndbuf(t.fd) >= (int)t.map_len, "SO_SNDBUF %d, ring %zu", sndbuf(t.fd), t.map_len);
	if (t.fd >= 0 && rx >= 0) {
		CHECK_EQ(send_frames(&t, 100), 100);
		CHECK_EQ(receive_frames(rx, 100), 100);
	}
	txring_close(&t);
	if (rx >= 0)
		close(rx);
}

static void test_never_below_min(const struct iface *lo)
{
	struct txring t;

	CHECK_EQ(open_tx(&t, lo, 4096, 256, true, 100), -ENOMEM);
	CHECK_EQ(ntries, 5); /* 4096 2048 1024 512 256, not 128 */
	CHECK_EQ(tries[4], 256);
	CHECK_EQ(t.fd, -1);
	txring_close(&t);
}

static void test_as_asked(const struct iface *lo)
{
	struct txring t;

	CHECK_EQ(open_tx(&t, lo, 4096, 64, false, 0), 0);
	CHECK_EQ(ntries, 1);
	CHECK_EQ(t.frame_nr, 4096);
	/* No growth asked: the default buffer, far below 8 MiB of ring. */
	CHECK(sndbuf(t.fd) < (int)t.map_len, "SO_SNDBUF %d grew unasked", sndbuf(t.fd));
	txring_close(&t);
}

int main(void)
{
	struct iface lo;
	int ret;

	log_set_program("test_txring");
	if (geteuid() != 0) {
		fprintf(stderr, "SKIP: needs root (a network namespace, packet sockets)\n");
		return 77;
	}
	if (unshare(CLONE_NEWNET) < 0) {
		fprintf(stderr, "SKIP: unshare(CLONE_NEWNET): %s\n", strerror(errno));
		return 77;
	}
	ret = lo_up();
	if (!ret)
		ret = iface_lookup("lo", &lo);
	if (ret) {
		fprintf(stderr, "lo in our namespace: %s\n", strerror(-ret));
		return 1;
	}
	test_no_retry_by_default(&lo);
	test_halves_and_sends(&lo);
	test_never_below_min(&lo);
	test_as_asked(&lo);
	return unit_exit("test_txring");
}
