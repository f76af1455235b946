/* SPDX-License-Identifier: MIT */
/* Scalar semantics per the spec's doc strings: one small program per case, the result
 * stored to SRAM and copied out by DMA, compared with an independent C model. */
#include <string.h>

#include "sim_test.h"

#define VA_CODE 0x0000100000ull
#define VA_OUT  0x8000000000ull

struct prog {
	uint64_t w[64];
	uint32_t n;
};

static void emit(struct prog *p, uint64_t w)
{
	CHECK(p->n < 64);
	p->w[p->n++] = w;
}

/* rd = any 64-bit constant: li sign-extends the low half, lih sets the high half */
static void li64(struct prog *p, unsigned rd, uint64_t v)
{
	emit(p, E_LI(rd, (int32_t)(uint32_t)v));
	emit(p, th_enc(NPU_INSN_LIH, rd, 0, 0, 0, (int32_t)(uint32_t)(v >> 32)));
}

static struct th_dev d;
static struct th_ctx ctx;
static struct th_queue q;
static uint64_t *out;

/* Runs p (which leaves its result in r3), returns r3. */
static uint64_t run(struct prog *p)
{
	struct th_launch l;

	emit(p, E_ST(SD, 3, 0, 0));
	emit(p, E_LI(6, 8));
	emit(p, E_LI(7, 0));
	li64(p, 5, VA_OUT);
	emit(p, E_DMA(DMA_ST, 5, 7, 6, 0));
	emit(p, E_HALT);
	th_load_code(&ctx, VA_CODE + (uint64_t)q.seqno * NPU_PAGE_SIZE, p->w, p->n);
	th_launch_init(&l, VA_CODE + (uint64_t)q.seqno * NPU_PAGE_SIZE, p->n);
	l.sram_bytes = 256;
	l.nargs = 2;
	l.args[0] = 0x1111222233334444ull;
	l.args[1] = 0xfedcba9876543210ull;
	out[0] = 0xbad;
	th_launch(&q, &l);
	if (th_run(&q)) {
		fprintf(stderr, "fault %u pc %llu addr 0x%llx\n", q.st->fault_code,
			(unsigned long long)q.st->fault_pc, (unsigned long long)q.st->fault_addr);
		exit(T_FAIL);
	}
	return out[0];
}

static uint64_t rr(enum npu_insn id, uint64_t a, uint64_t b)
{
	struct prog p = { .n = 0 };

	li64(&p, 1, a);
	li64(&p, 2, b);
	emit(&p, th_enc(id, 3, 1, 2, 0, 0));
	return run(&p);
}

static uint64_t ri(enum npu_insn id, uint64_t a, int32_t imm)
{
	struct prog p = { .n = 0 };

	li64(&p, 1, a);
	emit(&p, th_enc(id, 3, 1, 0, 0, imm));
	return run(&p);
}

#define T_RR(ID, a, b, want) CHECK_EQ(rr(NPU_INSN_##ID, a, b), want)
#define T_RI(ID, a, imm, want) CHECK_EQ(ri(NPU_INSN_##ID, a, imm), want)
#define MIN64 0x8000000000000000ull
#define M1    0xffffffffffffffffull

int main(void)
{
	struct prog p;

	th_open(&d, "cores=2,mem=512M");
	th_ctx_init(&ctx, &d);
	th_queue_init(&q, &d, 0, &ctx);
	out = th_ptr(&d, th_map_new(&ctx, VA_OUT, NPU_PAGE_SIZE, true));

	T_RR(ADD, M1, 2, 1);
	T_RR(SUB, 1, 2, M1);
	T_RR(MUL, 0x100000001ull, 0x100000001ull, 0x200000001ull);
	/* high halves of the 128-bit product, written out by hand */
	T_RR(MULH, M1, M1, 0);                          /* -1 * -1 = 1 */
	T_RR(MULHU, M1, M1, M1 - 1);                    /* (2^64-1)^2 = 2^128 - 2^65 + 1 */
	T_RR(MULH, 0x8000000000000000ull, 2, M1);       /* -2^63 * 2 = -2^64 */
	T_RR(MULHU, 0x8000000000000000ull, 2, 1);
	T_RR(MULH, 0x123456789ull, 0x100000000ull, 0x1);
	T_RR(DIV, (uint64_t)-7, 2, (uint64_t)-3);
	T_RR(DIV, 7, 0, M1);
	T_RR(DIV, MIN64, M1, MIN64);
	T_RR(DIVU, M1, 2, M1 >> 1);
	T_RR(DIVU, 5, 0, M1);
	T_RR(REM, (uint64_t)-7, 2, (uint64_t)-1);
	T_RR(REM, 7, (uint64_t)-2, 1);
	T_RR(REM, 7, 0, 7);
	T_RR(REM, MIN64, M1, 0);
	T_RR(REMU, M1, 10, 5);
	T_RR(REMU, 9, 0, 9);
	T_RR(AND, 0xff00ff00ull, 0x0ff00ff0ull, 0x0f000f00ull);
	T_RR(OR, 0xf0, 0x0f, 0xff);
	T_RR(XOR, M1, 0xff, ~0xffull);
	T_RR(SHL, 1, 65, 2);
	T_RR(SHR, MIN64, 63 + 64, 1);
	T_RR(SRA, MIN64, 60, 0xfffffffffffffff8ull);
	T_RR(SLT, M1, 0, 1);
	T_RR(SLTU, M1, 0, 0);
	T_RR(SLTU, 0, M1, 1);
	T_RI(ADDI, 10, -11, M1);
	T_RI(ANDI, M1, -2, ~1ull);
	T_RI(ORI, 0, -1, M1);
	T_RI(XORI, 5, -1, ~5ull);
	T_RI(SHLI, 3, 66, 12);
	T_RI(SHRI, M1, 60, 15);
	T_RI(SRAI, MIN64, 63, M1);
	T_RI(SLTI, (uint64_t)-5, -4, 1);
	T_RI(SLTIU, 5, -1, 1); /* -1 sign-extends to 2^64 - 1 */
	T_RI(MULI, 3, -2, (uint64_t)-6);

	/* li, lih and r0 */
	p.n = 0;
	emit(&p, E_LI(3, -5));
	CHECK_EQ(run(&p), (uint64_t)-5);
	p.n = 0;
	emit(&p, E_LI(3, -1));
	emit(&p, th_enc(NPU_INSN_LIH, 3, 0, 0, 0, 0x12345678));
	CHECK_EQ(run(&p), 0x12345678ffffffffull);
	p.n = 0;
	emit(&p, E_LI(1, 42));
	emit(&p, E_R(ADD, 0, 1, 1)); /* discarded */
	emit(&p, E_R(ADD, 3, 0, 0));
	CHECK_EQ(run(&p), 0);

	/* SRAM loads and stores: widths, sign and zero extension, little-endian */
	p.n = 0;
	li64(&p, 1, 0x80ff7fff80000001ull);
	emit(&p, E_ST(SD, 1, 16, 0));
	emit(&p, E_I(LB, 2, 0, 16 + 7));        /* 0x80 -> sext */
	emit(&p, E_I(LBU, 4, 0, 16 + 7));       /* 0x80 */
	emit(&p, E_R(ADD, 3, 2, 4));            /* -128 + 128 = 0 */
	emit(&p, E_I(LH, 2, 0, 16 + 6));        /* 0x80ff */
	emit(&p, E_R(ADD, 3, 3, 2));
	emit(&p, E_I(LHU, 2, 0, 16 + 4));       /* 0x7fff */
	emit(&p, E_R(ADD, 3, 3, 2));
	emit(&p, E_I(LW, 2, 0, 16));            /* 0x80000001 sext */
	emit(&p, E_R(ADD, 3, 3, 2));
	emit(&p, E_I(LWU, 2, 0, 16));
	emit(&p, E_R(ADD, 3, 3, 2));
	CHECK_EQ(run(&p), (uint64_t)(int16_t)0x80ff + 0x7fff + (uint64_t)(int32_t)0x80000001 +
				  0x80000001ull);
	p.n = 0;
	li64(&p, 1, 0x1122334455667788ull);
	emit(&p, E_I(ADDI, 2, 0, 40));
	emit(&p, E_ST(SB, 1, -8, 2));           /* 32 */
	emit(&p, E_ST(SH, 1, -6, 2));           /* 34 */
	emit(&p, E_ST(SW, 1, -4, 2));           /* 36 */
	emit(&p, E_I(LD, 3, 2, -8));
	CHECK_EQ(run(&p), 0x5566778877880088ull);

	/* branches, jumps, loop */
	p.n = 0;
	emit(&p, E_LI(3, 0));
	emit(&p, E_LI(1, -1));
	emit(&p, E_LI(2, 1));
	emit(&p, E_B(BLT, 1, 2, 2));            /* taken (signed) */
	emit(&p, E_I(ADDI, 3, 3, 1000));
	emit(&p, E_B(BLTU, 1, 2, 2));           /* not taken (unsigned) */
	emit(&p, E_I(ADDI, 3, 3, 1));
	emit(&p, E_B(BGEU, 1, 2, 2));           /* taken */
	emit(&p, E_I(ADDI, 3, 3, 1000));
	emit(&p, E_B(BGE, 2, 1, 2));            /* taken */
	emit(&p, E_I(ADDI, 3, 3, 1000));
	emit(&p, E_B(BEQ, 1, 1, 2));            /* taken */
	emit(&p, E_I(ADDI, 3, 3, 1000));
	emit(&p, E_B(BNE, 1, 1, 2));            /* not taken */
	emit(&p, E_I(ADDI, 3, 3, 10));
	CHECK_EQ(run(&p), 11);

	p.n = 0;                                /* call / return */
	emit(&p, E_LI(3, 0));
	emit(&p, th_enc(NPU_INSN_JAL, 9, 0, 0, 0, 3)); /* pc 1 -> 4, r9 = 2 */
	emit(&p, E_I(ADDI, 3, 3, 100));         /* pc 2: after return */
	emit(&p, E_JMP(3));                     /* pc 3 -> 6 */
	emit(&p, E_I(ADDI, 3, 3, 5));           /* pc 4: callee */
	emit(&p, th_enc(NPU_INSN_JR, 0, 9, 0, 0, 0));
	emit(&p, E_R(ADD, 3, 3, 9));            /* pc 6: + 2 */
	CHECK_EQ(run(&p), 107);

	p.n = 0;                                /* loop: body runs rd times */
	emit(&p, E_LI(3, 0));
	emit(&p, E_LI(1, 7));
	emit(&p, E_I(ADDI, 3, 3, 3));
	emit(&p, th_enc(NPU_INSN_LOOP, 1, 0, 0, 0, -1));
	emit(&p, E_R(ADD, 3, 3, 1));            /* r1 ended at 0 */
	emit(&p, th_enc(NPU_INSN_LOOP, 0, 0, 0, 0, -100)); /* r0 reads 0: falls through */
	CHECK_EQ(run(&p), 21);

	/* arguments, nop, dma.wait */
	p.n = 0;
	emit(&p, E_LDARG(1, 0));
	emit(&p, E_NOP);
	emit(&p, th_enc(NPU_INSN_DMA_WAIT, 0, 0, 0, 0, 15));
	emit(&p, E_LDARG(2, 1));
	emit(&p, E_R(XOR, 3, 1, 2));
	CHECK_EQ(run(&p), 0x1111222233334444ull ^ 0xfedcba9876543210ull);

	/* vector integer ops wrap; overlapping operands follow element order */
	p.n = 0;
	li64(&p, 1, 0x00000002ffffffffull);
	emit(&p, E_ST(SD, 1, 64, 0));           /* a = {0xffffffff, 2} */
	li64(&p, 1, 0x0000000700000003ull);
	emit(&p, E_ST(SD, 1, 72, 0));           /* b = {3, 7} */
	emit(&p, E_LI(10, 64));
	emit(&p, E_LI(11, 72));
	emit(&p, E_LI(12, 80));
	emit(&p, E_LI(13, 2));
	emit(&p, E_V(VADD_I32, 12, 10, 11, 13));
	emit(&p, E_I(LD, 3, 0, 80));            /* {2, 9} */
	emit(&p, E_V(VMUL_I32, 12, 10, 11, 13));
	emit(&p, E_I(LD, 4, 0, 80));            /* {0xfffffffd, 14} */
	emit(&p, E_R(XOR, 3, 3, 4));
	CHECK_EQ(run(&p), 0x0000000900000002ull ^ 0x0000000efffffffdull);

	p.n = 0;                                /* dst = src + 4: a running sum */
	emit(&p, E_LI(1, 1));
	emit(&p, E_ST(SW, 1, 0, 0));
	emit(&p, E_ST(SW, 1, 4, 0));
	emit(&p, E_ST(SW, 1, 8, 0));
	emit(&p, E_ST(SW, 1, 12, 0));
	emit(&p, E_LI(10, 0));
	emit(&p, E_LI(11, 4));
	emit(&p, E_LI(13, 3));
	emit(&p, E_V(VADD_I32, 11, 10, 10, 13)); /* x[i+1] = 2 * x[i] */
	emit(&p, E_I(LWU, 3, 0, 12));
	CHECK_EQ(run(&p), 8);

	th_close(&d);
	return T_PASS;
}
