/* Private to read/: one input file's state, shared by source.c and merge.c. */
#ifndef RINGCAP_READ_IMPL_H
#define RINGCAP_READ_IMPL_H

#include "read/read.h"
#include "zfile/zfile.h"

struct chunk_buf;

/* One record held back for the merge; its bytes live in a chunk_buf. */
struct rec {
	uint64_t ts;               /* ns since the epoch */
	uint64_t seq;              /* file offset: keeps equal times in file order */
	uint32_t caplen, len;
	const uint8_t *data;
	struct chunk_buf *cb;
};

/* The matching records of one chunk; freed when the last is written. */
struct chunk_buf {
	uint32_t live;
	size_t bytes;
	struct rec *recs;
	uint8_t *data;
};

/* A file range whose records were already taken (kept or dropped). */
struct done_range {
	uint64_t off, end;
};

struct read_source {
	char *path;
	int fd;                    /* -1 while the merge does not need it */
	enum zfile_kind kind;      /* compressed (.zst, .gz): read through z */
	struct zfile *z;           /* while attached, for a compressed file */
	uint64_t dev, ino;         /* the file opened first: a reopen must find it */
	struct pcap_file_info fi;
	uint64_t size;
	struct index ix;
	uint32_t *sel;             /* chunks the window and the addresses leave, in file order */
	uint64_t *future;          /* future[i]: smallest timestamp of chunks sel[i..] */
	uint32_t nsel, next;
	struct rec **heap;         /* held records, oldest on top */
	uint32_t nheap, cap;
	bool opened;               /* counted in files_opened */
	bool rescanned;            /* the index lied: rebuilt from the file once */
	struct done_range *done;   /* after a rescan: chunks read before it, in file order */
	uint32_t ndone;
};

/* Open the source's file again if it is closed: the same file (device and
 * inode) as read_source_open found, without following a link or waiting on a
 * FIFO. 0, -ESTALE (replaced since) or -errno. Blocks. */
int read_source_attach(struct read_source *s);
/* Give its descriptor back (its held records stay). */
void read_source_detach(struct read_source *s);

/* Read the next chosen chunk (the source attached); its matching records go
 * on the source's heap. *held grows by the bytes kept. A record that
 * contradicts its chunk's entry (a time outside its range, an address not in
 * its summary) makes the index a liar: said once, the index is rebuilt from
 * the file and the chunks not read yet are chosen again from it. A chunk
 * shorter or longer than its entry after that ends the file with a warning. */
void read_source_load_next(struct read_source *s, const struct read_query *q, struct read_stats *st,
			   uint64_t *held);
/* Take the oldest held record off the heap (NULL if none). */
struct rec *read_source_pop(struct read_source *s);
/* Done with a popped record; *held shrinks when its chunk_buf is freed. */
void read_rec_release(struct rec *r, uint64_t *held);

#endif
