/*
 * jobs — tcpdump's -z: after each capture file is closed, run `CMD FILE` in
 * the background without stalling the capture.
 *
 * How the command runs. tcpdump execs -z's argument as a program name with
 * the file as its one argument (execlp), so `-z 'gzip -9'` does not work
 * there. Here CMD is a shell command line: the child is
 *     /bin/sh -c 'CMD "$1"' sh FILE
 * so a plain program name behaves as with tcpdump, `-z 'zstd -q --rm'`
 * works, and the file name reaches the command as one argument whatever it
 * holds (it is never pasted into the shell text). Like tcpdump, children run
 * at the lowest priority (nice 19). Each child gets stdin from /dev/null,
 * ringcap's stdout and stderr and no other descriptor, ringcap's environment and working directory,
 * an empty signal mask and default signal dispositions, and a process group
 * of its own (a Ctrl-C at the terminal ends ringcap, which then lets running
 * jobs finish, see jobs_close). It runs as the process's current user: ringcap
 * drops privileges (-Z) before the capture starts, so every -z command runs as
 * that user, never as root unless ringcap itself stays root. Children get no
 * ambient capabilities (a service unit's AmbientCapabilities= stay ringcap's).
 *
 * Threads. jobs_open starts one thread that owns the queue and the children:
 * it starts at most `max` at once, takes the rest in submission order (FIFO),
 * and waits for each child through a pidfd, so nothing here uses SIGCHLD or
 * waitpid(-1). The process must not set SIGCHLD to SIG_IGN (children would be
 * reaped by the kernel and their status lost). Each finished job is logged in
 * one line: file, command, exit status or signal, seconds. The status is the
 * shell's: a command killed by signal N inside it reads as exit 128+N; "killed
 * by signal" means the shell itself was.
 *
 * Failures. A run that exits non-zero, is killed or cannot start is logged
 * once with its status and counted (failed); its file is tried again after
 * a backoff (1 s, 2 s, 4 s ... at most 60 s; `retry`), up to JOBS_MAX_TRIES
 * runs in all (retried counts the runs started again), then given up on
 * (gave_up, logged). Meanwhile the file stays where it is: a job waiting
 * for its next try is not busy (jobs_busy), so retention may delete the file
 * when the disk limits need the room, and a job whose file is gone when it is
 * due is dropped (logged, gave_up).
 *
 * Given up on at exit (jobs_close's bound): SIGTERM to the job's process
 * group, SIGKILL one second later; members of the group still there when the
 * shell has exited are SIGKILLed then.
 *
 * Ownership: jobs_submit copies the path. Functions return 0 or -errno.
 */
#ifndef RINGCAP_JOBS_H
#define RINGCAP_JOBS_H

#include <stdbool.h>
#include <stdint.h>

#define JOBS_MAX_RUNNING 64
#define JOBS_MAX_TRIES 8     /* runs of one file's -z, the first one included */

struct jobs;

struct jobs_counters {
	uint64_t run;      /* finished, whatever their status */
	uint64_t failed;   /* exit status not 0, killed, could not start, or never run */
	uint64_t queued;   /* waiting for a slot now */
	uint64_t running;  /* children alive now */
	uint64_t retried;  /* runs started again after a failure */
	uint64_t waiting;  /* failed, waiting for their next try now */
	uint64_t gave_up;  /* files whose -z never succeeded: tries used up, the
			    * file gone before its next try, or not run at exit */
};

/* The backoff between tries of a failed -z: first_ns after the first failure,
 * doubled after each next one, at most max_ns; max_tries runs in all. */
struct jobs_retry {
	uint64_t first_ns, max_ns;
	unsigned max_tries;
};

/* The wait before the next try after `failures` (1..) failed runs. Pure. */
uint64_t jobs_retry_delay_ns(const struct jobs_retry *r, unsigned failures);

/* Another backoff than the default (1 s doubling to 60 s, JOBS_MAX_TRIES
 * runs): for tests. Any thread; applies to the tries scheduled from now on. */
void jobs_set_retry(struct jobs *j, const struct jobs_retry *r);

/*
 * Copy `cmd` and start the job thread. `max` jobs at most run at once
 * (1..JOBS_MAX_RUNNING; --z-jobs, default 2). Set-up phase; -EINVAL for an
 * empty command or a bad max, -errno from the thread or eventfd otherwise.
 */
int jobs_open(struct jobs **out, const char *cmd, unsigned max);

/*
 * Queue `CMD path`. Any thread; takes a mutex for a moment and wakes the job
 * thread; never waits for a child or a slot. Call it once the file is closed
 * with its final content (the writer's close, after ftruncate and fsync).
 * 0, or -ESHUTDOWN once jobs_close has begun (memory comes from xcalloc,
 * which aborts rather than fail).
 */
int jobs_submit(struct jobs *j, const char *path);

/*
 * True while a job for `path` is queued or running (not while it waits for
 * its next try after a failure): retention must not delete that file. Any thread; a mutex for a moment. False for a NULL `j`.
 */
bool jobs_busy(struct jobs *j, const char *path);

/* Any thread. A NULL `j` gives zeros. */
void jobs_counters(struct jobs *j, struct jobs_counters *c);

/*
 * At exit, after the last file was submitted: start what is queued and wait
 * up to `wait_ms` for every job to finish. Past that, running jobs get
 * SIGTERM (their process group), then SIGKILL one second later; queued jobs
 * are not started and are logged as not run. Jobs waiting for their next try
 * are run when due inside the bound, as the others. Joins the thread and frees `j`
 * (safe on NULL). Blocks: main's thread only. 0, or -ETIMEDOUT when any job
 * had to be killed or was not run. `*final` (may be NULL) gets the last counters.
 * `j` is gone afterwards: close whatever calls jobs_busy (retention) first.
 */
int jobs_close(struct jobs *j, unsigned wait_ms, struct jobs_counters *final);

#endif
