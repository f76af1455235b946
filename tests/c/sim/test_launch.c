/* SPDX-License-Identifier: MIT */
/* Launches: a hand-encoded kernel doing DMA + vadd.f32 over a grid shared by the cores,
 * special registers, cycle counts in the status record. */
#include <math.h>
#include <string.h>

#include "sim_test.h"

#define VA_CODE 0x0000100000ull
#define VA_A    0x0001000000ull
#define VA_B    0x0002000000ull
#define VA_C    0x0003000000ull
#define VA_OUT  0x0004000000ull

static const uint64_t *vadd_kernel(uint32_t *words)
{
	static uint64_t k[32];
	uint32_t n = 0;

	k[n++] = E_CSRR(1, PROGRAM_ID);
	k[n++] = E_LDARG(2, 0);                 /* a */
	k[n++] = E_LDARG(3, 1);                 /* b */
	k[n++] = E_LDARG(4, 2);                 /* c */
	k[n++] = E_LDARG(5, 3);                 /* elements per program */
	k[n++] = E_I(SHLI, 6, 5, 2);            /* bytes */
	k[n++] = E_R(MUL, 7, 1, 6);             /* this program's offset */
	k[n++] = E_R(ADD, 2, 2, 7);
	k[n++] = E_R(ADD, 3, 3, 7);
	k[n++] = E_R(ADD, 4, 4, 7);
	k[n++] = E_LI(10, 0);                   /* SRAM: a at 0, b, then c */
	k[n++] = E_R(ADD, 11, 10, 6);
	k[n++] = E_R(ADD, 12, 11, 6);
	k[n++] = E_DMA(DMA_LD, 10, 2, 6, 0);
	k[n++] = E_DMA(DMA_LD, 11, 3, 6, 1);
	k[n++] = th_enc(NPU_INSN_DMA_WAIT, 0, 0, 0, 0, 0);
	k[n++] = th_enc(NPU_INSN_DMA_WAIT, 0, 0, 0, 0, 1);
	k[n++] = E_V(VADD_F32, 12, 10, 11, 5);
	k[n++] = E_DMA(DMA_ST, 4, 12, 6, 2);
	k[n++] = th_enc(NPU_INSN_DMA_WAIT, 0, 0, 0, 0, 2);
	k[n++] = E_HALT;
	*words = n;
	return k;
}
/* base cycles of the kernel above, for 1024 elements (4096 bytes) per program:
 * csrr 1, ldarg 4x1, shli 1, mul 3, add 3x1, li 1, add 2x1, dma.ld 2x(64 + 64),
 * dma.wait 2x1, vadd 4 + 1024/16, dma.st 64 + 64, dma.wait 1, halt 1 */
#define VADD_CYCLES 471u

static uint32_t f2u(float f)
{
	uint32_t u;

	memcpy(&u, &f, 4);
	return u;
}

static float u2f(uint32_t u)
{
	float f;

	memcpy(&f, &u, 4);
	return f;
}

static void run_vadd(const char *config, uint32_t programs, uint64_t *cycles)
{
	const uint32_t per = 1024, n = per * programs;
	struct th_dev d;
	struct th_ctx ctx;
	struct th_queue q;
	struct th_launch l;
	uint32_t words;
	const uint64_t *k = vadd_kernel(&words);
	uint64_t pa_a, pa_b, pa_c;
	uint32_t *a, *b, *c;

	th_open(&d, config);
	th_ctx_init(&ctx, &d);
	th_queue_init(&q, &d, 1, &ctx);
	th_load_code(&ctx, VA_CODE, k, words);
	pa_a = th_map_new(&ctx, VA_A, n * 4, false);
	pa_b = th_map_new(&ctx, VA_B, n * 4, false);
	pa_c = th_map_new(&ctx, VA_C, n * 4, true);
	a = th_ptr(&d, pa_a);
	b = th_ptr(&d, pa_b);
	c = th_ptr(&d, pa_c);
	for (uint32_t i = 0; i < n; i++) {
		a[i] = f2u((float)i * 0.37f - 100.0f);
		b[i] = f2u(1.0f / (float)(i + 1));
	}
	/* special values: NaNs of every sign/payload -> canonical, inf - inf, denormals */
	a[0] = 0xffc00001u;
	b[1] = 0x7f800001u;
	a[2] = f2u(INFINITY);
	b[2] = f2u(-INFINITY);
	a[3] = 0x00000001u;
	b[3] = 0x00000002u;
	a[4] = f2u(-0.0f);
	b[4] = f2u(-0.0f);
	a[5] = f2u(3.0e38f);
	b[5] = f2u(3.0e38f);

	th_launch_init(&l, VA_CODE, words);
	l.grid[0] = programs;
	l.sram_bytes = 3 * per * 4;
	l.nargs = 4;
	l.args[0] = VA_A;
	l.args[1] = VA_B;
	l.args[2] = VA_C;
	l.args[3] = per;
	th_launch(&q, &l);
	CHECK_EQ(th_run(&q), 0);

	for (uint32_t i = 0; i < n; i++) {
		uint32_t want = f2u(u2f(a[i]) + u2f(b[i]));

		if ((want & 0x7fffffffu) > 0x7f800000u)
			want = 0x7fc00000u;
		if (c[i] != want) {
			fprintf(stderr, "c[%u] = 0x%08x, expected 0x%08x\n", i, c[i], want);
			exit(T_FAIL);
		}
	}
	CHECK_EQ(c[0], 0x7fc00000u);
	CHECK_EQ(c[1], 0x7fc00000u);
	CHECK_EQ(c[2], 0x7fc00000u);
	CHECK_EQ(c[3], 3);
	CHECK_EQ(c[4], 0x80000000u);
	CHECK_EQ(c[5], 0x7f800000u);
	CHECK_EQ(q.st->launches, 1);
	CHECK_EQ(q.st->fault_code, 0);
	*cycles = q.st->cycles;
	th_close(&d);
}

static void run_sregs(void)
{
	struct th_dev d;
	struct th_ctx ctx;
	struct th_queue q;
	struct th_launch l;
	uint64_t k[64], pa_out;
	uint32_t n = 0;
	const uint32_t gx = 2, gy = 3, gz = 2;

	k[n++] = E_CSRR(1, PROGRAM_ID);
	k[n++] = E_LDARG(2, 0);
	k[n++] = E_I(SHLI, 3, 1, 7);
	k[n++] = E_R(ADD, 2, 2, 3);
	for (uint32_t s = 0; s < NPU_SREG_COUNT; s++) {
		k[n++] = th_enc(NPU_INSN_CSRR, 4, 0, 0, 0, s);
		k[n++] = E_ST(SD, 4, 8 * s, 0);
	}
	k[n++] = E_LI(5, 128);
	k[n++] = E_DMA(DMA_ST, 2, 0, 5, 0);
	k[n++] = E_HALT;

	th_open(&d, "cores=4,mem=256M");
	th_ctx_init(&ctx, &d);
	th_queue_init(&q, &d, 0, &ctx);
	th_load_code(&ctx, VA_CODE, k, n);
	pa_out = th_map_new(&ctx, VA_OUT, NPU_PAGE_SIZE, true);
	th_launch_init(&l, VA_CODE, n);
	l.grid[0] = gx;
	l.grid[1] = gy;
	l.grid[2] = gz;
	l.sram_bytes = 4096;
	l.const_va = 0x123456789aull;
	l.nargs = 1;
	l.args[0] = VA_OUT;
	th_launch(&q, &l);
	CHECK_EQ(th_run(&q), 0);
	for (uint32_t pid = 0; pid < gx * gy * gz; pid++) {
		const uint64_t *o = (const uint64_t *)th_ptr(&d, pa_out + pid * 128);

		CHECK(o[NPU_SREG_CORE_ID] < 4);
		CHECK_EQ(o[NPU_SREG_NUM_CORES], 4);
		CHECK_EQ(o[NPU_SREG_PROGRAM_ID], pid);
		CHECK_EQ(o[NPU_SREG_PROGRAM_ID_X], pid % gx);
		CHECK_EQ(o[NPU_SREG_PROGRAM_ID_Y], pid / gx % gy);
		CHECK_EQ(o[NPU_SREG_PROGRAM_ID_Z], pid / (gx * gy));
		CHECK_EQ(o[NPU_SREG_NUM_PROGRAMS], gx * gy * gz);
		CHECK_EQ(o[NPU_SREG_GRID_X], gx);
		CHECK_EQ(o[NPU_SREG_GRID_Y], gy);
		CHECK_EQ(o[NPU_SREG_GRID_Z], gz);
		CHECK_EQ(o[NPU_SREG_NUM_ARGS], 1);
		CHECK_EQ(o[NPU_SREG_SRAM_SIZE], 4096);
		CHECK_EQ(o[NPU_SREG_CONST_PTR], 0x123456789aull);
		/* cycles before the csrr: 4 set-up instructions + 13 (csrr, sd) pairs */
		CHECK_EQ(o[NPU_SREG_CYCLE], 4 + 13 * 2);
	}
	th_close(&d);
}

int main(void)
{
	uint64_t cycles;

	/* one program: runs inline; exact cycles */
	run_vadd("cores=4,mem=256M", 1, &cycles);
	CHECK_EQ(cycles, VADD_CYCLES);
	/* one core: all programs in sequence on it */
	run_vadd("cores=1,mem=256M", 6, &cycles);
	CHECK_EQ(cycles, 6 * VADD_CYCLES);
	/* many cores: the busiest core's sum. The timing model puts program p on core p % 4,
	 * whichever host thread ran it: core 0 has 10 of the 37, every time. */
	run_vadd("cores=4,mem=256M", 37, &cycles);
	CHECK_EQ(cycles, 10 * VADD_CYCLES);
	run_vadd("cores=4,mem=256M", 37, &cycles);
	CHECK_EQ(cycles, 10 * VADD_CYCLES);
	run_sregs();
	return T_PASS;
}
