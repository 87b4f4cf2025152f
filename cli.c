/*
 * ringcap's command line: one option table (util/opt.h) with tcpdump's letters
 * where the meaning is the same. The table gives each option its type, range,
 * error line and --help text; the checks that tie options together follow the
 * table parse in check_combination(). Nothing of the capture is opened here:
 * -F reads its file, -D looks at the interfaces and ends the run.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <pwd.h>
#include <linux/if_packet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "cli_impl.h"
#include "ring/ring.h"
#include "util/opt.h"
#include "util/util.h"
#include "writer/writer.h"

static const char synopsis[] =
"Usage: ringcap -i IFACE[,IFACE...] [-w FILE] [options] [filter expression ...]\n"
"       ringcap -D\n"
"Capture packets on IFACE with per-CPU TPACKET_V3 rings in one fanout group and\n"
"write them to a pcap savefile through io_uring; optionally answer ARP for pools.\n"
"Options may stand before, between or after the words of the expression; '--'\n"
"ends the options.\n";

static const char epilogue[] =
"\n"
"At exit prints, like tcpdump, packets captured (written to the file), received\n"
"by filter and dropped by kernel (PACKET_STATISTICS summed over all sockets).\n"
"\n"
"Examples:\n"
"  ringcap -i eth1 -w all.pcap\n"
"  ringcap -i eth1 -w web.pcap -T 2 --duration 60 tcp port 443\n"
"  ringcap -i eth1 -w - -U | tcpdump -n -r -\n"
"  ringcap -i eth1 -w all.pcap -C 1g --compress zstd:3   (all.pcap.zst, ...)\n"
"  ringcap -i eth1 -w in.pcap -Q in -F web.filter\n"
"  ringcap -i br0 --arp 172.16.128.0-172.16.255.254 --arp 10.1.2.0/24@7\n"
"  ringcap -i br0 --arp 10.1.2.0/24 --ndp 2001:db8:1::/64\n"
"  ringcap -i tapA -i tapB --stats-json tap.json   (count a tap's two directions)\n";

static const char *const fanout_names[] = { "hash", "lb", "cpu", "qm", "rollover", NULL };
static const uint16_t fanout_modes[] = {
	PACKET_FANOUT_HASH | PACKET_FANOUT_FLAG_DEFRAG, PACKET_FANOUT_LB, PACKET_FANOUT_CPU,
	PACKET_FANOUT_QM, PACKET_FANOUT_ROLLOVER,
};
static const char *const precisions[] = { "micro", "nano", NULL };
static const char *const on_full[] = { "stop", "wait", NULL };
static const char *const writers[] = { "uring", "pwrite", NULL };
/* --format, in the order of enum writer_format */
static const char *const formats[] = { "pcap", "pcapng", NULL };
/* -Q, in the order of enum filter_direction */
static const char *const directions[] = { "inout", "in", "out", NULL };

/* A filter file larger than this is not an expression (libpcap's own limit on
 * a program is 4096 instructions). */
#define FILTER_FILE_MAX (1u << 20)

/* -i: repeatable, and a comma list (-i a,b); each a named interface, once. */
static const char *parse_iface(const char *arg, void *field)
{
	struct capture_config *o = field;
	const char *p = arg;

	do {
		size_t len = strcspn(p, ",");

		if (!len)
			return "empty interface name";
		if (len >= CAPTURE_IFNAMSIZ)
			return "name too long (at most 15 characters)";
		if (len == 3 && strncmp(p, "any", 3) == 0)
			return "'any' is not one interface: give each with -i";
		for (unsigned k = 0; k < o->nifaces; k++)
			if (strncmp(o->ifnames[k], p, len) == 0 && o->ifnames[k][len] == '\0')
				return "an interface given twice";
		if (o->nifaces == CAPTURE_MAX_IFACES)
			return "more than 16 interfaces";
		memcpy(o->ifnames[o->nifaces], p, len);
		o->ifnames[o->nifaces++][len] = '\0';
		p += len;
	} while (*p++ == ',');
	return NULL;
}

static const char *parse_fanout(const char *arg, void *field)
{
	struct capture_config *o = field;

	for (size_t i = 0; fanout_names[i]; i++) {
		if (strcmp(arg, fanout_names[i]) == 0) {
			o->fanout_mode = fanout_modes[i];
			o->fanout_name = fanout_names[i];
			return NULL;
		}
	}
	return "expected hash, lb, cpu, qm or rollover";
}

/* "zstd" or "zstd:LEVEL", LEVEL 1..19: --compress. */
static const char *parse_compress(const char *arg, void *field)
{
	struct capture_config *o = field;

	return writer_parse_compress(arg, &o->compress_level)
		       ? "expected zstd or zstd:LEVEL (LEVEL 1..19)" : NULL;
}

/* --workers elastic|fixed */
static const char *parse_workers(const char *arg, void *field)
{
	bool *fixed = field;

	if (strcmp(arg, "elastic") && strcmp(arg, "fixed"))
		return "expected elastic or fixed";
	*fixed = strcmp(arg, "fixed") == 0;
	return NULL;
}

/* "1", "0,2", "0-3": the CPUs to pin workers to. */
static const char *parse_cpus(const char *arg, void *field)
{
	long online = sysconf(_SC_NPROCESSORS_ONLN);
	struct capture_config *o = field;
	char buf[256], *tok, *save = NULL;

	if (strlen(arg) >= sizeof(buf))
		return "too long";
	strcpy(buf, arg);
	o->ncpus = 0;
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *dash = strchr(tok, '-');
		uint64_t a, b;

		if (dash)
			*dash = '\0';
		if (parse_u64(tok, 0, (uint64_t)online - 1, &a) ||
		    (dash && parse_u64(dash + 1, a, (uint64_t)online - 1, &b)))
			return "expected online CPU numbers like 1 or 0,2-3";
		if (!dash)
			b = a;
		for (uint64_t c = a; c <= b; c++) {
			if (o->ncpus == MAX_WORKERS)
				return "more than 64 CPUs";
			o->cpus[o->ncpus++] = (int)c;
		}
	}
	return o->ncpus ? NULL : "empty";
}

static const char *parse_user(const char *arg, void *field)
{
	if (!getpwnam(arg))
		return "no such user";
	*(const char **)field = arg;
	return NULL;
}

/* SIZE or N% */
static const char *parse_min_free(const char *arg, void *field)
{
	struct capture_config *o = field;
	size_t len = strlen(arg);
	uint64_t v;

	if (len > 1 && arg[len - 1] == '%') {
		char pct[16];

		if (len >= sizeof(pct))
			return "expected a size (2g) or a percentage (10%)";
		memcpy(pct, arg, len - 1);
		pct[len - 1] = '\0';
		if (parse_u64(pct, 1, 99, &v))
			return "expected a percentage from 1% to 99%";
		o->min_free_percent = (unsigned)v;
		return NULL;
	}
	if (parse_size(arg, 1, 1, UINT64_MAX, &o->min_free_bytes))
		return "expected a size (2g) or a percentage (10%)";
	return NULL;
}

/* Repeatable: each --arp adds a pool. */
static const char *parse_arp_pool(const char *arg, void *field)
{
	struct capture_config *o = field;
	int ret;

	if (o->npools == MAX_ARP_POOLS)
		return "too many pools (at most 64)";
	ret = arp_parse_pool(arg, &o->pools[o->npools]);
	if (ret == -ERANGE)
		return strchr(arg, '/') ? "host bits set in a CIDR block"
					: "inverted range (first address above last)";
	if (ret)
		return "expected A-B, A/len or A (IPv4), optionally @VID (0..4094)";
	o->npools++;
	return NULL;
}

/* Repeatable: each --ndp adds a pool. */
static const char *parse_ndp_pool(const char *arg, void *field)
{
	struct capture_config *o = field;
	int ret;

	if (o->nndp == MAX_NDP_POOLS)
		return "too many pools (at most 64)";
	ret = ndp_parse_pool(arg, &o->ndp_pools[o->nndp]);
	if (ret == -ERANGE)
		return strchr(arg, '/') ? "host bits set in a prefix"
					: "inverted range (first address above last)";
	if (ret)
		return "expected PREFIX/len, A-B or A (IPv6), optionally @VID (0..4094)";
	o->nndp++;
	return NULL;
}

static const char *parse_arp_mac(const char *arg, void *field)
{
	struct capture_config *o = field;

	if (parse_mac(arg, o->arp_mac))
		return "expected xx:xx:xx:xx:xx:xx";
	if (!mac_is_unicast(o->arp_mac))
		return "must be unicast (not multicast, broadcast or zero)";
	o->arp_mac_set = true;
	return NULL;
}

/*
 * -D: every interface, numbered in the order tcpdump -D numbers them, with the
 * link type ringcap writes for it and whether it is up. Looks at the
 * interfaces only (no capture, nothing created). 0, or 1 when the list
 * cannot be read.
 */
static int list_interfaces(FILE *f)
{
	struct if_nameindex *names = if_nameindex();
	unsigned n = 0;

	if (!names) {
		log_err("cannot list interfaces: %s", strerror(errno));
		return 1;
	}
	for (const struct if_nameindex *i = names; i->if_index; i++) {
		struct iface ifc;
		int ret = iface_lookup(i->if_name, &ifc);
		const char *lt;

		if (ret && ret != -ENETDOWN)
			continue; /* gone since the list was read */
		lt = filter_linktype_name(ifc.linktype);
		fprintf(f, "%u.%s [", ++n, i->if_name);
		if (lt)
			fputs(lt, f);
		else
			fprintf(f, "unsupported hardware type %u", ifc.type);
		fprintf(f, ", %s%s]\n", ifc.up ? "up" : "down", ifc.loopback ? ", loopback" : "");
	}
	if_freenameindex(names);
	return 0;
}

/*
 * -F: the expression from a file, as tcpdump reads it: '#' starts a comment
 * that runs to the end of the line. Line breaks and tabs become blanks, so
 * the error line that quotes the expression stays one line. The words of an
 * expression on the command line as well are an error: one or the other.
 * 0, or 2 with one line naming the file.
 */
static int read_filter_file(struct capture_config *o, const char *path, int nwords)
{
	bool comment = false;
	size_t len = 0;
	ssize_t n = 0;
	char *buf;
	int fd;

	if (nwords)
		return opt_bad("filter file", path, "an expression on the command line as well "
			       "(give one or the other)");
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return opt_bad("filter file", path, strerror(errno));
	buf = xcalloc(1, FILTER_FILE_MAX + 2);
	while (len <= FILTER_FILE_MAX &&
	       (n = read(fd, buf + len, FILTER_FILE_MAX + 1 - len)) != 0) {
		if (n < 0 && errno != EINTR)
			break;
		if (n > 0)
			len += (size_t)n;
	}
	if (n < 0 || len > FILTER_FILE_MAX) {
		const char *why = n < 0 ? strerror(errno) : "larger than 1 MiB";

		close(fd);
		xfree(buf);
		return opt_bad("filter file", path, why);
	}
	close(fd);
	for (size_t i = 0; i < len; i++) {
		if (buf[i] == '#')
			comment = true;
		else if (buf[i] == '\n')
			comment = false;
		if (comment || buf[i] == '\n' || buf[i] == '\r' || buf[i] == '\t')
			buf[i] = ' ';
	}
	o->expr = buf;
	return 0;
}

static void print_version(FILE *f)
{
	fprintf(f, "ringcap %s (%s)\n", RINGCAP_VERSION, alloc_name());
}

static void set_defaults(struct capture_config *o)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	memset(o, 0, sizeof(*o));
	o->snaplen = SNAPLEN_MAX;
	o->ring_bytes = 64ull << 20;
	o->block_size = 1u << 20;
	o->block_timeout_ms = 8;
	o->threads = cpus > 0 ? (unsigned)(cpus > MAX_WORKERS ? MAX_WORKERS : cpus) : 1;
	o->fanout_mode = PACKET_FANOUT_HASH | PACKET_FANOUT_FLAG_DEFRAG;
	o->fanout_name = "hash";
	o->direct = true;
	o->staging_bytes = 64ull << 20;
	o->compress_threads = 1;
	o->z_jobs = 2;
	o->flush_interval_ms = 1000;
	o->announce_rate = 1000;
	o->arp_priority = 10;
	o->arp_cpu = -1;
	o->arp_busy_poll_us = 50;
	o->userappl = "ringcap " RINGCAP_VERSION;
}

int cli_parse(struct capture_config *o, int argc, char **argv, bool *exit_now)
{
	long online = sysconf(_SC_NPROCESSORS_ONLN);
	const char *filter_file = NULL;
	bool list = false, format_given = false;
	const struct opt table[] = {
	{ .type = OPT_SECTION, .help = "\nCapture:" },
	{ .name = "interface", .letter = 'i', .type = OPT_CUSTOM, .field = o, .parse = parse_iface,
	  .what = "interface", .arg = "IFACE",
	  .help = "interface to capture on (required); repeat it or\n"
		  "give a list (-i a,b) for several at once, e.g. a\n"
		  "tap's two directions: each its own sockets, one\n"
		  "time order (no -w: counted only)" },
	{ .name = "snaplen", .letter = 's', .type = OPT_U64, OPT_INT(&o->snaplen), .max = SNAPLEN_MAX,
	  .what = "snaplen", .arg = "N", .help = "bytes kept per packet, 1..262144 (0 or default:\n262144)" },
	{ .name = "list-interfaces", .letter = 'D', .type = OPT_FLAG, .field = &list,
	  .help = "list the interfaces (number, name, link type, up or\n"
		  "down) and exit" },
	{ .name = "filter-file", .letter = 'F', .type = OPT_STRING, .field = &filter_file,
	  .min = 1, .what = "filter file", .why = "empty name", .arg = "FILE",
	  .help = "read the filter expression from FILE ('#' starts a\n"
		  "comment to the end of the line); no expression\n"
		  "words then" },
	{ .name = "direction", .letter = 'Q', .type = OPT_CHOICE, OPT_INT(&o->direction),
	  .choices = directions, .what = "direction", .why = "expected in, out or inout",
	  .arg = "DIR", .help = "in|out|inout: keep only the packets IFACE received,\n"
			       "only those it sent, or both (default inout)" },
	{ .name = "count", .letter = 'c', .type = OPT_U64, OPT_INT(&o->count), .min = 1,
	  .max = UINT64_MAX, .what = "count", .why = "expected a whole number >= 1", .arg = "N",
	  .help = "stop after writing N packets" },
	{ .name = "duration", .type = OPT_DURATION, .field = &o->duration_ns, .what = "duration",
	  .why = "expected seconds > 0, e.g. 10, 2.5, 500ms, 30m, 2h, 1d", .arg = "S",
	  .help = "stop after S seconds (e.g. 10, 2.5, 500ms, 30m, 2h,\n1d)" },
	{ .name = "threads", .letter = 'T', .type = OPT_U64, OPT_INT(&o->threads), .min = 1,
	  .max = MAX_WORKERS, .given = &o->threads_set, .what = "thread count", .arg = "N",
	  .help = "workers, one socket each, pinned one per CPU\n"
		  "(default: online CPUs, or as many as --cpus lists);\n"
		  "per interface: with several the default is shared;\n"
		  "elastic: at most N receive" },
	{ .name = "workers", .type = OPT_CUSTOM, .field = &o->workers_fixed,
	  .parse = parse_workers, .what = "worker mode", .arg = "MODE",
	  .help = "elastic: start with one receiving socket, add\n"
		  "sockets up to -T when the workers fall behind,\n"
		  "retire them when quiet (default); fixed: all -T\n"
		  "receive from the start" },
	{ .name = "cpus", .type = OPT_CUSTOM, .field = o, .parse = parse_cpus, .what = "CPU list",
	  .arg = "LIST", .help = "pin workers to these CPUs in turn, e.g. 1 or 0,2-3" },
	{ .name = "buffer-size", .letter = 'B', .type = OPT_SIZE, OPT_INT(&o->ring_bytes),
	  .scale = 1024, .min = 256 << 10, .max = 64ull << 30, .what = "buffer size",
	  .why = "expected KiB (or a size like 64m), 256..67108864 KiB", .arg = "KIB",
	  .help = "ring size per worker in KiB (default 65536 = 64 MiB)" },
	{ .name = "block-size", .type = OPT_SIZE, OPT_INT(&o->block_size), .min = 64 << 10,
	  .max = 64 << 20, .flags = OPT_POW2, .what = "block size",
	  .why = "expected a power of two from 64k to 64m", .arg = "SIZE",
	  .help = "ring block size, power of two, 64k..64m (default 1m)" },
	{ .name = "block-timeout", .type = OPT_U64, OPT_INT(&o->block_timeout_ms), .min = 1,
	  .max = 1000, .what = "block timeout", .why = "expected 1..1000 ms", .arg = "MS",
	  .help = "retire a partly filled block after MS ms, 1..1000\n(default 8)" },
	{ .name = "immediate-mode", .type = OPT_FLAG, .field = &o->immediate,
	  .help = "packets reach the file at once: blocks are retired\n"
		  "after 1 ms (whatever --block-timeout says) and\n"
		  "written out after each one (-U)" },
	{ .name = "fanout", .type = OPT_CUSTOM, .field = o, .parse = parse_fanout,
	  .what = "fanout mode", .arg = "MODE",
	  .help = "hash|lb|cpu|qm|rollover (default hash, with defrag)" },
	{ .name = "no-promiscuous-mode", .letter = 'p', .type = OPT_FLAG, .field = &o->no_promisc,
	  .help = "do not put IFACE into promiscuous mode (by default\n"
		  "capturing with -w does, as tcpdump; ARP answering\nalone never does)" },
	{ .type = OPT_SECTION, .help = "\nFiles:" },
	{ .name = "write", .letter = 'w', .type = OPT_STRING, .field = &o->path, .min = 1,
	  .what = "output file", .why = "empty name", .arg = "FILE",
	  .help = "pcap savefile to write (required unless --arp);\n"
		  "- writes the pcap stream to standard output" },
	{ .name = "file-size", .letter = 'C', .type = OPT_SIZE, OPT_INT(&o->rotate_bytes),
	  .scale = 1000000, .min = 64 << 10, .max = 1ull << 50, .what = "file size",
	  .why = "expected millions of bytes or a size, >= 64k", .arg = "N",
	  .help = "start a new file before one passes N million bytes\n"
		  "(or a size: 512k, 100m, 2g); files FILE, FILE1, ..." },
	{ .name = "rotate-seconds", .letter = 'G', .type = OPT_DURATION, .field = &o->rotate_ns,
	  .min = 1000000000ull, .what = "rotation interval",
	  .why = "expected seconds >= 1, e.g. 3600, 30m, 1d",
	  .arg = "S", .help = "start a new file every S seconds; FILE may hold\n"
			     "strftime conversions (%Y%m%d-%H%M%S)" },
	{ .name = "file-count", .letter = 'W', .type = OPT_U64, OPT_INT(&o->max_files), .min = 1,
	  .max = 1000000, .what = "file count", .arg = "N",
	  .help = "with -C: reuse N names (FILE0..), overwriting the\n"
		  "oldest; with -G alone: stop after N files" },
	{ .name = "time-precision", .type = OPT_CHOICE, OPT_INT(&o->nano), .choices = precisions,
	  .what = "time precision", .why = "expected micro or nano", .arg = "P",
	  .help = "micro|nano timestamps in the file (default micro)" },
	{ .name = "format", .type = OPT_CHOICE, OPT_INT(&o->format), .choices = formats,
	  .given = &format_given, .what = "format", .why = "expected pcap or pcapng", .arg = "F",
	  .help = "pcap|pcapng: the files' format (default pcap, or\n"
		  "pcapng when the -w name ends in .pcapng); pcapng\n"
		  "files get no ringcap-read index from ringcap" },
	{ .name = "postrotate-command", .letter = 'z', .type = OPT_STRING, .field = &o->z_cmd,
	  .min = 1, .what = "-z command", .why = "empty", .arg = "CMD",
	  .help = "after each file is closed run CMD FILE in the\n"
		  "background (as the -Z user), e.g. -z gzip" },
	{ .name = "z-jobs", .type = OPT_U64, OPT_INT(&o->z_jobs), .min = 1, .max = 64,
	  .what = "-z job count", .arg = "N",
	  .help = "at most N -z commands at once, the others wait (2)" },
	{ .name = "min-free", .type = OPT_CUSTOM, .field = o, .parse = parse_min_free,
	  .what = "free space", .arg = "SIZE|N%",
	  .help = "keep that much of the capture file system free by\n"
		  "deleting this capture's oldest closed files" },
	{ .name = "max-total", .type = OPT_SIZE, OPT_INT(&o->max_total_bytes), .min = 1 << 20,
	  .max = UINT64_MAX, .what = "total size", .why = "expected a size of 1m or more (e.g. 500g)",
	  .arg = "SIZE", .help = "keep this capture's files under SIZE in all, the same\n"
				"way (both rotate at 1 GB without -C or -G)" },
	{ .name = "on-full", .type = OPT_CHOICE, OPT_INT(&o->on_full_wait), .choices = on_full,
	  .what = "--on-full", .why = "expected stop or wait", .arg = "stop|wait",
	  .help = "on a full disk (ENOSPC, EDQUOT, EIO): stop, the files\n"
		  "cut at their last whole record (stop, the default);\n"
		  "or keep capturing, count what is not written and go\n"
		  "on in a new file when there is room (wait; rotates\n"
		  "at 1 GB without -C or -G)" },
	{ .name = "no-index", .type = OPT_FLAG, .field = &o->no_index,
	  .help = "no ringcap-read index (.FILE.ridx) beside each file\n"
		  "when it is closed (ringcap-read then builds it)" },
	{ .name = "index-postings", .type = OPT_FLAG, .field = &o->index_postings,
	  .help = "the index also lists the records of each host, port\n"
		  "and IP protocol, so selective ringcap-read queries read\n"
		  "only those (the default)" },
	{ .name = "no-index-postings", .type = OPT_FLAG, .field = &o->no_index_postings,
	  .help = "no such lists: the index keeps its time and address\n"
		  "summary and ringcap-read reads each chunk it needs whole\n"
		  "(saves the appending thread about 10 ns per packet)" },
	{ .name = "relinquish-privileges", .letter = 'Z', .type = OPT_CUSTOM, .field = &o->user,
	  .parse = parse_user, .what = "user", .arg = "USER",
	  .help = "after opening the sockets and the first file, run\n"
		  "as USER (and its groups); later files (-C, -G) are\ncreated as USER" },
	{ .type = OPT_SECTION, .help = "\nWriter:" },
	{ .name = "flush-interval", .type = OPT_U64, OPT_INT(&o->flush_interval_ms), .max = 3600000,
	  .what = "flush interval", .why = "expected 0..3600000 ms (0: off)", .arg = "MS",
	  .help = "write out the records of a partly filled chunk\n"
		  "every MS ms, so readers of the live file see them\n"
		  "(default 1000; 0: only whole 1 MiB chunks)" },
	{ .name = "packet-buffered", .letter = 'U', .type = OPT_FLAG, .field = &o->packet_buffered,
	  .help = "write out after every ring block, as tcpdump -U" },
	{ .name = "writer", .type = OPT_CHOICE, OPT_INT(&o->use_pwrite), .choices = writers,
	  .what = "writer", .why = "expected uring or pwrite", .arg = "W",
	  .help = "uring|pwrite (default uring; pwrite if refused)" },
	{ .name = "no-direct", .type = OPT_CLEAR, .field = &o->direct,
	  .help = "do not open the file with O_DIRECT" },
	{ .name = "staging", .type = OPT_SIZE, OPT_INT(&o->staging_bytes), .min = 4 << 20,
	  .max = 4ull << 30, .what = "staging size", .why = "expected 4m..4g", .arg = "SIZE",
	  .help = "staging memory for the writer (default 64m)" },
	{ .name = "compress", .type = OPT_CUSTOM, .field = o, .parse = parse_compress,
	  .what = "compression", .arg = "zstd[:L]",
	  .help = "write FILE.zst: each 1 MiB chunk a zstd frame, level\n"
		  "L 1..19 (default 1), compressed off the capture\n"
		  "path; a chunk it has no time for is stored raw" },
	{ .name = "compress-threads", .type = OPT_U64, OPT_INT(&o->compress_threads), .min = 1,
	  .max = 8, .what = "compression threads", .why = "expected 1..8", .arg = "N",
	  .help = "threads compressing chunks with --compress (1)" },
	{ .type = OPT_SECTION, .help = "\nCounters:" },
	{ .name = "stats-json", .type = OPT_STRING, .field = &o->stats_json, .arg = "FILE",
	  .help = "the counters as JSON, replaced atomically at exit\n(and every --stats-interval)" },
	{ .name = "stats-prom", .type = OPT_STRING, .field = &o->stats_prom, .arg = "FILE",
	  .help = "the counters for node_exporter's textfile collector\n"
		  "(Prometheus text format), every --stats-interval or\n15 s, and at exit" },
	{ .name = "metrics", .type = OPT_STRING, .field = &o->stats_prom, .arg = "FILE",
	  .help = "the same as --stats-prom" },
	{ .name = "stats-interval", .type = OPT_DURATION, .field = &o->stats_interval_ns,
	  .min = 1000000000ull, .what = "stats interval",
	  .why = "expected seconds >= 1, e.g. 10, 1m, 1h", .arg = "S",
	  .help = "one line of rates and totals on stderr every S\n"
		  "seconds (>= 1), and the stats files rewritten" },
	{ .type = OPT_SECTION, .help = "\nARP and NDP answering:" },
	{ .name = "arp", .type = OPT_CUSTOM, .field = o, .parse = parse_arp_pool, .what = "ARP pool",
	  .arg = "POOL[@VID]", .help = "answer ARP requests for POOL: A-B, A/len or A;\n"
				      "@VID: only on that VLAN (@0: untagged only);\nrepeatable" },
	{ .name = "ndp", .type = OPT_CUSTOM, .field = o, .parse = parse_ndp_pool, .what = "NDP pool",
	  .arg = "POOL[@VID]", .help = "answer IPv6 neighbor solicitations for POOL:\n"
				      "PREFIX/len, A-B or A; repeatable" },
	{ .name = "arp-mac", .type = OPT_CUSTOM, .field = o, .parse = parse_arp_mac,
	  .what = "MAC address", .arg = "MAC",
	  .help = "unicast hardware address in replies (default: IFACE's)" },
	{ .name = "arp-allow-own", .type = OPT_FLAG, .field = &o->arp_allow_own,
	  .help = "answer for pools that hold IFACE's own addresses" },
	{ .name = "arp-announce", .type = OPT_FLAG, .field = &o->arp_announce,
	  .help = "at start, announce every pool address once\n"
		  "(gratuitous ARP; unsolicited NA for --ndp)" },
	{ .name = "announce-rate", .type = OPT_U64, OPT_INT(&o->announce_rate), .min = 1,
	  .max = 1000000, .what = "announce rate", .why = "expected 1..1000000 per second",
	  .arg = "N", .help = "announcements per second, 1..1000000 (default 1000)" },
	{ .name = "arp-priority", .type = OPT_U64, OPT_INT(&o->arp_priority), .max = 99,
	  .what = "ARP priority", .why = "expected 0..99 (0: normal scheduling)", .arg = "N",
	  .help = "the responder thread's SCHED_FIFO priority, 1..99;\n"
		  "0: normal scheduling (default 10)" },
	{ .name = "arp-cpu", .type = OPT_U64, OPT_INT(&o->arp_cpu),
	  .max = online > 0 ? (uint64_t)online - 1 : 0, .what = "ARP CPU",
	  .why = "expected an online CPU number", .arg = "N",
	  .help = "pin the responder thread to CPU N (default: unpinned)" },
	{ .name = "arp-busy-poll", .type = OPT_U64, OPT_INT(&o->arp_busy_poll_us),
	  .max = ARP_BUSY_POLL_MAX_US, .what = "ARP busy-poll time",
	  .why = "expected 0..1000 microseconds", .arg = "USEC",
	  .help = "under a flood, keep checking for requests this long\n"
		  "after the last before sleeping, 0..1000 (default 50;\n0: always sleep)" },
	{ .type = OPT_SECTION, .help = "\nOther:" },
	{ .name = "quiet", .letter = 'q', .type = OPT_FLAG, .field = &o->quiet,
	  .help = "no start-up banner" },
	{ .name = "version", .type = OPT_PRINT, .print = print_version, .help = "the version" },
	};
	const struct opt_prog prog = { .synopsis = synopsis, .epilogue = epilogue, .opts = table,
				       .nopts = ARRAY_SIZE(table) };
	struct opt_end end;
	int ret;

	set_defaults(o);
	ret = opt_parse(&prog, argc, argv, &end);
	*exit_now = end.exit_now;
	if (ret || end.exit_now)
		return ret;
	if (list) { /* as tcpdump -D: whatever else the command line says */
		*exit_now = true;
		return list_interfaces(stdout);
	}
	if (!format_given && o->nifaces > 1)
		o->format = WRITER_PCAPNG;
	else if (!format_given)
		cli_format_from_name(o);
	if (filter_file)
		ret = read_filter_file(o, filter_file, argc - end.words);
	else if (end.words < argc)
		o->expr = opt_join_words(argc - end.words, argv + end.words);
	return ret ? ret : cli_check_combination(o);
}

void cli_free(struct capture_config *o)
{
	xfree(o->expr);
	o->expr = NULL;
}
