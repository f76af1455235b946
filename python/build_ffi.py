"""Writes the C source of the cffi extension `npu._npu` (API mode), run by meson.

The declarations mirror libnpu's public header npu/npu.h (the C compiler checks them against
it when the generated source is built). Usage: build_ffi.py OUTPUT.c
"""
import sys

import cffi

CDEF = r"""
typedef int npu_result_t;
typedef uint64_t npu_deviceptr_t;
typedef struct npu_device npu_device_t;
typedef struct npu_module npu_module_t;
typedef struct npu_kernel npu_kernel_t;

#define NPU_VERSION ...
#define NPU_MAX_KERNEL_ARGS ...

const char *npu_error_name(npu_result_t result);
const char *npu_error_string(npu_result_t result);
const char *npu_last_error_message(void);
int npu_get_version(void);

npu_result_t npu_device_count(int *count);
npu_result_t npu_device_open(int ordinal, npu_device_t **out);
npu_result_t npu_device_close(npu_device_t *dev);
struct npu_device_props {
    uint32_t struct_size;
    uint32_t ordinal;
    char name[64];
    uint32_t num_cores;
    uint32_t sram_per_core;
    uint64_t mem_total;
    uint64_t mem_used;
    uint32_t clock_khz;
    uint32_t fw_version;
    uint32_t isa_version;
    uint32_t max_kernel_args;
    uint32_t page_size;
    ...;
};
npu_result_t npu_device_get_props(npu_device_t *dev, struct npu_device_props *props);
npu_result_t npu_device_synchronize(npu_device_t *dev);

npu_result_t npu_mem_alloc(npu_device_t *dev, uint64_t size, npu_deviceptr_t *out);
npu_result_t npu_mem_free(npu_device_t *dev, npu_deviceptr_t ptr);
npu_result_t npu_memcpy_htod(npu_device_t *dev, npu_deviceptr_t dst, const void *src,
                             uint64_t size);
npu_result_t npu_memcpy_dtoh(npu_device_t *dev, void *dst, npu_deviceptr_t src,
                             uint64_t size);
npu_result_t npu_memcpy_dtod(npu_device_t *dev, npu_deviceptr_t dst, npu_deviceptr_t src,
                             uint64_t size);
npu_result_t npu_memset_d32(npu_device_t *dev, npu_deviceptr_t dst, uint32_t value,
                            uint64_t count);

npu_result_t npu_module_load_data(npu_device_t *dev, const void *image, size_t size,
                                  npu_module_t **out);
npu_result_t npu_module_unload(npu_module_t *mod);
npu_result_t npu_module_kernel_count(npu_module_t *mod, uint32_t *count);
npu_result_t npu_module_get_kernel(npu_module_t *mod, const char *name, npu_kernel_t **out);
npu_result_t npu_module_get_kernel_by_index(npu_module_t *mod, uint32_t index,
                                            npu_kernel_t **out);
struct npu_kernel_info {
    uint32_t struct_size;
    uint32_t num_args;
    const char *name;
    uint32_t entry;
    uint32_t sram_bytes;
    uint8_t arg_types[32];
    const char *arg_names[32];
    ...;
};
npu_result_t npu_kernel_get_info(npu_kernel_t *kernel, struct npu_kernel_info *info);

struct npu_launch_config {
    uint32_t struct_size;
    uint32_t grid[3];
    uint64_t max_insns;
    uint32_t timeout_us;
    uint32_t reserved;
    ...;
};
npu_result_t npu_launch_kernel(npu_device_t *dev, npu_kernel_t *kernel,
                               const struct npu_launch_config *config,
                               const void *const *args, const size_t *arg_sizes,
                               uint32_t num_args);

struct npu_fault_info {
    uint32_t struct_size;
    uint32_t code;
    char trap_name[32];
    char kernel[64];
    uint32_t core;
    uint32_t is_write;
    uint32_t has_insn;
    uint64_t pc;
    uint64_t addr;
    uint64_t insn;
    char disasm[96];
    char message[256];
    ...;
};
npu_result_t npu_device_get_last_fault(npu_device_t *dev, struct npu_fault_info *info);
"""


def main() -> None:
    ffi = cffi.FFI()
    ffi.cdef(CDEF)
    ffi.set_source(
        "npu._npu",
        '#include "npu/npu.h"\n#include "npu/npu_kbin.h"\n',
        py_limited_api=False,
    )
    ffi.emit_c_code(sys.argv[1])


if __name__ == "__main__":
    main()
