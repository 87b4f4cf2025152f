/*
 * ringcap — capture to disk at line rate, and answer ARP and NDP for address
 * pools.
 *
 * The pipeline (capture/capture.h's THREADS table names every thread, what it
 * owns and on what it blocks):
 *
 *   N AF_PACKET sockets, one per worker, all in one PACKET_FANOUT group; each
 *   maps a TPACKET_V3 RX ring, and the kernel runs our classic-BPF filter
 *   (compiled by libpcap from the tcpdump expression) before a packet is queued.
 *        │ a retired block (many packets, one wakeup)
 *        ▼
 *   worker threads (workers/, pinned, one per socket): each walks its blocks
 *   in ring order.
 *        ├── one worker: its pcap handler appends the block's records to the
 *        │   writer and gives the block back.
 *        └── several: each hands its blocks to the merger thread (merge/),
 *            which emits their packets in timestamp order, in batches, to the
 *            one pcap handler, and gives each block back once it is written.
 *        ▼
 *   writer (writer/): records are copied once, into page-aligned staging
 *   slots; a full slot is written by io_uring (O_DIRECT, registered buffers),
 *   whose reaper thread releases slots in file order and closes rotated
 *   files (-C, -G); pwrite when io_uring is refused, write(2) for -w -.
 *        │ a closed file
 *        ▼
 *   -z jobs (jobs/: a thread and its children) and retention (retention/:
 *   --min-free, --max-total, on main's timer).
 *
 *   ARP/NDP responder (responder/): a socket of its own with a TPACKET_V2
 *   ring behind its own prefilter, a thread that wakes per request when idle
 *   and drains in batches under a flood, replies through a TX ring with one
 *   send() per batch. Capturing does not see its filter.
 *
 *   main thread (this file): parses the command line into a struct
 *   capture_config, opens the capture (validate every flag → filter → rings
 *   → file; nothing is created on bad input), drops privileges (-Z), opens -z
 *   and retention, starts the threads; then sleeps in sigtimedwait until a
 *   signal or the earliest of its timers (one table, below; under systemd
 *   they also keep its watchdog fed and its status line current), and at the end
 *   stops the capture (the rings drain, the file is closed whole) and prints
 *   the counters.
 *
 * Exit status: 0 done, 1 a failure while running (full disk), 2 bad input or
 * set-up failure (nothing is created then).
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "capture/capture.h"
#include "cli.h"
#include "util/util.h"

/* The signals main takes with sigtimedwait (blocked in every thread): every
 * catchable one whose default would end the process without closing the file,
 * SIGUSR1 (print the counters, go on), SIGHUP (with -C/-G: the next file; else
 * the end) and the workers' wake-up. SIGPIPE (the reader of -w - went away)
 * ends the capture like SIGTERM. */
static const int caught_signals[] = {
	SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGPIPE, SIGALRM,
	SIGVTALRM, SIGPROF, SIGXCPU, SIGXFSZ, SIGPWR, SIGSTKFLT,
};

static void block_signals(sigset_t *sigs)
{
	sigemptyset(sigs);
	for (size_t i = 0; i < ARRAY_SIZE(caught_signals); i++) {
		/* A shell starts background jobs with SIGINT and SIGQUIT ignored,
		 * and an ignored signal is discarded even while blocked. */
		signal(caught_signals[i], SIG_DFL);
		sigaddset(sigs, caught_signals[i]);
	}
	sigaddset(sigs, CAPTURE_WAKE_SIGNAL);
	pthread_sigmask(SIG_BLOCK, sigs, NULL);
}

static enum capture_timer_ret duration_over(void *cap, uint64_t now)
{
	(void)cap;
	(void)now;
	return CAPTURE_TIMER_END;
}

/* -U writes out at least every upkeep period, --flush-interval at its own. */
static uint64_t flush_every(const struct capture_config *cfg)
{
	uint64_t every = (uint64_t)cfg->flush_interval_ms * 1000000;

	if (!cfg->path)
		return 0;
	if (cfg->packet_buffered && (!every || every > CAPTURE_UPKEEP_NS))
		return CAPTURE_UPKEEP_NS;
	return every;
}

static uint64_t report_every(const struct capture_config *cfg)
{
	if (cfg->stats_interval_ns)
		return cfg->stats_interval_ns;
	return cfg->stats_prom ? CAPTURE_PROM_DEFAULT_NS : 0; /* for node_exporter */
}

/* Under a service manager: STATUS= at the report's period, or this often. */
#define STATUS_DEFAULT_NS (10ull * 1000 * 1000 * 1000)

/* What the service manager's timers fire on. */
struct service {
	struct capture *cap;
	const struct notify *notify;
};

/* WATCHDOG=1 from this loop, so a loop that stops turning stops them and the
 * service manager restarts the service. */
static enum capture_timer_ret send_watchdog(void *ctx, uint64_t now)
{
	const struct service *sv = ctx;

	(void)now;
	notify_send(sv->notify, "WATCHDOG=1");
	return CAPTURE_TIMER_NEXT;
}

static enum capture_timer_ret send_status(void *ctx, uint64_t now)
{
	const struct service *sv = ctx;
	char line[256];

	capture_format_status(sv->cap, line, sizeof(line), now);
	notify_send(sv->notify, line);
	return CAPTURE_TIMER_NEXT;
}

/*
 * Wait for a signal that ends the capture, a timer that ends it (the
 * duration, a failed writer), or a worker asking to stop; SIGUSR1 prints the
 * counters on the way, SIGHUP with -C/-G starts the next file. Between
 * signals, sleep until the earliest timer is due and fire what is due, in
 * the table's order (the statistics before the reports that read them).
 */
static void wait_for_end(struct capture *cap, const struct capture_config *cfg,
			 const sigset_t *sigs, const struct notify *notify)
{
	const bool retention = cfg->min_free_bytes || cfg->min_free_percent ||
			       cfg->max_total_bytes;
	struct service sv = { cap, notify };
	const uint64_t status_every = !notify_active(notify) ? 0
				      : report_every(cfg) ? report_every(cfg) : STATUS_DEFAULT_NS;
	struct capture_timer timers[] = {
		/* half the manager's timeout, as sd_watchdog_enabled(3) advises */
		{ .name = "watchdog", .fire = send_watchdog, .every_ns = notify->watchdog_ns / 2,
		  .ctx = &sv },
		{ .name = "on-full resume", .fire = capture_tick_resume,
		  .every_ns = cfg->on_full_wait ? CAPTURE_UPKEEP_NS : 0 },
		{ .name = "flush", .fire = capture_tick_flush, .every_ns = flush_every(cfg),
		  .retry_ns = CAPTURE_UPKEEP_NS },
		{ .name = "duration", .fire = duration_over, .every_ns = cfg->duration_ns },
		{ .name = "statistics", .fire = capture_tick_stats, .every_ns = CAPTURE_UPKEEP_NS },
		/* after the statistics: the elastic pool looks at their drops */
		{ .name = "workers", .fire = capture_tick_workers, .every_ns = CAPTURE_UPKEEP_NS,
		  .retry_ns = CAPTURE_POOL_RETRY_NS },
		{ .name = "retention", .fire = capture_tick_retention,
		  .every_ns = retention ? CAPTURE_UPKEEP_NS : 0 },
		{ .name = "report", .fire = capture_tick_report, .every_ns = report_every(cfg) },
		{ .name = "status", .fire = send_status, .every_ns = status_every, .ctx = &sv },
	};
	const size_t n = ARRAY_SIZE(timers);

	capture_timers_arm(timers, n, now_ns());
	for (;;) {
		uint64_t now = now_ns(), due = capture_timers_next(timers, n);
		uint64_t wait = due > now ? due - now : 0;
		struct timespec ts = { (time_t)(wait / 1000000000), (long)(wait % 1000000000) };
		int sig = sigtimedwait(sigs, NULL, due == UINT64_MAX ? NULL : &ts);

		if (sig == SIGUSR1) {
			capture_update_stats(cap);
			capture_print_counters(cap, stderr);
			continue;
		}
		if (sig == SIGHUP && capture_rotate_request(cap))
			continue;
		if (sig > 0 && sig != CAPTURE_WAKE_SIGNAL)
			return;
		if (capture_stop_requested(cap))
			return;
		if (capture_timers_run(timers, n, cap, now_ns()))
			return;
	}
}

int main(int argc, char **argv)
{
	struct capture_config cfg;
	struct capture *cap = NULL;
	struct notify notify;
	sigset_t sigs;
	bool exit_now;
	int status = 0, ret;

	log_set_program("ringcap");
	ret = cli_parse(&cfg, argc, argv, &exit_now);
	if (ret || exit_now)
		return ret;

	/* Before -Z: the user may not be allowed to reach the manager's socket. */
	ret = notify_open(&notify);
	if (ret)
		log_warn("NOTIFY_SOCKET: %s; the service manager is not told of the capture",
			 strerror(-ret));
	/* Signals are taken only by main's sigtimedwait; threads inherit the mask. */
	block_signals(&sigs);
	if (capture_open(&cap, &cfg) || capture_drop_privileges(cap) ||
	    capture_open_upkeep(cap)) {
		status = 2; /* bad input or set-up failure: nothing is left behind */
		goto out_close;
	}
	if (capture_start(cap))
		status = 1;
	if (!cfg.quiet)
		capture_print_listening(cap, stderr);
	if (!status) {
		/* the rings and the first file are open, privileges dropped */
		notify_send(&notify, "READY=1");
		wait_for_end(cap, &cfg, &sigs, &notify);
	}
	notify_send(&notify, "STOPPING=1");
	if (capture_stop(cap))
		status = 1;
	if (capture_report_exit(cap, stderr))
		status = 1;
out_close:
	capture_close(cap);
	notify_close(&notify);
	cli_free(&cfg);
	return status;
}
