/* Rotation names, tcpdump's way (see format.h), composed for the writer and
 * matched for retention from the same rules. */
#include <errno.h>
#include <stdio.h>

#include "format/format.h"

unsigned rotation_digits(unsigned max_files)
{
	unsigned width = 1;

	for (unsigned v = max_files ? max_files - 1 : 0; v >= 10; v /= 10)
		width++;
	return width;
}

int rotation_name(const struct rotation_names *n, unsigned index, time_t when, char *out, size_t len)
{
	char base[PATH_MAX];
	int w;

	if (n->strftime) {
		struct tm tm;

		localtime_r(&when, &tm);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
		/* the user's -w name is the format, as with tcpdump -G */
		if (!strftime(base, sizeof(base), n->path, &tm))
			return -ENAMETOOLONG;
#pragma GCC diagnostic pop
	} else {
		snprintf(base, sizeof(base), "%s", n->path);
	}
	if (n->max_files && n->numbered)
		w = snprintf(out, len, "%s%0*u", base, (int)rotation_digits(n->max_files),
			     index % n->max_files);
	else if (n->numbered && index)
		w = snprintf(out, len, "%s%u", base, index);
	else
		w = snprintf(out, len, "%s", base);
	return w < 0 || (size_t)w >= len ? -ENAMETOOLONG : 0;
}

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

int rotation_matcher_compile(struct rotation_matcher *m, const struct rotation_names *p)
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
		char digits[32];

		snprintf(digits, sizeof(digits), "[0-9]{%u}", rotation_digits(p->max_files));
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

bool rotation_matcher_match(const struct rotation_matcher *m, const char *name)
{
	return m->compiled && regexec(&m->re, name, 0, NULL, 0) == 0;
}

void rotation_matcher_free(struct rotation_matcher *m)
{
	if (m->compiled)
		regfree(&m->re);
	m->compiled = false;
}
