/*
 * read — packets back out of rotated capture files (pcap or pcapng): a time
 * window, a tcpdump expression, a k-way merge in time order, one pcap (or
 * pcapng) out. The program is read/ringcap-read.c; these are its parts, each
 * testable alone.
 *
 *   time.c    the --since/--until forms (pure)
 *   query.c   which conjuncts of an expression name hosts or nets, so the
 *             index's address summaries can skip chunks (pure)
 *   ifaces.c  the interfaces of all inputs, one per (if_name, link type),
 *             and the -i selection
 *   bpf.c     the expression compiled for each of the inputs' link types
 *             (ring/'s filter compiler) and run on each record
 *   source.c  one input file: its index, the chunks the window and the address
 *             query leave, and its records in time order (blocks on reads);
 *             a record that contradicts its chunk's index entry has the file
 *             scanned instead
 *   merge.c   the sources merged through a heap into the output, with a
 *             bounded number of input files open
 *   output.c  the pcap or pcapng written out (blocks on writes)
 *
 * Threads: a single thread runs all of it. Ownership is stated per function.
 */
#ifndef RINGCAP_READ_H
#define RINGCAP_READ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "index/index.h"

/* ------------------------------------------------------------------ time.c */

/*
 * Parse a time: RFC 3339 with a zone ("2026-12-01T14:02:00.25Z",
 * "...T15:02:00+01:00"); a date and time without a zone, local time as `date
 * -d` takes it (TZ honoured): "2026-12-07 10:00:00", "2026-12-07T10:00",
 * "2026-12-07" (midnight), "10:00" and "10:00:30.5" (today); "@" epoch
 * seconds with a fraction ("@1764597720.25"); or now minus a duration
 * ("-15m", "-2h", "-30s", "-250ms", "-1d", "-1.5h"). Up to nine fraction
 * digits. `now_ns` is the wall clock used for the relative forms and today's
 * date. Result: ns since the epoch (negative before 1970). 0 or -EINVAL.
 */
int read_parse_time(const char *s, int64_t now_ns, int64_t *out_ns);

/* ----------------------------------------------------------------- query.c */

#define QUERY_MAX_TERMS 16

struct addr_term {
	bool v6;
	uint32_t lo4, hi4;           /* IPv4 range, as numbers */
	uint8_t lo6[16], hi6[16];    /* IPv6 range */
};

/* Address terms every matching packet must satisfy; n == 0: no usable term,
 * the summaries are not consulted. */
struct addr_query {
	unsigned n;
	struct addr_term t[QUERY_MAX_TERMS];
};

/*
 * Find the terms of `expr` of the forms [ip|ip6] [src|dst] host ADDR and
 * [ip|ip6] [src|dst] net ADDR/LEN (numeric addresses) that are joined to the
 * rest of the expression by `and` at the top level (or inside parentheses that
 * are themselves such a conjunct). Anything with a top-level `or`, a term under
 * `not`, or a keyword that moves libpcap's offsets to a tunnel (mpls, pppoes,
 * geneve, vxlan) gives no terms: the chunk is never skipped for it. Pure.
 */
void addr_query_parse(const char *expr, struct addr_query *q);
/* Could a packet of chunk `c` satisfy every term? */
bool addr_query_may_match(const struct addr_query *q, const struct index *ix, const struct index_chunk *c);

/*
 * The postings query: the whole expression as a tree of `and`, `or` and the
 * primitives the postings can decide (host, net, port, portrange, tcp, udp,
 * sctp, icmp, icmp6, igmp, [ip|ip6] proto N, tcp/udp/sctp port N). Anything
 * else, and anything under `not`, is "all" (every record), so the records the
 * tree leaves always include every one the filter matches: `and` intersects,
 * `or` unites. An expression the parser cannot follow, or one with a keyword
 * that moves libpcap's offsets (vlan, mpls, pppoes, geneve, vxlan), gives no
 * tree (usable false).
 */
#define POSTQ_MAX_NODES 64

enum postq_kind { POSTQ_ALL, POSTQ_AND, POSTQ_OR, POSTQ_KEY };

struct postq_node {
	enum postq_kind kind;
	unsigned a, b;               /* children of AND / OR */
	unsigned type;               /* INDEX_KEY_* of a KEY */
	uint8_t lo[16], hi[16];      /* its value range, network order */
};

struct post_query {
	bool usable;
	unsigned n, root;
	struct postq_node node[POSTQ_MAX_NODES];
};

void post_query_parse(const char *expr, struct post_query *q);
/* The records of chunk `c` the query leaves, as offsets from its first
 * record, into *out (replaced); false when it must be read whole (no tree,
 * "no postings", or the tree is "all" there). Pure. */
bool post_query_chunk(const struct post_query *q, const struct index *ix, const struct index_chunk *c,
		      struct index_offs *out);
/* Could this record, by its own keys, be among those the query leaves? A
 * record the postings named that could not has been named falsely. Pure. */
bool post_query_record_may(const struct post_query *q, uint32_t linktype, const uint8_t *frame,
			   uint32_t caplen);

/* ---------------------------------------------------------------- ifaces.c */

/* One interface of the run: the same (name, link type) in several files is
 * one. A pcap file's records are its link type's nameless interface. */
struct read_iface {
	char name[PCAPNG_IFNAME_MAX];
	uint32_t linktype;
	uint32_t snaplen;            /* the largest of its files' (0: none said) */
	bool fine_ts;                /* some file has it finer than microseconds */
	bool selected;               /* -i names it, or there is no -i */
};

/* The run's interfaces (ids are indexes into v) and the -i names. Main's:
 * filled while the inputs are prepared, read by the merge and the output. */
struct read_ifaces {
	struct read_iface *v;
	uint32_t n, cap;
	char **select;
	unsigned nselect;
};

/* The id of (name, linktype), added if new (its snaplen and precision
 * merged in if not). Pure but for allocation. */
uint32_t read_ifaces_id(struct read_ifaces *t, const char *name, uint32_t linktype, uint32_t snaplen,
			bool fine_ts);
/* Is `name` among the -i names (true when there are none)? */
bool read_ifaces_wanted(const struct read_ifaces *t, const char *name);
/* Add the names of a comma list to the -i selection. 0 or -EINVAL (an empty
 * or too long name). */
int read_ifaces_select(struct read_ifaces *t, const char *list);
/* An expression that starts "ifname NAME and ..." (or is "ifname NAME"):
 * NAME added to the selection and the words removed from `expr` (in place).
 * 1 if taken, 0 if the expression does not start so, -EINVAL if it starts
 * with "ifname" but not in that form. */
int read_expr_take_ifname(struct read_ifaces *t, char *expr);
void read_ifaces_free(struct read_ifaces *t);

/* ------------------------------------------------------------------- bpf.c */

struct read_filter;

/* Compile `expr` (NULL or "": match all) for LINKTYPE `linktype`. 0, or
 * -EINVAL with libpcap's message in err. *out is owned by the caller. */
int read_filter_compile(struct read_filter **out, uint32_t linktype, uint32_t snaplen, const char *expr,
			char *err, size_t errlen);
/* Compile the same expression for one more link type (nothing if it has
 * it already). 0, or -EINVAL with libpcap's message in err. */
int read_filter_add_link(struct read_filter *f, uint32_t linktype, uint32_t snaplen, char *err, size_t errlen);
/* Match with the program of the first link type compiled. */
bool read_filter_match(const struct read_filter *f, const uint8_t *frame, uint32_t caplen, uint32_t len);
/* Match with the program of `linktype`; false for a link type not compiled. */
bool read_filter_match_link(const struct read_filter *f, uint32_t linktype, const uint8_t *frame,
			    uint32_t caplen, uint32_t len);
void read_filter_free(struct read_filter *f);

/* ---------------------------------------------------------------- output.c */

struct pcap_out;

/* Write the file header to `fd` (not owned: closed by the caller). */
int pcap_out_open(struct pcap_out **out, int fd, uint32_t linktype, uint32_t snaplen, bool nano);
/* A pcapng out instead: its SHB now; an IDB for an interface of `ifaces`
 * (kept by the caller, which outlives the output) just before its first
 * packet, with its if_name, link type, snaplen and if_tsresol 10^-9. */
int pcapng_out_open(struct pcap_out **out, int fd, const struct read_ifaces *ifaces);
/* Buffered; 0 or the first write error (-errno), which sticks. */
int pcap_out_record(struct pcap_out *o, uint64_t ts_ns, uint32_t caplen, uint32_t len, const uint8_t *data);
/* One packet of interface `iface` (an id of the ifaces given; ignored by a
 * pcap out), with its epb_flags (0: none): an EPB, or a pcap record. */
int pcap_out_packet(struct pcap_out *o, uint32_t iface, uint32_t flags, uint64_t ts_ns, uint32_t caplen,
		    uint32_t len, const uint8_t *data);
/* Flush and free; 0 or the first write error. */
int pcap_out_close(struct pcap_out *o);

/* ---------------------------------------------------------------- source.c */

struct read_stats {
	uint64_t files_considered, files_opened;
	uint64_t bytes_read;            /* capture and index bytes read */
	uint64_t records_scanned, records_written;
	uint64_t chunks, chunks_skipped_time, chunks_skipped_addr;
	uint64_t chunks_by_postings;    /* read record by record, by their postings */
	uint64_t indexes_built, indexes_extended, indexes_loaded, indexes_in_memory;
	uint64_t out_of_order;          /* written before a record older than it (memory cap) */
};

struct read_query {
	uint64_t since_ns, until_ns;    /* [since, until) */
	struct read_ifaces *ifaces;     /* the run's interfaces: prepare adds to it */
	const struct read_filter *filter;
	const struct addr_query *addrs;
	const struct post_query *post;  /* NULL: chunks are read whole */
	uint32_t chunk_bytes;           /* for indexes built now (0: default) */
	unsigned max_open;              /* input files open at once (0: read_open_budget()) */
};

struct read_source;

/* Is `path` a regular file (not followed if a link, not waited on if a FIFO)
 * holding a classic pcap or a pcapng file, plain or compressed (zstd, gzip)?
 * Blocks. */
bool read_is_capture(const char *path);

/*
 * Read a capture file's header (through zfile/ when it is compressed: zstd
 * or gzip, told by its first bytes), without following a link or waiting on a
 * FIFO; the file is closed again (read_source_prepare and the merge open it
 * when they need it, and check it is the same file). 0, -ENOTSUP if it is not
 * a regular file (a symbolic link, FIFO, device...), -EINVAL if it is neither
 * a classic pcap nor a pcapng file (plain or compressed), or -errno from
 * open/read. Blocks. *out is owned by the caller.
 */
int read_source_open(struct read_source **out, const char *path);
/* A pcap file's header. For a pcapng file: nano, snaplen 0 and the link type
 * of its first interface when its first bytes hold it (else 0); its
 * interfaces are known once it is prepared (read_source_is_pcapng). */
const struct pcap_file_info *read_source_info(const struct read_source *s);
bool read_source_is_pcapng(const struct read_source *s);
/* Distinct interfaces (ids of q->ifaces) the prepared file has. */
uint32_t read_source_ninterfaces(const struct read_source *s);
/* The path it was opened by (owned by the source). */
const char *read_source_path(const struct read_source *s);
/*
 * Get its index (index_refresh; `force` rebuilds), warn once if the file ends
 * in a torn or corrupt record (or, pcapng, has blocks that lie), add its
 * interfaces to q->ifaces (a pcapng file's SHBs and IDBs are read for it) and
 * choose the chunks `q` leaves. Counts into *st. Opens the file and closes it
 * again. Blocks. 0, -ESTALE (another file under its name since
 * read_source_open), -EBADMSG (a pcapng SHB or IDB its index names is not
 * there) or -errno.
 */
int read_source_prepare(struct read_source *s, bool force, const struct read_query *q, struct read_stats *st);
void read_source_free(struct read_source *s);

/* ----------------------------------------------------------------- merge.c */

/* Input files the merge may hold open: RLIMIT_NOFILE's soft limit less what
 * the rest of the program needs (standard streams, the output, an index being
 * rebuilt, libraries), at most 4096. */
unsigned read_open_budget(void);

/*
 * Merge the prepared sources into `out` in time order, at most `limit` records
 * (0: all). A file is opened when the merge reaches its first chosen chunk and
 * closed once its last is read, so files that follow one another in time are
 * not open together; at most q->max_open are (past that, the open file whose
 * next chunk comes last is closed, and opened again when it is reached).
 * Within a file, records out of order are put in order as long as the
 * records held back stay under `mem_limit` bytes (each chunk of a file knows its
 * smallest timestamp, so a record is written only when no unread chunk can hold
 * an older one); past that the oldest held record is written and counted in
 * st->out_of_order. 0 or the output's first write error.
 */
int read_merge(struct read_source **src, unsigned n, const struct read_query *q, struct pcap_out *out,
	       uint64_t limit, uint64_t mem_limit, struct read_stats *st);

#endif
