/* SPDX-License-Identifier: MIT */
/* MMU: COPY and FILL through two-level page tables; page faults (unmapped, read-only,
 * broken tables, VAs past 40 bits) are reported, the job is skipped up to its FENCE after
 * RESUME, and the queue keeps working. */
#include <errno.h>
#include <string.h>

#include "sim_test.h"

#define VA_A 0x0010000000ull    /* L1 index 1 */
#define VA_B 0x00a0030000ull    /* another L1 index */

static void expect_fault(struct th_queue *q, uint64_t seq, uint32_t code, uint64_t addr,
			 uint32_t flags)
{
	CHECK_EQ(th_wait_fence(q, seq, 10000), -EIO);
	CHECK_EQ(th_qrd(q, NPU_QREG_STATE), NPU_QSTATE_FAULTED);
	CHECK_EQ(q->st->fault_code, code);
	CHECK_EQ(q->st->fault_addr, addr);
	CHECK_EQ(q->st->fault_flags, flags);
	CHECK_EQ(q->st->fault_core, NPU_FAULT_CORE_NONE);
	CHECK_EQ(q->st->fault_fence, seq - 1);
	th_resume(q);
	CHECK_EQ(th_wait_fence(q, seq, 10000), 0);
}

int main(void)
{
	struct th_dev d;
	struct th_ctx ctx;
	struct th_queue q;
	uint64_t pa_a, pa_b0, pa_b1, seq;
	uint8_t *a, *b0, *b1;

	th_open(&d, "mem=256M,cores=2");
	th_ctx_init(&ctx, &d);
	th_queue_init(&q, &d, 0, &ctx);

	/* A: 2 pages, contiguous. B: 2 pages mapped to scattered physical pages. */
	pa_a = th_map_new(&ctx, VA_A, 2 * NPU_PAGE_SIZE, true);
	pa_b1 = th_alloc(&d, NPU_PAGE_SIZE);
	pa_b0 = th_alloc(&d, NPU_PAGE_SIZE);
	th_map(&ctx, VA_B, pa_b0, NPU_PAGE_SIZE, true);
	th_map(&ctx, VA_B + NPU_PAGE_SIZE, pa_b1, NPU_PAGE_SIZE, true);
	a = th_ptr(&d, pa_a);
	b0 = th_ptr(&d, pa_b0);
	b1 = th_ptr(&d, pa_b1);
	for (uint32_t i = 0; i < 2 * NPU_PAGE_SIZE; i++)
		a[i] = (uint8_t)(i * 7 + 1);

	/* Copy across the page boundary of B, from an unaligned source. */
	th_copy(&q, VA_A + 3, VA_B + NPU_PAGE_SIZE - 1000, 5000);
	CHECK_EQ(th_run(&q), 0);
	for (uint32_t i = 0; i < 5000; i++) {
		uint8_t got = i < 1000 ? b0[NPU_PAGE_SIZE - 1000 + i] : b1[i - 1000];

		CHECK_EQ(got, (uint8_t)((i + 3) * 7 + 1));
	}
	CHECK_EQ(b0[NPU_PAGE_SIZE - 1001], 0);
	CHECK_EQ(b1[4000], 0);

	/* Fill with a pattern, also across the boundary; byte order is little-endian. */
	th_fill(&q, VA_B + NPU_PAGE_SIZE - 8, 16, 0x44332211u);
	th_fill(&q, VA_A, 64, 0x7f7f7f7fu);
	CHECK_EQ(th_run(&q), 0);
	CHECK_EQ(b0[NPU_PAGE_SIZE - 8], 0x11);
	CHECK_EQ(b0[NPU_PAGE_SIZE - 5], 0x44);
	CHECK_EQ(b1[0], 0x11);
	CHECK_EQ(b1[7], 0x44);
	CHECK_EQ(b1[8], (uint8_t)((1008 + 3) * 7 + 1));
	CHECK_EQ(a[63], 0x7f);
	CHECK_EQ(a[64], (uint8_t)(64 * 7 + 1));

	/* Unmapped source: PAGE_FAULT at the first unmapped VA; the job's FILL is skipped. */
	th_copy(&q, VA_A + NPU_PAGE_SIZE, VA_B, 2 * NPU_PAGE_SIZE);
	th_fill(&q, VA_B, 8, 0xdeadbeef);
	seq = th_fence(&q);
	th_fill(&q, VA_B + 8, 8, 0x01010101u); /* the next job runs */
	th_submit(&q);
	expect_fault(&q, seq, NPU_TRAP_PAGE_FAULT, VA_A + 2 * NPU_PAGE_SIZE, 0);
	CHECK_EQ(th_run(&q), 0);
	CHECK(b0[0] == 0 && b0[3] == 0); /* neither the copy nor the skipped fill wrote */
	CHECK_EQ(b0[8], 1);

	/* Read-only destination. */
	th_map(&ctx, VA_B + NPU_PAGE_SIZE, pa_b1, NPU_PAGE_SIZE, false);
	th_fill(&q, VA_B + 16, 2 * NPU_PAGE_SIZE - 32, 0);
	seq = th_fence(&q);
	th_submit(&q);
	expect_fault(&q, seq, NPU_TRAP_PAGE_FAULT, VA_B + NPU_PAGE_SIZE, NPU_FAULT_WRITE);
	CHECK_EQ(b0[16], 0); /* checked before writing: nothing was filled */
	/* ... but readable. */
	th_copy(&q, VA_B + NPU_PAGE_SIZE, VA_A, 1);
	CHECK_EQ(th_run(&q), 0);
	CHECK_EQ(a[0], 0x11);

	/* VAs beyond 40 bits, and ranges that wrap. */
	th_fill(&q, 1ull << 40, 4, 0);
	seq = th_fence(&q);
	th_submit(&q);
	expect_fault(&q, seq, NPU_TRAP_PAGE_FAULT, 1ull << 40, NPU_FAULT_WRITE);
	th_copy(&q, UINT64_MAX - 7, VA_A, 16);
	seq = th_fence(&q);
	th_submit(&q);
	expect_fault(&q, seq, NPU_TRAP_PAGE_FAULT, UINT64_MAX - 7, 0);

	/* Broken tables: an L1 entry pointing past device memory, a root outside it, an
	 * unaligned root. None may crash the host. */
	{
		uint64_t *l1 = th_ptr(&d, ctx.l1);
		uint64_t saved = l1[NPU_VA_L1(VA_B)];

		l1[NPU_VA_L1(VA_B)] = (d.mem_size - 4096) | NPU_PTE_VALID;
		th_copy(&q, VA_B, VA_A, 8);
		seq = th_fence(&q);
		th_submit(&q);
		expect_fault(&q, seq, NPU_TRAP_PAGE_FAULT, VA_B, 0);
		l1[NPU_VA_L1(VA_B)] = ((1ull << 47) + NPU_PAGE_SIZE) | NPU_PTE_VALID;
		th_copy(&q, VA_B, VA_A, 8);
		seq = th_fence(&q);
		th_submit(&q);
		expect_fault(&q, seq, NPU_TRAP_PAGE_FAULT, VA_B, 0);
		l1[NPU_VA_L1(VA_B)] = saved;
	}
	for (int k = 0; k < 2; k++) {
		uint64_t root = k ? ctx.l1 + 8 : d.mem_size;

		th_qwr(&q, NPU_QREG_PT_LO, (uint32_t)root);
		th_qwr(&q, NPU_QREG_PT_HI, (uint32_t)(root >> 32));
		th_copy(&q, VA_A, VA_B, 8);
		seq = th_fence(&q);
		th_submit(&q);
		expect_fault(&q, seq, NPU_TRAP_PAGE_FAULT, VA_A, 0);
	}
	th_qwr(&q, NPU_QREG_PT_LO, (uint32_t)ctx.l1);
	th_qwr(&q, NPU_QREG_PT_HI, (uint32_t)(ctx.l1 >> 32));

	/* Large copy over many pages still right. */
	{
		uint64_t n = 40 * NPU_PAGE_SIZE + 24;
		uint64_t src = th_map_new(&ctx, 0x2000000000ull, n, false);
		uint64_t dst = th_map_new(&ctx, 0x3000000000ull, n + NPU_PAGE_SIZE, true);
		uint32_t *s = th_ptr(&d, src);

		for (uint64_t i = 0; i < n / 4; i++)
			s[i] = (uint32_t)(i * 2654435761u);
		th_copy(&q, 0x2000000000ull, 0x3000000000ull + 4, n);
		CHECK_EQ(th_run(&q), 0);
		CHECK(memcmp(th_ptr(&d, dst + 4), s, n) == 0);
		th_fill(&q, 0x3000000000ull, n, 0x01020304);
		CHECK_EQ(th_run(&q), 0);
		CHECK_EQ(((uint32_t *)th_ptr(&d, dst))[n / 4 - 1], 0x01020304);
	}
	th_close(&d);
	return T_PASS;
}
