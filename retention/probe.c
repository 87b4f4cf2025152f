/* Is a file one retention may delete: a capture file of a kind ringcap
 * writes, plain or as the writer's --compress output (FILE.zst: zstd frames
 * of the same bytes, whose first bytes are decompressed to be probed). */
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <zstd.h>

#include "format/format.h"
#include "retention/retention_impl.h"

/* Compressed bytes read at most for the probe's bytes: the writer's first
 * frame starts with the file header, and a zstd block is at most 128 KiB. */
#define ZPROBE_IN_MAX (1u << 20)

/* The first `len` decompressed bytes of the zstd stream in fd into out
 * (skippable frames skipped): how many came (fewer at its end), or -1 when
 * it is no zstd stream. */
static ssize_t zstd_head(int fd, uint8_t *out, size_t len)
{
	ZSTD_DStream *zs = ZSTD_createDStream();
	ZSTD_outBuffer ob = { out, len, 0 };
	uint64_t off = 0;
	ssize_t ret = -1;

	if (!zs)
		return -1;
	while (ob.pos < ob.size && off < ZPROBE_IN_MAX) {
		uint8_t buf[4096];
		ssize_t n = pread(fd, buf, sizeof(buf), (off_t)off);
		ZSTD_inBuffer ib = { buf, n > 0 ? (size_t)n : 0, 0 };

		if (n <= 0)
			break;
		off += (uint64_t)n;
		while (ib.pos < ib.size && ob.pos < ob.size)
			if (ZSTD_isError(ZSTD_decompressStream(zs, &ob, &ib)))
				goto out_free;
	}
	ret = (ssize_t)ob.pos;
out_free:
	ZSTD_freeDStream(zs);
	return ret;
}

enum format_status retention_probe_file(const char *path, uint64_t *first_ts)
{
	static const uint8_t zstd_magic[4] = { 0x28, 0xb5, 0x2f, 0xfd };
	uint8_t buf[FORMAT_PROBE_LEN];
	struct format_probe p;
	enum format_status s = FORMAT_FOREIGN;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	ssize_t n;

	if (fd < 0)
		return FORMAT_FOREIGN;
	n = pread(fd, buf, sizeof(buf), 0);
	if (n >= (ssize_t)sizeof(zstd_magic) && !memcmp(buf, zstd_magic, sizeof(zstd_magic)))
		n = zstd_head(fd, buf, sizeof(buf));
	if (n >= 0)
		s = format_probe(buf, (size_t)n, &p);
	close(fd);
	if (s == FORMAT_OK)
		*first_ts = p.first_ts_ns;
	return s;
}
