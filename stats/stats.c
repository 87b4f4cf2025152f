/* The --stats-interval line and the start-up check of an output path. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "stats/stats.h"
#include "stats/stats_impl.h"

#define TOTAL(json, prom, type, help, field) { json, prom, type, help, offsetof(struct stats_snapshot, field) }
const struct stats_field total_fields[] = {
	TOTAL("captured", "ringcap_packets_captured_total", "counter",
	      "Records written to the pcap files.", captured),
	TOTAL("received", "ringcap_packets_received_total", "counter",
	      "Packets the kernel passed the socket filter (PACKET_STATISTICS tp_packets, summed).",
	      received),
	TOTAL("dropped", "ringcap_kernel_drops_total", "counter",
	      "Packets the kernel dropped because a ring was full (tp_drops, summed).", dropped),
	TOTAL("freeze_q", "ringcap_kernel_freezes_total", "counter",
	      "Times a ring queue froze waiting for a block (tp_freeze_q_cnt, summed).", freeze_q),
	TOTAL("if_dropped", "ringcap_interface_drops_total", "counter",
	      "Packets the interface dropped before any socket saw them, since start "
	      "(rx_dropped + rx_missed_errors + rx_fifo_errors).", if_dropped),
	TOTAL("bad_blocks", "ringcap_bad_blocks_total", "counter",
	      "Ring blocks whose packet headers lied about lengths.", bad_blocks),
	TOTAL("bad_packets", "ringcap_bad_packets_total", "counter",
	      "Packets skipped in those blocks.", bad_packets),
	TOTAL("left_in_ring", "ringcap_packets_left_in_ring_total", "counter",
	      "Packets received but still in a ring when the drain at exit ran out of time.",
	      left_in_ring),
	TOTAL("out_of_order", "ringcap_packets_out_of_order_total", "counter",
	      "Packets written out of time order: they came later than the merge waits.",
	      out_of_order),
	TOTAL("bytes_written", "ringcap_bytes_written_total", "counter",
	      "Bytes in the pcap files, headers included.", bytes_written),
	TOTAL("files", "ringcap_files_written_total", "counter", "Pcap files written (rotation).",
	      files),
	TOTAL("writer_stalls", "ringcap_writer_waits_total", "counter",
	      "Times a worker waited for staging memory because the disk was behind.",
	      writer_stalls),
	TOTAL("unwritten_packets", "ringcap_packets_unwritten_total", "counter",
	      "Packets captured that no file got: the disk was full (--on-full wait).",
	      unwritten_packets),
	TOTAL("unwritten_bytes", "ringcap_bytes_unwritten_total", "counter",
	      "Record bytes of those packets.", unwritten_bytes),
	TOTAL("disk_full_events", "ringcap_disk_full_total", "counter",
	      "Times writing stopped on a full disk, a quota or an I/O error (--on-full wait).",
	      disk_full_events),
	TOTAL("waiting_for_space", "ringcap_waiting_for_space", "gauge",
	      "1 while writing waits for room on the disk (--on-full wait), else 0.",
	      waiting_for_space),
	TOTAL("retention_files_deleted", "ringcap_retention_deleted_files_total", "counter",
	      "Capture files deleted by --min-free / --max-total.", retention_files_deleted),
	TOTAL("retention_bytes_deleted", "ringcap_retention_deleted_bytes_total", "counter",
	      "Bytes of capture files deleted by --min-free / --max-total.",
	      retention_bytes_deleted),
	TOTAL("z_jobs_run", "ringcap_z_jobs_total", "counter",
	      "-z commands that finished, whatever their status.", z_jobs_run),
	TOTAL("z_jobs_failed", "ringcap_z_jobs_failed_total", "counter",
	      "-z commands that exited non-zero, were killed or could not start.", z_jobs_failed),
	TOTAL("z_jobs_queued", "ringcap_z_jobs_queued", "gauge",
	      "-z commands waiting for a free slot.", z_jobs_queued),
	TOTAL("compress_chunks", "ringcap_compress_chunks_total", "counter",
	      "zstd frames compressed (--compress): chunks, and live flushes' pieces.",
	      compress_chunks),
	TOTAL("compress_raw_chunks", "ringcap_compress_raw_chunks_total", "counter",
	      "Chunks stored as raw zstd frames because the compression pool was behind.",
	      compress_raw_chunks),
	TOTAL("compress_bytes_in", "ringcap_compress_bytes_in_total", "counter",
	      "Uncompressed bytes in the zstd frames written.", compress_bytes_in),
	TOTAL("compress_bytes_out", "ringcap_compress_bytes_out_total", "counter",
	      "Bytes of the zstd frames written.", compress_bytes_out),
	TOTAL("workers_active", "ringcap_workers_active", "gauge",
	      "Workers whose sockets receive now (the elastic pool: 1 up to -T).", workers_active),
	TOTAL("workers_added", "ringcap_workers_added_total", "counter",
	      "Workers the elastic pool added because the active ones fell behind.", workers_added),
	TOTAL("workers_retired", "ringcap_workers_retired_total", "counter",
	      "Workers the elastic pool retired after a quiet spell.", workers_retired),
	TOTAL("z_retried", "ringcap_z_retried_total", "counter",
	      "-z commands run again after a failure (backoff 1 s doubling to 60 s).", z_retried),
	TOTAL("z_failed", "ringcap_z_failed_files_total", "counter",
	      "Files whose -z never succeeded: tries used up, deleted before a retry, or not run at exit.",
	      z_failed),
};
#undef TOTAL
const size_t total_fields_n = sizeof(total_fields) / sizeof(total_fields[0]);

#define WORKER(json, prom, help, field) { json, prom, "counter", help, offsetof(struct stats_worker, field) }
const struct stats_field worker_fields[] = {
	WORKER("received", "ringcap_worker_packets_received_total",
	       "Packets received by this worker's socket (tp_packets).", received),
	WORKER("dropped", "ringcap_worker_kernel_drops_total",
	       "Packets dropped at this worker's ring (tp_drops).", dropped),
	WORKER("freeze_q", "ringcap_worker_kernel_freezes_total",
	       "Queue freezes of this worker's ring (tp_freeze_q_cnt).", freeze_q),
	WORKER("blocks", "ringcap_worker_blocks_total", "Ring blocks this worker walked.", blocks),
	WORKER("packets", "ringcap_worker_packets_total", "Packets this worker walked.", packets),
	WORKER("written", "ringcap_worker_packets_written_total",
	       "Records this worker appended to the file.", written),
};
#undef WORKER
const size_t worker_fields_n = sizeof(worker_fields) / sizeof(worker_fields[0]);

#define IFACE(json, prom, help, field) { json, prom, "counter", help, offsetof(struct stats_iface, field) }
const struct stats_field iface_fields[] = {
	IFACE("received", "ringcap_iface_packets_received_total",
	      "Packets this interface's sockets passed through the filter (tp_packets, summed).",
	      received),
	IFACE("dropped", "ringcap_iface_kernel_drops_total",
	      "Packets dropped because one of this interface's rings was full (tp_drops, summed).",
	      dropped),
	IFACE("if_dropped", "ringcap_iface_nic_drops_total",
	      "Packets this interface dropped before any socket saw them, since start.",
	      if_dropped),
	IFACE("captured", "ringcap_iface_packets_captured_total",
	      "Records of this interface's packets handed to the writer (counted without -w).",
	      captured),
	IFACE("left_in_ring", "ringcap_iface_packets_left_in_ring_total",
	      "Packets of this interface still in a ring when the drain at exit ran out of time.",
	      left_in_ring),
};
#undef IFACE
const size_t iface_fields_n = sizeof(iface_fields) / sizeof(iface_fields[0]);

/* 1536 -> "1.5 KiB"; binary units, like ls -h. */
static void human_bytes(char *out, size_t len, uint64_t v)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB" };
	double d = (double)v;
	unsigned u = 0;

	while (d >= 1024 && u + 1 < sizeof(units) / sizeof(units[0])) {
		d /= 1024;
		u++;
	}
	if (u)
		snprintf(out, len, "%.1f %s", d, units[u]);
	else
		snprintf(out, len, "%llu B", (unsigned long long)v);
}

/* Counters only grow; a smaller value (a caller's reset) reads as zero. */
static uint64_t delta(uint64_t prev, uint64_t cur)
{
	return cur > prev ? cur - prev : 0;
}

int stats_format_interval_line(char *buf, size_t len, const struct stats_snapshot *prev,
			       const struct stats_snapshot *cur, double seconds)
{
	static const struct stats_snapshot zero;
	char written[32], free_space[48] = "";
	double per_s = seconds > 0 ? 1 / seconds : 0;
	int n;

	if (!prev)
		prev = &zero;
	human_bytes(written, sizeof(written), cur->bytes_written);
	if (cur->disk_known) {
		char b[32];

		human_bytes(b, sizeof(b), cur->disk_free_bytes);
		snprintf(free_space, sizeof(free_space), ", %s free", b);
	}
	n = snprintf(buf, len,
		     "%.1f s: %.0f packets/s, %.3f Gbit/s written, %llu dropped by kernel "
		     "(%llu in all), %s written, %llu waits for the disk (%llu in all)%s, "
		     "%llu files deleted (%llu in all)",
		     cur->seconds, (double)delta(prev->received, cur->received) * per_s,
		     (double)delta(prev->bytes_written, cur->bytes_written) * 8 * per_s / 1e9,
		     (unsigned long long)delta(prev->dropped, cur->dropped),
		     (unsigned long long)cur->dropped, written,
		     (unsigned long long)delta(prev->writer_stalls, cur->writer_stalls),
		     (unsigned long long)cur->writer_stalls, free_space,
		     (unsigned long long)delta(prev->retention_files_deleted,
					       cur->retention_files_deleted),
		     (unsigned long long)cur->retention_files_deleted);
	if (n >= 0 && (size_t)n < len && cur->unwritten_packets)
		n += snprintf(buf + n, len - (size_t)n, ", %llu packets not written (%llu in all)%s",
			      (unsigned long long)delta(prev->unwritten_packets,
							cur->unwritten_packets),
			      (unsigned long long)cur->unwritten_packets,
			      cur->waiting_for_space ? ", waiting for room" : "");
	if (n >= 0 && (size_t)n < len && cur->workers_active)
		n += snprintf(buf + n, len - (size_t)n,
			      ", %llu workers receiving (%llu added, %llu retired)",
			      (unsigned long long)cur->workers_active,
			      (unsigned long long)cur->workers_added,
			      (unsigned long long)cur->workers_retired);
	if (n < 0)
		return -EINVAL;
	return (size_t)n >= len ? -ENOSPC : 0;
}

/* Copies the file open as `arg` (an int fd) into the temporary file. */
static int fill_copy(FILE *f, const void *arg)
{
	int fd = *(const int *)arg;
	char buf[8192];
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf))) > 0)
		if (fwrite(buf, 1, (size_t)n, f) != (size_t)n)
			return -EIO;
	return n < 0 ? -errno : 0;
}

static int fill_nothing(FILE *f, const void *arg)
{
	(void)f;
	(void)arg;
	return 0;
}

int stats_check_writable(const char *path)
{
	struct stat st;
	int fd, ret;

	if (stat(path, &st) == 0) {
		if (S_ISDIR(st.st_mode))
			return -EISDIR;
		if (!S_ISREG(st.st_mode))
			return -EINVAL;
		/* replace it by a copy of itself: a reader never sees a change */
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return -errno;
		ret = replace_file(path, fill_copy, &fd);
		close(fd);
		return ret;
	}
	if (errno != ENOENT)
		return -errno;
	ret = replace_file(path, fill_nothing, NULL);
	if (!ret && unlink(path) < 0)
		ret = -errno;
	return ret;
}
