/* SPDX-License-Identifier: MIT */
/*
 * npu_system_devices(): argument checks with precise errors, a device of this process listed
 * with its facts and counters (in NPU_RUN_DIR), a caller's smaller (older) struct filled only
 * as far as it reaches, and the list empty again once the device is closed. Linked against
 * libnpu.so.0, so the LIBNPU_0.1 symbol is what resolves. Exit 0 pass, 1 fail.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "npu/npu.h"

#define CHECK(cond)                                                                      \
	do {                                                                             \
		if (!(cond)) {                                                           \
			fprintf(stderr, "%s:%d: %s (%s)\n", __FILE__, __LINE__, #cond,          \
				npu_last_error_message());                               \
			exit(1);                                                         \
		}                                                                        \
	} while (0)

int main(void)
{
	char dir[] = "/tmp/npu-libnpu-system-XXXXXX", run[64];
	struct npu_system_device d[2] = { [0].struct_size = sizeof(d[0]) };
	struct npu_device_props props = { .struct_size = sizeof(props) };
	npu_device_t *dev;
	npu_deviceptr_t p;
	uint32_t n = 99;
	uint8_t small[2][offsetof(struct npu_system_device, num_cores) + 8];

	CHECK(mkdtemp(dir) != NULL);
	snprintf(run, sizeof(run), "%s/run", dir);
	setenv("NPU_RUN_DIR", run, 1);

	CHECK(npu_system_devices(d, 2, NULL) == NPU_ERROR_INVALID_VALUE);
	CHECK(strstr(npu_last_error_message(), "count") != NULL);
	CHECK(npu_system_devices(NULL, 2, &n) == NPU_ERROR_INVALID_VALUE);
	d[0].struct_size = 12;
	CHECK(npu_system_devices(d, 2, &n) == NPU_ERROR_INVALID_VALUE);
	CHECK(strstr(npu_last_error_message(), "struct_size 12") != NULL);
	d[0].struct_size = sizeof(d[0]);
	CHECK(npu_system_devices(NULL, 0, &n) == NPU_SUCCESS && n == 0);

	CHECK(npu_device_open(0, &dev) == NPU_SUCCESS);
	CHECK(npu_device_get_props(dev, &props) == NPU_SUCCESS);
	CHECK(npu_mem_alloc(dev, 1 << 20, &p) == NPU_SUCCESS);
	CHECK(npu_memset_d32(dev, p, 7, 1 << 18) == NPU_SUCCESS);
	CHECK(npu_device_synchronize(dev) == NPU_SUCCESS);
	CHECK(npu_device_get_props(dev, &props) == NPU_SUCCESS);

	CHECK(npu_system_devices(NULL, 0, &n) == NPU_SUCCESS && n == 1);
	CHECK(npu_system_devices(d, 2, &n) == NPU_SUCCESS && n == 1);
	CHECK(d[0].struct_size == sizeof(d[0]));
	CHECK(d[0].pid == getpid() && d[0].index == 0);
	CHECK(strstr(d[0].cmdline, "test_system") != NULL && d[0].process[0]);
	CHECK(d[0].num_cores == props.num_cores && d[0].mem_total == props.mem_total);
	CHECK(d[0].mem_used == props.mem_used && d[0].mem_used >= (1u << 20));
	CHECK(d[0].jobs_submitted >= 1 && d[0].jobs_completed == d[0].jobs_submitted);
	CHECK(d[0].clients == 1 && d[0].faults == 0 && !(d[0].flags & NPU_SYSDEV_BUSY));
	CHECK(d[0].busy_ns > 0 && d[0].busy_ns <= d[0].uptime_ns && d[0].sample_ns > 0);

	/* An older caller's smaller struct: that much is filled, nothing past it. */
	memset(small, 0xee, sizeof(small));
	((struct npu_system_device *)(void *)small[0])->struct_size = sizeof(small[0]);
	CHECK(npu_system_devices((void *)small, 1, &n) == NPU_SUCCESS && n == 1);
	CHECK(((struct npu_system_device *)(void *)small[0])->struct_size == sizeof(small[0]));
	CHECK(((struct npu_system_device *)(void *)small[0])->pid == getpid());
	CHECK(small[1][0] == 0xee);

	CHECK(npu_mem_free(dev, p) == NPU_SUCCESS);
	CHECK(npu_device_close(dev) == NPU_SUCCESS);
	CHECK(npu_system_devices(d, 2, &n) == NPU_SUCCESS && n == 0);
	CHECK(rmdir(run) == 0 && rmdir(dir) == 0);
	return 0;
}
