/*
 * Opening one input file: without following a link or waiting on a FIFO, a
 * regular file only; its first bytes probed (through zfile/ when it is
 * compressed: zstd, gzip) for a pcap header or a pcapng Section Header Block;
 * attached again when the merge needs its bytes (the same device and inode,
 * or -ESTALE), and its bytes read at offsets of the capture inside it. The
 * rest of the source (its index, chunks and records) is source.c's.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "read/read_impl.h"
#include "util/util.h"

/* Inputs are opened without following a link (ELOOP) and without waiting for
 * a FIFO's writer; only a regular file is read. */
static int open_input(const char *path, struct stat *st)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0)
		return errno == ELOOP ? -ENOTSUP : -errno;
	if (fstat(fd, st)) {
		int ret = -errno;

		close(fd);
		return ret;
	}
	if (!S_ISREG(st->st_mode)) {
		close(fd);
		return -ENOTSUP;
	}
	return fd;
}

/* The file's first FORMAT_PROBE_LEN bytes (fewer in a shorter file), through
 * zfile/ when the file is compressed: bytes, or -errno. */
static ssize_t read_header(int fd, const char *path, uint8_t hdr[FORMAT_PROBE_LEN], enum zfile_kind *kind)
{
	struct zfile *z;
	ssize_t n = index_pread_full(fd, hdr, FORMAT_PROBE_LEN, 0);
	int ret;

	if (n < 0)
		return n;
	*kind = zfile_sniff(hdr, (size_t)n);
	if (*kind == ZFILE_PLAIN)
		return n;
	ret = zfile_open(&z, fd, *kind, path);
	if (ret)
		return ret;
	n = index_src_pread(&(struct index_src){ .fd = fd, .pread = zfile_pread_hook, .ctx = z }, hdr,
			    FORMAT_PROBE_LEN, 0);
	zfile_close(z);
	return n;
}

bool read_is_capture(const char *path)
{
	uint8_t hdr[FORMAT_PROBE_LEN];
	struct format_probe probe;
	enum zfile_kind kind;
	struct stat st;
	int fd = open_input(path, &st);
	ssize_t n;

	if (fd < 0)
		return false;
	n = read_header(fd, path, hdr, &kind);
	close(fd);
	return n >= (ssize_t)PCAP_FILE_HEADER_LEN && format_probe(hdr, (size_t)n, &probe) == FORMAT_OK;
}

int read_source_open(struct read_source **out, const char *path)
{
	struct read_source *s;
	uint8_t hdr[FORMAT_PROBE_LEN];
	struct format_probe probe;
	enum zfile_kind kind;
	struct stat st;
	ssize_t n;
	int fd, ret;

	fd = open_input(path, &st);
	if (fd < 0)
		return fd;
	n = read_header(fd, path, hdr, &kind);
	ret = n < 0 ? (int)n : 0;
	close(fd);
	if (ret)
		return ret;
	if (n < (ssize_t)PCAP_FILE_HEADER_LEN || format_probe(hdr, (size_t)n, &probe) != FORMAT_OK)
		return -EINVAL;
	s = xcalloc(1, sizeof(*s));
	s->kind = kind;
	memcpy(s->head, hdr, sizeof(s->head));
	if (probe.kind == &format_pcapng) {
		/* its interfaces come from its index (read_source_prepare) */
		s->pcapng = true;
		s->fi = (struct pcap_file_info){ .nano = true, .version_major = 1, .linktype = probe.linktype };
	} else if (pcap_file_header_parse(hdr, (size_t)n, &s->fi)) {
		xfree(s);
		return -EINVAL;
	}
	s->fd = -1;
	s->dev = (uint64_t)st.st_dev;
	s->ino = (uint64_t)st.st_ino;
	s->size = (uint64_t)st.st_size;
	s->path = xstrdup(path);
	*out = s;
	return 0;
}

bool read_source_is_pcapng(const struct read_source *s)
{
	return s->pcapng;
}

uint32_t read_source_ninterfaces(const struct read_source *s)
{
	return s->nifaces;
}

int read_source_attach(struct read_source *s)
{
	struct stat st;
	int fd;

	if (s->fd >= 0)
		return 0;
	fd = open_input(s->path, &st);
	if (fd < 0)
		return fd;
	if ((uint64_t)st.st_dev != s->dev || (uint64_t)st.st_ino != s->ino) {
		close(fd);
		return -ESTALE;
	}
	if (s->kind != ZFILE_PLAIN) {
		int ret = zfile_open(&s->z, fd, s->kind, s->path);

		if (ret) {
			close(fd);
			return ret;
		}
	}
	s->fd = fd;
	return 0;
}

void read_source_detach(struct read_source *s)
{
	zfile_close(s->z);
	s->z = NULL;
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
}

/* Bytes of the capture (uncompressed for a compressed file) at `off`, until
 * `len` or the end: bytes read, or -errno. */
ssize_t read_source_pread(const struct read_source *s, uint8_t *buf, size_t len, uint64_t off)
{
	if (!s->z)
		return index_pread_full(s->fd, buf, len, off);
	return index_src_pread(&(struct index_src){ .fd = s->fd, .pread = zfile_pread_hook, .ctx = s->z },
			       buf, len, off);
}

const struct pcap_file_info *read_source_info(const struct read_source *s)
{
	return &s->fi;
}

const char *read_source_path(const struct read_source *s)
{
	return s->path;
}
