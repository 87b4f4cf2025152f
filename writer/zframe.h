/*
 * zstd frames made by hand (RFC 8878), for what the writer stores without
 * compressing it: a chunk the compression pool had no time for, and -U's
 * per-append pieces. Pure: no state, no syscalls, any thread.
 *
 * A raw frame is
 *   Magic_Number  4 bytes, 0xFD2FB528 little-endian
 *   Frame_Header_Descriptor  1 byte: Single_Segment_flag set (so no
 *                 Window_Descriptor: the window is the content), no checksum,
 *                 no dictionary, Frame_Content_Size_flag for the field below
 *   Frame_Content_Size  1, 2 (value - 256), 4 or 8 bytes little-endian, the
 *                 smallest that holds the content size
 *   blocks        Raw_Blocks of at most 128 KiB (ZFRAME_BLOCK_MAX), each a
 *                 3-byte header (Last_Block in bit 0, Block_Type 0 = raw in
 *                 bits 1-2, Block_Size in bits 3-23) and the bytes as they
 *                 are; the last one flagged. An empty content is one empty
 *                 last block.
 * The bytes themselves are not copied: zframe_raw_iov points iovecs at them,
 * between the headers it writes into the caller's arrays.
 */
#ifndef RINGCAP_WRITER_ZFRAME_H
#define RINGCAP_WRITER_ZFRAME_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#define ZFRAME_MAGIC 0xFD2FB528u
#define ZFRAME_HEADER_MAX 13            /* magic + descriptor + 8-byte content size */
#define ZFRAME_BLOCK_MAX (128u << 10)   /* Block_Maximum_Size */
#define ZFRAME_BLOCK_HEADER 3

/* Raw blocks a content of `len` bytes takes (at least 1). */
static inline size_t zframe_raw_blocks(size_t len)
{
	return len ? (len + ZFRAME_BLOCK_MAX - 1) / ZFRAME_BLOCK_MAX : 1;
}

/* iovecs zframe_raw_iov fills for `len` bytes: the frame header, then a
 * header and the bytes for each block. */
static inline size_t zframe_raw_iovs(size_t len)
{
	return 1 + 2 * zframe_raw_blocks(len);
}

/* Write the frame header of a raw frame of `content` bytes into hdr; returns
 * its length (6..13). */
size_t zframe_raw_header(uint8_t hdr[ZFRAME_HEADER_MAX], uint64_t content);

/* The frame for src[0..len) as iovecs: hdr (ZFRAME_HEADER_MAX bytes) and bh
 * (zframe_raw_blocks(len) block headers) are the caller's storage, iov has
 * room for zframe_raw_iovs(len). Returns the iovecs used; *frame_len gets the
 * frame's length in bytes. */
size_t zframe_raw_iov(uint8_t *hdr, uint8_t (*bh)[ZFRAME_BLOCK_HEADER], struct iovec *iov,
		      const uint8_t *src, size_t len, size_t *frame_len);

/* The same frame copied into out (cap bytes). Its length, or 0 when it does
 * not fit. For tests and small pieces. */
size_t zframe_raw_encode(uint8_t *out, size_t cap, const uint8_t *src, size_t len);

#endif
