/*
 * Which parts of a tcpdump expression name addresses every matching packet
 * must carry. libpcap's `and` and `or` have the same precedence and group to
 * the left, so only an expression with no top-level `or` is a conjunction of
 * its top-level parts; each part we recognise becomes a term, each part we do
 * not (ports, `not ...`, names, anything) is left out, which only makes the
 * check weaker, never wrong.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "read/read.h"

#define MAX_TOKENS 256
#define TOKEN_LEN 64

struct tokens {
	unsigned n;
	char t[MAX_TOKENS][TOKEN_LEN];
	bool overflow;
};

static void push(struct tokens *tk, const char *s, size_t len)
{
	if (tk->n == MAX_TOKENS || len >= TOKEN_LEN) {
		tk->overflow = true;
		return;
	}
	memcpy(tk->t[tk->n], s, len);
	tk->t[tk->n][len] = '\0';
	tk->n++;
}

static void tokenize(const char *s, struct tokens *tk)
{
	tk->n = 0;
	tk->overflow = false;
	while (*s) {
		size_t len = 0;

		if (*s == ' ' || *s == '\t' || *s == '\n') {
			s++;
			continue;
		}
		if (*s == '(' || *s == ')' || (*s == '!' && s[1] != '=')) {
			push(tk, s, 1);
			s++;
			continue;
		}
		while (s[len] && !strchr(" \t\n()", s[len]) && !(s[len] == '!' && s[len + 1] != '='))
			len++;
		push(tk, s, len);
		s += len;
	}
}

static bool is(const char *tok, const char *a, const char *b)
{
	return !strcmp(tok, a) || (b && !strcmp(tok, b));
}

static void add_term(struct addr_query *q, const struct addr_term *t)
{
	if (q->n < QUERY_MAX_TERMS)
		q->t[q->n++] = *t; /* past the cap a term is dropped: weaker, still right */
}

/* "ADDR" (host) or "ADDR/LEN" (net) into a range. */
static bool parse_range(const char *v, bool net, struct addr_term *t)
{
	char addr[TOKEN_LEN];
	const char *slash = strchr(v, '/');
	long len = -1;
	uint8_t a6[16];
	struct in_addr a4;

	if (net != !!slash)
		return false;
	if (slash) {
		char *end;

		len = strtol(slash + 1, &end, 10);
		if (end == slash + 1 || *end)
			return false;
		snprintf(addr, sizeof(addr), "%.*s", (int)(slash - v), v);
	} else {
		snprintf(addr, sizeof(addr), "%s", v);
	}
	memset(t, 0, sizeof(*t));
	if (inet_pton(AF_INET, addr, &a4) == 1) {
		uint32_t a = ntohl(a4.s_addr), mask;

		if (len < 0)
			len = 32;
		if (len > 32)
			return false;
		mask = len ? ~0u << (32 - len) : 0;
		t->lo4 = a & mask;
		t->hi4 = a | ~mask;
		return true;
	}
	if (inet_pton(AF_INET6, addr, a6) == 1) {
		if (len < 0)
			len = 128;
		if (len > 128)
			return false;
		t->v6 = true;
		for (int i = 0; i < 16; i++) {
			int bits = (int)len - 8 * i;
			uint8_t m = bits >= 8 ? 0xff : bits <= 0 ? 0 : (uint8_t)(0xff << (8 - bits));

			t->lo6[i] = a6[i] & m;
			t->hi6[i] = a6[i] | (uint8_t)~m;
		}
		return true;
	}
	return false;
}

/* [ip|ip6|arp|rarp] [src|dst] host ADDR | ... net ADDR/LEN, exactly. */
static void term(const struct tokens *tk, unsigned s, unsigned e, struct addr_query *q)
{
	struct addr_term t;
	bool net;

	if (s < e && (is(tk->t[s], "ip", "ip6") || is(tk->t[s], "arp", "rarp")))
		s++;
	if (s < e && is(tk->t[s], "src", "dst"))
		s++;
	if (e - s != 2 || !is(tk->t[s], "host", "net"))
		return;
	net = !strcmp(tk->t[s], "net");
	if (parse_range(tk->t[s + 1], net, &t))
		add_term(q, &t);
}

/* The part [s, e) as a conjunction: false if it has a top-level `or` or its
 * parentheses do not balance (then nothing of it may be used). */
static bool conjunction(const struct tokens *tk, unsigned s, unsigned e, struct addr_query *q)
{
	unsigned start = s;
	int depth = 0;

	for (unsigned i = s; i < e; i++) {
		if (!strcmp(tk->t[i], "("))
			depth++;
		else if (!strcmp(tk->t[i], ")") && --depth < 0)
			return false;
		else if (!depth && is(tk->t[i], "or", "||"))
			return false;
	}
	if (depth)
		return false;
	for (unsigned i = s; i <= e; i++) {
		if (i < e && !strcmp(tk->t[i], "("))
			depth++;
		else if (i < e && !strcmp(tk->t[i], ")"))
			depth--;
		if (i < e && (depth || !is(tk->t[i], "and", "&&")))
			continue;
		/* a whole part [start, i) */
		if (i - start >= 2 && !strcmp(tk->t[start], "(") && !strcmp(tk->t[i - 1], ")")) {
			/* "( ... )" as one part: its own conjunction, if it is one
			 * group and not "(a) op (b)" */
			int d = 0;
			bool one_group = true;

			for (unsigned k = start; k < i - 1; k++) {
				d += !strcmp(tk->t[k], "(") - !strcmp(tk->t[k], ")");
				if (!d)
					one_group = false;
			}
			if (one_group) {
				struct addr_query inner = { 0 };

				if (conjunction(tk, start + 1, i - 1, &inner))
					for (unsigned k = 0; k < inner.n; k++)
						add_term(q, &inner.t[k]);
			}
		} else {
			term(tk, start, i, q);
		}
		start = i + 1;
	}
	return true;
}

void addr_query_parse(const char *expr, struct addr_query *q)
{
	static const char *const tunnels[] = { "mpls", "pppoes", "geneve", "vxlan" };
	struct tokens *tk;

	memset(q, 0, sizeof(*q));
	if (!expr || !*expr)
		return;
	tk = calloc(1, sizeof(*tk));
	if (!tk)
		return;
	tokenize(expr, tk);
	if (tk->overflow)
		goto out;
	for (unsigned i = 0; i < tk->n; i++)
		for (unsigned k = 0; k < sizeof(tunnels) / sizeof(tunnels[0]); k++)
			if (!strcmp(tk->t[i], tunnels[k]))
				goto out;
	if (!conjunction(tk, 0, tk->n, q))
		q->n = 0;
out:
	free(tk);
}

bool addr_query_may_match(const struct addr_query *q, const struct index *ix, const struct index_chunk *c)
{
	for (unsigned i = 0; i < q->n; i++) {
		const struct addr_term *t = &q->t[i];

		if (t->v6 ? !index_chunk_may_have6(ix, c, t->lo6, t->hi6)
			  : !index_chunk_may_have4(ix, c, t->lo4, t->hi4))
			return false;
	}
	return true;
}
