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
#include <errno.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "util/opt.h"
#include "bench/arm.h"
#include "tools/frame.h"
#include "util/util.h"

#define MONITOR_NS   (10ull * 1000000)
#define MAX_SOCKS    256

const char *const method_names[] = {
	[M_RECVFROM] = "recvfrom", [M_RECVMMSG] = "recvmmsg", [M_V2] = "v2",
	[M_V3] = "v3", [M_V3_FANOUT] = "v3-fanout", [M_EXEC] = "exec",
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

void say_ready(const struct opts *o)
{
	write_pid_file(o->pid_file);
	fputs("ready\n", stderr);
}

uint64_t tv_ns(const struct timeval *tv)
{
	return (uint64_t)tv->tv_sec * 1000000000ull + (uint64_t)tv->tv_usec * 1000ull;
}

/* Main thread: stop at --packets kept, --seconds, --idle-ms quiet after the first
 * packet, a signal, or a worker error. Returns why, for the JSON. */
static const char *monitor(struct arm_sock *socks, unsigned n, const struct opts *o,
			   uint64_t t0, uint64_t *t_first, uint64_t *t_last)
{
	uint64_t last_kept = 0, now, next_stats = t0 + 1000000000ull, t_done = 0;

	for (;;) {
		uint64_t kept = 0, quiet_since;

		sleep_until(now_ns() + MONITOR_NS);
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
		socks[i].stop = &stop_flag;
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
