/*
 * The elastic pool's fanout programs, run by a small classic-BPF interpreter
 * of the instructions they use, over packets laid out as the kernel's fanout
 * hook sees them (loads at SKF_NET_OFF are relative to the network header):
 * every member chosen is below `active`; one active member takes everything;
 * the hash is symmetric (a flow's two directions share a member), keeps a
 * flow on one member, spreads many flows over every member, hashes IPv4
 * fragments by their addresses alone, and sends what is not IP to member 0;
 * the lb/cpu/qm programs follow their ancillary value modulo `active`.
 */
#include <arpa/inet.h>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <netinet/in.h>

#include "ring/ring.h"
#include "unit.h"

/* What the kernel would give the program. */
struct pkt {
	uint16_t proto;          /* skb->protocol, host order */
	uint32_t cpu, queue, rnd;
	uint8_t net[80];         /* from the network header on */
	unsigned len;
};

static bool load(const struct pkt *p, uint32_t k, unsigned size, uint32_t *v)
{
	if (k >= (uint32_t)SKF_AD_OFF) {
		switch (k - (uint32_t)SKF_AD_OFF) {
		case SKF_AD_PROTOCOL: *v = p->proto; return true;
		case SKF_AD_CPU: *v = p->cpu; return true;
		case SKF_AD_QUEUE: *v = p->queue; return true;
		case SKF_AD_RANDOM: *v = p->rnd; return true;
		}
		return false;
	}
	if (k < (uint32_t)SKF_NET_OFF) {
		CHECK(0, "a load not relative to the network header: %u", k);
		return false;
	}
	k -= (uint32_t)SKF_NET_OFF;
	if (k + size > p->len)
		return false; /* the kernel ends the program: 0 */
	*v = 0;
	for (unsigned i = 0; i < size; i++)
		*v = *v << 8 | p->net[k + i];
	return true;
}

/* Runs prog over p; the return value, or -1 for an instruction it lacks. */
static long run(const struct sock_filter *prog, unsigned n, const struct pkt *p)
{
	static const unsigned sizes[] = { [BPF_W] = 4, [BPF_H] = 2, [BPF_B] = 1 };
	uint32_t a = 0, x = 0, mem[BPF_MEMWORDS] = { 0 }, v;

	for (unsigned pc = 0; pc < n; pc++) {
		const struct sock_filter *f = &prog[pc];

		switch (f->code) {
		case BPF_LD | BPF_W | BPF_ABS: case BPF_LD | BPF_H | BPF_ABS:
		case BPF_LD | BPF_B | BPF_ABS:
			if (!load(p, f->k, sizes[BPF_SIZE(f->code)], &v))
				return 0;
			a = v;
			break;
		case BPF_LD | BPF_H | BPF_IND:
			if (!load(p, f->k + x, 2, &v))
				return 0;
			a = v;
			break;
		case BPF_LD | BPF_MEM: a = mem[f->k]; break;
		case BPF_LDX | BPF_MEM: x = mem[f->k]; break;
		case BPF_ST: mem[f->k] = a; break;
		case BPF_MISC | BPF_TAX: x = a; break;
		case BPF_ALU | BPF_XOR | BPF_X: a ^= x; break;
		case BPF_ALU | BPF_AND | BPF_K: a &= f->k; break;
		case BPF_ALU | BPF_LSH | BPF_K: a <<= f->k; break;
		case BPF_ALU | BPF_RSH | BPF_K: a >>= f->k; break;
		case BPF_ALU | BPF_MUL | BPF_K: a *= f->k; break;
		case BPF_ALU | BPF_MOD | BPF_K: a %= f->k; break;
		case BPF_JMP | BPF_JA: pc += f->k; break;
		case BPF_JMP | BPF_JEQ | BPF_K: pc += a == f->k ? f->jt : f->jf; break;
		case BPF_JMP | BPF_JSET | BPF_K: pc += (a & f->k) ? f->jt : f->jf; break;
		case BPF_RET | BPF_K: return f->k;
		case BPF_RET | BPF_A: return a;
		default:
			CHECK(0, "instruction 0x%x at %u", f->code, pc);
			return -1;
		}
	}
	CHECK(0, "ran off the end");
	return -1;
}

static struct pkt ipv4(uint32_t src, uint32_t dst, uint8_t proto, uint16_t sport, uint16_t dport,
		       uint16_t frag)
{
	struct pkt p = { .proto = ETH_P_IP, .len = 28 };
	uint32_t s = htonl(src), d = htonl(dst);
	uint16_t sp = htons(sport), dp = htons(dport), fr = htons(frag);

	p.net[0] = 0x45;
	memcpy(&p.net[6], &fr, 2);
	p.net[9] = proto;
	memcpy(&p.net[12], &s, 4);
	memcpy(&p.net[16], &d, 4);
	memcpy(&p.net[20], &sp, 2);
	memcpy(&p.net[22], &dp, 2);
	return p;
}

static struct pkt ipv6(uint8_t host_a, uint8_t host_b, uint8_t next, uint16_t sport, uint16_t dport)
{
	struct pkt p = { .proto = ETH_P_IPV6, .len = 48 };
	uint16_t sp = htons(sport), dp = htons(dport);

	p.net[0] = 0x60;
	p.net[6] = next;
	p.net[8] = 0x20; p.net[9] = 0x01; p.net[10] = 0x00; p.net[11] = 0x02; /* 2001:2:: */
	p.net[24] = 0x20; p.net[25] = 0x01; p.net[26] = 0x00; p.net[27] = 0x02;
	p.net[23] = host_a;
	p.net[39] = host_b;
	memcpy(&p.net[40], &sp, 2);
	memcpy(&p.net[42], &dp, 2);
	return p;
}

static long member(enum fanout_steer how, unsigned active, const struct pkt *p)
{
	struct sock_filter prog[FANOUT_PROG_MAX];
	unsigned n = fanout_prog_build(prog, how, active);

	CHECK(n >= 1 && n <= FANOUT_PROG_MAX, "length %u", n);
	return run(prog, n, p);
}

#define NET_A 0xc6120001u /* 198.18.0.1 */

static void test_one_active_takes_all(void)
{
	struct sock_filter prog[FANOUT_PROG_MAX];
	struct pkt p = ipv4(NET_A, NET_A + 1, IPPROTO_UDP, 1000, 2000, 0);

	for (int how = FANOUT_STEER_HASH; how <= FANOUT_STEER_QM; how++) {
		CHECK_EQ(fanout_prog_build(prog, how, 1), 1);
		CHECK_EQ(member(how, 1, &p), 0);
		CHECK_EQ(member(how, 0, &p), 0);
	}
}

static void test_hash_symmetric_and_spread(void)
{
	for (unsigned active = 2; active <= 5; active++) {
		unsigned seen[8] = { 0 };

		for (unsigned f = 0; f < 256; f++) {
			uint32_t a = NET_A + (f % 7), b = NET_A + 100 + f / 7;
			uint16_t sp = (uint16_t)(1024 + f * 13), dp = (uint16_t)(53 + f % 3);
			uint8_t proto = f % 2 ? IPPROTO_TCP : IPPROTO_UDP;
			struct pkt fwd = ipv4(a, b, proto, sp, dp, 0), rev = ipv4(b, a, proto, dp, sp, 0);
			struct pkt f6 = ipv6((uint8_t)f, 7, proto, sp, dp), r6 = ipv6(7, (uint8_t)f, proto, dp, sp);
			long m = member(FANOUT_STEER_HASH, active, &fwd);

			CHECK(m >= 0 && m < (long)active, "member %ld of %u", m, active);
			CHECK_EQ(member(FANOUT_STEER_HASH, active, &rev), m);
			CHECK_EQ(member(FANOUT_STEER_HASH, active, &fwd), m); /* a flow stays */
			m = member(FANOUT_STEER_HASH, active, &f6);
			CHECK(m >= 0 && m < (long)active, "v6 member %ld of %u", m, active);
			CHECK_EQ(member(FANOUT_STEER_HASH, active, &r6), m);
			seen[m]++;
		}
		for (unsigned i = 0; i < active; i++)
			CHECK(seen[i] > 256 / active / 3, "%u of %u: %u of 256 IPv6 flows", i, active,
			      seen[i]);
	}
}

/* Flows that differ only in their ports still spread (one host pair). */
static void test_hash_uses_ports(void)
{
	unsigned seen[2] = { 0 };

	for (unsigned f = 0; f < 128; f++) {
		struct pkt p = ipv4(NET_A, NET_A + 1, IPPROTO_UDP, (uint16_t)(40000 + f), 9, 0);

		seen[member(FANOUT_STEER_HASH, 2, &p) & 1]++;
	}
	CHECK(seen[0] > 20 && seen[1] > 20, "ports: %u / %u", seen[0], seen[1]);
}

static void test_hash_fragments_and_other(void)
{
	struct pkt whole = ipv4(NET_A, NET_A + 9, IPPROTO_UDP, 5000, 6000, 0);
	struct pkt first = ipv4(NET_A, NET_A + 9, IPPROTO_UDP, 5000, 6000, 0x2000); /* MF */
	struct pkt later = ipv4(NET_A, NET_A + 9, IPPROTO_UDP, 0x1111, 0x2222, 0x00b9);
	struct pkt icmp = ipv4(NET_A, NET_A + 9, IPPROTO_ICMP, 0x0800, 0, 0);
	struct pkt arp = { .proto = ETH_P_ARP, .len = 28 };
	struct pkt ext = ipv6(1, 2, 0 /* hop-by-hop */, 1, 2);
	struct pkt trunc = ipv4(NET_A, NET_A + 9, IPPROTO_UDP, 5000, 6000, 0);

	(void)whole;
	for (unsigned active = 2; active <= 4; active++) {
		/* every fragment of a datagram on one member: addresses only */
		CHECK_EQ(member(FANOUT_STEER_HASH, active, &first),
			 member(FANOUT_STEER_HASH, active, &later));
		CHECK_EQ(member(FANOUT_STEER_HASH, active, &first),
			 member(FANOUT_STEER_HASH, active, &icmp));
		CHECK(member(FANOUT_STEER_HASH, active, &ext) < (long)active, "ext");
		CHECK_EQ(member(FANOUT_STEER_HASH, active, &arp), 0);
	}
	trunc.len = 18; /* no addresses: the kernel's load fails, the program gives 0 */
	CHECK_EQ(member(FANOUT_STEER_HASH, 3, &trunc), 0);
}

static void test_ancillary_modes(void)
{
	struct pkt p = { .proto = ETH_P_IP, .cpu = 7, .queue = 5, .rnd = 11, .len = 20 };

	CHECK_EQ(member(FANOUT_STEER_CPU, 3, &p), 7 % 3);
	CHECK_EQ(member(FANOUT_STEER_QM, 3, &p), 5 % 3);
	CHECK_EQ(member(FANOUT_STEER_LB, 4, &p), 11 % 4);
}

int main(void)
{
	test_one_active_takes_all();
	test_hash_symmetric_and_spread();
	test_hash_uses_ports();
	test_hash_fragments_and_other();
	test_ancillary_modes();
	return unit_exit("test_fanout_prog");
}
