/* The --stats-interval line and the start-up check of an output path. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "stats/stats.h"
#include "stats/stats_impl.h"

/* 1536 -> "1.5 KiB"; binary units, like ls -h. */
static void human_bytes(char *out, size_t len, uint64_t v)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB" };
	double d = (double)v;
	unsigned u = 0;

	while (d >= 1024 && u + 1 < sizeof(units) / sizeof(units[0])) {
		d /= 1024;
		u++;
	}
	if (u)
		snprintf(out, len, "%.1f %s", d, units[u]);
	else
		snprintf(out, len, "%llu B", (unsigned long long)v);
}

/* Counters only grow; a smaller value (a caller's reset) reads as zero. */
static uint64_t delta(uint64_t prev, uint64_t cur)
{
	return cur > prev ? cur - prev : 0;
}

int stats_format_interval_line(char *buf, size_t len, const struct stats_snapshot *prev,
			       const struct stats_snapshot *cur, double seconds)
{
	static const struct stats_snapshot zero;
	char written[32], free_space[48] = "";
	double per_s = seconds > 0 ? 1 / seconds : 0;
	int n;

	if (!prev)
		prev = &zero;
	human_bytes(written, sizeof(written), cur->bytes_written);
	if (cur->disk_known) {
		char b[32];

		human_bytes(b, sizeof(b), cur->disk_free_bytes);
		snprintf(free_space, sizeof(free_space), ", %s free", b);
	}
	n = snprintf(buf, len,
		     "%.1f s: %.0f packets/s, %.3f Gbit/s written, %llu dropped by kernel "
		     "(%llu in all), %s written, %llu waits for the disk (%llu in all)%s, "
		     "%llu files deleted (%llu in all)",
		     cur->seconds, (double)delta(prev->received, cur->received) * per_s,
		     (double)delta(prev->bytes_written, cur->bytes_written) * 8 * per_s / 1e9,
		     (unsigned long long)delta(prev->dropped, cur->dropped),
		     (unsigned long long)cur->dropped, written,
		     (unsigned long long)delta(prev->writer_stalls, cur->writer_stalls),
		     (unsigned long long)cur->writer_stalls, free_space,
		     (unsigned long long)delta(prev->retention_files_deleted,
					       cur->retention_files_deleted),
		     (unsigned long long)cur->retention_files_deleted);
	if (n < 0)
		return -EINVAL;
	return (size_t)n >= len ? -ENOSPC : 0;
}

/* Copies the file open as `arg` (an int fd) into the temporary file. */
static int fill_copy(FILE *f, const void *arg)
{
	int fd = *(const int *)arg;
	char buf[8192];
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf))) > 0)
		if (fwrite(buf, 1, (size_t)n, f) != (size_t)n)
			return -EIO;
	return n < 0 ? -errno : 0;
}

static int fill_nothing(FILE *f, const void *arg)
{
	(void)f;
	(void)arg;
	return 0;
}

int stats_check_writable(const char *path)
{
	struct stat st;
	int fd, ret;

	if (stat(path, &st) == 0) {
		if (S_ISDIR(st.st_mode))
			return -EISDIR;
		if (!S_ISREG(st.st_mode))
			return -EINVAL;
		/* replace it by a copy of itself: a reader never sees a change */
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return -errno;
		ret = replace_file(path, fill_copy, &fd);
		close(fd);
		return ret;
	}
	if (errno != ENOENT)
		return -errno;
	ret = replace_file(path, fill_nothing, NULL);
	if (!ret && unlink(path) < 0)
		ret = -errno;
	return ret;
}
