/* The -z job thread: a FIFO of closed files, at most `max` children, each
 * watched through a pidfd in one poll() with an eventfd for new submissions. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "jobs/jobs.h"
#include "util/util.h"

extern char **environ;

#define KILL_GRACE_NS 1000000000ull

struct job {
	struct job *next;
	pid_t pid;
	int pidfd;
	uint64_t t_start;
	unsigned failures;             /* runs of it that failed so far */
	uint64_t due_ns;               /* waiting: when it runs again */
	char path[];
};

struct jobs {
	pthread_mutex_t lock;          /* everything below but the thread's own locals */
	struct job *head, **tail;      /* the FIFO */
	struct job *waiting;           /* failed, to run again at due_ns (any order) */
	struct jobs_retry retry;
	struct job *running[JOBS_MAX_RUNNING];
	unsigned nrunning;
	unsigned max;
	bool closing;
	uint64_t deadline_ns;          /* closing: when waiting ends */
	bool gave_up;                  /* past the deadline: queue dropped, SIGTERM sent */
	uint64_t kill_at_ns;           /* then SIGKILL at this time (0: sent or none) */
	bool timed_out;
	struct jobs_counters c;
	int efd;                       /* submissions and close wake the thread */
	pthread_t thread;
	char *cmd;
	char *script;                  /* CMD "$1" */
};

static void wake(struct jobs *j)
{
	uint64_t one = 1;

	/* the counter saturates only after 2^64-1 wake-ups nobody read */
	if (write(j->efd, &one, sizeof(one)) < 0) {}
}

static void log_status(const struct jobs *j, const struct job *job, int status)
{
	double s = (double)(now_ns() - job->t_start) / 1e9;

	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		log_info("-z '%s' %s: exit 0, %.1f s", j->cmd, job->path, s);
	else if (WIFEXITED(status))
		log_err("-z '%s' %s: failed, exit %d, %.1f s", j->cmd, job->path,
			WEXITSTATUS(status), s);
	else if (WIFSIGNALED(status))
		log_err("-z '%s' %s: failed, killed by signal %d (%s), %.1f s", j->cmd, job->path,
			WTERMSIG(status), strsignal(WTERMSIG(status)), s);
}

uint64_t jobs_retry_delay_ns(const struct jobs_retry *r, unsigned failures)
{
	uint64_t d = r->first_ns;

	for (unsigned i = 1; i < failures && d < r->max_ns; i++)
		d *= 2;
	return d < r->max_ns ? d : r->max_ns;
}

/* posix_spawn (a vfork-like clone in glibc: no page tables copied from a
 * process that maps gigabytes of rings). The child inherits this thread's
 * nice value, which the job thread set to 19. */
static int spawn(const struct jobs *j, struct job *job)
{
	char *argv[] = { "/bin/sh", "-c", j->script, "sh", job->path, NULL };
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none, all;
	int ret;

	sigemptyset(&none);
	sigfillset(&all);
	ret = posix_spawn_file_actions_init(&fa);
	if (ret)
		return -ret;
	ret = posix_spawnattr_init(&attr);
	if (ret)
		goto out_fa;
	ret = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	/* only stdin, stdout and stderr: a descriptor someone forgot to mark
	 * close-on-exec (a capture socket) must not live on in a slow job */
	if (!ret)
		ret = posix_spawn_file_actions_addclosefrom_np(&fa, 3);
	if (!ret)
		ret = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF |
							   POSIX_SPAWN_SETPGROUP);
	if (!ret)
		ret = posix_spawnattr_setsigmask(&attr, &none);
	if (!ret)
		ret = posix_spawnattr_setsigdefault(&attr, &all);
	if (!ret)
		ret = posix_spawnattr_setpgroup(&attr, 0);
	if (!ret)
		ret = posix_spawn(&job->pid, argv[0], &fa, &attr, argv, environ);
	posix_spawnattr_destroy(&attr);
out_fa:
	posix_spawn_file_actions_destroy(&fa);
	if (ret)
		return -ret;
	/* the pid stays ours (a zombie at worst) until waitpid, so this is race-free */
	job->pidfd = pidfd_open(job->pid, 0);
	if (job->pidfd < 0) {
		ret = -errno;
		kill(job->pid, SIGKILL);
		waitpid(job->pid, NULL, 0);
		return ret;
	}
	return 0;
}

static void free_job(struct job *job)
{
	if (job->pidfd >= 0)
		close(job->pidfd);
	xfree(job);
}

static void remove_running(struct jobs *j, const struct job *job)
{
	for (unsigned i = 0; i < j->nrunning; i++) {
		if (j->running[i] == job) {
			j->running[i] = j->running[--j->nrunning];
			return;
		}
	}
}

/* Under the lock: move jobs from the FIFO into free slots and start them.
 * The lock is dropped around each spawn, so a submitter never waits for one;
 * the job is in running[] first, so jobs_busy() sees it throughout. */
static void start_queued(struct jobs *j)
{
	while (j->head && j->nrunning < j->max && !j->gave_up) {
		struct job *job = j->head;
		int ret;

		j->head = job->next;
		if (!j->head)
			j->tail = &j->head;
		j->c.queued--;
		j->running[j->nrunning++] = job;
		pthread_mutex_unlock(&j->lock);
		job->t_start = now_ns();
		ret = spawn(j, job);
		if (ret)
			log_err("-z '%s' %s: failed, could not start /bin/sh: %s", j->cmd, job->path,
				strerror(-ret));
		pthread_mutex_lock(&j->lock);
		if (ret) {
			remove_running(j, job);
			j->c.run++;
			j->c.failed++;
			j->c.gave_up++;
			free_job(job);
		}
	}
}

/* Under the lock: a run of `job` failed. Put it on the waiting list for its
 * next try (true), or give up on it (false: the caller frees it). Its file
 * stays where it is either way: retention deletes it when it must (a waiting
 * job is not busy). */
static bool schedule_retry(struct jobs *j, struct job *job)
{
	uint64_t delay;

	job->failures++;
	if (job->pidfd >= 0)
		close(job->pidfd);
	job->pidfd = -1;
	if (j->gave_up || job->failures >= j->retry.max_tries) {
		j->c.gave_up++;
		log_err("-z '%s' %s: failed %u time%s, not tried again; the file is kept", j->cmd, job->path,
			job->failures, job->failures == 1 ? "" : "s");
		return false;
	}
	delay = jobs_retry_delay_ns(&j->retry, job->failures);
	job->due_ns = now_ns() + delay;
	job->next = j->waiting;
	j->waiting = job;
	j->c.waiting++;
	log_notice("-z '%s' %s: tried again in %.0f s (try %u of %u)", j->cmd, job->path, (double)delay / 1e9,
		   job->failures + 1, j->retry.max_tries);
	return true;
}

/* Under the lock: the waiting jobs that are due go to the FIFO's tail (their
 * file still there) or are dropped (it is gone: retention needed the room). */
static void wake_due(struct jobs *j, uint64_t now)
{
	for (struct job **pp = &j->waiting; *pp;) {
		struct job *job = *pp;
		struct stat st;

		if (job->due_ns > now) {
			pp = &job->next;
			continue;
		}
		*pp = job->next;
		j->c.waiting--;
		if (lstat(job->path, &st) < 0) {
			j->c.gave_up++;
			log_warn("-z '%s' %s: gone before it was tried again (deleted for the disk limits?)",
				 j->cmd, job->path);
			free_job(job);
			continue;
		}
		job->next = NULL;
		*j->tail = job;
		j->tail = &job->next;
		j->c.queued++;
		j->c.retried++;
	}
}

/* Under the lock: the earliest due time of a waiting job, or UINT64_MAX. */
static uint64_t next_due(const struct jobs *j)
{
	uint64_t due = UINT64_MAX;

	for (const struct job *q = j->waiting; q; q = q->next)
		due = q->due_ns < due ? q->due_ns : due;
	return due;
}

/* A child's pidfd became readable: it has exited. */
static void reap(struct jobs *j, struct job *job)
{
	int status;
	pid_t r;

	/* Given up on: whatever is left of its process group (members that
	 * ignored SIGTERM) goes now, while the exited leader still holds the
	 * group's number, so the signal cannot reach a stranger. */
	if (j->gave_up)
		kill(-job->pid, SIGKILL);
	r = waitpid(job->pid, &status, WNOHANG);

	if (r == 0)
		return; /* not yet: poll again */
	if (r < 0) {
		log_err("-z '%s' %s: lost its exit status: %s", j->cmd, job->path,
			strerror(errno));
		status = -1;
	} else {
		log_status(j, job, status);
	}
	pthread_mutex_lock(&j->lock);
	remove_running(j, job);
	j->c.run++;
	if (status != 0) {
		j->c.failed++;
		if (schedule_retry(j, job)) {
			pthread_mutex_unlock(&j->lock);
			return;
		}
	}
	pthread_mutex_unlock(&j->lock);
	free_job(job);
}

/* Under the lock, closing and past the deadline: drop the queue, then
 * SIGTERM the running jobs' process groups, then SIGKILL them. */
static void give_up(struct jobs *j, uint64_t now)
{
	while (j->head) {
		struct job *job = j->head;

		j->head = job->next;
		j->c.queued--;
		j->c.failed++;
		j->c.gave_up++;
		log_err("-z '%s' %s: not run, ringcap is exiting", j->cmd, job->path);
		free_job(job);
		j->timed_out = true;
	}
	j->tail = &j->head;
	while (j->waiting) {
		struct job *job = j->waiting;

		j->waiting = job->next;
		j->c.waiting--;
		j->c.gave_up++;
		log_err("-z '%s' %s: not tried again, ringcap is exiting", j->cmd, job->path);
		free_job(job);
		j->timed_out = true;
	}
	if (!j->gave_up && j->nrunning) {
		for (unsigned i = 0; i < j->nrunning; i++)
			kill(-j->running[i]->pid, SIGTERM);
		j->kill_at_ns = now + KILL_GRACE_NS;
		j->timed_out = true;
	} else if (j->gave_up && j->kill_at_ns && now >= j->kill_at_ns) {
		for (unsigned i = 0; i < j->nrunning; i++)
			kill(-j->running[i]->pid, SIGKILL);
		j->kill_at_ns = 0;
	}
	j->gave_up = true;
}

static int poll_timeout_ms(const struct jobs *j, uint64_t now)
{
	uint64_t until = next_due(j);

	if (j->closing) {
		uint64_t end = j->gave_up ? j->kill_at_ns : j->deadline_ns;

		if (!(j->gave_up && !end)) /* SIGKILL sent: the pidfds will tell */
			until = end < until ? end : until;
	}
	if (until == UINT64_MAX)
		return -1;
	return until > now ? (int)((until - now) / 1000000 + 1) : 0;
}

static void *job_thread(void *arg)
{
	struct jobs *j = arg;
	struct pollfd pfd[1 + JOBS_MAX_RUNNING];
	struct job *watched[JOBS_MAX_RUNNING];

	/* Linux keeps nice and capabilities per thread, and a child starts
	 * with its parent thread's: every -z command runs at the lowest
	 * priority, as tcpdump's, and without the ambient capabilities a
	 * service unit gave ringcap (CAP_NET_RAW, ...), which execve would
	 * otherwise pass on to a non-root command. */
	if (setpriority(PRIO_PROCESS, 0, 19) < 0) {}
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0) {}
	for (;;) {
		uint64_t now = now_ns();
		unsigned n = 0;
		int timeout;

		pthread_mutex_lock(&j->lock);
		if (j->closing && now >= j->deadline_ns)
			give_up(j, now);
		wake_due(j, now);
		start_queued(j);
		if (j->closing && !j->head && !j->nrunning && !j->waiting) {
			pthread_mutex_unlock(&j->lock);
			break;
		}
		for (; n < j->nrunning; n++) {
			watched[n] = j->running[n];
			pfd[1 + n] = (struct pollfd){ .fd = watched[n]->pidfd, .events = POLLIN };
		}
		timeout = poll_timeout_ms(j, now);
		pthread_mutex_unlock(&j->lock);

		pfd[0] = (struct pollfd){ .fd = j->efd, .events = POLLIN };
		if (poll(pfd, 1 + n, timeout) < 0)
			continue; /* EINTR */
		if (pfd[0].revents) {
			uint64_t v;

			if (read(j->efd, &v, sizeof(v)) < 0) {}
		}
		for (unsigned i = 0; i < n; i++)
			if (pfd[1 + i].revents)
				reap(j, watched[i]);
	}
	return NULL;
}

int jobs_open(struct jobs **out, const char *cmd, unsigned max)
{
	struct jobs *j;
	size_t len;
	int ret;

	if (!cmd || !*cmd || max < 1 || max > JOBS_MAX_RUNNING)
		return -EINVAL;
	len = strlen(cmd);
	j = xcalloc(1, sizeof(*j));
	j->cmd = xstrdup(cmd);
	j->script = xcalloc(1, len + sizeof(" \"$1\""));
	memcpy(j->script, cmd, len);
	memcpy(j->script + len, " \"$1\"", sizeof(" \"$1\""));
	j->tail = &j->head;
	j->max = max;
	j->retry = (struct jobs_retry){ .first_ns = 1000000000ull, .max_ns = 60000000000ull,
					.max_tries = JOBS_MAX_TRIES };
	pthread_mutex_init(&j->lock, NULL);
	j->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (j->efd < 0) {
		ret = -errno;
		goto out_free;
	}
	ret = -pthread_create(&j->thread, NULL, job_thread, j);
	if (ret)
		goto out_close_efd;
	*out = j;
	return 0;
out_close_efd:
	close(j->efd);
out_free:
	pthread_mutex_destroy(&j->lock);
	xfree(j->script);
	xfree(j->cmd);
	xfree(j);
	return ret;
}

void jobs_set_retry(struct jobs *j, const struct jobs_retry *r)
{
	pthread_mutex_lock(&j->lock);
	j->retry = *r;
	if (j->retry.max_tries < 1)
		j->retry.max_tries = 1;
	pthread_mutex_unlock(&j->lock);
}

int jobs_submit(struct jobs *j, const char *path)
{
	size_t len = strlen(path);
	struct job *job = xcalloc(1, sizeof(*job) + len + 1);

	memcpy(job->path, path, len + 1);
	job->pidfd = -1;
	pthread_mutex_lock(&j->lock);
	if (j->closing) {
		pthread_mutex_unlock(&j->lock);
		xfree(job);
		return -ESHUTDOWN;
	}
	*j->tail = job;
	j->tail = &job->next;
	j->c.queued++;
	pthread_mutex_unlock(&j->lock);
	wake(j);
	return 0;
}

bool jobs_busy(struct jobs *j, const char *path)
{
	bool busy = false;

	if (!j)
		return false;
	pthread_mutex_lock(&j->lock);
	for (unsigned i = 0; !busy && i < j->nrunning; i++)
		busy = !strcmp(j->running[i]->path, path);
	for (const struct job *q = j->head; !busy && q; q = q->next)
		busy = !strcmp(q->path, path);
	pthread_mutex_unlock(&j->lock);
	return busy;
}

void jobs_counters(struct jobs *j, struct jobs_counters *c)
{
	if (!j) {
		*c = (struct jobs_counters){ 0 };
		return;
	}
	pthread_mutex_lock(&j->lock);
	*c = j->c;
	c->running = j->nrunning;
	pthread_mutex_unlock(&j->lock);
}

int jobs_close(struct jobs *j, unsigned wait_ms, struct jobs_counters *final)
{
	int ret;

	if (!j) {
		if (final)
			*final = (struct jobs_counters){ 0 };
		return 0;
	}
	pthread_mutex_lock(&j->lock);
	j->closing = true;
	j->deadline_ns = now_ns() + (uint64_t)wait_ms * 1000000;
	pthread_mutex_unlock(&j->lock);
	wake(j);
	pthread_join(j->thread, NULL);
	ret = j->timed_out ? -ETIMEDOUT : 0;
	if (final) {
		*final = j->c;
		final->running = j->nrunning;
	}
	close(j->efd);
	pthread_mutex_destroy(&j->lock);
	xfree(j->script);
	xfree(j->cmd);
	xfree(j);
	return ret;
}
