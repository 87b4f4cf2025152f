/* read/time.c: the --since/--until forms, against values worked out by hand
 * (and by `date -u -d ... +%s`), local times (no zone) against `date -d` in
 * three TZs, and the malformed ones refused. */
#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "read/read.h"
#include "unit.h"

#define S 1000000000ll

static void ok(const char *s, int64_t now, int64_t want)
{
	int64_t got = 0;
	int ret = read_parse_time(s, now, &got);

	CHECK(ret == 0 && got == want, "'%s': ret %d got %lld want %lld", s, ret, (long long)got,
	      (long long)want);
}

static void bad(const char *s)
{
	int64_t got;

	CHECK(read_parse_time(s, 0, &got) == -EINVAL, "'%s' accepted (%lld)", s, (long long)got);
}

/* `date -d` on the same text, in the same TZ: seconds since the epoch. */
static int64_t date_d(const char *s)
{
	char cmd[256], out[64] = "";
	FILE *f;

	snprintf(cmd, sizeof(cmd), "date -d '%s' +%%s", s);
	f = popen(cmd, "r");
	if (!f || !fgets(out, sizeof(out), f)) {
		CHECK(0, "date -d '%s' failed", s);
		if (f)
			pclose(f);
		return 0;
	}
	pclose(f);
	return strtoll(out, NULL, 10);
}

/* A time without a zone is local time, as `date -d` reads it, in two zones
 * (one with daylight saving time: a summer and a winter date). */
static void local_times(void)
{
	static const char *zones[] = { "America/New_York", "Asia/Kolkata", "UTC" };
	static const char *forms[] = {
		"2026-12-07 10:00:00", "2026-12-07T10:00", "2026-07-01 10:00:00", "2026-12-07",
		"2026-03-08 12:30:15", "2026-11-01 00:30", "10:00", "23:59:59", "00:00",
	};
	struct timespec ts;
	int64_t now;

	clock_gettime(CLOCK_REALTIME, &ts);
	now = (int64_t)ts.tv_sec * S + ts.tv_nsec;
	for (unsigned z = 0; z < sizeof(zones) / sizeof(zones[0]); z++) {
		setenv("TZ", zones[z], 1);
		tzset();
		for (unsigned i = 0; i < sizeof(forms) / sizeof(forms[0]); i++)
			ok(forms[i], now, date_d(forms[i]) * S);
		ok("2026-12-07 10:00:00.5", now, date_d("2026-12-07 10:00:00") * S + 500000000);
	}
	/* New York is 5 hours behind UTC in December */
	setenv("TZ", "America/New_York", 1);
	tzset();
	ok("2026-12-07 10:00:00", 0, 1796655600ll * S);
	unsetenv("TZ");
	tzset();
}

int main(void)
{
	const int64_t now = 1764597720ll * S + 250000000;

	/* date -u -d 2026-12-01T14:02:00Z +%s = 1796133720 */
	ok("2026-12-01T14:02:00Z", 0, 1796133720ll * S);
	ok("2026-12-01T14:02:00.25Z", 0, 1796133720ll * S + 250000000);
	ok("2026-12-01t14:02:00.000000001z", 0, 1796133720ll * S + 1);
	ok("2026-12-01 14:02:00.123456789Z", 0, 1796133720ll * S + 123456789);
	ok("2026-12-01T15:02:00+01:00", 0, 1796133720ll * S);
	ok("2026-12-01T08:32:00-05:30", 0, 1796133720ll * S);
	ok("1970-01-01T00:00:00Z", 0, 0);
	ok("1969-12-31T23:59:59Z", 0, -S);
	ok("2024-02-29T00:00:00Z", 0, 1709164800ll * S);  /* a leap day */
	ok("2000-03-01T00:00:00Z", 0, 951868800ll * S);
	ok("2025-12-01T14:02:00Z", 0, 1764597720ll * S);
	ok("@1764597720.25", 0, 1764597720ll * S + 250000000);
	ok("@1764597720", 0, 1764597720ll * S);
	ok("@0.000000001", 0, 1);
	ok("-15m", now, now - 900 * S);
	ok("-2h", now, now - 7200 * S);
	ok("-30s", now, now - 30 * S);
	ok("-1d", now, now - 86400 * S);
	ok("-1.5h", now, now - 5400 * S);
	ok("-0.25s", now, now - 250000000);
	ok("-250ms", now, now - 250000000);
	ok("-1.5ms", now, now - 1500000);
	local_times();
	bad("2026-12-01 14:02:00 UTC");
	bad("25:00");
	bad("10:60");
	bad("10");
	bad("10:00:00+01:00x");
	bad("2026-02-30");
	bad("2026-12-01T");
	bad("-15ms5");

	bad("");
	bad("2026-13-01T14:02:00Z");
	bad("2026-02-29T14:02:00Z");       /* not a leap year */
	bad("2026-12-01T24:00:00Z");
	bad("2026-12-01T14:60:00Z");
	bad("2026-12-01T14:02:00.Z");
	bad("2026-12-01T14:02:00.1234567891Z"); /* ten fraction digits */
	bad("2026-12-01T14:02:00+1:00");
	bad("2026-12-01T14:02:00+01:00x");
	bad("2026-12-01X14:02:00Z");
	bad("@");
	bad("@12a");
	bad("@-5");
	bad("-15");
	bad("-15x");
	bad("-m");
	bad("-999999999d");                 /* centuries: a typo */
	bad("yesterday");
	return unit_exit("test_read_time");
}
