/* SPDX-License-Identifier: MIT */
/*
 * inject.c - firmware-sim's fault injection through NPU_IOCTL_INJECT: lost interrupts (waits
 * still complete), a stalled command processor (the watchdog resets the device; every
 * client's lost work fails with -EAGAIN and fences it owed signal), failed resets (retried;
 * three in a row lose the device: -ENODEV everywhere, nothing hangs, the next power-on
 * works), and internal allocation failures (-EAGAIN / -ENOMEM, then normal service).
 */
#include "drv_test.h"

static void fill_and_check(int fd, uint32_t queue, uint32_t pattern)
{
	struct npu_bo_create b = t_bo(fd, 1 << 16, NPU_BO_HOST_VISIBLE);
	uint32_t *p = t_map(fd, &b, 1 << 16);
	struct npu_cmd_fill fl = t_cmd_fill(b.dev_addr, 1 << 16, pattern);

	T_EQ(t_job(fd, queue, t_submitq(fd, queue, &fl, sizeof(fl))), 0);
	T_EQ(p[0], pattern);
	T_EQ(p[(1 << 14) - 1], pattern);
	T_OK(npu_drv_munmap(fd, p, 1 << 16));
	t_bo_free(fd, b.handle);
}

static void test_not_enabled(void)
{
	int fd;

	unsetenv("NPU_FAULT_INJECTION");
	fd = t_open();
	T_EQ(t_inject(fd, NPU_INJECT_LOST_IRQ, 1), -EPERM);
	T_OK(npu_drv_close(fd));
	setenv("NPU_FAULT_INJECTION", "1", 1);
}

static void test_lost_irq(int fd)
{
	int64_t t0 = t_now_ns();

	T_OK(t_inject(fd, NPU_INJECT_LOST_IRQ, 5));
	for (int i = 0; i < 6; i++)
		fill_and_check(fd, 0, 0x100 + i);
	/* Each lost interrupt costs at most about one watchdog tick. */
	T_ASSERT(t_now_ns() - t0 < 3000 * 1000000ll);
}

static void test_stall(int fd, int other)
{
	struct npu_bo_create code = t_writer_bo(other);
	struct npu_bo_create out = t_bo(other, 1 << 16, NPU_BO_HOST_VISIBLE);
	struct t_launch l;
	uint32_t bytes = t_writer(&l, &code, out.dev_addr, 3, 10, 4);
	uint32_t fence = t_fence(other, 0);
	struct npu_cmd_fence sg = t_cmd_fence(NPU_CMD_SIGNAL_FENCE, fence, 1);
	struct npu_cmd_fill fl = t_cmd_fill(out.dev_addr, 8, 1);
	struct npu_reset_status r1, r2;
	uint64_t s1, s2;
	int32_t err = 0;
	int64_t t0;

	t_set_param(fd, NPU_PARAM_HANG_TIMEOUT_MS, NPU_SET_PARAM_DEVICE, 50);
	(void)t_reset_status(fd);
	(void)t_reset_status(other);
	T_OK(t_inject(fd, NPU_INJECT_CP_STALL, 1));
	t0 = t_now_ns();
	s1 = t_submitq(other, 0, &l, bytes);
	s2 = t_submitq(other, 0, &sg, sizeof(sg));
	T_EQ(t_submitq(fd, 0, &fl, sizeof(fl)) > 0, 1);
	/* Nobody ran anything: the watchdog resets the device; nobody is guilty. */
	T_EQ(t_job(other, 0, s1), -EAGAIN);
	T_EQ(t_job(other, 0, s2), -EAGAIN);
	T_ASSERT(t_now_ns() - t0 < 3000 * 1000000ll);
	T_OK(t_fence_wait_ms(other, fence, 1, 1000, &err));
	T_EQ(err, -EAGAIN);
	r1 = t_reset_status(fd);
	r2 = t_reset_status(other);
	T_EQ(r1.status, NPU_RESET_INNOCENT);
	T_EQ(r2.status, NPU_RESET_INNOCENT);
	T_EQ(r1.guilty + r2.guilty, 0);
	T_EQ(r1.device_resets, 1);
	T_EQ(r2.innocent, 1);
	{
		struct npu_get_fault f = t_fault(other);

		T_EQ(f.flags, NPU_FAULT_F_VALID | NPU_FAULT_F_LOST);
		T_EQ(f.code, NPU_FAULT_CODE_RESET);
		T_EQ(f.seqno, s1);
		T_EQ(t_fault(other).seqno, s2);
		T_EQ(t_fault(other).flags, 0);
	}
	while (t_fault(fd).flags)
		;
	/* A fault after the reset names the right job (the jobs the reset failed never reached
	 * the device's status record). */
	{
		struct npu_cmd_fill bad = t_cmd_fill(0x7000000000ull, 4, 0);
		uint64_t s3 = t_submitq(other, 0, &bad, sizeof(bad));
		struct npu_get_fault f;

		T_EQ(t_job(other, 0, s3), -EFAULT);
		f = t_fault(other);
		T_EQ(f.seqno, s3);
		T_EQ(f.code, NPU_TRAP_PAGE_FAULT);
	}
	/* The device works after the reset, for both, and runs kernels again. */
	fill_and_check(fd, 0, 0xabc);
	fill_and_check(other, 0, 0xdef);
	{
		uint64_t *o = t_map(other, &out, 1 << 16);

		T_EQ(t_job(other, 0, t_submitq(other, 0, &l, bytes)), 0);
		T_EQ(o[3], 3 + 3);
		T_OK(npu_drv_munmap(other, o, 1 << 16));
	}
	t_set_param(fd, NPU_PARAM_HANG_TIMEOUT_MS, NPU_SET_PARAM_DEVICE, 2000);
}

static void test_reset_retry(int fd)
{
	struct npu_reset_status r;

	T_OK(t_inject(fd, NPU_INJECT_RESET_FAIL, 2));
	T_OK(t_inject(fd, NPU_INJECT_DEVICE_RESET, 1));
	r = t_reset_status(fd);
	T_EQ(r.state, 0);
	T_EQ(r.device_resets, 2);
	fill_and_check(fd, 0, 0x77);
}

static void test_alloc_fail(int fd)
{
	struct npu_bo_create code = t_writer_bo(fd);
	struct npu_bo_create out = t_bo(fd, 1 << 16, NPU_BO_HOST_VISIBLE);
	struct t_launch l;
	uint32_t bytes = t_writer(&l, &code, out.dev_addr, 3, 10, 1);
	struct npu_get_fault f;
	static uint8_t host[4096];
	struct npu_bo_userptr up = { .user_ptr = (uint64_t)(uintptr_t)host, .size = sizeof(host) };
	uint64_t s;

	while (t_fault(fd).flags)
		;
	T_OK(t_inject(fd, NPU_INJECT_ALLOC_FAIL, 1));
	s = t_submitq(fd, 0, &l, bytes);
	T_EQ(t_job(fd, 0, s), -EAGAIN);
	f = t_fault(fd);
	T_EQ(f.flags & (NPU_FAULT_F_VALID | NPU_FAULT_F_LOST), NPU_FAULT_F_VALID | NPU_FAULT_F_LOST);
	T_EQ(f.code, NPU_FAULT_CODE_DEVICE_ERROR);
	T_EQ(f.seqno, s);
	T_EQ(t_job(fd, 0, t_submitq(fd, 0, &l, bytes)), 0);

	T_OK(t_inject(fd, NPU_INJECT_ALLOC_FAIL, 1));
	T_EQ(npu_drv_ioctl(fd, NPU_IOCTL_BO_USERPTR, &up), -ENOMEM);
	T_OK(npu_drv_ioctl(fd, NPU_IOCTL_BO_USERPTR, &up));
	t_bo_free(fd, up.handle);
}

/* Three failed resets: the device is lost; nothing waits forever; power-on again works. */
static void test_lost(int fd, int other)
{
	struct npu_bo_create code = t_writer_bo(other);
	struct npu_bo_create out = t_bo(other, 1 << 16, 0);
	struct t_launch l;
	uint32_t bytes = t_writer(&l, &code, out.dev_addr, 3, 20000, 100000);
	uint32_t fence = t_fence(other, 0);
	struct npu_cmd_fence sg = t_cmd_fence(NPU_CMD_SIGNAL_FENCE, fence, 5);
	struct npu_cmd_fill fl = t_cmd_fill(out.dev_addr, 8, 1);
	struct npu_reset_status r;
	uint64_t s1, s2;
	int32_t err = 0;
	int64_t t0 = t_now_ns();

	s1 = t_submitq(other, 0, &l, bytes); /* long: still running at the reset */
	s2 = t_submitq(other, 0, &sg, sizeof(sg));
	T_OK(t_inject(fd, NPU_INJECT_RESET_FAIL, 3));
	T_OK(t_inject(fd, NPU_INJECT_DEVICE_RESET, 1));
	T_EQ(t_job(other, 0, s1), -ENODEV);
	T_EQ(t_job(other, 0, s2), -ENODEV);
	T_OK(t_fence_wait_ms(other, fence, 5, 0, &err));
	T_EQ(err, -ENODEV);
	T_ASSERT(t_now_ns() - t0 < 10000 * 1000000ll);
	r = t_reset_status(other);
	T_EQ(r.state, NPU_CLIENT_DEVICE_LOST);
	T_EQ(t_submitq_raw(other, 0, &fl, sizeof(fl), 0, NULL), -ENODEV);
	T_EQ(t_submitq_raw(fd, 0, &fl, sizeof(fl), 0, NULL), -ENODEV);
	T_EQ(t_inject(fd, NPU_INJECT_DEVICE_RESET, 1), -ENODEV);
	{
		struct npu_bo_create c = { .size = 4096 };
		struct npu_queue_create q = { .type = NPU_QUEUE_COMPUTE };

		T_EQ(npu_drv_ioctl(fd, NPU_IOCTL_BO_CREATE, &c), -ENODEV);
		T_EQ(npu_drv_ioctl(fd, NPU_IOCTL_QUEUE_CREATE, &q), -ENODEV);
	}
	/* Reading the state still works; a new open is refused until the last close. */
	T_EQ(t_fault(other).code, NPU_FAULT_CODE_DEVICE_LOST);
	T_EQ(npu_drv_open("npu0", 0), -ENODEV);
	T_OK(npu_drv_close(fd));
	T_OK(npu_drv_close(other));
	fd = t_open();
	T_EQ(t_reset_status(fd).state, 0);
	T_EQ(t_reset_status(fd).device_resets, 0);
	fill_and_check(fd, 0, 0x1234);
	T_OK(npu_drv_close(fd));
}

int main(void)
{
	int fd, other;

	test_not_enabled();
	fd = t_open();
	other = t_open();
	test_lost_irq(fd);
	test_stall(fd, other);
	test_reset_retry(fd);
	test_alloc_fail(fd);
	test_lost(fd, other);
	return T_PASS;
}
