/* Atomic replacement of a small file: hidden temporary beside it, fsync, rename. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "stats/stats_impl.h"

/* Split `path` into its directory ("." when it has none) and the temporary
 * name ".BASE.XXXXXX" in that directory. */
static int temp_name(const char *path, char *dir, size_t dlen, char *tmp, size_t tlen)
{
	const char *slash = strrchr(path, '/');
	const char *base = slash ? slash + 1 : path;
	int n;

	if (!*base)
		return -EISDIR;
	if (slash)
		n = snprintf(dir, dlen, "%.*s", (int)(slash == path ? 1 : slash - path), path);
	else
		n = snprintf(dir, dlen, ".");
	if (n < 0 || (size_t)n >= dlen)
		return -ENAMETOOLONG;
	n = snprintf(tmp, tlen, "%.*s.%s.XXXXXX", (int)(base - path), path, base);
	if (n < 0 || (size_t)n >= tlen)
		return -ENAMETOOLONG;
	return 0;
}

/* The rename is durable only once the directory entry is on disk. */
static int sync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int ret = 0;

	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0 && errno != EINVAL)
		ret = -errno;
	close(fd);
	return ret;
}

int replace_file(const char *path, replace_fill_fn fill, const void *arg)
{
	char dir[PATH_MAX], tmp[PATH_MAX];
	struct stat st;
	FILE *f;
	int fd, ret;

	ret = temp_name(path, dir, sizeof(dir), tmp, sizeof(tmp));
	if (ret)
		return ret;
	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		return -EISDIR;
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return -errno;
	/* mkstemp makes 0600; node_exporter runs as another user */
	if (fchmod(fd, 0644) < 0) {
		ret = -errno;
		close(fd);
		goto out_unlink;
	}
	f = fdopen(fd, "w");
	if (!f) {
		ret = -errno;
		close(fd);
		goto out_unlink;
	}
	ret = fill(f, arg);
	if (!ret && fflush(f) == EOF)
		ret = -errno;
	if (!ret && fsync(fileno(f)) < 0)
		ret = -errno;
	if (fclose(f) == EOF && !ret)
		ret = -errno;
	if (ret)
		goto out_unlink;
	if (rename(tmp, path) < 0) {
		ret = -errno;
		goto out_unlink;
	}
	return sync_dir(dir);
out_unlink:
	unlink(tmp);
	return ret;
}
