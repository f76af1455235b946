/* SPDX-License-Identifier: MIT */
/* libnpu internals: the structs behind the public opaque handles. */
#ifndef NPU_INTERNAL_H
#define NPU_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>

#include "npu/npu.h"
#include "npu/npu_kbin.h"

/* One device allocation (a driver buffer object) and its host mapping. */
struct npu_alloc {
	npu_deviceptr_t va;
	uint64_t size;
	uint32_t handle;
	void *host;
};

/* Which kernel a submitted job ran, so a fault can be named. */
#define NPU_JOB_HISTORY 256
struct npu_job_record {
	uint64_t seqno;
	char kernel[64];
};

struct npu_kernel {
	struct npu_module *mod;
	const char *name;
	uint32_t entry;
	uint32_t sram_bytes;
	uint32_t num_args;
	uint8_t arg_types[NPU_MAX_KERNEL_ARGS];
	const char *arg_names[NPU_MAX_KERNEL_ARGS];
};

struct npu_module {
	struct npu_device *dev;
	struct npu_module *next;
	npu_deviceptr_t code_va;
	uint32_t code_words;
	npu_deviceptr_t const_va;
	char *strings;           /* copy of the binary's string table */
	uint32_t num_kernels;
	struct npu_kernel *kernels;
};

struct npu_device {
	int fd;
	int ordinal;
	pthread_mutex_t lock;    /* everything below */
	uint64_t last_seqno;     /* last submitted job */
	struct npu_alloc *allocs; /* sorted by va */
	size_t nallocs, cap_allocs;
	struct npu_module *modules;
	struct npu_job_record jobs[NPU_JOB_HISTORY];
	struct npu_fault_info last_fault;
	struct npu_device_props props;
};

/* Records `fmt` as the calling thread's last error message and returns `code`. */
npu_result_t npu_set_error(npu_result_t code, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void npu_clear_error(void);

/* Allocation table (dev->lock held). */
npu_result_t npu_alloc_bo(struct npu_device *dev, uint64_t size, uint32_t flags,
			  struct npu_alloc *out);
struct npu_alloc *npu_find_alloc(struct npu_device *dev, npu_deviceptr_t ptr, uint64_t size);
void npu_release_alloc(struct npu_device *dev, npu_deviceptr_t va);

/* Submits a command stream on the default queue (dev->lock held). */
npu_result_t npu_submit(struct npu_device *dev, const void *cmds, uint32_t size,
			const char *kernel_name);
/* Waits for every submitted job and collects faults (dev->lock held). */
npu_result_t npu_sync_locked(struct npu_device *dev);

uint32_t npu_crc32(uint32_t crc, const void *data, size_t len);

#endif /* NPU_INTERNAL_H */
