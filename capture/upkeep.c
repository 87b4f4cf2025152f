/*
 * The capture's upkeep: what keeps an unattended capture going and what main's
 * timers run besides the reports. The files the writer closes go to retention
 * (through a queue main empties) and to -z; retention keeps the disk limits;
 * --on-full wait resumes after a full disk; live files are flushed; -Z drops
 * privileges once everything privileged is open.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "capture/capture_impl.h"
#include "index/index.h"
#include "util/util.h"

/* The writer closed a file (its thread: the reaper, a worker, the merger or
 * main):
 * retention may delete it from now on, and -z gets it if it is whole. */
void capture_file_closed(void *ctx, const char *path, uint64_t size, int error)
{
	struct capture *cap = ctx;

	__atomic_add_fetch(&cap->files_closed, 1, __ATOMIC_RELAXED);
	if (cap->ret) {
		/* Not retention_add_closed here: it waits while main deletes a
		 * file, and this thread's next completion or append waits for
		 * this hook (writer.h). Main adds it. */
		struct closed_file *c = xcalloc(1, sizeof(*c) + strlen(path) + 1);

		c->size = size;
		strcpy(c->path, path);
		pthread_mutex_lock(&cap->closed_lock);
		c->next = cap->closed_files;
		cap->closed_files = c;
		pthread_mutex_unlock(&cap->closed_lock);
	}
	/* A file cut at its last whole record by a full disk that --on-full
	 * wait waits out is a finished file like any other. */
	if (cap->jobs && (!error || cap->cfg.on_full_wait))
		jobs_submit(cap->jobs, path);
}

int capture_iface_stats(void *ctx, unsigned iface, uint64_t *recv, uint64_t *drop)
{
	return capture_iface_totals(ctx, iface, recv, drop);
}

void capture_take_closed(struct capture *cap)
{
	struct closed_file *c, *rev = NULL;

	pthread_mutex_lock(&cap->closed_lock);
	c = cap->closed_files;
	cap->closed_files = NULL;
	pthread_mutex_unlock(&cap->closed_lock);
	while (c) { /* the list is newest first */
		struct closed_file *next = c->next;

		c->next = rev;
		rev = c;
		c = next;
	}
	while (rev) {
		struct closed_file *next = rev->next;

		retention_add_closed(cap->ret, rev->path, rev->size, 0);
		xfree(rev);
		rev = next;
	}
}

static bool file_in_use(void *ctx, const char *path)
{
	return jobs_busy(ctx, path);
}

/* -z and --min-free/--max-total, after the writer's first file exists (and,
 * with -Z, as the user: the -z children inherit it). */
int capture_open_upkeep(struct capture *cap)
{
	const struct capture_config *o = &cap->cfg;
	char dir[PATH_MAX];
	int ret;

	if (o->z_cmd) {
		ret = jobs_open(&cap->jobs, o->z_cmd, o->z_jobs);
		if (ret) {
			log_err("bad -z command '%s': %s", o->z_cmd, strerror(-ret));
			return ret;
		}
	}
	if (!o->min_free_bytes && !o->min_free_percent && !o->max_total_bytes)
		return 0;
	path_dir(o->path, dir, sizeof(dir));
	ret = retention_open(&cap->ret, &(struct retention_config){
		.dir = dir,
		.min_free_bytes = o->min_free_bytes,
		.min_free_percent = o->min_free_percent,
		.max_total_bytes = o->max_total_bytes,
		.sibling = index_path_for,
		.in_use = file_in_use,
		.in_use_ctx = cap->jobs,
		.rescan_ns = 1000000000ull,
	});
	if (ret) {
		log_err("retention in %s: %s", dir, strerror(-ret));
		return ret;
	}
	writer_current_path(cap->writer, dir, sizeof(dir));
	retention_set_current(cap->ret, dir, 0); /* never adopted, never deleted */
	ret = retention_adopt(cap->ret, &(struct retention_pattern){
		.path = o->path, .strftime = o->rotate_ns != 0, .numbered = o->rotate_bytes != 0,
		.max_files = o->rotate_bytes ? o->max_files : 0 }, NULL);
	if (ret && ret != -EOPNOTSUPP)
		log_warn("retention: earlier files of this capture not adopted: %s", strerror(-ret));
	return 0;
}

/* Retention counts a file by its bytes, the file system by its blocks, and
 * the file being written holds what the writer reserved ahead of its writes
 * (fallocate, KEEP_SIZE): up to a whole step that no size shows. So the step
 * is sized to the limits rather than the blocks counted: at most a sixteenth
 * of --max-total, and of the room --min-free leaves at start, so the
 * capture's files never occupy more than a bounded share beyond the limit
 * (counting st_blocks instead would let a 256 MiB step alone break a small
 * --max-total). Never less than the writer's 1 MiB chunk. */
uint64_t capture_prealloc_step(const struct capture_config *o)
{
	const uint64_t chunk = 1ull << 20, share = 16;
	uint64_t step = 256ull << 20;

	if (o->max_total_bytes && o->max_total_bytes / share < step)
		step = o->max_total_bytes / share;
	if (o->path && (o->min_free_bytes || o->min_free_percent)) {
		uint64_t avail, size, keep;
		char dir[PATH_MAX];

		path_dir(o->path, dir, sizeof(dir));
		if (retention_statvfs(dir, &avail, &size) == 0) {
			keep = o->min_free_bytes;
			if (size / 100 * o->min_free_percent > keep)
				keep = size / 100 * o->min_free_percent;
			avail = avail > keep ? avail - keep : 0;
			if (avail / share < step)
				step = avail / share;
		}
	}
	return step < chunk ? chunk : step & ~(chunk - 1);
}

/* Keep the limits, with room for what comes before the next look. Never from
 * a worker: deleting a large file takes time. */
enum capture_timer_ret capture_tick_retention(void *ctx, uint64_t now)
{
	struct capture *cap = ctx;
	char cur[PATH_MAX];
	uint64_t bytes, reserve, cur_bytes;
	int ret;

	if (!cap->ret)
		return CAPTURE_TIMER_NEXT;
	bytes = writer_bytes(cap->writer);
	if (cap->t_tick && now > cap->t_tick)
		cap->bytes_per_s = (bytes - cap->bytes_at_tick) * 1000000000ull / (now - cap->t_tick);
	cap->t_tick = now;
	cap->bytes_at_tick = bytes;
	/* What may land before the next look (CAPTURE_UPKEEP_NS, 200 ms): half
	 * a second of the current rate; and, for --min-free, the space a new
	 * file's preallocation takes (the writer's step, or the -C size when
	 * smaller), which uses the disk but is not the capture's bytes yet. */
	reserve = cap->bytes_per_s / 2;
	if (cap->cfg.min_free_bytes || cap->cfg.min_free_percent)
		reserve += cap->cfg.rotate_bytes && cap->cfg.rotate_bytes < cap->prealloc_step
				   ? cap->cfg.rotate_bytes : cap->prealloc_step;
	capture_take_closed(cap);
	/* the file being written counts towards --max-total too (no current
	 * file while --on-full wait waits for room) */
	cur_bytes = writer_current_path(cap->writer, cur, sizeof(cur));
	retention_set_current(cap->ret, *cur ? cur : NULL, cur_bytes);
	ret = retention_enforce(cap->ret, reserve);
	if (ret == -ENOSPC && !cap->retention_full)
		log_warn("retention: the limits cannot be held: nothing more may be deleted");
	cap->retention_full = ret == -ENOSPC;
	return CAPTURE_TIMER_NEXT;
}

enum capture_timer_ret capture_tick_resume(void *ctx, uint64_t now)
{
	struct capture *cap = ctx;
	int ret;

	(void)now;
	if (!cap->writer || !cap->cfg.on_full_wait)
		return CAPTURE_TIMER_NEXT;
	ret = writer_resume(cap->writer);
	return ret && ret != -EAGAIN ? CAPTURE_TIMER_END : CAPTURE_TIMER_NEXT;
}

/* Live files: every --flush-interval (and with -U every upkeep period, for
 * what an append could not write because an earlier chunk was still in
 * flight), the records of the chunk being filled go out. */
enum capture_timer_ret capture_tick_flush(void *ctx, uint64_t now)
{
	struct capture *cap = ctx;
	int ret;

	(void)now;
	if (!cap->writer)
		return CAPTURE_TIMER_NEXT;
	ret = writer_flush(cap->writer);
	if (ret == -EAGAIN)
		return CAPTURE_TIMER_AGAIN;
	return ret ? CAPTURE_TIMER_END : CAPTURE_TIMER_NEXT;
}

bool capture_rotate_request(struct capture *cap)
{
	if (!cap->writer || (!cap->cfg.rotate_bytes && !cap->cfg.rotate_ns))
		return false;
	writer_rotate_request(cap->writer);
	return true;
}

/* The user's groups, group and user, in that order; 0 or -errno. */
static int become_user(const struct passwd *pw)
{
	if (initgroups(pw->pw_name, pw->pw_gid) < 0 || setgid(pw->pw_gid) < 0 ||
	    setuid(pw->pw_uid) < 0)
		return -errno;
	return 0;
}

/* -Z: everything privileged is open; run the capture as an ordinary user.
 * 0 or -errno (one line logged). */
static int drop_privileges(const char *user)
{
	struct passwd *pw = getpwnam(user);
	int ret;

	if (!pw) {
		log_err("bad user '%s': no such user", user);
		return -ENOENT;
	}
	ret = become_user(pw);
	if (ret)
		log_err("cannot become user '%s': %s", user, strerror(-ret));
	return ret;
}

/* With -C or -G the later files are created as the -Z user: find out at
 * start, not at the first rotation, whether that user may create files in the
 * folder. A child process becomes the user and tries, so nothing is created
 * that the user could not remove. */
int capture_check_can_rotate(const struct capture_config *o)
{
	const char *slash = strrchr(o->path, '/');
	int dirlen = slash ? (int)(slash - o->path) + 1 : 0;
	struct passwd *pw = getpwnam(o->user);
	char probe[PATH_MAX];
	int status, err;
	pid_t pid;

	if (!o->rotate_bytes && !o->rotate_ns)
		return 0;
	if (!pw) {
		log_err("bad user '%s': no such user", o->user);
		return -ENOENT;
	}
	if (snprintf(probe, sizeof(probe), "%.*s.ringcap-probe-%d", dirlen, o->path,
		     (int)getpid()) >= (int)sizeof(probe))
		return -ENAMETOOLONG;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		int fd, ret = become_user(pw);

		if (ret)
			_exit(-ret);
		fd = open(probe, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0)
			_exit(errno);
		close(fd);
		_exit(unlink(probe) < 0 ? errno : 0);
	}
	if (waitpid(pid, &status, 0) < 0)
		return -errno;
	err = WIFEXITED(status) ? WEXITSTATUS(status) : EIO;
	if (err)
		log_err("bad user '%s': cannot create the next files (-C/-G) in %.*s: %s",
			o->user, dirlen ? dirlen : 1, dirlen ? o->path : ".", strerror(err));
	return -err;
}


int capture_drop_privileges(struct capture *cap)
{
	int ret;

	if (!cap->cfg.user)
		return 0;
	ret = drop_privileges(cap->cfg.user);
	/* the stats files are written as the user from now on */
	return ret ? ret : capture_check_stat_files(&cap->cfg);
}
