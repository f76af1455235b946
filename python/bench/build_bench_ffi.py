"""Writes the C source of the cffi extension `npu._bench` (API mode), run by meson.

The declarations mirror bench.h and the few libnpu calls the suite makes from Python to set
up its C loops (the C compiler checks them against the real headers). Usage:
build_bench_ffi.py OUTPUT.c
"""
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

#define BENCH_PP_FUTEX ...
#define BENCH_PP_EVENTFD ...
#define BENCH_PP_SPIN ...
#define BENCH_WAIT_SYNC ...
#define BENCH_WAIT_POLL ...
#define BENCH_HTOD ...
#define BENCH_DTOH ...

int64_t bench_now_ns(void);
int bench_nop(int x);
int bench_launch_stub(void *dev, void *kernel, void *config, void *args, void *arg_sizes,
                      uint32_t num_args);
int bench_memcpy(void *dst, const void *src, size_t n, uint32_t iters, int64_t *ns_out);
int bench_pingpong(int kind, int ping_cpu, int pong_cpu, uint32_t warmup, uint32_t n,
                   int64_t *ns_out);
int bench_interp(uint64_t iters, uint64_t *insns_out, int64_t *ns_out);
int bench_launch_rt(npu_device_t *dev, npu_kernel_t *kernel, const uint64_t *args,
                    uint32_t nargs, uint32_t grid_x, int wait, uint32_t n, int64_t *ns_out);
int bench_launch_vs_pingpong(npu_device_t *dev, npu_kernel_t *kernel, const uint64_t *args,
                             uint32_t nargs, uint32_t grid_x, int kind, int ping_cpu,
                             int pong_cpu, uint32_t warmup, uint32_t n, int64_t *launch_ns,
                             int64_t *pp_ns);
int bench_launch_pipelined(npu_device_t *dev, npu_kernel_t *kernel, const uint64_t *args,
                           uint32_t nargs, uint32_t grid_x, uint32_t n, int64_t *submit_ns,
                           int64_t *total_ns);
int bench_npu_copy(npu_device_t *dev, int dir, npu_deviceptr_t dptr, void *host, size_t n,
                   uint32_t iters, int64_t *ns_out);
int bench_graph_replay(npu_device_t *dev, npu_kernel_t *kernel, const uint64_t *args,
                       uint32_t nargs, uint32_t grid_x, uint32_t n, uint32_t reps,
                       int64_t *submit_ns, int64_t *total_ns);
int bench_npu_copy_2d(npu_device_t *dev, int dir, npu_deviceptr_t dptr, uint64_t dpitch,
                      void *host, uint64_t hpitch, uint64_t width, uint64_t height,
                      uint32_t iters, int64_t *ns_out);
"""


def main() -> None:
    ffi = cffi.FFI()
    ffi.cdef(CDEF)
    ffi.set_source("npu._bench", '#include "bench.h"\n', py_limited_api=False)
    ffi.emit_c_code(sys.argv[1])


if __name__ == "__main__":
    main()
