/* Private to writer/: the shared stream state and the backend ops table. */
#ifndef RINGCAP_WRITER_IMPL_H
#define RINGCAP_WRITER_IMPL_H

#include <pthread.h>
#include <stdatomic.h>

#include "util/util.h"
#include "writer/pcap.h"
#include "writer/writer.h"

struct writer;

/* A backend writes whole slots. submit() may complete inline (pwrite) or later
 * (io_uring); either way it ends in writer_slot_done(). A backend keeps its own
 * state behind w->priv: init() sets it (or leaves it NULL), fini() frees it. */
struct writer_ops {
	const char *name;
	/* From writer_open, before any submit; on failure nothing is left.
	 * NULL (and fini NULL): the backend keeps no state of its own. */
	int (*init)(struct writer *w);
	/* Write slot `s`'s pending range; any thread. 0 or -errno. */
	int (*submit)(struct writer *w, uint32_t s);
	/* Stop the backend once nothing is in flight. */
	void (*fini)(struct writer *w);
};

extern const struct writer_ops writer_uring_ops;
extern const struct writer_ops writer_pwrite_ops;
extern const struct writer_ops writer_stream_ops;

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
	uint64_t falloc_end;       /* file offset preallocated up to; under sq_lock */
	uint64_t opened_ns;
	struct index_builder *ix;  /* with cfg.index: fed under w->lock, written at close */
	struct out_file *next;     /* newer file */
	char path[];
};

struct writer_slot {
	_Atomic uint64_t chunk;    /* chunk this slot holds or may be filled for */
	_Atomic uint32_t filled;   /* bytes copied in for that chunk */
	/* Last record boundary inside the chunk and the packet count there;
	 * under w->lock. Lets an error truncate to a whole record. */
	uint64_t bound_off;
	uint64_t bound_pkts;
	/* The write in progress: file, file offset, length and how much is done.
	 * Set by the thread that submits the slot (submit_slot), then read and
	 * advanced by the backend's completion side. A slot has one write in
	 * flight; the backend orders the two sides (backend_uring.c: `queued`). */
	struct out_file *file;
	int wr_fd;                 /* file->fd (O_DIRECT, whole chunk) or file->plain_fd */
	uint64_t wr_off;
	uint32_t wr_len;
	uint32_t wr_done;
	bool done;                 /* written; waiting for earlier chunks to finish */
	bool ready;                /* stream: complete, waiting its turn; under flush_lock */
} __attribute__((aligned(CACHELINE)));

struct writer {
	const struct writer_ops *ops;
	struct writer_config cfg;
	struct out_file *files;    /* oldest first: files with chunks not yet released */
	struct out_file *cur;      /* the file being filled (newest) */
	unsigned files_opened;
	char last_path[PATH_MAX];  /* the newest file's name: never opened again while
				    * it is the next name too (O_TRUNC would destroy it) */
	bool same_name_said;       /* that was logged, once */
	bool direct;               /* the first file was opened with O_DIRECT */
	uint8_t *area;             /* nchunks * chunk_size, mapped twice in a row */
	size_t area_len;
	struct writer_slot *slots;

	pthread_mutex_t lock;      /* reservations, slot release, errors */
	pthread_cond_t slot_free;
	uint64_t next_off;         /* next byte of the file to hand out */
	uint64_t pkts_reserved;
	uint64_t released;         /* chunks written and released, in order */
	uint64_t good_off;         /* last whole record fully on disk */
	uint64_t good_pkts;
	uint64_t bytes_closed;     /* bytes in the files closed so far */
	uint64_t stalls;           /* times a worker waited for a free slot */
	uint64_t stall_ns;         /* and for how long in all */
	int error;                 /* first write error, -errno: no more packets taken */
	int stop_error;            /* the next file could not be created (-errno): no
				    * more packets taken, but the files are whole */
	char error_path[PATH_MAX]; /* the file error or stop_error is about */
	/* on_full_wait (writer.h): appends between their reservation and the
	 * end of their copy, and writes submitted and not yet done; both under
	 * w->lock. writer_resume closes the files only when both are 0. */
	_Atomic unsigned copying;  /* (raised under w->lock, lowered without) */
	unsigned writes_in_flight;
	uint64_t next_probe_ns;    /* files closed, none open: when to try the next */
	uint64_t probe_every_ns;   /* 1 s, doubled (to 64 s) after a resumed file
				    * got no record before the disk was full again */
	uint64_t pkts_at_resume;   /* records in the files when the last one began */
	uint64_t unwritten_pkts;
	uint64_t unwritten_bytes;
	unsigned full_events;
	_Atomic bool full;
	_Atomic bool rotate_req;   /* writer_rotate_request: start the next file */

	/* Flushes (writer_flush) one at a time; for a stream also every write,
	 * in order. Taken before w->lock, never under it. */
	pthread_mutex_t flush_lock;
	pthread_cond_t flush_done; /* flush_pinned went false */
	bool flush_pinned;         /* a flush reads slot flush_chunk: not released,
				    * nor written by its full write meanwhile; under w->lock */
	uint64_t flush_chunk;
	uint64_t flushed_off;      /* stream offset the flushes wrote up to; under w->lock */
	uint64_t stream_off;       /* stream: bytes written so far; under flush_lock */
	uint64_t stream_chunk;     /* stream: next chunk to write; under flush_lock */

	pthread_mutex_t sq_lock;   /* backend submission side */
	void *priv;                /* the backend's own state: set by init, freed by fini */
};

static inline uint8_t *slot_buf(const struct writer *w, uint32_t s)
{
	return w->area + (size_t)s * w->cfg.chunk_size;
}

/* Called by a backend when slot `s`'s write has finished with `res` (bytes or
 * -errno). Handles the error and in-order release. Takes w->lock. */
void writer_slot_done(struct writer *w, uint32_t s, int res);
/* Record the first error and the file it is about. Under w->lock. */
void writer_set_error(struct writer *w, int err, const struct out_file *f);
/* Extend the preallocation of slot s's file ahead of its write; under sq_lock. */
void writer_prealloc(struct writer *w, uint32_t s);

#endif
