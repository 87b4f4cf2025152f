/*
 * Private to ringcap-arm (bench/ringcap-arm.c: options, the monitor and main;
 * arm_sock.c: the receive methods; arm_exec.c: --exec mode). What they share;
 * the design is written at the top of ringcap-arm.c.
 *
 * Threading: each arm_sock's run() in a worker thread of its own, everything
 * else in the main thread. Ownership: main owns the sockets and the options.
 */
#ifndef RINGCAP_BENCH_ARM_H
#define RINGCAP_BENCH_ARM_H

#include <linux/if_packet.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/time.h>

#include "ring/ring.h"
#include "util/util.h"

#define MMSG_BATCH   64
#define RECV_SNAP    2048          /* veth MTU 1500: frames are at most 1514 bytes */
#define POLL_MS      20            /* how soon a blocked worker notices "stop" */

enum method { M_RECVFROM, M_RECVMMSG, M_V2, M_V3, M_V3_FANOUT, M_EXEC };

extern const char *const method_names[];

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
	const atomic_bool *stop; /* main's "stop now", read by the receive loop */
	pthread_t tid;
	bool started;
	int error;              /* run()'s result */
	/* PACKET_STATISTICS, accumulated in 64 bits (main thread only) */
	uint64_t st_packets, st_drops, st_freeze_q;
};

/* ---- arm_sock.c ---- */

/* The receive methods, indexed by enum method (M_EXEC has none). */
extern const struct arm_ops arm_ops[];
/* PACKET_STATISTICS into s's 64-bit totals (main thread); 0 or -errno. */
int stats_update(struct arm_sock *s);

/* ---- ringcap-arm.c ---- */

/* The pid file, then "ready" on stderr: the bench may start sending. */
void say_ready(const struct opts *o);
uint64_t tv_ns(const struct timeval *tv);

/* ---- arm_exec.c ---- */

/* --exec: runs o->cmd to its end and prints its JSON line; the exit status. */
int run_exec(const struct opts *o);

#endif
