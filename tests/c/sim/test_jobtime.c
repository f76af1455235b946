/* SPDX-License-Identifier: MIT */
/*
 * test_jobtime.c - interface 1.2: the device cycle clock and the per-job time records a
 * queue enabled with NPU_QCTL_JOB_TIMES gets in its status area (npu_hw.h "Simulated time").
 */
#include "sim_test.h"

#define VA_CODE 0x0000100000ull

#define VA_DATA 0x0000200000ull
#define LOOP_WORDS 5

/* Counts r2 up to argument 0, then halts: 3 + 2 * n instructions. */
static void load_loop(struct th_ctx *c)
{
	uint64_t k[LOOP_WORDS];

	k[0] = th_enc(NPU_INSN_LDARG, 1, 0, 0, 0, 0);
	k[1] = th_enc(NPU_INSN_LI, 2, 0, 0, 0, 0);
	k[2] = th_enc(NPU_INSN_ADDI, 2, 2, 0, 0, 1);
	k[3] = th_enc(NPU_INSN_BLT, 0, 2, 1, 0, -1);
	k[4] = th_enc(NPU_INSN_HALT, 0, 0, 0, 0, 0);
	th_load_code(c, VA_CODE, k, LOOP_WORDS);
}

static void launch_loop(struct th_queue *q, uint64_t n, uint32_t grid)
{
	struct th_launch l;

	th_launch_init(&l, VA_CODE, LOOP_WORDS);
	l.grid[0] = grid;
	l.sram_bytes = 64;
	l.nargs = 1;
	l.args[0] = n;
	th_launch(q, &l);
}

/* Points q's status at a fresh status area and enables it with `ctl`. */
static uint64_t status_area(struct th_queue *q, uint32_t ctl)
{
	uint64_t pa = th_alloc(q->d, NPU_HW_STATUS_AREA);

	th_qwr(q, NPU_QREG_CONTROL, 0);
	th_qwr(q, NPU_QREG_STATUS_LO, (uint32_t)pa);
	th_qwr(q, NPU_QREG_STATUS_HI, (uint32_t)(pa >> 32));
	q->status_pa = pa;
	q->st = th_ptr(q->d, pa);
	__atomic_store_n(&q->st->fence, q->seqno, __ATOMIC_RELEASE);
	th_qwr(q, NPU_QREG_CONTROL, ctl);
	return pa;
}

static const struct npu_hw_job_time *slot(struct th_queue *q, uint64_t seqno)
{
	const struct npu_hw_job_time *t = th_ptr(q->d, q->status_pa + NPU_HW_JOB_TIMES_OFFSET);

	return &t[seqno % NPU_HW_JOB_TIMES];
}

int main(void)
{
	struct th_dev d;
	struct th_ctx ctx;
	struct th_queue q;
	const struct npu_hw_job_time *a, *b, *c, *e;
	uint64_t one;

	th_open(&d, "cores=4,mem=256M");
	CHECK_EQ(th_rd(&d, NPU_REG_IF_VERSION), NPU_HW_IF_VERSION);
	th_ctx_init(&ctx, &d);
	th_queue_init(&q, &d, 1, &ctx);
	load_loop(&ctx);
	th_map_new(&ctx, VA_DATA, NPU_PAGE_SIZE, true);
	status_area(&q, NPU_QCTL_ENABLE | NPU_QCTL_JOB_TIMES);
	CHECK_EQ(th_qrd(&q, NPU_QREG_CONTROL), NPU_QCTL_ENABLE | NPU_QCTL_JOB_TIMES);

	/* Job 1: one instance of 100 iterations. The clock starts at power-on. */
	launch_loop(&q, 100, 1);
	CHECK_EQ(th_run(&q), 0);
	a = slot(&q, 1);
	CHECK_EQ(a->seqno, 1);
	CHECK_EQ(a->start, 0);
	CHECK(a->cycles >= 3 + 2 * 100);
	CHECK_EQ(a->end, a->cycles);
	CHECK_EQ(a->launches, 1);
	CHECK_EQ(a->ncores, 4);
	CHECK_EQ(a->core_cycles[0], a->cycles);
	CHECK_EQ(a->core_cycles[1] + a->core_cycles[2] + a->core_cycles[3], 0);
	CHECK_EQ(q.st->cycles, a->cycles);
	one = a->cycles;

	/* Job 2: six instances on four cores: programs 0 and 4 on core 0, 1 and 5 on core 1. */
	launch_loop(&q, 100, 6);
	CHECK_EQ(th_run(&q), 0);
	b = slot(&q, 2);
	CHECK_EQ(b->seqno, 2);
	CHECK_EQ(b->core_cycles[0], 2 * one);
	CHECK_EQ(b->core_cycles[1], 2 * one);
	CHECK_EQ(b->core_cycles[2], one);
	CHECK_EQ(b->core_cycles[3], one);
	CHECK_EQ(b->cycles, 2 * one);
	CHECK_EQ(b->start, a->end);
	CHECK_EQ(b->end, b->start + b->cycles);

	/* Job 3: a FILL takes no simulated time; job 4: two launches add up. */
	th_fill(&q, VA_DATA, 64, 0);
	CHECK_EQ(th_run(&q), 0);
	c = slot(&q, 3);
	CHECK_EQ(c->seqno, 3);
	CHECK_EQ(c->launches, 0);
	CHECK_EQ(c->cycles, 0);
	CHECK_EQ(c->start, b->end);
	CHECK_EQ(c->end, b->end);
	launch_loop(&q, 100, 1);
	launch_loop(&q, 300, 1);
	CHECK_EQ(th_run(&q), 0);
	e = slot(&q, 4);
	CHECK_EQ(e->launches, 2);
	CHECK(e->cycles > 3 * one);
	CHECK_EQ(e->core_cycles[0], e->cycles);
	CHECK_EQ(e->end - e->start, e->cycles);

	/* Disabling clears JOB_TIMES: enabled without it, the device leaves the slots alone. */
	status_area(&q, NPU_QCTL_ENABLE);
	CHECK_EQ(th_qrd(&q, NPU_QREG_CONTROL), NPU_QCTL_ENABLE);
	launch_loop(&q, 100, 1);
	CHECK_EQ(th_run(&q), 0);
	CHECK_EQ(slot(&q, 5)->seqno, 0);
	CHECK_EQ(q.st->cycles, one);

	th_close(&d);
	return T_PASS;
}
