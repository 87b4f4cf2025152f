/*
 * writer — standard pcap savefiles, written through io_uring (or pwrite).
 *
 * One writer per output file, shared by all workers. The file is a byte stream
 * cut into fixed, aligned chunks that live in a ring of page-aligned staging
 * slots (registered with io_uring, so O_DIRECT writes need no copy):
 *
 *   worker: reserve a byte range for a whole block's records (one lock per
 *           block) → wait until the slots under it are free → copy the records
 *           in → add its bytes to each slot; whoever completes a slot submits it.
 *   backend: writes chunk k at offset k * chunk_size; completions release slots
 *           strictly in file order, so a slot is reused only when every byte
 *           before it is on disk.
 *
 * The last, partial chunk is written at close, and the file is truncated to its
 * true size. Rotation (-C, -G) ends a file at a block's boundary and starts the
 * next one on the next chunk boundary of the stream, so every write stays
 * aligned; each file is truncated and closed once its last chunk is on disk.
 * On a write error (a full disk) the writer stops taking packets and close()
 * truncates the file to the last whole record that is on disk: what was
 * captured before stays readable.
 *
 * The bytes of the format are writer/pcap.h's; this header is the writer's API.
 */
#ifndef RINGCAP_WRITER_H
#define RINGCAP_WRITER_H

#include <stdbool.h>
#include <stdint.h>

#include "ring/block.h"

enum writer_backend { WRITER_URING, WRITER_PWRITE };

struct writer_config {
	const char *path;
	uint32_t snaplen;
	bool nano;
	enum writer_backend backend;
	uint32_t chunk_size;   /* bytes per staging slot, multiple of 4096 */
	uint32_t nchunks;      /* slots; together they must hold at least two blocks */
	uint64_t max_packets;  /* 0: no limit (-c) */
	uint64_t rotate_bytes; /* -C: start a new file before one would pass this size */
	uint64_t rotate_ns;    /* -G: start a new file when the current one is this old */
	unsigned max_files;    /* -W: with -C, reuse names in a ring of this many;
				* with -G alone, stop after this many files */
	bool direct;           /* try O_DIRECT (falls back when the file system refuses) */
};

struct writer_result {
	uint64_t packets;      /* records in the files as closed */
	uint64_t bytes;        /* bytes in the files as closed */
	unsigned files;        /* files written (more than one with rotation) */
	uint64_t stalls;       /* times a worker waited for staging (the disk was behind) */
	uint64_t stall_ns;     /* total time workers waited */
	const char *backend;   /* "io_uring" or "pwrite" */
	bool direct;
	int error;             /* first write error (-errno), 0 if none */
};

struct writer;

/*
 * Create the file, write its header into the first slot, start the backend.
 * Called from main's set-up; returns 0 or -errno with one line logged. If
 * io_uring is refused, falls back to pwrite with a warning.
 */
int writer_open(struct writer **out, const struct writer_config *cfg);

/*
 * Append the records of `n` packets, in order. Any worker thread; may block
 * while the staging slots are full (that is the back-pressure that makes the
 * kernel drop and count, instead of anything being lost silently). Returns how
 * many were appended — fewer than n once max_packets is reached — or -errno
 * after a write error. The packet bytes are copied before it returns.
 */
int writer_append(struct writer *w, const struct pkt_view *pkts, unsigned n);

/* True once max_packets records have been appended. Any thread. */
bool writer_full(const struct writer *w);

/*
 * After every worker has stopped appending: write the partial last chunk, wait
 * for all writes, truncate the file to its true size (or to the last whole
 * record after an error), fsync, close. Fills *res; returns 0 or the first
 * write error.
 */
int writer_close(struct writer *w, struct writer_result *res);

#endif
