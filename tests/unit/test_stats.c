/* stats/: the JSON file read back with jansson (an interface name that needs
 * escaping), its line layout that scripts grep, atomic replacement, the
 * start-up check, and the --stats-interval line. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "stats/stats.h"
#include "unit.h"

static char dir[] = "/tmp/ringcap-stats.XXXXXX";

static const struct stats_worker workers[2] = {
	{ .id = 0, .cpu = 0, .received = 700, .dropped = 3, .freeze_q = 1, .blocks = 9,
	  .packets = 697, .written = 697 },
	{ .id = 1, .cpu = -1, .received = 300, .dropped = 0, .freeze_q = 0, .blocks = 4,
	  .packets = 300, .written = 0 },
};

static const struct stats_iface ifaces[] = {
	{ .name = "tapA", .received = 600, .dropped = 2, .if_dropped = 5, .captured = 597,
	  .left_in_ring = 1 },
	{ .name = "tapB", .received = 400, .dropped = 1, .captured = 399 },
};

static const struct stats_pair arp[] = {
	{ "requests", 5 }, { "replies", 4 }, { "ignored.out_of_pool", 7 },
	{ "ignored.gratuitous", 2 },
};
static const struct stats_pair ndp[] = { { "adverts_sent", 3 }, { "ignored.malformed", 1 } };
static const struct stats_group groups[] = {
	{ "arp", "ARP counter.", arp, sizeof(arp) / sizeof(arp[0]) },
	{ "ndp", "NDP counter.", ndp, sizeof(ndp) / sizeof(ndp[0]) },
};

static struct stats_snapshot sample(void)
{
	return (struct stats_snapshot){
		.ifname = "q\"\\z", .seconds = 12.3456, .received = 1000, .dropped = 3,
		.freeze_q = 1, .bad_blocks = 2, .bad_packets = 6, .captured = 997,
		.bytes_written = 123456789012ull, .files = 4, .writer = "io_uring",
		.o_direct = true, .writer_stalls = 11, .writer_stall_ns = 25250000,
		.disk_known = true, .disk_free_bytes = 5ull << 30, .disk_total_bytes = 20ull << 30,
		.retention_files_deleted = 8, .retention_bytes_deleted = 8000,
		.z_jobs_run = 3, .z_jobs_failed = 1, .z_jobs_queued = 2, .z_retried = 4, .z_failed = 5,
		.workers = workers, .nworkers = 2, .groups = groups, .ngroups = 2,
		.ifaces = ifaces, .nifaces = 2,
	};
}

static long long jint(json_t *o, const char *k)
{
	return json_integer_value(json_object_get(o, k));
}

static void test_json_read_back(void)
{
	struct stats_snapshot s = sample();
	char path[256], line[512];
	json_error_t err;
	json_t *root, *w, *a;
	bool dropped_line = false, written0 = false, arp_line = false;
	FILE *f;

	snprintf(path, sizeof(path), "%s/stats.json", dir);
	CHECK_EQ(stats_write_json(path, &s), 0);
	root = json_load_file(path, 0, &err);
	CHECK(root, "parse: %s line %d", err.text, err.line);
	if (!root)
		return;
	CHECK(!strcmp(json_string_value(json_object_get(root, "interface")), "q\"\\z"),
	      "interface came back as %s", json_string_value(json_object_get(root, "interface")));
	CHECK(json_real_value(json_object_get(root, "seconds")) == 12.346, "seconds");
	CHECK_EQ(jint(root, "captured"), 997);
	CHECK_EQ(jint(root, "received"), 1000);
	CHECK_EQ(jint(root, "dropped"), 3);
	CHECK_EQ(jint(root, "freeze_q"), 1);
	CHECK_EQ(jint(root, "bad_blocks"), 2);
	CHECK_EQ(jint(root, "bad_packets"), 6);
	CHECK_EQ(jint(root, "bytes_written"), 123456789012ull);
	CHECK_EQ(jint(root, "files"), 4);
	CHECK(!strcmp(json_string_value(json_object_get(root, "writer")), "io_uring"), "writer");
	CHECK(json_is_true(json_object_get(root, "o_direct")), "o_direct");
	CHECK_EQ(jint(root, "writer_stalls"), 11);
	CHECK(json_real_value(json_object_get(root, "writer_stall_ms")) == 25.3, "stall ms");
	CHECK_EQ(jint(root, "disk_free_bytes"), 5ull << 30);
	CHECK_EQ(jint(root, "retention_files_deleted"), 8);
	CHECK_EQ(jint(root, "retention_bytes_deleted"), 8000);
	CHECK_EQ(jint(root, "z_jobs_run"), 3);
	CHECK_EQ(jint(root, "z_retried"), 4);
	CHECK_EQ(jint(root, "z_failed"), 5);
	CHECK_EQ(jint(root, "z_jobs_failed"), 1);
	CHECK_EQ(jint(root, "z_jobs_queued"), 2);
	a = json_object_get(root, "arp");
	CHECK_EQ(jint(a, "requests"), 5);
	CHECK_EQ(jint(a, "replies"), 4);
	CHECK_EQ(jint(json_object_get(a, "ignored"), "out_of_pool"), 7);
	CHECK_EQ(jint(json_object_get(a, "ignored"), "gratuitous"), 2);
	a = json_object_get(root, "ndp");
	CHECK_EQ(jint(a, "adverts_sent"), 3);
	CHECK_EQ(jint(json_object_get(a, "ignored"), "malformed"), 1);
	w = json_object_get(root, "workers");
	CHECK_EQ(json_array_size(w), 2);
	CHECK_EQ(jint(json_array_get(w, 0), "received"), 700);
	CHECK_EQ(jint(json_array_get(w, 0), "written"), 697);
	CHECK_EQ(jint(json_array_get(w, 1), "cpu"), (unsigned long long)-1ll);
	CHECK_EQ(jint(json_array_get(w, 1), "blocks"), 4);
	w = json_object_get(root, "interfaces");
	CHECK_EQ(json_array_size(w), 2);
	CHECK(!strcmp(json_string_value(json_object_get(json_array_get(w, 1), "name")), "tapB"),
	      "second interface's name");
	CHECK_EQ(jint(json_array_get(w, 0), "captured"), 597);
	CHECK_EQ(jint(json_array_get(w, 0), "if_dropped"), 5);
	CHECK_EQ(jint(json_array_get(w, 0), "left_in_ring"), 1);
	CHECK_EQ(jint(json_array_get(w, 1), "received"), 400);
	json_decref(root);

	/* scripts read it line by line: the first line naming "dropped" is the
	 * total, each worker is one line, the ARP object one line */
	f = fopen(path, "r");
	CHECK(f, "reopen");
	while (f && fgets(line, sizeof(line), f)) {
		if (!dropped_line && strstr(line, "\"dropped\"")) {
			dropped_line = true;
			CHECK(!strcmp(line, "  \"dropped\": 3,\n"), "first dropped line: %s", line);
		}
		if (strstr(line, "\"written\": 0}"))
			written0 = strstr(line, "{\"id\": 1, \"cpu\": -1,") != NULL;
		if (strstr(line, "\"arp\": {\"requests\": 5, \"replies\": 4,"))
			arp_line = true;
	}
	if (f)
		fclose(f);
	CHECK(dropped_line && written0 && arp_line, "layout: dropped %d written0 %d arp %d",
	      dropped_line, written0, arp_line);

	/* no ARP, no file, no disk figures: fields absent or "none" */
	s.groups = NULL;
	s.writer = NULL;
	s.disk_known = false;
	CHECK_EQ(stats_write_json(path, &s), 0);
	root = json_load_file(path, 0, &err);
	CHECK(root && !json_object_get(root, "arp") && !json_object_get(root, "ndp") &&
	      !json_object_get(root, "disk_free_bytes") &&
	      !strcmp(json_string_value(json_object_get(root, "writer")), "none"),
	      "optional fields");
	json_decref(root);
	unlink(path);
}

static unsigned entries(const char *d)
{
	DIR *dh = opendir(d);
	struct dirent *e;
	unsigned n = 0;

	while (dh && (e = readdir(dh)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n++;
	if (dh)
		closedir(dh);
	return n;
}

struct reader {
	const char *path;
	atomic_bool stop;
	unsigned reads, bad;
};

/* Reads the file as fast as it can; every read must parse and agree with itself. */
static void *reader_main(void *arg)
{
	struct reader *r = arg;

	while (!atomic_load(&r->stop)) {
		json_error_t err;
		json_t *root = json_load_file(r->path, 0, &err);

		if (!root) {
			r->bad++;
			continue;
		}
		/* the writer puts the same number in "files" and in "captured" */
		if (jint(root, "files") != jint(root, "captured") ||
		    json_array_size(json_object_get(root, "workers")) != (size_t)jint(root, "files") % 3)
			r->bad++;
		r->reads++;
		json_decref(root);
	}
	return NULL;
}

static void test_atomic_replacement(void)
{
	struct stats_snapshot s = sample();
	struct stats_worker many[3] = { workers[0], workers[1], workers[0] };
	char path[256], old[4096];
	struct reader r = { .path = path };
	struct stat st0, st1;
	pthread_t t;
	ssize_t n0, n1;
	int fd;

	snprintf(path, sizeof(path), "%s/live.json", dir);
	s.files = 0;
	s.captured = 0;
	s.nworkers = 0;
	CHECK_EQ(stats_write_json(path, &s), 0);

	/* rename semantics: a reader holding the old file keeps all of it */
	fd = open(path, O_RDONLY);
	n0 = read(fd, old, sizeof(old));
	stat(path, &st0);
	s.files = s.captured = 1;
	s.nworkers = 1;
	s.workers = many;
	CHECK_EQ(stats_write_json(path, &s), 0);
	stat(path, &st1);
	CHECK(st0.st_ino != st1.st_ino, "the file was rewritten in place");
	{
		char again[4096];

		n1 = pread(fd, again, sizeof(again), 0);
		CHECK(n1 == n0 && !memcmp(old, again, (size_t)n0), "the old file changed under its reader");
	}
	close(fd);
	CHECK_EQ(st1.st_mode & 0777, 0644);

	/* a reader never sees a partial file while the writer replaces it */
	pthread_create(&t, NULL, reader_main, &r);
	for (unsigned i = 0; i < 2000; i++) {
		s.files = s.captured = i;
		s.nworkers = i % 3;
		if (stats_write_json(path, &s)) {
			CHECK(0, "write %u failed", i);
			break;
		}
	}
	atomic_store(&r.stop, true);
	pthread_join(t, NULL);
	CHECK_EQ(r.bad, 0);
	CHECK(r.reads > 0, "the reader never read");
	CHECK_EQ(entries(dir), 1); /* no temporary file left behind */

	/* a failed write leaves the old file and no temporary */
	{
		char bad[300];

		snprintf(bad, sizeof(bad), "%s/no-such-dir/x.json", dir);
		CHECK_EQ(stats_write_json(bad, &s), -ENOENT);
		CHECK_EQ(stats_write_prometheus(dir, &s), -EISDIR);
		CHECK_EQ(entries(dir), 1);
	}
	unlink(path);
}

static void test_check_writable(void)
{
	char path[256], buf[64], bad[300];
	int fd;
	ssize_t n;

	snprintf(path, sizeof(path), "%s/new.prom", dir);
	CHECK_EQ(stats_check_writable(path), 0);
	CHECK(access(path, F_OK) < 0, "the check left %s behind", path);
	CHECK_EQ(entries(dir), 0);

	fd = open(path, O_WRONLY | O_CREAT, 0644);
	CHECK_EQ(write(fd, "old content\n", 12), 12);
	close(fd);
	CHECK_EQ(stats_check_writable(path), 0);
	fd = open(path, O_RDONLY);
	n = read(fd, buf, sizeof(buf));
	close(fd);
	CHECK(n == 12 && !memcmp(buf, "old content\n", 12), "an existing file changed");
	CHECK_EQ(entries(dir), 1);
	unlink(path);

	CHECK_EQ(stats_check_writable(dir), -EISDIR);
	snprintf(bad, sizeof(bad), "%s/missing/x.json", dir);
	CHECK_EQ(stats_check_writable(bad), -ENOENT);
	CHECK_EQ(stats_check_writable("/dev/null"), -EINVAL);
	CHECK_EQ(entries(dir), 0);
}

static void test_interval_line(void)
{
	struct stats_snapshot a = sample(), b = sample();
	char line[512];

	a.received = 1000;
	a.dropped = 3;
	a.bytes_written = 1000000;
	a.writer_stalls = 11;
	a.retention_files_deleted = 8;
	b.seconds = 22.3;
	b.received = 21000;       /* 20,000 in 10 s */
	b.dropped = 10;           /* 7 in the interval */
	b.bytes_written = 126000000; /* 125 MB in 10 s = 0.1 Gbit/s */
	b.writer_stalls = 12;
	b.retention_files_deleted = 10;
	b.disk_free_bytes = 3ull << 29; /* 1.5 GiB */
	CHECK_EQ(stats_format_interval_line(line, sizeof(line), &a, &b, 10.0), 0);
	CHECK(!strcmp(line, "22.3 s: 2000 packets/s, 0.100 Gbit/s written, 7 dropped by kernel "
			    "(10 in all), 120.2 MiB written, 1 waits for the disk (12 in all), "
			    "1.5 GiB free, 2 files deleted (10 in all)"),
	      "line: %s", line);
	b.disk_known = false;
	CHECK_EQ(stats_format_interval_line(line, sizeof(line), NULL, &b, 22.3), 0);
	CHECK(strstr(line, " 10 dropped by kernel (10 in all)") && !strstr(line, "free"),
	      "from the start: %s", line);
	b.workers_active = 2; /* the workers, when the caller reports them */
	b.workers_added = 3;
	b.workers_retired = 2;
	CHECK_EQ(stats_format_interval_line(line, sizeof(line), &a, &b, 10.0), 0);
	CHECK(strstr(line, "files deleted (10 in all), 2 workers receiving (3 added, 2 retired)"),
	      "workers: %s", line);
	CHECK_EQ(stats_format_interval_line(line, 20, &a, &b, 10.0), -ENOSPC);
	CHECK_EQ(strlen(line), 19);
}

int main(void)
{
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	test_json_read_back();
	test_atomic_replacement();
	test_check_writable();
	test_interval_line();
	rmdir(dir);
	return unit_exit("test_stats");
}
