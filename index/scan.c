/* Scanning a capture file into a builder: big sequential reads, records walked
 * with the bounds-checked iterator, a record cut by a read's end carried over
 * to the next read, and the walk stopped at the first header that lies. */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "index/index.h"
#include "util/util.h"

#define SCAN_BUF (4u << 20) /* > PCAP_SNAPLEN_MAX + header: a whole record always fits */

ssize_t index_pread_full(int fd, uint8_t *buf, size_t len, uint64_t off)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = pread(fd, buf + got, len - got, (off_t)(off + got));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

ssize_t index_src_pread(const struct index_src *src, uint8_t *buf, size_t len, uint64_t off)
{
	size_t got = 0;

	if (!src->pread)
		return index_pread_full(src->fd, buf, len, off);
	while (got < len) {
		ssize_t n = src->pread(src->ctx, buf + got, len - got, off + got);

		if (n < 0)
			return n;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

int index_scan(int fd, struct index_builder *b, uint64_t from, uint64_t file_size,
	       struct index_scan_result *res)
{
	return index_scan_src(&(struct index_src){ .fd = fd }, b, from, file_size, res);
}

int index_scan_src(const struct index_src *src, struct index_builder *b, uint64_t from, uint64_t file_size,
		   struct index_scan_result *res)
{
	struct pcap_file_info fi;
	uint8_t hdr[PCAP_FILE_HEADER_LEN];
	uint8_t *buf;
	uint64_t pos = from;
	ssize_t n;
	int ret = 0;

	memset(res, 0, sizeof(*res));
	n = index_src_pread(src, hdr, sizeof(hdr), 0);
	if (n < 0)
		return (int)n;
	res->bytes_read += (uint64_t)n;
	if ((size_t)n < sizeof(hdr) || pcap_file_header_parse(hdr, sizeof(hdr), &fi))
		return -EINVAL;
	buf = xcalloc(1, SCAN_BUF);
	while (pos < file_size) {
		size_t want = file_size - pos < SCAN_BUF ? (size_t)(file_size - pos) : SCAN_BUF;
		struct pcap_rec_iter it;
		struct pcap_rec r;
		const uint8_t *data;
		uint64_t off;

		n = index_src_pread(src, buf, want, pos);
		if (n < 0) {
			ret = (int)n;
			goto out_free;
		}
		res->bytes_read += (uint64_t)n;
		if ((size_t)n < want && file_size == UINT64_MAX)
			file_size = pos + (uint64_t)n; /* the stream's end: now known */
		if (n == 0)
			break; /* the file shrank under us: stop at what we have */
		pcap_rec_iter_init(&it, &fi, buf, (size_t)n, pos);
		while (pcap_rec_iter_next(&it, &r, &data, &off)) {
			ret = index_builder_add(b, off, r.ts_sec, r.ts_frac, data, r.caplen);
			if (ret)
				goto out_free;
			res->records++;
		}
		pos += it.off;
		if (it.stop == PCAP_REC_BAD)
			break;
		/* a record cut by this read's end is read again from its start,
		 * unless nothing moved: then it is cut by the file's end */
		if (it.stop == PCAP_REC_SHORT && (it.off == 0 || (size_t)n < want))
			break;
	}
	if (pos < file_size) {
		res->torn = true;
		res->torn_at = pos;
	}
out_free:
	xfree(buf);
	return ret;
}
