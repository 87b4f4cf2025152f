#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <pwd.h>
#include <linux/if_packet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "util/util.h"

enum {
	OPT_BLOCK_SIZE = 256,
	OPT_BLOCK_TIMEOUT,
	OPT_FANOUT,
	OPT_TIME_PRECISION,
	OPT_DURATION,
	OPT_STATS_JSON,
	OPT_STATS_PROM,
	OPT_NO_INDEX,
	OPT_Z_JOBS,
	OPT_MIN_FREE,
	OPT_MAX_TOTAL,
	OPT_ON_FULL,
	OPT_STATS_INTERVAL,
	OPT_WRITER,
	OPT_NO_DIRECT,
	OPT_STAGING,
	OPT_ARP,
	OPT_ARP_MAC,
	OPT_NDP,
	OPT_ARP_ALLOW_OWN,
	OPT_ARP_ANNOUNCE,
	OPT_ANNOUNCE_RATE,
	OPT_ARP_PRIORITY,
	OPT_ARP_CPU,
	OPT_ARP_BUSY_POLL,
	OPT_VERSION,
	OPT_CPUS,
	OPT_FLUSH_INTERVAL,
};

static const struct option long_opts[] = {
	{ "interface", required_argument, NULL, 'i' },
	{ "write", required_argument, NULL, 'w' },
	{ "snaplen", required_argument, NULL, 's' },
	{ "count", required_argument, NULL, 'c' },
	{ "file-size", required_argument, NULL, 'C' },
	{ "rotate-seconds", required_argument, NULL, 'G' },
	{ "file-count", required_argument, NULL, 'W' },
	{ "buffer-size", required_argument, NULL, 'B' },
	{ "threads", required_argument, NULL, 'T' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "no-promiscuous-mode", no_argument, NULL, 'p' },
	{ "relinquish-privileges", required_argument, NULL, 'Z' },
	{ "help", no_argument, NULL, 'h' },
	{ "block-size", required_argument, NULL, OPT_BLOCK_SIZE },
	{ "block-timeout", required_argument, NULL, OPT_BLOCK_TIMEOUT },
	{ "fanout", required_argument, NULL, OPT_FANOUT },
	{ "time-precision", required_argument, NULL, OPT_TIME_PRECISION },
	{ "duration", required_argument, NULL, OPT_DURATION },
	{ "stats-json", required_argument, NULL, OPT_STATS_JSON },
	{ "stats-prom", required_argument, NULL, OPT_STATS_PROM },
	{ "metrics", required_argument, NULL, OPT_STATS_PROM },
	{ "no-index", no_argument, NULL, OPT_NO_INDEX },
	{ "postrotate-command", required_argument, NULL, 'z' },
	{ "z-jobs", required_argument, NULL, OPT_Z_JOBS },
	{ "min-free", required_argument, NULL, OPT_MIN_FREE },
	{ "max-total", required_argument, NULL, OPT_MAX_TOTAL },
	{ "on-full", required_argument, NULL, OPT_ON_FULL },
	{ "stats-interval", required_argument, NULL, OPT_STATS_INTERVAL },
	{ "writer", required_argument, NULL, OPT_WRITER },
	{ "no-direct", no_argument, NULL, OPT_NO_DIRECT },
	{ "staging", required_argument, NULL, OPT_STAGING },
	{ "arp", required_argument, NULL, OPT_ARP },
	{ "arp-mac", required_argument, NULL, OPT_ARP_MAC },
	{ "ndp", required_argument, NULL, OPT_NDP },
	{ "arp-allow-own", no_argument, NULL, OPT_ARP_ALLOW_OWN },
	{ "arp-announce", no_argument, NULL, OPT_ARP_ANNOUNCE },
	{ "announce-rate", required_argument, NULL, OPT_ANNOUNCE_RATE },
	{ "arp-priority", required_argument, NULL, OPT_ARP_PRIORITY },
	{ "arp-cpu", required_argument, NULL, OPT_ARP_CPU },
	{ "arp-busy-poll", required_argument, NULL, OPT_ARP_BUSY_POLL },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ "cpus", required_argument, NULL, OPT_CPUS },
	{ "flush-interval", required_argument, NULL, OPT_FLUSH_INTERVAL },
	{ "packet-buffered", no_argument, NULL, 'U' },
	{ NULL, 0, NULL, 0 },
};

static void usage(FILE *f)
{
	fprintf(f,
"Usage: ringcap -i IFACE [-w FILE] [options] [filter expression ...]\n"
"Capture packets on IFACE with per-CPU TPACKET_V3 rings in one fanout group and\n"
"write them to a pcap savefile through io_uring; optionally answer ARP for pools.\n"
"\n"
"  -i, --interface IFACE    interface to capture on (required)\n"
"  -w, --write FILE         pcap savefile to write (required unless --arp);\n"
"                           - writes the pcap stream to standard output\n"
"  -s, --snaplen N          bytes kept per packet, 1..262144 (0 or default: 262144)\n"
"  -c, --count N            stop after writing N packets\n"
"  -C, --file-size N        start a new file before one passes N million bytes\n"
"                           (or a size: 512k, 100m, 2g); files FILE, FILE1, ...\n"
"  -G, --rotate-seconds S   start a new file every S seconds; FILE may hold\n"
"                           strftime conversions (%%Y%%m%%d-%%H%%M%%S)\n"
"  -W, --file-count N       with -C: reuse N names (FILE0..), overwriting the\n"
"                           oldest; with -G alone: stop after N files\n"
"  -B, --buffer-size KIB    ring size per worker in KiB (default 65536 = 64 MiB)\n"
"      --block-size SIZE    ring block size, power of two, 64k..64m (default 1m)\n"
"      --block-timeout MS   retire a partly filled block after MS ms, 1..1000\n"
"                           (default 8)\n"
"  -T, --threads N          workers, one socket each, pinned one per CPU\n"
"                           (default: online CPUs, or as many as --cpus lists)\n"
"      --cpus LIST          pin workers to these CPUs in turn, e.g. 1 or 0,2-3\n"
"      --fanout MODE        hash|lb|cpu|qm|rollover (default hash, with defrag)\n"
"      --time-precision P   micro|nano timestamps in the file (default micro)\n"
"      --duration S         stop after S seconds (e.g. 10, 2.5, 500ms, 1m)\n"
"      --stats-json FILE    the counters as JSON, replaced atomically at exit\n"
"                           (and every --stats-interval)\n"
"  -z, --postrotate-command CMD\n"
"                           after each file is closed run CMD FILE in the\n"
"                           background (as the -Z user), e.g. -z gzip\n"
"      --z-jobs N           at most N -z commands at once, the others wait (2)\n"
"      --min-free SIZE|N%%  keep that much of the capture file system free by\n"
"                           deleting this capture's oldest closed files\n"
"      --max-total SIZE     keep this capture's files under SIZE in all, the same\n"
"                           way (both rotate at 1 GB without -C or -G)\n"
"      --on-full stop|wait  on a full disk (ENOSPC, EDQUOT, EIO): stop, the files\n"
"                           cut at their last whole record (stop, the default);\n"
"                           or keep capturing, count what is not written and go\n"
"                           on in a new file when there is room (wait; rotates\n"
"                           at 1 GB without -C or -G)\n"
"      --no-index           no ringcap-read index (.FILE.ridx) beside each file\n"
"                           when it is closed (ringcap-read then builds it)\n"
"      --stats-prom FILE, --metrics FILE\n"
"                           the counters for node_exporter's textfile collector\n"
"                           (Prometheus text format), every --stats-interval or\n"
"                           15 s, and at exit\n"
"      --stats-interval S   one line of rates and totals on stderr every S\n"
"                           seconds (>= 1), and the stats files rewritten\n"
"      --flush-interval MS  write out the records of a partly filled chunk\n"
"                           every MS ms, so readers of the live file see them\n"
"                           (default 1000; 0: only whole 1 MiB chunks)\n"
"  -U, --packet-buffered    write out after every ring block, as tcpdump -U\n"
"      --writer W           uring|pwrite (default uring; pwrite if refused)\n"
"      --no-direct          do not open the file with O_DIRECT\n"
"      --staging SIZE       staging memory for the writer (default 64m)\n"
"      --arp POOL[@VID]     answer ARP requests for POOL: A-B, A/len or A;\n"
"                           @VID: only on that VLAN (@0: untagged only);\n"
"                           repeatable\n"
"      --ndp POOL[@VID]     answer IPv6 neighbor solicitations for POOL:\n"
"                           PREFIX/len, A-B or A; repeatable\n"
"      --arp-mac MAC        unicast hardware address in replies (default: IFACE's)\n"
"      --arp-allow-own      answer for pools that hold IFACE's own addresses\n"
"      --arp-announce       at start, announce every pool address once\n"
"                           (gratuitous ARP; unsolicited NA for --ndp)\n"
"      --announce-rate N    announcements per second, 1..1000000 (default 1000)\n"
"      --arp-priority N     the responder thread's SCHED_FIFO priority, 1..99;\n"
"                           0: normal scheduling (default 10)\n"
"      --arp-cpu N          pin the responder thread to CPU N (default: unpinned)\n"
"      --arp-busy-poll USEC under a flood, keep checking for requests this long\n"
"                           after the last before sleeping, 0..1000 (default 50;\n"
"                           0: always sleep)\n"
"  -Z, --relinquish-privileges USER\n"
"                           after opening the sockets and the first file, run\n"
"                           as USER (and its groups); later files (-C, -G) are\n"
"                           created as USER\n"
"  -p, --no-promiscuous-mode\n"
"                           do not put IFACE into promiscuous mode (by default\n"
"                           capturing with -w does, as tcpdump; ARP answering\n"
"                           alone never does)\n"
"  -q, --quiet              no start-up banner\n"
"  -h, --help               this text;   --version  the version\n"
"\n"
"At exit prints, like tcpdump, packets captured (written to the file), received\n"
"by filter and dropped by kernel (PACKET_STATISTICS summed over all sockets).\n"
"\n"
"Examples:\n"
"  ringcap -i eth1 -w all.pcap\n"
"  ringcap -i eth1 -w web.pcap -T 2 --duration 60 tcp port 443\n"
"  ringcap -i eth1 -w - -U | tcpdump -n -r -\n"
"  ringcap -i br0 --arp 172.16.128.0-172.16.255.254 --arp 10.1.2.0/24@7\n"
"  ringcap -i br0 --arp 10.1.2.0/24 --ndp 2001:db8:1::/64\n");
}

static int bad(const char *what, const char *value, const char *why)
{
	log_err("bad %s '%s': %s", what, value, why);
	return 2;
}

static int parse_fanout(struct capture_config *o, const char *s)
{
	static const struct { const char *name; uint16_t mode; } modes[] = {
		{ "hash", PACKET_FANOUT_HASH | PACKET_FANOUT_FLAG_DEFRAG },
		{ "lb", PACKET_FANOUT_LB },
		{ "cpu", PACKET_FANOUT_CPU },
		{ "qm", PACKET_FANOUT_QM },
		{ "rollover", PACKET_FANOUT_ROLLOVER },
	};

	for (size_t i = 0; i < ARRAY_SIZE(modes); i++) {
		if (strcmp(s, modes[i].name) == 0) {
			o->fanout_mode = modes[i].mode;
			o->fanout_name = modes[i].name;
			return 0;
		}
	}
	return bad("fanout mode", s, "expected hash, lb, cpu, qm or rollover");
}

/* "1", "0,2", "0-3": the CPUs to pin workers to. */
static int parse_cpus(struct capture_config *o, const char *arg)
{
	long online = sysconf(_SC_NPROCESSORS_ONLN);
	char buf[256], *tok, *save = NULL;

	if (strlen(arg) >= sizeof(buf))
		return bad("CPU list", arg, "too long");
	strcpy(buf, arg);
	o->ncpus = 0;
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *dash = strchr(tok, '-');
		uint64_t a, b;

		if (dash)
			*dash = '\0';
		if (parse_u64(tok, 0, (uint64_t)online - 1, &a) ||
		    (dash && parse_u64(dash + 1, a, (uint64_t)online - 1, &b)))
			return bad("CPU list", arg, "expected online CPU numbers like 1 or 0,2-3");
		if (!dash)
			b = a;
		for (uint64_t c = a; c <= b; c++) {
			if (o->ncpus == MAX_WORKERS)
				return bad("CPU list", arg, "more than 64 CPUs");
			o->cpus[o->ncpus++] = (int)c;
		}
	}
	if (!o->ncpus)
		return bad("CPU list", arg, "empty");
	return 0;
}

/* `p` with its folder resolved ("./x", "d/../x" and "x" are one name), in out. */
static bool resolve_name(const char *p, char out[PATH_MAX])
{
	char dir[PATH_MAX], real[PATH_MAX];
	const char *slash = strrchr(p, '/');
	const char *base = slash ? slash + 1 : p;

	if (strlen(p) >= sizeof(dir))
		return false;
	path_dir(p, dir, sizeof(dir));
	if (!realpath(dir, real))
		return false;
	return snprintf(out, PATH_MAX, "%s/%s", real, base) < PATH_MAX;
}

/* One file under two names: the same resolved name, or (when both exist) the
 * same inode, a hard or symbolic link. */
static bool same_file(const char *a, const char *b)
{
	char ra[PATH_MAX], rb[PATH_MAX];
	struct stat sa, sb;

	if (strcmp(a, b) == 0)
		return true;
	if (resolve_name(a, ra) && resolve_name(b, rb) && strcmp(ra, rb) == 0)
		return true;
	return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
	       sa.st_ino == sb.st_ino;
}

static char *join_args(int argc, char **argv)
{
	size_t len = 1;
	char *s;

	for (int i = 0; i < argc; i++)
		len += strlen(argv[i]) + 1;
	s = xcalloc(1, len);
	for (int i = 0; i < argc; i++) {
		if (i)
			strcat(s, " ");
		strcat(s, argv[i]);
	}
	return s;
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
	o->z_jobs = 2;
	o->flush_interval_ms = 1000;
	o->announce_rate = 1000;
	o->arp_priority = 10;
	o->arp_cpu = -1;
	o->arp_busy_poll_us = 50;
}

static int parse_one(struct capture_config *o, int opt, const char *arg)
{
	uint64_t v;
	int ret;

	switch (opt) {
	case 'i':
		o->ifname = arg;
		return 0;
	case 'w':
		if (!*arg)
			return bad("output file", arg, "empty name");
		o->path = arg;
		return 0;
	case 's':
		if (parse_u64(arg, 0, SNAPLEN_MAX, &v))
			return bad("snaplen", arg, "expected 0..262144");
		o->snaplen = v ? (uint32_t)v : SNAPLEN_MAX;
		return 0;
	case 'c':
		if (parse_u64(arg, 1, UINT64_MAX, &o->count))
			return bad("count", arg, "expected a whole number >= 1");
		return 0;
	case 'C':
		if (parse_size(arg, 1000000, 64 << 10, 1ull << 50, &o->rotate_bytes))
			return bad("file size", arg, "expected millions of bytes or a size, >= 64k");
		return 0;
	case 'G':
		if (parse_duration_ns(arg, &o->rotate_ns) || o->rotate_ns < 1000000000ull)
			return bad("rotation interval", arg, "expected seconds >= 1");
		return 0;
	case 'W':
		if (parse_u64(arg, 1, 1000000, &v))
			return bad("file count", arg, "expected 1..1000000");
		o->max_files = (unsigned)v;
		return 0;
	case 'B':
		if (parse_size(arg, 1024, 256 << 10, 64ull << 30, &o->ring_bytes))
			return bad("buffer size", arg, "expected KiB (or a size like 64m), 256..67108864 KiB");
		return 0;
	case 'T':
		if (parse_u64(arg, 1, MAX_WORKERS, &v))
			return bad("thread count", arg, "expected 1..64");
		o->threads = (unsigned)v;
		o->threads_set = true;
		return 0;
	case OPT_CPUS:
		return parse_cpus(o, arg);
	case 'q':
		o->quiet = true;
		return 0;
	case 'p':
		o->no_promisc = true;
		return 0;
	case 'U':
		o->packet_buffered = true;
		return 0;
	case OPT_FLUSH_INTERVAL:
		if (parse_u64(arg, 0, 3600000, &v))
			return bad("flush interval", arg, "expected 0..3600000 ms (0: off)");
		o->flush_interval_ms = (uint32_t)v;
		return 0;
	case 'Z':
		if (!getpwnam(arg))
			return bad("user", arg, "no such user");
		o->user = arg;
		return 0;
	case OPT_BLOCK_SIZE:
		if (parse_size(arg, 1, 64 << 10, 64 << 20, &v) || (v & (v - 1)))
			return bad("block size", arg, "expected a power of two from 64k to 64m");
		o->block_size = (uint32_t)v;
		return 0;
	case OPT_BLOCK_TIMEOUT:
		if (parse_u64(arg, 1, 1000, &v))
			return bad("block timeout", arg, "expected 1..1000 ms");
		o->block_timeout_ms = (uint32_t)v;
		return 0;
	case OPT_FANOUT:
		return parse_fanout(o, arg);
	case OPT_TIME_PRECISION:
		if (strcmp(arg, "micro") && strcmp(arg, "nano"))
			return bad("time precision", arg, "expected micro or nano");
		o->nano = strcmp(arg, "nano") == 0;
		return 0;
	case OPT_DURATION:
		if (parse_duration_ns(arg, &o->duration_ns) || !o->duration_ns)
			return bad("duration", arg, "expected seconds > 0, e.g. 10, 2.5, 500ms, 1m");
		return 0;
	case OPT_STATS_JSON:
		o->stats_json = arg;
		return 0;
	case OPT_STATS_PROM:
		o->stats_prom = arg;
		return 0;
	case OPT_NO_INDEX:
		o->no_index = true;
		return 0;
	case 'z':
		if (!*arg)
			return bad("-z command", arg, "empty");
		o->z_cmd = arg;
		return 0;
	case OPT_Z_JOBS:
		if (parse_u64(arg, 1, 64, &v))
			return bad("-z job count", arg, "expected 1..64");
		o->z_jobs = (unsigned)v;
		return 0;
	case OPT_MIN_FREE: {
		size_t len = strlen(arg);

		if (len > 1 && arg[len - 1] == '%') {
			char pct[16];

			if (len >= sizeof(pct))
				return bad("free space", arg, "expected a size (2g) or a percentage (10%)");
			memcpy(pct, arg, len - 1);
			pct[len - 1] = '\0';
			if (parse_u64(pct, 1, 99, &v))
				return bad("free space", arg, "expected a percentage from 1% to 99%");
			o->min_free_percent = (unsigned)v;
			return 0;
		}
		if (parse_size(arg, 1, 1, UINT64_MAX, &o->min_free_bytes))
			return bad("free space", arg, "expected a size (2g) or a percentage (10%)");
		return 0;
	}
	case OPT_MAX_TOTAL:
		if (parse_size(arg, 1, 1ull << 20, UINT64_MAX, &o->max_total_bytes))
			return bad("total size", arg, "expected a size of 1m or more (e.g. 500g)");
		return 0;
	case OPT_ON_FULL:
		if (strcmp(arg, "stop") && strcmp(arg, "wait"))
			return bad("--on-full", arg, "expected stop or wait");
		o->on_full_wait = strcmp(arg, "wait") == 0;
		return 0;
	case OPT_STATS_INTERVAL:
		if (parse_duration_ns(arg, &o->stats_interval_ns) ||
		    o->stats_interval_ns < 1000000000ull)
			return bad("stats interval", arg, "expected seconds >= 1, e.g. 10, 1m");
		return 0;
	case OPT_WRITER:
		if (strcmp(arg, "uring") && strcmp(arg, "pwrite"))
			return bad("writer", arg, "expected uring or pwrite");
		o->use_pwrite = strcmp(arg, "pwrite") == 0;
		return 0;
	case OPT_NO_DIRECT:
		o->direct = false;
		return 0;
	case OPT_STAGING:
		if (parse_size(arg, 1, 4 << 20, 4ull << 30, &o->staging_bytes))
			return bad("staging size", arg, "expected 4m..4g");
		return 0;
	case OPT_ARP:
		if (o->npools == MAX_ARP_POOLS)
			return bad("ARP pool", arg, "too many pools (at most 64)");
		ret = arp_parse_pool(arg, &o->pools[o->npools]);
		if (ret == -ERANGE)
			return bad("ARP pool", arg,
				   strchr(arg, '/') ? "host bits set in a CIDR block"
						    : "inverted range (first address above last)");
		if (ret)
			return bad("ARP pool", arg, "expected A-B, A/len or A (IPv4), optionally @VID (0..4094)");
		o->npools++;
		return 0;
	case OPT_NDP:
		if (o->nndp == MAX_NDP_POOLS)
			return bad("NDP pool", arg, "too many pools (at most 64)");
		ret = ndp_parse_pool(arg, &o->ndp_pools[o->nndp]);
		if (ret == -ERANGE)
			return bad("NDP pool", arg,
				   strchr(arg, '/') ? "host bits set in a prefix"
						    : "inverted range (first address above last)");
		if (ret)
			return bad("NDP pool", arg,
				   "expected PREFIX/len, A-B or A (IPv6), optionally @VID (0..4094)");
		o->nndp++;
		return 0;
	case OPT_ARP_MAC:
		if (parse_mac(arg, o->arp_mac))
			return bad("MAC address", arg, "expected xx:xx:xx:xx:xx:xx");
		if (!mac_is_unicast(o->arp_mac))
			return bad("MAC address", arg, "must be unicast (not multicast, broadcast or zero)");
		o->arp_mac_set = true;
		return 0;
	case OPT_ARP_PRIORITY:
		if (parse_u64(arg, 0, 99, &v))
			return bad("ARP priority", arg, "expected 0..99 (0: normal scheduling)");
		o->arp_priority = (int)v;
		return 0;
	case OPT_ARP_CPU: {
		long online = sysconf(_SC_NPROCESSORS_ONLN);

		if (parse_u64(arg, 0, online > 0 ? (uint64_t)online - 1 : 0, &v))
			return bad("ARP CPU", arg, "expected an online CPU number");
		o->arp_cpu = (int)v;
		return 0;
	}
	case OPT_ARP_BUSY_POLL:
		if (parse_u64(arg, 0, ARP_BUSY_POLL_MAX_US, &v))
			return bad("ARP busy-poll time", arg, "expected 0..1000 microseconds");
		o->arp_busy_poll_us = (uint32_t)v;
		return 0;
	case OPT_ARP_ALLOW_OWN:
		o->arp_allow_own = true;
		return 0;
	case OPT_ARP_ANNOUNCE:
		o->arp_announce = true;
		return 0;
	case OPT_ANNOUNCE_RATE:
		if (parse_u64(arg, 1, 1000000, &v))
			return bad("announce rate", arg, "expected 1..1000000 per second");
		o->announce_rate = (uint32_t)v;
		return 0;
	default:
		return 2;
	}
}

int cli_parse(struct capture_config *o, int argc, char **argv, bool *exit_now)
{
	int opt, ret;

	set_defaults(o);
	*exit_now = false;
	optind = 0; /* 0, not 1: glibc then forgets the previous argv entirely */
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "+i:w:s:c:C:G:W:B:T:Z:z:pqUh", long_opts, NULL)) != -1) {
		if (opt == 'h') {
			usage(stdout);
			*exit_now = true;
			return 0;
		}
		if (opt == OPT_VERSION) {
			printf("ringcap %s (%s)\n", RINGCAP_VERSION, alloc_name());
			*exit_now = true;
			return 0;
		}
		if (opt == '?' || opt == ':') {
			/* optopt is a letter for short options, our enum for long ones */
			bool letter = optopt > 0 && optopt < 128;
			char shortname[3] = { '-', (char)(letter ? optopt : 0), 0 };
			const char *name = letter ? shortname : argv[optind - 1];
			bool needs = (letter && strchr("iwscCGWBTZz", optopt)) || optopt >= OPT_BLOCK_SIZE;

			log_err("bad option '%s'%s (see --help)", name, needs ? ": needs a value" : "");
			return 2;
		}
		ret = parse_one(o, opt, optarg);
		if (ret)
			return ret;
	}
	if (optind < argc)
		o->expr = join_args(argc - optind, argv + optind);

	if (!o->ifname) {
		log_err("no interface: -i IFACE is required (see --help)");
		return 2;
	}
	if (!o->path && !o->npools && !o->nndp) {
		log_err("nothing to do: give -w FILE, --arp POOL, --ndp POOL, or both (see --help)");
		return 2;
	}
	if (o->path && strcmp(o->path, "-") == 0 && (o->rotate_bytes || o->rotate_ns || o->max_files)) {
		log_err("bad output file '-': standard output is one stream, -C, -G and -W "
			"need files");
		return 2;
	}
	if (o->stats_json && o->path && same_file(o->stats_json, o->path)) {
		log_err("bad stats file '%s': it is the capture file", o->stats_json);
		return 2;
	}
	if (o->stats_prom && o->path && same_file(o->stats_prom, o->path)) {
		log_err("bad stats file '%s': it is the capture file", o->stats_prom);
		return 2;
	}
	if ((o->rotate_bytes || o->rotate_ns || o->max_files) && !o->path) {
		log_err("-C, -G and -W need -w FILE");
		return 2;
	}
	if (o->max_files == 1 && o->rotate_bytes) {
		log_err("bad file count '1': with -C there would be one name, and the next file "
			"would overwrite the current one; use -W 2 or more");
		return 2;
	}
	if ((o->z_cmd || o->min_free_bytes || o->min_free_percent || o->max_total_bytes ||
	     o->on_full_wait) && (!o->path || strcmp(o->path, "-") == 0)) {
		log_err("-z, --min-free, --max-total and --on-full wait need -w FILE (files, "
			"not a stream)");
		return 2;
	}
	/* Retention deletes closed files, and --on-full wait resumes in a new
	 * one: without rotation there would be one name. */
	if ((o->min_free_bytes || o->min_free_percent || o->max_total_bytes || o->on_full_wait) &&
	    !o->rotate_bytes && !o->rotate_ns)
		o->rotate_bytes = RETENTION_DEFAULT_FILE_BYTES;
	if (o->max_files && !o->rotate_bytes && !o->rotate_ns) {
		log_err("bad file count '%u': -W needs -C or -G", o->max_files);
		return 2;
	}
	/* Answering alone opens no capture ring and no writer. */
	if (o->path && o->ring_bytes < 4ull * o->block_size) {
		log_err("bad buffer size '%llu KiB': must hold at least 4 blocks of %u bytes",
			(unsigned long long)(o->ring_bytes >> 10), o->block_size);
		return 2;
	}
	if (o->path && o->staging_bytes < 4ull * o->block_size) {
		log_err("bad staging size '%llu': must hold at least 4 blocks of %u bytes",
			(unsigned long long)o->staging_bytes, o->block_size);
		return 2;
	}
	if (o->ncpus && !o->threads_set)
		o->threads = o->ncpus;
	return 0;
}

void cli_free(struct capture_config *o)
{
	xfree(o->expr);
	o->expr = NULL;
}
