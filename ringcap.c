/*
 * ringcap — capture to disk at line rate, and answer ARP for address pools.
 *
 * The pipeline:
 *
 *   N AF_PACKET sockets, one per worker, all in one PACKET_FANOUT group; each
 *   maps a TPACKET_V3 RX ring, and the kernel runs our classic-BPF filter
 *   (compiled by libpcap from the tcpdump expression) before a packet is queued.
 *        │ a retired block (many packets, one wakeup)
 *        ▼
 *   worker thread (pinned, one per CPU): walks the block once, runs each
 *   handler on the whole block, gives the block back in ring order.
 *        ├── pcap handler: reserves a byte range of the file for the block's
 *        │   records, copies them into page-aligned staging slots; a full slot
 *        │   is written by io_uring (O_DIRECT, registered buffers) in file order.
 *
 *   ARP/NDP responder (responder/): a socket of its own with a TPACKET_V2 ring (no
 *   block to wait for) behind its own prefilter, a thread that wakes per
 *   request when idle and drains in batches under a flood, replies through a
 *   TX ring with one send() per batch. Capturing does not see its filter.
 *
 *   main thread: set-up (validate every flag → filter → rings → file → threads),
 *   then waits for signals and reads PACKET_STATISTICS into 64-bit totals; at
 *   the end drains the rings, closes a valid file and prints the counters.
 *
 * Exit status: 0 done, 1 a failure while running (full disk), 2 bad input or
 * set-up failure (nothing is created then).
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "ring/ring.h"
#include "workers/workers.h"
#include "writer/writer.h"
#include "responder/responder.h"
#include "merge/merge.h"
#include "stats/stats.h"
#include "jobs/jobs.h"
#include "retention/retention.h"
#include "index/index.h"

#define PROM_DEFAULT_INTERVAL_NS (15ull * 1000000000) /* --stats-prom without --stats-interval */

/* The merge emits a packet once no empty input can still bring an older one:
 * allow this long for a packet stamped but not yet in its ring. */
#define MERGE_MARGIN_NS (10ull * 1000 * 1000)
#define MERGE_BATCH 1024u   /* packets per writer_append from the merge */

/* A file the writer closed, on its way to retention (see on_file_closed). */
struct closed_file {
	struct closed_file *next;
	uint64_t size;
	char path[];
};

struct capture {
	struct capture_config opt;
	struct iface iface;        /* looked up once, handed to every socket */
	struct filter kfilter;     /* in the kernel: the user's expression */
	struct workers_ctl ctl;
	struct worker *workers;
	struct pcap_handler *pcap;  /* one per worker (one worker: no merge) */
	/* Several workers: their blocks meet in the time-order merge, whose sink
	 * is one pcap handler; one merge handler per worker feeds it. */
	struct merge *merge;
	struct pcap_handler sink;
	struct merge_handler *mh;
	struct merge_input_counters *mc; /* per worker, after merge_close */
	struct arp_responder *arp;  /* pools and MAC */
	struct arp_service arps;    /* its socket, TX ring and thread */
	struct writer *writer;
	struct writer_result wres;
	bool closed;               /* the writer is closed and wres is final */
	uint64_t *left_in_ring;    /* per worker, counted after the drain */
	uint64_t t_start;
	/* reports: the snapshot's arrays, the last interval's figures */
	struct stats_worker *sw;
	struct stats_pair arp_pairs[32];
	struct stats_snapshot prev;
	bool have_prev;
	uint64_t t_report;
	bool warned_json, warned_prom;
	/* unattended operation: -z and retention, fed by the writer's hook */
	struct jobs *jobs;
	struct retention *ret;
	uint64_t bytes_at_tick;    /* writer_bytes at the last tick */
	uint64_t bytes_per_s;      /* over the last tick, for the retention reserve */
	uint64_t t_tick;
	bool retention_full;       /* said once: nothing more may be deleted */
	struct retention_counters ret_final; /* after they are closed, for the reports */
	pthread_mutex_t closed_lock;         /* closed_files: the writer's hook to main */
	struct closed_file *closed_files;
	struct jobs_counters jobs_final;
};

/* The capture's counters summed over the workers, in one place for every report. */
struct totals {
	uint64_t received;   /* PACKET_STATISTICS tp_packets: passed the filter */
	uint64_t dropped;    /* tp_drops */
	uint64_t freeze_q;
	uint64_t bad_blocks;
	uint64_t bad_packets;
	uint64_t left_in_ring; /* received, still in the ring when the drain ended */
	uint64_t written;      /* records handed to the writer so far */
	uint64_t out_of_order; /* came later than the merge waited for them */
};

static struct totals capture_totals(const struct capture *cap)
{
	struct totals t = { 0 };

	for (unsigned i = 0; i < cap->opt.threads; i++) {
		const struct worker *w = &cap->workers[i];

		t.received += w->ring.stats.packets;
		t.dropped += w->ring.stats.drops;
		t.freeze_q += w->ring.stats.freeze_q;
		t.bad_blocks += worker_counter(&w->c.bad_blocks);
		t.bad_packets += worker_counter(&w->c.bad_packets);
		t.left_in_ring += cap->left_in_ring ? cap->left_in_ring[i] : 0;
		if (cap->pcap)
			t.written += __atomic_load_n(&cap->pcap[i].written, __ATOMIC_RELAXED);
		if (cap->mc) {
			t.bad_packets += cap->mc[i].bad_packets;
			t.out_of_order += cap->mc[i].out_of_order;
		}
	}
	if (cap->merge || cap->mc)
		t.written = __atomic_load_n(&cap->sink.written, __ATOMIC_RELAXED);
	return t;
}

/* At exit, and on SIGUSR1 while the capture goes on (then "captured" is what
 * the workers have handed to the writer so far). */
static void print_counters(const struct capture *cap, FILE *f)
{
	struct totals t = capture_totals(cap);

	/* records in the file; zero when there is no file (wres stays zeroed) */
	fprintf(f, "%llu packets captured\n",
		(unsigned long long)(cap->closed ? cap->wres.packets : t.written));
	fprintf(f, "%llu packets received by filter\n", (unsigned long long)t.received);
	fprintf(f, "%llu packets dropped by kernel\n", (unsigned long long)t.dropped);
	if (t.out_of_order)
		fprintf(f, "%llu packets written out of time order: they came later than the "
			"merge waits\n", (unsigned long long)t.out_of_order);
	if (t.left_in_ring)
		fprintf(f, "%llu packets left in the ring: received, not captured when the "
			"drain time ran out\n", (unsigned long long)t.left_in_ring);
	if (t.bad_packets)
		fprintf(f, "%llu packets skipped: ring header lied about lengths\n",
			(unsigned long long)t.bad_packets);
	if (cap->closed && cap->wres.unwritten_packets)
		fprintf(f, "%llu packets not written (%llu bytes) while the disk was full "
			"(--on-full wait)\n", (unsigned long long)cap->wres.unwritten_packets,
			(unsigned long long)cap->wres.unwritten_bytes);
	if (cap->wres.stalls)
		fprintf(f, "%llu waits for the disk (%.0f ms in all): staging was full\n",
			(unsigned long long)cap->wres.stalls, (double)cap->wres.stall_ns / 1e6);
	if (cap->arp)
		arp_print_counters(&cap->arps, f);
}

/* The counters as the stats layer reports them: a snapshot of the totals,
 * the writer's figures (final once it is closed) and each worker's. Main's
 * thread. The arrays live in cap (sw, arp_pairs). */
static void fill_snapshot(struct capture *cap, struct stats_snapshot *s)
{
	const struct totals t = capture_totals(cap);
	const struct capture_config *o = &cap->opt;

	memset(s, 0, sizeof(*s));
	s->ifname = o->ifname;
	s->seconds = (double)(now_ns() - cap->t_start) / 1e9;
	s->received = t.received;
	s->dropped = t.dropped;
	s->freeze_q = t.freeze_q;
	s->bad_blocks = t.bad_blocks;
	s->bad_packets = t.bad_packets;
	s->left_in_ring = t.left_in_ring;
	s->out_of_order = t.out_of_order;
	s->captured = cap->closed ? cap->wres.packets : t.written;
	s->bytes_written = cap->closed || !cap->writer ? cap->wres.bytes : writer_bytes(cap->writer);
	s->files = cap->wres.files;
	s->writer = cap->wres.backend;
	s->o_direct = cap->wres.direct;
	s->writer_stalls = cap->wres.stalls;
	s->writer_stall_ns = cap->wres.stall_ns;
	if (cap->closed || !cap->writer) {
		s->unwritten_packets = cap->wres.unwritten_packets;
		s->unwritten_bytes = cap->wres.unwritten_bytes;
		s->disk_full_events = cap->wres.full_events;
	} else {
		unsigned events;

		s->waiting_for_space = writer_unwritten(cap->writer, &s->unwritten_packets,
							&s->unwritten_bytes, &events);
		s->disk_full_events = events;
	}
	if (o->path) {
		char dir[PATH_MAX];

		path_dir(o->path, dir, sizeof(dir));
		s->disk_known = retention_statvfs(dir, &s->disk_free_bytes, &s->disk_total_bytes) == 0;
	}
	if (cap->ret) {
		struct retention_counters rc;

		retention_counters(cap->ret, &rc);
		s->retention_files_deleted = rc.files_deleted;
		s->retention_bytes_deleted = rc.bytes_deleted;
	} else {
		s->retention_files_deleted = cap->ret_final.files_deleted;
		s->retention_bytes_deleted = cap->ret_final.bytes_deleted;
	}
	if (cap->jobs) {
		struct jobs_counters jc;

		jobs_counters(cap->jobs, &jc);
		s->z_jobs_run = jc.run;
		s->z_jobs_failed = jc.failed;
		s->z_jobs_queued = jc.queued;
	} else {
		s->z_jobs_run = cap->jobs_final.run;
		s->z_jobs_failed = cap->jobs_final.failed;
	}
	for (unsigned i = 0; i < o->threads; i++) {
		const struct worker *w = &cap->workers[i];

		cap->sw[i] = (struct stats_worker){
			.id = w->id,
			.cpu = w->cpu,
			.received = w->ring.stats.packets,
			.dropped = w->ring.stats.drops,
			.freeze_q = w->ring.stats.freeze_q,
			.blocks = worker_counter(&w->c.blocks),
			.packets = worker_counter(&w->c.packets),
			.written = cap->pcap ? __atomic_load_n(&cap->pcap[i].written, __ATOMIC_RELAXED)
				 : cap->mc ? cap->mc[i].packets : 0,
		};
	}
	s->workers = cap->sw;
	s->nworkers = o->threads;
	if (cap->arp) {
		struct arp_counters a;

		arp_service_counters(&cap->arps, &a);
		const struct stats_pair pairs[] = {
			{ "requests", a.requests },
			{ "replies", a.replies },
			{ "probes_answered", a.probes },
			{ "tx_ring_full", a.tx_full },
			{ "announced", a.announced },
			{ "busy_poll_windows", a.busy_windows },
			{ "busy_poll_caught", a.busy_caught },
			{ "received", cap->arps.rx.stats.packets },
			{ "kernel_drops", cap->arps.rx.stats.drops },
			{ "ignored.out_of_pool", a.ign_out_of_pool },
			{ "ignored.not_request", a.ign_not_request },
			{ "ignored.gratuitous", a.ign_gratuitous },
			{ "ignored.own_mac", a.ign_own },
			{ "ignored.malformed", a.ign_malformed },
			{ "ignored.not_for_us", a.ign_not_for_us },
			{ "ignored.bad_sender", a.ign_bad_sender },
			{ "ignored.bad_target", a.ign_bad_target },
			{ "ignored.other_vlan", a.ign_vlan },
			{ "ndp_solicitations", a.ns_requests },
			{ "ndp_dad", a.ns_dad },
			{ "ndp_ignored.out_of_pool", a.ns_out_of_pool },
			{ "ndp_ignored.malformed", a.ns_malformed },
			{ "ndp_ignored.not_for_us", a.ns_not_for_us },
			{ "ndp_ignored.bad_sender", a.ns_bad_sender },
			{ "ndp_ignored.own_mac", a.ns_own },
			{ "ndp_ignored.other_vlan", a.ns_vlan },
		};

		_Static_assert(ARRAY_SIZE(pairs) <= ARRAY_SIZE(cap->arp_pairs), "arp pairs");
		memcpy(cap->arp_pairs, pairs, sizeof(pairs));
		s->arp = cap->arp_pairs;
		s->narp = ARRAY_SIZE(pairs);
	}
}

/* --stats-json and --stats-prom, replaced atomically; `final` at exit. While
 * running a failure is said once per file and the capture goes on; at exit it
 * is said and returned. `json`: the JSON file too (else only Prometheus's).
 * 0 or -errno. */
static int write_stat_files(struct capture *cap, const struct stats_snapshot *s, bool final,
			    bool json)
{
	const struct { const char *path; int (*write)(const char *, const struct stats_snapshot *);
		       bool *warned; } outs[] = {
		{ json ? cap->opt.stats_json : NULL, stats_write_json, &cap->warned_json },
		{ cap->opt.stats_prom, stats_write_prometheus, &cap->warned_prom },
	};
	int status = 0;

	for (size_t i = 0; i < ARRAY_SIZE(outs); i++) {
		int ret;

		if (!outs[i].path)
			continue;
		ret = outs[i].write(outs[i].path, s);
		if (ret && (final || !*outs[i].warned)) {
			log_err("cannot write stats to %s: %s", outs[i].path, strerror(-ret));
			*outs[i].warned = true;
		}
		if (ret && final && !status)
			status = ret;
	}
	return status;
}

/* Main's tick: the interval line (--stats-interval) and the stat files, at
 * the interval; --stats-prom also every 15 s without one, for node_exporter. */
static void report_tick(struct capture *cap)
{
	const uint64_t now = now_ns();
	const uint64_t every = cap->opt.stats_interval_ns ? cap->opt.stats_interval_ns
							  : PROM_DEFAULT_INTERVAL_NS;
	struct stats_snapshot s;

	if (!cap->opt.stats_interval_ns && !cap->opt.stats_prom)
		return;
	if (now - cap->t_report < every)
		return;
	fill_snapshot(cap, &s);
	if (cap->opt.stats_interval_ns) {
		char line[512];

		stats_format_interval_line(line, sizeof(line), cap->have_prev ? &cap->prev : NULL, &s,
					   (double)(now - cap->t_report) / 1e9);
		fprintf(stderr, "ringcap: %s\n", line);
		cap->prev = s;
		cap->have_prev = true;
		write_stat_files(cap, &s, false, true);
	} else {
		write_stat_files(cap, &s, false, false); /* JSON only at exit without an interval */
	}
	cap->t_report = now;
}

/* At start, before anything is made (and again as the -Z user): each stats
 * file can be replaced. 0 or -errno (one line logged). */
static int check_stat_files(const struct capture_config *o)
{
	const char *paths[] = { o->stats_json, o->stats_prom };

	for (size_t i = 0; i < ARRAY_SIZE(paths); i++) {
		int ret = paths[i] ? stats_check_writable(paths[i]) : 0;

		if (ret) {
			log_err("bad stats file '%s': %s", paths[i], strerror(-ret));
			return ret;
		}
	}
	return 0;
}

/* The capture sockets' kernel filter: the user's expression (ARP answering
 * has a socket and a filter of its own). 0 or -EINVAL (one line logged). */
static int compile_filters(struct capture *cap)
{
	struct capture_config *o = &cap->opt;
	char err[FILTER_ERR_LEN];
	int ret;

	if (!o->path)
		return 0;
	ret = filter_compile_link(&cap->kfilter, cap->iface.linktype, o->expr, o->snaplen, err,
				  sizeof(err));
	if (ret)
		log_err("bad filter expression '%s': %s", o->expr, err);
	return ret;
}

/* 0 or -errno (one line logged, naming the interface). */
static int lookup_iface(struct capture *cap)
{
	const char *name = cap->opt.ifname;
	int ret = iface_lookup(name, &cap->iface);

	if (ret == -ENODEV)
		log_err("bad interface '%s': no such device", name);
	else if (ret == -ENETDOWN)
		log_err("bad interface '%s': interface is down", name);
	else if (ret)
		log_err("bad interface '%s': %s", name, strerror(-ret));
	if (ret)
		return ret;
	if (!cap->iface.linktype) {
		log_err("bad interface '%s': hardware type %u has no link type ringcap writes "
			"(Ethernet, loopback, raw IP)", name, cap->iface.type);
		return -EPROTONOSUPPORT;
	}
	if ((cap->opt.npools || cap->opt.nndp) && cap->iface.linktype != LINKTYPE_ETHERNET) {
		log_err("bad interface '%s': ARP/NDP answering needs Ethernet", name);
		return -EPROTONOSUPPORT;
	}
	return 0;
}

/* One worker and one ring per thread. 0 or -errno (one line logged). */
static int open_rings(struct capture *cap)
{
	const struct capture_config *o = &cap->opt;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	struct ring_config rc = {
		.iface = &cap->iface,
		.block_size = o->block_size,
		.block_nr = (uint32_t)(o->ring_bytes / o->block_size),
		.frame_size = 2048,
		.block_timeout_ms = o->block_timeout_ms,
		.filter = &cap->kfilter,
		.fanout_mode = o->fanout_mode,
		.fanout = o->threads > 1, /* a group of one would only cost a hash per packet */
		.fanout_id = -1,
		/* tcpdump's default; answering ARP alone needs no stranger's frames */
		.promisc = o->path && !o->no_promisc,
		/* libpcap skips loopback's outgoing copy: store each packet once */
		.ignore_outgoing = cap->iface.loopback,
	};

	cap->workers = xcalloc(o->threads, sizeof(*cap->workers));
	for (unsigned i = 0; i < o->threads; i++) {
		struct worker *w = &cap->workers[i];
		struct worker_config wc = {
			.id = i,
			.cpu = o->ncpus ? o->cpus[i % o->ncpus]
					: cpus > 0 ? (int)(i % (unsigned)cpus) : -1,
			.ctl = &cap->ctl,
			.block_size = o->block_size,
		};
		int ret = worker_init(w, &wc);

		if (!ret)
			ret = ring_open(&w->ring, &rc);
		if (ret) {
			if (ret == -EINVAL)
				log_err("worker %u: bad block size %u", i, o->block_size);
			return ret;
		}
		rc.fanout_id = w->ring.fanout_id;
	}
	return 0;
}

/* Several workers write one file in time order through the merge: its sink
 * is the one pcap handler, each worker hands it its blocks. 0 or -errno. */
static int open_merge(struct capture *cap)
{
	const struct capture_config *o = &cap->opt;
	struct merge_config mc = {
		.ninputs = o->threads,
		.margin_ns = MERGE_MARGIN_NS,
		.batch = MERGE_BATCH,
		.sink = pcap_handler_write,
		.sink_ctx = &cap->sink,
	};
	uint32_t min_blocks = UINT32_MAX;
	int ret;

	for (unsigned i = 0; i < o->threads; i++) {
		mc.rings[i] = &cap->workers[i].ring;
		if (cap->workers[i].ring.block_nr < min_blocks)
			min_blocks = cap->workers[i].ring.block_nr;
	}
	mc.depth = min_blocks / 2; /* >= 2: a ring has 4 blocks at least */
	pcap_handler_init_sink(&cap->sink, cap->writer);
	ret = merge_open(&cap->merge, &mc);
	if (ret) {
		if (ret == -EINVAL)
			log_err("time-order merge: bad set-up (%u inputs, %u blocks)", o->threads,
				min_blocks);
		return ret;
	}
	cap->mh = xcalloc(o->threads, sizeof(*cap->mh));
	for (unsigned i = 0; i < o->threads; i++) {
		cap->mh[i] = (struct merge_handler){ cap->merge, i };
		ret = worker_add_handler(&cap->workers[i], &merge_handler_ops, &cap->mh[i]);
		if (ret) {
			log_err("worker %u: no room for the merge handler", i);
			return ret;
		}
	}
	return 0;
}

/* The file and its pcap handlers. 0 or -errno (one line logged). */
/* The writer closed a file (its thread: the reaper, a worker or main):
 * retention may delete it from now on, and -z gets it if it is whole. */
static void on_file_closed(void *ctx, const char *path, uint64_t size, int error)
{
	struct capture *cap = ctx;

	if (cap->ret) {
		/* Not retention_add_closed here: it waits while main deletes a
		 * file, and this thread holds the writer's lock. Main adds it. */
		struct closed_file *c = xcalloc(1, sizeof(*c) + strlen(path) + 1);

		c->size = size;
		strcpy(c->path, path);
		pthread_mutex_lock(&cap->closed_lock);
		c->next = cap->closed_files;
		cap->closed_files = c;
		pthread_mutex_unlock(&cap->closed_lock);
	}
	/* A file cut at its last whole record by a full disk that --on-full
	 * wait waits out is a finished file like any other. */
	if (cap->jobs && (!error || cap->opt.on_full_wait))
		jobs_submit(cap->jobs, path);
}

/* Main: hand the files closed since the last look to retention, oldest first. */
static void retention_take_closed(struct capture *cap)
{
	struct closed_file *c, *rev = NULL;

	pthread_mutex_lock(&cap->closed_lock);
	c = cap->closed_files;
	cap->closed_files = NULL;
	pthread_mutex_unlock(&cap->closed_lock);
	while (c) { /* the list is newest first */
		struct closed_file *next = c->next;

		c->next = rev;
		rev = c;
		c = next;
	}
	while (rev) {
		struct closed_file *next = rev->next;

		retention_add_closed(cap->ret, rev->path, rev->size, 0);
		xfree(rev);
		rev = next;
	}
}

static bool file_in_use(void *ctx, const char *path)
{
	return jobs_busy(ctx, path);
}

/* -z and --min-free/--max-total, after the writer's first file exists (and,
 * with -Z, as the user: the -z children inherit it). 0 or -errno. */
static int open_unattended(struct capture *cap)
{
	const struct capture_config *o = &cap->opt;
	char dir[PATH_MAX];
	int ret;

	if (o->z_cmd) {
		ret = jobs_open(&cap->jobs, o->z_cmd, o->z_jobs);
		if (ret) {
			log_err("bad -z command '%s': %s", o->z_cmd, strerror(-ret));
			return ret;
		}
	}
	if (!o->min_free_bytes && !o->min_free_percent && !o->max_total_bytes)
		return 0;
	path_dir(o->path, dir, sizeof(dir));
	ret = retention_open(&cap->ret, &(struct retention_config){
		.dir = dir,
		.min_free_bytes = o->min_free_bytes,
		.min_free_percent = o->min_free_percent,
		.max_total_bytes = o->max_total_bytes,
		.sibling = index_path_for,
		.in_use = file_in_use,
		.in_use_ctx = cap->jobs,
	});
	if (ret) {
		log_err("retention in %s: %s", dir, strerror(-ret));
		return ret;
	}
	writer_current_path(cap->writer, dir, sizeof(dir));
	retention_set_current(cap->ret, dir, 0); /* never adopted, never deleted */
	ret = retention_adopt(cap->ret, &(struct retention_pattern){
		.path = o->path, .strftime = o->rotate_ns != 0, .numbered = o->rotate_bytes != 0,
		.max_files = o->rotate_bytes ? o->max_files : 0 }, NULL);
	if (ret && ret != -EOPNOTSUPP)
		log_warn("retention: earlier files of this capture not adopted: %s", strerror(-ret));
	return 0;
}

/* Main's tick: keep the limits, with room for what comes before the next
 * tick. Never from a worker: deleting a large file takes time. */
static void retention_tick(struct capture *cap)
{
	const uint64_t now = now_ns(), bytes = writer_bytes(cap->writer);
	uint64_t reserve;
	int ret;

	if (cap->t_tick && now > cap->t_tick)
		cap->bytes_per_s = (bytes - cap->bytes_at_tick) * 1000000000ull / (now - cap->t_tick);
	cap->t_tick = now;
	cap->bytes_at_tick = bytes;
	/* What may land before the next look (ticks are 200 ms): half a
	 * second of the current rate; and, for --min-free, the space a new
	 * file's preallocation takes (the writer's step, or the -C size when
	 * smaller), which uses the disk but is not the capture's bytes yet. */
	reserve = cap->bytes_per_s / 2;
	if (cap->opt.min_free_bytes || cap->opt.min_free_percent)
		reserve += cap->opt.rotate_bytes && cap->opt.rotate_bytes < (256ull << 20)
				   ? cap->opt.rotate_bytes : 256ull << 20;
	retention_take_closed(cap);
	{
		char cur[PATH_MAX];
		uint64_t cur_bytes = writer_current_path(cap->writer, cur, sizeof(cur));

		/* the file being written counts towards --max-total too */
		/* (no current file while --on-full wait waits for room) */
		retention_set_current(cap->ret, *cur ? cur : NULL, cur_bytes);
	}
	ret = retention_enforce(cap->ret, reserve);
	if (ret == -ENOSPC && !cap->retention_full)
		log_warn("retention: the limits cannot be held: nothing more may be deleted");
	cap->retention_full = ret == -ENOSPC;
}

static int open_writer(struct capture *cap)
{
	const struct capture_config *o = &cap->opt;
	struct writer_config wc = {
		.path = o->path,
		.snaplen = o->snaplen,
		.nano = o->nano,
		.linktype = cap->iface.linktype,
		.flush_each_append = o->packet_buffered,
		.backend = o->use_pwrite ? WRITER_PWRITE : WRITER_URING,
		.chunk_size = 1u << 20,
		.nchunks = (uint32_t)(o->staging_bytes >> 20),
		.max_packets = o->count,
		.rotate_bytes = o->rotate_bytes,
		.rotate_ns = o->rotate_ns,
		.max_files = o->max_files,
		.direct = o->direct,
		.index = !o->no_index,
		.on_full_wait = o->on_full_wait,
		.file_closed = on_file_closed,
		.hook_ctx = cap,
	};
	int ret;

	if (!o->path)
		return 0;
	ret = writer_open(&cap->writer, &wc);
	if (ret)
		return ret;
	if (o->threads > 1)
		return open_merge(cap);
	cap->pcap = xcalloc(o->threads, sizeof(*cap->pcap));
	for (unsigned i = 0; i < o->threads; i++) {
		ret = pcap_handler_init(&cap->pcap[i], &cap->workers[i], cap->writer);
		if (ret) {
			log_err("worker %u: no room for the pcap handler", i);
			return ret;
		}
	}
	return 0;
}

/* The responder: pools, the check against the interface's own addresses, its
 * socket and TX ring (the thread starts with the workers). 0 or -errno (one
 * line logged). */
static int open_arp(struct capture *cap)
{
	const struct capture_config *o = &cap->opt;
	struct arp_service_config sc = {
		.cpu = o->arp_cpu, /* -1: the scheduler's choice */
		.announce = o->arp_announce,
		.announce_rate = o->announce_rate,
		.priority = o->arp_priority,
		.busy_poll_us = o->arp_busy_poll_us,
	};
	char msg[256];
	int ret;

	cap->arps.rx.fd = cap->arps.tx.fd = cap->arps.stop_fd = -1;
	if (!o->npools && !o->nndp)
		return 0;
	cap->arp = arp_responder_new(&cap->iface, o->pools, o->npools, o->ndp_pools, o->nndp,
				     o->arp_mac_set ? o->arp_mac : NULL);
	if (!o->arp_allow_own && (ret = arp_check_own_addresses(cap->arp, msg, sizeof(msg)))) {
		if (ret == -EADDRINUSE)
			log_err("%s", msg);
		else
			log_err("cannot list the addresses of %s: %s", o->ifname, strerror(-ret));
		return ret;
	}
	return arp_service_open(&cap->arps, cap->arp, &sc);
}

/* The user's groups, group and user, in that order; 0 or -errno. */
static int become_user(const struct passwd *pw)
{
	if (initgroups(pw->pw_name, pw->pw_gid) < 0 || setgid(pw->pw_gid) < 0 ||
	    setuid(pw->pw_uid) < 0)
		return -errno;
	return 0;
}

/* -Z: everything privileged is open; run the capture as an ordinary user.
 * 0 or -errno (one line logged). */
static int drop_privileges(const char *user)
{
	struct passwd *pw = getpwnam(user);
	int ret;

	if (!pw) {
		log_err("bad user '%s': no such user", user);
		return -ENOENT;
	}
	ret = become_user(pw);
	if (ret)
		log_err("cannot become user '%s': %s", user, strerror(-ret));
	return ret;
}

/* With -C or -G the later files are created as the -Z user: find out at
 * start, not at the first rotation, whether that user may create files in the
 * folder. A child process becomes the user and tries, so nothing is created
 * that the user could not remove. 0 or -errno (one line logged). */
static int check_can_rotate(const struct capture_config *o)
{
	const char *slash = strrchr(o->path, '/');
	int dirlen = slash ? (int)(slash - o->path) + 1 : 0;
	struct passwd *pw = getpwnam(o->user);
	char probe[PATH_MAX];
	int status, err;
	pid_t pid;

	if (!o->rotate_bytes && !o->rotate_ns)
		return 0;
	if (!pw) {
		log_err("bad user '%s': no such user", o->user);
		return -ENOENT;
	}
	if (snprintf(probe, sizeof(probe), "%.*s.ringcap-probe-%d", dirlen, o->path,
		     (int)getpid()) >= (int)sizeof(probe))
		return -ENAMETOOLONG;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		int fd, ret = become_user(pw);

		if (ret)
			_exit(-ret);
		fd = open(probe, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0)
			_exit(errno);
		close(fd);
		_exit(unlink(probe) < 0 ? errno : 0);
	}
	if (waitpid(pid, &status, 0) < 0)
		return -errno;
	err = WIFEXITED(status) ? WEXITSTATUS(status) : EIO;
	if (err)
		log_err("bad user '%s': cannot create the next files (-C/-G) in %.*s: %s",
			o->user, dirlen ? dirlen : 1, dirlen ? o->path : ".", strerror(err));
	return -err;
}

static void update_stats(struct capture *cap)
{
	for (unsigned i = 0; i < cap->opt.threads; i++)
		ring_stats_update(&cap->workers[i].ring);
	if (cap->arp)
		arp_service_stats_update(&cap->arps);
}

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
	sigaddset(sigs, WORKERS_WAKE_SIGNAL);
	pthread_sigmask(SIG_BLOCK, sigs, NULL);
}

/* Live files: every --flush-interval (and with -U every tick, for what an
 * append could not write because an earlier chunk was still in flight), the
 * records of the chunk being filled go out. Flushes keep to a fixed period
 * (*next_flush), and the wait before the next one is returned in *wait_ns.
 * False once the writer has failed. */
static bool flush_due(struct capture *cap, uint64_t *next_flush, uint64_t *wait_ns)
{
	uint64_t now = now_ns(), every = (uint64_t)cap->opt.flush_interval_ms * 1000000;
	int ret = 0;

	if (cap->writer && (cap->opt.packet_buffered || (every && now >= *next_flush))) {
		ret = writer_flush(cap->writer);
		if (every && ret != -EAGAIN) /* -EAGAIN: not now, again at the next tick */
			while (*next_flush <= now)
				*next_flush += every;
	}
	if (every && *next_flush > now && *next_flush - now < *wait_ns)
		*wait_ns = *next_flush - now;
	return ret == 0 || ret == -EAGAIN;
}

/* Wait for a signal that ends the capture, the duration, or a worker asking to
 * stop; SIGUSR1 prints the counters on the way, SIGHUP with -C/-G starts the
 * next file. Then let no new packet into any ring, so the drain can empty them
 * and the counts add up. */
static void wait_for_end(struct capture *cap, const sigset_t *sigs)
{
	const struct capture_config *o = &cap->opt;
	const uint64_t tick_ns = 200 * 1000 * 1000;
	uint64_t next_flush = now_ns() + (uint64_t)o->flush_interval_ms * 1000000;
	uint64_t wait_ns = tick_ns;

	for (;;) {
		struct timespec tick = { 0, (long)(wait_ns > 1000000 ? wait_ns : 1000000) };
		int sig = sigtimedwait(sigs, NULL, &tick);

		if (sig == SIGUSR1) {
			update_stats(cap);
			print_counters(cap, stderr);
			continue;
		}
		if (sig == SIGHUP && cap->writer && (o->rotate_bytes || o->rotate_ns)) {
			writer_rotate_request(cap->writer);
			continue;
		}
		if (sig > 0 && sig != WORKERS_WAKE_SIGNAL)
			break;
		wait_ns = tick_ns;
		/* --on-full wait: close the files after a full disk, and start
		 * the next one when there is room; any other error ends it */
		if (o->on_full_wait && cap->writer) {
			int ret = writer_resume(cap->writer);

			if (ret && ret != -EAGAIN)
				break;
		}
		if (!flush_due(cap, &next_flush, &wait_ns))
			break; /* the writer failed; the worker's next append stops it too */
		if (atomic_load(&cap->ctl.stop))
			break;
		if (cap->opt.duration_ns && now_ns() - cap->t_start >= cap->opt.duration_ns)
			break;
		update_stats(cap);
		if (cap->ret)
			retention_tick(cap);
		report_tick(cap);
	}
	for (unsigned i = 0; i < cap->opt.threads; i++) {
		int ret = ring_stop_receiving(&cap->workers[i].ring);

		if (ret)
			log_warn("worker %u: cannot stop the socket receiving (%s); the final "
				 "counts may include packets that arrived while it drained",
				 i, strerror(-ret));
	}
	atomic_store(&cap->ctl.stop, true);
}

/* One line for the writer's failure, naming the file on disk; the exit status. */
static int report_writer_error(const struct writer_result *r)
{
	const char *name = strcmp(r->error_path, "-") ? r->error_path : "standard output";

	if (r->error == -EPIPE && strcmp(r->error_path, "-") == 0) {
		/* The reader went away (tcpdump -r - quit): the end, as for tcpdump. */
		log_err("standard output closed by its reader; %llu packets written",
			 (unsigned long long)r->packets);
		return 0;
	}
	if (r->create_failed)
		log_err("cannot create the next file %s: %s; capture stopped, the files before "
			"keep all %llu packets", name, strerror(-r->error),
			(unsigned long long)r->packets);
	else
		log_err("writing %s failed: %s; the files keep the %llu packets before the "
			"failure", name, strerror(-r->error), (unsigned long long)r->packets);
	return 1;
}

static void teardown(struct capture *cap)
{
	for (unsigned i = 0; cap->workers && i < cap->opt.threads; i++) {
		worker_fini(&cap->workers[i]);
	}
	arp_service_close(&cap->arps);
	if (cap->arp)
		arp_responder_free(cap->arp);
	if (cap->merge)
		merge_close(cap->merge, NULL);
	retention_close(cap->ret); /* before the jobs it asks; both safe on NULL */
	jobs_close(cap->jobs, 0, NULL);
	while (cap->closed_files) {
		struct closed_file *next = cap->closed_files->next;

		xfree(cap->closed_files);
		cap->closed_files = next;
	}
	xfree(cap->mh);
	xfree(cap->mc);
	xfree(cap->pcap);
	xfree(cap->workers);
	filter_free(&cap->kfilter);
	xfree(cap->left_in_ring);
	xfree(cap->sw);
	cli_free(&cap->opt);
}

/* Validate → interface → filters → rings → ARP → file → privileges, in that
 * order; the first failure (already logged) ends set-up. 0 or -errno. */
static int set_up(struct capture *cap)
{
	int ret;

	/* Answering alone needs no capture socket at all. */
	if (!cap->opt.path)
		cap->opt.threads = 0;
	if ((ret = check_stat_files(&cap->opt)) || (ret = lookup_iface(cap)) ||
	    (ret = compile_filters(cap)) ||
	    (cap->opt.user && cap->opt.path && (ret = check_can_rotate(&cap->opt))) ||
	    (ret = open_rings(cap)) || (ret = open_arp(cap)) || (ret = open_writer(cap)))
		return ret;
	cap->sw = xcalloc(cap->opt.threads, sizeof(*cap->sw));
	if (cap->opt.user && ((ret = drop_privileges(cap->opt.user)) ||
			      (ret = check_stat_files(&cap->opt))))
		return ret; /* the stats files are written as the user from now on */
	return open_unattended(cap);
}

int main(int argc, char **argv)
{
	static struct capture cap;
	sigset_t sigs;
	bool exit_now;
	int status = 0, ret;
	unsigned started = 0;

	log_set_program("ringcap");
	ret = cli_parse(&cap.opt, argc, argv, &exit_now);
	if (ret || exit_now)
		return ret;

	/* Signals are taken only by main's sigtimedwait; threads inherit the mask. */
	block_signals(&sigs);
	pthread_mutex_init(&cap.closed_lock, NULL);
	cap.ctl.main_thread = pthread_self();
	/* Empty the rings at the end, the block being filled included (it
	 * retires after its timeout), but never wait on a slow disk for long. */
	cap.ctl.drain_ms = 2 * cap.opt.block_timeout_ms + 2000;

	if (set_up(&cap)) {
		status = 2; /* bad input or set-up failure: nothing is left behind */
		goto out;
	}

	cap.t_start = cap.t_report = now_ns();
	for (; started < cap.opt.threads; started++) {
		if (worker_start(&cap.workers[started])) {
			log_err("cannot start worker %u", started);
			status = 1;
			atomic_store(&cap.ctl.stop, true);
			break;
		}
	}
	if (!status && cap.arp && arp_service_start(&cap.arps)) {
		log_err("cannot start the ARP responder");
		status = 1;
		atomic_store(&cap.ctl.stop, true);
	}
	if (!cap.opt.quiet)
		fprintf(stderr,
			"ringcap: listening on %s, link-type %s, snapshot length %u "
			"bytes; %u workers, fanout %s, %llu KiB ring each\n",
			cap.opt.ifname,
			cap.iface.linktype == LINKTYPE_RAW ? "RAW (Raw IP)" : "EN10MB (Ethernet)",
			cap.opt.snaplen, cap.opt.threads, cap.opt.fanout_name,
			(unsigned long long)(cap.opt.ring_bytes >> 10));
	if (!status)
		wait_for_end(&cap, &sigs);
	if (cap.arp) {
		arp_service_stop(&cap.arps);
	}
	for (unsigned i = 0; i < started; i++)
		worker_join(&cap.workers[i]);
	if (cap.merge) {
		/* what the workers handed over is written before the file closes */
		cap.mc = xcalloc(cap.opt.threads, sizeof(*cap.mc));
		merge_close(cap.merge, cap.mc); /* its error is the writer's, reported below */
		cap.merge = NULL;
	}
	/* No packet comes in any more: what the drain left is counted, exactly. */
	cap.left_in_ring = xcalloc(cap.opt.threads, sizeof(*cap.left_in_ring));
	for (unsigned i = 0; i < started; i++)
		cap.left_in_ring[i] = ring_pending(&cap.workers[i].ring);
	update_stats(&cap);
	if (cap.writer) {
		ret = writer_close(cap.writer, &cap.wres);
		cap.writer = NULL;
		cap.closed = true;
		if (ret)
			status = report_writer_error(&cap.wres);
	}
	/* The last file is closed (and given to -z): retention asks the jobs
	 * whether a file is busy, so it goes first; -z commands may take a
	 * while (compress, upload), a minute at most. */
	if (cap.ret) {
		retention_take_closed(&cap);
		retention_counters(cap.ret, &cap.ret_final);
		retention_close(cap.ret);
		cap.ret = NULL;
	}
	if (cap.jobs) {
		if (jobs_close(cap.jobs, 60000, &cap.jobs_final) == -ETIMEDOUT)
			log_warn("-z: commands still running after 60 s were ended");
		cap.jobs = NULL;
	}
	for (unsigned i = 0, said = 0; i < started; i++) {
		int err = cap.workers[i].error;

		/* A write error is the writer's to report; every worker sees a
		 * lost interface, and it is said once. */
		if (!err || err == cap.wres.error)
			continue;
		status = 1;
		if (err == -ENODEV && !said++)
			log_err("%s: the interface disappeared", cap.opt.ifname);
		else if (err != -ENODEV)
			log_err("worker %u: %s", i, strerror(-err));
	}
	print_counters(&cap, stderr);
	if (cap.opt.stats_json || cap.opt.stats_prom) {
		struct stats_snapshot snap;

		fill_snapshot(&cap, &snap);
		if (write_stat_files(&cap, &snap, true, true))
			status = status ? status : 1;
	}
out:
	if (cap.writer) {
		/* set-up failed after the file was made: leave nothing half-written */
		writer_discard(cap.writer);
		cap.writer = NULL;
	}
	teardown(&cap);
	return status;
}
