/* stats_write_prometheus: the file is accepted by `promtool check metrics`
 * (Debian package prometheus; skip without it), label values are escaped as
 * the text format says, and every family has HELP and TYPE. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "stats/stats.h"
#include "unit.h"

static bool has_line(const char *path, const char *want)
{
	char line[1024];
	FILE *f = fopen(path, "r");
	bool found = false;

	while (f && !found && fgets(line, sizeof(line), f))
		found = !strcmp(line, want);
	if (f)
		fclose(f);
	return found;
}

int main(void)
{
	static const struct stats_worker workers[2] = {
		{ .id = 0, .cpu = 0, .received = 700, .dropped = 3, .written = 697 },
		{ .id = 1, .cpu = 1, .received = 300, .written = 300 },
	};
	static const struct stats_iface ifaces[2] = {
		{ .name = "tapA", .received = 600, .dropped = 2, .if_dropped = 4, .captured = 598 },
		{ .name = "tap\"B", .received = 400, .dropped = 1, .captured = 399 },
	};
	static const struct stats_pair arp[] = { { "requests", 5 }, { "ignored.out_of_pool", 7 } };
	static const struct stats_pair ndp[] = { { "adverts_sent", 3 } };
	static const struct stats_group groups[] = {
		{ "arp", "ARP responder counter.", arp, 2 },
		{ "ndp", "NDP responder counter.", ndp, 1 },
	};
	struct stats_snapshot s = {
		.ifname = "q\"\\z\nx", .seconds = 3.5, .received = 1000, .dropped = 3,
		.captured = 997, .bytes_written = 4096, .files = 2, .writer = "pwrite",
		.writer_stalls = 1, .writer_stall_ns = 1500000, .disk_known = true,
		.disk_free_bytes = 1ull << 30, .disk_total_bytes = 4ull << 30,
		.retention_files_deleted = 2, .retention_bytes_deleted = 2048, .z_jobs_run = 1,
		.z_retried = 6, .z_failed = 2,
		.workers = workers, .nworkers = 2, .groups = groups, .ngroups = 2,
		.ifaces = ifaces, .nifaces = 2,
	};
	char dir[] = "/tmp/ringcap-prom.XXXXXX", path[256], cmd[512];
	int rc;

	if (!mkdtemp(dir))
		return 1;
	snprintf(path, sizeof(path), "%s/ringcap.prom", dir);
	CHECK_EQ(stats_write_prometheus(path, &s), 0);

	CHECK(has_line(path, "ringcap_packets_received_total{interface=\"q\\\"\\\\z\\nx\"} 1000\n"),
	      "escaped interface label missing");
	CHECK(has_line(path, "# TYPE ringcap_kernel_drops_total counter\n"), "TYPE line");
	CHECK(has_line(path, "ringcap_worker_kernel_drops_total{interface=\"q\\\"\\\\z\\nx\",worker=\"0\"} 3\n"),
	      "per-worker series");
	CHECK(has_line(path, "ringcap_disk_free_bytes{interface=\"q\\\"\\\\z\\nx\"} 1073741824\n"),
	      "free bytes gauge");
	CHECK(has_line(path, "ringcap_retention_deleted_bytes_total{interface=\"q\\\"\\\\z\\nx\"} 2048\n"),
	      "retention bytes");
	CHECK(has_line(path, "ringcap_z_retried_total{interface=\"q\\\"\\\\z\\nx\"} 6\n"), "z retried");
	CHECK(has_line(path, "ringcap_z_failed_files_total{interface=\"q\\\"\\\\z\\nx\"} 2\n"), "z failed");
	CHECK(has_line(path, "ringcap_arp_ignored_out_of_pool_total{interface=\"q\\\"\\\\z\\nx\"} 7\n"),
	      "arp counter");
	CHECK(has_line(path, "ringcap_ndp_adverts_sent_total{interface=\"q\\\"\\\\z\\nx\"} 3\n"),
	      "ndp counter");
	CHECK(has_line(path, "# HELP ringcap_ndp_adverts_sent_total NDP responder counter.\n"),
	      "group help");
	CHECK(has_line(path, "ringcap_iface_packets_captured_total{interface=\"tapA\"} 598\n") &&
	      has_line(path, "ringcap_iface_packets_captured_total{interface=\"tap\\\"B\"} 399\n"),
	      "per-interface captured");
	CHECK(has_line(path, "ringcap_iface_nic_drops_total{interface=\"tapA\"} 4\n") &&
	      has_line(path, "ringcap_iface_kernel_drops_total{interface=\"tap\\\"B\"} 1\n") &&
	      has_line(path, "# TYPE ringcap_iface_packets_received_total counter\n"),
	      "per-interface drops");
	CHECK(has_line(path, "ringcap_writer_wait_seconds_total{interface=\"q\\\"\\\\z\\nx\"} 0.001500000\n"),
	      "wait seconds");

	rc = system("command -v promtool >/dev/null 2>&1");
	if (rc != 0) {
		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		if (system(cmd)) {}
		if (unit_failures)
			return unit_exit("test_stats_prom");
		printf("SKIP: promtool not installed (Debian package prometheus)\n");
		return 77;
	}
	/* promtool lints too: any complaint fails the test */
	snprintf(cmd, sizeof(cmd), "promtool check metrics < %s > %s/lint 2>&1", path, dir);
	rc = system(cmd);
	if (rc) {
		snprintf(cmd, sizeof(cmd), "cat %s/lint >&2", dir);
		if (system(cmd)) {}
	}
	CHECK_EQ(rc, 0);
	snprintf(cmd, sizeof(cmd), "test ! -s %s/lint", dir);
	CHECK(system(cmd) == 0, "promtool printed warnings");

	/* a broken file is refused by the same command: the check can fail */
	snprintf(cmd, sizeof(cmd), "printf 'ringcap_x{interface=\"a\"b\"} 1\\n' | promtool check metrics >/dev/null 2>&1");
	CHECK(system(cmd) != 0, "promtool accepted a broken label");

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd)) {}
	return unit_exit("test_stats_prom");
}
