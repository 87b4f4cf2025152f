/* The -w pattern as a matcher. strftime conversions become the character
 * classes their output can take (%Y four digits, %m two, ...); the rotation
 * suffix is what the writer appends: nothing, a number from 1 (-C), or a
 * number zero-padded to -W's width (-C -W). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "retention/match.h"

/* What one strftime conversion can print, as ERE; NULL: not supported. */
static const char *conversion_re(char c)
{
	switch (c) {
	case 'Y': case 'G': return "[0-9]{4}";
	case 'C': case 'y': case 'g': case 'm': case 'd': case 'H': case 'I': case 'M':
	case 'S': case 'U': case 'W': case 'V': return "[0-9]{2}";
	case 'j': return "[0-9]{3}";
	case 'e': case 'k': case 'l': return "[ 0-9][0-9]";
	case 'u': case 'w': return "[0-9]";
	case 's': return "[0-9]+";
	case 'F': return "[0-9]{4}-[0-9]{2}-[0-9]{2}";
	case 'T': return "[0-9]{2}:[0-9]{2}:[0-9]{2}";
	case 'R': return "[0-9]{2}:[0-9]{2}";
	case 'a': case 'A': case 'b': case 'B': case 'h': case 'p': case 'P': case 'Z':
		return "[A-Za-z]+";
	case 'z': return "[+-][0-9]{4}";
	case '%': return "%";
	default: return NULL;
	}
}

static int append(char *re, size_t len, size_t *n, const char *s)
{
	size_t l = strlen(s);

	if (*n + l >= len)
		return -ENAMETOOLONG;
	memcpy(re + *n, s, l + 1);
	*n += l;
	return 0;
}

/* The last component of the pattern as an anchored ERE. */
static int base_re(const char *base, bool conversions, char *re, size_t len, size_t *n)
{
	int ret = append(re, len, n, "^");

	for (const char *c = base; *c && !ret; c++) {
		char lit[3] = { '\\', *c, 0 };

		if (conversions && *c == '%') {
			const char *part;

			c++;
			while (*c == 'E' || *c == 'O') /* modifiers: same shape in the C locale */
				c++;
			part = conversion_re(*c);
			if (!part)
				return -EINVAL;
			ret = append(re, len, n, part);
		} else if (strchr(".[]()*+?{}|^$\\", *c)) {
			ret = append(re, len, n, lit);
		} else {
			ret = append(re, len, n, lit + 1);
		}
	}
	return ret;
}

int matcher_compile(struct name_matcher *m, const struct retention_pattern *p)
{
	const char *slash = strrchr(p->path, '/');
	const char *base = slash ? slash + 1 : p->path;
	char re[PATH_MAX * 2];
	size_t n = 0;
	int ret;

	memset(m, 0, sizeof(*m));
	if (!*base)
		return -EINVAL;
	if (slash) {
		size_t dlen = slash == p->path ? 1 : (size_t)(slash - p->path);

		if (dlen >= sizeof(m->dir))
			return -ENAMETOOLONG;
		memcpy(m->dir, p->path, dlen);
		if (p->strftime && memchr(m->dir, '%', dlen))
			return -EOPNOTSUPP;
	} else {
		strcpy(m->dir, ".");
	}
	ret = base_re(base, p->strftime, re, sizeof(re), &n);
	if (!ret && p->numbered && p->max_files) {
		unsigned width = 1;
		char digits[32];

		for (unsigned v = p->max_files - 1; v >= 10; v /= 10)
			width++;
		snprintf(digits, sizeof(digits), "[0-9]{%u}", width);
		ret = append(re, sizeof(re), &n, digits);
	} else if (!ret && p->numbered) {
		ret = append(re, sizeof(re), &n, "([1-9][0-9]*)?");
	}
	if (!ret)
		ret = append(re, sizeof(re), &n, "$");
	if (ret)
		return ret;
	if (regcomp(&m->re, re, REG_EXTENDED | REG_NOSUB))
		return -EINVAL;
	m->compiled = true;
	return 0;
}

bool matcher_match(const struct name_matcher *m, const char *name)
{
	return m->compiled && regexec(&m->re, name, 0, NULL, 0) == 0;
}

void matcher_free(struct name_matcher *m)
{
	if (m->compiled)
		regfree(&m->re);
	m->compiled = false;
}
