/*
 * capture/nic.c's drop reader against a fake sysfs folder: the three driver
 * counters are summed, a counter the driver lacks counts 0, an interface
 * without any is an error, a name that would leave the folder is refused,
 * and a file that is not a number is not taken for one.
 */
#include <errno.h>
#include <sys/stat.h>

#include "capture/capture.h"
#include "tests/unit/unit.h"

static void put(const char *root, const char *ifname, const char *file, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/class", root);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/class/net", root);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/class/net/%s", root, ifname);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/class/net/%s/statistics", root, ifname);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/class/net/%s/statistics/%s", root, ifname, file);
	f = fopen(path, "w");
	CHECK(f != NULL, "fopen %s", path);
	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

int main(void)
{
	char root[] = "/tmp/ringcap-test-nic.XXXXXX", cmd[600];
	uint64_t v = 99;

	CHECK(mkdtemp(root) != NULL, "mkdtemp");
	put(root, "eth1", "rx_dropped", "7\n");
	put(root, "eth1", "rx_missed_errors", "30\n");
	put(root, "eth1", "rx_fifo_errors", "500\n");
	put(root, "eth1", "rx_errors", "100000\n"); /* not a drop: not counted */
	CHECK_EQ(capture_nic_drops(root, "eth1", &v), 0);
	CHECK_EQ(v, 537);

	/* veth has no FIFO: the others still count */
	put(root, "veth0", "rx_dropped", "18446744073709551000\n");
	CHECK_EQ(capture_nic_drops(root, "veth0", &v), 0);
	CHECK_EQ(v, 18446744073709551000ull);

	CHECK_EQ(capture_nic_drops(root, "nosuch", &v), -ENOENT);
	CHECK_EQ(v, 0);
	CHECK_EQ(capture_nic_drops(root, "../net/eth1", &v), -EINVAL);
	CHECK_EQ(capture_nic_drops(root, "..", &v), -EINVAL);
	CHECK_EQ(capture_nic_drops(root, "", &v), -EINVAL);

	put(root, "bad0", "rx_dropped", "12abc\n");
	CHECK(capture_nic_drops(root, "bad0", &v) < 0, "a non-number was read as %llu",
	      (unsigned long long)v);

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	CHECK_EQ(system(cmd), 0);
	return unit_exit("test_nic_drops");
}
