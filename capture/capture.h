/*
 * capture — the whole pipeline behind one handle: the capture sockets and
 * their workers (on one interface or several: each -i its own sockets in a
 * fanout group of its own, e.g. a tap's two directions), the time-order merge, the writer, the ARP/NDP responder, -z
 * jobs and retention, opened from a struct capture_config (the CLI fills it),
 * started, stopped and closed as one; its reports (the counters, the exit
 * lines, the stats snapshot for --stats-json/--stats-prom, the interval line)
 * and its upkeep (what main's timers run). main (ringcap.c) parses, opens,
 * drops privileges, waits on signals and timers, stops and reports.
 *
 * THREADS. Every thread of a running ringcap, what it runs, what it owns, and
 * on what it may block. Signals are taken by main alone: every other thread
 * blocks them all.
 *
 *   main (ringcap.c's main, the capture_* calls here)
 *     runs:   set-up in this order: validate every flag (cli_parse, then the
 *             stats files) → every interface and its filter (for its link
 *             type) → rings, interface by interface → responder socket →
 *             file → drop privileges (-Z) → -z jobs and retention → start the
 *             threads below. Then sigtimedwait until a signal or the earliest
 *             of its timers (ringcap.c's table): --on-full wait's resume,
 *             --flush-interval / -U flushes, --duration, the ring
 *             statistics (each interface's own drop counters too; each
 *             interface's kernel totals published for capture_iface_totals),
 *             the elastic pool's look (add or retire a worker: a setsockopt
 *             that waits for the kernel's grace period),
 *             retention, the interval report, and under a service manager
 *             its WATCHDOG=1 and STATUS= (READY=1 once started, STOPPING=1
 *             at the end: util/notify.c). At the end: the
 *             rings stop receiving, the workers drain and are joined, the
 *             merge is closed, the writer closed, retention and the jobs
 *             closed, and the counters reported.
 *     owns:   the struct capture; the service manager's socket (opened
 *             before -Z, the only sender); the 64-bit PACKET_STATISTICS totals of
 *             every socket (the one reader: the kernel resets them on read;
 *             their sums published with relaxed atomics at each statistics
 *             tick for the writer's pcapng ISBs, capture_iface_stats);
 *             retention (it alone deletes files, on its timer); the closed-
 *             file queue's consumer end; the stats files.
 *     blocks: in sigtimedwait; on the file system in its timers (unlink and
 *             statvfs for retention, one write(2) of at most a chunk for a
 *             flush, the stats files); at the end on joins, the writer's
 *             fsync and the -z commands (60 s at most).
 *
 *   workers (workers/; cfg.threads per interface, one per capture socket,
 *            pinned; interface k's are workers [k * threads, (k+1) * threads))
 *     runs:   worker_run: takes its TPACKET_V3 ring's retired blocks in ring
 *             order and walks each once (each packet stamped with its ring's
 *             interface and the kernel's direction). One worker in all: its
 *             pcap handler appends the block's records (writer_append).
 *             Several (of one interface or of several): the merge handler
 *             hands the block over (merge_push). Ends the capture (-c reached,
 *             a socket or write error) by setting ctl.stop and waking main
 *             with CAPTURE_WAKE_SIGNAL; after stop it drains its ring for at
 *             most ctl.drain_ms.
 *             Elastic pool (--workers elastic, -T 2 or more): each worker is
 *             active or idle (enum worker_mode). Active: receiving, appending
 *             itself while it is the only one (direct), else handing blocks
 *             to the merge. Idle: its socket gets nothing (the group's
 *             program), its thread sleeps on the pool's condition variable.
 *             main's workers timer asks a worker to change; the worker does
 *             it between two blocks: a retiring one drains its ring into the
 *             merge, waits until the merge has given every block back, then
 *             sleeps; going direct, worker 0 first waits until the merge holds
 *             none of its blocks. A sleeping worker ends at stop at once.
 *     owns:   its ring and socket; a block from ring_take until it gives it
 *             back (one worker) or pushes it (several: the merger's from
 *             then on); its counters (written by it alone, read relaxed by
 *             main); while it copies into a staging slot, that byte range.
 *     blocks: in poll() on its socket (50 ms at most); idle, on the pool's
 *             condition variable until woken; in writer_append (its own, or
 *             the merge's walk it runs in merge_push or while it waits) while
 *             every staging slot is full (back-pressure: the kernel drops and
 *             counts); in merge_push while its merge input holds `depth`
 *             blocks. With the pwrite backend, in the pwrite of a slot it
 *             completed, and in closing a rotated file.
 *
 *   merger (merge/; only with two workers or more, whatever their interfaces)
 *     runs:   takes every input's pushed blocks, emits their packets in
 *             timestamp order in batches to the one pcap handler
 *             (writer_append; without -w, several interfaces: it counts
 *             them, per interface), then gives the emptied blocks back to
 *             the kernel in each ring's order. The writer's only appender then.
 *             That walk runs on a worker's thread (the one pushing, or one
 *             waiting for its blocks when the clock lets packets go), one at a
 *             time; the merger's own thread only backs the clock up when no
 *             worker waits, and drains at stop.
 *             In an elastic pool with one active worker it sleeps (nothing
 *             is pushed) and that worker appends; the hand-over either way
 *             goes through the merge's lock (workers/workers.h, pool).
 *     owns:   each block from merge_push until ring_release_block; its
 *             walks, heads, batch and per-input counters (main reads them
 *             after merge_close).
 *     blocks: on its condition variable while no block is queued (or, timed,
 *             while only the clock holds the oldest packet back); in
 *             writer_append on full staging, like a worker.
 *
 *   io_uring reaper (writer/backend_uring.c; the io_uring backend, with -w)
 *     runs:   reaps the completion queue, resubmits short writes, and hands
 *             each finished slot to the writer, which releases slots strictly
 *             in file order and closes (ftruncate, index, close) each rotated
 *             file whose last chunk is on disk. Calls the file_closed hook
 *             (capture's: queue the file for retention, submit it to -z).
 *     owns:   the completion queue; a staging slot from its submission (by
 *             the appender that completed it, under sq_lock) until its write
 *             completes; then the slot is free for any appender again.
 *     blocks: in io_uring_wait_cqe; on the writer's lock for a moment; on the
 *             file system when it closes a file and writes its index.
 *
 *   compression pool (writer/compress.c; --compress-threads of them, with
 *   --compress; they replace the io_uring reaper)
 *     runs:   takes completed chunks in order, compresses each into a zstd
 *             frame in its own buffer (a chunk that waited 100 ms, or while
 *             half the staging waits for its frames, is stored raw), and
 *             whichever finds the oldest frame ready writes it and those
 *             ready after it, in file order (pwrite, or write(2) for -w -);
 *             releases the slots and closes rotated files as the reaper
 *             does, with the same hooks.
 *     owns:   a chunk's slot from its submission until its frame is
 *             written; its compression context and output buffer.
 *     blocks: on the pool's condition variables while there is nothing to
 *             compress or its frame waits for earlier ones; on the file
 *             system writing frames and closing files.
 *
 *   responder (responder/service.c, "ringcap-arp"; with --arp/--ndp)
 *     runs:   its own TPACKET_V2 RX socket behind its own prefilter: answers
 *             each request straight into a TX ring frame, one send() per
 *             batch; paces --arp-announce; spins briefly under a flood
 *             (--arp-busy-poll). Capturing does not see its filter.
 *     owns:   its RX and TX rings and sockets; an RX frame from taking until
 *             its answer is built; a TX frame until send() takes it; its
 *             counters (published per batch, read relaxed by main).
 *     blocks: in poll() on its socket and a stop eventfd (main's), with a
 *             timeout until the next announcement; at stop, up to 200 ms
 *             retrying refused sends. SCHED_FIFO with --arp-priority.
 *
 *   jobs (jobs/; with -z)
 *     runs:   one thread owning the -z queue and its children: starts at most
 *             --z-jobs `/bin/sh -c 'CMD "$1"'` at once, FIFO, and waits for
 *             each through a pidfd.
 *     owns:   the queue (a path is copied in by jobs_submit, from whichever
 *             thread closed the file: the reaper, a worker, the merger or
 *             main) and the children.
 *     blocks: in poll() on an eventfd (new submissions) and the pidfds.
 *
 * Hand-offs that cross threads: a block goes kernel → worker → (merger) →
 * kernel; packet bytes are copied once, into a staging slot, by whoever
 * appends; a slot goes appender → backend (the reaper, or the appender itself
 * with pwrite) → free; a closed file goes from the writer's hook to the
 * closed-file queue (a mutex; main hands it to retention on its timer: the
 * hook runs outside the writer's lock, but on a thread a completion or an
 * append waits for, and retention may be busy deleting) and to the jobs
 * queue. With pcapng, the thread that ends a file (the appender at a
 * rotation, main at the end) reads main's published counters through the
 * writer's iface_stats hook, under the writer's lock, without waiting.
 * retention, the writer and jobs take their own
 * mutexes; no lock is held across a hand-off, and nothing is locked per packet.
 *
 * Exit status (main): 0 done, 1 a failure while running (a full disk, a lost
 * interface, a stats file at exit), 2 bad input or a set-up failure (nothing
 * is left behind then).
 *
 * Calls: every function here is main's thread's unless it says otherwise.
 * Functions that act return 0 or -errno with one line logged.
 */
#ifndef RINGCAP_CAPTURE_H
#define RINGCAP_CAPTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "merge/merge.h"
#include "responder/responder.h"
#include "stats/stats.h"
#include "workers/workers.h"
#include "writer/pcap.h"

#define SNAPLEN_MAX PCAP_SNAPLEN_MAX
/* Every worker is one input of the time-order merge. */
#define MAX_WORKERS MERGE_MAX_INPUTS
/* -i: at most this many interfaces in one capture (each its own fanout group,
 * all into the one merge); a name is at most IFNAMSIZ - 1 bytes. */
#define CAPTURE_MAX_IFACES 16
#define CAPTURE_IFNAMSIZ 16
/* --min-free / --max-total without -C or -G rotate at this size */
#define RETENTION_DEFAULT_FILE_BYTES (1000ull * 1000 * 1000)

/* The workers wake main with this signal when they end the capture; main
 * blocks it with the signals it takes (threads inherit the mask). */
#define CAPTURE_WAKE_SIGNAL WORKERS_WAKE_SIGNAL
/* The period of main's upkeep timers (stats, retention, --on-full wait):
 * retention's reserve is sized for what lands between two of them. */
#define CAPTURE_UPKEEP_NS (200ull * 1000 * 1000)
/* --stats-prom without --stats-interval is rewritten this often */
#define CAPTURE_PROM_DEFAULT_NS (15ull * 1000 * 1000 * 1000)

/* What the command line asks for; cli_parse fills it and validates every
 * field before anything is opened. */
struct capture_config {
	/* -i, in the order given (repeated or comma-separated): distinct names */
	char ifnames[CAPTURE_MAX_IFACES][CAPTURE_IFNAMSIZ];
	unsigned nifaces;
	const char *path;          /* -w; NULL: no capture file; "-": standard output */
	const char *stats_json;
	const char *stats_prom;    /* --stats-prom: Prometheus text file */
	uint64_t stats_interval_ns; /* --stats-interval: a line on stderr and the files */
	const char *user;          /* -Z: drop to this user after set-up */
	char *expr;                /* joined trailing arguments; NULL if none */
	uint32_t snaplen;
	uint64_t count;            /* -c; 0 = unlimited */
	uint64_t rotate_bytes;     /* -C */
	uint64_t rotate_ns;        /* -G */
	unsigned max_files;        /* -W */
	uint64_t ring_bytes;       /* -B, per worker */
	uint32_t block_size;
	uint32_t block_timeout_ms;
	unsigned threads;          /* -T: workers per interface; elastic: at most
				    * this many receive */
	bool workers_fixed;        /* --workers fixed: all of them from the start */
	int cpus[MAX_WORKERS];     /* --cpus: where workers are pinned, in turn */
	unsigned ncpus;            /* 0: CPUs 0..online-1 */
	bool threads_set;
	uint16_t fanout_mode;      /* PACKET_FANOUT_* with flags */
	const char *fanout_name;
	bool nano;
	uint64_t duration_ns;      /* 0 = until a signal */
	uint32_t flush_interval_ms; /* --flush-interval: write out partial chunks; 0 = off */
	bool packet_buffered;      /* -U: write out after every block */
	bool immediate;            /* --immediate-mode: block timeout 1 ms and -U */
	unsigned direction;        /* -Q: enum filter_direction (ring/ring.h) */
	bool quiet;
	bool no_promisc;           /* -p: leave the interface's promiscuity alone */
	bool no_index;             /* --no-index: no ringcap-read index beside the files */
	bool index_postings;       /* --index-postings: the default, kept for old command lines */
	bool no_index_postings;    /* --no-index-postings: no hosts, ports, protocols per packet */
	const char *z_cmd;         /* -z: run on each closed file */
	unsigned z_jobs;           /* --z-jobs: at most this many at once (default 2) */
	uint64_t min_free_bytes;   /* --min-free SIZE */
	unsigned min_free_percent; /* --min-free N% */
	uint64_t max_total_bytes;  /* --max-total SIZE */
	bool on_full_wait;         /* --on-full wait */
	bool use_pwrite;
	bool direct;
	uint64_t staging_bytes;
	int compress_level;        /* --compress zstd[:LEVEL]: 0 none, 1..19 */
	unsigned compress_threads; /* --compress-threads (default 1) */
	unsigned format;           /* --format: enum writer_format (writer/writer.h) */
	const char *userappl;      /* pcapng's shb_userappl: "ringcap VERSION" */
	/* ARP and NDP answering */
	struct arp_pool_range pools[MAX_ARP_POOLS];
	unsigned npools;
	uint8_t arp_mac[6];
	bool arp_mac_set;
	struct ndp_pool_range ndp_pools[MAX_NDP_POOLS];
	unsigned nndp;
	bool arp_allow_own;        /* answer for pools holding the interface's addresses */
	bool arp_announce;
	uint32_t announce_rate;    /* announcements per second */
	int arp_priority;          /* the responder's SCHED_FIFO priority; 0: normal */
	int arp_cpu;               /* the responder's CPU; -1: the scheduler's choice */
	uint32_t arp_busy_poll_us; /* the responder's spin window under a flood; 0: none */
};

/* Capture sockets are opened for a -w file, or, with several interfaces and
 * no file, to count what each interface receives (the reports only). Without
 * them ringcap only answers ARP/NDP. Any thread. */
static inline bool capture_config_captures(const struct capture_config *o)
{
	return o->path || o->nifaces > 1;
}

struct capture;

/* ---- capture.c: the pipeline's life ---- */

/*
 * Set-up, everything that needs privileges, in order: the stats files
 * checked, the interface, the filter, the -Z user's right to create the next
 * files (-C/-G), the rings, the responder's socket, the file and its merge.
 * Call it from the thread that will wait for signals (the workers wake it).
 * `cfg` is copied; the strings it points to are borrowed and must outlive
 * capture_close. 0 or -errno (one line logged); on failure nothing is left
 * behind and *out is NULL.
 */
int capture_open(struct capture **out, const struct capture_config *cfg);
/* Start the workers (each with its merge input) and the responder; the
 * capture's clock starts here. 0 or -errno (logged): the capture is then
 * already asked to stop, and capture_stop ends what started. */
int capture_start(struct capture *cap);
/* True once a worker asked to end the capture (-c, an error). Any thread. */
bool capture_stop_requested(const struct capture *cap);
/*
 * The end: the rings stop receiving, the responder answers what is queued
 * and stops, the workers drain (ctl.drain_ms at most) and are joined, the
 * merge writes what it holds, what is left in the rings is counted, the
 * writer closes the files, retention takes the last ones, the -z jobs get 60
 * s to finish. Logs a writer failure and each worker's error, one line each.
 * Returns 0, or the first of those errors (-errno): the run failed (exit
 * status 1). The reader of standard output going away is not a failure.
 * Blocks (fsync, joins, the jobs).
 */
int capture_stop(struct capture *cap);
/* Free everything. Safe on NULL, on a half-built capture (a file created
 * by set-up is removed then: nothing is left behind) and after stop; a
 * started capture is stopped first. */
void capture_close(struct capture *cap);

/* ---- upkeep.c: privileges, -z, retention, the writer's timers ---- */

/* -Z: everything privileged is open; become the user, then check the stats
 * files again (they are written as the user from now on). 0 without -Z.
 * 0 or -errno (logged). */
int capture_drop_privileges(struct capture *cap);
/* After the privilege drop (the -z children run as the user): the -z job
 * thread and retention (adopting this capture's earlier files). Set-up
 * phase: on failure, capture_close removes the file. 0 or -errno (logged). */
int capture_open_upkeep(struct capture *cap);
/* SIGHUP: with -C/-G, ask the writer for the next file and return true;
 * false otherwise (SIGHUP then ends the capture). Never blocks. */
bool capture_rotate_request(struct capture *cap);

/* ---- nic.c: what the interface says (main's thread) ---- */

/* The interface's own receive drops (rx_dropped + rx_missed_errors +
 * rx_fifo_errors under SYSFS_ROOT/class/net/IFNAME/statistics; the root is
 * "/sys" but for tests) into *out. A counter the driver lacks counts 0.
 * 0, or -errno when none could be read. */
int capture_nic_drops(const char *sysfs_root, const char *ifname, uint64_t *out);
/* How many of GRO, LRO, GSO and TSO are on for the interface (SIOCETHTOOL),
 * their names in `names` ("GSO, TSO"); one the driver does not answer for
 * counts as off. -errno when no socket could be made. */
int capture_nic_offloads(const char *ifname, char *names, size_t len);

/* ---- timers.c: main's periodic timers, redis ae.c's time events in one
 * table. Any thread that owns the table; pure but for calling `fire`. ---- */

enum capture_timer_ret {
	CAPTURE_TIMER_NEXT,   /* done: due again at its next period */
	CAPTURE_TIMER_AGAIN,  /* not now: due again retry_ns later, periods kept */
	CAPTURE_TIMER_END,    /* the capture ends (no timer after it runs) */
};

struct capture_timer {
	const char *name;
	uint64_t every_ns;    /* its period; 0: the timer is off */
	enum capture_timer_ret (*fire)(void *ctx, uint64_t now_ns);
	uint64_t retry_ns;    /* after CAPTURE_TIMER_AGAIN; 0: the next period */
	void *ctx;            /* what `fire` gets; NULL: the table's (capture_timers_run's) */
	/* the table's own */
	uint64_t start_ns;    /* periods count from here: they do not drift */
	uint64_t next_ns;     /* when it is due */
};

/* Every timer's first period starts at `now_ns`. */
void capture_timers_arm(struct capture_timer *t, size_t n, uint64_t now_ns);
/* The earliest time a timer is due; UINT64_MAX when every one is off. */
uint64_t capture_timers_next(const struct capture_timer *t, size_t n);
/* Fire, in table order, every timer due at `now_ns` and move each one on.
 * True when one returned CAPTURE_TIMER_END (the rest do not run). */
bool capture_timers_run(struct capture_timer *t, size_t n, void *ctx, uint64_t now_ns);

/* What main's timers fire (ctx: the struct capture). Each may block on the
 * file system (see THREADS); none on the capture's threads. */
/* --on-full wait: close the files after a full disk, start the next when
 * there is room; END on a writer error it does not wait out. */
enum capture_timer_ret capture_tick_resume(void *cap, uint64_t now_ns);
/* --flush-interval and -U: write out the records of the chunk being filled;
 * AGAIN while an append copies or an earlier chunk is in flight; END once
 * the writer has failed (the worker's next append stops it too). */
enum capture_timer_ret capture_tick_flush(void *cap, uint64_t now_ns);
/* --min-free/--max-total: hand retention the files closed since, and keep
 * the limits with room for one upkeep period. */
enum capture_timer_ret capture_tick_retention(void *cap, uint64_t now_ns);

/* ---- elastic.c: the elastic pool of workers ---- */

/* The workers timer (main's statistics period, after the statistics): the
 * elastic pool looks, may begin adding or retiring a worker, and logs the
 * change in one line ("workers: 1 → 2 (ring 0 62% full)"). AGAIN while a
 * change waits for a worker's answer (retry after CAPTURE_POOL_RETRY_NS). */
#define CAPTURE_POOL_RETRY_NS (10ull * 1000 * 1000)
enum capture_timer_ret capture_tick_workers(void *cap, uint64_t now_ns);

/* ---- report.c: counters, the snapshot, the lines and files ---- */

/* The capture's counters summed over the workers, in one place for every
 * report. */
struct capture_totals {
	uint64_t received;     /* PACKET_STATISTICS tp_packets: passed the filter */
	uint64_t dropped;      /* tp_drops */
	uint64_t if_dropped;   /* the interface's own drops since start (nic.c) */
	uint64_t freeze_q;
	uint64_t bad_blocks;
	uint64_t bad_packets;
	uint64_t left_in_ring; /* received, still in the ring when the drain ended */
	uint64_t written;      /* records handed to the writer so far */
	uint64_t out_of_order; /* came later than the merge waited for them */
};

void capture_totals(const struct capture *cap, struct capture_totals *t);
/* The same counters for interface `iface` alone (its position in -i: its
 * sockets, its NIC drops, the records of its packets handed to the writer):
 * captured + dropped + left_in_ring = received for each interface, as for
 * the totals. -EINVAL for an interface the capture does not have. */
int capture_iface_counters(const struct capture *cap, unsigned iface, struct capture_totals *t);
/*
 * Interface `iface`'s kernel totals (PACKET_STATISTICS tp_packets and
 * tp_drops, 64-bit, summed over that interface's sockets) as of main's last
 * statistics tick (capture_update_stats), for a file's closing statistics
 * (pcapng's Interface Statistics Block). Thread: any, while the capture is
 * open; never blocks (relaxed loads of main's figures). 0, or -EINVAL for an
 * interface the capture does not have.
 */
int capture_iface_totals(const struct capture *cap, unsigned iface, uint64_t *received,
			 uint64_t *dropped);
/* How many interfaces the capture listens on (-i, in order) and the name of
 * one. Any thread. */
unsigned capture_nifaces(const struct capture *cap);
const char *capture_iface_name(const struct capture *cap, unsigned iface);
/* Read every socket's PACKET_STATISTICS into the 64-bit totals. */
void capture_update_stats(struct capture *cap);
/* "ringcap: listening on IFACE, link-type ..." at start; with several
 * interfaces, each with its link type. */
void capture_print_listening(const struct capture *cap, FILE *f);
/* The counter lines: at exit, and on SIGUSR1 while the capture goes on
 * (then "captured" is what has been handed to the writer so far). */
void capture_print_counters(const struct capture *cap, FILE *f);
/* The counters as the stats layer reports them (JSON, Prometheus, the
 * interval line): the totals, the writer's figures (final once it is closed),
 * each worker's and the responder's. The arrays it points to live in `cap`
 * until the next call. */
void capture_fill_snapshot(struct capture *cap, struct stats_snapshot *s);
/* At exit, after capture_stop: the counter lines to `f`, then the stats
 * files. 0, or -errno when a stats file could not be written (logged). */
int capture_report_exit(struct capture *cap, FILE *f);
/* The service manager's status line ("STATUS=capturing on IF: ..."): the
 * packets/s captured since the last call (since start the first time), the
 * files, the drops. Call it after capture_update_stats. */
void capture_format_status(struct capture *cap, char *buf, size_t len, uint64_t now_ns);
/* The statistics timer: capture_update_stats. */
enum capture_timer_ret capture_tick_stats(void *cap, uint64_t now_ns);
/* --stats-interval: the interval line and the stats files; --stats-prom
 * alone: its file (the JSON one is written at exit only then). */
enum capture_timer_ret capture_tick_report(void *cap, uint64_t now_ns);

#endif
