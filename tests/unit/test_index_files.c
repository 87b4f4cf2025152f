/*
 * The index's files in a capture folder others may write to: a symbolic link
 * planted at any name the save could use (the old predictable temporary
 * .NAME.ridx.tmpPID, the index's own name) is never followed, so its target
 * is untouched; an index copied beside another file of the same size and
 * mtime is not taken as that file's; a FIFO or a link at the index's name is
 * refused at once (no wait) and replaced by a real index.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "index/index.h"
#include "unit.h"
#include "util/util.h"

#define NREC 300
#define VICTIM_TEXT "victim: must stay as it is\n"

static char dir[] = "/tmp/test_index_files.XXXXXX";

/* A pcap of NREC Ethernet/IPv4 records, one every millisecond from `sec`,
 * source 198.18.`net`.x; the same size whatever `sec` and `net`. */
static void write_pcap(const char *path, uint32_t sec, uint8_t net)
{
	uint8_t buf[24 + NREC * (16 + 60)], *p = buf;
	uint32_t h[6] = { PCAP_MAGIC_MICRO, 2u | 4u << 16, 0, 0, 65535, LINKTYPE_ETHERNET };
	int fd;

	memcpy(p, h, sizeof(h));
	p += sizeof(h);
	for (uint32_t i = 0; i < NREC; i++) {
		uint32_t r[4] = { sec + i / 1000, (i % 1000) * 1000, 60, 60 };
		uint8_t f[60] = { 0 };

		f[12] = 0x08; /* IPv4 */
		f[14] = 0x45;
		f[26] = 198, f[27] = 18, f[28] = net, f[29] = (uint8_t)i;
		f[30] = 198, f[31] = 19, f[32] = 0, f[33] = 1;
		memcpy(p, r, sizeof(r));
		memcpy(p + sizeof(r), f, sizeof(f));
		p += sizeof(r) + sizeof(f);
	}
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, 0644);
	CHECK(fd >= 0 && write(fd, buf, sizeof(buf)) == (ssize_t)sizeof(buf), "write %s", path);
	close(fd);
}

static void write_text(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, 0644);

	CHECK(fd >= 0 && write(fd, text, strlen(text)) == (ssize_t)strlen(text), "write %s", path);
	close(fd);
}

static bool victim_intact(const char *path)
{
	char got[128] = { 0 };
	int fd = open(path, O_RDONLY);
	ssize_t n = fd >= 0 ? read(fd, got, sizeof(got) - 1) : -1;

	if (fd >= 0)
		close(fd);
	return n == (ssize_t)strlen(VICTIM_TEXT) && !strcmp(got, VICTIM_TEXT);
}

static int refresh(const char *path, bool force, struct index *ix, struct index_refresh_result *res)
{
	int fd = open(path, O_RDONLY), ret;

	ret = index_refresh(path, fd, force, 0, ix, res);
	close(fd);
	return ret;
}

/* Links at the old temporary name (this process's pid, as the old save used)
 * and at the index's own name: every way of saving leaves the victim alone. */
static void test_planted_links(void)
{
	char cap[256], idx[256], tmp[300], victim[256];
	struct index_refresh_result res;
	struct index_builder *b;
	struct index ix;
	struct stat st;

	snprintf(cap, sizeof(cap), "%s/l.pcap", dir);
	snprintf(victim, sizeof(victim), "%s/victim", dir);
	index_path_for(cap, idx, sizeof(idx));
	snprintf(tmp, sizeof(tmp), "%s.tmp%d", idx, (int)getpid());
	write_pcap(cap, 1764597600, 1);
	write_text(victim, VICTIM_TEXT);
	CHECK(symlink(victim, tmp) == 0, "symlink at %s", tmp);

	/* index_refresh (ringcap-read), with no index yet */
	CHECK(refresh(cap, false, &ix, &res) == 0 && res.built, "refresh");
	CHECK(res.saved, "index not saved beside the file: %s", strerror(-res.save_error));
	index_free(&ix);
	CHECK(victim_intact(victim), "the link at the temporary name was followed (refresh)");
	CHECK(lstat(tmp, &st) == 0 && S_ISLNK(st.st_mode), "the planted link is gone");
	CHECK(lstat(idx, &st) == 0 && S_ISREG(st.st_mode), "no index at %s", idx);

	/* a link at the index's own name: refused as an index, replaced, not followed */
	CHECK(unlink(idx) == 0 && symlink(victim, idx) == 0, "symlink at %s", idx);
	CHECK(refresh(cap, false, &ix, &res) == 0 && res.refused && res.built && res.saved,
	      "a link at the index name: refused %d built %d saved %d", res.refused, res.built, res.saved);
	index_free(&ix);
	CHECK(victim_intact(victim), "the link at the index name was followed (refresh)");
	CHECK(lstat(idx, &st) == 0 && S_ISREG(st.st_mode), "the index did not replace the link");

	/* index_builder_write (ringcap at each rotation), both links in place */
	CHECK(unlink(idx) == 0 && symlink(victim, idx) == 0, "symlink at %s", idx);
	CHECK(refresh(cap, true, &ix, &res) == 0, "rebuild");
	CHECK(index_builder_resume(&b, &ix) == 0, "resume");
	CHECK(unlink(idx) == 0 && symlink(victim, idx) == 0, "symlink at %s", idx);
	CHECK_EQ(index_builder_write(b, cap), 0);
	index_builder_free(b);
	CHECK(victim_intact(victim), "a planted link was followed (builder write)");
	CHECK(lstat(idx, &st) == 0 && S_ISREG(st.st_mode), "builder write: no index at %s", idx);
	CHECK(refresh(cap, false, &ix, &res) == 0 && res.loaded, "the written index is not taken as fresh");
	index_free(&ix);

	/* index_save directly, to a name that is a link */
	CHECK(unlink(idx) == 0 && symlink(victim, idx) == 0, "symlink at %s", idx);
	CHECK(refresh(cap, true, &ix, &res) == 0, "rebuild");
	CHECK(res.saved && victim_intact(victim), "index_save followed a link");
	index_free(&ix);

	/* a capture file that is itself a link is not indexed through it */
	CHECK(unlink(tmp) == 0, "unlink");
	snprintf(tmp, sizeof(tmp), "%s/link.pcap", dir);
	CHECK(symlink(cap, tmp) == 0, "symlink");
	CHECK(refresh(cap, true, &ix, &res) == 0 && index_builder_resume(&b, &ix) == 0, "builder");
	CHECK_EQ(index_builder_write(b, tmp), -ELOOP);
	index_builder_free(b);
	unlink(tmp);
}

/* Another file's index copied beside a file of the same size, its mtime set
 * to match: not this file's, so rebuilt, and the records are this file's. */
static void test_copied_index(void)
{
	char a[256], b[256], ia[256], ib[256], cmd[1200];
	struct index_refresh_result res;
	struct index ix;
	struct stat sa, sb;
	struct timespec times[2];

	snprintf(a, sizeof(a), "%s/a.pcap", dir);
	snprintf(b, sizeof(b), "%s/b.pcap", dir);
	index_path_for(a, ia, sizeof(ia));
	index_path_for(b, ib, sizeof(ib));
	write_pcap(a, 1764597600, 2);
	write_pcap(b, 1764601200, 3); /* an hour later, other hosts */
	CHECK(refresh(a, false, &ix, &res) == 0 && res.saved, "index a");
	index_free(&ix);
	snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", ia, ib);
	CHECK(system(cmd) == 0, "%s", cmd);
	CHECK(stat(a, &sa) == 0, "stat");
	times[0] = sa.st_atim;
	times[1] = sa.st_mtim;
	CHECK(utimensat(AT_FDCWD, b, times, 0) == 0, "utimensat");
	CHECK(stat(b, &sb) == 0 && sb.st_size == sa.st_size && sb.st_mtim.tv_sec == sa.st_mtim.tv_sec &&
	      sb.st_mtim.tv_nsec == sa.st_mtim.tv_nsec, "b is not a's size and mtime");

	CHECK(refresh(b, false, &ix, &res) == 0, "refresh b");
	CHECK(!res.loaded && res.built, "a's index taken as b's (loaded %d)", res.loaded);
	CHECK_EQ(ix.records, NREC);
	CHECK(ix.first_ns == 1764601200ull * 1000000000ull, "b's first time: %llu",
	      (unsigned long long)ix.first_ns);
	CHECK(ix.nchunks && index_chunk_may_have4(&ix, &ix.chunks[0], 0xc6120300u, 0xc61203ffu) &&
	      !index_chunk_may_have4(&ix, &ix.chunks[0], 0xc6120200u, 0xc61202ffu), "b's addresses");
	index_free(&ix);
	/* and now b's own index is taken as it is */
	CHECK(refresh(b, false, &ix, &res) == 0 && res.loaded, "b's own index not loaded");
	index_free(&ix);
}

/* A FIFO at the index's name: no wait for a writer, refused, replaced. */
static void test_fifo_index(void)
{
	char cap[256], idx[256];
	struct index_refresh_result res;
	struct index ix;
	struct stat st;

	snprintf(cap, sizeof(cap), "%s/f.pcap", dir);
	index_path_for(cap, idx, sizeof(idx));
	write_pcap(cap, 1764597600, 4);
	CHECK(mkfifo(idx, 0644) == 0, "mkfifo");
	alarm(20); /* a blocking open would hang here: SIGALRM fails the test */
	CHECK_EQ(index_load(idx, &ix), -ENOTSUP);
	CHECK(refresh(cap, false, &ix, &res) == 0 && res.refused && res.built && res.saved,
	      "a FIFO index: refused %d built %d saved %d", res.refused, res.built, res.saved);
	alarm(0);
	CHECK_EQ(ix.records, NREC);
	index_free(&ix);
	CHECK(lstat(idx, &st) == 0 && S_ISREG(st.st_mode), "the FIFO was not replaced");
}

int main(void)
{
	char cmd[300];

	CHECK(mkdtemp(dir) != NULL, "mkdtemp");
	test_planted_links();
	test_copied_index();
	test_fifo_index();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd))
		fprintf(stderr, "could not remove %s\n", dir);
	return unit_exit("test_index_files");
}
