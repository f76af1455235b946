/* SPDX-License-Identifier: MIT */
/*
 * deferred_free.c - BO_FREE of a buffer that in-flight work still uses: the handle dies at
 * once, but the memory and its device mapping stay until the job's fence signals (the job
 * completes without a fault); then the memory is released. Also: the per-client fault log
 * keeps the newest 64 faults and counts the dropped ones in `lost`.
 */
#include "drv_test.h"

int main(void)
{
	int fd = t_open();
	/* Spin ~30 M instructions (`loop r6, 0` repeats itself), then store 42 to out. */
	const uint64_t code[] = {
		t_insn(NPU_INSN_LI, 6, 0, 0, 30000000),
		t_insn(NPU_INSN_LOOP, 6, 0, 0, 0),
		t_insn(NPU_INSN_LDARG, 2, 0, 0, 0),
		t_insn(NPU_INSN_LI, 1, 0, 0, 42),
		t_insn(NPU_INSN_SD, 0, 0, 1, 0),
		t_insn(NPU_INSN_LI, 3, 0, 0, 8),
		t_insn(NPU_INSN_DMA_ST, 2, 0, 3, 0),
		t_insn(NPU_INSN_DMA_WAIT, 0, 0, 0, 0),
		t_insn(NPU_INSN_HALT, 0, 0, 0, 0),
	};
	struct npu_bo_create cbo = t_code_bo(fd, code, 9);
	struct npu_bo_create out = t_bo(fd, 1 << 20, NPU_BO_HOST_VISIBLE);
	struct npu_bo_create keep = t_bo(fd, 1 << 16, NPU_BO_HOST_VISIBLE);
	struct npu_bo_info info = { .handle = out.handle };
	uint64_t used, seqno, args[1] = { out.dev_addr }, done;
	struct t_launch l;
	uint32_t bytes = t_launch_init(&l, cbo.dev_addr, 9, 1, args);
	struct npu_get_fault f;
	uint64_t *o = t_map(fd, &out, 1 << 20);
	bool busy;

	l.l.timeout_us = 20000000; /* generous: a slow (sanitised) build must still finish */
	/* The spin makes no progress events: under TSan on a loaded machine it outlasts the
	 * default 2 s hang timeout. This test is about deferral, not hangs. */
	t_set_param(fd, NPU_PARAM_HANG_TIMEOUT_MS, 0, 60000);
	used = t_param(fd, NPU_PARAM_MEM_USED);
	seqno = t_submit(fd, &l, bytes);
	/* Also free it while mapped: release waits for the munmap too. */
	t_bo_free(fd, out.handle);
	busy = t_wait_ms(fd, seqno, 0, &done) == -ETIMEDOUT;
	T_EQ(npu_drv_ioctl(fd, NPU_IOCTL_BO_INFO, &info), -ENOENT);
	T_EQ(t_param(fd, NPU_PARAM_MEM_USED), used); /* still held: mapped (and maybe busy) */
	T_OK(npu_drv_munmap(fd, o, 1 << 20));
	if (busy && t_wait_ms(fd, seqno, 0, &done) == -ETIMEDOUT)
		T_EQ(t_param(fd, NPU_PARAM_MEM_USED), used); /* still held: busy */
	else
		printf("note: the job finished before the check; deferral not observed\n");
	t_wait(fd, seqno);
	f = t_fault(fd);
	if (f.flags) {
		fprintf(stderr, "job faulted: code %u addr 0x%" PRIx64 "\n", f.code, f.addr);
		return T_FAIL;
	}
	T_EQ(t_param(fd, NPU_PARAM_MEM_USED), used - (1 << 20));

	/* Fault log: 70 faulting jobs, only the newest 64 kept. */
	{
		struct npu_cmd_copy cp = t_cmd_copy((1ull << 40) - 65536, keep.dev_addr, 8);
		uint64_t first = 0;

		for (int i = 0; i < 70; i++) {
			seqno = t_submit(fd, &cp, sizeof(cp));
			if (!i)
				first = seqno;
		}
		t_wait(fd, seqno);
		f = t_fault(fd);
		T_EQ(f.flags & NPU_FAULT_F_VALID, NPU_FAULT_F_VALID);
		T_EQ(f.lost, 6);
		T_EQ(f.seqno, first + 6);
		T_EQ(f.code, NPU_TRAP_PAGE_FAULT);
		for (int i = 7; i < 70; i++) {
			f = t_fault(fd);
			T_EQ(f.flags & NPU_FAULT_F_VALID, NPU_FAULT_F_VALID);
			T_EQ(f.seqno, first + (uint64_t)i);
			T_EQ(f.lost, 0);
		}
		f = t_fault(fd);
		T_EQ(f.flags, 0);
		T_EQ(f.lost, 0);
	}

	T_OK(npu_drv_close(fd));
	return T_PASS;
}
