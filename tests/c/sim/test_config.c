/* SPDX-License-Identifier: MIT */
/* The configuration string and NPU_SIM_CONFIG: values, suffixes, precedence, errors. */
#include <errno.h>
#include <string.h>

#include "sim_test.h"

static const struct npu_hw_ops *ops = &npu_sim_hw_ops;

static int try_create(const char *cfg)
{
	struct npu_hw *hw = (struct npu_hw *)&hw; /* must stay untouched on failure */
	struct npu_hw *orig = hw;
	int ret = ops->create(cfg, &hw);

	if (ret == 0)
		ops->destroy(hw);
	else
		CHECK(hw == orig);
	return ret;
}

static uint32_t reg_of(const char *cfg, uint32_t off)
{
	struct npu_hw *hw;
	uint32_t v;

	CHECK_EQ(ops->create(cfg, &hw), 0);
	v = ops->rd32(hw, off);
	ops->destroy(hw);
	return v;
}

int main(void)
{
	static const char *const bad[] = {
		"bogus=1", "cores", "cores=", "cores=0", "cores=abc", "cores=4x", "cores=-1",
		"cores=1K", "cores=100000", "queues=0", "queues=33", "sram=1", "sram=100",
		"sram=4097", "sram=2G", "mem=0", "mem=1000", "mem=65537", "mem=2T", "mem=4Q",
		"mem=4GG", "mem=99999999999999999999999", "mem=18446744073709551615K",
		"clock_khz=0", "clock_khz=1K", "=4", "cores=2,bogus", "cores=2;mem=1G",
		"Cores=2", " cores = 2", "cores=2 4",
	};
	uint64_t size;
	struct npu_hw *hw;

	unsetenv("NPU_SIM_CONFIG");
	CHECK_EQ(ops->create("cores=2", NULL), -EINVAL);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (try_create(bad[i]) != -EINVAL) {
			fprintf(stderr, "config \"%s\" was accepted\n", bad[i]);
			return T_FAIL;
		}
	}

	CHECK_EQ(try_create(""), 0);
	CHECK_EQ(try_create(",,cores=1,,"), 0);
	CHECK_EQ(try_create(" cores=1 , queues=1 "), 0);
	CHECK_EQ(reg_of("cores=2", NPU_REG_NUM_CORES), 2);
	CHECK_EQ(reg_of("cores=1,cores=7", NPU_REG_NUM_CORES), 7);
	CHECK_EQ(reg_of("sram=128K", NPU_REG_SRAM_SIZE), 128 * 1024);
	CHECK_EQ(reg_of("sram=1m", NPU_REG_SRAM_SIZE), 1024 * 1024);
	CHECK_EQ(reg_of("sram=4096", NPU_REG_SRAM_SIZE), 4096);
	CHECK_EQ(reg_of("mem=4G", NPU_REG_MEM_SIZE_HI), 1);
	CHECK_EQ(reg_of("mem=64M", NPU_REG_MEM_SIZE_LO), 64u << 20);
	CHECK_EQ(reg_of("mem=65536", NPU_REG_MEM_SIZE_LO), 65536);
	CHECK_EQ(reg_of("clock_khz=1500000", NPU_REG_CLOCK_KHZ), 1500000);
	CHECK_EQ(reg_of("queues=32", NPU_REG_NUM_QUEUES), 32);
	CHECK_EQ(reg_of("queues=1", NPU_REG_NUM_QUEUES), 1);

	CHECK_EQ(ops->create("mem=8M", &hw), 0);
	CHECK(ops->aperture(hw, &size) != NULL);
	CHECK_EQ(size, 8u << 20);
	ops->destroy(hw);

	/* The environment supplies defaults; the config string wins. */
	setenv("NPU_SIM_CONFIG", "cores=3,queues=5", 1);
	CHECK_EQ(reg_of(NULL, NPU_REG_NUM_CORES), 3);
	CHECK_EQ(reg_of("cores=1", NPU_REG_NUM_CORES), 1);
	CHECK_EQ(reg_of("cores=1", NPU_REG_NUM_QUEUES), 5);
	setenv("NPU_SIM_CONFIG", "cores=zero", 1);
	CHECK_EQ(try_create(NULL), -EINVAL);
	CHECK_EQ(try_create("cores=1"), -EINVAL);
	setenv("NPU_SIM_CONFIG", "", 1);
	CHECK_EQ(reg_of(NULL, NPU_REG_NUM_CORES), 4);
	unsetenv("NPU_SIM_CONFIG");
	return T_PASS;
}
