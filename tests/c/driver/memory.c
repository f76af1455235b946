/* SPDX-License-Identifier: MIT */
/*
 * memory.c - buffer kinds and isolation: user-pointer BOs (host memory the copy engine and
 * kernels reach by DMA, exactly the registered bytes and nothing around them, READ_ONLY
 * honoured), new buffers read as zeros even after reuse, and a kernel of one client that
 * touches another client's address faults with address, direction and engine while the
 * other's data stays intact.
 */
#include <sys/mman.h>

#include "drv_test.h"

#define PAGE 65536u

static void test_userptr(int fd)
{
	uint32_t xq = t_queue(fd, NPU_QUEUE_COPY, NPU_QUEUE_PRIORITY_NORMAL);
	/* 3 host pages, the registered range starting 4 KiB + 100 bytes in: not aligned. */
	uint8_t *host = mmap(NULL, 3 * PAGE, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint8_t *user = host + 4096 + 100;
	const uint64_t len = PAGE + 1000;
	struct npu_bo_userptr up = { .user_ptr = (uint64_t)(uintptr_t)user, .size = len };
	struct npu_bo_info info = { 0 };
	struct npu_bo_create dev = t_bo(fd, 2 * PAGE, NPU_BO_HOST_VISIBLE);
	uint8_t *dp = t_map(fd, &dev, 2 * PAGE);
	struct npu_cmd_copy cp;
	struct npu_get_fault f;
	uint64_t s;
	int err = 0;

	T_ASSERT(host != MAP_FAILED);
	for (uint64_t i = 0; i < len; i++)
		user[i] = (uint8_t)(i * 7 + 1);
	memset(host, 0xee, 4096 + 100);             /* bytes before the range */
	memset(user + len, 0xdd, 100);              /* bytes after it */
	T_OK(npu_drv_ioctl(fd, NPU_IOCTL_BO_USERPTR, &up));
	T_EQ(up.dev_addr % PAGE, (uintptr_t)user % PAGE);
	info.handle = up.handle;
	T_OK(npu_drv_ioctl(fd, NPU_IOCTL_BO_INFO, &info));
	T_EQ(info.flags, NPU_BO_USERPTR);
	T_EQ(info.size, len);
	T_EQ(info.dev_addr, up.dev_addr);
	T_EQ(info.mmap_offset, 0);
	T_ASSERT(npu_drv_mmap(fd, PAGE, 4096, &err) == NULL);

	/* Host -> device by the copy engine, then device -> host into a shifted place. */
	cp = t_cmd_copy(up.dev_addr, dev.dev_addr, len);
	T_EQ(t_job(fd, xq, t_submitq(fd, xq, &cp, sizeof(cp))), 0);
	T_ASSERT(!memcmp(dp, user, len));
	memset(dp, 0x33, 500);
	cp = t_cmd_copy(dev.dev_addr, up.dev_addr + 10, 500);
	T_EQ(t_job(fd, xq, t_submitq(fd, xq, &cp, sizeof(cp))), 0);
	for (int i = 0; i < 500; i++)
		T_EQ(user[10 + i], 0x33);
	T_EQ(user[9], (uint8_t)(9 * 7 + 1));

	/* One byte before or after the registered range: a fault, exactly there. */
	cp = t_cmd_copy(up.dev_addr - 1, dev.dev_addr, 16);
	s = t_submitq(fd, xq, &cp, sizeof(cp));
	T_EQ(t_job(fd, xq, s), -EFAULT);
	f = t_fault(fd);
	T_EQ(f.code, NPU_TRAP_PAGE_FAULT);
	T_EQ(f.addr, up.dev_addr - 1);
	T_EQ(f.flags & NPU_FAULT_F_WRITE, 0);
	{
		struct npu_cmd_fill fl = t_cmd_fill(up.dev_addr + len - 4, 8, 0x99999999);

		T_EQ(t_job(fd, xq, t_submitq(fd, xq, &fl, sizeof(fl))), -EFAULT);
		f = t_fault(fd);
		T_EQ(f.addr, up.dev_addr + len);
		T_EQ(f.flags & NPU_FAULT_F_WRITE, NPU_FAULT_F_WRITE);
	}
	for (int i = 0; i < 4096 + 100; i++)
		T_EQ(host[i], 0xee);
	for (int i = 0; i < 100; i++)
		T_EQ(user[len + i], 0xdd);

	/* A kernel DMAs into user memory too. */
	{
		struct npu_bo_create code = t_writer_bo(fd);
		struct t_launch l;
		uint64_t v;
		uint32_t bytes = t_writer(&l, &code, up.dev_addr + 64, 555, 1, 2);

		T_EQ(t_job(fd, 0, t_submitq(fd, 0, &l, bytes)), 0);
		memcpy(&v, user + 72, 8);
		T_EQ(v, 556);
	}
	t_bo_free(fd, up.handle);

	/* READ_ONLY user memory: readable, not writable. */
	up.flags = NPU_BO_READ_ONLY;
	T_OK(npu_drv_ioctl(fd, NPU_IOCTL_BO_USERPTR, &up));
	cp = t_cmd_copy(dev.dev_addr, up.dev_addr, 8);
	T_EQ(t_job(fd, xq, t_submitq(fd, xq, &cp, sizeof(cp))), -EFAULT);
	T_EQ(t_fault(fd).flags & NPU_FAULT_F_WRITE, NPU_FAULT_F_WRITE);
	cp = t_cmd_copy(up.dev_addr, dev.dev_addr, 8);
	T_EQ(t_job(fd, xq, t_submitq(fd, xq, &cp, sizeof(cp))), 0);
	t_bo_free(fd, up.handle);
	/* After the free the device reaches it no more (the VA is gone). */
	T_EQ(t_job(fd, xq, t_submitq(fd, xq, &cp, sizeof(cp))), -EFAULT);
	T_EQ(t_fault(fd).code, NPU_TRAP_PAGE_FAULT);

	T_OK(npu_drv_munmap(fd, dp, 2 * PAGE));
	t_bo_free(fd, dev.handle);
	t_queue_destroy(fd, xq);
	munmap(host, 3 * PAGE);
}

/* Memory written and freed by one client reads as zeros in the next buffer, of anyone. */
static void test_zero(int a, int b)
{
	for (int round = 0; round < 3; round++) {
		struct npu_bo_create x = t_bo(a, 4 * PAGE, NPU_BO_HOST_VISIBLE);
		uint32_t *p = t_map(a, &x, 4 * PAGE);
		struct npu_cmd_fill fl = t_cmd_fill(x.dev_addr, 4 * PAGE, 0xdeadbeef);
		struct npu_bo_create y;
		uint32_t *q;

		T_EQ(t_job(a, 0, t_submitq(a, 0, &fl, sizeof(fl))), 0);
		T_EQ(p[PAGE / 4], 0xdeadbeef);
		T_OK(npu_drv_munmap(a, p, 4 * PAGE));
		t_bo_free(a, x.handle);
		y = t_bo(round & 1 ? a : b, 4 * PAGE, NPU_BO_HOST_VISIBLE);
		q = t_map(round & 1 ? a : b, &y, 4 * PAGE);
		for (unsigned i = 0; i < PAGE; i++)
			T_EQ(q[i], 0);
		T_OK(npu_drv_munmap(round & 1 ? a : b, q, 4 * PAGE));
		t_bo_free(round & 1 ? a : b, y.handle);
	}
}

/* A kernel of A stores to an address only B has mapped: a core fault in A, B intact. */
static void test_kernel_cross_client(int a, int b)
{
	struct npu_bo_create bs[3], out;
	uint64_t *bp, secret;
	struct npu_bo_create code = t_writer_bo(a);
	struct t_launch l;
	struct npu_get_fault f;
	uint32_t bytes;
	uint64_t s;

	/* B maps more VA than A has, so its last buffer's address is unmapped in A. */
	for (int i = 0; i < 3; i++)
		T_ASSERT((bs[i] = t_bo(b, PAGE, NPU_BO_HOST_VISIBLE)).dev_addr != 0);
	out = t_bo(b, 8 * PAGE, NPU_BO_HOST_VISIBLE);
	secret = out.dev_addr;
	bp = t_map(b, &out, 8 * PAGE);
	for (unsigned i = 0; i < PAGE; i++)
		bp[i] = 0x4242424242424242ull;
	bytes = t_writer(&l, &code, secret, 1, 1, 1);
	s = t_submitq(a, 0, &l, bytes);
	T_EQ(t_job(a, 0, s), -EFAULT);
	f = t_fault(a);
	T_EQ(f.code, NPU_TRAP_PAGE_FAULT);
	T_EQ(f.addr, secret);
	T_EQ(f.flags & (NPU_FAULT_F_WRITE | NPU_FAULT_F_INSN | NPU_FAULT_F_COPY_ENGINE),
	     NPU_FAULT_F_WRITE | NPU_FAULT_F_INSN);
	T_ASSERT(f.core != NPU_FAULT_NO_CORE); /* an NPU core, by DMA */
	T_EQ(f.insn, t_insn(NPU_INSN_DMA_ST, T_R2, T_R0, T_R3, 0));
	for (unsigned i = 0; i < PAGE; i++)
		T_EQ(bp[i], 0x4242424242424242ull);
	T_EQ(t_fault(b).flags, 0);
	T_OK(npu_drv_munmap(b, bp, 8 * PAGE));
}

int main(void)
{
	int a = t_open(), b = t_open();

	test_userptr(a);
	test_zero(a, b);
	test_kernel_cross_client(a, b);
	T_OK(npu_drv_close(a));
	T_OK(npu_drv_close(b));
	return T_PASS;
}
