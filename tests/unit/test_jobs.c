/* jobs/: -z commands run exactly once per submitted file and see its final
 * content; at most N run at once and the rest wait their turn in order
 * (measured with marker files the jobs make, never with time); failures
 * are logged and counted while the others go on; jobs_close's bound kills
 * what is left. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "jobs/jobs.h"
#include "unit.h"

static char dir[] = "/tmp/ringcap-jobs.XXXXXX";
static char errlog[300];

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (!f || fputs(text, f) == EOF || fclose(f)) {
		perror(path);
		exit(1);
	}
}

/* The whole of a file, NUL-terminated (static buffer, one at a time). */
static const char *slurp(const char *path)
{
	static char buf[65536];
	FILE *f = fopen(path, "r");
	size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;

	if (f)
		fclose(f);
	buf[n] = 0;
	return buf;
}

static unsigned count_lines_equal(const char *text, const char *line)
{
	size_t len = strlen(line);
	unsigned n = 0;

	for (const char *p = text; *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : p + strlen(p))
		if (!strncmp(p, line, len) && (p[len] == '\n' || !p[len]))
			n++;
	return n;
}

static unsigned entries(const char *d)
{
	DIR *dh = opendir(d);
	struct dirent *e;
	unsigned n = 0;

	while (dh && (e = readdir(dh)))
		if (e->d_name[0] != '.')
			n++;
	if (dh)
		closedir(dh);
	return n;
}

/* DIR/SUB/NAME exists; SUB may be "" */
static bool exists(const char *sub, const char *name)
{
	char p[1024];

	snprintf(p, sizeof(p), "%s/%s%s", dir, sub, name);
	return access(p, F_OK) == 0;
}

/* Wait for progress the jobs make; the bound only stops a broken test. */
#define WAIT_FOR(cond)                                                  \
	do {                                                            \
		for (int i_ = 0; i_ < 2000 && !(cond); i_++)            \
			usleep(5000);                                   \
		CHECK(cond, "timed out waiting for %s", #cond);         \
	} while (0)

static void test_once_each_final_content(void)
{
	char cmd[512], path[512], copy[600], script[300];
	const char *names[21];
	char namebuf[21][64];
	struct jobs *j;
	struct jobs_counters c;
	const char *log;

	snprintf(script, sizeof(script), "%s/copy.sh", dir);
	write_file(script, "cp \"$1\" \"$1.copy\" && echo \"$1\" >> \"$(dirname \"$1\")/log\"\n");
	snprintf(cmd, sizeof(cmd), "sh %s", script);
	CHECK_EQ(jobs_open(&j, cmd, 3), 0);
	for (unsigned i = 0; i < 20; i++) {
		snprintf(namebuf[i], sizeof(namebuf[i]), "cap%u.pcap", i);
		names[i] = namebuf[i];
	}
	/* a name the shell must not interpret */
	snprintf(namebuf[20], sizeof(namebuf[20]), "a b $(touch pwned) \"q\" ';x.pcap");
	names[20] = namebuf[20];
	for (unsigned i = 0; i < 21; i++) {
		char content[64];

		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		snprintf(content, sizeof(content), "final content of file %u\n", i);
		write_file(path, content);
		CHECK_EQ(jobs_submit(j, path), 0);
	}
	CHECK_EQ(jobs_close(j, 30000, &c), 0);
	CHECK_EQ(c.run, 21);
	CHECK_EQ(c.failed, 0);
	CHECK_EQ(c.queued, 0);
	CHECK_EQ(c.running, 0);
	snprintf(path, sizeof(path), "%s/log", dir);
	log = strdup(slurp(path));
	for (unsigned i = 0; i < 21; i++) {
		char want[64];

		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		CHECK_EQ(count_lines_equal(log, path), 1);
		snprintf(copy, sizeof(copy), "%s.copy", path);
		snprintf(want, sizeof(want), "final content of file %u\n", i);
		CHECK(!strcmp(slurp(copy), want), "%s holds '%s'", copy, slurp(copy));
		unlink(copy);
		unlink(path);
	}
	free((void *)log);
	CHECK(access("pwned", F_OK) < 0 && !exists("", "pwned"), "the file name ran as shell code");
	unlink("pwned");
	snprintf(path, sizeof(path), "%s/log", dir);
	unlink(path);
	unlink(script);
}

static void test_at_most_n_in_fifo_order(void)
{
	char cmd[600], script[300], p[512], files[6][400];
	struct jobs *j;
	struct jobs_counters c;
	const char *conc;
	char rundir[400];

	snprintf(rundir, sizeof(rundir), "%s/run", dir);
	mkdir(rundir, 0755);
	snprintf(p, sizeof(p), "%s/gate", dir);
	mkdir(p, 0755);
	snprintf(script, sizeof(script), "%s/gate.sh", dir);
	write_file(script,
		   "d=$(dirname \"$0\"); n=$(basename \"$1\")\n"
		   /* the order line first: the test waits for run/NAME, and
		    * then expects the line to be there */
		   "echo \"$n\" >> \"$d/order\"\n"
		   ": > \"$d/run/$n\"\n"
		   "ls \"$d/run\" | wc -l >> \"$d/conc\"\n"
		   "i=0; while [ ! -e \"$d/gate/$n\" ] && [ $i -lt 6000 ]; do sleep 0.01; i=$((i+1)); done\n"
		   "rm -f \"$d/run/$n\"\n");
	snprintf(cmd, sizeof(cmd), "sh %s", script);
	CHECK_EQ(jobs_open(&j, cmd, 2), 0);
	for (unsigned i = 0; i < 6; i++) {
		snprintf(files[i], sizeof(files[i]), "%s/f%u", dir, i);
		write_file(files[i], "x");
		CHECK_EQ(jobs_submit(j, files[i]), 0);
	}
	WAIT_FOR(exists("run/", "f0") && exists("run/", "f1"));
	CHECK_EQ(entries(rundir), 2);
	jobs_counters(j, &c);
	CHECK_EQ(c.running, 2);
	CHECK_EQ(c.queued, 4);
	CHECK(jobs_busy(j, files[0]) && jobs_busy(j, files[5]), "running and queued files are busy");
	CHECK(!jobs_busy(j, "/nonexistent/other"), "an unknown file is busy");

	/* release f1 first: the next in line (f2) starts beside f0 */
	snprintf(p, sizeof(p), "%s/gate/f1", dir);
	write_file(p, "");
	WAIT_FOR(exists("run/", "f2") && !exists("run/", "f1"));
	CHECK(exists("run/", "f0") && entries(rundir) == 2, "after f1: %u running", entries(rundir));
	CHECK(!jobs_busy(j, files[1]), "a finished file is still busy");
	/* then one at a time: each release lets exactly the next in line start */
	{
		static const char *const release[] = { "f0", "f2", "f3", "f4", "f5" };
		static const char *const next[] = { "f3", "f4", "f5", NULL, NULL };

		for (unsigned i = 0; i < 5; i++) {
			snprintf(p, sizeof(p), "%s/gate/%s", dir, release[i]);
			write_file(p, "");
			WAIT_FOR(!exists("run/", release[i]) && (!next[i] || exists("run/", next[i])));
		}
	}
	CHECK_EQ(jobs_close(j, 30000, &c), 0);
	CHECK_EQ(c.run, 6);
	CHECK_EQ(c.failed, 0);
	snprintf(p, sizeof(p), "%s/order", dir);
	/* f0 and f1 start together; the rest one at a time, in submission order */
	CHECK(!strcmp(slurp(p), "f0\nf1\nf2\nf3\nf4\nf5\n") ||
		      !strcmp(slurp(p), "f1\nf0\nf2\nf3\nf4\nf5\n"),
	      "order: %s", slurp(p));
	snprintf(p, sizeof(p), "%s/conc", dir);
	conc = slurp(p);
	CHECK_EQ(count_lines_equal(conc, "1") + count_lines_equal(conc, "2"), 6);
	CHECK(count_lines_equal(conc, "2") >= 1, "never two at once: %s", conc);
	snprintf(p, sizeof(p), "rm -rf %s/run %s/gate %s/order %s/conc %s/f? %s", dir, dir, dir, dir,
		 dir, script);
	CHECK_EQ(system(p), 0);
}

static void test_failures_counted_others_go_on(void)
{
	char cmd[600], script[300], p[1400];
	static const char *names[] = { "good1", "bad", "good2", "sig", "good3" };
	struct jobs *j;
	struct jobs_counters c;
	const char *err;

	snprintf(script, sizeof(script), "%s/fail.sh", dir);
	write_file(script, "case \"$1\" in *bad) exit 3;; *sig) kill -9 $PPID; exit 9;; esac\n"
			   "echo \"$1\" >> \"$(dirname \"$0\")/ok\"\n");
	snprintf(cmd, sizeof(cmd), "sh %s", script);
	CHECK_EQ(jobs_open(&j, cmd, 1), 0);
	jobs_set_retry(j, &(struct jobs_retry){ .max_tries = 1 }); /* retries: test_retry */
	for (unsigned i = 0; i < 5; i++) {
		snprintf(p, sizeof(p), "%s/%s", dir, names[i]);
		CHECK_EQ(jobs_submit(j, p), 0);
	}
	CHECK_EQ(jobs_close(j, 30000, &c), 0);
	CHECK_EQ(c.run, 5);
	CHECK_EQ(c.failed, 2);
	snprintf(p, sizeof(p), "%s/ok", dir);
	CHECK(!strcmp(slurp(p), "") == 0, "no job succeeded");
	{
		char want[512];
		const char *ok = slurp(p);

		for (unsigned i = 0; i < 5; i += 2) {
			snprintf(want, sizeof(want), "%s/%s", dir, names[i]);
			CHECK_EQ(count_lines_equal(ok, want), 1);
		}
	}
	unlink(p);
	fflush(stderr);
	err = slurp(errlog);
	snprintf(p, sizeof(p), "-z '%s' %s/bad: failed, exit 3, ", cmd, dir);
	CHECK(strstr(err, p), "no line for the failed job in: %s", err);
	snprintf(p, sizeof(p), "-z '%s' %s/sig: failed, killed by signal 9 (Killed), ", cmd, dir);
	CHECK(strstr(err, p), "no line for the killed job");
	snprintf(p, sizeof(p), "-z '%s' %s/good3: exit 0, ", cmd, dir);
	CHECK(strstr(err, p), "no line for the job after the failures");
	unlink(script);
}

/* Waits (bounded) for `pid` to be gone or a zombie: its parent, the job's
 * shell, is killed too, and whoever adopts it may not reap it at once. */
static bool alive(pid_t pid)
{
	char p[64];

	snprintf(p, sizeof(p), "/proc/%d/stat", (int)pid);
	for (int i = 0; i < 2000; i++) {
		const char *st = slurp(p), *paren = strrchr(st, ')');

		if (!*st || (paren && paren[1] && paren[2] == 'Z'))
			return false;
		usleep(5000);
	}
	return true;
}

static void test_close_bound(void)
{
	char cmd[600], script[300], p[512];
	struct jobs *j;
	struct jobs_counters c;
	pid_t pid;

	/* ignores SIGTERM, so only the SIGKILL after the grace ends it */
	snprintf(script, sizeof(script), "%s/stuck.sh", dir);
	write_file(script, "echo $$ > \"$1.pid\"; i=0\n"
			   "while [ $i -lt 3000 ]; do sleep 0.01; i=$((i+1)); done\n");
	snprintf(cmd, sizeof(cmd), "trap '' TERM; sh %s", script);
	CHECK_EQ(jobs_open(&j, cmd, 1), 0);
	snprintf(p, sizeof(p), "%s/stuck1", dir);
	CHECK_EQ(jobs_submit(j, p), 0);
	snprintf(p, sizeof(p), "%s/stuck2", dir);
	CHECK_EQ(jobs_submit(j, p), 0);
	snprintf(p, sizeof(p), "%s/stuck1.pid", dir);
	WAIT_FOR(strchr(slurp(p), '\n'));
	pid = (pid_t)atoi(slurp(p));
	CHECK_EQ(jobs_close(j, 100, &c), (unsigned long long)-ETIMEDOUT);
	CHECK_EQ(c.run, 1);
	CHECK_EQ(c.failed, 2);   /* killed, and never started */
	CHECK(pid > 0 && !alive(pid), "job %d still there", pid);
	CHECK(!exists("", "stuck2.pid"), "the queued job ran after close");
	unlink(p);
	unlink(script);
	CHECK(strstr(slurp(errlog), "stuck2: not run, ringcap is exiting"), "no 'not run' line");
}

/* A service unit gives ringcap ambient capabilities; -z commands must not
 * inherit them. Root only (raising an ambient capability needs it). */
static void test_no_ambient_capabilities(void)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[2];
	char cmd[600], p[512], control[600];
	struct jobs *j;

	if (geteuid() != 0 || syscall(SYS_capget, &hdr, data) < 0)
		return;
	data[0].inheritable |= 1u << CAP_NET_RAW;
	if (syscall(SYS_capset, &hdr, data) < 0 ||
	    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_NET_RAW, 0, 0) < 0) {
		fprintf(stderr, "note: cannot raise an ambient capability here; not tested\n");
		return;
	}
	/* control: a child of this thread does get it */
	snprintf(control, sizeof(control), "grep CapAmb /proc/self/status > %s/amb.control", dir);
	CHECK_EQ(system(control), 0);
	snprintf(p, sizeof(p), "%s/amb.control", dir);
	CHECK(!strstr(slurp(p), "0000000000000000"), "the control has no ambient caps: %s", slurp(p));
	snprintf(cmd, sizeof(cmd), "grep CapAmb /proc/self/status >");
	CHECK_EQ(jobs_open(&j, cmd, 1), 0);
	snprintf(p, sizeof(p), "%s/amb.job", dir);
	CHECK_EQ(jobs_submit(j, p), 0);
	CHECK_EQ(jobs_close(j, 30000, NULL), 0);
	CHECK(strstr(slurp(p), "CapAmb:\t0000000000000000"), "a job inherited: %s", slurp(p));
	unlink(p);
	snprintf(p, sizeof(p), "%s/amb.control", dir);
	unlink(p);
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
}

/* A descriptor left open without close-on-exec is not passed to a job. */
static void test_no_inherited_descriptors(void)
{
	char cmd[64], p[512], control[600];
	struct jobs *j;
	int fd = open("/dev/null", O_RDONLY);

	CHECK(fd >= 0 && dup2(fd, 57) == 57, "dup2");
	close(fd);
	snprintf(control, sizeof(control), "ls /proc/self/fd > %s/fd.control", dir);
	CHECK_EQ(system(control), 0);
	snprintf(p, sizeof(p), "%s/fd.control", dir);
	CHECK(count_lines_equal(slurp(p), "57") == 1, "the control did not inherit fd 57");
	unlink(p);
	snprintf(cmd, sizeof(cmd), "ls /proc/self/fd >");
	CHECK_EQ(jobs_open(&j, cmd, 1), 0);
	snprintf(p, sizeof(p), "%s/fd.job", dir);
	CHECK_EQ(jobs_submit(j, p), 0);
	CHECK_EQ(jobs_close(j, 30000, NULL), 0);
	CHECK(count_lines_equal(slurp(p), "57") == 0 && count_lines_equal(slurp(p), "2") == 1,
	      "descriptors in the job: %s", slurp(p));
	unlink(p);
	close(57);
}

static void test_bad_arguments(void)
{
	struct jobs *j = NULL;

	CHECK_EQ(jobs_open(&j, "", 2), (unsigned long long)-EINVAL);
	CHECK_EQ(jobs_open(&j, "true", 0), (unsigned long long)-EINVAL);
	CHECK_EQ(jobs_open(&j, "true", JOBS_MAX_RUNNING + 1), (unsigned long long)-EINVAL);
	CHECK(!jobs_busy(NULL, "x"), "NULL jobs busy");
	CHECK_EQ(jobs_close(NULL, 0, NULL), 0);
}

/* The backoff: 1 s, 2 s, 4 s ... at most 60 s. Then, on a fast clock
 * (10 ms doubling to 40 ms): a -z that keeps failing runs max_tries times,
 * each failure counted, and its file stays; one that fails once succeeds on
 * its second run; one whose file is deleted while it waits (not busy then,
 * so retention may) is dropped without running again. */
static void test_retry(void)
{
	const struct jobs_retry dflt = { .first_ns = 1000000000ull, .max_ns = 60000000000ull, .max_tries = 8 };
	const uint64_t want[] = { 1, 2, 4, 8, 16, 32, 60, 60, 60 };
	char cmd[900], p[2000], once[600], gone[600];
	struct jobs_counters c;
	struct jobs *j;
	const char *err;

	for (unsigned i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		CHECK_EQ(jobs_retry_delay_ns(&dflt, i + 1), want[i] * 1000000000ull);

	/* always: fails; once: fails the first time only; gone: fails, and is
	 * deleted while it waits */
	snprintf(cmd, sizeof(cmd),
		 "f() { echo x >> \"$1.runs\"; case \"$1\" in *always) exit 4;; *once) [ -e \"$1.ok\" ] && exit 0; "
		 ": > \"$1.ok\"; exit 5;; *gone) exit 6;; esac; }; f");
	CHECK_EQ(jobs_open(&j, cmd, 2), 0);
	/* gone's next try comes in 300 ms: time enough to delete its file */
	jobs_set_retry(j, &(struct jobs_retry){ .first_ns = 300000000, .max_ns = 300000000, .max_tries = 4 });
	snprintf(p, sizeof(p), "%s/always", dir);
	snprintf(once, sizeof(once), "%s/once", dir);
	snprintf(gone, sizeof(gone), "%s/gone", dir);
	write_file(p, "a");
	write_file(once, "b");
	write_file(gone, "c");
	CHECK_EQ(jobs_submit(j, gone), 0);
	/* gone's first run failed: it waits, and is not busy while it waits */
	WAIT_FOR((jobs_counters(j, &c), c.waiting == 1));
	CHECK(!jobs_busy(j, gone), "a job waiting for its next try is busy");
	unlink(gone);
	jobs_set_retry(j, &(struct jobs_retry){ .first_ns = 10000000, .max_ns = 40000000, .max_tries = 4 });
	CHECK_EQ(jobs_submit(j, p), 0);
	CHECK_EQ(jobs_submit(j, once), 0);
	WAIT_FOR((jobs_counters(j, &c), c.gave_up == 2 && c.run == 7));
	CHECK_EQ(jobs_close(j, 30000, &c), 0);
	CHECK_EQ(c.run, 1 + 4 + 2);    /* gone once, always 4 times, once twice */
	CHECK_EQ(c.failed, 1 + 4 + 1);
	CHECK_EQ(c.retried, 3 + 1);
	CHECK_EQ(c.gave_up, 2);        /* always (tries used up) and gone */
	CHECK(exists("", "always") && exists("", "once"), "a file whose -z failed was deleted");
	snprintf(p, sizeof(p), "%s/always.runs", dir);
	CHECK(!strcmp(slurp(p), "x\nx\nx\nx\n"), "always ran other than 4 times: '%s'", slurp(p));
	snprintf(p, sizeof(p), "%s/gone.runs", dir);
	CHECK(!strcmp(slurp(p), "x\n"), "gone ran again after it was deleted");
	fflush(stderr);
	err = slurp(errlog);
	snprintf(p, sizeof(p), "-z '%s' %s/always: failed, exit 4, ", cmd, dir);
	CHECK(strstr(err, p), "no line for the failure");
	snprintf(p, sizeof(p), "-z '%s' %s/always: failed 4 times, not tried again; the file is kept", cmd, dir);
	CHECK(strstr(err, p), "no line for giving up");
	snprintf(p, sizeof(p), "-z '%s' %s/gone: gone before it was tried again", cmd, dir);
	CHECK(strstr(err, p), "no line for the deleted file");
	snprintf(p, sizeof(p), "rm -f %s/always* %s/once* %s/gone*", dir, dir, dir);
	CHECK_EQ(system(p), 0);
}

int main(void)
{
	int saved;

	if (!mkdtemp(dir))
		return 1;
	/* the job lines go to stderr: keep a copy to read them back */
	snprintf(errlog, sizeof(errlog), "%s.stderr", dir);
	saved = dup(2);
	if (!freopen(errlog, "w", stderr))
		return 1;
	setvbuf(stderr, NULL, _IONBF, 0);
	test_bad_arguments();
	test_once_each_final_content();
	test_at_most_n_in_fifo_order();
	test_failures_counted_others_go_on();
	test_close_bound();
	test_no_ambient_capabilities();
	test_no_inherited_descriptors();
	test_retry();
	dup2(saved, 2);
	{
		char cmd[700];

		snprintf(cmd, sizeof(cmd), "cat %s >&2; rm -f %s; rmdir %s", errlog, errlog, dir);
		CHECK_EQ(system(cmd), 0);
	}
	return unit_exit("test_jobs");
}
