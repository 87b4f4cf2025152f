/*
 * The command line's checks after parsing (cli.c parses): what a -w name
 * asks for, what the output format can hold, the workers per interface, and
 * every combination of options that cannot work, each refused with one line
 * naming the bad value and exit status 2, before anything is opened.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "cli_impl.h"
#include "ring/ring.h"
#include "util/util.h"
#include "writer/writer.h"

/* `p` with its folder resolved ("./x", "d/../x" and "x" are one name), in out. */
static bool resolve_name(const char *p, char out[PATH_MAX])
{
	char dir[PATH_MAX], real[PATH_MAX];
	const char *slash = strrchr(p, '/');
	const char *base = slash ? slash + 1 : p;

	if (strlen(p) >= sizeof(dir))
		return false;
	path_dir(p, dir, sizeof(dir));
	if (!realpath(dir, real))
		return false;
	return snprintf(out, PATH_MAX, "%s/%s", real, base) < PATH_MAX;
}

/* One file under two names: the same resolved name, or (when both exist) the
 * same inode, a hard or symbolic link. */
static bool same_file(const char *a, const char *b)
{
	char ra[PATH_MAX], rb[PATH_MAX];
	struct stat sa, sb;

	if (strcmp(a, b) == 0)
		return true;
	if (resolve_name(a, ra) && resolve_name(b, rb) && strcmp(ra, rb) == 0)
		return true;
	return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
	       sa.st_ino == sb.st_ino;
}

/* Without --format, a -w name ending in .pcapng (a -G pattern too) asks for
 * pcapng; anything else is pcap. */
void cli_format_from_name(struct capture_config *o)
{
	static const char suffix[] = ".pcapng";
	size_t n = o->path ? strlen(o->path) : 0;

	if (n >= sizeof(suffix) && strcmp(o->path + n - (sizeof(suffix) - 1), suffix) == 0)
		o->format = WRITER_PCAPNG;
}

/* What a -w file can hold: the pcap format has one link type and no
 * interface per record, so several interfaces need pcapng (their default;
 * ringcap writes no LINUX_SLL2, which would carry the interface in pcap).
 * 0, or 2 with one line. */
static int check_output_format(const struct capture_config *o)
{
	if (o->path && o->nifaces > 1 && o->format != WRITER_PCAPNG) {
		log_err("bad option '--format pcap': %u interfaces need pcapng output (a pcap "
			"file holds one link type and no interface per record)", o->nifaces);
		return 2;
	}
	return 0;
}

/* Workers per interface: -T, else as many as --cpus lists, else the online
 * CPUs, shared among the interfaces (one at least each); all of them are
 * inputs of the one merge. 0, or 2 with one line. */
static int check_threads(struct capture_config *o)
{
	long online = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned cpus = o->ncpus ? o->ncpus : online > 0 ? (unsigned)online : 1;

	if (!o->threads_set && (o->ncpus || o->nifaces > 1))
		o->threads = cpus / o->nifaces ? cpus / o->nifaces : 1;
	if (o->threads > MAX_WORKERS)
		o->threads = MAX_WORKERS;
	if (o->threads * o->nifaces > MAX_WORKERS) {
		log_err("bad thread count '%u': %u workers on each of %u interfaces pass the "
			"limit of %u in all", o->threads, o->threads, o->nifaces, MAX_WORKERS);
		return 2;
	}
	return 0;
}

/* The checks that tie options together, after the table parse. */
int cli_check_combination(struct capture_config *o)
{
	if (!o->snaplen)
		o->snaplen = SNAPLEN_MAX;
	if (!o->nifaces) {
		log_err("no interface: -i IFACE is required (see --help)");
		return 2;
	}
	if (o->nifaces > 1 && (o->npools || o->nndp)) {
		log_err("bad option '--%s': ARP and NDP are answered on one interface, not %u",
			o->npools ? "arp" : "ndp", o->nifaces);
		return 2;
	}
	if (check_output_format(o))
		return 2;
	if (!o->path && !o->npools && !o->nndp && o->nifaces == 1) {
		log_err("nothing to do: give -w FILE, --arp POOL, --ndp POOL, or both (see --help)");
		return 2;
	}
	if (o->path && strcmp(o->path, "-") == 0 && (o->rotate_bytes || o->rotate_ns || o->max_files)) {
		log_err("bad output file '-': standard output is one stream, -C, -G and -W "
			"need files");
		return 2;
	}
	if (o->stats_json && o->path && same_file(o->stats_json, o->path)) {
		log_err("bad stats file '%s': it is the capture file", o->stats_json);
		return 2;
	}
	if (o->stats_prom && o->path && same_file(o->stats_prom, o->path)) {
		log_err("bad stats file '%s': it is the capture file", o->stats_prom);
		return 2;
	}
	if (o->index_postings && (o->no_index || !o->path || strcmp(o->path, "-") == 0)) {
		log_err("bad option '--index-postings': %s", o->no_index ? "--no-index writes no index"
			: "the index is written beside a -w FILE");
		return 2;
	}
	if (o->index_postings && o->no_index_postings) {
		log_err("bad option '--no-index-postings': it contradicts --index-postings");
		return 2;
	}
	if ((o->rotate_bytes || o->rotate_ns || o->max_files) && !o->path) {
		log_err("-C, -G and -W need -w FILE");
		return 2;
	}
	if (o->max_files == 1 && o->rotate_bytes) {
		log_err("bad file count '1': with -C there would be one name, and the next file "
			"would overwrite the current one; use -W 2 or more");
		return 2;
	}
	if ((o->z_cmd || o->min_free_bytes || o->min_free_percent || o->max_total_bytes ||
	     o->on_full_wait) && (!o->path || strcmp(o->path, "-") == 0)) {
		log_err("-z, --min-free, --max-total and --on-full wait need -w FILE (files, "
			"not a stream)");
		return 2;
	}
	/* Retention deletes closed files, and --on-full wait resumes in a new
	 * one: without rotation there would be one name. */
	if ((o->min_free_bytes || o->min_free_percent || o->max_total_bytes || o->on_full_wait) &&
	    !o->rotate_bytes && !o->rotate_ns)
		o->rotate_bytes = RETENTION_DEFAULT_FILE_BYTES;
	if (o->max_files && !o->rotate_bytes && !o->rotate_ns) {
		log_err("bad file count '%u': -W needs -C or -G", o->max_files);
		return 2;
	}
	/* Answering alone opens no capture ring and no writer. */
	if (capture_config_captures(o) && o->ring_bytes < 4ull * o->block_size) {
		log_err("bad buffer size '%llu KiB': must hold at least 4 blocks of %u bytes",
			(unsigned long long)(o->ring_bytes >> 10), o->block_size);
		return 2;
	}
	if (o->path && o->staging_bytes < 4ull * o->block_size) {
		log_err("bad staging size '%llu': must hold at least 4 blocks of %u bytes",
			(unsigned long long)o->staging_bytes, o->block_size);
		return 2;
	}
	if (check_threads(o))
		return 2;
	/* As libpcap's immediate mode ignores the buffer timeout: a partly
	 * filled block goes after 1 ms whatever --block-timeout says, and the
	 * file is written out after every block. */
	if (o->immediate) {
		o->block_timeout_ms = 1;
		o->packet_buffered = true;
	}
	return 0;
}
