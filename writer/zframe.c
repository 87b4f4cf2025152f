/* zstd raw frames by hand (writer/zframe.h has the layout). */
#include <string.h>

#include "util/util.h"
#include "writer/zframe.h"

static void put_le(uint8_t *p, uint64_t v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

size_t zframe_raw_header(uint8_t hdr[ZFRAME_HEADER_MAX], uint64_t content)
{
	unsigned flag, n;
	uint64_t v = content;

	/* With Single_Segment_flag, Frame_Content_Size_flag 0 still means a
	 * 1-byte field; flag 1's 2-byte field holds the size minus 256. */
	if (content < 256) {
		flag = 0, n = 1;
	} else if (content < 65536 + 256) {
		flag = 1, n = 2, v = content - 256;
	} else if (content <= UINT32_MAX) {
		flag = 2, n = 4;
	} else {
		flag = 3, n = 8;
	}
	put_le(hdr, ZFRAME_MAGIC, 4);
	hdr[4] = (uint8_t)(flag << 6 | 1u << 5);
	put_le(hdr + 5, v, n);
	return 5 + n;
}

size_t zframe_raw_iov(uint8_t *hdr, uint8_t (*bh)[ZFRAME_BLOCK_HEADER], struct iovec *iov,
		      const uint8_t *src, size_t len, size_t *frame_len)
{
	size_t nblocks = zframe_raw_blocks(len), k = 0, total, off = 0;

	total = zframe_raw_header(hdr, len);
	iov[k++] = (struct iovec){ .iov_base = hdr, .iov_len = total };
	for (size_t b = 0; b < nblocks; b++) {
		size_t n = len - off < ZFRAME_BLOCK_MAX ? len - off : ZFRAME_BLOCK_MAX;
		uint32_t h = (uint32_t)n << 3 | (b + 1 == nblocks); /* Block_Type 0: raw */

		put_le(bh[b], h, ZFRAME_BLOCK_HEADER);
		iov[k++] = (struct iovec){ .iov_base = bh[b], .iov_len = ZFRAME_BLOCK_HEADER };
		iov[k++] = (struct iovec){ .iov_base = (void *)(src + off), .iov_len = n };
		total += ZFRAME_BLOCK_HEADER + n;
		off += n;
	}
	*frame_len = total;
	return k;
}

size_t zframe_raw_encode(uint8_t *out, size_t cap, const uint8_t *src, size_t len)
{
	uint8_t hdr[ZFRAME_HEADER_MAX], (*bh)[ZFRAME_BLOCK_HEADER];
	struct iovec *iov;
	size_t flen, at = 0, k;

	bh = xcalloc(zframe_raw_blocks(len), sizeof(*bh));
	iov = xcalloc(zframe_raw_iovs(len), sizeof(*iov));
	k = zframe_raw_iov(hdr, bh, iov, src, len, &flen);
	if (flen > cap) {
		flen = 0;
		goto out_free;
	}
	for (size_t i = 0; i < k; i++) {
		memcpy(out + at, iov[i].iov_base, iov[i].iov_len);
		at += iov[i].iov_len;
	}
out_free:
	xfree(bh);
	xfree(iov);
	return flen;
}
