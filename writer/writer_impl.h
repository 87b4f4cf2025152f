/*
 * Private to writer/: the shared stream state, the backend ops table, and the
 * functions the writer's files call in each other. Who does what:
 *
 *   stream.c   staging slots: append (the one appending thread), chunk
 *              hand-off to the backend, in-order release on completion
 *   prologue.c the bytes around the records: pcap's file header or pcapng's
 *              SHB and IDBs at a file's start, pcapng's ISBs at its end
 *   files.c    output files: naming, open, rotation, close (the closer)
 *   flush.c    live flushes (writer_flush, -U)
 *   full.c     --on-full wait: stop at a full disk, resume in a new file
 *   hooks.c    what the writer tells others: the index, cfg.file_closed
 *   compress.c --compress: the zstd backend (a pool of compressing threads,
 *              frames written in file order) and the flushes' frames
 *   zframe.c   raw zstd frames made by hand (zframe.h)
 *   writer.c   open, close, discard and the readers of its counters
 *
 * Threads and what is shared between them (writer.h has the public side):
 *   - the appending thread: one at a time (writer.h). It alone stages bytes,
 *     so a byte range needs no reservation: it copies records into slots it
 *     owns, then publishes the new end (next_off, pkts) under w->lock. Whole
 *     chunks it hands to the backend itself.
 *   - the backend's completion side: the io_uring reaper (backend_uring.c),
 *     or the submitting thread itself (pwrite, stream).
 *   - main: writer_flush, writer_resume, writer_rotate_request, the counters,
 *     and writer_close after the appending thread has stopped.
 *
 * Locks and atomics, and between which threads:
 *   w->lock       (mutex) the published stream state below: next_off/pkts,
 *                 released, errors, the file list, the flush pin, the
 *                 on_full_wait counters. Appender (twice per append), the
 *                 completion side (once per chunk), main. Held for
 *                 bookkeeping only: no file is closed and no hook runs
 *                 under it (the closer drops it, files.c), but
 *                 cfg.iface_stats, which must return at once (writer.h):
 *                 pcapng's ISBs are encoded where the file's end is set.
 *   w->progress   (condition on w->lock) a slot released, a flush ended, the
 *                 closer finished: the appender waits for a slot, a
 *                 submission for a flush of its chunk, main at close for the
 *                 last chunks.
 *   w->full       (atomic) max_packets or the last file reached: written by
 *                 the appender (or main in resume), read by any thread
 *                 (writer_full, per block) without the lock.
 *   w->rotate_req (atomic) writer_rotate_request from main, taken by the
 *                 appender's next append.
 *   backend_uring.c keeps its own: sq_lock between the submitter and the
 *   reaper (short-write requeue), and `queued`, which shows ThreadSanitizer
 *   the kernel's submit -> completion edge.
 *   compress.c keeps its own: the pool's lock (the write order, the queue to
 *   compress, the writer turn), never held with w->lock; a frame's write
 *   takes w->lock only to advance the file's zend and the counters.
 */
#ifndef RINGCAP_WRITER_IMPL_H
#define RINGCAP_WRITER_IMPL_H

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "util/util.h"
#include "writer/pcap.h"
#include "writer/writer.h"

struct writer;

/* A backend writes whole slots. submit() may complete inline (pwrite, stream)
 * or later (io_uring); either way it ends in writer_slot_done(). It is called
 * by the thread that hands chunks on (the appending thread, or main at
 * writer_close), never under w->lock. A backend keeps its own state behind
 * w->priv: init() sets it (or leaves it NULL), fini() frees it. */
struct writer_ops {
	const char *name;
	/* From writer_open, before any submit; on failure nothing is left.
	 * NULL (and fini NULL): the backend keeps no state of its own. */
	int (*init)(struct writer *w);
	/* Write slot `s`'s pending range, from wr_done on. 0 or -errno. */
	int (*submit)(struct writer *w, uint32_t s);
	/* Stop the backend once nothing is in flight. */
	void (*fini)(struct writer *w);
};

extern const struct writer_ops writer_uring_ops;
extern const struct writer_ops writer_pwrite_ops;
extern const struct writer_ops writer_stream_ops;
extern const struct writer_ops writer_zstd_ops;

/* One output file. Files start on a chunk boundary of the stream; a file's
 * last chunk may be partly padding, which is cut off when it is closed. */
struct out_file {
	int fd;
	int plain_fd;              /* the same file without O_DIRECT (== fd when not direct):
				    * partial chunks, exact lengths */
	bool direct;               /* fd was opened with O_DIRECT */
	bool regular;              /* a regular file: fallocate and ftruncate apply */
	bool stream;               /* standard output: written in order with write(2) */
	bool falloc_off;           /* the file system refused fallocate */
	uint64_t base;             /* stream offset of the file's first byte */
	uint64_t end;              /* stream offset past its last byte; UINT64_MAX while open */
	uint64_t close_at;         /* where the closer cuts it (end, or the last whole
				    * record on disk after an error) */
	bool cut;                  /* closed after an error: its header may not be
				    * on disk yet (the closer writes it) */
	uint64_t falloc_end;       /* file offset preallocated up to; the submitting thread's */
	uint64_t opened_ns;
	struct index_builder *ix;  /* cfg.index: made by the opener, fed by the
				    * appending thread (hooks.c), written by the closer */
	/* Compressed files (compress.c): the file's bytes are frames, so a
	 * frame's place is the sum of those before it. Written under w->lock by
	 * the one thread that writes the file's frames at the time (the pool's
	 * writer turn, or a flush, never both: writer_zstd_flush). */
	uint64_t zend;             /* frame bytes in the file: where the next frame goes */
	bool zfailed;              /* a frame's write failed: nothing more is written here */
	struct out_file *next;     /* newer file */
	char path[];
};

struct writer_slot {
	/* Last record boundary inside the chunk and the packet count there;
	 * under w->lock. Lets an error truncate to a whole record. */
	uint64_t bound_off;
	uint64_t bound_pkts;
	/* The write in progress: file, file offset, length and how much is done
	 * (a stream starts past what a flush already wrote). Set under w->lock
	 * by writer_prepare_slot, then read and advanced by the backend's
	 * completion side. A slot has one write in flight; the backend orders
	 * the two sides (backend_uring.c: `queued`). */
	struct out_file *file;
	int wr_fd;                 /* file->fd (O_DIRECT, whole chunk) or file->plain_fd */
	uint64_t wr_off;
	uint32_t wr_len;
	uint32_t wr_done;
	bool done;                 /* written; waiting for earlier chunks; under w->lock */
} __attribute__((aligned(CACHELINE)));

struct writer {
	const struct writer_ops *ops;
	struct writer_config cfg;
	struct out_file *files;    /* oldest first: files with chunks not yet released */
	struct out_file *cur;      /* the file being filled (newest) */
	unsigned files_opened;
	unsigned name_index;       /* the number of the next name: files_opened plus
				    * the names skipped and an earlier run's */
	char last_path[PATH_MAX];  /* the newest file's name: never opened again while
				    * it is the next name too (O_TRUNC would destroy it) */
	bool same_name_said;       /* that was logged, once */
	bool direct;               /* the first file was opened with O_DIRECT */
	uint8_t *area;             /* nchunks * chunk_size, mapped twice in a row */
	size_t area_len;
	struct writer_slot *slots; /* chunk c lives in slot c % nchunks */

	pthread_mutex_t lock;      /* see the top of this file */
	pthread_cond_t progress;
	uint64_t next_off;         /* end of the published (staged) stream */
	uint64_t pkts;             /* records published */
	uint64_t released;         /* chunks written and released, in order: the
				    * slot of chunk c is free to fill once
				    * c < released + nchunks */
	uint64_t good_off;         /* last whole record fully on disk */
	uint64_t good_pkts;
	uint64_t bytes_closed;     /* bytes in the files closed (or being closed) */
	uint64_t stalls;           /* times the appender waited for a free slot */
	uint64_t stall_ns;         /* and for how long in all */
	int error;                 /* first write error, -errno: no more packets taken */
	int stop_error;            /* the next file could not be created (-errno): no
				    * more packets taken, but the files are whole */
	char error_path[PATH_MAX]; /* the file error or stop_error is about */
	bool staging;              /* the appender is copying between its two lock
				    * sections: the slots and files it copies into
				    * must stay (writer_resume waits) */
	unsigned writes_in_flight; /* chunks handed to the backend, not yet done */
	bool closer_busy;          /* a thread is closing files without the lock;
				    * others leave theirs to it (files.c) */
	/* on_full_wait (full.c) */
	uint64_t next_probe_ns;    /* files closed, none open: when to try the next */
	uint64_t probe_every_ns;   /* 1 s, doubled (to 64 s) after a resumed file
				    * got no record before the disk was full again */
	uint64_t pkts_at_resume;   /* records in the files when the last one began */
	uint64_t unwritten_pkts;
	uint64_t unwritten_bytes;
	unsigned full_events;
	_Atomic bool full;
	_Atomic bool rotate_req;   /* writer_rotate_request: start the next file */

	/* Live flushes (flush.c), one at a time */
	bool flush_pinned;         /* a flush reads slot flush_chunk: not released,
				    * nor written by its full write meanwhile */
	uint64_t flush_chunk;
	uint64_t flushed_off;      /* stream offset the flushes wrote up to */

	struct writer_compress_counters zcount; /* compress.c; under w->lock */

	void *priv;                /* the backend's own state: set by init, freed by fini */

	/* What every file begins with (pcap's header, or pcapng's SHB and IDBs)
	 * and, for pcapng, what every file closed whole ends with (its ISBs):
	 * prologue.c. Made by writer_open, then read only. */
	uint8_t *prologue;
	uint32_t prologue_len;
	uint32_t tail_max;         /* the most bytes a tail takes; 0: files have none */
	uint64_t opened_unit;      /* writer_open's time in the files' time unit */
	/* A rotation's tail for the file it ends: encoded by writer_rotate and
	 * staged at tail_off by the appender (its own, like the range it copies). */
	uint8_t *tail;             /* tail_max bytes */
	uint32_t tail_len;
	uint64_t tail_off;
};

static inline uint8_t *slot_buf(const struct writer *w, uint32_t s)
{
	return w->area + (size_t)s * w->cfg.chunk_size;
}

static inline bool writer_is_stream(const struct writer *w)
{
	return strcmp(w->cfg.path, "-") == 0;
}

/* what a compressed file's name has after the name it would have without */
#define WRITER_ZSTD_SUFFIX ".zst"

static inline bool writer_compressed(const struct writer *w)
{
	return w->cfg.compress_level > 0;
}

/* Bytes file f holds on disk (compressed: its frames) when its stream ends at
 * `end`. Under w->lock, or the closer's once f is detached. */
static inline uint64_t writer_file_bytes(const struct writer *w, const struct out_file *f,
					 uint64_t end)
{
	return writer_compressed(w) ? f->zend : end - f->base;
}

/* ---- stream.c: staging and hand-off ---- */
int writer_map_area(struct writer *w);
void writer_unmap_area(struct writer *w);
/* Called by a backend when slot `s`'s write has finished with `res` (bytes or
 * -errno). Handles the error and in-order release. Takes w->lock. */
void writer_slot_done(struct writer *w, uint32_t s, int res);
/* Release written chunks in order. Under w->lock. */
void writer_release_in_order(struct writer *w);
/* Fill in chunk `chunk`'s write (whole, or cut at its file's end) once no
 * flush reads it, and count it in flight. Under w->lock (may wait on
 * w->progress). Returns the slot to hand to writer_submit_slot. */
uint32_t writer_prepare_slot(struct writer *w, uint64_t chunk);
/* Hand a prepared slot to the backend. Without w->lock. */
void writer_submit_slot(struct writer *w, uint32_t s);
/* Extend the preallocation of slot s's file ahead of its write; the
 * submitting thread, before the write is queued. */
void writer_prealloc(struct writer *w, uint32_t s);
/* writer_close, the appending thread stopped for good: stage the current
 * file's tail (pcapng's ISBs) at its end and hand on the chunks it fills.
 * Takes w->lock; nothing when the writer has failed. */
void writer_stage_close_tail(struct writer *w);
/* Record the first error and the file it is about (NULL: cfg.path). Under w->lock. */
void writer_set_error(struct writer *w, int err, const char *path);

/* ---- files.c: output files and rotation ---- */
/* Create the next file at stream offset `base`; its name is left in `path`
 * whatever happens. Under w->lock (or before the writer is shared). */
int writer_open_file(struct writer *w, uint64_t base, char path[PATH_MAX], struct out_file **out);
/* Before the first file: where -C numbering continues after an earlier run's
 * files; -EEXIST (logged) when a name without numbering holds records. */
int writer_first_name(struct writer *w);
/* A file that goes before it held anything: closed, removed, freed. */
void writer_discard_file(struct out_file *f);
/* Stage f's file header at its first byte in the staging area. */
void writer_stage_header(struct writer *w, const struct out_file *f);
/* Say once that the next file's name is the newest file's. Under w->lock. */
void writer_same_name_once(struct writer *w, const char *path, const char *what);
/* The file that chunk `chunk` belongs to. Under w->lock. */
struct out_file *writer_chunk_file(const struct writer *w, uint64_t chunk);
/* Should the append of `bytes` start a new file? -G with -W: is the last
 * file due to end (nothing more is taken)? Start it. Under w->lock. */
bool writer_rotation_due(struct writer *w, uint64_t bytes);
bool writer_last_file_done(const struct writer *w);
int writer_rotate(struct writer *w);
/* Close the files whose every chunk is released, in order, by one thread at
 * a time; the lock is dropped while they are closed. Under w->lock. */
void writer_close_finished(struct writer *w);
/* Take every open file off the list, each to be cut at its end or, with
 * `cut`, at the last whole record on disk; their bytes count as closed.
 * Under w->lock; the caller then closes them with writer_finish_files. */
struct out_file *writer_detach_files(struct writer *w, bool cut);
/* Close detached files (without w->lock), oldest first, and free them. The
 * first error is returned and its file named in bad_path (may be NULL). */
int writer_finish_files(struct writer *w, struct out_file *list, bool sync, char *bad_path);

/* ---- full.c: --on-full wait ---- */
/* A write error that on_full_wait waits out. Under w->lock. */
bool writer_waits_out(const struct writer *w);
/* What a cut at good_off leaves out of the open files, as unwritten. Under w->lock. */
void writer_count_cut(struct writer *w);

/* ---- compress.c: zstd frames ---- */
/* A live flush's piece [buf, buf + len) of f as one frame at f->zend (raw
 * when `raw`: -U, from the appending thread). The flushing thread, without
 * w->lock, while every earlier chunk is written and the piece's chunk not
 * handed on (writer_flush's pin): no other frame of f is being written. 0 or
 * -errno (f->zfailed then). */
int writer_zstd_flush(struct writer *w, struct out_file *f, const uint8_t *buf, size_t len,
		      bool raw);
/* A cut file with no frame on disk gets its header as a raw frame. The
 * closer, f detached. 0 or -errno. */
int writer_zstd_header_frame(struct writer *w, struct out_file *f, const uint8_t *hdr,
			     size_t len);

/* ---- flush.c ---- */
/* writer_flush, told whether it runs in the appending thread (-U): its
 * frames are then raw, so the appender never compresses. */
int writer_flush_as(struct writer *w, bool appender);
/* ---- prologue.c: the bytes around a file's records ---- */
/* Build w->prologue and size the tail from w->cfg (pcap or pcapng).
 * writer_open; 0 or -EINVAL (logged: more than a chunk). */
int writer_make_prologue(struct writer *w);
void writer_free_prologue(struct writer *w);
/* The tail of a file ending now (pcapng: an ISB per interface whose counters
 * cfg.iface_stats knows) into out (tail_max bytes); its length, 0 for none.
 * Under w->lock (the hook's contract, writer.h). */
uint32_t writer_encode_tail(struct writer *w, uint8_t *out);
/* The link type of interface `iface` as its IDB says it (pcapng). Pure. */
uint32_t writer_iface_linktype(const struct writer *w, unsigned iface);
/* Bytes of a record (or EPB) of each packet, in all. */
uint64_t writer_records_bytes(const struct writer *w, const struct pkt_view *pkts, unsigned n);

/* ---- hooks.c: what the writer tells others (writer.h: Hooks) ---- */
/* A file was created (writer_open_file): with cfg.index, its index builder,
 * fed its prologue's SHB and IDBs when it is pcapng. The thread that opens
 * it (under w->lock, or before the writer is shared). */
void writer_hook_opened(struct writer *w, struct out_file *f);
/* The appending thread, after copying n records into staging at stream
 * offset `off` of file f, without w->lock: the index learns them. */
void writer_hook_staged(struct writer *w, struct out_file *f, uint64_t off,
			const struct pkt_view *pkts, unsigned n);
/* The closer, after f is closed at `size` (error: 0 or -errno), without
 * w->lock: the index is written, then cfg.file_closed is called. */
void writer_hook_closed(struct writer *w, struct out_file *f, uint64_t size, int error);

#endif
