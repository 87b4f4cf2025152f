/*
 * An up-to-date index for an open capture file: the one on disk if it is this
 * file's (device and inode) and fresh (size, mtime, change time and both ends
 * unchanged), extended by the file's new tail if the file only grew (its
 * header, both ends of its old size and its last indexed record unchanged),
 * else rebuilt from the whole file; saved back beside it when the directory
 * lets us, kept in memory otherwise.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "index/index.h"
#include "util/util.h"

/* Is the record the index saw last still there, byte for byte in its header? */
static bool last_record_unchanged(int fd, const struct index *ix, uint64_t *bytes_read)
{
	struct pcap_file_info fi;
	uint8_t h[PCAP_RECORD_HEADER_LEN];
	struct pcap_rec r;

	if (!ix->nchunks)
		return true;
	if (pcap_file_header_parse(ix->pcap_header, sizeof(ix->pcap_header), &fi))
		return false;
	if (pread(fd, h, sizeof(h), (off_t)ix->last_rec_off) != (ssize_t)sizeof(h))
		return false;
	*bytes_read += sizeof(h);
	r.ts_sec = pcap_u32(h, fi.swapped);
	r.ts_frac = pcap_u32(h + 4, fi.swapped);
	r.caplen = pcap_u32(h + 8, fi.swapped);
	return r.ts_sec == ix->last_ts_sec && r.ts_frac == ix->last_ts_frac && r.caplen == ix->last_caplen;
}

/* Is `ix` the index of this very file (device and inode)? */
static bool same_file(const struct index *ix, const struct index *now)
{
	return ix->file_dev == now->file_dev && ix->file_ino == now->file_ino;
}

/* Nothing of the file changed since it was indexed: size, times, both ends. */
static bool unchanged(const struct index *ix, const struct index *now)
{
	return ix->file_size == now->file_size && ix->file_mtime_ns == now->file_mtime_ns &&
	       ix->file_ctime_ns == now->file_ctime_ns && ix->file_head_crc == now->file_head_crc &&
	       ix->file_tail_crc == now->file_tail_crc;
}

/* The file only grew since it was indexed: its first and last bytes of then
 * are still there, and so is the last record the index saw. */
static bool only_grew(int fd, const struct index *ix, const struct index *now, uint64_t *bytes_read)
{
	uint64_t n = ix->file_size < INDEX_DIGEST_BYTES ? ix->file_size : INDEX_DIGEST_BYTES;
	uint32_t head, tail;

	if (now->file_size <= ix->file_size)
		return false;
	if (index_crc_range(fd, 0, n, &head) || index_crc_range(fd, ix->file_size - n, n, &tail))
		return false;
	*bytes_read += 2 * n;
	return head == ix->file_head_crc && tail == ix->file_tail_crc &&
	       last_record_unchanged(fd, ix, bytes_read);
}

int index_refresh(const char *capture_path, int fd, bool force, uint32_t chunk_bytes, struct index *ix,
		  struct index_refresh_result *res)
{
	return index_refresh_src(capture_path, &(struct index_src){ .fd = fd }, force, chunk_bytes, ix, res);
}

int index_refresh_src(const char *capture_path, const struct index_src *src, bool force, uint32_t chunk_bytes,
		      struct index *ix, struct index_refresh_result *res)
{
	int fd = src->fd;
	char path[4096];
	uint8_t hdr[PCAP_FILE_HEADER_LEN];
	struct index_builder *b = NULL;
	struct index now = { 0 };
	uint64_t from = PCAP_FILE_HEADER_LEN;
	bool pcapng = false;
	int ret;

	memset(res, 0, sizeof(*res));
	memset(ix, 0, sizeof(*ix));
	ret = index_path_for(capture_path, path, sizeof(path));
	if (ret)
		return ret;
	ret = index_identify(fd, &now, &res->bytes_read);
	if (ret)
		return ret == -ENOTSUP ? -EINVAL : ret;
	if (index_src_pread(src, hdr, sizeof(hdr), 0) != (ssize_t)sizeof(hdr))
		return -EINVAL;
	res->bytes_read += sizeof(hdr);

	if (!force) {
		ret = index_load(path, ix);
		res->refused = ret == -ENOTSUP;
		res->corrupt = ret == -EBADMSG;
	}
	if (!force && ret == 0) {
		res->bytes_read += index_serialized_len(ix);
		if (memcmp(ix->pcap_header, hdr, sizeof(hdr)) == 0 && same_file(ix, &now) &&
		    !(ix->flags & INDEX_F_COMPRESSED) == !src->pread) {
			if (unchanged(ix, &now)) {
				res->loaded = true;
				return 0;
			}
			/* a pcapng file that grew is walked again whole; a
			 * compressed file's offsets are not the file's: rebuilt */
			if (!ix->pcapng && !src->pread && only_grew(fd, ix, &now, &res->bytes_read)) {
				from = ix->good_end;
				ret = index_builder_resume(&b, ix);
				if (ret)
					goto out_free;
				res->extended = true;
			}
		}
		index_free(ix);
	}
	if (!b) {
		pcapng = index_is_pcapng_head(hdr);
		ret = pcapng ? index_builder_new_pcapng(&b, hdr, chunk_bytes) : index_builder_new(&b, hdr, chunk_bytes);
		if (ret)
			return ret;
		res->built = true;
	}
	if (pcapng)
		ret = index_scan_pcapng(src, b, src->pread ? UINT64_MAX : now.file_size, &res->scan);
	else
		ret = index_scan_src(src, b, from, src->pread ? UINT64_MAX : now.file_size, &res->scan);
	res->bytes_read += res->scan.bytes_read;
	if (ret)
		goto out_free;
	ret = index_builder_snapshot(b, now.file_size, now.file_mtime_ns, ix);
	if (ret)
		goto out_free;
	ix->file_ctime_ns = now.file_ctime_ns;
	ix->flags = src->pread ? INDEX_F_COMPRESSED : 0;
	ix->file_dev = now.file_dev;
	ix->file_ino = now.file_ino;
	ix->file_head_crc = now.file_head_crc;
	ix->file_tail_crc = now.file_tail_crc;
	res->save_error = index_save(ix, path);
	res->saved = res->save_error == 0;
out_free:
	index_builder_free(b);
	return ret;
}
