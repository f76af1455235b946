/* SPDX-License-Identifier: MIT */
/*
 * submit_bo.c - SUBMIT with NPU_SUBMIT_CMDS_BO: the command stream is read from one of the
 * client's host-visible BOs at an offset. Jobs run as from a pointer, the stream is copied
 * during the ioctl (the BO is rewritten for the next submit at once), the end of the BO is
 * the limit, and a freed BO's handle is refused even while the BO is still mapped.
 */
#include "drv_test.h"

#define DATA_SZ (2u << 16) /* two pages */

static int t_submit_bo(int fd, uint32_t handle, uint32_t off, uint32_t size, uint64_t *seqno)
{
	struct npu_submit s = {
		.cmds = handle,
		.cmds_size = size,
		.flags = NPU_SUBMIT_CMDS_BO,
		.pad = off,
	};
	int ret = npu_drv_ioctl(fd, NPU_IOCTL_SUBMIT, &s);

	if (!ret && seqno)
		*seqno = s.seqno;
	return ret;
}

static void t_check(const uint8_t *p, uint32_t off, uint32_t len, uint32_t pattern)
{
	for (uint32_t i = off; i < off + len; i += 4) {
		uint32_t v;

		memcpy(&v, p + i, 4);
		if (v != pattern) {
			fprintf(stderr, "FAIL byte %u: 0x%08x, expected 0x%08x\n", i, v, pattern);
			exit(T_FAIL);
		}
	}
}

int main(void)
{
	int fd = t_open();
	struct npu_bo_create data = t_bo(fd, DATA_SZ, NPU_BO_HOST_VISIBLE);
	struct npu_bo_create cbo = t_bo(fd, 4096, NPU_BO_HOST_VISIBLE);
	struct npu_bo_info info = { .handle = cbo.handle };
	struct npu_cmd_fill fill;
	struct npu_cmd_copy copy;
	uint64_t s1, s2, s3, s4, done = 0;
	uint8_t *d, *c;
	uint32_t end;

	T_OK(npu_drv_ioctl(fd, NPU_IOCTL_BO_INFO, &info));
	end = (uint32_t)info.size; /* page-rounded */
	d = t_map(fd, &data, DATA_SZ);
	c = t_map(fd, &cbo, end);

	/* Two jobs from the same bytes of the BO: the second overwrites the stream as soon as
	 * the first SUBMIT returns. Had the driver read the BO later, both would fill the
	 * second half. */
	fill = t_cmd_fill(data.dev_addr, DATA_SZ / 2, 0x11111111);
	memcpy(c, &fill, sizeof(fill));
	T_OK(t_submit_bo(fd, cbo.handle, 0, sizeof(fill), &s1));
	fill = t_cmd_fill(data.dev_addr + DATA_SZ / 2, DATA_SZ / 2, 0x22222222);
	memcpy(c, &fill, sizeof(fill));
	T_OK(t_submit_bo(fd, cbo.handle, 0, sizeof(fill), &s2));
	T_EQ(s2, s1 + 1);

	/* A stream ending exactly at the end of the BO, and an offset within it. */
	copy = t_cmd_copy(data.dev_addr, data.dev_addr + 64, 32);
	memcpy(c + end - sizeof(copy), &copy, sizeof(copy));
	T_OK(t_submit_bo(fd, cbo.handle, end - sizeof(copy), sizeof(copy), &s3));
	T_EQ(t_submit_bo(fd, cbo.handle, end - sizeof(copy) + 8, sizeof(copy), NULL), -EFAULT);
	fill = t_cmd_fill(data.dev_addr + DATA_SZ - 8, 8, 0x33333333);
	memcpy(c + 520, &fill, sizeof(fill));
	T_OK(t_submit_bo(fd, cbo.handle, 520, sizeof(fill), &s4));

	/* The pointer path interleaves on the same queue. */
	fill = t_cmd_fill(data.dev_addr + 128, 16, 0x44444444);
	T_EQ(t_submit(fd, &fill, sizeof(fill)), s4 + 1);
	T_OK(t_wait_ms(fd, s4 + 1, 10000, &done));
	T_ASSERT(done >= s4 + 1);

	t_check(d, 0, 128, 0x11111111);
	t_check(d, 128, 16, 0x44444444);
	t_check(d, 144, DATA_SZ / 2 - 144, 0x11111111);
	t_check(d, DATA_SZ / 2, DATA_SZ / 2 - 8, 0x22222222);
	t_check(d, DATA_SZ - 8, 8, 0x33333333);

	/* BO_FREE drops the handle at once: still mapped, it is no command buffer any more. */
	t_bo_free(fd, cbo.handle);
	memcpy(c, &fill, sizeof(fill));
	T_EQ(t_submit_bo(fd, cbo.handle, 0, sizeof(fill), NULL), -ENOENT);
	T_OK(npu_drv_munmap(fd, c, end));
	T_OK(npu_drv_munmap(fd, d, DATA_SZ));
	T_OK(npu_drv_close(fd));
	return T_PASS;
}
