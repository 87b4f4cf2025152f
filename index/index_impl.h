/* Private to index/: what the pcapng builder (builder_pcapng.c) reaches of
 * the builder (builder.c) around its per-record path. */
#ifndef RINGCAP_INDEX_IMPL_H
#define RINGCAP_INDEX_IMPL_H

#include "index/index.h"

struct index_builder_parts {
	struct index *ix;            /* closed chunks, counts, last record, SHBs and IDBs */
	uint64_t *end;               /* past the last record added: the next must start there */
	struct index_chunk *cur;     /* the open chunk */
	struct pcap_file_info *fi;   /* the link type and precision the record path reads */
};

/* Pointers into the builder (valid while it lives). */
void index_builder_parts(struct index_builder *b, struct index_builder_parts *p);

#endif
