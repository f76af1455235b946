/* SPDX-License-Identifier: MIT */
/*
 * npu_bo.c - buffer objects: device memory mapped into one client's address space.
 *
 * Lifetime: a BO is referenced by its handle, by host mappings (npu_drv_mmap) and by work in
 * flight. BO_FREE drops the handle at once (the handle is invalid from then on); the memory
 * and the device mapping stay until every job submitted before the free (on any queue of the
 * client) has signalled and every host mapping has been unmapped. Such BOs wait on
 * f->deferred and are released by drv_bo_reap(), called at the start of the client's next
 * ioctls and at close. All functions are called with f->lock held.
 *
 * User memory (BO_USERPTR): the device reaches it through its IOMMU (ops->dma_map gives a bus
 * address) and NPU_PTE_SYSTEM PTEs; bo->phys is that bus address.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "npu_drv_internal.h"

#define NPU_MMAP_SHIFT 32 /* mmap_offset = handle << 32: unique per client, never 0 */

static uint32_t npu_hash(uint32_t handle, uint32_t nbuckets)
{
	return (handle * 2654435761u) & (nbuckets - 1);
}

struct npu_bo *drv_bo_lookup(struct npu_file *f, uint32_t handle)
{
	struct npu_bo *bo;

	if (!handle || !f->nbuckets)
		return NULL;
	for (bo = f->buckets[npu_hash(handle, f->nbuckets)]; bo; bo = bo->hnext) {
		if (bo->handle == handle)
			return bo;
	}
	return NULL;
}

static int npu_bo_hash_grow(struct npu_file *f)
{
	uint32_t n = f->nbuckets ? f->nbuckets * 2 : 64;
	struct npu_bo **b = calloc(n, sizeof(*b));

	if (!b)
		return -ENOMEM;
	for (uint32_t i = 0; i < f->nbuckets; i++) {
		struct npu_bo *bo = f->buckets[i];

		while (bo) {
			struct npu_bo *next = bo->hnext;
			uint32_t h = npu_hash(bo->handle, n);

			bo->hnext = b[h];
			b[h] = bo;
			bo = next;
		}
	}
	free(f->buckets);
	f->buckets = b;
	f->nbuckets = n;
	return 0;
}

static void npu_bo_hash_del(struct npu_file *f, struct npu_bo *bo)
{
	struct npu_bo **pp = &f->buckets[npu_hash(bo->handle, f->nbuckets)];

	while (*pp != bo)
		pp = &(*pp)->hnext;
	*pp = bo->hnext;
	bo->hnext = NULL;
	f->nbos--;
}

/* Handles count up and wrap, skipping 0 and live ones, so a freed handle is not reused soon. */
static int npu_bo_handle_alloc(struct npu_file *f, struct npu_bo *bo)
{
	uint32_t h;
	int ret;

	if (f->nbos == UINT32_MAX - 1)
		return -ENOSPC;
	if (f->nbos >= f->nbuckets) {
		ret = npu_bo_hash_grow(f);
		if (ret)
			return ret;
	}
	do {
		h = f->next_handle++;
	} while (!h || drv_bo_lookup(f, h));
	bo->handle = h;
	bo->hnext = f->buckets[npu_hash(h, f->nbuckets)];
	f->buckets[npu_hash(h, f->nbuckets)] = bo;
	f->nbos++;
	return 0;
}

int drv_bo_create(struct npu_file *f, uint64_t size, uint32_t flags, struct npu_bo **out)
{
	struct npu_bo *bo;
	uint64_t va;
	int ret;

	bo = calloc(1, sizeof(*bo));
	if (!bo)
		return -ENOMEM;
	bo->size = size;
	bo->flags = flags;
	npu_list_init(&bo->link);

	ret = drv_mem_alloc(f->dev, size, &bo->phys);
	if (ret)
		goto err_free_bo;
	/* One more page of VA than mapped: the guard page. */
	ret = drv_ra_alloc(&f->vm.va, size + NPU_PAGE_SIZE, &va);
	if (ret) {
		npu_dbg("bo_create: out of device virtual address space for %llu bytes",
			(unsigned long long)size);
		goto err_free_mem;
	}
	bo->va = va;
	bo->va_size = size;
	bo->dev_addr = va;
	ret = drv_vm_map(f, va, bo->phys, size, !(flags & NPU_BO_READ_ONLY), false);
	if (ret)
		goto err_free_va;
	ret = npu_bo_handle_alloc(f, bo);
	if (ret)
		goto err_unmap;
	if (flags & NPU_BO_HOST_VISIBLE)
		bo->mmap_offset = (uint64_t)bo->handle << NPU_MMAP_SHIFT;
	npu_list_add_tail(&f->bos, &bo->link);
	*out = bo;
	return 0;

err_unmap:
	drv_vm_unmap(f, bo->va, size);
err_free_va:
	drv_ra_free(&f->vm.va, va, size + NPU_PAGE_SIZE);
err_free_mem:
	drv_mem_free(f->dev, bo->phys, size);
err_free_bo:
	free(bo);
	return ret;
}

int drv_bo_userptr(struct npu_file *f, uint64_t ptr, uint64_t size, uint32_t flags,
		   struct npu_bo **out)
{
	struct npu_device *dev = f->dev;
	uint64_t iova, off, va;
	struct npu_bo *bo;
	int ret;

	if (!dev->ops->dma_map || !dev->ops->dma_unmap) {
		npu_dbg("bo_userptr: the device cannot reach host memory");
		return -EOPNOTSUPP;
	}
	bo = calloc(1, sizeof(*bo));
	if (!bo)
		return -ENOMEM;
	bo->size = size;
	bo->flags = flags | NPU_BO_USERPTR;
	npu_list_init(&bo->link);

	/* Pin and map: in this embedded model the memory is the caller's and stays where it
	 * is; the IOMMU makes exactly these bytes reachable. */
	ret = dev->ops->dma_map(dev->hw, (void *)(uintptr_t)ptr, size, &iova);
	if (ret) {
		npu_dbg("bo_userptr: dma_map of %llu bytes failed (%d)", (unsigned long long)size,
			ret);
		goto err_free_bo;
	}
	bo->phys = iova;
	off = iova & (NPU_PAGE_SIZE - 1);
	bo->va_size = (off + size + NPU_PAGE_SIZE - 1) & ~(NPU_PAGE_SIZE - 1);
	ret = drv_ra_alloc(&f->vm.va, bo->va_size + NPU_PAGE_SIZE, &va);
	if (ret) {
		npu_dbg("bo_userptr: out of device virtual address space for %llu bytes",
			(unsigned long long)size);
		goto err_unmap_dma;
	}
	bo->va = va;
	bo->dev_addr = va + off;
	ret = drv_vm_map(f, va, iova - off, bo->va_size, !(flags & NPU_BO_READ_ONLY), true);
	if (ret)
		goto err_free_va;
	ret = npu_bo_handle_alloc(f, bo);
	if (ret)
		goto err_unmap;
	npu_list_add_tail(&f->bos, &bo->link);
	*out = bo;
	return 0;

err_unmap:
	drv_vm_unmap(f, bo->va, bo->va_size);
err_free_va:
	drv_ra_free(&f->vm.va, va, bo->va_size + NPU_PAGE_SIZE);
err_unmap_dma:
	dev->ops->dma_unmap(dev->hw, iova);
err_free_bo:
	free(bo);
	return ret;
}

/* Unmaps and frees the memory. The device must be done with it. */
static void npu_bo_release(struct npu_file *f, struct npu_bo *bo)
{
	npu_list_del(&bo->link);
	drv_vm_unmap(f, bo->va, bo->va_size);
	drv_ra_free(&f->vm.va, bo->va, bo->va_size + NPU_PAGE_SIZE);
	if (bo->flags & NPU_BO_USERPTR)
		f->dev->ops->dma_unmap(f->dev->hw, bo->phys);
	else
		drv_mem_free(f->dev, bo->phys, bo->size);
	free(bo->waits);
	free(bo);
}

static bool npu_bo_idle(struct npu_file *f, struct npu_bo *bo)
{
	if (bo->mapcount)
		return false;
	for (uint32_t i = 0; i < bo->nwaits; i++) {
		struct npu_cqueue *cq = drv_cq_get(f, bo->waits[i].queue);
		bool done = !cq || drv_cq_completed(cq) >= bo->waits[i].seqno;

		if (cq)
			drv_cq_put(f, cq);
		if (!done)
			return false;
	}
	return true;
}

int drv_bo_free(struct npu_file *f, struct npu_bo *bo)
{
	struct npu_bo_wait waits[NPU_MAX_QUEUES];
	uint32_t n = 0;

	/* What the client's queues have submitted so far may still use it. */
	for (unsigned i = 0; i < NPU_MAX_QUEUES; i++) {
		struct npu_cqueue *cq = f->queues[i];
		uint64_t last;

		if (!cq)
			continue;
		last = drv_cq_last_seqno(cq);
		if (drv_cq_completed(cq) < last) {
			waits[n].queue = cq->id;
			waits[n++].seqno = last;
		}
	}
	if (n) {
		bo->waits = malloc(n * sizeof(*bo->waits));
		if (!bo->waits) /* out of memory: wait for everything the client ever does */
			return -ENOMEM;
		memcpy(bo->waits, waits, n * sizeof(*bo->waits));
		bo->nwaits = n;
	}
	npu_bo_hash_del(f, bo);
	npu_list_del(&bo->link);
	bo->freed = true;
	if (npu_bo_idle(f, bo)) {
		npu_bo_release(f, bo);
		return 0;
	}
	npu_dbg("bo %u: busy on %u queue(s)%s, release deferred", bo->handle, bo->nwaits,
		bo->mapcount ? " and still mapped" : "");
	npu_list_add_tail(&f->deferred, &bo->link);
	return 0;
}

void drv_bo_reap(struct npu_file *f)
{
	struct npu_list *it, *next;

	for (it = f->deferred.next; it != &f->deferred; it = next) {
		struct npu_bo *bo = npu_container_of(it, struct npu_bo, link);

		next = it->next;
		if (npu_bo_idle(f, bo))
			npu_bo_release(f, bo);
	}
}

/* Close: the queue is stopped; everything goes, mapped or not. */
void drv_bo_release_all(struct npu_file *f)
{
	while (!npu_list_empty(&f->bos)) {
		struct npu_bo *bo = npu_container_of(f->bos.next, struct npu_bo, link);

		npu_bo_hash_del(f, bo);
		npu_bo_release(f, bo);
	}
	while (!npu_list_empty(&f->deferred))
		npu_bo_release(f, npu_container_of(f->deferred.next, struct npu_bo, link));
	free(f->buckets);
	f->buckets = NULL;
	f->nbuckets = 0;
}

void *drv_bo_mmap(struct npu_file *f, uint64_t offset, uint64_t size, int *err)
{
	struct npu_bo *bo = NULL;

	if (offset & ((1ull << NPU_MMAP_SHIFT) - 1) || !(offset >> NPU_MMAP_SHIFT) ||
	    offset >> NPU_MMAP_SHIFT > UINT32_MAX) {
		npu_dbg("mmap: invalid offset 0x%llx", (unsigned long long)offset);
		*err = -EINVAL;
		return NULL;
	}
	bo = drv_bo_lookup(f, (uint32_t)(offset >> NPU_MMAP_SHIFT));
	if (!bo || !(bo->flags & NPU_BO_HOST_VISIBLE)) {
		npu_dbg("mmap: offset 0x%llx is not a host-visible buffer of this file",
			(unsigned long long)offset);
		*err = -EINVAL;
		return NULL;
	}
	if (!size || size > bo->size) {
		npu_dbg("mmap: invalid size %llu for buffer %u of %llu bytes",
			(unsigned long long)size, bo->handle, (unsigned long long)bo->size);
		*err = -EINVAL;
		return NULL;
	}
	bo->mapcount++;
	return npu_phys_to_host(f->dev, bo->phys);
}

static struct npu_bo *npu_bo_find_mapped(struct npu_list *list, struct npu_file *f, void *addr)
{
	for (struct npu_list *it = list->next; it != list; it = it->next) {
		struct npu_bo *bo = npu_container_of(it, struct npu_bo, link);

		if (bo->mapcount && npu_phys_to_host(f->dev, bo->phys) == addr)
			return bo;
	}
	return NULL;
}

int drv_bo_munmap(struct npu_file *f, void *addr, uint64_t size)
{
	struct npu_bo *bo = npu_bo_find_mapped(&f->bos, f, addr);

	if (!bo)
		bo = npu_bo_find_mapped(&f->deferred, f, addr);
	if (!bo) {
		npu_dbg("munmap: %p is not a mapping of this file", addr);
		return -EINVAL;
	}
	if (!size || size > bo->size) {
		npu_dbg("munmap: invalid size %llu for buffer %u of %llu bytes",
			(unsigned long long)size, bo->handle, (unsigned long long)bo->size);
		return -EINVAL;
	}
	bo->mapcount--;
	if (bo->freed)
		drv_bo_reap(f);
	return 0;
}
