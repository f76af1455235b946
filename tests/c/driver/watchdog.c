/* SPDX-License-Identifier: MIT */
/*
 * watchdog.c - a kernel that loops forever is stopped by the launch watchdog (wall clock
 * timeout_us, or the max_insns budget) with a WATCHDOG fault; its fence still signals and the
 * next launch on the same queue works.
 */
#include "drv_test.h"

int main(void)
{
	int fd = t_open();
	const uint64_t spin[] = {
		t_insn(NPU_INSN_JMP, 0, 0, 0, 0), /* jmp . */
	};
	const uint64_t ok[] = {
		t_insn(NPU_INSN_LDARG, 2, 0, 0, 0),
		t_insn(NPU_INSN_LI, 1, 0, 0, 42),
		t_insn(NPU_INSN_SD, 0, 0, 1, 0),
		t_insn(NPU_INSN_LI, 3, 0, 0, 8),
		t_insn(NPU_INSN_DMA_ST, 2, 0, 3, 0),
		t_insn(NPU_INSN_DMA_WAIT, 0, 0, 0, 0),
		t_insn(NPU_INSN_HALT, 0, 0, 0, 0),
	};
	struct npu_bo_create sbo = t_code_bo(fd, spin, 1);
	struct npu_bo_create obo = t_code_bo(fd, ok, 7);
	struct npu_bo_create out = t_bo(fd, 4096, NPU_BO_HOST_VISIBLE);
	uint64_t *o = t_map(fd, &out, 4096);
	struct t_launch l;
	struct npu_get_fault f;
	uint64_t seqno, args[1] = { out.dev_addr };
	uint32_t bytes;
	int64_t t0, dt;

	/* Wall-clock watchdog: 100 ms. */
	bytes = t_launch_init(&l, sbo.dev_addr, 1, 0, NULL);
	l.l.timeout_us = 100000;
	t0 = t_now_ns();
	seqno = t_submit(fd, &l, bytes);
	t_wait(fd, seqno);
	dt = t_now_ns() - t0;
	f = t_fault(fd);
	T_EQ(f.flags & NPU_FAULT_F_VALID, NPU_FAULT_F_VALID);
	T_EQ(f.code, NPU_TRAP_WATCHDOG);
	T_EQ(f.seqno, seqno);
	T_ASSERT(dt >= 90 * 1000000ll);
	T_ASSERT(dt < 20000 * 1000000ll);

	/* The next launch works. */
	bytes = t_launch_init(&l, obo.dev_addr, 7, 1, args);
	t_wait(fd, t_submit(fd, &l, bytes));
	T_EQ(t_fault(fd).flags, 0);
	T_EQ(o[0], 42);

	/* Instruction budget: a 4x1x1 grid of spinners, each stopped after 10000 instructions;
	 * one fault for the job, then the next launch runs. */
	{
		struct t_launch s;

		bytes = t_launch_init(&s, sbo.dev_addr, 1, 0, NULL);
		s.l.grid[0] = 4;
		s.l.max_insns = 10000;
		seqno = t_submit(fd, &s, bytes);
		t_wait(fd, seqno);
		f = t_fault(fd);
		T_EQ(f.code, NPU_TRAP_WATCHDOG);
		T_EQ(f.seqno, seqno);
		T_EQ(t_fault(fd).flags, 0); /* one fault per job */
	}
	o[0] = 0;
	bytes = t_launch_init(&l, obo.dev_addr, 7, 1, args);
	t_wait(fd, t_submit(fd, &l, bytes));
	T_EQ(t_fault(fd).flags, 0);
	T_EQ(o[0], 42);

	T_OK(npu_drv_munmap(fd, o, 4096));
	T_OK(npu_drv_close(fd));
	return T_PASS;
}
