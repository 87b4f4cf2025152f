#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "util/util.h"

static const char *program = "ringcap";

void log_set_program(const char *name)
{
	program = name;
}

static void vlog(const char *level, const char *fmt, va_list ap)
{
	char line[1024];

	/* One write per line so lines from several threads never interleave. */
	vsnprintf(line, sizeof(line), fmt, ap);
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
