/* The time forms of --since and --until. The caller passes "now"; a time
 * without a zone is local time (TZ, as `date -d` reads it). */
#include <ctype.h>
#include <errno.h>
#include <string.h>
#include <time.h>

#include "read/read.h"

#define NS 1000000000ll

/* Digits [p, p+n) as a number; -1 if any is not a digit. */
static long digits(const char *p, int n)
{
	long v = 0;

	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)p[i]))
			return -1;
		v = v * 10 + (p[i] - '0');
	}
	return v;
}

/* ".ddd" (1..9 digits) at *p into ns, advancing *p; 0 if there is no dot. */
static int fraction(const char **p, int64_t *ns)
{
	const char *s = *p;
	int n = 0;
	int64_t v = 0;

	*ns = 0;
	if (*s != '.')
		return 0;
	s++;
	while (isdigit((unsigned char)s[n])) {
		if (n == 9)
			return -EINVAL;
		v = v * 10 + (s[n] - '0');
		n++;
	}
	if (!n)
		return -EINVAL;
	for (int i = n; i < 9; i++)
		v *= 10;
	*ns = v;
	*p = s + n;
	return 0;
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static int days_in_month(long y, long m)
{
	static const int dm[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return m == 2 && leap ? 29 : dm[m - 1];
}

static int rfc3339(const char *s, int64_t *out)
{
	long y, mo, d, h, mi, sec, zh = 0, zm = 0;
	int64_t frac, t;
	int sign = 0;
	const char *p;

	if (strlen(s) < 20 || s[4] != '-' || s[7] != '-' || !strchr("Tt ", s[10]) || s[13] != ':' ||
	    s[16] != ':')
		return -EINVAL;
	y = digits(s, 4);
	mo = digits(s + 5, 2);
	d = digits(s + 8, 2);
	h = digits(s + 11, 2);
	mi = digits(s + 14, 2);
	sec = digits(s + 17, 2);
	if (y < 0 || mo < 1 || mo > 12 || d < 1 || h < 0 || h > 23 || mi < 0 || mi > 59 || sec < 0 ||
	    sec > 60 || d > days_in_month(y, mo))
		return -EINVAL;
	p = s + 19;
	if (fraction(&p, &frac))
		return -EINVAL;
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		sign = *p == '+' ? 1 : -1;
		if (strlen(p) != 6 || p[3] != ':')
			return -EINVAL;
		zh = digits(p + 1, 2);
		zm = digits(p + 4, 2);
		if (zh < 0 || zh > 23 || zm < 0 || zm > 59)
			return -EINVAL;
		p += 6;
	} else {
		return -EINVAL; /* no zone: local time (local_time) */
	}
	if (*p)
		return -EINVAL;
	t = ((days_from_civil(y, (int)mo, (int)d) * 24 + h) * 60 + mi) * 60 + sec;
	t -= sign * (zh * 3600 + zm * 60);
	*out = t * NS + frac;
	return 0;
}

/* "HH:MM[:SS[.frac]]" at *p: into *tm's time and *frac, advancing *p. */
static int clock_part(const char **p, struct tm *tm, int64_t *frac)
{
	const char *s = *p;
	long h = digits(s, 2), mi = -1, sec = 0;

	if (h < 0 || s[2] != ':')
		return -EINVAL;
	mi = digits(s + 3, 2);
	s += 5;
	if (*s == ':') {
		sec = digits(s + 1, 2);
		s += 3;
	}
	if (h > 23 || mi < 0 || mi > 59 || sec < 0 || sec > 60 || fraction(&s, frac))
		return -EINVAL;
	tm->tm_hour = (int)h;
	tm->tm_min = (int)mi;
	tm->tm_sec = (int)sec;
	*p = s;
	return 0;
}

/*
 * A time without a zone, in local time as `date -d` takes it:
 * "YYYY-MM-DD", "YYYY-MM-DD HH:MM[:SS[.frac]]" (or with a T), and
 * "HH:MM[:SS[.frac]]" (today, by `now_ns`'s local date). mktime decides
 * daylight saving time (a time that happens twice is taken as mktime does).
 */
static int local_time(const char *s, int64_t now_ns, int64_t *out)
{
	struct tm tm = { 0 };
	int64_t frac = 0;
	const char *p = s;
	time_t t;

	if (strlen(s) >= 10 && s[4] == '-' && s[7] == '-') {
		long y = digits(s, 4), mo = digits(s + 5, 2), d = digits(s + 8, 2);

		if (y < 1900 || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo))
			return -EINVAL;
		tm.tm_year = (int)y - 1900;
		tm.tm_mon = (int)mo - 1;
		tm.tm_mday = (int)d;
		p = s + 10;
		if (*p && !strchr("Tt ", *p))
			return -EINVAL;
		if (*p && (p++, clock_part(&p, &tm, &frac)))
			return -EINVAL;
	} else {
		time_t now = (time_t)(now_ns / NS);

		if (!localtime_r(&now, &tm) || clock_part(&p, &tm, &frac))
			return -EINVAL;
	}
	if (*p)
		return -EINVAL;
	tm.tm_isdst = -1;
	t = mktime(&tm);
	if (t == (time_t)-1 && (tm.tm_year != 69 || tm.tm_mon != 11 || tm.tm_mday != 31))
		return -EINVAL;
	*out = (int64_t)t * NS + frac;
	return 0;
}

static int epoch(const char *s, int64_t *out)
{
	const char *p = s;
	int64_t sec = 0, frac;
	int n = 0;

	while (isdigit((unsigned char)*p)) {
		if (++n > 12)
			return -EINVAL;
		sec = sec * 10 + (*p++ - '0');
	}
	if (!n || fraction(&p, &frac) || *p)
		return -EINVAL;
	*out = sec * NS + frac;
	return 0;
}

static int relative(const char *s, int64_t now_ns, int64_t *out)
{
	const char *p = s;
	int64_t whole = 0, frac, unit, d;
	int n = 0;

	while (isdigit((unsigned char)*p)) {
		if (++n > 9)
			return -EINVAL;
		whole = whole * 10 + (*p++ - '0');
	}
	if (!n || fraction(&p, &frac))
		return -EINVAL;
	if (!strcmp(p, "ms"))
		unit = 0; /* below */
	else if (!strcmp(p, "s"))
		unit = 1;
	else if (!strcmp(p, "m"))
		unit = 60;
	else if (!strcmp(p, "h"))
		unit = 3600;
	else if (!strcmp(p, "d"))
		unit = 86400;
	else
		return -EINVAL;
	if (whole * unit > 10000000000ll) /* ~300 years: past that it is a typo */
		return -EINVAL;
	if (unit)
		d = whole * unit * NS + frac * unit;
	else
		d = whole * 1000000 + frac / 1000; /* milliseconds */
	*out = now_ns - d;
	return 0;
}

int read_parse_time(const char *s, int64_t now_ns, int64_t *out_ns)
{
	if (!s || !*s)
		return -EINVAL;
	if (s[0] == '@')
		return epoch(s + 1, out_ns);
	if (s[0] == '-')
		return relative(s + 1, now_ns, out_ns);
	if (rfc3339(s, out_ns) == 0)
		return 0;
	return local_time(s, now_ns, out_ns);
}
