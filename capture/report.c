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

void capture_totals(const struct capture *cap, struct capture_totals *t)
{
	memset(t, 0, sizeof(*t));
	for (unsigned i = 0; i < cap->cfg.threads; i++) {
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
	t->if_dropped = cap->nic_now - cap->nic_start;
	if (cap->merge || cap->mc)
		t->written = __atomic_load_n(&cap->sink.written, __ATOMIC_RELAXED);
}

void capture_update_stats(struct capture *cap)
{
	for (unsigned i = 0; i < cap->cfg.threads; i++)
		ring_stats_update(&cap->workers[i].ring);
	capture_nic_update(cap);
	if (cap->arp)
		arp_service_stats_update(&cap->arps);
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
		 "%llu dropped by kernel, %llu dropped by interface", cap->cfg.ifname,
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

void capture_print_listening(const struct capture *cap, FILE *f)
{
	fprintf(f, "ringcap: listening on %s, link-type %s, snapshot length %u "
		"bytes; %u workers, fanout %s, %llu KiB ring each\n",
		cap->cfg.ifname,
		cap->iface.linktype == LINKTYPE_RAW ? "RAW (Raw IP)" : "EN10MB (Ethernet)",
		cap->cfg.snaplen, cap->cfg.threads, cap->cfg.fanout_name,
		(unsigned long long)(cap->cfg.ring_bytes >> 10));
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
	if (cap->cfg.z_cmd) {
		struct jobs_counters jc = cap->jobs_final;

		if (cap->jobs)
			jobs_counters(cap->jobs, &jc);
		if (jc.failed)
			fprintf(f, "%llu -z runs failed (z_failed %llu files never done, z_retried %llu runs)\n",
				(unsigned long long)jc.failed, (unsigned long long)jc.gave_up,
				(unsigned long long)jc.retried);
	}
	if (cap->arp)
		arp_print_counters(&cap->arps, f);
}

void capture_fill_snapshot(struct capture *cap, struct stats_snapshot *s)
{
	const struct capture_config *o = &cap->cfg;
	struct capture_totals t;

	capture_totals(cap, &t);
	memset(s, 0, sizeof(*s));
	s->ifname = o->ifname;
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
		s->z_retried = jc.retried;
		s->z_failed = jc.gave_up;
	} else {
		s->z_jobs_run = cap->jobs_final.run;
		s->z_jobs_failed = cap->jobs_final.failed;
		s->z_retried = cap->jobs_final.retried;
		s->z_failed = cap->jobs_final.gave_up;
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

		/* A write error is the writer's to report; every worker sees a
		 * lost interface, and it is said once. */
		if (!err || err == cap->wres.error)
			continue;
		if (!first)
			first = err;
		if (err == -ENODEV && !said++)
			log_err("%s: the interface disappeared", cap->cfg.ifname);
		else if (err != -ENODEV)
			log_err("worker %u: %s", i, strerror(-err));
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

