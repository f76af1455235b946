/* SPDX-License-Identifier: MIT */
/*
 * npu_range.c - a first-fit range allocator over a sorted, always-coalesced free list.
 * Used for device physical memory (one per device) and device virtual addresses (one per
 * client). The caller serialises calls.
 */
#include <errno.h>
#include <stdlib.h>

#include "npu_drv_internal.h"

struct npu_range {
	uint64_t start, end; /* [start, end) */
	struct npu_range *next;
};

int drv_ra_init(struct npu_range_alloc *ra, uint64_t base, uint64_t size, uint64_t unit)
{
	ra->free = NULL;
	ra->base = base;
	ra->size = size;
	ra->used = 0;
	ra->unit = unit;
	if (!size)
		return 0;
	ra->free = malloc(sizeof(*ra->free));
	if (!ra->free)
		return -ENOMEM;
	ra->free->start = base;
	ra->free->end = base + size;
	ra->free->next = NULL;
	return 0;
}

void drv_ra_fini(struct npu_range_alloc *ra)
{
	struct npu_range *r = ra->free;

	while (r) {
		struct npu_range *next = r->next;

		free(r);
		r = next;
	}
	ra->free = NULL;
}

int drv_ra_alloc(struct npu_range_alloc *ra, uint64_t size, uint64_t *addr)
{
	struct npu_range **pp;

	if (!size || size % ra->unit)
		return -EINVAL;
	for (pp = &ra->free; *pp; pp = &(*pp)->next) {
		struct npu_range *r = *pp;

		if (r->end - r->start < size)
			continue;
		*addr = r->start;
		r->start += size;
		if (r->start == r->end) {
			*pp = r->next;
			free(r);
		}
		ra->used += size;
		return 0;
	}
	return -ENOMEM;
}

void drv_ra_free(struct npu_range_alloc *ra, uint64_t addr, uint64_t size)
{
	struct npu_range *prev = NULL, *next = ra->free, *n;
	uint64_t end = addr + size;

	if (!size)
		return;
	while (next && next->start < addr) {
		prev = next;
		next = next->next;
	}
	ra->used -= size;
	if (prev && prev->end == addr) {
		prev->end = end;
		if (next && next->start == end) {
			prev->end = next->end;
			prev->next = next->next;
			free(next);
		}
		return;
	}
	if (next && next->start == end) {
		next->start = addr;
		return;
	}
	n = malloc(sizeof(*n));
	if (!n) {
		/* Host out of memory: the range leaks rather than corrupting the list. */
		npu_err("range allocator: out of host memory, leaking [0x%llx, +0x%llx)",
			(unsigned long long)addr, (unsigned long long)size);
		ra->used += size;
		return;
	}
	n->start = addr;
	n->end = end;
	n->next = next;
	if (prev)
		prev->next = n;
	else
		ra->free = n;
}
