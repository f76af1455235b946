"""Writes the C source of the test-only cffi extension `npu._uapi` (API mode), run by meson.

It exposes the driver's raw ABI (driver/include/npu_accel.h): npu_drv_open/close/ioctl/mmap
and the uapi structs and constants, so that tests can drive the ABI from Python (for instance
tests/test_driver_state.py, a hypothesis state machine). It is not part of the SDK: the SDK
reaches the driver only through libnpu. The module links its own copy of the driver and
simulator, so its devices are not the ones libnpu opens in the same process.

Usage: build_uapi.py OUTPUT.c
"""
import sys

import cffi

STRUCTS = {
    "npu_get_param": "uint32_t param; uint32_t pad; uint64_t value;",
    "npu_set_param": "uint32_t param; uint32_t flags; uint64_t value;",
    "npu_bo_create": "uint64_t size; uint32_t flags; uint32_t handle; uint64_t dev_addr;"
                     " uint64_t mmap_offset;",
    "npu_bo_info": "uint32_t handle; uint32_t flags; uint64_t size; uint64_t dev_addr;"
                   " uint64_t mmap_offset;",
    "npu_bo_free": "uint32_t handle; uint32_t pad;",
    "npu_bo_userptr": "uint64_t user_ptr; uint64_t size; uint32_t flags; uint32_t handle;"
                      " uint64_t dev_addr;",
    "npu_cmd_header": "uint16_t type; uint16_t dwords; uint32_t flags;",
    "npu_cmd_copy": "struct npu_cmd_header hdr; uint64_t src_addr; uint64_t dst_addr;"
                    " uint64_t size;",
    "npu_cmd_fill": "struct npu_cmd_header hdr; uint64_t dst_addr; uint64_t size;"
                    " uint32_t pattern; uint32_t pad;",
    "npu_cmd_fence": "struct npu_cmd_header hdr; uint32_t fence; uint32_t pad; uint64_t value;",
    "npu_cmd_timestamp": "struct npu_cmd_header hdr; uint64_t dst_addr;",
    "npu_submit": "uint64_t cmds; uint32_t cmds_size; uint32_t queue; uint32_t flags;"
                  " uint32_t pad; uint64_t seqno;",
    "npu_wait": "uint64_t seqno; int64_t timeout_ns; uint32_t queue; uint32_t flags;"
                " uint64_t completed;",
    "npu_job_wait": "uint32_t queue; uint32_t flags; uint64_t seqno; int64_t timeout_ns;"
                    " uint64_t completed; int32_t status; uint32_t failed;",
    "npu_get_fault": "uint32_t flags; uint32_t code; uint64_t seqno; uint32_t core;"
                     " uint32_t lost; uint64_t pc; uint64_t addr; uint64_t insn;"
                     " uint32_t queue; uint32_t pad;",
    "npu_queue_create": "uint32_t type; uint32_t priority; uint32_t flags; uint32_t queue;",
    "npu_queue_destroy": "uint32_t queue; uint32_t flags;",
    "npu_fence_create": "uint64_t value; uint32_t flags; uint32_t handle;",
    "npu_fence_destroy": "uint32_t handle; uint32_t flags;",
    "npu_fence_signal": "uint32_t handle; uint32_t flags; uint64_t value;",
    "npu_fence_query": "uint32_t handle; uint32_t flags; uint64_t value; int32_t error;"
                       " uint32_t pad;",
    "npu_fence_wait": "uint64_t handles; uint64_t values; uint32_t count; uint32_t flags;"
                      " int64_t timeout_ns; uint32_t first; int32_t error;",
    "npu_fence_export": "uint32_t handle; uint32_t flags; uint64_t token;",
    "npu_fence_import": "uint64_t token; uint32_t flags; uint32_t handle;",
    "npu_get_eventfd": "uint32_t flags; int32_t fd;",
    "npu_reset_status": "uint32_t flags; uint32_t status; uint32_t device_resets;"
                        " uint32_t guilty; uint32_t innocent; uint32_t state;",
    "npu_inject": "uint32_t what; uint32_t count; uint32_t flags; uint32_t pad;",
}

# Launch commands carry a variable argument list: built as raw words from Python.
CONSTANTS = """
NPU_UAPI_VERSION_MAJOR NPU_UAPI_VERSION_MINOR
NPU_IOCTL_GET_PARAM NPU_IOCTL_BO_CREATE NPU_IOCTL_BO_INFO NPU_IOCTL_BO_FREE NPU_IOCTL_SUBMIT
NPU_IOCTL_WAIT NPU_IOCTL_GET_FAULT NPU_IOCTL_SET_PARAM NPU_IOCTL_QUEUE_CREATE
NPU_IOCTL_QUEUE_DESTROY NPU_IOCTL_JOB_WAIT NPU_IOCTL_FENCE_CREATE NPU_IOCTL_FENCE_DESTROY
NPU_IOCTL_FENCE_SIGNAL NPU_IOCTL_FENCE_QUERY NPU_IOCTL_FENCE_WAIT NPU_IOCTL_FENCE_EXPORT
NPU_IOCTL_FENCE_IMPORT NPU_IOCTL_GET_EVENTFD NPU_IOCTL_RESET_STATUS NPU_IOCTL_BO_USERPTR
NPU_IOCTL_INJECT
NPU_PARAM_DEVICE_ID NPU_PARAM_NUM_CORES NPU_PARAM_SRAM_SIZE NPU_PARAM_MEM_SIZE
NPU_PARAM_MEM_USED NPU_PARAM_PAGE_SIZE NPU_PARAM_UAPI_VERSION NPU_PARAM_NUM_HW_QUEUES
NPU_PARAM_ENGINES NPU_PARAM_HANG_TIMEOUT_MS NPU_PARAM_LAUNCH_TIMEOUT_US NPU_PARAM_MAX_INSNS
NPU_PARAM_BAN_THRESHOLD NPU_PARAM_COUNT NPU_SET_PARAM_DEVICE
NPU_BO_HOST_VISIBLE NPU_BO_READ_ONLY NPU_BO_USERPTR
NPU_CMD_LAUNCH NPU_CMD_COPY NPU_CMD_FILL NPU_CMD_SIGNAL_FENCE NPU_CMD_WAIT_FENCE
NPU_CMD_TIMESTAMP NPU_CMD_BARRIER NPU_MAX_ARGS NPU_MAX_CMD_BYTES
NPU_QUEUE_COMPUTE NPU_QUEUE_COPY NPU_QUEUE_PRIORITY_LOW NPU_QUEUE_PRIORITY_NORMAL
NPU_QUEUE_PRIORITY_HIGH NPU_MAX_QUEUES NPU_SUBMIT_NONBLOCK NPU_JOB_STATUS_EXPIRED
NPU_JOB_STATUS_HISTORY NPU_MAX_WAIT_FENCES NPU_FENCE_WAIT_ANY
NPU_RESET_NONE NPU_RESET_INNOCENT NPU_RESET_GUILTY NPU_CLIENT_BANNED NPU_CLIENT_DEVICE_LOST
NPU_INJECT_LOST_IRQ NPU_INJECT_CP_STALL NPU_INJECT_RESET_FAIL NPU_INJECT_ALLOC_FAIL
NPU_INJECT_DEVICE_RESET
NPU_FAULT_F_VALID NPU_FAULT_F_WRITE NPU_FAULT_F_INSN NPU_FAULT_F_COPY_ENGINE NPU_FAULT_F_HANG
NPU_FAULT_F_RESET NPU_FAULT_F_LOST NPU_FAULT_NO_CORE NPU_FAULT_CODE_RESET
NPU_FAULT_CODE_CANCELED NPU_FAULT_CODE_DEVICE_LOST NPU_FAULT_CODE_DEVICE_ERROR
""".split()


def cdef() -> str:
    out = []
    for name, body in STRUCTS.items():
        out.append(f"struct {name} {{ {body} }};")
    out += [f"#define {c} ..." for c in CONSTANTS]
    out.append("""
int npu_drv_open(const char *node, uint32_t flags);
int npu_drv_close(int fd);
int npu_drv_ioctl(int fd, uint32_t request, void *arg);
void *npu_drv_mmap(int fd, uint64_t offset, uint64_t size, int *err);
int npu_drv_munmap(int fd, void *addr, uint64_t size);
""")
    return "\n".join(out)


def main() -> None:
    ffi = cffi.FFI()
    ffi.cdef(cdef())
    ffi.set_source("npu._uapi", '#include "npu_accel.h"', py_limited_api=False)
    ffi.emit_c_code(sys.argv[1])


if __name__ == "__main__":
    main()
