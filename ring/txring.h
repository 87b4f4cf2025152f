/*
 * A send-only AF_PACKET socket with a TPACKET_V2 TX ring (V3 TX buys nothing:
 * the kernel accepts it only with the V2 field values). Bound with protocol 0,
 * so it never receives. Fill frames with txring_frame(), mark them with
 * txring_queue(), and send them all with one txring_kick().
 *
 * Threading: one owner thread.
 */
#ifndef RINGCAP_TXRING_H
#define RINGCAP_TXRING_H

#include <linux/if_packet.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct txring {
	int fd;
	uint8_t *map;
	size_t map_len;
	uint32_t frame_size;
	uint32_t frame_nr;
	uint32_t cur;
	uint32_t queued;  /* frames marked and not yet taken by the kernel */
};

struct iface;

struct txring_config {
	const struct iface *iface;  /* from iface_lookup */
	uint32_t frame_size;  /* power of two, >= TPACKET2_HDRLEN + largest frame */
	uint32_t frame_nr;
	bool qdisc_bypass;    /* PACKET_QDISC_BYPASS: faster, but other packet sockets miss it */
};

/* 0 or -errno, one line logged naming the call and the interface. */
int txring_open(struct txring *t, const struct txring_config *cfg);
void txring_close(struct txring *t);

/* The data area of the next frame, or NULL when the kernel still owns it (the
 * ring is full). Room: frame_size - data offset. */
uint8_t *txring_frame(struct txring *t);
/* Hand the frame from txring_frame() to the kernel with `len` bytes. */
void txring_queue(struct txring *t, uint32_t len);
/* One send() for everything queued. 0 or -errno (EAGAIN/ENOBUFS are not errors:
 * the frames stay queued and go with the next kick). */
int txring_kick(struct txring *t);

#endif
