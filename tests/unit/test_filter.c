/*
 * filter_compile / filter_match / filter_free over hand-made Ethernet frames,
 * and the property the kernel relies on: the program's accept value is the
 * snap length (checked on the RET instructions and by running bpf_filter).
 */
#include <errno.h>
#include <pcap/pcap.h>
#include <string.h>

#include "ring/ring.h"
#include "unit.h"

static size_t eth(uint8_t *f, uint16_t type)
{
	static const uint8_t dst[6] = { 0x02, 0, 0, 0, 0, 0x02 }, src[6] = { 0x02, 0, 0, 0, 0, 0x01 };

	memcpy(f, dst, 6);
	memcpy(f + 6, src, 6);
	f[12] = (uint8_t)(type >> 8);
	f[13] = (uint8_t)type;
	return 14;
}

static size_t arp_frame(uint8_t *f)
{
	static const uint8_t arp[28] = { 0, 1, 8, 0, 6, 4, 0, 1, 2, 0, 0, 0, 0, 1, 10, 0, 0, 1,
					 0, 0, 0, 0, 0, 0, 10, 0, 0, 2 };
	size_t n = eth(f, 0x0806);

	memcpy(f + n, arp, sizeof(arp));
	return n + sizeof(arp); /* 42 */
}

/* IPv4 + UDP (proto 17) or TCP (proto 6) from port 40000 to `dport`. */
static size_t ip4_frame(uint8_t *f, uint8_t proto, uint16_t dport)
{
	size_t n = eth(f, 0x0800), l4 = proto == 6 ? 20 : 8, plen = 12;
	uint16_t tot = (uint16_t)(20 + l4 + plen);
	uint8_t *ip = f + n, *t = ip + 20;

	memset(ip, 0, 20 + l4 + plen);
	ip[0] = 0x45;
	ip[2] = (uint8_t)(tot >> 8);
	ip[3] = (uint8_t)tot;
	ip[8] = 64;
	ip[9] = proto;
	memcpy(ip + 12, (uint8_t[]){ 10, 0, 0, 1 }, 4);
	memcpy(ip + 16, (uint8_t[]){ 10, 0, 0, 2 }, 4);
	t[0] = 40000 >> 8;
	t[1] = 40000 & 0xff;
	t[2] = (uint8_t)(dport >> 8);
	t[3] = (uint8_t)dport;
	if (proto == 6)
		t[12] = 5 << 4; /* data offset */
	else
		t[5] = (uint8_t)(8 + plen);
	return n + tot;
}

/* IPv6 + UDP to `dport`. */
static size_t ip6_udp_frame(uint8_t *f, uint16_t dport)
{
	size_t n = eth(f, 0x86dd);
	uint8_t *ip = f + n, *u = ip + 40;

	memset(ip, 0, 40 + 8);
	ip[0] = 0x60;
	ip[5] = 8;
	ip[6] = 17;
	ip[7] = 64;
	ip[23] = 1;
	ip[39] = 2;
	u[0] = 0x9c;
	u[1] = 0x40;
	u[2] = (uint8_t)(dport >> 8);
	u[3] = (uint8_t)dport;
	u[5] = 8;
	return n + 48;
}

static unsigned run(const struct filter *f, const uint8_t *frame, size_t len)
{
	return bpf_filter((const struct bpf_insn *)f->prog.filter, frame, (u_int)len, (u_int)len);
}

/* Every RET that accepts returns exactly snaplen; at least one does. */
static void check_rets(const struct filter *f, unsigned snaplen, const char *what)
{
	unsigned accepts = 0;

	CHECK(f->prog.len > 0 && f->prog.filter, "%s: empty program", what);
	for (unsigned i = 0; i < f->prog.len; i++) {
		const struct sock_filter *ins = &f->prog.filter[i];

		if (BPF_CLASS(ins->code) != BPF_RET)
			continue;
		CHECK(BPF_RVAL(ins->code) == BPF_K, "%s: insn %u returns A/X, not a constant", what,
		      i);
		CHECK(ins->k == 0 || ins->k == snaplen, "%s: insn %u returns %u, snaplen %u", what, i,
		      ins->k, snaplen);
		accepts += ins->k == snaplen;
	}
	CHECK(accepts > 0, "%s: no RET #%u", what, snaplen);
	CHECK(BPF_CLASS(f->prog.filter[f->prog.len - 1].code) == BPF_RET,
	      "%s: last insn is not a RET", what);
	CHECK(bpf_validate((const struct bpf_insn *)f->prog.filter, (int)f->prog.len),
	      "%s: libpcap's bpf_validate rejects the program", what);
}

static void test_accept_all(void)
{
	uint8_t arp[64], udp[128];
	size_t na = arp_frame(arp), nu = ip4_frame(udp, 17, 53);
	char err[FILTER_ERR_LEN] = "";
	const char *exprs[2] = { "", NULL };
	struct filter f;

	for (int e = 0; e < 2; e++) {
		const char *what = exprs[e] ? "\"\"" : "NULL";
		int ret = filter_compile(&f, exprs[e], 262144, err, sizeof(err));

		CHECK(ret == 0, "%s: filter_compile = %d (%s)", what, ret, err);
		if (ret)
			continue;
		CHECK(filter_match(&f, arp, (uint32_t)na, (uint32_t)na), "%s: rejects ARP", what);
		CHECK(filter_match(&f, udp, (uint32_t)nu, (uint32_t)nu), "%s: rejects UDP", what);
		CHECK(filter_match(&f, udp, 14, 1514), "%s: rejects a 14-byte capture", what);
		CHECK_EQ(f.prog.len, 1); /* a lone "ret #snaplen" */
		check_rets(&f, 262144, what);
		CHECK_EQ(run(&f, arp, na), 262144);
		filter_free(&f);
	}
}

static void test_udp53(void)
{
	static const unsigned snaps[] = { 262144, 65535, 1500, 96 };
	uint8_t arp[64], u53[128], t53[128], u54[128], u6[128];
	size_t na = arp_frame(arp), nu = ip4_frame(u53, 17, 53), nt = ip4_frame(t53, 6, 53);
	size_t n54 = ip4_frame(u54, 17, 54), n6 = ip6_udp_frame(u6, 53);
	char err[FILTER_ERR_LEN] = "";
	struct filter f;

	for (size_t s = 0; s < sizeof(snaps) / sizeof(snaps[0]); s++) {
		unsigned snap = snaps[s];
		int ret = filter_compile(&f, "udp port 53", snap, err, sizeof(err));

		CHECK(ret == 0, "udp port 53: filter_compile = %d (%s)", ret, err);
		if (ret)
			continue;
		CHECK(filter_match(&f, u53, (uint32_t)nu, (uint32_t)nu), "rejects IPv4 UDP/53");
		CHECK(filter_match(&f, u6, (uint32_t)n6, (uint32_t)n6), "rejects IPv6 UDP/53");
		CHECK(!filter_match(&f, t53, (uint32_t)nt, (uint32_t)nt), "accepts TCP/53");
		CHECK(!filter_match(&f, u54, (uint32_t)n54, (uint32_t)n54), "accepts UDP/54");
		CHECK(!filter_match(&f, arp, (uint32_t)na, (uint32_t)na), "accepts ARP");
		/* what the kernel would see: the return value is the snap length */
		CHECK(run(&f, u53, nu) == snap, "accept returns %u, snaplen %u", run(&f, u53, nu),
		      snap);
		CHECK(run(&f, t53, nt) == 0, "reject returns %u", run(&f, t53, nt));
		check_rets(&f, snap, "udp port 53");
		filter_free(&f);
		filter_free(&f); /* twice is safe */
		CHECK(f.prog.filter == NULL && f.prog.len == 0, "filter_free left %p/%u",
		      (void *)f.prog.filter, f.prog.len);
	}

	/* a compound expression */
	CHECK(filter_compile(&f, "arp or (udp and dst port 53)", 1024, err, sizeof(err)) == 0,
	      "compound: %s", err);
	CHECK(filter_match(&f, arp, (uint32_t)na, (uint32_t)na), "compound rejects ARP");
	CHECK(filter_match(&f, u53, (uint32_t)nu, (uint32_t)nu), "compound rejects UDP/53");
	CHECK(!filter_match(&f, t53, (uint32_t)nt, (uint32_t)nt), "compound accepts TCP/53");
	check_rets(&f, 1024, "compound");
	filter_free(&f);
}

static void test_bad(void)
{
	static const char *const bad[] = { "udp port banana", "tcp and", "host", "(tcp",
					   "ether host 1:2:3" };
	char err[FILTER_ERR_LEN];
	struct filter f;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int ret;

		memset(err, 0, sizeof(err));
		memset(&f, 0xa5, sizeof(f)); /* filter_compile must not trust what is there */
		ret = filter_compile(&f, bad[i], 262144, err, sizeof(err));
		CHECK(ret == -EINVAL, "'%s': filter_compile = %d, want -EINVAL", bad[i], ret);
		CHECK(err[0] != '\0', "'%s': no error message", bad[i]);
		CHECK(memchr(err, 0, sizeof(err)) != NULL, "'%s': message not terminated", bad[i]);
		CHECK(f.prog.filter == NULL, "'%s': program left behind", bad[i]);
		fprintf(stderr, "  '%s' -> %s\n", bad[i], err);
		filter_free(&f);
		filter_free(&f);
	}
	/* a small error buffer is cut, still terminated */
	memset(err, 'x', sizeof(err));
	CHECK(filter_compile(&f, "tcp and", 262144, err, 8) == -EINVAL, "small buffer");
	CHECK(strlen(err) == 7, "small buffer: message length %zu", strnlen(err, sizeof(err)));
	filter_free(&f);
}

int main(void)
{
	test_accept_all();
	test_udp53();
	test_bad();
	return unit_exit("test_filter");
}
