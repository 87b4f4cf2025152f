/*
 * util — small pieces every folder uses: logging, number parsing with units,
 * the allocator shim (jemalloc behind one file), time and CPU helpers.
 *
 * Conventions: functions that act return 0 or -errno and leave errno alone;
 * parsers return 0 or -EINVAL / -ERANGE and never print; callers name the bad
 * value in their own one-line error.
 */
#ifndef RINGCAP_UTIL_H
#define RINGCAP_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#define CACHELINE 64
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define ALIGN_UP(x, a) (((x) + ((a) - 1)) & ~((__typeof__(x))(a) - 1))

/* ---- log.c: one line to stderr, prefixed with the program name; when
 * stderr is the journal ($JOURNAL_STREAM names it), with the line's syslog
 * priority first ("<3>" error, "<4>" warning, "<5>" notice, "<6>" info) so
 * `journalctl -p warning` finds warnings. Any thread. ---- */
/* Once, at the start of main, before any thread: also decides the prefix. */
void log_set_program(const char *name);
void log_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "PROGRAM: warning: ..." */
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A normal but significant event (a file deleted to keep a limit). */
void log_notice(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Information only. */
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Set-up phase of main() only: print and exit with `status`. */
void die(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));

/* ---- notify.c: the service manager's notifications (sd_notify(3)'s
 * protocol, no libsystemd). One owner thread (ringcap's main); sends never
 * block. ---- */
struct notify {
	int fd;               /* connected to $NOTIFY_SOCKET; -1: none */
	uint64_t watchdog_ns; /* $WATCHDOG_USEC for this pid, in ns; 0: none */
};
/* Read $NOTIFY_SOCKET (and $WATCHDOG_USEC/$WATCHDOG_PID), connect to it and
 * take the three out of the environment. Without $NOTIFY_SOCKET, n is
 * inactive and 0 is returned; -errno when it names a socket that cannot be
 * reached (n is inactive then too). */
int notify_open(struct notify *n);
bool notify_active(const struct notify *n);
/* One datagram ("READY=1", "STATUS=...", "WATCHDOG=1", "STOPPING=1"); 0
 * without a socket. 0 or -errno. */
int notify_send(const struct notify *n, const char *msg);
void notify_close(struct notify *n);

/* ---- parse.c: strict number parsing (whole string, no sign tricks) ---- */
int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);
/* Size with an optional binary suffix: 4096, 64k, 64KiB, 2M, 1g. `unit` scales a
 * bare number (1 for bytes, 1024 for a value given in KiB). */
int parse_size(const char *s, uint64_t unit, uint64_t min, uint64_t max, uint64_t *out);
/* Seconds with an optional fraction and suffix: 10, 2.5, 500ms, 3s, 30m, 2h, 1d.
 * Result in ns. */
int parse_duration_ns(const char *s, uint64_t *out_ns);
/* "aa:bb:cc:dd:ee:ff" */
int parse_mac(const char *s, uint8_t mac[6]);
/* Dotted quad to host-order u32. */
int parse_ipv4(const char *s, uint32_t *out);

/* ---- alloc.c: the allocator shim; jemalloc unless built with MALLOC=libc ---- */
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n, size_t size);
char *xstrdup(const char *s);
void xfree(void *p);
/* Called once by each worker thread: gives it an arena of its own (no-op with libc). */
int alloc_thread_arena(void);
const char *alloc_name(void);
/* Page-aligned, pre-faulted memory for packet staging; never from malloc. */
void *pages_alloc(size_t len);
void pages_free(void *p, size_t len);

/* ---- whole writes (util/io.c): 0 or -errno; no progress is -EIO ---- */
int write_full(int fd, const void *buf, size_t len);
int pwrite_full(int fd, const void *buf, size_t len, uint64_t off);
/* The folder of `path`, its trailing slash kept ("." for a bare name), in out. */
void path_dir(const char *path, char *out, size_t len);
/* `s` as a JSON string, quotes included (the bench tools' result lines). */
void json_put_string(FILE *f, const char *s);

/* ---- time ---- */
static inline uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Pin the calling thread to `cpu`; 0 or -errno. */
int pin_to_cpu(int cpu);

#endif
