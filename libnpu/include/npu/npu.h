/* SPDX-License-Identifier: MIT */
/*
 * npu.h - the NPU runtime (libnpu): devices, memory, modules (kernel binaries), launches.
 *
 * Conventions:
 *   - Every function returns npu_result_t: NPU_SUCCESS (0) or a negative errno value
 *     (NPU_ERROR_* below). npu_error_name() / npu_error_string() describe a code and
 *     npu_last_error_message() gives the precise message of the calling thread's last error.
 *   - Objects are opaque handles; each create/open has its destroy/close.
 *   - Device memory is addressed by integer device pointers (npu_deviceptr_t).
 *   - Structs that may grow start with `struct_size`, set by the caller to sizeof(the struct
 *     it was compiled with); libnpu fills or reads only that much.
 *   - Work on a device runs in submission order on the device's default queue. Launches and
 *     device-to-device copies are asynchronous; host copies wait for earlier work first (as a
 *     synchronous copy does in other accelerator runtimes). Errors of asynchronous work (a
 *     kernel fault) are returned by the next call that waits: npu_device_synchronize() or a
 *     host copy. Each fault is returned once; the device keeps working.
 *   [in] / [out] mark parameters.
 */
#ifndef NPU_NPU_H
#define NPU_NPU_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define NPU_VERSION_MAJOR 0
#define NPU_VERSION_MINOR 1
#define NPU_VERSION_PATCH 0
#define NPU_VERSION ((NPU_VERSION_MAJOR * 10000) + (NPU_VERSION_MINOR * 100) + NPU_VERSION_PATCH)

#if defined(_WIN32)
#define NPU_API
#else
#define NPU_API __attribute__((visibility("default")))
#endif

typedef int npu_result_t;
typedef uint64_t npu_deviceptr_t;
typedef struct npu_device npu_device_t;
typedef struct npu_module npu_module_t;
typedef struct npu_kernel npu_kernel_t;

/* Result codes: 0 or a negative errno value (Linux numbering). */
#define NPU_SUCCESS                 0
#define NPU_ERROR_NOT_PERMITTED    (-1)   /* EPERM */
#define NPU_ERROR_NOT_FOUND        (-2)   /* ENOENT: no such kernel / handle */
#define NPU_ERROR_KERNEL_FAULT     (-5)   /* EIO: a kernel or command faulted on the device */
#define NPU_ERROR_INVALID_IMAGE    (-8)   /* ENOEXEC: malformed kernel binary */
#define NPU_ERROR_BAD_HANDLE       (-9)   /* EBADF */
#define NPU_ERROR_OUT_OF_MEMORY    (-12)  /* ENOMEM */
#define NPU_ERROR_INVALID_ADDRESS  (-14)  /* EFAULT: not a device pointer of this device */
#define NPU_ERROR_BUSY             (-16)  /* EBUSY */
#define NPU_ERROR_NO_DEVICE        (-19)  /* ENODEV */
#define NPU_ERROR_INVALID_VALUE    (-22)  /* EINVAL */
#define NPU_ERROR_NOT_SUPPORTED    (-95)  /* EOPNOTSUPP */
#define NPU_ERROR_TIMEOUT          (-110) /* ETIMEDOUT */

/* "NPU_ERROR_KERNEL_FAULT"; "NPU_ERROR_UNKNOWN" for codes outside the list. */
NPU_API const char *npu_error_name(npu_result_t result);
/* A short sentence for a code. */
NPU_API const char *npu_error_string(npu_result_t result);
/* The calling thread's most precise description of its last failed call (with what and
 * where), "" if none. Valid until this thread's next libnpu call. */
NPU_API const char *npu_last_error_message(void);

/* Runtime version, NPU_VERSION of the library actually loaded. */
NPU_API int npu_get_version(void);

/* ---- Devices ------------------------------------------------------------------------- */
/* [out] count: devices present. */
NPU_API npu_result_t npu_device_count(int *count);
/* Opens device `ordinal` (0-based); the first open of the process boots it. */
NPU_API npu_result_t npu_device_open(int ordinal, npu_device_t **out);
/* Waits for the device's outstanding work, then releases everything opened through it
 * (memory, modules). */
NPU_API npu_result_t npu_device_close(npu_device_t *dev);

struct npu_device_props {
	uint32_t struct_size;      /* [in] sizeof(struct npu_device_props) */
	uint32_t ordinal;
	char     name[64];         /* "npu0 (firmware-sim)" */
	uint32_t num_cores;
	uint32_t sram_per_core;    /* bytes */
	uint64_t mem_total;        /* bytes of device memory */
	uint64_t mem_used;         /* bytes allocated, all clients */
	uint32_t clock_khz;        /* timing model clock */
	uint32_t fw_version;       /* major << 16 | minor */
	uint32_t isa_version;      /* major << 16 | minor */
	uint32_t max_kernel_args;
	uint32_t page_size;
	uint32_t reserved;
};
NPU_API npu_result_t npu_device_get_props(npu_device_t *dev, struct npu_device_props *props);
/* Waits for all work submitted so far; returns its first unreported fault, if any. */
NPU_API npu_result_t npu_device_synchronize(npu_device_t *dev);

/* ---- Memory --------------------------------------------------------------------------- */
/* Allocates `size` bytes (> 0) of zero-filled device memory. */
NPU_API npu_result_t npu_mem_alloc(npu_device_t *dev, uint64_t size, npu_deviceptr_t *out);
/* Frees an allocation by its base pointer; work in flight that uses it completes first. */
NPU_API npu_result_t npu_mem_free(npu_device_t *dev, npu_deviceptr_t ptr);
/* Synchronous copies; `ptr` may point anywhere inside an allocation, the range must not
 * leave it. */
NPU_API npu_result_t npu_memcpy_htod(npu_device_t *dev, npu_deviceptr_t dst, const void *src,
				     uint64_t size);
NPU_API npu_result_t npu_memcpy_dtoh(npu_device_t *dev, void *dst, npu_deviceptr_t src,
				     uint64_t size);
/* Asynchronous copy and fill on the device (copy engine). */
NPU_API npu_result_t npu_memcpy_dtod(npu_device_t *dev, npu_deviceptr_t dst,
				     npu_deviceptr_t src, uint64_t size);
NPU_API npu_result_t npu_memset_d32(npu_device_t *dev, npu_deviceptr_t dst, uint32_t value,
				    uint64_t count);

/* ---- Modules and kernels -------------------------------------------------------------- */
/* Loads a kernel binary (see npu_kbin.h); a malformed one fails with
 * NPU_ERROR_INVALID_IMAGE and a message naming the field and offset. */
NPU_API npu_result_t npu_module_load_data(npu_device_t *dev, const void *image, size_t size,
					  npu_module_t **out);
NPU_API npu_result_t npu_module_unload(npu_module_t *mod);
NPU_API npu_result_t npu_module_kernel_count(npu_module_t *mod, uint32_t *count);
/* Kernels belong to their module. By name, or by index < count. */
NPU_API npu_result_t npu_module_get_kernel(npu_module_t *mod, const char *name,
					   npu_kernel_t **out);
NPU_API npu_result_t npu_module_get_kernel_by_index(npu_module_t *mod, uint32_t index,
						    npu_kernel_t **out);

#define NPU_MAX_KERNEL_ARGS 32

struct npu_kernel_info {
	uint32_t struct_size;      /* [in] sizeof(struct npu_kernel_info) */
	uint32_t num_args;
	const char *name;          /* owned by the module */
	uint32_t entry;            /* first instruction */
	uint32_t sram_bytes;
	uint8_t  arg_types[NPU_MAX_KERNEL_ARGS];    /* NPU_ARG_* from npu_kbin.h */
	const char *arg_names[NPU_MAX_KERNEL_ARGS]; /* owned by the module */
};
NPU_API npu_result_t npu_kernel_get_info(npu_kernel_t *kernel, struct npu_kernel_info *info);

/* ---- Launch --------------------------------------------------------------------------- */
struct npu_launch_config {
	uint32_t struct_size;      /* [in] sizeof(struct npu_launch_config) */
	uint32_t grid[3];          /* program instances along x, y, z; 0 is taken as 1 */
	uint64_t max_insns;        /* per program instance; 0 = device default */
	uint32_t timeout_us;       /* whole launch; 0 = device default */
	uint32_t reserved;         /* 0 */
};
/* Launches `kernel` asynchronously. args[i] points at the value of argument i, whose size
 * arg_sizes[i] must match the kernel's signature (8 for ptr/i64/u64/f64, 4 for
 * i32/u32/f32); a mismatch is NPU_ERROR_INVALID_VALUE naming the argument. */
NPU_API npu_result_t npu_launch_kernel(npu_device_t *dev, npu_kernel_t *kernel,
				       const struct npu_launch_config *config,
				       const void *const *args, const size_t *arg_sizes,
				       uint32_t num_args);

/* ---- Faults --------------------------------------------------------------------------- */
struct npu_fault_info {
	uint32_t struct_size;      /* [in] sizeof(struct npu_fault_info) */
	uint32_t code;             /* ISA trap code (NPU_TRAP_* in npu_isa.h) */
	char     trap_name[32];    /* "PAGE_FAULT" */
	char     kernel[64];       /* kernel name, "" for a copy/fill */
	uint32_t core;
	uint32_t is_write;
	uint32_t has_insn;         /* pc / insn / disasm are meaningful */
	uint32_t reserved;
	uint64_t pc;               /* instruction index */
	uint64_t addr;
	uint64_t insn;             /* instruction word */
	char     disasm[96];       /* "lw r4, 8(r2)" */
	char     message[256];     /* one line with all of the above */
};
/* Copies the fault that the last NPU_ERROR_KERNEL_FAULT of this device reported. */
NPU_API npu_result_t npu_device_get_last_fault(npu_device_t *dev, struct npu_fault_info *info);

#ifdef __cplusplus
}
#endif
#endif /* NPU_NPU_H */
