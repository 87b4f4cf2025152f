/*
 * format/: the pcap file header parsed in every byte order and magic, cut
 * short at every length, lying about its version; record headers that lie
 * about their lengths; encode -> parse round trips (and through the other
 * byte order); the probe; 200,000 mutated headers parsed right before a
 * PROT_NONE page; rotation names composed and matched from the same rules.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "format/format.h"
#include "unit.h"

static void put32(uint8_t *p, uint32_t v, bool swap)
{
	if (swap)
		v = __builtin_bswap32(v);
	memcpy(p, &v, 4);
}

static void put16(uint8_t *p, uint16_t v, bool swap)
{
	if (swap)
		v = __builtin_bswap16(v);
	memcpy(p, &v, 2);
}

/* A header and one record header laid out by hand, not by the encoder. */
static void hand_header(uint8_t b[40], uint32_t magic, bool swap, uint16_t major, uint32_t snaplen,
			uint32_t link, uint32_t sec, uint32_t frac)
{
	put32(b, magic, swap);
	put16(b + 4, major, swap);
	put16(b + 6, 4, swap);
	put32(b + 8, 0, swap);
	put32(b + 12, 0, swap);
	put32(b + 16, snaplen, swap);
	put32(b + 20, link, swap);
	put32(b + 24, sec, swap);
	put32(b + 28, frac, swap);
	put32(b + 32, 60, swap);
	put32(b + 36, 60, swap);
}

/* A buffer whose last byte is the last before a PROT_NONE page: a read past
 * `len` bytes copied there faults. */
struct guarded {
	uint8_t *map;
	size_t room, maplen;
};

static void guarded_open(struct guarded *g)
{
	long page = sysconf(_SC_PAGESIZE);

	g->room = (size_t)page;
	g->maplen = 2 * (size_t)page;
	g->map = mmap(NULL, g->maplen, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (g->map == MAP_FAILED || mprotect(g->map + g->room, (size_t)page, PROT_NONE)) {
		perror("mmap");
		exit(1);
	}
}

static const uint8_t *guarded_put(struct guarded *g, const uint8_t *b, size_t len)
{
	uint8_t *at = g->map + g->room - len;

	memcpy(at, b, len);
	return at;
}

static void test_header_every_order_and_magic(void)
{
	static const uint32_t magics[] = { PCAP_MAGIC_MICRO, PCAP_MAGIC_NANO };
	struct guarded g;

	guarded_open(&g);
	for (int m = 0; m < 2; m++) {
		for (int swap = 0; swap < 2; swap++) {
			uint8_t b[40];
			struct pcap_file_info fi;
			struct format_probe p;
			struct pcap_rec r;
			const uint8_t *at;

			hand_header(b, magics[m], swap, 2, 65535, LINKTYPE_LINUX_SLL, 1764597600u, 123456);
			at = guarded_put(&g, b, sizeof(b));
			CHECK_EQ(pcap_file_header_parse(at, sizeof(b), &fi), FORMAT_OK);
			CHECK(fi.swapped == (bool)swap && fi.nano == (m == 1) && fi.version_major == 2 &&
				      fi.version_minor == 4 && fi.snaplen == 65535 &&
				      fi.linktype == LINKTYPE_LINUX_SLL,
			      "magic %08x swap %d: fields", magics[m], swap);
			CHECK_EQ(pcap_rec_header_parse(&fi, at + 24, 16, &r), PCAP_REC_OK);
			CHECK(r.ts_sec == 1764597600u && r.ts_frac == 123456 && r.caplen == 60 && r.len == 60,
			      "magic %08x swap %d: record", magics[m], swap);
			CHECK_EQ(pcap_ts_ns(&fi, r.ts_sec, r.ts_frac),
				 1764597600ull * 1000000000ull + 123456ull * (m ? 1 : 1000));
			CHECK_EQ(format_probe(at, sizeof(b), &p), FORMAT_OK);
			CHECK(p.kind == &format_pcap && p.linktype == LINKTYPE_LINUX_SLL &&
				      p.first_ts_ns == pcap_ts_ns(&fi, r.ts_sec, r.ts_frac),
			      "magic %08x swap %d: probe", magics[m], swap);
			/* the FCS bits above the link type are not the link type */
			put32(b + 20, LINKTYPE_ETHERNET | 0x14000000u, swap);
			at = guarded_put(&g, b, sizeof(b));
			CHECK(pcap_file_header_parse(at, 24, &fi) == FORMAT_OK && fi.linktype == LINKTYPE_ETHERNET,
			      "FCS bits taken for the link type");
		}
	}
	munmap(g.map, g.maplen);
}

static void test_header_short_foreign_lied(void)
{
	uint8_t b[40];
	struct pcap_file_info fi = { .snaplen = 7 };
	struct format_probe p;
	struct guarded g;

	guarded_open(&g);
	hand_header(b, PCAP_MAGIC_NANO, false, 2, 65535, 1, 5, 6);
	for (size_t len = 0; len < PCAP_FILE_HEADER_LEN; len++) {
		const uint8_t *at = guarded_put(&g, b, len);

		CHECK(pcap_file_header_parse(at, len, &fi) == FORMAT_SHORT, "cut at %zu", len);
		CHECK(format_probe(at, len, &p) == FORMAT_SHORT, "probe cut at %zu", len);
	}
	CHECK_EQ(fi.snaplen, 7); /* untouched unless FORMAT_OK */
	/* a whole header without a whole record header: no first time */
	for (size_t len = 24; len < 40; len++) {
		const uint8_t *at = guarded_put(&g, b, len);

		CHECK(format_probe(at, len, &p) == FORMAT_OK && p.first_ts_ns == 0, "probe at %zu", len);
	}
	/* pcapng's section header block, text, zeros: not a pcap (the SHB's
	 * type with no byte-order magic after it: a pcapng that lies) */
	put32(b, 0x0a0d0d0au, false);
	CHECK_EQ(pcap_file_header_parse(guarded_put(&g, b, 40), 40, &fi), FORMAT_FOREIGN);
	CHECK_EQ(format_probe(guarded_put(&g, b, 40), 40, &p), FORMAT_LIED);
	memcpy(b, "not a capture, just text......\n", 32);
	CHECK_EQ(format_probe(guarded_put(&g, b, 32), 32, &p), FORMAT_FOREIGN);
	CHECK_EQ(format_probe(guarded_put(&g, b, 3), 3, &p), FORMAT_SHORT);
	memset(b, 0, sizeof(b));
	CHECK_EQ(pcap_file_header_parse(guarded_put(&g, b, 40), 40, &fi), FORMAT_FOREIGN);
	/* our magic, a version libpcap refuses: the header lies */
	for (int swap = 0; swap < 2; swap++) {
		static const uint16_t bad[] = { 0, 1, 3, 0x0200, 0xffff };

		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			hand_header(b, PCAP_MAGIC_MICRO, swap, bad[i], 65535, 1, 5, 6);
			CHECK(pcap_file_header_parse(guarded_put(&g, b, 24), 24, &fi) == FORMAT_LIED,
			      "version %u swap %d", bad[i], swap);
			CHECK(format_probe(guarded_put(&g, b, 40), 40, &p) == FORMAT_LIED, "probe version %u",
			      bad[i]);
		}
	}
	munmap(g.map, g.maplen);
}

static void test_record_lies(void)
{
	uint8_t b[16 + 64];
	struct pcap_file_info fi = { .swapped = false, .nano = false };
	struct pcap_rec r;
	struct guarded g;

	guarded_open(&g);
	for (int swap = 0; swap < 2; swap++) {
		fi.swapped = swap;
		/* caplen over libpcap's limit */
		put32(b, 1, swap);
		put32(b + 4, 2, swap);
		put32(b + 8, PCAP_SNAPLEN_MAX + 1, swap);
		put32(b + 12, 100, swap);
		CHECK_EQ(pcap_rec_header_parse(&fi, guarded_put(&g, b, 16), 16, &r), PCAP_REC_BAD);
		CHECK_EQ(pcap_rec_parse(&fi, guarded_put(&g, b, 80), 80, &r), PCAP_REC_BAD);
		put32(b + 8, 0xffffffffu, swap);
		CHECK_EQ(pcap_rec_parse(&fi, guarded_put(&g, b, 80), 80, &r), PCAP_REC_BAD);
		/* the largest caplen allowed is a header, not a lie: its bytes are missing */
		put32(b + 8, PCAP_SNAPLEN_MAX, swap);
		CHECK_EQ(pcap_rec_header_parse(&fi, guarded_put(&g, b, 16), 16, &r), PCAP_REC_OK);
		CHECK_EQ(pcap_rec_parse(&fi, guarded_put(&g, b, 80), 80, &r), PCAP_REC_SHORT);
		/* caplen one past the bytes at hand, then exactly them */
		put32(b + 8, 65, swap);
		CHECK_EQ(pcap_rec_parse(&fi, guarded_put(&g, b, 80), 80, &r), PCAP_REC_SHORT);
		put32(b + 8, 64, swap);
		CHECK_EQ(pcap_rec_parse(&fi, guarded_put(&g, b, 80), 80, &r), PCAP_REC_OK);
		CHECK(r.caplen == 64 && r.len == 100 && r.ts_sec == 1 && r.ts_frac == 2, "fields swap %d", swap);
		/* a header cut short */
		for (size_t len = 0; len < 16; len++)
			CHECK(pcap_rec_header_parse(&fi, guarded_put(&g, b, len), len, &r) == PCAP_REC_SHORT,
			      "record header cut at %zu", len);
		/* all zero: preallocated space, not a record */
		memset(b, 0, 16);
		CHECK_EQ(pcap_rec_parse(&fi, guarded_put(&g, b, 80), 80, &r), PCAP_REC_BAD);
	}
	munmap(g.map, g.maplen);
}

static void test_round_trips(void)
{
	static const uint32_t links[] = { LINKTYPE_NULL, LINKTYPE_ETHERNET, LINKTYPE_RAW, LINKTYPE_LOOP,
					  LINKTYPE_LINUX_SLL, LINKTYPE_IPV4, LINKTYPE_IPV6,
					  LINKTYPE_LINUX_SLL2 };
	static const uint32_t snaps[] = { 1, 96, 65535, PCAP_SNAPLEN_MAX };
	uint64_t seed = 7;

	for (size_t l = 0; l < sizeof(links) / sizeof(links[0]); l++) {
		for (size_t s = 0; s < sizeof(snaps) / sizeof(snaps[0]); s++) {
			for (int nano = 0; nano < 2; nano++) {
				uint8_t b[40], sw[40];
				struct pcap_file_info fi, fs;
				struct pcap_rec r, rs;
				uint32_t sec = (uint32_t)unit_rnd(&seed);
				uint32_t frac = (uint32_t)(unit_rnd(&seed) % (nano ? 1000000000u : 1000000u));
				uint32_t len = (uint32_t)(unit_rnd(&seed) % 70000) + 1;
				uint32_t caplen = len < snaps[s] ? len : snaps[s];

				pcap_file_header_encode(b, snaps[s], nano, links[l]);
				pcap_record_header_encode(b + 24, sec, frac, caplen, len);
				CHECK_EQ(pcap_file_header_parse(b, 24, &fi), FORMAT_OK);
				CHECK(!fi.swapped && fi.nano == (bool)nano && fi.snaplen == snaps[s] &&
					      fi.linktype == links[l] && fi.version_major == 2 &&
					      fi.version_minor == 4,
				      "header link %u snap %u nano %d", links[l], snaps[s], nano);
				CHECK_EQ(pcap_rec_header_parse(&fi, b + 24, 16, &r), PCAP_REC_OK);
				CHECK(r.ts_sec == sec && r.ts_frac == frac && r.caplen == caplen && r.len == len,
				      "record link %u", links[l]);
				/* the same file as a host of the other byte order writes it */
				for (int i = 0; i < 40; i += 4)
					put32(sw + i, pcap_u32(b + i, false), true);
				put16(sw + 4, 2, true);
				put16(sw + 6, 4, true);
				CHECK_EQ(pcap_file_header_parse(sw, 24, &fs), FORMAT_OK);
				CHECK(fs.swapped && fs.nano == fi.nano && fs.snaplen == fi.snaplen &&
					      fs.linktype == fi.linktype,
				      "swapped header link %u", links[l]);
				CHECK_EQ(pcap_rec_header_parse(&fs, sw + 24, 16, &rs), PCAP_REC_OK);
				CHECK(!memcmp(&r, &rs, sizeof(r)), "swapped record link %u", links[l]);
			}
		}
	}
}

/* Random bytes changed in a valid header and record header, cut at a
 * random length right before the guard page: no parse reads past it, and
 * what a parse accepts is consistent with the bytes. */
static void test_mutated_headers(void)
{
	uint8_t base[40], b[40];
	uint64_t seed = 0x5eed;
	unsigned ok = 0, lied = 0, foreign = 0, shortened = 0;
	struct guarded g;

	guarded_open(&g);
	hand_header(base, PCAP_MAGIC_MICRO, false, 2, 65535, LINKTYPE_RAW, 100, 200);
	for (int n = 0; n < 200000; n++) {
		size_t len = (size_t)(unit_rnd(&seed) % 41);
		struct pcap_file_info fi;
		struct format_probe p;
		enum format_status s, sp;
		const uint8_t *at;

		memcpy(b, base, sizeof(b));
		if (n & 1)
			put32(b, n & 2 ? __builtin_bswap32(PCAP_MAGIC_NANO) : PCAP_MAGIC_NANO, false);
		for (int k = 0; k < 1 + n % 4; k++) {
			uint64_t x = unit_rnd(&seed);

			b[x % 40] = (uint8_t)(x >> 32);
		}
		at = guarded_put(&g, b, len);
		s = pcap_file_header_parse(at, len, &fi);
		sp = format_probe(at, len, &p);
		CHECK(s == sp, "probe and parse disagree: %d %d", s, sp);
		switch (s) {
		case FORMAT_OK: {
			uint32_t m = pcap_u32(b, fi.swapped);

			ok++;
			CHECK(len >= 24 && fi.version_major == 2, "accepted at %zu", len);
			CHECK((m == PCAP_MAGIC_MICRO || m == PCAP_MAGIC_NANO) && fi.nano == (m == PCAP_MAGIC_NANO),
			      "magic %08x accepted", m);
			CHECK(len >= 40 || p.first_ts_ns == 0, "a time from a cut record");
			break;
		}
		case FORMAT_SHORT:
			shortened++;
			CHECK(len < 24, "short at %zu", len);
			break;
		case FORMAT_LIED:
			lied++;
			CHECK(len >= 24, "lied at %zu", len);
			break;
		case FORMAT_FOREIGN:
			foreign++;
			CHECK(len >= 4, "foreign at %zu", len);
			break;
		}
	}
	CHECK(ok && lied && foreign && shortened, "a verdict never came: %u %u %u %u", ok, lied, foreign,
	      shortened);
	munmap(g.map, g.maplen);
}

static void name_of(const struct rotation_names *n, unsigned i, char *out, size_t len)
{
	CHECK_EQ(rotation_name(n, i, 1764584100 /* 2025-12-01 10:15:00 UTC */, out, len), 0);
}

static void test_rotation_names(void)
{
	static const struct { unsigned files, digits; } widths[] = {
		{ 0, 1 }, { 1, 1 }, { 2, 1 }, { 10, 1 }, { 11, 2 }, { 100, 2 }, { 101, 3 }, { 1000, 3 },
		{ 1001, 4 },
	};
	struct rotation_names n = { .path = "/var/cap/x.pcap" };
	char out[256], tiny[8];

	setenv("TZ", "UTC", 1);
	tzset();
	for (size_t i = 0; i < sizeof(widths) / sizeof(widths[0]); i++)
		CHECK(rotation_digits(widths[i].files) == widths[i].digits, "digits of %u", widths[i].files);
	name_of(&n, 0, out, sizeof(out));
	CHECK(!strcmp(out, "/var/cap/x.pcap"), "plain: %s", out);
	name_of(&n, 5, out, sizeof(out));
	CHECK(!strcmp(out, "/var/cap/x.pcap"), "plain, file 5: %s", out);
	n.numbered = true; /* -C */
	name_of(&n, 0, out, sizeof(out));
	CHECK(!strcmp(out, "/var/cap/x.pcap"), "-C first: %s", out);
	name_of(&n, 12, out, sizeof(out));
	CHECK(!strcmp(out, "/var/cap/x.pcap12"), "-C 12: %s", out);
	n.max_files = 10; /* -C -W 10 */
	name_of(&n, 0, out, sizeof(out));
	CHECK(!strcmp(out, "/var/cap/x.pcap0"), "-W 10, 0: %s", out);
	name_of(&n, 12, out, sizeof(out));
	CHECK(!strcmp(out, "/var/cap/x.pcap2"), "-W 10, 12: %s", out);
	n.max_files = 11;
	name_of(&n, 3, out, sizeof(out));
	CHECK(!strcmp(out, "/var/cap/x.pcap03"), "-W 11, 3: %s", out);
	n = (struct rotation_names){ .path = "g-%Y%m%d-%H%M%S.pcap", .strftime = true, .max_files = 4 };
	name_of(&n, 7, out, sizeof(out)); /* -G -W: nothing appended */
	CHECK(!strcmp(out, "g-20251201-101500.pcap"), "-G: %s", out);
	n.numbered = true;
	name_of(&n, 7, out, sizeof(out));
	CHECK(!strcmp(out, "g-20251201-101500.pcap3"), "-G -C -W 4: %s", out);
	CHECK_EQ(rotation_name(&n, 7, 0, tiny, sizeof(tiny)), (unsigned long long)-ENAMETOOLONG);
	n = (struct rotation_names){ .path = "", .strftime = true }; /* strftime makes nothing */
	CHECK_EQ(rotation_name(&n, 0, 0, out, sizeof(out)), (unsigned long long)-ENAMETOOLONG);
}

/* Every name rotation_name gives is one the matcher takes, and the names of
 * the neighbouring rules are not. */
static void test_names_match_their_matcher(void)
{
	static const struct rotation_names cases[] = {
		{ .path = "/tmp/r/cap.pcap" },
		{ .path = "/tmp/r/cap.pcap", .numbered = true },
		{ .path = "/tmp/r/cap.pcap", .numbered = true, .max_files = 10 },
		{ .path = "/tmp/r/cap.pcap", .numbered = true, .max_files = 250 },
		{ .path = "/tmp/r/g-%F_%H.%M.%S.pcap", .strftime = true },
		{ .path = "g-%s-%j.pcap", .strftime = true, .numbered = true, .max_files = 12 },
	};
	static const char *const never[] = {
		"cap.pcap.zst", "xcap.pcap", "cap.pcap01", "cap.pcapx", ".cap.pcap.ridx", "cap.pcap1.idx",
	};

	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		struct rotation_matcher m;

		CHECK_EQ(rotation_matcher_compile(&m, &cases[c]), 0);
		CHECK(!strcmp(m.dir, strchr(cases[c].path, '/') ? "/tmp/r" : "."), "dir %s", m.dir);
		for (unsigned i = 0; i < 300; i++) {
			char out[512];
			const char *base;

			CHECK_EQ(rotation_name(&cases[c], i, 1764584100 + (time_t)i * 3607, out, sizeof(out)), 0);
			base = strrchr(out, '/') ? strrchr(out, '/') + 1 : out;
			CHECK(rotation_matcher_match(&m, base), "case %zu: %s not matched", c, base);
		}
		for (size_t k = 0; k < sizeof(never) / sizeof(never[0]); k++)
			CHECK(!rotation_matcher_match(&m, never[k]), "case %zu took %s", c, never[k]);
		rotation_matcher_free(&m);
		rotation_matcher_free(&m);
	}
}

int main(void)
{
	test_header_every_order_and_magic();
	test_header_short_foreign_lied();
	test_record_lies();
	test_round_trips();
	test_mutated_headers();
	test_rotation_names();
	test_names_match_their_matcher();
	return unit_exit("test_format");
}
