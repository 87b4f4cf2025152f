/*
 * zfile — a compressed capture file read as the bytes inside it: pread at
 * offsets of the *uncompressed* stream, for index/ (through struct
 * index_src) and read/. What a -z command such as `zstd -q --rm` or `gzip`
 * leaves in the archive is read as the pcap it holds.
 *
 * Formats, told by their first bytes (never by the name):
 *   zstd   frames (RFC 8878), skippable frames skipped. At open the frame
 *          headers are walked once (each frame's header and its block
 *          headers, never its payload): when every frame states its
 *          Frame_Content_Size, the uncompressed ranges map to frames and a
 *          read decompresses only the frames it needs (one frame is kept
 *          decoded). Otherwise (one frame without content size, what a pipe
 *          into `zstd` makes) the file is decompressed forward as a stream.
 *   gzip   members (RFC 1952), concatenated ones too, through zlib: forward
 *          as a stream.
 * A stream keeps a window of what it decoded last; a read behind the window
 * starts the stream again from the file's start, so read in file order
 * (ringcap-read does: the index scan, then the chunks in file order).
 *
 * Corruption: a frame or member that does not decode, or a file cut short,
 * is one line naming the file and the compressed offset of the frame or
 * member (logged once per zfile); the stream ends there, a read past it is
 * short (0 bytes), and everything before it reads as usual. With a frame
 * table, a frame after a corrupt one still reads (a read of the corrupt
 * frame's range returns 0 bytes).
 *
 * Threads and blocking: a zfile belongs to one thread; open and pread block
 * on the file's reads. The descriptor is the caller's (not closed here); it
 * must stay open until zfile_close. Returns 0 or -errno; pread returns bytes.
 */
#ifndef RINGCAP_ZFILE_H
#define RINGCAP_ZFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum zfile_kind { ZFILE_PLAIN = 0, ZFILE_ZSTD, ZFILE_GZIP };

/* Bytes zfile_sniff needs. */
#define ZFILE_SNIFF_LEN 4u

/* What the first bytes of a file say it is. Pure. */
enum zfile_kind zfile_sniff(const uint8_t *buf, size_t len);

struct zfile;

/*
 * Read `fd` (a regular file, opened by the caller) as a compressed file of
 * kind `kind` (ZFILE_ZSTD or ZFILE_GZIP); `name` is for the log (copied).
 * For zstd, walks the frame headers (blocks). 0, -EINVAL (another kind),
 * -ENOMEM or -errno from reads.
 */
int zfile_open(struct zfile **out, int fd, enum zfile_kind kind, const char *name);

/*
 * Up to `len` bytes of the uncompressed stream at `off`: fewer only at the
 * stream's end or at corruption (logged once). Bytes read, or -errno
 * (-ENOMEM, a read error). Blocks.
 */
ssize_t zfile_pread(struct zfile *z, uint8_t *buf, size_t len, uint64_t off);

/* The same with the signature of index_src's hook (`ctx` is the zfile). */
ssize_t zfile_pread_hook(void *ctx, uint8_t *buf, size_t len, uint64_t off);

/* After a read came back short at `off`: when a corrupt frame of the frame
 * table holds `off`, the stream offset of the next frame (reads go on
 * there), else UINT64_MAX (the stream's end, or a stream without a table:
 * nothing reads after corruption). Never blocks. */
uint64_t zfile_resume(const struct zfile *z, uint64_t off);
/* The same with the signature of index_src's resume hook. */
uint64_t zfile_resume_hook(void *ctx, uint64_t off);

/* Compressed bytes read from the file so far. */
uint64_t zfile_bytes_read(const struct zfile *z);

/* Was corruption met (and logged)? */
bool zfile_corrupt(const struct zfile *z);

/* Safe on NULL. Does not close the descriptor. */
void zfile_close(struct zfile *z);

#endif
