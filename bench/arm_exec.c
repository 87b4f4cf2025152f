/*
 * ringcap-arm --exec: runs a capture program that owns its sockets (ringcap,
 * tcpdump, netsniff-ng), copies its output, says "ready" when it is listening
 * and charges it the CPU it used until it went quiet (see ringcap-arm.c).
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench/arm.h"

/* CPU time of every live thread of `pid`, exact (ns of scheduler run time). */
static int proc_cpu_ns(pid_t pid, uint64_t *out)
{
	char path[64];
	DIR *d;
	struct dirent *e;
	uint64_t sum = 0;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	d = opendir(path);
	if (!d)
		return -errno;
	while ((e = readdir(d))) {
		char p[320];
		unsigned long long run;
		FILE *f;

		if (!isdigit((unsigned char)e->d_name[0]))
			continue;
		snprintf(p, sizeof(p), "/proc/%d/task/%s/schedstat", (int)pid, e->d_name);
		f = fopen(p, "re");
		if (!f)
			continue; /* the thread just exited */
		if (fscanf(f, "%llu", &run) == 1)
			sum += run;
		fclose(f);
	}
	closedir(d);
	*out = sum;
	return 0;
}

/* utime and stime of the whole process in ns (clock-tick resolution). */
static int proc_times_ns(pid_t pid, uint64_t *user, uint64_t *sys)
{
	char path[64], buf[1024], *p;
	unsigned long long ut, st;
	long tick = sysconf(_SC_CLK_TCK);
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	p = strrchr(buf, ')'); /* the command name may hold spaces */
	if (!p || tick <= 0)
		return -EINVAL;
	/* after ")": state(3) ... utime(14) stime(15) */
	if (sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
		return -EINVAL;
	*user = ut * (1000000000ull / (uint64_t)tick);
	*sys = st * (1000000000ull / (uint64_t)tick);
	return 0;
}

static int64_t file_size(const char *path)
{
	struct stat st;

	if (!path || stat(path, &st))
		return -1;
	return (int64_t)st.st_size;
}

/* The child's output, copied to our stderr a whole line at a time so that our
 * own "ready" line never lands inside one of its lines; the ready text is looked
 * for in each line. */
struct lines {
	const char *text;
	char buf[4096];
	size_t len;
	bool seen;
};

static void lines_flush(struct lines *l)
{
	if (!l->len)
		return;
	if (memmem(l->buf, l->len, l->text, strlen(l->text)))
		l->seen = true;
	if (write(STDERR_FILENO, l->buf, l->len) < 0) {
		/* our stderr is gone; keep draining the child anyway */
	}
	l->len = 0;
}

static void lines_feed(struct lines *l, const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		l->buf[l->len++] = p[i];
		if (p[i] == '\n' || l->len == sizeof(l->buf))
			lines_flush(l);
	}
}

struct exec_state {
	pid_t pid;
	bool ready, watching, interrupted, killed, reaped;
	uint64_t t_ready, ready_cpu, ready_user, ready_sys;
	uint64_t t_int;           /* when SIGINT went to the child, 0: not yet */
	uint64_t quiet_since, last_cpu;
	uint64_t quiet_cpu;       /* CPU when found quiet (work done), 0: never */
	int64_t last_size;
	int status;
	struct rusage ru;
};

static void exec_interrupt(struct exec_state *x, uint64_t now)
{
	if (!x->t_int && !x->reaped) {
		kill(x->pid, SIGINT);
		x->t_int = now;
	}
}

/* Called every ~50 ms after SIGUSR1: quiet = under 1% of a CPU and no file growth. */
static void exec_watch(struct exec_state *x, const struct opts *o, uint64_t now)
{
	uint64_t cpu;
	int64_t size = file_size(o->watch);

	if (proc_cpu_ns(x->pid, &cpu))
		return;
	if (!x->quiet_since || cpu - x->last_cpu > (now - x->quiet_since) / 100 ||
	    size != x->last_size) {
		x->quiet_since = now;
		x->last_cpu = cpu;
		x->last_size = size;
		return;
	}
	if (now - x->quiet_since >= o->idle_ns) {
		x->quiet_cpu = cpu;
		exec_interrupt(x, now);
	}
}

static void exec_child(const struct opts *o, int out_fd, const sigset_t *old)
{
	if (o->cpu >= 0 && pin_to_cpu(o->cpu))
		dprintf(out_fd, "ringcap-arm: cannot pin to CPU %d\n", o->cpu);
	sigprocmask(SIG_SETMASK, old, NULL);
	if (dup2(out_fd, STDOUT_FILENO) < 0 || dup2(out_fd, STDERR_FILENO) < 0)
		_exit(127);
	execvp(o->cmd[0], o->cmd);
	dprintf(STDERR_FILENO, "ringcap-arm: cannot run %s: %s\n", o->cmd[0], strerror(errno));
	_exit(127);
}

int run_exec(const struct opts *o)
{
	struct exec_state x = { .pid = -1, .last_size = -1 };
	struct lines out = { .text = o->ready_text };
	sigset_t set, old;
	int pipefd[2], sfd = -1, status = 1;
	uint64_t t0, now, user = 0, sys = 0, total = 0, teardown = 0;
	bool pipe_open = true;

	/* A shell starts background jobs with SIGINT ignored, and an ignored signal
	 * never reaches a signalfd nor (inherited through exec) the child. */
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGUSR1, SIG_DFL);
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGCHLD);
	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		log_err("pipe: %s", strerror(errno));
		return 1;
	}
	sigprocmask(SIG_BLOCK, &set, &old);
	sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0) {
		log_err("signalfd: %s", strerror(errno));
		goto out_pipe;
	}
	t0 = now_ns();
	x.pid = fork();
	if (x.pid < 0) {
		log_err("fork: %s", strerror(errno));
		goto out_sfd;
	}
	if (x.pid == 0)
		exec_child(o, pipefd[1], &old);
	close(pipefd[1]);
	pipefd[1] = -1;

	/* Until the child is reaped and its output fully copied. Bounded: --seconds,
	 * then SIGINT, then SIGKILL 15 s later. */
	while (!x.reaped || pipe_open) {
		struct pollfd pfd[2] = { { .fd = sfd, .events = POLLIN },
					 { .fd = pipe_open ? pipefd[0] : -1, .events = POLLIN } };
		struct signalfd_siginfo si;
		char buf[4096];
		ssize_t n;

		if (poll(pfd, 2, x.reaped ? 1000 : 50) < 0 && errno != EINTR) {
			log_err("poll: %s", strerror(errno));
			break;
		}
		now = now_ns();
		if (pfd[1].revents) {
			n = read(pipefd[0], buf, sizeof(buf));
			if (n > 0) {
				lines_feed(&out, buf, (size_t)n);
			} else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
				pipe_open = false;
				lines_flush(&out);
			}
		} else if (x.reaped) {
			pipe_open = false; /* a grandchild holds the pipe: stop waiting */
			lines_flush(&out);
		}
		if (out.seen && !x.ready && !x.reaped) {
			/* Set-up is done: what the child used so far is not the packets'. */
			x.ready = true;
			x.t_ready = now;
			proc_cpu_ns(x.pid, &x.ready_cpu);
			proc_times_ns(x.pid, &x.ready_user, &x.ready_sys);
			say_ready(o);
		}
		while (read(sfd, &si, sizeof(si)) == sizeof(si)) {
			if (si.ssi_signo == SIGUSR1)
				x.watching = true;
			else if (si.ssi_signo == SIGINT || si.ssi_signo == SIGTERM)
				x.interrupted = true;
		}
		if (!x.reaped) {
			pid_t r = wait4(x.pid, &x.status, WNOHANG, &x.ru);

			if (r == x.pid)
				x.reaped = true;
		}
		if (x.reaped)
			continue;
		if (x.interrupted || now - t0 >= o->limit_ns)
			exec_interrupt(&x, now);
		else if (x.watching && x.ready && !x.t_int)
			/* Watch only until the quiet point: after SIGINT the
			 * child's threads exit one by one, the sum over the live
			 * ones drops, and a later "quiet" reading would leave
			 * their work out of the window. */
			exec_watch(&x, o, now);
		if (x.t_int && !x.killed && now - x.t_int >= 15ull * 1000000000ull) {
			log_err("%s ignored SIGINT for 15 s: killing it", o->cmd[0]);
			kill(x.pid, SIGKILL);
			x.killed = true;
		}
	}

	if (x.ready) {
		uint64_t u1 = tv_ns(&x.ru.ru_utime), s1 = tv_ns(&x.ru.ru_stime);
		uint64_t uw = u1 > x.ready_user ? u1 - x.ready_user : 0;
		uint64_t sw = s1 > x.ready_sys ? s1 - x.ready_sys : 0;

		/* The total is exact; split it the way the (tick-sampled) times do.
		 * The window ends when CMD was found quiet (its packets done), as
		 * the in-process arms' windows end when counting ends: the exit
		 * (unmapping rings, closing files) is reported apart. */
		total = u1 + s1 > x.ready_cpu ? u1 + s1 - x.ready_cpu : 0;
		if (x.quiet_cpu > x.ready_cpu && x.quiet_cpu - x.ready_cpu < total) {
			teardown = total - (x.quiet_cpu - x.ready_cpu);
			total = x.quiet_cpu - x.ready_cpu;
		}
		user = uw + sw ? (uint64_t)((double)total * (double)uw / (double)(uw + sw)) : 0;
		sys = total - user;
	} else {
		log_err("%s never printed \"%s\"", o->cmd[0], o->ready_text);
	}
	printf("{\"method\":\"exec\",\"cmd\":\"%s\",\"ready\":%s,\"exit_status\":%d,"
	       "\"signal\":%d,\"killed\":%s,\"user_ns\":%llu,\"sys_ns\":%llu,"
	       "\"setup_cpu_ns\":%llu,\"exit_cpu_ns\":%llu,\"seconds\":%.6f}\n",
	       o->cmd[0], x.ready ? "true" : "false",
	       WIFEXITED(x.status) ? WEXITSTATUS(x.status) : -1,
	       WIFSIGNALED(x.status) ? WTERMSIG(x.status) : 0, x.killed ? "true" : "false",
	       (unsigned long long)user, (unsigned long long)sys,
	       (unsigned long long)x.ready_cpu, (unsigned long long)teardown,
	       x.ready ? (double)(now_ns() - x.t_ready) / 1e9 : 0.0);
	fflush(stdout);
	status = x.ready && WIFEXITED(x.status) && WEXITSTATUS(x.status) == 0 ? 0 : 1;
out_sfd:
	close(sfd);
out_pipe:
	close(pipefd[0]);
	if (pipefd[1] >= 0)
		close(pipefd[1]);
	sigprocmask(SIG_SETMASK, &old, NULL);
	return status;
}
