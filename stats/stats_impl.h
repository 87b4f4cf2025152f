/* Private to stats/: the atomic file replacement both writers share. */
#ifndef RINGCAP_STATS_IMPL_H
#define RINGCAP_STATS_IMPL_H

#include <stdio.h>

/* Writes the content of a file into f; returns 0 or -errno. */
typedef int (*replace_fill_fn)(FILE *f, const void *arg);

/*
 * Make ".BASENAME.XXXXXX" beside `path`, let `fill` write it, flush, fsync,
 * rename it over `path`, fsync the directory. On failure the temporary file
 * is unlinked and `path` is untouched. 0 or -errno.
 */
int replace_file(const char *path, replace_fill_fn fill, const void *arg);

#endif
