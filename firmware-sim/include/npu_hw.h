/* SPDX-License-Identifier: MIT */
/*
 * npu_hw.h - the hardware interface between the driver and an NPU.
 *
 * This is the seam where silicon plugs in. The driver talks to a device only through:
 *   - a block of 32-bit registers (rd32 / wr32 at byte offsets below),
 *   - device memory, which the host sees through an aperture (like a PCI BAR),
 *   - doorbells (writes to a queue's TAIL register),
 *   - an interrupt line (a handler the device calls when IRQ_STATUS & IRQ_MASK != 0).
 * Everything in device memory the device reads or writes (page tables, rings, queue status
 * records) has the layout defined here. firmware-sim is one implementation of these ops; a
 * vendor implements the same struct npu_hw_ops for its chip and keeps the rest of the stack.
 *
 * Interface version: major breaks, minor extends. The driver reads REG_IF_VERSION at boot and
 * refuses a device whose major differs from NPU_HW_IF_VERSION_MAJOR.
 */
#ifndef NPU_HW_H
#define NPU_HW_H

#include <stddef.h>
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

#define NPU_HW_IF_VERSION_MAJOR 1
#define NPU_HW_IF_VERSION_MINOR 2
#define NPU_HW_IF_VERSION ((NPU_HW_IF_VERSION_MAJOR << 16) | NPU_HW_IF_VERSION_MINOR)

#define NPU_HW_ID_MAGIC 0x4e505531u /* "NPU1" */

/* ---- Register block (byte offsets, all registers 32 bits) ---------------------------- */
#define NPU_REG_ID            0x000 /* RO: NPU_HW_ID_MAGIC */
#define NPU_REG_FW_VERSION    0x004 /* RO: firmware version, major << 16 | minor */
#define NPU_REG_IF_VERSION    0x008 /* RO: NPU_HW_IF_VERSION the firmware speaks */
#define NPU_REG_ISA_VERSION   0x00c /* RO: ISA version, major << 16 | minor */
#define NPU_REG_STATUS        0x010 /* RO: NPU_STATUS_* */
#define NPU_REG_CONTROL       0x014 /* WO: NPU_CONTROL_* */
#define NPU_REG_NUM_CORES     0x018 /* RO */
#define NPU_REG_SRAM_SIZE     0x01c /* RO: bytes of SRAM per core */
#define NPU_REG_MEM_SIZE_LO   0x020 /* RO: bytes of device memory */
#define NPU_REG_MEM_SIZE_HI   0x024
#define NPU_REG_CLOCK_KHZ     0x028 /* RO: core clock of the timing model */
#define NPU_REG_NUM_QUEUES    0x02c /* RO: hardware queues */
#define NPU_REG_IRQ_STATUS    0x030 /* RO: bit q set = queue q has news (completion or fault) */
#define NPU_REG_IRQ_MASK      0x034 /* RW: bit q enables queue q's interrupt */
#define NPU_REG_IRQ_ACK       0x038 /* WO: write 1 to clear a bit of IRQ_STATUS */
#define NPU_REG_PAGE_SIZE     0x03c /* RO: MMU page size in bytes */
/* Interface 1.1 */
#define NPU_REG_ENGINES       0x040 /* RO: NPU_ENGINE_* bits: the engines the device has */
#define NPU_REG_ENGINE_QUEUE(e) (0x044u + 4u * (uint32_t)(e)) /* RO: queue whose packet engine e
                                     * is executing now, NPU_ENGINE_IDLE if none */
#define NPU_REG_ENGINE_PROGRESS(e) (0x060u + 4u * (uint32_t)(e)) /* RO: progress events of
                                     * engine e, free running: a packet done, a program instance
                                     * started, a kernel DMA transfer done, 64 KiB of a COPY or
                                     * FILL moved. Retired instructions are not progress: a
                                     * kernel spinning without memory traffic makes none. The
                                     * events belong to the queue in ENGINE_QUEUE(e). */
#define NPU_REG_FENCE_NOTIFY  0x050 /* WO: the host changed a fence in memory: queues waiting on
                                     * fences look again */
#define NPU_REG_TIMESTAMP_LO  0x058 /* RO: device clock, NPU_TIMESTAMP_HZ; read LO first, it */
#define NPU_REG_TIMESTAMP_HI  0x05c /*     latches HI */
#define NPU_REG_INJECT        0x080 /* WO: fault injection (tests): NPU_INJECT_* | count << 8 */

#define NPU_ENGINE_COMPUTE    0     /* LAUNCH and everything else */
#define NPU_ENGINE_COPY       1     /* a second command processor: every packet but LAUNCH */
#define NPU_NUM_ENGINES       2
#define NPU_ENGINE_IDLE       0xffffffffu
#define NPU_TIMESTAMP_HZ      1000000000ull

/* Fault injection: what the device does wrong on purpose, `count` times (1..2^24-1). */
#define NPU_HW_INJECT_LOST_IRQ   1 /* drop the next `count` interrupts (status bit not raised) */
#define NPU_HW_INJECT_CP_STALL   2 /* every engine stops taking packets until the next RESET */
#define NPU_HW_INJECT_RESET_FAIL 3 /* the next `count` RESETs fail: STATUS = FAILED, BOOT is
                                    * ignored until a RESET succeeds */
#define NPU_HW_INJECT_ALLOC_FAIL 4 /* the next `count` internal allocations of the device fail
                                    * (a LAUNCH then faults with NPU_FAULT_DEVICE_ERROR; dma_map
                                    * returns -ENOMEM) */

#define NPU_STATUS_READY      (1u << 0) /* firmware booted and accepting work */
#define NPU_STATUS_FAILED     (1u << 1) /* firmware failed; only a reset helps */

#define NPU_CONTROL_BOOT      1u /* start the firmware; STATUS.READY follows */
#define NPU_CONTROL_RESET     2u /* stop all queues and cores, lose all queue state */
/* RESET is synchronous: when the write returns, no packet is in flight and the device no
 * longer touches device memory; STATUS, IRQ_STATUS/MASK and every queue register are 0,
 * and the driver writes BOOT again. RESET|BOOT in one write does both, in that order.
 * Device memory (and the IOMMU's mappings) survive a RESET. A RESET that fails leaves
 * STATUS = FAILED; only another RESET can bring the device back. */

#define NPU_MAX_HW_QUEUES     32

/* Per-queue registers at NPU_REG_QUEUE(q) + offset. */
#define NPU_REG_QUEUE(q)      (0x100u + (uint32_t)(q) * 0x40u)
/* RING_LO/HI/SIZE are written while the queue is disabled (writes while enabled are
 * ignored); each such write empties the ring: HEAD = TAIL = 0. */
#define NPU_QREG_RING_LO      0x00 /* RW: device physical address of the ring */
#define NPU_QREG_RING_HI      0x04
#define NPU_QREG_RING_SIZE    0x08 /* RW: ring bytes, a power of two >= 4096 */
#define NPU_QREG_HEAD         0x0c /* RO: bytes consumed by the device (free running, wraps at 2^32) */
#define NPU_QREG_TAIL         0x10 /* RW: bytes written by the driver; a write is the doorbell */
#define NPU_QREG_PT_LO        0x14 /* RW: physical address of the context's level-1 page table */
#define NPU_QREG_PT_HI        0x18
#define NPU_QREG_STATUS_LO    0x1c /* RW: physical address of struct npu_hw_queue_status */
#define NPU_QREG_STATUS_HI    0x20
#define NPU_QREG_CONTROL      0x24 /* RW: NPU_QCTL_* */
#define NPU_QREG_STATE        0x28 /* RO: NPU_QSTATE_* */
/* Interface 1.1 */
#define NPU_QREG_PRIORITY     0x2c /* RW: 0..3; an engine serves the highest priority queue
                                    * with runnable work first, equal ones round robin */
#define NPU_QREG_ENGINE       0x30 /* RW: NPU_ENGINE_*, written while disabled (ignored when
                                    * enabled, or when the device lacks the engine) */

/* Clearing ENABLE is synchronous: a packet of this queue in flight is abandoned (HEAD stays
 * before it, nothing of it is reported), a fault is forgotten, and when the write returns
 * the device no longer touches the queue's ring, status record or page tables. */
#define NPU_QCTL_ENABLE       (1u << 0) /* device processes the ring */
#define NPU_QCTL_RESUME       (1u << 1) /* WO: leave the FAULTED state after the driver read the fault */
#define NPU_QCTL_KILL         (1u << 2) /* WO (1.1): the packet of this queue in flight ends as a
                                         * fault: NPU_TRAP_WATCHDOG with NPU_FAULT_KILLED (a
                                         * running kernel reports core, pc, insn); FAULTED as for
                                         * any fault. Ignored when no packet of it is in flight. */
#define NPU_QCTL_JOB_TIMES    (1u << 3) /* (1.2) with ENABLE: the status area is
                                         * NPU_HW_STATUS_AREA bytes and the device writes each
                                         * job's simulated times into it (below). Stays set until
                                         * the queue is disabled: RESUME and KILL keep it. */

#define NPU_QSTATE_IDLE       0 /* ring empty */
#define NPU_QSTATE_BUSY       1 /* executing packets */
#define NPU_QSTATE_FAULTED    2 /* stopped after a fault; waits for NPU_QCTL_RESUME */
#define NPU_QSTATE_DISABLED   3
#define NPU_QSTATE_WAITING    4 /* (1.1) stopped at a WAIT packet whose fence is not reached */

/* ---- Device MMU ------------------------------------------------------------------------
 * Two-level page tables in device memory, 64 KiB pages, 40-bit device virtual addresses.
 * VA bits [39:28] index the level-1 table, bits [27:16] the level-2 table, [15:0] the page.
 * Each table is 4096 little-endian u64 entries (32 KiB) at a 64 KiB-aligned physical address.
 * A level-1 entry needs VALID; a level-2 entry needs VALID, and WRITE for writes. A table
 * that is unaligned or not inside device memory, or a page outside it, is a PAGE_FAULT.
 */
#define NPU_PAGE_SHIFT        16
#define NPU_PAGE_SIZE         (1ull << NPU_PAGE_SHIFT)
#define NPU_VA_BITS           40
#define NPU_PT_ENTRIES        4096
#define NPU_PTE_VALID         (1ull << 0)
#define NPU_PTE_WRITE         (1ull << 1)
#define NPU_PTE_ADDR_MASK     (~(NPU_PAGE_SIZE - 1) & ((1ull << 48) - 1))
#define NPU_PTE_SYSTEM        (1ull << 2) /* (1.1) the address is a bus address (IOVA) of host
                                           * memory mapped by ops->dma_map, not device memory */
#define NPU_VA_L1(va)         (((va) >> 28) & 0xfffu)
#define NPU_VA_L2(va)         (((va) >> 16) & 0xfffu)

/* ---- Queue status record (device memory, written by the device) --------------------- */
struct npu_hw_queue_status {
	uint64_t fence;        /* seqno of the last completed FENCE packet */
	uint64_t fault_fence;  /* value of `fence` when the fault happened: the guilty job is the one
	                        * whose FENCE comes next. After NPU_QCTL_RESUME the device skips the
	                        * rest of that job's packets up to its FENCE, which it executes as
	                        * usual, so every job's fence signals exactly once. */
	uint32_t fault_code;   /* trap code from the ISA (NPU_TRAP_*), 0 = none */
	uint32_t fault_core;   /* core that trapped; NPU_FAULT_CORE_NONE for a fault of the
	                        * command processor itself (packet, launch checks, COPY/FILL) */
	uint64_t fault_pc;     /* program counter, in instructions from the start of the code */
	uint64_t fault_addr;   /* faulting address (meaning depends on the trap) */
	uint64_t fault_insn;   /* the 64-bit instruction word at fault_pc */
	uint32_t fault_flags;  /* NPU_FAULT_* */
	uint32_t pad;
	uint64_t cycles;       /* simulated cycles of the last completed launch (max over cores) */
	uint64_t launches;     /* launches executed by this queue */
};

/* ---- Simulated time (1.2) ---------------------------------------------------------------
 * The device cycle clock counts simulated cycles from power-on (it survives RESET). It
 * advances only by launches: when a launch completes, by that launch's cycles. Launches run
 * one at a time on the compute engine, so the clock is the compute timeline; other packets
 * (COPY, FILL, fences, ...) take no simulated time. Seconds are cycles / (CLOCK_KHZ * 1000).
 *
 * A launch's program instances are assigned to cores by the timing model, not by whichever
 * host thread ran them: instance p runs on core p % NUM_CORES. A core's cycles for the launch
 * are the sum of its instances' cycles; the launch's cycles the maximum over cores. Both are
 * a function of the program, its arguments and memory only (the same launch on the same data
 * always reports the same cycles).
 *
 * A job is the packets of a queue up to and including a FENCE. With NPU_QCTL_JOB_TIMES, when
 * the FENCE with seqno s executes, the device writes slot s % NPU_HW_JOB_TIMES of the array
 * at status + NPU_HW_JOB_TIMES_OFFSET, before it writes `fence`: first `seqno` = 0, then
 * every other field (release stores, each 8 or 4 bytes), then `seqno` = s (release). A
 * reader copies the slot with acquire loads and accepts it if `seqno` read before and after
 * the copy is s. A job whose slot was reused before it was read
 * has no times. A job that faulted reports the launches that completed before the fault. */
#define NPU_HW_JOB_TIMES_OFFSET 4096u
#define NPU_HW_JOB_TIMES        256u
#define NPU_HW_JOB_CORES        16u /* cores with per-core cycles in a job record */

struct npu_hw_job_time {
	uint64_t seqno;        /* the FENCE's seqno, written last */
	uint64_t start;        /* device cycle clock when the job's first launch started (the
	                        * FENCE's time for a job without launches) */
	uint64_t end;          /* device cycle clock when its FENCE executed */
	uint64_t cycles;       /* sum over the job's launches of each launch's cycles */
	uint32_t launches;     /* launches of the job that completed */
	uint32_t ncores;       /* valid entries of core_cycles: min(NUM_CORES, NPU_HW_JOB_CORES) */
	uint64_t core_cycles[NPU_HW_JOB_CORES]; /* per core, summed over the job's launches */
};
#define NPU_HW_STATUS_AREA \
	(NPU_HW_JOB_TIMES_OFFSET + NPU_HW_JOB_TIMES * (uint32_t)sizeof(struct npu_hw_job_time))
#define NPU_FAULT_WRITE       (1u << 0) /* the faulting access was a write */
#define NPU_FAULT_INSN_VALID  (1u << 1) /* fault_pc / fault_insn refer to a kernel instruction */
#define NPU_FAULT_KILLED      (1u << 2) /* (1.1) the fault is the driver's NPU_QCTL_KILL */
#define NPU_FAULT_DEVICE_ERROR (1u << 3) /* (1.1) the device failed internally (e.g. out of
                                          * memory), not the job: retrying may succeed */
#define NPU_FAULT_COPY_ENGINE (1u << 4) /* (1.1) raised by the copy engine */
#define NPU_FAULT_CORE_NONE   0xffffffffu /* fault_core when no core was involved */

/* ---- Ring packets ----------------------------------------------------------------------
 * A ring holds packets back to back; each starts with a header and is a multiple of 8 bytes.
 * A packet never wraps: the driver pads the ring end with a NOP that reaches it.
 */
struct npu_hw_pkt_header {
	uint16_t type;      /* NPU_PKT_* */
	uint16_t dwords;    /* packet length in 8-byte words, header included */
	uint32_t flags;     /* must be 0 */
};

#define NPU_PKT_NOP      0
#define NPU_PKT_LAUNCH   1
#define NPU_PKT_COPY     2 /* device VA -> device VA */
#define NPU_PKT_FILL     3 /* fill with a 32-bit pattern */
#define NPU_PKT_FENCE    4 /* write seqno to the status record and raise the queue's interrupt */
/* Interface 1.1. Fence packets address a struct npu_hw_fence by *physical* address: rings are
 * written by the driver only (never mapped for a client), which alone fills these in. */
#define NPU_PKT_SIGNAL   5 /* fence.value = max(value, fence.value); raise the interrupt */
#define NPU_PKT_WAIT     6 /* hold the queue until fence.value >= value (NPU_QSTATE_WAITING) */
#define NPU_PKT_TIMESTAMP 7 /* write the device clock (u64) at dst_va, through the MMU */
#define NPU_PKT_BARRIER  8 /* every earlier packet done and its writes visible */

#define NPU_HW_MAX_ARGS  32

struct npu_hw_pkt_launch {
	struct npu_hw_pkt_header hdr;
	uint64_t code_va;       /* device VA of the code (64-bit words) */
	uint32_t code_words;    /* instructions available from code_va */
	uint32_t entry;         /* first instruction (index) */
	uint32_t grid[3];       /* program instances along x, y, z; each >= 1 */
	uint32_t sram_bytes;    /* SRAM the kernel needs (<= SRAM per core) */
	uint64_t const_va;      /* CONST_PTR special register */
	uint64_t max_insns;     /* per-program instruction budget, 0 = none */
	uint32_t timeout_us;    /* wall-clock limit for the launch, 0 = none */
	uint32_t nargs;         /* <= NPU_HW_MAX_ARGS */
	uint64_t args[];        /* nargs 64-bit arguments */
};

struct npu_hw_pkt_copy {
	struct npu_hw_pkt_header hdr;
	uint64_t src_va;
	uint64_t dst_va;
	uint64_t size;
};

struct npu_hw_pkt_fill {
	struct npu_hw_pkt_header hdr;
	uint64_t dst_va;
	uint64_t size;          /* multiple of 4 */
	uint32_t pattern;
	uint32_t pad;
};

struct npu_hw_pkt_fence {
	struct npu_hw_pkt_header hdr;
	uint64_t seqno;
};

/* SIGNAL and WAIT. After a fault, while the device skips the rest of the faulted job, it still
 * executes the job's SIGNALs, first setting the fence's error to NPU_HW_FENCE_ERR_JOB (if 0),
 * so that nothing waiting on them waits forever; it skips its WAITs. */
struct npu_hw_pkt_fence_op {
	struct npu_hw_pkt_header hdr;
	uint64_t fence_pa;      /* 16-aligned, inside device memory, else BAD_PACKET */
	uint64_t value;
};

struct npu_hw_pkt_timestamp {
	struct npu_hw_pkt_header hdr;
	uint64_t dst_va;        /* 8-aligned */
};

/* A fence in device memory (16 bytes, 16-aligned). */
struct npu_hw_fence {
	uint64_t value;         /* only goes up */
	uint32_t error;         /* 0, or the first error of a signal: NPU_HW_FENCE_ERR_* */
	uint32_t pad;
};
#define NPU_HW_FENCE_ERR_JOB  1 /* signalled by the device while skipping a faulted job */
/* Values >= 0x100 are the driver's own (it signals fences itself when it has to). */

NPU_STATIC_ASSERT(sizeof(struct npu_hw_pkt_header) == 8, "packet header is 8 bytes");
NPU_STATIC_ASSERT(sizeof(struct npu_hw_pkt_fence_op) == 24, "fence packet");
NPU_STATIC_ASSERT(sizeof(struct npu_hw_pkt_timestamp) == 16, "timestamp packet");
NPU_STATIC_ASSERT(sizeof(struct npu_hw_fence) == 16, "fence record");
NPU_STATIC_ASSERT(sizeof(struct npu_hw_pkt_launch) % 8 == 0, "packets are 8-byte words");
NPU_STATIC_ASSERT(sizeof(struct npu_hw_pkt_copy) % 8 == 0, "packets are 8-byte words");
NPU_STATIC_ASSERT(sizeof(struct npu_hw_pkt_fill) % 8 == 0, "packets are 8-byte words");
NPU_STATIC_ASSERT(sizeof(struct npu_hw_pkt_fence) % 8 == 0, "packets are 8-byte words");
NPU_STATIC_ASSERT(sizeof(struct npu_hw_queue_status) % 8 == 0, "status record is 8-byte words");
NPU_STATIC_ASSERT(sizeof(struct npu_hw_queue_status) <= NPU_HW_JOB_TIMES_OFFSET, "status area");
NPU_STATIC_ASSERT(sizeof(struct npu_hw_job_time) == 168, "job time record");
NPU_STATIC_ASSERT(NPU_HW_STATUS_AREA <= NPU_PAGE_SIZE, "the status area fits a page");

/* ---- Operations a device implementation provides ------------------------------------ */
struct npu_hw;

typedef void (*npu_hw_isr_fn)(void *arg);

struct npu_hw_ops {
	const char *name;
	/* Power on one device instance. `config` is implementation-defined ("key=value,..."),
	 * may be NULL for defaults. Returns 0 or a negative errno. */
	int (*create)(const char *config, struct npu_hw **out);
	/* Power off: stops every thread of the device and frees it. */
	void (*destroy)(struct npu_hw *hw);
	uint32_t (*rd32)(struct npu_hw *hw, uint32_t offset);
	void (*wr32)(struct npu_hw *hw, uint32_t offset, uint32_t value);
	/* Host view of device memory: byte 0 of the aperture is device physical address 0. */
	void *(*aperture)(struct npu_hw *hw, uint64_t *size);
	/* Tell the device a physical range's contents no longer matter; afterwards it reads as
	 * zeros. Lets lazily backed memory give pages back. May be NULL (driver zeroes instead). */
	void (*discard)(struct npu_hw *hw, uint64_t phys, uint64_t size);
	/* Install the interrupt handler, called while IRQ_STATUS & IRQ_MASK is non-zero and after
	 * every change of it; the handler acks through IRQ_ACK. Calling context: a thread of the
	 * device, never from inside rd32/wr32 or another op, with no lock of the device held and
	 * one call at a time. Which thread is the device's choice: firmware-sim calls it from the
	 * command processor that raised the interrupt, between packets (none of that engine in
	 * flight), when it has nothing else to run or only short fence packets next; otherwise
	 * (a long packet next), and when an IRQ_MASK write or set_isr makes an interrupt
	 * deliverable, from its interrupt thread. So the handler may call rd32/wr32 (RESET and
	 * queue disable included), and the driver may hold locks the handler takes across any
	 * register write: a RESET or disable never waits for the thread that runs the handler.
	 * The handler may run in place of an engine's next packet: it must not sleep waiting
	 * for work of the device. After set_isr returns, the old handler is not running (unless
	 * set_isr was called from inside it). */
	void (*set_isr)(struct npu_hw *hw, npu_hw_isr_fn fn, void *arg);
	/* (1.1) Host memory for the device, like the kernel's DMA API with an IOMMU: makes
	 * exactly [host, host + size) reachable at bus address *iova (a PTE with NPU_PTE_SYSTEM
	 * names the 64 KiB bus page; *iova % 65536 == (uintptr_t)host % 65536, so device pages
	 * line up with host addresses). Any other byte of those bus pages faults. The caller
	 * keeps the memory valid until dma_unmap. Returns 0, -EINVAL or -ENOMEM. Both may be
	 * NULL: the device cannot reach host memory. */
	int (*dma_map)(struct npu_hw *hw, void *host, uint64_t size, uint64_t *iova);
	/* The device must no longer use the mapping (its queues idle or disabled). */
	void (*dma_unmap)(struct npu_hw *hw, uint64_t iova);
};

/* The simulated device (firmware-sim). Config keys: cores, sram, mem, clock_khz, queues,
 * copy_engine (0/1), cp_poll_us (how long an engine polls its rings after a packet before it
 * sleeps, 0..1000000, default 50);
 * sizes accept K/M/G suffixes. NPU_SIM_CONFIG in the environment supplies defaults. */
extern const struct npu_hw_ops npu_sim_hw_ops;

#ifdef __cplusplus
}
#endif
#endif /* NPU_HW_H */
