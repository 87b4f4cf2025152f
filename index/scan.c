/* Scanning a capture file into a builder: big sequential reads, records walked
 * with the bounds-checked iterator, a record cut by a read's end carried over
 * to the next read, and the walk stopped at the first header that lies. A
 * region of a compressed file that does not decode is stepped over: the walk
 * goes on at the first record boundary after it. */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "index/index.h"
#include "util/util.h"

#define SCAN_BUF (4u << 20) /* > PCAP_SNAPLEN_MAX + header: a whole record always fits */
#define RESYNC_SPREAD_S 86400u /* two records in a row are at most this far apart */

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

/* A record header at p that a writer could have made: a fraction under a
 * second, a caplen within the file's snaplen and the wire length, a time
 * not before `not_before`. */
static bool plausible(const struct pcap_file_info *fi, const uint8_t *p, size_t avail,
		      uint32_t not_before, struct pcap_rec *r)
{
	uint32_t snap = fi->snaplen && fi->snaplen < PCAP_SNAPLEN_MAX ? fi->snaplen : PCAP_SNAPLEN_MAX;

	if (pcap_rec_header_parse(fi, p, avail, r) != PCAP_REC_OK)
		return false;
	return r->ts_frac < (fi->nano ? 1000000000u : 1000000u) && r->caplen <= snap &&
	       r->caplen <= r->len && r->len < (1u << 24) && r->ts_sec >= not_before;
}

/* After a region that does not decode, the stream reads again at `at`: the
 * first record boundary from there (a plausible header followed by another
 * one a day apart at most, or by the stream's end) into *next, UINT64_MAX
 * when none is in the next SCAN_BUF bytes. `last_sec`: the time of the last
 * record before the region. 0 or -errno. */
static int resync(const struct index_src *src, const struct pcap_file_info *fi, uint8_t *buf,
		  uint64_t at, uint32_t last_sec, uint64_t *next, struct index_scan_result *res)
{
	uint32_t not_before = last_sec > RESYNC_SPREAD_S ? last_sec - RESYNC_SPREAD_S : 0;
	ssize_t n = index_src_pread(src, buf, SCAN_BUF, at);

	*next = UINT64_MAX;
	if (n < 0)
		return (int)n;
	res->bytes_read += (uint64_t)n;
	for (size_t k = 0; k + PCAP_RECORD_HEADER_LEN <= (size_t)n; k++) {
		struct pcap_rec r, r2;
		size_t after;

		if (!plausible(fi, buf + k, (size_t)n - k, not_before, &r))
			continue;
		after = k + PCAP_RECORD_HEADER_LEN + r.caplen;
		if ((after == (size_t)n && (size_t)n < SCAN_BUF) ||
		    (after < (size_t)n && plausible(fi, buf + after, (size_t)n - after, not_before, &r2) &&
		     r2.ts_sec - r.ts_sec + RESYNC_SPREAD_S <= 2 * RESYNC_SPREAD_S)) {
			*next = at + k;
			return 0;
		}
	}
	return 0;
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
	uint32_t last_sec = 0;
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
		uint64_t gap = UINT64_MAX;
		struct pcap_rec r;
		const uint8_t *data;
		uint64_t off;

		n = index_src_pread(src, buf, want, pos);
		if (n < 0) {
			ret = (int)n;
			goto out_free;
		}
		res->bytes_read += (uint64_t)n;
		if ((size_t)n < want && src->resume)
			gap = src->resume(src->ctx, pos + (uint64_t)n);
		if ((size_t)n < want && file_size == UINT64_MAX && gap == UINT64_MAX)
			file_size = pos + (uint64_t)n; /* the stream's end: now known */
		if (n == 0 && gap == UINT64_MAX)
			break; /* the file shrank under us: stop at what we have */
		pcap_rec_iter_init(&it, &fi, buf, (size_t)n, pos);
		while (pcap_rec_iter_next(&it, &r, &data, &off)) {
			ret = index_builder_add(b, off, r.ts_sec, r.ts_frac, data, r.caplen);
			if (ret)
				goto out_free;
			res->records++;
			last_sec = r.ts_sec;
		}
		pos += it.off;
		if (it.stop == PCAP_REC_BAD)
			break;
		if (gap != UINT64_MAX) {
			/* the record cut by the region is lost; the chunk ends */
			if (!res->gaps++)
				res->gap_at = pos;
			index_builder_break(b);
			ret = resync(src, &fi, buf, gap, last_sec, &pos, res);
			if (ret)
				goto out_free;
			if (pos == UINT64_MAX) {
				res->torn = true; /* no record to be found after it */
				res->torn_at = gap;
				goto out_free;
			}
			index_builder_advance(b, pos);
			continue;
		}
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
