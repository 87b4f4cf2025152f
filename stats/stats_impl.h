/* Private to stats/: the atomic file replacement both writers share. */
#ifndef RINGCAP_STATS_IMPL_H
#define RINGCAP_STATS_IMPL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "stats/stats.h"

/* A uint64_t counter that both files carry: its JSON key (as ringcap has
 * always written it), its Prometheus family and type, and where it sits in
 * struct stats_snapshot (total_fields), struct stats_worker (worker_fields) or
 * struct stats_iface (iface_fields).
 * Both tables are in output order. */
struct stats_field {
	const char *json;
	const char *prom;
	const char *type;   /* "counter" or "gauge" */
	const char *help;
	size_t offset;
};
extern const struct stats_field total_fields[];
extern const size_t total_fields_n;
extern const struct stats_field worker_fields[];
extern const size_t worker_fields_n;
extern const struct stats_field iface_fields[];  /* in struct stats_iface */
extern const size_t iface_fields_n;

/* The field's value in `base`, a snapshot or a worker as its table says. */
static inline uint64_t field_value(const void *base, const struct stats_field *f)
{
	uint64_t v;

	memcpy(&v, (const char *)base + f->offset, sizeof(v));
	return v;
}

/* Writes the content of a file into f; returns 0 or -errno. */
typedef int (*replace_fill_fn)(FILE *f, const void *arg);

/*
 * Make ".BASENAME.XXXXXX" beside `path`, let `fill` write it, flush, fsync,
 * rename it over `path`, fsync the directory. On failure the temporary file
 * is unlinked and `path` is untouched. 0 or -errno.
 */
int replace_file(const char *path, replace_fill_fn fill, const void *arg);

#endif
