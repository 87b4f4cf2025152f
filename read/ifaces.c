/*
 * The interfaces of a run, across its files: one entry per (if_name, link
 * type), so the same interface in two files is one interface of the output
 * (a pcap file's records belong to its link type's nameless interface); the
 * -i selection; a leading "ifname NAME and" of the expression moved into it.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "read/read.h"
#include "util/util.h"

uint32_t read_ifaces_id(struct read_ifaces *t, const char *name, uint32_t linktype, uint32_t snaplen,
			bool fine_ts)
{
	struct read_iface *f;

	for (uint32_t i = 0; i < t->n; i++) {
		f = &t->v[i];
		if (f->linktype == linktype && !strcmp(f->name, name)) {
			f->snaplen = snaplen > f->snaplen ? snaplen : f->snaplen;
			f->fine_ts |= fine_ts;
			return i;
		}
	}
	if (t->n == t->cap) {
		t->cap = t->cap ? 2 * t->cap : 8;
		t->v = xrealloc(t->v, t->cap, sizeof(*t->v));
	}
	f = &t->v[t->n];
	memset(f, 0, sizeof(*f));
	snprintf(f->name, sizeof(f->name), "%s", name);
	f->linktype = linktype;
	f->snaplen = snaplen;
	f->fine_ts = fine_ts;
	f->selected = read_ifaces_wanted(t, name);
	return t->n++;
}

bool read_ifaces_wanted(const struct read_ifaces *t, const char *name)
{
	if (!t->nselect)
		return true;
	for (unsigned i = 0; i < t->nselect; i++)
		if (!strcmp(t->select[i], name))
			return true;
	return false;
}

int read_ifaces_select(struct read_ifaces *t, const char *list)
{
	const char *p = list;

	do {
		const char *comma = strchr(p, ',');
		size_t n = comma ? (size_t)(comma - p) : strlen(p);

		if (!n || n >= PCAPNG_IFNAME_MAX)
			return -EINVAL;
		t->select = xrealloc(t->select, t->nselect + 1, sizeof(*t->select));
		t->select[t->nselect] = xcalloc(1, n + 1);
		memcpy(t->select[t->nselect++], p, n);
		p = comma ? comma + 1 : NULL;
	} while (p);
	return 0;
}

/* The next blank-separated word of s at *at: its start and length. */
static bool word(const char *s, size_t *at, size_t *start, size_t *len)
{
	size_t i = *at;

	while (s[i] == ' ' || s[i] == '\t')
		i++;
	if (!s[i])
		return false;
	*start = i;
	while (s[i] && s[i] != ' ' && s[i] != '\t')
		i++;
	*len = i - *start;
	*at = i;
	return true;
}

int read_expr_take_ifname(struct read_ifaces *t, char *expr)
{
	size_t at = 0, w0, l0, w1, l1, w2, l2;
	char name[PCAPNG_IFNAME_MAX];
	int ret;

	if (!expr || !word(expr, &at, &w0, &l0) || l0 != 6 || strncmp(expr + w0, "ifname", 6))
		return 0;
	if (!word(expr, &at, &w1, &l1) || l1 >= sizeof(name))
		return -EINVAL;
	memcpy(name, expr + w1, l1);
	name[l1] = 0;
	if (word(expr, &at, &w2, &l2)) {
		if (!((l2 == 3 && !strncmp(expr + w2, "and", 3)) || (l2 == 2 && !strncmp(expr + w2, "&&", 2))))
			return -EINVAL;
	} /* else "ifname NAME" alone */
	ret = read_ifaces_select(t, name);
	if (ret)
		return ret;
	memmove(expr, expr + at, strlen(expr + at) + 1);
	return 1;
}

void read_ifaces_free(struct read_ifaces *t)
{
	for (unsigned i = 0; i < t->nselect; i++)
		xfree(t->select[i]);
	xfree(t->select);
	xfree(t->v);
	memset(t, 0, sizeof(*t));
}
