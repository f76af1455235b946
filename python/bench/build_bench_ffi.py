"""Writes the C source of the cffi extension `npu._bench` (API mode), run by meson.

The declarations are the few libnpu calls the suite makes from Python to set up its C loops
(the C compiler checks them against the real headers) plus bench.h itself, read from the file
so that a function is declared once. Usage: build_bench_ffi.py BENCH_H OUTPUT.c
"""
import re
import sys

import cffi

CDEF = r"""
typedef int npu_result_t;
typedef uint64_t npu_deviceptr_t;
typedef struct npu_device npu_device_t;
typedef struct npu_module npu_module_t;
typedef struct npu_kernel npu_kernel_t;

const char *npu_error_name(npu_result_t result);
const char *npu_last_error_message(void);
npu_result_t npu_device_open(int ordinal, npu_device_t **out);
npu_result_t npu_device_close(npu_device_t *dev);
npu_result_t npu_device_synchronize(npu_device_t *dev);
npu_result_t npu_mem_alloc(npu_device_t *dev, uint64_t size, npu_deviceptr_t *out);
npu_result_t npu_mem_free(npu_device_t *dev, npu_deviceptr_t ptr);
npu_result_t npu_memcpy_htod(npu_device_t *dev, npu_deviceptr_t dst, const void *src,
                             uint64_t size);
npu_result_t npu_memcpy_dtoh(npu_device_t *dev, void *dst, npu_deviceptr_t src,
                             uint64_t size);
npu_result_t npu_module_load_data(npu_device_t *dev, const void *image, size_t size,
                                  npu_module_t **out);
npu_result_t npu_module_unload(npu_module_t *mod);
npu_result_t npu_module_get_kernel(npu_module_t *mod, const char *name, npu_kernel_t **out);

"""


def bench_cdef(header: str) -> str:
    """bench.h's declarations and BENCH_* constants, as cffi takes them: after the libnpu
    include, without the other preprocessor lines (cffi reads the comments and the integer
    #defines itself)."""
    body = header[header.index('#include "npu/npu.h"'):]
    lines = [ln for ln in body.splitlines()
             if not ln.startswith("#") or re.match(r"#define BENCH_\w+\s+-?\d+\s*$", ln)]
    return "\n".join(lines) + "\n"


def main() -> None:
    with open(sys.argv[1]) as f:
        header = f.read()
    ffi = cffi.FFI()
    ffi.cdef(CDEF + bench_cdef(header))
    ffi.set_source("npu._bench", '#include "bench.h"\n', py_limited_api=False)
    ffi.emit_c_code(sys.argv[2])


if __name__ == "__main__":
    main()
