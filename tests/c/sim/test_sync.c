/* SPDX-License-Identifier: MIT */
/* Barriers and semaphores across the cores of a launch: data written by DMA before a
 * barrier / signal is seen after it by every instance; a semaphore chain orders the
 * instances; halted instances count as arrived. Repeated to shake out races (run it under
 * TSan too). */
#include <string.h>

#include "sim_test.h"

#define VA_CODE 0x1000000000ull
#define VA_BUF  0x0000200000ull
#define VA_OUT  0x0000400000ull
#define CORES   4

static struct th_dev d;
static struct th_ctx ctx;
static struct th_queue q;
static uint64_t slot;

static uint64_t load(const uint64_t *k, uint32_t n)
{
	uint64_t va = VA_CODE + slot++ * NPU_PAGE_SIZE;

	th_load_code(&ctx, va, k, n);
	return va;
}

static void launch(const uint64_t *k, uint32_t n, uint32_t grid)
{
	struct th_launch l;

	th_launch_init(&l, load(k, n), n);
	l.grid[0] = grid;
	l.sram_bytes = 1024;
	l.nargs = 2;
	l.args[0] = VA_BUF;
	l.args[1] = VA_OUT;
	th_launch(&q, &l);
	CHECK_EQ(th_run(&q), 0);
}

int main(void)
{
	uint64_t k[64], *buf, *out;
	uint32_t n;

	th_open(&d, "cores=4,mem=256M");
	th_ctx_init(&ctx, &d);
	th_queue_init(&q, &d, 0, &ctx);
	buf = th_ptr(&d, th_map_new(&ctx, VA_BUF, NPU_PAGE_SIZE, true));
	out = th_ptr(&d, th_map_new(&ctx, VA_OUT, NPU_PAGE_SIZE, true));

	/* buf[pid] = pid + 1; barrier; out[pid] = sum of buf[0..CORES) */
	n = 0;
	k[n++] = E_CSRR(1, PROGRAM_ID);
	k[n++] = E_LDARG(2, 0);
	k[n++] = E_LDARG(3, 1);
	k[n++] = E_I(ADDI, 4, 1, 1);
	k[n++] = E_ST(SD, 4, 0, 0);
	k[n++] = E_I(SHLI, 5, 1, 3);
	k[n++] = E_R(ADD, 6, 2, 5);
	k[n++] = E_LI(7, 8);
	k[n++] = E_DMA(DMA_ST, 6, 0, 7, 0);
	k[n++] = th_enc(NPU_INSN_DMA_WAIT, 0, 0, 0, 0, 0);
	k[n++] = th_enc(NPU_INSN_BARRIER, 0, 0, 0, 0, 0);
	k[n++] = E_LI(8, 64);
	k[n++] = E_LI(9, 8 * CORES);
	k[n++] = E_DMA(DMA_LD, 8, 2, 9, 1);
	k[n++] = th_enc(NPU_INSN_DMA_WAIT, 0, 0, 0, 0, 1);
	k[n++] = E_LI(10, 1);
	k[n++] = E_LI(11, 1);
	k[n++] = E_LI(12, CORES);
	k[n++] = E_R(ADD, 13, 0, 0);                    /* sum */
	k[n++] = E_I(LD, 14, 8, 0);                     /* sum: ld r14, 0(r8) */
	k[n++] = E_R(ADD, 13, 13, 14);
	k[n++] = E_I(ADDI, 8, 8, 8);
	k[n++] = th_enc(NPU_INSN_LOOP, 12, 0, 0, 0, -3);
	k[n++] = E_ST(SD, 13, 16, 0);
	k[n++] = E_R(ADD, 6, 3, 5);
	k[n++] = E_LI(15, 16);
	k[n++] = E_DMA(DMA_ST, 6, 15, 7, 2);
	k[n++] = th_enc(NPU_INSN_DMA_WAIT, 0, 0, 0, 0, 2);
	k[n++] = E_HALT;
	for (int rep = 0; rep < 30; rep++) {
		memset(buf, 0, 8 * CORES);
		memset(out, 0, 8 * CORES);
		launch(k, n, CORES);
		for (int i = 0; i < CORES; i++)
			CHECK_EQ(out[i], CORES * (CORES + 1) / 2);
	}

	/* Semaphore chain: instance p waits for semaphore p (except 0), records the counter
	 * it finds in buf[0] into out[p], increments it and signals p + 1. */
	n = 0;
	k[n++] = E_CSRR(1, PROGRAM_ID);
	k[n++] = E_LDARG(2, 0);
	k[n++] = E_LDARG(3, 1);
	k[n++] = E_B(BEQ, 1, 0, 2);
	k[n++] = th_enc(NPU_INSN_SEM_WAIT, 0, 1, 0, 0, 0);
	k[n++] = E_LI(7, 8);
	k[n++] = E_DMA(DMA_LD, 0, 2, 7, 0);
	k[n++] = th_enc(NPU_INSN_DMA_WAIT, 0, 0, 0, 0, 0);
	k[n++] = E_I(LD, 4, 0, 0);
	k[n++] = E_I(SHLI, 5, 1, 3);
	k[n++] = E_R(ADD, 6, 3, 5);
	k[n++] = E_DMA(DMA_ST, 6, 0, 7, 1);             /* out[p] = counter */
	k[n++] = E_I(ADDI, 4, 4, 1);
	k[n++] = E_ST(SD, 4, 0, 0);
	k[n++] = E_DMA(DMA_ST, 2, 0, 7, 1);             /* counter + 1 */
	k[n++] = th_enc(NPU_INSN_FENCE, 0, 0, 0, 0, 0);
	k[n++] = E_I(ADDI, 8, 1, 1);
	k[n++] = th_enc(NPU_INSN_SEM_SIGNAL, 0, 8, 0, 0, 0);
	k[n++] = E_HALT;
	for (int rep = 0; rep < 30; rep++) {
		buf[0] = 0;
		memset(out, 0xff, 8 * CORES);
		launch(k, n, CORES);
		for (int i = 0; i < CORES; i++)
			CHECK_EQ(out[i], i);
		CHECK_EQ(buf[0], CORES);
	}

	/* Halted instances count as arrived: odd programs halt, even ones pass 3 barriers. */
	n = 0;
	k[n++] = E_CSRR(1, PROGRAM_ID);
	k[n++] = E_I(ANDI, 2, 1, 1);
	k[n++] = E_B(BNE, 2, 0, 4);
	k[n++] = th_enc(NPU_INSN_BARRIER, 0, 0, 0, 0, 0);
	k[n++] = th_enc(NPU_INSN_BARRIER, 0, 0, 0, 0, 0);
	k[n++] = th_enc(NPU_INSN_BARRIER, 0, 0, 0, 0, 0);
	k[n++] = E_HALT;
	for (int rep = 0; rep < 30; rep++) {
		launch(k, n, CORES);
		launch(k, n, 1);        /* inline on the command processor */
	}

	th_close(&d);
	return T_PASS;
}
