/*
 * retention — keep the capture file system usable for months: --min-free
 * SIZE|N% (free space never below this) and --max-total SIZE (this capture's
 * files never above this), by deleting this capture's oldest closed files.
 *
 * What it may delete. Only files it was told about: each file the writer
 * closed (retention_add_closed) and, at start-up, files of an earlier run
 * that match this capture's -w pattern and rotation naming (retention_adopt),
 * and only while each is still a capture file (format_probe: any kind and
 * link type ringcap writes, plain or as the writer's --compress makes it,
 * FILE.zst, whose first decompressed bytes are probed). One that is not (not a capture file, or a header
 * that lies) is logged once and stays counted by its size, but is never
 * deleted. Never the file being written
 * (retention_set_current), never a file `in_use` says is busy (a -z job
 * queued or running for it: pass jobs_busy), never anything else in the
 * directory. Oldest first, by each file's first packet. With each file go its
 * siblings: the same name plus each configured suffix, and the name
 * `sibling` gives (its index), if they exist.
 *
 * -z products. What a -z command makes of FILE is part of the archive: every
 * regular file in the directory named FILE.SUFFIX (up to three suffixes of
 * letters and digits: FILE.zst, FILE.gz, FILE.zst.age) and the indexes
 * beside them (.FILE.ridx, .FILE.zst.ridx) counts towards the limits with
 * FILE and is deleted with it (when FILE's -z is not busy). A name that is
 * itself one of the capture's files (listed, current, or matching the naming
 * given to retention_adopt) is never a product; a link is never followed nor
 * deleted. When FILE itself vanished (`zstd --rm`) or its name holds another
 * file now, it stays listed, in its place in the order, by its products
 * alone, until they are gone; at start-up retention_adopt lists such
 * products of an earlier run (FILE.zst matching the naming plus a suffix,
 * FILE absent) by their mtime. The directory is read for products at every
 * retention_enforce, or at most every `rescan_ns` while the limits hold.
 *
 * Each deletion is logged in one line (name, size, age of its first packet,
 * which limit) and counted. When the limits cannot be met (only the current
 * file or busy files are left) retention_enforce returns -ENOSPC and logs
 * once, until the limits are met again.
 *
 * Threads and blocking: every function takes the module's mutex, so any
 * thread may call any of them; retention_enforce and retention_adopt block on
 * the file system (statvfs, stat, unlink, reading file headers): call them
 * from main's stats tick and from the writer's file-open path, never per
 * block. Strings passed in are copied. Functions return 0 or -errno.
 */
#ifndef RINGCAP_RETENTION_H
#define RINGCAP_RETENTION_H

#include <stdbool.h>
#include <stdint.h>

struct retention;

/* Available and total bytes of the capture file system. */
typedef int (*retention_space_fn)(void *ctx, uint64_t *avail, uint64_t *size);
/* The name of a sibling of capture file `path` (its index), in out. 0 or -errno. */
typedef int (*retention_sibling_fn)(const char *path, char *out, size_t outlen);
/* True while `path` must not be deleted (jobs_busy). */
typedef bool (*retention_in_use_fn)(void *ctx, const char *path);

struct retention_config {
	const char *dir;                 /* the capture directory (of -w); statvfs'd */
	uint64_t min_free_bytes;         /* --min-free SIZE; 0: none */
	unsigned min_free_percent;       /* --min-free N% of the file system, 0..99; 0: none */
	uint64_t max_total_bytes;        /* --max-total SIZE; 0: none */
	const char *const *sibling_suffixes; /* NULL-terminated, e.g. { ".idx", NULL }; may be NULL */
	retention_sibling_fn sibling;    /* another sibling by name (index_path_for); may be NULL */
	retention_space_fn space;        /* NULL: statvfs(dir), f_bavail and f_blocks */
	void *space_ctx;
	retention_in_use_fn in_use;      /* NULL: nothing is ever busy */
	void *in_use_ctx;                /* must stay valid until retention_close
					  * (close retention before jobs_close) */
	uint64_t rescan_ns;              /* read the directory for -z products at most
					  * this often while the limits hold; 0: always */
};

/* -EINVAL for a percent over 99 or no dir; no limit at all is allowed (the
 * module then only counts). Set-up phase. */
int retention_open(struct retention **out, const struct retention_config *cfg);
void retention_close(struct retention *r);   /* safe on NULL; deletes nothing */

/*
 * The writer closed `path` (final size `size`, first packet at `first_ts_ns`,
 * CLOCK_REALTIME ns; 0 when it holds no packet: its mtime is used). The file
 * must exist (its device and inode are recorded, so a file later put under
 * the same name is never taken for it). -ENOENT if it does not (a -z command
 * such as `zstd --rm` was quicker): it is listed then by its products alone,
 * as of now, and forgotten at the next look if it has none.
 */
int retention_add_closed(struct retention *r, const char *path, uint64_t size,
			 uint64_t first_ts_ns);

/*
 * The file being written now and its bytes so far (count towards
 * --max-total); NULL when none. A listed file of the same name (a -W ring
 * reusing it) leaves the list: it is being overwritten.
 */
int retention_set_current(struct retention *r, const char *path, uint64_t bytes);

/* How a capture names its files: turned into a matcher for adoption. */
struct retention_pattern {
	const char *path;      /* -w, strftime conversions allowed in the last component with -G */
	bool strftime;         /* -G: the name is a strftime format */
	bool numbered;         /* -C: FILE, FILE1, FILE2, ... */
	unsigned max_files;    /* -W with -C: FILE0..FILE(N-1), zero-padded to N-1's width */
};

/*
 * At start-up, after retention_set_current for the first file: list the files
 * of an earlier run in the pattern's directory whose names match the pattern
 * (format/'s rotation_matcher); each is ordered by its first record's
 * timestamp. A file that format_probe recognises (a pcap of any link type,
 * micro- or nanosecond, either byte order) may be deleted; any other (not a
 * capture file, too short, a header that lies) is logged once and counted
 * towards --max-total by its size, never deleted. `*adopted` (may be NULL)
 * gets how many capture files were listed.
 * -EOPNOTSUPP when a strftime conversion is in a directory component (only
 * the last component may vary); -EINVAL for a conversion it cannot match.
 */
int retention_adopt(struct retention *r, const struct retention_pattern *p, unsigned *adopted);

/*
 * Delete oldest-first until free space minus `reserve_bytes` (what the caller
 * is about to write) is at least --min-free and this capture's bytes plus
 * `reserve_bytes` are at most --max-total. 0 when the limits hold (or there
 * are none), -ENOSPC when they cannot be met, -errno when free space cannot
 * be read.
 */
int retention_enforce(struct retention *r, uint64_t reserve_bytes);

struct retention_counters {
	uint64_t files_deleted;   /* capture files deleted (siblings not counted) */
	uint64_t bytes_deleted;   /* their sizes plus their siblings' */
	uint64_t files_kept;      /* closed files in the list now */
	uint64_t bytes_kept;
	bool disk_known;          /* the two below were read at least once */
	uint64_t disk_avail;      /* last reading */
	uint64_t disk_size;
};
void retention_counters(struct retention *r, struct retention_counters *c); /* NULL r: zeros */

/* statvfs of `dir`: f_bavail and f_blocks times f_frsize. The default
 * retention_space_fn, exported for the stats snapshot. */
int retention_statvfs(const char *dir, uint64_t *avail, uint64_t *size);

#endif
