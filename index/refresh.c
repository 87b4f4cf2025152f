/*
 * An up-to-date index for an open capture file: the one on disk if it is
 * fresh (same size and mtime as the file now), extended by the file's new tail
 * if the file only grew (its header and its last indexed record unchanged),
 * else rebuilt from the whole file; saved back beside it when the directory
 * lets us, kept in memory otherwise.
 */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
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

int index_refresh(const char *capture_path, int fd, bool force, uint32_t chunk_bytes, struct index *ix,
		  struct index_refresh_result *res)
{
	char path[4096];
	uint8_t hdr[PCAP_FILE_HEADER_LEN];
	struct index_builder *b = NULL;
	struct stat st;
	uint64_t size, from = PCAP_FILE_HEADER_LEN;
	int64_t mtime;
	int ret;

	memset(res, 0, sizeof(*res));
	memset(ix, 0, sizeof(*ix));
	ret = index_path_for(capture_path, path, sizeof(path));
	if (ret)
		return ret;
	if (fstat(fd, &st))
		return -errno;
	size = (uint64_t)st.st_size;
	mtime = (int64_t)st.st_mtim.tv_sec * 1000000000ll + st.st_mtim.tv_nsec;
	if (pread(fd, hdr, sizeof(hdr), 0) != (ssize_t)sizeof(hdr))
		return -EINVAL;
	res->bytes_read += sizeof(hdr);

	if (!force && index_load(path, ix) == 0) {
		res->bytes_read += index_serialized_len(ix);
		if (memcmp(ix->pcap_header, hdr, sizeof(hdr)) == 0) {
			if (ix->file_size == size && ix->file_mtime_ns == mtime) {
				res->loaded = true;
				return 0;
			}
			if (size > ix->file_size && last_record_unchanged(fd, ix, &res->bytes_read)) {
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
		ret = index_builder_new(&b, hdr, chunk_bytes);
		if (ret)
			return ret;
		res->built = true;
	}
	ret = index_scan(fd, b, from, size, &res->scan);
	res->bytes_read += res->scan.bytes_read;
	if (ret)
		goto out_free;
	ret = index_builder_snapshot(b, size, mtime, ix);
	if (ret)
		goto out_free;
	res->save_error = index_save(ix, path);
	res->saved = res->save_error == 0;
out_free:
	index_builder_free(b);
	return ret;
}
