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
typedef struct npu_stream npu_stream_t;
typedef struct npu_event npu_event_t;

#define NPU_VERSION ...
#define NPU_MAX_KERNEL_ARGS ...
#define NPU_ERROR_NOT_READY ...

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
npu_result_t npu_memcpy_htod_async(npu_device_t *dev, npu_deviceptr_t dst, const void *src,
                                   uint64_t size, npu_stream_t *stream);
npu_result_t npu_memcpy_dtoh_async(npu_device_t *dev, void *dst, npu_deviceptr_t src,
                                   uint64_t size, npu_stream_t *stream);
npu_result_t npu_memcpy_dtod_async(npu_device_t *dev, npu_deviceptr_t dst, npu_deviceptr_t src,
                                   uint64_t size, npu_stream_t *stream);
npu_result_t npu_memset_d32_async(npu_device_t *dev, npu_deviceptr_t dst, uint32_t value,
                                  uint64_t count, npu_stream_t *stream);
npu_result_t npu_memcpy_2d_htod(npu_device_t *dev, npu_deviceptr_t dst, uint64_t dpitch,
                                const void *src, uint64_t spitch, uint64_t width,
                                uint64_t height);
npu_result_t npu_memcpy_2d_dtoh(npu_device_t *dev, void *dst, uint64_t dpitch,
                                npu_deviceptr_t src, uint64_t spitch, uint64_t width,
                                uint64_t height);
npu_result_t npu_memcpy_2d_dtod(npu_device_t *dev, npu_deviceptr_t dst, uint64_t dpitch,
                                npu_deviceptr_t src, uint64_t spitch, uint64_t width,
                                uint64_t height);
npu_result_t npu_memcpy_2d_htod_async(npu_device_t *dev, npu_deviceptr_t dst, uint64_t dpitch,
                                      const void *src, uint64_t spitch, uint64_t width,
                                      uint64_t height, npu_stream_t *stream);
npu_result_t npu_memcpy_2d_dtoh_async(npu_device_t *dev, void *dst, uint64_t dpitch,
                                      npu_deviceptr_t src, uint64_t spitch, uint64_t width,
                                      uint64_t height, npu_stream_t *stream);
npu_result_t npu_memcpy_2d_dtod_async(npu_device_t *dev, npu_deviceptr_t dst, uint64_t dpitch,
                                      npu_deviceptr_t src, uint64_t spitch, uint64_t width,
                                      uint64_t height, npu_stream_t *stream);

npu_result_t npu_module_load_data(npu_device_t *dev, const void *image, size_t size,
                                  npu_module_t **out);
npu_result_t npu_module_load_file(npu_device_t *dev, const char *path, npu_module_t **out);
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
    npu_stream_t *stream;
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

#define NPU_STREAM_COPY ...
struct npu_stream_desc {
    uint32_t struct_size;
    uint32_t flags;
    int32_t priority;
    uint32_t reserved;
    ...;
};
npu_result_t npu_stream_create(npu_device_t *dev, const struct npu_stream_desc *desc,
                               npu_stream_t **out);
npu_result_t npu_stream_destroy(npu_stream_t *stream);
npu_result_t npu_stream_synchronize(npu_stream_t *stream);
npu_result_t npu_stream_query(npu_stream_t *stream);
npu_result_t npu_stream_wait_event(npu_stream_t *stream, npu_event_t *event);
struct npu_stream_info {
    uint32_t struct_size;
    uint32_t flags;
    int32_t priority;
    uint32_t queue;
    uint64_t id;
    uint64_t last_seqno;
    ...;
};
npu_result_t npu_stream_get_info(npu_device_t *dev, npu_stream_t *stream,
                                 struct npu_stream_info *info);

#define NPU_EVENT_DISABLE_TIMING ...
npu_result_t npu_event_create(npu_device_t *dev, uint32_t flags, npu_event_t **out);
npu_result_t npu_event_destroy(npu_event_t *event);
npu_result_t npu_event_record(npu_event_t *event, npu_stream_t *stream);
npu_result_t npu_event_synchronize(npu_event_t *event, int64_t timeout_ns);
npu_result_t npu_event_query(npu_event_t *event);
#define NPU_ELAPSED_HOST ...
#define NPU_ELAPSED_DEVICE ...
struct npu_elapsed {
    uint32_t struct_size;
    uint32_t flags;
    int64_t host_ns;
    uint64_t device_cycles;
    uint64_t device_ns;
    ...;
};
npu_result_t npu_event_elapsed(npu_event_t *start, npu_event_t *end, struct npu_elapsed *out);

typedef struct npu_graph npu_graph_t;
npu_result_t npu_stream_begin_capture(npu_stream_t *stream);
npu_result_t npu_stream_end_capture(npu_stream_t *stream, npu_graph_t **graph);
npu_result_t npu_stream_is_capturing(npu_stream_t *stream, int *capturing);
npu_result_t npu_graph_launch(npu_graph_t *graph, npu_stream_t *stream);
npu_result_t npu_graph_destroy(npu_graph_t *graph);
struct npu_graph_info {
    uint32_t struct_size;
    uint32_t nodes;
    uint32_t launches;
    uint32_t segments;
    uint64_t cmd_bytes;
    uint64_t replays;
    ...;
};
npu_result_t npu_graph_get_info(npu_graph_t *graph, struct npu_graph_info *info);

#define NPU_JOB_LAUNCH ...
#define NPU_JOB_COPY ...
#define NPU_JOB_FILL ...
#define NPU_JOB_WAIT ...
#define NPU_JOB_GRAPH ...
#define NPU_JOB_F_COMPLETE ...
#define NPU_JOB_F_FAULTED ...
#define NPU_JOB_F_DEVICE_TIME ...
#define NPU_JOB_F_DEVICE_CLOCK ...
#define NPU_JOB_F_SIM_CLOCK ...
#define NPU_JOB_MAX_CORES ...
struct npu_job_info {
    uint32_t struct_size;
    uint32_t kind;
    uint64_t id;
    uint64_t stream_id;
    char name[64];
    uint32_t grid[3];
    uint32_t flags;
    uint64_t bytes;
    uint64_t submit_ns;
    uint64_t complete_ns;
    uint64_t device_cycles;
    uint32_t queue;
    uint64_t seqno;
    uint64_t device_start_ns;
    uint64_t device_end_ns;
    uint64_t device_start_cycles;
    uint64_t device_end_cycles;
    uint32_t device_launches;
    uint32_t device_cores;
    uint64_t core_cycles[16];
    ...;
};
npu_result_t npu_device_set_tracing(npu_device_t *dev, int enable);
npu_result_t npu_device_get_job(npu_device_t *dev, uint64_t id, struct npu_job_info *info);

#define NPU_STATS_MEM ...
#define NPU_STATS_CLIENT ...
#define NPU_STATS_RESETS ...
#define NPU_STATS_CLIENTS ...
struct npu_device_stats {
    uint32_t struct_size;
    uint32_t flags;
    uint64_t mem_used;
    uint64_t mem_total;
    uint64_t jobs_submitted;
    uint64_t jobs_completed;
    uint64_t faults;
    uint64_t busy_ns;
    uint64_t uptime_ns;
    uint32_t resets;
    uint32_t clients;
    uint64_t last_job;
    uint32_t queues;
    ...;
};
npu_result_t npu_device_get_stats(npu_device_t *dev, struct npu_device_stats *stats);
#define NPU_CLIENT_SELF ...
struct npu_client_stats {
    uint32_t struct_size;
    uint32_t flags;
    int32_t pid;
    uint32_t id;
    uint64_t jobs;
    uint64_t mem_bytes;
    ...;
};
npu_result_t npu_device_get_client(npu_device_t *dev, uint32_t index,
                                   struct npu_client_stats *info);

#define NPU_SYSDEV_BUSY ...
struct npu_system_device {
    uint32_t struct_size;
    uint32_t flags;
    int32_t pid;
    uint32_t index;
    char process[16];
    char cmdline[256];
    char name[64];
    uint32_t num_cores;
    uint32_t sram_per_core;
    uint32_t clock_khz;
    uint32_t fw_version;
    uint32_t isa_version;
    uint32_t clients;
    uint32_t resets;
    uint64_t mem_total;
    uint64_t mem_used;
    uint64_t jobs_submitted;
    uint64_t jobs_completed;
    uint64_t faults;
    uint64_t busy_ns;
    uint64_t uptime_ns;
    uint64_t start_time_ns;
    uint64_t sample_ns;
    ...;
};
npu_result_t npu_system_devices(struct npu_system_device *out, uint32_t max, uint32_t *count);

/* The launch path (npu/_core.py): the launch helpers, generated below. */
struct npupy_launch {
    npu_device_t *dev;
    npu_kernel_t *kernel;
    uint32_t num_args;
    size_t sizes[...];
    struct npu_launch_config cfg;
    ...;
};
npu_result_t npupy_launch_v(const struct npupy_launch *l, npu_stream_t *stream,
                            uint32_t num_args, const uint64_t *vals);
void npupy_set_launch_impl(void *fn);

/* DLPack glue (npu/dlpack.py): deleters and the capsule destructor must be C, because
 * consumers call them with a Python exception pending, where Python code cannot run. */
void npu_dlpack_deleter_versioned(void *managed);
void npu_dlpack_deleter_legacy(void *managed);
void npu_dlpack_capsule_destructor(void *capsule);
"""

# The DLPack structs only as far as the deleters need them: manager_ctx holds a strong
# reference to a Python object that keeps the struct (and what it points at) alive.
DLPACK_C = r"""
struct npu_dl_tensor { void *data; int32_t dt, did, ndim; uint8_t c, b; uint16_t l;
                       int64_t *shape, *strides; uint64_t off; };
struct npu_dl_managed { struct npu_dl_tensor t; void *manager_ctx; void (*deleter)(void *); };
struct npu_dl_managed_v { uint32_t major, minor; void *manager_ctx; void (*deleter)(void *);
                          uint64_t flags; struct npu_dl_tensor t; };

static void npu_dlpack_release(void *ctx)
{
    PyGILState_STATE g = PyGILState_Ensure();
    PyObject *type, *value, *tb;

    PyErr_Fetch(&type, &value, &tb);
    Py_XDECREF((PyObject *)ctx);
    PyErr_Restore(type, value, tb);
    PyGILState_Release(g);
}

static void npu_dlpack_deleter_versioned(void *managed)
{
    npu_dlpack_release(((struct npu_dl_managed_v *)managed)->manager_ctx);
}

static void npu_dlpack_deleter_legacy(void *managed)
{
    npu_dlpack_release(((struct npu_dl_managed *)managed)->manager_ctx);
}

static void npu_dlpack_capsule_destructor(void *capsule)
{
    PyObject *cap = (PyObject *)capsule;
    PyObject *type, *value, *tb;

    /* A consumer renames the capsule "used_..." and calls the deleter itself. */
    PyErr_Fetch(&type, &value, &tb);
    if (PyCapsule_IsValid(cap, "dltensor_versioned")) {
        struct npu_dl_managed_v *m = PyCapsule_GetPointer(cap, "dltensor_versioned");
        if (m && m->deleter)
            m->deleter(m);
    } else if (PyCapsule_IsValid(cap, "dltensor")) {
        struct npu_dl_managed *m = PyCapsule_GetPointer(cap, "dltensor");
        if (m && m->deleter)
            m->deleter(m);
    }
    PyErr_Restore(type, value, tb);
}
"""

# The Python SDK's launch: one call per launch (issue 5's "cached cffi pointers"). What does
# not change between launches of a kernel with the same grid and limits (handles, argument
# sizes, the launch config) is a struct npupy_launch made once; the stream and the argument
# values come as arguments. libnpu copies everything during the call, so a launch writes
# nothing shared and threads launch the same kernel freely.
LAUNCH_C = r"""
struct npupy_launch {
    npu_device_t *dev;
    npu_kernel_t *kernel;
    uint32_t num_args;
    size_t sizes[NPU_MAX_KERNEL_ARGS];  /* 4 or 8, from the kernel's signature */
    struct npu_launch_config cfg;       /* its stream is the call's */
};

typedef npu_result_t (*npupy_launch_fn)(npu_device_t *, npu_kernel_t *,
                                        const struct npu_launch_config *,
                                        const void *const *, const size_t *, uint32_t);

/* NULL: npu_launch_kernel. The benchmark suite points it at a stub for a moment to measure
 * the SDK's own share of a launch (npu.bench.sdk_launch_stubbed). */
static npupy_launch_fn npupy_launch_impl;

static void npupy_set_launch_impl(void *fn)
{
    __atomic_store_n(&npupy_launch_impl, (npupy_launch_fn)fn, __ATOMIC_RELAXED);
}

/* num_args values; libnpu says precisely what is wrong if that is not the kernel's count. */
static npu_result_t npupy_launch_v(const struct npupy_launch *l, npu_stream_t *stream,
                                   uint32_t num_args, const uint64_t *vals)
{
    npupy_launch_fn fn = __atomic_load_n(&npupy_launch_impl, __ATOMIC_RELAXED);
    struct npu_launch_config cfg = l->cfg;
    const void *ptrs[NPU_MAX_KERNEL_ARGS];
    uint32_t v32[NPU_MAX_KERNEL_ARGS];
    uint32_t n = num_args < l->num_args ? num_args : l->num_args;

    if (n > NPU_MAX_KERNEL_ARGS)
        n = NPU_MAX_KERNEL_ARGS;

    cfg.stream = stream;
    for (uint32_t i = 0; i < n && vals; i++) {
        /* A 4-byte argument is the low half of its slot whatever the host's byte order. */
        if (l->sizes[i] == 4) {
            v32[i] = (uint32_t)vals[i];
            ptrs[i] = &v32[i];
        } else {
            ptrs[i] = &vals[i];
        }
    }
    return (fn ? fn : npu_launch_kernel)(l->dev, l->kernel, &cfg, vals ? ptrs : NULL,
                                         l->sizes, num_args);
}
"""

# npupy_launchN: the values as N scalar arguments, cheaper from Python than a list.
LAUNCH_MAX_FIXED = 6


def launch_fixed(n: int) -> tuple[str, str]:
    """The declaration and the definition of npupy_launch<n>."""
    params = "".join(f", uint64_t a{i}" for i in range(n))
    proto = (f"npu_result_t npupy_launch{n}(const struct npupy_launch *l, "
             f"npu_stream_t *stream{params})")
    vals = ", ".join(f"a{i}" for i in range(n)) or "0"
    body = (f"static {proto}\n{{\n"
            f"    const uint64_t v[] = {{ {vals} }};\n\n"
            f"    return npupy_launch_v(l, stream, {n}, v);\n}}\n")
    return proto + ";\n", body


def main() -> None:
    fixed = [launch_fixed(n) for n in range(LAUNCH_MAX_FIXED + 1)]
    ffi = cffi.FFI()
    ffi.cdef(CDEF + "".join(d for d, _ in fixed)
             + "#define NPUPY_LAUNCH_MAX_FIXED ...\n")
    ffi.set_source(
        "npu._npu",
        '#include "npu/npu.h"\n#include "npu/npu_kbin.h"\n' + DLPACK_C + LAUNCH_C
        + f"#define NPUPY_LAUNCH_MAX_FIXED {LAUNCH_MAX_FIXED}\n" + "".join(b for _, b in fixed),
        py_limited_api=False,
    )
    ffi.emit_c_code(sys.argv[1])


if __name__ == "__main__":
    main()
