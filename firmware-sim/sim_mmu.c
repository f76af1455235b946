/* SPDX-License-Identifier: MIT */
/*
 * sim_mmu.c - the device MMU: two-level page tables in device memory (npu_hw.h), 64 KiB
 * pages, 40-bit VAs, and the IOMMU behind NPU_PTE_SYSTEM pages (host memory the driver
 * registered with dma_map). Every table, PTE and bus address is range-checked, so a broken
 * page table is a PAGE_FAULT, never a host crash, and a host-memory page gives the device
 * exactly the bytes that were mapped, nothing around them.
 */
#include <errno.h>

#include "sim_internal.h"

void sim_mmu_init(struct sim_mmu *m, uint8_t *mem, uint64_t mem_size, uint64_t root)
{
	m->mem = mem;
	m->mem_size = mem_size;
	m->root = root;
	memset(m->tlb, 0, sizeof(m->tlb));
}

/* Reads entry idx of the table at physical address table; false if the table is bad. */
static bool read_pte(const struct sim_mmu *m, uint64_t table, uint32_t idx, uint64_t *pte)
{
	if (table & (NPU_PAGE_SIZE - 1))
		return false;
	if (!sim_range_ok(table, NPU_PT_ENTRIES * sizeof(uint64_t), m->mem_size))
		return false;
	/* The driver edits tables between submissions; read each entry as one access. */
	*pte = __atomic_load_n((const uint64_t *)(m->mem + table) + idx, __ATOMIC_RELAXED);
	return true;
}

/* A bus page of host memory: which bytes of it the IOMMU maps, and where. */
static bool iommu_page(struct sim_iommu *io, uint64_t bus, struct sim_tlbe *e)
{
	uint64_t region = bus >> SIM_IOMMU_SHIFT, page_off, start, end;
	const struct sim_iommu_slot *s;

	if (!io || region == 0 || region > SIM_IOMMU_SLOTS)
		return false;
	s = &io->slots[region - 1];
	if (!__atomic_load_n(&s->used, __ATOMIC_ACQUIRE))
		return false;
	/* Offsets inside the slot's region: the mapping is [start, end), the page [page_off,
	 * page_off + 64 KiB). */
	page_off = bus & ((1ull << SIM_IOMMU_SHIFT) - 1);
	start = s->host & (NPU_PAGE_SIZE - 1);
	end = start + s->size;
	if (end <= page_off || start >= page_off + NPU_PAGE_SIZE)
		return false;
	e->lo = start > page_off ? (uint32_t)(start - page_off) : 0;
	e->hi = end < page_off + NPU_PAGE_SIZE ? (uint32_t)(end - page_off)
					       : (uint32_t)NPU_PAGE_SIZE;
	/* Integer arithmetic: byte 0 of the page may lie before the mapped object. */
	e->host = s->host - start + page_off;
	return true;
}

struct sim_tlbe *sim_mmu_walk(struct sim_mmu *m, uint64_t va, bool write)
{
	uint64_t l1e, l2e, pa, vpn = va >> NPU_PAGE_SHIFT;
	struct sim_tlbe *e, t;

	if (va >= SIM_VA_LIMIT)
		return NULL;
	if (!read_pte(m, m->root, (uint32_t)NPU_VA_L1(va), &l1e) || !(l1e & NPU_PTE_VALID))
		return NULL;
	if (!read_pte(m, l1e & NPU_PTE_ADDR_MASK, (uint32_t)NPU_VA_L2(va), &l2e) ||
	    !(l2e & NPU_PTE_VALID))
		return NULL;
	if (write && !(l2e & NPU_PTE_WRITE))
		return NULL;
	pa = l2e & NPU_PTE_ADDR_MASK;
	if (l2e & NPU_PTE_SYSTEM) {
		if (!iommu_page(m->iommu, pa, &t))
			return NULL;
	} else {
		if (!sim_range_ok(pa, NPU_PAGE_SIZE, m->mem_size))
			return NULL;
		t.host = (uintptr_t)(m->mem + pa);
		t.lo = 0;
		t.hi = (uint32_t)NPU_PAGE_SIZE;
	}
	e = &m->tlb[vpn & (SIM_TLB_SIZE - 1)];
	e->tag = vpn + 1;
	e->host = t.host;
	e->lo = t.lo;
	e->hi = t.hi;
	e->writable = (l2e & NPU_PTE_WRITE) != 0;
	return e;
}

int sim_mmu_check(struct sim_mmu *m, uint64_t va, uint64_t len, bool write, uint64_t *fault_va,
		  const int *cancel)
{
	uint64_t off = 0, avail;

	while (off < len) {
		uint64_t cur = va + off;

		/* cur cannot wrap: the walk refuses any cur >= 2^40 first. */
		if (cancel && __atomic_load_n(cancel, __ATOMIC_RELAXED))
			return -1;
		if (!sim_mmu_span(m, cur, write, &avail)) {
			*fault_va = cur;
			return -1;
		}
		if (avail >= len - off)
			break;
		off += avail;
	}
	return 0;
}

void sim_mmu_copy(struct sim_mmu *m, uint64_t va, void *buf, uint64_t len, bool to_dev)
{
	sim_mmu_copy_pages(m, va, buf, len, to_dev);
	if (m->progress)
		__atomic_fetch_add(m->progress, 1, __ATOMIC_RELAXED);
}

/* ---- the IOMMU ----------------------------------------------------------------------------- */
int sim_iommu_map(struct npu_hw *hw, void *host, uint64_t size, uint64_t *iova)
{
	struct sim_iommu *io = &hw->iommu;
	uintptr_t h = (uintptr_t)host;
	uint32_t i;

	if (!host || !size || size > (1ull << SIM_IOMMU_SHIFT) - NPU_PAGE_SIZE ||
	    h > UINTPTR_MAX - size)
		return -EINVAL;
	if (sim_alloc_fail(hw))
		return -ENOMEM;
	pthread_mutex_lock(&io->lock);
	for (i = 0; i < SIM_IOMMU_SLOTS; i++) {
		struct sim_iommu_slot *s = &io->slots[(io->next + i) % SIM_IOMMU_SLOTS];

		if (__atomic_load_n(&s->used, __ATOMIC_RELAXED))
			continue;
		s->host = h;
		s->size = size;
		__atomic_store_n(&s->used, 1, __ATOMIC_RELEASE);
		i = (io->next + i) % SIM_IOMMU_SLOTS;
		io->next = (i + 1) % SIM_IOMMU_SLOTS;
		pthread_mutex_unlock(&io->lock);
		*iova = ((uint64_t)(i + 1) << SIM_IOMMU_SHIFT) + (h & (NPU_PAGE_SIZE - 1));
		return 0;
	}
	pthread_mutex_unlock(&io->lock);
	return -ENOMEM;
}

void sim_iommu_unmap(struct npu_hw *hw, uint64_t iova)
{
	struct sim_iommu *io = &hw->iommu;
	uint64_t region = iova >> SIM_IOMMU_SHIFT;

	if (region == 0 || region > SIM_IOMMU_SLOTS) {
		sim_dbg(hw, "dma_unmap of bad bus address 0x%llx", (unsigned long long)iova);
		return;
	}
	pthread_mutex_lock(&io->lock);
	__atomic_store_n(&io->slots[region - 1].used, 0, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&io->lock);
}
