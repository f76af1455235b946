/* SPDX-License-Identifier: MIT */
/*
 * bo_basic.c - buffer objects: create, info, mmap/munmap, free; handles; memory accounting;
 * new memory reads as zero even when the pages were used and dirtied before.
 */
#include "drv_test.h"

static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (p[i])
			return false;
	}
	return true;
}

int main(void)
{
	int fd = t_open();
	uint64_t page = t_param(fd, NPU_PARAM_PAGE_SIZE);
	uint64_t mem = t_param(fd, NPU_PARAM_MEM_SIZE);
	uint64_t used0;
	struct npu_bo_create anchor, a, b, ro;
	struct npu_bo_info info;
	uint8_t *p;
	int err;

	T_EQ(page, 65536);
	T_ASSERT(mem >= (64u << 20));
	T_EQ(t_param(fd, NPU_PARAM_VA_BITS), 40);
	T_EQ(t_param(fd, NPU_PARAM_MAX_ARGS), NPU_MAX_ARGS);
	T_EQ(t_param(fd, NPU_PARAM_UAPI_VERSION),
	     (NPU_UAPI_VERSION_MAJOR << 16) | NPU_UAPI_VERSION_MINOR);
	T_EQ(t_param(fd, NPU_PARAM_IF_VERSION) >> 16, 1);
	T_ASSERT(t_param(fd, NPU_PARAM_NUM_CORES) >= 1);
	T_ASSERT(t_param(fd, NPU_PARAM_SRAM_SIZE) >= 4096);
	/* The client's page tables, ring and status record are already accounted. */
	T_ASSERT(t_param(fd, NPU_PARAM_MEM_USED) > 0);
	/* Page-table pages count as used memory too: this BO keeps the level-2 table of the
	 * first 256 MiB of VA alive, so that the counts below are only the BOs' pages. */
	anchor = t_bo(fd, page, 0);
	used0 = t_param(fd, NPU_PARAM_MEM_USED);

	/* Sizes round up to pages; memory is accounted; VAs are >= 4 GiB and distinct. */
	a = t_bo(fd, 1, NPU_BO_HOST_VISIBLE);
	T_EQ(t_param(fd, NPU_PARAM_MEM_USED), used0 + page);
	b = t_bo(fd, 3 * page + 1, NPU_BO_HOST_VISIBLE);
	T_EQ(t_param(fd, NPU_PARAM_MEM_USED), used0 + 5 * page);
	T_ASSERT(a.handle != b.handle);
	T_ASSERT(a.dev_addr >= (1ull << 32) && b.dev_addr >= (1ull << 32));
	T_ASSERT(a.dev_addr + page <= b.dev_addr || b.dev_addr + 4 * page <= a.dev_addr);
	T_ASSERT(a.dev_addr % page == 0 && b.dev_addr % page == 0);
	T_ASSERT(a.mmap_offset && b.mmap_offset && a.mmap_offset != b.mmap_offset);

	memset(&info, 0xa5, sizeof(info));
	info.handle = b.handle;
	T_OK(npu_drv_ioctl(fd, NPU_IOCTL_BO_INFO, &info));
	T_EQ(info.handle, b.handle);
	T_EQ(info.flags, NPU_BO_HOST_VISIBLE);
	T_EQ(info.size, 4 * page);
	T_EQ(info.dev_addr, b.dev_addr);
	T_EQ(info.mmap_offset, b.mmap_offset);

	/* Not host visible: no mmap offset, cannot be mapped. */
	ro = t_bo(fd, page, NPU_BO_READ_ONLY);
	T_EQ(ro.mmap_offset, 0);
	err = 0;
	T_ASSERT(npu_drv_mmap(fd, 0, page, &err) == NULL);
	T_EQ(err, -EINVAL);

	/* mmap checks: size within the BO, offset of this file, fd. */
	p = t_map(fd, &b, 4 * page);
	T_ASSERT(all_zero(p, 4 * page));
	memset(p, 0x5a, 4 * page);
	err = 0;
	T_ASSERT(npu_drv_mmap(fd, b.mmap_offset, 4 * page + 1, &err) == NULL);
	T_EQ(err, -EINVAL);
	T_ASSERT(npu_drv_mmap(fd, b.mmap_offset, 0, &err) == NULL);
	T_EQ(err, -EINVAL);
	T_ASSERT(npu_drv_mmap(fd, b.mmap_offset + 8, page, &err) == NULL);
	T_EQ(err, -EINVAL);
	T_ASSERT(npu_drv_mmap(fd, 0x7777ull << 32, page, &err) == NULL);
	T_EQ(err, -EINVAL);
	T_ASSERT(npu_drv_mmap(-1, b.mmap_offset, page, &err) == NULL);
	T_EQ(err, -EBADF);
	T_ASSERT(npu_drv_mmap(fd, b.mmap_offset, page, NULL) == p); /* err may be NULL */
	T_OK(npu_drv_munmap(fd, p, page));
	T_EQ(npu_drv_munmap(fd, p + 8, page), -EINVAL);
	T_EQ(npu_drv_munmap(fd, p, 0), -EINVAL);
	T_EQ(npu_drv_munmap(fd, p, 4 * page + 1), -EINVAL);
	T_EQ(npu_drv_munmap(-1, p, page), -EBADF);
	T_OK(npu_drv_munmap(fd, p, 4 * page));
	T_EQ(npu_drv_munmap(fd, p, 4 * page), -EINVAL); /* no mapping left */

	/* Free: the handle dies at once; the memory comes back. */
	t_bo_free(fd, b.handle);
	info.handle = b.handle;
	T_EQ(npu_drv_ioctl(fd, NPU_IOCTL_BO_INFO, &info), -ENOENT);
	T_EQ(t_param(fd, NPU_PARAM_MEM_USED), used0 + 2 * page);

	/* The dirtied pages are handed out again (first fit) and read as zero. */
	b = t_bo(fd, 4 * page, NPU_BO_HOST_VISIBLE);
	p = t_map(fd, &b, 4 * page);
	T_ASSERT(all_zero(p, 4 * page));
	T_OK(npu_drv_munmap(fd, p, 4 * page));

	/* A BO freed while mapped stays valid until unmapped, then goes. */
	p = t_map(fd, &a, page);
	p[0] = 1;
	t_bo_free(fd, a.handle);
	T_EQ(p[0], 1);
	T_EQ(t_param(fd, NPU_PARAM_MEM_USED), used0 + 6 * page);
	T_OK(npu_drv_munmap(fd, p, page));
	T_EQ(t_param(fd, NPU_PARAM_MEM_USED), used0 + 5 * page);

	/* Many BOs, freed in a scattered order, coalesce back. */
	{
		uint32_t h[200];

		for (int i = 0; i < 200; i++)
			h[i] = t_bo(fd, (uint64_t)(i % 7 + 1) * page, 0).handle;
		for (int i = 0; i < 200; i += 2)
			t_bo_free(fd, h[i]);
		for (int i = 1; i < 200; i += 2)
			t_bo_free(fd, h[i]);
		T_EQ(t_param(fd, NPU_PARAM_MEM_USED), used0 + 5 * page);
		/* Handles are not reused right away. */
		for (int i = 0; i < 200; i++) {
			info.handle = h[i];
			T_EQ(npu_drv_ioctl(fd, NPU_IOCTL_BO_INFO, &info), -ENOENT);
		}
	}

	/* Out of memory, then a fit after freeing. */
	{
		struct npu_bo_create big = { .size = mem, .flags = 0 };

		T_EQ(npu_drv_ioctl(fd, NPU_IOCTL_BO_CREATE, &big), -ENOMEM);
		big.size = mem / 2;
		T_OK(npu_drv_ioctl(fd, NPU_IOCTL_BO_CREATE, &big));
		t_bo_free(fd, big.handle);
	}

	t_bo_free(fd, ro.handle);
	t_bo_free(fd, b.handle);
	T_EQ(t_param(fd, NPU_PARAM_MEM_USED), used0);
	t_bo_free(fd, anchor.handle);
	T_OK(npu_drv_close(fd));
	return T_PASS;
}
