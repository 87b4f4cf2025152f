/*
 * bench/common — what every bench program's main() shares: one option table
 * that drives getopt_long, typed parsers with ranges, the --help text, and
 * one line "PROG: bad WHAT 'VALUE': WHY" with exit status 2 for bad input.
 *
 * A program describes each option once (struct bopt) and calls bopt_parse();
 * the checks that tie options together stay in the program, and use
 * bopt_bad() for their one line.
 *
 * Threading: main's set-up phase only (getopt's globals; exits on bad input).
 * Ownership: fields get pointers into argv for strings; nothing is allocated.
 */
#ifndef RINGCAP_BENCH_COMMON_H
#define RINGCAP_BENCH_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum bopt_type {
	BOPT_FLAG,     /* bool field = true; no field: accepted and ignored */
	BOPT_CLEAR,    /* bool field = false (--no-direct) */
	BOPT_U64,      /* whole number in [min, max], times `scale`, into an integer field */
	BOPT_SIZE,     /* bytes, suffixes k m g (util's parse_size), in [min, max] */
	BOPT_DURATION, /* 10, 2.5, 500ms (parse_duration_ns): ns in (0, max] (max 0: any) */
	BOPT_RATE,     /* "max" gives 0, else a whole number in [min, max] */
	BOPT_STRING,   /* const char * into argv; max > 0: 1..max characters */
	BOPT_MAC,      /* uint8_t[6] */
	BOPT_IPV4,     /* uint32_t, host order */
	BOPT_CHOICE,   /* one of `choices` (NULL-terminated): its index into an integer field */
	BOPT_CUSTOM,   /* parse(arg, field) returns NULL, or why the value is bad */
	BOPT_SECTION,  /* not an option: a heading in --help (`help` is its text) */
};

#define BOPT_POW2  0x1u /* BOPT_SIZE: a power of two */
#define BOPT_WHOLE_MIB 0x2u /* BOPT_SIZE: a multiple of 1 MiB */

struct bopt {
	const char *name;      /* long option, without "--"; NULL for a section */
	char letter;           /* short option, 0 for none */
	enum bopt_type type;
	void *field;           /* where the value goes (see the type) */
	size_t width;          /* sizeof the integer field: 1, 2, 4 or 8 */
	uint64_t min, max;     /* before scaling */
	uint64_t scale;        /* BOPT_U64: stored value = parsed * scale (0 means 1) */
	unsigned flags;        /* BOPT_POW2, BOPT_WHOLE_MIB */
	const char *const *choices;
	const char *(*parse)(const char *arg, void *field);
	bool required;         /* missing: "missing -i IFACE (see --help)", exit 2 */
	bool *given;           /* set when the option appears (may be NULL) */
	const char **raw;      /* gets the argument as typed (may be NULL) */
	const char *what;      /* the value in the error line ("frame size"); default: --name */
	const char *why;       /* what was expected; default from the type and range */
	const char *arg;       /* --help: the argument's name ("BYTES"); NULL: no argument */
	const char *help;      /* --help: text; '\n' starts a continuation line */
};

/* An integer field and its width, for a table entry. */
#define BOPT_INT(f) .field = (f), .width = sizeof(*(f))

struct bopt_prog {
	const char *synopsis;  /* --help text before the options (usage lines, what it does) */
	const char *epilogue;  /* after them (exit status, examples); may be NULL */
	const struct bopt *opts;
	size_t nopts;
	bool in_order;         /* stop at the first argument that is not an option ("+"),
	                        * so a command after the options keeps its own */
};

/*
 * Parse argv against the table; fields of options not given keep what the
 * caller put there (the defaults). -h/--help prints the usage on stdout and
 * exits 0; an unknown option, a missing value, a bad value or a required
 * option not given prints one line and exits 2. Returns the index of the first
 * argument left over.
 */
int bopt_parse(const struct bopt_prog *p, int argc, char **argv);

/* The usage text: synopsis, one line per option (continuations indented), -h. */
void bopt_usage(const struct bopt_prog *p, FILE *f);

/* "PROG: bad WHAT 'VALUE': WHY" on stderr, exit 2. */
void bopt_bad(const char *what, const char *value, const char *why)
	__attribute__((noreturn));

/* `s` as a JSON string, quotes included. */
void json_put_string(FILE *f, const char *s);

#endif
