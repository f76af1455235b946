/* SPDX-License-Identifier: MIT */
/*
 * npu_fence.c - timeline fences: the device's fence table (pages of struct npu_hw_fence in
 * device memory, allocated as needed, kept until power-off), fence objects refcounted by the
 * handles of every client and by unfinished fence commands, per-client handle tables (sorted
 * arrays), and export/import by unguessable tokens.
 *
 * Values live only in device memory: queues signal and wait on them without the host, the
 * host reads and raises them with 64-bit atomics. A fence record is zeroed when its last
 * reference goes, when no command names it any more.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "npu_drv_internal.h"

uint64_t drv_fence_value(const struct npu_fence *fe)
{
	return __atomic_load_n(&fe->rec->value, __ATOMIC_ACQUIRE);
}

int32_t drv_fence_error(const struct npu_fence *fe)
{
	uint32_t e = __atomic_load_n(&fe->rec->error, __ATOMIC_ACQUIRE);

	if (!e)
		return 0;
	if (e > 0x100 && e < 0x200)
		return -(int32_t)(e & 0xff);
	return -EIO; /* NPU_HW_FENCE_ERR_JOB: a job that faulted or hung */
}

void drv_fence_raise(struct npu_fence *fe, uint64_t value, uint32_t err)
{
	uint64_t cur = __atomic_load_n(&fe->rec->value, __ATOMIC_RELAXED);

	if (err) {
		uint32_t zero = 0;

		__atomic_compare_exchange_n(&fe->rec->error, &zero, err, false, __ATOMIC_RELAXED,
					    __ATOMIC_RELAXED);
	}
	/* Release: whoever sees the value also sees the error. */
	while (cur < value && !__atomic_compare_exchange_n(&fe->rec->value, &cur, value, true,
							    __ATOMIC_RELEASE, __ATOMIC_RELAXED))
		;
}

void drv_fence_get(struct npu_device *dev, struct npu_fence *fe)
{
	pthread_mutex_lock(&dev->fence_lock);
	fe->refs++;
	pthread_mutex_unlock(&dev->fence_lock);
}

void drv_fence_put(struct npu_device *dev, struct npu_fence *fe)
{
	pthread_mutex_lock(&dev->fence_lock);
	if (--fe->refs) {
		pthread_mutex_unlock(&dev->fence_lock);
		return;
	}
	dev->fences[fe->slot] = NULL;
	dev->nfences--;
	/* Nothing names it any more: the next fence of this slot starts from zero. */
	__atomic_store_n(&fe->rec->value, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&fe->rec->error, 0, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&dev->fence_lock);
	free(fe);
}

/* A free slot, with its page allocated; fence_lock held (dropped to allocate a page). */
static int npu_fence_slot(struct npu_device *dev, uint32_t *slot)
{
	for (;;) {
		uint32_t page;
		uint64_t phys;
		int ret;

		for (uint32_t s = 0; s < NPU_MAX_FENCES; s++) {
			if (!dev->fence_page[s / NPU_FENCE_PER_PAGE])
				break;
			if (!dev->fences[s]) {
				*slot = s;
				return 0;
			}
		}
		for (page = 0; page < NPU_FENCE_PAGES && dev->fence_page[page]; page++)
			;
		if (page == NPU_FENCE_PAGES) {
			npu_dbg("device %u: all %llu fences in use", dev->index,
				(unsigned long long)NPU_MAX_FENCES);
			return -ENOMEM;
		}
		pthread_mutex_unlock(&dev->fence_lock);
		ret = drv_mem_alloc(dev, NPU_PAGE_SIZE, &phys);
		pthread_mutex_lock(&dev->fence_lock);
		if (ret)
			return ret;
		if (dev->fence_page[page]) { /* another thread got there first */
			pthread_mutex_unlock(&dev->fence_lock);
			drv_mem_free(dev, phys, NPU_PAGE_SIZE);
			pthread_mutex_lock(&dev->fence_lock);
		} else {
			dev->fence_page[page] = phys;
		}
	}
}

/* ---- Per-client handles: a sorted array --------------------------------------------------- */
static uint32_t npu_fh_pos(const struct npu_file *f, uint32_t handle)
{
	uint32_t lo = 0, hi = f->nfh;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (f->fh[mid].handle < handle)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

struct npu_fence *drv_fence_lookup(struct npu_file *f, uint32_t handle)
{
	uint32_t i = npu_fh_pos(f, handle);

	return handle && i < f->nfh && f->fh[i].handle == handle ? f->fh[i].fence : NULL;
}

/* Takes over one reference of fe. f->lock held. */
static int npu_fh_add(struct npu_file *f, struct npu_fence *fe, uint32_t *handle)
{
	uint32_t h, i;

	if (f->nfh == UINT32_MAX - 1)
		return -ENOSPC;
	if (f->nfh == f->fh_cap) {
		uint32_t cap = f->fh_cap ? f->fh_cap * 2 : 16;
		struct npu_fence_handle *n = realloc(f->fh, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		f->fh = n;
		f->fh_cap = cap;
	}
	do {
		h = f->next_fence_handle++;
	} while (!h || drv_fence_lookup(f, h));
	i = npu_fh_pos(f, h);
	memmove(&f->fh[i + 1], &f->fh[i], (f->nfh - i) * sizeof(*f->fh));
	f->fh[i].handle = h;
	f->fh[i].fence = fe;
	f->nfh++;
	__atomic_fetch_add(&f->nfences_held, 1, __ATOMIC_RELAXED);
	*handle = h;
	return 0;
}

int drv_fence_create(struct npu_file *f, uint64_t value, uint32_t *handle)
{
	struct npu_device *dev = f->dev;
	struct npu_fence *fe = calloc(1, sizeof(*fe));
	uint32_t slot;
	int ret;

	if (!fe)
		return -ENOMEM;
	pthread_mutex_lock(&dev->fence_lock);
	ret = npu_fence_slot(dev, &slot);
	if (ret) {
		pthread_mutex_unlock(&dev->fence_lock);
		free(fe);
		return ret;
	}
	fe->slot = slot;
	fe->phys = dev->fence_page[slot / NPU_FENCE_PER_PAGE] +
		   (uint64_t)(slot % NPU_FENCE_PER_PAGE) * sizeof(struct npu_hw_fence);
	fe->rec = npu_phys_to_host(dev, fe->phys);
	fe->refs = 1;
	__atomic_store_n(&fe->rec->error, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&fe->rec->value, value, __ATOMIC_RELEASE);
	dev->fences[slot] = fe;
	dev->nfences++;
	pthread_mutex_unlock(&dev->fence_lock);

	ret = npu_fh_add(f, fe, handle);
	if (ret)
		drv_fence_put(dev, fe);
	return ret;
}

int drv_fence_destroy(struct npu_file *f, uint32_t handle)
{
	uint32_t i = npu_fh_pos(f, handle);
	struct npu_fence *fe;

	if (!handle || i >= f->nfh || f->fh[i].handle != handle)
		return -ENOENT;
	fe = f->fh[i].fence;
	memmove(&f->fh[i], &f->fh[i + 1], (f->nfh - i - 1) * sizeof(*f->fh));
	f->nfh--;
	__atomic_fetch_sub(&f->nfences_held, 1, __ATOMIC_RELAXED);
	drv_fence_put(f->dev, fe);
	return 0;
}

void drv_fence_release_all(struct npu_file *f)
{
	for (uint32_t i = 0; i < f->nfh; i++)
		drv_fence_put(f->dev, f->fh[i].fence);
	__atomic_store_n(&f->nfences_held, 0, __ATOMIC_RELAXED);
	free(f->fh);
	f->fh = NULL;
	f->nfh = f->fh_cap = 0;
}

int drv_fence_export(struct npu_file *f, uint32_t handle, uint64_t *token)
{
	struct npu_device *dev = f->dev;
	struct npu_fence *fe = drv_fence_lookup(f, handle);

	if (!fe)
		return -ENOENT;
	pthread_mutex_lock(&dev->fence_lock);
	while (!fe->token) {
		uint64_t t = 0;
		bool taken = false;

		if (getrandom(&t, sizeof(t), 0) != sizeof(t)) {
			pthread_mutex_unlock(&dev->fence_lock);
			return -EAGAIN;
		}
		for (uint32_t s = 0; t && s < NPU_MAX_FENCES && !taken; s++)
			taken = dev->fences[s] && dev->fences[s]->token == t;
		if (t && !taken)
			fe->token = t;
	}
	*token = fe->token;
	pthread_mutex_unlock(&dev->fence_lock);
	return 0;
}

int drv_fence_import(struct npu_file *f, uint64_t token, uint32_t *handle)
{
	struct npu_device *dev = f->dev;
	struct npu_fence *fe = NULL;
	int ret;

	if (!token)
		return -ENOENT;
	pthread_mutex_lock(&dev->fence_lock);
	for (uint32_t s = 0; s < NPU_MAX_FENCES; s++) {
		if (!dev->fence_page[s / NPU_FENCE_PER_PAGE])
			break;
		if (dev->fences[s] && dev->fences[s]->token == token) {
			fe = dev->fences[s];
			fe->refs++;
			break;
		}
	}
	pthread_mutex_unlock(&dev->fence_lock);
	if (!fe)
		return -ENOENT;
	ret = npu_fh_add(f, fe, handle);
	if (ret)
		drv_fence_put(dev, fe);
	return ret;
}
