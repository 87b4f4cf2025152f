/*
 * The bench programs' option table: getopt_long's table and short-option
 * string built from it, one typed parser per entry, the usage text laid out
 * from it. Every bad value ends here in bopt_bad(): one line, exit 2.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "bench/common.h"
#include "util/util.h"

#define MAX_OPTS 64
#define HELP_COL_MAX 26 /* longer option columns put their help on the next line */

void bopt_bad(const char *what, const char *value, const char *why)
{
	die(2, "bad %s '%s': %s", what, value, why);
}

/* The integer fields of the table come in four widths. */
static void store_uint(const struct bopt *o, uint64_t v)
{
	switch (o->width) {
	case 1: *(uint8_t *)o->field = (uint8_t)v; break;
	case 2: *(uint16_t *)o->field = (uint16_t)v; break;
	case 4: *(uint32_t *)o->field = (uint32_t)v; break;
	default: *(uint64_t *)o->field = v; break;
	}
}

static const char *what_of(const struct bopt *o, char *buf, size_t len)
{
	if (o->what)
		return o->what;
	snprintf(buf, len, "--%s", o->name);
	return buf;
}

static void bad_value(const struct bopt *o, const char *arg, const char *why)
{
	char what[64];

	bopt_bad(what_of(o, what, sizeof(what)), arg, o->why ? o->why : why);
}

static void bad_range(const struct bopt *o, const char *arg, const char *lead)
{
	char why[96];

	snprintf(why, sizeof(why), "%s%" PRIu64 "..%" PRIu64, lead, o->min, o->max);
	bad_value(o, arg, why);
}

static void parse_size_opt(const struct bopt *o, const char *arg)
{
	uint64_t v;

	if (parse_size(arg, 1, o->min, o->max, &v))
		bad_range(o, arg, "expected bytes (k, m, g suffixes) in ");
	if ((o->flags & BOPT_POW2) && (v & (v - 1)))
		bad_value(o, arg, "expected a power of two");
	if ((o->flags & BOPT_WHOLE_MIB) && v % (1u << 20))
		bad_value(o, arg, "expected whole MiB");
	store_uint(o, v);
}

static void parse_choice(const struct bopt *o, const char *arg)
{
	char why[128] = "expected ";

	for (size_t i = 0; o->choices[i]; i++) {
		if (strcmp(arg, o->choices[i]) == 0) {
			store_uint(o, i);
			return;
		}
		snprintf(why + strlen(why), sizeof(why) - strlen(why), "%s%s", i ? "|" : "",
			 o->choices[i]);
	}
	bad_value(o, arg, why);
}

static void parse_one(const struct bopt *o, const char *arg)
{
	const char *why;
	uint64_t v;

	switch (o->type) {
	case BOPT_SECTION:
		return;
	case BOPT_FLAG:
	case BOPT_CLEAR:
		if (o->field)
			*(bool *)o->field = o->type == BOPT_FLAG;
		break;
	case BOPT_RATE:
		if (strcmp(arg, "max") == 0) {
			store_uint(o, 0);
			break;
		}
		if (parse_u64(arg, o->min, o->max, &v))
			bad_range(o, arg, "expected max or ");
		store_uint(o, v);
		break;
	case BOPT_U64:
		if (parse_u64(arg, o->min, o->max, &v))
			bad_range(o, arg, "expected ");
		store_uint(o, v * (o->scale ? o->scale : 1));
		break;
	case BOPT_SIZE:
		parse_size_opt(o, arg);
		break;
	case BOPT_DURATION:
		if (parse_duration_ns(arg, &v) || !v || (o->max && v > o->max))
			bad_value(o, arg, "expected seconds > 0, e.g. 10, 2.5, 500ms");
		*(uint64_t *)o->field = v;
		break;
	case BOPT_STRING:
		if (o->max && (!*arg || strlen(arg) > o->max)) {
			char chars[64];

			snprintf(chars, sizeof(chars), "expected 1..%" PRIu64 " characters", o->max);
			bad_value(o, arg, chars);
		}
		*(const char **)o->field = arg;
		break;
	case BOPT_MAC:
		if (parse_mac(arg, o->field))
			bad_value(o, arg, "expected xx:xx:xx:xx:xx:xx");
		break;
	case BOPT_IPV4:
		if (parse_ipv4(arg, o->field))
			bad_value(o, arg, "expected an IPv4 address (a dotted quad)");
		break;
	case BOPT_CHOICE:
		parse_choice(o, arg);
		break;
	case BOPT_CUSTOM:
		why = o->parse(arg, o->field);
		if (why)
			bad_value(o, arg, why);
		break;
	}
	if (o->given)
		*o->given = true;
	if (o->raw)
		*o->raw = arg;
}

static bool takes_arg(const struct bopt *o)
{
	return o->type != BOPT_FLAG && o->type != BOPT_CLEAR;
}

int bopt_parse(const struct bopt_prog *p, int argc, char **argv)
{
	struct option lopts[MAX_OPTS + 2];
	bool seen[MAX_OPTS] = { false };
	char shorts[2 * MAX_OPTS + 4], *s = shorts;
	size_t n = 0;
	int c;

	if (p->nopts > MAX_OPTS)
		die(2, "bench/common: %zu options, at most %d", p->nopts, MAX_OPTS);
	if (p->in_order)
		*s++ = '+';
	*s++ = ':'; /* a missing value comes back as ':' */
	*s++ = 'h';
	for (size_t i = 0; i < p->nopts; i++) {
		const struct bopt *o = &p->opts[i];

		if (o->type == BOPT_SECTION)
			continue;
		lopts[n++] = (struct option){ o->name, takes_arg(o) ? required_argument : no_argument,
					      NULL, 256 + (int)i };
		if (o->letter) {
			*s++ = o->letter;
			if (takes_arg(o))
				*s++ = ':';
		}
	}
	*s = '\0';
	lopts[n++] = (struct option){ "help", no_argument, NULL, 'h' };
	lopts[n] = (struct option){ NULL, 0, NULL, 0 };

	opterr = 0; /* our own one-line messages */
	optind = 0; /* glibc: start over (a second parse in one process, as in tests) */
	while ((c = getopt_long(argc, argv, shorts, lopts, NULL)) != -1) {
		if (c == 'h') {
			bopt_usage(p, stdout);
			exit(0);
		}
		/* optopt names a short option; for a long one, argv[optind - 1] */
		if (c == '?' && optopt > 0 && optopt < 256)
			die(2, "bad option '-%c' (see --help)", optopt);
		if (c == '?')
			die(2, "bad option '%s' (see --help)", argv[optind - 1]);
		if (c == ':' && optopt > 0 && optopt < 256)
			die(2, "option '-%c' needs a value (see --help)", optopt);
		if (c == ':')
			die(2, "option '%s' needs a value (see --help)", argv[optind - 1]);
		if (c < 256) { /* a letter: find its entry */
			for (size_t i = 0; i < p->nopts; i++)
				if (p->opts[i].letter == c && p->opts[i].type != BOPT_SECTION)
					c = 256 + (int)i;
		}
		parse_one(&p->opts[c - 256], optarg);
		seen[c - 256] = true;
	}
	for (size_t i = 0; i < p->nopts; i++) {
		const struct bopt *o = &p->opts[i];

		if (!o->required || seen[i])
			continue;
		if (o->letter)
			die(2, "missing -%c %s (see --help)", o->letter, o->arg ? o->arg : "");
		die(2, "missing --%s %s (see --help)", o->name, o->arg ? o->arg : "");
	}
	return optind;
}

/* "  -s, --size BYTES" */
static int option_column(const struct bopt *o, char *buf, size_t len)
{
	return snprintf(buf, len, "  %c%c%c --%s%s%s", o->letter ? '-' : ' ', o->letter ? o->letter : ' ',
			o->letter ? ',' : ' ', o->name, o->arg ? " " : "", o->arg ? o->arg : "");
}

static void usage_help(FILE *f, const char *help, int col)
{
	for (const char *nl; (nl = strchr(help, '\n')); help = nl + 1)
		fprintf(f, "%.*s\n%*s", (int)(nl - help), help, col, "");
	fprintf(f, "%s\n", help);
}

void bopt_usage(const struct bopt_prog *p, FILE *f)
{
	static const struct bopt help = { .name = "help", .letter = 'h', .type = BOPT_FLAG,
					      .help = "this text" };
	char buf[128];
	int col = 0;

	for (size_t i = 0; i < p->nopts; i++) {
		int w = p->opts[i].type == BOPT_SECTION ? 0 :
			option_column(&p->opts[i], buf, sizeof(buf));

		if (w + 2 <= HELP_COL_MAX && w + 2 > col)
			col = w + 2;
	}
	fputs(p->synopsis, f);
	for (size_t i = 0; i <= p->nopts; i++) {
		const struct bopt *o = i < p->nopts ? &p->opts[i] : &help;
		int w;

		if (o->type == BOPT_SECTION) {
			fprintf(f, "%s\n", o->help);
			continue;
		}
		w = option_column(o, buf, sizeof(buf));
		if (w + 1 > col)
			fprintf(f, "%s\n%*s", buf, col, "");
		else
			fprintf(f, "%-*s", col, buf);
		usage_help(f, o->help ? o->help : "", col);
	}
	if (p->epilogue)
		fputs(p->epilogue, f);
}

void json_put_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fprintf(f, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			fprintf(f, "\\u%04x", (unsigned)(unsigned char)*s);
		else
			fputc(*s, f);
	}
	fputc('"', f);
}
