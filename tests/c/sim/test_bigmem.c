/* SPDX-License-Identifier: MIT */
/* Device memory: a 64 GiB device opens fast and costs only touched pages; discard() gives
 * whole pages back and zeroes partial edges. */
#include <string.h>
#include <unistd.h>

#include "sim_test.h"

static uint64_t rss_bytes(void)
{
	unsigned long long vsz = 0, rss = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (!f)
		return 0;
	if (fscanf(f, "%llu %llu", &vsz, &rss) != 2)
		rss = 0;
	fclose(f);
	return rss * (uint64_t)sysconf(_SC_PAGESIZE);
}

int main(void)
{
	const struct npu_hw_ops *ops = &npu_sim_hw_ops;
	const uint64_t touch = 64ull << 20;
	struct npu_hw *hw;
	uint64_t t0, t1, size, rss0, rss1, rss2;
	uint8_t *mem;
	int ret;

	t0 = th_now_ms();
	ret = ops->create("mem=64G", &hw);
	t1 = th_now_ms();
	if (ret) {
		fprintf(stderr, "64 GiB device not creatable here (%d): skipped\n", ret);
		return T_SKIP;
	}
	CHECK(t1 - t0 < 100);
	mem = ops->aperture(hw, &size);
	CHECK_EQ(size, 64ull << 30);
	CHECK_EQ(ops->rd32(hw, NPU_REG_MEM_SIZE_HI), 16);
	CHECK_EQ(ops->rd32(hw, NPU_REG_MEM_SIZE_LO), 0);

	/* Touch the first, the middle and the last byte. */
	mem[0] = 1;
	mem[size / 2] = 2;
	mem[size - 1] = 3;
	CHECK(mem[0] == 1 && mem[size / 2] == 2 && mem[size - 1] == 3);

	/* Touch 64 MiB, discard it, the RSS drops and the bytes read as zero. */
	rss0 = rss_bytes();
	memset(mem + (1ull << 30), 0xab, touch);
	rss1 = rss_bytes();
	ops->discard(hw, 1ull << 30, touch);
	rss2 = rss_bytes();
	if (rss0 && rss1) {
		CHECK(rss1 >= rss0 + touch / 2);
		CHECK(rss2 + touch / 2 <= rss1);
	}
	for (uint64_t i = 0; i < touch; i += 4096)
		CHECK(mem[(1ull << 30) + i] == 0);

	/* Partial pages at both ends: only the range itself is zeroed. */
	memset(mem + (2ull << 30), 0x5a, 3 * 65536);
	ops->discard(hw, (2ull << 30) + 100, 2 * 65536);
	for (uint64_t i = 0; i < 3 * 65536; i++) {
		uint8_t want = (i >= 100 && i < 100 + 2 * 65536) ? 0 : 0x5a;

		if (mem[(2ull << 30) + i] != want) {
			fprintf(stderr, "byte %llu is 0x%x\n", (unsigned long long)i,
				mem[(2ull << 30) + i]);
			return T_FAIL;
		}
	}
	/* A tiny range inside one page, and ranges past the end, are harmless. */
	memset(mem + 4096, 0x11, 16);
	ops->discard(hw, 4096 + 4, 8);
	CHECK(mem[4096 + 3] == 0x11 && mem[4096 + 4] == 0 && mem[4096 + 11] == 0 &&
	      mem[4096 + 12] == 0x11);
	ops->discard(hw, size - 1, 100);
	CHECK(mem[size - 1] == 0);
	ops->discard(hw, size, 100);
	ops->discard(hw, UINT64_MAX - 10, 100);
	ops->discard(hw, 0, 0);
	CHECK(mem[0] == 1 && mem[size / 2] == 2);
	ops->destroy(hw);
	return T_PASS;
}
