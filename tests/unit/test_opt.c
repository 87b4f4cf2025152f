/*
 * util/opt's option table: every type stores what it parsed, at the edges
 * of its range and into fields of every width without touching the bytes
 * around them; every bad value (out of range, not a number, a bad suffix, not
 * a power of two, an unknown choice, a custom parser's refusal), an unknown
 * option, a missing value and a required option not given exit 2 with exactly
 * one line on stderr that names
 * the value; --help exits 0 with every option in the text; "+" order stops at
 * the first argument that is not an option. opt_parse itself returns: 2 after
 * one line, exit_now after --help or an OPT_PRINT option, and the words (those
 * before, between and after the options, and after "--") in order at the end
 * of argv. Bad cases of the exiting wrapper run in a forked child whose stderr
 * is read back. No privileges.
 */
#include <fcntl.h>
#include <stdarg.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/opt.h"
#include "unit.h"
#include "util/util.h"

struct fields {
	uint64_t count;
	uint8_t guard_a;
	uint16_t port;
	uint8_t guard_b;
	uint32_t frames;
	int cpu;
	uint64_t wait_ns;
	uint64_t bytes;
	uint32_t block;
	uint64_t staging;
	uint64_t rate;
	uint64_t duration_ns;
	const char *name, *name_raw, *text;
	uint8_t mac[6];
	uint32_t ip;
	unsigned mode;
	bool flag, on, port_given;
	unsigned evens;
};

static const char *const modes[] = { "alpha", "beta", "gamma", NULL };

/* A custom parser: even numbers only. */
static const char *parse_even(const char *arg, void *field)
{
	uint64_t v;

	if (parse_u64(arg, 0, 1000, &v) || v % 2)
		return "expected an even number 0..1000";
	*(unsigned *)field = (unsigned)v;
	return NULL;
}

static struct fields f;

static const struct opt table[] = {
	{ .name = "count", .letter = 'n', .type = OPT_U64, OPT_INT(&f.count), .min = 1,
	  .max = 1000, .what = "count", .arg = "N", .help = "how many" },
	{ .name = "port", .type = OPT_U64, OPT_INT(&f.port), .min = 0, .max = 65535,
	  .given = &f.port_given, .arg = "PORT", .help = "two lines\nof help" },
	{ .name = "frames", .type = OPT_U64, OPT_INT(&f.frames), .min = 64, .max = 1u << 20,
	  .arg = "N", .help = "frames" },
	{ .type = OPT_SECTION, .help = "A heading" },
	{ .name = "cpu", .type = OPT_U64, OPT_INT(&f.cpu), .min = 0, .max = 1023, .what = "CPU",
	  .arg = "N", .help = "a CPU" },
	{ .name = "wait", .type = OPT_U64, OPT_INT(&f.wait_ns), .min = 0, .max = 60000,
	  .scale = 1000000, .arg = "MS", .help = "ms, stored as ns" },
	{ .name = "bytes", .type = OPT_SIZE, OPT_INT(&f.bytes), .min = 4096, .max = 1ull << 30,
	  .arg = "SIZE", .help = "a size" },
	{ .name = "block", .type = OPT_SIZE, OPT_INT(&f.block), .min = 4096, .max = 64 << 20,
	  .flags = OPT_POW2, .what = "block size", .arg = "SIZE", .help = "a power of two" },
	{ .name = "staging", .type = OPT_SIZE, OPT_INT(&f.staging), .min = 4 << 20,
	  .max = 1ull << 34, .flags = OPT_WHOLE_MIB, .arg = "SIZE", .help = "whole MiB" },
	{ .name = "rate", .letter = 'r', .type = OPT_RATE, OPT_INT(&f.rate), .min = 1,
	  .max = 100000000, .arg = "FPS", .help = "max or a rate" },
	{ .name = "duration", .type = OPT_DURATION, .field = &f.duration_ns, .max = 3600000000000ull,
	  .arg = "S", .help = "up to an hour" },
	{ .name = "name", .letter = 'i', .type = OPT_STRING, .field = &f.name, .max = 15,
	  .raw = &f.name_raw, .arg = "IFACE", .help = "1..15 characters" },
	{ .name = "text", .type = OPT_STRING, .field = &f.text, .arg = "TEXT", .help = "any" },
	{ .name = "mac", .type = OPT_MAC, .field = f.mac, .arg = "MAC", .help = "a MAC" },
	{ .name = "ip", .type = OPT_IPV4, .field = &f.ip, .arg = "IP", .help = "an address" },
	{ .name = "mode", .type = OPT_CHOICE, OPT_INT(&f.mode), .choices = modes, .arg = "M",
	  .help = "alpha, beta or gamma" },
	{ .name = "flag", .letter = 'q', .type = OPT_FLAG, .field = &f.flag, .help = "set" },
	{ .name = "no-on", .type = OPT_CLEAR, .field = &f.on, .help = "clear" },
	{ .name = "even", .type = OPT_CUSTOM, .field = &f.evens, .parse = parse_even,
	  .what = "even number", .arg = "N", .help = "even" },
	{ .name = "ignored", .type = OPT_FLAG, .help = "accepted, no field" },
};

static const struct opt_prog prog = {
	.synopsis = "usage: test [options] [ARGS]\n",
	.epilogue = "the end\n",
	.opts = table,
	.nopts = ARRAY_SIZE(table),
};

static const struct opt_prog prog_in_order = {
	.synopsis = "usage: test [options] CMD...\n",
	.opts = table,
	.nopts = ARRAY_SIZE(table),
	.in_order = true,
};

static const struct opt table_required[] = {
	{ .name = "interface", .letter = 'i', .type = OPT_STRING, .field = &f.name,
	  .required = true, .arg = "IFACE", .help = "needed" },
	{ .name = "pool", .type = OPT_STRING, .field = &f.text, .required = true, .arg = "A-B",
	  .help = "needed too" },
};

static const struct opt_prog prog_required = {
	.synopsis = "usage: test -i IFACE --pool A-B\n",
	.opts = table_required,
	.nopts = ARRAY_SIZE(table_required),
};

static void defaults(void)
{
	memset(&f, 0, sizeof(f));
	f.guard_a = f.guard_b = 0xa5;
	f.cpu = -1;
	f.on = true;
	f.rate = 7;
}

#define MAX_ARGS 48

/* argv from a NULL-terminated list, program name first. */
static int make_argv(char **argv, va_list ap)
{
	int argc = 0;
	const char *a;

	argv[argc++] = (char *)"test";
	while ((a = va_arg(ap, const char *)) && argc < MAX_ARGS - 1)
		argv[argc++] = (char *)a;
	argv[argc] = NULL;
	return argc;
}

static int parse_ok(const struct opt_prog *p, ...)
{
	char *argv[MAX_ARGS];
	va_list ap;
	int argc;

	va_start(ap, p);
	argc = make_argv(argv, ap);
	va_end(ap);
	defaults();
	return opt_parse_or_exit(p, argc, argv) - argc; /* 0 when everything was an option */
}

/* Run the parse in a child with stdout and stderr in files; its exit status,
 * and what it printed (NUL-terminated, at most len - 1 bytes). */
static int parse_child(char *out, char *err, size_t len, const struct opt_prog *p,
		       va_list ap)
{
	char out_path[] = "/tmp/test_opt.out.XXXXXX";
	char err_path[] = "/tmp/test_opt.err.XXXXXX";
	int out_fd = mkstemp(out_path), err_fd = mkstemp(err_path), st = -1;
	char *argv[MAX_ARGS];
	int argc = make_argv(argv, ap);
	ssize_t n;
	pid_t pid;

	if (out_fd < 0 || err_fd < 0) {
		perror("mkstemp");
		exit(1);
	}
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid == 0) {
		dup2(out_fd, 1);
		dup2(err_fd, 2);
		defaults();
		opt_parse_or_exit(p, argc, argv);
		fflush(stdout);
		_exit(99); /* parsed fine: not what these cases expect */
	}
	waitpid(pid, &st, 0);
	n = pread(out_fd, out, len - 1, 0);
	out[n > 0 ? n : 0] = '\0';
	n = pread(err_fd, err, len - 1, 0);
	err[n > 0 ? n : 0] = '\0';
	close(out_fd);
	close(err_fd);
	unlink(out_path);
	unlink(err_path);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static unsigned count_lines(const char *s)
{
	unsigned n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* Exit 2, nothing on stdout, one line on stderr holding `needle`. */
#define expect_bad(needle, ...) expect_bad_at(__LINE__, &prog, needle, __VA_ARGS__)
#define expect_bad_in(p, needle, ...) expect_bad_at(__LINE__, p, needle, __VA_ARGS__)
static void expect_bad_at(int line, const struct opt_prog *p, const char *needle, ...)
{
	char out[4096], err[4096];
	va_list ap;
	int rc;

	va_start(ap, needle);
	rc = parse_child(out, err, sizeof(err), p, ap);
	va_end(ap);
	CHECK(rc == 2, "line %d: exit %d, want 2 (stderr: %s)", line, rc, err);
	CHECK(count_lines(err) == 1 && err[strlen(err) - 1] == '\n',
	      "line %d: want one line on stderr, got: %s", line, err);
	CHECK(strstr(err, needle) != NULL, "line %d: stderr does not name \"%s\": %s", line, needle,
	      err);
	CHECK(strncmp(err, "test_opt: ", 10) == 0, "line %d: no program prefix: %s", line,
	      err);
	CHECK(out[0] == '\0', "line %d: stdout not empty: %s", line, out);
}

static void test_values(void)
{
	CHECK_EQ(parse_ok(&prog, "-n", "1000", "--port", "65535", "--frames", "64", "--cpu", "0",
			  "--wait", "250", "--bytes", "64k", "--block", "1m", "--staging", "8m",
			  "-r", "max", "--duration", "2.5", "-i", "veth0", "--text", "",
			  "--mac", "02:aa:bb:cc:dd:0f", "--ip", "198.18.0.7", "--mode", "gamma",
			  "-q", "--no-on", "--even", "42", "--ignored", NULL), 0);
	CHECK_EQ(f.count, 1000);
	CHECK_EQ(f.port, 65535);
	CHECK(f.port_given, "--port given");
	CHECK_EQ(f.guard_a, 0xa5); /* a 16-bit store stays in its field */
	CHECK_EQ(f.guard_b, 0xa5);
	CHECK_EQ(f.frames, 64);
	CHECK_EQ(f.cpu, 0);
	CHECK_EQ(f.wait_ns, 250000000ull);
	CHECK_EQ(f.bytes, 65536);
	CHECK_EQ(f.block, 1u << 20);
	CHECK_EQ(f.staging, 8u << 20);
	CHECK_EQ(f.rate, 0); /* max */
	CHECK_EQ(f.duration_ns, 2500000000ull);
	CHECK(f.name && strcmp(f.name, "veth0") == 0, "name %s", f.name ? f.name : "(null)");
	CHECK(f.name_raw == f.name, "raw gets the argument as typed");
	CHECK(f.text && !*f.text, "an empty string without a limit is fine");
	CHECK(f.mac[0] == 0x02 && f.mac[5] == 0x0f, "mac %02x..%02x", f.mac[0], f.mac[5]);
	CHECK_EQ(f.ip, 0xc6120007u);
	CHECK_EQ(f.mode, 2);
	CHECK(f.flag, "-q sets the flag");
	CHECK(!f.on, "--no-on clears");
	CHECK_EQ(f.evens, 42);

	/* Defaults stay when an option is not given; other edges of the ranges. */
	CHECK_EQ(parse_ok(&prog, "--count", "1", "--frames", "1048576", "--cpu", "1023",
			  "--rate", "100000000", "--duration", "3600", "--mode", "alpha",
			  "--staging", "16g", NULL), 0);
	CHECK_EQ(f.count, 1);
	CHECK_EQ(f.frames, 1u << 20);
	CHECK_EQ(f.cpu, 1023);
	CHECK_EQ(f.rate, 100000000);
	CHECK_EQ(f.duration_ns, 3600000000000ull);
	CHECK_EQ(f.mode, 0);
	CHECK_EQ(f.staging, 1ull << 34);
	CHECK(!f.port_given && f.port == 0, "--port not given");
	CHECK(f.on && !f.flag, "flags keep their defaults");
	CHECK(f.name == NULL, "name not given");

	/* Permuted: options after an argument still count; "+" stops there. */
	CHECK_EQ(parse_ok(&prog, "dir", "-n", "5", NULL), -1);
	CHECK_EQ(f.count, 5);
	CHECK_EQ(parse_ok(&prog_in_order, "-n", "6", "cmd", "-n", "7", NULL), -3);
	CHECK_EQ(f.count, 6);
	CHECK_EQ(parse_ok(&prog_required, "--pool", "p", "-i", "veth0", NULL), 0);
	CHECK(f.text && strcmp(f.text, "p") == 0, "--pool");
}

static void test_bad_values(void)
{
	expect_bad("bad count '0': expected 1..1000", "-n", "0", NULL);
	expect_bad("'1001'", "--count", "1001", NULL);
	expect_bad("'12x'", "-n", "12x", NULL);
	expect_bad("'-5'", "-n", "-5", NULL);
	expect_bad("''", "-n", "", NULL);
	expect_bad("'99999999999999999999999'", "-n", "99999999999999999999999", NULL);
	expect_bad("bad --port '65536': expected 0..65535", "--port", "65536", NULL);
	expect_bad("'63'", "--frames", "63", NULL);
	expect_bad("bad CPU '1024'", "--cpu", "1024", NULL);
	expect_bad("'60001'", "--wait", "60001", NULL);
	expect_bad("'4095'", "--bytes", "4095", NULL);
	expect_bad("'2g'", "--bytes", "2g", NULL);
	expect_bad("'10q'", "--bytes", "10q", NULL);
	expect_bad("bad block size '5000': expected a power of two", "--block", "5000", NULL);
	expect_bad("'4100k'", "--staging", "4100k", NULL);
	expect_bad("'fast'", "-r", "fast", NULL);
	expect_bad("'0'", "--rate", "0", NULL);
	expect_bad("'0'", "--duration", "0", NULL);
	expect_bad("'2x'", "--duration", "2x", NULL);
	expect_bad("'3601'", "--duration", "3601", NULL);
	expect_bad("'sixteen-chars-16'", "-i", "sixteen-chars-16", NULL);
	expect_bad("''", "--name", "", NULL);
	expect_bad("'02:aa:bb'", "--mac", "02:aa:bb", NULL);
	expect_bad("'198.18.0'", "--ip", "198.18.0", NULL);
	expect_bad("bad --mode 'delta': expected alpha|beta|gamma", "--mode", "delta", NULL);
	expect_bad("bad even number '3': expected an even number", "--even", "3", NULL);
	expect_bad("bad option '--bogus'", "--bogus", NULL);
	expect_bad("bad option '-x'", "-x", NULL);
	expect_bad("bad option '-x'", "-qx", NULL);
	expect_bad("bad option '--count': needs a value", "--count", NULL);
	expect_bad("bad option '-n': needs a value", "-n", NULL);
	expect_bad("'--flag=1'", "--flag=1", NULL);
	expect_bad_in(&prog_required, "missing -i IFACE (see --help)", "--pool", "x", NULL);
	expect_bad_in(&prog_required, "missing --pool A-B (see --help)", "-i", "x", NULL);
	expect_bad_in(&prog_required, "missing -i IFACE", NULL);
	/* The first bad value ends the parse: later ones are not reached. */
	expect_bad("'0'", "-n", "0", "--port", "70000", NULL);
}

static int help_child(char *out, char *err, size_t len, ...)
{
	va_list ap;
	int rc;

	va_start(ap, len);
	rc = parse_child(out, err, len, &prog, ap);
	va_end(ap);
	return rc;
}

/* The help text's second line of `first` starts in the column `first` does. */
static void check_continuation(const char *out, const char *first, const char *second)
{
	const char *at = strstr(out, first), *start = at, *next;
	int col;

	CHECK(at != NULL, "--help lacks \"%s\"", first);
	if (!at)
		return;
	while (start > out && start[-1] != '\n')
		start--;
	col = (int)(at - start);
	next = at + strlen(first) + 1;
	CHECK(strspn(next, " ") == (size_t)col && strncmp(next + col, second, strlen(second)) == 0,
	      "\"%s\" not at column %d: %.40s", second, col, next);
}

static unsigned printed;

static void print_version(FILE *out)
{
	printed++;
	fprintf(out, "version 1\n");
}

struct more {
	uint64_t interval_ns, kib;
	const char *path;
};

static struct more m;

static const struct opt table_returning[] = {
	{ .name = "count", .letter = 'n', .type = OPT_U64, OPT_INT(&f.count), .min = 1, .max = 9,
	  .what = "count", .arg = "N", .help = "how many" },
	{ .name = "flag", .letter = 'q', .type = OPT_FLAG, .field = &f.flag, .help = "set" },
	{ .name = "interval", .type = OPT_DURATION, .field = &m.interval_ns, .min = 1000000000ull,
	  .what = "interval", .arg = "S", .help = "at least a second" },
	{ .name = "kib", .type = OPT_SIZE, OPT_INT(&m.kib), .scale = 1024, .min = 1024,
	  .max = 1 << 30, .arg = "KIB", .help = "KiB or a size" },
	{ .name = "write", .letter = 'w', .type = OPT_STRING, .field = &m.path, .min = 1,
	  .what = "output file", .why = "empty name", .arg = "FILE", .help = "not empty" },
	{ .name = "version", .type = OPT_PRINT, .print = print_version, .help = "the version" },
};

static const struct opt_prog prog_returning = {
	.synopsis = "usage: test [options] WORDS\n",
	.opts = table_returning,
	.nopts = ARRAY_SIZE(table_returning),
};

/* opt_parse on a NULL-terminated list; stderr into err; the words joined. */
static int parse_returning(struct opt_end *end, char *words, char *err, size_t len, ...)
{
	char err_path[] = "/tmp/test_opt.err.XXXXXX";
	int err_fd = mkstemp(err_path), saved = dup(2), argc, ret;
	char *argv[MAX_ARGS];
	va_list ap;
	ssize_t n;

	va_start(ap, len);
	argc = make_argv(argv, ap);
	va_end(ap);
	defaults();
	memset(&m, 0, sizeof(m));
	fflush(stderr);
	dup2(err_fd, 2);
	ret = opt_parse(&prog_returning, argc, argv, end);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	n = pread(err_fd, err, len - 1, 0);
	err[n > 0 ? n : 0] = '\0';
	close(err_fd);
	unlink(err_path);
	words[0] = '\0';
	for (int i = end->words; !ret && !end->exit_now && i < argc; i++) {
		if (i == end->dashdash)
			strcat(words, "| ");
		strcat(words, argv[i]);
		strcat(words, " ");
	}
	return ret;
}

static void test_returning(void)
{
	char words[512], err[512];
	struct opt_end end;
	int ret;

	/* words before, between and after the options: one parse */
	ret = parse_returning(&end, words, err, sizeof(err), "a", "-n", "3", "b", "-q", "c", NULL);
	CHECK(ret == 0 && !end.exit_now && strcmp(words, "a b c ") == 0 && f.count == 3 && f.flag,
	      "a -n 3 b -q c: %d words '%s' count %llu", ret, words, (unsigned long long)f.count);
	ret = parse_returning(&end, words, err, sizeof(err), "-qn", "3", "a", "b", "c", NULL);
	CHECK(ret == 0 && strcmp(words, "a b c ") == 0 && f.count == 3 && f.flag,
	      "-qn 3 a b c: %d '%s'", ret, words);
	/* "--": the words after it are words, dashes and all; itself none */
	ret = parse_returning(&end, words, err, sizeof(err), "a", "--", "-n", "4", "--", NULL);
	CHECK(ret == 0 && strcmp(words, "a | -n 4 -- ") == 0 && f.count == 0,
	      "a -- -n 4 --: %d '%s'", ret, words);
	ret = parse_returning(&end, words, err, sizeof(err), "-w", "--", "a", NULL);
	CHECK(ret == 0 && strcmp(words, "a ") == 0 && m.path && strcmp(m.path, "--") == 0,
	      "-w -- a: %d '%s' %s", ret, words, m.path);
	CHECK(end.dashdash == 4, "-w -- a: dashdash %d", end.dashdash);
	ret = parse_returning(&end, words, err, sizeof(err), "a", "--", NULL);
	CHECK(ret == 0 && strcmp(words, "a ") == 0, "a --: %d '%s'", ret, words);
	/* typed values: a duration's minimum, a size's unit */
	ret = parse_returning(&end, words, err, sizeof(err), "--interval", "2.5", "--kib", "64",
			      NULL);
	CHECK(ret == 0 && m.interval_ns == 2500000000ull && m.kib == 65536,
	      "--interval 2.5 --kib 64: %d %llu %llu", ret, (unsigned long long)m.interval_ns,
	      (unsigned long long)m.kib);
	ret = parse_returning(&end, words, err, sizeof(err), "--kib", "2m", NULL);
	CHECK(ret == 0 && m.kib == 2u << 20, "--kib 2m: %d", ret);
	/* bad input: 2 and one line, no exit */
	ret = parse_returning(&end, words, err, sizeof(err), "--interval", "500ms", NULL);
	CHECK(ret == 2 && strstr(err, "bad interval '500ms'") && count_lines(err) == 1,
	      "--interval 500ms: %d %s", ret, err);
	ret = parse_returning(&end, words, err, sizeof(err), "-w", "", NULL);
	CHECK(ret == 2 && strstr(err, "bad output file '': empty name") && count_lines(err) == 1,
	      "-w '': %d %s", ret, err);
	ret = parse_returning(&end, words, err, sizeof(err), "a", "-n", "10", NULL);
	CHECK(ret == 2 && strstr(err, "bad count '10': expected 1..9") && count_lines(err) == 1,
	      "a -n 10: %d %s", ret, err);
	ret = parse_returning(&end, words, err, sizeof(err), "a", "--kib", NULL);
	CHECK(ret == 2 && strstr(err, "bad option '--kib': needs a value"), "--kib: %d %s", ret,
	      err);
	/* --help and an OPT_PRINT option end the parse with exit_now */
	printed = 0;
	ret = parse_returning(&end, words, err, sizeof(err), "-q", "--version", "-n", "0", NULL);
	CHECK(ret == 0 && end.exit_now && printed == 1 && !err[0], "--version: %d %d %u %s", ret,
	      end.exit_now, printed, err);
	ret = parse_returning(&end, words, err, sizeof(err), "-n", "2", NULL);
	CHECK(ret == 0 && !end.exit_now, "after --version: %d %d", ret, end.exit_now);
}

static void test_help(void)
{
	char out[8192], err[4096];
	int rc = help_child(out, err, sizeof(out), "--help", NULL);

	CHECK_EQ(rc, 0);
	CHECK(err[0] == '\0', "--help wrote to stderr: %s", err);
	CHECK(strncmp(out, "usage: test [options] [ARGS]\n", 29) == 0, "synopsis first: %s", out);
	for (size_t i = 0; i < ARRAY_SIZE(table); i++) {
		char want[64];

		if (table[i].type == OPT_SECTION)
			snprintf(want, sizeof(want), "\n%s\n", table[i].help);
		else
			snprintf(want, sizeof(want), "  %c%c%c --%s%s%s ", table[i].letter ? '-' : ' ',
				 table[i].letter ? table[i].letter : ' ', table[i].letter ? ',' : ' ',
				 table[i].name, table[i].arg ? " " : "", table[i].arg ? table[i].arg : "");
		CHECK(strstr(out, want) != NULL, "--help lacks \"%s\"", want);
	}
	check_continuation(out, "two lines", "of help");
	CHECK(strstr(out, "  -h, --help ") != NULL, "no -h line");
	CHECK(strstr(out, "the end\n") != NULL, "no epilogue");
	rc = help_child(out, err, sizeof(out), "-q", "-h", "-n", "0", NULL);
	CHECK_EQ(rc, 0); /* -h ends the parse before the bad -n */
}

int main(void)
{
	log_set_program("test_opt");
	test_values();
	test_bad_values();
	test_returning();
	test_help();
	return unit_exit("test_opt");
}
