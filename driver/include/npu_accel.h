/* SPDX-License-Identifier: MIT */
/*
 * npu_accel.h - the driver's user ABI (uapi), written as a kernel uapi header would be.
 *
 * The driver runs in user space but keeps a kernel driver's contract: a device node is opened,
 * every request goes through npu_drv_ioctl() with a struct whose size is encoded in the request
 * number, and memory is reached through npu_drv_mmap().
 *
 * Rules every struct follows:
 *   - fixed-width fields only, pointers as __u64, natural alignment, explicit pad fields,
 *     sizes a multiple of 8 (checked below);
 *   - `flags` must only contain the bits its mask allows; pad and reserved fields must be 0;
 *   - In/Out is marked on every field; on failure no Out field is written;
 *   - timeouts are absolute CLOCK_MONOTONIC nanoseconds;
 *   - errors are negative errno values;
 *   - new fields are only ever appended; the request number's size tells old from new.
 */
#ifndef NPU_ACCEL_H
#define NPU_ACCEL_H

#include <stdint.h>

#ifndef NPU_STATIC_ASSERT
#ifdef __cplusplus
#define NPU_STATIC_ASSERT(cond, msg) static_assert(cond, msg)
#else
#define NPU_STATIC_ASSERT(cond, msg) _Static_assert(cond, msg)
#endif
#endif

#ifdef __cplusplus
extern "C" {
#endif

#define NPU_UAPI_VERSION_MAJOR 1
#define NPU_UAPI_VERSION_MINOR 2

/* Request numbers: direction (2 bits) | size (14 bits) | type 'N' | number. */
#define NPU_IOC_NONE  0u
#define NPU_IOC_WRITE 1u /* user -> driver */
#define NPU_IOC_READ  2u /* driver -> user */
#define NPU_IOC(dir, nr, size) \
	(((uint32_t)(dir) << 30) | ((uint32_t)(size) << 16) | ((uint32_t)'N' << 8) | (uint32_t)(nr))
#define NPU_IOWR(nr, type) NPU_IOC(NPU_IOC_READ | NPU_IOC_WRITE, nr, sizeof(type))
#define NPU_IOW(nr, type)  NPU_IOC(NPU_IOC_WRITE, nr, sizeof(type))
#define NPU_IOC_NR(req)    ((req) & 0xffu)
#define NPU_IOC_TYPE(req)  (((req) >> 8) & 0xffu)
#define NPU_IOC_SIZE(req)  (((req) >> 16) & 0x3fffu)
#define NPU_IOC_DIR(req)   (((req) >> 30) & 0x3u)

/* ---- GET_PARAM: device facts ------------------------------------------------------------ */
#define NPU_PARAM_DEVICE_ID     0  /* hardware id register */
#define NPU_PARAM_FW_VERSION    1  /* major << 16 | minor */
#define NPU_PARAM_IF_VERSION    2  /* driver <-> firmware interface version */
#define NPU_PARAM_ISA_VERSION   3  /* major << 16 | minor */
#define NPU_PARAM_NUM_CORES     4
#define NPU_PARAM_SRAM_SIZE     5  /* bytes per core */
#define NPU_PARAM_MEM_SIZE      6  /* bytes of device memory */
#define NPU_PARAM_MEM_USED      7  /* bytes of device memory allocated, all clients */
#define NPU_PARAM_CLOCK_KHZ     8
#define NPU_PARAM_PAGE_SIZE     9
#define NPU_PARAM_MAX_ARGS      10
#define NPU_PARAM_UAPI_VERSION  11 /* major << 16 | minor */
#define NPU_PARAM_VA_BITS       12
/* uapi 1.1 */
#define NPU_PARAM_NUM_HW_QUEUES 13 /* hardware queues of the device, shared by all clients */
#define NPU_PARAM_ENGINES       14 /* NPU_ENGINE_*_BIT: engines the device has */
#define NPU_PARAM_TIMESTAMP_FREQ 15 /* Hz of NPU_CMD_TIMESTAMP values */
#define NPU_PARAM_HANG_TIMEOUT_MS 16 /* this client's progress timeout; 0 = hang detection off */
#define NPU_PARAM_LAUNCH_TIMEOUT_US 17 /* this client's launch wall clock for timeout_us == 0 */
#define NPU_PARAM_MAX_INSNS     18 /* this client's instruction budget for max_insns == 0 */
#define NPU_PARAM_BAN_THRESHOLD 19 /* hangs after which a client is banned; 0 = never */
/* uapi 1.2 */
#define NPU_PARAM_NUM_CLIENTS   20 /* open clients (files) of the device */
#define NPU_PARAM_COUNT         21

struct npu_get_param {
	uint32_t param;     /* In: NPU_PARAM_* */
	uint32_t pad;       /* In: 0 */
	uint64_t value;     /* Out */
};

/* ---- Buffer objects ---------------------------------------------------------------------- */
#define NPU_BO_HOST_VISIBLE  (1u << 0) /* the host may npu_drv_mmap() it */
#define NPU_BO_READ_ONLY     (1u << 1) /* the device may not write it (code, constants) */
#define NPU_BO_FLAGS_MASK    (NPU_BO_HOST_VISIBLE | NPU_BO_READ_ONLY)
#define NPU_BO_USERPTR       (1u << 16) /* Out only (BO_INFO): host memory, NPU_IOCTL_BO_USERPTR */

/* Allocates device memory, zero filled, and maps it into the client's device address space. */
struct npu_bo_create {
	uint64_t size;        /* In: bytes, > 0; rounded up to the page size */
	uint32_t flags;       /* In: NPU_BO_* */
	uint32_t handle;      /* Out: non-zero handle, private to this client */
	uint64_t dev_addr;    /* Out: device virtual address */
	uint64_t mmap_offset; /* Out: offset for npu_drv_mmap() (HOST_VISIBLE only, else 0) */
};

struct npu_bo_info {
	uint32_t handle;      /* In */
	uint32_t flags;       /* Out: the BO's flags */
	uint64_t size;        /* Out: bytes, page-rounded */
	uint64_t dev_addr;    /* Out */
	uint64_t mmap_offset; /* Out */
};

struct npu_bo_free {
	uint32_t handle;      /* In */
	uint32_t pad;         /* In: 0 */
};

/* ---- Submission ------------------------------------------------------------------------
 * A submit carries a command stream: commands back to back, each a multiple of 8 bytes and
 * starting with struct npu_cmd_header. The driver validates every command, writes it to the
 * client's hardware queue and appends a fence; the returned seqno completes once all of the
 * submit's commands have finished (successfully or not) and every earlier submit has.
 */
#define NPU_CMD_LAUNCH   1
#define NPU_CMD_COPY     2
#define NPU_CMD_FILL     3
#define NPU_CMD_SIGNAL_FENCE 4 /* uapi 1.1: struct npu_cmd_fence */
#define NPU_CMD_WAIT_FENCE   5 /* uapi 1.1: struct npu_cmd_fence */
#define NPU_CMD_TIMESTAMP    6 /* uapi 1.1: struct npu_cmd_timestamp */
#define NPU_CMD_BARRIER      7 /* uapi 1.1: struct npu_cmd_header alone */

#define NPU_MAX_ARGS     32
#define NPU_MAX_CMD_BYTES (1u << 16) /* per submit */

struct npu_cmd_header {
	uint16_t type;        /* In: NPU_CMD_* */
	uint16_t dwords;      /* In: command length in 8-byte words, header included */
	uint32_t flags;       /* In: 0 */
};

struct npu_cmd_launch {
	struct npu_cmd_header hdr;
	uint64_t code_addr;   /* In: device VA of the code, 8-aligned */
	uint32_t code_words;  /* In: instructions at code_addr, > 0 */
	uint32_t entry;       /* In: first instruction, < code_words */
	uint32_t grid[3];     /* In: each >= 1 */
	uint32_t sram_bytes;  /* In: <= NPU_PARAM_SRAM_SIZE */
	uint64_t const_addr;  /* In: value of the CONST_PTR special register */
	uint64_t max_insns;   /* In: per program instance, 0 = driver default */
	uint32_t timeout_us;  /* In: wall clock for the launch, 0 = driver default */
	uint32_t nargs;       /* In: <= NPU_MAX_ARGS */
	uint64_t args[];      /* In: nargs values */
};

struct npu_cmd_copy {
	struct npu_cmd_header hdr;
	uint64_t src_addr;    /* In: device VA */
	uint64_t dst_addr;    /* In: device VA */
	uint64_t size;        /* In: bytes, > 0 */
};

struct npu_cmd_fill {
	struct npu_cmd_header hdr;
	uint64_t dst_addr;    /* In: device VA, 4-aligned */
	uint64_t size;        /* In: bytes, > 0, multiple of 4 */
	uint32_t pattern;     /* In */
	uint32_t pad;         /* In: 0 */
};

struct npu_submit {
	uint64_t cmds;        /* In: user pointer to the command stream (BO handle with
	                       * NPU_SUBMIT_CMDS_BO) */
	uint32_t cmds_size;   /* In: bytes, 8 .. NPU_MAX_CMD_BYTES, multiple of 8 */
	uint32_t queue;       /* In: queue id; 0 = the client's default compute queue */
	uint32_t flags;       /* In: NPU_SUBMIT_* (uapi 1.1) */
	uint32_t pad;         /* In: 0; with NPU_SUBMIT_CMDS_BO the stream's offset in the BO */
	uint64_t seqno;       /* Out: fence value that signals completion (per queue) */
};

/* ---- Waiting ------------------------------------------------------------------------------ */
struct npu_wait {
	uint64_t seqno;       /* In: fence value to wait for, <= the last submitted */
	int64_t timeout_ns;   /* In: absolute CLOCK_MONOTONIC deadline; 0 = poll */
	uint32_t queue;       /* In: queue id */
	uint32_t flags;       /* In: 0 */
	uint64_t completed;   /* Out: the queue's completed fence value */
};
/* Returns 0 when signalled, -ETIMEDOUT at the deadline. Every job signals, whatever its
 * status: a job that faulted, hung or was lost is read with NPU_IOCTL_GET_FAULT, and its
 * status with NPU_IOCTL_JOB_WAIT (uapi 1.1). */

/* ---- Faults ------------------------------------------------------------------------------- */
#define NPU_FAULT_F_VALID      (1u << 0) /* a fault was returned */
#define NPU_FAULT_F_WRITE      (1u << 1) /* the access was a write */
#define NPU_FAULT_F_INSN       (1u << 2) /* pc and insn refer to a kernel instruction */
#define NPU_FAULT_NO_CORE      0xffffffffu /* `core` of a fault no NPU core raised (COPY, FILL,
                                            * a malformed packet or launch) */

/* Pops the oldest unread fault of this client (faults are kept in order, up to 64; older ones
 * are counted in `lost`). */
struct npu_get_fault {
	uint32_t flags;       /* In: 0; Out: NPU_FAULT_F_* */
	uint32_t code;        /* Out: ISA trap code, 0 if none */
	uint64_t seqno;       /* Out: fence value of the job that faulted */
	uint32_t core;        /* Out: NPU core, or NPU_FAULT_NO_CORE */
	uint32_t lost;        /* Out: faults dropped because the log was full */
	uint64_t pc;          /* Out: instruction index */
	uint64_t addr;        /* Out: faulting address */
	uint64_t insn;        /* Out: instruction word at pc */
	uint32_t queue;       /* Out: the queue id as named in npu_submit.queue */
	uint32_t pad;         /* Out: 0 */
};
/* With no fault to return, flags (no NPU_FAULT_F_VALID) and every other Out field but `lost`
 * are 0. `lost` counts the faults dropped since the previous GET_FAULT (then resets). */

/* ==== uapi 1.1: queues, fences, events, limits, reset status, user memory =================== */

/* ---- Commands ------------------------------------------------------------------------------
 * SIGNAL_FENCE: when every earlier command of the queue has finished, the fence reaches
 *   `value` (it never goes down: the device keeps the larger value).
 * WAIT_FENCE: later commands of the queue start only once the fence is >= `value`. The queue
 *   waits without occupying the engine; other queues run meanwhile.
 * TIMESTAMP: writes the device clock (NPU_PARAM_TIMESTAMP_FREQ) as a little-endian u64 at
 *   dst_addr when every earlier command of the queue has finished.
 * BARRIER: later commands start after every earlier command has finished and its writes are
 *   visible to the host and to every engine. (The queues of this device already run their
 *   commands in order; the barrier makes it explicit for devices that overlap them.)
 */
struct npu_cmd_fence {
	struct npu_cmd_header hdr;
	uint32_t fence;       /* In: fence handle of this client */
	uint32_t pad;         /* In: 0 */
	uint64_t value;       /* In: > 0 */
};

struct npu_cmd_timestamp {
	struct npu_cmd_header hdr;
	uint64_t dst_addr;    /* In: device VA, 8-aligned, writable */
};

/* ---- Parameters the client (or, with NPU_SET_PARAM_DEVICE, the device) sets ---------------- */
#define NPU_SET_PARAM_DEVICE (1u << 0) /* set the device default: every client that has not
                                         * set its own value follows it */
#define NPU_SET_PARAM_FLAGS_MASK NPU_SET_PARAM_DEVICE

/* param: NPU_PARAM_HANG_TIMEOUT_MS, NPU_PARAM_LAUNCH_TIMEOUT_US, NPU_PARAM_MAX_INSNS,
 * NPU_PARAM_BAN_THRESHOLD (device only). Read them back with GET_PARAM. */
struct npu_set_param {
	uint32_t param;       /* In */
	uint32_t flags;       /* In: NPU_SET_PARAM_* */
	uint64_t value;       /* In: client: 0 = follow the device default */
};

/* ---- Queues ------------------------------------------------------------------------------- */
#define NPU_QUEUE_COMPUTE 0   /* every command */
#define NPU_QUEUE_COPY    1   /* every command but LAUNCH; runs on the copy engine */

#define NPU_QUEUE_PRIORITY_LOW    0
#define NPU_QUEUE_PRIORITY_NORMAL 1 /* queue 0's */
#define NPU_QUEUE_PRIORITY_HIGH   2

#define NPU_ENGINE_COMPUTE_BIT (1u << 0)
#define NPU_ENGINE_COPY_BIT    (1u << 1)

#define NPU_MAX_QUEUES 64     /* per client, queue 0 included */

/* Queue 0 (compute, normal priority) exists from open to close; it cannot be destroyed. */
struct npu_queue_create {
	uint32_t type;        /* In: NPU_QUEUE_COMPUTE or NPU_QUEUE_COPY */
	uint32_t priority;    /* In: NPU_QUEUE_PRIORITY_* */
	uint32_t flags;       /* In: 0 */
	uint32_t queue;       /* Out: queue id, > 0 */
};

/* Work not yet finished on the queue is cancelled: its jobs signal with -ECANCELED. */
struct npu_queue_destroy {
	uint32_t queue;       /* In: id from QUEUE_CREATE */
	uint32_t flags;       /* In: 0 */
};

#define NPU_SUBMIT_NONBLOCK (1u << 0) /* npu_submit.flags: -EBUSY instead of sleeping when the
                                       * queue's ring is full */
/* uapi 1.2: `cmds` is the handle of one of the client's HOST_VISIBLE (non-USERPTR) BOs and
 * `pad` the byte offset (8-aligned) of the stream in it. The driver copies the stream from
 * memory it owns during the ioctl, without a checked user copy; the BO may be rewritten as
 * soon as SUBMIT returns. */
#define NPU_SUBMIT_CMDS_BO  (1u << 1)
#define NPU_SUBMIT_FLAGS_MASK (NPU_SUBMIT_NONBLOCK | NPU_SUBMIT_CMDS_BO)

/* ---- Job status ----------------------------------------------------------------------------
 * Every job (one SUBMIT) signals exactly once, with one of these statuses: */
#define NPU_JOB_STATUS_EXPIRED 1 /* (not an errno) the job is older than the status history */
/*   0            success
 *   -EFAULT      the job faulted (details: GET_FAULT)
 *   -ETIMEDOUT   the job hung and was killed by hang detection (GET_FAULT: NPU_FAULT_F_HANG)
 *   -EAGAIN      lost to a device reset it did not cause, or to an internal device error:
 *                nothing of it is guaranteed to have run; submit it again
 *   -ECANCELED   cancelled before it finished: its queue was destroyed, its client closed or
 *                was banned
 *   -ENODEV      the device was lost (recovery failed)
 */
#define NPU_JOB_STATUS_HISTORY 16384 /* the newest jobs of a queue whose status is kept */

/* Like NPU_IOCTL_WAIT, and also returns the job's status. */
struct npu_job_wait {
	uint32_t queue;       /* In: queue id */
	uint32_t flags;       /* In: 0 */
	uint64_t seqno;       /* In: <= the queue's last submitted seqno; 0 is always signalled */
	int64_t timeout_ns;   /* In: absolute CLOCK_MONOTONIC deadline; 0 = poll */
	uint64_t completed;   /* Out: the queue's completed fence value */
	int32_t status;       /* Out: the job's status (above) */
	uint32_t failed;      /* Out: jobs of this queue that signalled with an error, so far */
};

/* ---- Timeline fences -----------------------------------------------------------------------
 * A fence is a 64-bit counter that only goes up, plus a sticky error. Handles are private to a
 * client; EXPORT gives a token another client of the same device IMPORTs to get its own handle
 * to the same fence. A fence lives while any handle or pending command refers to it. */
#define NPU_MAX_WAIT_FENCES 64

struct npu_fence_create {
	uint64_t value;       /* In: initial value */
	uint32_t flags;       /* In: 0 */
	uint32_t handle;      /* Out: non-zero */
};

struct npu_fence_destroy {
	uint32_t handle;      /* In */
	uint32_t flags;       /* In: 0 */
};

/* Host signal: value must be greater than the fence's current value. */
struct npu_fence_signal {
	uint32_t handle;      /* In */
	uint32_t flags;       /* In: 0 */
	uint64_t value;       /* In */
};

/* error: 0, or why a signal that reached the fence did not come from a successful job:
 * -EIO (a job that faulted or hung), -EAGAIN (device reset), -ECANCELED (its queue was
 * destroyed or its client closed or banned), -ENODEV (device lost). The first error stays. */
struct npu_fence_query {
	uint32_t handle;      /* In */
	uint32_t flags;       /* In: 0 */
	uint64_t value;       /* Out: current value */
	int32_t error;        /* Out */
	uint32_t pad;         /* Out: 0 */
};

#define NPU_FENCE_WAIT_ANY (1u << 0) /* return when any fence is reached (default: all) */
#define NPU_FENCE_WAIT_FLAGS_MASK NPU_FENCE_WAIT_ANY

struct npu_fence_wait {
	uint64_t handles;     /* In: user pointer to uint32_t[count] */
	uint64_t values;      /* In: user pointer to uint64_t[count] */
	uint32_t count;       /* In: 1 .. NPU_MAX_WAIT_FENCES */
	uint32_t flags;       /* In: NPU_FENCE_WAIT_* */
	int64_t timeout_ns;   /* In: absolute CLOCK_MONOTONIC deadline; 0 = poll */
	uint32_t first;       /* Out: index of the first reached fence */
	int32_t error;        /* Out: the first non-zero error among the reached fences, else 0 */
};

struct npu_fence_export {
	uint32_t handle;      /* In */
	uint32_t flags;       /* In: 0 */
	uint64_t token;       /* Out: non-zero, unguessable; valid while the fence lives */
};

struct npu_fence_import {
	uint64_t token;       /* In */
	uint32_t flags;       /* In: 0 */
	uint32_t handle;      /* Out */
};

/* ---- Event fd ------------------------------------------------------------------------------
 * A Linux eventfd (non-blocking, close-on-exec) owned by the client: created by the first call,
 * the same fd afterwards, closed by npu_drv_close() (do not close it yourself). It becomes
 * readable whenever something this client may wait for has changed: a job of one of its
 * queues signalled, a fence it has a handle to changed, its reset status changed. Read it to
 * re-arm, then re-check with zero-timeout waits; a wake-up may be spurious. */
struct npu_get_eventfd {
	uint32_t flags;       /* In: 0 */
	int32_t fd;           /* Out */
};

/* ---- Reset status ----------------------------------------------------------------------- */
#define NPU_RESET_NONE     0
#define NPU_RESET_INNOCENT 1 /* a device reset happened that this client did not cause */
#define NPU_RESET_GUILTY   2 /* work of this client hung and was killed */

#define NPU_CLIENT_BANNED      (1u << 0) /* submits fail with -EPERM */
#define NPU_CLIENT_DEVICE_LOST (1u << 1) /* submits fail with -ENODEV; close and open again */

struct npu_reset_status {
	uint32_t flags;          /* In: 0 */
	uint32_t status;         /* Out: NPU_RESET_*, the worst since the previous query */
	uint32_t device_resets;  /* Out: device resets since the device was powered on */
	uint32_t guilty;         /* Out: hangs of this client's work since open */
	uint32_t innocent;       /* Out: device resets this client did not cause, since open */
	uint32_t state;          /* Out: NPU_CLIENT_* */
};

/* ---- User memory: host memory the device reaches by DMA ----------------------------------- */
/* Registers [user_ptr, user_ptr + size) for the device: the driver pins it and maps it into the
 * client's device address space through the device's IOMMU. Any alignment; the device reaches
 * exactly these bytes (anything else in the pages around them faults). The memory must stay
 * allocated until the BO is freed and idle. BO_INFO reports NPU_BO_USERPTR; no mmap. */
struct npu_bo_userptr {
	uint64_t user_ptr;    /* In: non-zero */
	uint64_t size;        /* In: > 0 */
	uint32_t flags;       /* In: NPU_BO_READ_ONLY or 0 */
	uint32_t handle;      /* Out */
	uint64_t dev_addr;    /* Out: device VA of user_ptr's first byte */
};

/* ---- Fault injection (tests) ------------------------------------------------------------------
 * Only when the device was powered on with NPU_FAULT_INJECTION=1 in the environment; else
 * -EPERM. */
#define NPU_INJECT_LOST_IRQ     1 /* the device drops its next `count` interrupts */
#define NPU_INJECT_CP_STALL     2 /* the command processors stop until the next device reset */
#define NPU_INJECT_RESET_FAIL   3 /* the next `count` device resets fail */
#define NPU_INJECT_ALLOC_FAIL   4 /* the device's next `count` internal allocations fail */
#define NPU_INJECT_DEVICE_RESET 5 /* the driver resets the device now (count must be 1) */

struct npu_inject {
	uint32_t what;        /* In: NPU_INJECT_* */
	uint32_t count;       /* In: 1 .. 1000000 */
	uint32_t flags;       /* In: 0 */
	uint32_t pad;         /* In: 0 */
};

/* ---- GET_FAULT additions -------------------------------------------------------------------- */
#define NPU_FAULT_F_COPY_ENGINE (1u << 3) /* raised by the copy engine (else the compute engine:
                                           * an NPU core, or its command processor) */
#define NPU_FAULT_F_HANG        (1u << 4) /* hang detection killed the job (code WATCHDOG) */
#define NPU_FAULT_F_RESET       (1u << 5) /* killing it took a device reset */
#define NPU_FAULT_F_LOST        (1u << 6) /* not a fault of the job: it was lost; `code` is an
                                           * NPU_FAULT_CODE_* */
#define NPU_FAULT_CODE_RESET        0x100 /* lost to a device reset (innocent): retry */
#define NPU_FAULT_CODE_CANCELED     0x101 /* cancelled: queue destroyed or client banned */
#define NPU_FAULT_CODE_DEVICE_LOST  0x102 /* the device was lost */
#define NPU_FAULT_CODE_DEVICE_ERROR 0x103 /* internal device error (e.g. out of memory): retry */

/* ==== uapi 1.2: simulated device time, clients ================================================ */

/* ---- Job times -------------------------------------------------------------------------------
 * The device's timing model counts simulated cycles (clock NPU_PARAM_CLOCK_KHZ). Its cycle
 * clock is device-wide and advances by each launch's cycles as the launch completes (launches
 * run one at a time); other commands take no simulated time. For a completed job, JOB_TIME
 * returns where it started and ended on that clock, its launches' cycles (each launch counts
 * its slowest core) and, per core, the cycles that core ran for the job. Cycles depend only on
 * the program and its data: the same launch on the same data reports the same cycles.
 * Returns -EAGAIN while the job has not completed, -ENOENT when the device reported no times
 * for it (a device without a timing model, or more than 256 completions went by before the
 * driver read them) or the job left the history (NPU_JOB_TIME_HISTORY newest jobs of a queue),
 * -EINVAL for a seqno never submitted (or 0). */
#define NPU_JOB_TIME_CORES   16   /* cores with per-core cycles; more cores are not listed */
#define NPU_JOB_TIME_HISTORY 1024

struct npu_job_time {
	uint32_t queue;       /* In: queue id */
	uint32_t flags;       /* In: 0 */
	uint64_t seqno;       /* In: the job's seqno, 1 .. the queue's last submitted */
	uint64_t start_cycles; /* Out: device cycle clock when its first launch started */
	uint64_t end_cycles;  /* Out: device cycle clock when it finished */
	uint64_t cycles;      /* Out: sum over its launches of each launch's cycles */
	uint32_t launches;    /* Out: launches of the job that completed */
	uint32_t ncores;      /* Out: valid entries of core_cycles */
	uint64_t core_cycles[NPU_JOB_TIME_CORES]; /* Out: cycles per core (sum over launches) */
};

/* ---- Clients ---------------------------------------------------------------------------------
 * The open clients of the device, by index 0 .. NPU_PARAM_NUM_CLIENTS - 1 (the list changes as
 * clients open and close; -ENOENT past its end). */
struct npu_client_info {
	uint32_t index;       /* In */
	uint32_t flags;       /* In: 0; Out: NPU_CLIENT_INFO_* */
	int32_t pid;          /* Out: process that opened it */
	uint32_t client_id;   /* Out: its file descriptor number */
	uint64_t jobs;        /* Out: jobs it submitted */
	uint64_t mem_bytes;   /* Out: bytes of device memory it allocated (BO_CREATE, not freed) */
};
#define NPU_CLIENT_INFO_SELF (1u << 0) /* the client asking */

/* ==== uapi 1.2: queue status records ======================================================== */
/* A record per queue that the driver keeps up to date as it completes jobs, readable by the
 * client without a call: a client polls it to wait by spinning (no ioctl, no lock per poll).
 * Read `completed` with an acquire load: when it reaches a seqno, the job's status
 * (JOB_WAIT) and fault record (GET_FAULT) are already there. Fields grow only into
 * `reserved`. */
struct npu_queue_status {
	uint64_t completed;   /* the queue's completed fence value (as NPU_IOCTL_WAIT reports it) */
	uint64_t submitted;   /* the queue's last submitted seqno */
	uint32_t failed;      /* jobs that signalled with an error so far (as JOB_WAIT's) */
	uint32_t pad;         /* 0 */
	uint64_t reserved[5]; /* 0 */
};

/* Returns a pointer to the queue's record, mapped read-only into the caller (writing it
 * faults). It stays readable until the file is closed and is kept up to date until the
 * queue is destroyed. Calling again returns the same pointer. */
struct npu_queue_status_map {
	uint32_t queue;       /* In: queue id */
	uint32_t flags;       /* In: 0 */
	uint64_t status_ptr;  /* Out: user pointer to a const struct npu_queue_status */
};

/* ---- Request numbers ---------------------------------------------------------------------- */
#define NPU_IOCTL_GET_PARAM  NPU_IOWR(0x00, struct npu_get_param)
#define NPU_IOCTL_BO_CREATE  NPU_IOWR(0x01, struct npu_bo_create)
#define NPU_IOCTL_BO_INFO    NPU_IOWR(0x02, struct npu_bo_info)
#define NPU_IOCTL_BO_FREE    NPU_IOW(0x03, struct npu_bo_free)
#define NPU_IOCTL_SUBMIT     NPU_IOWR(0x04, struct npu_submit)
#define NPU_IOCTL_WAIT       NPU_IOWR(0x05, struct npu_wait)
#define NPU_IOCTL_GET_FAULT  NPU_IOWR(0x06, struct npu_get_fault)
/* uapi 1.1 */
#define NPU_IOCTL_SET_PARAM     NPU_IOW(0x07, struct npu_set_param)
#define NPU_IOCTL_QUEUE_CREATE  NPU_IOWR(0x08, struct npu_queue_create)
#define NPU_IOCTL_QUEUE_DESTROY NPU_IOW(0x09, struct npu_queue_destroy)
#define NPU_IOCTL_JOB_WAIT      NPU_IOWR(0x0a, struct npu_job_wait)
#define NPU_IOCTL_FENCE_CREATE  NPU_IOWR(0x0b, struct npu_fence_create)
#define NPU_IOCTL_FENCE_DESTROY NPU_IOW(0x0c, struct npu_fence_destroy)
#define NPU_IOCTL_FENCE_SIGNAL  NPU_IOW(0x0d, struct npu_fence_signal)
#define NPU_IOCTL_FENCE_QUERY   NPU_IOWR(0x0e, struct npu_fence_query)
#define NPU_IOCTL_FENCE_WAIT    NPU_IOWR(0x0f, struct npu_fence_wait)
#define NPU_IOCTL_FENCE_EXPORT  NPU_IOWR(0x10, struct npu_fence_export)
#define NPU_IOCTL_FENCE_IMPORT  NPU_IOWR(0x11, struct npu_fence_import)
#define NPU_IOCTL_GET_EVENTFD   NPU_IOWR(0x12, struct npu_get_eventfd)
#define NPU_IOCTL_RESET_STATUS  NPU_IOWR(0x13, struct npu_reset_status)
#define NPU_IOCTL_BO_USERPTR    NPU_IOWR(0x14, struct npu_bo_userptr)
#define NPU_IOCTL_INJECT        NPU_IOW(0x15, struct npu_inject)
/* uapi 1.2 */
#define NPU_IOCTL_JOB_TIME      NPU_IOWR(0x16, struct npu_job_time)
#define NPU_IOCTL_CLIENT_INFO   NPU_IOWR(0x17, struct npu_client_info)
#define NPU_IOCTL_QUEUE_STATUS  NPU_IOWR(0x18, struct npu_queue_status_map)

NPU_STATIC_ASSERT(sizeof(struct npu_get_param) == 16, "ABI");
NPU_STATIC_ASSERT(sizeof(struct npu_bo_create) == 32, "ABI");
NPU_STATIC_ASSERT(sizeof(struct npu_bo_info) == 32, "ABI");
NPU_STATIC_ASSERT(sizeof(struct npu_bo_free) == 8, "ABI");
NPU_STATIC_ASSERT(sizeof(struct npu_cmd_header) == 8, "ABI");
NPU_STATIC_ASSERT(sizeof(struct npu_cmd_launch) == 64, "ABI");
NPU_STATIC_ASSERT(sizeof(struct npu_cmd_copy) == 32, "ABI");
NPU_STATIC_ASSERT(sizeof(struct npu_cmd_fill) == 32, "ABI");
NPU_STATIC_ASSERT(sizeof(struct npu_submit) == 32, "ABI");
NPU_STATIC_ASSERT(sizeof(struct npu_wait) == 32, "ABI");
NPU_STATIC_ASSERT(sizeof(struct npu_get_fault) == 56, "ABI");
NPU_STATIC_ASSERT(sizeof(struct npu_cmd_fence) == 24, "ABI");
NPU_STATIC_ASSERT(sizeof(struct npu_cmd_timestamp) == 16, "ABI");
NPU_STATIC_ASSERT(sizeof(struct npu_set_param) == 16, "ABI");
NPU_STATIC_ASSERT(sizeof(struct npu_queue_create) == 16, "ABI");
NPU_STATIC_ASSERT(sizeof(struct npu_queue_destroy) == 8, "ABI");
NPU_STATIC_ASSERT(sizeof(struct npu_job_wait) == 40, "ABI");
NPU_STATIC_ASSERT(sizeof(struct npu_fence_create) == 16, "ABI");
NPU_STATIC_ASSERT(sizeof(struct npu_fence_destroy) == 8, "ABI");
NPU_STATIC_ASSERT(sizeof(struct npu_fence_signal) == 16, "ABI");
NPU_STATIC_ASSERT(sizeof(struct npu_fence_query) == 24, "ABI");
NPU_STATIC_ASSERT(sizeof(struct npu_fence_wait) == 40, "ABI");
NPU_STATIC_ASSERT(sizeof(struct npu_fence_export) == 16, "ABI");
NPU_STATIC_ASSERT(sizeof(struct npu_fence_import) == 16, "ABI");
NPU_STATIC_ASSERT(sizeof(struct npu_get_eventfd) == 8, "ABI");
NPU_STATIC_ASSERT(sizeof(struct npu_reset_status) == 24, "ABI");
NPU_STATIC_ASSERT(sizeof(struct npu_bo_userptr) == 32, "ABI");
NPU_STATIC_ASSERT(sizeof(struct npu_inject) == 16, "ABI");
NPU_STATIC_ASSERT(sizeof(struct npu_job_time) == 176, "ABI");
NPU_STATIC_ASSERT(sizeof(struct npu_client_info) == 32, "ABI");
NPU_STATIC_ASSERT(sizeof(struct npu_queue_status) == 64, "ABI");
NPU_STATIC_ASSERT(sizeof(struct npu_queue_status_map) == 16, "ABI");

/* ==== uapi 1.2: published device status ========================================================
 * Every powered-on device publishes a read-only status record, like the state a kernel driver
 * exports through sysfs and /proc/PID/fdinfo: a file named "PID.INDEX" in the user's run
 * directory ($NPU_RUN_DIR, default /dev/shm/npu-UID; the directory 0700, the file 0600),
 * removed when the device powers off. Monitoring tools read the records of every process with
 * npu_drv_status_list(); no device is opened for it.
 *
 * The record is written in place while the device runs. `seq` is a sequence count: the driver
 * makes it odd, writes the fields marked (seq), then makes it even again; a reader that copies
 * the record twice and gets the same bytes with an even `seq` holds a consistent snapshot
 * (npu_drv_status_list does this). The counters marked (count) are single 64-bit values that
 * only grow, updated without `seq` (they are bumped on the submit and completion paths).
 * jobs_submitted and jobs_completed sit on cache lines of their own for that reason.
 *
 * Compatibility: `version` changes only when a field changes meaning; new fields are appended
 * and `size` tells how much of the record the writer filled.
 */
#define NPU_STATUS_MAGIC   0x5453504eu /* "NPST" */
#define NPU_STATUS_VERSION 1
#define NPU_STATUS_RUN_DIR_ENV "NPU_RUN_DIR"

struct npu_status_record {
	/* Constant while the record exists. */
	uint32_t magic;           /* NPU_STATUS_MAGIC (written last) */
	uint32_t version;         /* NPU_STATUS_VERSION */
	uint32_t size;            /* bytes of the record the writer filled */
	uint32_t flags;           /* 0 */
	int32_t  pid;             /* the process the device lives in */
	uint32_t index;           /* its device node: npu<index> */
	uint64_t proc_start;      /* that process's start time (/proc/PID/stat field 22, clock
	                           * ticks since boot), to tell a reused pid; 0 = unknown */
	uint64_t start_ns;        /* CLOCK_REALTIME when the device was powered on */
	uint64_t start_mono_ns;   /* CLOCK_MONOTONIC at the same moment */
	char     name[64];        /* "npu0 (npu-sim)", NUL terminated */
	char     comm[16];        /* the process's name (/proc/PID/comm), NUL terminated */
	char     cmdline[256];    /* its command line, arguments joined by spaces, truncated */
	uint32_t num_cores;
	uint32_t sram_size;       /* bytes of SRAM per core */
	uint32_t clock_khz;
	uint32_t fw_version;      /* major << 16 | minor */
	uint32_t isa_version;     /* major << 16 | minor */
	uint32_t pad;             /* 0 */
	uint64_t mem_total;       /* bytes of device memory (NPU_PARAM_MEM_SIZE) */
	uint64_t reserved0[4];    /* 0 */

	/* Live. Offset 448. */
	uint64_t seq;             /* odd while the fields marked (seq) are being written */
	uint64_t mem_used;        /* (seq) bytes of device memory allocated (NPU_PARAM_MEM_USED) */
	uint64_t busy_ns;         /* (seq) length of the busy periods that ended; busy = some
	                           * queue of the device has a job that has not signalled */
	uint64_t busy_since_ns;   /* (seq) CLOCK_MONOTONIC start of the current busy period,
	                           * 0 = idle */
	uint32_t clients;         /* (seq) open files of the device */
	uint32_t resets;          /* (seq) device resets since power on */
	uint64_t faults;          /* (count) jobs that faulted or hung (records of GET_FAULT
	                           * that are not NPU_FAULT_F_LOST) */
	uint64_t reserved1[2];    /* 0 */
	uint64_t jobs_submitted;  /* (count) offset 512: SUBMITs, all clients */
	uint64_t reserved2[7];
	uint64_t jobs_completed;  /* (count) offset 576: of those, signalled (whatever status) */
	uint64_t reserved3[7];
};

NPU_STATIC_ASSERT(sizeof(struct npu_status_record) == 640, "ABI");

/* The records of every live process of this user, from the run directory (a driver function,
 * not an ioctl: no device is opened). out: an array of `max` records of rec_size bytes each
 * (rec_size >= 640; bytes past the driver's record are zeroed); it may be NULL when max is 0.
 * Each is a consistent snapshot, ordered by pid, then index. *count: records found, which may
 * exceed max. Records of processes that are gone are removed; files that are not valid
 * records are skipped. Returns 0, or -EINVAL (rec_size, count NULL), -ENOMEM; a run directory
 * that does not exist is 0 records. */
int npu_drv_status_list(void *out, uint32_t rec_size, uint32_t max, uint32_t *count);

/* ---- Entry points ------------------------------------------------------------------------- */
/* Device nodes are named "npu0", "npu1", ... (a leading "/dev/" is accepted). The number of
 * simulated devices comes from NPU_SIM_DEVICES (default 1); each device's configuration from
 * NPU_SIM_CONFIG (see firmware-sim). Returns a file descriptor >= 0 or a negative errno. */
int npu_drv_open(const char *node, uint32_t flags);
int npu_drv_close(int fd);
int npu_drv_ioctl(int fd, uint32_t request, void *arg);
/* Maps a HOST_VISIBLE buffer: offset is its mmap_offset, size at most its size. Returns NULL
 * and sets *err (if given) to a negative errno on failure. */
void *npu_drv_mmap(int fd, uint64_t offset, uint64_t size, int *err);
int npu_drv_munmap(int fd, void *addr, uint64_t size);

#ifdef __cplusplus
}
#endif
#endif /* NPU_ACCEL_H */
