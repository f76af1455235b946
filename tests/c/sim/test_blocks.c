/* SPDX-License-Identifier: MIT */
/* The interpreter settles the instruction budget and the cycle count once per basic block
 * and validates branch targets when it decodes: none of that may show. The budget traps
 * exactly after max_insns instructions wherever that falls in a block (also in a block
 * entered in the middle, and before a later trap); CYCLE reads the same mid-block; a bad
 * branch target traps PC_OOB only when taken, at that branch; a grid smaller than the core
 * count runs on fewer cores and reports only its own cycles. */
#include <errno.h>
#include <string.h>

#include "sim_test.h"

#define VA_CODE 0x1000000000ull
#define VA_OUT  0x0000400000ull

static struct th_dev d;
static struct th_ctx ctx;
static struct th_queue q;
static uint64_t *out;
static uint64_t code_slot;

static uint64_t load(const uint64_t *k, uint32_t n)
{
	uint64_t va = VA_CODE + code_slot++ * NPU_PAGE_SIZE;

	th_load_code(&ctx, va, k, n);
	return va;
}

static void launch(const uint64_t *k, uint32_t n, uint64_t max_insns)
{
	struct th_launch l;

	th_launch_init(&l, load(k, n), n);
	l.max_insns = max_insns;
	l.nargs = 1;
	l.args[0] = VA_OUT;
	th_launch(&q, &l);
}

/* Runs k with the budget max_insns and expects the trap `code` at pc with address addr. */
static void expect_trap(const char *name, const uint64_t *k, uint32_t n, uint64_t max_insns,
			uint32_t code, uint64_t pc, uint64_t addr)
{
	const struct npu_hw_queue_status *st = q.st;

	launch(k, n, max_insns);
	if (th_run(&q) != -EIO) {
		fprintf(stderr, "%s (budget %llu): no trap\n", name, (unsigned long long)max_insns);
		exit(T_FAIL);
	}
	if (st->fault_code != code || st->fault_pc != pc || st->fault_addr != addr) {
		fprintf(stderr, "%s (budget %llu): trap %u at pc %llu address 0x%llx, expected "
			"%u at %llu address 0x%llx\n", name, (unsigned long long)max_insns,
			st->fault_code, (unsigned long long)st->fault_pc,
			(unsigned long long)st->fault_addr, code, (unsigned long long)pc,
			(unsigned long long)addr);
		exit(T_FAIL);
	}
	CHECK_EQ(st->fault_core, 0);
	CHECK_EQ(st->fault_flags, NPU_FAULT_INSN_VALID);
	CHECK_EQ(st->fault_insn, k[pc]);
	th_resume(&q);
	CHECK_EQ(th_wait_fence(&q, q.seqno, 20000), 0);
}

static void expect_ok(const char *name, const uint64_t *k, uint32_t n, uint64_t max_insns)
{
	launch(k, n, max_insns);
	if (th_run(&q)) {
		fprintf(stderr, "%s (budget %llu): trap %u at pc %llu\n", name,
			(unsigned long long)max_insns, q.st->fault_code,
			(unsigned long long)q.st->fault_pc);
		exit(T_FAIL);
	}
}

/* Stores r1 to out[0] through SRAM; 4 instructions, halt included. */
#define STORE_R1_AND_HALT(k, n) \
	do { \
		(k)[(n)++] = E_ST(SD, 1, 0, 0); \
		(k)[(n)++] = E_LI(3, 8); \
		(k)[(n)++] = th_enc(NPU_INSN_DMA_ST, 2, 0, 3, 0, 0); \
		(k)[(n)++] = E_HALT; \
	} while (0)

static void budget_in_blocks(void)
{
	/* a loop whose target is inside its block: pcs 0 1 2 3 4, 2 3 4, 2 3 4, 5 */
	static const uint32_t trace[] = { 0, 1, 2, 3, 4, 2, 3, 4, 2, 3, 4, 5 };
	const uint32_t len = sizeof(trace) / sizeof(trace[0]);
	uint64_t k[8] = {
		E_LI(1, 3), E_NOP, E_NOP, E_NOP, th_enc(NPU_INSN_LOOP, 1, 0, 0, 0, -2), E_HALT,
	};
	uint64_t s[5] = { E_NOP, E_NOP, E_NOP, 0x00000000000000ffull, E_HALT };

	/* every budget short of the whole run stops at the next instruction of the trace */
	for (uint32_t m = 1; m < len; m++)
		expect_trap("loop into a block's middle", k, 6, m, NPU_TRAP_WATCHDOG, trace[m], 0);
	expect_ok("loop into a block's middle, exact budget", k, 6, len);

	/* straight-line code: the budget wins over a trap after it, not over one before it */
	expect_trap("budget before an illegal word", s, 5, 1, NPU_TRAP_WATCHDOG, 1, 0);
	expect_trap("budget before an illegal word", s, 5, 3, NPU_TRAP_WATCHDOG, 3, 0);
	expect_trap("illegal word within the budget", s, 5, 4, NPU_TRAP_ILLEGAL_INSN, 3, 3);
	expect_trap("illegal word, no budget", s, 5, 0, NPU_TRAP_ILLEGAL_INSN, 3, 3);

	/* running off the end or jumping out with the last budgeted instruction is PC_OOB */
	s[3] = E_NOP;
	expect_trap("off the end on the budget", s, 4, 4, NPU_TRAP_PC_OOB, 3, 4);
	expect_trap("budget before the end", s, 4, 3, NPU_TRAP_WATCHDOG, 3, 0);
	s[3] = E_JMP(7);
	expect_trap("jump out on the budget", s, 4, 4, NPU_TRAP_PC_OOB, 3, 10);
}

static void branch_targets(void)
{
	uint64_t k[16];
	uint32_t n = 0;

	/* bad targets of branches that are not taken change nothing */
	k[n++] = E_LI(1, 1);
	k[n++] = E_LDARG(2, 0);
	k[n++] = E_B(BEQ, 1, 0, 100);
	k[n++] = E_B(BNE, 1, 1, -100);
	k[n++] = th_enc(NPU_INSN_LOOP, 0, 0, 0, 0, 1000);    /* loop r0 never branches */
	k[n++] = E_B(BLT, 1, 0, 1u << 30);
	k[n++] = E_I(ADDI, 1, 1, 41);
	STORE_R1_AND_HALT(k, n);
	out[0] = 0;
	expect_ok("bad targets not taken", k, n, 0);
	CHECK_EQ(out[0], 42);

	/* each taken one reports itself and its own target; two share one target */
	k[3] = E_B(BNE, 1, 0, -100);
	expect_trap("taken backwards", k, n, 0, NPU_TRAP_PC_OOB, 3, (uint64_t)(3 - 100));
	k[2] = E_B(BNE, 1, 0, 98);
	k[3] = E_B(BNE, 1, 0, 97);
	expect_trap("taken forwards", k, n, 0, NPU_TRAP_PC_OOB, 2, 100);
	k[2] = E_NOP;
	expect_trap("the same target from elsewhere", k, n, 0, NPU_TRAP_PC_OOB, 3, 100);
	k[3] = E_NOP;
	k[4] = th_enc(NPU_INSN_LOOP, 1, 0, 0, 0, 1000);      /* r1 = 1: falls through */
	k[6] = th_enc(NPU_INSN_JAL, 5, 0, 0, 0, (int64_t)n - 6); /* to n: just past the end */
	expect_trap("jal to the end", k, n, 0, NPU_TRAP_PC_OOB, 6, n);

	/* jr: checked when it runs */
	n = 0;
	k[n++] = E_LI(4, 4);
	k[n++] = th_enc(NPU_INSN_JR, 0, 4, 0, 0, 0);
	k[n++] = E_HALT;
	k[n++] = E_HALT;
	k[n++] = E_LDARG(2, 0);                 /* 4: jr lands here */
	k[n++] = E_LI(1, 7);
	STORE_R1_AND_HALT(k, n);
	out[0] = 0;
	expect_ok("jr", k, n, 0);
	CHECK_EQ(out[0], 7);
	k[0] = E_LI(4, n);
	expect_trap("jr past the end", k, n, 0, NPU_TRAP_PC_OOB, 1, n);
	k[0] = E_LI(4, -1);
	expect_trap("jr to -1", k, n, 0, NPU_TRAP_PC_OOB, 1, UINT64_MAX);
}

static uint64_t cost(enum npu_insn id)
{
	return npu_timing_costs[npu_insn_timing[id]].base;
}

/* CYCLE read in a block entered in the middle, and after a DMA with its extra cycles. */
static void cycle_reads(void)
{
	const struct npu_timing_cost *dma = &npu_timing_costs[npu_insn_timing[NPU_INSN_DMA_ST]];
	uint64_t k[16], want, at;
	uint32_t n = 0;

	k[n++] = E_LDARG(2, 0);
	k[n++] = E_LI(5, 3);
	k[n++] = E_LI(1, 0);
	k[n++] = E_NOP;                         /* 3: the loop's target, mid-block */
	k[n++] = E_CSRR(6, CYCLE);
	k[n++] = E_R(ADD, 1, 1, 6);             /* r1 = sum of the readings */
	k[n++] = th_enc(NPU_INSN_LOOP, 5, 0, 0, 0, -3);
	k[n++] = E_ST(SD, 1, 0, 0);
	k[n++] = E_LI(3, 8);
	k[n++] = th_enc(NPU_INSN_DMA_ST, 2, 0, 3, 0, 0);
	k[n++] = E_CSRR(1, CYCLE);              /* after the DMA, same block */
	k[n++] = E_ST(SD, 1, 8, 0);
	k[n++] = E_I(ADDI, 2, 2, 8);
	k[n++] = th_enc(NPU_INSN_DMA_ST, 2, 3, 3, 0, 0); /* r3 = 8 */
	k[n++] = E_HALT;
	out[0] = out[1] = 0;
	expect_ok("cycle reads", k, n, 0);

	at = cost(NPU_INSN_LDARG) + 2 * cost(NPU_INSN_LI) + cost(NPU_INSN_NOP);
	want = 0;
	for (int i = 0; i < 3; i++) {
		want += at;
		at += cost(NPU_INSN_CSRR) + cost(NPU_INSN_ADD) + cost(NPU_INSN_LOOP);
		if (i < 2)
			at += cost(NPU_INSN_NOP);
	}
	CHECK_EQ(out[0], want);
	at += cost(NPU_INSN_SD) + cost(NPU_INSN_LI) + cost(NPU_INSN_DMA_ST) +
	      (8 + dma->per_bytes - 1) / dma->per_bytes;
	CHECK_EQ(out[1], at);
}

/* Grid g < 4 on 4 cores: at most g cores run, and none reports an earlier launch's cycles. */
static void small_grid(void)
{
	uint64_t k[4] = { E_LI(1, 20000), th_enc(NPU_INSN_LOOP, 1, 0, 0, 0, 0), E_HALT };
	uint64_t small = cost(NPU_INSN_LI) + cost(NPU_INSN_NOP) + cost(NPU_INSN_HALT);
	struct th_launch l;

	th_launch_init(&l, load(k, 3), 3);
	l.grid[0] = 8;
	th_launch(&q, &l);
	CHECK_EQ(th_run(&q), 0);
	CHECK(q.st->cycles >= 20000);
	k[1] = E_NOP;
	for (uint32_t g = 1; g <= 3; g++) {
		th_launch_init(&l, load(k, 3), 3);
		l.grid[0] = g;
		th_launch(&q, &l);
		CHECK_EQ(th_run(&q), 0);
		CHECK(q.st->cycles % small == 0);
		CHECK(q.st->cycles >= small && q.st->cycles <= g * small);
	}
}

int main(void)
{
	th_open(&d, "cores=4,mem=256M");
	th_ctx_init(&ctx, &d);
	th_queue_init(&q, &d, 0, &ctx);
	out = th_ptr(&d, th_map_new(&ctx, VA_OUT, NPU_PAGE_SIZE, true));

	budget_in_blocks();
	branch_targets();
	cycle_reads();
	small_grid();
	th_close(&d);
	return T_PASS;
}
