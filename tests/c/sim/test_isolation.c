/* SPDX-License-Identifier: MIT */
/* Two queues with different page tables: the same VA reaches each context's own memory,
 * a VA mapped only in one context faults in the other, and a fault on one queue leaves
 * the other running. */
#include <errno.h>
#include <string.h>

#include "sim_test.h"

#define VA_CODE 0x0000100000ull
#define VA_IN   0x0000200000ull
#define VA_OUT  0x0000300000ull
#define VA_ONLY_B 0x0000400000ull

/* out[pid] = in[pid] + 1000, via DMA; then spin `arg2` loop iterations */
static uint32_t kernel(uint64_t *k)
{
	uint32_t n = 0;

	k[n++] = E_CSRR(1, PROGRAM_ID);
	k[n++] = E_I(SHLI, 1, 1, 3);
	k[n++] = E_LDARG(2, 0);
	k[n++] = E_R(ADD, 2, 2, 1);
	k[n++] = E_LDARG(3, 1);
	k[n++] = E_R(ADD, 3, 3, 1);
	k[n++] = E_LI(4, 8);
	k[n++] = E_DMA(DMA_LD, 0, 2, 4, 0);
	k[n++] = E_I(LD, 5, 0, 0);
	k[n++] = E_I(ADDI, 5, 5, 1000);
	k[n++] = E_ST(SD, 5, 0, 0);
	k[n++] = E_DMA(DMA_ST, 3, 0, 4, 0);
	k[n++] = E_LDARG(6, 2);
	k[n++] = E_B(BEQ, 6, 0, 2);
	k[n++] = th_enc(NPU_INSN_LOOP, 6, 0, 0, 0, 0);
	k[n++] = E_HALT;
	return n;
}

int main(void)
{
	struct th_dev d;
	struct th_ctx ca, cb;
	struct th_queue qa, qb;
	struct th_launch l;
	uint64_t k[32], *in_a, *in_b, *out_a, *out_b, seq_a, seq_b;
	uint32_t n = kernel(k);

	th_open(&d, "cores=4,mem=256M");
	th_ctx_init(&ca, &d);
	th_ctx_init(&cb, &d);
	th_queue_init(&qa, &d, 0, &ca);
	th_queue_init(&qb, &d, 5, &cb);
	th_load_code(&ca, VA_CODE, k, n);
	th_load_code(&cb, VA_CODE, k, n);
	in_a = th_ptr(&d, th_map_new(&ca, VA_IN, NPU_PAGE_SIZE, false));
	in_b = th_ptr(&d, th_map_new(&cb, VA_IN, NPU_PAGE_SIZE, false));
	out_a = th_ptr(&d, th_map_new(&ca, VA_OUT, NPU_PAGE_SIZE, true));
	out_b = th_ptr(&d, th_map_new(&cb, VA_OUT, NPU_PAGE_SIZE, true));
	th_map_new(&cb, VA_ONLY_B, NPU_PAGE_SIZE, true);
	for (int i = 0; i < 8; i++) {
		in_a[i] = 100 + i;
		in_b[i] = 200 + i;
	}

	/* both at once */
	th_launch_init(&l, VA_CODE, n);
	l.grid[0] = 8;
	l.nargs = 3;
	l.args[0] = VA_IN;
	l.args[1] = VA_OUT;
	l.args[2] = 1000;
	th_launch(&qa, &l);
	th_launch(&qb, &l);
	seq_a = th_fence(&qa);
	seq_b = th_fence(&qb);
	th_submit(&qa);
	th_submit(&qb);
	CHECK_EQ(th_wait_fence(&qa, seq_a, 20000), 0);
	CHECK_EQ(th_wait_fence(&qb, seq_b, 20000), 0);
	for (int i = 0; i < 8; i++) {
		CHECK_EQ(out_a[i], 1100 + i);
		CHECK_EQ(out_b[i], 1200 + i);
	}

	/* A reads a VA only B maps: A faults, B (long running) completes regardless */
	l.args[0] = VA_ONLY_B;
	th_launch(&qa, &l);
	seq_a = th_fence(&qa);
	l.args[0] = VA_IN;
	l.args[2] = 200000;
	th_launch(&qb, &l);
	seq_b = th_fence(&qb);
	th_submit(&qb);
	th_submit(&qa);
	CHECK_EQ(th_wait_fence(&qa, seq_a, 20000), -EIO);
	CHECK_EQ(qa.st->fault_code, NPU_TRAP_PAGE_FAULT);
	/* whichever program trapped first: each reads its own 8 bytes */
	CHECK(qa.st->fault_addr >= VA_ONLY_B && qa.st->fault_addr < VA_ONLY_B + 64 &&
	      qa.st->fault_addr % 8 == 0);
	CHECK_EQ(qa.st->fault_pc, 7);
	CHECK_EQ(qb.st->fault_code, 0);
	CHECK_EQ(th_wait_fence(&qb, seq_b, 20000), 0);
	CHECK_EQ(th_qrd(&qa, NPU_QREG_STATE), NPU_QSTATE_FAULTED);
	CHECK_EQ(th_qrd(&qb, NPU_QREG_STATE), NPU_QSTATE_IDLE);
	CHECK(th_wait_irq(&d, 5, 10000));
	CHECK(th_wait_irq(&d, 0, 10000));
	/* B keeps working while A is stopped */
	l.args[2] = 0;
	th_launch(&qb, &l);
	CHECK_EQ(th_run(&qb), 0);
	th_resume(&qa);
	CHECK_EQ(th_wait_fence(&qa, seq_a, 20000), 0);
	th_launch(&qa, &l);
	CHECK_EQ(th_run(&qa), 0);
	CHECK_EQ(qa.st->launches, 2);
	CHECK_EQ(qb.st->launches, 3);

	/* COPY from A's context cannot reach B's private VA either */
	th_copy(&qa, VA_ONLY_B, VA_OUT, 8);
	seq_a = th_fence(&qa);
	th_submit(&qa);
	CHECK_EQ(th_wait_fence(&qa, seq_a, 20000), -EIO);
	CHECK_EQ(qa.st->fault_addr, VA_ONLY_B);
	th_resume(&qa);
	CHECK_EQ(th_wait_fence(&qa, seq_a, 20000), 0);
	th_close(&d);
	return T_PASS;
}
