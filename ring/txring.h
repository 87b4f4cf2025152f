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
	/* 0: a ring the kernel has no memory for fails with -ENOMEM. Else the
	 * request is halved on ENOMEM (as netsniff-ng does) while it stays at or
	 * above this many frames; the ring's frame_nr says what it got, and one
	 * warning names the shrink. */
	uint32_t frame_nr_min;
	/* Raise SO_SNDBUF to the ring's size (SO_SNDBUFFORCE when CAP_NET_ADMIN
	 * allows, else SO_SNDBUF up to wmem_max), so the whole ring can be in
	 * flight: a device holds the skbs, charged to the socket, until TX
	 * completion. Best effort, never an error. */
	bool grow_sndbuf;
};

/* 0 or -errno, one line logged naming the call and the interface. frame_nr is
 * rounded down to whole blocks (16 frames per block, at least a page). */
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

/* Slot i (< frame_nr) of the ring: its V2 header and the data area that header
 * describes (the kernel's offset without PACKET_TX_HAS_OFF). */
static inline struct tpacket2_hdr *txring_slot(const struct txring *t, uint32_t i)
{
	return (struct tpacket2_hdr *)(t->map + (size_t)i * t->frame_size);
}

#define TXRING_DATA_OFF (TPACKET2_HDRLEN - sizeof(struct sockaddr_ll))

static inline uint8_t *txring_slot_data(const struct txring *t, uint32_t i)
{
	return (uint8_t *)txring_slot(t, i) + TXRING_DATA_OFF;
}

#endif
