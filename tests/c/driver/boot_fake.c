/* SPDX-License-Identifier: MIT */
/*
 * boot_fake.c - the driver's boot and setup paths against a fake device (only registers and
 * memory, no command processor): wrong ID or interface major -> -ENODEV, a newer interface
 * minor is accepted, firmware failure -> -EIO, no READY -> -ETIMEDOUT, a create error is
 * passed up; a good device gets its queue registers programmed at open and cleared at close,
 * runs out of queues with -EBUSY, and (without hw->discard) still hands out zeroed memory.
 * Uses the driver's internal test seam npu_drv_set_hw_ops().
 */
#include "drv_test.h"
#include "npu_drv_internal.h"

#define FAKE_MEM    (16u << 20)
#define FAKE_QUEUES 2u

static struct {
	uint32_t id, if_version, boot_status;
	int create_ret;
} cfg;

struct npu_hw {
	uint8_t *mem;
	uint32_t status;
	uint32_t irq_mask;
	uint32_t qregs[FAKE_QUEUES][16];
};

static struct npu_hw *g_last;

static int fake_create(const char *config, struct npu_hw **out)
{
	struct npu_hw *hw;

	if (cfg.create_ret)
		return cfg.create_ret;
	hw = calloc(1, sizeof(*hw));
	T_ASSERT(hw);
	hw->mem = calloc(1, FAKE_MEM);
	T_ASSERT(hw->mem);
	*out = g_last = hw;
	return 0;
}

static void fake_destroy(struct npu_hw *hw)
{
	free(hw->mem);
	free(hw);
	g_last = NULL;
}

static uint32_t fake_rd32(struct npu_hw *hw, uint32_t off)
{
	switch (off) {
	case NPU_REG_ID: return cfg.id;
	case NPU_REG_FW_VERSION: return 0x00020003;
	case NPU_REG_IF_VERSION: return cfg.if_version;
	case NPU_REG_ISA_VERSION: return 0x00010000;
	case NPU_REG_STATUS: return hw->status;
	case NPU_REG_NUM_CORES: return 3;
	case NPU_REG_SRAM_SIZE: return 65536;
	case NPU_REG_MEM_SIZE_LO: return FAKE_MEM;
	case NPU_REG_MEM_SIZE_HI: return 0;
	case NPU_REG_CLOCK_KHZ: return 123456;
	case NPU_REG_NUM_QUEUES: return FAKE_QUEUES;
	case NPU_REG_IRQ_STATUS: return 0;
	case NPU_REG_IRQ_MASK: return hw->irq_mask;
	case NPU_REG_PAGE_SIZE: return 65536;
	}
	if (off >= NPU_REG_QUEUE(0) && off < NPU_REG_QUEUE(FAKE_QUEUES))
		return hw->qregs[(off - NPU_REG_QUEUE(0)) / 0x40][(off & 0x3f) / 4];
	return 0;
}

static void fake_wr32(struct npu_hw *hw, uint32_t off, uint32_t v)
{
	if (off == NPU_REG_CONTROL && v == NPU_CONTROL_BOOT)
		hw->status = cfg.boot_status;
	else if (off == NPU_REG_IRQ_MASK)
		hw->irq_mask = v;
	else if (off >= NPU_REG_QUEUE(0) && off < NPU_REG_QUEUE(FAKE_QUEUES))
		hw->qregs[(off - NPU_REG_QUEUE(0)) / 0x40][(off & 0x3f) / 4] = v;
}

static void *fake_aperture(struct npu_hw *hw, uint64_t *size)
{
	*size = FAKE_MEM;
	return hw->mem;
}

static void fake_set_isr(struct npu_hw *hw, npu_hw_isr_fn fn, void *arg)
{
}

/* No discard: the driver must clear freed memory itself. */
static const struct npu_hw_ops fake_ops = {
	.name = "fake",
	.create = fake_create,
	.destroy = fake_destroy,
	.rd32 = fake_rd32,
	.wr32 = fake_wr32,
	.aperture = fake_aperture,
	.discard = NULL,
	.set_isr = fake_set_isr,
};

static void good(void)
{
	cfg.id = NPU_HW_ID_MAGIC;
	cfg.if_version = NPU_HW_IF_VERSION;
	cfg.boot_status = NPU_STATUS_READY;
	cfg.create_ret = 0;
}

#define Q(q, reg) (g_last->qregs[q][(reg) / 4])

int main(void)
{
	int a, b;
	int64_t t0;

	npu_drv_set_hw_ops(&fake_ops);

	good();
	cfg.id = 0x12345678;
	T_EQ(npu_drv_open("npu0", 0), -ENODEV);
	good();
	cfg.if_version = (NPU_HW_IF_VERSION_MAJOR + 1) << 16;
	T_EQ(npu_drv_open("npu0", 0), -ENODEV);
	good();
	cfg.boot_status = NPU_STATUS_FAILED;
	T_EQ(npu_drv_open("npu0", 0), -EIO);
	good();
	cfg.create_ret = -ENOMEM;
	T_EQ(npu_drv_open("npu0", 0), -ENOMEM);
	good();
	cfg.boot_status = 0;
	t0 = t_now_ns();
	T_EQ(npu_drv_open("npu0", 0), -ETIMEDOUT);
	T_ASSERT(t_now_ns() - t0 >= 4000 * 1000000ll);
	T_ASSERT(g_last == NULL); /* every failed boot powered the device off again */

	/* A newer minor of the same major is fine. */
	good();
	cfg.if_version = NPU_HW_IF_VERSION + 7;
	a = t_open();
	T_EQ(t_param(a, NPU_PARAM_IF_VERSION), NPU_HW_IF_VERSION + 7);
	T_EQ(t_param(a, NPU_PARAM_FW_VERSION), 0x00020003);
	T_EQ(t_param(a, NPU_PARAM_NUM_CORES), 3);
	T_EQ(t_param(a, NPU_PARAM_CLOCK_KHZ), 123456);
	T_EQ(t_param(a, NPU_PARAM_MEM_SIZE), FAKE_MEM);
	T_EQ(t_param(a, NPU_PARAM_DEVICE_ID), NPU_HW_ID_MAGIC);

	/* The queue registers of the first file. */
	/* Interface >= 1.2: the device also writes job times. */
	T_EQ(Q(0, NPU_QREG_CONTROL), NPU_QCTL_ENABLE | NPU_QCTL_JOB_TIMES);
	T_EQ(Q(0, NPU_QREG_RING_SIZE), 256 * 1024);
	T_ASSERT(Q(0, NPU_QREG_RING_LO) % 65536 == 0 && Q(0, NPU_QREG_RING_LO) != 0);
	T_ASSERT(Q(0, NPU_QREG_PT_LO) % 65536 == 0 && Q(0, NPU_QREG_PT_LO) != 0);
	T_ASSERT(Q(0, NPU_QREG_STATUS_LO) % 8 == 0 && Q(0, NPU_QREG_STATUS_LO) != 0);
	T_EQ(g_last->irq_mask, 1);

	b = t_open();
	T_EQ(Q(1, NPU_QREG_CONTROL), NPU_QCTL_ENABLE | NPU_QCTL_JOB_TIMES);
	T_ASSERT(Q(1, NPU_QREG_PT_LO) != Q(0, NPU_QREG_PT_LO));
	T_EQ(g_last->irq_mask, 3);
	T_EQ(npu_drv_open("npu0", 0), -EBUSY); /* two queues, two files */

	/* Without hw->discard, freed memory is cleared by the driver. */
	{
		struct npu_bo_create bo = t_bo(a, 1 << 16, NPU_BO_HOST_VISIBLE);
		uint8_t *p = t_map(a, &bo, 1 << 16);

		memset(p, 0xee, 1 << 16);
		T_OK(npu_drv_munmap(a, p, 1 << 16));
		t_bo_free(a, bo.handle);
		bo = t_bo(b, 1 << 16, NPU_BO_HOST_VISIBLE);
		p = t_map(b, &bo, 1 << 16);
		for (unsigned i = 0; i < (1u << 16); i++)
			T_EQ(p[i], 0);
		T_OK(npu_drv_munmap(b, p, 1 << 16));
	}

	/* Close disables the queue and masks its interrupt; the queue is free again. */
	T_OK(npu_drv_close(a));
	T_EQ(Q(0, NPU_QREG_CONTROL), 0);
	T_EQ(g_last->irq_mask, 2);
	a = t_open();
	/* Interface >= 1.2: the device also writes job times. */
	T_EQ(Q(0, NPU_QREG_CONTROL), NPU_QCTL_ENABLE | NPU_QCTL_JOB_TIMES);
	T_OK(npu_drv_close(a));
	T_OK(npu_drv_close(b));
	T_ASSERT(g_last == NULL);

	npu_drv_set_hw_ops(NULL);
	return T_PASS;
}
