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
#define NPU_UAPI_VERSION_MINOR 0

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
#define NPU_PARAM_COUNT         13

struct npu_get_param {
	uint32_t param;     /* In: NPU_PARAM_* */
	uint32_t pad;       /* In: 0 */
	uint64_t value;     /* Out */
};

/* ---- Buffer objects ---------------------------------------------------------------------- */
#define NPU_BO_HOST_VISIBLE  (1u << 0) /* the host may npu_drv_mmap() it */
#define NPU_BO_READ_ONLY     (1u << 1) /* the device may not write it (code, constants) */
#define NPU_BO_FLAGS_MASK    (NPU_BO_HOST_VISIBLE | NPU_BO_READ_ONLY)

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
	uint64_t cmds;        /* In: user pointer to the command stream */
	uint32_t cmds_size;   /* In: bytes, 8 .. NPU_MAX_CMD_BYTES, multiple of 8 */
	uint32_t queue;       /* In: queue id; 0 = the client's default compute queue */
	uint32_t flags;       /* In: 0 */
	uint32_t pad;         /* In: 0 */
	uint64_t seqno;       /* Out: fence value that signals completion */
};

/* ---- Waiting ------------------------------------------------------------------------------ */
struct npu_wait {
	uint64_t seqno;       /* In: fence value to wait for, <= the last submitted */
	int64_t timeout_ns;   /* In: absolute CLOCK_MONOTONIC deadline; 0 = poll */
	uint32_t queue;       /* In: queue id */
	uint32_t flags;       /* In: 0 */
	uint64_t completed;   /* Out: the queue's completed fence value */
};
/* Returns 0 when signalled, -ETIMEDOUT at the deadline. A job that faulted still signals:
 * its fault is read with NPU_IOCTL_GET_FAULT. */

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
	uint32_t queue;       /* Out: the queue id as named in npu_submit.queue (0) */
	uint32_t pad;         /* Out: 0 */
};
/* With no fault to return, flags (no NPU_FAULT_F_VALID) and every other Out field but `lost`
 * are 0. `lost` counts the faults dropped since the previous GET_FAULT (then resets). */

/* ---- Request numbers ---------------------------------------------------------------------- */
#define NPU_IOCTL_GET_PARAM  NPU_IOWR(0x00, struct npu_get_param)
#define NPU_IOCTL_BO_CREATE  NPU_IOWR(0x01, struct npu_bo_create)
#define NPU_IOCTL_BO_INFO    NPU_IOWR(0x02, struct npu_bo_info)
#define NPU_IOCTL_BO_FREE    NPU_IOW(0x03, struct npu_bo_free)
#define NPU_IOCTL_SUBMIT     NPU_IOWR(0x04, struct npu_submit)
#define NPU_IOCTL_WAIT       NPU_IOWR(0x05, struct npu_wait)
#define NPU_IOCTL_GET_FAULT  NPU_IOWR(0x06, struct npu_get_fault)

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
