#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/util.h"

/* Set once by log_set_program, before any other thread runs. */
static const char *program = "ringcap";
static bool to_journal;

/*
 * systemd connects a service's stderr to the journal and says so in
 * $JOURNAL_STREAM ("DEV:INODE" of that stream, sd-daemon(3)). Only when
 * stderr is still that stream do lines carry a "<N>" priority prefix the
 * journal takes off; a terminal, a file or a pipe (a test's grep) sees the
 * plain line.
 */
static bool stderr_is_journal(void)
{
	const char *env = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (!env || sscanf(env, "%llu:%llu", &dev, &ino) != 2)
		return false;
	return fstat(STDERR_FILENO, &st) == 0 && (unsigned long long)st.st_dev == dev &&
	       (unsigned long long)st.st_ino == ino;
}

void log_set_program(const char *name)
{
	program = name;
	to_journal = stderr_is_journal();
}

/*
 * Control characters as C escapes (\n, \t, \xHH): a message names files,
 * interfaces and filter text the user chose, and a newline in a -w name must
 * not start a line of its own that a log reader would take for ringcap's.
 */
static void escape_controls(const char *in, char *out, size_t len)
{
	size_t o = 0;

	for (; *in && o + 5 < len; in++) {
		unsigned char c = (unsigned char)*in;

		if (c >= 0x20 && c != 0x7f)
			out[o++] = (char)c;
		else if (c == '\n' || c == '\t' || c == '\r')
			o += (size_t)snprintf(out + o, len - o, "\\%c", c == '\n' ? 'n' : c == '\t' ? 't' : 'r');
		else
			o += (size_t)snprintf(out + o, len - o, "\\x%02x", c);
	}
	out[o] = '\0';
}

/* syslog priorities, as <syslog.h> numbers them */
enum { PRI_ERR = 3, PRI_WARNING = 4, PRI_NOTICE = 5, PRI_INFO = 6 };

static void vlog(int priority, const char *level, const char *fmt, va_list ap)
{
	char raw[1024], line[1024], pri[8] = "";

	vsnprintf(raw, sizeof(raw), fmt, ap);
	escape_controls(raw, line, sizeof(line));
	if (to_journal)
		snprintf(pri, sizeof(pri), "<%d>", priority);
	/* One write per line so lines from several threads never interleave. */
	fprintf(stderr, "%s%s: %s%s\n", pri, program, level, line);
}

/* log_err, log_warn, log_notice, log_info: one priority and prefix each */
#define LOG_AT(name, priority, level)                 \
	void name(const char *fmt, ...)               \
	{                                             \
		va_list ap;                           \
		va_start(ap, fmt);                    \
		vlog(priority, level, fmt, ap);       \
		va_end(ap);                           \
	}
LOG_AT(log_err, PRI_ERR, "")
LOG_AT(log_warn, PRI_WARNING, "warning: ")
LOG_AT(log_notice, PRI_NOTICE, "")
LOG_AT(log_info, PRI_INFO, "")

void die(int status, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlog(PRI_ERR, "", fmt, ap);
	va_end(ap);
	exit(status);
}
