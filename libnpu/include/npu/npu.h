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
 *   - Work runs in submission order within a stream (npu_stream_t); the NULL stream is the
 *     device's default stream. Launches, device-to-device copies and fills are asynchronous;
 *     synchronous host copies wait for all earlier work of the device first (as a synchronous
 *     copy does in other accelerator runtimes). Errors of asynchronous work (a kernel fault)
 *     are returned by the next call that waits for that work: npu_device_synchronize(),
 *     npu_stream_synchronize(), npu_event_synchronize() or a host copy. Each fault is returned
 *     once; the device keeps working.
 *   - Thread safety: every function may be called from any thread; one device, stream or
 *     event may be used from several threads at once. Destroying an object that another
 *     thread is still using is the caller's bug.
 *   - Symbols: only functions marked NPU_API are exported (libnpu.so.0, version nodes
 *     LIBNPU_0 and, for functions marked "since 0.1", LIBNPU_0.1); everything else in the
 *     library is hidden.
 *   [in] / [out] mark parameters.
 *
 * Build against the installed SDK with pkg-config (package "npu"); `python -m npu
 * --pkgconfigdir` prints the directory to put on PKG_CONFIG_PATH.
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
#define NPU_VERSION_STRING "0.1.0"

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
typedef struct npu_stream npu_stream_t;
typedef struct npu_event npu_event_t;
typedef struct npu_graph npu_graph_t;

/* Result codes: 0 or a negative errno value (Linux numbering). */
#define NPU_SUCCESS                 0
#define NPU_ERROR_NOT_PERMITTED    (-1)   /* EPERM */
#define NPU_ERROR_NOT_FOUND        (-2)   /* ENOENT: no such kernel / handle */
#define NPU_ERROR_KERNEL_FAULT     (-5)   /* EIO: a kernel or command faulted on the device */
#define NPU_ERROR_INVALID_IMAGE    (-8)   /* ENOEXEC: malformed kernel binary */
#define NPU_ERROR_BAD_HANDLE       (-9)   /* EBADF */
#define NPU_ERROR_NOT_READY        (-11)  /* EAGAIN: the work has not completed yet (a query) */
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

/* Runtime version, NPU_VERSION of the library actually loaded (compare with the NPU_VERSION
 * a program was compiled with: same major, runtime minor >= compiled minor). */
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

/* How the calls that wait for the device wait (npu_device_synchronize,
 * npu_stream_synchronize, npu_event_synchronize, synchronous copies), like CUDA's
 * cudaDeviceScheduleBlockingSync / Spin / Yield. Spinning reads the queue's completion
 * record (driver uapi >= 1.2) with no call into the driver and no lock per look, so a short
 * kernel's completion is seen without a thread wake-up; it keeps a CPU busy meanwhile. After
 * spin_ns without completion the wait sleeps as in NPU_WAIT_BLOCK. On a driver without the
 * records, every mode waits as NPU_WAIT_BLOCK. */
#define NPU_WAIT_BLOCK  0u /* sleep until the completion interrupt wakes the thread (default) */
#define NPU_WAIT_SPIN   1u /* poll, then sleep */
#define NPU_WAIT_YIELD  2u /* poll, yielding the CPU between looks, then sleep */
#define NPU_WAIT_SPIN_DEFAULT_NS 1000000ull    /* spin_ns 0: poll for up to 1 ms */
#define NPU_WAIT_SPIN_MAX_NS     10000000000ull /* 10 s */
/* Since 0.1 (version node LIBNPU_0.1). mode: NPU_WAIT_*; spin_ns: how long one wait polls
 * before it sleeps, 0 = NPU_WAIT_SPIN_DEFAULT_NS, at most NPU_WAIT_SPIN_MAX_NS (ignored for
 * NPU_WAIT_BLOCK). Applies to later waits of every thread using `dev`. */
NPU_API npu_result_t npu_device_set_wait_mode(npu_device_t *dev, uint32_t mode,
					      uint64_t spin_ns);

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
/* Stream-ordered copies and fill (stream NULL = the default stream). Host copies run after
 * the stream's earlier work; `src`/`dst` host memory must stay valid until the stream reaches
 * the copy (npu_stream_synchronize or an event). Today host copies complete before the call
 * returns (the device has no host-memory DMA in this driver ABI yet); write code that does
 * not rely on that. */
NPU_API npu_result_t npu_memcpy_htod_async(npu_device_t *dev, npu_deviceptr_t dst,
					   const void *src, uint64_t size, npu_stream_t *stream);
NPU_API npu_result_t npu_memcpy_dtoh_async(npu_device_t *dev, void *dst, npu_deviceptr_t src,
					   uint64_t size, npu_stream_t *stream);
NPU_API npu_result_t npu_memcpy_dtod_async(npu_device_t *dev, npu_deviceptr_t dst,
					   npu_deviceptr_t src, uint64_t size,
					   npu_stream_t *stream);
NPU_API npu_result_t npu_memset_d32_async(npu_device_t *dev, npu_deviceptr_t dst,
					  uint32_t value, uint64_t count, npu_stream_t *stream);

/* ---- 2-D copies (since 0.1, LIBNPU_0.1) -------------------------------------------------
 * Copy `height` rows of `width` bytes; row i starts at base + i * pitch on either side. Both
 * pitches must be >= width; the device range [ptr, ptr + (height - 1) * pitch + width) must
 * lie inside one allocation (NPU_ERROR_INVALID_ADDRESS otherwise) and must not overflow
 * (NPU_ERROR_INVALID_VALUE). width and height > 0. Host copies run on the calling thread
 * through the buffer's host mapping (one memcpy when both pitches equal width); device to
 * device copies are copy-engine commands, many rows per submission. Ordering, waiting and
 * the validity of host memory are as for the 1-D copies above. */
NPU_API npu_result_t npu_memcpy_2d_htod(npu_device_t *dev, npu_deviceptr_t dst, uint64_t dpitch,
					const void *src, uint64_t spitch, uint64_t width,
					uint64_t height);
NPU_API npu_result_t npu_memcpy_2d_dtoh(npu_device_t *dev, void *dst, uint64_t dpitch,
					npu_deviceptr_t src, uint64_t spitch, uint64_t width,
					uint64_t height);
NPU_API npu_result_t npu_memcpy_2d_dtod(npu_device_t *dev, npu_deviceptr_t dst, uint64_t dpitch,
					npu_deviceptr_t src, uint64_t spitch, uint64_t width,
					uint64_t height);
NPU_API npu_result_t npu_memcpy_2d_htod_async(npu_device_t *dev, npu_deviceptr_t dst,
					      uint64_t dpitch, const void *src, uint64_t spitch,
					      uint64_t width, uint64_t height,
					      npu_stream_t *stream);
NPU_API npu_result_t npu_memcpy_2d_dtoh_async(npu_device_t *dev, void *dst, uint64_t dpitch,
					      npu_deviceptr_t src, uint64_t spitch,
					      uint64_t width, uint64_t height,
					      npu_stream_t *stream);
NPU_API npu_result_t npu_memcpy_2d_dtod_async(npu_device_t *dev, npu_deviceptr_t dst,
					      uint64_t dpitch, npu_deviceptr_t src,
					      uint64_t spitch, uint64_t width, uint64_t height,
					      npu_stream_t *stream);

/* ---- Modules and kernels -------------------------------------------------------------- */
/* Loads a kernel binary (see npu_kbin.h); a malformed one fails with
 * NPU_ERROR_INVALID_IMAGE and a message naming the field and offset. */
NPU_API npu_result_t npu_module_load_data(npu_device_t *dev, const void *image, size_t size,
					  npu_module_t **out);
/* Reads a kernel binary file (as written by `npu-as`) and loads it. */
NPU_API npu_result_t npu_module_load_file(npu_device_t *dev, const char *path,
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
	/* -- since 0.1: struct_size >= offsetof(..., stream) + sizeof(stream) -- */
	npu_stream_t *stream;      /* stream to launch on; NULL = the default stream */
};
/* Launches `kernel` asynchronously. args[i] points at the value of argument i, whose size
 * arg_sizes[i] must match the kernel's signature (8 for ptr/i64/u64/f64, 4 for
 * i32/u32/f32); a mismatch is NPU_ERROR_INVALID_VALUE naming the argument. */
NPU_API npu_result_t npu_launch_kernel(npu_device_t *dev, npu_kernel_t *kernel,
				       const struct npu_launch_config *config,
				       const void *const *args, const size_t *arg_sizes,
				       uint32_t num_args);

/* ---- Streams and events -----------------------------------------------------------------
 * A stream is an ordered sequence of work on one device; work of different streams may run
 * concurrently and in any order unless ordered with events. An event marks a point in a
 * stream: it completes when all work recorded before it has completed.
 *
 * Each stream gets a hardware queue of its own (driver uapi >= 1.1), so streams overlap;
 * NPU_STREAM_COPY asks for a copy-engine queue (no launches) and `priority` (< 0 low, 0
 * normal, > 0 high) for the queue's priority. libnpu creates at most 8 queues per device
 * handle and reuses the queues of destroyed streams; past that, and on a driver without
 * queues, streams share queues (still correct, not concurrent). The default stream is
 * queue 0. npu_stream_get_info() reports the queue a stream got.
 */
#define NPU_STREAM_COPY        (1u << 0) /* mostly copies: prefer a copy queue if any */
#define NPU_STREAM_FLAGS_MASK  NPU_STREAM_COPY

struct npu_stream_desc {
	uint32_t struct_size;      /* [in] sizeof(struct npu_stream_desc) */
	uint32_t flags;            /* [in] NPU_STREAM_* */
	int32_t  priority;         /* [in] higher runs first; 0 = normal */
	uint32_t reserved;         /* [in] 0 */
};
/* desc may be NULL for a normal-priority compute stream. */
NPU_API npu_result_t npu_stream_create(npu_device_t *dev, const struct npu_stream_desc *desc,
				       npu_stream_t **out);
/* Waits for the stream's work, then frees it. */
NPU_API npu_result_t npu_stream_destroy(npu_stream_t *stream);
/* Waits for all work submitted to the stream so far; returns its first unreported fault. */
NPU_API npu_result_t npu_stream_synchronize(npu_stream_t *stream);
/* NPU_SUCCESS if all of the stream's work has completed, NPU_ERROR_NOT_READY if not. */
NPU_API npu_result_t npu_stream_query(npu_stream_t *stream);
/* Later work of `stream` waits until `event` completes (the host does not block). */
NPU_API npu_result_t npu_stream_wait_event(npu_stream_t *stream, npu_event_t *event);

struct npu_stream_info {
	uint32_t struct_size;      /* [in] sizeof(struct npu_stream_info) */
	uint32_t flags;            /* [out] as created */
	int32_t  priority;         /* [out] as created */
	uint32_t queue;            /* [out] hardware queue the stream runs on */
	uint64_t id;               /* [out] unique per device, > 0; the default stream is 0 */
	uint64_t last_seqno;       /* [out] fence value of the stream's last submission */
};
/* stream NULL with a device: the default stream. */
NPU_API npu_result_t npu_stream_get_info(npu_device_t *dev, npu_stream_t *stream,
					 struct npu_stream_info *info);

#define NPU_EVENT_DISABLE_TIMING (1u << 0) /* no timestamps: cheaper */
#define NPU_EVENT_FLAGS_MASK     NPU_EVENT_DISABLE_TIMING

NPU_API npu_result_t npu_event_create(npu_device_t *dev, uint32_t flags, npu_event_t **out);
NPU_API npu_result_t npu_event_destroy(npu_event_t *event);
/* Captures the work submitted to `stream` (NULL = default stream) so far. Recording again
 * moves the event. An event never recorded counts as complete. */
NPU_API npu_result_t npu_event_record(npu_event_t *event, npu_stream_t *stream);
/* Waits until the event completes; returns the first unreported fault of the work before it.
 * timeout_ns: relative nanoseconds, < 0 = forever; NPU_ERROR_TIMEOUT when it expires. */
NPU_API npu_result_t npu_event_synchronize(npu_event_t *event, int64_t timeout_ns);
/* NPU_SUCCESS if complete, NPU_ERROR_NOT_READY if not. */
NPU_API npu_result_t npu_event_query(npu_event_t *event);

#define NPU_ELAPSED_HOST    (1u << 0) /* host_ns is valid */
#define NPU_ELAPSED_DEVICE  (1u << 1) /* device_cycles / device_ns are valid */

struct npu_elapsed {
	uint32_t struct_size;      /* [in] sizeof(struct npu_elapsed) */
	uint32_t flags;            /* [out] NPU_ELAPSED_* */
	int64_t  host_ns;          /* [out] host CLOCK_MONOTONIC time from start to end */
	uint64_t device_cycles;    /* [out] simulated device cycles of the launches between */
	uint64_t device_ns;        /* [out] device_cycles at the device clock */
};
/* Time between two completed events of one device (NPU_ERROR_NOT_READY if one has not
 * completed; NPU_ERROR_INVALID_VALUE if one was created with NPU_EVENT_DISABLE_TIMING or
 * never recorded). Device time is reported only when the driver reports per-job cycles. */
NPU_API npu_result_t npu_event_elapsed(npu_event_t *start, npu_event_t *end,
				       struct npu_elapsed *out);

/* ---- Graphs: recorded command buffers (since 0.1, LIBNPU_0.1) ---------------------------
 * Between npu_stream_begin_capture() and npu_stream_end_capture(), work issued to the stream
 * is recorded into a graph instead of running: launches, device copies and fills (1-D and
 * 2-D), host copies (*_async with this stream), event records and event waits. Everything
 * else about the call is checked as usual, so a capture fails where the call would.
 * npu_graph_launch() then runs the recorded work on a stream of the same device, in order,
 * as few submissions as the driver allows: consecutive device commands go as one job (one
 * ioctl) of up to NPU_GRAPH_SEGMENT_BYTES; an event record or wait, or a host copy, ends a
 * segment. A graph can be launched any number of times, on any stream of its device.
 *   - Kernel arguments, pointers and sizes are the values they had at capture; host copies
 *     read and write the host memory named at capture, at the time the replay reaches them
 *     (it must stay valid while the graph lives).
 *   - An event recorded during capture is recorded again at that point of every replay; a
 *     wait during capture waits, at every replay, for the event's record as it is then.
 *   - A fault stops the rest of its segment, as for any job; it is returned by the next
 *     wait, naming the kernel(s) of the segment (job kind NPU_JOB_GRAPH).
 *   - While a stream captures, npu_stream_synchronize() and npu_stream_query() on it fail
 *     with NPU_ERROR_NOT_PERMITTED, npu_stream_destroy() with NPU_ERROR_BUSY; the default
 *     stream (NULL) cannot capture.
 */
#define NPU_GRAPH_SEGMENT_BYTES 65472u /* driver's NPU_MAX_CMD_BYTES minus libnpu's framing */

/* [in] stream: a stream of npu_stream_create(). NPU_ERROR_BUSY if it is capturing already. */
NPU_API npu_result_t npu_stream_begin_capture(npu_stream_t *stream);
/* Ends the capture; [out] *graph: the recorded work (possibly empty). If a call during the
 * capture failed, the graph is still returned with what was recorded. */
NPU_API npu_result_t npu_stream_end_capture(npu_stream_t *stream, npu_graph_t **graph);
/* [out] *capturing: 1 while the stream captures, else 0. */
NPU_API npu_result_t npu_stream_is_capturing(npu_stream_t *stream, int *capturing);
/* Runs the graph on `stream` (NULL = the default stream of the graph's device). Asynchronous
 * like a launch. NPU_ERROR_INVALID_VALUE for a stream of another device or a copy stream and a
 * graph with launches; NPU_ERROR_NOT_PERMITTED if the stream is capturing. */
NPU_API npu_result_t npu_graph_launch(npu_graph_t *graph, npu_stream_t *stream);
/* Frees the graph. NPU_ERROR_BUSY (and nothing freed) while one of its replays has not
 * completed: synchronize first. Destroy graphs before closing their device. */
NPU_API npu_result_t npu_graph_destroy(npu_graph_t *graph);

struct npu_graph_info {
	uint32_t struct_size;      /* [in] sizeof(struct npu_graph_info) */
	uint32_t nodes;            /* [out] recorded operations */
	uint32_t launches;         /* [out] of which kernel launches */
	uint32_t segments;         /* [out] submissions per replay (device command runs) */
	uint64_t cmd_bytes;        /* [out] bytes of device commands per replay */
	uint64_t replays;          /* [out] npu_graph_launch() calls that succeeded */
};
NPU_API npu_result_t npu_graph_get_info(npu_graph_t *graph, struct npu_graph_info *info);

/* ---- Activity records and statistics (for profilers and monitoring tools) ---------------- */
#define NPU_JOB_LAUNCH  1
#define NPU_JOB_COPY    2  /* device to device */
#define NPU_JOB_FILL    3
#define NPU_JOB_WAIT    4  /* a stream waiting for an event of another queue */
#define NPU_JOB_GRAPH   5  /* a segment of a graph replay (npu_graph_launch); since 0.1 */

#define NPU_JOB_F_COMPLETE     (1u << 0) /* complete_ns is valid */
#define NPU_JOB_F_FAULTED      (1u << 1)
#define NPU_JOB_F_DEVICE_TIME  (1u << 2) /* device_cycles is valid */
#define NPU_JOB_F_DEVICE_CLOCK (1u << 3) /* device_start_ns / device_end_ns are valid */
#define NPU_JOB_F_SIM_CLOCK    (1u << 4) /* device_start_cycles .. core_cycles are valid */

#define NPU_JOB_MAX_CORES      16 /* cores listed in npu_job_info.core_cycles */

struct npu_job_info {
	uint32_t struct_size;      /* [in] sizeof(struct npu_job_info) */
	uint32_t kind;             /* [out] NPU_JOB_* */
	uint64_t id;               /* [out] the job's id: 1, 2, ... in submission order */
	uint64_t stream_id;        /* [out] npu_stream_info.id of its stream */
	char     name[64];         /* [out] kernel name, "copy", "fill" or "wait" */
	uint32_t grid[3];          /* [out] launches */
	uint32_t flags;            /* [out] NPU_JOB_F_* */
	uint64_t bytes;            /* [out] copies and fills */
	uint64_t submit_ns;        /* [out] host CLOCK_MONOTONIC at submission */
	uint64_t complete_ns;      /* [out] host CLOCK_MONOTONIC when libnpu saw it complete */
	uint64_t device_cycles;    /* [out] simulated cycles (max over cores) */
	uint32_t queue;            /* [out] hardware queue it ran on */
	uint32_t reserved;
	uint64_t seqno;            /* [out] its fence value on that queue */
	uint64_t device_start_ns;  /* [out] device clock when the job started (tracing on) */
	uint64_t device_end_ns;    /* [out] device clock when it finished */
	/* (LIBNPU_0.1) The timing model's simulated clock (cycles at props.clock_khz), device-wide:
	 * it advances by each launch's cycles as launches complete, one at a time. */
	uint64_t device_start_cycles; /* [out] simulated clock when its first launch started */
	uint64_t device_end_cycles;   /* [out] simulated clock when it finished */
	uint32_t device_launches;  /* [out] launches of the job that completed on the device */
	uint32_t device_cores;     /* [out] valid entries of core_cycles */
	uint64_t core_cycles[NPU_JOB_MAX_CORES]; /* [out] simulated cycles each core ran for it */
};
/* Simulated device time (NPU_JOB_F_DEVICE_TIME, NPU_JOB_F_SIM_CLOCK) comes from the driver
 * (uapi >= 1.2), which keeps it for the newest 1024 jobs of each queue; while tracing is on,
 * libnpu fetches it as each job completes. Cycles are a function of the kernel and its data:
 * the same launch on the same data reports the same cycles. */
/* Completion times are exact to the interrupt while tracing is on (a libnpu thread waits for
 * each job) and otherwise the time a wait or query first saw the job done; the watcher thread
 * also runs while an event with timing exists. While tracing is on, the device also stamps
 * each job's start and end with its own clock (driver uapi >= 1.1; device_*_ns). */
NPU_API npu_result_t npu_device_set_tracing(npu_device_t *dev, int enable);
/* The record of job `id` (see npu_device_stats.last_job): NPU_ERROR_NOT_FOUND if no such
 * job or it left the history (the last 4096 jobs are kept). */
NPU_API npu_result_t npu_device_get_job(npu_device_t *dev, uint64_t id,
					struct npu_job_info *info);

#define NPU_STATS_MEM       (1u << 0) /* mem_used / mem_total */
#define NPU_STATS_CLIENT    (1u << 1) /* jobs_*, faults, busy_ns, uptime_ns (this client) */
#define NPU_STATS_RESETS    (1u << 2) /* resets (device-wide; driver uapi >= 1.1) */
#define NPU_STATS_CLIENTS   (1u << 3) /* clients (device-wide; needs driver support) */

struct npu_device_stats {
	uint32_t struct_size;      /* [in] sizeof(struct npu_device_stats) */
	uint32_t flags;            /* [out] NPU_STATS_*: which groups are valid */
	uint64_t mem_used;         /* [out] bytes, all clients */
	uint64_t mem_total;        /* [out] bytes */
	uint64_t jobs_submitted;   /* [out] by this client (this npu_device_t) */
	uint64_t jobs_completed;   /* [out] */
	uint64_t faults;           /* [out] faults of this client's jobs */
	uint64_t busy_ns;          /* [out] time this client had work on the device */
	uint64_t uptime_ns;        /* [out] since the device was opened by this client */
	uint32_t resets;           /* [out] device resets (NPU_STATS_RESETS) */
	uint32_t clients;          /* [out] open clients (NPU_STATS_CLIENTS) */
	uint64_t last_job;         /* [out] id of the last submitted job */
	uint32_t queues;           /* [out] hardware queues this client uses */
	uint32_t reserved;
};
NPU_API npu_result_t npu_device_get_stats(npu_device_t *dev, struct npu_device_stats *stats);

/* ---- Every process's devices (since 0.1: version node LIBNPU_0.1) ------------------------
 * The devices that the processes of this user have powered on, as their drivers publish them
 * (driver uapi >= 1.2, docs/driver-abi.md): what a monitoring tool such as npu-smi shows for
 * programs it cannot open devices in. The call opens and boots nothing. */
#define NPU_SYSDEV_BUSY (1u << 0) /* some queue of the device had unfinished work */

struct npu_system_device {
	uint32_t struct_size;      /* [in] sizeof(struct npu_system_device); out[0]'s is the size
	                            * of every element */
	uint32_t flags;            /* [out] NPU_SYSDEV_* */
	int32_t  pid;              /* [out] the process the device lives in */
	uint32_t index;            /* [out] its device index in that process */
	char     process[16];      /* [out] the process's name (comm) */
	char     cmdline[256];     /* [out] its command line, arguments joined by spaces,
	                            * truncated */
	char     name[64];         /* [out] "npu0 (npu-sim)" */
	uint32_t num_cores;        /* [out] */
	uint32_t sram_per_core;    /* [out] bytes */
	uint32_t clock_khz;        /* [out] */
	uint32_t fw_version;       /* [out] major << 16 | minor */
	uint32_t isa_version;      /* [out] major << 16 | minor */
	uint32_t clients;          /* [out] open clients (driver files) of the device */
	uint32_t resets;           /* [out] device resets since power on */
	uint32_t reserved;
	uint64_t mem_total;        /* [out] bytes */
	uint64_t mem_used;         /* [out] bytes allocated, all clients */
	uint64_t jobs_submitted;   /* [out] all clients of the device */
	uint64_t jobs_completed;   /* [out] */
	uint64_t faults;           /* [out] jobs that faulted or hung */
	uint64_t busy_ns;          /* [out] time some queue had work, power on to sample_ns */
	uint64_t uptime_ns;        /* [out] power on to sample_ns */
	uint64_t start_time_ns;    /* [out] CLOCK_REALTIME at power on */
	uint64_t sample_ns;        /* [out] CLOCK_MONOTONIC when the record was read */
};
/* Fills out[0 .. min(max, *count)) ordered by pid, then index; [out] count: devices found
 * (may exceed max). out may be NULL when max is 0. Utilization over an interval is the
 * difference of busy_ns over the difference of uptime_ns between two calls. */
NPU_API npu_result_t npu_system_devices(struct npu_system_device *out, uint32_t max,
					uint32_t *count);

#define NPU_CLIENT_SELF (1u << 0) /* the client is this npu_device_t */

/* (LIBNPU_0.1) One open client of the device (npu-smi's "clients"). */
struct npu_client_stats {
	uint32_t struct_size;      /* [in] sizeof(struct npu_client_stats) */
	uint32_t flags;            /* [out] NPU_CLIENT_* */
	int32_t  pid;              /* [out] process that opened it */
	uint32_t id;               /* [out] the driver's client id (its file descriptor) */
	uint64_t jobs;             /* [out] jobs it submitted */
	uint64_t mem_bytes;        /* [out] device memory it has allocated */
};
/* Client `index` (0 .. npu_device_stats.clients - 1) of the device: NPU_ERROR_NOT_FOUND past
 * the end (clients come and go), NPU_ERROR_NOT_SUPPORTED with a driver older than uapi 1.2. */
NPU_API npu_result_t npu_device_get_client(npu_device_t *dev, uint32_t index,
					   struct npu_client_stats *info);

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
