/* SPDX-License-Identifier: MIT */
/*
 * sim_mmu.c - the device MMU: two-level page tables in device memory (npu_hw.h), 64 KiB
 * pages, 40-bit VAs. Every table and PTE address is range-checked against device memory,
 * so a broken page table is a PAGE_FAULT, never a host crash.
 */
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

uint8_t *sim_mmu_walk(struct sim_mmu *m, uint64_t va, bool write)
{
	uint64_t l1e, l2e, pa, vpn = va >> NPU_PAGE_SHIFT;
	struct sim_tlbe *e;

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
	if (!sim_range_ok(pa, NPU_PAGE_SIZE, m->mem_size))
		return NULL;

	e = &m->tlb[vpn & (SIM_TLB_SIZE - 1)];
	e->tag = vpn + 1;
	e->host = m->mem + pa;
	e->writable = (l2e & NPU_PTE_WRITE) != 0;
	return e->host;
}

int sim_mmu_check(struct sim_mmu *m, uint64_t va, uint64_t len, bool write, uint64_t *fault_va,
		  const int *cancel)
{
	uint64_t off = 0;

	while (off < len) {
		uint64_t cur = va + off;
		uint64_t chunk = NPU_PAGE_SIZE - (cur & (NPU_PAGE_SIZE - 1));

		/* cur cannot wrap: the walk refuses any cur >= 2^40 first. */
		if (cancel && __atomic_load_n(cancel, __ATOMIC_RELAXED))
			return -1;
		if (!sim_mmu_page(m, cur, write)) {
			*fault_va = cur;
			return -1;
		}
		if (chunk >= len - off)
			break;
		off += chunk;
	}
	return 0;
}

void sim_mmu_copy(struct sim_mmu *m, uint64_t va, void *buf, uint64_t len, bool to_dev)
{
	uint8_t *b = buf;
	uint64_t off = 0;

	while (off < len) {
		uint64_t cur = va + off;
		uint64_t in_page = cur & (NPU_PAGE_SIZE - 1);
		uint64_t chunk = NPU_PAGE_SIZE - in_page;
		uint8_t *page = sim_mmu_page(m, cur, to_dev);

		if (chunk > len - off)
			chunk = len - off;
		if (!page) /* checked before; only a concurrent page-table edit gets here */
			return;
		if (to_dev)
			memcpy(page + in_page, b + off, chunk);
		else
			memcpy(b + off, page + in_page, chunk);
		off += chunk;
	}
}
