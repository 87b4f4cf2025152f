#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "util/util.h"

static const char *program = "ringcap";

void log_set_program(const char *name)
{
	program = name;
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

static void vlog(const char *level, const char *fmt, va_list ap)
{
	char raw[1024], line[1024];

	vsnprintf(raw, sizeof(raw), fmt, ap);
	escape_controls(raw, line, sizeof(line));
	/* One write per line so lines from several threads never interleave. */
	fprintf(stderr, "%s: %s%s\n", program, level, line);
}

void log_err(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlog("", fmt, ap);
	va_end(ap);
}

void log_warn(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlog("warning: ", fmt, ap);
	va_end(ap);
}

void die(int status, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlog("", fmt, ap);
	va_end(ap);
	exit(status);
}
