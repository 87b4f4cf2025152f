/* read/time.c: the --since/--until forms, against values worked out by hand
 * (and by `date -u -d ... +%s`), and the malformed ones refused. */
#include <errno.h>

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

	bad("");
	bad("2026-12-01T14:02:00");        /* no zone: RFC 3339 needs one */
	bad("2026-12-01");
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
