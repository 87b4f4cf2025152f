/*
 * ringcap-read — packets back out of days of rotated capture files (pcap or
 * pcapng), by time window, interface and tcpdump expression, in seconds, with
 * no database.
 *
 *   ringcap-read [--since T] [--until T] [-w OUT|-] [-c N] [--stats] [--reindex]
 *                [--buffer SIZE] [--index-chunk SIZE] [-i NAME[,NAME]]
 *                [--format pcap|pcapng] PATH... [--] [expression]
 *
 * The options may stand anywhere among the paths and the expression's words.
 *
 * The pipeline, in the order main() runs it:
 *   1. validate: times, paths (directories give their pcap and pcapng files),
 *      every file's header (one link type for pcap files alone), the
 *      expression (compiled by libpcap for the first file's link type). Bad
 *      input: one line naming the value, exit 2, nothing created. Inputs are
 *      opened without following a link or waiting on a FIFO: anything but a
 *      regular file is named in one line and skipped.
 *   2. per file, an index that matches it (index/: loaded if it is this file's
 *      and fresh, extended or built, and saved beside it), its interfaces
 *      (pcapng: its IDBs; one interface table for the run, by if_name and link
 *      type) and the chunks that the window and the expression's host/net
 *      terms leave. Each file is opened for this and closed again. Then the
 *      -i names are checked, the output's format chosen and the expression
 *      compiled for every link type chosen.
 *   3. a k-way merge by time over the chosen chunks (read/merge.c) into one
 *      pcap (one link type) or pcapng (several interfaces) on standard output
 *      or -w OUT, with a bounded number of inputs open (from RLIMIT_NOFILE): a
 *      file is opened when the merge reaches it.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "read/read.h"
#include "util/opt.h"
#include "util/util.h"

enum out_format { OUT_AUTO = -1, OUT_PCAP = 0, OUT_PCAPNG = 1 };

struct opts {
	const char *since, *until, *out;
	uint64_t count;
	uint64_t buffer;
	uint64_t chunk;
	bool stats, reindex;
	int format;                 /* enum out_format */
	struct read_ifaces *ifaces; /* -i names go into its selection */
};

struct inputs {
	char **path;
	unsigned n, cap;
};

static const char synopsis[] =
	"usage: ringcap-read [--since T] [--until T] [-w OUT|-] [-c N] [--stats] [--reindex]\n"
	"                    [--buffer SIZE] [--index-chunk SIZE] [-i NAME[,NAME]]\n"
	"                    [--format pcap|pcapng] PATH... [--] [expression]\n"
	"Packets from pcap and pcapng files (or directories of them) in time order, as one\n"
	"pcap, or as one pcapng when they come from several interfaces.\n";

static const char epilogue[] =
	"T: 2026-12-01T14:02:00.25Z, 2026-12-01T15:02:00+01:00, @1764597720.25,\n"
	"   local time without a zone: '2026-12-07 10:00:00', 2026-12-07, 10:00,\n"
	"   now minus a duration: -15m, -2h, -30s, -250ms, -1d\n"
	"PATHs end at the first word that is not an existing file or directory (a word\n"
	"with a slash, no blank and not ADDRESS/LEN counts as a path), or at '--'.\n"
	"Options may also follow the paths and the expression.\n"
	"examples:\n"
	"  ringcap-read --since -15m /var/cap | tcpdump -nn -r -\n"
	"  ringcap-read --since 2026-12-01T14:00:00Z --until 2026-12-01T14:05:00Z \\\n"
	"               -w out.pcap /var/cap host 198.18.0.7 and tcp port 443\n"
	"  ringcap-read -i eth0 -w eth0.pcap two-ifaces.pcapng udp\n"
	"  ringcap-read -w out.pcapng two-ifaces.pcapng ifname tun0 and host 198.18.0.7\n";

/* -i NAME[,NAME...], repeatable: added to the selection. */
static const char *parse_iface(const char *arg, void *field)
{
	return read_ifaces_select(field, arg) ? "expected interface names (if_name), comma-separated" : NULL;
}

/* Exits 0 after --help, 2 on a bad option; returns where the words start. */
static void parse_args(int argc, char **argv, struct opts *o, struct opt_end *end)
{
	static const char *const formats[] = { "pcap", "pcapng", NULL };
	const struct opt table[] = {
		{ .name = "since", .type = OPT_STRING, .field = &o->since, .arg = "T",
		  .help = "from T on (inclusive)" },
		{ .name = "until", .type = OPT_STRING, .field = &o->until, .arg = "T",
		  .help = "up to T (exclusive)" },
		{ .name = "write", .letter = 'w', .type = OPT_STRING, .field = &o->out, .arg = "OUT",
		  .help = "write to OUT (default: standard output, also '-w -')" },
		{ .name = "count", .letter = 'c', .type = OPT_U64, OPT_INT(&o->count), .min = 1,
		  .max = UINT64_MAX, .what = "count", .why = "expected a number of records, 1 or more",
		  .arg = "N", .help = "stop after N records" },
		{ .name = "stats", .type = OPT_FLAG, .field = &o->stats,
		  .help = "counters on standard error" },
		{ .name = "reindex", .type = OPT_FLAG, .field = &o->reindex, .help = "rebuild every index" },
		{ .name = "buffer", .type = OPT_SIZE, OPT_INT(&o->buffer), .min = 1u << 20,
		  .max = 1ull << 40, .what = "buffer size", .why = "expected 1m..1t", .arg = "SIZE",
		  .help = "records held back to put a file's records in order\n(default 256m)" },
		{ .name = "index-chunk", .type = OPT_SIZE, OPT_INT(&o->chunk), .min = 4096,
		  .max = 1u << 30, .what = "index chunk", .why = "expected 4k..1g", .arg = "SIZE",
		  .help = "file bytes per index entry for indexes built now\n(default 1m)" },
		{ .name = "interface", .letter = 'i', .type = OPT_CUSTOM, .field = o->ifaces,
		  .parse = parse_iface, .what = "interface", .arg = "NAME",
		  .help = "only the records of interface NAME (pcapng if_name;\n"
			  "repeatable, or a comma list); the expression may\n"
			  "also start 'ifname NAME and ...'" },
		{ .name = "format", .type = OPT_CHOICE, OPT_INT(&o->format), .choices = formats,
		  .what = "format", .why = "expected pcap or pcapng", .arg = "FMT",
		  .help = "pcap|pcapng: the output's format (default: pcapng\n"
			  "when a pcapng input brings several interfaces or\n"
			  "link types, else pcap)" },
	};
	const struct opt_prog prog = { .synopsis = synopsis, .epilogue = epilogue, .opts = table,
				       .nopts = ARRAY_SIZE(table) };
	int ret = opt_parse(&prog, argc, argv, end);

	if (ret || end->exit_now)
		exit(ret);
}

static uint64_t window_bound(const char *what, const char *s, int64_t now, uint64_t dflt)
{
	int64_t ns;

	if (!s)
		return dflt;
	if (read_parse_time(s, now, &ns))
		die(2, "bad %s time '%s': expected RFC 3339 (2026-12-01T14:02:00.25Z), local time "
		    "('2026-12-07 10:00:00', 10:00), @EPOCH or -15m/-2h/-30s/-250ms/-1d",
		    what, s);
	return ns < 0 ? 0 : (uint64_t)ns;
}

static void add_input(struct inputs *in, const char *path)
{
	if (in->n == in->cap) {
		in->cap = in->cap ? 2 * in->cap : 64;
		in->path = xrealloc(in->path, in->cap, sizeof(*in->path));
	}
	in->path[in->n] = strdup(path);
	if (!in->path[in->n])
		abort();
	in->n++;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A directory's pcap and pcapng files, plain or compressed (FILE.zst,
 * FILE.gz: what a -z command leaves), not hidden ones (those are our
 * indexes), by name.
 * Links are not followed and only regular files are opened (a FIFO would
 * never answer); anything else but a directory is named once and skipped. */
static void add_dir(struct inputs *in, const char *dir)
{
	struct inputs found = { 0 };
	struct dirent *e;
	DIR *d = opendir(dir);

	if (!d)
		die(2, "cannot read directory '%s': %s", dir, strerror(errno));
	while ((e = readdir(d))) {
		char path[4096];
		struct stat st;

		if (e->d_name[0] == '.')
			continue;
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, e->d_name) >= sizeof(path))
			continue;
		if (lstat(path, &st) || S_ISDIR(st.st_mode))
			continue;
		if (!S_ISREG(st.st_mode)) {
			log_warn("'%s' is not a regular file (a link, FIFO, socket or device): skipped", path);
			continue;
		}
		if (!read_is_capture(path))
			continue;
		add_input(&found, path);
	}
	closedir(d);
	qsort(found.path, found.n, sizeof(*found.path), cmp_str);
	for (unsigned i = 0; i < found.n; i++) {
		add_input(in, found.path[i]);
		free(found.path[i]);
	}
	free(found.path);
}

/* "ADDR/LEN": a net, not a path. */
static bool looks_like_net(const char *w)
{
	char a[64];
	const char *slash = strchr(w, '/');
	uint8_t buf[16];

	if (!slash || (size_t)(slash - w) >= sizeof(a))
		return false;
	snprintf(a, sizeof(a), "%.*s", (int)(slash - w), w);
	return inet_pton(AF_INET, a, buf) == 1 || inet_pton(AF_INET6, a, buf) == 1;
}

/* Split the words into inputs and the expression. A "--" before every word
 * only ended the options. */
static char *split_words(int argc, char **argv, const struct opt_end *end, struct inputs *in)
{
	int i, paths_end = end->dashdash > end->words ? end->dashdash : argc;
	bool dashdash = paths_end < argc;

	for (i = end->words; i < paths_end; i++) {
		struct stat st;

		if (stat(argv[i], &st)) {
			if (dashdash || (strchr(argv[i], '/') && !strpbrk(argv[i], " \t") &&
					 !looks_like_net(argv[i])))
				die(2, "cannot open '%s': %s", argv[i], strerror(errno));
			break;
		}
		if (S_ISDIR(st.st_mode))
			add_dir(in, argv[i]);
		else
			add_input(in, argv[i]);
	}
	if (i == end->words)
		die(2, "no capture files or directories given (see --help)");
	return opt_join_words(argc - i, argv + i);
}

static void raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* The kernel's count of this process's reads: rchar (every byte read(2) and
 * pread(2) returned, from cache or not) and read_bytes (what the block layer
 * fetched for it). -1 where /proc does not tell. */
static void proc_io(long long *rchar, long long *read_bytes)
{
	FILE *f = fopen("/proc/self/io", "r");
	char line[128];

	*rchar = *read_bytes = -1;
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		sscanf(line, "rchar: %lld", rchar);
		sscanf(line, "read_bytes: %lld", read_bytes);
	}
	fclose(f);
}

static void print_stats(const struct read_stats *st, double secs)
{
	long long rchar, read_bytes;

	proc_io(&rchar, &read_bytes);
	fprintf(stderr,
		"files_considered %llu\nfiles_opened %llu\nbytes_read %llu\nrecords_scanned %llu\n"
		"records_written %llu\nchunks %llu\nchunks_skipped_time %llu\nchunks_skipped_addr %llu\n"
		"chunks_by_postings %llu\n"
		"indexes_built %llu\nindexes_extended %llu\nindexes_loaded %llu\nindexes_in_memory %llu\n"
		"out_of_order %llu\nproc_rchar %lld\nproc_read_bytes %lld\nseconds %.6f\n",
		(unsigned long long)st->files_considered, (unsigned long long)st->files_opened,
		(unsigned long long)st->bytes_read, (unsigned long long)st->records_scanned,
		(unsigned long long)st->records_written, (unsigned long long)st->chunks,
		(unsigned long long)st->chunks_skipped_time, (unsigned long long)st->chunks_skipped_addr,
		(unsigned long long)st->chunks_by_postings,
		(unsigned long long)st->indexes_built, (unsigned long long)st->indexes_extended,
		(unsigned long long)st->indexes_loaded, (unsigned long long)st->indexes_in_memory,
		(unsigned long long)st->out_of_order, rchar, read_bytes, secs);
}

/* The interfaces chosen (-i, or all), their link types counted; each -i name
 * must be some interface's. */
static void chosen(const struct read_ifaces *t, uint32_t *n, uint32_t *nlinks, uint32_t *linktype,
		   uint32_t *snaplen, bool *nano)
{
	for (unsigned k = 0; k < t->nselect; k++) {
		bool found = false;

		for (uint32_t i = 0; i < t->n && !found; i++)
			found = !strcmp(t->v[i].name, t->select[k]);
		if (!found)
			die(2, "bad interface '%s': no input has an interface (if_name) of that name", t->select[k]);
	}
	*n = *nlinks = 0;
	for (uint32_t i = 0; i < t->n; i++) {
		bool new_link = true;

		if (!t->v[i].selected)
			continue;
		for (uint32_t j = 0; j < i; j++)
			if (t->v[j].selected && t->v[j].linktype == t->v[i].linktype)
				new_link = false;
		if (!*n)
			*linktype = t->v[i].linktype;
		(*n)++;
		*nlinks += new_link;
		*snaplen = t->v[i].snaplen > *snaplen ? t->v[i].snaplen : *snaplen;
		*nano |= t->v[i].fine_ts;
	}
}

int main(int argc, char **argv)
{
	struct read_ifaces ifaces = { 0 };
	struct opts o = { .buffer = 256ull << 20, .format = OUT_AUTO, .ifaces = &ifaces };
	struct inputs in = { 0 };
	struct read_source **src;
	struct read_filter *filter = NULL;
	struct addr_query addrs;
	struct post_query post;
	struct read_query q;
	struct read_stats st = { 0 };
	struct pcap_out *out;
	struct timespec wall;
	struct opt_end end;
	char err[512], *expr;
	uint32_t linktype = 0, snaplen = 0, nchosen = 0, nlinks = 0, pcap_link = 0;
	uint32_t pcap_snaplen = 0;
	unsigned nsrc = 0, npcapng = 0, mixed_at = 0, first_pcap = 0;
	bool nano = false, ng, have_pcap = false;
	uint64_t t0 = now_ns();
	int out_fd = STDOUT_FILENO, ret, status = 0;

	log_set_program("ringcap-read");
	parse_args(argc, argv, &o, &end);
	clock_gettime(CLOCK_REALTIME, &wall);
	int64_t now = (int64_t)wall.tv_sec * 1000000000ll + wall.tv_nsec;
	q.since_ns = window_bound("--since", o.since, now, 0);
	q.until_ns = window_bound("--until", o.until, now, UINT64_MAX);

	expr = split_words(argc, argv, &end, &in);
	if (read_expr_take_ifname(&ifaces, expr) < 0)
		die(2, "bad expression '%s': 'ifname NAME' must begin it and be followed by 'and' (or end it)",
		    expr);
	if (!in.n)
		die(2, "no pcap files in the paths given");
	raise_fd_limit();
	src = xcalloc(in.n, sizeof(*src));
	for (unsigned i = 0; i < in.n; i++) {
		const struct pcap_file_info *fi;

		ret = read_source_open(&src[nsrc], in.path[i]);
		if (ret == -ENOTSUP) {
			log_warn("'%s' is not a regular file (a link, FIFO, socket or device): skipped", in.path[i]);
			continue;
		}
		if (ret == -EINVAL)
			die(2, "'%s' is neither a pcap nor a pcapng file", in.path[i]);
		if (ret)
			die(2, "cannot open '%s': %s", in.path[i], strerror(-ret));
		fi = read_source_info(src[nsrc]);
		if (!nsrc)
			linktype = fi->linktype;
		if (read_source_is_pcapng(src[nsrc])) {
			npcapng++;
		} else if (!have_pcap) {
			have_pcap = true;
			first_pcap = nsrc;
			pcap_link = fi->linktype;
		} else if (fi->linktype != pcap_link && !mixed_at) {
			mixed_at = nsrc;
		}
		if (!read_source_is_pcapng(src[nsrc]))
			pcap_snaplen = fi->snaplen > pcap_snaplen ? fi->snaplen : pcap_snaplen;
		nsrc++;
	}
	if (!nsrc)
		die(2, "no pcap files in the paths given");
	/* pcap files alone are one link type (as before pcapng), unless pcapng is asked for */
	if (mixed_at && !npcapng && o.format != OUT_PCAPNG)
		die(2, "mixed link types: '%s' is %u, '%s' is %u (one link type per run; --format pcapng takes several)",
		    read_source_path(src[first_pcap]), pcap_link, read_source_path(src[mixed_at]),
		    read_source_info(src[mixed_at])->linktype);
	st.files_considered = nsrc;
	if (o.out && strcmp(o.out, "-")) {
		struct stat os, is;

		for (unsigned i = 0; i < nsrc && !stat(o.out, &os); i++)
			if (!stat(read_source_path(src[i]), &is) && os.st_dev == is.st_dev && os.st_ino == is.st_ino)
				die(2, "bad output '%s': it is also an input", o.out);
	}
	/* the first file's link type now, the others' once their interfaces are known */
	if (read_filter_compile(&filter, linktype, pcap_snaplen, expr, err, sizeof(err)))
		die(2, "bad expression '%s': %s", expr, err);
	addr_query_parse(expr, &addrs);
	post_query_parse(expr, &post);
	q.filter = filter;
	q.addrs = &addrs;
	q.post = &post;
	q.ifaces = &ifaces;
	q.chunk_bytes = (uint32_t)o.chunk;
	q.max_open = 0; /* from RLIMIT_NOFILE, as raised above */

	for (unsigned i = 0; i < nsrc; i++) {
		ret = read_source_prepare(src[i], o.reindex, &q, &st);
		if (ret) {
			log_err("indexing '%s': %s", read_source_path(src[i]), strerror(-ret));
			status = 1;
			goto out_free;
		}
	}
	chosen(&ifaces, &nchosen, &nlinks, &linktype, &snaplen, &nano);
	if (o.format == OUT_PCAP && nlinks > 1)
		die(2, "bad format 'pcap': the interfaces chosen have %u link types (take one with -i, or --format"
		       " pcapng)", nlinks);
	ng = o.format == OUT_PCAPNG || (o.format == OUT_AUTO && (nlinks > 1 || (npcapng && nchosen > 1)));
	for (uint32_t i = 0; i < ifaces.n; i++)
		if (ifaces.v[i].selected &&
		    read_filter_add_link(filter, ifaces.v[i].linktype, ifaces.v[i].snaplen, err, sizeof(err)))
			die(2, "bad expression '%s' for link type %u (interface '%s'): %s", expr,
			    ifaces.v[i].linktype, ifaces.v[i].name, err);
	if (o.out && strcmp(o.out, "-")) {
		out_fd = open(o.out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (out_fd < 0)
			die(2, "cannot create '%s': %s", o.out, strerror(errno));
	}
	if (ng)
		pcapng_out_open(&out, out_fd, &ifaces);
	else
		pcap_out_open(&out, out_fd, linktype, snaplen ? snaplen : PCAP_SNAPLEN_MAX, nano);
	ret = read_merge(src, nsrc, &q, out, o.count, o.buffer, &st);
	if (!ret)
		ret = pcap_out_close(out);
	else
		pcap_out_close(out);
	if (ret) {
		log_err("writing %s: %s", o.out && strcmp(o.out, "-") ? o.out : "standard output", strerror(-ret));
		status = 1;
	}
	if (out_fd != STDOUT_FILENO && close(out_fd) && !status) {
		log_err("closing %s: %s", o.out, strerror(errno));
		status = 1;
	}
	if (st.out_of_order)
		log_warn("%llu records were written before older ones: a file's records were further out of"
			 " order than --buffer holds", (unsigned long long)st.out_of_order);
out_free:
	if (o.stats)
		print_stats(&st, (double)(now_ns() - t0) / 1e9);
	for (unsigned i = 0; i < nsrc; i++)
		read_source_free(src[i]);
	for (unsigned i = 0; i < in.n; i++)
		free(in.path[i]);
	xfree(src);
	free(in.path);
	read_filter_free(filter);
	read_ifaces_free(&ifaces);
	xfree(expr);
	return status;
}
