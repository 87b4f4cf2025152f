#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/util.h"

/* strtoull/strtod report overflow only through errno: read it, then give the
 * caller's errno back (util.h promises to leave it alone). */
static unsigned long long to_ull(const char *s, char **end, int *err)
{
	int saved = errno;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, end, 10);
	*err = errno;
	errno = saved;
	return v;
}

int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;
	int err;

	if (!s || !isdigit((unsigned char)s[0]))
		return -EINVAL;
	v = to_ull(s, &end, &err);
	if (err || *end)
		return err == ERANGE ? -ERANGE : -EINVAL;
	if (v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

static int suffix_scale(const char *suf, uint64_t unit, uint64_t *scale)
{
	static const struct { const char *name; uint64_t scale; } units[] = {
		{ "", 0 }, { "b", 1 },
		{ "k", 1ull << 10 }, { "kb", 1ull << 10 }, { "kib", 1ull << 10 },
		{ "m", 1ull << 20 }, { "mb", 1ull << 20 }, { "mib", 1ull << 20 },
		{ "g", 1ull << 30 }, { "gb", 1ull << 30 }, { "gib", 1ull << 30 },
	};

	for (size_t i = 0; i < ARRAY_SIZE(units); i++) {
		if (strcasecmp(suf, units[i].name) == 0) {
			*scale = units[i].scale ? units[i].scale : unit;
			return 0;
		}
	}
	return -EINVAL;
}

int parse_size(const char *s, uint64_t unit, uint64_t min, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;
	uint64_t scale;
	int err;

	if (!s || !isdigit((unsigned char)s[0]))
		return -EINVAL;
	v = to_ull(s, &end, &err);
	if (err)
		return -ERANGE;
	if (suffix_scale(end, unit, &scale))
		return -EINVAL;
	if (v > UINT64_MAX / scale)
		return -ERANGE;
	v *= scale;
	if (v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

int parse_duration_ns(const char *s, uint64_t *out_ns)
{
	char *end;
	double v, scale;
	int saved = errno, err;

	if (!s || !(isdigit((unsigned char)s[0]) || s[0] == '.'))
		return -EINVAL;
	errno = 0;
	v = strtod(s, &end);
	err = errno;
	errno = saved;
	if (err || !isfinite(v) || v < 0)
		return -EINVAL;
	if (*end == '\0' || strcmp(end, "s") == 0)
		scale = 1e9;
	else if (strcmp(end, "ms") == 0)
		scale = 1e6;
	else if (strcmp(end, "us") == 0)
		scale = 1e3;
	else if (strcmp(end, "m") == 0)
		scale = 60e9;
	else if (strcmp(end, "h") == 0)
		scale = 3600e9;
	else if (strcmp(end, "d") == 0)
		scale = 86400e9;
	else
		return -EINVAL;
	if (v * scale > 1e18)
		return -ERANGE;
	*out_ns = (uint64_t)(v * scale);
	return 0;
}

int parse_mac(const char *s, uint8_t mac[6])
{
	unsigned int b[6];
	char tail;

	if (!s || strlen(s) != 17)
		return -EINVAL;
	if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5],
		   &tail) != 6)
		return -EINVAL;
	for (int i = 0; i < 6; i++) {
		if (!isxdigit((unsigned char)s[i * 3]) || !isxdigit((unsigned char)s[i * 3 + 1]))
			return -EINVAL;
		mac[i] = (uint8_t)b[i];
	}
	return 0;
}

int parse_ipv4(const char *s, uint32_t *out)
{
	struct in_addr a;

	if (!s || inet_pton(AF_INET, s, &a) != 1)
		return -EINVAL;
	*out = ntohl(a.s_addr);
	return 0;
}
