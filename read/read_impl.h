/* Private to read/: one input file's state, shared by source.c and merge.c. */
#ifndef RINGCAP_READ_IMPL_H
#define RINGCAP_READ_IMPL_H

#include "read/read.h"

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

struct read_source {
	char *path;
	int fd;
	struct pcap_file_info fi;
	uint64_t size;
	struct index ix;
	uint32_t *sel;             /* chunks the window and the addresses leave, in file order */
	uint64_t *future;          /* future[i]: smallest timestamp of chunks sel[i..] */
	uint32_t nsel, next;
	struct rec **heap;         /* held records, oldest on top */
	uint32_t nheap, cap;
	bool opened;               /* counted in files_opened */
};

/* Read the next chosen chunk; its matching records go on the source's heap.
 * *held grows by the bytes kept. 0 (a lying chunk ends the file with a
 * warning, it is not an error). */
void read_source_load_next(struct read_source *s, const struct read_query *q, struct read_stats *st,
			   uint64_t *held);
/* Take the oldest held record off the heap (NULL if none). */
struct rec *read_source_pop(struct read_source *s);
/* Done with a popped record; *held shrinks when its chunk_buf is freed. */
void read_rec_release(struct rec *r, uint64_t *held);

#endif
