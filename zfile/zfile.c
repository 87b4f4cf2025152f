/* Compressed capture files read at uncompressed offsets: a zstd frame table
 * when every frame states its size, else a forward stream (zstd or gzip) with
 * a window of what was decoded last. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include "index/index.h"
#include "util/util.h"
#include "zfile/zfile.h"

#define ZSTD_MAGIC 0xFD2FB528u
#define ZSTD_SKIP_MAGIC 0x184D2A50u     /* ...5F: the low 4 bits are free */
#define IN_CHUNK (256u << 10)            /* compressed bytes read at once by a stream */
#define WINDOW_MIN (8u << 20)            /* decoded bytes a stream keeps at least */
#define FRAME_MAX (256ull << 20)         /* a larger frame is streamed, never held whole */

struct zframe {
	uint64_t coff, clen;             /* the frame in the file */
	uint64_t uoff, ulen;             /* its content in the stream */
	bool corrupt;                    /* did not decode: reads of it return nothing */
};

struct zfile {
	int fd;
	enum zfile_kind kind;
	char *name;
	uint64_t fsize, bytes_read;
	bool corrupt;                    /* logged once */
	/* zstd with a frame table */
	struct zframe *frames;
	size_t nframes;
	bool table;
	uint64_t table_end;              /* the stream's bytes the table holds */
	uint64_t walk_bad;               /* where the walk met a header that lies, */
	const char *walk_why;            /* said when a read gets there (or NULL) */
	size_t cached;                   /* frame decoded in fbuf, or SIZE_MAX */
	uint8_t *fbuf, *cbuf;
	size_t fcap, ccap;
	ZSTD_DCtx *dctx;
	/* a forward stream */
	ZSTD_DStream *zs;
	z_stream gz;
	bool gz_live;
	uint8_t *in;
	size_t in_len, in_pos;
	uint64_t in_off;                 /* file offset of in[0] */
	uint64_t unit_off;               /* the frame or member being decoded */
	bool mid_unit;                   /* inside a frame or member */
	bool eof;
	uint8_t *win;                    /* decoded bytes [wstart, wstart + wlen) */
	size_t wcap, wlen;
	uint64_t wstart;
};

enum zfile_kind zfile_sniff(const uint8_t *b, size_t len)
{
	uint32_t m;

	if (len >= 2 && b[0] == 0x1f && b[1] == 0x8b)
		return ZFILE_GZIP;
	if (len < 4)
		return ZFILE_PLAIN;
	m = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
	if (m == ZSTD_MAGIC || (m & 0xFFFFFFF0u) == ZSTD_SKIP_MAGIC)
		return ZFILE_ZSTD;
	return ZFILE_PLAIN;
}

static void say_corrupt(struct zfile *z, uint64_t coff, const char *what)
{
	if (z->corrupt)
		return;
	z->corrupt = true;
	/* with a frame table the frames after a corrupt one still read */
	log_warn("%s: %s at compressed offset %llu: %s", z->name, what, (unsigned long long)coff,
		 z->table && !strcmp(what, "corrupt zstd frame") ? "skipped, reading what comes after it too"
								 : "reading what comes before it");
}

/* pread until `len` or the end (index/'s loop): bytes, or -errno. */
static ssize_t read_full(struct zfile *z, void *buf, size_t len, uint64_t off)
{
	ssize_t n = index_pread_full(z->fd, buf, len, off);

	if (n > 0)
		z->bytes_read += (uint64_t)n;
	return n;
}

static uint64_t le(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;

	for (unsigned i = n; i-- > 0;)
		v = v << 8 | p[i];
	return v;
}

/* ------------------------------------------------------- the frame table */

enum walk { WALK_TABLE, WALK_STREAM, WALK_ERR };

/* The zstd frame at `off` (its magic read): its content size (or none) and
 * its end, by its header and block headers. 0, 1 (no content size), -EBADMSG
 * (a header that lies, a frame cut short) or -errno. */
static int walk_frame(struct zfile *z, uint64_t off, uint64_t *ulen, uint64_t *end)
{
	static const unsigned dict_len[4] = { 0, 1, 2, 4 };
	uint8_t h[14], b[3];
	unsigned fcs_flag, single, dict, fcs_len, hlen;
	uint64_t pos;
	ssize_t n = read_full(z, h, sizeof(h), off + 4);

	if (n < 0)
		return (int)n;
	if (n < 1 || (h[0] & 0x08))
		return -EBADMSG; /* no descriptor, or its reserved bit set */
	fcs_flag = h[0] >> 6;
	single = (h[0] >> 5) & 1;
	dict = dict_len[h[0] & 3];
	fcs_len = fcs_flag ? 1u << fcs_flag : single;
	hlen = 1 + !single + dict + fcs_len;
	if ((size_t)n < hlen)
		return -EBADMSG;
	if (!fcs_len)
		return 1;
	*ulen = le(h + 1 + !single + dict, fcs_len) + (fcs_len == 2 ? 256 : 0);
	pos = off + 4 + hlen;
	for (;;) {
		uint32_t bh;
		uint64_t content;

		n = read_full(z, b, sizeof(b), pos);
		if (n < 0)
			return (int)n;
		if (n < 3)
			return -EBADMSG;
		bh = (uint32_t)le(b, 3);
		if (((bh >> 1) & 3) == 3)
			return -EBADMSG; /* reserved block type */
		content = ((bh >> 1) & 3) == 1 ? 1 : bh >> 3;
		pos += 3 + content;
		if (pos > z->fsize)
			return -EBADMSG;
		if (bh & 1)
			break;
	}
	if (h[0] & 0x04)
		pos += 4; /* content checksum */
	if (pos > z->fsize)
		return -EBADMSG;
	*end = pos;
	return 0;
}

/* Walk every frame once. WALK_TABLE when each has a content size (the frames
 * before a header that lies are kept, and it is logged); WALK_STREAM when one
 * has none or is too large to hold; WALK_ERR with *err on a read error. */
static enum walk walk_frames(struct zfile *z, int *err)
{
	uint64_t off = 0, u = 0;
	size_t cap = 0;

	while (off < z->fsize) {
		uint8_t m[8];
		uint64_t ulen = 0, end = 0;
		ssize_t n = read_full(z, m, sizeof(m), off);
		uint32_t magic;
		int ret;

		if (n < 0) {
			*err = (int)n;
			return WALK_ERR;
		}
		magic = n >= 4 ? (uint32_t)le(m, 4) : 0;
		if (n >= 8 && (magic & 0xFFFFFFF0u) == ZSTD_SKIP_MAGIC) {
			off += 8 + le(m + 4, 4);
			continue;
		}
		if (magic != ZSTD_MAGIC) {
			z->walk_bad = off;
			z->walk_why = "no zstd frame";
			break;
		}
		ret = walk_frame(z, off, &ulen, &end);
		if (ret == 1 || (ret == 0 && ulen > FRAME_MAX))
			return WALK_STREAM;
		if (ret == -EBADMSG) {
			z->walk_bad = off;
			z->walk_why = "corrupt or truncated zstd frame";
			break;
		}
		if (ret < 0) {
			*err = ret;
			return WALK_ERR;
		}
		if (ulen) {
			if (z->nframes == cap) {
				cap = cap ? 2 * cap : 64;
				z->frames = xrealloc(z->frames, cap, sizeof(*z->frames));
			}
			z->frames[z->nframes++] = (struct zframe){ .coff = off, .clen = end - off, .uoff = u,
								   .ulen = ulen };
			u += ulen;
		}
		off = end;
	}
	z->table_end = u;
	return WALK_TABLE;
}

/* The frame holding stream offset `u`, or SIZE_MAX past the end. */
static size_t frame_at(const struct zfile *z, uint64_t u)
{
	size_t lo = 0, hi = z->nframes;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (z->frames[mid].uoff + z->frames[mid].ulen <= u)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < z->nframes && z->frames[lo].uoff <= u ? lo : SIZE_MAX;
}

/* Frame i decoded into fbuf. 0, -EBADMSG (corrupt: logged, marked) or -errno. */
static int decode_frame(struct zfile *z, size_t i)
{
	struct zframe *f = &z->frames[i];
	ssize_t n;
	size_t r;

	if (z->cached == i)
		return 0;
	if (f->corrupt)
		return -EBADMSG;
	if (z->ccap < f->clen) {
		z->ccap = (size_t)f->clen;
		z->cbuf = xrealloc(z->cbuf, z->ccap, 1);
	}
	if (z->fcap < f->ulen) {
		z->fcap = (size_t)f->ulen;
		z->fbuf = xrealloc(z->fbuf, z->fcap, 1);
	}
	z->cached = SIZE_MAX;
	n = read_full(z, z->cbuf, (size_t)f->clen, f->coff);
	if (n < 0)
		return (int)n;
	r = ZSTD_decompressDCtx(z->dctx, z->fbuf, (size_t)f->ulen, z->cbuf, (size_t)n);
	if ((size_t)n != f->clen || ZSTD_isError(r) || r != f->ulen) {
		f->corrupt = true;
		say_corrupt(z, f->coff, "corrupt zstd frame");
		return -EBADMSG;
	}
	z->cached = i;
	return 0;
}

static ssize_t table_pread(struct zfile *z, uint8_t *buf, size_t len, uint64_t off)
{
	size_t got = 0;

	while (got < len) {
		size_t i = frame_at(z, off + got), take;
		const struct zframe *f;
		uint64_t in;
		int ret;

		if (i == SIZE_MAX) {
			/* only a read that gets there says what ended the table
			 * (reading a file's header does not) */
			if (z->walk_why && off + got >= z->table_end)
				say_corrupt(z, z->walk_bad, z->walk_why);
			break;
		}
		ret = decode_frame(z, i);
		if (ret == -EBADMSG)
			break;
		if (ret)
			return got ? (ssize_t)got : ret;
		f = &z->frames[i];
		in = off + got - f->uoff;
		take = f->ulen - in < len - got ? (size_t)(f->ulen - in) : len - got;
		memcpy(buf + got, z->fbuf + in, take);
		got += take;
	}
	return (ssize_t)got;
}

/* ------------------------------------------------------- a forward stream */

static void stream_restart(struct zfile *z)
{
	if (z->kind == ZFILE_ZSTD) {
		ZSTD_DCtx_reset(z->zs, ZSTD_reset_session_only);
	} else {
		if (z->gz_live)
			inflateEnd(&z->gz);
		memset(&z->gz, 0, sizeof(z->gz));
		z->gz_live = inflateInit2(&z->gz, 16 + MAX_WBITS) == Z_OK;
	}
	z->in_len = z->in_pos = 0;
	z->in_off = 0;
	z->unit_off = 0;
	z->mid_unit = false;
	z->eof = false;
	z->wstart = 0;
	z->wlen = 0;
}

/* More compressed input when what was read is used up: 0, 1 at the file's
 * end, or -errno. */
static int refill(struct zfile *z)
{
	ssize_t n;

	if (z->in_pos < z->in_len)
		return 0;
	z->in_off += z->in_len;
	z->in_len = z->in_pos = 0;
	n = read_full(z, z->in, IN_CHUNK, z->in_off);
	if (n < 0)
		return (int)n;
	z->in_len = (size_t)n;
	return n == 0;
}

/* Decode into win[wlen..wcap): 0 (something decoded or the end reached,
 * z->eof then) or -errno. */
static int decode_more(struct zfile *z)
{
	size_t before = z->wlen;

	while (z->wlen == before && !z->eof) {
		int ret = refill(z);

		if (ret < 0)
			return ret;
		if (ret == 1) {
			if (z->mid_unit)
				say_corrupt(z, z->unit_off, z->kind == ZFILE_ZSTD ? "truncated zstd frame"
										  : "truncated gzip member");
			z->eof = true;
			break;
		}
		if (z->kind == ZFILE_ZSTD) {
			ZSTD_inBuffer in = { z->in, z->in_len, z->in_pos };
			ZSTD_outBuffer out = { z->win + z->wlen, z->wcap - z->wlen, 0 };
			size_t r = ZSTD_decompressStream(z->zs, &out, &in);

			if (ZSTD_isError(r)) {
				say_corrupt(z, z->unit_off, "corrupt zstd frame");
				z->eof = true;
				break;
			}
			z->in_pos = in.pos;
			z->wlen += out.pos;
			z->mid_unit = r != 0;
			if (!r)
				z->unit_off = z->in_off + z->in_pos; /* the next frame starts here */
		} else {
			int r;

			if (!z->gz_live)
				return -ENOMEM;
			if (!z->mid_unit && z->in_len - z->in_pos >= 1 && z->in[z->in_pos] != 0x1f) {
				/* after a member: not another one (trailing bytes) */
				say_corrupt(z, z->in_off + z->in_pos, "no gzip member");
				z->eof = true;
				break;
			}
			z->gz.next_in = z->in + z->in_pos;
			z->gz.avail_in = (uInt)(z->in_len - z->in_pos);
			z->gz.next_out = z->win + z->wlen;
			z->gz.avail_out = (uInt)(z->wcap - z->wlen);
			z->mid_unit = true;
			r = inflate(&z->gz, Z_NO_FLUSH);
			z->in_pos = z->in_len - z->gz.avail_in;
			z->wlen = z->wcap - z->gz.avail_out;
			if (r == Z_STREAM_END) {
				inflateReset(&z->gz);
				z->mid_unit = false;
				z->unit_off = z->in_off + z->in_pos;
			} else if (r != Z_OK && r != Z_BUF_ERROR) {
				say_corrupt(z, z->unit_off, "corrupt gzip member");
				z->eof = true;
				break;
			}
		}
	}
	return 0;
}

static ssize_t stream_pread(struct zfile *z, uint8_t *buf, size_t len, uint64_t off)
{
	size_t have;

	if (off < z->wstart)
		stream_restart(z);
	while (off + len > z->wstart + z->wlen && !z->eof) {
		int ret;

		if (z->wlen == z->wcap) {
			/* keep what the read still needs, drop what is before it */
			uint64_t drop = off - z->wstart < z->wlen ? off - z->wstart : z->wlen;

			if (drop) {
				memmove(z->win, z->win + drop, z->wlen - (size_t)drop);
				z->wlen -= (size_t)drop;
				z->wstart += drop;
			} else {
				z->wcap = z->wcap * 2 > len ? z->wcap * 2 : len;
				z->win = xrealloc(z->win, z->wcap, 1);
			}
		}
		ret = decode_more(z);
		if (ret)
			return ret;
	}
	if (off >= z->wstart + z->wlen)
		return 0;
	have = (size_t)(z->wstart + z->wlen - off);
	have = have < len ? have : len;
	memcpy(buf, z->win + (off - z->wstart), have);
	return (ssize_t)have;
}

/* ------------------------------------------------------------- the handle */

int zfile_open(struct zfile **out, int fd, enum zfile_kind kind, const char *name)
{
	struct zfile *z;
	off_t end;
	int ret = 0;

	if (kind != ZFILE_ZSTD && kind != ZFILE_GZIP)
		return -EINVAL;
	end = lseek(fd, 0, SEEK_END);
	if (end < 0)
		return -errno;
	z = xcalloc(1, sizeof(*z));
	z->fd = fd;
	z->kind = kind;
	z->name = xstrdup(name);
	z->fsize = (uint64_t)end;
	z->cached = SIZE_MAX;
	if (kind == ZFILE_ZSTD) {
		enum walk w = walk_frames(z, &ret);

		if (w == WALK_ERR)
			goto out_free;
		z->table = w == WALK_TABLE;
		if (z->table) {
			z->dctx = ZSTD_createDCtx();
			if (!z->dctx) {
				ret = -ENOMEM;
				goto out_free;
			}
		} else {
			z->zs = ZSTD_createDStream();
			if (!z->zs) {
				ret = -ENOMEM;
				goto out_free;
			}
		}
	}
	if (!z->table) {
		z->in = xcalloc(1, IN_CHUNK);
		z->wcap = WINDOW_MIN;
		z->win = xcalloc(1, z->wcap);
		stream_restart(z);
	}
	*out = z;
	return 0;
out_free:
	zfile_close(z);
	return ret;
}

ssize_t zfile_pread(struct zfile *z, uint8_t *buf, size_t len, uint64_t off)
{
	return z->table ? table_pread(z, buf, len, off) : stream_pread(z, buf, len, off);
}

uint64_t zfile_resume(const struct zfile *z, uint64_t off)
{
	size_t i = z->table ? frame_at(z, off) : SIZE_MAX;

	if (i == SIZE_MAX || !z->frames[i].corrupt)
		return UINT64_MAX;
	while (++i < z->nframes)
		if (z->frames[i].ulen)
			return z->frames[i].uoff;
	return UINT64_MAX;
}

uint64_t zfile_resume_hook(void *ctx, uint64_t off)
{
	return zfile_resume(ctx, off);
}

ssize_t zfile_pread_hook(void *ctx, uint8_t *buf, size_t len, uint64_t off)
{
	return zfile_pread(ctx, buf, len, off);
}

uint64_t zfile_bytes_read(const struct zfile *z)
{
	return z->bytes_read;
}

bool zfile_corrupt(const struct zfile *z)
{
	return z->corrupt;
}

void zfile_close(struct zfile *z)
{
	if (!z)
		return;
	if (z->gz_live)
		inflateEnd(&z->gz);
	ZSTD_freeDStream(z->zs);
	ZSTD_freeDCtx(z->dctx);
	xfree(z->frames);
	xfree(z->fbuf);
	xfree(z->cbuf);
	xfree(z->in);
	xfree(z->win);
	xfree(z->name);
	xfree(z);
}
