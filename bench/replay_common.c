/* What ringcap-replay and ringcap-merge share: see bench/replay.h. */
#include <netinet/in.h>

#include "bench/replay.h"
#include "tools/frame.h"

const char *const replay_backend_choices[] = { "uring", "pwrite", NULL };

struct writer_config replay_writer_config(const struct replay_writer *w)
{
	return (struct writer_config){
		.path = w->path,
		.snaplen = 262144,
		.backend = (enum writer_backend)w->backend,
		.chunk_size = 1u << 20,
		.nchunks = (uint32_t)(w->staging >> 20),
		.direct = w->direct,
		.index = w->index,
		.compress_level = w->compress_level,
		.compress_threads = w->compress_threads,
		.index_postings = !w->no_index_postings,
	};
}

const char *replay_parse_compress(const char *arg, void *field)
{
	struct replay_writer *w = field;

	return writer_parse_compress(arg, &w->compress_level)
		       ? "expected zstd or zstd:LEVEL (LEVEL 1..19)" : NULL;
}

void replay_parse_options(const struct opt_prog *prog, int argc, char **argv)
{
	int rest = opt_parse_or_exit(prog, argc, argv);

	if (rest != argc)
		opt_die("argument", argv[rest], "this program takes options only");
}

void replay_check_geometry(uint64_t ring_bytes, uint32_t block_size, uint32_t frame,
			   uint32_t min_blocks)
{
	if (ring_bytes / block_size < min_blocks)
		die(2, "bad ring size '%llu': must hold at least %u blocks",
		    (unsigned long long)ring_bytes, min_blocks);
	if (ALIGN_UP(MAC_OFF + frame, V3_ALIGN) + BLK_HDR_LEN >= block_size)
		die(2, "bad frame size '%u': does not fit a %u-byte block", frame, block_size);
}

void replay_frame(uint8_t *f, uint32_t len)
{
	static const uint8_t dst[6] = { 0x02, 0x52, 0x43, 0x00, 0x00, 0x02 };
	static const uint8_t src[6] = { 0x02, 0x52, 0x43, 0x00, 0x00, 0x01 };
	uint16_t ip_len = (uint16_t)(len - ETH_HLEN);

	put_eth(f, dst, src, ETH_P_IP, -1);
	put_ipv4(f + ETH_HLEN, IPPROTO_UDP, ip_len, 0x4000 /* DF */, 0xc6120001, 0xc6120002);
	put_udp(f + ETH_HLEN + 20, 1024, 9, (uint16_t)(ip_len - 20));
	for (uint32_t i = SEQ_OFF; i < len; i++)
		f[i] = (uint8_t)(i * 131 + 7);
}
