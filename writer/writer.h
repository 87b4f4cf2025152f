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
 * aligned; each file is truncated and closed once its last chunk is on disk. On a write error (a full disk) the writer stops taking packets and
 * close() truncates the file to the last whole record that is on disk: what was
 * captured before stays readable.
 */
#ifndef RINGCAP_WRITER_H
#define RINGCAP_WRITER_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "ring/ring.h"

#define PCAP_MAGIC_MICRO 0xa1b2c3d4u
#define PCAP_MAGIC_NANO  0xa1b23c4du
#define PCAP_LINKTYPE_ETHERNET 1
#define PCAP_FILE_HEADER_LEN 24
#define PCAP_RECORD_HEADER_LEN 16
#define VLAN_TAG_LEN 4

/* ---------------------------------------------------------------- pcap.c */
void pcap_file_header_encode(uint8_t out[PCAP_FILE_HEADER_LEN], uint32_t snaplen, bool nano);

/* Bytes the packet takes in the file: record header plus data, with the VLAN
 * tag the device stripped put back (as libpcap does), cut at snaplen. */
static inline uint32_t pcap_record_caplen(const struct pkt_view *p, uint32_t snaplen)
{
	uint32_t caplen = p->caplen;

	if (p->vlan && caplen >= 12)
		caplen += VLAN_TAG_LEN;
	return caplen < snaplen ? caplen : snaplen;
}

struct pcap_record_header {
	uint32_t ts_sec;
	uint32_t ts_frac;
	uint32_t caplen;
	uint32_t len;
};

/* Copy a packet's bytes. Most captured packets are short, and a call into
 * libc's memmove for each costs more than the copy: up to 128 bytes move in
 * 16-byte steps, the last step overlapping the one before instead of running
 * past the end (the bytes after the record may belong to another worker). */
static inline void copy_packet_bytes(uint8_t *d, const uint8_t *s, uint32_t n)
{
	if (n > 128) {
		memcpy(d, s, n);
	} else if (n >= 16) {
		for (uint32_t i = 0; i + 16 < n; i += 16)
			memcpy(d + i, s + i, 16);
		memcpy(d + n - 16, s + n - 16, 16);
	} else if (n >= 8) {
		memcpy(d, s, 8);
		memcpy(d + n - 8, s + n - 8, 8);
	} else {
		for (uint32_t i = 0; i < n; i++)
			d[i] = s[i];
	}
}

/* Encode one record (header + data) into `out`, which has room for
 * PCAP_RECORD_HEADER_LEN + pcap_record_caplen() bytes. Returns bytes written.
 * Inline: it runs once per packet in the writer's copy loop. */
static inline uint32_t pcap_record_encode(uint8_t *out, const struct pkt_view *p, uint32_t snaplen, bool nano)
{
	struct pcap_record_header h;
	uint32_t caplen = pcap_record_caplen(p, snaplen);
	uint8_t *d = out + sizeof(h);

	h.ts_sec = p->sec;
	h.ts_frac = nano ? p->nsec : p->nsec / 1000;
	h.caplen = caplen;
	h.len = p->len + (p->vlan && p->caplen >= 12 ? VLAN_TAG_LEN : 0);
	memcpy(out, &h, sizeof(h));

	if (p->vlan && p->caplen >= 12) {
		/* Put back the 802.1Q tag the device moved into tp_vlan_tci. */
		uint8_t tag[VLAN_TAG_LEN] = { p->vlan_tpid >> 8, p->vlan_tpid & 0xff,
					      p->vlan_tci >> 8, p->vlan_tci & 0xff };
		uint32_t rest = caplen > 12 ? caplen - 12 : 0;

		memcpy(d, p->data, caplen < 12 ? caplen : 12);
		if (rest) {
			uint32_t t = rest < VLAN_TAG_LEN ? rest : VLAN_TAG_LEN;
			memcpy(d + 12, tag, t);
			if (rest > t)
				memcpy(d + 12 + t, p->data + 12, rest - t);
		}
	} else {
		copy_packet_bytes(d, p->data, caplen);
	}
	return (uint32_t)sizeof(h) + caplen;
}


/* -------------------------------------------------------------- writer.c */
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
