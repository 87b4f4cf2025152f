/* --stats-prom: the Prometheus text exposition format (0.0.4) for
 * node_exporter's textfile collector. Every family has # HELP and # TYPE and
 * its samples right after them; counters end in _total. */
#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "stats/stats.h"
#include "stats/stats_impl.h"

/* A label value: backslash, double quote and newline are escaped. */
static void put_label_value(FILE *f, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\')
			fputs("\\\\", f);
		else if (*v == '"')
			fputs("\\\"", f);
		else if (*v == '\n')
			fputs("\\n", f);
		else
			fputc(*v, f);
	}
}

static void family(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* name{interface="IF"[,worker="ID"]} */
static void sample_head(FILE *f, const char *name, const struct stats_snapshot *s, int worker)
{
	fprintf(f, "%s{interface=\"", name);
	put_label_value(f, s->ifname ? s->ifname : "");
	if (worker >= 0)
		fprintf(f, "\",worker=\"%d", worker);
	fputs("\"} ", f);
}

static void counter(FILE *f, const struct stats_snapshot *s, const char *name, const char *help,
		    uint64_t v)
{
	family(f, name, "counter", help);
	sample_head(f, name, s, -1);
	fprintf(f, "%llu\n", (unsigned long long)v);
}

static void gauge(FILE *f, const struct stats_snapshot *s, const char *name, const char *help,
		  double v)
{
	family(f, name, "gauge", help);
	sample_head(f, name, s, -1);
	fprintf(f, "%.17g\n", v);
}

/* One family with a sample per worker; `field` is the byte offset of a
 * uint64_t in struct stats_worker. */
static void per_worker(FILE *f, const struct stats_snapshot *s, const char *name,
		       const char *help, size_t field)
{
	family(f, name, "counter", help);
	for (unsigned i = 0; i < s->nworkers; i++) {
		const struct stats_worker *w = &s->workers[i];
		uint64_t v;

		memcpy(&v, (const char *)w + field, sizeof(v));
		sample_head(f, name, s, (int)w->id);
		fprintf(f, "%llu\n", (unsigned long long)v);
	}
}

/* ringcap_arp_NAME_total, the name cut to [a-z0-9_] (dots become '_'). */
static void arp_counter(FILE *f, const struct stats_snapshot *s, const struct stats_pair *p)
{
	char name[128] = "ringcap_arp_";
	size_t n = strlen(name);

	for (const char *c = p->name; *c && n + 7 < sizeof(name); c++)
		name[n++] = isalnum((unsigned char)*c) ? (char)tolower((unsigned char)*c) : '_';
	memcpy(name + n, "_total", 7);
	counter(f, s, name, "ARP responder counter (see ringcap(8)).", p->value);
}

static int fill_prom(FILE *f, const void *arg)
{
	const struct stats_snapshot *s = arg;

	gauge(f, s, "ringcap_uptime_seconds", "Seconds since the capture started.", s->seconds);
	counter(f, s, "ringcap_packets_received_total",
		"Packets the kernel passed the socket filter (PACKET_STATISTICS tp_packets, summed).",
		s->received);
	counter(f, s, "ringcap_kernel_drops_total",
		"Packets the kernel dropped because a ring was full (tp_drops, summed).",
		s->dropped);
	counter(f, s, "ringcap_kernel_freezes_total",
		"Times a ring queue froze waiting for a block (tp_freeze_q_cnt, summed).",
		s->freeze_q);
	counter(f, s, "ringcap_packets_captured_total", "Records written to the pcap files.",
		s->captured);
	counter(f, s, "ringcap_bad_blocks_total",
		"Ring blocks whose packet headers lied about lengths.", s->bad_blocks);
	counter(f, s, "ringcap_bad_packets_total", "Packets skipped in those blocks.",
		s->bad_packets);
	counter(f, s, "ringcap_bytes_written_total", "Bytes in the pcap files, headers included.",
		s->bytes_written);
	counter(f, s, "ringcap_files_written_total", "Pcap files written (rotation).", s->files);
	counter(f, s, "ringcap_writer_waits_total",
		"Times a worker waited for staging memory because the disk was behind.",
		s->writer_stalls);
	family(f, "ringcap_writer_wait_seconds_total", "counter",
	       "Time workers spent waiting for the disk.");
	sample_head(f, "ringcap_writer_wait_seconds_total", s, -1);
	fprintf(f, "%.9f\n", (double)s->writer_stall_ns / 1e9);
	if (s->disk_known) {
		gauge(f, s, "ringcap_disk_free_bytes",
		      "Bytes available on the capture file system (statvfs f_bavail).",
		      (double)s->disk_free_bytes);
		gauge(f, s, "ringcap_disk_size_bytes", "Size of the capture file system.",
		      (double)s->disk_total_bytes);
	}
	counter(f, s, "ringcap_retention_deleted_files_total",
		"Capture files deleted by --min-free / --max-total.", s->retention_files_deleted);
	counter(f, s, "ringcap_retention_deleted_bytes_total",
		"Bytes of capture files deleted by --min-free / --max-total.",
		s->retention_bytes_deleted);
	counter(f, s, "ringcap_z_jobs_total", "-z commands that finished, whatever their status.",
		s->z_jobs_run);
	counter(f, s, "ringcap_z_jobs_failed_total",
		"-z commands that exited non-zero, were killed or could not start.",
		s->z_jobs_failed);
	gauge(f, s, "ringcap_z_jobs_queued", "-z commands waiting for a free slot.",
	      (double)s->z_jobs_queued);
	per_worker(f, s, "ringcap_worker_packets_received_total",
		   "Packets received by this worker's socket (tp_packets).",
		   offsetof(struct stats_worker, received));
	per_worker(f, s, "ringcap_worker_kernel_drops_total",
		   "Packets dropped at this worker's ring (tp_drops).",
		   offsetof(struct stats_worker, dropped));
	per_worker(f, s, "ringcap_worker_kernel_freezes_total",
		   "Queue freezes of this worker's ring (tp_freeze_q_cnt).",
		   offsetof(struct stats_worker, freeze_q));
	per_worker(f, s, "ringcap_worker_blocks_total", "Ring blocks this worker walked.",
		   offsetof(struct stats_worker, blocks));
	per_worker(f, s, "ringcap_worker_packets_total", "Packets this worker walked.",
		   offsetof(struct stats_worker, packets));
	per_worker(f, s, "ringcap_worker_packets_written_total",
		   "Records this worker appended to the file.",
		   offsetof(struct stats_worker, written));
	for (unsigned i = 0; s->arp && i < s->narp; i++)
		arp_counter(f, s, &s->arp[i]);
	return ferror(f) ? -EIO : 0;
}

int stats_write_prometheus(const char *path, const struct stats_snapshot *s)
{
	return replace_file(path, fill_prom, s);
}
