/*
 * util/opt — the command line of every program (ringcap, ringcap-read, the
 * bench tools) as one declarative table: each option once, with its type,
 * range and help text. The table drives getopt_long, the typed parsers, the
 * one error line "PROG: bad WHAT 'VALUE': WHY" and the --help text.
 *
 * A program lists its options (struct opt) and calls opt_parse(), which
 * returns; the bench tools call opt_parse_or_exit(). The checks that tie
 * options together stay in the program, after the table parse, and print
 * their one line with opt_bad().
 *
 * Words that are not options (a filter expression, paths) may stand before,
 * between and after the options, as tcpdump's: they come back in order at the
 * end of argv. "--" ends the options; the words after it are words even if
 * they start with '-'. A table with `in_order` stops at the first word
 * instead (a program that runs a command with options of its own).
 *
 * Any option may be given again: the types below keep the last value; an
 * OPT_CUSTOM parser may append instead (ringcap's --arp pools).
 *
 * Threading: main's set-up phase only (getopt's globals). Blocking: no; an
 * OPT_CUSTOM parser may look things up (ringcap's -Z reads the user table).
 * Ownership: string fields get pointers into argv, which the parse reorders
 * (the words move to its end) but never frees; nothing is allocated that
 * outlives the call.
 */
#ifndef RINGCAP_UTIL_OPT_H
#define RINGCAP_UTIL_OPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum opt_type {
	OPT_FLAG,     /* bool field = true; no field: accepted and ignored */
	OPT_CLEAR,    /* bool field = false (--no-direct) */
	OPT_U64,      /* whole number in [min, max], times `scale`, into an integer field */
	OPT_SIZE,     /* bytes, suffixes k m g (parse_size), in [min, max]; a bare number
	               * is in units of `scale` (0 means bytes) */
	OPT_DURATION, /* 10, 2.5, 500ms (parse_duration_ns): ns, > 0 and >= min, <= max
	               * (max 0: no limit), into a uint64_t */
	OPT_RATE,     /* "max" gives 0, else a whole number in [min, max] */
	OPT_STRING,   /* const char * into argv; min or max > 0: 1..max characters (max 0:
	               * any length) */
	OPT_MAC,      /* uint8_t[6] */
	OPT_IPV4,     /* uint32_t, host order */
	OPT_CHOICE,   /* one of `choices` (NULL-terminated): its index into an integer field */
	OPT_CUSTOM,   /* parse(arg, field) returns NULL, or why the value is bad */
	OPT_PRINT,    /* no argument: print(stdout), and the parse ends as with --help */
	OPT_SECTION,  /* not an option: a heading in --help (`help` is its text) */
};

#define OPT_POW2      0x1u /* OPT_SIZE: a power of two */
#define OPT_WHOLE_MIB 0x2u /* OPT_SIZE: a multiple of 1 MiB */

struct opt {
	const char *name;      /* long option, without "--"; NULL for a section */
	char letter;           /* short option, 0 for none */
	enum opt_type type;
	void *field;           /* where the value goes (see the type) */
	size_t width;          /* sizeof the integer field: 1, 2, 4 or 8 */
	uint64_t min, max;     /* before scaling */
	uint64_t scale;        /* OPT_U64: stored value = parsed * scale; OPT_SIZE: the
	                        * unit of a bare number (0 means 1) */
	unsigned flags;        /* OPT_POW2, OPT_WHOLE_MIB */
	const char *const *choices;
	const char *(*parse)(const char *arg, void *field);
	void (*print)(FILE *f);
	bool required;         /* missing: "missing -i IFACE (see --help)", status 2 */
	bool *given;           /* set when the option appears (may be NULL) */
	const char **raw;      /* gets the argument as typed (may be NULL) */
	const char *what;      /* the value in the error line ("frame size"); default: --name */
	const char *why;       /* what was expected; default from the type and range */
	const char *arg;       /* --help: the argument's name ("BYTES"); NULL: no argument */
	const char *help;      /* --help: text; '\n' starts a continuation line */
};

/* An integer field and its width, for a table entry. */
#define OPT_INT(f) .field = (f), .width = sizeof(*(f))

struct opt_prog {
	const char *synopsis;  /* --help text before the options (usage lines, what it does) */
	const char *epilogue;  /* after them (exit status, examples); may be NULL */
	const struct opt *opts;
	size_t nopts;
	bool in_order;         /* stop at the first word that is not an option ("+"),
	                        * so a command after the options keeps its own */
};

/* Where the parse ended. */
struct opt_end {
	bool exit_now;         /* --help or an OPT_PRINT option printed its text: exit 0 */
	int words;             /* argv[words..argc): the words, in the order given */
	int dashdash;          /* argv[dashdash..argc): those that followed "--"
	                        * (argc when there was no "--" or nothing after it) */
};

/*
 * Parse argv against the table; fields of options not given keep what the
 * caller put there (the defaults). Returns 0 to go on, with *end filled; -h,
 * --help and OPT_PRINT options print on stdout and return 0 with
 * end->exit_now set. An unknown option, a missing value, a bad value or a
 * required option not given prints one line on stderr and returns 2; the
 * first bad one ends the parse. Never exits.
 */
int opt_parse(const struct opt_prog *p, int argc, char **argv, struct opt_end *end);

/* argv[0..n) joined by blanks, as one allocated string ("" when n is 0); the
 * caller frees it with xfree(). A filter expression from its words. */
char *opt_join_words(int n, char *const *argv);

/* opt_parse for a program with nothing to undo: exits 0 after --help, 2 on
 * bad input. Returns end.words. */
int opt_parse_or_exit(const struct opt_prog *p, int argc, char **argv);

/* The usage text: synopsis, one line per option (continuations indented), -h,
 * epilogue. */
void opt_usage(const struct opt_prog *p, FILE *f);

/* "PROG: bad WHAT 'VALUE': WHY" on stderr; returns 2, the exit status. */
int opt_bad(const char *what, const char *value, const char *why);

/* opt_bad, then exit 2: set-up checks of a program with nothing to undo. */
void opt_die(const char *what, const char *value, const char *why) __attribute__((noreturn));

#endif
