/* SPDX-License-Identifier: MIT */
/* copy_fill.c - COPY and FILL commands through the ring, in order, and their fences. */
#include "drv_test.h"

#define SZ (3u << 16) /* three pages */

int main(void)
{
	int fd = t_open();
	struct npu_bo_create src = t_bo(fd, SZ, NPU_BO_HOST_VISIBLE);
	struct npu_bo_create dst = t_bo(fd, SZ, NPU_BO_HOST_VISIBLE);
	uint8_t *s = t_map(fd, &src, SZ), *d = t_map(fd, &dst, SZ);
	uint8_t expect[SZ];
	struct {
		struct npu_cmd_fill fill;
		struct npu_cmd_copy copy;
		struct npu_cmd_fill fill2;
	} cmds;
	struct npu_get_fault f;
	uint64_t seqno, completed = 0;

	for (uint32_t i = 0; i < SZ; i++)
		s[i] = (uint8_t)(i * 7 + 3);

	/* One submit, three commands, executed in order: fill all, copy an unaligned range
	 * across a page boundary over it, fill a small range at the end. */
	cmds.fill = t_cmd_fill(dst.dev_addr, SZ, 0xdeadbeef);
	cmds.copy = t_cmd_copy(src.dev_addr + 65536 - 1001, dst.dev_addr + 3, 70001);
	cmds.fill2 = t_cmd_fill(dst.dev_addr + SZ - 16, 8, 0x01020304);
	seqno = t_submit(fd, &cmds, sizeof(cmds));
	T_EQ(seqno, 1);
	t_wait(fd, seqno);

	for (uint32_t i = 0; i < SZ; i += 4) {
		uint32_t v = 0xdeadbeef;

		memcpy(expect + i, &v, 4);
	}
	memcpy(expect + 3, s + 65536 - 1001, 70001);
	{
		uint32_t v = 0x01020304;

		memcpy(expect + SZ - 16, &v, 4);
		memcpy(expect + SZ - 12, &v, 4);
	}
	T_ASSERT(!memcmp(d, expect, SZ));
	f = t_fault(fd);
	T_EQ(f.flags, 0);

	/* Seqnos count up per submit; waiting on an old one returns at once. */
	for (int i = 0; i < 10; i++) {
		struct npu_cmd_fill fl = t_cmd_fill(dst.dev_addr + 4u * (uint32_t)i, 4, (uint32_t)i);

		T_EQ(t_submit(fd, &fl, sizeof(fl)), seqno + 1 + (uint64_t)i);
	}
	t_wait(fd, seqno + 10);
	T_OK(t_wait_ms(fd, 1, 0, &completed));
	T_EQ(completed, seqno + 10);
	for (uint32_t i = 0; i < 10; i++) {
		uint32_t v;

		memcpy(&v, d + 4 * i, 4);
		T_EQ(v, i);
	}

	T_OK(npu_drv_munmap(fd, s, SZ));
	T_OK(npu_drv_munmap(fd, d, SZ));
	T_OK(npu_drv_close(fd));
	return T_PASS;
}
