/* SPDX-License-Identifier: MIT */
/*
 * npu_mem.c - device physical memory: the whole aperture, in 64 KiB pages.
 *
 * Zero-fill rule: every free byte of device memory reads as zero. The aperture starts zeroed
 * (a fresh device's memory is lazily backed and untouched), and drv_mem_free() discards a
 * range (hw->discard, which makes the device read it as zeros and lets it return the backing
 * pages) or, on a device without discard, clears it, BEFORE the range goes back on the free
 * list. A new buffer, page table, ring or status record is therefore zero without the driver
 * touching it, which keeps a large device's memory lazily backed.
 */
#include <errno.h>
#include <string.h>

#include "npu_drv_internal.h"

int drv_mem_alloc(struct npu_device *dev, uint64_t size, uint64_t *phys)
{
	int ret;

	pthread_mutex_lock(&dev->lock);
	ret = drv_ra_alloc(&dev->mem, size, phys);
	if (!ret)
		drv_pub_set_mem(dev->pub, dev->mem.used);
	pthread_mutex_unlock(&dev->lock);
	if (ret)
		npu_dbg("device %u: out of device memory for %llu bytes (%llu used)", dev->index,
			(unsigned long long)size, (unsigned long long)drv_mem_used(dev));
	return ret;
}

void drv_mem_free(struct npu_device *dev, uint64_t phys, uint64_t size)
{
	if (!size)
		return;
	if (dev->ops->discard)
		dev->ops->discard(dev->hw, phys, size);
	else
		memset(npu_phys_to_host(dev, phys), 0, size);
	pthread_mutex_lock(&dev->lock);
	drv_ra_free(&dev->mem, phys, size);
	drv_pub_set_mem(dev->pub, dev->mem.used);
	pthread_mutex_unlock(&dev->lock);
}

uint64_t drv_mem_used(struct npu_device *dev)
{
	uint64_t used;

	pthread_mutex_lock(&dev->lock);
	used = dev->mem.used;
	pthread_mutex_unlock(&dev->lock);
	return used;
}
