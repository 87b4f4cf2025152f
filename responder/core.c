/*
 * The neighbour responder's shared state: the ARP and NDP pools and the MAC
 * answered with, read-only once built, and the checks made on it at start.
 * Below arp.c, ndp.c, prefilter.c and service.c; calls none of them.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "responder/responder.h"
#include "responder/frame.h"

static int cmp_pool(const void *a, const void *b)
{
	const struct arp_pool_range *x = a, *y = b;

	return x->first < y->first ? -1 : x->first > y->first;
}

struct arp_responder *arp_responder_new(const struct iface *iface,
					const struct arp_pool_range *pools, unsigned npools,
					const struct ndp_pool_range *ndp, unsigned nndp,
					const uint8_t *mac)
{
	struct arp_responder *r = xcalloc(1, sizeof(*r));
	unsigned n = 0;

	r->iface = *iface;
	memcpy(r->mac, mac ? mac : iface->mac, 6);

	/* Any-VLAN pools sorted and merged, so a lookup is one binary search;
	 * pools of one VLAN are few and looked through in turn. */
	r->pools = xcalloc(npools + 1, sizeof(*r->pools));
	r->vpools = xcalloc(npools + 1, sizeof(*r->vpools));
	for (unsigned i = 0; i < npools; i++) {
		if (pools[i].vid == ARP_VID_ANY)
			r->pools[r->npools++] = pools[i];
		else
			r->vpools[r->nvpools++] = pools[i];
	}
	qsort(r->pools, r->npools, sizeof(*r->pools), cmp_pool);
	for (unsigned i = 0; i < r->npools; i++) {
		if (n && (uint64_t)r->pools[n - 1].last + 1 >= r->pools[i].first) {
			if (r->pools[i].last > r->pools[n - 1].last)
				r->pools[n - 1].last = r->pools[i].last;
		} else {
			r->pools[n++] = r->pools[i];
		}
	}
	r->npools = n;
	r->ndp = xcalloc(nndp + 1, sizeof(*r->ndp));
	if (nndp)
		memcpy(r->ndp, ndp, nndp * sizeof(*ndp));
	r->nndp = nndp;
	return r;
}

void arp_responder_free(struct arp_responder *r)
{
	if (!r)
		return;
	xfree(r->pools);
	xfree(r->vpools);
	xfree(r->ndp);
	xfree(r);
}

bool mac_is_unicast(const uint8_t mac[6])
{
	return !(mac[0] & 1) && !mac_is_zero(mac);
}

/* In any pool, whatever its VLAN: the set-up check looks through them all. */
static bool ipv4_in_any_pool(const struct arp_responder *r, uint32_t ip)
{
	for (unsigned k = 0; k < r->npools + r->nvpools; k++) {
		const struct arp_pool_range *q = arp_pool_at(r, k);

		if (ip >= q->first && ip <= q->last)
			return true;
	}
	return false;
}

static bool ipv6_in_any_pool(const struct arp_responder *r, const uint8_t ip[16])
{
	for (unsigned k = 0; k < r->nndp; k++)
		if (memcmp(ip, r->ndp[k].first, 16) >= 0 && memcmp(ip, r->ndp[k].last, 16) <= 0)
			return true;
	return false;
}

int arp_check_own_addresses(const struct arp_responder *r, char *msg, size_t msglen)
{
	struct ifaddrs *ifa, *i;
	int ret = 0;

	if (getifaddrs(&ifa) < 0)
		return -errno;
	for (i = ifa; i && !ret; i = i->ifa_next) {
		char a[INET6_ADDRSTRLEN];
		const char *proto;

		if (!i->ifa_addr || strcmp(i->ifa_name, r->iface.name))
			continue;
		if (i->ifa_addr->sa_family == AF_INET) {
			const struct in_addr *ip = &((struct sockaddr_in *)(void *)i->ifa_addr)->sin_addr;

			if (!ipv4_in_any_pool(r, ntohl(ip->s_addr)))
				continue;
			inet_ntop(AF_INET, ip, a, sizeof(a));
			proto = "ARP";
		} else if (i->ifa_addr->sa_family == AF_INET6) {
			const uint8_t *ip = ((struct sockaddr_in6 *)(void *)i->ifa_addr)->sin6_addr.s6_addr;

			if (!ipv6_in_any_pool(r, ip))
				continue;
			inet_ntop(AF_INET6, ip, a, sizeof(a));
			proto = "NDP";
		} else {
			continue;
		}
		snprintf(msg, msglen, "bad %s pool: it holds %s, an address of %s (the kernel "
			 "answers for it too); give --arp-allow-own to answer anyway",
			 proto, a, r->iface.name);
		ret = -EADDRINUSE;
	}
	freeifaddrs(ifa);
	return ret;
}
