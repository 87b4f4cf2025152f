/*
 * The capture's reports: its counters summed in one place, the lines at
 * start, on SIGUSR1 and at exit, the snapshot the stats layer turns into
 * --stats-json, --stats-prom and the interval line. Main's thread: every
 * counter read here is written by one other thread and read relaxed, or is
 * main's own (the PACKET_STATISTICS totals).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "capture/capture_impl.h"
#include "util/util.h"

/* Worker i's part of the totals (every field but if_dropped and written). */
static void add_worker(const struct capture *cap, unsigned i, struct capture_totals *t)
{
	const struct worker *w = &cap->workers[i];

	t->received += w->ring.stats.packets;
	t->dropped += w->ring.stats.drops;
	t->freeze_q += w->ring.stats.freeze_q;
	t->bad_blocks += worker_counter(&w->c.bad_blocks);
	t->bad_packets += worker_counter(&w->c.bad_packets);
	t->left_in_ring += cap->left_in_ring ? cap->left_in_ring[i] : 0;
	if (cap->pcap)
		t->written += __atomic_load_n(&cap->pcap[i].written, __ATOMIC_RELAXED);
	if (cap->mc) {
		t->bad_packets += cap->mc[i].bad_packets;
		t->out_of_order += cap->mc[i].out_of_order;
	}
}

void capture_totals(const struct capture *cap, struct capture_totals *t)
{
	memset(t, 0, sizeof(*t));
	for (unsigned i = 0; i < cap->nworkers; i++)
		add_worker(cap, i, t);
	for (unsigned k = 0; k < cap->nifaces; k++)
		t->if_dropped += cap->ifs[k].nic_now - cap->ifs[k].nic_start;
	/* several workers: what the merge wrote; elastic: and what worker 0
	 * wrote itself while it alone received */
	if (cap->merge || cap->mc)
		t->written += __atomic_load_n(&cap->sink.written, __ATOMIC_RELAXED);
}

int capture_iface_counters(const struct capture *cap, unsigned iface, struct capture_totals *t)
{
	const struct capture_iface *ifc;

	if (iface >= cap->nifaces)
		return -EINVAL;
	ifc = &cap->ifs[iface];
	if (cap->nifaces == 1) {
		capture_totals(cap, t);
		return 0;
	}
	memset(t, 0, sizeof(*t));
	for (unsigned i = ifc->first; i < ifc->first + ifc->nworkers && i < cap->nworkers; i++)
		add_worker(cap, i, t);
	t->if_dropped = ifc->nic_now - ifc->nic_start;
	/* several interfaces: always the merge, whose sink counts per interface */
	t->written = worker_counter(&cap->sink_iface_written[iface]);
	return 0;
}

int capture_iface_totals(const struct capture *cap, unsigned iface, uint64_t *received,
			 uint64_t *dropped)
{
	if (iface >= cap->nifaces)
		return -EINVAL;
	*received = __atomic_load_n(&cap->ifs[iface].received, __ATOMIC_RELAXED);
	*dropped = __atomic_load_n(&cap->ifs[iface].dropped, __ATOMIC_RELAXED);
	return 0;
}

unsigned capture_nifaces(const struct capture *cap)
{
	return cap->nifaces;
}

const char *capture_iface_name(const struct capture *cap, unsigned iface)
{
	return iface < cap->nifaces ? cap->ifs[iface].iface.name : NULL;
}

void capture_update_stats(struct capture *cap)
{
	for (unsigned k = 0; k < cap->nifaces; k++) {
		struct capture_iface *ifc = &cap->ifs[k];
		uint64_t received = 0, dropped = 0;

		for (unsigned i = ifc->first; i < ifc->first + ifc->nworkers && i < cap->nworkers;
		     i++) {
			ring_stats_update(&cap->workers[i].ring);
			received += cap->workers[i].ring.stats.packets;
			dropped += cap->workers[i].ring.stats.drops;
		}
		/* for capture_iface_totals on any thread */
		__atomic_store_n(&ifc->received, received, __ATOMIC_RELAXED);
		__atomic_store_n(&ifc->dropped, dropped, __ATOMIC_RELAXED);
	}
	capture_nic_update(cap);
	if (cap->arp)
		arp_service_stats_update(&cap->arps);
}

/* Which interface worker i listens on. */
static unsigned iface_of(const struct capture *cap, unsigned i)
{
	unsigned k = 0;

	while (k + 1 < cap->nifaces && i >= cap->ifs[k + 1].first)
		k++;
	return k;
}

void capture_format_status(struct capture *cap, char *buf, size_t len, uint64_t now)
{
	struct stats_snapshot s;
	uint64_t since = cap->t_status ? cap->t_status : cap->t_start;
	double secs = now > since ? (double)(now - since) / 1e9 : 0;
	uint64_t got, files;

	capture_fill_snapshot(cap, &s);
	got = s.captured - cap->status_captured;
	/* the files closed so far and the one being written */
	files = cap->closed || !cap->writer ? s.files
		: __atomic_load_n(&cap->files_closed, __ATOMIC_RELAXED) + 1;
	snprintf(buf, len, "STATUS=capturing on %s: %.0f packets/s, %llu captured, %llu files, "
		 "%llu dropped by kernel, %llu dropped by interface", cap->ifnames,
		 secs > 0 ? (double)got / secs : 0.0, (unsigned long long)s.captured,
		 (unsigned long long)files, (unsigned long long)s.dropped,
		 (unsigned long long)s.if_dropped);
	cap->status_captured = s.captured;
	cap->t_status = now;
}

enum capture_timer_ret capture_tick_stats(void *cap, uint64_t now_ns)
{
	(void)now_ns;
	capture_update_stats(cap);
	return CAPTURE_TIMER_NEXT;
}

static const char *linktype_text(const struct capture_iface *ifc)
{
	return ifc->iface.linktype == LINKTYPE_RAW ? "RAW (Raw IP)" : "EN10MB (Ethernet)";
}

void capture_print_listening(const struct capture *cap, FILE *f)
{
	const char *workers = cap->cfg.threads == 1 ? "worker" : "workers";
	char elastic[48] = "", modes[48];

	if (cap->elastic)
		snprintf(elastic, sizeof(elastic), " (elastic, %u receiving)", cap->pool.active);
	/* -Q and --immediate-mode, when given */
	snprintf(modes, sizeof(modes), "%s%s",
		 cap->cfg.direction == FILTER_DIR_IN    ? "; direction in"
		 : cap->cfg.direction == FILTER_DIR_OUT ? "; direction out"
							 : "",
		 cap->cfg.immediate ? "; immediate mode" : "");
	if (cap->nifaces == 1) {
		fprintf(f, "ringcap: listening on %s, link-type %s, snapshot length %u "
			"bytes; %u %s%s, fanout %s, %llu KiB ring each%s\n",
			cap->ifs[0].iface.name, linktype_text(&cap->ifs[0]),
			cap->cfg.snaplen, cap->cfg.threads, workers, elastic, cap->cfg.fanout_name,
			(unsigned long long)(cap->cfg.ring_bytes >> 10), modes);
		return;
	}
	fputs("ringcap: listening on", f);
	for (unsigned k = 0; k < cap->nifaces; k++)
		fprintf(f, "%s %s (link-type %s)", k ? "," : "", cap->ifs[k].iface.name,
			linktype_text(&cap->ifs[k]));
	fprintf(f, ", snapshot length %u bytes; %u %s per interface, fanout %s, "
		"%llu KiB ring each%s%s\n", cap->cfg.snaplen, cap->cfg.threads, workers,
		cap->cfg.fanout_name, (unsigned long long)(cap->cfg.ring_bytes >> 10),
		cap->cfg.path ? "" : "; counting, no file", modes);
}

/* With several interfaces, one line each after the totals (not worded like
 * the totals' lines, which scripts read by their ending). */
static void print_iface_counters(const struct capture *cap, FILE *f)
{
	for (unsigned k = 0; cap->nifaces > 1 && k < cap->nifaces; k++) {
		struct capture_totals t;

		capture_iface_counters(cap, k, &t);
		fprintf(f, "interface %s: %llu captured, %llu received by filter, %llu dropped by "
			"kernel, %llu dropped by interface, %llu left in the ring\n",
			cap->ifs[k].iface.name, (unsigned long long)t.written,
			(unsigned long long)t.received, (unsigned long long)t.dropped,
			(unsigned long long)t.if_dropped, (unsigned long long)t.left_in_ring);
	}
}

void capture_print_counters(const struct capture *cap, FILE *f)
{
	struct capture_totals t;

	capture_totals(cap, &t);

	/* records in the file; zero when there is no file (wres stays zeroed) */
	fprintf(f, "%llu packets captured\n",
		(unsigned long long)(cap->closed ? cap->wres.packets : t.written));
	fprintf(f, "%llu packets received by filter\n", (unsigned long long)t.received);
	fprintf(f, "%llu packets dropped by kernel\n", (unsigned long long)t.dropped);
	/* tcpdump's line, and like tcpdump only when there were such drops */
	if (t.if_dropped)
		fprintf(f, "%llu packets dropped by interface\n", (unsigned long long)t.if_dropped);
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
		fprintf(f, "%llu packets not written (%llu bytes) %s\n",
			(unsigned long long)cap->wres.unwritten_packets,
			(unsigned long long)cap->wres.unwritten_bytes,
			cap->cfg.on_full_wait ? "while the disk was full (--on-full wait)"
					      : "once writing had stopped");
	if (cap->wres.stalls)
		fprintf(f, "%llu waits for the disk (%.0f ms in all): staging was full\n",
			(unsigned long long)cap->wres.stalls, (double)cap->wres.stall_ns / 1e6);
	if (cap->cfg.compress_level && cap->closed)
		fprintf(f, "%llu chunks compressed, %llu stored raw (compression was behind); "
			"%llu bytes in, %llu bytes out\n",
			(unsigned long long)cap->wres.compress.chunks,
			(unsigned long long)cap->wres.compress.raw_chunks,
			(unsigned long long)cap->wres.compress.bytes_in,
			(unsigned long long)cap->wres.compress.bytes_out);
	if (cap->cfg.z_cmd) {
		struct jobs_counters jc = cap->jobs_final;

		if (cap->jobs)
			jobs_counters(cap->jobs, &jc);
		if (jc.failed)
			fprintf(f, "%llu -z runs failed (z_failed %llu files never done, z_retried %llu runs)\n",
				(unsigned long long)jc.failed, (unsigned long long)jc.gave_up,
				(unsigned long long)jc.retried);
	}
	print_iface_counters(cap, f);
	if (cap->arp)
		arp_print_counters(&cap->arps, f);
}

void capture_fill_snapshot(struct capture *cap, struct stats_snapshot *s)
{
	const struct capture_config *o = &cap->cfg;
	struct writer_compress_counters zc;
	struct jobs_counters jc;
	struct capture_totals t;

	capture_totals(cap, &t);
	memset(s, 0, sizeof(*s));
	s->ifname = cap->ifnames;
	s->seconds = (double)(now_ns() - cap->t_start) / 1e9;
	s->received = t.received;
	s->dropped = t.dropped;
	s->freeze_q = t.freeze_q;
	s->if_dropped = t.if_dropped;
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
	/* compression: the writer's counters while it runs, its result after */
	zc = cap->wres.compress;
	if (!cap->closed && cap->writer)
		writer_compress_counters(cap->writer, &zc);
	s->compress_chunks = zc.chunks;
	s->compress_raw_chunks = zc.raw_chunks;
	s->compress_bytes_in = zc.bytes_in;
	s->compress_bytes_out = zc.bytes_out;
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
	jc = cap->jobs_final;
	if (cap->jobs)
		jobs_counters(cap->jobs, &jc);
	s->z_jobs_run = jc.run;
	s->z_jobs_failed = jc.failed;
	s->z_jobs_queued = cap->jobs ? jc.queued : 0;
	s->z_retried = jc.retried;
	s->z_failed = jc.gave_up;
	capture_workers_counts(cap, &s->workers_active, &s->workers_added, &s->workers_retired);
	for (unsigned i = 0; i < cap->nworkers; i++) {
		const struct worker *w = &cap->workers[i];

		cap->sw[i] = (struct stats_worker){
			.id = w->id,
			.cpu = w->cpu,
			.received = w->ring.stats.packets,
			.dropped = w->ring.stats.drops,
			.freeze_q = w->ring.stats.freeze_q,
			.blocks = worker_counter(&w->c.blocks),
			.packets = worker_counter(&w->c.packets),
			.written = (cap->pcap ? __atomic_load_n(&cap->pcap[i].written,
								__ATOMIC_RELAXED) : 0) +
				   (cap->mc ? cap->mc[i].packets : 0),
		};
	}
	s->workers = cap->sw;
	s->nworkers = cap->nworkers;
	for (unsigned k = 0; k < cap->nifaces; k++) {
		struct capture_totals it;

		capture_iface_counters(cap, k, &it);
		cap->si[k] = (struct stats_iface){
			.name = cap->ifs[k].iface.name,
			.received = it.received,
			.dropped = it.dropped,
			.if_dropped = it.if_dropped,
			.captured = cap->nifaces == 1 ? s->captured : it.written,
			.left_in_ring = it.left_in_ring,
		};
	}
	s->ifaces = cap->si;
	s->nifaces = cap->nifaces;
	if (cap->arp) {
		arp_service_stats(&cap->arps, &cap->arp_stats);
		s->groups = cap->arp_stats.groups;
		s->ngroups = cap->arp_stats.ngroups;
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
		{ json ? cap->cfg.stats_json : NULL, stats_write_json, &cap->warned_json },
		{ cap->cfg.stats_prom, stats_write_prometheus, &cap->warned_prom },
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

enum capture_timer_ret capture_tick_report(void *ctx, uint64_t now)
{
	struct capture *cap = ctx;
	struct stats_snapshot s;

	/* The statistics timer may be up to one period behind this one. */
	capture_update_stats(cap);
	capture_fill_snapshot(cap, &s);
	if (cap->cfg.stats_interval_ns) {
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
	return CAPTURE_TIMER_NEXT;
}

int capture_check_stat_files(const struct capture_config *o)
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

int capture_report_writer_error(const struct writer_result *r)
{
	const char *name = strcmp(r->error_path, "-") ? r->error_path : "standard output";

	if (r->error == -EPIPE && strcmp(r->error_path, "-") == 0) {
		/* The reader went away (tcpdump -r - quit): the end, as for tcpdump. */
		log_notice("standard output closed by its reader; %llu packets written",
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
	return r->error;
}

int capture_report_worker_errors(const struct capture *cap)
{
	int first = 0;

	for (unsigned i = 0, said = 0; i < cap->started; i++) {
		int err = cap->workers[i].error;
		unsigned k = iface_of(cap, i);

		/* A write error is the writer's to report; every worker of an
		 * interface sees it lost, and it is said once per interface. */
		if (!err || err == cap->wres.error)
			continue;
		if (!first)
			first = err;
		if (err != -ENODEV) {
			log_err("worker %u: %s", i, strerror(-err));
		} else if (!(said & 1u << k)) {
			said |= 1u << k;
			log_err("%s: the interface disappeared", cap->ifs[k].iface.name);
		}
	}
	return first;
}

int capture_report_exit(struct capture *cap, FILE *f)
{
	struct stats_snapshot snap;

	capture_print_counters(cap, f);
	if (!cap->cfg.stats_json && !cap->cfg.stats_prom)
		return 0;
	capture_fill_snapshot(cap, &snap);
	return write_stat_files(cap, &snap, true, true);
}

