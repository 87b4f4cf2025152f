/*
 * The zstd backend (--compress zstd[:LEVEL]): every chunk the appender hands
 * on becomes one zstd frame of its own, written at the end of the frames
 * before it. The appending thread does no compression work:
 *
 *   submit (the appending thread, or main at close): the chunk joins the
 *        write order and, if the pool's queue has room, the queue of chunks
 *        to compress; otherwise it is marked raw at once (its frame is its
 *        bytes between block headers: no work but the write).
 *   pool threads (compress_threads): take chunks in order, compress each
 *        into the thread's own buffer (Frame_Content_Size set, no checksum,
 *        no dictionary), ZPOOL_STEP bytes of input at a time. A chunk that
 *        waited longer than ZPOOL_LATE_NS is stored raw instead: the pool is
 *        behind. So is one being compressed when half the slots wait for
 *        their frames (`hurry`): its thread drops the work at the next step
 *        and stores it raw, so the frames in order behind it (raw ones that
 *        are ready) go out, and the appender never waits for a slot much
 *        longer than the plain writer would (at most one step's work).
 *   the writer turn: frames go to the file strictly in order, because a
 *        frame's offset is the sum of the frames before it. Whichever thread
 *        finds the oldest chunk's frame ready, and nobody writing, writes it
 *        and every ready frame after it (a pool thread, or the submitter for
 *        a raw frame at the head). A pool thread keeps its buffer until its
 *        frame is written.
 *
 * Why buffered pwrite here and not the io_uring backend: a compressed frame
 * has neither an aligned offset nor an aligned length, so O_DIRECT and the
 * registered staging buffers buy nothing; the frames are written one after
 * another anyway, and they are a fraction of the chunk's size. The write is
 * done by the thread that made the frame ready, so the appender writes only
 * raw frames, as the pwrite backend would write its chunk.
 *
 * Crash safety: a file only grows by whole frames written in order, the next
 * one after the last (buffered, exact lengths), so after SIGKILL it is whole
 * frames with at most a torn last one. A failed write marks the file: no
 * frame after it is written, and the closer truncates the file to the end of
 * its last whole frame (f->zend).
 *
 * Live flushes (flush.c) write the chunk-so-far as its own frame (compressed
 * by main, raw from the appending thread with -U) while every earlier chunk
 * is written and the chunk itself is pinned; the chunk's own frame later
 * holds only what follows the flushed piece (writer_prepare_slot starts its
 * write there), so no compressed byte is ever written twice.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "writer/writer_impl.h"
#include "writer/zframe.h"

#define ZPOOL_THREADS_MAX 8
#define ZPOOL_LATE_NS 100000000ull /* a chunk that waited 100 ms goes raw */
#define ZPOOL_STEP (128u << 10)     /* input per compression call: how soon `hurry` is seen */
#define ZPOOL_GAVE_UP ((size_t)-1) /* compress_job stopped: an error to ZSTD_isError */

/* Frame building space: a raw frame's headers and iovecs for one chunk. */
struct zraw {
	uint8_t hdr[ZFRAME_HEADER_MAX];
	uint8_t (*bh)[ZFRAME_BLOCK_HEADER];
	struct iovec *iov;
};

struct zjob {
	const uint8_t *src;        /* the slot's bytes still to write */
	size_t len;
	struct out_file *file;
	uint64_t seq;              /* place in the write order */
	uint64_t t_enq;
	bool raw;                  /* stored without compression */
	bool ready;                /* raw, or compressed into out */
	const uint8_t *out;        /* the compressing thread's buffer */
	size_t out_len;
};

struct zthread {
	struct zpool *zp;
	pthread_t tid;
	ZSTD_CCtx *cctx;
	uint8_t *out;
	size_t out_cap;
};

struct zpool {
	struct writer *w;
	pthread_mutex_t lock;      /* everything below but the threads' own buffers */
	pthread_cond_t work;       /* a chunk to compress, or stop */
	pthread_cond_t turn;       /* a frame written: o_head moved */
	struct zjob *jobs;         /* one per slot: a slot has one write at a time */
	uint32_t *order;           /* slots in write order, [o_head, o_tail) */
	uint64_t o_head, o_tail;
	uint32_t *todo;            /* slots waiting for a thread, [t_head, t_tail) */
	uint64_t t_head, t_tail;
	unsigned queue_cap;
	bool writing;              /* a thread holds the writer turn */
	bool stop;
	uint64_t hurry_at;         /* chunks waiting for their frames that make `hurry` */
	/* Set (under lock) while hurry_at chunks or more wait for their frames;
	 * read without it by the compressing threads between steps. */
	_Atomic bool hurry;
	struct zraw raw;           /* the writer turn's */
	unsigned nthreads;
	struct zthread th[ZPOOL_THREADS_MAX];
	/* the flushes' own (one flush at a time, flush.c) */
	ZSTD_CCtx *flush_cctx;
	uint8_t *flush_out;
	size_t flush_cap;
	struct zraw flush_raw;
};

static struct zpool *pool(const struct writer *w)
{
	return w->priv;
}

static void zraw_init(struct zraw *r, size_t chunk)
{
	r->bh = xcalloc(zframe_raw_blocks(chunk), sizeof(*r->bh));
	r->iov = xcalloc(zframe_raw_iovs(chunk), sizeof(*r->iov));
}

static void zraw_fini(struct zraw *r)
{
	xfree(r->bh);
	xfree(r->iov);
}

static ZSTD_CCtx *cctx_new(int level)
{
	ZSTD_CCtx *c = ZSTD_createCCtx();

	if (!c)
		return NULL;
	/* Frame_Content_Size in every frame (a reader maps offsets by walking
	 * frame headers), no checksum: the pcap records carry their own
	 * framing, and a torn tail is cut by frame anyway. */
	if (ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, level)) ||
	    ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_contentSizeFlag, 1)) ||
	    ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, 0))) {
		ZSTD_freeCCtx(c);
		return NULL;
	}
	return c;
}

/* Write iovecs in full: at `off` of a file, or in order to a stream. */
static int writev_full(int fd, struct iovec *iov, size_t n, uint64_t off, bool stream)
{
	while (n) {
		ssize_t r = stream ? writev(fd, iov, (int)(n < IOV_MAX ? n : IOV_MAX))
				   : pwritev(fd, iov, (int)(n < IOV_MAX ? n : IOV_MAX), (off_t)off);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (r == 0)
			return -EIO;
		off += (uint64_t)r;
		while (n && (size_t)r >= iov->iov_len) {
			r -= (ssize_t)iov->iov_len;
			iov++;
			n--;
		}
		if (n) {
			iov->iov_base = (uint8_t *)iov->iov_base + r;
			iov->iov_len -= (size_t)r;
		}
	}
	return 0;
}

/* Which counter a frame goes to. */
enum zkind { ZK_COMPRESSED, ZK_RAW_BEHIND, ZK_RAW_PIECE };

/* Write one frame at f's end and account for it. The thread that holds the
 * file's frames (the writer turn, or a flush). 0 or -errno. */
static int put_frame(struct writer *w, struct out_file *f, struct zraw *r, const uint8_t *src,
		     size_t len, const uint8_t *frame, size_t flen, enum zkind kind)
{
	struct iovec one = { .iov_base = (void *)frame, .iov_len = flen };
	struct iovec *iov = &one;
	size_t n = 1;
	int ret;

	if (f->zfailed)
		return -EIO; /* a frame before this one is missing: nothing after it */
	if (!frame) {
		n = zframe_raw_iov(r->hdr, r->bh, r->iov, src, len, &flen);
		iov = r->iov;
	}
	ret = writev_full(f->fd, iov, n, f->zend, f->stream);
	pthread_mutex_lock(&w->lock);
	if (ret) {
		f->zfailed = true;
	} else {
		f->zend += flen;
		if (kind == ZK_COMPRESSED)
			w->zcount.chunks++;
		else if (kind == ZK_RAW_BEHIND)
			w->zcount.raw_chunks++;
		w->zcount.bytes_in += len;
		w->zcount.bytes_out += flen;
	}
	pthread_mutex_unlock(&w->lock);
	return ret;
}

/* Is the write order long enough that compression must give way? Under
 * zp->lock. */
static void update_hurry(struct zpool *zp)
{
	atomic_store_explicit(&zp->hurry, zp->o_tail - zp->o_head >= zp->hurry_at,
			      memory_order_relaxed);
}

/* Compress job j into t's buffer, a step at a time; stops early (an error
 * code) when the pool must hurry. The frame's content size is pledged, so
 * it is in the frame header. Without zp->lock. */
static size_t compress_job(struct zpool *zp, struct zthread *t, const struct zjob *j)
{
	ZSTD_outBuffer out = { .dst = t->out, .size = t->out_cap };
	ZSTD_inBuffer in = { .src = j->src };
	size_t r;

	if (ZSTD_isError(r = ZSTD_CCtx_reset(t->cctx, ZSTD_reset_session_only)) ||
	    ZSTD_isError(r = ZSTD_CCtx_setPledgedSrcSize(t->cctx, j->len)))
		return r;
	do {
		bool last = j->len - in.pos <= ZPOOL_STEP;

		if (atomic_load_explicit(&zp->hurry, memory_order_relaxed))
			return ZPOOL_GAVE_UP; /* stored raw instead */
		in.size = last ? j->len : in.pos + ZPOOL_STEP;
		r = ZSTD_compressStream2(t->cctx, &out, &in, last ? ZSTD_e_end : ZSTD_e_continue);
		if (ZSTD_isError(r))
			return r;
	} while (in.pos < j->len || r != 0);
	return out.pos;
}

/* Write every ready frame at the head of the order, if nobody else is
 * writing. Under zp->lock (dropped around each write). */
static void write_ready(struct zpool *zp)
{
	struct writer *w = zp->w;
	const uint32_t nchunks = w->cfg.nchunks;

	while (!zp->writing && zp->o_head < zp->o_tail) {
		uint32_t s = zp->order[zp->o_head % nchunks];
		struct zjob *j = &zp->jobs[s];
		int ret;

		if (!j->ready)
			return;
		zp->writing = true;
		pthread_mutex_unlock(&zp->lock);
		ret = put_frame(w, j->file, &zp->raw, j->src, j->len, j->raw ? NULL : j->out,
				j->out_len, j->raw ? ZK_RAW_BEHIND : ZK_COMPRESSED);
		/* slot_done may release the slot, and the appender refill it
		 * and submit it again: the job is not read after this */
		writer_slot_done(w, s, ret ? ret : (int)j->len);
		pthread_mutex_lock(&zp->lock);
		zp->writing = false;
		zp->o_head++;
		update_hurry(zp);
		pthread_cond_broadcast(&zp->turn);
	}
}

static void *zthread_main(void *arg)
{
	struct zthread *t = arg;
	struct zpool *zp = t->zp;
	const uint32_t nchunks = zp->w->cfg.nchunks;

	pthread_mutex_lock(&zp->lock);
	for (;;) {
		struct zjob *j;
		uint64_t seq;
		size_t r = 0;
		bool late;

		while (!zp->stop && zp->t_head == zp->t_tail)
			pthread_cond_wait(&zp->work, &zp->lock);
		if (zp->t_head == zp->t_tail)
			break; /* stop, and nothing left */
		j = &zp->jobs[zp->todo[zp->t_head++ % nchunks]];
		seq = j->seq;
		late = now_ns() - j->t_enq > ZPOOL_LATE_NS;
		pthread_mutex_unlock(&zp->lock);
		if (!late)
			r = compress_job(zp, t, j);
		pthread_mutex_lock(&zp->lock);
		if (late || ZSTD_isError(r)) {
			j->raw = true;
		} else {
			j->out = t->out;
			j->out_len = r;
		}
		j->ready = true;
		write_ready(zp);
		/* the frame is in our buffer until it is written */
		while (zp->o_head <= seq)
			pthread_cond_wait(&zp->turn, &zp->lock);
	}
	pthread_mutex_unlock(&zp->lock);
	return NULL;
}

static int zstd_submit(struct writer *w, uint32_t s)
{
	struct zpool *zp = pool(w);
	const uint32_t nchunks = w->cfg.nchunks;
	struct writer_slot *sl = &w->slots[s];
	struct zjob *j = &zp->jobs[s];

	if (sl->wr_done >= sl->wr_len) { /* all of it flushed already */
		writer_slot_done(w, s, 0);
		return 0;
	}
	pthread_mutex_lock(&zp->lock);
	*j = (struct zjob){ .src = slot_buf(w, s) + sl->wr_done, .len = sl->wr_len - sl->wr_done,
			    .file = sl->file, .seq = zp->o_tail };
	zp->order[zp->o_tail++ % nchunks] = s;
	update_hurry(zp);
	if (zp->nthreads && zp->t_tail - zp->t_head < zp->queue_cap) {
		j->t_enq = now_ns();
		zp->todo[zp->t_tail++ % nchunks] = s;
		pthread_cond_signal(&zp->work);
	} else {
		/* the pool is behind: stored as it is, never waited for */
		j->raw = true;
		j->ready = true;
	}
	write_ready(zp);
	pthread_mutex_unlock(&zp->lock);
	return 0;
}

static void zpool_free(struct zpool *zp)
{
	for (unsigned i = 0; i < ZPOOL_THREADS_MAX; i++) {
		ZSTD_freeCCtx(zp->th[i].cctx);
		xfree(zp->th[i].out);
	}
	ZSTD_freeCCtx(zp->flush_cctx);
	xfree(zp->flush_out);
	zraw_fini(&zp->raw);
	zraw_fini(&zp->flush_raw);
	xfree(zp->jobs);
	xfree(zp->order);
	xfree(zp->todo);
	pthread_cond_destroy(&zp->turn);
	pthread_cond_destroy(&zp->work);
	pthread_mutex_destroy(&zp->lock);
	xfree(zp);
}

static void zstd_fini(struct writer *w)
{
	struct zpool *zp = pool(w);

	if (!zp)
		return;
	pthread_mutex_lock(&zp->lock);
	while (zp->o_head < zp->o_tail)
		pthread_cond_wait(&zp->turn, &zp->lock);
	zp->stop = true;
	pthread_cond_broadcast(&zp->work);
	pthread_mutex_unlock(&zp->lock);
	for (unsigned i = 0; i < zp->nthreads; i++)
		pthread_join(zp->th[i].tid, NULL);
	zpool_free(zp);
	w->priv = NULL;
}

static int zstd_init(struct writer *w)
{
	const size_t cs = w->cfg.chunk_size, bound = ZSTD_compressBound(cs);
	const unsigned nthreads = w->cfg.compress_threads;
	struct zpool *zp;
	int ret = 0;

	if (nthreads > ZPOOL_THREADS_MAX || w->cfg.compress_level > ZSTD_maxCLevel())
		return -EINVAL;
	zp = xcalloc(1, sizeof(*zp));
	zp->w = w;
	pthread_mutex_init(&zp->lock, NULL);
	pthread_cond_init(&zp->work, NULL);
	pthread_cond_init(&zp->turn, NULL);
	zp->jobs = xcalloc(w->cfg.nchunks, sizeof(*zp->jobs));
	zp->order = xcalloc(w->cfg.nchunks, sizeof(*zp->order));
	zp->todo = xcalloc(w->cfg.nchunks, sizeof(*zp->todo));
	/* Chunks waiting for a thread hold their slots: at most a quarter of
	 * them, so the appender keeps room to stage (it never waits longer
	 * than without compression); past that they go raw. */
	zp->queue_cap = 4 * nthreads < w->cfg.nchunks / 4 ? 4 * nthreads : w->cfg.nchunks / 4;
	if (!zp->queue_cap)
		zp->queue_cap = 1;
	zp->hurry_at = w->cfg.nchunks / 2 ? w->cfg.nchunks / 2 : 1;
	atomic_init(&zp->hurry, false);
	zraw_init(&zp->raw, cs);
	zraw_init(&zp->flush_raw, cs);
	zp->flush_cctx = cctx_new(w->cfg.compress_level);
	zp->flush_cap = bound;
	zp->flush_out = xcalloc(1, bound);
	if (!zp->flush_cctx)
		goto out_nomem;
	for (unsigned i = 0; i < nthreads; i++) {
		struct zthread *t = &zp->th[i];

		t->zp = zp;
		t->cctx = cctx_new(w->cfg.compress_level);
		t->out_cap = bound;
		t->out = xcalloc(1, bound);
		if (!t->cctx)
			goto out_nomem;
	}
	w->priv = zp;
	for (; zp->nthreads < nthreads; zp->nthreads++) {
		ret = -pthread_create(&zp->th[zp->nthreads].tid, NULL, zthread_main,
				      &zp->th[zp->nthreads]);
		if (ret) {
			zstd_fini(w);
			return ret;
		}
	}
	return 0;

out_nomem:
	zpool_free(zp);
	return -ENOMEM;
}

int writer_zstd_flush(struct writer *w, struct out_file *f, const uint8_t *buf, size_t len,
		      bool raw)
{
	struct zpool *zp = pool(w);
	size_t r = 0;

	if (!raw)
		r = ZSTD_compress2(zp->flush_cctx, zp->flush_out, zp->flush_cap, buf, len);
	if (raw || ZSTD_isError(r))
		return put_frame(w, f, &zp->flush_raw, buf, len, NULL, 0, ZK_RAW_PIECE);
	return put_frame(w, f, &zp->flush_raw, buf, len, zp->flush_out, r, ZK_COMPRESSED);
}

int writer_zstd_header_frame(struct writer *w, struct out_file *f, const uint8_t *hdr,
			     size_t len)
{
	uint8_t frame[ZFRAME_HEADER_MAX + ZFRAME_BLOCK_HEADER + 64];
	size_t flen = zframe_raw_encode(frame, sizeof(frame), hdr, len);

	(void)w;
	if (!flen)
		return -EINVAL;
	int ret;

	f->zfailed = false;
	ret = pwrite_full(f->fd, frame, flen, 0);
	if (!ret)
		f->zend = flen;
	return ret;
}

int writer_parse_compress(const char *arg, int *level)
{
	char *end;
	long n;

	if (strncmp(arg, "zstd", 4) || (arg[4] && arg[4] != ':'))
		return -EINVAL;
	if (!arg[4]) {
		*level = 1;
		return 0;
	}
	errno = 0;
	n = strtol(arg + 5, &end, 10);
	if (!arg[5] || *end || errno || n < 1 || n > 19)
		return -EINVAL;
	*level = (int)n;
	return 0;
}

void writer_compress_counters(struct writer *w, struct writer_compress_counters *out)
{
	pthread_mutex_lock(&w->lock);
	*out = w->zcount;
	pthread_mutex_unlock(&w->lock);
}

const struct writer_ops writer_zstd_ops = {
	.name = "zstd",
	.init = zstd_init,
	.submit = zstd_submit,
	.fini = zstd_fini,
};
