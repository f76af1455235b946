/* SPDX-License-Identifier: MIT */
/*
 * system.c - npu_system_devices(): the devices every process of this user has powered on,
 * from the status records the driver publishes (npu_drv_status_list, driver uapi 1.2). The
 * libnpu side of what nvidia-smi gets from its kernel driver: no device is opened.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "npu_accel.h"
#include "npu_internal.h"

#define SYSDEV_MIN_SIZE offsetof(struct npu_system_device, process)

static void sysdev_fill(struct npu_system_device *d, const struct npu_status_record *r,
			uint64_t now)
{
	memset(d, 0, sizeof(*d));
	d->struct_size = sizeof(*d);
	d->flags = r->busy_since_ns ? NPU_SYSDEV_BUSY : 0;
	d->pid = r->pid;
	d->index = r->index;
	memcpy(d->process, r->comm, sizeof(d->process));
	memcpy(d->cmdline, r->cmdline, sizeof(d->cmdline));
	memcpy(d->name, r->name, sizeof(d->name));
	d->process[sizeof(d->process) - 1] = '\0';
	d->cmdline[sizeof(d->cmdline) - 1] = '\0';
	d->name[sizeof(d->name) - 1] = '\0';
	d->num_cores = r->num_cores;
	d->sram_per_core = r->sram_size;
	d->clock_khz = r->clock_khz;
	d->fw_version = r->fw_version;
	d->isa_version = r->isa_version;
	d->clients = r->clients;
	d->resets = r->resets;
	d->mem_total = r->mem_total;
	d->mem_used = r->mem_used;
	d->jobs_submitted = r->jobs_submitted;
	d->jobs_completed = r->jobs_completed;
	d->faults = r->faults;
	/* The record's open busy period runs until now (the clock is system-wide). */
	d->busy_ns = r->busy_ns;
	if (r->busy_since_ns && now > r->busy_since_ns)
		d->busy_ns += now - r->busy_since_ns;
	d->uptime_ns = now > r->start_mono_ns ? now - r->start_mono_ns : 0;
	if (d->busy_ns > d->uptime_ns)
		d->busy_ns = d->uptime_ns;
	d->start_time_ns = r->start_ns;
	d->sample_ns = now;
}

npu_result_t npu_system_devices(struct npu_system_device *out, uint32_t max, uint32_t *count)
{
	struct npu_status_record *recs = NULL;
	uint32_t size, found = 0, n;
	uint64_t now;
	int ret;

	npui_clear_error();
	if (!count)
		return npui_set_error(NPU_ERROR_INVALID_VALUE, "npu_system_devices: NULL count");
	if (max && !out)
		return npui_set_error(NPU_ERROR_INVALID_VALUE,
				      "npu_system_devices: NULL out with max %u", max);
	size = max ? out[0].struct_size : 0;
	if (max && (size < SYSDEV_MIN_SIZE || size % 8))
		return npui_set_error(NPU_ERROR_INVALID_VALUE,
				      "npu_system_devices: out[0].struct_size %u is not a multiple "
				      "of 8 >= %zu", size, SYSDEV_MIN_SIZE);
	if (max) {
		recs = calloc(max, sizeof(*recs));
		if (!recs)
			return npui_set_error(NPU_ERROR_OUT_OF_MEMORY,
					      "npu_system_devices: %u records", max);
	}
	ret = npu_drv_status_list(recs, sizeof(*recs), max, &found);
	now = npui_now_ns();
	if (ret) {
		free(recs);
		return npui_set_error(ret, "npu_system_devices: reading the published device "
				      "status failed: %s", strerror(-ret));
	}
	n = found < max ? found : max;
	for (uint32_t i = 0; i < n; i++) {
		struct npu_system_device full;
		char *dst = (char *)out + (size_t)i * size;
		uint32_t k = size < sizeof(full) ? size : (uint32_t)sizeof(full);

		sysdev_fill(&full, &recs[i], now);
		full.struct_size = k;
		memcpy(dst, &full, k);
		if (size > k)
			memset(dst + k, 0, size - k);
	}
	free(recs);
	*count = found;
	return NPU_SUCCESS;
}
