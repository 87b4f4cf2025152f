/*
 * Tiny shared assertion macros for the unit tests. A failed CHECK prints
 * file:line, the expression and a message, marks the test failed and goes on,
 * so one run shows every broken expectation. Exit with unit_exit(): 0 pass,
 * 1 fail (77, skip, is each test's own decision).
 */
#ifndef RINGCAP_TESTS_UNIT_H
#define RINGCAP_TESTS_UNIT_H

#include <stdio.h>

static int unit_failures;

#define CHECK(cond, ...)                                                        \
	do {                                                                    \
		if (!(cond)) {                                                  \
			fprintf(stderr, "%s:%d: CHECK(%s) failed: ", __FILE__,  \
				__LINE__, #cond);                               \
			fprintf(stderr, __VA_ARGS__);                           \
			fputc('\n', stderr);                                    \
			unit_failures++;                                        \
		}                                                               \
	} while (0)

/* Integers compared as unsigned long long, both values printed. */
#define CHECK_EQ(a, b)                                                          \
	CHECK((unsigned long long)(a) == (unsigned long long)(b),               \
	      "%s = %llu (0x%llx), %s = %llu (0x%llx)", #a,                    \
	      (unsigned long long)(a), (unsigned long long)(a), #b,             \
	      (unsigned long long)(b), (unsigned long long)(b))

static inline int unit_exit(const char *name)
{
	if (unit_failures) {
		fprintf(stderr, "%s: %d check(s) failed\n", name, unit_failures);
		return 1;
	}
	fprintf(stderr, "%s: ok\n", name);
	return 0;
}

#endif
