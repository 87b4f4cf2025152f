/*
 * The allocator shim. Debian's jemalloc is unprefixed: linking -ljemalloc
 * replaces malloc for the whole process, so the only jemalloc-specific code is
 * here (mallctl for per-thread arenas). Sanitizer builds use MALLOC=libc.
 * Packet bytes never pass through malloc: they live in the mmap'd rings and in
 * the page-aligned staging memory from pages_alloc().
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sched.h>
#include <pthread.h>

#ifdef RINGCAP_JEMALLOC
#include <jemalloc/jemalloc.h>
#endif

#include "util/util.h"

void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n, size);

	if (!p) {
		fprintf(stderr, "ringcap: out of memory (%zu x %zu bytes)\n", n, size);
		abort();
	}
	return p;
}

/* n x size bytes (at least one element), the old contents kept. */
void *xrealloc(void *p, size_t n, size_t size)
{
	void *q = realloc(p, (n ? n : 1) * size);

	if (!q) {
		fprintf(stderr, "ringcap: out of memory (%zu x %zu bytes)\n", n, size);
		abort();
	}
	return q;
}

char *xstrdup(const char *s)
{
	size_t n = strlen(s) + 1;

	return memcpy(xcalloc(1, n), s, n);
}

void xfree(void *p)
{
	free(p);
}

int alloc_thread_arena(void)
{
#ifdef RINGCAP_JEMALLOC
	unsigned arena;
	size_t len = sizeof(arena);

	if (mallctl("arenas.create", &arena, &len, NULL, 0))
		return -ENOMEM;
	if (mallctl("thread.arena", NULL, NULL, &arena, sizeof(arena)))
		return -EINVAL;
#endif
	return 0;
}

const char *alloc_name(void)
{
#ifdef RINGCAP_JEMALLOC
	return "jemalloc";
#else
	return "libc";
#endif
}

void *pages_alloc(size_t len)
{
	/* MAP_POPULATE: first touch of fresh memory is slow here (~1 GB/s), so
	 * pay for it at start-up, not while packets wait. */
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

void pages_free(void *p, size_t len)
{
	if (p)
		munmap(p, len);
}

int pin_to_cpu(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return -pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}
