/*
 * The filter compiler: the one file that includes <pcap.h>. libpcap turns a
 * tcpdump expression into classic BPF without a device or privileges
 * (pcap_open_dead), and its struct bpf_insn has the kernel's sock_filter layout,
 * so the program is handed to SO_ATTACH_FILTER as is.
 */
#include <errno.h>
#include <linux/if_packet.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <string.h>

#include "ring/ring.h"
#include "util/util.h"

_Static_assert(sizeof(struct bpf_insn) == sizeof(struct sock_filter),
	       "libpcap and kernel BPF instructions differ");

int filter_compile(struct filter *f, const char *expr, unsigned snaplen, char *err, size_t errlen)
{
	return filter_compile_link(f, LINKTYPE_ETHERNET, expr, snaplen, err, errlen);
}

int filter_compile_link(struct filter *f, unsigned linktype, const char *expr, unsigned snaplen,
			char *err, size_t errlen)
{
	struct bpf_program prog;
	pcap_t *dead;
	int ret = 0, dlt;

	memset(f, 0, sizeof(*f));
	/* libpcap's DLT_ values are the savefile's LINKTYPE_ values except for
	 * raw IP among the types we meet (DLT_RAW is 12 or 14 by platform;
	 * LINKTYPE_RAW is 101). A type libpcap does not know fails to compile. */
	dlt = linktype == LINKTYPE_RAW ? DLT_RAW : (int)linktype;
	dead = pcap_open_dead(dlt, (int)snaplen);
	if (!dead) {
		snprintf(err, errlen, "pcap_open_dead failed");
		return -ENOMEM;
	}
	if (pcap_compile(dead, &prog, expr ? expr : "", 1, PCAP_NETMASK_UNKNOWN) < 0) {
		snprintf(err, errlen, "%s", pcap_geterr(dead));
		ret = -EINVAL;
		goto out_close;
	}
	f->prog.len = (unsigned short)prog.bf_len;
	f->prog.filter = xcalloc(prog.bf_len, sizeof(struct sock_filter));
	memcpy(f->prog.filter, prog.bf_insns, prog.bf_len * sizeof(struct sock_filter));
	pcap_freecode(&prog);
out_close:
	pcap_close(dead);
	return ret;
}

/*
 * -Q as libpcap's pcap_setdirection does it on Linux, but in the kernel: a
 * packet socket sees what the interface sends with pkttype PACKET_OUTGOING and
 * what it receives with any other (host, broadcast, multicast, other host).
 * libpcap drops by that field in user space; the ancillary load
 * SKF_AD_PKTTYPE (what libpcap's own "inbound"/"outbound" compile to) lets
 * the socket filter drop first, so the packets of the other direction are
 * never queued nor counted. The test goes in front of the program: cBPF jumps
 * are relative and forward only, so the program's own jumps still land where
 * they did, and every libpcap program loads before it tests (A's value at
 * its start does not matter).
 */
int filter_set_direction(struct filter *f, enum filter_direction dir)
{
	const bool keep_out = dir == FILTER_DIR_OUT;
	const struct sock_filter head[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, (uint32_t)(SKF_AD_OFF + SKF_AD_PKTTYPE)),
		/* outgoing: go on (OUT) or reject (IN); the rest the other way */
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, PACKET_OUTGOING, keep_out ? 1 : 0,
			 keep_out ? 0 : 1),
		BPF_STMT(BPF_RET | BPF_K, 0),
	};
	const size_t nhead = ARRAY_SIZE(head);
	struct sock_filter *prog;

	if (dir == FILTER_DIR_INOUT || !f->prog.filter)
		return 0;
	if (f->prog.len + nhead > BPF_MAXINSNS)
		return -E2BIG;
	prog = xcalloc(f->prog.len + nhead, sizeof(*prog));
	memcpy(prog, head, sizeof(head));
	memcpy(prog + nhead, f->prog.filter, f->prog.len * sizeof(*prog));
	xfree(f->prog.filter);
	f->prog.filter = prog;
	f->prog.len = (unsigned short)(f->prog.len + nhead);
	return 0;
}

const char *filter_linktype_name(unsigned linktype)
{
	if (!linktype)
		return NULL;
	return pcap_datalink_val_to_name(linktype == LINKTYPE_RAW ? DLT_RAW : (int)linktype);
}

void filter_free(struct filter *f)
{
	xfree(f->prog.filter);
	f->prog.filter = NULL;
	f->prog.len = 0;
}

bool filter_match(const struct filter *f, const uint8_t *frame, uint32_t caplen, uint32_t wirelen)
{
	if (!f->prog.filter)
		return true;
	return bpf_filter((const struct bpf_insn *)f->prog.filter, frame, wirelen, caplen) != 0;
}
