/* SPDX-License-Identifier: MIT */
/*
 * npu_mmu.c - a client's device virtual address space: two-level page tables in device
 * memory (npu_hw.h: 64 KiB pages, 40-bit VAs, 4096-entry tables) and a VA allocator.
 *
 * VAs are handed out from 4 GiB upwards (so that small integers are never valid device
 * addresses) and each buffer is followed by one unmapped guard page, so that running off
 * the end of a buffer faults instead of reaching the next one. Level-2 tables are allocated
 * on first use and freed when their last PTE goes. Callers hold f->lock.
 */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>

#include "npu_drv_internal.h"

/* The device walks the tables concurrently: publish each entry with one 64-bit store. */
static void npu_pte_write(uint64_t *slot, uint64_t val)
{
	__atomic_store_n(slot, htole64(val), __ATOMIC_RELEASE);
}

int drv_vm_init(struct npu_file *f)
{
	struct npu_vm *vm = &f->vm;
	int ret;

	vm->l2_phys = calloc(NPU_PT_ENTRIES, sizeof(*vm->l2_phys));
	vm->l2_used = calloc(NPU_PT_ENTRIES, sizeof(*vm->l2_used));
	if (!vm->l2_phys || !vm->l2_used) {
		ret = -ENOMEM;
		goto err_free_arrays;
	}
	ret = drv_ra_init(&vm->va, NPU_VA_START, NPU_VA_END - NPU_VA_START, NPU_PAGE_SIZE);
	if (ret)
		goto err_free_arrays;
	/* One page: the table is 32 KiB and must be 64 KiB aligned. Zero = all invalid. */
	ret = drv_mem_alloc(f->dev, NPU_PAGE_SIZE, &vm->l1_phys);
	if (ret)
		goto err_fini_va;
	vm->l1 = npu_phys_to_host(f->dev, vm->l1_phys);
	return 0;

err_fini_va:
	drv_ra_fini(&vm->va);
err_free_arrays:
	free(vm->l2_used);
	free(vm->l2_phys);
	vm->l2_used = NULL;
	vm->l2_phys = NULL;
	return ret;
}

/* Frees the tables. The queue must be stopped: the device must no longer walk them. */
void drv_vm_fini(struct npu_file *f)
{
	struct npu_vm *vm = &f->vm;

	if (!vm->l2_phys)
		return;
	for (unsigned i = 0; i < NPU_PT_ENTRIES; i++) {
		if (vm->l2_phys[i])
			drv_mem_free(f->dev, vm->l2_phys[i], NPU_PAGE_SIZE);
	}
	drv_mem_free(f->dev, vm->l1_phys, NPU_PAGE_SIZE);
	drv_ra_fini(&vm->va);
	free(vm->l2_used);
	free(vm->l2_phys);
	vm->l2_used = NULL;
	vm->l2_phys = NULL;
}

static void npu_vm_put_l2(struct npu_file *f, unsigned i1)
{
	struct npu_vm *vm = &f->vm;

	if (--vm->l2_used[i1])
		return;
	npu_pte_write(&vm->l1[i1], 0);
	drv_mem_free(f->dev, vm->l2_phys[i1], NPU_PAGE_SIZE);
	vm->l2_phys[i1] = 0;
}

void drv_vm_unmap(struct npu_file *f, uint64_t va, uint64_t size)
{
	struct npu_vm *vm = &f->vm;

	for (uint64_t off = 0; off < size; off += NPU_PAGE_SIZE) {
		uint64_t a = va + off;
		unsigned i1 = NPU_VA_L1(a), i2 = NPU_VA_L2(a);
		uint64_t *l2;

		if (!vm->l2_phys[i1])
			continue;
		l2 = npu_phys_to_host(f->dev, vm->l2_phys[i1]);
		if (!l2[i2])
			continue;
		npu_pte_write(&l2[i2], 0);
		npu_vm_put_l2(f, i1);
	}
}

int drv_vm_map(struct npu_file *f, uint64_t va, uint64_t phys, uint64_t size, bool writable,
	       bool system)
{
	struct npu_vm *vm = &f->vm;
	uint64_t pte_flags = NPU_PTE_VALID | (writable ? NPU_PTE_WRITE : 0) |
			     (system ? NPU_PTE_SYSTEM : 0);
	uint64_t off;
	int ret;

	for (off = 0; off < size; off += NPU_PAGE_SIZE) {
		uint64_t a = va + off;
		unsigned i1 = NPU_VA_L1(a), i2 = NPU_VA_L2(a);
		uint64_t *l2;

		if (!vm->l2_phys[i1]) {
			ret = drv_mem_alloc(f->dev, NPU_PAGE_SIZE, &vm->l2_phys[i1]);
			if (ret)
				goto err_unmap;
			/* Permissions are decided by the leaf PTE; the directory entry allows all. */
			npu_pte_write(&vm->l1[i1], (vm->l2_phys[i1] & NPU_PTE_ADDR_MASK) |
						   NPU_PTE_VALID | NPU_PTE_WRITE);
		}
		l2 = npu_phys_to_host(f->dev, vm->l2_phys[i1]);
		vm->l2_used[i1]++;
		npu_pte_write(&l2[i2], ((phys + off) & NPU_PTE_ADDR_MASK) | pte_flags);
	}
	return 0;

err_unmap:
	drv_vm_unmap(f, va, off);
	return ret;
}
