/*
 * The TPACKET_V3 block iterator: walks the packets of one retired block and
 * refuses to read past it. Every offset and length in a packet header comes
 * from the kernel but is checked anyway: a header that lies stops the walk and
 * is counted, it is never followed. Included by ring.h; pure, no syscalls, so
 * unit tests feed it hand-built blocks.
 */
#ifndef RINGCAP_RING_BLOCK_H
#define RINGCAP_RING_BLOCK_H

#include <linux/if_packet.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One packet as the handlers see it: bytes still in the ring block. */
struct pkt_view {
	const uint8_t *data;  /* link-layer header onwards */
	uint32_t caplen;      /* bytes at data (tp_snaplen) */
	uint32_t len;         /* length on the wire (tp_len) */
	uint32_t sec;
	uint32_t nsec;
	uint16_t vlan_tci;    /* valid when vlan is set: tag stripped by the device */
	uint16_t vlan_tpid;
	bool vlan;
	/* Which of the capture's interfaces the packet came from (0: the first
	 * -i: the walk's `iface`) and its direction as pcapng's epb_flags say it
	 * (PKT_DIR_*: from the kernel's sockaddr_ll, UNKNOWN when the header
	 * leaves it no room). */
	uint8_t dir;
	uint16_t iface;
};

/* pcapng's epb_flags direction bits: not known, inbound, outbound. */
enum pkt_dir { PKT_DIR_UNKNOWN = 0, PKT_DIR_IN = 1, PKT_DIR_OUT = 2 };

struct block_iter {
	const uint8_t *base;
	uint32_t size;        /* bytes the block may span (the ring's block size) */
	uint32_t left;        /* packets the block header says remain */
	uint32_t off;         /* offset of the next packet header, 0 when done */
	bool lied;            /* a header pointed outside the block: walk stopped */
	uint16_t iface;       /* stamped on every packet (pkt_view.iface); init: 0 */
};

/* The kernel puts a struct sockaddr_ll right after the packet header
 * (TPACKET3_HDRLEN), before tp_mac; its sll_pkttype says the direction. */
#define BLOCK_PKTTYPE_OFF \
	(TPACKET_ALIGN(sizeof(struct tpacket3_hdr)) + offsetof(struct sockaddr_ll, sll_pkttype))

static inline void block_iter_init(struct block_iter *it, const struct tpacket_block_desc *b,
				   uint32_t block_size)
{
	const struct tpacket_hdr_v1 *h = &b->hdr.bh1;

	it->base = (const uint8_t *)b;
	it->size = block_size;
	it->left = h->num_pkts;
	it->off = h->offset_to_first_pkt;
	it->lied = false;
	it->iface = 0;
	if (!it->left)
		return;
	/* blk_len covers the header and every packet: anything outside
	 * [first packet header, block size] is a lie, and must not be used to
	 * compute a bound (it would wrap). */
	if (h->blk_len > block_size)
		goto lied;
	if (h->blk_len)
		it->size = h->blk_len;
	if (it->size < sizeof(struct tpacket_block_desc) + sizeof(struct tpacket3_hdr))
		goto lied;
	if (it->off < sizeof(struct tpacket_block_desc) ||
	    it->off > it->size - sizeof(struct tpacket3_hdr))
		goto lied;
	return;
lied:
	it->lied = true;
	it->left = 0;
}

/*
 * A look at a block the kernel may still be filling (the merge's watermark):
 * the timestamp in ns of its first packet. 1 with *ts_ns set; 0 while the
 * block holds no packet; -1 when the first packet's offset lies. Not a walk:
 * only the first header is read, with relaxed loads after an acquire load of
 * block_status, since the kernel may be writing the block meanwhile.
 */
static inline int block_peek_first_ns(const struct tpacket_block_desc *b, uint32_t block_size,
				      uint64_t *ts_ns)
{
	const struct tpacket_hdr_v1 *h = &b->hdr.bh1;
	const struct tpacket3_hdr *p;
	uint32_t off;

	__atomic_load_n(&h->block_status, __ATOMIC_ACQUIRE);
	if (__atomic_load_n(&h->num_pkts, __ATOMIC_RELAXED) == 0)
		return 0;
	off = __atomic_load_n(&h->offset_to_first_pkt, __ATOMIC_RELAXED);
	if (off < sizeof(*b) || off > block_size - sizeof(*p))
		return -1;
	p = (const struct tpacket3_hdr *)((const uint8_t *)b + off);
	*ts_ns = (uint64_t)__atomic_load_n(&p->tp_sec, __ATOMIC_RELAXED) * 1000000000ull +
		 __atomic_load_n(&p->tp_nsec, __ATOMIC_RELAXED);
	return 1;
}

/* Next packet of the block into *p; false at the end or when a header lies. */
static inline bool block_iter_next(struct block_iter *it, struct pkt_view *p)
{
	const struct tpacket3_hdr *h;
	uint32_t off = it->off, room;

	if (!it->left)
		return false;
	if (off > it->size - sizeof(*h) || (off & 3))
		goto lied;
	h = (const struct tpacket3_hdr *)(it->base + off);
	room = it->size - off;
	if (h->tp_mac < sizeof(*h) || h->tp_mac > room || h->tp_snaplen > room - h->tp_mac ||
	    h->tp_snaplen > h->tp_len)
		goto lied;
	it->left--;
	if (it->left) {
		/* more packets must follow at a forward offset inside the block */
		if (h->tp_next_offset < h->tp_mac + h->tp_snaplen || h->tp_next_offset > room)
			goto lied;
		it->off = off + h->tp_next_offset;
	}
	/* The kernel filled this block from another CPU: start fetching the
	 * bytes a few packets ahead (a hint; never dereferenced). */
	if (off + 1024 < it->size)
		__builtin_prefetch(it->base + off + 1024);
	p->data = (const uint8_t *)h + h->tp_mac;
	p->caplen = h->tp_snaplen;
	p->len = h->tp_len;
	p->sec = h->tp_sec;
	p->nsec = h->tp_nsec;
	p->vlan = (h->tp_status & TP_STATUS_VLAN_VALID) != 0;
	p->vlan_tci = h->hv1.tp_vlan_tci;
	p->vlan_tpid = (h->tp_status & TP_STATUS_VLAN_TPID_VALID) ? h->hv1.tp_vlan_tpid : 0x8100;
	/* One byte load, inside [header, tp_mac) which lies inside the block. */
	p->dir = h->tp_mac <= BLOCK_PKTTYPE_OFF ? PKT_DIR_UNKNOWN
		 : ((const uint8_t *)h)[BLOCK_PKTTYPE_OFF] == PACKET_OUTGOING ? PKT_DIR_OUT
		 : PKT_DIR_IN;
	p->iface = it->iface;
	return true;
lied:
	it->lied = true;
	it->left = 0;
	return false;
}

#endif
