/* SPDX-License-Identifier: MIT */
/*
 * fds.c - device nodes and file descriptors: node names, NPU_SIM_DEVICES, flags, fd reuse,
 * closed fds, hardware queue exhaustion (-EBUSY) and devices independent of each other.
 */
#include "drv_test.h"

int main(void)
{
	int fds[40], n = 0, a, b, c, d, busy = 0;
	struct npu_get_param p = { .param = NPU_PARAM_MEM_USED };

	/* Read at the first open. */
	setenv("NPU_SIM_DEVICES", "2", 1);

	T_EQ(npu_drv_open(NULL, 0), -EFAULT);
	T_EQ(npu_drv_open("npu0", 1), -EINVAL);
	T_EQ(npu_drv_open("npu2", 0), -ENOENT);
	T_EQ(npu_drv_open("npu01", 0), -ENOENT);
	T_EQ(npu_drv_open("npu", 0), -ENOENT);
	T_EQ(npu_drv_open("npu0x", 0), -ENOENT);
	T_EQ(npu_drv_open("gpu0", 0), -ENOENT);
	T_EQ(npu_drv_open("", 0), -ENOENT);
	T_EQ(npu_drv_open("/dev/npu99999999999999999999", 0), -ENOENT);

	a = npu_drv_open("/dev/npu0", 0);
	b = npu_drv_open("npu0", 0);
	c = npu_drv_open("npu1", 0);
	T_ASSERT(a >= 0 && b >= 0 && c >= 0);
	T_ASSERT(a != b && b != c && a != c);

	/* Two devices: memory on one is not seen by the other. */
	{
		uint64_t u1 = t_param(c, NPU_PARAM_MEM_USED);

		t_bo(a, 1 << 24, 0);
		T_EQ(t_param(c, NPU_PARAM_MEM_USED), u1);
	}

	/* The lowest free fd is reused; a closed fd is gone. */
	T_OK(npu_drv_close(b));
	T_EQ(npu_drv_ioctl(b, NPU_IOCTL_GET_PARAM, &p), -EBADF);
	T_EQ(npu_drv_close(b), -EBADF);
	d = t_open();
	T_EQ(d, b);
	T_OK(npu_drv_ioctl(d, NPU_IOCTL_GET_PARAM, &p));
	T_EQ(npu_drv_close(-1), -EBADF);
	T_EQ(npu_drv_close(100000), -EBADF);

	/* Each file takes a hardware queue: opening more than the device has fails with
	 * -EBUSY, and a close makes room again. */
	while (n < 40) {
		int fd = npu_drv_open("npu0", 0);

		if (fd < 0) {
			busy = fd;
			break;
		}
		fds[n++] = fd;
	}
	T_EQ(busy, -EBUSY);
	T_ASSERT(n >= 1);
	T_OK(npu_drv_close(fds[--n]));
	fds[n] = t_open();
	T_EQ(npu_drv_open("npu0", 0), -EBUSY);
	/* npu1 has its own queues. */
	{
		int e = npu_drv_open("npu1", 0);

		T_ASSERT(e >= 0);
		T_OK(npu_drv_close(e));
	}
	for (int i = 0; i <= n; i++)
		T_OK(npu_drv_close(fds[i]));

	T_OK(npu_drv_close(a));
	T_OK(npu_drv_close(c));
	T_OK(npu_drv_close(d));
	T_EQ(npu_drv_close(a), -EBADF);
	/* Everything closed: fds start again from the bottom. */
	a = t_open();
	T_EQ(a, 0);
	T_OK(npu_drv_close(a));
	return T_PASS;
}
