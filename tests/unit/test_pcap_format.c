/*
 * pcap_file_header_encode + pcap_record_encode against libpcap: files written
 * with plain stdio from the encoders must read back through pcap_open_offline
 * (micro) / pcap_open_offline_with_tstamp_precision (nano) with the right
 * magic, snaplen, linktype, lengths, timestamps and bytes, including snaplen
 * truncation and re-insertion of a device-stripped 802.1Q tag.
 */
#include <pcap/pcap.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "writer/pcap.h"
#include "unit.h"

#define MAXFRAME 2048

struct tpkt {
	uint8_t bytes[MAXFRAME];
	struct pkt_view v;
};

static void fill_frame(struct tpkt *t, uint32_t caplen, uint32_t len, uint32_t seed)
{
	memset(t, 0, sizeof(*t));
	for (uint32_t i = 0; i < caplen; i++)
		t->bytes[i] = (uint8_t)(seed * 31 + i * 7 + (i >> 8));
	if (caplen >= 14) { /* an IPv4 ethertype, so the tag has something behind it */
		t->bytes[12] = 0x08;
		t->bytes[13] = 0x00;
	}
	t->v.data = t->bytes;
	t->v.caplen = caplen;
	t->v.len = len;
	t->v.sec = 1700000000u + seed;
	t->v.nsec = (seed * 123456789u) % 1000000000u;
}

static void set_vlan(struct tpkt *t, uint16_t tci, uint16_t tpid)
{
	t->v.vlan = true;
	t->v.vlan_tci = tci;
	t->v.vlan_tpid = tpid;
}

/* What the record must hold, computed independently of pcap.c: the frame with
 * the tag put back after the MACs (when there are 12 bytes of them), then cut. */
static uint32_t expected_record(const struct pkt_view *p, uint32_t snaplen, uint8_t *out,
				uint32_t *len)
{
	uint8_t full[MAXFRAME + 4];
	uint32_t n = 0;

	*len = p->len;
	if (p->vlan && p->caplen >= 12) {
		memcpy(full, p->data, 12);
		full[12] = (uint8_t)(p->vlan_tpid >> 8);
		full[13] = (uint8_t)p->vlan_tpid;
		full[14] = (uint8_t)(p->vlan_tci >> 8);
		full[15] = (uint8_t)p->vlan_tci;
		memcpy(full + 16, p->data + 12, p->caplen - 12);
		n = p->caplen + 4;
		*len += 4;
	} else {
		memcpy(full, p->data, p->caplen);
		n = p->caplen;
	}
	if (n > snaplen)
		n = snaplen;
	memcpy(out, full, n);
	return n;
}

/* Encode header + records into a fresh temp file with stdio; returns its path. */
static void write_file(char *path, uint32_t snaplen, bool nano, struct tpkt *pk, unsigned n)
{
	uint8_t hdr[PCAP_FILE_HEADER_LEN + 8];
	uint8_t rec[PCAP_RECORD_HEADER_LEN + MAXFRAME + 4 + 64];
	FILE *f;
	int fd;

	strcpy(path, "/tmp/ringcap-test-pcap.XXXXXX");
	fd = mkstemp(path);
	if (fd < 0 || !(f = fdopen(fd, "wb"))) {
		perror("mkstemp");
		exit(1);
	}
	memset(hdr, 0xee, sizeof(hdr));
	pcap_file_header_encode(hdr, snaplen, nano, LINKTYPE_ETHERNET);
	for (size_t i = PCAP_FILE_HEADER_LEN; i < sizeof(hdr); i++)
		CHECK(hdr[i] == 0xee, "file header encoder wrote byte %zu", i);
	fwrite(hdr, 1, PCAP_FILE_HEADER_LEN, f);
	for (unsigned i = 0; i < n; i++) {
		uint32_t want = pcap_record_caplen(&pk[i].v, snaplen), got;

		memset(rec, 0xee, sizeof(rec));
		got = pcap_record_encode(rec, &pk[i].v, snaplen, nano);
		CHECK_EQ(got, PCAP_RECORD_HEADER_LEN + want);
		for (size_t j = got; j < got + 64 && j < sizeof(rec); j++)
			CHECK(rec[j] == 0xee, "record encoder wrote byte %zu past its %u", j, got);
		fwrite(rec, 1, got, f);
	}
	if (fclose(f)) {
		perror("fclose");
		exit(1);
	}
}

static uint32_t rd32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

/* Read the file back with libpcap and compare every record. */
static void check_file(const char *path, uint32_t snaplen, bool nano, struct tpkt *pk,
		       unsigned n, const char *what)
{
	char errbuf[PCAP_ERRBUF_SIZE];
	uint8_t raw[PCAP_FILE_HEADER_LEN];
	struct pcap_pkthdr *h;
	const u_char *data;
	pcap_t *p;
	FILE *f;
	unsigned i;
	int r;

	f = fopen(path, "rb");
	CHECK(f && fread(raw, 1, sizeof(raw), f) == sizeof(raw), "%s: short file", what);
	if (f)
		fclose(f);
	CHECK_EQ(rd32(raw), nano ? 0xa1b23c4du : 0xa1b2c3d4u);
	CHECK_EQ(raw[4] | raw[5] << 8, 2); /* version 2.4, host order (x86) */
	CHECK_EQ(raw[6] | raw[7] << 8, 4);
	CHECK_EQ(rd32(raw + 8), 0);  /* thiszone */
	CHECK_EQ(rd32(raw + 12), 0); /* sigfigs */
	CHECK_EQ(rd32(raw + 16), snaplen);
	CHECK_EQ(rd32(raw + 20), 1);

	if (nano)
		p = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_NANO, errbuf);
	else
		p = pcap_open_offline(path, errbuf);
	CHECK(p != NULL, "%s: libpcap refused the file: %s", what, errbuf);
	if (!p)
		return;
	CHECK_EQ(pcap_datalink(p), DLT_EN10MB);
	CHECK_EQ(pcap_snapshot(p), snaplen);
	CHECK_EQ(pcap_major_version(p), 2);
	CHECK_EQ(pcap_minor_version(p), 4);
	CHECK_EQ(pcap_get_tstamp_precision(p),
		 nano ? PCAP_TSTAMP_PRECISION_NANO : PCAP_TSTAMP_PRECISION_MICRO);

	for (i = 0; (r = pcap_next_ex(p, &h, &data)) == 1; i++) {
		uint8_t want[MAXFRAME + 4];
		uint32_t wlen, wcap;

		if (i >= n) {
			CHECK(0, "%s: extra record %u", what, i);
			continue;
		}
		wcap = expected_record(&pk[i].v, snaplen, want, &wlen);
		CHECK(h->caplen == wcap, "%s: record %u caplen %u, want %u", what, i, h->caplen,
		      wcap);
		CHECK(h->len == wlen, "%s: record %u len %u, want %u", what, i, h->len, wlen);
		/* libpcap 1.10 reads ts_sec as a signed 32-bit field: compare the 32 bits */
		CHECK((uint32_t)h->ts.tv_sec == pk[i].v.sec, "%s: record %u sec %lld want %u", what,
		      i, (long long)h->ts.tv_sec, pk[i].v.sec);
		if (nano)
			CHECK((uint64_t)h->ts.tv_usec == pk[i].v.nsec,
			      "%s: record %u nsec %ld want %u", what, i, (long)h->ts.tv_usec,
			      pk[i].v.nsec);
		else
			CHECK((uint64_t)h->ts.tv_usec == pk[i].v.nsec / 1000,
			      "%s: record %u usec %ld want %u", what, i, (long)h->ts.tv_usec,
			      pk[i].v.nsec / 1000);
		if (h->caplen == wcap)
			CHECK(memcmp(data, want, wcap) == 0, "%s: record %u bytes differ", what, i);
	}
	CHECK(r == PCAP_ERROR_BREAK, "%s: pcap_next_ex ended with %d (%s)", what, r, pcap_geterr(p));
	CHECK(i == n, "%s: read %u records, wrote %u", what, i, n);
	pcap_close(p);
}

static void roundtrip(uint32_t snaplen, bool nano, struct tpkt *pk, unsigned n, const char *what)
{
	char path[64];

	write_file(path, snaplen, nano, pk, n);
	check_file(path, snaplen, nano, pk, n, what);
	unlink(path);
}

/* Plain frames: micro and nano timestamps, lengths, bytes. */
static void test_plain(void)
{
	static struct tpkt pk[6];
	static const uint32_t nsec[6] = { 0, 999, 1000, 1999, 999999999, 500000123 };
	static const uint32_t len[6] = { 60, 1514, 42, 9000 - 1, 14, 1 };

	for (int i = 0; i < 6; i++) {
		uint32_t cap = len[i] > MAXFRAME ? MAXFRAME : len[i];
		fill_frame(&pk[i], cap, len[i], (uint32_t)i);
		pk[i].v.nsec = nsec[i];
	}
	pk[5].v.sec = 0xfffffff0u; /* u32 seconds past 2038 */

	roundtrip(65535, false, pk, 6, "plain micro");
	roundtrip(65535, true, pk, 6, "plain nano");
	roundtrip(262144u, false, pk, 6, "plain micro snaplen 262144");
}

/* Snaplen truncation: caplen = min(caplen, snaplen), len unchanged. */
static void test_snaplen(void)
{
	static struct tpkt pk[4];

	fill_frame(&pk[0], 1514, 1514, 10);
	fill_frame(&pk[1], 100, 100, 11);
	fill_frame(&pk[2], 99, 99, 12);
	fill_frame(&pk[3], 300, 1514, 13); /* already cut by the kernel */
	roundtrip(100, false, pk, 4, "snaplen 100 micro");
	roundtrip(100, true, pk, 4, "snaplen 100 nano");

	/* and the encoder's own arithmetic */
	CHECK_EQ(pcap_record_caplen(&pk[0].v, 100), 100);
	CHECK_EQ(pcap_record_caplen(&pk[2].v, 100), 99);
	CHECK_EQ(pcap_record_caplen(&pk[3].v, 262144), 300);
}

/* One VLAN frame checked byte by byte by hand (not through expected_record). */
static void test_vlan_literal(void)
{
	static struct tpkt t;
	uint8_t rec[PCAP_RECORD_HEADER_LEN + 128];
	uint32_t n;

	fill_frame(&t, 60, 60, 20);
	set_vlan(&t, 0x0064, 0x8100);
	n = pcap_record_encode(rec, &t.v, 65535, false);
	CHECK_EQ(n, 16 + 64);
	CHECK_EQ(rd32(rec + 8), 64); /* caplen */
	CHECK_EQ(rd32(rec + 12), 64); /* len */
	CHECK(memcmp(rec + 16, t.bytes, 12) == 0, "MACs not first");
	CHECK(rec[28] == 0x81 && rec[29] == 0x00 && rec[30] == 0x00 && rec[31] == 0x64,
	      "tag bytes %02x %02x %02x %02x", rec[28], rec[29], rec[30], rec[31]);
	CHECK(rec[32] == 0x08 && rec[33] == 0x00, "original ethertype not after the tag");
	CHECK(memcmp(rec + 34, t.bytes + 14, 46) == 0, "payload after the tag differs");

	/* cut at snaplen 14: MACs and the TPID only */
	n = pcap_record_encode(rec, &t.v, 14, false);
	CHECK_EQ(n, 16 + 14);
	CHECK_EQ(rd32(rec + 8), 14);
	CHECK_EQ(rd32(rec + 12), 64);
	CHECK(rec[28] == 0x81 && rec[29] == 0x00, "TPID not kept when cut inside the tag");
}

static void test_vlan(void)
{
	static struct tpkt pk[7];
	char what[64];

	fill_frame(&pk[0], 60, 60, 30);
	set_vlan(&pk[0], 0x0064, 0x8100);
	fill_frame(&pk[1], 1514, 1514, 31);
	set_vlan(&pk[1], 0xe123, 0x8100); /* PCP bits and a large VID */
	fill_frame(&pk[2], 200, 1500, 32); /* kernel-truncated: both grow by 4 */
	set_vlan(&pk[2], 0x0fff, 0x88a8); /* 802.1ad TPID */
	fill_frame(&pk[3], 10, 10, 33); /* caplen < 12: no room for the MACs, no tag */
	set_vlan(&pk[3], 0x0064, 0x8100);
	fill_frame(&pk[4], 12, 12, 34); /* exactly the MACs: tag goes after them */
	set_vlan(&pk[4], 0x0064, 0x8100);
	fill_frame(&pk[5], 11, 60, 35);
	set_vlan(&pk[5], 0x0064, 0x8100);
	fill_frame(&pk[6], 64, 64, 36); /* a plain one in between */

	CHECK_EQ(pcap_record_caplen(&pk[0].v, 65535), 64);
	CHECK_EQ(pcap_record_caplen(&pk[3].v, 65535), 10);
	CHECK_EQ(pcap_record_caplen(&pk[4].v, 65535), 16);
	roundtrip(65535, false, pk, 7, "vlan micro");
	roundtrip(65535, true, pk, 7, "vlan nano");

	/* every snaplen from 1 to past the frame: cuts inside the MACs, the tag,
	 * the ethertype and the payload */
	for (uint32_t snap = 1; snap <= 70; snap++) {
		snprintf(what, sizeof(what), "vlan snaplen %u", snap);
		roundtrip(snap, snap & 1, pk, 7, what);
	}
}

/* Every length the short-copy paths handle, and past them, at every source
 * alignment: the bytes land exactly, and the guard bytes either side of the
 * destination are untouched (the next record may be another worker's). */
static void test_copy_packet_bytes(void)
{
	uint8_t src[300 + 16], dst[300 + 32];

	for (unsigned i = 0; i < sizeof(src); i++)
		src[i] = (uint8_t)(i * 7 + 1);
	for (uint32_t n = 0; n <= 300; n++) {
		for (unsigned align = 0; align < 16; align++) {
			memset(dst, 0xee, sizeof(dst));
			copy_packet_bytes(dst + 16, src + align, n);
			CHECK(memcmp(dst + 16, src + align, n) == 0, "length %u, offset %u", n, align);
			for (unsigned g = 0; g < 16; g++) {
				CHECK(dst[g] == 0xee, "length %u wrote before the start", n);
				CHECK(dst[16 + n + g] == 0xee, "length %u wrote past the end", n);
			}
		}
	}
}

/* The link type field is written as given: 0 is LINKTYPE_NULL (the writer's
 * "0: Ethernet" default is applied by the writer); raw IP (101) reads back
 * through libpcap as DLT_RAW with the IP header at byte 0. */
static void test_linktype(void)
{
	static const struct { uint32_t in, field; int dlt; } cases[] = {
		{ 0, 0, DLT_NULL }, { 1, 1, DLT_EN10MB }, { 101, 101, DLT_RAW },
	};

	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		uint8_t hdr[PCAP_FILE_HEADER_LEN], rec[PCAP_RECORD_HEADER_LEN + 28];
		uint8_t ip[28] = { 0x45, 0, 0, 28, 0, 1, 0, 0, 64, 17, 0, 0, 198, 18, 2, 2,
				   198, 18, 2, 1, 0x9c, 0x40, 0, 9, 0, 8, 0, 0 };
		struct pkt_view v = { .data = ip, .caplen = 28, .len = 28, .sec = 5 };
		char path[64], errbuf[PCAP_ERRBUF_SIZE];
		struct pcap_pkthdr *h;
		const u_char *d;
		pcap_t *p;
		FILE *f;
		int fd;

		pcap_file_header_encode(hdr, 65535, false, cases[c].in);
		CHECK_EQ(rd32(hdr + 20), cases[c].field);
		strcpy(path, "/tmp/ringcap-test-lt.XXXXXX");
		fd = mkstemp(path);
		if (fd < 0 || !(f = fdopen(fd, "wb"))) {
			perror("mkstemp");
			exit(1);
		}
		fwrite(hdr, 1, sizeof(hdr), f);
		fwrite(rec, 1, pcap_record_encode(rec, &v, 65535, false), f);
		fclose(f);
		p = pcap_open_offline(path, errbuf);
		CHECK(p != NULL, "linktype %u: %s", cases[c].in, errbuf);
		if (p) {
			CHECK_EQ(pcap_datalink(p), cases[c].dlt);
			CHECK(pcap_next_ex(p, &h, &d) == 1 && h->caplen == 28 && d[0] == 0x45,
			      "linktype %u: record not read back", cases[c].in);
			pcap_close(p);
		}
		unlink(path);
	}
}

int main(void)
{
	test_copy_packet_bytes();
	test_linktype();
	test_plain();
	test_snaplen();
	test_vlan_literal();
	test_vlan();
	return unit_exit("test_pcap_format");
}
