/* SPDX-License-Identifier: MIT */
/*
 * isolation.c - two clients have separate address spaces: client A reading or writing an
 * address that only B has mapped faults in A (PAGE_FAULT, with the address), never touches
 * B's data, and both keep working. Also: READ_ONLY buffers refuse device writes.
 */
#include "drv_test.h"

#define PAGE 65536u

int main(void)
{
	int a = t_open(), b = t_open();
	struct npu_bo_create b_bos[4], a_dst, a_ro;
	struct npu_cmd_copy cp;
	struct npu_cmd_fill fl;
	struct npu_get_fault f;
	uint64_t secret_va, seqno;
	uint8_t *bp, *ap;

	/* B maps more than A, so B's last buffer's VA is unmapped in A. */
	for (int i = 0; i < 4; i++)
		b_bos[i] = t_bo(b, PAGE, NPU_BO_HOST_VISIBLE);
	a_dst = t_bo(a, PAGE, NPU_BO_HOST_VISIBLE);
	secret_va = b_bos[3].dev_addr;
	T_ASSERT(secret_va != a_dst.dev_addr);
	bp = t_map(b, &b_bos[3], PAGE);
	memset(bp, 0x42, PAGE);

	/* A reads B's address. */
	cp = t_cmd_copy(secret_va, a_dst.dev_addr, 4096);
	seqno = t_submit(a, &cp, sizeof(cp));
	t_wait(a, seqno);
	f = t_fault(a);
	T_EQ(f.flags & NPU_FAULT_F_VALID, NPU_FAULT_F_VALID);
	T_EQ(f.code, NPU_TRAP_PAGE_FAULT);
	T_EQ(f.addr, secret_va);
	T_EQ(f.seqno, seqno);
	T_EQ(f.flags & NPU_FAULT_F_WRITE, 0);
	T_EQ(f.queue, 0);
	T_EQ(f.pad, 0);
	ap = t_map(a, &a_dst, PAGE);
	for (unsigned i = 0; i < PAGE; i++)
		T_EQ(ap[i], 0); /* nothing of B's leaked */
	f = t_fault(a);
	T_EQ(f.flags, 0); /* one fault, popped once */
	f = t_fault(b);
	T_EQ(f.flags, 0); /* B saw nothing */

	/* A writes B's address. */
	fl = t_cmd_fill(secret_va, 4096, 0);
	seqno = t_submit(a, &fl, sizeof(fl));
	t_wait(a, seqno);
	f = t_fault(a);
	T_EQ(f.code, NPU_TRAP_PAGE_FAULT);
	T_EQ(f.addr, secret_va);
	T_EQ(f.flags & (NPU_FAULT_F_VALID | NPU_FAULT_F_WRITE),
	     NPU_FAULT_F_VALID | NPU_FAULT_F_WRITE);
	for (unsigned i = 0; i < PAGE; i++)
		T_EQ(bp[i], 0x42);

	/* B's own copy of its data still works, and so does A's next job. */
	cp = t_cmd_copy(secret_va, b_bos[0].dev_addr, PAGE);
	t_wait(b, t_submit(b, &cp, sizeof(cp)));
	T_EQ(t_fault(b).flags, 0);
	{
		uint8_t *b0 = t_map(b, &b_bos[0], PAGE);

		T_ASSERT(!memcmp(b0, bp, PAGE));
		T_OK(npu_drv_munmap(b, b0, PAGE));
	}
	fl = t_cmd_fill(a_dst.dev_addr, PAGE, 0x11111111);
	t_wait(a, t_submit(a, &fl, sizeof(fl)));
	T_EQ(t_fault(a).flags, 0);
	T_EQ(ap[PAGE - 1], 0x11);

	/* The guard page after a buffer is unmapped: running off its end faults. */
	cp = t_cmd_copy(a_dst.dev_addr, a_dst.dev_addr + 100, PAGE);
	seqno = t_submit(a, &cp, sizeof(cp));
	t_wait(a, seqno);
	f = t_fault(a);
	T_EQ(f.code, NPU_TRAP_PAGE_FAULT);
	T_EQ(f.addr, a_dst.dev_addr + PAGE);

	/* READ_ONLY: the device may read it but not write it. */
	a_ro = t_bo(a, PAGE, NPU_BO_READ_ONLY | NPU_BO_HOST_VISIBLE);
	fl = t_cmd_fill(a_ro.dev_addr, 64, 0xffffffff);
	seqno = t_submit(a, &fl, sizeof(fl));
	t_wait(a, seqno);
	f = t_fault(a);
	T_EQ(f.code, NPU_TRAP_PAGE_FAULT);
	T_EQ(f.flags & NPU_FAULT_F_WRITE, NPU_FAULT_F_WRITE);
	T_EQ(f.addr, a_ro.dev_addr);
	cp = t_cmd_copy(a_ro.dev_addr, a_dst.dev_addr, 64);
	t_wait(a, t_submit(a, &cp, sizeof(cp)));
	T_EQ(t_fault(a).flags, 0);
	T_EQ(ap[0], 0);

	/* A's faults did not stop B. */
	fl = t_cmd_fill(b_bos[1].dev_addr, PAGE, 7);
	t_wait(b, t_submit(b, &fl, sizeof(fl)));
	T_EQ(t_fault(b).flags, 0);

	T_OK(npu_drv_munmap(a, ap, PAGE));
	T_OK(npu_drv_munmap(b, bp, PAGE));
	T_OK(npu_drv_close(a));
	T_OK(npu_drv_close(b));
	return T_PASS;
}
