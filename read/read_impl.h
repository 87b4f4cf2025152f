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
	uint32_t iface;            /* its interface in the run's table */
	uint32_t flags;            /* pcapng epb_flags, 0 when none */
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

/* An SHB or IDB of a pcapng file, read once when the file is prepared. */
struct sblock {
	uint64_t off;
	uint32_t len;
	uint8_t *bytes;
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
	bool pcapng;               /* its first bytes are an SHB's */
	uint8_t head[PCAP_FILE_HEADER_LEN];  /* its first 24 bytes */
	uint32_t gid;              /* pcap: its records' interface in the run's table */
	struct sblock *sb;         /* pcapng: its SHBs and IDBs, as its index lists them */
	uint32_t nsb;
	uint32_t nifaces;          /* distinct interfaces of the run's table it has */
	struct read_ifaces own_ifaces;  /* the table when the query brings none */
};

/* Read the SHBs and IDBs the source's index lists (the source attached) and
 * add their interfaces to `t`. 0, -EBADMSG (one is not what the index says)
 * or -errno. Blocks. */
int read_source_load_sblocks(struct read_source *s, struct read_ifaces *t);
void read_source_free_sblocks(struct read_source *s);

/* ------------------------------------------------------------- walk.c */

/* One record of a chunk, whatever the file's kind. */
struct wrec {
	uint64_t off;              /* file offset of its record header or block */
	uint32_t size;             /* bytes of the record or block */
	uint64_t ts;               /* ns since the epoch */
	uint32_t caplen, len, linktype, iface, flags;
	const uint8_t *data;
};

/* The walk of a chunk's bytes, or the parse of records at offsets. */
struct walk {
	struct read_source *s;
	struct read_ifaces *ifaces;
	struct pcap_rec_iter pit;
	struct pcapng_iter nit;
	struct pcapng_section *sec;      /* pcapng: the section in force */
	uint32_t sb_next;                /* SHBs and IDBs taken from s->sb */
	uint32_t gmap[PCAPNG_MAX_IFACES];  /* interface of the section -> run's id */
};

/* Walk buf[0, len), the file's bytes from `base` (a record's start). Pure
 * but for allocation (walk_done frees). */
void walk_init(struct walk *w, struct read_source *s, struct read_ifaces *t, const uint8_t *buf, size_t len,
	       uint64_t base);
/* The next whole record; false at the end or where the bytes lie. */
bool walk_next(struct walk *w, struct wrec *r);
/* Bytes of buf walked. */
size_t walk_off(const struct walk *w);
void walk_done(struct walk *w);
/* Records at offsets instead (walk_init with no bytes, then ascending
 * offsets): bytes the record's size is read from; the section brought up to
 * `off`; the record's size from its first walk_head_len bytes (0: they lie);
 * the record of `size` bytes at p parsed (0 or -EBADMSG). */
uint32_t walk_head_len(const struct walk *w);
void walk_seek(struct walk *w, uint64_t off);
uint64_t walk_size(const struct walk *w, const uint8_t *p);
int walk_parse_at(struct walk *w, const uint8_t *p, size_t size, uint64_t off, struct wrec *r);

/* Open the source's file again if it is closed: the same file (device and
 * inode) as read_source_open found, without following a link or waiting on a
 * FIFO. 0, -ESTALE (replaced since) or -errno. Blocks. */
int read_source_attach(struct read_source *s);
/* Bytes of the capture (uncompressed, for a compressed file) at `off`, until
 * `len` or the end, the source attached: bytes read, or -errno. Blocks. */
ssize_t read_source_pread(const struct read_source *s, uint8_t *buf, size_t len, uint64_t off);
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
