/*
 * writer — standard pcap savefiles (or pcapng), written through io_uring (or
 * pwrite).
 *
 * One writer per capture, fed by exactly one appending thread: the single
 * worker, or the time-order merge's merger thread when there are several
 * (merge/merge.h). The file is a byte stream cut into fixed, aligned chunks
 * that live in a ring of page-aligned staging slots (registered with io_uring,
 * so O_DIRECT writes need no copy):
 *
 *   appender: wait until the slots under a block's records are free → copy
 *           the records in (no lock: only it writes there) → publish the new
 *           end → hand each chunk it completed to the backend.
 *   backend: writes chunk k at offset k * chunk_size; completions release slots
 *           strictly in file order, so a slot is reused only when every byte
 *           before it is on disk.
 *
 * Crash safety: preallocation (fallocate FALLOC_FL_KEEP_SIZE) never changes
 * the file's size, full chunks go out with O_DIRECT, and every partial chunk
 * (a file's last, and the live flushes) through a second, buffered descriptor
 * with its exact length, never padded. So at any moment (after SIGKILL too)
 * the file is a header and whole records, with at most one torn record at its
 * end where a full chunk's write ended mid-record; never zeros.
 *
 * Live files: writer_flush() writes the whole records of the chunk being
 * filled, once every chunk before it is on disk, so a reader of the live file
 * sees what is older than the flush interval. The full chunk's write later
 * rewrites those bytes (identical) from its aligned start; the flush and that
 * write never overlap in time, and a slot is not released while a flush reads it.
 *
 * A stream ("-" = standard output) is written strictly in order, each byte
 * once: write(2) in chunk order by the one thread that hands chunks on, the
 * flushed prefix of a chunk skipped by its full write; no O_DIRECT, fallocate
 * or ftruncate.
 *
 * Rotation (-C, -G, writer_rotate_request) ends a file at a block's boundary
 * and starts the next one on the next chunk boundary of the stream, so every
 * write stays aligned; each file is truncated and closed once its last chunk
 * is on disk. Files are created with O_NOFOLLOW: a symbolic link planted at a
 * name is refused, never followed. With -C, a next name that exists and is
 * not a regular file (a link, FIFO, directory, ...), or without -W one that
 * holds records, is skipped with one line and the name after it taken. If
 * the next file cannot be created, the writer stops taking packets and the
 * current file keeps every record appended so far. On a write error (a full
 * disk) the writer stops taking packets and close() truncates the file to
 * the last whole record that is on disk: what was captured before stays
 * readable; what was staged past it, and every packet offered after the
 * error, is counted as unwritten (as with on_full_wait). A file the disk
 * filled before even its header was on it holds nothing and is removed (one
 * line), never left as bytes no reader takes.
 *
 * An earlier run's files (a restart after a crash) are never truncated while
 * they hold records: writer_open starts -C numbering after the highest
 * existing name (with -W, after the newest one by mtime: the ring then goes
 * on over the oldest), saying so in one line; a name without numbering (a
 * plain -w, or -G without -C) that holds records is refused (-EEXIST, one
 * line). An empty or header-only file is reused.
 *
 * Preallocation goes ahead in steps of cfg.prealloc_step (256 MiB when 0,
 * never more than -C's size), so a file occupies at most one step more than
 * its bytes while it is written.
 *
 * Waiting for space (cfg.on_full_wait, regular files only): after ENOSPC,
 * EDQUOT or EIO the writer does not fail. Appends go on returning at once,
 * their packets counted as unwritten; writer_resume (main's tick) waits until
 * no write is in flight, closes the files at their last whole record on disk
 * (what was staged past it is counted as unwritten too), and then, at most
 * once a second, tries the next file: created and a few chunks preallocated
 * for real, or removed again while there is no room. Once that succeeds the
 * stream starts over in it, on a fresh chunk.
 *
 * Compression (cfg.compress_level, --compress zstd[:LEVEL]): every file is
 * named FILE.zst (the name it would have, -C/-G/-W numbering included, with
 * ".zst" after it) and holds a zstd stream of independent frames (RFC 8878):
 * one frame per staging chunk of the uncompressed stream, so frames tile the
 * pcap byte stream in order, the first starting with the pcap file header
 * and none crossing a chunk boundary; a record may straddle two frames.
 * Every frame has Frame_Content_Size, no checksum and no dictionary, so a
 * reader maps an uncompressed offset to its frame by walking frame headers.
 * A frame is compressed (ZSTD_compress2) by a pool of cfg.compress_threads
 * threads, never by the appending thread; a chunk the pool has no time for
 * (its queue full, or the chunk waiting 100 ms) is stored as a frame of raw
 * blocks instead and counted (writer_compress_counters). Frames are written
 * buffered, in file order, each after the last (no O_DIRECT, no
 * preallocation). A live flush writes the chunk-so-far as a frame of its own
 * (compressed by main; raw from the appending thread with -U), and the
 * chunk's own frame later holds only what follows it, so a chunk may be
 * several frames and no compressed byte is written twice. Crash safety
 * holds frame by frame: after SIGKILL the file is whole frames with at most
 * a torn last one; a write error stops the file's frames, and close
 * truncates it to the end of its last whole frame (whose stream may end
 * inside a record). Sizes: writer_bytes, writer_current_path, file_closed
 * and writer_result.bytes count the compressed bytes on disk; -C's size is
 * the uncompressed stream's. An earlier run's FILE.zst holds records if it
 * is not empty. The index (cfg.index) is written beside FILE.zst
 * (index_path_for(FILE.zst)) with INDEX_F_COMPRESSED: its offsets are those
 * of the uncompressed stream, its identity (size, mtime, device, inode,
 * ctime, CRCs) that of FILE.zst on disk. A stream ("-") is the same frames
 * on standard output.
 *
 * Threads (the contract):
 *   - writer_append: ONE appending thread at a time. It may change hands only
 *     with a happens-before between the two (the first thread joined before
 *     the second starts). Two threads appending at once is a bug (an
 *     assertion catches a second one while the first is copying).
 *   - writer_flush: main (every flush interval) and, with -U, the appending
 *     thread after each append; flushes run one at a time.
 *   - writer_resume, writer_rotate_request, writer_open, writer_close,
 *     writer_discard: main. writer_close only after the appending thread has
 *     stopped for good.
 *   - writer_full, writer_bytes, writer_current_path, writer_unwritten,
 *     writer_compress_counters: any thread (stats readers).
 *   - Inside the writer: with io_uring, a reaper thread takes completions;
 *     with compression, the pool's threads compress and write frames;
 *     writer_impl.h lists every lock and atomic and what it protects.
 *
 * Hooks, each outside the writer's lock but the first and the last:
 *   - file opened: with cfg.index, the thread that creates a file (main in
 *     writer_open and writer_resume, the appending thread when it rotates),
 *     under the writer's lock, makes its index builder (pcapng: fed the
 *     prologue's SHB and IDBs; memory only, no I/O).
 *   - records staged: with cfg.index, the appending thread gives the current
 *     file's index builder (index/index.h) each append's records, after they
 *     are copied into staging and before they are handed on.
 *   - file closed: once a file is closed at its true size, the thread that
 *     closed it writes its index (cfg.index; not after an error cut it) and
 *     then calls cfg.file_closed. That thread is the io_uring reaper, the
 *     appending thread (pwrite, stream), a compression thread or the thread
 *     that wrote a frame (zstd), or main (writer_flush, writer_resume,
 *     writer_close); one at a time, files in the order they were written.
 *   - interface counters (pcapng): cfg.iface_stats, under the writer's lock,
 *     by the appending thread when it rotates and by main in writer_close,
 *     for the ISBs that end the file.
 *
 * Ownership: the writer copies packet bytes before writer_append returns; it
 * owns its files, staging memory and backend until writer_close/discard.
 *
 * pcapng (cfg.format WRITER_PCAPNG): each file begins with a prologue, a
 * Section Header Block and one Interface Description Block per cfg.ifaces
 * (one from cfg.linktype and cfg.snaplen when there are none), in place of
 * pcap's 24-byte header; each packet is an Enhanced Packet Block with
 * interface id pkt_view.iface (which must be below nifaces: it is not
 * checked per packet) and epb_flags from pkt_view.dir when that is known.
 * Every guarantee above holds with "block" for "record": crash safety (at
 * most one torn block at the end), live flushes and -U (whole blocks), the
 * stream, rotation (every file starts with the whole prologue), the restart
 * rules (a file is "header-only" when it holds nothing past its prologue),
 * on_full_wait and the cut after an error (at the last whole block). A file
 * that is closed whole (rotation, writer_close; not one cut after an error)
 * ends with an Interface Statistics Block per interface whose counters
 * cfg.iface_stats gives. With cfg.index a pcapng file gets its index as a
 * pcap file does (index/index.h, version 4), fed what ringcap-read's walk of
 * the file would feed it: the prologue's SHB and IDBs, each EPB as it lies in
 * staging (the bytes the file holds: the VLAN tag put back, the cut at
 * snaplen) with its interface's link type, and the ISBs at its end; so it is
 * the index ringcap-read would build, and ringcap-read takes it as fresh.
 *
 * The bytes of the format are format/format.h's (writer/pcap.h makes a packet a
 * record or an EPB); this header is the writer's API.
 */
#ifndef RINGCAP_WRITER_H
#define RINGCAP_WRITER_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ring/block.h"

enum writer_backend { WRITER_URING, WRITER_PWRITE };
enum writer_format { WRITER_PCAP = 0, WRITER_PCAPNG };

/* One capture interface, as a pcapng file describes it (an IDB each). */
struct writer_iface {
	const char *name;        /* pcapng if_name */
	const char *description; /* if_description; NULL: none */
	uint32_t linktype;       /* LINKTYPE_* */
	uint32_t snaplen;
};

struct writer_config {
	const char *path;      /* "-": standard output, written as a stream */
	uint32_t snaplen;
	bool nano;
	uint32_t linktype;     /* LINKTYPE_* in the file header; 0: Ethernet */
	enum writer_backend backend;
	uint32_t chunk_size;   /* bytes per staging slot, multiple of 4096 */
	uint32_t nchunks;      /* slots; together they must hold at least two blocks */
	uint64_t max_packets;  /* 0: no limit (-c) */
	uint64_t rotate_bytes; /* -C: start a new file before one would pass this size */
	uint64_t rotate_ns;    /* -G: start a new file when the current one is this old */
	unsigned max_files;    /* -W: with -C, reuse names in a ring of this many;
				* with -G alone, stop after this many files */
	bool direct;           /* try O_DIRECT (falls back when the file system refuses) */
	bool flush_each_append; /* -U: writer_flush at the end of every append */
	bool on_full_wait;     /* ENOSPC/EDQUOT/EIO: count and wait for space (above) */
	uint64_t prealloc_step; /* bytes reserved ahead of the writes at a time;
				 * 0: 256 MiB (rounded up to chunk_size) */
	bool index;            /* write ringcap-read's index (.NAME.ridx) beside each
				* regular file when it is closed (index/index.h);
				* pcap and pcapng */
	bool index_postings;   /* with index: per-packet postings too (ringcap's
				* default; without: index_builder_without_postings) */
	int compress_level;    /* 0: plain pcap; 1..19: zstd frames (Compression) */
	unsigned compress_threads; /* with compress_level: the pool's threads (1..8);
				    * 0: no pool, every chunk a raw frame (tests) */
	/* Called once per file after it is closed at its true size (error: 0, or
	 * the -errno that cut it short), from the thread that closed it (above:
	 * Hooks), without the writer's lock: it may call writer_bytes and the
	 * other readers. Should not block for long: a completion waits for it. */
	void (*file_closed)(void *ctx, const char *path, uint64_t size, int error);
	void *hook_ctx;
	/* The file's format (pcapng: see "pcapng" above). */
	enum writer_format format;
	const struct writer_iface *ifaces; /* one per capture interface, in -i order */
	unsigned nifaces;
	/* pcapng's SHB options: shb_hardware (the CPU model) and shb_userappl
	 * ("ringcap 0.1.0"); NULL: left out. The writer adds shb_os (uname). */
	const char *hardware;
	const char *userappl;
	/* pcapng: interface `iface`'s kernel counters since the capture began,
	 * for the ISB written at the end of each file (rotation and close):
	 * packets received (those dropped included) and dropped. Returns 0, or
	 * < 0 when they are not known (then that interface gets no ISB). Called
	 * with the writer's lock held, by the appending thread (rotation) or
	 * main (writer_close): it must return at once, without blocking or
	 * calling the writer. NULL: no ISB. Gets hook_ctx. */
	int (*iface_stats)(void *ctx, unsigned iface, uint64_t *recv, uint64_t *drop);
};

/* Compression's counters (all zero without it). A chunk is stored as one
 * compressed frame, or as a raw frame when the pool was behind; the live
 * flushes' pieces are frames too (compressed from main, raw with -U) and
 * count in chunks (compressed) or in neither (-U's raw pieces), but always
 * in the bytes. */
struct writer_compress_counters {
	uint64_t chunks;       /* frames compressed */
	uint64_t raw_chunks;   /* chunks stored raw: the pool was behind */
	uint64_t bytes_in;     /* uncompressed bytes in every frame written */
	uint64_t bytes_out;    /* frame bytes written */
};

struct writer_result {
	uint64_t packets;      /* records in the files as closed */
	uint64_t bytes;        /* bytes in the files as closed */
	unsigned files;        /* files written (more than one with rotation) */
	uint64_t stalls;       /* times the appender waited for staging (the disk was behind) */
	uint64_t stall_ns;     /* total time it waited */
	const char *backend;   /* "io_uring", "pwrite", "stream" or "zstd" */
	bool direct;
	uint64_t unwritten_packets; /* packets no file got: on_full_wait's, or those
				     * staged or offered after a write error */
	uint64_t unwritten_bytes;   /* and their record bytes (header + captured) */
	unsigned full_events;  /* on_full_wait: times the disk was found full */
	int error;             /* first error (-errno), 0 if none */
	bool create_failed;    /* error: the next file (error_path) could not be created */
	char error_path[PATH_MAX]; /* the file the error is about (as named on disk) */
	struct writer_compress_counters compress;
};

struct writer;

/*
 * Create the file, write its header into the first slot, start the backend.
 * Called from main's set-up; returns 0 or -errno with one line logged. If
 * io_uring is refused, falls back to pwrite with a warning. The writer is
 * the caller's until writer_close or writer_discard.
 */
int writer_open(struct writer **out, const struct writer_config *cfg);

/*
 * Append the records of `n` packets, in order. The one appending thread (see
 * Threads); may block while the staging slots are full (that is the
 * back-pressure that makes the kernel drop and count, instead of anything
 * being lost silently), and for one write(2) per completed chunk with the
 * pwrite or stream backend. Returns how many were appended — fewer than n
 * once max_packets is reached, 0 while on_full_wait waits for space — or
 * -errno after a write error. The packet bytes are copied before it returns.
 */
int writer_append(struct writer *w, const struct pkt_view *pkts, unsigned n);

/* True once max_packets records have been appended. Any thread. */
bool writer_full(const struct writer *w);

/* Bytes in the files so far, closed ones and open ones (what is staged in
 * them, on disk or not yet): for reports and retention while the capture
 * runs. Any thread; takes the writer's lock for a moment. */
uint64_t writer_bytes(struct writer *w);
/* The name of the file being written now, in out; returns its bytes so far
 * (staged: on disk or about to be). Any thread. */
uint64_t writer_current_path(struct writer *w, char *out, size_t len);

/* "zstd" or "zstd:LEVEL" (LEVEL 1..19; "zstd" is level 1), as --compress
 * takes it: the level into *level. 0 or -EINVAL. Pure, any thread. */
int writer_parse_compress(const char *arg, int *level);

/* Compression's counters so far. Any thread; takes the pool's lock for a
 * moment. */
void writer_compress_counters(struct writer *w, struct writer_compress_counters *out);

/* on_full_wait's counters so far (zeros otherwise); true while waiting for
 * space. Any thread; takes the writer's lock for a moment. */
bool writer_unwritten(struct writer *w, uint64_t *packets, uint64_t *bytes, unsigned *events);

/*
 * on_full_wait: after a full disk, close the files once no append is copying
 * and no write, flush or close is in progress and, when there is room again,
 * start the next file (see above). Main thread, every tick; blocks for a few
 * syscalls (the close's fsync) at most. Returns 0 when the writer is
 * writing (resumed, or never stopped), -EAGAIN while it waits for space, or
 * the writer's error when that is not one it waits out.
 */
int writer_resume(struct writer *w);

/*
 * Write out the whole records of the chunk being filled (what the appender
 * has published), if every chunk before it is on disk. Main, or the appending
 * thread (-U); calls are serialised; blocks for one write(2) of at most a
 * chunk (and for another flush's). Returns 0 (done, or nothing new), -EAGAIN
 * (not now: an earlier chunk is in flight, or this one is full and its own
 * write is on the way; call again soon) or the writer's error (-errno). main
 * calls it every flush interval; with -U, writer_append calls it after each
 * append.
 */
int writer_flush(struct writer *w);

/* Ask for a new file: the next append starts the next file (-C/-G naming).
 * Any thread, never blocks (a signal's work, e.g. SIGHUP). */
void writer_rotate_request(struct writer *w);

/*
 * Main, after the appending thread has stopped: write the partial last chunk,
 * wait for all writes, truncate the file to its true size (or to the last
 * whole record after an error), fsync, close, and free the writer. Fills
 * *res; returns 0 or the first write error.
 */
int writer_close(struct writer *w, struct writer_result *res);

/* Set-up failed after writer_open: stop, close and remove every file the
 * writer created (a stream is only closed). Main thread, no appends running. */
void writer_discard(struct writer *w);

#endif
