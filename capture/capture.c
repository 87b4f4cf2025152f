/*
 * The capture's life: set-up as named steps in the order the kernel and the
 * exit status need (validate → every interface and its filter → rings, one
 * fanout group per interface → responder → file → merge), the threads started and stopped, everything closed. See
 * capture.h for the threads and who owns what.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "capture/capture_impl.h"
#include "util/util.h"

/* The merge emits a packet once no empty input can still bring an older one:
 * allow this long for a packet stamped but not yet in its ring. */
#define MERGE_MARGIN_NS (10ull * 1000 * 1000)
#define MERGE_BATCH 1024u   /* packets per writer_append from the merge */

/* Interface k's kernel filter: the user's expression compiled for its link
 * type (ARP answering has a socket and a filter of its own). 0 or -EINVAL
 * (one line logged). */
static int compile_filter(struct capture *cap, struct capture_iface *ifc)
{
	struct capture_config *o = &cap->cfg;
	char err[FILTER_ERR_LEN];
	int ret;

	ret = filter_compile_link(&ifc->kfilter, ifc->iface.linktype, o->expr, o->snaplen, err,
				  sizeof(err));
	if (ret) {
		log_err("bad filter expression '%s': %s", o->expr, err);
		return ret;
	}
	ret = filter_set_direction(&ifc->kfilter, (enum filter_direction)o->direction);
	if (ret)
		log_err("bad filter expression '%s': too long with -Q", o->expr);
	return ret;
}

/* 0 or -errno (one line logged, naming the interface). */
static int lookup_iface(struct capture *cap, struct capture_iface *ifc, const char *name)
{
	int ret = iface_lookup(name, &ifc->iface);

	if (ret == -ENODEV)
		log_err("bad interface '%s': no such device", name);
	else if (ret == -ENETDOWN)
		log_err("bad interface '%s': interface is down", name);
	else if (ret)
		log_err("bad interface '%s': %s", name, strerror(-ret));
	if (ret)
		return ret;
	if (!ifc->iface.linktype) {
		log_err("bad interface '%s': hardware type %u has no link type ringcap writes "
			"(Ethernet, loopback, raw IP)", name, ifc->iface.type);
		return -EPROTONOSUPPORT;
	}
	if ((cap->cfg.npools || cap->cfg.nndp) && ifc->iface.linktype != LINKTYPE_ETHERNET) {
		log_err("bad interface '%s': ARP/NDP answering needs Ethernet", name);
		return -EPROTONOSUPPORT;
	}
	return 0;
}

/* Every -i, looked up and its filter compiled, before anything is opened;
 * each interface's workers are the next cfg.threads of the capture's. */
static int set_up_ifaces(struct capture *cap)
{
	const struct capture_config *o = &cap->cfg;
	size_t used = 0;
	int ret;

	cap->nifaces = o->nifaces;
	cap->nworkers = o->threads * o->nifaces;
	for (unsigned k = 0; k < cap->nifaces; k++) {
		struct capture_iface *ifc = &cap->ifs[k];

		ifc->first = k * o->threads;
		ifc->nworkers = o->threads;
		used += (size_t)snprintf(cap->ifnames + used, sizeof(cap->ifnames) - used, "%s%s",
					 k ? "," : "", o->ifnames[k]);
		if ((ret = lookup_iface(cap, ifc, o->ifnames[k])) ||
		    (capture_config_captures(o) && (ret = compile_filter(cap, ifc))))
			return ret;
		capture_nic_description(ifc, ifc->description, sizeof(ifc->description));
		cap->wifs[k] = (struct writer_iface){
			.name = ifc->iface.name,
			.description = ifc->description[0] ? ifc->description : NULL,
			.linktype = ifc->iface.linktype,
			.snaplen = o->snaplen,
		};
	}
	return 0;
}

/* Interface k's sockets: its workers, one ring each, in a fanout group of
 * their own (the kernel picks an id unused in the namespace, so flows of two
 * interfaces never share a group); each ring stamps k on its packets.
 * 0 or -errno (one line logged). */
static int open_iface_rings(struct capture *cap, unsigned k)
{
	const struct capture_config *o = &cap->cfg;
	struct capture_iface *ifc = &cap->ifs[k];
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	const uint32_t sleep_us = capture_test_sleep_us();
	struct ring_config rc = {
		.iface = &ifc->iface,
		.block_size = o->block_size,
		.block_nr = (uint32_t)(o->ring_bytes / o->block_size),
		.frame_size = 2048,
		.block_timeout_ms = o->block_timeout_ms,
		.filter = &ifc->kfilter,
		.fanout_mode = capture_fanout_mode(o),
		/* a group of one would only cost a hash per packet */
		.fanout = ifc->nworkers > 1,
		.fanout_id = -1,
		/* tcpdump's default; answering ARP alone needs no stranger's frames */
		.promisc = capture_config_captures(o) && !o->no_promisc,
		/* libpcap skips loopback's outgoing copy: store each packet once */
		.ignore_outgoing = ifc->iface.loopback,
		.iface_index = (uint16_t)k,
	};

	for (unsigned i = ifc->first; i < ifc->first + ifc->nworkers; i++) {
		struct worker *w = &cap->workers[i];
		struct worker_config wc = {
			.id = i,
			/* without --cpus, from the last CPU down: the first
			 * worker (an elastic pool's only one while the load
			 * is light) keeps off CPU 0, where a machine without
			 * RSS takes its network interrupts and most others */
			.cpu = o->ncpus ? o->cpus[i % o->ncpus]
					: cpus > 0 ? (int)(cpus - 1 - (long)(i % (unsigned)cpus)) : -1,
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

/* One worker and one ring per thread, interface after interface. 0 or -errno
 * (one line logged). */
static int open_rings(struct capture *cap)
{
	int ret;

	cap->workers = xcalloc(cap->nworkers, sizeof(*cap->workers));
	for (unsigned i = 0; i < cap->nworkers; i++)
		cap->workers[i].ring.fd = -1; /* closed by capture_close, opened or not */
	for (unsigned k = 0; k < cap->nifaces; k++)
		if ((ret = open_iface_rings(cap, k)))
			return ret;
	return 0;
}

/* Several workers (of one interface or several) write one file, or are
 * counted, in time order through the merge: its sink is the one pcap handler,
 * each worker hands it its blocks. 0 or -errno. */
static int open_merge(struct capture *cap)
{
	struct merge_config mc = {
		.ninputs = cap->nworkers,
		.margin_ns = MERGE_MARGIN_NS,
		.batch = MERGE_BATCH,
		.sink = pcap_handler_write,
		.sink_ctx = &cap->sink,
	};
	uint32_t min_blocks = UINT32_MAX;
	int ret;

	for (unsigned i = 0; i < cap->nworkers; i++) {
		mc.rings[i] = &cap->workers[i].ring;
		if (cap->workers[i].ring.block_nr < min_blocks)
			min_blocks = cap->workers[i].ring.block_nr;
	}
	mc.depth = min_blocks / 2; /* >= 2: a ring has 4 blocks at least */
	pcap_handler_init_sink(&cap->sink, cap->writer);
	if (!cap->writer)
		cap->sink.max = cap->cfg.count;
	if (cap->nifaces > 1) {
		cap->sink.iface_written = cap->sink_iface_written;
		cap->sink.niface = cap->nifaces;
	}
	ret = merge_open(&cap->merge, &mc);
	if (ret) {
		if (ret == -EINVAL)
			log_err("time-order merge: bad set-up (%u inputs, %u blocks)", cap->nworkers,
				min_blocks);
		return ret;
	}
	cap->mh = xcalloc(cap->nworkers, sizeof(*cap->mh));
	for (unsigned i = 0; i < cap->nworkers; i++) {
		cap->mh[i] = (struct merge_handler){ cap->merge, i };
		ret = worker_add_handler(&cap->workers[i], &merge_handler_ops, &cap->mh[i]);
		if (ret) {
			log_err("worker %u: no room for the merge handler", i);
			return ret;
		}
	}
	return 0;
}

/* pcapng's shb_hardware: the CPU's model name, or else the machine uname
 * names ("x86_64"), in out. */
static void cpu_model(char *out, size_t len)
{
	FILE *f = fopen("/proc/cpuinfo", "re");
	char line[256];
	struct utsname u;

	snprintf(out, len, "%s", uname(&u) == 0 ? u.machine : "");
	while (f && fgets(line, sizeof(line), f)) {
		char *colon = strchr(line, ':');

		if (strncmp(line, "model name", 10) || !colon)
			continue;
		colon += strspn(colon + 1, " \t") + 1;
		colon[strcspn(colon, "\n")] = '\0';
		if (*colon)
			snprintf(out, len, "%s", colon);
		break;
	}
	if (f)
		fclose(f);
}

/* The file (with -w). 0 or -errno (one line logged). */
static int open_writer(struct capture *cap)
{
	const struct capture_config *o = &cap->cfg;
	struct writer_config wc = {
		.path = o->path,
		.snaplen = o->snaplen,
		.nano = o->nano,
		.linktype = cap->ifs[0].iface.linktype,
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
		.index_postings = !o->no_index_postings,
		.compress_level = o->compress_level,
		.compress_threads = o->compress_threads,
		.on_full_wait = o->on_full_wait,
		.prealloc_step = cap->prealloc_step = capture_prealloc_step(o),
		.file_closed = capture_file_closed,
		.hook_ctx = cap,
		.format = (enum writer_format)o->format,
		.ifaces = cap->wifs,
		.nifaces = cap->nifaces,
		.hardware = cap->hardware,
		.userappl = o->userappl,
		.iface_stats = capture_iface_stats,
	};

	if (!o->path)
		return 0;
	if (o->format == WRITER_PCAPNG)
		cpu_model(cap->hardware, sizeof(cap->hardware));
	return writer_open(&cap->writer, &wc);
}

/* What the workers run: the merge with several, else one pcap handler
 * appending (none when only answering); an elastic pool has both, the merge
 * for when several receive and worker 0's own pcap handler for when it alone
 * does. 0 or -errno (one line logged). */
static int open_handlers(struct capture *cap)
{
	int ret;

	if (cap->nworkers > 1 && cap->writer && capture_is_elastic(&cap->cfg)) {
		ret = open_merge(cap);
		if (ret)
			return ret;
		cap->pcap = xcalloc(cap->nworkers, sizeof(*cap->pcap));
		pcap_handler_init_sink(&cap->pcap[0], cap->writer);
		worker_set_direct_handler(&cap->workers[0], &pcap_handler_ops, &cap->pcap[0]);
		return capture_open_pool(cap);
	}
	if (cap->nworkers > 1)
		return open_merge(cap);
	if (!cap->writer)
		return 0;
	cap->pcap = xcalloc(cap->nworkers, sizeof(*cap->pcap));
	for (unsigned i = 0; i < cap->nworkers; i++) {
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
	cap->arp = arp_responder_new(&cap->ifs[0].iface, o->pools, o->npools, o->ndp_pools, o->nndp,
				     o->arp_mac_set ? o->arp_mac : NULL);
	if (!o->arp_allow_own && (ret = arp_check_own_addresses(cap->arp, msg, sizeof(msg)))) {
		if (ret == -EADDRINUSE)
			log_err("%s", msg);
		else
			log_err("cannot list the addresses of %s: %s", o->ifnames[0], strerror(-ret));
		return ret;
	}
	return arp_service_open(&cap->arps, cap->arp, &sc);
}

/* Validate → interfaces and their filters → rings → ARP → file → merge, in
 * that order; the first failure (already logged) ends set-up. 0 or -errno. */
static int set_up(struct capture *cap)
{
	int ret;

	/* Answering alone needs no capture socket at all. */
	if (!capture_config_captures(&cap->cfg))
		cap->cfg.threads = 0;
	if ((ret = capture_check_stat_files(&cap->cfg)) || (ret = set_up_ifaces(cap)) ||
	    (cap->cfg.user && cap->cfg.path && (ret = capture_check_can_rotate(&cap->cfg))) ||
	    (ret = open_rings(cap)) || (ret = open_arp(cap)) || (ret = open_writer(cap)) ||
	    (ret = open_handlers(cap)))
		return ret;
	cap->sw = xcalloc(cap->nworkers, sizeof(*cap->sw));
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
	for (; cap->started < cap->nworkers; cap->started++) {
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
	for (unsigned i = 0; i < cap->nworkers; i++) {
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
		cap->mc = xcalloc(cap->nworkers, sizeof(*cap->mc));
		merge_close(cap->merge, cap->mc); /* its error is the writer's, reported below */
		cap->merge = NULL;
	}
	/* No packet comes in any more: what the drain left is counted, exactly. */
	cap->left_in_ring = xcalloc(cap->nworkers, sizeof(*cap->left_in_ring));
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
	for (unsigned i = 0; cap->workers && i < cap->nworkers; i++)
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
	for (unsigned k = 0; k < cap->nifaces; k++)
		filter_free(&cap->ifs[k].kfilter);
	xfree(cap->left_in_ring);
	xfree(cap->sw);
	xfree(cap);
}
