/*
 * stats — the capture's counters as a plain snapshot, and the three ways they
 * leave the process: a JSON file (--stats-json), a Prometheus text file for
 * node_exporter's textfile collector (--stats-prom), and one line on stderr per
 * --stats-interval.
 *
 * The snapshot is filled by its caller (main's thread, from the 64-bit totals
 * it keeps); this layer never reads a ring, a worker or the writer, so it has
 * no locks and no threads. Every function here may be called from any thread
 * on a snapshot nobody changes meanwhile. Strings and arrays in a snapshot
 * stay the caller's.
 *
 * Files are replaced atomically: the new content goes to a hidden temporary
 * file in the same directory (".NAME.XXXXXX", mode 0644), is fsync'd, and is
 * renamed over NAME. A reader sees the old file or the new one, never a part;
 * on any failure the temporary file is removed and NAME is left as it was.
 * These calls block on the file system (write, fsync, rename): call them from
 * main's stats tick, never from a worker.
 *
 * Functions that act return 0 or -errno and log nothing: the caller names the
 * path in its own one line.
 */
#ifndef RINGCAP_STATS_H
#define RINGCAP_STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One worker's figures. */
struct stats_worker {
	unsigned id;
	int cpu;               /* -1: not pinned */
	uint64_t received;     /* PACKET_STATISTICS tp_packets, accumulated */
	uint64_t dropped;      /* tp_drops, accumulated */
	uint64_t freeze_q;     /* tp_freeze_q_cnt, accumulated */
	uint64_t blocks;       /* ring blocks walked */
	uint64_t packets;      /* packets walked */
	uint64_t written;      /* records the pcap handler appended */
};

/* One capture interface's figures (-i, in order): its sockets and its own
 * drops; captured + dropped + left_in_ring = received for each. */
struct stats_iface {
	const char *name;
	uint64_t received;     /* tp_packets summed over its sockets */
	uint64_t dropped;      /* tp_drops summed over its sockets */
	uint64_t if_dropped;   /* the interface's own drops since start (sysfs) */
	uint64_t captured;     /* records of its packets handed to the writer (or counted) */
	uint64_t left_in_ring; /* received, still in its rings when the exit drain ended */
};

/* A named counter of an optional group (the responder's). A name with a
 * dot ("ignored.out_of_pool") is put in a nested JSON object ("ignored"); in
 * the Prometheus file the dot becomes an underscore. */
struct stats_pair {
	const char *name;
	uint64_t value;
};

/* A group of counters: one JSON object named `name`, and Prometheus counters
 * ringcap_NAME_PAIR_total described by `help`. */
struct stats_group {
	const char *name;          /* [a-z0-9_] */
	const char *help;
	const struct stats_pair *pairs;
	unsigned npairs;
};

struct stats_snapshot {
	const char *ifname;        /* the -i names, comma-separated */
	double seconds;            /* since capture started */
	/* totals over all sockets (PACKET_STATISTICS, 64-bit) */
	uint64_t received;
	uint64_t dropped;
	uint64_t freeze_q;
	uint64_t if_dropped;       /* the interface's own drops since start (sysfs) */
	uint64_t bad_blocks;
	uint64_t bad_packets;
	uint64_t left_in_ring;     /* received, still in a ring when the exit drain ended */
	uint64_t out_of_order;     /* written out of time order by the merge */
	/* the writer */
	uint64_t captured;         /* records in the files */
	uint64_t bytes_written;
	uint64_t files;
	const char *writer;        /* "io_uring", "pwrite"; NULL: no file ("none") */
	bool o_direct;
	uint64_t writer_stalls;    /* waits for the disk */
	uint64_t writer_stall_ns;
	/* --on-full wait: what no file got, and the times the disk was full */
	uint64_t unwritten_packets;
	uint64_t unwritten_bytes;
	uint64_t disk_full_events;
	uint64_t waiting_for_space; /* 1 while the writer waits for room, else 0 */
	/* the capture file system and retention (--min-free, --max-total) */
	bool disk_known;           /* false: the two below are not reported */
	uint64_t disk_free_bytes;  /* statvfs f_bavail * f_frsize */
	uint64_t disk_total_bytes;
	uint64_t retention_files_deleted;
	uint64_t retention_bytes_deleted;
	/* -z jobs */
	uint64_t z_jobs_run;       /* finished, whatever their status */
	uint64_t z_jobs_failed;    /* non-zero exit, killed, or could not start */
	uint64_t z_jobs_queued;    /* waiting for a free slot now */
	/* --compress: frames compressed, chunks stored raw (the pool was
	 * behind), uncompressed bytes in and frame bytes out */
	uint64_t compress_chunks;
	uint64_t compress_raw_chunks;
	uint64_t compress_bytes_in;
	uint64_t compress_bytes_out;
	/* the workers: how many receive now, and the elastic pool's changes */
	uint64_t workers_active;   /* 0: not reported in the interval line */
	uint64_t workers_added;
	uint64_t workers_retired;
	uint64_t z_retried;        /* runs started again after a failure */
	uint64_t z_failed;         /* files whose -z never succeeded (given up on) */
	/* per worker */
	const struct stats_worker *workers;
	unsigned nworkers;
	/* per interface, in -i order (none: not reported) */
	const struct stats_iface *ifaces;
	unsigned nifaces;
	/* optional groups (the responder's arp, ndp, responder); none when off */
	const struct stats_group *groups;
	unsigned ngroups;
};

/*
 * The snapshot as JSON (jansson), replacing `path` atomically. The field
 * names are those ringcap has always written (interface, seconds, captured,
 * received, dropped, freeze_q, if_dropped, bad_blocks, bad_packets, bytes_written, files,
 * writer, o_direct, writer_stalls, writer_stall_ms, workers[...]), one object
 * per optional group (the responder's arp{...}, ndp{...}, responder{...})
 * plus disk_free_bytes, disk_total_bytes, retention_files_deleted,
 * retention_bytes_deleted, z_jobs_run, z_jobs_failed, z_jobs_queued, z_retried, z_failed,
 * unwritten_packets, unwritten_bytes, disk_full_events, waiting_for_space,
 * compress_chunks, compress_raw_chunks, compress_bytes_in, compress_bytes_out,
 * workers_active, workers_added, workers_retired,
 * and interfaces[{name, received, dropped, if_dropped, captured,
 * left_in_ring}, ...] in -i order. Layout: one top-level field per line and
 * one worker (one interface) per line, as before, so
 * scripts that grep a line keep working; the text is the library's.
 */
int stats_write_json(const char *path, const struct stats_snapshot *s);

/*
 * The snapshot in the Prometheus text exposition format (version 0.0.4), with
 * # HELP and # TYPE for every metric family, labels interface="..." (the
 * -i names, comma-separated) and, per worker, worker="ID"; per interface the
 * ringcap_iface_* families, labelled interface="NAME" (label values escaped: backslash, double quote,
 * newline), replacing `path` atomically. Name the file *.prom for
 * node_exporter's --collector.textfile.directory; the temporary name does not
 * end in .prom, so the collector never reads a partial file.
 */
int stats_write_prometheus(const char *path, const struct stats_snapshot *s);

/*
 * One line (no newline at the end) for --stats-interval: the rates over the
 * `seconds` between `prev` (NULL: the start, all zero) and `cur`, and totals.
 * Returns 0, or -ENOSPC when `len` was too short (the line is cut).
 */
int stats_format_interval_line(char *buf, size_t len, const struct stats_snapshot *prev,
			       const struct stats_snapshot *cur, double seconds);

/*
 * At start-up: proves `path` can be replaced the way the writers above do it
 * (a temporary file can be made in its directory and renamed over it). An
 * existing file is replaced by a copy of itself, so a reader never sees it
 * change; a path that did not exist does not exist afterwards. 0, or -errno
 * (-EISDIR when path is a directory); the caller exits 2 naming the path.
 */
int stats_check_writable(const char *path);

#endif
