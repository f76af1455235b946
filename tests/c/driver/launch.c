/* SPDX-License-Identifier: MIT */
/*
 * launch.c - a hand-encoded kernel runs: every program instance of a 4x2x1 grid writes
 * 42 + its program id + arg1 to out[program id] by DMA from SRAM. Then a kernel with an
 * illegal instruction reports ILLEGAL_INSN with pc and the word, and the queue goes on.
 */
#include "drv_test.h"

enum { R0, R1, R2, R3, R4, R5, R6 };

int main(void)
{
	int fd = t_open();
	const uint64_t code[] = {
		t_insn(NPU_INSN_LDARG, R2, 0, 0, 0),              /* r2 = out */
		t_insn(NPU_INSN_LDARG, R6, 0, 0, 1),              /* r6 = bias */
		t_insn(NPU_INSN_CSRR, R4, 0, 0, NPU_SREG_PROGRAM_ID),
		t_insn(NPU_INSN_LI, R1, 0, 0, 42),
		t_insn(NPU_INSN_ADD, R1, R1, R4, 0),
		t_insn(NPU_INSN_ADD, R1, R1, R6, 0),
		t_insn(NPU_INSN_SHLI, R5, R4, 0, 3),
		t_insn(NPU_INSN_ADD, R2, R2, R5, 0),              /* r2 = out + 8 * pid */
		t_insn(NPU_INSN_SD, 0, R0, R1, 0),                /* SRAM[0] = r1 */
		t_insn(NPU_INSN_LI, R3, 0, 0, 8),
		t_insn(NPU_INSN_DMA_ST, R2, R0, R3, 0),           /* out[pid] = SRAM[0..8) */
		t_insn(NPU_INSN_DMA_WAIT, 0, 0, 0, 0),
		t_insn(NPU_INSN_HALT, 0, 0, 0, 0),
	};
	const uint32_t words = sizeof(code) / sizeof(code[0]);
	struct npu_bo_create cbo = t_code_bo(fd, code, words);
	struct npu_bo_create out = t_bo(fd, 4096, NPU_BO_HOST_VISIBLE);
	uint64_t *o = t_map(fd, &out, 4096);
	uint64_t args[2] = { out.dev_addr, 1000 };
	struct t_launch l;
	uint32_t bytes;
	struct npu_get_fault f;
	uint64_t seqno;

	bytes = t_launch_init(&l, cbo.dev_addr, words, 2, args);
	l.l.grid[0] = 4;
	l.l.grid[1] = 2;
	seqno = t_submit(fd, &l, bytes);
	t_wait(fd, seqno);
	f = t_fault(fd);
	if (f.flags) {
		fprintf(stderr, "unexpected fault code %u pc %" PRIu64 " addr 0x%" PRIx64 "\n",
			f.code, f.pc, f.addr);
		return T_FAIL;
	}
	for (uint64_t pid = 0; pid < 8; pid++)
		T_EQ(o[pid], 42 + 1000 + pid);
	T_EQ(o[8], 0);

	/* An illegal word at pc 2: the fault names the pc and the word. */
	{
		const uint64_t bad[] = {
			t_insn(NPU_INSN_LI, R1, 0, 0, 1),
			t_insn(NPU_INSN_NOP, 0, 0, 0, 0),
			0xffffffffffffffffull,
			t_insn(NPU_INSN_HALT, 0, 0, 0, 0),
		};
		struct npu_bo_create bbo = t_code_bo(fd, bad, 4);

		bytes = t_launch_init(&l, bbo.dev_addr, 4, 0, NULL);
		seqno = t_submit(fd, &l, bytes);
		t_wait(fd, seqno);
		f = t_fault(fd);
		T_EQ(f.flags & (NPU_FAULT_F_VALID | NPU_FAULT_F_INSN),
		     NPU_FAULT_F_VALID | NPU_FAULT_F_INSN);
		T_EQ(f.code, NPU_TRAP_ILLEGAL_INSN);
		T_EQ(f.seqno, seqno);
		T_EQ(f.pc, 2);
		T_EQ(f.insn, 0xffffffffffffffffull);
		t_bo_free(fd, bbo.handle);
	}

	/* The queue still runs launches: again, with another bias and a 1-D grid. */
	memset(o, 0, 4096);
	args[1] = 7;
	bytes = t_launch_init(&l, cbo.dev_addr, words, 2, args);
	l.l.grid[0] = 3;
	t_wait(fd, t_submit(fd, &l, bytes));
	T_EQ(t_fault(fd).flags, 0);
	for (uint64_t pid = 0; pid < 3; pid++)
		T_EQ(o[pid], 42 + 7 + pid);

	T_OK(npu_drv_munmap(fd, o, 4096));
	T_OK(npu_drv_close(fd));
	return T_PASS;
}
