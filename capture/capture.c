/*
 * The capture's life: set-up as named steps in the order the kernel and the
 * exit status need (validate → interface → filter → rings → responder → file
 * and merge), the threads started and stopped, everything closed. See
 * capture.h for the threads and who owns what.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "capture/capture_impl.h"
#include "util/util.h"

/* The merge emits a packet once no empty input can still bring an older one:
 * allow this long for a packet stamped but not yet in its ring. */
#define MERGE_MARGIN_NS (10ull * 1000 * 1000)
#define MERGE_BATCH 1024u   /* packets per writer_append from the merge */

/* The capture sockets' kernel filter: the user's expression (ARP answering
 * has a socket and a filter of its own). 0 or -EINVAL (one line logged). */
static int compile_filters(struct capture *cap)
{
	struct capture_config *o = &cap->cfg;
	char err[FILTER_ERR_LEN];
	int ret;

	if (!o->path)
		return 0;
	ret = filter_compile_link(&cap->kfilter, cap->iface.linktype, o->expr, o->snaplen, err,
				  sizeof(err));
	if (ret) {
		log_err("bad filter expression '%s': %s", o->expr, err);
		return ret;
	}
	ret = filter_set_direction(&cap->kfilter, (enum filter_direction)o->direction);
	if (ret)
		log_err("bad filter expression '%s': too long with -Q", o->expr);
	return ret;
}

/* 0 or -errno (one line logged, naming the interface). */
static int lookup_iface(struct capture *cap)
{
	const char *name = cap->cfg.ifname;
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
	if ((cap->cfg.npools || cap->cfg.nndp) && cap->iface.linktype != LINKTYPE_ETHERNET) {
		log_err("bad interface '%s': ARP/NDP answering needs Ethernet", name);
		return -EPROTONOSUPPORT;
	}
	return 0;
}

/* One worker and one ring per thread. 0 or -errno (one line logged). */
static int open_rings(struct capture *cap)
{
	const struct capture_config *o = &cap->cfg;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	const uint32_t sleep_us = capture_test_sleep_us();
	struct ring_config rc = {
		.iface = &cap->iface,
		.block_size = o->block_size,
		.block_nr = (uint32_t)(o->ring_bytes / o->block_size),
		.frame_size = 2048,
		.block_timeout_ms = o->block_timeout_ms,
		.filter = &cap->kfilter,
		.fanout_mode = capture_fanout_mode(o),
		.fanout = o->threads > 1, /* a group of one would only cost a hash per packet */
		.fanout_id = -1,
		/* tcpdump's default; answering ARP alone needs no stranger's frames */
		.promisc = o->path && !o->no_promisc,
		/* libpcap skips loopback's outgoing copy: store each packet once */
		.ignore_outgoing = cap->iface.loopback,
	};

	cap->workers = xcalloc(o->threads, sizeof(*cap->workers));
	for (unsigned i = 0; i < o->threads; i++)
		cap->workers[i].ring.fd = -1; /* closed by capture_close, opened or not */
	for (unsigned i = 0; i < o->threads; i++) {
		struct worker *w = &cap->workers[i];
		struct worker_config wc = {
			.id = i,
			.cpu = o->ncpus ? o->cpus[i % o->ncpus]
					: cpus > 0 ? (int)(i % (unsigned)cpus) : -1,
			.ctl = &cap->ctl,
			.block_size = o->block_size,
			.test_sleep_us = sleep_us,
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
	const struct capture_config *o = &cap->cfg;
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
static int open_writer(struct capture *cap)
{
	const struct capture_config *o = &cap->cfg;
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
		.index_postings = o->index_postings,
		.on_full_wait = o->on_full_wait,
		.prealloc_step = cap->prealloc_step = capture_prealloc_step(o),
		.file_closed = capture_file_closed,
		.hook_ctx = cap,
	};
	int ret;

	if (!o->path)
		return 0;
	ret = writer_open(&cap->writer, &wc);
	if (ret)
		return ret;
	if (o->threads > 1 && capture_is_elastic(o)) {
		/* Elastic: the merge for when several receive, and worker 0's
		 * own pcap handler for when it alone does. */
		ret = open_merge(cap);
		if (ret)
			return ret;
		cap->pcap = xcalloc(o->threads, sizeof(*cap->pcap));
		pcap_handler_init_sink(&cap->pcap[0], cap->writer);
		worker_set_direct_handler(&cap->workers[0], &pcap_handler_ops, &cap->pcap[0]);
		return capture_open_pool(cap);
	}
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
	const struct capture_config *o = &cap->cfg;
	struct arp_service_config sc = {
		.cpu = o->arp_cpu, /* -1: the scheduler's choice */
		.announce = o->arp_announce,
		.announce_rate = o->announce_rate,
		.priority = o->arp_priority,
		.busy_poll_us = o->arp_busy_poll_us,
	};
	char msg[256];
	int ret;

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

/* Validate → interface → filters → rings → ARP → file, in that order; the
 * first failure (already logged) ends set-up. 0 or -errno. */
static int set_up(struct capture *cap)
{
	int ret;

	/* Answering alone needs no capture socket at all. */
	if (!cap->cfg.path)
		cap->cfg.threads = 0;
	if ((ret = capture_check_stat_files(&cap->cfg)) || (ret = lookup_iface(cap)) ||
	    (ret = compile_filters(cap)) ||
	    (cap->cfg.user && cap->cfg.path && (ret = capture_check_can_rotate(&cap->cfg))) ||
	    (ret = open_rings(cap)) || (ret = open_arp(cap)) || (ret = open_writer(cap)))
		return ret;
	cap->sw = xcalloc(cap->cfg.threads, sizeof(*cap->sw));
	return 0;
}

int capture_open(struct capture **out, const struct capture_config *cfg)
{
	struct capture *cap = xcalloc(1, sizeof(*cap));
	int ret;

	*out = NULL;
	cap->cfg = *cfg;
	cap->arps.rx.fd = cap->arps.tx.fd = cap->arps.stop_fd = -1;
	pthread_mutex_init(&cap->closed_lock, NULL);
	cap->ctl.main_thread = pthread_self();
	/* Empty the rings at the end, the block being filled included (it
	 * retires after its timeout), but never wait on a slow disk for long. */
	cap->ctl.drain_ms = 2 * cfg->block_timeout_ms + 2000;
	ret = set_up(cap);
	if (ret) {
		capture_close(cap);
		return ret;
	}
	*out = cap;
	return 0;
}

int capture_start(struct capture *cap)
{
	int ret = 0;

	cap->t_start = cap->t_report = now_ns();
	cap->running = true;
	capture_nic_start(cap);
	for (; cap->started < cap->cfg.threads; cap->started++) {
		ret = worker_start(&cap->workers[cap->started]);
		if (ret) {
			log_err("cannot start worker %u", cap->started);
			goto out_stop;
		}
	}
	if (cap->arp && (ret = arp_service_start(&cap->arps))) {
		log_err("cannot start the ARP responder");
		goto out_stop;
	}
	return 0;

out_stop:
	atomic_store(&cap->ctl.stop, true);
	return ret;
}

bool capture_stop_requested(const struct capture *cap)
{
	return atomic_load(&cap->ctl.stop);
}

/* Let no new packet into any ring, so the drain can empty them and the
 * counts add up; then ask the workers to drain and end. */
static void stop_receiving(struct capture *cap)
{
	for (unsigned i = 0; i < cap->cfg.threads; i++) {
		int ret = ring_stop_receiving(&cap->workers[i].ring);

		if (ret)
			log_warn("worker %u: cannot stop the socket receiving (%s); the final "
				 "counts may include packets that arrived while it drained",
				 i, strerror(-ret));
	}
	atomic_store(&cap->ctl.stop, true);
	if (cap->elastic)
		worker_pool_stop(&cap->pool); /* parked workers wake and end */
}

int capture_stop(struct capture *cap)
{
	int failed = 0, ret;

	if (!cap->running)
		return 0;
	cap->running = false;
	stop_receiving(cap);
	if (cap->arp)
		arp_service_stop(&cap->arps);
	for (unsigned i = 0; i < cap->started; i++)
		worker_join(&cap->workers[i]);
	if (cap->merge) {
		/* what the workers handed over is written before the file closes */
		cap->mc = xcalloc(cap->cfg.threads, sizeof(*cap->mc));
		merge_close(cap->merge, cap->mc); /* its error is the writer's, reported below */
		cap->merge = NULL;
	}
	/* No packet comes in any more: what the drain left is counted, exactly. */
	cap->left_in_ring = xcalloc(cap->cfg.threads, sizeof(*cap->left_in_ring));
	for (unsigned i = 0; i < cap->started; i++)
		cap->left_in_ring[i] = ring_pending(&cap->workers[i].ring);
	capture_update_stats(cap);
	if (cap->writer) {
		ret = writer_close(cap->writer, &cap->wres);
		cap->writer = NULL;
		cap->closed = true;
		if (ret)
			failed = capture_report_writer_error(&cap->wres);
	}
	/* The last file is closed (and given to -z): retention asks the jobs
	 * whether a file is busy, so it goes first; -z commands may take a
	 * while (compress, upload), a minute at most. */
	if (cap->ret) {
		capture_take_closed(cap);
		retention_counters(cap->ret, &cap->ret_final);
		retention_close(cap->ret);
		cap->ret = NULL;
	}
	if (cap->jobs) {
		if (jobs_close(cap->jobs, 60000, &cap->jobs_final) == -ETIMEDOUT)
			log_warn("-z: commands still running after 60 s were ended");
		cap->jobs = NULL;
	}
	ret = capture_report_worker_errors(cap);
	return failed ? failed : ret;
}

void capture_close(struct capture *cap)
{
	if (!cap)
		return;
	if (cap->running)
		capture_stop(cap);
	if (cap->writer) {
		/* set-up failed after the file was made: leave nothing half-written */
		writer_discard(cap->writer);
		cap->writer = NULL;
	}
	for (unsigned i = 0; cap->workers && i < cap->cfg.threads; i++)
		worker_fini(&cap->workers[i]);
	worker_pool_fini(&cap->pool);
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
	pthread_mutex_destroy(&cap->closed_lock);
	xfree(cap->mh);
	xfree(cap->mc);
	xfree(cap->pcap);
	xfree(cap->workers);
	filter_free(&cap->kfilter);
	xfree(cap->left_in_ring);
	xfree(cap->sw);
	xfree(cap);
}
