/* SPDX-License-Identifier: MIT */
/*
 * ring_wrap.c - thousands of submits of mixed sizes wrap the 256 KiB ring many times
 * (NOP padding at the ring end at varying offsets), and maximum-size submits fill it so that
 * submit must wait for space; nothing is lost or corrupted and every fence signals in order.
 */
#include "drv_test.h"

#define SLOTS 1024u

int main(void)
{
	int fd = t_open();
	struct npu_bo_create dst = t_bo(fd, SLOTS * 4, NPU_BO_HOST_VISIBLE);
	struct npu_bo_create out = t_bo(fd, 4096, NPU_BO_HOST_VISIBLE);
	uint32_t *d = t_map(fd, &dst, SLOTS * 4);
	uint64_t *o = t_map(fd, &out, 4096);
	const uint64_t store[] = {
		t_insn(NPU_INSN_LDARG, 2, 0, 0, 0),
		t_insn(NPU_INSN_LDARG, 1, 0, 0, 1),
		t_insn(NPU_INSN_SD, 0, 0, 1, 0),
		t_insn(NPU_INSN_LI, 3, 0, 0, 8),
		t_insn(NPU_INSN_DMA_ST, 2, 0, 3, 0),
		t_insn(NPU_INSN_DMA_WAIT, 0, 0, 0, 0),
		t_insn(NPU_INSN_HALT, 0, 0, 0, 0),
	};
	struct npu_bo_create code = t_code_bo(fd, store, 7);
	uint32_t expect[SLOTS] = { 0 };
	uint64_t seqno = 0, prev = 0, last_launch_val = 0;
	static struct npu_cmd_fill big[NPU_MAX_CMD_BYTES / sizeof(struct npu_cmd_fill)];
	const unsigned nbig = sizeof(big) / sizeof(big[0]);

	/* Mixed small submits: fills, and launches with 2..32 arguments (72..320 bytes). */
	for (uint32_t i = 1; i <= 6000; i++) {
		if (i % 7 == 0) {
			struct t_launch l;
			uint64_t args[NPU_MAX_ARGS] = { out.dev_addr, i };
			uint32_t nargs = 2 + i % (NPU_MAX_ARGS - 1);
			uint32_t bytes = t_launch_init(&l, code.dev_addr, 7, nargs, args);

			seqno = t_submit(fd, &l, bytes);
			last_launch_val = i;
		} else {
			struct npu_cmd_fill f = t_cmd_fill(dst.dev_addr + 4 * (i % SLOTS), 4, i);

			seqno = t_submit(fd, &f, sizeof(f));
			expect[i % SLOTS] = i;
		}
		T_EQ(seqno, prev + 1);
		prev = seqno;
	}
	t_wait(fd, seqno);
	T_EQ(t_fault(fd).flags, 0);
	T_ASSERT(!memcmp(d, expect, sizeof(expect)));
	T_EQ(o[0], last_launch_val);

	/* Maximum-size submits: four fill the ring, so most of these wait for space. */
	for (uint32_t round = 0; round < 24; round++) {
		for (unsigned k = 0; k < nbig; k++) {
			uint32_t slot = (k + round) % SLOTS;

			big[k] = t_cmd_fill(dst.dev_addr + 4 * slot, 4, round * 100000 + k);
			expect[slot] = round * 100000 + k;
		}
		seqno = t_submit(fd, big, sizeof(big));
		T_EQ(seqno, prev + 1);
		prev = seqno;
	}
	t_wait(fd, seqno);
	T_EQ(t_fault(fd).flags, 0);
	T_ASSERT(!memcmp(d, expect, sizeof(expect)));

	T_OK(npu_drv_munmap(fd, d, SLOTS * 4));
	T_OK(npu_drv_munmap(fd, o, 4096));
	T_OK(npu_drv_close(fd));
	return T_PASS;
}
