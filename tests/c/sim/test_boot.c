/* SPDX-License-Identifier: MIT */
/* Boot, identification registers, IRQ mask/ack, unknown registers, RESET. */
#include "sim_test.h"

int main(void)
{
	const struct npu_hw_ops *ops = &npu_sim_hw_ops;
	struct npu_hw *hw;
	struct th_dev d;
	struct th_ctx ctx;
	struct th_queue q;

	CHECK(ops->name && ops->create && ops->destroy && ops->rd32 && ops->wr32 &&
	      ops->aperture && ops->discard && ops->set_isr);

	/* Before BOOT: identification works, the firmware is not ready. */
	CHECK_EQ(ops->create("cores=3,sram=128K,mem=1G,clock_khz=500000,queues=8", &hw), 0);
	CHECK_EQ(ops->rd32(hw, NPU_REG_ID), NPU_HW_ID_MAGIC);
	CHECK_EQ(ops->rd32(hw, NPU_REG_IF_VERSION), NPU_HW_IF_VERSION);
	CHECK_EQ(ops->rd32(hw, NPU_REG_IF_VERSION) >> 16, NPU_HW_IF_VERSION_MAJOR);
	CHECK_EQ(ops->rd32(hw, NPU_REG_ISA_VERSION), NPU_ISA_VERSION);
	CHECK(ops->rd32(hw, NPU_REG_FW_VERSION) != 0);
	CHECK_EQ(ops->rd32(hw, NPU_REG_STATUS), 0);
	CHECK_EQ(ops->rd32(hw, NPU_REG_NUM_CORES), 3);
	CHECK_EQ(ops->rd32(hw, NPU_REG_SRAM_SIZE), 128 * 1024);
	CHECK_EQ(ops->rd32(hw, NPU_REG_MEM_SIZE_LO), 1u << 30);
	CHECK_EQ(ops->rd32(hw, NPU_REG_MEM_SIZE_HI), 0);
	CHECK_EQ(ops->rd32(hw, NPU_REG_CLOCK_KHZ), 500000);
	CHECK_EQ(ops->rd32(hw, NPU_REG_NUM_QUEUES), 8);
	CHECK_EQ(ops->rd32(hw, NPU_REG_PAGE_SIZE), NPU_PAGE_SIZE);
	/* Unknown, unaligned and out-of-range offsets read 0 and ignore writes. */
	CHECK_EQ(ops->rd32(hw, 0x0f0), 0);
	CHECK_EQ(ops->rd32(hw, 0x001), 0);
	CHECK_EQ(ops->rd32(hw, NPU_REG_QUEUE(8)), 0);
	CHECK_EQ(ops->rd32(hw, 0xfffffffc), 0);
	ops->wr32(hw, 0x0f0, 1);
	ops->wr32(hw, NPU_REG_ID, 1);
	ops->wr32(hw, NPU_REG_QUEUE(31) + NPU_QREG_TAIL, 8);
	ops->wr32(hw, 0xfffffffc, 1);
	CHECK_EQ(ops->rd32(hw, NPU_REG_ID), NPU_HW_ID_MAGIC);
	ops->wr32(hw, NPU_REG_CONTROL, NPU_CONTROL_BOOT);
	CHECK_EQ(ops->rd32(hw, NPU_REG_STATUS), NPU_STATUS_READY);
	/* IRQ mask keeps only existing queues. */
	ops->wr32(hw, NPU_REG_IRQ_MASK, ~0u);
	CHECK_EQ(ops->rd32(hw, NPU_REG_IRQ_MASK), 0xff);
	ops->destroy(hw);

	/* Defaults. */
	CHECK_EQ(ops->create(NULL, &hw), 0);
	CHECK_EQ(ops->rd32(hw, NPU_REG_NUM_CORES), 4);
	CHECK_EQ(ops->rd32(hw, NPU_REG_SRAM_SIZE), 256 * 1024);
	CHECK_EQ(ops->rd32(hw, NPU_REG_MEM_SIZE_HI), 4); /* 16 GiB */
	CHECK_EQ(ops->rd32(hw, NPU_REG_MEM_SIZE_LO), 0);
	CHECK_EQ(ops->rd32(hw, NPU_REG_CLOCK_KHZ), 1000000);
	CHECK_EQ(ops->rd32(hw, NPU_REG_NUM_QUEUES), 32);
	ops->destroy(hw);

	/* A queue runs fences and interrupts; RESET forgets all queue state. */
	th_open(&d, "mem=256M");
	th_ctx_init(&ctx, &d);
	th_queue_init(&q, &d, 2, &ctx);
	CHECK_EQ(th_run(&q), 0);
	CHECK_EQ(q.st->fence, 1);
	CHECK(th_wait_irq(&d, 2, 10000));
	CHECK_EQ(th_rd(&d, NPU_REG_IRQ_STATUS) & (1u << 2), 0); /* acked by the ISR */
	CHECK_EQ(th_qrd(&q, NPU_QREG_HEAD), q.tail);
	CHECK_EQ(th_qrd(&q, NPU_QREG_STATE), NPU_QSTATE_IDLE);

	/* A masked interrupt is delivered once unmasked. */
	th_wr(&d, NPU_REG_IRQ_MASK, 0);
	th_clear_irq(&d);
	{
		uint64_t s = th_fence(&q);
		uint64_t t0 = th_now_ms();

		th_submit(&q);
		while (__atomic_load_n(&q.st->fence, __ATOMIC_ACQUIRE) < s && th_now_ms() - t0 < 5000)
			;
		CHECK_EQ(q.st->fence, s);
		CHECK(th_rd(&d, NPU_REG_IRQ_STATUS) & (1u << 2));
		CHECK(!th_wait_irq(&d, 2, 100)); /* masked: not delivered */
		th_wr(&d, NPU_REG_IRQ_MASK, ~0u);
		CHECK(th_wait_irq(&d, 2, 10000)); /* delivered once unmasked */
	}

	th_wr(&d, NPU_REG_CONTROL, NPU_CONTROL_RESET);
	CHECK_EQ(th_rd(&d, NPU_REG_STATUS), 0);
	CHECK_EQ(th_qrd(&q, NPU_QREG_STATE), NPU_QSTATE_DISABLED);
	CHECK_EQ(th_qrd(&q, NPU_QREG_RING_SIZE), 0);
	CHECK_EQ(th_qrd(&q, NPU_QREG_HEAD), 0);
	CHECK_EQ(th_rd(&d, NPU_REG_IRQ_MASK), 0);
	th_wr(&d, NPU_REG_CONTROL, NPU_CONTROL_BOOT);
	CHECK_EQ(th_rd(&d, NPU_REG_STATUS), NPU_STATUS_READY);
	th_wr(&d, NPU_REG_IRQ_MASK, ~0u);
	th_queue_init(&q, &d, 2, &ctx);
	q.st->fence = 0;
	CHECK_EQ(th_run(&q), 0);
	th_close(&d);
	return T_PASS;
}
