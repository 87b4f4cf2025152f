/*
 * The records of a chunk, whatever the file's kind: a pcap file's records
 * (format/'s record iterator), or a pcapng file's packet blocks (its block
 * walk), each with its time in ns, its link type and its interface in the
 * run's table. A pcapng chunk is walked with the section in force at its
 * start, rebuilt from the SHBs and IDBs its index lists (read once, when the
 * file is prepared); the SHBs and IDBs inside the chunk are taken as the walk
 * meets them.
 */
#include <errno.h>
#include <string.h>

#include "read/read_impl.h"
#include "util/util.h"

/* ---------------------------------------------- the SHBs and IDBs of a file */

static bool fine_ts(const struct pcapng_iface *f)
{
	return f->tsres_pow2 ? f->tsres_exp > 19 : f->tsres_exp > 6;
}

int read_source_load_sblocks(struct read_source *s, struct read_ifaces *t)
{
	struct pcapng_section *sec = xcalloc(1, sizeof(*sec));
	uint32_t *ids = xcalloc(s->ix.nsblocks + 1, sizeof(*ids)), nids = 0;
	int ret = 0;

	read_source_free_sblocks(s);
	s->sb = xcalloc(s->ix.nsblocks + 1, sizeof(*s->sb));
	for (uint32_t i = 0; i < s->ix.nsblocks; i++) {
		const struct index_sblock *k = &s->ix.sblocks[i];
		uint8_t *b = xcalloc(1, k->len);
		ssize_t n = read_source_pread(s, b, k->len, k->off);

		s->sb[s->nsb++] = (struct sblock){ k->off, k->len, b };
		if (n != (ssize_t)k->len) {
			ret = n < 0 ? (int)n : -EBADMSG;
			goto out_free;
		}
		/* an IDB that lies was counted when the file was indexed */
		if (pcapng_section_take(sec, b, k->len) == FORMAT_OK && k->type == PCAPNG_BT_IDB &&
		    sec->nifaces <= PCAPNG_MAX_IFACES) {
			const struct pcapng_iface *f = &sec->iface[sec->nifaces - 1];
			uint32_t id = read_ifaces_id(t, f->name, f->linktype, f->snaplen, fine_ts(f));
			bool seen = false;

			for (uint32_t j = 0; j < nids; j++)
				seen |= ids[j] == id;
			if (!seen)
				ids[nids++] = id;
		}
		if (k->type == PCAPNG_BT_SHB && !sec->valid) {
			ret = -EBADMSG;
			goto out_free;
		}
	}
	s->nifaces = nids;
out_free:
	xfree(ids);
	xfree(sec);
	return ret;
}

void read_source_free_sblocks(struct read_source *s)
{
	for (uint32_t i = 0; i < s->nsb; i++)
		xfree(s->sb[i].bytes);
	xfree(s->sb);
	s->sb = NULL;
	s->nsb = 0;
}

/* ------------------------------------------------------------ the walk */

/* The section took an IDB: its interface's id in the run's table. */
static void map_new_iface(struct walk *w)
{
	const struct pcapng_section *sec = w->sec;
	uint32_t i = sec->nifaces - 1;

	if (!sec->nifaces || i >= PCAPNG_MAX_IFACES || !sec->iface[i].usable)
		return;
	w->gmap[i] = read_ifaces_id(w->ifaces, sec->iface[i].name, sec->iface[i].linktype, sec->iface[i].snaplen,
				    fine_ts(&sec->iface[i]));
}

/* Take the file's SHBs and IDBs that start before `off` and are not taken yet. */
static void advance_to(struct walk *w, uint64_t off)
{
	const struct read_source *s = w->s;

	while (w->sb_next < s->nsb && s->sb[w->sb_next].off < off) {
		const struct sblock *k = &s->sb[w->sb_next++];
		uint32_t before = w->sec->nifaces;

		pcapng_section_take(w->sec, k->bytes, k->len);
		if (w->sec->nifaces > before)
			map_new_iface(w);
	}
}

void walk_init(struct walk *w, struct read_source *s, struct read_ifaces *t, const uint8_t *buf, size_t len,
	       uint64_t base)
{
	memset(w, 0, sizeof(*w));
	w->s = s;
	w->ifaces = t;
	if (!s->ix.pcapng) {
		pcap_rec_iter_init(&w->pit, &s->fi, buf, len, base);
		return;
	}
	w->sec = xcalloc(1, sizeof(*w->sec));
	advance_to(w, base);
	pcapng_iter_init(&w->nit, w->sec, buf, len, base);
}

void walk_done(struct walk *w)
{
	xfree(w->sec);
	w->sec = NULL;
}

/* A pcapng packet the block walk found, as a record. */
static void from_ng(struct walk *w, const struct pcapng_rec *n, struct wrec *r)
{
	*r = (struct wrec){ .off = n->off, .size = n->block_len, .ts = n->ts_ns, .caplen = n->pkt.caplen,
			    .len = n->pkt.len, .linktype = n->ifc->linktype, .iface = w->gmap[n->pkt.iface],
			    .flags = n->pkt.flags, .data = n->pkt.data };
}

bool walk_next(struct walk *w, struct wrec *r)
{
	struct pcapng_rec n;

	if (!w->s->ix.pcapng) {
		struct pcap_rec p;

		if (!pcap_rec_iter_next(&w->pit, &p, &r->data, &r->off))
			return false;
		r->size = PCAP_RECORD_HEADER_LEN + p.caplen;
		r->ts = pcap_ts_ns(&w->s->fi, p.ts_sec, p.ts_frac);
		r->caplen = p.caplen;
		r->len = p.len;
		r->linktype = w->s->fi.linktype;
		r->iface = w->s->gid;
		r->flags = 0;
		return true;
	}
	while (pcapng_iter_next(&w->nit, &n)) {
		if (n.block_type == PCAPNG_BT_IDB) {
			map_new_iface(w);
			continue;
		}
		if (n.block_type == PCAPNG_BT_SHB)
			continue;
		from_ng(w, &n, r);
		return true;
	}
	return false;
}

size_t walk_off(const struct walk *w)
{
	return w->s->ix.pcapng ? w->nit.off : w->pit.off;
}

/* ------------------------------------------------ a record at an offset */

uint32_t walk_head_len(const struct walk *w)
{
	return w->s->ix.pcapng ? 8 : PCAP_RECORD_HEADER_LEN;
}

void walk_seek(struct walk *w, uint64_t off)
{
	if (w->s->ix.pcapng)
		advance_to(w, off);
}

uint64_t walk_size(const struct walk *w, const uint8_t *p)
{
	uint32_t total;

	if (!w->s->ix.pcapng) {
		struct pcap_rec r;

		if (pcap_rec_header_parse(&w->s->fi, p, PCAP_RECORD_HEADER_LEN, &r) != PCAP_REC_OK)
			return 0;
		return PCAP_RECORD_HEADER_LEN + (uint64_t)r.caplen;
	}
	if (!w->sec->valid)
		return 0;
	total = pcap_u32(p + 4, w->sec->swapped);
	if (total < PCAPNG_SPB_MIN || total % 4 || total > PCAPNG_BLOCK_MAX)
		return 0;
	return total;
}

int walk_parse_at(struct walk *w, const uint8_t *p, size_t size, uint64_t off, struct wrec *r)
{
	const struct pcapng_section *sec = w->sec;
	struct pcapng_block b;
	struct pcapng_rec n = { .off = off, .block_len = (uint32_t)size };
	enum format_status st;

	if (!w->s->ix.pcapng) {
		struct pcap_rec pr;

		if (pcap_rec_parse(&w->s->fi, p, size, &pr) != PCAP_REC_OK ||
		    size != PCAP_RECORD_HEADER_LEN + (size_t)pr.caplen)
			return -EBADMSG;
		*r = (struct wrec){ .off = off, .size = (uint32_t)size, .ts = pcap_ts_ns(&w->s->fi, pr.ts_sec, pr.ts_frac),
				    .caplen = pr.caplen, .len = pr.len, .linktype = w->s->fi.linktype,
				    .iface = w->s->gid, .data = p + PCAP_RECORD_HEADER_LEN };
		return 0;
	}
	if (!sec->valid || pcapng_block_parse(p, size, sec->swapped, &b) != FORMAT_OK || b.total_len != size)
		return -EBADMSG;
	if (b.type == PCAPNG_BT_EPB)
		st = pcapng_epb_parse(&b, sec->swapped, &n.pkt);
	else if (b.type == PCAPNG_BT_SPB && sec->nifaces && sec->iface[0].usable)
		st = pcapng_spb_parse(&b, sec->swapped, sec->iface[0].snaplen, &n.pkt);
	else
		return -EBADMSG;
	if (st != FORMAT_OK || n.pkt.iface >= sec->nifaces || n.pkt.iface >= PCAPNG_MAX_IFACES ||
	    !sec->iface[n.pkt.iface].usable)
		return -EBADMSG;
	n.ifc = &sec->iface[n.pkt.iface];
	n.ts_ns = pcapng_ts_ns(n.ifc, n.pkt.ts);
	from_ng(w, &n, r);
	return 0;
}
