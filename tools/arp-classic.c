/*
 * arp-classic — the reference ARP responder: what people ran before ringcap
 * answered ARP itself (a small event-loop program over one packet socket), minus libev.
 *
 *   arp-classic -i IFACE --arp POOL [--arp POOL ...] [--arp-mac MAC]
 *               [--duration S] [--json]
 *
 * One AF_PACKET SOCK_RAW socket: created with protocol 0 (it receives nothing
 * yet), the classic BPF filter attached (ARP requests for IPv4 over Ethernet
 * whose target lies in a pool: neighbour_prefilter, compiled by libpcap, the
 * same program ringcap puts in the kernel), then bound to IFACE for ETH_P_ARP.
 * Per request: one blocking recvfrom(), the reply built by arp_build_reply (the
 * project's one definition of the reply bytes), one sendto(). It is the
 * baseline arm of bench/arp-bench.sh and the oracle of
 * tests/integ/arp_vs_classic.sh.
 *
 * At exit (SIGINT, SIGTERM or --duration) prints on stderr the frames
 * received, requests answered, replies sent, ignored frames by reason and the
 * kernel's drops for the socket (PACKET_STATISTICS); with --json also one JSON
 * line on stdout. Prints "arp-classic: listening on IFACE" once ready.
 *
 * Exit status: 0 done, 1 a failure while running, 2 bad arguments or set-up.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util/opt.h"
#include "ring/ring.h"
#include "responder/responder.h"

struct classic {
	const char *ifname;
	struct arp_pool_range pools[MAX_ARP_POOLS];
	unsigned npools;
	uint8_t mac[6];
	bool mac_set;
	uint64_t duration_ns;
	bool json;

	struct arp_responder *r;
	struct filter filter;
	int fd;
	uint64_t received;     /* frames the filter let through */
	uint64_t sent;         /* replies sendto() accepted */
	uint64_t send_errors;
	uint64_t kernel_packets, kernel_drops;
	struct responder_counters c;
};

static volatile sig_atomic_t stop_sig;

static void on_signal(int sig)
{
	stop_sig = sig;
}

/* --arp, repeatable: one more pool. */
static const char *opt_pool(const char *arg, void *field)
{
	struct classic *cl = field;
	int ret;

	if (cl->npools == MAX_ARP_POOLS)
		return "too many pools (at most 64)";
	ret = arp_parse_pool(arg, &cl->pools[cl->npools]);
	if (ret == -ERANGE)
		return strchr(arg, '/') ? "host bits set in a CIDR block"
					: "inverted range (first address above last)";
	if (ret)
		return "expected A-B, A/len or A (IPv4)";
	cl->npools++;
	return NULL;
}

static void parse_args(struct classic *cl, int argc, char **argv)
{
	const struct opt table[] = {
		{ .name = "interface", .letter = 'i', .type = OPT_STRING, .field = &cl->ifname,
		  .required = true, .arg = "IFACE", .help = "interface to answer on" },
		{ .name = "arp", .type = OPT_CUSTOM, .field = cl, .parse = opt_pool,
		  .required = true, .what = "ARP pool", .arg = "POOL", .help = "answer for POOL: A-B, A/len or A; repeatable" },
		{ .name = "arp-mac", .type = OPT_MAC, .field = cl->mac, .given = &cl->mac_set,
		  .what = "MAC address", .arg = "MAC", .help = "hardware address in replies (default: IFACE's)" },
		{ .name = "duration", .type = OPT_DURATION, .field = &cl->duration_ns,
		  .what = "duration", .arg = "S", .help = "stop after S seconds (default: SIGINT/SIGTERM)" },
		{ .name = "json", .type = OPT_FLAG, .field = &cl->json,
		  .help = "also print the counters as one JSON line on stdout" },
	};
	const struct opt_prog prog = {
		.synopsis =
		"Usage: arp-classic -i IFACE --arp POOL [--arp POOL ...] [--arp-mac MAC]\n"
		"                   [--duration S] [--json]\n"
		"The reference ARP responder: one AF_PACKET socket with a classic BPF filter,\n"
		"one recvfrom() and one sendto() per request.\n"
		"\n",
		.epilogue =
		"\n"
		"Example:\n"
		"  arp-classic -i veth1 --arp 198.18.1.0/24 --arp 198.18.3.10-198.18.3.20\n",
		.opts = table, .nopts = ARRAY_SIZE(table), .in_order = true,
	};
	int rest = opt_parse_or_exit(&prog, argc, argv);

	if (rest < argc)
		opt_die("argument", argv[rest], "no filter expression: the filter is the pools");
}

/* socket(protocol 0) → filter → bind(ETH_P_ARP): nothing unfiltered is queued. */
static int open_socket(struct classic *cl)
{
	char err[FILTER_ERR_LEN];
	struct sockaddr_ll sll;
	char *expr;
	int ret;

	expr = neighbour_prefilter(cl->r);
	ret = filter_compile(&cl->filter, expr, 256, err, sizeof(err));
	xfree(expr);
	if (ret) {
		log_err("filter: %s", err);
		return ret;
	}
	cl->fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
	if (cl->fd < 0) {
		ret = -errno;
		log_err("socket(AF_PACKET): %s", strerror(-ret));
		return ret;
	}
	if (setsockopt(cl->fd, SOL_SOCKET, SO_ATTACH_FILTER, &cl->filter.prog,
		       sizeof(cl->filter.prog)) < 0) {
		ret = -errno;
		log_err("SO_ATTACH_FILTER on %s: %s", cl->ifname, strerror(-ret));
		return ret;
	}
	memset(&sll, 0, sizeof(sll));
	sll.sll_family = AF_PACKET;
	sll.sll_protocol = htons(ETH_P_ARP);
	sll.sll_ifindex = cl->r->iface.index;
	if (bind(cl->fd, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
		ret = -errno;
		log_err("bind on %s: %s", cl->ifname, strerror(-ret));
		return ret;
	}
	return 0;
}

static int set_timeout(int fd, uint64_t ns)
{
	struct timeval tv = { .tv_sec = (time_t)(ns / 1000000000ull),
			      .tv_usec = (suseconds_t)(ns % 1000000000ull / 1000) };

	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0)
		return -errno;
	return 0;
}

static void read_stats(struct classic *cl)
{
	struct tpacket_stats st;
	socklen_t len = sizeof(st);

	/* Zeroed by the kernel on read; tp_packets includes tp_drops. */
	if (getsockopt(cl->fd, SOL_PACKET, PACKET_STATISTICS, &st, &len) == 0) {
		cl->kernel_packets += st.tp_packets;
		cl->kernel_drops += st.tp_drops;
	}
}

/* One request in, one reply out, until a signal or the duration. */
static int serve(struct classic *cl)
{
	uint64_t t_end = cl->duration_ns ? now_ns() + cl->duration_ns : 0;
	uint8_t buf[2048], reply[ARP_REPLY_MAX];
	struct sockaddr_ll to;
	int ret;

	/* A signal ends recvfrom() with EINTR; the timeout covers one that
	 * lands between the check of stop_sig and the call, and the clock. */
	if ((ret = set_timeout(cl->fd, 100 * 1000 * 1000))) {
		log_err("SO_RCVTIMEO on %s: %s", cl->ifname, strerror(-ret));
		return ret;
	}
	memset(&to, 0, sizeof(to));
	to.sll_family = AF_PACKET;
	to.sll_protocol = htons(ETH_P_ARP);
	to.sll_ifindex = cl->r->iface.index;
	to.sll_halen = 6;
	while (!stop_sig && (!t_end || now_ns() < t_end)) {
		ssize_t n = recvfrom(cl->fd, buf, sizeof(buf), 0, NULL, NULL);

		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			ret = -errno;
			log_err("recvfrom on %s: %s", cl->ifname, strerror(-ret));
			return ret;
		}
		struct pkt_view p = { .data = buf, .caplen = (uint32_t)n, .len = (uint32_t)n };
		uint32_t len;

		cl->received++;
		len = arp_build_reply(cl->r, &p, reply, &cl->c);
		if (!len)
			continue;
		memcpy(to.sll_addr, reply, 6);
		if (sendto(cl->fd, reply, len, 0, (struct sockaddr *)&to, sizeof(to)) < 0) {
			cl->send_errors++;
			continue;
		}
		cl->sent++;
	}
	return 0;
}

static void report(const struct classic *cl)
{
	const struct responder_counters *c = &cl->c;

	fprintf(stderr,
		"arp-classic: %llu frames received, %llu requests for pool addresses, "
		"%llu replies sent, %llu send errors, %llu dropped by kernel\n",
		(unsigned long long)cl->received, (unsigned long long)c->arp_answered,
		(unsigned long long)cl->sent, (unsigned long long)cl->send_errors,
		(unsigned long long)cl->kernel_drops);
	fprintf(stderr,
		"arp-classic: ignored: %llu outside pools, %llu not requests, %llu gratuitous, "
		"%llu from our MAC, %llu malformed\n",
		(unsigned long long)c->arp_ign_out_of_pool, (unsigned long long)c->arp_ign_not_request,
		(unsigned long long)c->arp_ign_gratuitous, (unsigned long long)c->arp_ign_own,
		(unsigned long long)c->arp_ign_malformed);
	if (cl->json)
		printf("{\"received\":%llu,\"requests\":%llu,\"replies\":%llu,\"probes_answered\":%llu,"
		       "\"send_errors\":%llu,\"kernel_packets\":%llu,\"dropped\":%llu,"
		       "\"ignored\":{\"out_of_pool\":%llu,\"not_request\":%llu,\"gratuitous\":%llu,"
		       "\"own_mac\":%llu,\"malformed\":%llu}}\n",
		       (unsigned long long)cl->received, (unsigned long long)c->arp_answered,
		       (unsigned long long)cl->sent, (unsigned long long)c->arp_probes,
		       (unsigned long long)cl->send_errors,
		       (unsigned long long)cl->kernel_packets, (unsigned long long)cl->kernel_drops,
		       (unsigned long long)c->arp_ign_out_of_pool, (unsigned long long)c->arp_ign_not_request,
		       (unsigned long long)c->arp_ign_gratuitous, (unsigned long long)c->arp_ign_own,
		       (unsigned long long)c->arp_ign_malformed);
}

int main(int argc, char **argv)
{
	static struct classic cl = { .fd = -1 };
	struct iface ifc;
	struct sigaction sa;
	int ret;

	log_set_program("arp-classic");
	parse_args(&cl, argc, argv);

	/* No SA_RESTART: a signal ends the blocking recvfrom() with EINTR. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	ret = iface_lookup(cl.ifname, &ifc);
	if (ret)
		opt_die("interface", cl.ifname, ret == -ENODEV ? "no such device" : strerror(-ret));
	cl.r = arp_responder_new(&ifc, cl.pools, cl.npools, NULL, 0, cl.mac_set ? cl.mac : NULL);
	if (open_socket(&cl)) {
		ret = 2;
		goto out;
	}
	fprintf(stderr, "arp-classic: listening on %s, %u pools\n", cl.ifname, cl.r->npools);
	ret = serve(&cl) ? 1 : 0;
	read_stats(&cl);
	report(&cl);
out:
	if (cl.fd >= 0)
		close(cl.fd);
	filter_free(&cl.filter);
	arp_responder_free(cl.r);
	return ret;
}
