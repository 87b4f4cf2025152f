/* Private to capture/: the pipeline's state, shared by capture.c (open,
 * start, stop, close), report.c and upkeep.c. capture.h is the contract. */
#ifndef RINGCAP_CAPTURE_IMPL_H
#define RINGCAP_CAPTURE_IMPL_H

#include <pthread.h>

#include "capture/capture.h"
#include "jobs/jobs.h"
#include "retention/retention.h"
#include "ring/ring.h"
#include "writer/writer.h"

/* A file the writer closed, on its way to retention (upkeep.c's
 * capture_file_closed). */
struct closed_file {
	struct closed_file *next;
	uint64_t size;
	char path[];
};

/* One capture interface (-i), in -i order: its sockets are the workers
 * [first, first + nworkers) of the capture, in a fanout group of their own. */
struct capture_iface {
	struct iface iface;        /* looked up once, handed to every socket */
	struct filter kfilter;     /* in the kernel: the user's expression, for its link type */
	unsigned first, nworkers;
	/* its own drops (nic.c): at start and at the last look */
	uint64_t nic_start, nic_now;
	bool nic_known;
	/* PACKET_STATISTICS summed over its sockets: main stores them on its
	 * statistics tick, any thread loads them (capture_iface_totals) */
	uint64_t received, dropped;
	char description[128];     /* ifalias, else the driver's name; "" if neither */
};

struct capture {
	struct capture_config cfg; /* a copy; its strings are the caller's */
	struct capture_iface ifs[CAPTURE_MAX_IFACES];
	unsigned nifaces;
	unsigned nworkers;         /* all interfaces' (cfg.threads each) */
	char ifnames[CAPTURE_MAX_IFACES * CAPTURE_IFNAMSIZ]; /* "A,B": reports' one name */
	struct writer_iface wifs[CAPTURE_MAX_IFACES]; /* the writer's interface list */
	struct workers_ctl ctl;
	struct worker *workers;
	unsigned started;          /* workers running, or joined at stop */
	bool running;              /* started and not yet stopped */
	struct pcap_handler *pcap;  /* one per worker (one worker: no merge) */
	/* Several workers: their blocks meet in the time-order merge, whose sink
	 * is one pcap handler; one merge handler per worker feeds it. */
	struct merge *merge;
	struct pcap_handler sink;
	uint64_t sink_iface_written[CAPTURE_MAX_IFACES]; /* the sink's, per interface */
	struct merge_handler *mh;
	struct merge_input_counters *mc; /* per worker, after merge_close */
	/* --workers elastic with -T 2 or more: the pool over the workers; one
	 * receiving worker appends through pcap[0], several through the merge */
	struct worker_pool pool;
	bool elastic;
	struct arp_responder *arp;  /* pools and MAC */
	struct arp_service arps;    /* its socket, TX ring and thread */
	struct writer *writer;
	struct writer_result wres;
	bool closed;               /* the writer is closed and wres is final */
	uint64_t *left_in_ring;    /* per worker, counted after the drain */
	uint64_t t_start;
	/* reports: the snapshot's arrays, the last interval's figures */
	struct stats_worker *sw;
	struct stats_iface si[CAPTURE_MAX_IFACES];
	struct responder_stats arp_stats;
	struct stats_snapshot prev;
	bool have_prev;
	uint64_t t_report;
	bool warned_json, warned_prom;
	uint64_t files_closed;     /* by the writer's hook (any thread), atomic */
	uint64_t status_captured;  /* capture_format_status's last figures */
	uint64_t t_status;
	/* unattended operation: -z and retention, fed by the writer's hook */
	struct jobs *jobs;
	struct retention *ret;
	uint64_t bytes_at_tick;    /* writer_bytes at the last tick */
	uint64_t bytes_per_s;      /* over the last tick, for the retention reserve */
	uint64_t t_tick;
	uint64_t prealloc_step;    /* the writer's reservation ahead (capture_prealloc_step) */
	bool retention_full;       /* said once: nothing more may be deleted */
	struct retention_counters ret_final; /* after they are closed, for the reports */
	pthread_mutex_t closed_lock;         /* closed_files: the writer's hook to main */
	struct closed_file *closed_files;
	struct jobs_counters jobs_final;
	/* pcapng's shb_hardware (the writer borrows it) */
	char hardware[128];
};

/* elastic.c */
/* The elastic pool applies: --workers elastic, two workers or more, a
 * fanout mode a program can steer (not rollover). */
bool capture_is_elastic(const struct capture_config *o);
/* The fanout type and flags the capture sockets join with. */
uint16_t capture_fanout_mode(const struct capture_config *o);
/* Tests: RINGCAP_TEST_WORKER_SLEEP_US, 0 when unset. */
uint32_t capture_test_sleep_us(void);
/* Set-up, after the merge and worker 0's direct handler: the pool, its
 * program to one socket. 0 or -errno (logged). */
int capture_open_pool(struct capture *cap);
/* The active workers, and how many were added and retired so far. */
void capture_workers_counts(const struct capture *cap, uint64_t *active, uint64_t *added,
			    uint64_t *retired);

/* report.c */
/* Each stats file can be replaced: at start, before anything is made, and
 * again as the -Z user. 0 or -errno (one line logged). */
int capture_check_stat_files(const struct capture_config *o);
/* One line for the writer's failure, naming the file on disk. 0 when it is
 * not a failure of the run (the reader of standard output went away). */
int capture_report_writer_error(const struct writer_result *r);
/* One line per worker's error (a write error is the writer's; a lost
 * interface is said once). The first such error, or 0. */
int capture_report_worker_errors(const struct capture *cap);

/* nic.c */
/* At start: the interface's drop counters, and one warning when offloads
 * are on. */
void capture_nic_start(struct capture *cap);
/* Read the interface's drop counters again (the statistics timer). */
void capture_nic_update(struct capture *cap);
/* What pcapng's if_description says of `ifc`: its alias (ifalias), else
 * its driver's name (ethtool), else "". */
void capture_nic_description(const struct capture_iface *ifc, char *buf, size_t len);

/* upkeep.c */
/* The writer's file_closed hook. */
void capture_file_closed(void *ctx, const char *path, uint64_t size, int error);
/* The writer's iface_stats hook (pcapng's ISBs): the PACKET_STATISTICS totals
 * published at main's last statistics tick (capture_update_stats: every
 * CAPTURE_UPKEEP_NS, and just before the writer closes), summed over the
 * workers' sockets, so up to a tick behind a rotation (0 before the first
 * tick); -ENODEV for an interface the capture does not have. Any thread;
 * never blocks. */
int capture_iface_stats(void *ctx, unsigned iface, uint64_t *recv, uint64_t *drop);
/* Hand the files closed since the last look to retention, oldest first. */
void capture_take_closed(struct capture *cap);
/* With -Z and -C/-G: can the user create the next files? 0 or -errno (logged). */
int capture_check_can_rotate(const struct capture_config *o);
/* How far ahead the writer reserves space in a file (writer_config's
 * prealloc_step), sized to the retention limits. Main, at set-up. */
uint64_t capture_prealloc_step(const struct capture_config *o);

#endif
