/*
 * ringcap-arm — one capture "arm" of the bench (bench/ringcap-bench): a receiver
 * that only counts, built the way a given generation of capture tools read packets,
 * so the bench can put numbers on the difference.
 *
 *   recvfrom   one packet per system call into a user buffer (old libpcap)
 *   recvmmsg   the same socket, up to 64 packets per system call
 *   v2         the classic TPACKET_V2 frame ring: one fixed 2 KiB slot per packet,
 *              poll() when the next slot is still the kernel's
 *   v3         a bare TPACKET_V3 block loop (ring/ring.h, ringcap's geometry: 64 MiB
 *              of 1 MiB blocks, 8 ms block timeout); walks each block's packet
 *              headers with the block iterator and counts, touching no payload.
 *              This is the "bare loop" ringcap's CPU per packet is compared with.
 *   v3-fanout  the v3 loop with one socket and one pinned thread per online CPU,
 *              all in one PACKET_FANOUT_HASH group (with defrag), like ringcap.
 *
 * Every arm binds its socket(s), writes its pid to --pid-file if asked (the bench
 * signals us by pid, and its background job is a shell around us), prints "ready"
 * on stderr, and counts until --packets were kept, --seconds passed, or no packet
 * arrived for --idle-ms after the first one. SIGUSR1 means "the sender is done":
 * the idle time then also runs from the signal; with --until-signal it runs only
 * from then (the bench uses this: a sender stalled by a busy machine must not end
 * the count early). The receive loops run in worker threads that publish their
 * counts in cache-line padded slots; the main thread watches those, decides when
 * to stop, and reads PACKET_STATISTICS (which the kernel resets on every read, in
 * 32-bit fields) into 64-bit totals once a second and at the end. The CPU figures
 * are getrusage(RUSAGE_SELF) deltas from the end of socket set-up to the end, so
 * ring allocation is not charged to the packets.
 *
 * Output: one JSON line on stdout:
 *   {"method":..,"kept":N,"kept_bytes":B,"kernel_packets":P,"drops":D,"freeze_q":F,
 *    "unread":U,"user_ns":..,"sys_ns":..,"seconds":..,"active_seconds":..,...}
 * kernel_packets is tp_packets (it already includes drops); unread = what the
 * kernel queued but the arm never read (non-zero only when --seconds cut it short).
 *
 * --exec mode wraps a capture program that owns its own sockets (ringcap, tcpdump,
 * netsniff-ng) so the bench can charge its CPU to the packets the same way:
 *
 *   ringcap-arm --exec [--ready TEXT] [--watch FILE] [--cpu N] [--seconds S]
 *               [--idle-ms MS] [--pid-file FILE] -- CMD [ARGS...]
 *
 * runs CMD (pinned to --cpu if given) with its stdout and stderr copied to our
 * stderr line by line, prints "ready" on a line of its own once TEXT
 * (default "listening on") appeared in its output, and samples its CPU time then
 * (per-thread sum_exec_runtime, ns). On SIGUSR1 (the bench's "the generator is
 * done") it waits until CMD is quiet — less than 1% of one CPU and no growth of
 * --watch FILE for --idle-ms — and sends it SIGINT; SIGINT/SIGTERM to us are
 * forwarded at once; --seconds is a hard bound (SIGINT, then SIGKILL 15 s later).
 * It prints {"method":"exec",...,"exit_status":..,"user_ns":..,"sys_ns":..} with
 * the CPU CMD used between "ready" and the moment it was found quiet (its
 * packets done; like the in-process arms' windows), and "exit_cpu_ns": what its
 * exit cost on top (unmapping rings, closing files). Without a quiet point
 * (SIGINT forwarded from outside) the window runs to its exit.
 *
 * Note on this kernel (tick-based CPU accounting, HZ=250): user+sys together are
 * exact (scheduler run time); the split between them is sampled at each tick.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <arpa/inet.h>
#include <time.h>
#include <unistd.h>

#include "util/opt.h"
#include "ring/ring.h"
#include "util/util.h"

#define MMSG_BATCH   64
#define RECV_SNAP    2048          /* veth MTU 1500: frames are at most 1514 bytes */
#define POLL_MS      20            /* how soon a blocked worker notices "stop" */
#define MONITOR_NS   (10ull * 1000000)
#define MAX_SOCKS    256

enum method { M_RECVFROM, M_RECVMMSG, M_V2, M_V3, M_V3_FANOUT, M_EXEC };

static const char *const method_names[] = {
	[M_RECVFROM] = "recvfrom", [M_RECVMMSG] = "recvmmsg", [M_V2] = "v2",
	[M_V3] = "v3", [M_V3_FANOUT] = "v3-fanout", [M_EXEC] = "exec",
};

struct opts {
	enum method method;
	const char *ifname;
	uint64_t packets;       /* 0: no count limit */
	uint64_t limit_ns;      /* --seconds */
	uint64_t idle_ns;
	int cpu;                /* -1: not pinned */
	uint64_t rcvbuf;        /* 0: kernel default */
	uint64_t ring_bytes;    /* per socket, v2/v3 */
	uint32_t block_size;
	const char *pid_file;   /* our pid, written just before "ready" */
	bool until_signal;      /* idle stop only after SIGUSR1 ("the sender is done") */
	const char *ready_text; /* --exec */
	const char *watch;      /* --exec */
	char **cmd;             /* --exec */
};

/* What a worker publishes; written by that worker only, read by main. */
struct counter {
	_Alignas(CACHELINE) uint64_t kept;
	uint64_t bytes;
	uint64_t lied;          /* v3: blocks whose headers lied (never expected) */
};

struct arm_sock;

/* One receive method: open a socket, run the receive loop until stop, close. */
struct arm_ops {
	int (*open)(struct arm_sock *s, const struct opts *o);
	int (*run)(struct arm_sock *s);
	void (*close)(struct arm_sock *s);
};

struct arm_sock {
	struct counter ctr;
	int fd;
	int cpu;                /* thread pinned here, -1: not */
	const struct arm_ops *ops;
	struct ring v3;
	struct v2ring v2;
	uint8_t *buf;           /* recvfrom / recvmmsg buffers */
	size_t buf_len;
	struct mmsghdr *msgs;
	struct iovec *iov;
	struct sockaddr_ll *names;
	pthread_t tid;
	bool started;
	int error;              /* run()'s result */
	/* PACKET_STATISTICS, accumulated in 64 bits (main thread only) */
	uint64_t st_packets, st_drops, st_freeze_q;
};

static atomic_bool stop_flag;
static volatile sig_atomic_t got_signal;   /* SIGINT / SIGTERM: stop now */
static volatile sig_atomic_t sender_done;  /* SIGUSR1: no more packets are coming */

static void on_signal(int sig)
{
	if (sig == SIGUSR1)
		sender_done = 1;
	else
		got_signal = sig;
}

static bool stopping(void)
{
	return atomic_load_explicit(&stop_flag, memory_order_relaxed);
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
static int stats_update(struct arm_sock *s)
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

	while (!stopping()) {
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

	while (!stopping()) {
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

	while (!stopping()) {
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

	while (!stopping()) {
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

static const struct arm_ops arm_ops[] = {
	[M_RECVFROM] = { recv_open, recvfrom_run, recv_close },
	[M_RECVMMSG] = { recvmmsg_open, recvmmsg_run, recv_close },
	[M_V2] = { v2_open, v2_run, v2_close },
	[M_V3] = { v3_open, v3_run, v3_close },
	[M_V3_FANOUT] = { v3_open, v3_run, v3_close },
};

/* --------------------------------------------------------------- workers */

static void *worker_main(void *arg)
{
	struct arm_sock *s = arg;

	if (s->cpu >= 0 && pin_to_cpu(s->cpu))
		log_warn("cannot pin worker to CPU %d", s->cpu);
	s->error = s->ops->run(s);
	if (s->error)
		atomic_store(&stop_flag, true);
	return NULL;
}

/* The bench signals us by pid; `ip netns exec` forks, so $! is not ours. */
static int write_pid_file(const char *path)
{
	FILE *f;
	int bad;

	if (!path)
		return 0;
	f = fopen(path, "we");
	if (!f) {
		log_err("pid file %s: %s", path, strerror(errno));
		return -EIO;
	}
	bad = fprintf(f, "%d\n", (int)getpid()) < 0;
	if (fclose(f) || bad) {
		log_err("pid file %s: cannot write", path);
		return -EIO;
	}
	return 0;
}

static void say_ready(const struct opts *o)
{
	write_pid_file(o->pid_file);
	fputs("ready\n", stderr);
}

static uint64_t tv_ns(const struct timeval *tv)
{
	return (uint64_t)tv->tv_sec * 1000000000ull + (uint64_t)tv->tv_usec * 1000ull;
}

static void sleep_ns(uint64_t ns)
{
	struct timespec ts = { .tv_sec = (time_t)(ns / 1000000000ull),
			       .tv_nsec = (long)(ns % 1000000000ull) };

	nanosleep(&ts, NULL);
}

/* Main thread: stop at --packets kept, --seconds, --idle-ms quiet after the first
 * packet, a signal, or a worker error. Returns why, for the JSON. */
static const char *monitor(struct arm_sock *socks, unsigned n, const struct opts *o,
			   uint64_t t0, uint64_t *t_first, uint64_t *t_last)
{
	uint64_t last_kept = 0, now, next_stats = t0 + 1000000000ull, t_done = 0;

	for (;;) {
		uint64_t kept = 0, quiet_since;

		sleep_ns(MONITOR_NS);
		now = now_ns();
		if (sender_done && !t_done)
			t_done = now;
		for (unsigned i = 0; i < n; i++)
			kept += __atomic_load_n(&socks[i].ctr.kept, __ATOMIC_RELAXED);
		if (kept != last_kept) {
			if (!last_kept)
				*t_first = now;
			*t_last = now;
			last_kept = kept;
		}
		if (now >= next_stats) {
			/* 32-bit kernel counters: never let them get near wrapping */
			for (unsigned i = 0; i < n; i++)
				stats_update(&socks[i]);
			next_stats = now + 1000000000ull;
		}
		if (got_signal)
			return "signal";
		if (atomic_load(&stop_flag))
			return "error";
		if (o->packets && kept >= o->packets)
			return "packets";
		if (now - t0 >= o->limit_ns)
			return "seconds";
		/* Idle: nothing for --idle-ms since the last packet, or since the sender
		 * said it is done if that came later (or no packet came at all). With
		 * --until-signal a stalled sender cannot end the run early. */
		if (o->until_signal && !t_done)
			continue;
		quiet_since = *t_last > t_done ? *t_last : t_done;
		if (quiet_since && now - quiet_since >= o->idle_ns)
			return "idle";
	}
}

static int online_cpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n < 1 ? 1 : n > MAX_SOCKS ? MAX_SOCKS : (int)n;
}

static int run_arm(const struct opts *o)
{
	unsigned nsock = o->method == M_V3_FANOUT ? (unsigned)online_cpus() : 1, opened = 0;
	struct arm_sock *socks;
	struct rusage ru0, ru1;
	uint64_t t0, t1, t_first = 0, t_last = 0;
	uint64_t kept = 0, bytes = 0, lied = 0, packets = 0, drops = 0, freeze = 0;
	const char *why = "error";
	char cpus[64] = "";
	int ret = 0, status = 1;

	socks = xcalloc(nsock, sizeof(*socks));
	if (!socks) {
		log_err("out of memory");
		return 1;
	}
	for (unsigned i = 0; i < nsock; i++) {
		socks[i].fd = -1;
		socks[i].ops = &arm_ops[o->method];
		socks[i].cpu = o->method == M_V3_FANOUT ? (int)i : o->cpu;
	}
	if (o->cpu >= 0 && pin_to_cpu(o->cpu))
		log_warn("cannot pin to CPU %d", o->cpu);
	for (; opened < nsock; opened++) {
		if ((ret = socks[opened].ops->open(&socks[opened], o))) {
			if (ret == -ENOMEM)
				log_err("%s: out of memory", method_names[o->method]);
			opened++; /* half-built: close it too */
			goto out_close;
		}
	}

	/* The measuring window starts here: sockets are complete and bound. */
	getrusage(RUSAGE_SELF, &ru0);
	t0 = now_ns();
	for (unsigned i = 0; i < nsock; i++) {
		if ((ret = -pthread_create(&socks[i].tid, NULL, worker_main, &socks[i]))) {
			log_err("pthread_create: %s", strerror(-ret));
			atomic_store(&stop_flag, true);
			break;
		}
		socks[i].started = true;
	}
	if (!ret) {
		say_ready(o);
		why = monitor(socks, nsock, o, t0, &t_first, &t_last);
	}
	atomic_store(&stop_flag, true);
	for (unsigned i = 0; i < nsock; i++)
		if (socks[i].started)
			pthread_join(socks[i].tid, NULL);
	t1 = now_ns();
	getrusage(RUSAGE_SELF, &ru1);

	for (unsigned i = 0; i < nsock; i++) {
		struct arm_sock *s = &socks[i];
		size_t l = strlen(cpus);

		if (stats_update(s))
			log_warn("PACKET_STATISTICS: %s", strerror(errno));
		kept += s->ctr.kept;
		bytes += s->ctr.bytes;
		lied += s->ctr.lied;
		packets += s->st_packets;
		drops += s->st_drops;
		freeze += s->st_freeze_q;
		if (s->error) {
			log_err("%s worker %u: %s", method_names[o->method], i, strerror(-s->error));
			ret = s->error;
		}
		snprintf(cpus + l, sizeof(cpus) - l, "%s%d", l ? "," : "", s->cpu);
	}
	/* tp_packets counts what the kernel queued (kept or not) plus drops. */
	uint64_t unread = packets > drops + kept ? packets - drops - kept : 0;
	printf("{\"method\":\"%s\",\"iface\":\"%s\",\"sockets\":%u,\"cpus\":\"%s\","
	       "\"kept\":%llu,\"kept_bytes\":%llu,\"kernel_packets\":%llu,\"drops\":%llu,"
	       "\"freeze_q\":%llu,\"unread\":%llu,\"lied_blocks\":%llu,"
	       "\"user_ns\":%llu,\"sys_ns\":%llu,\"seconds\":%.6f,\"active_seconds\":%.6f,"
	       "\"stopped_by\":\"%s\"}\n",
	       method_names[o->method], o->ifname, nsock, cpus, (unsigned long long)kept,
	       (unsigned long long)bytes, (unsigned long long)packets, (unsigned long long)drops,
	       (unsigned long long)freeze, (unsigned long long)unread, (unsigned long long)lied,
	       (unsigned long long)(tv_ns(&ru1.ru_utime) - tv_ns(&ru0.ru_utime)),
	       (unsigned long long)(tv_ns(&ru1.ru_stime) - tv_ns(&ru0.ru_stime)),
	       (double)(t1 - t0) / 1e9,
	       t_last > t_first ? (double)(t_last - t_first) / 1e9 : 0.0, why);
	fflush(stdout);
	status = ret ? 1 : 0;
out_close:
	for (unsigned i = 0; i < opened; i++)
		socks[i].ops->close(&socks[i]);
	xfree(socks);
	return status;
}

/* ------------------------------------------------------------- exec mode */

/* CPU time of every live thread of `pid`, exact (ns of scheduler run time). */
static int proc_cpu_ns(pid_t pid, uint64_t *out)
{
	char path[64];
	DIR *d;
	struct dirent *e;
	uint64_t sum = 0;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	d = opendir(path);
	if (!d)
		return -errno;
	while ((e = readdir(d))) {
		char p[320];
		unsigned long long run;
		FILE *f;

		if (!isdigit((unsigned char)e->d_name[0]))
			continue;
		snprintf(p, sizeof(p), "/proc/%d/task/%s/schedstat", (int)pid, e->d_name);
		f = fopen(p, "re");
		if (!f)
			continue; /* the thread just exited */
		if (fscanf(f, "%llu", &run) == 1)
			sum += run;
		fclose(f);
	}
	closedir(d);
	*out = sum;
	return 0;
}

/* utime and stime of the whole process in ns (clock-tick resolution). */
static int proc_times_ns(pid_t pid, uint64_t *user, uint64_t *sys)
{
	char path[64], buf[1024], *p;
	unsigned long long ut, st;
	long tick = sysconf(_SC_CLK_TCK);
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	p = strrchr(buf, ')'); /* the command name may hold spaces */
	if (!p || tick <= 0)
		return -EINVAL;
	/* after ")": state(3) ... utime(14) stime(15) */
	if (sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
		return -EINVAL;
	*user = ut * (1000000000ull / (uint64_t)tick);
	*sys = st * (1000000000ull / (uint64_t)tick);
	return 0;
}

static int64_t file_size(const char *path)
{
	struct stat st;

	if (!path || stat(path, &st))
		return -1;
	return (int64_t)st.st_size;
}

/* The child's output, copied to our stderr a whole line at a time so that our
 * own "ready" line never lands inside one of its lines; the ready text is looked
 * for in each line. */
struct lines {
	const char *text;
	char buf[4096];
	size_t len;
	bool seen;
};

static void lines_flush(struct lines *l)
{
	if (!l->len)
		return;
	if (memmem(l->buf, l->len, l->text, strlen(l->text)))
		l->seen = true;
	if (write(STDERR_FILENO, l->buf, l->len) < 0) {
		/* our stderr is gone; keep draining the child anyway */
	}
	l->len = 0;
}

static void lines_feed(struct lines *l, const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		l->buf[l->len++] = p[i];
		if (p[i] == '\n' || l->len == sizeof(l->buf))
			lines_flush(l);
	}
}

struct exec_state {
	pid_t pid;
	bool ready, watching, interrupted, killed, reaped;
	uint64_t t_ready, ready_cpu, ready_user, ready_sys;
	uint64_t t_int;           /* when SIGINT went to the child, 0: not yet */
	uint64_t quiet_since, last_cpu;
	uint64_t quiet_cpu;       /* CPU when found quiet (work done), 0: never */
	int64_t last_size;
	int status;
	struct rusage ru;
};

static void exec_interrupt(struct exec_state *x, uint64_t now)
{
	if (!x->t_int && !x->reaped) {
		kill(x->pid, SIGINT);
		x->t_int = now;
	}
}

/* Called every ~50 ms after SIGUSR1: quiet = under 1% of a CPU and no file growth. */
static void exec_watch(struct exec_state *x, const struct opts *o, uint64_t now)
{
	uint64_t cpu;
	int64_t size = file_size(o->watch);

	if (proc_cpu_ns(x->pid, &cpu))
		return;
	if (!x->quiet_since || cpu - x->last_cpu > (now - x->quiet_since) / 100 ||
	    size != x->last_size) {
		x->quiet_since = now;
		x->last_cpu = cpu;
		x->last_size = size;
		return;
	}
	if (now - x->quiet_since >= o->idle_ns) {
		x->quiet_cpu = cpu;
		exec_interrupt(x, now);
	}
}

static void exec_child(const struct opts *o, int out_fd, const sigset_t *old)
{
	if (o->cpu >= 0 && pin_to_cpu(o->cpu))
		dprintf(out_fd, "ringcap-arm: cannot pin to CPU %d\n", o->cpu);
	sigprocmask(SIG_SETMASK, old, NULL);
	if (dup2(out_fd, STDOUT_FILENO) < 0 || dup2(out_fd, STDERR_FILENO) < 0)
		_exit(127);
	execvp(o->cmd[0], o->cmd);
	dprintf(STDERR_FILENO, "ringcap-arm: cannot run %s: %s\n", o->cmd[0], strerror(errno));
	_exit(127);
}

static int run_exec(const struct opts *o)
{
	struct exec_state x = { .pid = -1, .last_size = -1 };
	struct lines out = { .text = o->ready_text };
	sigset_t set, old;
	int pipefd[2], sfd = -1, status = 1;
	uint64_t t0, now, user = 0, sys = 0, total = 0, teardown = 0;
	bool pipe_open = true;

	/* A shell starts background jobs with SIGINT ignored, and an ignored signal
	 * never reaches a signalfd nor (inherited through exec) the child. */
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGUSR1, SIG_DFL);
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGCHLD);
	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		log_err("pipe: %s", strerror(errno));
		return 1;
	}
	sigprocmask(SIG_BLOCK, &set, &old);
	sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0) {
		log_err("signalfd: %s", strerror(errno));
		goto out_pipe;
	}
	t0 = now_ns();
	x.pid = fork();
	if (x.pid < 0) {
		log_err("fork: %s", strerror(errno));
		goto out_sfd;
	}
	if (x.pid == 0)
		exec_child(o, pipefd[1], &old);
	close(pipefd[1]);
	pipefd[1] = -1;

	/* Until the child is reaped and its output fully copied. Bounded: --seconds,
	 * then SIGINT, then SIGKILL 15 s later. */
	while (!x.reaped || pipe_open) {
		struct pollfd pfd[2] = { { .fd = sfd, .events = POLLIN },
					 { .fd = pipe_open ? pipefd[0] : -1, .events = POLLIN } };
		struct signalfd_siginfo si;
		char buf[4096];
		ssize_t n;

		if (poll(pfd, 2, x.reaped ? 1000 : 50) < 0 && errno != EINTR) {
			log_err("poll: %s", strerror(errno));
			break;
		}
		now = now_ns();
		if (pfd[1].revents) {
			n = read(pipefd[0], buf, sizeof(buf));
			if (n > 0) {
				lines_feed(&out, buf, (size_t)n);
			} else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
				pipe_open = false;
				lines_flush(&out);
			}
		} else if (x.reaped) {
			pipe_open = false; /* a grandchild holds the pipe: stop waiting */
			lines_flush(&out);
		}
		if (out.seen && !x.ready && !x.reaped) {
			/* Set-up is done: what the child used so far is not the packets'. */
			x.ready = true;
			x.t_ready = now;
			proc_cpu_ns(x.pid, &x.ready_cpu);
			proc_times_ns(x.pid, &x.ready_user, &x.ready_sys);
			say_ready(o);
		}
		while (read(sfd, &si, sizeof(si)) == sizeof(si)) {
			if (si.ssi_signo == SIGUSR1)
				x.watching = true;
			else if (si.ssi_signo == SIGINT || si.ssi_signo == SIGTERM)
				x.interrupted = true;
		}
		if (!x.reaped) {
			pid_t r = wait4(x.pid, &x.status, WNOHANG, &x.ru);

			if (r == x.pid)
				x.reaped = true;
		}
		if (x.reaped)
			continue;
		if (x.interrupted || now - t0 >= o->limit_ns)
			exec_interrupt(&x, now);
		else if (x.watching && x.ready && !x.t_int)
			/* Watch only until the quiet point: after SIGINT the
			 * child's threads exit one by one, the sum over the live
			 * ones drops, and a later "quiet" reading would leave
			 * their work out of the window. */
			exec_watch(&x, o, now);
		if (x.t_int && !x.killed && now - x.t_int >= 15ull * 1000000000ull) {
			log_err("%s ignored SIGINT for 15 s: killing it", o->cmd[0]);
			kill(x.pid, SIGKILL);
			x.killed = true;
		}
	}

	if (x.ready) {
		uint64_t u1 = tv_ns(&x.ru.ru_utime), s1 = tv_ns(&x.ru.ru_stime);
		uint64_t uw = u1 > x.ready_user ? u1 - x.ready_user : 0;
		uint64_t sw = s1 > x.ready_sys ? s1 - x.ready_sys : 0;

		/* The total is exact; split it the way the (tick-sampled) times do.
		 * The window ends when CMD was found quiet (its packets done), as
		 * the in-process arms' windows end when counting ends: the exit
		 * (unmapping rings, closing files) is reported apart. */
		total = u1 + s1 > x.ready_cpu ? u1 + s1 - x.ready_cpu : 0;
		if (x.quiet_cpu > x.ready_cpu && x.quiet_cpu - x.ready_cpu < total) {
			teardown = total - (x.quiet_cpu - x.ready_cpu);
			total = x.quiet_cpu - x.ready_cpu;
		}
		user = uw + sw ? (uint64_t)((double)total * (double)uw / (double)(uw + sw)) : 0;
		sys = total - user;
	} else {
		log_err("%s never printed \"%s\"", o->cmd[0], o->ready_text);
	}
	printf("{\"method\":\"exec\",\"cmd\":\"%s\",\"ready\":%s,\"exit_status\":%d,"
	       "\"signal\":%d,\"killed\":%s,\"user_ns\":%llu,\"sys_ns\":%llu,"
	       "\"setup_cpu_ns\":%llu,\"exit_cpu_ns\":%llu,\"seconds\":%.6f}\n",
	       o->cmd[0], x.ready ? "true" : "false",
	       WIFEXITED(x.status) ? WEXITSTATUS(x.status) : -1,
	       WIFSIGNALED(x.status) ? WTERMSIG(x.status) : 0, x.killed ? "true" : "false",
	       (unsigned long long)user, (unsigned long long)sys,
	       (unsigned long long)x.ready_cpu, (unsigned long long)teardown,
	       x.ready ? (double)(now_ns() - x.t_ready) / 1e9 : 0.0);
	fflush(stdout);
	status = x.ready && WIFEXITED(x.status) && WEXITSTATUS(x.status) == 0 ? 0 : 1;
out_sfd:
	close(sfd);
out_pipe:
	close(pipefd[0]);
	if (pipefd[1] >= 0)
		close(pipefd[1]);
	sigprocmask(SIG_SETMASK, &old, NULL);
	return status;
}

/* ------------------------------------------------------------------ main */

static const char usage_head[] =
	"usage: ringcap-arm --method recvfrom|recvmmsg|v2|v3|v3-fanout -i IFACE\n"
	"                   [--packets N] [--seconds S] [--cpu N] [--idle-ms MS]\n"
	"                   [--rcvbuf BYTES] [--ring-size SIZE] [--block-size SIZE]\n"
	"                   [--pid-file FILE] [--until-signal]\n"
	"       ringcap-arm --exec [--ready TEXT] [--watch FILE] [--cpu N] [--seconds S]\n"
	"                   [--idle-ms MS] [--pid-file FILE] -- CMD [ARGS...]\n"
	"\n"
	"Counts packets on IFACE with one receive method until N were kept, S seconds\n"
	"passed (default 30) or none came for MS ms after the first (default 300); prints\n"
	"\"ready\" on stderr once listening and one JSON line on stdout at the end.\n";

static const char usage_tail[] =
	"examples:\n"
	"  ringcap-arm --method v3 -i vb0 --packets 1000000 --cpu 1\n"
	"  ringcap-arm --exec --cpu 1 -- tcpdump -i vb0 -w /var/tmp/x.pcap\n";

/* The methods --method takes, in enum order (exec comes from --exec). */
static const char *const method_choices[] = {
	"recvfrom", "recvmmsg", "v2", "v3", "v3-fanout", NULL,
};

static const char *opt_cpu(const char *arg, void *field)
{
	uint64_t v;

	if (parse_u64(arg, 0, CPU_SETSIZE - 1, &v))
		return "expected a CPU number";
	if ((long)v >= sysconf(_SC_NPROCESSORS_CONF))
		return "no such CPU here";
	*(int *)field = (int)v;
	return NULL;
}

static void parse_args(int argc, char **argv, struct opts *o)
{
	bool have_method = false, exec = false;
	const struct opt table[] = {
		{ .name = "method", .type = OPT_CHOICE, OPT_INT(&o->method),
		  .choices = method_choices, .given = &have_method, .what = "method",
		  .why = "expected recvfrom|recvmmsg|v2|v3|v3-fanout", .arg = "M",
		  .help = "recvfrom (1 packet/syscall), recvmmsg (64/syscall), v2 (frame\n"
			  "ring), v3 (bare block loop), v3-fanout (a socket+thread per CPU)" },
		{ .name = "interface", .letter = 'i', .type = OPT_STRING, .field = &o->ifname,
		  .max = IFNAMSIZ - 1, .what = "interface", .why = "not an interface name",
		  .arg = "IFACE", .help = "where to count" },
		{ .name = "packets", .type = OPT_U64, OPT_INT(&o->packets), .min = 1,
		  .max = UINT64_MAX / 2, .what = "packet count", .why = "expected a positive integer",
		  .arg = "N", .help = "stop once N were kept" },
		{ .name = "seconds", .type = OPT_DURATION, .field = &o->limit_ns,
		  .max = 3600ull * 1000000000ull, .what = "duration",
		  .why = "expected 0 < S <= 3600 seconds", .arg = "S", .help = "stop after S (default 30)" },
		{ .name = "cpu", .type = OPT_CUSTOM, .field = &o->cpu, .parse = opt_cpu,
		  .what = "CPU", .arg = "N", .help = "pin the receive thread to CPU N (not with v3-fanout)" },
		{ .name = "idle-ms", .type = OPT_U64, OPT_INT(&o->idle_ns), .min = 1, .max = 600000,
		  .scale = 1000000, .what = "idle time", .why = "expected 1..600000 ms", .arg = "MS",
		  .help = "stop when none came for MS ms after the first (default 300)" },
		{ .name = "rcvbuf", .type = OPT_SIZE, OPT_INT(&o->rcvbuf), .min = 4096,
		  .max = 1ull << 30, .what = "receive buffer", .why = "expected 4k..1g bytes",
		  .arg = "BYTES", .help = "SO_RCVBUF(FORCE) for recvfrom/recvmmsg (default: kernel's)" },
		{ .name = "ring-size", .type = OPT_SIZE, OPT_INT(&o->ring_bytes), .min = 1ull << 20,
		  .max = 4ull << 30, .what = "ring size", .why = "expected 1m..4g", .arg = "SIZE",
		  .help = "ring memory per socket for v2/v3 (default 64m, as ringcap)" },
		{ .name = "block-size", .type = OPT_SIZE, OPT_INT(&o->block_size), .min = 4096,
		  .max = 64ull << 20, .flags = OPT_POW2, .what = "block size",
		  .why = "expected a power of two, 4k..64m", .arg = "SIZE",
		  .help = "ring block size (default 1m, as ringcap)" },
		{ .name = "pid-file", .type = OPT_STRING, .field = &o->pid_file, .arg = "FILE",
		  .help = "write our pid to FILE just before \"ready\"" },
		{ .name = "until-signal", .type = OPT_FLAG, .field = &o->until_signal,
		  .help = "the idle stop applies only after SIGUSR1 (\"the sender is\n"
			  "done\"), so a stalled sender cannot end the count early" },
		{ .name = "exec", .type = OPT_FLAG, .field = &exec,
		  .help = "run CMD, report its CPU from \"ready\" to exit (see the source)" },
		{ .name = "ready", .type = OPT_STRING, .field = &o->ready_text, .max = 256,
		  .what = "ready text", .arg = "TEXT",
		  .help = "--exec: CMD is ready once it prints TEXT (default \"listening on\")" },
		{ .name = "watch", .type = OPT_STRING, .field = &o->watch, .arg = "FILE",
		  .help = "--exec: quiet also means FILE stopped growing" },
	};
	const struct opt_prog prog = { .synopsis = usage_head, .epilogue = usage_tail,
					.opts = table, .nopts = ARRAY_SIZE(table), .in_order = true };
	char cpu[16];
	int rest;

	*o = (struct opts){ .limit_ns = 30ull * 1000000000ull, .idle_ns = 300ull * 1000000,
			    .cpu = -1, .ring_bytes = 64ull << 20, .block_size = 1u << 20,
			    .ready_text = "listening on" };
	rest = opt_parse_or_exit(&prog, argc, argv);
	if (exec) {
		o->method = M_EXEC;
		have_method = true;
	}
	if (!have_method)
		die(2, "--method or --exec is required");
	if (o->method == M_EXEC) {
		if (rest >= argc)
			die(2, "--exec needs a command after --");
		o->cmd = argv + rest;
		return;
	}
	if (rest < argc)
		opt_die("argument", argv[rest], "unexpected");
	if (!o->ifname)
		die(2, "-i IFACE is required");
	snprintf(cpu, sizeof(cpu), "%d", o->cpu);
	if (o->method == M_V3_FANOUT && o->cpu >= 0)
		opt_die("CPU", cpu, "v3-fanout pins one thread per CPU itself");
	if (!if_nametoindex(o->ifname))
		opt_die("interface", o->ifname, "no such device");
	if (o->ring_bytes < 4ull * o->block_size || o->ring_bytes / o->block_size > UINT32_MAX) {
		die(2, "bad ring size '%llu': must hold at least 4 blocks of %u",
		    (unsigned long long)o->ring_bytes, o->block_size);
	}
}

int main(int argc, char **argv)
{
	struct sigaction sa;
	struct opts o;

	log_set_program("ringcap-arm");
	parse_args(argc, argv, &o);
	if (o.method == M_EXEC)
		return run_exec(&o);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	return run_arm(&o);
}
