/*
 * How far ahead the writer reserves space (capture_prealloc_step): the file
 * being written occupies up to one step more than its size shows, so the
 * step is a sixteenth of --max-total and of the room --min-free leaves,
 * never more than 256 MiB, never less than the writer's 1 MiB chunk, and a
 * whole number of chunks.
 */
#include <stdint.h>
#include <sys/statvfs.h>

#include "capture/capture_impl.h"
#include "unit.h"

#define MIB (1ull << 20)

static void test_max_total(void)
{
	struct capture_config o = { 0 };

	CHECK_EQ(capture_prealloc_step(&o), 256 * MIB);      /* no limit */
	o.max_total_bytes = 100 * 1000 * 1000;               /* 6.25 MB: 5 whole MiB */
	CHECK_EQ(capture_prealloc_step(&o), 5 * MIB);
	o.max_total_bytes = 8 * MIB;                          /* 512 KiB: one chunk */
	CHECK_EQ(capture_prealloc_step(&o), MIB);
	o.max_total_bytes = 64ull << 30;                      /* 4 GiB: the cap */
	CHECK_EQ(capture_prealloc_step(&o), 256 * MIB);
}

static void test_min_free(void)
{
	struct capture_config o = { .path = "./x.pcap" };
	struct statvfs sv;
	uint64_t avail, step;

	if (statvfs(".", &sv))
		return;
	avail = (uint64_t)sv.f_bavail * sv.f_frsize;
	/* leave all but 32 MiB: the step is 2 MiB */
	if (avail > 64 * MIB) {
		o.min_free_bytes = avail - 32 * MIB;
		step = capture_prealloc_step(&o);
		CHECK(step >= MIB && step <= 2 * MIB, "step %llu for 32 MiB of room",
		      (unsigned long long)step);
	}
	/* no room at all: one chunk */
	o.min_free_bytes = UINT64_MAX / 2;
	CHECK_EQ(capture_prealloc_step(&o), MIB);
	o.min_free_bytes = 0;
	o.min_free_percent = 99;
	step = capture_prealloc_step(&o);
	CHECK(step % MIB == 0 && step <= 256 * MIB, "step %llu", (unsigned long long)step);
}

int main(void)
{
	test_max_total();
	test_min_free();
	return unit_exit("test_prealloc_step");
}
