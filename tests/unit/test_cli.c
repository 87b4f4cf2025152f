/*
 * cli_parse and arp_parse_pool on good and bad command lines: defaults, every
 * validated flag with a bad value (return 2, one line on stderr naming the
 * value), the filter expression's words wherever the options stand among
 * them and after "--", ARP pools, and repeated calls (getopt state must not
 * leak from one call into the next).
 */
#include <errno.h>
#include <linux/if_packet.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "writer/writer.h"
#include "unit.h"

#define MAXARGS 32

static char out_text[4096]; /* what the last parse printed on stderr (and stdout) */

struct argv_copy {
	int argc;
	char *argv[MAXARGS + 1];
};

/* cli_parse keeps pointers into argv: the copy lives until the caller frees it. */
static void args_copy(struct argv_copy *a, const char *const *args)
{
	a->argc = 0;
	for (; *args && a->argc < MAXARGS; args++)
		a->argv[a->argc++] = strdup(*args);
	a->argv[a->argc] = NULL;
}

static void args_free(struct argv_copy *a)
{
	for (int i = 0; i < a->argc; i++)
		free(a->argv[i]);
	a->argc = 0;
}

/* Run cli_parse with stdout and stderr captured into out_text. */
static int parse_captured(struct capture_config *o, struct argv_copy *a, bool *exit_now)
{
	FILE *tmp = tmpfile();
	int saved_out, saved_err, ret;
	size_t n;

	if (!tmp) {
		perror("tmpfile");
		exit(1);
	}
	fflush(stdout);
	fflush(stderr);
	saved_out = dup(1);
	saved_err = dup(2);
	dup2(fileno(tmp), 1);
	dup2(fileno(tmp), 2);
	ret = cli_parse(o, a->argc, a->argv, exit_now);
	fflush(stdout);
	fflush(stderr);
	dup2(saved_out, 1);
	dup2(saved_err, 2);
	close(saved_out);
	close(saved_err);
	rewind(tmp);
	n = fread(out_text, 1, sizeof(out_text) - 1, tmp);
	out_text[n] = '\0';
	fclose(tmp);
	return ret;
}

/*
 * Every argv copy lives until the end of the test: cli_parse keeps pointers
 * into argv, and so may glibc's getopt between calls (its "next char" pointer)
 * — freeing a copy would turn a stale pointer into a use-after-free and make
 * unrelated parses fail in random ways.
 */
#define MAXPARSES 256
static struct argv_copy copies[MAXPARSES];
static unsigned ncopies;
static bool last_exit_now;

static struct argv_copy *new_copy(const char *const *args)
{
	if (ncopies == MAXPARSES) {
		fprintf(stderr, "too many parses\n");
		exit(1);
	}
	args_copy(&copies[ncopies], args);
	return &copies[ncopies++];
}

/* Parse args (a NULL-terminated list after "ringcap"). */
#define PARSE(o, ...) parse_list(o, (const char *const[]){ "ringcap", __VA_ARGS__, NULL })

static int parse_list(struct capture_config *o, const char *const *args)
{
	return parse_captured(o, new_copy(args), &last_exit_now);
}

/* A bad command line: returns 2, prints one line naming `value` (if given). */
static void expect_bad(const char *const *args, const char *value)
{
	struct argv_copy *a = new_copy(args);
	struct capture_config o;
	char line[256] = "";
	int ret;

	for (int i = 1; i < a->argc; i++) {
		strncat(line, " ", sizeof(line) - strlen(line) - 1);
		strncat(line, a->argv[i], sizeof(line) - strlen(line) - 1);
	}
	ret = parse_captured(&o, a, &last_exit_now);
	CHECK(ret == 2, "'%s': cli_parse = %d, want 2", line, ret);
	CHECK(!last_exit_now, "'%s': exit_now set", line);
	CHECK(out_text[0] != '\0', "'%s': nothing printed", line);
	CHECK(strchr(out_text, '\n') == out_text + strlen(out_text) - 1,
	      "'%s': not exactly one line: %s", line, out_text);
	if (value)
		CHECK(strstr(out_text, value) != NULL, "'%s': message does not name '%s': %s", line,
		      value, out_text);
	cli_free(&o);
}

#define BAD(value, ...) expect_bad((const char *const[]){ "ringcap", __VA_ARGS__, NULL }, value)

static void test_defaults(void)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	struct capture_config o;
	int ret;

	ret = PARSE(&o, "-i", "eth0", "-w", "out.pcap");
	CHECK(ret == 0 && !last_exit_now, "defaults: %d %s", ret, out_text);
	CHECK(o.nifaces == 1 && strcmp(o.ifnames[0], "eth0") == 0, "ifname %s", o.ifnames[0]);
	CHECK(o.path && strcmp(o.path, "out.pcap") == 0, "path %s", o.path);
	CHECK_EQ(o.snaplen, 262144);
	CHECK_EQ(o.threads, cpus > 64 ? 64 : cpus);
	CHECK_EQ(o.fanout_mode, PACKET_FANOUT_HASH | PACKET_FANOUT_FLAG_DEFRAG);
	CHECK(o.fanout_name && strcmp(o.fanout_name, "hash") == 0, "fanout %s", o.fanout_name);
	CHECK_EQ(o.block_timeout_ms, 8);
	CHECK_EQ(o.block_size, 1u << 20);
	CHECK_EQ(o.ring_bytes, 64ull << 20);
	CHECK_EQ(o.count, 0);
	CHECK(!o.workers_fixed, "elastic workers by default");
	CHECK_EQ(o.duration_ns, 0);
	CHECK_EQ(o.npools, 0);
	CHECK(o.expr == NULL, "expr '%s' without trailing arguments", o.expr);
	CHECK(!o.nano && !o.quiet && !o.use_pwrite && o.direct && !o.arp_mac_set,
	      "flags nano %d quiet %d pwrite %d direct %d arp_mac_set %d", o.nano, o.quiet,
	      o.use_pwrite, o.direct, o.arp_mac_set);
	CHECK(out_text[0] == '\0', "a good parse printed: %s", out_text);
	CHECK(o.flush_interval_ms == 1000 && !o.packet_buffered, "flush %u ms, -U %d",
	      o.flush_interval_ms, o.packet_buffered);
	CHECK(!o.no_index && !o.no_index_postings, "index %d, postings %d by default", !o.no_index,
	      !o.no_index_postings);
	cli_free(&o);
	ret = PARSE(&o, "-i", "eth0", "-w", "out.pcap", "--no-index-postings");
	CHECK(ret == 0 && o.no_index_postings && !o.no_index, "--no-index-postings: %d", ret);
	cli_free(&o);

	/* --arp: -w is optional; the capture's block timeout stays 8 ms (ARP has
	 * a TPACKET_V2 ring of its own) */
	ret = PARSE(&o, "-i", "eth0", "--arp", "10.0.0.1");
	CHECK(ret == 0, "--arp without -w: %d %s", ret, out_text);
	CHECK_EQ(o.block_timeout_ms, 8);
	CHECK_EQ(o.announce_rate, 1000);
	CHECK_EQ(o.arp_priority, 10);
	CHECK(o.arp_cpu == -1, "--arp-cpu default %d", o.arp_cpu);
	CHECK(!o.arp_allow_own && !o.arp_announce && o.nndp == 0, "ARP flags set by default");
	CHECK_EQ(o.npools, 1);
	CHECK(o.path == NULL, "path set");
	cli_free(&o);

	/* ... unless given */
	ret = PARSE(&o, "-i", "eth0", "--arp", "10.0.0.1", "--block-timeout", "5", "-w", "x");
	CHECK(ret == 0 && o.block_timeout_ms == 5, "--arp --block-timeout 5: %d, %u", ret,
	      o.block_timeout_ms);
	cli_free(&o);
	ret = PARSE(&o, "-i", "eth0", "-w", "x", "--block-timeout", "20");
	CHECK(ret == 0 && o.block_timeout_ms == 20, "--block-timeout 20: %d, %u", ret,
	      o.block_timeout_ms);
	cli_free(&o);
}

static void test_good_values(void)
{
	struct capture_config o;
	int ret;

	ret = PARSE(&o, "-i", "eth0", "-w", "x", "-s", "0");
	CHECK(ret == 0 && o.snaplen == 262144, "-s 0: %d, %u", ret, o.snaplen);
	ret = PARSE(&o, "-i", "eth0", "-w", "x", "-s", "96");
	CHECK(ret == 0 && o.snaplen == 96, "-s 96: %d, %u", ret, o.snaplen);
	ret = PARSE(&o, "-i", "eth0", "-w", "x", "--snaplen", "262144");
	CHECK(ret == 0 && o.snaplen == 262144, "--snaplen 262144: %d, %u", ret, o.snaplen);
	ret = PARSE(&o, "-i", "eth0", "-w", "x", "-c", "5", "-T", "3", "-q");
	CHECK(ret == 0 && o.count == 5 && o.threads == 3 && o.quiet, "-c 5 -T 3 -q: %d", ret);
	ret = PARSE(&o, "-i", "eth0", "-w", "x", "-B", "65536");
	CHECK(ret == 0 && o.ring_bytes == 64ull << 20, "-B 65536: %d %llu", ret,
	      (unsigned long long)o.ring_bytes);
	/* Answering alone opens no capture ring: -B is not held against it. */
	ret = PARSE(&o, "-i", "lo", "-B", "1024", "--arp", "10.0.0.1");
	CHECK(ret == 0 && o.ring_bytes == 1024 * 1024 && o.block_size == 1024 * 1024,
	      "-B 1024 --arp: %d %s", ret, out_text);
	ret = PARSE(&o, "-i", "eth0", "--ndp", "2001:2::/64@7", "--ndp", "2001:2:1::1-2001:2:1::9",
		    "--arp-allow-own", "--arp-announce", "--announce-rate", "50");
	CHECK(ret == 0 && o.nndp == 2 && o.ndp_pools[0].vid == 7 && o.arp_allow_own &&
		      o.arp_announce && o.announce_rate == 50,
	      "--ndp, --arp-allow-own, --arp-announce: %d %s", ret, out_text);
	ret = PARSE(&o, "-i", "eth0", "--arp", "10.0.0.0/24@0");
	CHECK(ret == 0 && o.pools[0].vid == 0, "--arp @0: %d %s", ret, out_text);
	ret = PARSE(&o, "-i", "eth0", "-w", "x", "-B", "1g");
	CHECK(ret == 0 && o.ring_bytes == 1ull << 30, "-B 1g: %d", ret);
	ret = PARSE(&o, "-i", "eth0", "-w", "x", "--block-size", "64k");
	CHECK(ret == 0 && o.block_size == 65536, "--block-size 64k: %d", ret);
	ret = PARSE(&o, "-i", "eth0", "-w", "x", "--block-size", "4m");
	CHECK(ret == 0 && o.block_size == 4u << 20, "--block-size 4m: %d", ret);
	ret = PARSE(&o, "-i", "eth0", "-w", "x", "--fanout", "lb");
	CHECK(ret == 0 && o.fanout_mode == PACKET_FANOUT_LB && strcmp(o.fanout_name, "lb") == 0,
	      "--fanout lb: %d %#x", ret, o.fanout_mode);
	ret = PARSE(&o, "-i", "eth0", "-w", "x", "--fanout", "cpu");
	CHECK(ret == 0 && o.fanout_mode == PACKET_FANOUT_CPU, "--fanout cpu: %d", ret);
	ret = PARSE(&o, "-i", "eth0", "-w", "x", "-T", "4", "--workers", "fixed");
	CHECK(ret == 0 && o.workers_fixed && o.threads == 4, "--workers fixed: %d", ret);
	ret = PARSE(&o, "-i", "eth0", "-w", "x", "--workers", "elastic");
	CHECK(ret == 0 && !o.workers_fixed, "--workers elastic: %d", ret);
	ret = PARSE(&o, "-i", "eth0", "-w", "x", "--duration", "2.5");
	CHECK(ret == 0 && o.duration_ns == 2500000000ull, "--duration 2.5: %d %llu", ret,
	      (unsigned long long)o.duration_ns);
	ret = PARSE(&o, "-i", "eth0", "-w", "x", "--duration", "500ms");
	CHECK(ret == 0 && o.duration_ns == 500000000ull, "--duration 500ms: %d", ret);
	ret = PARSE(&o, "-i", "eth0", "-w", "x", "--duration", "1m");
	CHECK(ret == 0 && o.duration_ns == 60000000000ull, "--duration 1m: %d", ret);
	ret = PARSE(&o, "-i", "eth0", "-w", "x", "--time-precision", "nano", "--writer", "pwrite",
		    "--no-direct");
	CHECK(ret == 0 && o.nano && o.use_pwrite && !o.direct, "nano/pwrite/no-direct: %d", ret);
	ret = PARSE(&o, "-i", "eth0", "-w", "x", "--arp-mac", "02:00:0a:0B:fe:ff");
	CHECK(ret == 0 && o.arp_mac_set &&
		      memcmp(o.arp_mac, (uint8_t[]){ 2, 0, 10, 11, 0xfe, 0xff }, 6) == 0,
	      "--arp-mac: %d", ret);
	ret = PARSE(&o, "-i", "eth0", "--arp", "10.0.0.0-10.0.0.255", "--arp", "10.1.2.0/24");
	CHECK(ret == 0 && o.npools == 2 && o.pools[1].first == 0x0a010200u &&
		      o.pools[1].last == 0x0a0102ffu,
	      "two pools: %d %u", ret, o.npools);

	ret = PARSE(&o, "-i", "eth0", "-w", "-", "-U", "--flush-interval", "0");
	CHECK(ret == 0 && strcmp(o.path, "-") == 0 && o.packet_buffered && o.flush_interval_ms == 0,
	      "-w - -U --flush-interval 0: %d %s", ret, out_text);
	ret = PARSE(&o, "-i", "eth0", "-w", "x", "--compress", "zstd");
	CHECK(ret == 0 && o.compress_level == 1 && o.compress_threads == 1, "--compress zstd: %d",
	      ret);
	ret = PARSE(&o, "-i", "eth0", "-w", "x", "--compress", "zstd:19", "--compress-threads", "8");
	CHECK(ret == 0 && o.compress_level == 19 && o.compress_threads == 8,
	      "--compress zstd:19 --compress-threads 8: %d", ret);
	ret = PARSE(&o, "-i", "eth0", "-w", "x");
	CHECK(ret == 0 && o.compress_level == 0, "no --compress: level %d", o.compress_level);
	ret = PARSE(&o, "-i", "eth0", "-w", "x", "--packet-buffered", "--flush-interval", "250");
	CHECK(ret == 0 && o.packet_buffered && o.flush_interval_ms == 250,
	      "--packet-buffered --flush-interval 250: %d", ret);

	/* trailing arguments are the filter expression */
	ret = PARSE(&o, "-i", "eth0", "-w", "x", "tcp", "port", "80");
	CHECK(ret == 0 && o.expr && strcmp(o.expr, "tcp port 80") == 0, "expr '%s'", o.expr);
	cli_free(&o);
	CHECK(o.expr == NULL, "cli_free left expr");
	cli_free(&o);
	ret = PARSE(&o, "-i", "eth0", "-w", "x", "udp and not port 53");
	CHECK(ret == 0 && o.expr && strcmp(o.expr, "udp and not port 53") == 0, "expr '%s'",
	      o.expr);
	cli_free(&o);
}

static void test_bad_values(void)
{
	BAD("300000", "-i", "eth0", "-w", "x", "-s", "300000");
	BAD("'1'", "-i", "eth0", "-w", "x", "-C", "1", "-W", "1");
	BAD("later", "-i", "eth0", "-w", "x", "--on-full", "later");
	BAD("stream", "-i", "eth0", "-w", "-", "--on-full", "wait");
	BAD("-1", "-i", "eth0", "-w", "x", "-s", "-1");
	BAD("--index-postings", "-i", "eth0", "-w", "x", "--no-index", "--index-postings");
	BAD("--index-postings", "-i", "eth0", "-w", "-", "--index-postings");
	BAD("--index-postings", "-i", "eth0", "--arp", "198.18.0.9", "--index-postings");
	BAD("--no-index-postings", "-i", "eth0", "-w", "x", "--index-postings", "--no-index-postings");
	BAD("12ab", "-i", "eth0", "-w", "x", "--snaplen", "12ab");
	BAD("'0'", "-i", "eth0", "-w", "x", "-c", "0");
	BAD("'x'", "-i", "eth0", "-w", "x", "-c", "x");
	BAD("'10'", "-i", "eth0", "-w", "x", "-B", "10");
	BAD("10q", "-i", "eth0", "-w", "x", "-B", "10q");
	BAD("256", "-i", "eth0", "-w", "x", "-B", "256"); /* < 4 blocks of 1 MiB */
	BAD("100k", "-i", "eth0", "-w", "x", "--block-size", "100k");
	BAD("32k", "-i", "eth0", "-w", "x", "--block-size", "32k");
	BAD("128m", "-i", "eth0", "-w", "x", "--block-size", "128m");
	BAD("banana", "-i", "eth0", "-w", "x", "--fanout", "banana");
	BAD("HASH", "-i", "eth0", "-w", "x", "--fanout", "HASH");
	BAD("expected elastic or fixed", "-i", "eth0", "-w", "x", "--workers", "some");
	BAD("'0'", "-i", "eth0", "-w", "x", "--duration", "0");
	BAD("soon", "-i", "eth0", "-w", "x", "--duration", "soon");
	BAD("-5", "-i", "eth0", "-w", "x", "--duration", "-5");
	BAD("10x", "-i", "eth0", "-w", "x", "--duration", "10x");
	BAD("'0'", "-i", "eth0", "-w", "x", "-T", "0");
	BAD("65", "-i", "eth0", "-w", "x", "-T", "65");
	BAD("0", "-i", "eth0", "-w", "x", "--block-timeout", "0");
	BAD("pico", "-i", "eth0", "-w", "x", "--time-precision", "pico");
	BAD("aio", "-i", "eth0", "-w", "x", "--writer", "aio");
	BAD("1m", "-i", "eth0", "-w", "x", "--staging", "1m");
	BAD("gzip", "-i", "eth0", "-w", "x", "--compress", "gzip");
	BAD("zstd:0", "-i", "eth0", "-w", "x", "--compress", "zstd:0");
	BAD("zstd:20", "-i", "eth0", "-w", "x", "--compress", "zstd:20");
	BAD("zstd:", "-i", "eth0", "-w", "x", "--compress", "zstd:");
	BAD("zstd:3x", "-i", "eth0", "-w", "x", "--compress", "zstd:3x");
	BAD("zstdx", "-i", "eth0", "-w", "x", "--compress", "zstdx");
	BAD("'0'", "-i", "eth0", "-w", "x", "--compress", "zstd", "--compress-threads", "0");
	BAD("'9'", "-i", "eth0", "-w", "x", "--compress", "zstd", "--compress-threads", "9");
	BAD("02:00:00:00:00", "-i", "eth0", "--arp", "10.0.0.1", "--arp-mac", "02:00:00:00:00");
	BAD("zz:00:00:00:00:01", "-i", "eth0", "--arp", "10.0.0.1", "--arp-mac",
	    "zz:00:00:00:00:01");
	BAD("02-00-00-00-00-01", "-i", "eth0", "--arp", "10.0.0.1", "--arp-mac",
	    "02-00-00-00-00-01");
	BAD("ff:ff:ff:ff:ff:ff", "-i", "eth0", "--arp", "10.0.0.1", "--arp-mac", "ff:ff:ff:ff:ff:ff");
	BAD("01:00:5e:00:00:01", "-i", "eth0", "--arp", "10.0.0.1", "--arp-mac", "01:00:5e:00:00:01");
	BAD("00:00:00:00:00:00", "-i", "eth0", "--arp", "10.0.0.1", "--arp-mac", "00:00:00:00:00:00");
	BAD("10.0.0.0/24@4095", "-i", "eth0", "--arp", "10.0.0.0/24@4095");
	BAD("10.0.0.1@", "-i", "eth0", "--arp", "10.0.0.1@");
	BAD("2001:2::1/64", "-i", "eth0", "--ndp", "2001:2::1/64");
	BAD("2001:2::9-2001:2::1", "-i", "eth0", "--ndp", "2001:2::9-2001:2::1");
	BAD("10.0.0.1", "-i", "eth0", "--ndp", "10.0.0.1");
	BAD("0", "-i", "eth0", "--arp", "10.0.0.1", "--announce-rate", "0");
	BAD("100", "-i", "eth0", "--arp", "10.0.0.1", "--arp-priority", "100");
	BAD("4096", "-i", "eth0", "--arp", "10.0.0.1", "--arp-cpu", "4096");
	BAD("10.1.2.3/24", "-i", "eth0", "--arp", "10.1.2.3/24");
	BAD("10.0.0.9-10.0.0.1", "-i", "eth0", "--arp", "10.0.0.9-10.0.0.1");
	BAD("300.1.1.1", "-i", "eth0", "--arp", "300.1.1.1");
	BAD(NULL, "-i", "eth0", "-w", "");
	BAD("soon", "-i", "eth0", "-w", "x", "--flush-interval", "soon");
	BAD("-1", "-i", "eth0", "-w", "x", "--flush-interval", "-1");
	BAD("'-'", "-i", "eth0", "-w", "-", "-C", "1");
	BAD("'-'", "-i", "eth0", "-w", "-", "-G", "5");
	/* missing pieces */
	BAD("-i", "-w", "x");
	BAD("-w", "-i", "eth0");
	BAD(NULL, "-i", "eth0", "-q");
	/* unknown options and missing values */
	BAD("--bogus", "-i", "eth0", "-w", "x", "--bogus");
	BAD("-x", "-i", "eth0", "-w", "x", "-x");
	BAD("-s", "-i", "eth0", "-w", "x", "-s");
	BAD("--block-size", "-i", "eth0", "-w", "x", "--block-size");
}

/* One command line, options before, between and after the expression's words:
 * one parse. */
static void expect_words(const char *const *args, const char *expr)
{
	struct argv_copy *a = new_copy(args);
	struct capture_config o;
	int ret = parse_captured(&o, a, &last_exit_now);

	CHECK(ret == 0, "'%s ...': cli_parse = %d: %s", args[1], ret, out_text);
	CHECK(o.expr && strcmp(o.expr, expr) == 0, "'%s ...': expr '%s', want '%s'", args[1],
	      o.expr ? o.expr : "(none)", expr);
	CHECK(o.nifaces == 1 && strcmp(o.ifnames[0], "eth0") == 0 && o.path && strcmp(o.path, "x") == 0 &&
		      o.count == 1 && o.quiet,
	      "'%s ...': -i %s -w %s -c %llu -q %d", args[1], o.ifnames[0], o.path,
	      (unsigned long long)o.count, o.quiet);
	cli_free(&o);
}

#define WORDS(expr, ...) expect_words((const char *const[]){ "ringcap", __VA_ARGS__, NULL }, expr)

static void test_words(void)
{
	struct capture_config o;
	int ret;

	WORDS("tcp port 80", "-i", "eth0", "-w", "x", "-c", "1", "-q", "tcp", "port", "80");
	WORDS("tcp port 80", "tcp", "port", "80", "-i", "eth0", "-w", "x", "-c", "1", "-q");
	WORDS("tcp port 80", "-i", "eth0", "tcp", "-w", "x", "port", "-qc", "1", "80");
	WORDS("tcp port 80", "-i", "eth0", "-w", "x", "tcp", "--count", "1", "port", "80", "-q");
	WORDS("tcp", "-i", "eth0", "-w", "x", "tcp", "-c", "1", "-q");
	/* "--" ends the options: what follows is filter text, dashes and all */
	WORDS("tcp -c 2 --quiet", "-i", "eth0", "-w", "x", "-c", "1", "-q", "tcp", "--", "-c", "2",
	      "--quiet");
	WORDS("tcp port 80", "-i", "eth0", "-w", "x", "-c", "1", "-q", "--", "tcp", "port", "80");
	WORDS("tcp -- port", "-i", "eth0", "-w", "x", "-c", "1", "-q", "tcp", "--", "--", "port");
	/* "--" as an option's value is that value */
	ret = PARSE(&o, "-i", "eth0", "-w", "--", "tcp");
	CHECK(ret == 0 && o.path && strcmp(o.path, "--") == 0 && o.expr && strcmp(o.expr, "tcp") == 0,
	      "-w -- tcp: %d path %s expr %s", ret, o.path, o.expr);
	cli_free(&o);
	ret = PARSE(&o, "-i", "eth0", "-w", "x", "tcp", "--");
	CHECK(ret == 0 && o.expr && strcmp(o.expr, "tcp") == 0, "tcp --: %d expr %s", ret, o.expr);
	cli_free(&o);
	/* after "--", -w is no option: nothing to do */
	BAD("nothing to do", "-i", "eth0", "--", "-w", "x");
	/* an option after the expression is checked as any other */
	BAD("'0'", "-i", "eth0", "-w", "x", "tcp", "-c", "0");
	BAD("--bogus", "-i", "eth0", "-w", "x", "tcp", "--bogus");
}

static void test_help_version(void)
{
	struct capture_config o;
	int ret;

	ret = PARSE(&o, "--help");
	CHECK(ret == 0 && last_exit_now && strstr(out_text, "Usage") != NULL,
	      "--help: %d exit_now %d", ret, last_exit_now);
	ret = PARSE(&o, "-i", "eth0", "-h");
	CHECK(ret == 0 && last_exit_now, "-h: %d exit_now %d", ret, last_exit_now);
	ret = PARSE(&o, "--version");
	CHECK(ret == 0 && last_exit_now && strstr(out_text, RINGCAP_VERSION) != NULL,
	      "--version: %d exit_now %d", ret, last_exit_now);
	/* exit_now is cleared by the next parse */
	ret = PARSE(&o, "-i", "eth0", "-w", "x");
	CHECK(ret == 0 && !last_exit_now, "after --version: %d exit_now %d", ret, last_exit_now);
}

/* getopt keeps state between calls; cli_parse must start afresh each time. */
static void test_repeated_calls(void)
{
	struct capture_config o;
	int ret;

	/* a long parse leaves optind far along; a short one after it must work */
	ret = PARSE(&o, "-i", "eth0", "-w", "x", "-c", "5", "-T", "2", "-s", "100", "-q");
	CHECK(ret == 0 && o.count == 5, "long parse: %d", ret);
	ret = PARSE(&o, "-i", "eth1", "-w", "y");
	CHECK(ret == 0 && strcmp(o.ifnames[0], "eth1") == 0 && o.count == 0 && o.snaplen == 262144 &&
		      !o.quiet,
	      "short parse after a long one: %d %s", ret, out_text);

	/* a failure in the middle, then a good line */
	BAD("'0'", "-i", "eth0", "-w", "x", "-c", "0", "-T", "2");
	ret = PARSE(&o, "-w", "z", "-i", "eth2");
	CHECK(ret == 0 && strcmp(o.ifnames[0], "eth2") == 0, "after a failure: %d %s", ret, out_text);

	/* clustered short options */
	ret = PARSE(&o, "-qi", "eth0", "-wx");
	CHECK(ret == 0 && o.quiet && strcmp(o.ifnames[0], "eth0") == 0 && strcmp(o.path, "x") == 0,
	      "-qi eth0 -wx: %d %s", ret, out_text);

	/* a parse that stops inside a cluster of short options ("-xq": -x is
	 * unknown; "-hq": help) must not leave the rest of the cluster for the
	 * next call to find */
	BAD("-x", "-i", "eth0", "-w", "x", "-xq");
	ret = PARSE(&o, "-i", "eth3", "-w", "x");
	CHECK(ret == 0, "good line after '-xq' failed: %d: %s", ret, out_text);
	CHECK(!o.quiet, "good line after '-xq' came out quiet");
	CHECK(o.nifaces == 1 && strcmp(o.ifnames[0], "eth3") == 0, "good line after '-xq': ifname %s",
	      o.ifnames[0]);
	cli_free(&o);

	ret = PARSE(&o, "-hq");
	CHECK(ret == 0 && last_exit_now, "-hq: %d", ret);
	ret = PARSE(&o, "-i", "eth4", "-w", "x");
	CHECK(ret == 0 && !o.quiet && o.nifaces == 1 && strcmp(o.ifnames[0], "eth4") == 0,
	      "good line after '-hq': %d quiet %d: %s", ret, o.quiet, out_text);
	cli_free(&o);
}

static void test_pools(void)
{
	static const struct {
		const char *s;
		int ret;
		uint32_t first, last;
	} cases[] = {
		{ "10.0.0.0-10.0.0.255", 0, 0x0a000000u, 0x0a0000ffu },
		{ "10.1.2.0/24", 0, 0x0a010200u, 0x0a0102ffu },
		{ "10.1.2.3", 0, 0x0a010203u, 0x0a010203u },
		{ "10.1.2.3/32", 0, 0x0a010203u, 0x0a010203u },
		{ "10.1.2.3-10.1.2.3", 0, 0x0a010203u, 0x0a010203u },
		{ "172.16.128.0-172.16.255.254", 0, 0xac108000u, 0xac10fffeu },
		{ "10.0.0.0/8", 0, 0x0a000000u, 0x0affffffu },
		{ "128.0.0.0/1", 0, 0x80000000u, 0xffffffffu },
		{ "0.0.0.0/0", 0, 0, 0xffffffffu },
		{ "10.1.2.3/24", -ERANGE, 0, 0 },
		{ "10.1.2.128/25", 0, 0x0a010280u, 0x0a0102ffu },
		{ "10.1.2.129/25", -ERANGE, 0, 0 },
		{ "10.1.2.3/0", -ERANGE, 0, 0 }, /* host bits set, as with /24 */
		{ "10.0.0.9-10.0.0.1", -ERANGE, 0, 0 },
		{ "10.0.0.1-", -EINVAL, 0, 0 },
		{ "-10.0.0.1", -EINVAL, 0, 0 },
		{ "300.1.1.1", -EINVAL, 0, 0 },
		{ "1.2.3.4/33", -1, 0, 0 },
		{ "1.2.3.4/", -EINVAL, 0, 0 },
		{ "1.2.3.4/-1", -EINVAL, 0, 0 },
		{ "1.2.3", -EINVAL, 0, 0 },
		{ "", -EINVAL, 0, 0 },
		{ "10.0.0.1 - 10.0.0.2", -EINVAL, 0, 0 },
		{ "10.0.0.1-10.0.0.2-10.0.0.3", -EINVAL, 0, 0 },
		{ "10.0.0.0/24/8", -EINVAL, 0, 0 },
		{ "10.0.0.1.10.0.0.1.10.0.0.1.10.0.0.1.10.0.0.1.10.0.0.1.10.0.0.1.10.0.0.1", -EINVAL,
		  0, 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct arp_pool_range r = { 0xdead, 0xbeef, 0 };
		int ret = arp_parse_pool(cases[i].s, &r);

		if (cases[i].ret == -1) /* any error */
			CHECK(ret < 0, "'%s': arp_parse_pool = %d, want an error", cases[i].s, ret);
		else
			CHECK(ret == cases[i].ret, "'%s': arp_parse_pool = %d, want %d", cases[i].s,
			      ret, cases[i].ret);
		if (ret == 0 && cases[i].ret == 0)
			CHECK(r.first == cases[i].first && r.last == cases[i].last,
			      "'%s': %08x..%08x, want %08x..%08x", cases[i].s, r.first, r.last,
			      cases[i].first, cases[i].last);
		if (ret == 0 && cases[i].ret != 0)
			fprintf(stderr, "  '%s' accepted as %08x..%08x\n", cases[i].s, r.first,
				r.last);
	}
}

/* Every duration option takes the units ringcap-read takes: 30m, 2h, 1d. */
static void test_duration_units(void)
{
	struct capture_config o;
	int ret;

	ret = PARSE(&o, "-i", "eth0", "-w", "x", "--duration", "1d");
	CHECK(ret == 0 && o.duration_ns == 86400000000000ull, "--duration 1d: %d %llu", ret,
	      (unsigned long long)o.duration_ns);
	ret = PARSE(&o, "-i", "eth0", "-w", "x", "--duration", "2h");
	CHECK(ret == 0 && o.duration_ns == 7200000000000ull, "--duration 2h: %d", ret);
	ret = PARSE(&o, "-i", "eth0", "-w", "x", "--duration", "30m");
	CHECK(ret == 0 && o.duration_ns == 1800000000000ull, "--duration 30m: %d", ret);
	ret = PARSE(&o, "-i", "eth0", "-w", "x", "--duration", "0.5d");
	CHECK(ret == 0 && o.duration_ns == 43200000000000ull, "--duration 0.5d: %d", ret);
	ret = PARSE(&o, "-i", "eth0", "-w", "x", "-G", "1d");
	CHECK(ret == 0 && o.rotate_ns == 86400000000000ull, "-G 1d: %d", ret);
	ret = PARSE(&o, "-i", "eth0", "-w", "x", "--stats-interval", "1h");
	CHECK(ret == 0 && o.stats_interval_ns == 3600000000000ull, "--stats-interval 1h: %d", ret);
	BAD("1w", "-i", "eth0", "-w", "x", "--duration", "1w");
	BAD("1dd", "-i", "eth0", "-w", "x", "--duration", "1dd");
	BAD("d", "-i", "eth0", "-w", "x", "-G", "d");
}

/* -Q and --immediate-mode land in the config; --immediate-mode wins over
 * --block-timeout, as libpcap's immediate mode ignores the timeout. */
static void test_direction_immediate(void)
{
	static const struct { const char *arg; unsigned dir; } dirs[] = {
		{ "inout", FILTER_DIR_INOUT }, { "in", FILTER_DIR_IN }, { "out", FILTER_DIR_OUT },
	};
	struct capture_config o;
	int ret;

	ret = PARSE(&o, "-i", "eth0", "-w", "x");
	CHECK(ret == 0 && o.direction == FILTER_DIR_INOUT && !o.immediate,
	      "defaults: direction %u immediate %d", o.direction, o.immediate);
	for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
		ret = PARSE(&o, "-i", "eth0", "-w", "x", "-Q", dirs[i].arg);
		CHECK(ret == 0 && o.direction == dirs[i].dir, "-Q %s: %d %u", dirs[i].arg, ret,
		      o.direction);
		ret = PARSE(&o, "-i", "eth0", "-w", "x", "--direction", dirs[i].arg);
		CHECK(ret == 0 && o.direction == dirs[i].dir, "--direction %s: %d", dirs[i].arg, ret);
	}
	BAD("both", "-i", "eth0", "-w", "x", "-Q", "both");
	BAD("IN", "-i", "eth0", "-w", "x", "--direction", "IN");
	ret = PARSE(&o, "-i", "eth0", "-w", "x", "--block-timeout", "1000", "--immediate-mode");
	CHECK(ret == 0 && o.immediate && o.block_timeout_ms == 1 && o.packet_buffered,
	      "--immediate-mode: %d timeout %u -U %d", ret, o.block_timeout_ms,
	      o.packet_buffered);
	ret = PARSE(&o, "-i", "eth0", "-w", "x", "--block-timeout", "1000");
	CHECK(ret == 0 && o.block_timeout_ms == 1000 && !o.packet_buffered,
	      "--block-timeout 1000: %d %u", ret, o.block_timeout_ms);
}

/* --format, and a -w name ending in .pcapng when it is not given. */
static void test_format(void)
{
	static const struct { const char *w, *fmt; unsigned want; } cases[] = {
		{ "x.pcap", NULL, WRITER_PCAP },
		{ "x", NULL, WRITER_PCAP },
		{ "x.pcapng", NULL, WRITER_PCAPNG },
		{ "/d/cap-%Y%m%d-%H%M%S.pcapng", NULL, WRITER_PCAPNG },
		{ ".pcapng", NULL, WRITER_PCAP },   /* a hidden file named so, no suffix */
		{ "x.pcapng.gz", NULL, WRITER_PCAP },
		{ "-", NULL, WRITER_PCAP },
		{ "x.pcapng", "pcap", WRITER_PCAP }, /* the user's word wins */
		{ "x.pcap", "pcapng", WRITER_PCAPNG },
		{ "-", "pcapng", WRITER_PCAPNG },
	};
	struct capture_config o;
	int ret;

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		if (cases[i].fmt)
			ret = PARSE(&o, "-i", "eth0", "-w", cases[i].w, "--format", cases[i].fmt);
		else
			ret = PARSE(&o, "-i", "eth0", "-w", cases[i].w);
		CHECK(ret == 0 && o.format == cases[i].want, "-w %s --format %s: %d, format %u",
		      cases[i].w, cases[i].fmt ? cases[i].fmt : "(none)", ret, o.format);
	}
	ret = PARSE(&o, "-i", "eth0", "-w", "x");
	CHECK(ret == 0 && o.userappl && strncmp(o.userappl, "ringcap ", 8) == 0,
	      "shb_userappl: %s", o.userappl ? o.userappl : "(none)");
	BAD("pcap-ng", "-i", "eth0", "-w", "x", "--format", "pcap-ng");
}

/* A scratch file holding `text`; its name in path[PATH_MAX]. */
static void write_scratch(char *path, size_t len, const char *name, const char *text)
{
	FILE *f;

	snprintf(path, len, "/tmp/test_cli.%d.%s", (int)getpid(), name);
	f = fopen(path, "w");
	if (!f || fputs(text, f) < 0 || fclose(f)) {
		perror(path);
		exit(1);
	}
}

/* -F: the expression from a file, '#' comments dropped as tcpdump drops them,
 * lines joined; words on the command line as well, a missing file or an
 * empty name: one line naming it, status 2. */
static void test_filter_file(void)
{
	char path[256], missing[300];
	struct capture_config o;
	int ret;

	write_scratch(path, sizeof(path), "filter", "udp port 9 # the discard port\n"
						   "\tand not host 198.18.0.9\n# the end\n");
	ret = PARSE(&o, "-i", "eth0", "-w", "x", "-F", path);
	CHECK(ret == 0 && o.expr, "-F %s: %d", path, ret);
	if (o.expr) {
		CHECK(strncmp(o.expr, "udp port 9 ", 11) == 0 && !strchr(o.expr, '#') &&
		      !strchr(o.expr, '\n') && !strchr(o.expr, '\t') &&
		      strstr(o.expr, " and not host 198.18.0.9 "), "-F: expression '%s'", o.expr);
		CHECK(strlen(o.expr) == 65, "-F: %zu characters, want the file's 65",
		      strlen(o.expr));
	}
	cli_free(&o);
	ret = PARSE(&o, "-F", path, "-i", "eth0", "--filter-file", path, "-w", "x");
	CHECK(ret == 0 && o.expr && strncmp(o.expr, "udp port 9", 10) == 0,
	      "--filter-file: %d", ret);
	cli_free(&o);
	BAD(path, "-i", "eth0", "-w", "x", "-F", path, "tcp");
	BAD(path, "-i", "eth0", "-w", "x", "tcp", "-F", path);
	snprintf(missing, sizeof(missing), "%s.missing", path);
	BAD(missing, "-i", "eth0", "-w", "x", "-F", missing);
	BAD("No such file", "-i", "eth0", "-w", "x", "-F", missing);
	BAD("/", "-i", "eth0", "-w", "x", "-F", "/");
	BAD("filter file", "-i", "eth0", "-w", "x", "-F", "");
	unlink(path);
}

/* -D lists and ends the parse, whatever else is given (no -i needed). */
static void test_list_interfaces(void)
{
	struct capture_config o;
	int ret;

	ret = PARSE(&o, "-D");
	CHECK(ret == 0 && last_exit_now, "-D: %d exit_now %d", ret, last_exit_now);
	CHECK(strncmp(out_text, "1.", 2) == 0 && strstr(out_text, "lo [EN10MB, up, loopback]"),
	      "-D: no numbered list with lo in it: %s", out_text);
	ret = PARSE(&o, "--list-interfaces", "-w", "x", "tcp");
	CHECK(ret == 0 && last_exit_now, "--list-interfaces: %d", ret);
}

/* -i repeated and as a list: the names in order, each once, the workers per
 * interface and their bound; what several interfaces refuse. */
static void test_interfaces(void)
{
	long online = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned share = online / 2 > 0 ? (unsigned)(online / 2) : 1;
	char many[20 * 8] = "", name[8];
	struct capture_config o;
	int ret;

	if (share > MAX_WORKERS)
		share = MAX_WORKERS;
	ret = PARSE(&o, "-i", "a", "-i", "b", "--stats-json", "s.json");
	CHECK(ret == 0 && o.nifaces == 2 && strcmp(o.ifnames[0], "a") == 0 &&
	      strcmp(o.ifnames[1], "b") == 0 && !o.path, "-i a -i b: %d %u %s", ret, o.nifaces,
	      out_text);
	CHECK(capture_config_captures(&o), "-i a -i b without -w: no capture sockets");
	CHECK_EQ(o.threads, share);
	ret = PARSE(&o, "-i", "a,b,c");
	CHECK(ret == 0 && o.nifaces == 3 && strcmp(o.ifnames[0], "a") == 0 &&
	      strcmp(o.ifnames[1], "b") == 0 && strcmp(o.ifnames[2], "c") == 0,
	      "-i a,b,c: %d %u %s", ret, o.nifaces, out_text);
	CHECK(o.threads >= 1, "-i a,b,c: %u workers each", o.threads);
	/* options between and after, the expression's words among them */
	ret = PARSE(&o, "udp", "-i", "a", "-T", "3", "port", "9", "-i", "b,c", "-c", "7");
	CHECK(ret == 0 && o.nifaces == 3 && strcmp(o.ifnames[2], "c") == 0 && o.threads == 3 &&
	      o.count == 7 && o.expr && strcmp(o.expr, "udp port 9") == 0,
	      "words and -i: %d %u %u %s", ret, o.nifaces, o.threads, out_text);
	cli_free(&o);
	/* --cpus without -T: the CPUs listed, shared among the interfaces */
	if (online >= 2) {
		ret = PARSE(&o, "-i", "a,b", "--cpus", "0-1");
		CHECK(ret == 0 && o.threads == 1, "--cpus 0-1, two interfaces: %d %u", ret,
		      o.threads);
	}
	/* one interface: as before */
	ret = PARSE(&o, "-i", "a", "-w", "x");
	CHECK(ret == 0 && o.nifaces == 1 && o.threads == (online > 64 ? 64 : (unsigned)online),
	      "one interface: %d %u", ret, o.threads);
	BAD("nothing to do", "-i", "a");
	/* refused, each with one line naming the value */
	BAD("'a'", "-i", "a", "-i", "a");
	BAD("given twice", "-i", "a", "-w", "x", "-i", "a");
	BAD("'b,a'", "-i", "a", "-i", "b,a");
	BAD("'a,a'", "-i", "a,a");
	BAD("'any'", "-i", "any");
	BAD("'a,any'", "-i", "a,any");
	BAD("empty", "-i", "a,");
	BAD("empty", "-i", ",a");
	BAD("empty", "-i", "a,,b");
	BAD("too long", "-i", "a,abcdefghijklmnop");
	for (unsigned i = 0; i < 17; i++) {
		snprintf(name, sizeof(name), "%se%u", i ? "," : "", i);
		strcat(many, name);
	}
	BAD("more than 16", "-i", many);
	/* several interfaces write pcapng whatever the name; --format pcap is refused */
	BAD("pcapng", "-i", "a", "-w", "x", "-i", "b", "--format", "pcap");
	BAD("pcapng", "-i", "a,b", "--format", "pcap", "-w", "x.pcap");
	BAD("pcapng", "--format", "pcap", "-w", "x", "-i", "a", "-i", "b");
	ret = PARSE(&o, "-i", "a", "-w", "x.pcap", "-i", "b");
	CHECK(ret == 0 && o.format == WRITER_PCAPNG, "two interfaces, x.pcap: %d format %u", ret,
	      o.format);
	ret = PARSE(&o, "-w", "x", "-i", "a,b", "--format", "pcapng");
	CHECK(ret == 0 && o.format == WRITER_PCAPNG, "two interfaces, --format pcapng: %d", ret);
	BAD("'40'", "-i", "a,b", "-T", "40");
	BAD("--arp", "-i", "a,b", "--arp", "10.0.0.1");
	BAD("--ndp", "-i", "a", "-i", "b", "--ndp", "2001:db8::1");
	/* -T 32 on two interfaces is the bound, not past it */
	ret = PARSE(&o, "-i", "a,b", "-T", "32");
	CHECK(ret == 0 && o.threads == 32, "-T 32, two interfaces: %d %s", ret, out_text);
}

int main(void)
{
	test_defaults();
	test_good_values();
	test_bad_values();
	test_words();
	test_help_version();
	test_repeated_calls();
	test_pools();
	test_duration_units();
	test_direction_immediate();
	test_format();
	test_filter_file();
	test_list_interfaces();
	test_interfaces();
	for (unsigned i = 0; i < ncopies; i++)
		args_free(&copies[i]);
	return unit_exit("test_cli");
}
