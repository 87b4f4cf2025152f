/*
 * What the interface itself says about a capture: the packets its driver
 * dropped before any socket saw them (sysfs statistics, the figure tcpdump
 * prints as "dropped by interface"), and the offloads that make what the
 * sockets see differ from what was on the wire (ethtool). Main's thread, set-up
 * and timers; neither call blocks on more than a sysfs read or an ioctl.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "capture/capture_impl.h"
#include "util/util.h"

/* The driver's own receive drops, as libpcap's linux_if_drops counts them:
 * no buffer (rx_dropped, which also counts frames the stack had no handler
 * for), the NIC's missed frames and its FIFO overruns. */
static const char *const drop_files[] = { "rx_dropped", "rx_missed_errors", "rx_fifo_errors" };

/* One decimal counter from a sysfs file. 0 or -errno. */
static int read_counter(const char *path, uint64_t *out)
{
	char buf[32];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC), ret = 0;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	if (n < 0)
		ret = -errno;
	close(fd);
	if (ret)
		return ret;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return parse_u64(buf, 0, UINT64_MAX, out);
}

int capture_nic_drops(const char *sysfs_root, const char *ifname, uint64_t *out)
{
	unsigned found = 0;
	int first = 0;

	*out = 0;
	if (!ifname[0] || strchr(ifname, '/') || !strcmp(ifname, ".") || !strcmp(ifname, ".."))
		return -EINVAL;
	for (size_t i = 0; i < ARRAY_SIZE(drop_files); i++) {
		char path[512];
		uint64_t v;
		int ret;

		snprintf(path, sizeof(path), "%s/class/net/%s/statistics/%s", sysfs_root, ifname,
			 drop_files[i]);
		ret = read_counter(path, &v);
		if (ret) {
			/* a driver that lacks one counter still gives the others */
			if (!first)
				first = ret;
			continue;
		}
		*out += v;
		found++;
	}
	return found ? 0 : first;
}

/* One ETHTOOL_G* value (a struct ethtool_value command). 0 or -errno. */
static int ethtool_get(int fd, const char *ifname, uint32_t cmd, uint32_t *out)
{
	struct ethtool_value ev = { .cmd = cmd };
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	ifr.ifr_data = (void *)&ev;
	if (ioctl(fd, SIOCETHTOOL, &ifr) < 0)
		return -errno;
	*out = ev.data;
	return 0;
}

int capture_nic_offloads(const char *ifname, char *names, size_t len)
{
	/* GRO and LRO merge received segments into one large packet; GSO and
	 * TSO leave outgoing ones unsplit until the driver (or the NIC) cuts
	 * them: either way a socket sees packets no wire carried. */
	static const struct { const char *name; uint32_t cmd; uint32_t mask; } offloads[] = {
		{ "GRO", ETHTOOL_GGRO, 1 },
		{ "LRO", ETHTOOL_GFLAGS, ETH_FLAG_LRO },
		{ "GSO", ETHTOOL_GGSO, 1 },
		{ "TSO", ETHTOOL_GTSO, 1 },
	};
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), on = 0;
	size_t used = 0;

	if (len)
		names[0] = '\0';
	if (fd < 0)
		return -errno;
	for (size_t i = 0; i < ARRAY_SIZE(offloads); i++) {
		uint32_t v = 0;

		/* an interface without the operation has nothing of it on */
		if (ethtool_get(fd, ifname, offloads[i].cmd, &v) || !(v & offloads[i].mask))
			continue;
		if (used < len)
			used += (size_t)snprintf(names + used, len - used, "%s%s", on ? ", " : "",
						 offloads[i].name);
		on++;
	}
	close(fd);
	return on;
}

/* One line of a sysfs file, without its newline, into buf ("" on failure). */
static void read_line(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, buf, len - 1) : -1;

	if (fd >= 0)
		close(fd);
	buf[n > 0 ? n : 0] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
}

void capture_nic_description(const struct capture_iface *ifc, char *buf, size_t len)
{
	struct ethtool_drvinfo di = { .cmd = ETHTOOL_GDRVINFO };
	char path[128];
	struct ifreq ifr;
	int fd;

	snprintf(path, sizeof(path), "/sys/class/net/%s/ifalias", ifc->iface.name);
	read_line(path, buf, len);
	if (buf[0])
		return;
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifc->iface.name);
	ifr.ifr_data = (void *)&di;
	if (ioctl(fd, SIOCETHTOOL, &ifr) == 0)
		snprintf(buf, len, "%.*s", (int)sizeof(di.driver), di.driver);
	close(fd);
}

void capture_nic_start(struct capture *cap)
{
	for (unsigned k = 0; k < cap->nifaces; k++) {
		struct capture_iface *ifc = &cap->ifs[k];
		const char *name = ifc->iface.name;
		char names[64];
		int on;

		ifc->nic_known = capture_nic_drops("/sys", name, &ifc->nic_start) == 0;
		ifc->nic_now = ifc->nic_start;
		if (!capture_config_captures(&cap->cfg))
			continue; /* answering only: nothing is captured */
		on = capture_nic_offloads(name, names, sizeof(names));
		if (on > 0)
			log_warn("%s: offloads on (%s): packets are captured as the stack sees "
				 "them, not as they were on the wire; to capture wire packets: "
				 "ethtool -K %s gro off lro off gso off tso off", name, names, name);
	}
}

void capture_nic_update(struct capture *cap)
{
	for (unsigned k = 0; k < cap->nifaces; k++) {
		struct capture_iface *ifc = &cap->ifs[k];
		uint64_t v;

		/* a counter that went backwards (the driver reset it) or an
		 * interface that is gone keeps the last figure */
		if (ifc->nic_known && capture_nic_drops("/sys", ifc->iface.name, &v) == 0 &&
		    v >= ifc->nic_start)
			ifc->nic_now = v;
	}
}
