/*
 * The expression, for the inputs' link type, run on each record in user space:
 * ring/'s filter compiler (the one place that includes <pcap.h>) and its
 * user-space matcher. An empty expression compiles nothing and takes all.
 */
#include <errno.h>

#include "read/read.h"
#include "ring/ring.h"
#include "util/util.h"

struct read_filter {
	struct filter f;         /* prog.filter NULL: every record */
};

int read_filter_compile(struct read_filter **out, uint32_t linktype, uint32_t snaplen, const char *expr,
			char *err, size_t errlen)
{
	struct read_filter *f = xcalloc(1, sizeof(*f));
	int ret;

	if (expr && *expr) {
		ret = filter_compile_link(&f->f, linktype, expr, snaplen ? snaplen : PCAP_SNAPLEN_MAX,
					  err, errlen);
		if (ret) {
			xfree(f);
			return ret;
		}
	}
	*out = f;
	return 0;
}

bool read_filter_match(const struct read_filter *f, const uint8_t *frame, uint32_t caplen, uint32_t len)
{
	return filter_match(&f->f, frame, caplen, len);
}

void read_filter_free(struct read_filter *f)
{
	if (!f)
		return;
	filter_free(&f->f);
	xfree(f);
}
