/* Private to retention/: how a name in the capture directory is told to be a
 * -z product of one of the capture's files (products.c). retention.h is the
 * contract. */
#ifndef RINGCAP_RETENTION_IMPL_H
#define RINGCAP_RETENTION_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "format/format.h"

/* A capture file's last path component and its place in the caller's list. */
struct product_base {
	const char *name;
	size_t idx;
};

/* Sort `bases` by name (for product_owner). */
void product_bases_sort(struct product_base *bases, size_t n);

/*
 * Which capture file is `name` (a last path component) a product of: BASE.SFX,
 * BASE.SFX.SFX2 (up to PRODUCT_MAX_SUFFIXES suffixes of 1..PRODUCT_SUFFIX_MAX
 * letters or digits: .zst, .gz, .age, .lz4, ...) or an index beside either,
 * .BASE.ridx or .BASE.SFX.ridx. The index in `bases` (sorted) of the longest
 * such BASE, or -1 when none is listed. A name that is itself in `bases` is
 * never a product. Pure.
 */
long product_owner(const char *name, const struct product_base *bases, size_t n);

/* Is `path` a capture file of any kind and link type ringcap writes, plain
 * or zstd-compressed (the writer's --compress: its first decompressed bytes
 * are probed)? Then FORMAT_OK and its first record's time in *first_ts (0: no
 * record yet); else why not, for the log (FORMAT_FOREIGN also when it cannot
 * be read). Blocks on the file system (probe.c). */
enum format_status retention_probe_file(const char *path, uint64_t *first_ts);

#define PRODUCT_MAX_SUFFIXES 3
#define PRODUCT_SUFFIX_MAX 16

#endif
