/*
 * format/pcapng_write.c and the EPB inlines: every block ringcap writes
 * against golden bytes laid out by hand from the pcapng draft (SHB with and
 * without options, IDB with and without if_name/if_description in both time
 * resolutions, EPB with and without epb_flags (a direction, a whole word) at
 * odd and even lengths, ISB with and without its times); each encoder sized
 * with no room and given one byte too few (it must write nothing);
 * ringcap-read's output (read/output.c: SHB, an IDB before its interface's
 * first EPB, EPBs with their flags) against golden bytes; writer/pcap.h's
 * EPB of a ring packet
 * (VLAN tag put back, snaplen cut) carrying the same data as its pcap record;
 * the prologue walk and the probe on good, cut, swapped, lying and foreign
 * bytes, and on 200,000 mutated prologues right before a PROT_NONE page.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "format/format.h"
#include "read/read.h"
#include "writer/pcap.h"
#include "unit.h"

/* "0a 0d 0d 0a ..." into out; the count of bytes. */
static size_t hex(const char *s, uint8_t *out)
{
	size_t n = 0;

	while (*s) {
		unsigned v;

		if (*s == ' ' || *s == '\n' || *s == '|') {
			s++;
			continue;
		}
		if (sscanf(s, "%2x", &v) != 1) {
			fprintf(stderr, "bad hex at '%s'\n", s);
			exit(1);
		}
		out[n++] = (uint8_t)v;
		s += 2;
	}
	return n;
}

static void check_bytes(const char *what, const uint8_t *got, size_t got_len, const char *want_hex)
{
	uint8_t want[512];
	size_t n = hex(want_hex, want);

	CHECK(got_len == n, "%s: %zu bytes, want %zu", what, got_len, n);
	for (size_t i = 0; i < n && i < got_len; i++) {
		if (got[i] != want[i]) {
			CHECK(false, "%s: byte %zu is %02x, want %02x", what, i, got[i], want[i]);
			break;
		}
	}
}

/* Encode with no room (sizing), one byte too few (must write nothing), then
 * exactly enough; compare with the golden bytes. */
#define CHECK_BLOCK(what, call_room, want_hex)                                          \
	do {                                                                            \
		uint8_t buf_[512];                                                      \
		size_t need_, got_;                                                     \
		uint8_t *out = NULL;                                                    \
		size_t room = 0;                                                        \
		need_ = (call_room);                                                    \
		memset(buf_, 0xee, sizeof(buf_));                                       \
		out = buf_;                                                             \
		room = need_ - 1;                                                       \
		CHECK_EQ((call_room), need_);                                           \
		for (size_t i_ = 0; i_ < sizeof(buf_); i_++)                            \
			if (buf_[i_] != 0xee) {                                         \
				CHECK(false, "%s: wrote byte %zu with too little room", \
				      what, i_);                                        \
				break;                                                  \
			}                                                               \
		room = need_;                                                           \
		got_ = (call_room);                                                     \
		check_bytes(what, buf_, got_, want_hex);                                \
		CHECK(buf_[need_] == 0xee, "%s: wrote past its length", what);          \
	} while (0)

static void test_shb(void)
{
	const struct pcapng_shb_opts all = { "x86", "Linux 6", "ringcap 1" };
	const struct pcapng_shb_opts none = { NULL, "", NULL };

	CHECK_BLOCK("SHB with options", pcapng_shb_encode(out, room, &all),
		"0a0d0d0a 44000000 4d3c2b1a 0100 0000 ffffffffffffffff"
		"0200 0300 78383600"                 /* shb_hardware "x86" + 1 pad */
		"0300 0700 4c696e7578203600"         /* shb_os "Linux 6" + 1 pad */
		"0400 0900 72696e6763617020 31000000" /* shb_userappl "ringcap 1" + 3 pad */
		"0000 0000"                          /* opt_endofopt */
		"44000000");
	CHECK_BLOCK("SHB without options", pcapng_shb_encode(out, room, &none),
		"0a0d0d0a 1c000000 4d3c2b1a 0100 0000 ffffffffffffffff 1c000000");
}

static void test_idb(void)
{
	const struct pcapng_idb eth = { .linktype = LINKTYPE_ETHERNET, .snaplen = 262144,
					.name = "eth0", .description = "up link", .nano = true };
	const struct pcapng_idb bare = { .linktype = LINKTYPE_LINUX_SLL, .snaplen = 65535 };

	CHECK_BLOCK("IDB eth0 nano", pcapng_idb_encode(out, room, &eth),
		"01000000 34000000 0100 0000 00000400"
		"0200 0400 65746830"                 /* if_name "eth0" */
		"0300 0700 7570206c696e6b00"         /* if_description "up link" + 1 pad */
		"0900 0100 09000000"                 /* if_tsresol 9 + 3 pad */
		"0000 0000 34000000");
	CHECK_BLOCK("IDB bare micro", pcapng_idb_encode(out, room, &bare),
		"01000000 20000000 7100 0000 ffff0000"
		"0900 0100 06000000 0000 0000 20000000");
}

static void test_isb(void)
{
	const struct pcapng_isb times = { .iface = 0, .ts = 0x200000003ull, .recv = 1000,
					  .drop = 7, .start = 0x10, .end = 0x500000020ull };
	const struct pcapng_isb plain = { .iface = 3, .ts = 5, .recv = 1ull << 40, .drop = 0 };

	CHECK_BLOCK("ISB with times", pcapng_isb_encode(out, room, &times),
		"05000000 4c000000 00000000 02000000 03000000"
		"0200 0800 00000000 10000000"        /* isb_starttime high, low */
		"0300 0800 05000000 20000000"        /* isb_endtime */
		"0400 0800 e803000000000000"         /* isb_ifrecv 1000 */
		"0500 0800 0700000000000000"         /* isb_ifdrop 7 */
		"0000 0000 4c000000");
	CHECK_EQ(pcapng_isb_encode(NULL, 0, &times), PCAPNG_ISB_MAX_LEN);
	CHECK_BLOCK("ISB plain", pcapng_isb_encode(out, room, &plain),
		"05000000 34000000 03000000 00000000 05000000"
		"0400 0800 0000000000010000"
		"0500 0800 0000000000000000"
		"0000 0000 34000000");
}

/* The EPB inlines of format.h, over a buffer of garbage. */
static size_t epb(uint8_t *out, uint32_t iface, uint64_t ts, const char *data, uint32_t len,
		  uint32_t dir)
{
	uint32_t caplen = (uint32_t)strlen(data), total = pcapng_epb_len(caplen, dir);

	pcapng_epb_header_encode(out, total, iface, ts, caplen, len);
	memcpy(out + PCAPNG_EPB_HEADER_LEN, data, caplen);
	pcapng_epb_trailer_encode(out + PCAPNG_EPB_HEADER_LEN + caplen, caplen, dir, total);
	return total;
}

static void test_epb(void)
{
	uint8_t b[256];
	size_t n;

	memset(b, 0xee, sizeof(b));
	n = epb(b, 1, 0x112345678ull, "ABCDE", 60, PKT_DIR_UNKNOWN);
	check_bytes("EPB odd, no flags", b, n,
		"06000000 28000000 01000000 01000000 78563412 05000000 3c000000"
		"4142434445 000000"                  /* 5 bytes + 3 zero pad */
		"28000000");
	memset(b, 0xee, sizeof(b));
	n = epb(b, 0, 7, "WXYZ", 4, PKT_DIR_OUT);
	check_bytes("EPB even, outbound", b, n,
		"06000000 30000000 00000000 00000000 07000000 04000000 04000000"
		"5758595a"
		"0200 0400 02000000"                 /* epb_flags: outbound */
		"0000 0000"
		"30000000");
	memset(b, 0xee, sizeof(b));
	n = epb(b, 2, 0, "ABCDEFG", 1500, PKT_DIR_IN);
	check_bytes("EPB 7 bytes, inbound", b, n,
		"06000000 34000000 02000000 00000000 00000000 07000000 dc050000"
		"41424344454647 00"
		"0200 0400 01000000 0000 0000"
		"34000000");
	CHECK_EQ(b[n], 0xee);
	/* ringcap-read passes on its input's whole epb_flags word */
	memset(b, 0xee, sizeof(b));
	n = epb(b, 0, 7, "WXYZ", 4, 0x01000002u);
	check_bytes("EPB, a whole epb_flags word", b, n,
		"06000000 30000000 00000000 00000000 07000000 04000000 04000000"
		"5758595a"
		"0200 0400 02000001"
		"0000 0000"
		"30000000");
	CHECK_EQ(pcapng_epb_len(0, 0), 32);
	CHECK_EQ(pcapng_epb_len(1, 1), 48);
	CHECK_EQ(pcapng_epb_len(8, 2), 52);
}

/* ringcap-read's pcapng output: its SHB, each interface's IDB (if_name,
 * if_tsresol 9) just before its first packet, EPBs in ns with the flags
 * given. */
static void test_read_output(void)
{
	struct read_ifaces t = { 0 };
	struct pcap_out *o;
	uint8_t got[512];
	FILE *f = tmpfile();
	size_t n;

	if (!f) {
		CHECK(0, "tmpfile");
		return;
	}
	CHECK_EQ(read_ifaces_id(&t, "eth0", LINKTYPE_ETHERNET, 65535, false), 0);
	CHECK_EQ(read_ifaces_id(&t, "tun0", LINKTYPE_RAW, 0, true), 1);
	CHECK_EQ(pcapng_out_open(&o, fileno(f), &t), 0);
	CHECK_EQ(pcap_out_packet(o, 1, 0, 0x112345678ull, 5, 60, (const uint8_t *)"ABCDE"), 0);
	CHECK_EQ(pcap_out_packet(o, 0, 0x01000002u, 7, 4, 4, (const uint8_t *)"WXYZ"), 0);
	CHECK_EQ(pcap_out_packet(o, 1, 1, 8, 4, 4, (const uint8_t *)"abcd"), 0);
	CHECK_EQ(pcap_out_packet(o, 2, 0, 9, 4, 4, (const uint8_t *)"abcd"), -EINVAL);
	CHECK_EQ(pcap_out_close(o), 0);
	n = fread(got, 1, sizeof(got), (rewind(f), f));
	check_bytes("ringcap-read's pcapng", got, n,
		"0a0d0d0a 30000000 4d3c2b1a 0100 0000 ffffffff ffffffff"
		"0400 0c00 72696e676361702d72656164"  /* shb_userappl "ringcap-read" */
		"0000 0000 30000000"
		"01000000 28000000 6500 0000 00000000" /* tun0: raw IP, no snaplen */
		"0200 0400 74756e30 0900 0100 09000000 0000 0000 28000000"
		"06000000 28000000 00000000 01000000 78563412 05000000 3c000000"
		"4142434445 000000 28000000"
		"01000000 28000000 0100 0000 ffff0000" /* eth0 */
		"0200 0400 65746830 0900 0100 09000000 0000 0000 28000000"
		"06000000 30000000 01000000 00000000 07000000 04000000 04000000"
		"5758595a 0200 0400 02000001 0000 0000 30000000"
		"06000000 30000000 00000000 00000000 08000000 04000000 04000000"
		"61626364 0200 0400 01000000 0000 0000 30000000");
	fclose(f);
	read_ifaces_free(&t);
}

/* writer/pcap.h: a ring packet as an EPB holds exactly its pcap record's
 * data (VLAN tag put back, snaplen cut), with the time in the IDB's unit. */
static void test_epb_of_packet(void)
{
	uint8_t frame[200], rec[400], blk[400];

	for (unsigned i = 0; i < sizeof(frame); i++)
		frame[i] = (uint8_t)(i * 7 + 1);
	for (unsigned k = 0; k < 4 * 3 * 2; k++) {
		const uint32_t snaps[4] = { 262144, 14, 15, 101 };
		struct pkt_view p = {
			.data = frame, .caplen = 150 + k % 3, .len = 1000 + k % 3, .sec = 4,
			.nsec = 600387192, .vlan = (k / 3) % 2, .vlan_tci = 0x123,
			.vlan_tpid = 0x8100, .dir = (uint8_t)(k % 3), .iface = (uint16_t)k,
		};
		uint32_t snap = snaps[k / 6], caplen = pcap_record_caplen(&p, snap);
		bool nano = k % 2;
		uint64_t ts = nano ? 4600387192ull : 4600387ull;
		uint32_t u32;

		memset(blk, 0xee, sizeof(blk));
		pcap_record_encode(rec, &p, snap, nano);
		CHECK_EQ(pcapng_epb_encode(blk, &p, snap, nano), pcapng_epb_len(caplen, p.dir));
		CHECK_EQ(pcapng_epb_bytes(&p, snap), pcapng_epb_len(caplen, p.dir));
		CHECK(memcmp(blk + PCAPNG_EPB_HEADER_LEN, rec + PCAP_RECORD_HEADER_LEN, caplen) == 0,
		      "case %u: EPB data differs from the pcap record's", k);
		memcpy(&u32, blk + 8, 4);
		CHECK_EQ(u32, k);
		memcpy(&u32, blk + 12, 4);
		CHECK_EQ(u32, ts >> 32);
		memcpy(&u32, blk + 16, 4);
		CHECK_EQ(u32, (uint32_t)ts);
		memcpy(&u32, blk + 20, 4);
		CHECK_EQ(u32, caplen);
		memcpy(&u32, blk + 24, 4);
		CHECK_EQ(u32, pkt_record_len(&p));
		for (uint32_t i = caplen; i < pcapng_pad4(caplen); i++)
			CHECK_EQ(blk[PCAPNG_EPB_HEADER_LEN + i], 0);
		CHECK_EQ(blk[pcapng_epb_len(caplen, p.dir)], 0xee);
	}
}

/* SHB + IDB + IDB + EPB, as the writer lays a file out. */
static size_t sample_file(uint8_t *b, size_t room)
{
	const struct pcapng_shb_opts sec = { "cpu", "os", "app" };
	const struct pcapng_idb i0 = { .linktype = LINKTYPE_ETHERNET, .snaplen = 9000, .name = "a" };
	size_t n = pcapng_shb_encode(b, room, &sec);

	n += pcapng_idb_encode(b + n, room - n, &i0);
	n += pcapng_idb_encode(b + n, room - n, &i0);
	n += epb(b + n, 1, 1, "packet", 6, 1);
	return n;
}

static void swap_words(uint8_t *b, size_t n)
{
	for (size_t i = 0; i + 4 <= n; i += 4) {
		uint32_t v;

		memcpy(&v, b + i, 4);
		v = __builtin_bswap32(v);
		memcpy(b + i, &v, 4);
	}
}

static void test_prologue_and_probe(void)
{
	uint8_t b[512], pcap[64];
	size_t n = sample_file(b, sizeof(b)), shb, pro, end;
	struct format_probe p;

	shb = pcapng_shb_encode(NULL, 0, &(struct pcapng_shb_opts){ "cpu", "os", "app" });
	pro = shb + 2 * pcapng_idb_encode(NULL, 0, &(struct pcapng_idb){ .name = "a" });
	CHECK_EQ(pcapng_prologue_end(b, n, &end), FORMAT_OK);
	CHECK_EQ(end, pro);
	CHECK_EQ(pcapng_prologue_end(b, pro, &end), FORMAT_OK);
	CHECK_EQ(end, pro);
	CHECK_EQ(pcapng_prologue_end(b, pro - 1, &end), FORMAT_OK); /* the 2nd IDB cut */
	CHECK_EQ(end, shb + (pro - shb) / 2);
	CHECK_EQ(pcapng_prologue_end(b, 11, &end), FORMAT_SHORT);
	CHECK_EQ(format_probe(b, n, &p), FORMAT_OK);
	CHECK(p.kind == &format_pcapng, "probe: kind %s", p.kind ? p.kind->name : "none");
	CHECK_EQ(p.linktype, LINKTYPE_ETHERNET);
	/* a pcap file is pcap's, not ours */
	pcap_file_header_encode(pcap, 65535, true, LINKTYPE_RAW);
	CHECK_EQ(pcapng_prologue_end(pcap, sizeof(pcap), &end), FORMAT_FOREIGN);
	CHECK_EQ(format_probe(pcap, PCAP_FILE_HEADER_LEN, &p), FORMAT_OK);
	CHECK(p.kind == &format_pcap, "pcap probed as %s", p.kind->name);
	/* lies: a length not a multiple of 4, one below the minimum */
	{
		uint8_t l[512];
		uint32_t v = 30;

		memcpy(l, b, n);
		memcpy(l + shb + 4, &v, 4);
		CHECK_EQ(pcapng_prologue_end(l, n, &end), FORMAT_LIED);
		CHECK_EQ(end, shb);
		v = 8;
		memcpy(l + 4, &v, 4);
		CHECK_EQ(pcapng_prologue_end(l, n, &end), FORMAT_LIED);
		CHECK_EQ(end, 0);
	}
	/* the other byte order: every u32 swapped (strings and the u16 pairs
	 * aside, the walk reads only u32 fields; the probe, which parses the
	 * options too, is test_pcapng's) */
	{
		uint8_t s[512];
		uint16_t lt = __builtin_bswap16(LINKTYPE_LINUX_SLL2);

		memcpy(s, b, n);
		swap_words(s, n);
		memcpy(s + shb + 8, &lt, 2);
		CHECK_EQ(pcapng_prologue_end(s, n, &end), FORMAT_OK);
		CHECK_EQ(end, pro);
	}
}

/* Mutated prologues ending right before an unreadable page: the walk and the
 * probe never read past len. */
static void test_mutations(void)
{
	long pg = sysconf(_SC_PAGESIZE);
	uint8_t *map = mmap(NULL, 2 * (size_t)pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			    -1, 0);
	uint8_t good[512];
	size_t n = sample_file(good, sizeof(good));
	uint64_t rng = 7;

	if (map == MAP_FAILED) {
		perror("mmap");
		exit(1);
	}
	mprotect(map + pg, (size_t)pg, PROT_NONE);
	for (unsigned i = 0; i < 200000; i++) {
		size_t len = (size_t)(unit_rnd(&rng) % (n + 1));
		uint8_t *b = map + pg - len;
		struct format_probe p;
		size_t end;

		memcpy(b, good, len);
		for (unsigned k = unit_rnd(&rng) % 4; k-- && len;)
			b[unit_rnd(&rng) % len] = (uint8_t)unit_rnd(&rng);
		if (pcapng_prologue_end(b, len, &end) == FORMAT_OK)
			CHECK(end <= len, "walk ended at %zu of %zu", end, len);
		(void)format_probe(b, len, &p);
	}
	munmap(map, 2 * (size_t)pg);
}

int main(void)
{
#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
	fprintf(stderr, "SKIP: golden bytes are little-endian\n");
	return 77;
#endif
	test_shb();
	test_idb();
	test_isb();
	test_epb();
	test_epb_of_packet();
	test_read_output();
	test_prologue_and_probe();
	test_mutations();
	return unit_exit("test_pcapng_write");
}
