/* SPDX-License-Identifier: MIT */
/* Every trap kind is reported with the right code, core, pc, instruction word, address
 * and flags; the queue resumes after NPU_QCTL_RESUME and the next launch works. */
#include <errno.h>
#include <string.h>

#include "sim_test.h"

#define VA_CODE 0x1000000000ull
#define VA_DATA 0x0000200000ull
#define VA_RO   0x0000300000ull
#define VA_OUT  0x0000400000ull

static struct th_dev d;
static struct th_ctx ctx;
static struct th_queue q;
static uint64_t *out;
static uint64_t code_slot;

#define ANY_CORE 0xfffffffeu

struct expect {
	uint32_t code;
	uint32_t core;          /* ANY_CORE: any real core */
	uint64_t pc;
	uint64_t addr;
	uint32_t flags;
};

static uint64_t load(const uint64_t *k, uint32_t n)
{
	uint64_t va = VA_CODE + code_slot++ * NPU_PAGE_SIZE;

	th_load_code(&ctx, va, k, n);
	return va;
}

/* A launch that stores 42 to out[0] when it runs. */
static void good_launch(void)
{
	uint64_t k[6];
	struct th_launch l;

	k[0] = E_LI(1, 42);
	k[1] = E_ST(SD, 1, 0, 0);
	k[2] = E_LDARG(2, 0);
	k[3] = E_LI(3, 8);
	k[4] = th_enc(NPU_INSN_DMA_ST, 2, 0, 3, 0, 0);
	k[5] = E_HALT;
	th_launch_init(&l, load(k, 6), 6);
	l.nargs = 1;
	l.args[0] = VA_OUT;
	l.sram_bytes = 64;
	th_launch(&q, &l);
}

static void check_fault(uint64_t seq, const struct expect *e, uint64_t insn)
{
	const struct npu_hw_queue_status *st = q.st;

	CHECK_EQ(th_wait_fence(&q, seq, 20000), -EIO);
	CHECK_EQ(st->fault_code, e->code);
	if (e->core == ANY_CORE)
		CHECK(st->fault_core < 4);
	else
		CHECK_EQ(st->fault_core, e->core);
	CHECK_EQ(st->fault_pc, e->pc);
	CHECK_EQ(st->fault_addr, e->addr);
	CHECK_EQ(st->fault_flags, e->flags);
	if (e->flags & NPU_FAULT_INSN_VALID)
		CHECK_EQ(st->fault_insn, insn);
	CHECK_EQ(st->fault_fence, seq - 1);
	CHECK_EQ(th_qrd(&q, NPU_QREG_STATE), NPU_QSTATE_FAULTED);
	CHECK(th_wait_irq(&d, 0, 10000));
	th_resume(&q);
	CHECK_EQ(th_wait_fence(&q, seq, 20000), 0);
	CHECK(th_qrd(&q, NPU_QREG_STATE) != NPU_QSTATE_FAULTED);
}

/* Runs kernel k as one job followed (in the same job) by a launch that must be skipped,
 * checks the fault, then checks that a following job works. */
static void trap_case(const char *name, const uint64_t *k, uint32_t n,
		      const struct th_launch *lp, const struct expect *e)
{
	struct th_launch lc = *lp, *l = &lc;
	uint64_t seq, t0 = th_now_ms();
	uint64_t launches = q.st->launches;

	fprintf(stderr, "case %s\n", name);
	if (!l->code_va)
		l->code_va = load(k, n);
	if (!l->code_words)
		l->code_words = n;
	th_launch(&q, l);
	good_launch();                  /* same job: skipped after RESUME */
	seq = th_fence(&q);
	th_submit(&q);
	check_fault(seq, e, e->pc < n ? k[e->pc] : 0);
	CHECK_EQ(q.st->launches, launches);
	CHECK_EQ(out[0], 0);            /* the skipped launch did not run */

	good_launch();
	CHECK_EQ(th_run(&q), 0);
	CHECK_EQ(out[0], 42);
	CHECK_EQ(q.st->launches, launches + 1);
	out[0] = 0;
	fprintf(stderr, "  ok (%llu ms)\n", (unsigned long long)(th_now_ms() - t0));
}

#define INSN_FAULT(c, pc_, addr_, fl) \
	(struct expect){ .code = (c), .core = 0, .pc = (pc_), .addr = (addr_), \
			 .flags = NPU_FAULT_INSN_VALID | (fl) }
#define CP_FAULT(c, addr_) \
	(struct expect){ .code = (c), .core = NPU_FAULT_CORE_NONE, .addr = (addr_) }

int main(void)
{
	struct th_launch l;
	struct expect e;
	uint64_t k[16];

	th_open(&d, "cores=4,mem=512M");
	th_ctx_init(&ctx, &d);
	th_queue_init(&q, &d, 0, &ctx);
	out = th_ptr(&d, th_map_new(&ctx, VA_OUT, NPU_PAGE_SIZE, true));
	th_map_new(&ctx, VA_DATA, NPU_PAGE_SIZE, true);
	th_map_new(&ctx, VA_RO, NPU_PAGE_SIZE, false);

	/* ILLEGAL_INSN: unknown opcode, a used-must-be-zero bit set, unknown sreg, DMA tag */
	k[0] = E_NOP;
	k[1] = E_NOP;
	k[2] = 0x00000000000000ffull;
	th_launch_init(&l, 0, 0);
	e = INSN_FAULT(NPU_TRAP_ILLEGAL_INSN, 2, 2, 0);
	trap_case("illegal opcode", k, 3, &l, &e);
	k[0] = E_R(ADD, 1, 2, 3) | (1ull << 40);
	th_launch_init(&l, 0, 0);
	e = INSN_FAULT(NPU_TRAP_ILLEGAL_INSN, 0, 0, 0);
	trap_case("illegal reserved bits", k, 1, &l, &e);
	k[0] = E_NOP;
	k[1] = th_enc(NPU_INSN_CSRR, 1, 0, 0, 0, NPU_SREG_COUNT);
	th_launch_init(&l, 0, 0);
	e = INSN_FAULT(NPU_TRAP_ILLEGAL_INSN, 1, 1, 0);
	trap_case("unknown sreg", k, 2, &l, &e);
	k[0] = th_enc(NPU_INSN_DMA_WAIT, 0, 0, 0, 0, 16);
	th_launch_init(&l, 0, 0);
	e = INSN_FAULT(NPU_TRAP_ILLEGAL_INSN, 0, 0, 0);
	trap_case("dma tag 16", k, 1, &l, &e);
	k[0] = th_enc(NPU_INSN_DMA_LD, 0, 0, 0, 0, -1);
	trap_case("dma tag -1", k, 1, &l, &e);

	/* SRAM_OOB: loads, stores, vectors; the address is the first bad byte */
	k[0] = E_LI(1, 4096);
	k[1] = E_I(LW, 2, 1, 0);
	th_launch_init(&l, 0, 0);
	l.sram_bytes = 4096;
	e = INSN_FAULT(NPU_TRAP_SRAM_OOB, 1, 4096, 0);
	trap_case("sram oob load", k, 2, &l, &e);
	k[0] = E_LI(1, 4088);
	k[1] = E_ST(SD, 1, 0, 1);
	th_launch_init(&l, 0, 0);
	l.sram_bytes = 4092;
	e = INSN_FAULT(NPU_TRAP_SRAM_OOB, 1, 4092, NPU_FAULT_WRITE);
	trap_case("sram oob store straddling", k, 2, &l, &e);
	k[0] = E_LI(1, -8);
	k[1] = E_I(LD, 2, 1, 0);
	th_launch_init(&l, 0, 0);
	e = INSN_FAULT(NPU_TRAP_SRAM_OOB, 1, (uint64_t)-8, 0);
	trap_case("sram oob negative", k, 2, &l, &e);
	k[0] = E_LI(10, 0);
	k[1] = E_LI(11, 512);
	k[2] = E_LI(12, 2048);
	k[3] = E_LI(13, 512);
	k[4] = E_V(VADD_F32, 12, 10, 11, 13);
	th_launch_init(&l, 0, 0);
	l.sram_bytes = 2560;
	e = INSN_FAULT(NPU_TRAP_SRAM_OOB, 4, 2560, NPU_FAULT_WRITE);
	trap_case("sram oob vector dst", k, 5, &l, &e);
	k[3] = E_LI(13, -1);            /* 2^64 - 1 elements */
	e = INSN_FAULT(NPU_TRAP_SRAM_OOB, 4, 2560, 0);
	trap_case("sram oob vector huge count", k, 5, &l, &e);
	k[0] = E_LI(1, 4000);
	k[1] = E_LI(2, 200);
	k[2] = th_enc(NPU_INSN_DMA_LD, 1, 3, 2, 0, 0);
	th_launch_init(&l, 0, 0);
	l.sram_bytes = 4096;
	e = INSN_FAULT(NPU_TRAP_SRAM_OOB, 2, 4096, NPU_FAULT_WRITE);
	trap_case("sram oob dma", k, 3, &l, &e);

	/* MISALIGNED */
	k[0] = E_LI(1, 2);
	k[1] = E_I(LW, 2, 1, 0);
	th_launch_init(&l, 0, 0);
	e = INSN_FAULT(NPU_TRAP_MISALIGNED, 1, 2, 0);
	trap_case("misaligned load", k, 2, &l, &e);
	k[1] = E_ST(SH, 0, 1, 1);
	e = INSN_FAULT(NPU_TRAP_MISALIGNED, 1, 3, NPU_FAULT_WRITE);
	trap_case("misaligned store", k, 2, &l, &e);
	k[0] = E_LI(10, 6);
	k[1] = E_LI(13, 1);
	k[2] = E_V(VMUL_F32, 0, 0, 10, 13);
	e = INSN_FAULT(NPU_TRAP_MISALIGNED, 2, 6, 0);
	trap_case("misaligned vector", k, 3, &l, &e);

	/* PAGE_FAULT from DMA: unmapped read, read-only write, past 40 bits */
	k[0] = E_LDARG(1, 0);
	k[1] = E_LI(2, 64);
	k[2] = E_DMA(DMA_LD, 0, 1, 2, 3);
	th_launch_init(&l, 0, 0);
	l.nargs = 1;
	l.args[0] = VA_DATA + NPU_PAGE_SIZE - 32;
	e = INSN_FAULT(NPU_TRAP_PAGE_FAULT, 2, VA_DATA + NPU_PAGE_SIZE, 0);
	trap_case("page fault dma.ld", k, 3, &l, &e);
	k[2] = E_DMA(DMA_ST, 1, 0, 2, 3);
	l.args[0] = VA_RO + 8;
	e = INSN_FAULT(NPU_TRAP_PAGE_FAULT, 2, VA_RO + 8, NPU_FAULT_WRITE);
	trap_case("page fault dma.st read-only", k, 3, &l, &e);
	l.args[0] = (1ull << 40) - 16;
	e = INSN_FAULT(NPU_TRAP_PAGE_FAULT, 2, (1ull << 40) - 16, NPU_FAULT_WRITE);
	trap_case("page fault dma.st top of VA", k, 3, &l, &e);

	/* BAD_ARG */
	k[0] = E_LDARG(1, 1);
	k[1] = E_LDARG(1, 2);
	th_launch_init(&l, 0, 0);
	l.nargs = 2;
	e = INSN_FAULT(NPU_TRAP_BAD_ARG, 1, 2, 0);
	trap_case("bad arg", k, 2, &l, &e);

	/* PC_OOB: jump past the end, jump before 0, fall off the end */
	k[0] = E_NOP;
	k[1] = E_JMP(10);
	k[2] = E_HALT;
	th_launch_init(&l, 0, 0);
	e = INSN_FAULT(NPU_TRAP_PC_OOB, 1, 11, 0);
	trap_case("pc oob jump", k, 3, &l, &e);
	k[1] = E_JMP(-2);
	e = INSN_FAULT(NPU_TRAP_PC_OOB, 1, (uint64_t)-1, 0);
	trap_case("pc oob negative", k, 3, &l, &e);
	k[0] = E_NOP;
	k[1] = E_NOP;
	e = INSN_FAULT(NPU_TRAP_PC_OOB, 1, 2, 0);
	trap_case("pc oob fall-through", k, 2, &l, &e);

	/* WATCHDOG by budget: exact (1001 instructions run, the 1002nd is at pc 1) */
	k[0] = E_I(ADDI, 1, 1, 1);
	k[1] = E_JMP(-1);
	th_launch_init(&l, 0, 0);
	l.max_insns = 1001;
	e = INSN_FAULT(NPU_TRAP_WATCHDOG, 1, 0, 0);
	trap_case("watchdog budget", k, 2, &l, &e);
	l.max_insns = 5000 * 2;
	e = INSN_FAULT(NPU_TRAP_WATCHDOG, 0, 0, 0);
	trap_case("watchdog budget > check interval", k, 2, &l, &e);
	{
		/* a program of exactly max_insns instructions is fine */
		uint64_t k3[3] = { E_NOP, E_NOP, E_HALT };

		th_launch_init(&l, load(k3, 3), 3);
		l.max_insns = 3;
		l.sram_bytes = 0;
		th_launch(&q, &l);
		CHECK_EQ(th_run(&q), 0);
	}

	/* WATCHDOG by time, on a grid spread over all cores */
	{
		uint64_t t0 = th_now_ms(), seq;

		k[0] = E_I(ADDI, 1, 1, 1);
		k[1] = E_JMP(-1);
		th_launch_init(&l, load(k, 2), 2);
		l.grid[0] = 8;
		l.timeout_us = 100 * 1000;
		th_launch(&q, &l);
		seq = th_fence(&q);
		th_submit(&q);
		CHECK_EQ(th_wait_fence(&q, seq, 20000), -EIO);
		CHECK(th_now_ms() - t0 >= 100);
		CHECK(th_now_ms() - t0 < 10000);
		CHECK_EQ(q.st->fault_code, NPU_TRAP_WATCHDOG);
		CHECK(q.st->fault_core < 4);
		CHECK(q.st->fault_pc < 2);
		CHECK_EQ(q.st->fault_insn, k[q.st->fault_pc]);
		th_resume(&q);
		CHECK_EQ(th_wait_fence(&q, seq, 20000), 0);
	}

	/* First trap wins on a multi-core grid; the others stop. Program 11 traps. */
	k[0] = E_CSRR(1, PROGRAM_ID);
	k[1] = E_LI(2, 11);
	k[2] = E_B(BEQ, 1, 2, 4);
	k[3] = E_LI(3, 2000000);
	k[4] = th_enc(NPU_INSN_LOOP, 3, 0, 0, 0, 0);
	k[5] = E_HALT;
	k[6] = 0x00000000000000feull;
	th_launch_init(&l, 0, 0);
	l.grid[0] = 4;
	l.grid[1] = 8;
	e = (struct expect){ .code = NPU_TRAP_ILLEGAL_INSN, .core = ANY_CORE, .pc = 6, .addr = 6,
			     .flags = NPU_FAULT_INSN_VALID };
	trap_case("first trap wins", k, 7, &l, &e);

	/* ISA 1.1: csrw of a read-only sreg and a 2-D DMA tag are decoded illegal */
	k[0] = E_LI(1, 5);
	k[1] = th_enc(NPU_INSN_CSRW, 0, 1, 0, 0, NPU_SREG_CORE_ID);
	th_launch_init(&l, 0, 0);
	e = INSN_FAULT(NPU_TRAP_ILLEGAL_INSN, 1, 1, 0);
	trap_case("csrw read-only", k, 2, &l, &e);
	k[1] = th_enc(NPU_INSN_DMA_LD2, 0, 0, 0, 0, 16);
	trap_case("dma.ld2 tag 16", k, 2, &l, &e);

	/* BAD_OPERAND: matmul dimension, requant shift, semaphore index; address = the value */
	k[0] = E_LI(1, 1025);
	k[1] = th_enc(NPU_INSN_CSRW, 0, 1, 0, 0, NPU_SREG_MM_K);
	k[2] = th_enc(NPU_INSN_MMA_BF16, 0, 0, 0, 0, 0);
	th_launch_init(&l, 0, 0);
	e = INSN_FAULT(NPU_TRAP_BAD_OPERAND, 2, 1025, 0);
	trap_case("bad operand mm K", k, 3, &l, &e);
	k[0] = E_LI(1, 63);
	k[1] = th_enc(NPU_INSN_CSRW, 0, 1, 0, 0, NPU_SREG_RQ_SHIFT);
	k[2] = E_LI(2, 4);
	k[3] = th_enc(NPU_INSN_VREQUANT_I8, 0, 0, 2, 0, 0);
	e = INSN_FAULT(NPU_TRAP_BAD_OPERAND, 3, 63, 0);
	trap_case("bad operand requant shift", k, 4, &l, &e);
	k[0] = E_LI(1, 16);
	k[1] = th_enc(NPU_INSN_SEM_WAIT, 0, 1, 0, 0, 0);
	e = INSN_FAULT(NPU_TRAP_BAD_OPERAND, 1, 16, 0);
	trap_case("bad operand semaphore", k, 2, &l, &e);

	/* BAD_SYNC: a barrier in a grid larger than the device's 4 cores */
	k[0] = th_enc(NPU_INSN_BARRIER, 0, 0, 0, 0, 0);
	k[1] = E_HALT;
	th_launch_init(&l, 0, 0);
	l.grid[0] = 5;
	e = (struct expect){ .code = NPU_TRAP_BAD_SYNC, .core = ANY_CORE, .pc = 0, .addr = 5,
			     .flags = NPU_FAULT_INSN_VALID };
	trap_case("bad sync", k, 2, &l, &e);

	/* DEADLOCK: program 0 waits for semaphore 2, program 1 halts */
	k[0] = E_CSRR(1, PROGRAM_ID);
	k[1] = E_B(BNE, 1, 0, 3);
	k[2] = E_LI(2, 2);
	k[3] = th_enc(NPU_INSN_SEM_WAIT, 0, 2, 0, 0, 0);
	k[4] = E_HALT;
	th_launch_init(&l, 0, 0);
	l.grid[0] = 2;
	e = (struct expect){ .code = NPU_TRAP_DEADLOCK, .core = ANY_CORE, .pc = 3, .addr = 2,
			     .flags = NPU_FAULT_INSN_VALID };
	trap_case("deadlock", k, 5, &l, &e);

	/* A long instruction sees the time limit: row reductions over 64 Ki rows of 64 Ki
	 * columns at stride 0 would take seconds */
	{
		uint64_t t0 = th_now_ms(), seq;

		k[0] = E_LI(1, 65536);
		k[1] = E_LI(2, 16384);
		k[2] = th_enc(NPU_INSN_VREDSUM_F32, 0, 0, 2, 1, 0);
		k[3] = E_JMP(-1);
		th_launch_init(&l, load(k, 4), 4);
		l.sram_bytes = 256 * 1024;
		l.timeout_us = 100 * 1000;
		th_launch(&q, &l);
		seq = th_fence(&q);
		th_submit(&q);
		CHECK_EQ(th_wait_fence(&q, seq, 20000), -EIO);
		CHECK(th_now_ms() - t0 < 5000);
		CHECK_EQ(q.st->fault_code, NPU_TRAP_WATCHDOG);
		th_resume(&q);
		CHECK_EQ(th_wait_fence(&q, seq, 20000), 0);
	}

	/* BAD_LAUNCH and launch-time PAGE_FAULT come from the command processor */
	k[0] = E_HALT;
	th_launch_init(&l, 0, 0);
	l.grid[1] = 0;
	e = CP_FAULT(NPU_TRAP_BAD_LAUNCH, 0);
	trap_case("bad launch grid 0", k, 1, &l, &e);
	th_launch_init(&l, 0, 0);
	l.grid[0] = 0x10000;
	l.grid[1] = 0x10000;
	trap_case("bad launch grid overflow", k, 1, &l, &e);
	th_launch_init(&l, 0, 0);
	l.sram_bytes = 256 * 1024 + 8;
	e = CP_FAULT(NPU_TRAP_BAD_LAUNCH, 256 * 1024 + 8);
	trap_case("bad launch sram", k, 1, &l, &e);
	th_launch_init(&l, 0, 0);
	l.entry = 1;
	e = CP_FAULT(NPU_TRAP_BAD_LAUNCH, 1);
	trap_case("bad launch entry", k, 1, &l, &e);
	th_load_code(&ctx, 0x0000f00000ull, k, 1);
	th_launch_init(&l, 0x0000f00000ull, 3 * NPU_PAGE_SIZE / 8); /* past the mapped page */
	e = CP_FAULT(NPU_TRAP_PAGE_FAULT, 0x0000f00000ull + NPU_PAGE_SIZE);
	trap_case("code not mapped", k, 1, &l, &e);

	th_close(&d);
	return T_PASS;
}
