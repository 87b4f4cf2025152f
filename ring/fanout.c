/*
 * The elastic pool's fanout group: which of its members receive is decided by
 * a classic BPF program the kernel runs on every packet (PACKET_FANOUT_CBPF),
 * replaced while the capture runs (PACKET_FANOUT_DATA).
 *
 * Why a program, and not members that leave and rejoin: a socket cannot leave
 * a fanout group but by closing (no setsockopt undoes PACKET_FANOUT), and
 * af_packet.c's packet_do_bind refuses (EINVAL) to rebind a member, so
 * bind(protocol 0) cannot unhook it either (checked on 6.18). Closing would
 * lose the packets the kernel puts in the ring between the last look and
 * close, and with them exact accounting. A program that sends nothing to a
 * member leaves its socket, ring and statistics in place.
 *
 * The kernel runs it as fanout_demux_bpf: the member is arr[ret % members],
 * members in the order they joined (the ring order of the pool), and it
 * keeps that order when the interface goes down and up again (checked: the
 * sockets unlink and relink in creation order). Replacing the program waits
 * for a grace period (synchronize_net) before the setsockopt returns: from
 * then on no packet reaches a member the new program excludes.
 *
 * Loads use SKF_NET_OFF: at the fanout hook skb->data is the network header
 * for received packets but the link header for sent ones, and the negative
 * offsets are relative to the network header either way. The hash is
 * symmetric (addresses and ports XORed), so both directions of a flow share
 * a ring as with PACKET_FANOUT_HASH; fragments and IPv6 with extension
 * headers hash their addresses only, everything but IP goes to member 0.
 */
#include <errno.h>
#include <linux/if_ether.h>
#include <netinet/in.h>

#include "ring/ring.h"
#include "ring/sock.h"

#define NET(off) ((uint32_t)(SKF_NET_OFF + (off)))
#define AD(field) ((uint32_t)(SKF_AD_OFF + (field)))
#define GOLDEN 0x9e3779b1u /* Fibonacci hashing: the product's high bits mix the low ones */

enum { L_IPV4, L_IPV6, L_PORTS4, L_PORTS6, L_ADDR, L_MIX, L_OTHER, L_COUNT };

/* A tiny assembler: jumps name a label, resolved at the end. */
struct bpf_asm {
	struct sock_filter *p;
	unsigned n;
	int label[L_COUNT];
	struct { unsigned at; int jt, jf; } fix[16];
	unsigned nfix;
};

static void op(struct bpf_asm *a, uint16_t code, uint32_t k)
{
	a->p[a->n++] = (struct sock_filter)BPF_STMT(code, k);
}

/* A conditional jump to label jt (true) or jf (false); -1: the next insn. */
static void jmp(struct bpf_asm *a, uint16_t code, uint32_t k, int jt, int jf)
{
	a->fix[a->nfix].at = a->n;
	a->fix[a->nfix].jt = jt;
	a->fix[a->nfix].jf = jf;
	a->nfix++;
	a->p[a->n++] = (struct sock_filter)BPF_JUMP(code, k, 0, 0);
}

static void label(struct bpf_asm *a, int l)
{
	a->label[l] = (int)a->n;
}

static void resolve(struct bpf_asm *a)
{
	for (unsigned i = 0; i < a->nfix; i++) {
		struct sock_filter *f = &a->p[a->fix[i].at];
		unsigned next = a->fix[i].at + 1;

		if (BPF_OP(f->code) == BPF_JA) {
			f->k = (uint32_t)a->label[a->fix[i].jt] - next;
			continue;
		}
		f->jt = a->fix[i].jt < 0 ? 0 : (uint8_t)(a->label[a->fix[i].jt] - (int)next);
		f->jf = a->fix[i].jf < 0 ? 0 : (uint8_t)(a->label[a->fix[i].jf] - (int)next);
	}
}

/* A (the protocol in M[2]) one that has ports at the start of its header? */
static void jump_if_ports(struct bpf_asm *a, int yes, int no)
{
	jmp(a, BPF_JMP | BPF_JEQ | BPF_K, IPPROTO_TCP, yes, -1);
	jmp(a, BPF_JMP | BPF_JEQ | BPF_K, IPPROTO_UDP, yes, -1);
	jmp(a, BPF_JMP | BPF_JEQ | BPF_K, IPPROTO_SCTP, yes, no);
}

/* A = source port ^ destination port, the ports at X + off; then A ^= M[0]. */
static void xor_ports(struct bpf_asm *a, uint16_t mode, uint32_t off)
{
	op(a, BPF_LD | BPF_H | mode, NET(off));
	op(a, BPF_ST, 1);
	op(a, BPF_LD | BPF_H | mode, NET(off + 2));
	op(a, BPF_LDX | BPF_MEM, 1);
	op(a, BPF_ALU | BPF_XOR | BPF_X, 0);
	op(a, BPF_LDX | BPF_MEM, 0);
	op(a, BPF_ALU | BPF_XOR | BPF_X, 0);
	jmp(a, BPF_JMP | BPF_JA, 0, L_MIX, -1);
}

static void build_hash(struct bpf_asm *a, unsigned active)
{
	op(a, BPF_LD | BPF_H | BPF_ABS, AD(SKF_AD_PROTOCOL));
	jmp(a, BPF_JMP | BPF_JEQ | BPF_K, ETH_P_IP, L_IPV4, -1);
	jmp(a, BPF_JMP | BPF_JEQ | BPF_K, ETH_P_IPV6, L_IPV6, L_OTHER);

	label(a, L_IPV4);
	op(a, BPF_LD | BPF_W | BPF_ABS, NET(12));
	op(a, BPF_MISC | BPF_TAX, 0);
	op(a, BPF_LD | BPF_W | BPF_ABS, NET(16));
	op(a, BPF_ALU | BPF_XOR | BPF_X, 0);
	op(a, BPF_ST, 0);
	op(a, BPF_LD | BPF_H | BPF_ABS, NET(6));
	jmp(a, BPF_JMP | BPF_JSET | BPF_K, 0x3fff, L_ADDR, -1); /* MF or an offset: a fragment */
	op(a, BPF_LD | BPF_B | BPF_ABS, NET(9));
	jump_if_ports(a, L_PORTS4, L_ADDR);
	label(a, L_PORTS4);
	op(a, BPF_LD | BPF_B | BPF_ABS, NET(0));
	op(a, BPF_ALU | BPF_AND | BPF_K, 0xf);
	op(a, BPF_ALU | BPF_LSH | BPF_K, 2);
	op(a, BPF_MISC | BPF_TAX, 0); /* X = the IPv4 header's length */
	xor_ports(a, BPF_IND, 0);

	label(a, L_IPV6);
	op(a, BPF_LD | BPF_W | BPF_ABS, NET(8));
	for (uint32_t off = 12; off < 40; off += 4) {
		op(a, BPF_MISC | BPF_TAX, 0);
		op(a, BPF_LD | BPF_W | BPF_ABS, NET(off));
		op(a, BPF_ALU | BPF_XOR | BPF_X, 0);
	}
	op(a, BPF_ST, 0);
	op(a, BPF_LD | BPF_B | BPF_ABS, NET(6));
	jump_if_ports(a, L_PORTS6, L_ADDR);
	label(a, L_PORTS6);
	xor_ports(a, BPF_ABS, 40);

	label(a, L_ADDR);
	op(a, BPF_LD | BPF_MEM, 0);
	label(a, L_MIX);
	op(a, BPF_ALU | BPF_MUL | BPF_K, GOLDEN);
	op(a, BPF_ALU | BPF_RSH | BPF_K, 16);
	op(a, BPF_ALU | BPF_MOD | BPF_K, active);
	op(a, BPF_RET | BPF_A, 0);
	label(a, L_OTHER);
	op(a, BPF_RET | BPF_K, 0);
}

unsigned fanout_prog_build(struct sock_filter *prog, enum fanout_steer how, unsigned active)
{
	static const uint32_t ancillary[] = {
		[FANOUT_STEER_LB] = SKF_AD_RANDOM,
		[FANOUT_STEER_CPU] = SKF_AD_CPU,
		[FANOUT_STEER_QM] = SKF_AD_QUEUE,
	};
	struct bpf_asm a = { .p = prog };

	if (active <= 1) {
		op(&a, BPF_RET | BPF_K, 0);
		return a.n;
	}
	if (how == FANOUT_STEER_HASH) {
		build_hash(&a, active);
		resolve(&a);
		return a.n;
	}
	op(&a, BPF_LD | BPF_W | BPF_ABS, AD(ancillary[how]));
	op(&a, BPF_ALU | BPF_MOD | BPF_K, active);
	op(&a, BPF_RET | BPF_A, 0);
	return a.n;
}

int ring_fanout_steer(struct ring *r, enum fanout_steer how, unsigned active)
{
	struct sock_filter insns[FANOUT_PROG_MAX];
	struct sock_fprog prog = { .filter = insns };

	prog.len = (unsigned short)fanout_prog_build(insns, how, active);
	if (setsockopt(r->fd, SOL_PACKET, PACKET_FANOUT_DATA, &prog, sizeof(prog)) < 0)
		return -errno;
	return 0;
}
