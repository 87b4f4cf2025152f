/*
 * The expression, for each link type of the inputs, run on each record in
 * user space: ring/'s filter compiler (the one place that includes <pcap.h>)
 * and its user-space matcher. An empty expression compiles nothing and takes
 * all.
 */
#include <errno.h>
#include <string.h>

#include "read/read.h"
#include "ring/ring.h"
#include "util/util.h"

struct link_prog {
	uint32_t linktype;
	struct filter f;         /* prog.filter NULL: every record */
};

struct read_filter {
	char *expr;              /* NULL: match all */
	struct link_prog *p;     /* one per link type, the first compiled first */
	unsigned n;
};

int read_filter_compile(struct read_filter **out, uint32_t linktype, uint32_t snaplen, const char *expr,
			char *err, size_t errlen)
{
	struct read_filter *f = xcalloc(1, sizeof(*f));
	int ret;

	if (expr && *expr)
		f->expr = xstrdup(expr);
	ret = read_filter_add_link(f, linktype, snaplen, err, errlen);
	if (ret) {
		read_filter_free(f);
		return ret;
	}
	*out = f;
	return 0;
}

int read_filter_add_link(struct read_filter *f, uint32_t linktype, uint32_t snaplen, char *err, size_t errlen)
{
	struct link_prog lp = { .linktype = linktype };
	int ret;

	for (unsigned i = 0; i < f->n; i++)
		if (f->p[i].linktype == linktype)
			return 0;
	if (f->expr) {
		ret = filter_compile_link(&lp.f, linktype, f->expr, snaplen ? snaplen : PCAP_SNAPLEN_MAX, err,
					  errlen);
		if (ret)
			return ret;
	}
	f->p = xrealloc(f->p, f->n + 1, sizeof(*f->p));
	f->p[f->n++] = lp;
	return 0;
}

bool read_filter_match(const struct read_filter *f, const uint8_t *frame, uint32_t caplen, uint32_t len)
{
	return filter_match(&f->p[0].f, frame, caplen, len);
}

bool read_filter_match_link(const struct read_filter *f, uint32_t linktype, const uint8_t *frame,
			    uint32_t caplen, uint32_t len)
{
	for (unsigned i = 0; i < f->n; i++)
		if (f->p[i].linktype == linktype)
			return filter_match(&f->p[i].f, frame, caplen, len);
	return false;
}

void read_filter_free(struct read_filter *f)
{
	if (!f)
		return;
	for (unsigned i = 0; i < f->n; i++)
		filter_free(&f->p[i].f);
	xfree(f->p);
	xfree(f->expr);
	xfree(f);
}
