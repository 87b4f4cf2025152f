/* read/query.c: which expressions give address terms the summaries may use,
 * and that anything with a top-level `or`, a `not` term or a tunnel keyword
 * gives none; then the terms against a hand-built index. */
#include <string.h>

#include "read/read.h"
#include "unit.h"

static unsigned terms(const char *expr, struct addr_query *q)
{
	addr_query_parse(expr, q);
	return q->n;
}

#define A4(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (uint32_t)(d))

int main(void)
{
	static const char *const none[] = {
		"", "port 80", "host 198.18.0.1 or host 198.18.0.2", "not host 198.18.0.1",
		"! host 198.18.0.1", "host 198.18.0.1 or port 80", "port 80 or host 198.18.0.1",
		"host localhost", "host 198.18.0.1 and port 80 or udp", "src or dst host 198.18.0.1",
		"net 198.18", "mpls and host 198.18.0.1", "pppoes and host 198.18.0.1",
		"geneve and host 198.18.0.1", "vxlan and host 198.18.0.1", "(host 198.18.0.1 or port 1)",
		"ether host 02:00:00:00:00:01", "host 198.18.0.1 and (", "host 198.18.0.1 )",
		"(host 198.18.0.1) or (host 198.18.0.2)", "host 198.18.0.0/15", "net 198.18.0.1",
		"net 198.18.0.0/33",
	};
	struct addr_query q;

	for (size_t i = 0; i < sizeof(none) / sizeof(none[0]); i++)
		CHECK(terms(none[i], &q) == 0, "'%s' gave %u terms", none[i], q.n);

	CHECK_EQ(terms("host 198.18.0.1", &q), 1);
	CHECK(!q.t[0].v6 && q.t[0].lo4 == A4(198, 18, 0, 1) && q.t[0].hi4 == A4(198, 18, 0, 1), "host range");
	CHECK_EQ(terms("src host 198.18.0.1 and tcp port 443", &q), 1);
	CHECK_EQ(terms("udp and dst host 198.18.0.1 && not port 53", &q), 1);
	CHECK_EQ(terms("ip host 198.18.0.1 and ip6 host 2001:2::1", &q), 2);
	CHECK(q.t[1].v6 && q.t[1].lo6[0] == 0x20 && q.t[1].lo6[15] == 1 && !memcmp(q.t[1].lo6, q.t[1].hi6, 16),
	      "ipv6 host range");
	CHECK_EQ(terms("net 198.18.0.0/15", &q), 1);
	CHECK(q.t[0].lo4 == A4(198, 18, 0, 0) && q.t[0].hi4 == A4(198, 19, 255, 255), "net range");
	CHECK_EQ(terms("dst net 2001:2::/48", &q), 1);
	CHECK(q.t[0].v6 && q.t[0].hi6[5] == 0x00 && q.t[0].hi6[6] == 0xff && q.t[0].hi6[4] == 0x00 &&
	      q.t[0].lo6[15] == 0, "ipv6 net range");
	CHECK_EQ(terms("(host 198.18.0.1 and port 80) and vlan", &q), 1);
	CHECK_EQ(terms("(port 80 or port 81) and host 198.18.0.1", &q), 1);
	CHECK_EQ(terms("host 198.18.0.1 and ((host 198.18.0.2))", &q), 2);
	CHECK_EQ(terms("host 198.18.0.1 and 198.18.0.2", &q), 1); /* the inherited form is left out */

	/* against an index of two chunks */
	{
		struct index_chunk c[2] = {
			{ .off = 24, .end = 100, .records = 1, .n4 = 2, .a4 = 0, .n6 = 1, .a6 = 0 },
			{ .off = 100, .end = 200, .records = 1, .n4 = 1, .a4 = 2, .n6 = 0, .a6 = 1 },
		};
		uint32_t a4[3] = { A4(198, 18, 0, 1), A4(198, 19, 0, 1), A4(198, 18, 5, 1) };
		uint8_t a6[1][16] = { { 0x20, 0x01, 0, 0x02, [15] = 7 } };
		struct index ix = { .nchunks = 2, .chunks = c, .naddr4 = 3, .addr4 = a4, .naddr6 = 1, .addr6 = a6 };

		terms("host 198.18.0.1", &q);
		CHECK(addr_query_may_match(&q, &ix, &c[0]) && !addr_query_may_match(&q, &ix, &c[1]), "host");
		terms("host 198.18.0.1 and host 198.18.5.1", &q);
		CHECK(!addr_query_may_match(&q, &ix, &c[0]) && !addr_query_may_match(&q, &ix, &c[1]), "and");
		terms("net 198.18.0.0/16", &q);
		CHECK(addr_query_may_match(&q, &ix, &c[0]) && addr_query_may_match(&q, &ix, &c[1]), "net");
		terms("net 198.18.4.0/24", &q);
		CHECK(!addr_query_may_match(&q, &ix, &c[0]) && !addr_query_may_match(&q, &ix, &c[1]), "net gap");
		terms("host 2001:2::7", &q);
		CHECK(addr_query_may_match(&q, &ix, &c[0]) && !addr_query_may_match(&q, &ix, &c[1]), "host6");
		terms("net 2001:2::/48", &q);
		CHECK(addr_query_may_match(&q, &ix, &c[0]) && !addr_query_may_match(&q, &ix, &c[1]), "net6");
		c[1].flags = INDEX_CHUNK_ANY_ADDR;
		CHECK(addr_query_may_match(&q, &ix, &c[1]), "an any-address chunk is never skipped");
		terms("port 80", &q);
		CHECK(addr_query_may_match(&q, &ix, &c[0]), "no terms: never skipped");
	}
	return unit_exit("test_read_query");
}
