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
#include "util/util.h"

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

/* ------------------------------------------------------- the postings query */

struct postq_parser {
	const struct tokens *tk;
	unsigned at;
	struct post_query *q;
	bool bad;
};

static unsigned node_new(struct postq_parser *p, enum postq_kind kind)
{
	if (p->q->n == POSTQ_MAX_NODES) {
		p->bad = true;
		return 0;
	}
	memset(&p->q->node[p->q->n], 0, sizeof(p->q->node[0]));
	p->q->node[p->q->n].kind = kind;
	return p->q->n++;
}

static unsigned node_join(struct postq_parser *p, enum postq_kind kind, unsigned a, unsigned b)
{
	unsigned n = node_new(p, kind);

	p->q->node[n].a = a;
	p->q->node[n].b = b;
	return n;
}

static unsigned node_key(struct postq_parser *p, unsigned type, const uint8_t *lo, const uint8_t *hi, size_t len)
{
	unsigned n = node_new(p, POSTQ_KEY);

	p->q->node[n].type = type;
	memcpy(p->q->node[n].lo, lo, len);
	memcpy(p->q->node[n].hi, hi, len);
	return n;
}

static bool is_op(const char *t)
{
	return is(t, "and", "&&") || is(t, "or", "||") || is(t, "not", "!") || is(t, "(", ")");
}

/* A number in [0, max], all digits. */
static bool number(const char *t, long max, long *v)
{
	char *end;

	if (!*t || strspn(t, "0123456789") != strlen(t))
		return false;
	*v = strtol(t, &end, 10);
	return *v <= max;
}

static unsigned node_proto(struct postq_parser *p, long proto)
{
	uint8_t v = (uint8_t)proto;

	return node_key(p, INDEX_KEY_PROTO, &v, &v, 1);
}

static unsigned node_ports(struct postq_parser *p, long lo, long hi)
{
	uint8_t l[2] = { (uint8_t)(lo >> 8), (uint8_t)lo }, h[2] = { (uint8_t)(hi >> 8), (uint8_t)hi };

	return node_key(p, INDEX_KEY_PORT, l, h, 2);
}

/* The protocol number a protocol name stands for as a primitive, or -1. */
static long proto_name(const char *t)
{
	static const struct {
		const char *name;
		long proto;
	} names[] = { { "tcp", 6 }, { "udp", 17 }, { "sctp", 132 }, { "icmp", 1 }, { "icmp6", 58 }, { "igmp", 2 } };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(t, names[i].name))
			return names[i].proto;
	return -1;
}

/* The primitive [s, e): a KEY, an AND of two, or ALL when not decidable. */
static unsigned primitive(struct postq_parser *p, unsigned s, unsigned e)
{
	const struct tokens *tk = p->tk;
	long proto = -1, lo, hi;
	bool l4 = false;
	struct addr_term t;

	if (e - s == 1 && proto_name(tk->t[s]) >= 0)
		return node_proto(p, proto_name(tk->t[s]));
	if (e - s == 3 && is(tk->t[s], "ip", "ip6") && !strcmp(tk->t[s + 1], "proto") &&
	    number(tk->t[s + 2], 255, &lo))
		return node_proto(p, lo);
	if (e - s == 2 && !strcmp(tk->t[s], "proto") && number(tk->t[s + 1], 255, &lo))
		return node_proto(p, lo);
	if (s < e && (is(tk->t[s], "tcp", "udp") || !strcmp(tk->t[s], "sctp"))) {
		proto = proto_name(tk->t[s++]);
		l4 = true;
	} else if (s < e && (is(tk->t[s], "ip", "ip6") || is(tk->t[s], "arp", "rarp"))) {
		s++;
	}
	if (s < e && is(tk->t[s], "src", "dst"))
		s++;
	if (e - s != 2)
		return node_new(p, POSTQ_ALL);
	if (!l4 && is(tk->t[s], "host", "net") && parse_range(tk->t[s + 1], !strcmp(tk->t[s], "net"), &t)) {
		uint8_t a[4] = { (uint8_t)(t.lo4 >> 24), (uint8_t)(t.lo4 >> 16), (uint8_t)(t.lo4 >> 8), (uint8_t)t.lo4 };
		uint8_t b[4] = { (uint8_t)(t.hi4 >> 24), (uint8_t)(t.hi4 >> 16), (uint8_t)(t.hi4 >> 8), (uint8_t)t.hi4 };

		return t.v6 ? node_key(p, INDEX_KEY_ADDR6, t.lo6, t.hi6, 16) : node_key(p, INDEX_KEY_ADDR4, a, b, 4);
	}
	if (!strcmp(tk->t[s], "port") && number(tk->t[s + 1], 65535, &lo)) {
		hi = lo;
	} else if (!strcmp(tk->t[s], "portrange")) {
		const char *dash = strchr(tk->t[s + 1], '-');
		char first[TOKEN_LEN];

		snprintf(first, sizeof(first), "%.*s", dash ? (int)(dash - tk->t[s + 1]) : 0, tk->t[s + 1]);
		if (!dash || !number(first, 65535, &lo) || !number(dash + 1, 65535, &hi))
			return node_new(p, POSTQ_ALL);
		if (lo > hi) { /* libpcap swaps them */
			long x = lo;

			lo = hi;
			hi = x;
		}
	} else {
		return node_new(p, POSTQ_ALL);
	}
	if (!l4)
		return node_ports(p, lo, hi);
	return node_join(p, POSTQ_AND, node_proto(p, proto), node_ports(p, lo, hi));
}

static unsigned expr(struct postq_parser *p);

/* not X | ( expr ) | a primitive */
static unsigned unary(struct postq_parser *p)
{
	const struct tokens *tk = p->tk;
	unsigned s = p->at, n;

	if (p->at >= tk->n) {
		p->bad = true;
		return 0;
	}
	if (is(tk->t[p->at], "not", "!")) {
		p->at++;
		unary(p);
		return node_new(p, POSTQ_ALL); /* never a complement: all records */
	}
	if (!strcmp(tk->t[p->at], "(")) {
		p->at++;
		n = expr(p);
		if (p->at >= tk->n || strcmp(tk->t[p->at], ")"))
			p->bad = true;
		p->at++;
		return n;
	}
	while (p->at < tk->n && !is_op(tk->t[p->at]))
		p->at++;
	if (p->at == s) {
		p->bad = true;
		return 0;
	}
	return primitive(p, s, p->at);
}

/* libpcap's `and` and `or` have one precedence and group to the left. */
static unsigned expr(struct postq_parser *p)
{
	unsigned left = unary(p);

	while (!p->bad && p->at < p->tk->n && (is(p->tk->t[p->at], "and", "&&") || is(p->tk->t[p->at], "or", "||"))) {
		enum postq_kind kind = is(p->tk->t[p->at], "and", "&&") ? POSTQ_AND : POSTQ_OR;

		p->at++;
		left = node_join(p, kind, left, unary(p));
	}
	return left;
}

void post_query_parse(const char *expr_text, struct post_query *q)
{
	static const char *const shifts[] = { "vlan", "mpls", "pppoes", "geneve", "vxlan" };
	struct postq_parser p = { .q = q };
	struct tokens *tk;

	memset(q, 0, sizeof(*q));
	if (!expr_text || !*expr_text)
		return;
	tk = calloc(1, sizeof(*tk));
	if (!tk)
		return;
	tokenize(expr_text, tk);
	if (tk->overflow)
		goto out;
	for (unsigned i = 0; i < tk->n; i++)
		for (unsigned k = 0; k < sizeof(shifts) / sizeof(shifts[0]); k++)
			if (!strcmp(tk->t[i], shifts[k]))
				goto out;
	p.tk = tk;
	q->root = expr(&p);
	q->usable = !p.bad && p.at == tk->n;
out:
	free(tk);
}

/* ------------------------------------------------------------ evaluation */

static void offs_swap(struct index_offs *a, struct index_offs *b)
{
	struct index_offs t = *a;

	*a = *b;
	*b = t;
}

/* Node `i` over chunk `c`: false for "all records", else its offsets in *out. */
static bool eval(const struct post_query *q, unsigned i, const struct index *ix, const struct index_chunk *c,
		 struct index_offs *out)
{
	const struct postq_node *nd = &q->node[i];
	struct index_offs other = { 0 };
	bool a, b;
	size_t k = 0, j = 0, n = 0;

	switch (nd->kind) {
	case POSTQ_KEY:
		index_chunk_lookup(ix, c, nd->type, nd->lo, nd->hi, out);
		return true;
	case POSTQ_ALL:
		return false;
	default:
		break;
	}
	a = eval(q, nd->a, ix, c, out);
	b = eval(q, nd->b, ix, c, &other);
	if (nd->kind == POSTQ_AND && (!a || !b)) {
		if (!a)
			offs_swap(out, &other);
		xfree(other.v);
		return a || b;
	}
	if (nd->kind == POSTQ_OR && (!a || !b)) {
		xfree(other.v);
		return false;
	}
	if (nd->kind == POSTQ_AND) { /* intersect in place */
		while (k < out->n && j < other.n) {
			if (out->v[k] < other.v[j])
				k++;
			else if (out->v[k] > other.v[j])
				j++;
			else
				out->v[n++] = out->v[k++], j++;
		}
		out->n = n;
	} else { /* unite */
		struct index_offs u = { .v = xcalloc(out->n + other.n + 1, sizeof(uint64_t)), .cap = out->n + other.n + 1 };

		while (k < out->n || j < other.n) {
			if (j == other.n || (k < out->n && out->v[k] < other.v[j]))
				u.v[u.n++] = out->v[k++];
			else if (k == out->n || other.v[j] < out->v[k])
				u.v[u.n++] = other.v[j++];
			else
				u.v[u.n++] = out->v[k++], j++;
		}
		offs_swap(out, &u);
		xfree(u.v);
	}
	xfree(other.v);
	return true;
}

bool post_query_chunk(const struct post_query *q, const struct index *ix, const struct index_chunk *c,
		      struct index_offs *out)
{
	out->n = 0;
	if (!q || !q->usable || c->flags & INDEX_CHUNK_NO_POSTINGS)
		return false;
	return eval(q, q->root, ix, c, out);
}

struct rec_keys {
	struct frame_addrs fa;
	struct frame_l4 l4;
	bool l4_wild;             /* its protocol and ports cannot be told: any */
};

static bool key_in(const struct postq_node *nd, const uint8_t *v, size_t len)
{
	return memcmp(v, nd->lo, len) >= 0 && memcmp(v, nd->hi, len) <= 0;
}

static bool has_key(const struct postq_node *nd, const struct rec_keys *k)
{
	uint8_t v[4];

	switch (nd->type) {
	case INDEX_KEY_ADDR4:
		for (unsigned i = 0; i < k->fa.n4; i++) {
			for (int b = 0; b < 4; b++)
				v[b] = (uint8_t)(k->fa.a4[i] >> (24 - 8 * b));
			if (key_in(nd, v, 4))
				return true;
		}
		return false;
	case INDEX_KEY_ADDR6:
		for (unsigned i = 0; i < k->fa.n6; i++)
			if (key_in(nd, k->fa.a6[i], 16))
				return true;
		return false;
	case INDEX_KEY_PROTO:
		return k->l4_wild || (k->l4.has_proto && key_in(nd, &k->l4.proto, 1));
	case INDEX_KEY_PORT:
		if (k->l4_wild)
			return true;
		for (unsigned i = 0; i < k->l4.nports; i++) {
			v[0] = (uint8_t)(k->l4.port[i] >> 8);
			v[1] = (uint8_t)k->l4.port[i];
			if (key_in(nd, v, 2))
				return true;
		}
		return false;
	default:
		return false;
	}
}

static bool record_eval(const struct post_query *q, unsigned i, const struct rec_keys *k)
{
	const struct postq_node *nd = &q->node[i];

	switch (nd->kind) {
	case POSTQ_KEY:
		return has_key(nd, k);
	case POSTQ_AND:
		return record_eval(q, nd->a, k) && record_eval(q, nd->b, k);
	case POSTQ_OR:
		return record_eval(q, nd->a, k) || record_eval(q, nd->b, k);
	default:
		return true;
	}
}

bool post_query_record_may(const struct post_query *q, uint32_t linktype, const uint8_t *frame,
			   uint32_t caplen)
{
	struct rec_keys k;

	if (!index_frame_addrs(linktype, frame, caplen, &k.fa))
		return true; /* wild: any key */
	k.l4_wild = !index_frame_l4(linktype, frame, caplen, &k.l4);
	return record_eval(q, q->root, &k);
}
