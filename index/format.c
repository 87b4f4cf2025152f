/* The index file format (described in index.h): encode, decode with every
 * count and range checked, load, save atomically, the capture file's
 * identity, and the summary lookups. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "index/index.h"
#include "util/util.h"

/* ---------------------------------------------------------------- crc32 */

static uint32_t crc_table[256];

static void crc_table_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;

		for (int k = 0; k < 8; k++)
			c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
		crc_table[i] = c;
	}
}

uint32_t index_crc32(uint32_t crc, const uint8_t *p, size_t n)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, crc_table_init);
	crc = ~crc;
	while (n--)
		crc = crc_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return ~crc;
}

/* ------------------------------------------------- little-endian fields */

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get64(const uint8_t *p)
{
	return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

void index_free(struct index *ix)
{
	xfree(ix->chunks);
	xfree(ix->addr4);
	xfree(ix->addr6);
	xfree(ix->post);
	xfree(ix->sblocks);
	memset(ix, 0, sizeof(*ix));
}

size_t index_serialized_len(const struct index *ix)
{
	return INDEX_HEADER_LEN + (size_t)ix->nchunks * INDEX_CHUNK_LEN + (size_t)ix->naddr4 * 4 +
	       (size_t)ix->naddr6 * 16 + (size_t)ix->npost + (size_t)ix->nsblocks * INDEX_SBLOCK_LEN +
	       INDEX_TRAILER_LEN;
}

void index_serialize(const struct index *ix, uint8_t *out)
{
	size_t total = index_serialized_len(ix);
	uint8_t *p = out;

	memset(out, 0, INDEX_HEADER_LEN);
	memcpy(p, INDEX_MAGIC, 8);
	put32(p + 8, ix->pcapng ? INDEX_VERSION_PCAPNG : INDEX_VERSION);
	put32(p + 12, INDEX_HEADER_LEN);
	put64(p + 16, total);
	put64(p + 24, ix->file_size);
	put64(p + 32, (uint64_t)ix->file_mtime_ns);
	put64(p + 40, ix->good_end);
	put64(p + 48, ix->last_rec_off);
	put32(p + 56, ix->last_ts_sec);
	put32(p + 60, ix->last_ts_frac);
	put32(p + 64, ix->last_caplen);
	put32(p + 68, (ix->flags & INDEX_FLAGS_MASK) | (ix->nsblocks & INDEX_SBLOCKS_MAX));
	memcpy(p + 72, ix->pcap_header, PCAP_FILE_HEADER_LEN);
	put64(p + 96, ix->records);
	put64(p + 104, ix->first_ns);
	put64(p + 112, ix->last_ns);
	put32(p + 120, ix->chunk_bytes);
	put32(p + 124, ix->nchunks);
	put32(p + 128, ix->naddr4);
	put32(p + 132, ix->naddr6);
	put64(p + 136, ix->npost);
	put64(p + 144, ix->file_dev);
	put64(p + 152, ix->file_ino);
	put64(p + 160, (uint64_t)ix->file_ctime_ns);
	put32(p + 168, ix->file_head_crc);
	put32(p + 172, ix->file_tail_crc);
	p += INDEX_HEADER_LEN;
	for (uint32_t i = 0; i < ix->nchunks; i++, p += INDEX_CHUNK_LEN) {
		const struct index_chunk *c = &ix->chunks[i];

		put64(p, c->off);
		put64(p + 8, c->end);
		put64(p + 16, c->min_ns);
		put64(p + 24, c->max_ns);
		put32(p + 32, c->records);
		put32(p + 36, c->flags);
		put32(p + 40, c->n4);
		put32(p + 44, c->n6);
		put64(p + 48, c->post_off);
		put32(p + 56, c->post_len);
		put32(p + 60, c->nkeys);
	}
	for (uint32_t i = 0; i < ix->naddr4; i++, p += 4)
		put32(p, ix->addr4[i]);
	for (uint32_t i = 0; i < ix->naddr6; i++, p += 16)
		memcpy(p, ix->addr6[i], 16);
	if (ix->npost)
		memcpy(p, ix->post, ix->npost);
	p += ix->npost;
	for (uint32_t i = 0; i < ix->nsblocks; i++, p += INDEX_SBLOCK_LEN) {
		put64(p, ix->sblocks[i].off);
		put32(p + 8, ix->sblocks[i].len);
		put32(p + 12, ix->sblocks[i].type);
	}
	put32(p, index_crc32(0, out, (size_t)(p - out)));
	memcpy(p + 4, "IEND", 4);
	(void)total;
}

/* pcapng: the SHBs and IDBs ascend without overlapping, the first an SHB at
 * 0, all inside good end; the last record lies inside good end too. */
static int check_sblocks(const struct index *ix)
{
	uint64_t pos = 0;

	if (!ix->nsblocks || ix->sblocks[0].off || ix->sblocks[0].type != PCAPNG_BT_SHB)
		return -EBADMSG;
	for (uint32_t i = 0; i < ix->nsblocks; i++) {
		const struct index_sblock *k = &ix->sblocks[i];

		if (k->off < pos || k->len < PCAPNG_BLOCK_MIN || k->len > PCAPNG_BLOCK_MAX || k->len % 4 ||
		    (k->type != PCAPNG_BT_SHB && k->type != PCAPNG_BT_IDB) || k->off + k->len > ix->good_end)
			return -EBADMSG;
		pos = k->off + k->len;
	}
	if (ix->nchunks && ix->last_rec_off + PCAPNG_SPB_MIN > ix->good_end)
		return -EBADMSG;
	return 0;
}

/* The chunk table's claims, one by one, against each other and the header. */
static int check_chunks(struct index *ix)
{
	uint64_t records = 0, first = UINT64_MAX, last = 0, pos = ix->pcapng ? 0 : PCAP_FILE_HEADER_LEN;
	uint64_t n4 = 0, n6 = 0, post = 0;
	/* pcapng: chunks ascend with gaps (other blocks), a record is at least an SPB;
	 * a compressed pcap's chunks may skip a frame that does not decode */
	uint32_t min_rec = ix->pcapng ? PCAPNG_SPB_MIN : PCAP_RECORD_HEADER_LEN;
	bool gaps = ix->pcapng || (ix->flags & INDEX_F_COMPRESSED);

	for (uint32_t i = 0; i < ix->nchunks; i++) {
		struct index_chunk *c = &ix->chunks[i];

		if ((gaps ? c->off < pos : c->off != pos) || c->end <= c->off || c->end > ix->good_end)
			return -EBADMSG;
		if (!c->records || c->min_ns > c->max_ns ||
		    c->flags & ~(INDEX_CHUNK_ANY_ADDR | INDEX_CHUNK_NO_POSTINGS))
			return -EBADMSG;
		/* postings blocks tile the section, each one well-formed */
		if (c->post_off != post || c->post_len > ix->npost - post ||
		    (c->flags & INDEX_CHUNK_NO_POSTINGS && (c->post_len || c->nkeys)) ||
		    index_postings_check(ix->post + post, c->post_len, c->end - c->off, c->records, c->nkeys))
			return -EBADMSG;
		post += c->post_len;
		/* a record takes at least its 16-byte header */
		if ((c->end - c->off) / min_rec < c->records)
			return -EBADMSG;
		c->a4 = (uint32_t)n4;
		c->a6 = (uint32_t)n6;
		n4 += c->n4;
		n6 += c->n6;
		if (n4 > ix->naddr4 || n6 > ix->naddr6)
			return -EBADMSG;
		for (uint32_t k = 1; k < c->n4; k++)
			if (ix->addr4[c->a4 + k - 1] >= ix->addr4[c->a4 + k])
				return -EBADMSG;
		for (uint32_t k = 1; k < c->n6; k++)
			if (memcmp(ix->addr6[c->a6 + k - 1], ix->addr6[c->a6 + k], 16) >= 0)
				return -EBADMSG;
		records += c->records;
		first = c->min_ns < first ? c->min_ns : first;
		last = c->max_ns > last ? c->max_ns : last;
		pos = c->end;
	}
	if (n4 != ix->naddr4 || n6 != ix->naddr6 || post != ix->npost || records != ix->records ||
	    (ix->pcapng ? pos > ix->good_end : pos != ix->good_end))
		return -EBADMSG;
	if (ix->nchunks && (first != ix->first_ns || last != ix->last_ns))
		return -EBADMSG;
	if (ix->pcapng)
		return check_sblocks(ix);
	if (ix->nchunks && (ix->last_rec_off < PCAP_FILE_HEADER_LEN ||
			    ix->last_rec_off + PCAP_RECORD_HEADER_LEN + ix->last_caplen != ix->good_end))
		return -EBADMSG;
	return 0;
}

int index_parse(const uint8_t *buf, size_t len, struct index *ix)
{
	uint64_t total, want;
	const uint8_t *p;
	struct pcap_file_info fi;
	int ret;

	memset(ix, 0, sizeof(*ix));
	if (len < INDEX_HEADER_LEN + INDEX_TRAILER_LEN || memcmp(buf, INDEX_MAGIC, 8))
		return -EBADMSG;
	if (get32(buf + 8) != INDEX_VERSION && get32(buf + 8) != INDEX_VERSION_PCAPNG)
		return -ENOTSUP;
	ix->pcapng = get32(buf + 8) == INDEX_VERSION_PCAPNG;
	total = get64(buf + 16);
	if (get32(buf + 12) != INDEX_HEADER_LEN || total != len)
		return -EBADMSG;
	ix->nchunks = get32(buf + 124);
	ix->naddr4 = get32(buf + 128);
	ix->naddr6 = get32(buf + 132);
	ix->npost = get64(buf + 136);
	ix->nsblocks = get32(buf + 68) & INDEX_SBLOCKS_MAX;
	if (!ix->pcapng && ix->nsblocks)
		return -EBADMSG;
	/* 32-bit counts times small sizes cannot overflow 64 bits */
	want = INDEX_HEADER_LEN + (uint64_t)ix->nchunks * INDEX_CHUNK_LEN + (uint64_t)ix->naddr4 * 4 +
	       (uint64_t)ix->naddr6 * 16 + (uint64_t)ix->nsblocks * INDEX_SBLOCK_LEN + INDEX_TRAILER_LEN;
	if (ix->npost > len || want + ix->npost != len || memcmp(buf + len - 4, "IEND", 4) ||
	    get32(buf + len - 8) != index_crc32(0, buf, len - 8))
		goto bad;
	ix->file_size = get64(buf + 24);
	ix->file_mtime_ns = (int64_t)get64(buf + 32);
	ix->good_end = get64(buf + 40);
	ix->last_rec_off = get64(buf + 48);
	ix->last_ts_sec = get32(buf + 56);
	ix->last_ts_frac = get32(buf + 60);
	ix->last_caplen = get32(buf + 64);
	ix->flags = get32(buf + 68) & INDEX_FLAGS_MASK;
	memcpy(ix->pcap_header, buf + 72, PCAP_FILE_HEADER_LEN);
	ix->records = get64(buf + 96);
	ix->first_ns = get64(buf + 104);
	ix->last_ns = get64(buf + 112);
	ix->chunk_bytes = get32(buf + 120);
	ix->file_dev = get64(buf + 144);
	ix->file_ino = get64(buf + 152);
	ix->file_ctime_ns = (int64_t)get64(buf + 160);
	ix->file_head_crc = get32(buf + 168);
	ix->file_tail_crc = get32(buf + 172);
	if ((ix->pcapng ? !index_is_pcapng_head(ix->pcap_header)
			: pcap_file_header_parse(ix->pcap_header, sizeof(ix->pcap_header), &fi) != FORMAT_OK) ||
	    ix->good_end < PCAP_FILE_HEADER_LEN || (ix->flags & ~INDEX_F_COMPRESSED) ||
	    (ix->good_end > ix->file_size && !(ix->flags & INDEX_F_COMPRESSED)) ||
	    ix->last_caplen > PCAP_SNAPLEN_MAX || !ix->chunk_bytes)
		goto bad;

	ix->chunks = xcalloc(ix->nchunks ? ix->nchunks : 1, sizeof(*ix->chunks));
	ix->addr4 = xcalloc(ix->naddr4 ? ix->naddr4 : 1, sizeof(*ix->addr4));
	ix->addr6 = xcalloc(ix->naddr6 ? ix->naddr6 : 1, sizeof(*ix->addr6));
	ix->post = xcalloc(ix->npost ? ix->npost : 1, 1);
	ix->sblocks = xcalloc(ix->nsblocks ? ix->nsblocks : 1, sizeof(*ix->sblocks));
	p = buf + INDEX_HEADER_LEN;
	for (uint32_t i = 0; i < ix->nchunks; i++, p += INDEX_CHUNK_LEN) {
		struct index_chunk *c = &ix->chunks[i];

		c->off = get64(p);
		c->end = get64(p + 8);
		c->min_ns = get64(p + 16);
		c->max_ns = get64(p + 24);
		c->records = get32(p + 32);
		c->flags = get32(p + 36);
		c->n4 = get32(p + 40);
		c->n6 = get32(p + 44);
		c->post_off = get64(p + 48);
		c->post_len = get32(p + 56);
		c->nkeys = get32(p + 60);
	}
	for (uint32_t i = 0; i < ix->naddr4; i++, p += 4)
		ix->addr4[i] = get32(p);
	for (uint32_t i = 0; i < ix->naddr6; i++, p += 16)
		memcpy(ix->addr6[i], p, 16);
	memcpy(ix->post, p, ix->npost);
	p += ix->npost;
	for (uint32_t i = 0; i < ix->nsblocks; i++, p += INDEX_SBLOCK_LEN)
		ix->sblocks[i] = (struct index_sblock){ get64(p), get32(p + 8), get32(p + 12) };
	ret = check_chunks(ix);
	if (ret) {
		index_free(ix);
		return ret;
	}
	return 0;
bad:
	index_free(ix);
	return -EBADMSG;
}

bool index_is_pcapng_head(const uint8_t head[PCAP_FILE_HEADER_LEN])
{
	struct pcapng_shb shb;

	return pcapng_shb_head_parse(head, PCAPNG_SHB_HEAD_LEN, &shb) == FORMAT_OK;
}

int index_load(const char *path, struct index *ix)
{
	struct stat st;
	uint8_t *buf;
	size_t got = 0;
	int fd, ret;

	memset(ix, 0, sizeof(*ix));
	/* a link planted at the name is not followed, a FIFO not waited on */
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return errno == ELOOP ? -ENOTSUP : -errno;
	if (fstat(fd, &st)) {
		ret = -errno;
		goto out_close;
	}
	if (!S_ISREG(st.st_mode)) {
		ret = -ENOTSUP;
		goto out_close;
	}
	/* an index is small: 48 bytes and its addresses per chunk of the capture */
	if (st.st_size < 0 || st.st_size > (1ll << 32)) {
		ret = -EBADMSG;
		goto out_close;
	}
	buf = xcalloc(1, (size_t)st.st_size + 1);
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	ret = index_parse(buf, got, ix);
	xfree(buf);
out_close:
	close(fd);
	return ret;
}

int index_save(const struct index *ix, const char *path)
{
	char tmp[4096];
	size_t len = index_serialized_len(ix);
	uint8_t *buf;
	int fd, ret = 0;

	/* mkostemp: a name no one can predict, created with O_EXCL (a link or
	 * anything else already there is never opened) */
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path) >= sizeof(tmp))
		return -ENAMETOOLONG;
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return -errno;
	buf = xcalloc(1, len);
	index_serialize(ix, buf);
	/* mkostemp makes 0600; readers of the archive may be other users */
	if (fchmod(fd, 0644)) {
		ret = -errno;
		goto out_unlink;
	}
	ret = write_full(fd, buf, len);
	if (ret)
		goto out_unlink;
	if (close(fd)) {
		fd = -1;
		ret = -errno;
		goto out_unlink;
	}
	fd = -1;
	/* rename replaces whatever is at `path` (a link too) without following it */
	if (rename(tmp, path)) {
		ret = -errno;
		goto out_unlink;
	}
	goto out_free;
out_unlink:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
out_free:
	xfree(buf);
	return ret;
}

int index_crc_range(int fd, uint64_t off, uint64_t len, uint32_t *crc)
{
	uint8_t buf[INDEX_DIGEST_BYTES];
	uint32_t c = 0;

	while (len) {
		size_t want = len < sizeof(buf) ? (size_t)len : sizeof(buf);
		ssize_t n = index_pread_full(fd, buf, want, off);

		if (n < 0)
			return (int)n;
		if ((size_t)n < want)
			return -EIO;
		c = index_crc32(c, buf, want);
		off += want;
		len -= want;
	}
	*crc = c;
	return 0;
}

int index_identify(int fd, struct index *ix, uint64_t *bytes_read)
{
	struct stat st;
	uint64_t size, n;
	int ret;

	if (fstat(fd, &st))
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -ENOTSUP;
	size = (uint64_t)st.st_size;
	n = size < INDEX_DIGEST_BYTES ? size : INDEX_DIGEST_BYTES;
	ret = index_crc_range(fd, 0, n, &ix->file_head_crc);
	if (!ret)
		ret = index_crc_range(fd, size - n, n, &ix->file_tail_crc);
	if (ret)
		return ret;
	if (bytes_read)
		*bytes_read += 2 * n;
	ix->file_size = size;
	ix->file_mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000ll + st.st_mtim.tv_nsec;
	ix->file_ctime_ns = (int64_t)st.st_ctim.tv_sec * 1000000000ll + st.st_ctim.tv_nsec;
	ix->file_dev = (uint64_t)st.st_dev;
	ix->file_ino = (uint64_t)st.st_ino;
	return 0;
}

int index_path_for(const char *capture_path, char *out, size_t outlen)
{
	const char *slash = strrchr(capture_path, '/');
	int dirlen = slash ? (int)(slash - capture_path + 1) : 0;
	const char *name = slash ? slash + 1 : capture_path;

	if ((size_t)snprintf(out, outlen, "%.*s.%s.ridx", dirlen, capture_path, name) >= outlen)
		return -ENAMETOOLONG;
	return 0;
}

bool index_chunk_may_have4(const struct index *ix, const struct index_chunk *c, uint32_t lo, uint32_t hi)
{
	const uint32_t *a = ix->addr4 + c->a4;
	uint32_t l = 0, h = c->n4;

	if (c->flags & INDEX_CHUNK_ANY_ADDR)
		return true;
	while (l < h) { /* first address >= lo */
		uint32_t m = l + (h - l) / 2;

		if (a[m] < lo)
			l = m + 1;
		else
			h = m;
	}
	return l < c->n4 && a[l] <= hi;
}

bool index_chunk_may_have6(const struct index *ix, const struct index_chunk *c, const uint8_t lo[16],
			   const uint8_t hi[16])
{
	uint8_t(*a)[16] = ix->addr6 + c->a6;
	uint32_t l = 0, h = c->n6;

	if (c->flags & INDEX_CHUNK_ANY_ADDR)
		return true;
	while (l < h) {
		uint32_t m = l + (h - l) / 2;

		if (memcmp(a[m], lo, 16) < 0)
			l = m + 1;
		else
			h = m;
	}
	return l < c->n6 && memcmp(a[l], hi, 16) <= 0;
}
