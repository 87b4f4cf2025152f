/*
 * The option table: getopt_long's table and short-option string built from
 * it, one typed parser per entry, the words that are not options gathered at
 * the end of argv, the usage text laid out from the table. Every bad value
 * ends in opt_bad(): one line, status 2.
 *
 * getopt runs in its "return in order" mode ("-"): each word comes back as
 * option 1 where it stands, whatever POSIXLY_CORRECT says, and "--" stops the
 * scan; the words are then moved behind the options, keeping their order.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "util/opt.h"
#include "util/util.h"

#define MAX_OPTS 96
#define HELP_COL_MAX 26 /* longer option columns put their help on the next line */
#define OPT_VAL 256     /* getopt's value for opts[i] is OPT_VAL + i */

int opt_bad(const char *what, const char *value, const char *why)
{
	log_err("bad %s '%s': %s", what, value, why);
	return 2;
}

void opt_die(const char *what, const char *value, const char *why)
{
	exit(opt_bad(what, value, why));
}

/* The integer fields of the table come in four widths. */
static void store_uint(const struct opt *o, uint64_t v)
{
	switch (o->width) {
	case 1: *(uint8_t *)o->field = (uint8_t)v; break;
	case 2: *(uint16_t *)o->field = (uint16_t)v; break;
	case 4: *(uint32_t *)o->field = (uint32_t)v; break;
	default: *(uint64_t *)o->field = v; break;
	}
}

static int bad_value(const struct opt *o, const char *arg, const char *why)
{
	char what[64];

	if (!o->what)
		snprintf(what, sizeof(what), "--%s", o->name);
	return opt_bad(o->what ? o->what : what, arg, o->why ? o->why : why);
}

static int bad_range(const struct opt *o, const char *arg, const char *lead)
{
	char why[96];

	snprintf(why, sizeof(why), "%s%" PRIu64 "..%" PRIu64, lead, o->min, o->max);
	return bad_value(o, arg, why);
}

static int parse_size_opt(const struct opt *o, const char *arg)
{
	uint64_t v;

	if (parse_size(arg, o->scale ? o->scale : 1, o->min, o->max, &v))
		return bad_range(o, arg, "expected bytes (k, m, g suffixes) in ");
	if ((o->flags & OPT_POW2) && (v & (v - 1)))
		return bad_value(o, arg, "expected a power of two");
	if ((o->flags & OPT_WHOLE_MIB) && v % (1u << 20))
		return bad_value(o, arg, "expected whole MiB");
	store_uint(o, v);
	return 0;
}

static int parse_choice(const struct opt *o, const char *arg)
{
	char why[128] = "expected ";

	for (size_t i = 0; o->choices[i]; i++) {
		if (strcmp(arg, o->choices[i]) == 0) {
			store_uint(o, i);
			return 0;
		}
		snprintf(why + strlen(why), sizeof(why) - strlen(why), "%s%s", i ? "|" : "",
			 o->choices[i]);
	}
	return bad_value(o, arg, why);
}

static int parse_string(const struct opt *o, const char *arg)
{
	char why[64] = "empty";

	if ((o->min || o->max) && (!*arg || (o->max && strlen(arg) > o->max))) {
		if (o->max)
			snprintf(why, sizeof(why), "expected 1..%" PRIu64 " characters", o->max);
		return bad_value(o, arg, why);
	}
	*(const char **)o->field = arg;
	return 0;
}

static int parse_value(const struct opt *o, const char *arg)
{
	uint64_t v;

	switch (o->type) {
	case OPT_SECTION:
	case OPT_PRINT:
		return 0;
	case OPT_FLAG:
	case OPT_CLEAR:
		if (o->field)
			*(bool *)o->field = o->type == OPT_FLAG;
		return 0;
	case OPT_RATE:
		if (strcmp(arg, "max") == 0) {
			store_uint(o, 0);
			return 0;
		}
		if (parse_u64(arg, o->min, o->max, &v))
			return bad_range(o, arg, "expected max or ");
		store_uint(o, v);
		return 0;
	case OPT_U64:
		if (parse_u64(arg, o->min, o->max, &v))
			return bad_range(o, arg, "expected ");
		store_uint(o, v * (o->scale ? o->scale : 1));
		return 0;
	case OPT_SIZE:
		return parse_size_opt(o, arg);
	case OPT_DURATION:
		if (parse_duration_ns(arg, &v) || !v || v < o->min || (o->max && v > o->max))
			return bad_value(o, arg, "expected seconds > 0, e.g. 10, 2.5, 500ms");
		*(uint64_t *)o->field = v;
		return 0;
	case OPT_STRING:
		return parse_string(o, arg);
	case OPT_MAC:
		if (parse_mac(arg, o->field))
			return bad_value(o, arg, "expected xx:xx:xx:xx:xx:xx");
		return 0;
	case OPT_IPV4:
		if (parse_ipv4(arg, o->field))
			return bad_value(o, arg, "expected an IPv4 address (a dotted quad)");
		return 0;
	case OPT_CHOICE:
		return parse_choice(o, arg);
	case OPT_CUSTOM: {
		const char *why = o->parse(arg, o->field);

		return why ? bad_value(o, arg, why) : 0;
	}
	}
	return 0;
}

static bool takes_arg(const struct opt *o)
{
	return o->type != OPT_FLAG && o->type != OPT_CLEAR && o->type != OPT_PRINT;
}

/* getopt_long's table (help last) and its short-option string. */
static void getopt_tables(const struct opt_prog *p, struct option *lopts, char *s)
{
	size_t n = 0;

	*s++ = p->in_order ? '+' : '-';
	*s++ = ':'; /* a missing value comes back as ':' */
	*s++ = 'h';
	for (size_t i = 0; i < p->nopts; i++) {
		const struct opt *o = &p->opts[i];

		if (o->type == OPT_SECTION)
			continue;
		lopts[n++] = (struct option){ o->name, takes_arg(o) ? required_argument : no_argument,
					      NULL, OPT_VAL + (int)i };
		if (o->letter) {
			*s++ = o->letter;
			if (takes_arg(o))
				*s++ = ':';
		}
	}
	*s = '\0';
	lopts[n++] = (struct option){ "help", no_argument, NULL, 'h' };
	lopts[n] = (struct option){ NULL, 0, NULL, 0 };
}

/* getopt's '?' or ':': one line naming the option as typed. optopt names a
 * short option; for a long one, argv[optind - 1] does. */
static int bad_option(int c, char **argv)
{
	char letter[3] = { '-', (char)optopt, '\0' };
	const char *name = optopt > 0 && optopt < OPT_VAL ? letter : argv[optind - 1];

	log_err("bad option '%s'%s (see --help)", name, c == ':' ? ": needs a value" : "");
	return 2;
}

static int check_required(const struct opt_prog *p, const bool *seen)
{
	for (size_t i = 0; i < p->nopts; i++) {
		const struct opt *o = &p->opts[i];

		if (!o->required || seen[i])
			continue;
		if (o->letter)
			log_err("missing -%c %s (see --help)", o->letter, o->arg ? o->arg : "");
		else
			log_err("missing --%s %s (see --help)", o->name, o->arg ? o->arg : "");
		return 2;
	}
	return 0;
}

enum slot { SLOT_OPTION, SLOT_WORD, SLOT_AFTER_DASHDASH };

/* Stable: the options first, then the words, then the words after "--". */
static void gather_words(int argc, char **argv, const unsigned char *slot, struct opt_end *end)
{
	char **sorted = xcalloc((size_t)argc, sizeof(*sorted));
	int n = 0;

	for (unsigned kind = SLOT_OPTION; kind <= SLOT_AFTER_DASHDASH; kind++) {
		if (kind == SLOT_WORD)
			end->words = n;
		if (kind == SLOT_AFTER_DASHDASH)
			end->dashdash = n;
		for (int i = 0; i < argc; i++)
			if (slot[i] == kind)
				sorted[n++] = argv[i];
	}
	memcpy(argv, sorted, (size_t)argc * sizeof(*argv));
	xfree(sorted);
}

/* The scan; slot[] says what each argv entry turned out to be. */
static int scan(const struct opt_prog *p, int argc, char **argv, unsigned char *slot,
		struct opt_end *end)
{
	struct option lopts[MAX_OPTS + 2];
	char shorts[2 * MAX_OPTS + 4];
	bool seen[MAX_OPTS] = { false };
	int arg_slot = -1; /* the argv entry that was the last option's value */
	const struct opt *o;
	bool dashdash;
	int c, ret;

	getopt_tables(p, lopts, shorts);
	opterr = 0; /* our own one-line messages */
	optind = 0; /* glibc: start over, forgetting the previous argv entirely */
	while ((c = getopt_long(argc, argv, shorts, lopts, NULL)) != -1) {
		if (c == 1) { /* a word, where it stood */
			slot[optind - 1] = SLOT_WORD;
			continue;
		}
		if (c == 'h') {
			opt_usage(p, stdout);
			end->exit_now = true;
			return 0;
		}
		if (c == '?' || c == ':')
			return bad_option(c, argv);
		if (c < OPT_VAL) { /* a letter: find its entry */
			for (size_t i = 0; i < p->nopts; i++)
				if (p->opts[i].letter == c && p->opts[i].type != OPT_SECTION)
					c = OPT_VAL + (int)i;
		}
		o = &p->opts[c - OPT_VAL];
		if (o->type == OPT_PRINT) {
			o->print(stdout);
			end->exit_now = true;
			return 0;
		}
		ret = parse_value(o, optarg);
		if (ret)
			return ret;
		if (o->given)
			*o->given = true;
		if (o->raw)
			*o->raw = optarg;
		seen[c - OPT_VAL] = true;
		arg_slot = optarg && optarg == argv[optind - 1] ? optind - 1 : -1;
	}
	/* Stopped at "--" (getopt steps over it and leaves it among the options),
	 * or ("+") at the first word. */
	dashdash = optind > 1 && strcmp(argv[optind - 1], "--") == 0 && optind - 1 != arg_slot;
	for (int i = optind; i < argc; i++)
		slot[i] = dashdash ? SLOT_AFTER_DASHDASH : SLOT_WORD;
	return check_required(p, seen);
}

int opt_parse(const struct opt_prog *p, int argc, char **argv, struct opt_end *end)
{
	unsigned char *slot;
	int ret;

	*end = (struct opt_end){ .words = argc, .dashdash = argc };
	if (p->nopts > MAX_OPTS) {
		log_err("option table: %zu options, at most %d", p->nopts, MAX_OPTS);
		return 2;
	}
	slot = xcalloc((size_t)argc, 1); /* SLOT_OPTION */
	ret = scan(p, argc, argv, slot, end);
	if (!ret && !end->exit_now)
		gather_words(argc, argv, slot, end);
	xfree(slot);
	return ret;
}

int opt_parse_or_exit(const struct opt_prog *p, int argc, char **argv)
{
	struct opt_end end;
	int ret = opt_parse(p, argc, argv, &end);

	if (ret || end.exit_now)
		exit(ret);
	return end.words;
}

char *opt_join_words(int n, char *const *argv)
{
	size_t len = 1;
	char *s;

	for (int i = 0; i < n; i++)
		len += strlen(argv[i]) + 1;
	s = xcalloc(1, len);
	for (int i = 0; i < n; i++) {
		if (i)
			strcat(s, " ");
		strcat(s, argv[i]);
	}
	return s;
}

/* "  -s, --size BYTES" */
static int option_column(const struct opt *o, char *buf, size_t len)
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

void opt_usage(const struct opt_prog *p, FILE *f)
{
	static const struct opt help = { .name = "help", .letter = 'h', .type = OPT_FLAG,
					 .help = "this text" };
	char buf[128];
	int col = 0;

	for (size_t i = 0; i < p->nopts; i++) {
		int w = p->opts[i].type == OPT_SECTION ? 0 :
			option_column(&p->opts[i], buf, sizeof(buf));

		if (w + 2 <= HELP_COL_MAX && w + 2 > col)
			col = w + 2;
	}
	fputs(p->synopsis, f);
	for (size_t i = 0; i <= p->nopts; i++) {
		const struct opt *o = i < p->nopts ? &p->opts[i] : &help;
		int w;

		if (o->type == OPT_SECTION) {
			fprintf(f, "%s\n", o->help);
			continue;
		}
		w = option_column(o, buf, sizeof(buf));
		if (w + 2 > col)
			fprintf(f, "%s\n%*s", buf, col, "");
		else
			fprintf(f, "%-*s", col, buf);
		usage_help(f, o->help ? o->help : "", col);
	}
	if (p->epilogue)
		fputs(p->epilogue, f);
}
