/* SPDX-License-Identifier: MIT */
/*
 * close_inflight.c - closing a file with work in flight: close waits for the work (a runaway
 * kernel is bounded by its watchdog), frees the client's memory and its hardware queue, and
 * other clients on the device are unaffected.
 */
#include "drv_test.h"

int main(void)
{
	int keep = t_open(); /* keeps the device powered while others come and go */
	uint64_t used0 = t_param(keep, NPU_PARAM_MEM_USED);
	const uint64_t spin[] = { t_insn(NPU_INSN_JMP, 0, 0, 0, 0) };
	struct npu_bo_create kbo = t_bo(keep, 1 << 16, NPU_BO_HOST_VISIBLE);
	uint32_t *kp = t_map(keep, &kbo, 1 << 16);
	uint64_t used_keep = t_param(keep, NPU_PARAM_MEM_USED);
	int64_t t0, dt;

	T_ASSERT(used_keep > used0);
	for (int round = 0; round < 3; round++) {
		int fd = t_open();
		struct npu_bo_create a = t_bo(fd, 1 << 20, 0), b = t_bo(fd, 1 << 20, 0);
		struct npu_bo_create sbo = t_code_bo(fd, spin, 1);
		struct npu_cmd_copy cp = t_cmd_copy(a.dev_addr, b.dev_addr, 1 << 20);
		struct npu_cmd_fill fl = t_cmd_fill(a.dev_addr, 1 << 20, 0x5a5a5a5a);
		struct t_launch l;
		uint32_t bytes = t_launch_init(&l, sbo.dev_addr, 1, 0, NULL);

		l.l.timeout_us = 150000;
		for (int i = 0; i < 200; i++) {
			t_submit(fd, &fl, sizeof(fl));
			t_submit(fd, &cp, sizeof(cp));
		}
		if (round)
			t_submit(fd, &l, bytes); /* a runaway kernel: bounded by its watchdog */
		/* Free BOs that are busy: their release is deferred, and close must not trip. */
		t_bo_free(fd, a.handle);
		T_ASSERT(t_param(keep, NPU_PARAM_MEM_USED) > used_keep);
		t0 = t_now_ns();
		T_OK(npu_drv_close(fd));
		dt = t_now_ns() - t0;
		T_ASSERT(dt < 15000 * 1000000ll);
		T_EQ(t_param(keep, NPU_PARAM_MEM_USED), used_keep);
	}

	/* The surviving client still works. */
	{
		struct npu_cmd_fill fl = t_cmd_fill(kbo.dev_addr, 1 << 16, 9);

		t_wait(keep, t_submit(keep, &fl, sizeof(fl)));
		T_EQ(t_fault(keep).flags, 0);
		T_EQ(kp[100], 9);
	}
	T_OK(npu_drv_munmap(keep, kp, 1 << 16));
	T_OK(npu_drv_close(keep));

	/* The device went away with its last file; a new open boots it again. */
	keep = t_open();
	T_EQ(t_param(keep, NPU_PARAM_MEM_USED), used0);
	T_OK(npu_drv_close(keep));
	return T_PASS;
}
