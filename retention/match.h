/* Private to retention/: a capture's -w pattern and rotation naming as a
 * POSIX regular expression over file names in the pattern's directory. */
#ifndef RINGCAP_RETENTION_MATCH_H
#define RINGCAP_RETENTION_MATCH_H

#include <limits.h>
#include <regex.h>
#include <stdbool.h>

#include "retention/retention.h"

struct name_matcher {
	char dir[PATH_MAX];   /* the pattern's directory, "." when none */
	regex_t re;           /* anchored, over the last component */
	bool compiled;
};

/* 0, -EOPNOTSUPP (a conversion in the directory part), -EINVAL (a
 * conversion with no fixed shape, a bad pattern), -ENAMETOOLONG. */
int matcher_compile(struct name_matcher *m, const struct retention_pattern *p);
bool matcher_match(const struct name_matcher *m, const char *name);
void matcher_free(struct name_matcher *m);

#endif
