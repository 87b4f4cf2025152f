/* Names of -z products: what a command such as `zstd -q --rm` or `gzip` makes
 * of a capture file FILE (FILE.zst, FILE.gz, FILE.zst.age) and the indexes
 * ringcap-read keeps beside them (.FILE.ridx, .FILE.zst.ridx). Pure string
 * work; retention.c reads the directory. */
#include <stdlib.h>
#include <string.h>

#include "retention/retention_impl.h"

static int cmp_base(const void *a, const void *b)
{
	return strcmp(((const struct product_base *)a)->name, ((const struct product_base *)b)->name);
}

void product_bases_sort(struct product_base *bases, size_t n)
{
	if (n)
		qsort(bases, n, sizeof(*bases), cmp_base);
}

/* The entry whose name is exactly s[0..len), or -1. */
static long find(const char *s, size_t len, const struct product_base *bases, size_t n)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strncmp(s, bases[mid].name, len);

		if (c == 0 && bases[mid].name[len])
			c = -1; /* s is a proper prefix of the name: it sorts before */
		if (c == 0)
			return (long)mid;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return -1;
}

/* The length of s[0..len) without its last ".SUFFIX" (letters and digits), or 0. */
static size_t strip_suffix(const char *s, size_t len)
{
	size_t i = len;

	while (i > 0 && len - i <= PRODUCT_SUFFIX_MAX &&
	       ((s[i - 1] >= 'a' && s[i - 1] <= 'z') || (s[i - 1] >= 'A' && s[i - 1] <= 'Z') ||
		(s[i - 1] >= '0' && s[i - 1] <= '9')))
		i--;
	if (i < 2 || i == len || len - i > PRODUCT_SUFFIX_MAX || s[i - 1] != '.')
		return 0;
	return i - 1;
}

long product_owner(const char *name, const struct product_base *bases, size_t n)
{
	static const char ridx[] = ".ridx";
	size_t len = strlen(name), rlen = sizeof(ridx) - 1;
	const char *s = name;
	long owner;

	if (!n || find(name, len, bases, n) >= 0)
		return -1;
	if (name[0] == '.' && len > rlen + 1 && !strcmp(name + len - rlen, ridx)) {
		s = name + 1;
		len -= rlen + 1;
		owner = find(s, len, bases, n);  /* .BASE.ridx */
		if (owner >= 0)
			return (long)bases[owner].idx;
	}
	for (unsigned k = 0; k < PRODUCT_MAX_SUFFIXES; k++) {
		len = strip_suffix(s, len);
		if (!len)
			return -1;
		owner = find(s, len, bases, n);
		if (owner >= 0)
			return (long)bases[owner].idx;
	}
	return -1;
}
