/* SPDX-License-Identifier: MIT */
/*
 * hang.c - hang detection by progress: a spinning kernel is killed after the client's hang
 * timeout with a WATCHDOG fault that says where it spun; a long kernel that keeps finishing
 * program instances is not; the limits are per client and per device; an innocent client's
 * work is untouched; three hangs ban a client (-EPERM) while others run; RESET_STATUS tells
 * guilty from innocent.
 */
#include "drv_test.h"

static uint64_t run_spinner(int fd, uint32_t queue, int64_t *dt)
{
	struct npu_bo_create code = t_spin_bo(fd);
	struct t_launch l;
	uint32_t bytes = t_launch_init(&l, code.dev_addr, 1, 0, NULL);
	int64_t t0 = t_now_ns();
	uint64_t seqno = t_submitq(fd, queue, &l, bytes);

	T_EQ(t_job(fd, queue, seqno), -ETIMEDOUT);
	*dt = t_now_ns() - t0;
	return seqno;
}

int main(void)
{
	int a = t_open(), b = t_open();
	struct npu_get_fault f;
	struct npu_reset_status rs;
	uint64_t seqno;
	int64_t dt;

	/* Device default (NPU_WATCHDOG_MS unset: 2000) and a client override. */
	T_EQ(t_param(a, NPU_PARAM_HANG_TIMEOUT_MS), 2000);
	t_set_param(a, NPU_PARAM_HANG_TIMEOUT_MS, 0, 100);
	T_EQ(t_param(a, NPU_PARAM_HANG_TIMEOUT_MS), 100);
	T_EQ(t_param(b, NPU_PARAM_HANG_TIMEOUT_MS), 2000);

	/* B keeps the device busy with correct work while A's kernel spins. */
	{
		struct npu_bo_create code = t_writer_bo(b);
		struct npu_bo_create out = t_bo(b, 1 << 16, NPU_BO_HOST_VISIBLE);
		uint64_t *o = t_map(b, &out, 1 << 16);
		struct t_launch l;
		uint32_t bytes = t_writer(&l, &code, out.dev_addr, 1000, 20000, 64);
		uint64_t last = 0;

		for (int i = 0; i < 20; i++)
			last = t_submitq(b, 0, &l, bytes);
		seqno = run_spinner(a, 0, &dt);
		T_ASSERT(dt >= 95 * 1000000ll);
		T_ASSERT(dt < 2000 * 1000000ll);
		for (uint64_t s = 1; s <= last; s++)
			T_EQ(t_job(b, 0, s), 0);
		for (int i = 0; i < 64; i++)
			T_EQ(o[i], 1000 + i);
		T_EQ(t_fault(b).flags, 0);
		T_OK(npu_drv_munmap(b, o, 1 << 16));
	}
	f = t_fault(a);
	T_EQ(f.flags & (NPU_FAULT_F_VALID | NPU_FAULT_F_HANG | NPU_FAULT_F_INSN | NPU_FAULT_F_RESET),
	     NPU_FAULT_F_VALID | NPU_FAULT_F_HANG | NPU_FAULT_F_INSN);
	T_EQ(f.code, NPU_TRAP_WATCHDOG);
	T_EQ(f.seqno, seqno);
	T_EQ(f.pc, 0);                      /* where it spun: "jmp ." at pc 0 */
	T_EQ(f.insn, t_insn(NPU_INSN_JMP, 0, 0, 0, 0));
	T_ASSERT(f.core != NPU_FAULT_NO_CORE);
	rs = t_reset_status(a);
	T_EQ(rs.status, NPU_RESET_GUILTY);
	T_EQ(rs.guilty, 1);
	T_EQ(rs.device_resets, 0);          /* a kill, not a reset */
	T_EQ(rs.state, 0);
	T_EQ(t_reset_status(a).status, NPU_RESET_NONE); /* cleared by the query */
	rs = t_reset_status(b);
	T_EQ(rs.status, NPU_RESET_NONE);
	T_EQ(rs.guilty, 0);

	/* A long kernel that makes progress (program instances that each run ~20000 loop
	 * iterations and halt) outlives the 100 ms hang timeout several times over. The grid is
	 * sized from a short calibration run, so that sanitizer builds take no longer. */
	{
		struct npu_bo_create code = t_writer_bo(a);
		struct npu_bo_create out = t_bo(a, 1 << 20, NPU_BO_HOST_VISIBLE);
		uint64_t *o = t_map(a, &out, 1 << 20);
		struct t_launch l;
		uint32_t bytes = t_writer(&l, &code, out.dev_addr, 7, 20000, 64);
		uint64_t grid;
		int64_t t0 = t_now_ns();

		T_EQ(t_job(a, 0, t_submitq(a, 0, &l, bytes)), 0);
		dt = t_now_ns() - t0 + 1;
		grid = 64 * (uint64_t)(500 * 1000000ll) / (uint64_t)dt; /* ~0.5 s of work */
		grid = grid < 64 ? 64 : grid > 65536 ? 65536 : grid;
		t_writer(&l, &code, out.dev_addr, 7, 20000, (uint32_t)grid);
		t0 = t_now_ns();
		T_EQ(t_job(a, 0, t_submitq(a, 0, &l, bytes)), 0);
		dt = t_now_ns() - t0;
		T_EQ(o[grid - 1], 7 + grid - 1);
		T_EQ(t_fault(a).flags, 0);
		T_OK(npu_drv_munmap(a, o, 1 << 20));
		if (dt < 200 * 1000000ll)
			fprintf(stderr, "note: the progressing kernel took only %lld ms\n",
				(long long)(dt / 1000000));
	}

	/* Hang detection off for this client: the device default 0 disables it; the client
	 * follows the device when its own value is 0. */
	t_set_param(a, NPU_PARAM_HANG_TIMEOUT_MS, 0, 0);
	t_set_param(a, NPU_PARAM_HANG_TIMEOUT_MS, NPU_SET_PARAM_DEVICE, 60);
	T_EQ(t_param(a, NPU_PARAM_HANG_TIMEOUT_MS), 60);
	T_EQ(t_param(b, NPU_PARAM_HANG_TIMEOUT_MS), 60);
	{
		struct npu_set_param bad = { .param = NPU_PARAM_HANG_TIMEOUT_MS, .value = 5 };

		T_EQ(npu_drv_ioctl(a, NPU_IOCTL_SET_PARAM, &bad), -EINVAL);
		bad.param = NPU_PARAM_BAN_THRESHOLD;
		bad.value = 2;
		T_EQ(npu_drv_ioctl(a, NPU_IOCTL_SET_PARAM, &bad), -EINVAL); /* device only */
	}

	/* Second and third hang: A is banned; B is not affected. */
	T_EQ(t_param(a, NPU_PARAM_BAN_THRESHOLD), 3);
	run_spinner(a, 0, &dt);
	T_EQ(t_reset_status(a).guilty, 2);
	T_EQ(t_reset_status(a).state, 0);
	{
		/* A has work queued behind the third spinner: it is cancelled by the ban. */
		struct npu_bo_create code = t_spin_bo(a);
		struct npu_cmd_fill fl = t_cmd_fill(code.dev_addr, 8, 0); /* read-only: faults */
		struct t_launch l;
		uint32_t bytes = t_launch_init(&l, code.dev_addr, 1, 0, NULL);
		uint64_t s1 = t_submitq(a, 0, &l, bytes);
		uint64_t s2 = t_submitq(a, 0, &fl, sizeof(fl));

		T_EQ(t_job(a, 0, s1), -ETIMEDOUT);
		T_EQ(t_job(a, 0, s2), -ECANCELED);
		T_EQ(t_submitq_raw(a, 0, &fl, sizeof(fl), 0, NULL), -EPERM);
		{
			struct npu_queue_create qc = { .type = NPU_QUEUE_COPY };

			T_EQ(npu_drv_ioctl(a, NPU_IOCTL_QUEUE_CREATE, &qc), -EPERM);
		}
	}
	rs = t_reset_status(a);
	T_EQ(rs.guilty, 3);
	T_EQ(rs.state, NPU_CLIENT_BANNED);
	/* The banned client's log (the first hang was read above): the second and third hang,
	 * then the cancelled job. */
	for (int i = 0; i < 2; i++) {
		f = t_fault(a);
		T_EQ(f.flags & NPU_FAULT_F_HANG, NPU_FAULT_F_HANG);
		T_EQ(f.code, NPU_TRAP_WATCHDOG);
	}
	f = t_fault(a);
	T_EQ(f.flags & (NPU_FAULT_F_VALID | NPU_FAULT_F_LOST), NPU_FAULT_F_VALID | NPU_FAULT_F_LOST);
	T_EQ(f.code, NPU_FAULT_CODE_CANCELED);
	/* B still works, and so does a new client. */
	{
		struct npu_bo_create out = t_bo(b, 4096, NPU_BO_HOST_VISIBLE);
		uint32_t *p = t_map(b, &out, 4096);
		struct npu_cmd_fill fl = t_cmd_fill(out.dev_addr, 4096, 0x5a5a0001);
		int c = t_open();

		T_EQ(t_job(b, 0, t_submitq(b, 0, &fl, sizeof(fl))), 0);
		T_EQ(p[1000], 0x5a5a0001);
		T_EQ(t_reset_status(c).state, 0);
		T_OK(npu_drv_close(c));
		T_OK(npu_drv_munmap(b, p, 4096));
	}
	T_EQ(t_reset_status(b).guilty, 0);
	T_OK(npu_drv_close(a));
	T_OK(npu_drv_close(b));
	return T_PASS;
}
