/*
 * capture — the whole pipeline behind one handle; for now the configuration
 * the command line fills (cli_parse) and ringcap.c runs.
 */
#ifndef RINGCAP_CAPTURE_H
#define RINGCAP_CAPTURE_H

#include <stdbool.h>
#include <stdint.h>

#include "merge/merge.h"
#include "responder/responder.h"
#include "writer/pcap.h"

#define SNAPLEN_MAX PCAP_SNAPLEN_MAX
/* Every worker is one input of the time-order merge. */
#define MAX_WORKERS MERGE_MAX_INPUTS
/* --min-free / --max-total without -C or -G rotate at this size */
#define RETENTION_DEFAULT_FILE_BYTES (1000ull * 1000 * 1000)

/* What the command line asks for; cli_parse fills it and validates every
 * field before anything is opened. */
struct capture_config {
	const char *ifname;
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
	unsigned threads;
	int cpus[MAX_WORKERS];     /* --cpus: where workers are pinned, in turn */
	unsigned ncpus;            /* 0: CPUs 0..online-1 */
	bool threads_set;
	uint16_t fanout_mode;      /* PACKET_FANOUT_* with flags */
	const char *fanout_name;
	bool nano;
	uint64_t duration_ns;      /* 0 = until a signal */
	uint32_t flush_interval_ms; /* --flush-interval: write out partial chunks; 0 = off */
	bool packet_buffered;      /* -U: write out after every block */
	bool quiet;
	bool no_promisc;           /* -p: leave the interface's promiscuity alone */
	bool no_index;             /* --no-index: no ringcap-read index beside the files */
	const char *z_cmd;         /* -z: run on each closed file */
	unsigned z_jobs;           /* --z-jobs: at most this many at once (default 2) */
	uint64_t min_free_bytes;   /* --min-free SIZE */
	unsigned min_free_percent; /* --min-free N% */
	uint64_t max_total_bytes;  /* --max-total SIZE */
	bool on_full_wait;         /* --on-full wait */
	bool use_pwrite;
	bool direct;
	uint64_t staging_bytes;
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

#endif
