/* Retention: a list of this capture's closed files, oldest first packet
 * first, and the loop that deletes from its head until the limits hold. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "format/format.h"
#include "retention/retention.h"
#include "retention/retention_impl.h"
#include "util/util.h"

struct kept_file {
	char *path;
	uint64_t size;
	uint64_t first_ts_ns;
	dev_t dev;
	ino_t ino;
	struct timespec ctime;  /* with dev and ino: this file, not a new one under its name */
	bool foreign;           /* not a capture file (logged once): counted, never deleted */
	bool gone;              /* the file itself is gone or not ours: only its products are */
	uint64_t prod_bytes;    /* its -z products and indexes (FILE.zst, .FILE.ridx) */
};

struct retention {
	pthread_mutex_t lock;
	struct retention_config cfg;
	char *dir;
	char **suffixes;              /* our copy, NULL-terminated */
	struct kept_file *files;      /* sorted by first_ts_ns, oldest first */
	size_t nfiles, cap;
	uint64_t bytes_kept;
	char *current;                /* the file being written, or NULL */
	dev_t current_dev;
	ino_t current_ino;
	bool current_known;           /* dev/ino above are valid */
	uint64_t current_bytes;
	bool unmet_logged;            /* -ENOSPC said once until the limits hold again */
	uint64_t last_rescan_ns;      /* products last looked for (CLOCK_MONOTONIC) */
	struct rotation_matcher m;    /* the capture's names, from retention_adopt */
	struct retention_counters c;
};

int retention_statvfs(const char *dir, uint64_t *avail, uint64_t *size)
{
	struct statvfs v;

	if (statvfs(dir, &v) < 0)
		return -errno;
	*avail = (uint64_t)v.f_bavail * v.f_frsize;
	*size = (uint64_t)v.f_blocks * v.f_frsize;
	return 0;
}

static int default_space(void *ctx, uint64_t *avail, uint64_t *size)
{
	return retention_statvfs(ctx, avail, size);
}

int retention_open(struct retention **out, const struct retention_config *cfg)
{
	struct retention *r;
	size_t n = 0;

	if (!cfg->dir || cfg->min_free_percent > 99)
		return -EINVAL;
	r = xcalloc(1, sizeof(*r));
	pthread_mutex_init(&r->lock, NULL);
	r->cfg = *cfg;
	r->dir = xstrdup(cfg->dir);
	while (cfg->sibling_suffixes && cfg->sibling_suffixes[n])
		n++;
	r->suffixes = xcalloc(n + 1, sizeof(*r->suffixes));
	for (size_t i = 0; i < n; i++)
		r->suffixes[i] = xstrdup(cfg->sibling_suffixes[i]);
	r->cfg.sibling_suffixes = NULL;
	if (!r->cfg.space) {
		r->cfg.space = default_space;
		r->cfg.space_ctx = r->dir;
	}
	*out = r;
	return 0;
}

void retention_close(struct retention *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->nfiles; i++)
		xfree(r->files[i].path);
	for (size_t i = 0; r->suffixes[i]; i++)
		xfree(r->suffixes[i]);
	xfree(r->suffixes);
	xfree(r->files);
	xfree(r->current);
	xfree(r->dir);
	rotation_matcher_free(&r->m);
	pthread_mutex_destroy(&r->lock);
	xfree(r);
}

static void remove_at(struct retention *r, size_t i)
{
	r->bytes_kept -= r->files[i].size + r->files[i].prod_bytes;
	xfree(r->files[i].path);
	memmove(&r->files[i], &r->files[i + 1], (r->nfiles - i - 1) * sizeof(r->files[0]));
	r->nfiles--;
}

/* Files usually arrive in order, so the search from the end is short. */
static void insert_sorted(struct retention *r, const struct kept_file *f)
{
	size_t i = r->nfiles;

	if (r->nfiles == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 64;
		struct kept_file *grown = xcalloc(cap, sizeof(*grown));

		if (r->nfiles)
			memcpy(grown, r->files, r->nfiles * sizeof(*grown));
		xfree(r->files);
		r->files = grown;
		r->cap = cap;
	}
	while (i > 0 && r->files[i - 1].first_ts_ns > f->first_ts_ns)
		i--;
	memmove(&r->files[i + 1], &r->files[i], (r->nfiles - i) * sizeof(r->files[0]));
	r->files[i] = *f;
	r->nfiles++;
	r->bytes_kept += f->size + f->prod_bytes;
}

static bool same_file(const struct kept_file *f, const struct stat *st)
{
	return st->st_dev == f->dev && st->st_ino == f->ino && st->st_ctim.tv_sec == f->ctime.tv_sec &&
	       st->st_ctim.tv_nsec == f->ctime.tv_nsec;
}

static bool is_current(const struct retention *r, const char *path, const struct stat *st)
{
	if (!r->current)
		return false;
	if (r->current_known && st)
		return st->st_dev == r->current_dev && st->st_ino == r->current_ino;
	return !strcmp(path, r->current);
}

static uint64_t ts_or_mtime(uint64_t ts, const struct stat *st)
{
	return ts ? ts
		  : (uint64_t)st->st_mtim.tv_sec * 1000000000ull + (uint64_t)st->st_mtim.tv_nsec;
}

/* Under the lock. The same name already listed (a -W ring reusing it) is replaced. */
static void add_locked(struct retention *r, const char *path, uint64_t size, uint64_t ts,
		       const struct stat *st, bool foreign, bool gone)
{
	struct kept_file f = {
		.path = xstrdup(path), .size = size, .first_ts_ns = ts_or_mtime(ts, st),
		.dev = st->st_dev, .ino = st->st_ino, .ctime = st->st_ctim, .foreign = foreign,
		.gone = gone,
	};

	for (size_t i = 0; i < r->nfiles; i++) {
		if (!strcmp(r->files[i].path, path) ||
		    (!gone && !r->files[i].gone && r->files[i].dev == st->st_dev &&
		     r->files[i].ino == st->st_ino)) {
			remove_at(r, i);
			break;
		}
	}
	insert_sorted(r, &f);
}

int retention_add_closed(struct retention *r, const char *path, uint64_t size,
			 uint64_t first_ts_ns)
{
	struct stat st;

	if (stat(path, &st) < 0) {
		struct timespec now;

		if (errno != ENOENT)
			return -errno;
		/* A -z command (zstd --rm) was quicker than us: what it left is
		 * listed under the file's name, as of now; dropped at the next
		 * look if nothing is left. */
		clock_gettime(CLOCK_REALTIME, &now);
		memset(&st, 0, sizeof(st));
		st.st_mtim = now;
		pthread_mutex_lock(&r->lock);
		add_locked(r, path, 0, first_ts_ns, &st, false, true);
		r->last_rescan_ns = 0; /* count its products at the next enforce */
		pthread_mutex_unlock(&r->lock);
		return -ENOENT;
	}
	pthread_mutex_lock(&r->lock);
	add_locked(r, path, size, first_ts_ns, &st, false, false);
	if (is_current(r, path, &st)) {
		xfree(r->current);
		r->current = NULL;
		r->current_bytes = 0;
	}
	pthread_mutex_unlock(&r->lock);
	return 0;
}

int retention_set_current(struct retention *r, const char *path, uint64_t bytes)
{
	struct stat st;
	bool known = path && stat(path, &st) == 0;

	pthread_mutex_lock(&r->lock);
	if (!path || !r->current || strcmp(path, r->current)) {
		xfree(r->current);
		r->current = path ? xstrdup(path) : NULL;
	}
	r->current_known = known;
	if (known) {
		r->current_dev = st.st_dev;
		r->current_ino = st.st_ino;
	}
	r->current_bytes = path ? bytes : 0;
	for (size_t i = 0; path && i < r->nfiles; i++) {
		if (!strcmp(r->files[i].path, path) ||
		    (known && !r->files[i].gone && r->files[i].dev == st.st_dev &&
		     r->files[i].ino == st.st_ino)) {
			remove_at(r, i);
			break;
		}
	}
	pthread_mutex_unlock(&r->lock);
	return 0;
}

static const char *probe_why(enum format_status s)
{
	return s == FORMAT_SHORT ? "shorter than a file header"
	       : s == FORMAT_LIED ? "its file header lies"
				  : "not a capture file";
}

/* `name` with up to PRODUCT_MAX_SUFFIXES ".SUFFIX" taken off until the
 * capture's names match it: the length of that base name, or 0. */
static size_t orphan_base(const struct rotation_matcher *m, const char *name)
{
	char base[NAME_MAX + 1];
	size_t len = strlen(name);

	if (len > NAME_MAX || name[0] == '.')
		return 0;
	memcpy(base, name, len + 1);
	for (unsigned k = 0; k < PRODUCT_MAX_SUFFIXES; k++) {
		char *dot = strrchr(base, '.');

		if (!dot || dot == base || !dot[1] || strlen(dot + 1) > PRODUCT_SUFFIX_MAX ||
		    strspn(dot + 1, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") !=
			    strlen(dot + 1))
			return 0;
		*dot = '\0';
		if (rotation_matcher_match(m, base))
			return (size_t)(dot - base);
	}
	return 0;
}

/* Under the lock: a product (FILE.zst) of an earlier run whose FILE is gone
 * (`zstd --rm`): listed under FILE's name, by the product's mtime. */
static void adopt_orphan(struct retention *r, const char *dirpath, bool with_dir, const char *name,
			 size_t baselen)
{
	char path[PATH_MAX + NAME_MAX + 2], prod[PATH_MAX + NAME_MAX + 2];
	struct stat st, pst;

	if (with_dir) {
		snprintf(path, sizeof(path), "%s/%.*s", dirpath, (int)baselen, name);
		snprintf(prod, sizeof(prod), "%s/%s", dirpath, name);
	} else {
		snprintf(path, sizeof(path), "%.*s", (int)baselen, name);
		snprintf(prod, sizeof(prod), "%s", name);
	}
	if (lstat(path, &st) == 0 || errno != ENOENT)
		return; /* FILE is there: its products go with it */
	if (lstat(prod, &pst) < 0 || !S_ISREG(pst.st_mode))
		return;
	for (size_t i = 0; i < r->nfiles; i++)
		if (!strcmp(r->files[i].path, path))
			return;
	pst.st_dev = 0;
	pst.st_ino = 0;
	add_locked(r, path, 0, 0, &pst, false, true);
}

int retention_adopt(struct retention *r, const struct retention_pattern *p, unsigned *adopted)
{
	const struct rotation_names names = {
		.path = p->path, .strftime = p->strftime, .numbered = p->numbered,
		.max_files = p->max_files,
	};
	struct rotation_matcher m = { 0 };
	struct dirent *e;
	unsigned n = 0;
	DIR *d;
	int ret = rotation_matcher_compile(&m, &names);

	if (adopted)
		*adopted = 0;
	if (ret)
		goto out_free;
	d = opendir(m.dir);
	if (!d) {
		ret = -errno;
		goto out_free;
	}
	pthread_mutex_lock(&r->lock);
	while ((e = readdir(d))) {
		char path[PATH_MAX + NAME_MAX + 2];
		enum format_status s;
		uint64_t ts = 0;
		struct stat st;
		size_t baselen;

		if (!rotation_matcher_match(&m, e->d_name)) {
			baselen = orphan_base(&m, e->d_name);
			if (baselen)
				adopt_orphan(r, m.dir, strchr(p->path, '/'), e->d_name, baselen);
			continue;
		}
		if (strchr(p->path, '/'))
			snprintf(path, sizeof(path), "%s/%s", m.dir, e->d_name);
		else
			snprintf(path, sizeof(path), "%s", e->d_name);
		if (lstat(path, &st) < 0 || !S_ISREG(st.st_mode) || is_current(r, path, &st))
			continue;
		/* One of the capture's names: its bytes count whatever it holds,
		 * but only a capture file may be deleted. */
		s = retention_probe_file(path, &ts);
		if (s != FORMAT_OK)
			log_err("retention: %s: %s; counted, never deleted", path, probe_why(s));
		add_locked(r, path, (uint64_t)st.st_size, ts, &st, s != FORMAT_OK, false);
		n += s == FORMAT_OK;
	}
	/* kept: a name of the capture's is never taken for a product */
	rotation_matcher_free(&r->m);
	r->m = m;
	m = (struct rotation_matcher){ 0 };
	r->last_rescan_ns = 0;
	pthread_mutex_unlock(&r->lock);
	closedir(d);
	if (adopted)
		*adopted = n;
out_free:
	rotation_matcher_free(&m);
	return ret;
}

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

/* Under the lock: the capture's files by last component (the current one
 * too, never a product: idx SIZE_MAX), sorted for product_owner. */
static struct product_base *list_bases(const struct retention *r, size_t *n)
{
	struct product_base *b = xcalloc(r->nfiles + 1, sizeof(*b));
	size_t k = 0;

	for (size_t i = 0; i < r->nfiles; i++)
		b[k++] = (struct product_base){ base_name(r->files[i].path), i };
	if (r->current)
		b[k++] = (struct product_base){ base_name(r->current), SIZE_MAX };
	product_bases_sort(b, k);
	*n = k;
	return b;
}

/* Under the lock: each regular file of the directory that is a product of
 * file `only` (SIZE_MAX: of any listed file) is summed into its prod_bytes,
 * or with `unlink_them` deleted (its bytes and blocks added to *bytes and
 * *blocks). A link is never followed nor deleted. Returns how many. */
static unsigned walk_products(struct retention *r, size_t only, bool unlink_them, uint64_t *bytes,
			      uint64_t *blocks)
{
	struct product_base *bases;
	struct dirent *e;
	unsigned found = 0;
	size_t n;
	DIR *d = opendir(r->dir);

	if (!d)
		return 0;
	bases = list_bases(r, &n);
	while ((e = readdir(d))) {
		long owner = product_owner(e->d_name, bases, n);
		struct stat st;

		if (owner < 0 || (size_t)owner == SIZE_MAX || (only != SIZE_MAX && (size_t)owner != only))
			continue;
		if ((r->m.compiled && rotation_matcher_match(&r->m, e->d_name)) ||
		    fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
			continue;
		if (unlink_them) {
			if (unlinkat(dirfd(d), e->d_name, 0) < 0) {
				log_err("retention: cannot delete %s/%s: %s", r->dir, e->d_name, strerror(errno));
				continue;
			}
			*blocks += (uint64_t)st.st_blocks * 512;
		} else {
			r->files[owner].prod_bytes += (uint64_t)st.st_size;
		}
		*bytes += (uint64_t)st.st_size;
		found++;
	}
	xfree(bases);
	closedir(d);
	return found;
}

/* Under the lock: what -z made of each file, counted anew. */
static void count_products(struct retention *r)
{
	uint64_t bytes = 0, blocks = 0;

	for (size_t i = 0; i < r->nfiles; i++) {
		r->bytes_kept -= r->files[i].prod_bytes;
		r->files[i].prod_bytes = 0;
	}
	walk_products(r, SIZE_MAX, false, &bytes, &blocks);
	r->bytes_kept += bytes;
}

/* Under the lock: a file that vanished or whose name holds another file now
 * (a -z command's doing) is not ours any more, but what the -z made of it
 * is: it stays listed, by its products alone, until they are gone. Sizes
 * are read anew. */
static void refresh_locked(struct retention *r)
{
	struct timespec now;

	for (size_t i = 0; i < r->nfiles; i++) {
		struct kept_file *f = &r->files[i];
		struct stat st;

		if (f->gone)
			continue;
		if (lstat(f->path, &st) < 0 || !same_file(f, &st)) {
			r->bytes_kept -= f->size;
			f->size = 0;
			f->gone = true;
			continue;
		}
		r->bytes_kept += (uint64_t)st.st_size - f->size;
		f->size = (uint64_t)st.st_size;
	}
	count_products(r);
	for (size_t i = 0; i < r->nfiles;) {
		if (r->files[i].gone && !r->files[i].prod_bytes)
			remove_at(r, i);
		else
			i++;
	}
	clock_gettime(CLOCK_MONOTONIC, &now);
	r->last_rescan_ns = (uint64_t)now.tv_sec * 1000000000ull + (uint64_t)now.tv_nsec;
}

static void age_text(char *out, size_t len, uint64_t ts_ns)
{
	struct timespec now;
	double age;

	clock_gettime(CLOCK_REALTIME, &now);
	age = ((double)now.tv_sec * 1e9 + (double)now.tv_nsec - (double)ts_ns) / 1e9;
	if (age < 0)
		age = 0;
	if (age < 120)
		snprintf(out, len, "%.0f s", age);
	else if (age < 7200)
		snprintf(out, len, "%.0f min", age / 60);
	else if (age < 172800)
		snprintf(out, len, "%.1f h", age / 3600);
	else
		snprintf(out, len, "%.1f days", age / 86400);
}

/* Siblings (an index beside the file): deleted with it; their bytes counted. */
static uint64_t delete_siblings(const struct retention *r, const char *path)
{
	uint64_t bytes = 0;
	char named[PATH_MAX];
	struct stat nst;

	if (r->cfg.sibling && r->cfg.sibling(path, named, sizeof(named)) == 0 &&
	    lstat(named, &nst) == 0 && S_ISREG(nst.st_mode) && unlink(named) == 0)
		bytes += (uint64_t)nst.st_size;
	for (size_t i = 0; r->suffixes[i]; i++) {
		char sib[PATH_MAX];
		struct stat st;

		if (snprintf(sib, sizeof(sib), "%s%s", path, r->suffixes[i]) >= (int)sizeof(sib))
			continue;
		if (lstat(sib, &st) == 0 && S_ISREG(st.st_mode) && unlink(sib) == 0)
			bytes += (uint64_t)st.st_size;
	}
	return bytes;
}

/* Under the lock: delete the oldest file that may go, with its -z products
 * and indexes, adding the blocks freed to *freed; false if none may. */
static bool delete_oldest(struct retention *r, const char *why, uint64_t *freed)
{
	for (size_t i = 0; i < r->nfiles; i++) {
		struct kept_file *f = &r->files[i];
		uint64_t bytes = 0, pbytes = 0, pblocks = 0;
		enum format_status s;
		unsigned nprod;
		char age[32];
		struct stat st;
		uint64_t ts;

		/* a -z still queued or running: neither the file nor what it
		 * is making of it goes */
		if (f->foreign || (r->cfg.in_use && r->cfg.in_use(r->cfg.in_use_ctx, f->path)))
			continue;
		/* Moved away or replaced by a -z command: only its products are
		 * ours now. A new file may get the old inode number at once, so
		 * the change time is compared too. */
		if (!f->gone && (lstat(f->path, &st) < 0 || !same_file(f, &st))) {
			r->bytes_kept -= f->size;
			f->size = 0;
			f->gone = true;
		}
		if (!f->gone) {
			if (is_current(r, f->path, &st))
				continue;
			/* Still ours by inode and change time, yet no capture
			 * file: it stays on disk, so it stays counted. */
			s = retention_probe_file(f->path, &ts);
			if (s != FORMAT_OK) {
				log_err("retention: %s: %s; counted, never deleted", f->path, probe_why(s));
				f->foreign = true;
				continue;
			}
			if (unlink(f->path) < 0 && errno != ENOENT) {
				log_err("retention: cannot delete %s: %s", f->path, strerror(errno));
				remove_at(r, i);
				return true;
			}
			bytes = (uint64_t)st.st_size;
			*freed += (uint64_t)st.st_blocks * 512;
		}
		nprod = walk_products(r, i, true, &pbytes, &pblocks);
		*freed += pblocks;
		if (f->gone && !nprod) {
			remove_at(r, i); /* nothing of it is left */
			return true;
		}
		age_text(age, sizeof(age), f->first_ts_ns);
		if (f->gone)
			log_notice("retention: deleted %u -z product%s of %s (%llu bytes, first packet %s ago) for %s",
				   nprod, nprod == 1 ? "" : "s", f->path, (unsigned long long)pbytes, age, why);
		else if (nprod)
			log_notice("retention: deleted %s (%llu bytes, first packet %s ago) and %u -z product%s "
				   "(%llu bytes) for %s", f->path, (unsigned long long)bytes, age, nprod,
				   nprod == 1 ? "" : "s", (unsigned long long)pbytes, why);
		else
			log_notice("retention: deleted %s (%llu bytes, first packet %s ago) for %s", f->path,
				   (unsigned long long)bytes, age, why);
		r->c.files_deleted++;
		r->c.bytes_deleted += bytes + pbytes + delete_siblings(r, f->path);
		remove_at(r, i);
		return true;
	}
	return false;
}

/* Under the lock: time to look for new -z products (they count even while
 * the limits seem to hold: `gzip -k` doubles a file's bytes)? */
static bool rescan_due(const struct retention *r)
{
	struct timespec now;
	uint64_t t;

	if (!r->cfg.rescan_ns || !r->last_rescan_ns)
		return true;
	clock_gettime(CLOCK_MONOTONIC, &now);
	t = (uint64_t)now.tv_sec * 1000000000ull + (uint64_t)now.tv_nsec;
	return t - r->last_rescan_ns >= r->cfg.rescan_ns;
}

int retention_enforce(struct retention *r, uint64_t reserve_bytes)
{
	uint64_t avail0 = 0, freed = 0;
	bool refreshed = false, first = true;
	int ret = 0;

	pthread_mutex_lock(&r->lock);
	if (rescan_due(r)) {
		refresh_locked(r);
		refreshed = true;
	}
	for (;;) {
		uint64_t avail, size, want_free, total;
		const char *why = NULL;

		ret = r->cfg.space(r->cfg.space_ctx, &avail, &size);
		if (ret)
			break;
		/* A file system may report freed blocks late: never believe it has
		 * less room than before our deletions plus what they freed, or we
		 * would delete more than the limits ask for. */
		if (first)
			avail0 = avail;
		first = false;
		if (avail < avail0 + freed)
			avail = avail0 + freed;
		r->c.disk_known = true;
		r->c.disk_avail = avail;
		r->c.disk_size = size;
		want_free = r->cfg.min_free_bytes;
		if (r->cfg.min_free_percent && size / 100 * r->cfg.min_free_percent > want_free)
			want_free = size / 100 * r->cfg.min_free_percent;
		total = r->bytes_kept + r->current_bytes + reserve_bytes;
		if (want_free && avail < want_free + reserve_bytes)
			why = "--min-free";
		else if (r->cfg.max_total_bytes && total > r->cfg.max_total_bytes)
			why = "--max-total";
		if (!why) {
			r->unmet_logged = false;
			break;
		}
		if (!refreshed) {
			/* sizes and names may have moved under us since the last call */
			refresh_locked(r);
			refreshed = true;
			continue;
		}
		if (!delete_oldest(r, why, &freed)) {
			if (!r->unmet_logged)
				log_err("retention: cannot meet %s: nothing left to delete but the "
					"file being written and %zu in use by -z or not capture files",
					why, r->nfiles);
			r->unmet_logged = true;
			ret = -ENOSPC;
			break;
		}
	}
	pthread_mutex_unlock(&r->lock);
	return ret;
}

void retention_counters(struct retention *r, struct retention_counters *c)
{
	if (!r) {
		*c = (struct retention_counters){ 0 };
		return;
	}
	pthread_mutex_lock(&r->lock);
	*c = r->c;
	c->files_kept = r->nfiles;
	c->bytes_kept = r->bytes_kept;
	pthread_mutex_unlock(&r->lock);
}
