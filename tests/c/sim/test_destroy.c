/* SPDX-License-Identifier: MIT */
/* Runaway kernels (no budget, no time limit) on every core: queue disable, RESET and
 * destroy() all stop them promptly; nothing leaks. */
#include <string.h>

#include "sim_test.h"

#define VA_CODE 0x0000100000ull

static void start_runaway(struct th_dev *d, struct th_queue *q, struct th_ctx *ctx,
			  uint32_t qid)
{
	uint64_t k[2] = { E_I(ADDI, 1, 1, 1), E_JMP(-1) };
	struct th_launch l;

	th_ctx_init(ctx, d);
	th_queue_init(q, d, qid, ctx);
	th_load_code(ctx, VA_CODE, k, 2);
	th_launch_init(&l, VA_CODE, 2);
	l.grid[0] = 64;
	th_launch(q, &l);
	th_fence(q);
	th_submit(q);
}

static void wait_busy(struct th_queue *q)
{
	uint64_t t0 = th_now_ms();

	/* HEAD stays on the launch while it runs */
	while (th_qrd(q, NPU_QREG_STATE) != NPU_QSTATE_BUSY)
		CHECK(th_now_ms() - t0 < 5000);
}

int main(void)
{
	struct th_dev d;
	struct th_ctx ctx, ctx2;
	struct th_queue q, q2;
	uint64_t t0;

	/* destroy with a runaway launch on all cores and more work queued behind it */
	th_open(&d, "cores=4,mem=128M");
	start_runaway(&d, &q, &ctx, 0);
	start_runaway(&d, &q2, &ctx2, 1);
	wait_busy(&q);
	t0 = th_now_ms();
	th_close(&d);
	CHECK(th_now_ms() - t0 < 2000);

	/* disabling the queue aborts its launch; the device goes on */
	th_open(&d, "cores=3,mem=128M");
	start_runaway(&d, &q, &ctx, 0);
	wait_busy(&q);
	t0 = th_now_ms();
	th_qwr(&q, NPU_QREG_CONTROL, 0);
	CHECK(th_now_ms() - t0 < 2000);
	CHECK_EQ(th_qrd(&q, NPU_QREG_STATE), NPU_QSTATE_DISABLED);
	CHECK_EQ(q.st->fence, 0);
	CHECK_EQ(q.st->fault_code, 0);
	th_queue_init(&q2, &d, 1, &ctx);
	CHECK_EQ(th_run(&q2), 0);

	/* RESET aborts it too; after BOOT the device works */
	start_runaway(&d, &q, &ctx, 2);
	wait_busy(&q);
	t0 = th_now_ms();
	th_wr(&d, NPU_REG_CONTROL, NPU_CONTROL_RESET);
	CHECK(th_now_ms() - t0 < 2000);
	CHECK_EQ(th_rd(&d, NPU_REG_STATUS), 0);
	th_wr(&d, NPU_REG_CONTROL, NPU_CONTROL_BOOT);
	th_wr(&d, NPU_REG_IRQ_MASK, ~0u);
	th_queue_init(&q2, &d, 1, &ctx);
	CHECK_EQ(th_run(&q2), 0);

	/* runaway on a single-core device (runs inline on the command processor) */
	th_close(&d);
	th_open(&d, "cores=1,mem=128M");
	start_runaway(&d, &q, &ctx, 0);
	wait_busy(&q);
	t0 = th_now_ms();
	th_close(&d);
	CHECK(th_now_ms() - t0 < 2000);

	/* destroy during a huge COPY */
	th_open(&d, "cores=2,mem=4G");
	th_ctx_init(&ctx, &d);
	th_queue_init(&q, &d, 0, &ctx);
	{
		uint64_t sz = 1ull << 30;
		uint64_t pa = th_alloc(&d, sz);

		th_map(&ctx, 0x1000000000ull, pa, sz, true);
		th_map(&ctx, 0x2000000000ull, pa, sz, true);
		for (int i = 0; i < 8; i++)
			th_copy(&q, 0x1000000000ull, 0x2000000000ull, sz);
		th_submit(&q);
		wait_busy(&q);
		t0 = th_now_ms();
		th_close(&d);
		CHECK(th_now_ms() - t0 < 2000);
	}
	return T_PASS;
}
