/*
 * The writer with cfg.format WRITER_PCAPNG, on a real file system, without
 * privileges; libpcap (pcap_open_offline reads pcapng) and a walk of the
 * blocks by hand check what it wrote:
 *  - 4000 packets (42..1514 bytes, some VLAN, some kernel-cut, from two
 *    interfaces, directions unknown/in/out, nanoseconds) appended in random
 *    batches through pwrite and io_uring, with tiny staging (wraps) and with
 *    roomy staging: libpcap reads every packet with its lengths, time (ns)
 *    and bytes; the walk finds SHB, two IDBs (names, if_tsresol 9), one EPB
 *    per packet with its interface id and epb_flags (none when the
 *    direction is not known), then one ISB (the hook knows interface 0's
 *    counters only) with those counters, and nothing after;
 *  - -C rotation: every file starts with the SHB and IDBs and ends with the
 *    ISB, libpcap reads each alone, together they hold every packet in order,
 *    and no file passes the size (tail included);
 *  - writer_flush while open: the file is the prologue and whole EPBs;
 *  - a full disk (RLIMIT_FSIZE): the file is cut at its last whole block,
 *    no ISB, libpcap reads exactly the packets the writer counts;
 *  - a restart: an empty capture's file (prologue and ISB) is reused, one
 *    with packets refused (-EEXIST);
 *  - micro resolution: if_tsresol 6 and microsecond times;
 *  - cfg.index: the index the writer leaves beside each file (one file,
 *    -C rotation, micro, a snap length that cuts VLAN-tagged frames before
 *    their ports, no postings, --compress) is byte for byte the one
 *    index_refresh builds from the file (ringcap-read --reindex), and a
 *    refresh without force loads it as fresh; IPv4/UDP frames of an Ethernet
 *    and a raw-IP interface, so its summaries and postings hold something.
 * Exits 77 (after the rest passed) only if io_uring is refused here.
 */
#include <errno.h>
#include <fcntl.h>
#include <pcap/pcap.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "index/index.h"
#include "util/util.h"
#include "writer/pcap.h"
#include "zfile/zfile.h"
#include "writer/writer.h"
#include "unit.h"

#define NPKTS 4000
#define MAXLEN 1514

static char dir[64];
static bool uring_refused;

static const struct writer_iface ifaces[2] = {
	{ .name = "eth0", .description = "the first", .linktype = LINKTYPE_ETHERNET,
	  .snaplen = 262144 },
	{ .name = "eth1", .linktype = LINKTYPE_ETHERNET, .snaplen = 262144 },
};

/* The hook: interface 0 has counters, interface 1 none. */
static int stats_hook(void *ctx, unsigned iface, uint64_t *recv, uint64_t *drop)
{
	(void)ctx;
	if (iface)
		return -ENODATA;
	*recv = 123456789012ull;
	*drop = 42;
	return 0;
}

struct pktset {
	struct pkt_view *v;
	uint8_t *bytes;
	unsigned n;
};

/* IPv4 UDP or TCP headers for packet i at d, on an Ethernet header when
 * `eth` (its addresses left as they are): 14 sources, 9 destinations, so an
 * index's summaries and postings hold some. */
static void put_ip_headers(uint8_t *d, unsigned i, bool eth)
{
	uint8_t *ip = eth ? d + 14 : d;

	if (eth) {
		d[12] = 0x08;
		d[13] = 0x00;
	}
	ip[0] = 0x45;
	ip[6] = ip[7] = 0; /* not a fragment */
	ip[9] = i % 3 ? 17 : 6;
	memcpy(ip + 12, (const uint8_t[4]){ 198, 18, 0, (uint8_t)(1 + i % 14) }, 4);
	memcpy(ip + 16, (const uint8_t[4]){ 198, 19, 1, (uint8_t)(1 + i % 9) }, 4);
	memcpy(ip + 20, (const uint8_t[4]){ 0x10, (uint8_t)(i % 40), 0, 53 }, 4);
}

/* Random bytes with the packet's number at 14, or (`ip`) IP frames: Ethernet
 * on interface 0 (every fifth with its VLAN tag stripped into the view, as
 * the kernel does), raw IP on interface 1 (ix_ifaces). */
static void make_pkts(struct pktset *s, unsigned n, uint64_t seed, bool ip)
{
	const uint32_t min = ip ? 60 : 42;
	uint64_t rng = seed;
	size_t off = 0;

	s->n = n;
	s->v = calloc(n, sizeof(*s->v));
	s->bytes = malloc((size_t)n * MAXLEN);
	if (!s->v || !s->bytes)
		exit(1);
	for (unsigned i = 0; i < n; i++) {
		struct pkt_view *p = &s->v[i];
		uint32_t len = min + (uint32_t)(unit_rnd(&rng) % (MAXLEN - min + 1));
		uint8_t *d = s->bytes + off;

		p->len = len;
		p->caplen = i % 97 == 5 ? (len < 95 ? len : 95) : len;
		for (uint32_t j = 0; j < p->caplen; j++)
			d[j] = (uint8_t)unit_rnd(&rng);
		if (ip)
			put_ip_headers(d, i, i % 2 == 0);
		else
			memcpy(d + 14, &i, 4);
		p->data = d;
		p->sec = 1700000000u + i / 1000;
		p->nsec = (i % 1000) * 1000000u + (uint32_t)(unit_rnd(&rng) % 1000000u);
		p->vlan = ip ? i % 10 == 6 : i % 53 == 7;
		p->vlan_tci = (uint16_t)(i & 0xfff);
		p->vlan_tpid = 0x8100;
		p->iface = (uint16_t)(i % 2);
		p->dir = (uint8_t)(i % 3);
		off += p->caplen;
	}
}

static void path_for(char *path, size_t len, const char *name)
{
	snprintf(path, len, "%s/%s", dir, name);
}

static struct writer_config config(const char *path, enum writer_backend b, uint32_t chunk,
				   uint32_t nchunks, bool nano)
{
	return (struct writer_config){
		.path = path, .snaplen = 262144, .nano = nano, .backend = b, .chunk_size = chunk,
		.nchunks = nchunks, .direct = true, .format = WRITER_PCAPNG, .ifaces = ifaces,
		.nifaces = 2, .hardware = "test cpu", .userappl = "ringcap test",
		.iface_stats = stats_hook,
	};
}

/* Append packets [from, to) in batches of 1..max. */
static bool append_range(struct writer *w, const struct pktset *s, unsigned from, unsigned to,
			 unsigned max, uint64_t *rng)
{
	for (unsigned i = from; i < to;) {
		unsigned b = 1 + (unsigned)(unit_rnd(rng) % max);
		int r;

		if (b > to - i)
			b = to - i;
		r = writer_append(w, s->v + i, b);
		if (r != (int)b) {
			CHECK(0, "append of %u at %u: %d", b, i, r);
			return false;
		}
		i += b;
	}
	return true;
}

static uint8_t *read_whole(const char *path, size_t *size)
{
	struct stat st;
	uint8_t *b;
	int fd = open(path, O_RDONLY);

	if (fd < 0 || fstat(fd, &st) < 0) {
		CHECK(0, "%s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	b = malloc((size_t)st.st_size + 1);
	*size = (size_t)st.st_size;
	if (!b || read(fd, b, *size) != (ssize_t)*size) {
		CHECK(0, "%s: short read", path);
		free(b);
		b = NULL;
	}
	close(fd);
	return b;
}

static uint32_t u32_at(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

/* libpcap reads packets [from, from + n) of s from `path`, in order. */
static void check_libpcap(const char *path, const struct pktset *s, unsigned from, unsigned n,
			  bool nano)
{
	char errbuf[PCAP_ERRBUF_SIZE];
	struct pcap_pkthdr *h;
	const u_char *d;
	unsigned i;
	pcap_t *p = pcap_open_offline_with_tstamp_precision(
		path, nano ? PCAP_TSTAMP_PRECISION_NANO : PCAP_TSTAMP_PRECISION_MICRO, errbuf);
	int r;

	CHECK(p != NULL, "%s: libpcap: %s", path, errbuf);
	if (!p)
		return;
	for (i = 0; (r = pcap_next_ex(p, &h, &d)) == 1; i++) {
		const struct pkt_view *v = &s->v[from + i];
		uint8_t frame[MAXLEN + 4];
		uint32_t len, cap;

		if (i >= n)
			continue;
		cap = unit_frame_with_tag(v->data, v->caplen, v->len, v->vlan, v->vlan_tpid,
					  v->vlan_tci, frame, &len);
		if (h->caplen != cap || h->len != len || (uint32_t)h->ts.tv_sec != v->sec ||
		    (uint32_t)h->ts.tv_usec != (nano ? v->nsec : v->nsec / 1000) ||
		    memcmp(d, frame, cap)) {
			CHECK(0, "%s: packet %u differs (caplen %u/%u, len %u/%u)", path, from + i,
			      h->caplen, cap, h->len, len);
			if (unit_failures > 20)
				break;
		}
	}
	CHECK(r == PCAP_ERROR_BREAK || i > n, "%s: libpcap stopped with %d: %s", path, r,
	      pcap_geterr(p));
	CHECK(i == n, "%s: libpcap read %u packets, want %u", path, i, n);
	pcap_close(p);
}

/* What a walk of a file's blocks found. */
struct walk {
	unsigned shb, idb, epb, isb, other;
	bool whole;          /* the blocks end exactly at the file's end */
	bool isb_last;       /* nothing but ISBs after the last EPB */
	size_t first_epb;    /* offset */
};

/* Walk the blocks of buf; packet `from + k` is the k-th EPB: its interface id,
 * flags and time are checked. */
static void walk_file(const char *what, const uint8_t *b, size_t size, const struct pktset *s,
		      unsigned from, bool nano, struct walk *wk)
{
	size_t off = 0;

	memset(wk, 0, sizeof(*wk));
	wk->isb_last = true;
	while (size - off >= 12) {
		uint32_t type = u32_at(b + off), len = u32_at(b + off + 4);

		if (len < 12 || len % 4 || len > size - off || u32_at(b + off + len - 4) != len)
			break;
		if (type == PCAPNG_BT_SHB) {
			CHECK(wk->shb == 0 && off == 0, "%s: an SHB at %zu", what, off);
			wk->shb++;
		} else if (type == PCAPNG_BT_IDB) {
			/* if_name first, then the rest: the name and if_tsresol */
			const char *name = ifaces[wk->idb % 2].name;

			CHECK(len >= 20 + 4 + 4 && u32_at(b + off + 16) == (2u | 4u << 16) &&
			      !memcmp(b + off + 20, name, 4), "%s: IDB %u has no if_name %s", what,
			      wk->idb, name);
			CHECK(b[off + len - 16 + 4] == (nano ? 9 : 6) &&
			      u32_at(b + off + len - 16) == (9u | 1u << 16),
			      "%s: IDB %u: no if_tsresol %u as its last option", what, wk->idb, nano ? 9 : 6);
			wk->idb++;
		} else if (type == PCAPNG_BT_EPB) {
			const struct pkt_view *v = &s->v[from + wk->epb];
			uint64_t ts = nano ? (uint64_t)v->sec * 1000000000u + v->nsec
					   : (uint64_t)v->sec * 1000000u + v->nsec / 1000;
			uint32_t cap = u32_at(b + off + 20);
			uint32_t opts = len - 28 - ((cap + 3) & ~3u) - 4;

			if (!wk->epb)
				wk->first_epb = off;
			CHECK(wk->isb_last || !wk->epb, "%s: an EPB after an ISB", what);
			CHECK_EQ(u32_at(b + off + 8), v->iface);
			CHECK_EQ(((uint64_t)u32_at(b + off + 12) << 32) | u32_at(b + off + 16), ts);
			if (v->dir) {
				const uint8_t *o = b + off + len - 4 - 12;

				CHECK(opts == 12 && u32_at(o) == (2u | 4u << 16) && u32_at(o + 4) == v->dir &&
				      u32_at(o + 8) == 0, "%s: packet %u: no epb_flags %u", what,
				      from + wk->epb, v->dir);
			} else {
				CHECK(opts == 0, "%s: packet %u: options with no direction", what,
				      from + wk->epb);
			}
			wk->epb++;
		} else if (type == PCAPNG_BT_ISB) {
			uint64_t recv, drop;

			/* iface, ts, starttime, endtime, then isb_ifrecv and isb_ifdrop */
			CHECK(len == PCAPNG_ISB_MAX_LEN && u32_at(b + off + 8) == 0,
			      "%s: ISB of %u bytes for interface %u", what, len, u32_at(b + off + 8));
			memcpy(&recv, b + off + 48, 8);
			memcpy(&drop, b + off + 60, 8);
			CHECK(u32_at(b + off + 44) == (4u | 8u << 16) && recv == 123456789012ull &&
			      u32_at(b + off + 56) == (5u | 8u << 16) && drop == 42,
			      "%s: ISB counters %llu %llu", what, (unsigned long long)recv,
			      (unsigned long long)drop);
			wk->isb++;
		} else {
			wk->other++;
		}
		if (type != PCAPNG_BT_ISB && wk->isb)
			wk->isb_last = false;
		off += len;
	}
	wk->whole = off == size;
}

static void test_one_file(const struct pktset *s, enum writer_backend b, uint32_t chunk,
			  uint32_t nchunks, bool nano, const char *name)
{
	char path[128];
	struct writer_config c;
	struct writer_result res;
	struct writer *w;
	struct walk wk;
	uint64_t rng = 99;
	uint8_t *buf;
	size_t size;
	int ret;

	path_for(path, sizeof(path), name);
	c = config(path, b, chunk, nchunks, nano);
	ret = writer_open(&w, &c);
	CHECK(ret == 0, "%s: open: %s", name, strerror(-ret));
	if (ret)
		return;
	append_range(w, s, 0, s->n, chunk >= 65536 ? 400 : 3, &rng);
	ret = writer_close(w, &res);
	CHECK(ret == 0, "%s: close: %s", name, strerror(-ret));
	if (b == WRITER_URING && strcmp(res.backend, "io_uring"))
		uring_refused = true;
	CHECK_EQ(res.packets, s->n);
	check_libpcap(path, s, 0, s->n, nano);
	buf = read_whole(path, &size);
	if (!buf)
		return;
	CHECK_EQ(res.bytes, size);
	walk_file(name, buf, size, s, 0, nano, &wk);
	CHECK(wk.whole, "%s: blocks do not end at the file's end", name);
	CHECK(wk.shb == 1 && wk.idb == 2 && wk.epb == s->n && wk.isb == 1 && !wk.other &&
	      wk.isb_last, "%s: %u SHB, %u IDB, %u EPB, %u ISB (last: %d), %u other", name, wk.shb,
	      wk.idb, wk.epb, wk.isb, wk.isb_last, wk.other);
	free(buf);
}

/* -C: every file whole on its own, the packets in order across them. */
static void test_rotation(const struct pktset *s, enum writer_backend b)
{
	const uint64_t limit = 40000;
	char path[128], name[160];
	struct writer_config c;
	struct writer_result res;
	struct writer *w;
	unsigned from = 0, files = 0;
	uint64_t rng = 5;

	path_for(path, sizeof(path), b == WRITER_URING ? "rot-uring.pcapng" : "rot.pcapng");
	c = config(path, b, 4096, 8, true);
	c.rotate_bytes = limit;
	if (writer_open(&w, &c)) {
		CHECK(0, "rotation: open");
		return;
	}
	append_range(w, s, 0, 1500, 4, &rng);
	CHECK_EQ(writer_close(w, &res), 0);
	CHECK_EQ(res.packets, 1500);
	for (;; files++) {
		struct walk wk;
		uint8_t *buf;
		size_t size;

		if (files)
			snprintf(name, sizeof(name), "%s%u", path, files);
		else
			snprintf(name, sizeof(name), "%s", path);
		if (access(name, F_OK))
			break;
		buf = read_whole(name, &size);
		if (!buf)
			break;
		walk_file(name, buf, size, s, from, true, &wk);
		CHECK(wk.whole && wk.shb == 1 && wk.idb == 2 && wk.epb > 0 && wk.isb == 1 &&
		      wk.isb_last, "%s: %u SHB %u IDB %u EPB %u ISB, whole %d", name, wk.shb, wk.idb,
		      wk.epb, wk.isb, wk.whole);
		CHECK(size <= limit, "%s: %zu bytes with -C %llu", name, size,
		      (unsigned long long)limit);
		check_libpcap(name, s, from, wk.epb, true);
		from += wk.epb;
		free(buf);
	}
	CHECK(files == res.files && files > 3, "rotation: %u files, the writer says %u", files,
	      res.files);
	CHECK_EQ(from, 1500);
}

/* writer_flush while open: prologue and whole EPBs, nothing else. */
static void test_flush(const struct pktset *s)
{
	char path[128];
	struct writer_config c;
	struct writer_result res;
	struct writer *w;
	struct walk wk;
	uint64_t rng = 11;
	uint8_t *buf;
	size_t size;

	path_for(path, sizeof(path), "flush.pcapng");
	c = config(path, WRITER_PWRITE, 65536, 8, true);
	if (writer_open(&w, &c)) {
		CHECK(0, "flush: open");
		return;
	}
	append_range(w, s, 0, 101, 7, &rng);
	CHECK_EQ(writer_flush(w), 0);
	buf = read_whole(path, &size);
	if (buf) {
		walk_file("flush", buf, size, s, 0, true, &wk);
		CHECK(wk.whole && wk.shb == 1 && wk.idb == 2 && wk.epb == 101 && !wk.isb,
		      "flush: %u EPB, %u ISB, whole %d (%zu bytes)", wk.epb, wk.isb, wk.whole, size);
		check_libpcap(path, s, 0, 101, true);
		free(buf);
	}
	CHECK_EQ(writer_close(w, &res), 0);
}

/* RLIMIT_FSIZE: the file ends at its last whole block on disk. */
static int fsize_child(const void *arg)
{
	const struct pktset *s = arg;
	struct rlimit rl = { 150000, 150000 };
	char path[128];
	struct writer_config c;
	struct writer_result res;
	struct writer *w;
	struct walk wk;
	uint8_t *buf;
	size_t size;
	int ret;

	signal(SIGXFSZ, SIG_IGN);
	path_for(path, sizeof(path), "full.pcapng");
	c = config(path, WRITER_PWRITE, 16384, 8, true);
	if (setrlimit(RLIMIT_FSIZE, &rl) || writer_open(&w, &c))
		return 1;
	for (unsigned i = 0; i < s->n; i += 50)
		if (writer_append(w, s->v + i, 50) < 0)
			break;
	ret = writer_close(w, &res);
	CHECK(ret < 0 && res.error == ret, "full: close says %d", ret);
	buf = read_whole(path, &size);
	if (!buf)
		return 1;
	walk_file("full", buf, size, s, 0, true, &wk);
	CHECK(wk.whole && wk.epb == res.packets && !wk.isb && wk.epb > 0,
	      "full: %u EPB of %llu packets, %u ISB, whole %d, %zu bytes", wk.epb,
	      (unsigned long long)res.packets, wk.isb, wk.whole, size);
	check_libpcap(path, s, 0, (unsigned)res.packets, true);
	free(buf);
	return unit_failures ? 1 : 0;
}

/* An empty capture's file is reused by the next run; one with packets is not
 * overwritten. */
static void test_restart(const struct pktset *s)
{
	char path[128];
	struct writer_config c;
	struct writer_result res;
	struct writer *w;
	int ret;

	path_for(path, sizeof(path), "again.pcapng");
	c = config(path, WRITER_PWRITE, 65536, 8, true);
	CHECK_EQ(writer_open(&w, &c), 0);
	CHECK_EQ(writer_close(w, &res), 0); /* SHB, IDBs, ISB */
	ret = writer_open(&w, &c);
	CHECK(ret == 0, "restart over an empty capture: %d", ret);
	if (ret)
		return;
	CHECK_EQ(writer_append(w, s->v, 3), 3);
	CHECK_EQ(writer_close(w, &res), 0);
	ret = writer_open(&w, &c);
	CHECK(ret == -EEXIST, "restart over packets: %d", ret);
	if (!ret)
		writer_discard(w);
	check_libpcap(path, s, 0, 3, true);
}

/* ------------------------------------------------------------ the index */

static const struct writer_iface ix_ifaces[2] = {
	{ .name = "eth0", .linktype = LINKTYPE_ETHERNET, .snaplen = 262144 },
	{ .name = "tun0", .linktype = LINKTYPE_RAW, .snaplen = 262144 },
};

/* The bytes of an index file, or NULL (a failed check). */
static uint8_t *index_bytes(const char *capture, size_t *len)
{
	char ipath[192];
	uint8_t *b;

	CHECK_EQ(index_path_for(capture, ipath, sizeof(ipath)), 0);
	b = unit_read_whole(ipath, len);
	CHECK(b != NULL, "%s: no index beside it", capture);
	return b;
}

/* Without postings the rebuild (which has them) differs in them alone:
 * every chunk's range, times, counts and summary are the same. */
static void check_chunks_same(const char *path, const struct index *mine, const struct index *rebuilt)
{
	CHECK_EQ(mine->nchunks, rebuilt->nchunks);
	CHECK_EQ(mine->good_end, rebuilt->good_end);
	CHECK_EQ(mine->naddr4, rebuilt->naddr4);
	for (uint32_t i = 0; i < mine->nchunks && i < rebuilt->nchunks; i++) {
		const struct index_chunk *a = &mine->chunks[i], *b = &rebuilt->chunks[i];

		CHECK(a->off == b->off && a->end == b->end && a->min_ns == b->min_ns && a->max_ns == b->max_ns &&
		      a->records == b->records && a->n4 == b->n4 && a->n6 == b->n6 &&
		      a->flags == (b->flags | INDEX_CHUNK_NO_POSTINGS) && !a->post_len,
		      "%s: chunk %u differs from the rebuilt one", path, i);
	}
}

/* The writer's index of `path` is the one a rebuild from the file makes (as
 * ringcap-read --reindex does), byte for byte (without postings: but for
 * them), and a refresh without force takes it as it is. Returns the records
 * it indexes. */
static uint64_t check_index_same(const char *path, bool compressed, bool postings)
{
	struct index_refresh_result res;
	struct zfile *z = NULL;
	struct index ix, loaded;
	uint8_t *mine, *rebuilt;
	size_t mine_len, rebuilt_len;
	uint64_t records = 0;
	int fd = open(path, O_RDONLY);
	struct index_src src = { .fd = fd };

	CHECK(fd >= 0, "%s: %s", path, strerror(errno));
	if (fd < 0)
		return 0;
	if (compressed) {
		CHECK_EQ(zfile_open(&z, fd, ZFILE_ZSTD, path), 0);
		src = (struct index_src){ .fd = fd, .pread = zfile_pread_hook, .ctx = z };
	}
	mine = index_bytes(path, &mine_len);
	CHECK_EQ(index_refresh_src(path, &src, false, 0, &ix, &res), 0);
	CHECK(res.loaded && !res.built, "%s: the writer's index was not taken as fresh (built %d, corrupt %d)",
	      path, res.built, res.corrupt);
	CHECK(ix.pcapng && ix.nsblocks == 3 && !!(ix.flags & INDEX_F_COMPRESSED) == compressed,
	      "%s: pcapng %d, %u SHB/IDBs, flags %#x", path, ix.pcapng, ix.nsblocks, ix.flags);
	CHECK(ix.naddr4 > 0 && (ix.npost > 0) == postings, "%s: %u addresses, %llu bytes of postings", path,
	      ix.naddr4, (unsigned long long)ix.npost);
	records = ix.records;
	loaded = ix;
	CHECK_EQ(index_refresh_src(path, &src, true, 0, &ix, &res), 0);
	CHECK(res.built && res.saved && !res.scan.torn && !res.scan.bad_blocks,
	      "%s: rebuilt %d saved %d torn %d bad %llu", path, res.built, res.saved, res.scan.torn,
	      (unsigned long long)res.scan.bad_blocks);
	CHECK_EQ(ix.records, records);
	if (!postings)
		check_chunks_same(path, &loaded, &ix);
	index_free(&loaded);
	index_free(&ix);
	rebuilt = index_bytes(path, &rebuilt_len);
	if (mine && rebuilt && postings) {
		size_t k = 0;

		while (k < mine_len && k < rebuilt_len && mine[k] == rebuilt[k])
			k++;
		CHECK(mine_len == rebuilt_len && k == mine_len,
		      "%s: the writer's index (%zu bytes) differs from the rebuilt one (%zu) at byte %zu", path,
		      mine_len, rebuilt_len, k);
	}
	free(mine);
	free(rebuilt);
	zfile_close(z);
	close(fd);
	return records;
}

struct ix_case {
	const char *name;
	enum writer_backend backend;
	uint32_t chunk, nchunks;
	bool nano;
	uint32_t snaplen;
	uint64_t rotate;
	bool no_postings;
	int compress;
};

static void test_index_case(const struct pktset *s, const struct ix_case *k)
{
	char path[128], name[192];
	struct writer_config c;
	struct writer_result res;
	struct writer *w;
	uint64_t rng = 3, records = 0;
	unsigned files;

	path_for(path, sizeof(path), k->name);
	c = config(path, k->backend, k->chunk, k->nchunks, k->nano);
	c.ifaces = ix_ifaces;
	c.index = true;
	c.index_postings = !k->no_postings;
	c.snaplen = k->snaplen;
	c.rotate_bytes = k->rotate;
	c.compress_level = k->compress;
	if (writer_open(&w, &c)) {
		CHECK(0, "%s: open", k->name);
		return;
	}
	append_range(w, s, 0, s->n, k->chunk >= 65536 ? 300 : 3, &rng);
	CHECK_EQ(writer_close(w, &res), 0);
	CHECK_EQ(res.packets, s->n);
	for (files = 0; files < res.files; files++) {
		snprintf(name, sizeof(name), "%s%.0u%s", path, files, k->compress ? ".zst" : "");
		records += check_index_same(name, k->compress != 0, !k->no_postings);
	}
	CHECK(files == res.files && (!k->rotate || files > 3), "%s: %u files", k->name, files);
	CHECK_EQ(records, s->n);
}

static void test_index(void)
{
	static const struct ix_case cases[] = {
		{ "ix.pcapng", WRITER_PWRITE, 65536, 8, true, 262144, 0, false, 0 },
		{ "ix-uring-micro.pcapng", WRITER_URING, 4096, 4, false, 262144, 0, false, 0 },
		/* 40 bytes: a tagged frame's ports are cut off in the file, an
		 * untagged view of it would still show them */
		{ "ix-snap.pcapng", WRITER_PWRITE, 4096, 8, true, 40, 0, false, 0 },
		{ "ix-rot.pcapng", WRITER_URING, 4096, 8, true, 262144, 300000, false, 0 },
		{ "ix-nopost.pcapng", WRITER_PWRITE, 65536, 8, true, 262144, 0, true, 0 },
		{ "ix-zstd.pcapng", WRITER_PWRITE, 65536, 8, true, 262144, 0, false, 1 },
	};
	struct pktset s;

	make_pkts(&s, NPKTS, 17, true);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		test_index_case(&s, &cases[i]);
	free(s.v);
	free(s.bytes);
}

int main(void)
{
	struct pktset s;

	unit_tmpdir(dir, "ringcap-ngw");
	make_pkts(&s, NPKTS, 7, false);
	test_one_file(&s, WRITER_PWRITE, 65536, 8, true, "pwrite.pcapng");
	test_one_file(&s, WRITER_URING, 65536, 8, true, "uring.pcapng");
	test_one_file(&s, WRITER_PWRITE, 4096, 4, true, "tiny.pcapng");
	test_one_file(&s, WRITER_URING, 4096, 4, false, "tiny-micro.pcapng");
	test_rotation(&s, WRITER_PWRITE);
	test_rotation(&s, WRITER_URING);
	test_flush(&s);
	unit_in_child("full disk", fsize_child, &s, "died");
	test_restart(&s);
	test_index();
	if (!unit_failures) {
		char cmd[128];

		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		if (system(cmd))
			fprintf(stderr, "could not remove %s\n", dir);
	}
	free(s.v);
	free(s.bytes);
	if (!unit_failures && uring_refused) {
		fprintf(stderr, "SKIP: io_uring refused here (pwrite passed)\n");
		return 77;
	}
	return unit_exit("test_writer_pcapng");
}
